/**
 * FTS5's bm25() (fts5_aux.c) as tandem computes it outside FTS5: its constants and one
 * phrase's part of a row's score (the idf comes from SQLite, see bm25-statistics.ts). Every
 * path that scores a row (texts in bm25-search.ts, postings in postings.ts) uses these, so
 * their sums round alike.
 */

/** FTS5's bm25() constants. */
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;
/** tandem's column weights: the chunk's text, and its heading path. */
export const BM25_TEXT_WEIGHT = 1.0;
export const BM25_HEADING_WEIGHT = 0.5;

/**
 * The length normalisation of a row of `length` tokens (all columns) in a corpus whose rows
 * average `averageLength` tokens: k1·(1 − b + b·D/avgdl).
 */
export function bm25Normaliser(length: number, averageLength: number): number {
  return BM25_K1 * (1 - BM25_B + (BM25_B * length) / averageLength);
}

/**
 * One phrase's part of a row's score: idf · f·(k1 + 1) / (f + normaliser), where f is the
 * phrase's weighted frequency in the row (count in each column times the column's weight).
 * It grows with f and shrinks as the row gets longer.
 */
export function bm25Contribution(idf: number, frequency: number, normaliser: number): number {
  return idf * ((frequency * (BM25_K1 + 1)) / (frequency + normaliser));
}

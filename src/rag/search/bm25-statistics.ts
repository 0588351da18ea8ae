/**
 * What BM25 needs of the whole RAG index besides a chunk's own text: the number of rows, the
 * average length (FTS5's avgdl) and each term's document frequency and idf, read from SQLite
 * (the chunks table and FTS5's vocabulary) and cached until the database changes.
 */

import type { Database } from '../../store/database.js';

export interface CorpusStatistics {
  rows: number;
  /** Rows whose token counts may differ from FTS5's: pruning is only exact without them. */
  unsureRows: number;
  /** FTS5's avgdl: all tokens of all rows (every column) over the rows, as FTS5 divides. */
  averageLength: number;
}

/**
 * Corpus statistics and document frequencies for BM25, cached until the database changes:
 * by this connection (invalidate()) or by another one (PRAGMA data_version).
 */
export class Bm25Statistics {
  readonly #db: Database;
  #version: number | undefined;
  #statistics: CorpusStatistics | undefined;
  readonly #terms = new Map<string, { frequency: number; idf: number }>();

  constructor(db: Database) {
    this.#db = db;
  }

  invalidate(): void {
    this.#version = undefined;
  }

  #fresh(): void {
    const version = this.#db.pragma('data_version', { simple: true }) as number;
    if (version === this.#version) return;
    this.#version = version;
    this.#statistics = undefined;
    this.#terms.clear();
  }

  statistics(): CorpusStatistics {
    this.#fresh();
    this.#statistics ??= (() => {
      const row = this.#db
        .prepare(
          `SELECT COUNT(*) AS rows, COALESCE(SUM(text_terms + heading_terms), 0) AS tokens,
             COALESCE(SUM(exact_terms = 0), 0) AS unsure
           FROM rag_chunks`,
        )
        .get() as { rows: number; tokens: number; unsure: number };
      return {
        rows: row.rows,
        unsureRows: row.unsure,
        // 1 for an empty index, so lengths never divide by 0.
        averageLength: row.rows === 0 || row.tokens === 0 ? 1 : row.tokens / row.rows,
      };
    })();
    return this.#statistics;
  }

  /**
   * The term's document frequency (rows holding it) and its idf, FTS5's
   * log((N − n + 0.5) / (n + 0.5)) floored at 1e-6. The logarithm is SQLite's ln(), which
   * is the C library's log() that FTS5 calls: V8's Math.log differs from it in the last bit
   * for about half of all inputs, and that bit decides the order of near-ties.
   */
  term(term: string): { frequency: number; idf: number } {
    this.#fresh();
    let entry = this.#terms.get(term);
    if (entry === undefined) {
      const rows = this.statistics().rows;
      const row = this.#db
        .prepare(
          'SELECT doc, ln((? - doc + 0.5) / (doc + 0.5)) AS idf FROM rag_chunks_fts_vocab WHERE term = ?',
        )
        .get(rows, term) as { doc: number; idf: number | null } | undefined;
      const idf = row?.idf ?? 0;
      entry = { frequency: row?.doc ?? 0, idf: idf <= 0 ? 1e-6 : idf };
      this.#terms.set(term, entry);
    }
    return entry;
  }
}

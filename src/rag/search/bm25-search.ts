/**
 * BM25 search over a RAG database's chunks, with FTS5's bm25() scores exactly: tandem's own
 * postings (postings.ts) find the best chunks with MaxScore, and the winners are scored again
 * from their text (as FTS5 scores a row); where that cannot be exact, FTS5 answers the whole
 * query itself. RagStore owns the connection, the statistics and the postings, and answers
 * its searchBm25 with this.
 */

import type { Database } from '../../store/database.js';
import type { RagCollection } from '../rag-store.js';
import { BM25_HEADING_WEIGHT, BM25_TEXT_WEIGHT, bm25Contribution, bm25Normaliser } from './bm25.js';
import type { Bm25Statistics, CorpusStatistics } from './bm25-statistics.js';
import { ftsTokens, queryTerms, termsMatchExpression } from './fts-query.js';
import type { PostingsIndex, PostingsSearchStatistics, WeightedTerm } from './postings.js';
import { type ChunkRow, type RetrievedChunk, toRetrieved } from './retrieved-chunk.js';

const NON_ASCII = /[\u0080-\uffff]/;
const matchers = new WeakMap<ReadonlyMap<string, number>, RegExp | undefined>();

/** A regex for the terms as whole ASCII tokens; undefined when a term is not plain ASCII. */
function asciiTermMatcher(idf: ReadonlyMap<string, number>): RegExp | undefined {
  if (matchers.has(idf)) return matchers.get(idf);
  const terms = [...idf.keys()];
  const matcher = terms.every((term) => /^[a-z0-9]+$/.test(term))
    ? new RegExp(`(?<![a-z0-9])(?:${terms.join('|')})(?![a-z0-9])`, 'g')
    : undefined;
  matchers.set(idf, matcher);
  return matcher;
}

/**
 * FTS5's bm25() of one row (fts5_aux.c), computed here from the row's text: a phrase's
 * frequency is its count in each column times the column's weight, summed; the row's length
 * D is its tokens in all columns; avgdl the corpus average of that.
 */
function bm25Score(
  row: { text: string; heading: string; text_terms: number; heading_terms: number },
  idf: ReadonlyMap<string, number>,
  statistics: CorpusStatistics,
): number {
  const frequencies = new Map<string, number>();
  const matcher = asciiTermMatcher(idf);
  const count = (text: string, weight: number) => {
    // ASCII text and terms: one native regex pass finds the terms as whole tokens.
    if (matcher !== undefined && !NON_ASCII.test(text)) {
      for (const match of text.toLowerCase().matchAll(matcher)) {
        const token = match[0];
        frequencies.set(token, (frequencies.get(token) ?? 0) + weight);
      }
      return;
    }
    for (const token of ftsTokens(text)) {
      if (idf.has(token)) frequencies.set(token, (frequencies.get(token) ?? 0) + weight);
    }
  };
  count(row.text, BM25_TEXT_WEIGHT);
  count(row.heading, BM25_HEADING_WEIGHT);
  const normaliser = bm25Normaliser(row.text_terms + row.heading_terms, statistics.averageLength);
  // Summed in query order, as FTS5 sums its phrases, so equal rows tie exactly.
  let score = 0;
  for (const [term, weight] of idf) {
    const frequency = frequencies.get(term);
    if (frequency !== undefined) score += bm25Contribution(weight, frequency, normaliser);
  }
  return score;
}

/** BM25 searches of one RAG database, through the store's statistics and postings. */
export class Bm25Search {
  readonly #db: Database;
  readonly #bm25: Bm25Statistics;
  readonly #postings: PostingsIndex;

  constructor(db: Database, statistics: Bm25Statistics, postings: PostingsIndex) {
    this.#db = db;
    this.#bm25 = statistics;
    this.#postings = postings;
  }

  /**
   * BM25 over the collection's chunks: the best `k`, best first, with FTS5's bm25() scores
   * (k1 1.2, b 0.75; text weight 1, heading 0.5; corpus statistics over the whole index).
   *
   * Exact, and fast on large indexes: tandem's own postings (postings.ts) find the best
   * chunks with MaxScore, reading every posting only of the terms that can still decide the
   * top k; the winners are then scored from their text in query order, as FTS5 sums, so
   * scores and ties come out as FTS5's. When some chunk's text may be tokenized differently
   * from FTS5 (scripts beyond Latin), FTS5 scores every match itself.
   */
  searchBm25(collection: RagCollection, query: string, k: number): RetrievedChunk[] {
    this.lastBm25Plan = 'none';
    this.lastPostingsSearch = undefined;
    const terms = queryTerms(query);
    if (terms.length === 0) return [];
    // One read transaction: statistics, postings and rows all see one snapshot.
    return this.#db.transaction(() => {
      const found = this.#searchBm25Postings(collection, terms, k);
      if (found !== undefined) return found;
      this.lastBm25Plan = 'full';
      return this.#searchBm25Full(collection, terms, k);
    })();
  }

  /** How the last BM25 search was answered (for tests and diagnostics). */
  lastBm25Plan: 'postings' | 'full' | 'none' = 'none';
  /** The work the last search on the postings took (for tests and the benchmark). */
  lastPostingsSearch: PostingsSearchStatistics | undefined;

  #searchBm25Full(
    collection: RagCollection,
    terms: readonly string[],
    k: number,
  ): RetrievedChunk[] {
    const rows = this.#db
      .prepare(
        `SELECT c.id AS chunk_id, c.document_id, d.source, d.title, c.heading, c.text,
           c.start_offset, c.end_offset, -bm25(rag_chunks_fts, ${BM25_TEXT_WEIGHT}, ${BM25_HEADING_WEIGHT}) AS score
         FROM rag_chunks_fts
         JOIN rag_chunks c ON c.id = rag_chunks_fts.rowid
         JOIN rag_documents d ON d.id = c.document_id
         WHERE rag_chunks_fts MATCH ? AND d.collection_id = ?
         ORDER BY bm25(rag_chunks_fts, ${BM25_TEXT_WEIGHT}, ${BM25_HEADING_WEIGHT})
         LIMIT ?`,
      )
      .all(termsMatchExpression(terms), collection.id, k) as ChunkRow[];
    return rows.map(toRetrieved);
  }

  #searchBm25Postings(
    collection: RagCollection,
    terms: readonly string[],
    k: number,
  ): RetrievedChunk[] | undefined {
    const statistics = this.#bm25.statistics();
    if (statistics.rows === 0) return [];
    if (statistics.unsureRows > 0) return undefined;
    const idf = new Map<string, number>();
    const weighted: WeightedTerm[] = [];
    for (const term of terms) {
      const { frequency, idf: weight } = this.#bm25.term(term);
      if (frequency === 0) continue;
      idf.set(term, weight);
      weighted.push({ term, idf: weight });
    }
    if (weighted.length === 0) return [];
    const result = this.#postings.search(collection.id, weighted, k, statistics.averageLength);
    if (result === undefined) return undefined;
    this.lastBm25Plan = 'postings';
    this.lastPostingsSearch = result.statistics;
    return this.#chunkRows(
      collection,
      result.candidates.map((candidate) => candidate.id),
    )
      .map((row) => ({ ...row, score: bm25Score(row, idf, statistics) }))
      .sort((left, right) => right.score - left.score || left.chunk_id - right.chunk_id)
      .slice(0, k)
      .map(toRetrieved);
  }

  /** Chunks of the collection by id, with their texts and lengths. */
  #chunkRows(
    collection: RagCollection,
    ids: readonly number[],
  ): (ChunkRow & { text_terms: number; heading_terms: number })[] {
    if (ids.length === 0) return [];
    return this.#db
      .prepare(
        // CROSS JOIN keeps this order: look the chunks up by id, never scan them.
        `SELECT c.id AS chunk_id, c.document_id, d.source, d.title, c.heading, c.text,
           c.start_offset, c.end_offset, c.text_terms, c.heading_terms, 0 AS score
         FROM json_each(?) AS candidate
         CROSS JOIN rag_chunks c ON c.id = candidate.value
         CROSS JOIN rag_documents d ON d.id = c.document_id
         WHERE d.collection_id = ?`,
      )
      .all(JSON.stringify(ids), collection.id) as (ChunkRow & {
      text_terms: number;
      heading_terms: number;
    })[];
  }
}

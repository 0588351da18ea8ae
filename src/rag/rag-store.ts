/**
 * Where RAG collections live: tandem's SQLite database (`$TANDEM_HOME/tandem.db`, or a file
 * given with --db), or an in-memory database for documents given inline. Documents and their
 * chunks are plain tables; `rag_chunks_fts` is an FTS5 index over the chunks (BM25), kept in
 * step by triggers; vectors (sqlite-vec) are one `vec0` table per collection, created when
 * the collection first gets embeddings. Every user value reaches SQL as a bound parameter.
 */

import * as sqliteVec from 'sqlite-vec';
import { errorLine, InvalidArgumentError, TandemError } from '../errors.js';
import { type Database, openDatabase } from '../store/database.js';
import type { Chunk } from './chunk.js';
import { ftsTokenCount, ftsTokens, queryTerms, termsMatchExpression } from './fts-query.js';

/** Separates heading titles in the stored heading path. */
export const HEADING_SEPARATOR = ' › ';

export interface RagCollection {
  id: number;
  name: string;
  createdAt: string;
  /** The model reference that made the collection's vectors; undefined when it has none. */
  embeddingModel: string | undefined;
  embeddingDimensions: number | undefined;
  documentCount: number;
  chunkCount: number;
}

export interface StoredDocument {
  id: number;
  source: string;
  kind: string;
  title: string | undefined;
  contentSha256: string;
  sizeBytes: number;
  indexedAt: string;
  chunkCount: number;
}

export interface DocumentInput {
  source: string;
  kind: string;
  title: string | undefined;
  contentSha256: string;
  sizeBytes: number;
}

/** A chunk found by a search, with where it comes from. */
export interface RetrievedChunk {
  chunkId: number;
  documentId: number;
  source: string;
  title: string | undefined;
  headingPath: string[];
  text: string;
  start: number;
  end: number;
  /** Higher is better: −bm25 for BM25, cosine similarity for vectors, the fused score for hybrid. */
  score: number;
}

const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkCollectionName(name: string): string {
  if (!COLLECTION_NAME.test(name)) {
    throw new InvalidArgumentError(
      `Invalid collection name '${name}': use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
    );
  }
  return name;
}

interface CollectionRow {
  id: number;
  name: string;
  created_at: string;
  embedding_model: string | null;
  embedding_dimensions: number | null;
  document_count: number;
  chunk_count: number;
}

interface ChunkRow {
  chunk_id: number;
  document_id: number;
  source: string;
  title: string | null;
  heading: string;
  text: string;
  start_offset: number;
  end_offset: number;
  score: number;
}

function toCollection(row: CollectionRow): RagCollection {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    embeddingModel: row.embedding_model ?? undefined,
    embeddingDimensions: row.embedding_dimensions ?? undefined,
    documentCount: row.document_count,
    chunkCount: row.chunk_count,
  };
}

function toRetrieved(row: ChunkRow): RetrievedChunk {
  return {
    chunkId: row.chunk_id,
    documentId: row.document_id,
    source: row.source,
    title: row.title ?? undefined,
    headingPath: row.heading === '' ? [] : row.heading.split(HEADING_SEPARATOR),
    text: row.text,
    start: row.start_offset,
    end: row.end_offset,
    score: row.score,
  };
}

/** The vec0 table of a collection (its id is an integer, so the name is safe). */
function vectorTable(collectionId: number): string {
  if (!Number.isSafeInteger(collectionId)) throw new TandemError('Invalid collection id.');
  return `rag_vectors_${collectionId}`;
}

/** FTS5's bm25() constants (fts5_aux.c) and tandem's column weights (text, heading). */
const BM25_K1 = 1.2;
const BM25_B = 0.75;
const BM25_TEXT_WEIGHT = 1.0;
const BM25_HEADING_WEIGHT = 0.5;
/** A term in at most this share of rows (or this many) is "rare": it gives the candidates. */
const RARE_TERM_SHARE = 0.05;
const RARE_TERM_MINIMUM_ROWS = 200;

/** FTS5's idf: log((N − n + 0.5) / (n + 0.5)), floored at 1e-6 for very common terms. */
export function bm25Idf(rows: number, documentFrequency: number): number {
  const idf = Math.log((rows - documentFrequency + 0.5) / (documentFrequency + 0.5));
  return idf <= 0 ? 1e-6 : idf;
}

interface CorpusStatistics {
  rows: number;
  /** Rows whose token counts may differ from FTS5's: pruning is only exact without them. */
  unsureRows: number;
  averageTextTerms: number;
  averageHeadingTerms: number;
}

const NON_ASCII = /[\u0080-\uffff]/;
/**
 * Characters beyond Latin (U+0250 on, surrogates included) but the heading separator '›':
 * tandem's tokenizer follows SQLite's tables, but SQLite's Unicode data is older, so counts
 * there may differ by a token.
 */
const TOKENIZER_UNSURE = /[\u0250-\u2039\u203b-\uffff]/;
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
  const length = row.text_terms + row.heading_terms;
  const average = statistics.averageTextTerms + statistics.averageHeadingTerms || 1;
  const normaliser = BM25_K1 * (1 - BM25_B + (BM25_B * length) / average);
  // Summed in query order, as FTS5 sums its phrases, so equal rows tie exactly.
  let score = 0;
  for (const [term, weight] of idf) {
    const frequency = frequencies.get(term);
    if (frequency !== undefined) {
      score += weight * ((frequency * (BM25_K1 + 1)) / (frequency + normaliser));
    }
  }
  return score;
}

/**
 * Corpus statistics and document frequencies for BM25, cached until the database changes:
 * by this connection (invalidate()) or by another one (PRAGMA data_version).
 */
class Bm25Statistics {
  readonly #db: Database;
  #version: number | undefined;
  #statistics: CorpusStatistics | undefined;
  readonly #frequencies = new Map<string, number>();
  readonly #largest = new Map<string, number>();

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
    this.#frequencies.clear();
    this.#largest.clear();
  }

  statistics(): CorpusStatistics {
    this.#fresh();
    this.#statistics ??= (() => {
      const row = this.#db
        .prepare(
          `SELECT COUNT(*) AS rows, COALESCE(AVG(text_terms), 0) AS text,
             COALESCE(AVG(heading_terms), 0) AS heading, COALESCE(SUM(exact_terms = 0), 0) AS unsure
           FROM rag_chunks`,
        )
        .get() as { rows: number; text: number; heading: number; unsure: number };
      return {
        rows: row.rows,
        unsureRows: row.unsure,
        averageTextTerms: row.text,
        averageHeadingTerms: row.heading,
      };
    })();
    return this.#statistics;
  }

  /**
   * The most one term adds to any row's score: its one-phrase bm25() maximum (idf and the
   * length normalisation are corpus-wide, so a phrase's part of any query's score is the
   * same). Costs one pass over the term's rows, once per change of the database.
   */
  largestContribution(term: string): number {
    this.#fresh();
    let largest = this.#largest.get(term);
    if (largest === undefined) {
      const row = this.#db
        .prepare(
          `SELECT -bm25(rag_chunks_fts, ${BM25_TEXT_WEIGHT}, ${BM25_HEADING_WEIGHT}) AS largest
           FROM rag_chunks_fts WHERE rag_chunks_fts MATCH ?
           ORDER BY bm25(rag_chunks_fts, ${BM25_TEXT_WEIGHT}, ${BM25_HEADING_WEIGHT}) LIMIT 1`,
        )
        .get(termsMatchExpression([term])) as { largest: number } | undefined;
      largest = row?.largest ?? 0;
      this.#largest.set(term, largest);
    }
    return largest;
  }

  documentFrequency(term: string): number {
    this.#fresh();
    let frequency = this.#frequencies.get(term);
    if (frequency === undefined) {
      const row = this.#db
        .prepare('SELECT doc FROM rag_chunks_fts_vocab WHERE term = ?')
        .get(term) as { doc: number } | undefined;
      frequency = row?.doc ?? 0;
      this.#frequencies.set(term, frequency);
    }
    return frequency;
  }
}

export class RagStore {
  readonly db: Database;
  #vectorsLoaded: boolean | string = false;
  readonly #bm25: Bm25Statistics;

  constructor(db: Database) {
    this.db = db;
    this.#bm25 = new Bm25Statistics(db);
  }

  /** Opens (creating if needed) the database file; ':memory:' for a throwaway store. */
  static open(path: string): RagStore {
    return new RagStore(openDatabase(path));
  }

  close(): void {
    this.db.close();
  }

  /** Loads sqlite-vec into the connection on first need; a clear error where it cannot run. */
  #ensureVectors(): void {
    if (this.#vectorsLoaded === true) return;
    if (typeof this.#vectorsLoaded === 'string') throw new TandemError(this.#vectorsLoaded);
    try {
      sqliteVec.load(this.db);
      this.#vectorsLoaded = true;
    } catch (error) {
      this.#vectorsLoaded = `sqlite-vec cannot load on this platform (${errorLine(error)}): vectors are unavailable here; use collections without --embed-model and --mode bm25.`;
      throw new TandemError(this.#vectorsLoaded, { cause: error });
    }
  }

  listCollections(): RagCollection[] {
    const rows = this.db
      .prepare(
        `SELECT c.id, c.name, c.created_at, c.embedding_model, c.embedding_dimensions,
           (SELECT COUNT(*) FROM rag_documents d WHERE d.collection_id = c.id) AS document_count,
           (SELECT COALESCE(SUM(d.chunk_count), 0) FROM rag_documents d WHERE d.collection_id = c.id) AS chunk_count
         FROM rag_collections c ORDER BY c.name`,
      )
      .all() as CollectionRow[];
    return rows.map(toCollection);
  }

  collection(name: string): RagCollection | undefined {
    return this.listCollections().find((collection) => collection.name === name);
  }

  /** The collection, created empty when it does not exist. */
  ensureCollection(name: string): RagCollection {
    checkCollectionName(name);
    this.db
      .prepare('INSERT OR IGNORE INTO rag_collections (name, created_at) VALUES (?, ?)')
      .run(name, new Date().toISOString());
    return this.collection(name) as RagCollection;
  }

  /** Deletes a collection with its documents, chunks and vectors; false when there was none. */
  removeCollection(name: string): boolean {
    const collection = this.collection(name);
    if (collection === undefined) return false;
    this.db.transaction(() => {
      if (collection.embeddingModel !== undefined) {
        this.#ensureVectors();
        this.db.exec(`DROP TABLE IF EXISTS ${vectorTable(collection.id)}`);
      }
      this.db.prepare('DELETE FROM rag_collections WHERE id = ?').run(collection.id);
    })();
    this.#bm25.invalidate();
    return true;
  }

  documents(collectionId: number): StoredDocument[] {
    const rows = this.db
      .prepare(
        `SELECT id, source, kind, title, content_sha256, size_bytes, indexed_at, chunk_count
         FROM rag_documents WHERE collection_id = ? ORDER BY source`,
      )
      .all(collectionId) as {
      id: number;
      source: string;
      kind: string;
      title: string | null;
      content_sha256: string;
      size_bytes: number;
      indexed_at: string;
      chunk_count: number;
    }[];
    return rows.map((row) => ({
      id: row.id,
      source: row.source,
      kind: row.kind,
      title: row.title ?? undefined,
      contentSha256: row.content_sha256,
      sizeBytes: row.size_bytes,
      indexedAt: row.indexed_at,
      chunkCount: row.chunk_count,
    }));
  }

  /** The stored hash of a document, or undefined (an indexed lookup, for incremental indexing). */
  documentHash(collectionId: number, source: string): string | undefined {
    const row = this.db
      .prepare('SELECT content_sha256 FROM rag_documents WHERE collection_id = ? AND source = ?')
      .get(collectionId, source) as { content_sha256: string } | undefined;
    return row?.content_sha256;
  }

  /** Gives the collection vectors of `dimensions` made by `model` (once; then they must match). */
  setEmbedding(collection: RagCollection, model: string, dimensions: number): void {
    if (collection.embeddingModel !== undefined) {
      if (collection.embeddingModel !== model || collection.embeddingDimensions !== dimensions) {
        throw new InvalidArgumentError(
          `Collection '${collection.name}' has vectors from ${collection.embeddingModel} (${collection.embeddingDimensions} dimensions): index with --embed-model ${collection.embeddingModel}, or use a new collection.`,
        );
      }
      return;
    }
    const existing = this.db
      .prepare('SELECT COUNT(*) AS documents FROM rag_documents WHERE collection_id = ?')
      .get(collection.id) as { documents: number };
    if (existing.documents > 0) {
      throw new InvalidArgumentError(
        `Collection '${collection.name}' already has ${existing.documents} documents without vectors: index with --embed-model into a new collection, or remove this one first ('tandem rag rm ${collection.name}').`,
      );
    }
    this.#ensureVectors();
    this.db.transaction(() => {
      this.db.exec(
        `CREATE VIRTUAL TABLE IF NOT EXISTS ${vectorTable(collection.id)} USING vec0 (embedding float[${dimensions}])`,
      );
      this.db
        .prepare(
          'UPDATE rag_collections SET embedding_model = ?, embedding_dimensions = ? WHERE id = ?',
        )
        .run(model, dimensions, collection.id);
    })();
    collection.embeddingModel = model;
    collection.embeddingDimensions = dimensions;
  }

  /**
   * Replaces a document (or adds it) with its chunks and, for a collection with embeddings,
   * one vector per chunk — all in one transaction, so a crash leaves the old version.
   */
  replaceDocument(
    collection: RagCollection,
    document: DocumentInput,
    chunks: readonly Chunk[],
    vectors?: readonly Float32Array[],
  ): number {
    if (vectors !== undefined && vectors.length !== chunks.length) {
      throw new TandemError(`${vectors.length} vectors for ${chunks.length} chunks.`);
    }
    if (collection.embeddingModel !== undefined && vectors === undefined && chunks.length > 0) {
      throw new InvalidArgumentError(
        `Collection '${collection.name}' has vectors from ${collection.embeddingModel}: index with --embed-model ${collection.embeddingModel}.`,
      );
    }
    if (collection.embeddingModel !== undefined) this.#ensureVectors();
    const insertChunk = this.db.prepare(
      `INSERT INTO rag_chunks (document_id, position, heading, start_offset, end_offset, token_count, text_terms, heading_terms, exact_terms, text)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertVector =
      collection.embeddingModel === undefined
        ? undefined
        : this.db.prepare(
            `INSERT INTO ${vectorTable(collection.id)} (rowid, embedding) VALUES (?, ?)`,
          );
    const result = this.db.transaction(() => {
      this.#deleteDocument(collection, document.source);
      const { lastInsertRowid } = this.db
        .prepare(
          `INSERT INTO rag_documents (collection_id, source, kind, title, content_sha256, size_bytes, indexed_at, chunk_count)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          collection.id,
          document.source,
          document.kind,
          document.title ?? null,
          document.contentSha256,
          document.sizeBytes,
          new Date().toISOString(),
          chunks.length,
        );
      const documentId = Number(lastInsertRowid);
      for (const [index, chunk] of chunks.entries()) {
        const heading = chunk.headingPath.join(HEADING_SEPARATOR);
        const result = insertChunk.run(
          documentId,
          chunk.index,
          heading,
          chunk.start,
          chunk.end,
          chunk.tokenCount,
          ftsTokenCount(chunk.text),
          ftsTokenCount(heading),
          TOKENIZER_UNSURE.test(chunk.text) || TOKENIZER_UNSURE.test(heading) ? 0 : 1,
          chunk.text,
        );
        const vector = vectors?.[index];
        if (insertVector !== undefined && vector !== undefined) {
          insertVector.run(BigInt(result.lastInsertRowid), vector);
        }
      }
      return documentId;
    })();
    this.#bm25.invalidate();
    return result;
  }

  /** Deletes a document; false when the collection had none by that source. */
  removeDocument(collection: RagCollection, source: string): boolean {
    if (collection.embeddingModel !== undefined) this.#ensureVectors();
    const removed = this.db.transaction(() => this.#deleteDocument(collection, source))();
    this.#bm25.invalidate();
    return removed;
  }

  #deleteDocument(collection: RagCollection, source: string): boolean {
    const existing = this.db
      .prepare('SELECT id FROM rag_documents WHERE collection_id = ? AND source = ?')
      .get(collection.id, source) as { id: number } | undefined;
    if (existing === undefined) return false;
    if (collection.embeddingModel !== undefined) {
      this.db
        .prepare(
          `DELETE FROM ${vectorTable(collection.id)} WHERE rowid IN (SELECT id FROM rag_chunks WHERE document_id = ?)`,
        )
        .run(existing.id);
    }
    // Chunks go with the document (ON DELETE CASCADE); their trigger updates the FTS index.
    this.db.prepare('DELETE FROM rag_documents WHERE id = ?').run(existing.id);
    return true;
  }

  /**
   * BM25 over the collection's chunks: the best `k`, best first, with FTS5's bm25() scores
   * (k1 1.2, b 0.75; text weight 1, heading 0.5; corpus statistics over the whole index).
   *
   * Exact, and fast on large indexes: a query that ORs common words makes FTS5 score nearly
   * every row, so candidates come from the query's rarest terms alone (FTS5, best 10·k),
   * are scored in full here with the same formula, and are accepted only when no other
   * chunk can beat the k-th (MaxScore): a chunk outside the candidates scores at most the
   * last candidate's score plus the largest contribution each other term makes to any row.
   * Otherwise FTS5 scores every match.
   */
  searchBm25(collection: RagCollection, query: string, k: number): RetrievedChunk[] {
    const terms = queryTerms(query);
    if (terms.length === 0) return [];
    // One read transaction: statistics, candidates and bounds all see one snapshot.
    return this.db.transaction(() => {
      const pruned = this.#searchBm25Pruned(collection, terms, k);
      if (pruned !== undefined) return pruned;
      this.lastBm25Plan = 'full';
      return this.#searchBm25Full(collection, terms, k);
    })();
  }

  /**
   * When the query's rare terms are in at most this many rows in all, every one of those rows
   * is scored (then a row outside them has no rare term); above it, the best 10·k by FTS5.
   */
  bm25ExhaustiveRows = 200;

  /** How the last BM25 search was answered (for tests and diagnostics). */
  lastBm25Plan: 'rare-rows' | 'candidates' | 'full' | 'none' = 'none';

  #searchBm25Full(
    collection: RagCollection,
    terms: readonly string[],
    k: number,
  ): RetrievedChunk[] {
    const rows = this.db
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

  #searchBm25Pruned(
    collection: RagCollection,
    terms: readonly string[],
    k: number,
  ): RetrievedChunk[] | undefined {
    const statistics = this.#bm25.statistics();
    if (statistics.rows === 0) return [];
    if (statistics.unsureRows > 0) return undefined;
    const idf = new Map<string, number>();
    const present: { term: string; frequency: number }[] = [];
    for (const term of terms) {
      const frequency = this.#bm25.documentFrequency(term);
      if (frequency === 0) continue;
      idf.set(term, bm25Idf(statistics.rows, frequency));
      present.push({ term, frequency });
    }
    if (present.length === 0) return [];
    // MaxScore: the rarest terms find the candidates; the others can add at most their
    // largest contribution to any row. Widen the candidate terms until that is provably
    // not enough to reach the k-th candidate (or give up: FTS5 scores every match).
    const byRarity = [...present].sort((left, right) => left.frequency - right.frequency);
    const rareLimit = Math.max(RARE_TERM_MINIMUM_ROWS, statistics.rows * RARE_TERM_SHARE);
    let essential = Math.max(1, byRarity.filter((entry) => entry.frequency <= rareLimit).length);
    // The most the terms past the first `count` (by rarity) can add to any row.
    const largestBeyond = (count: number) =>
      byRarity
        .slice(count)
        .reduce((sum, entry) => sum + this.#bm25.largestContribution(entry.term), 0);
    const scoreRows = (rows: (ChunkRow & { text_terms: number; heading_terms: number })[]) =>
      rows
        .map((row) => ({ ...row, score: bm25Score(row, idf, statistics) }))
        .sort((left, right) => right.score - left.score || left.chunk_id - right.chunk_id)
        .slice(0, k);
    // When the rare terms are in few rows, score every one of them: then a row outside them
    // has none of the rare terms and scores at most what the other terms can add.
    const rareRows = byRarity.slice(0, essential).reduce((sum, entry) => sum + entry.frequency, 0);
    if (rareRows <= this.bm25ExhaustiveRows) {
      const bound = largestBeyond(essential);
      const ids = this.db
        .prepare('SELECT rowid AS id FROM rag_chunks_fts WHERE rag_chunks_fts MATCH ?')
        .all(termsMatchExpression(byRarity.slice(0, essential).map((entry) => entry.term))) as {
        id: number;
      }[];
      const scored = scoreRows(
        this.#chunkRows(
          collection,
          ids.map((row) => row.id),
        ),
      );
      const kth = scored[k - 1]?.score;
      if (kth !== undefined ? kth >= bound - 1e-9 * Math.max(1, bound) : bound === 0) {
        this.lastBm25Plan = 'rare-rows';
        return scored.map(toRetrieved);
      }
    }
    let candidateLimit = Math.max(50, 10 * k);
    for (let attempt = 0; attempt < 4 && essential <= byRarity.length; attempt++) {
      const candidateTerms = byRarity.slice(0, essential).map((entry) => entry.term);
      const bound = largestBeyond(essential);
      const found = this.#bm25Candidates(collection, candidateTerms, candidateLimit);
      const lastScore = found.candidates === candidateLimit ? found.lastCandidateScore : 0;
      const scored = scoreRows(found.rows);
      // Every chunk outside the candidates scores at most this; one that would only tie
      // the k-th is as good an answer (FTS5 orders ties arbitrarily too).
      const ceiling = lastScore + bound;
      const kth = scored[k - 1]?.score;
      if (kth !== undefined ? kth >= ceiling - 1e-9 * Math.max(1, ceiling) : ceiling === 0) {
        this.lastBm25Plan = 'candidates';
        return scored.map(toRetrieved);
      }
      // First go deeper into the same terms' rows (cheap: FTS5 scored them all already), which
      // lowers the last candidate's score; then widen the terms.
      if (found.candidates === candidateLimit && candidateLimit < 8 * Math.max(50, 10 * k)) {
        candidateLimit *= 8;
        continue;
      }
      essential += 1;
    }
    return undefined;
  }

  /** The best rows for some terms by FTS5, then those of the collection with their lengths. */
  #bm25Candidates(collection: RagCollection, terms: readonly string[], limit: number) {
    const candidates = this.db
      .prepare(
        `SELECT rowid AS id, -bm25(rag_chunks_fts, ${BM25_TEXT_WEIGHT}, ${BM25_HEADING_WEIGHT}) AS score
         FROM rag_chunks_fts WHERE rag_chunks_fts MATCH ?
         ORDER BY bm25(rag_chunks_fts, ${BM25_TEXT_WEIGHT}, ${BM25_HEADING_WEIGHT}) LIMIT ?`,
      )
      .all(termsMatchExpression(terms), limit) as { id: number; score: number }[];
    return {
      rows: this.#chunkRows(
        collection,
        candidates.map((candidate) => candidate.id),
      ),
      candidates: candidates.length,
      lastCandidateScore: candidates.at(-1)?.score ?? 0,
    };
  }

  /** Chunks of the collection by id, with their texts and lengths. */
  #chunkRows(
    collection: RagCollection,
    ids: readonly number[],
  ): (ChunkRow & { text_terms: number; heading_terms: number })[] {
    if (ids.length === 0) return [];
    return this.db
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

  /** Nearest chunks by cosine similarity (vectors are stored unit length), best first. */
  searchVectors(collection: RagCollection, vector: Float32Array, k: number): RetrievedChunk[] {
    if (collection.embeddingModel === undefined) {
      throw new InvalidArgumentError(
        `Collection '${collection.name}' has no vectors: index it with --embed-model MODEL, or use --mode bm25.`,
      );
    }
    this.#ensureVectors();
    const rows = this.db
      .prepare(
        `SELECT c.id AS chunk_id, c.document_id, d.source, d.title, c.heading, c.text,
           c.start_offset, c.end_offset, 1 - (v.distance * v.distance) / 2 AS score
         FROM (SELECT rowid, distance FROM ${vectorTable(collection.id)} WHERE embedding MATCH ? AND k = ?) v
         JOIN rag_chunks c ON c.id = v.rowid
         JOIN rag_documents d ON d.id = c.document_id
         ORDER BY v.distance`,
      )
      .all(vector, k) as ChunkRow[];
    return rows.map(toRetrieved);
  }
}

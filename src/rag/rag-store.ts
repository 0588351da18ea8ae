/**
 * Where RAG collections live: tandem's SQLite database (`$TANDEM_HOME/tandem.db`, or a file
 * given with --db), or an in-memory database for documents given inline. Documents and their
 * chunks are plain tables; `rag_chunks_fts` is an FTS5 index over the chunks (BM25), kept in
 * step by triggers; vectors (sqlite-vec) are one `vec0` table per collection, created when
 * the collection first gets embeddings; `rag_postings` holds tandem's own BM25 postings
 * (postings.ts), written with the chunks. Every user value reaches SQL as a bound parameter.
 * BM25 searches over these tables are search/bm25-search.ts's; the store answers them with it.
 */

import * as sqliteVec from 'sqlite-vec';
import { errorLine, InvalidArgumentError, TandemError } from '../errors.js';
import { type Database, openDatabase } from '../store/database.js';
import type { Chunk } from './ingest/chunk.js';
import { Bm25Search } from './search/bm25-search.js';
import { Bm25Statistics } from './search/bm25-statistics.js';
import {
  chunkTerms,
  type PostingsChunk,
  PostingsIndex,
  type PostingsSearchStatistics,
  TermPostings,
} from './search/postings.js';
import {
  type ChunkRow,
  HEADING_SEPARATOR,
  type RetrievedChunk,
  toRetrieved,
} from './search/retrieved-chunk.js';

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

/** One document to write: its chunks and, for a collection with embeddings, their vectors. */
export interface DocumentWrite {
  document: DocumentInput;
  chunks: readonly Chunk[];
  vectors?: readonly Float32Array[] | undefined;
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

/** The vec0 table of a collection (its id is an integer, so the name is safe). */
function vectorTable(collectionId: number): string {
  if (!Number.isSafeInteger(collectionId)) throw new TandemError('Invalid collection id.');
  return `rag_vectors_${collectionId}`;
}

/**
 * Characters beyond Latin (U+0250 on, surrogates included) but the heading separator '›':
 * tandem's tokenizer follows SQLite's tables, but SQLite's Unicode data is older, so counts
 * there may differ by a token.
 */
const TOKENIZER_UNSURE = /[\u0250-\u2039\u203b-\uffff]/;

export class RagStore {
  readonly db: Database;
  #vectorsLoaded: boolean | string = false;
  readonly #bm25: Bm25Statistics;
  readonly #postings: PostingsIndex;
  readonly #bm25Search: Bm25Search;

  /** Builds the postings of collections indexed before tandem kept its own (schema 2). */
  constructor(db: Database) {
    this.db = db;
    this.#bm25 = new Bm25Statistics(db);
    this.#postings = new PostingsIndex(db);
    this.#bm25Search = new Bm25Search(db, this.#bm25, this.#postings);
    const pending = db
      .prepare('SELECT id FROM rag_collections WHERE postings_ready = 0')
      .pluck()
      .all() as number[];
    for (const id of pending) {
      db.transaction(() => {
        // Another process may have built them while this one waited for the lock.
        const ready = db
          .prepare('SELECT postings_ready FROM rag_collections WHERE id = ?')
          .pluck()
          .get(id);
        if (ready !== 0) return;
        this.#postings.rebuild(id);
        db.prepare('UPDATE rag_collections SET postings_ready = 1 WHERE id = ?').run(id);
      }).immediate();
    }
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
      .prepare(
        'INSERT OR IGNORE INTO rag_collections (name, created_at, postings_ready) VALUES (?, ?, 1)',
      )
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
    this.#postings.invalidate();
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
    return this.replaceDocuments(collection, [{ document, chunks, vectors }])[0] as number;
  }

  /**
   * Replaces (or adds) several documents in one transaction: a crash leaves every one of them
   * in its old version. Their postings are written one pass per term for the whole batch,
   * which is what makes indexing many small documents fast (see DocumentBatch). Returns the
   * new document ids, in order.
   */
  replaceDocuments(collection: RagCollection, writes: readonly DocumentWrite[]): number[] {
    const sources = new Set<string>();
    for (const { document, chunks, vectors } of writes) {
      if (sources.has(document.source)) {
        throw new TandemError(`Document ${document.source} is twice in one write.`);
      }
      sources.add(document.source);
      if (vectors !== undefined && vectors.length !== chunks.length) {
        throw new TandemError(`${vectors.length} vectors for ${chunks.length} chunks.`);
      }
      if (collection.embeddingModel !== undefined && vectors === undefined && chunks.length > 0) {
        throw new InvalidArgumentError(
          `Collection '${collection.name}' has vectors from ${collection.embeddingModel}: index with --embed-model ${collection.embeddingModel}.`,
        );
      }
    }
    if (collection.embeddingModel !== undefined) this.#ensureVectors();
    const insertDocument = this.db.prepare(
      `INSERT INTO rag_documents (collection_id, source, kind, title, content_sha256, size_bytes, indexed_at, chunk_count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
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
    const ids = this.db
      .transaction(() => {
        // Old versions out first (their postings in one pass), then the new ones in.
        this.#deleteDocuments(
          collection,
          writes.map((write) => write.document.source),
        );
        const inserted = new TermPostings();
        const documentIds = writes.map(({ document, chunks, vectors }) => {
          const documentId = Number(
            insertDocument.run(
              collection.id,
              document.source,
              document.kind,
              document.title ?? null,
              document.contentSha256,
              document.sizeBytes,
              new Date().toISOString(),
              chunks.length,
            ).lastInsertRowid,
          );
          for (const [index, chunk] of chunks.entries()) {
            const heading = chunk.headingPath.join(HEADING_SEPARATOR);
            const terms = chunkTerms(chunk.text, heading);
            const { lastInsertRowid } = insertChunk.run(
              documentId,
              chunk.index,
              heading,
              chunk.start,
              chunk.end,
              chunk.tokenCount,
              terms.textTerms,
              terms.headingTerms,
              TOKENIZER_UNSURE.test(chunk.text) || TOKENIZER_UNSURE.test(heading) ? 0 : 1,
              chunk.text,
            );
            inserted.add(Number(lastInsertRowid), terms);
            const vector = vectors?.[index];
            if (insertVector !== undefined && vector !== undefined) {
              insertVector.run(BigInt(lastInsertRowid), vector);
            }
          }
          return documentId;
        });
        this.#postings.add(collection.id, inserted);
        return documentIds;
        // IMMEDIATE: it reads (old chunks, postings tails) before it writes; another writer
        // must wait for it rather than make it fail on upgrading its snapshot.
      })
      .immediate();
    this.#bm25.invalidate();
    this.#postings.invalidate();
    return ids;
  }

  /** Deletes a document; false when the collection had none by that source. */
  removeDocument(collection: RagCollection, source: string): boolean {
    if (collection.embeddingModel !== undefined) this.#ensureVectors();
    const removed = this.db
      .transaction(() => this.#deleteDocuments(collection, [source]))
      .immediate();
    this.#bm25.invalidate();
    this.#postings.invalidate();
    return removed > 0;
  }

  /** Deletes the documents by these sources that exist, with their postings; how many. */
  #deleteDocuments(collection: RagCollection, sources: readonly string[]): number {
    const find = this.db.prepare(
      'SELECT id FROM rag_documents WHERE collection_id = ? AND source = ?',
    );
    const existing = sources
      .map((source) => find.get(collection.id, source) as { id: number } | undefined)
      .filter((row) => row !== undefined);
    if (existing.length === 0) return 0;
    const chunksOf = this.db.prepare(
      'SELECT id, text, heading FROM rag_chunks WHERE document_id = ?',
    );
    this.#postings.remove(
      collection.id,
      existing.flatMap((row) => chunksOf.all(row.id) as PostingsChunk[]),
    );
    const removeVectors =
      collection.embeddingModel === undefined
        ? undefined
        : this.db.prepare(
            `DELETE FROM ${vectorTable(collection.id)} WHERE rowid IN (SELECT id FROM rag_chunks WHERE document_id = ?)`,
          );
    // Chunks go with the document (ON DELETE CASCADE); their trigger updates the FTS index.
    const removeDocument = this.db.prepare('DELETE FROM rag_documents WHERE id = ?');
    for (const { id } of existing) {
      removeVectors?.run(id);
      removeDocument.run(id);
    }
    return existing.length;
  }

  /**
   * BM25 over the collection's chunks: the best `k`, best first, with FTS5's bm25() scores
   * (see {@link Bm25Search.searchBm25}).
   */
  searchBm25(collection: RagCollection, query: string, k: number): RetrievedChunk[] {
    return this.#bm25Search.searchBm25(collection, query, k);
  }

  /** How the last BM25 search was answered (for tests and diagnostics). */
  get lastBm25Plan(): Bm25Search['lastBm25Plan'] {
    return this.#bm25Search.lastBm25Plan;
  }

  /** The work the last search on the postings took (for tests and the benchmark). */
  get lastPostingsSearch(): PostingsSearchStatistics | undefined {
    return this.#bm25Search.lastPostingsSearch;
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

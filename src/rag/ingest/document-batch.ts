/**
 * Documents written to a collection in batches: each batch is one transaction
 * (RagStore.replaceDocuments), so a crash leaves every document of it in its old version,
 * and the postings of a whole batch are written one pass per term instead of one per
 * document and term. A batch is bounded by chunks and by text, so memory stays bounded
 * however many documents are indexed.
 *
 * Each write carries a note (what to report about it); notes without a write (a file
 * skipped or unchanged) wait behind the pending writes, so they are handed on in the order
 * they were added, each once the writes before it are committed.
 */

import type { DocumentWrite, RagCollection, RagStore } from '../rag-store.js';

export interface DocumentBatchLimits {
  /** Commit once this many chunks are pending (default 4000). */
  chunks?: number;
  /** Commit once this much chunk text is pending, in UTF-16 code units (default 16 Mi). */
  textLength?: number;
}

export const DEFAULT_BATCH_CHUNKS = 4000;
export const DEFAULT_BATCH_TEXT_LENGTH = 16 * 1024 * 1024;

export class DocumentBatch<Note> {
  readonly #store: RagStore;
  readonly #collection: RagCollection;
  readonly #onCommitted: (note: Note) => void;
  readonly #maxChunks: number;
  readonly #maxTextLength: number;
  #writes: DocumentWrite[] = [];
  #notes: Note[] = [];
  #chunks = 0;
  #textLength = 0;

  constructor(
    store: RagStore,
    collection: RagCollection,
    onCommitted: (note: Note) => void,
    limits: DocumentBatchLimits = {},
  ) {
    this.#store = store;
    this.#collection = collection;
    this.#onCommitted = onCommitted;
    this.#maxChunks = limits.chunks ?? DEFAULT_BATCH_CHUNKS;
    this.#maxTextLength = limits.textLength ?? DEFAULT_BATCH_TEXT_LENGTH;
  }

  /** Documents waiting to be committed. */
  get pending(): number {
    return this.#writes.length;
  }

  /** Queues a document (committing the batch when it is full). */
  add(write: DocumentWrite, note: Note): void {
    this.#writes.push(write);
    this.#notes.push(note);
    this.#chunks += write.chunks.length;
    for (const chunk of write.chunks) this.#textLength += chunk.text.length;
    if (this.#chunks >= this.#maxChunks || this.#textLength >= this.#maxTextLength) this.commit();
  }

  /** A note without a write: handed on now, or after the writes already pending. */
  note(note: Note): void {
    if (this.#writes.length === 0) this.#onCommitted(note);
    else this.#notes.push(note);
  }

  /** Writes the pending documents in one transaction, then hands on their notes in order. */
  commit(): void {
    if (this.#writes.length > 0) this.#store.replaceDocuments(this.#collection, this.#writes);
    const notes = this.#notes;
    this.#writes = [];
    this.#notes = [];
    this.#chunks = 0;
    this.#textLength = 0;
    for (const note of notes) this.#onCommitted(note);
  }
}

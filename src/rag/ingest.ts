/**
 * Indexing: files and folders (or inline texts) into a collection. Each file is read,
 * hashed, extracted, chunked and (with an embedder) embedded on its own, so memory holds one
 * file at a time. Unchanged files (same SHA-256) are skipped; changed ones are replaced in
 * one transaction; with `prune`, documents whose files are gone are removed. Unreadable,
 * binary, oversized or unsupported files are skipped with a one-line reason, never fatal.
 */

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { AbortedError, errorLine, InvalidArgumentError } from '../errors.js';
import { formatBytes } from '../units.js';
import { type ChunkOptions, chunkDocument } from './chunk.js';
import type { Embedder } from './embedder.js';
import { type DocumentKind, documentKindOf, extractText } from './extract.js';
import type { RagCollection, RagStore } from './rag-store.js';

export const DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024;

/** Folders never walked into. */
const IGNORED_FOLDERS = new Set(['.git', 'node_modules', '.hg', '.svn', '__pycache__']);

export interface IndexOptions {
  chunk?: ChunkOptions;
  /** Files larger than this are skipped (default 50 MB). */
  maxFileBytes?: number;
  /** Remove documents whose files no longer exist. */
  prune?: boolean;
  embedder?: Embedder;
  signal?: AbortSignal;
  /** Called after each file: what happened to it. */
  onFile?: (event: IndexedFile) => void;
}

export type FileOutcome = 'added' | 'updated' | 'unchanged' | 'skipped' | 'removed';

export interface IndexedFile {
  source: string;
  outcome: FileOutcome;
  /** Why it was skipped. */
  reason?: string;
  chunks?: number;
}

export interface IndexReport {
  collection: string;
  files: IndexedFile[];
  added: number;
  updated: number;
  unchanged: number;
  skipped: number;
  removed: number;
  /** Chunks written by this run. */
  chunks: number;
  /** Bytes of the files read and indexed by this run (added or updated). */
  bytes: number;
  elapsedMs: number;
}

interface Candidate {
  source: string;
  /** Explicitly named (an unsupported type is reported), or found in a folder (ignored). */
  named: boolean;
}

async function collectFiles(paths: readonly string[]): Promise<{
  candidates: Candidate[];
  missing: string[];
  unreadable: string[];
  roots: string[];
}> {
  const candidates: Candidate[] = [];
  const missing: string[] = [];
  const unreadable: string[] = [];
  const roots: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => undefined);
    if (entries === undefined) {
      unreadable.push(folder);
      return;
    }
    entries.sort((left, right) => left.name.localeCompare(right.name));
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (!IGNORED_FOLDERS.has(entry.name) && !entry.name.startsWith('.')) await walk(path);
      } else if (entry.isFile() && documentKindOf(entry.name) !== undefined) {
        candidates.push({ source: path, named: false });
      }
    }
  };
  for (const given of paths) {
    const path = resolve(given);
    const stats = await stat(path).catch(() => undefined);
    if (stats === undefined) missing.push(path);
    else if (stats.isDirectory()) {
      roots.push(path);
      await walk(path);
    } else {
      roots.push(path);
      candidates.push({ source: path, named: true });
    }
  }
  return { candidates, missing, unreadable, roots };
}

/** One document's text into the collection (shared by files and inline texts). */
async function storeText(
  store: RagStore,
  collection: RagCollection,
  document: {
    source: string;
    kind: DocumentKind | 'inline';
    title: string | undefined;
    sha256: string;
    sizeBytes: number;
  },
  text: string,
  options: IndexOptions,
): Promise<number> {
  const chunks = chunkDocument(text, options.chunk);
  const vectors =
    options.embedder === undefined || chunks.length === 0
      ? undefined
      : await options.embedder.embed(
          chunks.map((chunk) => chunk.text),
          options.signal,
        );
  if (options.embedder !== undefined && vectors !== undefined && vectors[0] !== undefined) {
    store.setEmbedding(collection, options.embedder.model, vectors[0].length);
  }
  store.replaceDocument(
    collection,
    {
      source: document.source,
      kind: document.kind,
      title: document.title,
      contentSha256: document.sha256,
      sizeBytes: document.sizeBytes,
    },
    chunks,
    vectors,
  );
  return chunks.length;
}

/** A collection's vectors come from one model; a mismatch is refused before any work. */
function checkEmbeddingModel(store: RagStore, collection: RagCollection, embedder: Embedder): void {
  if (collection.embeddingModel !== undefined && collection.embeddingModel !== embedder.model) {
    throw new InvalidArgumentError(
      `Collection '${collection.name}' has vectors from ${collection.embeddingModel}: index with --embed-model ${collection.embeddingModel}, or use a new collection.`,
    );
  }
  if (collection.embeddingModel === undefined && store.documents(collection.id).length > 0) {
    throw new InvalidArgumentError(
      `Collection '${collection.name}' already has documents without vectors: index with --embed-model into a new collection, or remove this one first ('tandem rag rm ${collection.name}').`,
    );
  }
}

function emptyReport(collection: string): IndexReport {
  return {
    collection,
    files: [],
    added: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    removed: 0,
    chunks: 0,
    bytes: 0,
    elapsedMs: 0,
  };
}

function record(report: IndexReport, file: IndexedFile, options: IndexOptions): void {
  report.files.push(file);
  report[file.outcome] += 1;
  options.onFile?.(file);
}

/** Indexes files and folders (.txt, .md, .html, .pdf, .docx) into a collection. */
export async function indexPaths(
  store: RagStore,
  collectionName: string,
  paths: readonly string[],
  options: IndexOptions = {},
): Promise<IndexReport> {
  const startedAt = performance.now();
  const collection = store.ensureCollection(collectionName);
  const report = emptyReport(collection.name);
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (options.embedder !== undefined) checkEmbeddingModel(store, collection, options.embedder);
  const { candidates, missing, unreadable, roots } = await collectFiles(paths);
  for (const source of missing) {
    record(report, { source, outcome: 'skipped', reason: 'no such file or folder' }, options);
  }
  for (const source of unreadable) {
    record(report, { source, outcome: 'skipped', reason: 'folder cannot be read' }, options);
  }
  for (const { source, named } of candidates) {
    if (options.signal?.aborted)
      throw new AbortedError('Indexing stopped; files done so far are kept.');
    const kind = documentKindOf(source);
    if (kind === undefined) {
      if (named) {
        record(
          report,
          {
            source,
            outcome: 'skipped',
            reason: 'unsupported type (use .txt, .md, .html, .pdf or .docx)',
          },
          options,
        );
      }
      continue;
    }
    const stats = await stat(source).catch(() => undefined);
    if (stats === undefined) {
      record(report, { source, outcome: 'skipped', reason: 'vanished while indexing' }, options);
      continue;
    }
    if (stats.size > maxFileBytes) {
      record(
        report,
        {
          source,
          outcome: 'skipped',
          reason: `${formatBytes(stats.size)} is over the ${formatBytes(maxFileBytes)} limit (raise it with --max-file-mb)`,
        },
        options,
      );
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(source);
    } catch (error) {
      record(
        report,
        { source, outcome: 'skipped', reason: `unreadable (${errorLine(error)})` },
        options,
      );
      continue;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const existingHash = store.documentHash(collection.id, source);
    if (existingHash === sha256) {
      record(report, { source, outcome: 'unchanged' }, options);
      continue;
    }
    try {
      const extracted = await extractText(source, bytes, kind);
      const chunks = await storeText(
        store,
        collection,
        { source, kind, title: extracted.title, sha256, sizeBytes: bytes.length },
        extracted.text,
        options,
      );
      report.chunks += chunks;
      report.bytes += bytes.length;
      record(
        report,
        { source, outcome: existingHash === undefined ? 'added' : 'updated', chunks },
        options,
      );
    } catch (error) {
      if (options.signal?.aborted)
        throw new AbortedError('Indexing stopped; files done so far are kept.');
      if (error instanceof AbortedError || error instanceof InvalidArgumentError) throw error;
      record(report, { source, outcome: 'skipped', reason: errorLine(error) }, options);
    }
  }
  // Prune only under the paths given (and walked) this time, and not at all when one of them
  // is missing: an unmounted folder must not empty the collection.
  if (options.prune === true && missing.length === 0 && unreadable.length === 0) {
    const underRoots = (source: string) =>
      roots.some(
        (root) => source === root || source.startsWith(root.endsWith(sep) ? root : root + sep),
      );
    for (const document of store.documents(collection.id)) {
      if (
        document.kind !== 'inline' &&
        underRoots(document.source) &&
        !existsSync(document.source)
      ) {
        store.removeDocument(collection, document.source);
        record(report, { source: document.source, outcome: 'removed' }, options);
      }
    }
  }
  report.elapsedMs = performance.now() - startedAt;
  return report;
}

/** Indexes texts given inline (`--doc "…"`): source `doc-1`, `doc-2`, … in the order given. */
export async function indexTexts(
  store: RagStore,
  collectionName: string,
  texts: readonly string[],
  options: IndexOptions = {},
): Promise<IndexReport> {
  const startedAt = performance.now();
  const collection = store.ensureCollection(collectionName);
  const report = emptyReport(collection.name);
  if (options.embedder !== undefined) checkEmbeddingModel(store, collection, options.embedder);
  for (const [index, text] of texts.entries()) {
    if (options.signal?.aborted) throw new AbortedError('Indexing stopped.');
    const source = `doc-${index + 1}`;
    const bytes = Buffer.from(text);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const chunks = await storeText(
      store,
      collection,
      { source, kind: 'inline', title: undefined, sha256, sizeBytes: bytes.length },
      text,
      options,
    );
    report.chunks += chunks;
    report.bytes += bytes.length;
    record(report, { source, outcome: 'added', chunks }, options);
  }
  report.elapsedMs = performance.now() - startedAt;
  return report;
}

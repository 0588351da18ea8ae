/**
 * Indexing: files and folders (or inline texts) into a collection. Each file is read,
 * hashed, extracted, chunked and (with an embedder) embedded on its own; the results are
 * written in batches (DocumentBatch: up to 4000 chunks or 16 Mi characters, one transaction
 * each), so memory holds one file and one batch. Unchanged files (same SHA-256) are skipped;
 * changed ones are replaced, the old version kept until their batch commits; with `prune`,
 * documents whose files are gone are removed. Unreadable, binary, oversized or unsupported
 * files are skipped with a one-line reason, never fatal; a stopped or failed run commits
 * the files it finished.
 */

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { AbortedError, errorLine, InvalidArgumentError } from '../../errors.js';
import { formatBytes } from '../../units.js';
import type { Embedder } from '../embedder.js';
import type { DocumentInput, DocumentWrite, RagCollection, RagStore } from '../rag-store.js';
import { type ChunkOptions, chunkDocument } from './chunk.js';
import { DocumentBatch } from './document-batch.js';
import { documentKindOf, extractText } from './extract.js';

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
  // A file named twice, or inside two folders given, is indexed once (named if ever named).
  const unique = new Map<string, Candidate>();
  for (const candidate of candidates) {
    const seen = unique.get(candidate.source);
    if (seen === undefined) unique.set(candidate.source, candidate);
    else seen.named ||= candidate.named;
  }
  return { candidates: [...unique.values()], missing, unreadable, roots };
}

/** One document's text as a write: chunked and, with an embedder, embedded. */
async function prepareText(
  store: RagStore,
  collection: RagCollection,
  document: DocumentInput,
  text: string,
  options: IndexOptions,
): Promise<DocumentWrite> {
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
  return { document, chunks, vectors };
}

/** What is reported about a file once its write (if any) is committed. */
interface FileNote {
  file: IndexedFile;
  /** Bytes of the file, when it was written. */
  bytes?: number;
}

/**
 * Writes in batches (see DocumentBatch); each file is recorded in the report (and passed to
 * onFile) once it is committed. `run` is the indexing loop: whatever it throws, the files
 * it finished are committed first, so they are kept.
 */
async function inBatches(
  store: RagStore,
  collection: RagCollection,
  report: IndexReport,
  options: IndexOptions,
  run: (batch: DocumentBatch<FileNote>) => Promise<void>,
): Promise<void> {
  const batch = new DocumentBatch<FileNote>(store, collection, ({ file, bytes }) => {
    if (bytes !== undefined) {
      report.chunks += file.chunks ?? 0;
      report.bytes += bytes;
    }
    record(report, file, options);
  });
  try {
    await run(batch);
  } catch (error) {
    batch.commit();
    throw error;
  }
  batch.commit();
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
  await inBatches(store, collection, report, options, async (batch) => {
    const skip = (source: string, reason: string) =>
      batch.note({ file: { source, outcome: 'skipped', reason } });
    for (const source of missing) skip(source, 'no such file or folder');
    for (const source of unreadable) skip(source, 'folder cannot be read');
    for (const { source, named } of candidates) {
      if (options.signal?.aborted) {
        throw new AbortedError('Indexing stopped; files done so far are kept.');
      }
      const kind = documentKindOf(source);
      if (kind === undefined) {
        if (named) skip(source, 'unsupported type (use .txt, .md, .html, .pdf or .docx)');
        continue;
      }
      const stats = await stat(source).catch(() => undefined);
      if (stats === undefined) {
        skip(source, 'vanished while indexing');
        continue;
      }
      if (stats.size > maxFileBytes) {
        skip(
          source,
          `${formatBytes(stats.size)} is over the ${formatBytes(maxFileBytes)} limit (raise it with --max-file-mb)`,
        );
        continue;
      }
      let bytes: Buffer;
      try {
        bytes = await readFile(source);
      } catch (error) {
        skip(source, `unreadable (${errorLine(error)})`);
        continue;
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const existingHash = store.documentHash(collection.id, source);
      if (existingHash === sha256) {
        batch.note({ file: { source, outcome: 'unchanged' } });
        continue;
      }
      let write: DocumentWrite;
      try {
        const extracted = await extractText(source, bytes, kind);
        write = await prepareText(
          store,
          collection,
          {
            source,
            kind,
            title: extracted.title,
            contentSha256: sha256,
            sizeBytes: bytes.length,
          },
          extracted.text,
          options,
        );
      } catch (error) {
        if (options.signal?.aborted) {
          throw new AbortedError('Indexing stopped; files done so far are kept.');
        }
        if (error instanceof AbortedError || error instanceof InvalidArgumentError) throw error;
        skip(source, errorLine(error));
        continue;
      }
      // Outside the file's try: a batch that fails to commit ends the run (it is no file's fault).
      const outcome = existingHash === undefined ? 'added' : 'updated';
      batch.add(write, {
        file: { source, outcome, chunks: write.chunks.length },
        bytes: bytes.length,
      });
    }
  });
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
  await inBatches(store, collection, report, options, async (batch) => {
    for (const [index, text] of texts.entries()) {
      if (options.signal?.aborted) throw new AbortedError('Indexing stopped.');
      const source = `doc-${index + 1}`;
      const bytes = Buffer.from(text);
      const contentSha256 = createHash('sha256').update(bytes).digest('hex');
      const write = await prepareText(
        store,
        collection,
        { source, kind: 'inline', title: undefined, contentSha256, sizeBytes: bytes.length },
        text,
        options,
      );
      batch.add(write, {
        file: { source, outcome: 'added', chunks: write.chunks.length },
        bytes: bytes.length,
      });
    }
  });
  report.elapsedMs = performance.now() - startedAt;
  return report;
}

/**
 * `tandem rag`: index documents into a collection, search it, ask grounded questions with
 * checked citations, list and remove collections. Collections live in $TANDEM_HOME/tandem.db
 * (or --db FILE); `rag ask --doc TEXT` keeps its documents in memory only.
 */

import type { Command } from 'commander';
import { createEngine } from '../engines/registry.js';
import type { Engine, StreamPart } from '../engines/spec.js';
import { InvalidArgumentError } from '../errors.js';
import { tandemHome } from '../models/cache.js';
import { type AskOptions, askGrounded, type GroundedAnswer, sourceLabel } from '../rag/ask.js';
import { type Embedder, engineEmbedder } from '../rag/embedder.js';
import { type IndexedFile, indexPaths, indexTexts } from '../rag/ingest/ingest.js';
import { checkCollectionName, type RagCollection, RagStore } from '../rag/rag-store.js';
import { RETRIEVAL_MODES, type RetrievalMode, retrieve } from '../rag/search/retrieve.js';
import { defaultDatabasePath } from '../store/database.js';
import { formatBytes } from '../units.js';
import { excerpt, formatMs, renderTable } from './format.js';
import { choiceFlag, collect, integerFlag, numberFlag } from './options.js';
import { demoNote, dim, interruptSignal, type Terminal } from './terminal.js';
import { demoProgressReporter } from './write-progress.js';

export const DEFAULT_COLLECTION = 'default';

interface StoreFlags {
  db?: string;
  collection?: string;
}

interface RetrievalFlags extends StoreFlags {
  mode?: RetrievalMode;
  k?: number;
  minScore?: number;
  bm25Weight?: number;
  embedModel?: string;
  json?: boolean;
}

function databasePath(flags: StoreFlags, terminal: Terminal): string {
  return flags.db ?? defaultDatabasePath(tandemHome(terminal.env));
}

function writeJson(terminal: Terminal, value: unknown): void {
  terminal.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function withStore<T>(
  flags: StoreFlags,
  terminal: Terminal,
  use: (store: RagStore) => Promise<T>,
): Promise<T> {
  const store = RagStore.open(databasePath(flags, terminal));
  try {
    return await use(store);
  } finally {
    store.close();
  }
}

function existingCollection(store: RagStore, name: string, path: string): RagCollection {
  checkCollectionName(name);
  const collection = store.collection(name);
  if (collection === undefined) {
    const names = store.listCollections().map((candidate) => candidate.name);
    throw new InvalidArgumentError(
      `No collection '${name}' in ${path}${names.length > 0 ? ` (there are: ${names.join(', ')})` : ''}: index documents with 'tandem rag index PATHS --collection ${name}'.`,
    );
  }
  return collection;
}

/** The embedder for vectors: --embed-model, else the collection's own model when one is needed. */
async function embedderFor(
  reference: string | undefined,
  terminal: Terminal,
  signal: AbortSignal | undefined,
): Promise<{ embedder: Embedder; engine: Engine } | undefined> {
  if (reference === undefined) return undefined;
  const engine = await createEngine(reference, {
    env: terminal.env,
    onDemoModelProgress: demoProgressReporter(terminal),
    ...(signal === undefined ? {} : { signal }),
  });
  return { embedder: engineEmbedder(engine, reference), engine };
}

function describeFile(file: IndexedFile): string {
  switch (file.outcome) {
    case 'added':
    case 'updated':
      return `${file.outcome} ${file.source} (${file.chunks ?? 0} chunks)`;
    case 'skipped':
      return `skipped ${file.source}: ${file.reason ?? ''}`;
    default:
      return `${file.outcome} ${file.source}`;
  }
}

/** `tandem rag index PATHS...` */
export async function ragIndexCommand(
  paths: string[],
  flags: StoreFlags & {
    embedModel?: string;
    prune?: boolean;
    chunkTokens?: number;
    overlap?: number;
    maxFileMb?: number;
    json?: boolean;
  },
  terminal: Terminal,
): Promise<number> {
  const collectionName = checkCollectionName(flags.collection ?? DEFAULT_COLLECTION);
  // A collection with vectors keeps getting them from its own model.
  const embedModel =
    flags.embedModel ??
    (await withStore(
      flags,
      terminal,
      async (store) => store.collection(collectionName)?.embeddingModel,
    ));
  const interrupt = interruptSignal(terminal);
  try {
    const embedding = await embedderFor(embedModel, terminal, interrupt.signal);
    try {
      const report = await withStore(flags, terminal, (store) =>
        indexPaths(store, collectionName, paths, {
          chunk: {
            ...(flags.chunkTokens === undefined ? {} : { targetTokens: flags.chunkTokens }),
            ...(flags.overlap === undefined ? {} : { overlapTokens: flags.overlap }),
          },
          ...(flags.maxFileMb === undefined ? {} : { maxFileBytes: flags.maxFileMb * 1024 * 1024 }),
          ...(flags.prune === true ? { prune: true } : {}),
          ...(embedding === undefined ? {} : { embedder: embedding.embedder }),
          signal: interrupt.signal,
          onFile: (file) => {
            if (flags.json !== true && file.outcome !== 'unchanged') {
              const line = describeFile(file);
              terminal.stderr.write(`${file.outcome === 'skipped' ? `warning: ${line}` : line}\n`);
            }
          },
        }),
      );
      if (flags.json === true) {
        writeJson(terminal, report);
      } else {
        const rate = formatBytes(report.bytes / Math.max(report.elapsedMs / 1000, 1e-9));
        terminal.stdout.write(
          `Collection '${report.collection}': ${report.added} added, ${report.updated} updated, ${report.unchanged} unchanged, ${report.removed} removed, ${report.skipped} skipped; ${report.chunks} chunks from ${formatBytes(report.bytes)} in ${formatMs(report.elapsedMs)}${report.bytes > 0 ? ` (${rate}/s)` : ''}.\n`,
        );
      }
      // A path that does not exist is a mistake worth an exit code, even if others indexed.
      const missing = report.files.some((file) => file.reason === 'no such file or folder');
      return missing ? 3 : 0;
    } finally {
      await embedding?.engine.dispose();
    }
  } finally {
    interrupt.dispose();
  }
}

function retrievalOptions(flags: RetrievalFlags, embedder: Embedder | undefined) {
  return {
    ...(flags.mode === undefined ? {} : { mode: flags.mode }),
    ...(flags.k === undefined ? {} : { k: flags.k }),
    ...(flags.minScore === undefined ? {} : { minScore: flags.minScore }),
    ...(flags.bm25Weight === undefined ? {} : { bm25Weight: flags.bm25Weight }),
    ...(embedder === undefined ? {} : { embedder }),
  };
}

/** The embedding model a vector or hybrid query needs: --embed-model, else the collection's. */
function embedModelFor(flags: RetrievalFlags, collection: RagCollection): string | undefined {
  if ((flags.mode ?? 'bm25') === 'bm25') return undefined;
  return flags.embedModel ?? collection.embeddingModel;
}

/** `tandem rag search "QUERY"` */
export async function ragSearchCommand(
  query: string,
  flags: RetrievalFlags,
  terminal: Terminal,
): Promise<number> {
  const name = flags.collection ?? DEFAULT_COLLECTION;
  const interrupt = interruptSignal(terminal);
  return withStore(flags, terminal, async (store) => {
    const collection = existingCollection(store, name, databasePath(flags, terminal));
    const embedding = await embedderFor(
      embedModelFor(flags, collection),
      terminal,
      interrupt.signal,
    );
    try {
      const result = await retrieve(store, collection, query, {
        ...retrievalOptions(flags, embedding?.embedder),
        signal: interrupt.signal,
      });
      if (flags.json === true) {
        writeJson(terminal, { query, collection: collection.name, ...result });
        return 0;
      }
      if (result.chunks.length === 0) {
        terminal.stdout.write(
          `Nothing in '${collection.name}' matches "${query}" (${result.mode}, ${formatMs(result.elapsedMs)}).\n`,
        );
        return 0;
      }
      const rows = [
        ['#', 'score', 'document', 'heading', 'excerpt'],
        ...result.chunks.map((chunk, index) => [
          String(index + 1),
          chunk.score.toFixed(3),
          chunk.title ?? chunk.source,
          chunk.headingPath.join(' › ') || '—',
          excerpt(chunk.text, 60),
        ]),
      ];
      terminal.stdout.write(`${renderTable(rows, new Set([0, 1]))}\n`);
      terminal.stderr.write(
        dim(
          terminal,
          `${result.chunks.length} of ${collection.chunkCount} chunks, ${result.mode}, ${formatMs(result.elapsedMs)}\n`,
        ),
      );
      return 0;
    } finally {
      await embedding?.engine.dispose();
    }
  }).finally(() => interrupt.dispose());
}

function renderAnswerFooter(answer: GroundedAnswer, terminal: Terminal): void {
  const lines: string[] = [];
  if (answer.sources.length > 0) {
    lines.push('Sources:');
    for (const source of answer.sources) {
      const cited = answer.citations?.validSources.includes(source.number) === true;
      lines.push(
        `  [${source.number}] ${sourceLabel(source)} (score ${source.score.toFixed(3)}${cited ? ', cited' : ''}${source.truncated ? ', shortened to fit' : ''}): ${excerpt(source.excerpt, 70)}`,
      );
    }
  }
  for (const dropped of answer.dropped) {
    lines.push(`  left out: ${dropped.source} (${dropped.reason})`);
  }
  const check = answer.citations;
  if (check !== undefined) {
    if (check.uncited)
      lines.push('Citations: none — the answer is not grounded in a cited source.');
    else {
      lines.push(
        `Citations: ${check.validSources.map((number) => `[${number}]`).join(' ')} valid${check.invalidSources.length > 0 ? `; INVALID: ${check.invalidSources.map((number) => `[${number}]`).join(' ')} (no such source)` : ''}.`,
      );
    }
  }
  const run = answer.run;
  lines.push(
    `Retrieval ${formatMs(answer.retrieval.elapsedMs)} (${answer.retrieval.mode})${run === undefined ? '; the model was not called' : `; TTFT ${formatMs(run.ttftMs)}, ${run.outputTokens} tokens (${run.outputTokensSource}), ${run.decodeTokensPerSecond === undefined ? '—' : `${run.decodeTokensPerSecond.toFixed(1)} tok/s`}, E2E ${formatMs(run.e2eMs)}`}.`,
  );
  terminal.stderr.write(`${lines.join('\n')}\n`);
}

/** `tandem rag ask "QUESTION" --model REF` */
export async function ragAskCommand(
  question: string,
  flags: RetrievalFlags & {
    model?: string;
    doc?: string[];
    maxTokens?: number;
    temperature?: number;
  },
  terminal: Terminal,
): Promise<number> {
  if (flags.model === undefined) {
    throw new InvalidArgumentError('rag ask needs --model MODEL (for example --model demo-slm).');
  }
  if (
    flags.doc !== undefined &&
    (flags.mode ?? 'bm25') !== 'bm25' &&
    flags.embedModel === undefined
  ) {
    throw new InvalidArgumentError(
      `--mode ${flags.mode} with --doc needs --embed-model MODEL to embed the inline documents (or use --mode bm25).`,
    );
  }
  if (flags.doc !== undefined && flags.collection !== undefined) {
    throw new InvalidArgumentError(
      'Give either --doc TEXT (inline documents) or --collection NAME, not both.',
    );
  }
  const inline = flags.doc !== undefined;
  const store = inline ? RagStore.open(':memory:') : RagStore.open(databasePath(flags, terminal));
  const interrupt = interruptSignal(terminal);
  let engine: Engine | undefined;
  let embedding: { embedder: Embedder; engine: Engine } | undefined;
  try {
    const name = inline ? 'inline' : (flags.collection ?? DEFAULT_COLLECTION);
    if (inline) {
      embedding = await embedderFor(
        (flags.mode ?? 'bm25') === 'bm25' ? undefined : flags.embedModel,
        terminal,
        interrupt.signal,
      );
      await indexTexts(store, name, flags.doc ?? [], {
        signal: interrupt.signal,
        ...(embedding === undefined ? {} : { embedder: embedding.embedder }),
      });
    }
    const collection = existingCollection(store, name, databasePath(flags, terminal));
    if (!inline) {
      embedding = await embedderFor(embedModelFor(flags, collection), terminal, interrupt.signal);
    }
    engine = await createEngine(flags.model, {
      env: terminal.env,
      onDemoModelProgress: demoProgressReporter(terminal),
      signal: interrupt.signal,
    });
    if (engine.info.isDemo === true && flags.json !== true) {
      terminal.stderr.write(dim(terminal, `note: ${engine.info.model} ${demoNote()}\n`));
    }
    const options: AskOptions = {
      engine,
      retrieval: retrievalOptions(flags, embedding?.embedder),
      cold: true,
      signal: interrupt.signal,
      ...(flags.maxTokens === undefined ? {} : { maxTokens: flags.maxTokens }),
      ...(flags.temperature === undefined ? {} : { temperature: flags.temperature }),
      ...(flags.json === true
        ? {}
        : {
            onPart: (part: StreamPart) => {
              if (part.type === 'text-delta') terminal.stdout.write(part.text);
            },
          }),
    };
    const answer = await askGrounded(store, collection, question, options);
    if (flags.json === true) {
      writeJson(terminal, answer);
    } else {
      if (answer.notCovered) terminal.stdout.write(answer.answer);
      terminal.stdout.write('\n');
      renderAnswerFooter(answer, terminal);
    }
    // An answer whose citations do not check out is still an answer: exit 0, flagged above.
    return 0;
  } finally {
    interrupt.dispose();
    await engine?.dispose().catch(() => undefined);
    await embedding?.engine.dispose().catch(() => undefined);
    store.close();
  }
}

/** `tandem rag list` */
export async function ragListCommand(
  flags: StoreFlags & { json?: boolean },
  terminal: Terminal,
): Promise<number> {
  const path = databasePath(flags, terminal);
  return withStore(flags, terminal, async (store) => {
    const collections = store.listCollections();
    if (flags.json === true) {
      writeJson(
        terminal,
        collections.map((collection) => ({
          ...collection,
          documents: store.documents(collection.id),
        })),
      );
      return 0;
    }
    if (collections.length === 0) {
      terminal.stdout.write(`No collections in ${path}: run 'tandem rag index PATHS'.\n`);
      return 0;
    }
    const rows = [
      ['collection', 'documents', 'chunks', 'vectors', 'created'],
      ...collections.map((collection) => [
        collection.name,
        String(collection.documentCount),
        String(collection.chunkCount),
        collection.embeddingModel === undefined
          ? '—'
          : `${collection.embeddingModel} (${collection.embeddingDimensions})`,
        collection.createdAt.slice(0, 19).replace('T', ' '),
      ]),
    ];
    terminal.stdout.write(`${renderTable(rows, new Set([1, 2]))}\n`);
    return 0;
  });
}

/** `tandem rag rm COLLECTION [--document SOURCE]` */
export async function ragRemoveCommand(
  name: string,
  flags: StoreFlags & { document?: string },
  terminal: Terminal,
): Promise<number> {
  const path = databasePath(flags, terminal);
  return withStore(flags, terminal, async (store) => {
    const collection = existingCollection(store, name, path);
    if (flags.document !== undefined) {
      const wanted = flags.document;
      const matches = store
        .documents(collection.id)
        .filter(
          (candidate) => candidate.source === wanted || candidate.source.endsWith(`/${wanted}`),
        );
      const exact = matches.find((candidate) => candidate.source === wanted);
      if (matches.length > 1 && exact === undefined) {
        throw new InvalidArgumentError(
          `'${wanted}' names ${matches.length} documents in '${name}' (${matches.map((match) => match.source).join(', ')}): give the full path.`,
        );
      }
      const document = exact ?? matches[0];
      if (document === undefined || !store.removeDocument(collection, document.source)) {
        throw new InvalidArgumentError(
          `Collection '${name}' has no document '${wanted}': see 'tandem rag list --json'.`,
        );
      }
      terminal.stdout.write(`Removed ${document.source} from '${name}'.\n`);
      return 0;
    }
    store.removeCollection(name);
    terminal.stdout.write(
      `Removed collection '${name}' (${collection.documentCount} documents, ${collection.chunkCount} chunks).\n`,
    );
    return 0;
  });
}

export function registerRagCommand(
  program: Command,
  terminal: Terminal,
  setExitCode: (code: number) => void,
): void {
  const exitWith = (promise: Promise<number>) => promise.then(setExitCode);
  const rag = program
    .command('rag')
    .description(
      'Index documents, retrieve (BM25, vectors, hybrid), grounded answers with checked citations',
    );
  const dbOption = '--db <file>';
  const dbHelp = 'the database (default $TANDEM_HOME/tandem.db)';
  rag
    .command('index')
    .description('Index files and folders (.txt, .md, .html, .pdf, .docx) into a collection')
    .argument('<paths...>', 'files and folders')
    .option('--collection <name>', `collection (default '${DEFAULT_COLLECTION}')`)
    .option(dbOption, dbHelp)
    .option('--embed-model <model>', 'also store vectors from this embedding model (any engine)')
    .option('--prune', 'remove documents whose files are gone')
    .option(
      '--chunk-tokens <n>',
      'target chunk size in tokens (default 200)',
      integerFlag('--chunk-tokens', { min: 16, max: 8192 }),
    )
    .option(
      '--overlap <n>',
      'tokens repeated between chunks (default 30)',
      integerFlag('--overlap', { min: 0, max: 4096 }),
    )
    .option(
      '--max-file-mb <n>',
      'skip files larger than this (default 50)',
      integerFlag('--max-file-mb', { min: 1 }),
    )
    .option('--json', 'print the report as JSON')
    .action((paths: string[], flags) => exitWith(ragIndexCommand(paths, flags, terminal)));
  const retrievalFlags = (command: Command) =>
    command
      .option('--collection <name>', `collection (default '${DEFAULT_COLLECTION}')`)
      .option(dbOption, dbHelp)
      .option(
        '--mode <mode>',
        `${RETRIEVAL_MODES.join('|')} (default bm25)`,
        choiceFlag('--mode', RETRIEVAL_MODES),
      )
      .option(
        '--k <n>',
        'chunks to retrieve (default 5)',
        integerFlag('--k', { min: 1, max: 1000 }),
      )
      .option('--min-score <score>', 'drop chunks scoring below this', numberFlag('--min-score'))
      .option(
        '--bm25-weight <w>',
        'hybrid: weight of BM25 against vectors, 0–1 (default 0.5)',
        numberFlag('--bm25-weight', { min: 0, max: 1 }),
      )
      .option(
        '--embed-model <model>',
        "vector/hybrid: the embedding model (default: the collection's)",
      )
      .option('--json', 'print the result as JSON');
  retrievalFlags(
    rag
      .command('search')
      .description('The chunks that best match a query')
      .argument('<query>', 'the query'),
  ).action((query: string, flags) => exitWith(ragSearchCommand(query, flags, terminal)));
  retrievalFlags(
    rag
      .command('ask')
      .description(
        'A grounded answer from the retrieved chunks, streamed, with its citations checked',
      )
      .argument('<question>', 'the question')
      .option(
        '-m, --model <model>',
        'the model that answers (e.g. demo-slm, phi-4-mini, ollama:phi4-mini)',
      )
      .option('--doc <text>', 'an inline document, kept in memory only (repeatable)', collect)
      .option(
        '--max-tokens <n>',
        'most tokens in the answer (default 256)',
        integerFlag('--max-tokens', { min: 1 }),
      )
      .option(
        '--temperature <t>',
        'sampling temperature',
        numberFlag('--temperature', { min: 0, max: 2 }),
      ),
  ).action((question: string, flags) => exitWith(ragAskCommand(question, flags, terminal)));
  rag
    .command('list')
    .description('Collections with their documents and chunks')
    .option(dbOption, dbHelp)
    .option('--json', 'print collections and documents as JSON')
    .action((flags) => exitWith(ragListCommand(flags, terminal)));
  rag
    .command('rm')
    .description('Remove a collection, or one document from it')
    .argument('<collection>', 'collection name')
    .option('--document <source>', 'remove only this document (its path)')
    .option(dbOption, dbHelp)
    .action((name: string, flags) => exitWith(ragRemoveCommand(name, flags, terminal)));
}

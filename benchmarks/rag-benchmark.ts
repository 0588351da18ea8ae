/**
 * npm run bench:rag — tandem's RAG index at scale on a synthetic corpus (see rag-corpus.ts):
 *
 * 1. ingest: documents generated one at a time, chunked (chunkDocument, 200-token target)
 *    and written through a DocumentBatch (one transaction per batch of up to 4000 chunks, as
 *    indexPaths does) into a fresh SQLite file in a temp folder, until BENCH_CHUNKS chunks are stored;
 *    MB/s, chunks/s, and RSS sampled after every document (peak during vs after ingest);
 * 2. BM25 top-5 latency of RagStore.searchBm25 over a fixed query set, after a warm-up pass;
 * 3. the same chunks in minisearch (in memory, built from a second pass over the same
 *    generator), its build time and memory, then both searched query by query, interleaved;
 * 4. the targets: BM25 p95 ≤ 5 ms; tandem's p50 not slower than minisearch's; bounded ingest
 *    memory.
 *
 * Environment: BENCH_CHUNKS (default 100000), BENCH_QUERIES (default 200), BENCH_SEED.
 */

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import MiniSearch from 'minisearch';
import { errorLine, TandemError } from '../src/errors.js';
import { describeMachine } from '../src/measure/machine.js';
import { PeakRssSampler } from '../src/measure/memory.js';
import { pairedLogRatio } from '../src/measure/statistics/compare-ratio.js';
import { type SampleSummary, summarize } from '../src/measure/statistics/summary.js';
import { chunkDocument } from '../src/rag/ingest/chunk.js';
import { DEFAULT_BATCH_CHUNKS, DocumentBatch } from '../src/rag/ingest/document-batch.js';
import { RagStore } from '../src/rag/rag-store.js';
import { ftsMatchExpression } from '../src/rag/search/fts-query.js';
import { formatBytes } from '../src/units.js';
import { corpusDocuments, corpusQueries, DEFAULT_CORPUS_SEED } from '../test/support/rag-corpus.js';
import { fixed, wholeNumberSetting } from './script-settings.js';

const TOP_K = 5;
const P95_TARGET_MS = 5;
const MINISEARCH_BATCH = 2000;

/** A full garbage collection, so that a heap figure holds live objects only. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function latencyLine(values: number[]): string {
  const stats = summarize(values) as SampleSummary;
  return `p50 ${fixed(stats.p50, 3)} ms, p95 ${fixed(stats.p95, 3)} ms, p99 ${fixed(stats.p99, 3)} ms (n=${stats.n}, mean ${fixed(stats.mean, 3)}, max ${fixed(stats.max, 3)})`;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

interface IngestResult {
  documents: number;
  chunks: number;
  bytes: number;
  elapsedMs: number;
  peakRssBytes: number;
  baselineRssBytes: number;
  /** RSS at 25%, 50%, 75% and 100% of the chunks. */
  checkpoints: number[];
}

function ingest(store: RagStore, seed: string, targetChunks: number): IngestResult {
  const collection = store.ensureCollection('bench');
  const sampler = new PeakRssSampler();
  const checkpoints: number[] = [];
  let documents = 0;
  let chunks = 0;
  let bytes = 0;
  const startedAt = performance.now();
  const batch = new DocumentBatch<undefined>(store, collection, () => {});
  for (const document of corpusDocuments({ seed })) {
    const pieces = chunkDocument(document.text);
    const content = Buffer.from(document.text);
    batch.add(
      {
        document: {
          source: document.source,
          kind: 'markdown',
          title: document.title,
          contentSha256: createHash('sha256').update(content).digest('hex'),
          sizeBytes: content.length,
        },
        chunks: pieces,
      },
      undefined,
    );
    documents += 1;
    chunks += pieces.length;
    bytes += content.length;
    // The loop is synchronous, so the sampler's timer cannot fire: sample by hand.
    const rss = sampler.sample();
    while (checkpoints.length < 3 && chunks >= ((checkpoints.length + 1) * targetChunks) / 4) {
      checkpoints.push(rss);
    }
    if (chunks >= targetChunks) break;
  }
  batch.commit();
  const elapsedMs = performance.now() - startedAt;
  const { peakBytes } = sampler.stop();
  checkpoints.push(process.memoryUsage.rss());
  return {
    documents,
    chunks,
    bytes,
    elapsedMs,
    peakRssBytes: peakBytes,
    baselineRssBytes: sampler.baselineBytes,
    checkpoints,
  };
}

function buildMiniSearch(
  seed: string,
  documents: number,
): { index: MiniSearch; chunks: number; elapsedMs: number } {
  const index = new MiniSearch({ fields: ['text'], storeFields: [] });
  let batch: { id: number; text: string }[] = [];
  let chunks = 0;
  const startedAt = performance.now();
  for (const document of corpusDocuments({ seed })) {
    if (document.index >= documents) break;
    for (const chunk of chunkDocument(document.text)) {
      // Ids in insertion order from 1: the same numbers SQLite gave the chunks' rows.
      chunks += 1;
      batch.push({ id: chunks, text: chunk.text });
    }
    if (batch.length >= MINISEARCH_BATCH) {
      index.addAll(batch);
      batch = [];
    }
  }
  index.addAll(batch);
  return { index, chunks, elapsedMs: performance.now() - startedAt };
}

function timed<T>(run: () => T): { value: T; ms: number } {
  const startedAt = performance.now();
  const value = run();
  return { value, ms: performance.now() - startedAt };
}

async function main(): Promise<void> {
  const targetChunks = wholeNumberSetting('BENCH_CHUNKS', 100_000);
  const queryCount = wholeNumberSetting('BENCH_QUERIES', 200);
  const seed = process.env.BENCH_SEED?.trim() || DEFAULT_CORPUS_SEED;
  const machine = describeMachine();
  console.log(
    `bench:rag — ${targetChunks} chunks of a synthetic Zipf corpus (seed '${seed}'), ${queryCount} queries, BM25 top-${TOP_K}`,
  );
  console.log(
    `machine: ${machine.cpuModel}, ${machine.physicalCores} physical / ${machine.logicalCores} logical cores, ${formatBytes(machine.totalMemoryBytes)}; Node ${process.version}`,
  );

  const folder = mkdtempSync(join(tmpdir(), 'tandem-bench-rag-'));
  const databasePath = join(folder, 'rag.db');
  const store = RagStore.open(databasePath);
  try {
    // 1. Ingest.
    const ingested = ingest(store, seed, targetChunks);
    const seconds = ingested.elapsedMs / 1000;
    const databaseBytes = fileSize(databasePath) + fileSize(`${databasePath}-wal`);
    console.log(
      `\n1. ingest (chunkDocument + DocumentBatch: RagStore.replaceDocuments, one transaction per ${DEFAULT_BATCH_CHUNKS} chunks)`,
    );
    console.log(
      `  ${ingested.documents} documents, ${megabytes(ingested.bytes)} MB of Markdown → ${ingested.chunks} chunks (${(ingested.chunks / ingested.documents).toFixed(1)} per document) in ${seconds.toFixed(1)} s`,
    );
    console.log(
      `  ${(ingested.bytes / 1e6 / seconds).toFixed(2)} MB/s, ${(ingested.chunks / seconds).toFixed(0)} chunks/s; database ${formatBytes(databaseBytes)} (with its WAL)`,
    );
    const [quarter, half, threeQuarters, after] = ingested.checkpoints;
    console.log(
      `  RSS: ${megabytes(ingested.baselineRssBytes)} MB before, at 25/50/75% of the chunks ${megabytes(quarter ?? 0)} / ${megabytes(half ?? 0)} / ${megabytes(threeQuarters ?? 0)} MB, peak during ingest ${megabytes(ingested.peakRssBytes)} MB, after ${megabytes(after ?? 0)} MB`,
    );

    // 2. BM25 through the store.
    const collection = store.collection('bench');
    if (collection === undefined) throw new TandemError('The bench collection vanished.');
    const queries = corpusQueries(queryCount, { seed });
    // The first pass is cold: the store learns each term's document frequency and, for the
    // common ones, its largest contribution (one pass over the term's rows, then cached).
    const cold = queries.map((query) => timed(() => store.searchBm25(collection, query, TOP_K)));
    const bm25 = queries.map((query) => timed(() => store.searchBm25(collection, query, TOP_K)));
    const bm25Ms = bm25.map((result) => result.ms);
    const bm25Stats = summarize(bm25Ms) as SampleSummary;
    const returned = bm25.reduce((sum, result) => sum + result.value.length, 0) / bm25.length;
    console.log(
      `\n2. tandem BM25 (RagStore.searchBm25, k=${TOP_K}; the second pass over the queries)`,
    );
    console.log(`  ${latencyLine(bm25Ms)}; ${returned.toFixed(2)} results per query`);
    console.log(
      `  first (cold) pass, term statistics not yet cached: ${latencyLine(cold.map((result) => result.ms))}`,
    );
    // Why a plain FTS5 query would cost much more: the MATCH is an OR of every query term,
    // and FTS5 computes bm25() for every matching row before the top k can be known.
    const countMatches = store.db.prepare(
      'SELECT count(*) AS matches FROM rag_chunks_fts WHERE rag_chunks_fts MATCH ?',
    );
    const matchShares = queries.map((query) => {
      const expression = ftsMatchExpression(query);
      if (expression === undefined) return 0;
      const { matches } = countMatches.get(expression) as { matches: number };
      return (100 * matches) / ingested.chunks;
    });
    const matchStats = summarize(matchShares) as SampleSummary;
    console.log(
      `  chunks matching a query (OR of its terms, each scored by bm25()): p50 ${matchStats.p50.toFixed(1)}%, p95 ${matchStats.p95.toFixed(1)}%, min ${matchStats.min.toFixed(1)}% of ${ingested.chunks}`,
    );

    // 3. minisearch over the same chunks.
    collectGarbage();
    const rssBeforeIndex = process.memoryUsage.rss();
    const heapBeforeIndex = process.memoryUsage().heapUsed;
    const sampler = new PeakRssSampler();
    const built = buildMiniSearch(seed, ingested.documents);
    const { peakBytes: miniPeakRss } = sampler.stop();
    if (built.chunks !== ingested.chunks) {
      throw new TandemError(
        `The second pass made ${built.chunks} chunks, not ${ingested.chunks}: the generator is not deterministic.`,
      );
    }
    collectGarbage();
    const rssAfterIndex = process.memoryUsage.rss();
    const heapAfterIndex = process.memoryUsage().heapUsed;
    console.log(
      `\n3. minisearch 7 (in memory; fields ['text'], search with combineWith 'OR', top ${TOP_K})`,
    );
    console.log(
      `  built from a second pass over the generator (chunking included) in ${(built.elapsedMs / 1000).toFixed(1)} s (${(built.chunks / (built.elapsedMs / 1000)).toFixed(0)} chunks/s)`,
    );
    console.log(
      `  memory: live heap +${megabytes(heapAfterIndex - heapBeforeIndex)} MB, RSS ${megabytes(rssBeforeIndex)} → ${megabytes(rssAfterIndex)} MB after a full GC, peak ${megabytes(miniPeakRss)} MB during the build`,
    );
    const miniSearch = (query: string): number[] =>
      built.index
        .search(query, { combineWith: 'OR' })
        .slice(0, TOP_K)
        .map((result) => result.id as number);
    for (const query of queries) miniSearch(query);
    // Interleaved query by query, alternating which goes first, so drift hits both alike.
    const pairedTandem: number[] = [];
    const pairedMini: number[] = [];
    let shared = 0;
    for (const [index, query] of queries.entries()) {
      const runTandem = () => timed(() => store.searchBm25(collection, query, TOP_K));
      const runMini = () => timed(() => miniSearch(query));
      let tandem: ReturnType<typeof runTandem>;
      let mini: ReturnType<typeof runMini>;
      if (index % 2 === 0) {
        tandem = runTandem();
        mini = runMini();
      } else {
        mini = runMini();
        tandem = runTandem();
      }
      pairedTandem.push(tandem.ms);
      pairedMini.push(mini.ms);
      const ids = new Set(mini.value);
      shared += tandem.value.filter((chunk) => ids.has(chunk.chunkId)).length;
    }
    const miniStats = summarize(pairedMini) as SampleSummary;
    const pairedTandemStats = summarize(pairedTandem) as SampleSummary;
    const ratio = pairedLogRatio(pairedTandem, pairedMini);
    console.log(`  minisearch: ${latencyLine(pairedMini)}`);
    console.log(`  tandem:     ${latencyLine(pairedTandem)} (same pass, interleaved)`);
    console.log(
      `  tandem / minisearch per query (geometric mean, 95% CI): ${ratio === undefined ? '—' : `${ratio.ratio.toFixed(2)}x (${ratio.low.toFixed(2)}–${ratio.high.toFixed(2)}x)`}`,
    );
    console.log(
      `  top-${TOP_K} agreement: ${((100 * shared) / (TOP_K * queries.length)).toFixed(0)}% of tandem's results are in minisearch's top ${TOP_K} (BM25 variants differ: FTS5 bm25 k1=1.2 b=0.75 with the heading column at weight 0.5, minisearch BM25+)`,
    );

    // 4. Targets.
    const lateGrowth = ingested.peakRssBytes - (quarter ?? ingested.peakRssBytes);
    const bounded = lateGrowth < Math.max(64e6, ingested.bytes / 10);
    const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
    console.log(`\n4. targets`);
    console.log(
      `  [${verdict(bm25Stats.p95 <= P95_TARGET_MS)}] BM25 top-${TOP_K} p95 ≤ ${P95_TARGET_MS} ms: ${fixed(bm25Stats.p95, 3)} ms`,
    );
    console.log(
      `  [${verdict(pairedTandemStats.p50 <= miniStats.p50)}] tandem p50 not slower than minisearch p50: ${fixed(pairedTandemStats.p50, 3)} ms vs ${fixed(miniStats.p50, 3)} ms`,
    );
    console.log(
      `  [${verdict(bounded)}] ingest memory bounded: peak ${megabytes(ingested.peakRssBytes)} MB during ingest vs ${megabytes(after ?? 0)} MB after; growth after the first quarter ${megabytes(Math.max(0, lateGrowth))} MB for ${megabytes(ingested.bytes)} MB of text (limit: the larger of 64 MB and a tenth of the text)`,
    );
  } finally {
    store.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

await main().catch((error: unknown) => {
  console.error(`error: ${errorLine(error)}`);
  process.exitCode = error instanceof TandemError ? error.exitCode : 1;
});

/**
 * npm run bench:serve (after npm run build) — what `tandem serve` costs a client.
 *
 * 1. demo-llm in this process (tandem's llama engine) against demo-llm behind `tandem serve`
 *    in a child process (tandem's openai engine as the client), same threads, same prompt,
 *    interleaved rounds of greedy generation that ignore EOS: decode tokens/s over HTTP over
 *    in-process, paired by round (target ≥ 0.95); then interleaved one-token requests for the
 *    TTFT HTTP adds at p50 (target ≤ 2 ms), split by the server's own timings.
 *    Then the server's own HTTP path: the same app and client in one process with an engine
 *    that answers at once, so that what remains of the added TTFT can be attributed.
 * 2. 64 concurrent streaming clients on demo-slm in a closed loop through the server: errors
 *    (target none), tokens/s, TTFT, and the server's RSS at each quarter of the run and its
 *    peak, so a reader can see whether memory stays bounded.
 *
 * Both paths are warmed up first with 300 small requests each (demo-slm, same code).
 *
 * Environment: BENCH_ROUNDS (20), BENCH_TOKENS (128), BENCH_TTFT_ROUNDS (200), BENCH_CLIENTS
 * (64), BENCH_DURATION_S (30), TANDEM_THREADS.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createOpenAIEngine } from '../src/engines/openai/openai-engine.js';
import { createEngine } from '../src/engines/registry.js';
import type { Engine } from '../src/engines/spec.js';
import { threadsFromEnvironment } from '../src/engines/threads.js';
import { errorLine, TandemError } from '../src/errors.js';
import { type GenerationMeasurement, measureGeneration } from '../src/measure/generation-timing.js';
import { describeMachine } from '../src/measure/machine.js';
import { percentiles, summarize } from '../src/measure/statistics/summary.js';
import { modelsDirectory, tandemHome } from '../src/models/cache.js';
import { ensureDemoModel } from '../src/models/demo/demo-models.js';
import { createServerApp } from '../src/server/app.js';
import { createServerMetrics } from '../src/server/metrics.js';
import { ModelPool } from '../src/server/model-pool.js';
import { formatBytes } from '../src/units.js';
import { fixed, interleavedRounds, wholeNumberSetting } from './script-settings.js';
import { startServeProcess } from './serve-process.js';

const PROMPT = 'List 5 benefits of local AI inference.';
/**
 * TTFT rounds use a two-word prompt: what HTTP adds does not depend on the prompt, but the
 * run-to-run spread of prompt processing does, and it is what blurs a 2 ms difference.
 */
const SHORT_PROMPT = 'Say hi.';
/** Small requests through each path before measuring, so that both are JIT-compiled. */
const warmUpRequests = 300;

async function generate(
  engine: Engine,
  maxTokens: number,
  prompt = PROMPT,
): Promise<GenerationMeasurement> {
  const measurement = await measureGeneration(
    engine.stream({
      messages: [{ role: 'user', content: prompt }],
      maxTokens,
      temperature: 0,
      ignoreEos: true,
    }),
  );
  if (measurement.incomplete) {
    throw new TandemError(`A generation failed: ${measurement.errorMessage ?? 'incomplete'}`);
  }
  return measurement;
}

async function httpAgainstInProcess(
  home: string,
  threads: number,
  rounds: number,
  tokens: number,
  ttftRounds: number,
): Promise<void> {
  console.log(
    `\n1. demo-llm, ${tokens} tokens × ${rounds} interleaved rounds, greedy, EOS ignored, ${threads} thread${threads === 1 ? '' : 's'}`,
  );
  const server = await startServeProcess({
    port: 0,
    maxConcurrency: 1,
    keepAliveMs: 3_600_000,
    engineOptions: { home, threads, gpu: 'cpu' },
  });
  const local = await createEngine('demo-llm', { home, threads, gpu: 'cpu', sequences: 1 });
  const remote = createOpenAIEngine({
    model: 'demo-llm',
    baseUrl: `${server.url}/v1`,
    environment: {},
    maxRetries: 0,
  });
  try {
    await local.load();
    // Warm-up: loads the server's model, then runs both code paths until the JIT has
    // compiled them (a server that has been up for a while is warm). Small requests on
    // demo-slm go through exactly the same code as demo-llm's, only faster.
    await generate(local, 16);
    await generate(remote, 16);
    const localSmall = await createEngine('demo-slm', { home, threads, gpu: 'cpu', sequences: 1 });
    const remoteSmall = createOpenAIEngine({
      model: 'demo-slm',
      baseUrl: `${server.url}/v1`,
      environment: {},
      maxRetries: 0,
    });
    for (let round = 0; round < warmUpRequests; round++) {
      await generate(localSmall, 2);
      await generate(remoteSmall, 2);
    }
    await localSmall.dispose();
    await remoteSmall.dispose();
    // Decode: long greedy generations, interleaved (alternating which goes first).
    const [localRuns, remoteRuns] = await interleavedRounds(
      rounds,
      () => generate(local, tokens),
      () => generate(remote, tokens),
    );
    const decode = (runs: GenerationMeasurement[]) =>
      runs.map((run) => run.decodeTokensPerSecond ?? Number.NaN);
    const localDecode = summarize(decode(localRuns));
    const remoteDecode = summarize(decode(remoteRuns));
    const ratios = summarize(
      decode(remoteRuns).map((value, index) => value / (decode(localRuns)[index] as number)),
    );
    console.log(
      `   decode tokens/s, median of ${rounds} × ${tokens} tokens: in-process ${fixed(localDecode?.p50, 1)}, over HTTP ${fixed(remoteDecode?.p50, 1)}`,
    );
    const ratio = ratios?.mean ?? Number.NaN;
    const low = ratios?.ci95?.low;
    console.log(
      `   ratio HTTP / in-process, paired by round: mean ${fixed(ratio, 3)}${ratios?.ci95 === undefined ? '' : ` (95% CI ${fixed(ratios.ci95.low, 3)}–${fixed(ratios.ci95.high, 3)})`} — target ≥ 0.95: ${low !== undefined && low >= 0.95 ? 'met beyond noise' : ratio >= 0.95 ? 'met by the point estimate' : 'NOT met'}`,
    );

    // TTFT: many one-token requests, interleaved, so that the p50s are tight.
    const [localFirst, remoteFirst] = await interleavedRounds(
      ttftRounds,
      () => generate(local, 1, SHORT_PROMPT),
      () => generate(remote, 1, SHORT_PROMPT),
    );
    const ttft = (runs: GenerationMeasurement[]) => runs.map((run) => run.ttftMs ?? Number.NaN);
    const [localTtft] = percentiles(ttft(localFirst), [50]);
    const [remoteTtft] = percentiles(ttft(remoteFirst), [50]);
    const addedTtft = (remoteTtft as number) - (localTtft as number);
    const pairedAdded = summarize(
      ttft(remoteFirst).map((value, index) => value - (ttft(localFirst)[index] as number)),
    );
    console.log(
      `   TTFT p50 of ${ttftRounds} one-token requests each ('${SHORT_PROMPT}'): in-process ${fixed(localTtft, 2)} ms, over HTTP ${fixed(remoteTtft, 2)} ms: HTTP adds ${fixed(addedTtft, 2)} ms (paired differences: median ${fixed(pairedAdded?.p50, 2)} ms, mean ${fixed(pairedAdded?.mean, 2)}${pairedAdded?.ci95 === undefined ? '' : `, 95% CI ${fixed(pairedAdded.ci95.low, 2)}–${fixed(pairedAdded.ci95.high, 2)}`}) — target ≤ 2 ms: ${addedTtft <= 2 ? 'met' : 'NOT met'}`,
    );
    // Where it goes: the server's own prompt phase (its engine, from the start of generation
    // to the first token) against the client's TTFT over HTTP.
    const serverPromptMs = remoteFirst.map((run) => run.serverTimings?.promptMs ?? Number.NaN);
    if (serverPromptMs.every((value) => Number.isFinite(value))) {
      const outsideEngine = remoteFirst.map(
        (run, index) => (run.ttftMs ?? Number.NaN) - (serverPromptMs[index] as number),
      );
      const [serverPromptP50] = percentiles(serverPromptMs, [50]);
      const [outsideP50] = percentiles(outsideEngine, [50]);
      console.log(
        `   the server's timings: its engine's prompt phase p50 ${fixed(serverPromptP50, 2)} ms; client TTFT − that, p50 ${fixed(outsideP50, 2)} ms (HTTP both ways, routing, validation, SSE)`,
      );
    }
  } finally {
    await local.dispose();
    await remote.dispose();
    await server.close();
  }
}

/** An engine that answers one token at once: what is left of TTFT is the HTTP path. */
const instantEngine: Engine = {
  info: { engine: 'llama', reference: 'instant', model: 'instant' },
  async load() {},
  async dispose() {},
  async *stream() {
    yield { type: 'request-start', attempt: 1 };
    yield { type: 'text-delta', text: 'x', tokenCount: 1 };
    yield {
      type: 'finish',
      finishReason: 'length',
      usage: { inputTokens: 1, outputTokens: 1, reasoningTokens: undefined },
      usageSource: 'engine',
    };
  },
};

/**
 * The server's own cost: the same app and client in one process, an engine that answers at
 * once. The difference to the cross-process figure is the operating system waking two
 * processes (the server for the request, the client for the token).
 */
async function serverPathAlone(requests: number): Promise<void> {
  const pool = new ModelPool({
    models: [{ name: 'instant', reference: 'instant' }],
    createEngine: () => instantEngine,
    maxConcurrency: 4,
    maxQueue: 8,
    keepAliveMs: 3_600_000,
  });
  const app = createServerApp({
    pool,
    metrics: createServerMetrics(),
    cors: 'localhost',
    loopbackHostsOnly: true,
    maxBodyBytes: 1024 * 1024,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(started),
    );
  });
  const { port } = server.address() as AddressInfo;
  const engine = createOpenAIEngine({
    model: 'instant',
    baseUrl: `http://127.0.0.1:${port}/v1`,
    environment: {},
    maxRetries: 0,
  });
  try {
    const ttfts: number[] = [];
    for (let index = 0; index < 2 * requests; index++) {
      const measurement = await generate(engine, 1);
      // The first half warms the code up.
      if (index >= requests && measurement.ttftMs !== undefined) ttfts.push(measurement.ttftMs);
    }
    const [p50, p90] = percentiles(ttfts, [50, 90]);
    console.log(
      `   the server's own HTTP path (same process, an engine that answers at once, ${requests} requests): TTFT p50 ${fixed(p50, 3)} ms, p90 ${fixed(p90, 3)} ms — the rest of the added TTFT is the system waking the server and then the client`,
    );
  } finally {
    await engine.dispose();
    server.close();
    await pool.close();
  }
}

async function concurrentClients(
  home: string,
  threads: number,
  clients: number,
  durationMs: number,
): Promise<void> {
  const maxTokens = 64;
  console.log(
    `\n2. ${clients} concurrent streaming clients on demo-slm, closed loop, ${maxTokens} tokens each, ${durationMs / 1000} s (server: 16 at once, queue 64)`,
  );
  const server = await startServeProcess({
    port: 0,
    maxConcurrency: 16,
    maxQueue: 64,
    keepAliveMs: 3_600_000,
    engineOptions: { home, threads, gpu: 'cpu', contextSize: 1024 },
  });
  const engine = createOpenAIEngine({
    model: 'demo-slm',
    baseUrl: `${server.url}/v1`,
    environment: {},
    maxRetries: 0,
  });
  try {
    const before = await server.memory();
    await generate(engine, 8);
    const errors = new Map<string, number>();
    const ttfts: number[] = [];
    let tokens = 0;
    let requests = 0;
    const startedAt = performance.now();
    const endsAt = startedAt + durationMs;
    // The server's memory at each quarter of the run: bounded means it stops growing.
    const quarters: Awaited<ReturnType<typeof server.memory>>[] = [];
    const quarterTimers = [1, 2, 3].map((quarter) =>
      setTimeout(
        () => {
          void server.memory().then((memory) => quarters.push(memory));
        },
        (durationMs * quarter) / 4,
      ),
    );
    async function client(): Promise<void> {
      while (performance.now() < endsAt) {
        const measurement = await measureGeneration(
          engine.stream({
            messages: [{ role: 'user', content: PROMPT }],
            maxTokens,
            ignoreEos: true,
          }),
        );
        requests++;
        if (measurement.incomplete) {
          const cause = measurement.errorMessage ?? measurement.finishReason;
          errors.set(cause, (errors.get(cause) ?? 0) + 1);
          continue;
        }
        tokens += measurement.outputTokens;
        if (measurement.ttftMs !== undefined) ttfts.push(measurement.ttftMs);
      }
    }
    await Promise.all(Array.from({ length: clients }, () => client()));
    for (const timer of quarterTimers) clearTimeout(timer);
    const elapsedMs = performance.now() - startedAt;
    const after = await server.memory();
    const errorCount = [...errors.values()].reduce((sum, count) => sum + count, 0);
    const [ttftP50, ttftP99] = ttfts.length > 0 ? percentiles(ttfts, [50, 99]) : [];
    console.log(
      `   ${requests} requests, ${errorCount} errors — target no errors: ${errorCount === 0 ? 'met' : 'NOT met'}`,
    );
    for (const [cause, count] of errors) console.log(`     ${count} × ${cause}`);
    console.log(
      `   ${Math.round((tokens * 1000) / elapsedMs).toLocaleString('en-US')} tokens/s in all; TTFT (queue included) p50 ${fixed(ttftP50, 1)} ms, p99 ${fixed(ttftP99, 1)} ms`,
    );
    const samples = [...quarters, after];
    console.log(
      `   server RSS: ${formatBytes(before.rssBytes)} before (model not loaded); at each quarter of the run ${samples.map((memory) => formatBytes(memory.rssBytes)).join(', ')}; peak ${formatBytes(after.peakRssBytes)}`,
    );
  } finally {
    await engine.dispose();
    await server.close();
  }
}

async function main(): Promise<void> {
  const rounds = wholeNumberSetting('BENCH_ROUNDS', 20, 2);
  const tokens = wholeNumberSetting('BENCH_TOKENS', 128, 2);
  const ttftRounds = wholeNumberSetting('BENCH_TTFT_ROUNDS', 200, 2);
  const clients = wholeNumberSetting('BENCH_CLIENTS', 64);
  const durationMs = wholeNumberSetting('BENCH_DURATION_S', 30) * 1000;
  const threads = threadsFromEnvironment(process.env) ?? 1;
  const home = tandemHome();
  for (const name of ['demo-slm', 'demo-llm'] as const) {
    await ensureDemoModel(name, { modelsDirectory: modelsDirectory(home) });
  }
  const machine = describeMachine();
  console.log(
    `bench:serve — ${machine.cpuModel}, ${machine.logicalCores} logical cores, ${formatBytes(machine.totalMemoryBytes)}; Node ${process.version}; server in its own process`,
  );
  await httpAgainstInProcess(home, threads, rounds, tokens, ttftRounds);
  await serverPathAlone(1000);
  await concurrentClients(home, threads, clients, durationMs);
  console.log(
    '\n(The demo models have random weights; their speed is that of real models of their shape.)',
  );
}

await main().catch((error: unknown) => {
  console.error(`error: ${errorLine(error)}`);
  process.exitCode = error instanceof TandemError ? error.exitCode : 1;
});

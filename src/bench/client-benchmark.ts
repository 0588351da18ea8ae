/**
 * npm run bench:client (after npm run build) — the benchmark of the benchmark: can tandem's
 * own client keep up with a fast server, and are its timings true?
 *
 * A synthetic OpenAI-compatible server (no model, src/bench/synthetic-server.ts) runs in a
 * child process on 127.0.0.1 and streams tokens at a scripted cadence, recording when it
 * sent each one. The client runs N concurrent streaming requests in a closed loop through
 * exactly the path `tandem bench` uses (createOpenAIEngine + measureGeneration) and compares
 * what it measured with the server's send times, on one clock (performance.timeOrigin +
 * performance.now() in both processes).
 *
 * Environment: BENCH_STREAMS (256), BENCH_DURATION_S (10), BENCH_WARMUP_S (2),
 * BENCH_ITL_MS (2), BENCH_TTFT_MS (20), BENCH_MIN_TOKENS (256), BENCH_MAX_TOKENS (1000).
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createOpenAIEngine } from '../engines/openai/openai-engine.js';
import { errorLine } from '../errors.js';
import { startEventLoopLagMonitor } from '../measure/event-loop-lag.js';
import { type GenerationMeasurement, measureGeneration } from '../measure/generation-timing.js';
import { describeMachine } from '../measure/machine.js';
import { createRandomUint32 } from '../measure/random.js';
import { percentiles } from '../measure/statistics.js';
import {
  type SyntheticRequestRecord,
  sharedClockMs,
  startSyntheticServerProcess,
} from './synthetic-server.js';

/** What the benchmark needs from a synthetic server, in this process or another. */
export interface SyntheticServerAccess {
  baseUrl: string;
  records(requestIds: readonly string[]): Promise<SyntheticRequestRecord[]>;
  /** The server's sharedClockMs(). */
  readClock(): Promise<number>;
}

export interface ClientBenchmarkOptions {
  streams: number;
  durationMs: number;
  warmupMs: number;
  minTokens: number;
  maxTokens: number;
  seed?: number;
}

/** One request as the client measured it, with its arrival times on the shared clock. */
export interface ClientRequestResult {
  requestId: string | undefined;
  measurement: GenerationMeasurement;
  /** Arrival time of every token event, epoch ms (performance.timeOrigin + arrivedAtMs). */
  arrivalsMs: number[];
}

export interface AgreementFigures {
  /** |client arrival − server send| of each request's first token, ms (after clock offset). */
  firstTokenDelayMs: number[];
  /** |client gap − server gap| of every inter-token gap, ms. */
  gapDifferenceMs: number[];
  /** Requests whose client token count differed from what the server sent. */
  tokenCountMismatches: number;
  /** Requests the server has no record of. */
  unmatched: number;
}

export interface ClientBenchmarkResult {
  streams: number;
  measuredWindowMs: number;
  tokensInWindow: number;
  tokensPerSecond: number;
  requestsCompleted: number;
  errors: Map<string, number>;
  agreement: AgreementFigures;
  /** Server clock − client clock, ms, estimated from the fastest of several round trips. */
  clockOffsetMs: number;
  clockOffsetRoundTripMs: number;
  eventLoopLag: ReturnType<ReturnType<typeof startEventLoopLagMonitor>['stop']>;
  clientCpuMs: number;
}

/** The arrival times of all token events of a measurement, on the shared clock. */
export function arrivalTimes(measurement: GenerationMeasurement): number[] {
  if (measurement.ttftMs === undefined) return [];
  let at = performance.timeOrigin + measurement.startedAtMs + measurement.ttftMs;
  const times = [at];
  for (const gap of measurement.interTokenGapsMs) {
    at += gap;
    times.push(at);
  }
  return times;
}

/** The synthetic server's first token is the request id (`syn-17 `). */
export function requestIdOf(measurement: GenerationMeasurement): string | undefined {
  const match = /^(syn-\d+) /.exec(measurement.text);
  return match?.[1];
}

/**
 * Compares the client's arrivals with the server's send times. Only tokens inside
 * [fromMs, toMs] (shared clock) count, so a warm-up can be left out.
 */
export function compareWithServer(
  results: readonly ClientRequestResult[],
  records: ReadonlyMap<string, SyntheticRequestRecord>,
  clockOffsetMs: number,
  fromMs = Number.NEGATIVE_INFINITY,
  toMs = Number.POSITIVE_INFINITY,
): AgreementFigures {
  const figures: AgreementFigures = {
    firstTokenDelayMs: [],
    gapDifferenceMs: [],
    tokenCountMismatches: 0,
    unmatched: 0,
  };
  for (const result of results) {
    if (result.requestId === undefined) continue;
    const record = records.get(result.requestId);
    if (record === undefined) {
      figures.unmatched++;
      continue;
    }
    const arrivals = result.arrivalsMs;
    const sends = record.sendTimesMs;
    if (arrivals.length !== record.tokensSent) figures.tokenCountMismatches++;
    const count = Math.min(arrivals.length, record.tokensSent);
    if (count === 0) continue;
    const firstArrival = arrivals[0] as number;
    if (firstArrival >= fromMs && firstArrival <= toMs) {
      figures.firstTokenDelayMs.push(Math.abs(firstArrival + clockOffsetMs - (sends[0] as number)));
    }
    for (let index = 1; index < count; index++) {
      const arrival = arrivals[index] as number;
      if (arrival < fromMs || arrival > toMs) continue;
      const clientGap = arrival - (arrivals[index - 1] as number);
      const serverGap = (sends[index] as number) - (sends[index - 1] as number);
      figures.gapDifferenceMs.push(Math.abs(clientGap - serverGap));
    }
  }
  return figures;
}

/** Server clock − client clock from the round trip with the smallest delay. */
export async function estimateClockOffset(
  readClock: () => Promise<number>,
  rounds = 50,
): Promise<{ offsetMs: number; roundTripMs: number }> {
  let best = { offsetMs: 0, roundTripMs: Number.POSITIVE_INFINITY };
  for (let round = 0; round < rounds; round++) {
    const sentAt = sharedClockMs();
    const serverAt = await readClock();
    const receivedAt = sharedClockMs();
    const roundTripMs = receivedAt - sentAt;
    if (roundTripMs < best.roundTripMs) {
      best = { offsetMs: serverAt - (sentAt + receivedAt) / 2, roundTripMs };
    }
  }
  return best;
}

/** Runs the closed-loop load through createOpenAIEngine + measureGeneration. */
export async function runClientBenchmark(
  server: SyntheticServerAccess,
  options: ClientBenchmarkOptions,
  onWindow?: { start?: () => void | Promise<void>; end?: () => void | Promise<void> },
): Promise<ClientBenchmarkResult> {
  const engine = createOpenAIEngine({ model: 'synthetic', baseUrl: server.baseUrl });
  await engine.load();
  const offset = await estimateClockOffset(() => server.readClock());
  const nextUint32 = createRandomUint32(options.seed ?? 1);
  const random = (): number => nextUint32() / 4294967296;
  const results: ClientRequestResult[] = [];
  const errors = new Map<string, number>();
  const startedAt = sharedClockMs();
  const windowStart = startedAt + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  let lagMonitor: ReturnType<typeof startEventLoopLagMonitor> | undefined;
  let lag: ClientBenchmarkResult['eventLoopLag'] | undefined;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let clientCpuMs = 0;
  const windowTimers = [
    setTimeout(() => {
      lagMonitor = startEventLoopLagMonitor({ resolutionMs: 1 });
      cpuAtStart = process.cpuUsage();
      void onWindow?.start?.();
    }, options.warmupMs),
    setTimeout(() => {
      lag = lagMonitor?.stop();
      const cpu = process.cpuUsage(cpuAtStart);
      clientCpuMs = (cpu.user + cpu.system) / 1000;
      void onWindow?.end?.();
    }, options.warmupMs + options.durationMs),
  ];

  const span = options.maxTokens - options.minTokens + 1;
  async function worker(): Promise<void> {
    while (sharedClockMs() < windowEnd) {
      const maxTokens = options.minTokens + Math.floor(random() * span);
      const measurement = await measureGeneration(
        engine.stream({ messages: [{ role: 'user', content: 'bench' }], maxTokens }),
      );
      if (measurement.incomplete) {
        const cause = measurement.errorMessage ?? measurement.finishReason;
        errors.set(cause, (errors.get(cause) ?? 0) + 1);
      }
      results.push({
        requestId: requestIdOf(measurement),
        measurement,
        arrivalsMs: arrivalTimes(measurement),
      });
    }
  }
  await Promise.all(Array.from({ length: options.streams }, () => worker()));
  for (const timer of windowTimers) clearTimeout(timer);
  await engine.dispose();
  lag ??= lagMonitor?.stop() ?? { p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0, sampleCount: 0 };

  let tokensInWindow = 0;
  for (const result of results) {
    for (const arrival of result.arrivalsMs) {
      if (arrival >= windowStart && arrival <= windowEnd) tokensInWindow++;
    }
  }
  const ids = results
    .map((result) => result.requestId)
    .filter((id): id is string => id !== undefined);
  const records = new Map((await server.records(ids)).map((record) => [record.requestId, record]));
  const agreement = compareWithServer(results, records, offset.offsetMs, windowStart, windowEnd);
  return {
    streams: options.streams,
    measuredWindowMs: options.durationMs,
    tokensInWindow,
    tokensPerSecond: (tokensInWindow * 1000) / options.durationMs,
    requestsCompleted: results.filter((result) => !result.measurement.incomplete).length,
    errors,
    agreement,
    clockOffsetMs: offset.offsetMs,
    clockOffsetRoundTripMs: offset.roundTripMs,
    eventLoopLag: lag,
    clientCpuMs,
  };
}

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name}=${raw} is not a positive number.`);
  }
  return value;
}

function fixed(value: number, digits = 2): string {
  return value.toFixed(digits);
}

function verdict(met: boolean): string {
  return met ? 'met' : 'NOT met';
}

async function main(): Promise<void> {
  const streams = Math.round(setting('BENCH_STREAMS', 256));
  const durationMs = setting('BENCH_DURATION_S', 10) * 1000;
  const warmupMs = setting('BENCH_WARMUP_S', 2) * 1000;
  const itlMs = setting('BENCH_ITL_MS', 2);
  const ttftMs = setting('BENCH_TTFT_MS', 20);
  const minTokens = Math.round(setting('BENCH_MIN_TOKENS', 256));
  const maxTokens = Math.max(minTokens, Math.round(setting('BENCH_MAX_TOKENS', 1000)));
  const machine = describeMachine();
  const meanTokens = (minTokens + maxTokens) / 2;
  const offeredTokensPerSecond =
    (streams * meanTokens * 1000) / (ttftMs + (meanTokens - 1) * itlMs);
  console.log(
    `bench:client — ${streams} concurrent streams (closed loop), ${minTokens}–${maxTokens} tokens each, TTFT ${ttftMs} ms, ITL ${itlMs} ms: offered ≈ ${Math.round(offeredTokensPerSecond).toLocaleString('en-US')} tokens/s`,
  );
  console.log(
    `machine: ${machine.cpuModel}, ${machine.logicalCores} logical cores; Node ${process.version}; ${warmupMs / 1000} s warm-up, ${durationMs / 1000} s measured`,
  );
  console.log(
    'client path: createOpenAIEngine + measureGeneration (what tandem bench uses); server: synthetic, own process',
  );

  const server = await startSyntheticServerProcess({ ttftMs, itlMs });
  let serverAtStart: Awaited<ReturnType<typeof server.statistics>> | undefined;
  let serverAtEnd: Awaited<ReturnType<typeof server.statistics>> | undefined;
  try {
    const result = await runClientBenchmark(
      {
        baseUrl: server.baseUrl,
        records: (ids) => server.records(ids),
        readClock: server.readClock,
      },
      { streams, durationMs, warmupMs, minTokens, maxTokens },
      {
        start: async () => {
          serverAtStart = await server.statistics();
        },
        end: async () => {
          serverAtEnd = await server.statistics();
        },
      },
    );
    const [ttftP50, ttftP99] =
      result.agreement.firstTokenDelayMs.length > 0
        ? percentiles(result.agreement.firstTokenDelayMs, [50, 99])
        : [Number.NaN, Number.NaN];
    const [gapP50, gapP99] =
      result.agreement.gapDifferenceMs.length > 0
        ? percentiles(result.agreement.gapDifferenceMs, [50, 99])
        : [Number.NaN, Number.NaN];
    const throughputMet = result.tokensPerSecond >= 100_000;
    const ttftMet = (ttftP50 as number) <= 1 && (ttftP99 as number) <= 5;
    const gapMet = (gapP50 as number) <= 1 && (gapP99 as number) <= 5;
    const errorCount = [...result.errors.values()].reduce((sum, count) => sum + count, 0);
    const seconds = durationMs / 1000;
    console.log('');
    console.log(
      `throughput: ${Math.round(result.tokensPerSecond).toLocaleString('en-US')} streamed tokens/s received by the client over the measured window (${result.tokensInWindow.toLocaleString('en-US')} tokens in ${seconds} s) — target ≥ 100,000: ${verdict(throughputMet)}`,
    );
    console.log(
      `TTFT agreement: |client arrival − server send| of the first token, ${result.agreement.firstTokenDelayMs.length} requests: p50 ${fixed(ttftP50 as number, 3)} ms, p99 ${fixed(ttftP99 as number, 3)} ms — target ≤ 1 / ≤ 5 ms: ${verdict(ttftMet)}`,
    );
    console.log(
      `ITL agreement: |client gap − server gap|, ${result.agreement.gapDifferenceMs.length.toLocaleString('en-US')} gaps: p50 ${fixed(gapP50 as number, 3)} ms, p99 ${fixed(gapP99 as number, 3)} ms — target ≤ 1 / ≤ 5 ms: ${verdict(gapMet)}`,
    );
    console.log(
      `clock: server − client offset ${fixed(result.clockOffsetMs, 3)} ms (round trip ${fixed(result.clockOffsetRoundTripMs, 3)} ms), subtracted from the first-token delays`,
    );
    console.log(
      `client event-loop lag (1 ms resolution): p50 ${fixed(result.eventLoopLag.p50Ms)} ms, p99 ${fixed(result.eventLoopLag.p99Ms)} ms, max ${fixed(result.eventLoopLag.maxMs)} ms`,
    );
    const serverCpuMs =
      serverAtStart !== undefined && serverAtEnd !== undefined
        ? serverAtEnd.cpuUserMs +
          serverAtEnd.cpuSystemMs -
          serverAtStart.cpuUserMs -
          serverAtStart.cpuSystemMs
        : Number.NaN;
    console.log(
      `CPU over the window: client ${fixed((result.clientCpuMs / durationMs) * 100, 0)}% of a core, server ${fixed((serverCpuMs / durationMs) * 100, 0)}% of a core`,
    );
    if (serverAtEnd !== undefined && serverAtStart !== undefined) {
      const sent = serverAtEnd.tokensSent - serverAtStart.tokensSent;
      const late = serverAtEnd.lateSends - serverAtStart.lateSends;
      console.log(
        `server: ${Math.round(sent / seconds).toLocaleString('en-US')} tokens/s sent in the window; ${late.toLocaleString('en-US')} sends more than 1 ms behind schedule (max ${fixed(serverAtEnd.maxLatenessMs)} ms over the run)`,
      );
    }
    console.log(
      `requests: ${result.requestsCompleted.toLocaleString('en-US')} completed; errors: ${errorCount}; token-count mismatches client/server: ${result.agreement.tokenCountMismatches}; unmatched: ${result.agreement.unmatched}`,
    );
    for (const [cause, count] of result.errors) console.log(`  ${count} × ${cause}`);
  } finally {
    await server.close();
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  main().catch((error: unknown) => {
    console.error(errorLine(error));
    process.exitCode = 1;
  });
}

/**
 * Realistic benchmark runs for the report tests and for looking at the HTML: demo-slm
 * (~1500 tok/s decode) against demo-llm (~120 tok/s), 20 measured requests per model and
 * level after 2 warm-up requests, on a simulated 2-core machine; one failed request whose
 * message holds commas, quotes, a line break and `<script>`. Deterministic (seeded).
 */

import type {
  BenchComparison,
  BenchLevelSummary,
  BenchModelInfo,
  BenchRequestRecord,
  BenchRun,
  ErrorCause,
  LoadLevel,
  ServiceLevelObjectives,
} from '../../src/bench/types.js';
import { createRandomUint32 } from '../../src/measure/random.js';
import { compareRatio } from '../../src/measure/statistics/compare-ratio.js';
import { summarize } from '../../src/measure/statistics/summary.js';

export const HOSTILE_ERROR_MESSAGE =
  'HTTP 500 from http://127.0.0.1:8080/v1/chat/completions: {"error":"model crashed, see \\"log\\"","detail":"<script>alert(\'x\')</script>"},\nretry later';

export interface FixtureOptions {
  /** Closed-loop concurrencies, one level each. Default [1]. */
  concurrencies?: number[];
  /** SLOs for goodput. Default none. */
  slo?: ServiceLevelObjectives;
  /** Add one failed request (demo-llm, first level). Default true. */
  failure?: boolean;
  /** Give demo-llm server-side timings as if served by llama-server. Default false. */
  serverTimings?: boolean;
  rounds?: number;
  warmup?: number;
  seed?: number;
}

interface FilledOptions {
  slo: ServiceLevelObjectives;
  failure: boolean;
  serverTimings: boolean;
  rounds: number;
  warmup: number;
  stallThresholdMs: number;
}

interface Profile {
  reference: string;
  ttftMs: number;
  tpotMs: number;
  bandwidthShare: number;
  info: Partial<BenchModelInfo>;
}

const PROFILES: readonly Profile[] = [
  {
    reference: 'demo-slm',
    ttftMs: 9.5,
    tpotMs: 1000 / 1500,
    bandwidthShare: 0.34,
    info: {
      parameterCount: 1_050_000,
      modelFileSizeBytes: 2_210_000,
      loadMs: 41.2,
      peakRssBytes: 212_000_000,
      peakRssDeltaBytes: 9_400_000,
    },
  },
  {
    reference: 'demo-llm',
    ttftMs: 165,
    tpotMs: 1000 / 120,
    bandwidthShare: 0.71,
    info: {
      parameterCount: 76_300_000,
      modelFileSizeBytes: 153_000_000,
      loadMs: 388,
      peakRssBytes: 421_000_000,
      peakRssDeltaBytes: 168_000_000,
    },
  },
];

const MAX_TOKENS = 128;
const PROMPT_TOKENS = 42;

function gaussian(next: () => number): () => number {
  return () => {
    const u = (next() + 1) / 4294967297;
    const v = (next() + 1) / 4294967297;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

function modelInfo(profile: Profile): BenchModelInfo {
  return {
    reference: profile.reference,
    model: profile.reference,
    engine: 'llama',
    isDemo: true,
    engineVersion: 'node-llama-cpp 3.21.1',
    modelPath: `/home/user/.tandem/models/${profile.reference}.gguf`,
    modelFileSizeBytes: undefined,
    modelSha256: `${profile.reference === 'demo-slm' ? '3f9a' : 'b71c'}0c5e8d2a4b6f1e9d7c3a5b8e0f2d4c6a8b0e2f4d6c8a0b2e4f6d8c0a2b4e6f8`,
    parameterCount: undefined,
    threads: 2,
    gpu: undefined,
    device: undefined,
    dtype: undefined,
    contextSize: 2048,
    baseUrl: undefined,
    resolvedModelId: undefined,
    loadMs: undefined,
    setupMs: 3.1,
    peakRssBytes: undefined,
    peakRssDeltaBytes: undefined,
    error: undefined,
    ...profile.info,
  };
}

interface Simulated {
  records: BenchRequestRecord[];
  endMs: number;
}

/** A closed loop of `concurrency` clients issuing warm-up then measured requests. */
function simulateLevel(
  profile: Profile,
  modelIndex: number,
  levelIndex: number,
  concurrency: number,
  startMs: number,
  options: FilledOptions,
  normal: () => number,
  uniform: () => number,
  nextIndex: () => number,
): Simulated {
  const slowdown = concurrency ** 0.7;
  const slots = Array.from({ length: concurrency }, () => startMs);
  const records: BenchRequestRecord[] = [];
  const total = options.warmup + options.rounds;
  for (let position = 0; position < total; position++) {
    const warmup = position < options.warmup;
    let slot = 0;
    for (let candidate = 1; candidate < slots.length; candidate++) {
      if ((slots[candidate] ?? 0) < (slots[slot] ?? 0)) slot = candidate;
    }
    const issuedAtMs = slots[slot] ?? startMs;
    const queueMs = 0.08 + 0.3 * uniform();
    const index = nextIndex();
    const failing =
      options.failure && modelIndex === 1 && levelIndex === 0 && position === options.warmup + 5;
    if (failing) {
      const cause: ErrorCause = 'http-5xx';
      records.push({
        index,
        modelIndex,
        levelIndex,
        warmup,
        promptIndex: position % 8,
        issuedAtMs,
        queueMs,
        attempts: 3,
        ttftMs: undefined,
        ttfoMs: undefined,
        e2eMs: undefined,
        tpotMs: undefined,
        decodeTokensPerSecond: undefined,
        outputTokens: 0,
        outputTokensSource: 'estimate',
        promptTokens: undefined,
        reasoningTokens: undefined,
        tokenTimesMs: [],
        stallCount: 0,
        finishReason: 'error',
        shortOutput: false,
        errorCause: cause,
        errorMessage: HOSTILE_ERROR_MESSAGE,
        serverTimings: undefined,
        meetsSlo: undefined,
      });
      slots[slot] = issuedAtMs + queueMs + 40;
      continue;
    }
    const coldFactor = warmup && position === 0 ? 1.8 : 1;
    const ttftMs =
      profile.ttftMs * concurrency ** 0.8 * coldFactor * Math.exp(0.12 * normal() + 0.05);
    const short = !warmup && position % 9 === 4;
    const outputTokens = short ? 60 + Math.floor(uniform() * 50) : MAX_TOKENS;
    const tokenTimesMs = [ttftMs];
    let time = ttftMs;
    let stallCount = 0;
    const requestTpot = profile.tpotMs * slowdown * Math.exp(0.06 * normal());
    for (let token = 1; token < outputTokens; token++) {
      let gap = requestTpot * Math.exp(0.22 * normal());
      if (uniform() < 0.0008) {
        gap += options.stallThresholdMs + 40 * uniform();
        stallCount++;
      }
      time += gap;
      tokenTimesMs.push(time);
    }
    const e2eMs = time;
    const tpotMs = (e2eMs - ttftMs) / (outputTokens - 1);
    const { slo } = options;
    const sloSet = slo.ttftMs !== undefined || slo.tpotMs !== undefined || slo.e2eMs !== undefined;
    const meetsSlo = sloSet
      ? (slo.ttftMs === undefined || ttftMs <= slo.ttftMs) &&
        (slo.tpotMs === undefined || tpotMs <= slo.tpotMs) &&
        (slo.e2eMs === undefined || e2eMs <= slo.e2eMs)
      : undefined;
    const serverTimings =
      options.serverTimings && modelIndex === 1
        ? {
            promptMs: ttftMs * 0.93,
            predictedMs: (e2eMs - ttftMs) * 0.985,
            predictedTokens: outputTokens,
          }
        : undefined;
    records.push({
      index,
      modelIndex,
      levelIndex,
      warmup,
      promptIndex: position % 8,
      issuedAtMs,
      queueMs,
      attempts: 1,
      ttftMs,
      ttfoMs: ttftMs,
      e2eMs,
      tpotMs,
      decodeTokensPerSecond: 1000 / tpotMs,
      outputTokens,
      outputTokensSource: 'engine',
      promptTokens: PROMPT_TOKENS,
      reasoningTokens: undefined,
      tokenTimesMs,
      stallCount,
      finishReason: short ? 'stop' : 'length',
      shortOutput: short,
      errorCause: undefined,
      errorMessage: undefined,
      serverTimings,
      meetsSlo,
    });
    slots[slot] = issuedAtMs + queueMs + e2eMs + 0.4;
  }
  return { records, endMs: Math.max(...slots) };
}

function defined(values: readonly (number | undefined)[]): number[] {
  return values.filter((value): value is number => value !== undefined);
}

/** The level summary as the runner computes it, from the measured requests. */
export function summarizeLevel(
  run: Pick<BenchRun, 'settings' | 'memoryBandwidthBytesPerSecond'>,
  records: readonly BenchRequestRecord[],
  modelIndex: number,
  levelIndex: number,
  level: LoadLevel,
  bandwidthCeilingShare: number | undefined,
): BenchLevelSummary {
  const measured = records.filter(
    (r) => !r.warmup && r.modelIndex === modelIndex && r.levelIndex === levelIndex,
  );
  const completed = measured.filter((r) => r.errorCause === undefined);
  const errorsByCause: BenchLevelSummary['errorsByCause'] = {};
  for (const record of measured) {
    if (record.errorCause !== undefined) {
      errorsByCause[record.errorCause] = (errorsByCause[record.errorCause] ?? 0) + 1;
    }
  }
  const first = Math.min(...measured.map((r) => r.issuedAtMs));
  const last = Math.max(...completed.map((r) => r.issuedAtMs + r.queueMs + (r.e2eMs ?? 0)));
  const windowMs = last - first;
  const outputTokens = completed.reduce((sum, r) => sum + r.outputTokens, 0);
  const promptTokens = completed.reduce((sum, r) => sum + (r.promptTokens ?? 0), 0);
  const gaps = completed.flatMap((r) =>
    r.tokenTimesMs.slice(1).map((time, i) => time - (r.tokenTimesMs[i] ?? time)),
  );
  const met = measured.filter((r) => r.meetsSlo === true).length;
  const sloSet = measured.some((r) => r.meetsSlo !== undefined);
  const withServer = completed.filter((r) => r.serverTimings !== undefined);
  return {
    modelIndex,
    levelIndex,
    level,
    requests: measured.length,
    completed: completed.length,
    errors: measured.length - completed.length,
    errorsByCause,
    shortOutputs: completed.filter((r) => r.shortOutput).length,
    ttftMs: summarize(defined(completed.map((r) => r.ttftMs))),
    ttfoMs: summarize(defined(completed.map((r) => r.ttfoMs))),
    tpotMs: summarize(defined(completed.map((r) => r.tpotMs))),
    itlMs: summarize(gaps),
    e2eMs: summarize(defined(completed.map((r) => r.e2eMs))),
    queueMs: summarize(measured.map((r) => r.queueMs)),
    windowMs,
    outputTokensPerSecond: (outputTokens / windowMs) * 1000,
    totalTokensPerSecond: ((outputTokens + promptTokens) / windowMs) * 1000,
    requestsPerSecond: (completed.length / windowMs) * 1000,
    goodputRequestsPerSecond: sloSet ? (met / windowMs) * 1000 : undefined,
    goodputShare: sloSet ? met / measured.length : undefined,
    stalls: completed.reduce((sum, r) => sum + r.stallCount, 0),
    bandwidthCeilingShare:
      run.memoryBandwidthBytesPerSecond === undefined ? undefined : bandwidthCeilingShare,
    serverSide:
      withServer.length === 0
        ? undefined
        : {
            promptMs: summarize(defined(withServer.map((r) => r.serverTimings?.promptMs))),
            predictedMs: summarize(defined(withServer.map((r) => r.serverTimings?.predictedMs))),
            overheadMs: summarize(
              withServer.map(
                (r) =>
                  (r.e2eMs ?? 0) -
                  (r.serverTimings?.promptMs ?? 0) -
                  (r.serverTimings?.predictedMs ?? 0),
              ),
            ),
          },
  };
}

const METRIC_WORDS = {
  ttftMs: ['TTFT', 'shorter', 'longer'],
  tpotMs: ['TPOT', 'shorter', 'longer'],
  e2eMs: ['E2E', 'shorter', 'longer'],
  decodeTokensPerSecond: ['Decode tok/s', 'lower', 'higher'],
} as const;

function comparisons(run: BenchRun): BenchComparison[] {
  const result: BenchComparison[] = [];
  const [a, b] = run.models;
  if (a === undefined || b === undefined) return result;
  for (const levelIndex of run.settings.levels.keys()) {
    for (const metric of ['ttftMs', 'tpotMs', 'e2eMs'] as const) {
      const of = (modelIndex: number) =>
        defined(
          run.requests
            .filter(
              (r) =>
                !r.warmup &&
                r.errorCause === undefined &&
                r.modelIndex === modelIndex &&
                r.levelIndex === levelIndex,
            )
            .map((r) => r[metric]),
        );
      const compared = compareRatio(of(0), of(1));
      const [label, smaller] = METRIC_WORDS[metric];
      const low = compared.interval?.low;
      const high = compared.interval?.high;
      const beyondNoise = compared.reason === 'beyond noise';
      const interval =
        low === undefined || high === undefined
          ? ''
          : ` (95% CI ${(1 / high).toFixed(1)}–${(1 / low).toFixed(1)}×)`;
      result.push({
        levelIndex,
        metric,
        a: compared.a.geometricMean,
        b: compared.b.geometricMean,
        ratio: compared.ratio,
        low,
        high,
        beyondNoise,
        text: `${a.reference} ${label} is ${(1 / compared.ratio).toFixed(1)}× ${smaller} than ${b.reference}'s${interval}: ${beyondNoise ? 'beyond noise' : 'within noise'}.`,
      });
    }
  }
  return result;
}

/** A run of demo-slm and demo-llm; one level per concurrency. */
export function createBenchRunFixture(options: FixtureOptions = {}): BenchRun {
  const concurrencies = options.concurrencies ?? [1];
  const filled: FilledOptions & { seed: number } = {
    slo: options.slo ?? {},
    failure: options.failure ?? true,
    serverTimings: options.serverTimings ?? false,
    rounds: options.rounds ?? 20,
    warmup: options.warmup ?? 2,
    seed: options.seed ?? 7,
    stallThresholdMs: 50,
  };
  const next = createRandomUint32(filled.seed);
  const normal = gaussian(next);
  const uniform = () => next() / 4294967296;
  let index = 0;
  const nextIndex = () => index++;
  const levels: LoadLevel[] = concurrencies.map((concurrency) => ({
    mode: 'closed',
    concurrency,
  }));
  const run: BenchRun = {
    id: 42,
    name: concurrencies.length > 1 ? 'concurrency sweep' : 'slm vs llm',
    startedAt: '2025-06-12T09:30:00.000Z',
    finishedAt: undefined,
    incomplete: false,
    settings: {
      name: concurrencies.length > 1 ? 'concurrency sweep' : 'slm vs llm',
      models: PROFILES.map((profile) => profile.reference),
      prompts: {
        kind: 'prompt',
        text: 'Write an executive brief on <Q3 results> for the "board", in 3 bullets.',
      },
      maxTokens: MAX_TOKENS,
      temperature: 0,
      seed: filled.seed,
      warmup: filled.warmup,
      rounds: filled.rounds,
      levels,
      stream: true,
      ignoreEos: false,
      slo: filled.slo,
      threads: 2,
      gpu: undefined,
      contextSize: 2048,
      stallThresholdMs: filled.stallThresholdMs,
    },
    machine: {
      cpuModel: 'AMD EPYC 7763 64-Core Processor',
      logicalCores: 2,
      physicalCores: 1,
      totalMemoryBytes: 8_340_000_000,
      platform: 'linux',
      osRelease: '6.8.0-1021-azure',
      architecture: 'x64',
      nodeVersion: 'v20.19.5',
    },
    memoryBandwidthBytesPerSecond: 11_800_000_000,
    tandemVersion: '0.1.0',
    models: PROFILES.map(modelInfo),
    levels: [],
    requests: [],
    comparisons: [],
    eventLoopLag: { p50Ms: 0.021, p99Ms: 1.14, maxMs: 3.37 },
  };
  let clock = 0;
  PROFILES.forEach((profile, modelIndex) => {
    levels.forEach((level, levelIndex) => {
      const concurrency = level.mode === 'closed' ? level.concurrency : 1;
      const simulated = simulateLevel(
        profile,
        modelIndex,
        levelIndex,
        concurrency,
        clock,
        filled,
        normal,
        uniform,
        nextIndex,
      );
      run.requests.push(...simulated.records);
      clock = simulated.endMs + 25;
      run.levels.push(
        summarizeLevel(
          run,
          run.requests,
          modelIndex,
          levelIndex,
          level,
          profile.bandwidthShare / concurrency ** 0.7,
        ),
      );
    });
  });
  run.comparisons = comparisons(run);
  run.finishedAt = new Date(Date.parse(run.startedAt) + clock).toISOString();
  return run;
}

/** Two models at one level (concurrency 1), with SLOs and the failed request. */
export function twoModelRun(): BenchRun {
  return createBenchRunFixture({ slo: { ttftMs: 200, tpotMs: 10 } });
}

/** The same two models swept over concurrency 1, 2, 4 and 8. */
export function sweepRun(): BenchRun {
  return createBenchRunFixture({ concurrencies: [1, 2, 4, 8] });
}

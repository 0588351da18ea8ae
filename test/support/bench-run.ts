/** Synthetic benchmark runs for the store's tests: every field set, some undefined. */
import type {
  BenchLevelSummary,
  BenchModelInfo,
  BenchRequestRecord,
  BenchRun,
  LoadLevel,
} from '../../src/bench/types.js';
import { createRandomUint32 } from '../../src/measure/random.js';
import { summarize } from '../../src/measure/statistics/summary.js';

export interface SyntheticRunOptions {
  models?: string[];
  levels?: LoadLevel[];
  /** Measured requests per model and level. */
  rounds?: number;
  warmup?: number;
  /** Multiplies every time (and divides every rate): 2 makes a run twice as slow. */
  slowdown?: number;
  seed?: number;
  /** Every this-many-th measured request fails with a 5xx (0: none). */
  failEvery?: number;
}

/** A log-normal value around `median` with about 10% spread. */
function logNormal(next: () => number, median: number): number {
  const u1 = (next() + 1) / 4294967297;
  const u2 = next() / 4294967296;
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return median * Math.exp(0.1 * z);
}

export function syntheticModel(reference: string): BenchModelInfo {
  return {
    reference,
    model: reference,
    engine: 'llama',
    isDemo: true,
    engineVersion: '3.21.1',
    modelPath: `/tmp/models/${reference}.gguf`,
    modelFileSizeBytes: 1_234_567,
    modelSha256: 'ab'.repeat(32),
    parameterCount: 1_000_000,
    threads: 2,
    gpu: undefined,
    device: undefined,
    dtype: undefined,
    contextSize: 2048,
    baseUrl: undefined,
    resolvedModelId: undefined,
    loadMs: 123.456,
    setupMs: undefined,
    peakRssBytes: 98_765_432,
    peakRssDeltaBytes: 12_345_678,
    error: undefined,
  };
}

export function syntheticRun(options: SyntheticRunOptions = {}): BenchRun {
  const models = options.models ?? ['demo-slm', 'demo-llm'];
  const levels: LoadLevel[] = options.levels ?? [
    { mode: 'closed', concurrency: 1 },
    { mode: 'closed', concurrency: 4 },
  ];
  const rounds = options.rounds ?? 20;
  const warmup = options.warmup ?? 2;
  const slowdown = options.slowdown ?? 1;
  const next = createRandomUint32(options.seed ?? 7);
  const requests: BenchRequestRecord[] = [];
  const summaries: BenchLevelSummary[] = [];
  let index = 0;
  let clock = 0;
  models.forEach((_reference, modelIndex) => {
    levels.forEach((level, levelIndex) => {
      const measured: BenchRequestRecord[] = [];
      for (let round = 0; round < warmup + rounds; round++) {
        const isWarmup = round < warmup;
        const fails =
          !isWarmup && options.failEvery !== undefined && options.failEvery > 0
            ? (round - warmup) % options.failEvery === options.failEvery - 1
            : false;
        const ttftMs = logNormal(next, 40 * slowdown * (modelIndex + 1));
        const tpotMs = logNormal(next, 8 * slowdown * (modelIndex + 1));
        const outputTokens = 16;
        const tokenTimesMs = Array.from(
          { length: outputTokens },
          (_, token) => ttftMs + token * tpotMs,
        );
        const e2eMs = tokenTimesMs[tokenTimesMs.length - 1] as number;
        const record: BenchRequestRecord = fails
          ? {
              index,
              modelIndex,
              levelIndex,
              warmup: false,
              promptIndex: round % 3,
              issuedAtMs: clock,
              queueMs: 0.25,
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
              errorCause: 'http-5xx',
              errorMessage: 'HTTP 500 from http://127.0.0.1:1/v1: "boom"\nsecond line',
              serverTimings: undefined,
              meetsSlo: undefined,
            }
          : {
              index,
              modelIndex,
              levelIndex,
              warmup: isWarmup,
              promptIndex: round % 3,
              issuedAtMs: clock,
              queueMs: 0.125 + round / 1000,
              attempts: 1,
              ttftMs,
              ttfoMs: round % 2 === 0 ? ttftMs : undefined,
              e2eMs,
              tpotMs,
              decodeTokensPerSecond: 1000 / tpotMs,
              outputTokens,
              outputTokensSource: round % 2 === 0 ? 'usage' : 'engine',
              promptTokens: round % 2 === 0 ? 21 : undefined,
              reasoningTokens: undefined,
              tokenTimesMs,
              stallCount: round % 5 === 0 ? 1 : 0,
              finishReason: 'length',
              shortOutput: round % 7 === 0,
              errorCause: undefined,
              errorMessage: undefined,
              serverTimings:
                round % 3 === 0
                  ? { promptMs: 1.5, predictedMs: e2eMs - 3, predictedTokens: outputTokens }
                  : round % 3 === 1
                    ? { promptMs: undefined, predictedMs: 2.25, predictedTokens: undefined }
                    : undefined,
              meetsSlo: round % 4 !== 0,
            };
        requests.push(record);
        if (!isWarmup) measured.push(record);
        index++;
        clock += e2eMs + 1;
      }
      const ok = measured.filter((request) => request.errorCause === undefined);
      const values = (pick: (request: BenchRequestRecord) => number | undefined) =>
        ok.map(pick).filter((value): value is number => value !== undefined);
      summaries.push({
        modelIndex,
        levelIndex,
        level,
        requests: measured.length,
        completed: ok.length,
        errors: measured.length - ok.length,
        errorsByCause:
          measured.length === ok.length ? {} : { 'http-5xx': measured.length - ok.length },
        shortOutputs: ok.filter((request) => request.shortOutput).length,
        ttftMs: summarize(values((request) => request.ttftMs)),
        ttfoMs: summarize(values((request) => request.ttfoMs)),
        tpotMs: summarize(values((request) => request.tpotMs)),
        itlMs: summarize([]),
        e2eMs: summarize(values((request) => request.e2eMs)),
        queueMs: summarize(values((request) => request.queueMs)),
        windowMs: 1234.5,
        outputTokensPerSecond: 321.25,
        totalTokensPerSecond: 400.5,
        requestsPerSecond: 3.5,
        goodputRequestsPerSecond: 2.5,
        goodputShare: 0.75,
        stalls: 4,
        bandwidthCeilingShare: undefined,
        serverSide: {
          promptMs: summarize([1.5, 1.5]),
          predictedMs: undefined,
          overheadMs: summarize([0.5, 0.75, 1]),
        },
      });
    });
  });
  return {
    id: undefined,
    name: 'synthetic',
    startedAt: '2025-01-31T14:05:09.123Z',
    finishedAt: '2025-01-31T14:06:10.456Z',
    incomplete: false,
    settings: {
      name: 'synthetic',
      models,
      prompts: { kind: 'synthetic', inputTokensMean: 20, inputTokensSd: 2, count: 3 },
      maxTokens: 16,
      temperature: 0,
      seed: 1,
      warmup,
      rounds,
      levels,
      stream: true,
      ignoreEos: true,
      slo: { ttftMs: 100 },
      threads: 2,
      gpu: undefined,
      contextSize: undefined,
      stallThresholdMs: 1000,
    },
    machine: {
      cpuModel: 'Synthetic CPU @ 3.0GHz',
      logicalCores: 2,
      physicalCores: 2,
      totalMemoryBytes: 8_000_000_000,
      platform: 'linux',
      osRelease: '6.1.0',
      architecture: 'x64',
      nodeVersion: 'v20.20.2',
    },
    memoryBandwidthBytesPerSecond: 12_500_000_000.5,
    tandemVersion: '0.1.0',
    models: models.map(syntheticModel),
    levels: summaries,
    requests,
    comparisons: [
      {
        levelIndex: 0,
        metric: 'ttftMs',
        a: 40,
        b: 80,
        ratio: 0.5,
        low: 0.45,
        high: undefined,
        beyondNoise: true,
        text: 'demo-slm c=1: TTFT 2.00x faster than demo-llm (95% CI 1.9–2.1x)',
      },
    ],
    eventLoopLag: { p50Ms: 0.5, p99Ms: 2.25, maxMs: 7 },
  };
}

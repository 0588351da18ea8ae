import { stat } from 'node:fs/promises';
import { type CreateEngineOptions, createEngine, engineKind } from '../engines/registry.js';
import type { Engine } from '../engines/spec.js';
import { errorLine, TandemError } from '../errors.js';
import { startEventLoopLagMonitor } from '../measure/event-loop-lag.js';
import { measureGeneration } from '../measure/generation-timing.js';
import { describeMachine } from '../measure/machine.js';
import { PeakRssSampler } from '../measure/memory.js';
import { measureReadBandwidth } from '../measure/memory-bandwidth.js';
import { compareRatio } from '../measure/statistics/compare-ratio.js';
import { sha256OfFile } from '../models/demo/demo-models.js';
import { closedLoop, openLoop, poissonArrivals } from './load.js';
import { type BenchPrompt, readPromptFile, syntheticPrompts } from './prompts.js';
import { errorCauseOf, meetsServiceLevels, summarizeLevel } from './summarize-level.js';
import type {
  BenchComparison,
  BenchModelInfo,
  BenchRecorder,
  BenchRequestRecord,
  BenchRun,
  BenchSettings,
  LoadLevel,
} from './types.js';

export const TANDEM_VERSION = '0.1.0';

export type BenchProgress =
  | { type: 'model-start'; modelIndex: number; reference: string }
  | { type: 'model-loaded'; modelIndex: number; info: BenchModelInfo }
  | {
      type: 'level-start';
      modelIndex: number;
      levelIndex: number;
      level: LoadLevel;
      expectedRequests: number;
    }
  | { type: 'request'; record: BenchRequestRecord; done: number; expectedTotal: number };

export interface BenchOptions {
  settings: BenchSettings;
  recorder?: BenchRecorder;
  signal?: AbortSignal;
  engineOptions?: CreateEngineOptions;
  onProgress?: (event: BenchProgress) => void;
  /** Measure memory bandwidth for the decode ceiling (embedded engines). Default true. */
  measureBandwidth?: boolean;
}

/** Requests a level issues after warm-up: rounds (closed loop), or ~rate × duration (open). */
function expectedRequests(level: LoadLevel, settings: BenchSettings): number {
  return level.mode === 'closed'
    ? settings.rounds
    : Math.round(level.ratePerSecond * level.durationSeconds);
}

function describeLevel(level: LoadLevel): string {
  return level.mode === 'closed' ? `c=${level.concurrency}` : `${level.ratePerSecond} req/s`;
}

async function resolvePrompts(
  settings: BenchSettings,
  engines: readonly Engine[],
): Promise<BenchPrompt[]> {
  const source = settings.prompts;
  if (source.kind === 'prompt')
    return [{ messages: [{ role: 'user', content: source.text }], targetInputTokens: undefined }];
  if (source.kind === 'file') return readPromptFile(source.path);
  // One prompt set for every model, fitted with the first tokenizer at hand.
  const withTokenizer = engines.find((engine) => engine.countTokens !== undefined);
  return syntheticPrompts({
    count: source.count,
    inputTokensMean: source.inputTokensMean,
    inputTokensSd: source.inputTokensSd,
    seed: settings.seed,
    ...(withTokenizer?.countTokens === undefined
      ? {}
      : {
          countTokens: (text: string) =>
            (withTokenizer.countTokens as (text: string) => Promise<number>)(text),
        }),
  });
}

function compareModels(run: BenchRun): BenchComparison[] {
  const comparisons: BenchComparison[] = [];
  const metrics = [
    ['ttftMs', 'TTFT', false],
    ['tpotMs', 'TPOT', false],
    ['e2eMs', 'E2E', false],
    ['decodeTokensPerSecond', 'decode tok/s', true],
  ] as const;
  for (const [levelIndex, level] of run.settings.levels.entries()) {
    for (let a = 0; a < run.models.length; a++) {
      for (let b = a + 1; b < run.models.length; b++) {
        for (const [metric, label, higherIsBetter] of metrics) {
          const pick = (modelIndex: number) =>
            run.requests
              .filter(
                (record) =>
                  !record.warmup &&
                  record.errorCause === undefined &&
                  record.modelIndex === modelIndex &&
                  record.levelIndex === levelIndex,
              )
              .map((record) => record[metric])
              .filter((value): value is number => value !== undefined && value > 0);
          const valuesA = pick(a);
          const valuesB = pick(b);
          if (valuesA.length === 0 || valuesB.length === 0) continue;
          const comparison = compareRatio(valuesA, valuesB);
          const nameA = (run.models[a] as BenchModelInfo).reference;
          const nameB = (run.models[b] as BenchModelInfo).reference;
          const aBetter = higherIsBetter ? comparison.ratio >= 1 : comparison.ratio <= 1;
          const factor = comparison.ratio >= 1 ? comparison.ratio : 1 / comparison.ratio;
          const interval = comparison.interval;
          const ci =
            interval === undefined
              ? 'too few runs for a CI'
              : `95% CI ${interval.low.toPrecision(3)}–${interval.high.toPrecision(3)}`;
          const beyondNoise = comparison.verdict !== 'indistinguishable';
          const text = beyondNoise
            ? `${describeLevel(level)}, ${label}: ${aBetter ? nameA : nameB} better by ${factor.toFixed(2)}x (${nameA}/${nameB} = ${comparison.ratio.toPrecision(3)}, ${ci}).`
            : `${describeLevel(level)}, ${label}: ${nameA} and ${nameB} indistinguishable from noise (${nameA}/${nameB} = ${comparison.ratio.toPrecision(3)}, ${ci}).`;
          comparisons.push({
            levelIndex,
            metric,
            a,
            b,
            ratio: comparison.ratio,
            low: interval?.low,
            high: interval?.high,
            beyondNoise,
            text,
          });
        }
      }
    }
  }
  return comparisons;
}

function emptyModelInfo(reference: string, engine: Engine | undefined): BenchModelInfo {
  return {
    reference,
    model: engine?.info.model ?? reference,
    engine: engine?.info.engine ?? 'llama',
    isDemo: engine?.info.isDemo === true,
    engineVersion: engine?.info.engineVersion,
    modelPath: engine?.info.modelPath,
    modelFileSizeBytes: undefined,
    modelSha256: undefined,
    parameterCount: undefined,
    threads: undefined,
    gpu: undefined,
    device: undefined,
    dtype: undefined,
    contextSize: undefined,
    baseUrl: undefined,
    resolvedModelId: undefined,
    loadMs: undefined,
    setupMs: undefined,
    peakRssBytes: undefined,
    peakRssDeltaBytes: undefined,
    error: undefined,
  };
}

/**
 * Runs a benchmark: per model (one at a time, each loaded once) and per load level, the
 * warm-up requests, then the measured ones — a closed loop of `concurrency` clients for
 * `rounds` requests, or Poisson arrivals at a rate for a duration. Every request is handed
 * to the recorder as it completes, so a stopped or crashed run keeps what it measured.
 * A request that fails is recorded with its cause and the run goes on.
 */
export async function runBenchmark(options: BenchOptions): Promise<BenchRun> {
  const { settings, recorder, signal } = options;
  const stopped = () => signal?.aborted === true;
  const runStart = performance.now();
  const maxConcurrency = Math.max(
    1,
    ...settings.levels.map((level) => (level.mode === 'closed' ? level.concurrency : 1)),
  );
  const engines: Engine[] = [];
  try {
    for (const reference of settings.models) {
      engines.push(
        await createEngine(reference, {
          ...options.engineOptions,
          sequences: maxConcurrency,
          stream: settings.stream,
          ...(signal === undefined ? {} : { signal }),
        }),
      );
    }
  } catch (error) {
    await Promise.all(engines.map((engine) => engine.dispose()));
    throw error;
  }
  const prompts = await resolvePrompts(settings, engines);
  const run: BenchRun = {
    id: undefined,
    name: settings.name,
    startedAt: new Date().toISOString(),
    finishedAt: undefined,
    incomplete: false,
    settings,
    machine: describeMachine(),
    memoryBandwidthBytesPerSecond: undefined,
    tandemVersion: TANDEM_VERSION,
    models: settings.models.map((reference, index) => emptyModelInfo(reference, engines[index])),
    levels: [],
    requests: [],
    comparisons: [],
    eventLoopLag: undefined,
  };
  recorder?.start(run);
  // Event-loop lag during the measured levels only (a model load blocks the loop by design).
  const lags: { p50Ms: number; p99Ms: number; maxMs: number }[] = [];
  const perModel = settings.levels.reduce(
    (sum, level) => sum + settings.warmup + expectedRequests(level, settings),
    0,
  );
  const expectedTotal = perModel * engines.length;
  let requestIndex = 0;
  let done = 0;

  const issue = async (
    modelIndex: number,
    levelIndex: number,
    warmup: boolean,
    promptIndex: number,
  ) => {
    const engine = engines[modelIndex] as Engine;
    const prompt = prompts[promptIndex % prompts.length] as BenchPrompt;
    const index = requestIndex++;
    const issuedAtMs = performance.now() - runStart;
    const measurement = await measureGeneration(
      engine.stream({
        messages: prompt.messages,
        maxTokens: settings.maxTokens,
        temperature: settings.temperature,
        seed: settings.seed + index,
        ...(settings.ignoreEos ? { ignoreEos: true } : {}),
        ...(signal === undefined ? {} : { signal }),
      }),
      { stallThresholdMs: settings.stallThresholdMs },
    );
    const failed = measurement.error !== undefined || measurement.incomplete;
    const errorCause = failed
      ? errorCauseOf(measurement.error ?? new TandemError('incomplete'))
      : undefined;
    // Token times from t0: TTFT, then each gap.
    const tokenTimesMs: number[] = [];
    if (measurement.ttftMs !== undefined) {
      let at = measurement.ttftMs;
      tokenTimesMs.push(at);
      for (const gap of measurement.interTokenGapsMs) {
        at += gap;
        tokenTimesMs.push(at);
      }
    }
    const streamed = settings.stream;
    const timings = measurement.serverTimings;
    const record: BenchRequestRecord = {
      index,
      modelIndex,
      levelIndex,
      warmup,
      promptIndex: promptIndex % prompts.length,
      issuedAtMs,
      queueMs: measurement.queueMs,
      attempts: measurement.attempts,
      // Without streaming the first token arrives with the last: there is no TTFT to report.
      ttftMs: streamed ? measurement.ttftMs : undefined,
      ttfoMs: streamed ? measurement.ttfoMs : undefined,
      e2eMs: measurement.e2eMs,
      tpotMs: streamed ? measurement.tpotMs : undefined,
      decodeTokensPerSecond: streamed ? measurement.decodeTokensPerSecond : undefined,
      outputTokens: measurement.outputTokens,
      outputTokensSource: measurement.outputTokensSource,
      promptTokens: measurement.promptTokens,
      reasoningTokens: measurement.reasoningTokens,
      tokenTimesMs: streamed ? tokenTimesMs : [],
      stallCount: measurement.stallCount,
      finishReason: measurement.finishReason,
      shortOutput: !failed && measurement.outputTokens < settings.maxTokens,
      errorCause,
      errorMessage: failed ? measurement.errorMessage : undefined,
      serverTimings:
        timings === undefined
          ? undefined
          : {
              promptMs: timings.promptMs,
              predictedMs: timings.predictedMs,
              predictedTokens: timings.predictedTokens,
            },
      meetsSlo: undefined,
    };
    record.meetsSlo = failed ? undefined : meetsServiceLevels(record, settings.slo);
    run.requests.push(record);
    if (run.id !== undefined) recorder?.request(run.id, record);
    done += 1;
    options.onProgress?.({ type: 'request', record, done, expectedTotal });
  };

  const bandwidthByThreads = new Map<number, number>();
  try {
    for (const [modelIndex, engine] of engines.entries()) {
      if (stopped()) break;
      const info = run.models[modelIndex] as BenchModelInfo;
      options.onProgress?.({ type: 'model-start', modelIndex, reference: info.reference });
      const embedded = engineKind(engine.info.engine) !== 'server';
      try {
        await engine.prepare?.();
        const sampler = embedded ? new PeakRssSampler() : undefined;
        const started = performance.now();
        try {
          await engine.load(signal === undefined ? {} : { signal });
        } catch (error) {
          sampler?.stop();
          info.error = errorLine(error);
          if (run.id !== undefined) recorder?.updateModels(run.id, run.models);
          continue;
        }
        const loadedMs = performance.now() - started;
        Object.assign(info, {
          model: engine.info.model,
          modelFileSizeBytes: engine.info.modelFileSizeBytes,
          parameterCount: engine.info.parameterCount,
          threads: engine.info.threads,
          gpu: engine.info.gpu,
          device: engine.info.device,
          dtype: engine.info.dtype,
          contextSize: engine.info.contextSize,
          baseUrl: engine.info.baseUrl,
          resolvedModelId: engine.info.resolvedModelId,
          loadMs: embedded ? loadedMs : undefined,
          setupMs: embedded ? undefined : loadedMs,
          modelSha256: await weightsSha256(engine.info.weightsPath ?? engine.info.modelPath),
        } satisfies Partial<BenchModelInfo>);
        let bandwidth: number | undefined;
        if (embedded && options.measureBandwidth !== false && info.threads !== undefined) {
          bandwidth = bandwidthByThreads.get(info.threads);
          if (bandwidth === undefined) {
            bandwidth = (await measureReadBandwidth({ threads: info.threads })).bytesPerSecond;
            bandwidthByThreads.set(info.threads, bandwidth);
          }
          run.memoryBandwidthBytesPerSecond ??= bandwidth;
        }
        options.onProgress?.({ type: 'model-loaded', modelIndex, info });
        if (run.id !== undefined) recorder?.updateModels(run.id, run.models);
        for (const [levelIndex, level] of settings.levels.entries()) {
          if (stopped()) break;
          options.onProgress?.({
            type: 'level-start',
            modelIndex,
            levelIndex,
            level,
            expectedRequests: settings.warmup + expectedRequests(level, settings),
          });
          const concurrency = level.mode === 'closed' ? level.concurrency : 1;
          const lag = startEventLoopLagMonitor();
          let promptIndex = 0;
          await closedLoop(
            settings.warmup,
            concurrency,
            () => issue(modelIndex, levelIndex, true, promptIndex++),
            signal,
          );
          if (level.mode === 'closed') {
            await closedLoop(
              settings.rounds,
              concurrency,
              () => issue(modelIndex, levelIndex, false, promptIndex++),
              signal,
            );
          } else {
            const arrivals = poissonArrivals(
              level.ratePerSecond,
              level.durationSeconds,
              settings.seed + levelIndex,
            );
            await openLoop(
              arrivals,
              () => issue(modelIndex, levelIndex, false, promptIndex++),
              signal,
            );
          }
          lags.push(lag.stop());
          run.levels.push(
            summarizeLevel({
              modelIndex,
              levelIndex,
              level,
              requests: run.requests,
              slo: settings.slo,
              bytesPerToken: info.modelFileSizeBytes,
              bandwidthBytesPerSecond: bandwidth,
            }),
          );
        }
        const memory = sampler?.stop();
        info.peakRssBytes = memory?.peakBytes;
        info.peakRssDeltaBytes = memory?.peakDeltaBytes;
        if (run.id !== undefined) recorder?.updateModels(run.id, run.models);
      } finally {
        await engine.dispose();
      }
    }
  } finally {
    await Promise.all(engines.map((engine) => engine.dispose()));
    run.eventLoopLag =
      lags.length === 0
        ? undefined
        : {
            p50Ms: Math.max(...lags.map((lag) => lag.p50Ms)),
            p99Ms: Math.max(...lags.map((lag) => lag.p99Ms)),
            maxMs: Math.max(...lags.map((lag) => lag.maxMs)),
          };
    run.incomplete = stopped();
    run.comparisons = compareModels(run);
    run.finishedAt = new Date().toISOString();
    recorder?.finish(run);
  }
  return run;
}

/** SHA-256 of the weights file, the identity of what was measured; undefined for anything but a file. */
async function weightsSha256(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  const stats = await stat(path).catch(() => undefined);
  return stats?.isFile() === true ? sha256OfFile(path) : undefined;
}

import { type CreateEngineOptions, createEngine, engineKind } from '../engines/registry.js';
import type { Engine, EngineId } from '../engines/spec.js';
import { AbortedError, errorLine, TandemError } from '../errors.js';
import { GenerationError, measureRun, type RunResult } from '../generate/generate.js';
import { describeMachine, type MachineInfo } from '../measure/machine.js';
import { PeakRssSampler } from '../measure/memory.js';
import { compareRatio } from '../measure/statistics/compare-ratio.js';
import type { ConfidenceInterval } from '../measure/statistics/confidence-interval.js';
import { type SampleSummary, summarize } from '../measure/statistics/summary.js';

export const DEFAULT_COMPARE_PROMPT = 'List 5 benefits of local AI inference.';
export const DEFAULT_COMPARE_MODELS = ['demo-slm', 'demo-llm'] as const;

export interface CompareOptions {
  models: readonly string[];
  prompt: string;
  system?: string;
  /** Warm runs per model after the cold one. Default 3. */
  rounds?: number;
  maxTokens?: number;
  /** Default 0 (greedy), so every model answers the same prompt deterministically. */
  temperature?: number;
  seed?: number;
  signal?: AbortSignal;
  engineOptions?: CreateEngineOptions;
  onProgress?: (event: CompareProgress) => void;
}

export type CompareProgress =
  | { type: 'model-start'; model: string; index: number; total: number }
  | { type: 'loaded'; model: string; loadMs: number | undefined; setupMs: number | undefined }
  | { type: 'run-done'; model: string; round: number; rounds: number; result: RunResult }
  | { type: 'model-failed'; model: string; message: string };

/** The figures of a model's warm runs, summarized. */
export interface CompareSummary {
  ttftMs: SampleSummary | undefined;
  ttfoMs: SampleSummary | undefined;
  e2eMs: SampleSummary | undefined;
  tpotMs: SampleSummary | undefined;
  decodeTokensPerSecond: SampleSummary | undefined;
  requestTokensPerSecond: SampleSummary | undefined;
  outputTokens: SampleSummary | undefined;
}

export interface ModelComparison {
  model: string;
  reference: string;
  engine: EngineId;
  isDemo: boolean;
  /** Model load time (cold run, embedded engines). */
  loadMs: number | undefined;
  /** Endpoint discovery and model-id resolution (cold run, server engines). */
  setupMs: number | undefined;
  /** The first run, model load included before it. */
  cold: RunResult | undefined;
  /** Every warm run, failed ones included (marked incomplete); only complete ones are summarized. */
  warm: RunResult[];
  summary: CompareSummary;
  /** Peak RSS of this process while the model was loaded and ran (embedded engines). */
  peakRssBytes: number | undefined;
  /** That peak minus the RSS before the model was loaded: the model's own cost. */
  peakRssDeltaBytes: number | undefined;
  modelFileSizeBytes: number | undefined;
  threads: number | undefined;
  gpu: string | undefined;
  /** Why this model has no (or incomplete) figures. */
  error: string | undefined;
  /** The exit code that error maps to (see the CLI). */
  errorExitCode: number | undefined;
}

export type VerdictMetric = 'decodeTokensPerSecond' | 'ttftMs';

export interface Verdict {
  metric: VerdictMetric;
  /** The model with the better point estimate on this metric. */
  better: string;
  worse: string;
  /** How many times better, as a ratio of geometric means ≥ 1 (faster decode, or sooner first token). */
  ratio: number;
  interval: ConfidenceInterval | undefined;
  beyondNoise: boolean;
  /** Two-sided p-value of "no difference" (Welch's t on logs); undefined with too few runs. */
  pValue: number | undefined;
  samples: { better: number; worse: number };
  /** One line for people. */
  text: string;
}

export interface CompareResult {
  /** Stopped by the caller's signal: the figures are what was measured until then. */
  interrupted: boolean;
  prompt: string;
  rounds: number;
  maxTokens: number | undefined;
  temperature: number;
  machine: MachineInfo;
  startedAt: string;
  models: ModelComparison[];
  verdicts: Verdict[];
}

function summarizeRuns(runs: readonly RunResult[]): CompareSummary {
  const of = (pick: (run: RunResult) => number | undefined) =>
    summarize(runs.map(pick).filter((value): value is number => value !== undefined));
  return {
    ttftMs: of((run) => run.ttftMs),
    ttfoMs: of((run) => run.ttfoMs),
    e2eMs: of((run) => run.e2eMs),
    tpotMs: of((run) => run.tpotMs),
    decodeTokensPerSecond: of((run) => run.decodeTokensPerSecond),
    requestTokensPerSecond: of((run) => run.requestTokensPerSecond),
    outputTokens: of((run) => run.outputTokens),
  };
}

async function compareOneModel(
  reference: string,
  engine: Engine,
  options: CompareOptions,
): Promise<ModelComparison> {
  const rounds = options.rounds ?? 3;
  const request = {
    prompt: options.prompt,
    ...(options.system === undefined ? {} : { system: options.system }),
    ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
    temperature: options.temperature ?? 0,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  const embedded = engineKind(engine.info.engine) !== 'server';
  // The native runtime starts once per process; it is neither this model's load nor its memory.
  await engine.prepare?.();
  const sampler = embedded ? new PeakRssSampler() : undefined;
  const comparison: ModelComparison = {
    model: engine.info.model,
    reference,
    engine: engine.info.engine,
    isDemo: engine.info.isDemo === true,
    loadMs: undefined,
    setupMs: undefined,
    cold: undefined,
    warm: [],
    summary: summarizeRuns([]),
    peakRssBytes: undefined,
    peakRssDeltaBytes: undefined,
    modelFileSizeBytes: undefined,
    threads: undefined,
    gpu: undefined,
    error: undefined,
    errorExitCode: undefined,
  };
  try {
    for (let round = 0; round <= rounds; round++) {
      const cold = round === 0;
      let result: RunResult;
      try {
        result = await measureRun(engine, request, { cold });
      } catch (error) {
        if (error instanceof GenerationError) {
          if (cold) comparison.cold = error.result;
          else comparison.warm.push(error.result);
        }
        throw error;
      }
      if (cold) {
        comparison.cold = result;
        comparison.loadMs = result.loadMs;
        comparison.setupMs = result.setupMs;
        options.onProgress?.({
          type: 'loaded',
          model: comparison.model,
          loadMs: result.loadMs,
          setupMs: result.setupMs,
        });
      } else {
        comparison.warm.push(result);
      }
      options.onProgress?.({ type: 'run-done', model: comparison.model, round, rounds, result });
    }
  } catch (error) {
    const stopped = error instanceof AbortedError || options.signal?.aborted === true;
    comparison.error = stopped ? 'stopped (Ctrl-C) before all runs were done' : errorLine(error);
    comparison.errorExitCode = stopped ? 130 : error instanceof TandemError ? error.exitCode : 1;
    options.onProgress?.({ type: 'model-failed', model: reference, message: comparison.error });
  } finally {
    const memory = sampler?.stop();
    comparison.peakRssBytes = memory?.peakBytes;
    comparison.peakRssDeltaBytes = memory?.peakDeltaBytes;
    comparison.summary = summarizeRuns(comparison.warm.filter((run) => !run.incomplete));
    comparison.modelFileSizeBytes = engine.info.modelFileSizeBytes;
    comparison.threads = engine.info.threads;
    comparison.gpu = engine.info.gpu;
    comparison.model = engine.info.model;
  }
  return comparison;
}

/**
 * Whether `first` beats `second` on a metric beyond noise: Welch's t on the logs of the
 * complete warm runs' values (the ratio of geometric means with its CI), which keeps its
 * 95% honest with the handful of runs a compare makes.
 */
export function verdictFor(
  metric: VerdictMetric,
  first: ModelComparison,
  second: ModelComparison,
  names: { first: string; second: string } = { first: first.model, second: second.model },
): Verdict | undefined {
  const values = (model: ModelComparison) =>
    model.warm
      .filter((run) => !run.incomplete)
      .map((run) => (metric === 'ttftMs' ? run.ttftMs : run.decodeTokensPerSecond))
      .filter((value): value is number => value !== undefined && value > 0);
  const firstValues = values(first);
  const secondValues = values(second);
  if (firstValues.length === 0 || secondValues.length === 0) return undefined;
  // Oriented so that a ratio above 1 means `first` did better: higher decode speed,
  // or lower time to first token.
  const comparison =
    metric === 'decodeTokensPerSecond'
      ? compareRatio(firstValues, secondValues)
      : compareRatio(secondValues, firstValues);
  const firstIsBetter = comparison.ratio >= 1;
  const [better, worse] = firstIsBetter ? [names.first, names.second] : [names.second, names.first];
  const ratio = firstIsBetter ? comparison.ratio : 1 / comparison.ratio;
  const raw = comparison.interval;
  const interval =
    raw === undefined || firstIsBetter
      ? raw
      : { low: 1 / raw.high, high: 1 / raw.low, confidence: raw.confidence };
  const beyondNoise = comparison.verdict !== 'indistinguishable';
  const runs = `${firstValues.length} and ${secondValues.length} warm runs`;
  const what = metric === 'decodeTokensPerSecond' ? 'decode speed' : 'time to first token';
  let text: string;
  if (comparison.reason === 'too few samples') {
    text = `${names.first} vs ${names.second}, ${what}: too few complete warm runs to tell noise from a difference (${runs}; ratio ${formatFactor(ratio)}x). Use --rounds 3 or more.`;
  } else if (!beyondNoise) {
    const ci = `95% CI ${formatFactor(interval?.low ?? ratio)}–${formatFactor(interval?.high ?? ratio)}x`;
    text = `${names.first} and ${names.second}: ${what} indistinguishable from noise (ratio ${formatFactor(ratio)}x, ${ci}, ${runs}).`;
  } else {
    const ci = `${Math.round((interval?.confidence ?? 0.95) * 100)}% CI ${formatFactor(interval?.low ?? ratio)}–${formatFactor(interval?.high ?? ratio)}x`;
    text =
      metric === 'decodeTokensPerSecond'
        ? `${better} decodes ${formatFactor(ratio)}x faster than ${worse} (${ci}).`
        : `${better} reaches its first token ${formatFactor(ratio)}x sooner than ${worse} (${ci}).`;
  }
  return {
    metric,
    better,
    worse,
    ratio,
    interval,
    beyondNoise,
    pValue: comparison.pValue,
    samples: {
      better: (firstIsBetter ? firstValues : secondValues).length,
      worse: (firstIsBetter ? secondValues : firstValues).length,
    },
    text,
  };
}

/** Model names, or their references where two models share a name (demo-llm vs demo-llm?threads=2). */
function displayNames(models: readonly ModelComparison[]): string[] {
  return models.map((model) =>
    models.filter((other) => other.model === model.model).length > 1
      ? model.reference
      : model.model,
  );
}

function formatFactor(value: number): string {
  return value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/**
 * The same prompt on several models, one after another: per model one cold run (load
 * timed) and `rounds` warm runs, then verdicts on decode speed and time to first token
 * that say whether each difference is beyond noise.
 */
export async function compare(options: CompareOptions): Promise<CompareResult> {
  if (options.models.length === 0)
    throw new TandemError('Nothing to compare: name at least one model.');
  const startedAt = new Date().toISOString();
  // Resolve every reference before running anything: a typo fails at once.
  const engineOptions = {
    ...options.engineOptions,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  const engines: Engine[] = [];
  const models: ModelComparison[] = [];
  let next = 0;
  try {
    for (const reference of options.models)
      engines.push(await createEngine(reference, engineOptions));
    for (; next < engines.length; next++) {
      const engine = engines[next] as Engine;
      const reference = options.models[next] as string;
      options.onProgress?.({
        type: 'model-start',
        model: reference,
        index: next,
        total: engines.length,
      });
      try {
        models.push(await compareOneModel(reference, engine, options));
      } finally {
        // One model in memory at a time, so each one's memory figure is its own.
        await engine.dispose();
      }
      if (options.signal?.aborted === true) break;
    }
  } finally {
    await Promise.all(engines.slice(next).map((engine) => engine.dispose()));
  }
  const verdicts: Verdict[] = [];
  const names = displayNames(models);
  for (let i = 0; i < models.length; i++) {
    for (let j = i + 1; j < models.length; j++) {
      for (const metric of ['decodeTokensPerSecond', 'ttftMs'] as const) {
        const verdict = verdictFor(
          metric,
          models[i] as ModelComparison,
          models[j] as ModelComparison,
          {
            first: names[i] as string,
            second: names[j] as string,
          },
        );
        if (verdict !== undefined) verdicts.push(verdict);
      }
    }
  }
  return {
    interrupted: options.signal?.aborted === true,
    prompt: options.prompt,
    rounds: options.rounds ?? 3,
    maxTokens: options.maxTokens,
    temperature: options.temperature ?? 0,
    machine: describeMachine(),
    startedAt,
    models,
    verdicts,
  };
}

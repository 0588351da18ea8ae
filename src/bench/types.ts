/**
 * The shapes of a benchmark run (types only). The runner produces them, the store keeps
 * them, the reports render them. Times are milliseconds; `…AtMs` are from the run's start.
 */
import type { FinishReason } from '../engines/spec.js';
import type { MachineInfo } from '../measure/machine.js';
import type { SampleSummary } from '../measure/statistics/summary.js';
import type { GenerationTimings, TokenUsage, UsageDevice } from '../measure/usage-record.js';

/** How load is offered: a closed loop of N concurrent clients, or Poisson arrivals at a rate. */
export type LoadLevel =
  | { mode: 'closed'; concurrency: number }
  | { mode: 'open'; ratePerSecond: number; durationSeconds: number };

export interface ServiceLevelObjectives {
  ttftMs?: number;
  tpotMs?: number;
  e2eMs?: number;
}

export type PromptSource =
  | { kind: 'prompt'; text: string }
  | { kind: 'file'; path: string; count: number }
  | { kind: 'synthetic'; inputTokensMean: number; inputTokensSd: number; count: number };

/** Every setting of a run: enough to run it again. */
export interface BenchSettings {
  name: string | undefined;
  models: string[];
  prompts: PromptSource;
  maxTokens: number;
  temperature: number;
  seed: number;
  /** Requests per model and level before measuring (not counted). */
  warmup: number;
  /** Closed loop: measured requests per model and level. */
  rounds: number;
  levels: LoadLevel[];
  stream: boolean;
  ignoreEos: boolean;
  slo: ServiceLevelObjectives;
  threads: number | undefined;
  gpu: string | undefined;
  contextSize: number | undefined;
  stallThresholdMs: number;
}

/** Why a request failed, for "errors by cause". */
export type ErrorCause =
  | 'http-4xx'
  | 'http-429'
  | 'http-5xx'
  | 'connection'
  | 'timeout-connect'
  | 'timeout-first-byte'
  | 'timeout-idle'
  | 'interrupted'
  | 'aborted'
  | 'other';

export interface ServerTimingRecord {
  /** Server-side prompt processing, e.g. llama-server's timings.prompt_ms. */
  promptMs: number | undefined;
  /** Server-side decode time (timings.predicted_ms). */
  predictedMs: number | undefined;
  predictedTokens: number | undefined;
}

/**
 * One request, as the client saw it: its tokens and timings (queueMs: issue → the request
 * attempt that answered, waiting for a slot, retries and back-off included). With its
 * model's device it is a UsageRecord (usageOfRequest).
 */
export interface BenchRequestRecord extends TokenUsage, GenerationTimings {
  /** Order of issue within the run, from 0. */
  index: number;
  modelIndex: number;
  levelIndex: number;
  warmup: boolean;
  promptIndex: number;
  /** When the load generator issued it (open loop: its scheduled arrival), from run start. */
  issuedAtMs: number;
  attempts: number;
  ttfoMs: number | undefined;
  tpotMs: number | undefined;
  decodeTokensPerSecond: number | undefined;
  /** Times of each token-bearing event from t0 (ms): the per-token timeline. */
  tokenTimesMs: number[];
  stallCount: number;
  finishReason: FinishReason;
  /** Output shorter than maxTokens (the model stopped early): the work was not equal. */
  shortOutput: boolean;
  errorCause: ErrorCause | undefined;
  errorMessage: string | undefined;
  serverTimings: ServerTimingRecord | undefined;
  /** Met every SLO that was set; undefined when none was set or the request failed. */
  meetsSlo: boolean | undefined;
}

/** Figures of one model at one load level, over the measured (post-warm-up) requests. */
export interface BenchLevelSummary {
  modelIndex: number;
  levelIndex: number;
  level: LoadLevel;
  requests: number;
  completed: number;
  errors: number;
  errorsByCause: Partial<Record<ErrorCause, number>>;
  shortOutputs: number;
  ttftMs: SampleSummary | undefined;
  ttfoMs: SampleSummary | undefined;
  tpotMs: SampleSummary | undefined;
  /** Inter-token gaps of every measured request, pooled. */
  itlMs: SampleSummary | undefined;
  e2eMs: SampleSummary | undefined;
  queueMs: SampleSummary | undefined;
  /** First issue → last token of the measured requests. */
  windowMs: number;
  outputTokensPerSecond: number;
  /** Prompt + output tokens over the window (prompt tokens where known). */
  totalTokensPerSecond: number;
  requestsPerSecond: number;
  /** Requests per second that met every SLO; undefined without SLOs. */
  goodputRequestsPerSecond: number | undefined;
  /** Share of measured requests that met every SLO. */
  goodputShare: number | undefined;
  stalls: number;
  /** Decode tok/s (median, one stream) × bytes read per token ÷ measured bandwidth. */
  bandwidthCeilingShare: number | undefined;
  /** Where the server reported timings: its prefill and decode, and the client's extra. */
  serverSide:
    | {
        promptMs: SampleSummary | undefined;
        predictedMs: SampleSummary | undefined;
        /** Client E2E − (server prompt + decode): client and transport overhead. */
        overheadMs: SampleSummary | undefined;
      }
    | undefined;
}

/** A benchmarked model: what ran it (the device of its requests' usage) and its load figures. */
export interface BenchModelInfo extends UsageDevice {
  reference: string;
  isDemo: boolean;
  engineVersion: string | undefined;
  modelPath: string | undefined;
  modelFileSizeBytes: number | undefined;
  /** SHA-256 of the model file (embedded engines). */
  modelSha256: string | undefined;
  parameterCount: number | undefined;
  contextSize: number | undefined;
  resolvedModelId: string | undefined;
  loadMs: number | undefined;
  setupMs: number | undefined;
  peakRssBytes: number | undefined;
  peakRssDeltaBytes: number | undefined;
  /** Why this model could not be benchmarked at all (load failure…). */
  error: string | undefined;
}

/** "Is A faster than B beyond noise" for one metric at one level. */
export interface BenchComparison {
  levelIndex: number;
  metric: 'ttftMs' | 'tpotMs' | 'e2eMs' | 'decodeTokensPerSecond';
  a: number;
  b: number;
  /** Ratio of geometric means a/b with its CI (Welch's t on logs). */
  ratio: number;
  low: number | undefined;
  high: number | undefined;
  beyondNoise: boolean;
  text: string;
}

export interface EventLoopLagSummary {
  /** From perf_hooks.monitorEventLoopDelay during the measured window. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface BenchRun {
  /** Database id once stored. */
  id: number | undefined;
  name: string | undefined;
  startedAt: string;
  finishedAt: string | undefined;
  /** Stopped (Ctrl-C) or crashed before the plan was done: what is here was measured. */
  incomplete: boolean;
  settings: BenchSettings;
  machine: MachineInfo;
  /** Memory read bandwidth measured for the ceiling, bytes/s (embedded engines). */
  memoryBandwidthBytesPerSecond: number | undefined;
  tandemVersion: string;
  models: BenchModelInfo[];
  levels: BenchLevelSummary[];
  requests: BenchRequestRecord[];
  comparisons: BenchComparison[];
  eventLoopLag: EventLoopLagSummary | undefined;
}

/**
 * Receives a run as it happens, so a crash or Ctrl-C loses nothing already measured: the
 * store writes each request as it completes.
 */
export interface BenchRecorder {
  /** The run begins (settings, machine, models known; no requests yet). Sets `run.id`. */
  start(run: BenchRun): void;
  /** A request finished (or failed); called once per request, in completion order. */
  request(runId: number, record: BenchRequestRecord): void;
  /** Models' load figures became known (after each model's load). */
  updateModels(runId: number, models: readonly BenchModelInfo[]): void;
  /** The run ended: summaries, comparisons, finishedAt, incomplete. */
  finish(run: BenchRun): void;
}

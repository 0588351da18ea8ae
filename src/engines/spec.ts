/**
 * The engine interface (types only). An engine turns a chat request into a stream of typed
 * parts. It never times itself: the measurement core stamps every part as it is received.
 * Transports that receive bytes (HTTP engines) may attach `arrivedAtMs`, read from the
 * clock they were given, at the moment the bytes arrived, before parsing.
 */

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface GenerateRequest {
  messages: readonly ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: readonly string[];
  /**
   * Keep generating past the end-of-sequence token, so every request does the same work
   * (benchmarks). Engines that cannot honour it ignore it; results count short outputs.
   */
  ignoreEos?: boolean;
  /**
   * Constrain the answer to JSON (any object, or one matching a JSON schema). The llama
   * engine enforces it with a grammar; server engines pass it on as `response_format`.
   */
  responseFormat?: ResponseFormat;
  signal?: AbortSignal;
}

export type ResponseFormat =
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      name: string;
      schema: Readonly<Record<string, unknown>>;
      strict?: boolean;
    };

export interface EmbedRequest {
  inputs: readonly string[];
  signal?: AbortSignal;
}

export interface EmbedResult {
  /** One vector per input, in order. */
  embeddings: number[][];
  /** Tokens read, by the model's tokenizer or the server's usage; undefined when unknown. */
  promptTokens: number | undefined;
}

export type FinishReason =
  | 'stop'
  | 'length'
  | 'tool-calls'
  | 'content-filter'
  | 'abort'
  | 'error'
  | 'other';

/** Token counts as reported by a server (`usage`) or counted by the engine (`engine`). */
export interface Usage {
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  reasoningTokens: number | undefined;
}

/** Where the engine's usage figures come from. */
export type UsageSource = 'usage' | 'engine';

/** Server-side timings, when a server reports them (llama-server's `timings`, for example). */
export interface ServerTimings {
  promptMs: number | undefined;
  promptTokens: number | undefined;
  predictedMs: number | undefined;
  predictedTokens: number | undefined;
}

interface PartBase {
  /** `performance.now()`-style time at which the bytes carrying this part arrived. */
  arrivedAtMs?: number;
}

/**
 * Marks the moment the engine starts the request attempt that follows (an HTTP request about
 * to be written; an embedded engine about to evaluate the prompt). The measurement core takes
 * t0 from the last one, so retries, back-off, loading and waiting for a free sequence count as
 * queue time, not as time to first token.
 */
export interface RequestStartPart extends PartBase {
  type: 'request-start';
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number;
}

export interface TextDeltaPart extends PartBase {
  type: 'text-delta';
  text: string;
  /** Number of model tokens this delta carries, when the engine knows it. */
  tokenCount?: number;
}

export interface ReasoningDeltaPart extends PartBase {
  type: 'reasoning-delta';
  text: string;
  tokenCount?: number;
}

export interface ToolCallDeltaPart extends PartBase {
  type: 'tool-call-delta';
  index: number;
  id?: string;
  name?: string;
  argumentsDelta: string;
}

export interface FinishPart extends PartBase {
  type: 'finish';
  finishReason: FinishReason;
  usage: Usage;
  usageSource: UsageSource;
  timings?: ServerTimings;
  /** The model id the server says answered (after alias resolution). */
  responseModelId?: string;
}

/** An error reported inside the stream (an SSE `error` event, for example). */
export interface ErrorPart extends PartBase {
  type: 'error';
  error: Error;
}

export type StreamPart =
  | RequestStartPart
  | TextDeltaPart
  | ReasoningDeltaPart
  | ToolCallDeltaPart
  | FinishPart
  | ErrorPart;

/**
 * The id of the provider that made an engine: `llama`, `onnx`, `openai`, or an engine
 * registered later (engines/registry.ts); results and reports name engines by it.
 */
export type EngineId = string;

/** What an engine knows about the model it serves; everything a result needs to say. */
export interface EngineInfo {
  engine: EngineId;
  /** The reference the user gave, e.g. `demo-slm` or `foundry:phi-4-mini`. */
  reference: string;
  /** The model's name as tandem shows it. */
  model: string;
  /** The id sent to a server, after alias resolution. */
  resolvedModelId?: string;
  modelPath?: string;
  /** The file holding the weights, where it is not modelPath (onnx: the dtype's .onnx file in the folder). */
  weightsPath?: string;
  modelFileSizeBytes?: number;
  parameterCount?: number;
  baseUrl?: string;
  preset?: string;
  threads?: number;
  gpu?: string;
  /** onnx: the execution provider the model runs on (cpu, webgpu, cuda, dml). */
  device?: string;
  /** onnx: the weights' data type (fp32, fp16, q8, q4, q4f16). */
  dtype?: string;
  contextSize?: number;
  /** Requests an embedded engine runs at once. */
  sequences?: number;
  /** True for tandem's random-weight models: the demo models and shape twins. */
  isDemo?: boolean;
  /** A shape twin: the catalog alias whose architecture, shapes and quantization it copies. */
  twinOf?: string;
  /**
   * The buffers the engine said it allocated while loading (llama.cpp: weights mapped and
   * repacked, KV cache, compute). Absent when it says nothing or the model was already loaded.
   */
  memoryBuffers?: EngineMemoryBuffer[];
  engineVersion?: string;
}

export interface EngineMemoryBuffer {
  /** The engine's own name for it, e.g. llama.cpp's `CPU_REPACK model` or `CPU KV`. */
  label: string;
  kind: 'model' | 'kv' | 'compute' | 'output' | 'other';
  bytes: number;
}

export interface LoadOptions {
  signal?: AbortSignal;
}

export interface Engine {
  readonly info: EngineInfo;
  /**
   * Starts what the engine needs before any model can load (llama.cpp's native runtime,
   * once per process). Not part of a model's load time; callers run it before timing load.
   */
  prepare?(): Promise<void>;
  /** Loads the model (idempotent; a second call returns at once). The caller times it. */
  load(options?: LoadOptions): Promise<void>;
  /** Streams one chat completion. Loads the model first if needed. */
  stream(request: GenerateRequest): AsyncIterable<StreamPart>;
  /** Tokens in a text by the model's own tokenizer, where the engine has one. */
  countTokens?(text: string): Promise<number>;
  /** Embedding vectors for texts, where the engine can make them. Loads the model first. */
  embed?(request: EmbedRequest): Promise<EmbedResult>;
  dispose(): Promise<void>;
}

/** A monotonic clock in milliseconds. Injected; defaults to `performance.now`. */
export type Clock = () => number;

/**
 * One generation's usage, in one shape for every feature: its tokens with where each count
 * comes from, its timings, and what ran it. `tandem run`'s RunResult is one (generate,
 * compare); a bench request with its model's device makes one (bench); a served completion
 * makes one (serve). Cost and energy are computed from this shape, whoever measured it.
 * Types only.
 */
import type { EngineId } from '../engines/spec.js';

/** Where an output-token count comes from, best first. */
export type TokenCountSource = 'usage' | 'engine' | 'estimate';

/** The tokens of one generation, each count with its provenance. */
export interface TokenUsage {
  /** Tokens of the prompt, by the server's usage or the model's tokenizer; undefined when unknown. */
  promptTokens: number | undefined;
  outputTokens: number;
  /** `usage` (the server said), `engine` (the engine counted), `estimate` (events counted). */
  outputTokensSource: TokenCountSource;
  reasoningTokens: number | undefined;
}

/** When one generation's tokens came, in milliseconds from t0 (DESIGN.md defines each). */
export interface GenerationTimings {
  /**
   * From asking for the stream to t0: loading, waiting for a free sequence, retries and their
   * back-off. t0 itself is the start of the request attempt that answered.
   */
  queueMs: number;
  /** First event carrying any generated token (content, reasoning or tool-call delta). */
  ttftMs: number | undefined;
  /** Last token-bearing event (not the usage chunk, not [DONE]). */
  e2eMs: number | undefined;
}

/** What ran a generation: what a price or an energy figure needs to know about it. */
export interface UsageDevice {
  engine: EngineId;
  /** The model's name as tandem shows it. */
  model: string;
  /** Embedded engines: CPU threads. */
  threads: number | undefined;
  /** llama: the GPU backend it ran on (cpu, cuda, vulkan, metal). */
  gpu: string | undefined;
  /** onnx: the execution provider and weights' data type the model ran with. */
  device: string | undefined;
  dtype: string | undefined;
  /** Server engines: the server's base URL. */
  baseUrl: string | undefined;
}

export interface UsageRecord extends TokenUsage, GenerationTimings, UsageDevice {}

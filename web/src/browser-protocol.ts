/**
 * Messages between the "In the browser" page and its worker, which loads a model with
 * transformers.js on onnxruntime-web and generates with it (so the page stays responsive
 * while the runtime compiles and the model decodes).
 */

export type BrowserBackend = 'webgpu' | 'wasm';

/** What the worker learnt about this browser's WebGPU before loading anything. */
export interface WebGpuProbe {
  available: boolean;
  /** Vendor and architecture, e.g. "google swiftshader". */
  adapter?: string;
  /** A software (fallback) adapter: WebGPU works but runs on the CPU. */
  fallback?: boolean;
  shaderF16?: boolean;
  /** Why WebGPU cannot be used, when it cannot. */
  reason?: string;
}

/** Probe, load and generate carry an id; their reply (or error) carries the same id. */
export type WorkerRequest =
  | { type: 'probe'; id: number }
  | {
      type: 'load';
      id: number;
      model: string;
      backend: BrowserBackend;
      dtype: string;
      apiKey?: string;
    }
  | { type: 'generate'; id: number; prompt: string; maxTokens: number }
  | { type: 'stop' };

/** Text and progress belong to the request being served (one at a time). */
export type WorkerReply =
  | { type: 'probe'; id: number; webgpu: WebGpuProbe; threads: number }
  | { type: 'progress'; file: string; loadedBytes: number; totalBytes: number | undefined }
  | {
      type: 'loaded';
      id: number;
      backend: BrowserBackend;
      /** Confirmed from ONNX Runtime after the session was made, e.g. "WebGPU (google swiftshader)". */
      detail: string;
      loadMs: number;
    }
  | { type: 'text'; text: string }
  | {
      type: 'done';
      id: number;
      /** performance.now() in the worker just before generate() was called. */
      startedAtMs: number;
      firstTokenAtMs: number | undefined;
      lastTokenAtMs: number | undefined;
      tokens: number;
      promptTokens: number;
      finish: 'stop' | 'length' | 'aborted';
    }
  | { type: 'error'; id: number; message: string };

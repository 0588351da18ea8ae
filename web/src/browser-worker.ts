/**
 * The in-browser engine: transformers.js on onnxruntime-web, in a worker. It reads models
 * only from this server (/models/NAME/…), never from the Hub, and ONNX Runtime's wasm files
 * from this server's assets, never from a CDN. WebGPU is used only when asked for and an
 * adapter exists; the backend in use is read back from ONNX Runtime after loading, so the
 * page names what really runs. Each token is stamped with performance.now() as the streamer
 * receives it.
 */

import {
  AutoModelForCausalLM,
  AutoTokenizer,
  env,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  Tensor,
} from '@huggingface/transformers';
import ortMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { TokenTextDecoder } from '../../src/engines/onnx/token-text.js';
import type {
  BrowserBackend,
  WebGpuProbe,
  WorkerReply,
  WorkerRequest,
} from './browser-protocol.js';

interface WorkerScope {
  postMessage(message: WorkerReply): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerRequest>) => void): void;
}

interface GpuAdapterLike {
  info?: {
    vendor?: string;
    architecture?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
}

interface OrtEnv {
  wasm: { wasmPaths?: unknown; numThreads?: number };
  webgpu: { device?: { adapterInfo?: { vendor?: string; architecture?: string } } };
}

const scope = self as unknown as WorkerScope;
const post = (message: WorkerReply) => scope.postMessage(message);

let apiKey: string | undefined;
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/models/';
env.useBrowserCache = false;
/**
 * transformers.js reads a local file's error response as the file itself (it treats only 404
 * as missing): a refusal from this server is thrown with the server's message instead. Each
 * body is counted as it streams, for the page's progress line.
 */
env.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
  const headers = new Headers(init?.headers);
  const url = new URL(input instanceof Request ? input.url : String(input), location.href);
  const ours = url.origin === location.origin;
  if (apiKey !== undefined && ours) headers.set('authorization', `Bearer ${apiKey}`);
  const response = await fetch(input, { ...init, headers });
  if (!ours || response.body === null) return response;
  if (!response.ok && response.status !== 404) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as { error?: { message?: string } };
      message = body.error?.message ?? message;
    } catch {
      // Not JSON: keep the status.
    }
    throw new Error(`${url.pathname}: ${message}`);
  }
  const total = Number(response.headers.get('content-length')) || undefined;
  const file = url.pathname.replace(/^\/models\/[^/]+\//, '');
  let loaded = 0;
  let reportedAt = 0;
  const counted = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        const now = performance.now();
        if (now - reportedAt > 100 || loaded === total) {
          reportedAt = now;
          post({ type: 'progress', file, loadedBytes: loaded, totalBytes: total });
        }
        controller.enqueue(chunk);
      },
    }),
  );
  return new Response(counted, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
};
const ort = env.backends.onnx as unknown as OrtEnv;
ort.wasm.wasmPaths = {
  mjs: new URL(ortMjsUrl, location.href).href,
  wasm: new URL(ortWasmUrl, location.href).href,
};

/** ONNX Runtime uses threads only where the page is cross-origin isolated. */
const threads = globalThis.crossOriginIsolated
  ? Math.min(4, Math.ceil((navigator.hardwareConcurrency || 1) / 2))
  : 1;

let tokenizer: PreTrainedTokenizer | undefined;
let model: PreTrainedModel | undefined;
let stopRequested = false;
let busy = false;

async function probeWebGpu(): Promise<WebGpuProbe> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu === undefined) {
    return { available: false, reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  }
  let adapter: GpuAdapterLike | null;
  try {
    adapter = (await gpu.requestAdapter()) as GpuAdapterLike | null;
  } catch (error) {
    return { available: false, reason: `requestAdapter() failed: ${messageOf(error)}` };
  }
  if (adapter === null) {
    return {
      available: false,
      reason:
        'the browser offers no WebGPU adapter; Chromium on Linux offers one when started with --enable-unsafe-webgpu',
    };
  }
  const name = [adapter.info?.vendor, adapter.info?.architecture].filter(Boolean).join(' ');
  return {
    available: true,
    adapter: name === '' ? 'unnamed adapter' : name,
    // Chromium moved the flag into adapter.info; SwiftShader is its CPU implementation.
    fallback:
      adapter.isFallbackAdapter === true ||
      adapter.info?.isFallbackAdapter === true ||
      /swiftshader/i.test(name),
    shaderF16: adapter.features.has('shader-f16'),
  };
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]?.trim() || 'unknown error';
}

async function load(
  id: number,
  name: string,
  backend: BrowserBackend,
  dtype: string,
): Promise<void> {
  let software = false;
  if (backend === 'webgpu') {
    const probe = await probeWebGpu();
    software = probe.fallback === true;
    if (!probe.available) throw new Error(`WebGPU is not available: ${probe.reason}.`);
    if ((dtype === 'fp16' || dtype === 'q4f16') && probe.shaderF16 !== true) {
      throw new Error(
        `This WebGPU adapter has no shader-f16, so ${dtype} weights cannot run on it: pick fp32, q8 or q4, or WASM.`,
      );
    }
  }
  const startedAt = performance.now();
  try {
    // No progress_callback: with one, transformers.js first GETs every file for its size.
    // Progress comes from env.fetch above.
    tokenizer = await AutoTokenizer.from_pretrained(name);
    model = (await AutoModelForCausalLM.from_pretrained(name, {
      device: backend,
      dtype: dtype as 'fp32',
    })) as PreTrainedModel;
  } catch (error) {
    throw new Error(
      `Could not load ${name} (${dtype}) on ${backend === 'webgpu' ? 'WebGPU' : 'WASM'}: ${messageOf(error)}`,
    );
  }
  const loadMs = performance.now() - startedAt;
  let detail: string;
  if (backend === 'webgpu') {
    const device = ort.webgpu.device;
    if (device === undefined) {
      throw new Error('ONNX Runtime did not start its WebGPU backend; choose WASM.');
    }
    const info = device.adapterInfo;
    const adapter = [info?.vendor, info?.architecture].filter(Boolean).join(' ');
    const notes = [adapter, software ? 'software, on the CPU' : ''].filter(Boolean).join(', ');
    detail = `WebGPU${notes === '' ? '' : ` (${notes})`}`;
  } else {
    detail = `WASM (${threads} thread${threads === 1 ? '' : 's'}${threads === 1 && !globalThis.crossOriginIsolated ? ': the page is not cross-origin isolated' : ''})`;
  }
  post({ type: 'loaded', id, backend, detail, loadMs });
}

/** The model's end-of-sequence ids, from config.json and generation_config.json. */
function endTokenIds(loaded: PreTrainedModel): Set<number> {
  const ids = new Set<number>();
  const add = (value: unknown) => {
    if (typeof value === 'number') ids.add(value);
    else if (Array.isArray(value)) for (const item of value) add(item);
  };
  add((loaded.config as { eos_token_id?: unknown }).eos_token_id);
  add((loaded.generation_config as { eos_token_id?: unknown } | null)?.eos_token_id);
  return ids;
}

function promptIds(text: string): number[] {
  const loaded = tokenizer as PreTrainedTokenizer;
  if (loaded.chat_template) {
    const rendered: unknown = loaded.apply_chat_template([{ role: 'user', content: text }], {
      add_generation_prompt: true,
      tokenize: true,
      return_tensor: false,
      return_dict: false,
    });
    if (Array.isArray(rendered)) return rendered.map(Number);
  }
  return loaded.encode(text);
}

async function generate(id: number, prompt: string, maxTokens: number): Promise<void> {
  const loadedModel = model as PreTrainedModel;
  const loadedTokenizer = tokenizer as PreTrainedTokenizer;
  // The clock starts before the chat template and tokenizer run, as a server's does when a
  // request arrives.
  const startedAtMs = performance.now();
  const ids = promptIds(prompt);
  const decoder = new TokenTextDecoder((tokens) =>
    tokens.length === 0
      ? ''
      : loadedTokenizer.decode(tokens as number[], { skip_special_tokens: true }),
  );
  const endTokens = endTokenIds(loadedModel);
  let endedByModel = false;
  let promptSeen = false;
  let tokens = 0;
  let firstTokenAtMs: number | undefined;
  let lastTokenAtMs: number | undefined;
  const streamer = {
    put(value: bigint[][]) {
      if (!promptSeen) {
        promptSeen = true;
        return;
      }
      const atMs = performance.now();
      for (const id of value[0] ?? []) {
        // The end-of-sequence token is not counted, as the server's engines do not count it.
        if (endTokens.has(Number(id))) {
          endedByModel = true;
          continue;
        }
        firstTokenAtMs ??= atMs;
        lastTokenAtMs = atMs;
        tokens += 1;
        const text = decoder.push(Number(id));
        if (text !== '') post({ type: 'text', text });
      }
    },
    end() {},
  };
  stopRequested = false;
  const length = ids.length;
  await loadedModel.generate({
    input_ids: new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, length]),
    attention_mask: new Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]),
    max_new_tokens: maxTokens,
    do_sample: false,
    repetition_penalty: 1,
    no_repeat_ngram_size: 0,
    stopping_criteria: [(batch: unknown[]) => batch.map(() => stopRequested)],
    streamer,
  } as unknown as Parameters<PreTrainedModel['generate']>[0]);
  const rest = decoder.flush();
  if (rest !== '') post({ type: 'text', text: rest });
  post({
    type: 'done',
    id,
    startedAtMs,
    firstTokenAtMs,
    lastTokenAtMs,
    tokens,
    promptTokens: length,
    finish: stopRequested ? 'aborted' : endedByModel || tokens < maxTokens ? 'stop' : 'length',
  });
}

async function handle(request: Exclude<WorkerRequest, { type: 'stop' }>): Promise<void> {
  if (request.type === 'probe') {
    post({ type: 'probe', id: request.id, webgpu: await probeWebGpu(), threads });
  } else if (request.type === 'load') {
    apiKey = request.apiKey;
    await load(request.id, request.model, request.backend, request.dtype);
  } else {
    if (model === undefined) throw new Error('No model is loaded.');
    await generate(request.id, request.prompt, request.maxTokens);
  }
}

scope.addEventListener('message', (event) => {
  const request = event.data;
  if (request.type === 'stop') {
    stopRequested = true;
    return;
  }
  if (busy) {
    post({
      type: 'error',
      id: request.id,
      message: 'The worker is busy: wait for the current step or stop it.',
    });
    return;
  }
  busy = true;
  handle(request)
    .catch((error: unknown) => post({ type: 'error', id: request.id, message: messageOf(error) }))
    .finally(() => {
      busy = false;
    });
});

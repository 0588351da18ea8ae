/**
 * The embedded ONNX Runtime engine: transformers.js (@huggingface/transformers) on
 * onnxruntime-node, for local model folders and Hugging Face repositories in the
 * transformers.js layout. The prompt is rendered with the model's own chat template;
 * tokens stream one by one from transformers.js' streamer hook, stamped as they are
 * produced; token choice (greedy or seeded sampling) is tandem's (see sampling.ts).
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers';
import {
  AbortedError,
  DownloadError,
  EngineUnavailableError,
  errorLine,
  InvalidArgumentError,
  TandemError,
} from '../../errors.js';
import { hostOf, networkReason } from '../../http/network-errors.js';
import {
  inspectOnnxModelFolder,
  type OnnxModelConfig,
  onnxModelFile,
  onnxWeightsSizeBytes,
} from '../../models/onnx/model-folder.js';
import type { OnnxLocation } from '../../models/resolve.js';
import type {
  ChatMessage,
  Clock,
  Engine,
  EngineInfo,
  FinishReason,
  GenerateRequest,
  LoadOptions,
  StreamPart,
} from '../spec.js';
import { StopSequenceMatcher } from '../stop-sequences.js';
import { defaultThreadCount, threadsFromEnvironment } from '../threads.js';
import { validateRequest } from '../validate-request.js';
import {
  checkOnnxDevice,
  ONNX_DTYPE_FILE_SUFFIX,
  ONNX_DTYPES,
  type OnnxDevice,
  type OnnxDtype,
  onnxDeviceSupport,
} from './onnx-devices.js';
import { createSamplingProcessor, samplingRandom } from './sampling.js';
import { TokenTextDecoder } from './token-text.js';

/** A local folder, or a Hugging Face repository to download. */
export type OnnxModelSource = OnnxLocation;

export interface OnnxEngineOptions {
  /** The reference the user gave (shown in results). */
  reference: string;
  /** The model's display name. */
  model: string;
  source: OnnxModelSource;
  /** Default cpu. */
  device?: OnnxDevice;
  /** Default: the folder's declared dtype (config.json transformers.js_config), else fp32 (q4 for a repository). */
  dtype?: OnnxDtype;
  /** onnxruntime intra-op threads; else TANDEM_THREADS; else physical cores capped by model size. */
  threads?: number;
  /** Known parameter count (demo models, catalog), for the default thread count and results. */
  parameterCount?: number;
  isDemo?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Where repositories are downloaded to (transformers.js' cache). */
  cacheDirectory?: string;
  /** For the reachability check of repositories (tests inject one). */
  fetch?: typeof fetch;
  reachabilityTimeoutMs?: number;
  /** Stamps each token as transformers.js hands it over; default performance.now. */
  clock?: Clock;
}

type Transformers = typeof import('@huggingface/transformers');

let transformersModule: Promise<Transformers> | undefined;

/** transformers.js, imported on first use (it loads onnxruntime's native library). */
function loadTransformers(): Promise<Transformers> {
  transformersModule ??= import('@huggingface/transformers').then((module) => {
    // Files come from where tandem says: a local folder, or the hub after tandem's own
    // reachability check. Nothing else reaches the network.
    module.env.allowLocalModels = true;
    module.env.allowRemoteModels = true;
    return module;
  });
  return transformersModule;
}

/** Package versions for results: transformers.js and the onnxruntime it runs on. */
async function engineVersion(transformers: Transformers): Promise<string> {
  const onnxruntime = await import('onnxruntime-node').catch(() => undefined);
  const runtimeVersion = onnxruntime?.env.versions.node ?? onnxruntime?.env.versions.common;
  return `transformers.js ${transformers.env.version}${runtimeVersion === undefined ? '' : ` · onnxruntime-node ${runtimeVersion}`}`;
}

const DEFAULT_REACHABILITY_TIMEOUT_MS = 5000;
const HUB_URL = 'https://huggingface.co';

/** One request at a time per model (one KV cache); the rest wait in order. */
class Turnstile {
  #busy = false;
  #waiting: (() => void)[] = [];
  #idle: (() => void) | undefined;

  get busy(): boolean {
    return this.#busy;
  }

  enter(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    if (!this.#busy) {
      this.#busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiting = this.#waiting.filter((other) => other !== waiter);
        reject(new AbortedError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  leave(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) {
      next();
      return;
    }
    this.#busy = false;
    this.#idle?.();
  }

  /** Resolves when no request runs. */
  idle(): Promise<void> {
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => (this.#idle = resolve));
  }
}

function endTokenIds(config: OnnxModelConfig | undefined, generation: unknown): Set<number> {
  const ids = new Set<number>();
  const add = (value: unknown) => {
    if (typeof value === 'number') ids.add(value);
    else if (Array.isArray(value)) for (const item of value) add(item);
  };
  add(config?.eos_token_id);
  add((generation as { eos_token_id?: unknown } | undefined)?.eos_token_id);
  return ids;
}

export class OnnxEngine implements Engine {
  readonly info: EngineInfo;
  readonly #options: OnnxEngineOptions;
  #loading: Promise<void> | undefined;
  #model: PreTrainedModel | undefined;
  #tokenizer: PreTrainedTokenizer | undefined;
  #endTokens = new Set<number>();
  #contextSize: number | undefined;
  readonly #turnstile = new Turnstile();
  #disposed = false;

  constructor(options: OnnxEngineOptions) {
    this.#options = options;
    this.info = {
      engine: 'onnx',
      reference: options.reference,
      model: options.model,
      modelPath: options.source.kind === 'folder' ? options.source.path : options.source.repository,
      ...(options.parameterCount === undefined ? {} : { parameterCount: options.parameterCount }),
      ...(options.isDemo === true ? { isDemo: true } : {}),
    };
  }

  async prepare(): Promise<void> {
    await loadTransformers();
  }

  load(options: LoadOptions = {}): Promise<void> {
    if (this.#disposed) return Promise.reject(new TandemError(`${this.info.model} was disposed.`));
    this.#loading ??= this.#load(options).catch((error: unknown) => {
      this.#loading = undefined;
      throw error;
    });
    return this.#loading;
  }

  async #load({ signal }: LoadOptions): Promise<void> {
    const device = this.#options.device ?? 'cpu';
    checkOnnxDevice(device);
    const { source } = this.#options;
    let dtype = this.#options.dtype;
    let location: string;
    let modelFile: string | undefined;
    if (source.kind === 'folder') {
      const folder = inspectOnnxModelFolder(source.path);
      const declared = (folder.config['transformers.js_config'] as { dtype?: unknown } | undefined)
        ?.dtype;
      dtype ??=
        typeof declared === 'string' && folder.dtypes.includes(declared as OnnxDtype)
          ? (declared as OnnxDtype)
          : folder.dtypes.includes('fp32')
            ? 'fp32'
            : (folder.dtypes[0] as OnnxDtype);
      modelFile = onnxModelFile(folder, dtype);
      location = source.path;
    } else {
      dtype ??= 'q4';
      location = source.repository;
      modelFile = this.#cachedHubFile(source.repository, dtype);
      // Downloaded before: run from the cache, with no network at all.
      if (modelFile === undefined) await this.#checkHubReachable(source.repository, signal);
    }
    const transformers = await loadTransformers();
    if (this.#options.cacheDirectory !== undefined) {
      transformers.env.cacheDir = this.#options.cacheDirectory;
    }
    const hubEndpoint = (this.#options.env ?? process.env).HF_ENDPOINT;
    transformers.env.remoteHost = `${(hubEndpoint ?? HUB_URL).replace(/\/$/, '')}/`;
    if (signal?.aborted) throw new AbortedError('Stopped while loading the model.');
    const env = this.#options.env ?? process.env;
    const threads =
      this.#options.threads ??
      threadsFromEnvironment(env) ??
      defaultThreadCount(this.#options.parameterCount);
    const localOnly = source.kind === 'folder' || modelFile !== undefined;
    let tokenizer: PreTrainedTokenizer;
    let model: PreTrainedModel;
    try {
      tokenizer = await transformers.AutoTokenizer.from_pretrained(location, {
        local_files_only: localOnly,
      });
    } catch (error) {
      throw new TandemError(
        `transformers.js could not read the tokenizer of ${location}: ${errorLine(error)}`,
        { cause: error },
      );
    }
    try {
      model = await transformers.AutoModelForCausalLM.from_pretrained(location, {
        device,
        dtype: dtype as OnnxDtype,
        local_files_only: localOnly,
        session_options: {
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
        },
      });
    } catch (error) {
      if (device !== 'cpu' && isDeviceFailure(error)) {
        const others = onnxDeviceSupport()
          .filter((entry) => entry.unavailable === undefined && entry.device !== device)
          .map((entry) => entry.device);
        throw new EngineUnavailableError(
          `Device ${device} is not available: ${onnxRuntimeReason(error)}. ${device === 'webgpu' ? 'WebGPU in Node needs a GPU adapter: on Linux a Vulkan driver (a software one: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json LD_LIBRARY_PATH=/usr/lib/chromium). ' : ''}Check the GPU driver, or use another device: ${others.join(', ')}.`,
          { cause: error },
        );
      }
      const advice =
        source.kind === 'folder'
          ? 'Check that the folder holds a complete transformers.js export and that there is enough free memory.'
          : `Check that ${location} is in the transformers.js layout and has onnx/model${ONNX_DTYPE_FILE_SUFFIX[dtype as OnnxDtype]}.onnx, or choose another --dtype (${ONNX_DTYPES.join(', ')}).`;
      throw new TandemError(
        `onnxruntime could not load ${modelFile ?? location} (${device}, ${dtype}): ${onnxRuntimeReason(error)}. ${advice}`,
        { cause: error },
      );
    }
    if (signal?.aborted) {
      await model.dispose();
      throw new AbortedError('Stopped while loading the model.');
    }
    this.#tokenizer = tokenizer;
    this.#model = model;
    // A repository just downloaded is in the cache now.
    if (modelFile === undefined && source.kind === 'hub') {
      modelFile = this.#cachedHubFile(source.repository, dtype as OnnxDtype);
    }
    const config = model.config as unknown as OnnxModelConfig;
    this.#endTokens = endTokenIds(config, model.generation_config);
    this.#contextSize =
      typeof config.max_position_embeddings === 'number'
        ? config.max_position_embeddings
        : undefined;
    Object.assign(this.info, {
      ...(modelFile === undefined
        ? {}
        : { weightsPath: modelFile, modelFileSizeBytes: onnxWeightsSizeBytes(modelFile) }),
      threads,
      gpu: `${device} ${dtype}`,
      device,
      dtype,
      ...(this.#contextSize === undefined ? {} : { contextSize: this.#contextSize }),
      sequences: 1,
      engineVersion: await engineVersion(transformers),
    } satisfies Partial<EngineInfo>);
  }

  /** The repository's model file for `dtype` in transformers.js' cache, when it was downloaded. */
  #cachedHubFile(repository: string, dtype: OnnxDtype): string | undefined {
    const cache = this.#options.cacheDirectory;
    if (cache === undefined) return undefined;
    const folder = join(cache, repository);
    const file = join(folder, 'onnx', `model${ONNX_DTYPE_FILE_SUFFIX[dtype]}.onnx`);
    const complete = ['config.json', 'tokenizer.json', 'tokenizer_config.json'].every((name) =>
      existsSync(join(folder, name)),
    );
    return complete && existsSync(file) ? file : undefined;
  }

  /** Offline, a repository fails here in seconds, not inside transformers.js' downloads. */
  async #checkHubReachable(repository: string, signal: AbortSignal | undefined): Promise<void> {
    const env = this.#options.env ?? process.env;
    const host = env.HF_ENDPOINT ?? HUB_URL;
    const url = `${host.replace(/\/$/, '')}/${repository}/resolve/main/config.json`;
    const timeoutMs = this.#options.reachabilityTimeoutMs ?? DEFAULT_REACHABILITY_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    const fetchImplementation = this.#options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      // The same credentials transformers.js sends, so a gated repository is judged alike.
      const token = env.HF_TOKEN ?? env.HF_ACCESS_TOKEN;
      response = await fetchImplementation(url, {
        method: 'HEAD',
        redirect: 'follow',
        signal: combined,
        ...(token === undefined || token === ''
          ? {}
          : { headers: { authorization: `Bearer ${token}` } }),
      });
    } catch (error) {
      if (signal?.aborted) throw new AbortedError('Stopped while loading the model.');
      const reason = timeout.aborted
        ? `no answer within ${timeoutMs / 1000} s`
        : networkReason(error);
      throw new DownloadError(
        `Cannot reach ${hostOf(url)} (${reason}): onnx:${repository} is downloaded on first use. Offline, give a local model folder (onnx:./path/to/folder) or use onnx:demo-slm.`,
        { cause: error },
      );
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status === 401 || response.status === 403) {
      throw new DownloadError(
        `${hostOf(url)} refused ${repository} (HTTP ${response.status}): the repository may be gated or private; accept its licence on huggingface.co and set HF_TOKEN.`,
      );
    }
    if (response.status === 404) {
      throw new DownloadError(
        `${repository} was not found on ${hostOf(url)} (HTTP 404): check the repository id (owner/name).`,
      );
    }
    if (!response.ok && response.status !== 405) {
      throw new DownloadError(
        `${hostOf(url)} answered HTTP ${response.status} for ${repository}: try again later.`,
      );
    }
  }

  async countTokens(text: string): Promise<number> {
    await this.load();
    return (this.#tokenizer as PreTrainedTokenizer).encode(text, { add_special_tokens: false })
      .length;
  }

  stream(request: GenerateRequest): AsyncIterable<StreamPart> {
    return { [Symbol.asyncIterator]: () => this.#generate(request) };
  }

  async *#generate(request: GenerateRequest): AsyncGenerator<StreamPart> {
    validateRequest(request);
    if (request.responseFormat !== undefined) {
      throw new InvalidArgumentError(
        'The onnx engine cannot constrain output to JSON (response_format): use the llama engine for grammar-enforced JSON.',
      );
    }
    await this.load(request.signal === undefined ? {} : { signal: request.signal });
    await this.#turnstile.enter(request.signal);
    try {
      if (this.#disposed) throw new TandemError(`${this.info.model} was disposed.`);
      // Stopped while it waited: no prompt evaluation for nobody.
      if (request.signal?.aborted) throw new AbortedError();
      // t0: loaded and our turn; the prompt is rendered and evaluated from here (as llama).
      yield { type: 'request-start', attempt: 1 };
      yield* this.#generateInTurn(request);
    } finally {
      this.#turnstile.leave();
    }
  }

  async *#generateInTurn(request: GenerateRequest): AsyncGenerator<StreamPart> {
    const model = this.#model as PreTrainedModel;
    const tokenizer = this.#tokenizer as PreTrainedTokenizer;
    const clock = this.#options.clock ?? (() => performance.now());
    let promptIds: number[];
    try {
      const rendered: unknown = tokenizer.apply_chat_template(toChatMessages(request.messages), {
        add_generation_prompt: true,
        tokenize: true,
        return_tensor: false,
        return_dict: false,
      });
      if (!Array.isArray(rendered)) throw new Error('the template gave no token ids');
      promptIds = rendered.map(Number);
    } catch (error) {
      throw new InvalidArgumentError(
        `${this.info.model}'s chat template could not render these messages: ${errorLine(error)}`,
        { cause: error },
      );
    }
    const contextSize = this.#contextSize ?? Number.POSITIVE_INFINITY;
    if (promptIds.length >= contextSize) {
      throw new InvalidArgumentError(
        `The prompt has ${promptIds.length} tokens but ${this.info.model}'s context holds ${contextSize}: shorten the prompt.`,
      );
    }
    const maxTokens = Math.min(
      request.maxTokens ?? Number.POSITIVE_INFINITY,
      contextSize - promptIds.length,
    );
    const signal = request.signal;

    const parts: StreamPart[] = [];
    let wake: (() => void) | undefined;
    const push = (part: StreamPart) => {
      parts.push(part);
      wake?.();
    };
    const decoder = new TokenTextDecoder((ids) =>
      ids.length === 0 ? '' : tokenizer.decode(ids as number[], { skip_special_tokens: true }),
    );
    const stopMatcher = new StopSequenceMatcher(request.stop ?? []);
    let generated = 0;
    // Set from the streamer callback, so not narrowed by the compiler.
    const outcome: { finishReason: FinishReason } = { finishReason: 'length' };
    let stopRequested = false;
    let promptSeen = false;
    let lastTokenAtMs: number | undefined;
    const streamer = {
      put: (value: bigint[][]) => {
        if (!promptSeen) {
          promptSeen = true;
          return;
        }
        const arrivedAtMs = clock();
        lastTokenAtMs = arrivedAtMs;
        const token = Number(value[0]?.[0]);
        if (stopRequested) return;
        if (this.#endTokens.has(token) && request.ignoreEos !== true) {
          outcome.finishReason = 'stop';
          stopRequested = true;
          return;
        }
        generated += 1;
        const pending = decoder.pendingTokens + 1;
        const text = stopMatcher.push(decoder.push(token));
        if (text.length > 0) push({ type: 'text-delta', text, tokenCount: pending, arrivedAtMs });
        if (stopMatcher.stopped) {
          outcome.finishReason = 'stop';
          stopRequested = true;
        }
      },
      end: () => undefined,
    };
    let done = maxTokens <= 0;
    let failure: unknown;
    const running = done
      ? Promise.resolve()
      : this.#runGenerate(model, promptIds, {
          maxTokens,
          request,
          streamer,
          shouldStop: () => stopRequested || signal?.aborted === true,
        }).then(
          () => {
            done = true;
            wake?.();
          },
          (error: unknown) => {
            failure = error;
            done = true;
            wake?.();
          },
        );
    try {
      while (true) {
        const part = parts.shift();
        if (part !== undefined) {
          yield part;
          continue;
        }
        if (done) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      // The consumer may stop early: let generation end at its next step.
      stopRequested = true;
      await running;
    }
    if (failure !== undefined) {
      if (signal?.aborted) throw new AbortedError();
      throw new TandemError(
        `onnxruntime failed while generating with ${this.info.model}: ${errorLine(failure)}`,
        { cause: failure },
      );
    }
    if (signal?.aborted && outcome.finishReason !== 'stop') outcome.finishReason = 'abort';
    // Text held back (an incomplete character, a possible stop sequence) belongs to tokens
    // already produced: it carries their time, not the time generation wound down.
    const heldTokens = decoder.pendingTokens;
    const rest = stopMatcher.push(decoder.flush()) + stopMatcher.flush();
    if (rest.length > 0) {
      yield {
        type: 'text-delta',
        text: rest,
        ...(heldTokens > 0 ? { tokenCount: heldTokens } : {}),
        ...(lastTokenAtMs === undefined ? {} : { arrivedAtMs: lastTokenAtMs }),
      };
    }
    yield {
      type: 'finish',
      finishReason: outcome.finishReason,
      usage: { inputTokens: promptIds.length, outputTokens: generated, reasoningTokens: undefined },
      usageSource: 'engine',
    };
  }

  #runGenerate(
    model: PreTrainedModel,
    promptIds: number[],
    settings: {
      maxTokens: number;
      request: GenerateRequest;
      streamer: { put(value: bigint[][]): void; end(): void };
      shouldStop: () => boolean;
    },
  ): Promise<unknown> {
    const { request, maxTokens } = settings;
    const length = promptIds.length;
    const inputIds = new BigInt64Array(promptIds.map((id) => BigInt(id)));
    const attentionMask = new BigInt64Array(length).fill(1n);
    return loadTransformers().then((transformers) =>
      model.generate({
        input_ids: new transformers.Tensor('int64', inputIds, [1, length]) as Tensor,
        attention_mask: new transformers.Tensor('int64', attentionMask, [1, length]) as Tensor,
        max_new_tokens: Number.isFinite(maxTokens) ? maxTokens : 1 << 30,
        do_sample: false,
        // The model's generation_config.json may ask for these; tandem's requests mean plain
        // decoding (as on the llama engine), so they are turned off explicitly.
        repetition_penalty: 1,
        no_repeat_ngram_size: 0,
        ...(request.ignoreEos === true && Number.isFinite(maxTokens)
          ? { min_new_tokens: maxTokens }
          : {}),
        logits_processor: [
          createSamplingProcessor({
            temperature: request.temperature ?? 0.8,
            topP: request.topP ?? 1,
            random: samplingRandom(request.seed),
          }),
        ],
        stopping_criteria: [(ids: unknown[]) => ids.map(() => settings.shouldStop())],
        streamer: settings.streamer,
      } as unknown as Parameters<PreTrainedModel['generate']>[0]),
    );
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#loading?.catch(() => undefined);
    await this.#turnstile.idle();
    await this.#model?.dispose();
    this.#model = undefined;
    this.#tokenizer = undefined;
  }
}

/**
 * Whether a session failed to start because of its execution provider (no adapter, missing
 * provider library, driver errors), not because of the model file.
 */
function isDeviceFailure(error: unknown): boolean {
  return /adapter|provider|webgpu|cuda|dml|directml|vulkan|driver|device/i.test(errorLine(error));
}

/**
 * onnxruntime's own message without its source location: "/onnxruntime_src/…cc:136 …
 * status == Success was false. Failed to get a WebGPU adapter" → "Failed to get a WebGPU adapter".
 */
export function onnxRuntimeReason(error: unknown): string {
  const line = errorLine(error);
  const afterCheck = line.split(/ was false\.\s*/).pop() ?? line;
  return (
    afterCheck
      .replace(/^\S*onnxruntime\S*:\d+\s+/, '')
      .replace(/\.$/, '')
      .trim() || line
  );
}

function toChatMessages(messages: readonly ChatMessage[]): { role: string; content: string }[] {
  return messages.map((message) => ({ role: message.role, content: message.content }));
}

/** Where transformers.js keeps downloaded repositories under tandem's models cache. */
export function onnxCacheDirectory(modelsDirectory: string): string {
  return join(modelsDirectory, 'onnx');
}

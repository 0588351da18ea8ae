import type {
  ChatHistoryItem,
  ChatWrapper,
  LlamaContext,
  LlamaContextSequence,
  LlamaModel,
  Token,
} from 'node-llama-cpp';
import { resolveChatWrapper, TokenBias } from 'node-llama-cpp';
import { AbortedError, errorLine, InvalidArgumentError, TandemError } from '../../errors.js';
import { validateGgufForLlama } from '../../models/gguf/validate.js';
import type {
  ChatMessage,
  Engine,
  EngineInfo,
  FinishReason,
  GenerateRequest,
  LoadOptions,
  StreamPart,
} from '../spec.js';
import { StopSequenceMatcher } from '../stop-sequences.js';
import {
  acquireModel,
  describeGpu,
  type GpuChoice,
  getLlamaRuntime,
  nodeLlamaCppVersion,
  releaseModel,
} from './llama-runtime.js';
import { defaultThreadCount, threadsFromEnvironment } from './threads.js';

export interface LlamaEngineOptions {
  /** The reference the user gave (shown in results). */
  reference: string;
  /** The model's display name. */
  model: string;
  modelPath: string;
  /** Explicit thread count; else TANDEM_THREADS; else physical cores capped by model size. */
  threads?: number;
  gpu?: GpuChoice;
  /** Context window in tokens per sequence; default min(trained context, 4096). */
  contextSize?: number;
  /**
   * Sequences in the context: how many requests run at once (batched together by llama.cpp).
   * Each one has its own KV cache. Default 1: requests wait for the one sequence.
   */
  sequences?: number;
  isDemo?: boolean;
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_CONTEXT_SIZE = 4096;
/** A delta holding a partial UTF-8 character waits for at most this many more tokens. */
const MAX_PENDING_TOKENS = 8;

function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  for (const message of messages) {
    if (message.role === 'system') history.push({ type: 'system', text: message.content });
    else if (message.role === 'assistant')
      history.push({ type: 'model', response: [message.content] });
    else history.push({ type: 'user', text: message.content });
  }
  // An empty model turn at the end makes the template add the generation prompt.
  history.push({ type: 'model', response: [] });
  return history;
}

/**
 * The embedded llama.cpp engine (node-llama-cpp). The prompt is rendered with the model's
 * own chat template; generation is a plain token loop on one context sequence, so the
 * engine adds as little as possible on top of llama.cpp's decode.
 */
export class LlamaEngine implements Engine {
  readonly info: EngineInfo;
  readonly #options: LlamaEngineOptions;
  #loading: Promise<void> | undefined;
  #model: LlamaModel | undefined;
  #context: LlamaContext | undefined;
  /** Sequences not serving a request now. */
  #freeSequences: LlamaContextSequence[] = [];
  /** Requests waiting for a sequence, first come first served. */
  #waiting: ((sequence: LlamaContextSequence) => void)[] = [];
  #active = 0;
  #idle: (() => void) | undefined;
  #chatWrapper: ChatWrapper | undefined;
  #disposed = false;

  constructor(options: LlamaEngineOptions) {
    this.#options = options;
    this.info = {
      engine: 'llama',
      reference: options.reference,
      model: options.model,
      modelPath: options.modelPath,
      engineVersion: `node-llama-cpp ${nodeLlamaCppVersion}`,
      ...(options.isDemo === true ? { isDemo: true } : {}),
    };
  }

  async prepare(): Promise<void> {
    await getLlamaRuntime(this.#options.gpu ?? 'auto');
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
    const { modelPath } = this.#options;
    const summary = await validateGgufForLlama(modelPath);
    const env = this.#options.env ?? process.env;
    const threads =
      this.#options.threads ??
      threadsFromEnvironment(env) ??
      defaultThreadCount(summary.parameterCount);
    const gpu = this.#options.gpu ?? 'auto';
    const contextSize = Math.min(
      this.#options.contextSize ?? DEFAULT_CONTEXT_SIZE,
      summary.contextLength ?? DEFAULT_CONTEXT_SIZE,
    );
    const llama = await getLlamaRuntime(gpu);
    let model: LlamaModel;
    try {
      model = await acquireModel(llama, gpu, modelPath, signal);
    } catch (error) {
      if (signal?.aborted) throw new AbortedError('Stopped while loading the model.');
      throw new TandemError(
        `llama.cpp could not load ${modelPath}: ${errorLine(error)}. Check that the file is a complete GGUF and that there is enough free memory.`,
        { cause: error },
      );
    }
    try {
      this.#context = await model.createContext({
        contextSize,
        threads,
        sequences: this.#options.sequences ?? 1,
        ...(signal === undefined ? {} : { createSignal: signal }),
      });
    } catch (error) {
      await releaseModel(gpu, modelPath);
      if (signal?.aborted) throw new AbortedError('Stopped while loading the model.');
      throw new TandemError(
        `llama.cpp could not create a ${contextSize}-token context for ${this.info.model}: ${errorLine(error)}. Try a smaller --ctx.`,
        { cause: error },
      );
    }
    this.#model = model;
    const context = this.#context;
    this.#freeSequences = Array.from({ length: context.totalSequences }, () =>
      context.getSequence(),
    );
    this.#chatWrapper = resolveChatWrapper(model);
    Object.assign(this.info, {
      modelFileSizeBytes: summary.fileSizeBytes,
      parameterCount: summary.parameterCount,
      threads,
      gpu: describeGpu(llama),
      contextSize: this.#context.contextSize,
      sequences: this.#context.totalSequences,
    } satisfies Partial<EngineInfo>);
  }

  async countTokens(text: string): Promise<number> {
    await this.load();
    return (this.#model as LlamaModel).tokenize(text, false).length;
  }

  stream(request: GenerateRequest): AsyncIterable<StreamPart> {
    return { [Symbol.asyncIterator]: () => this.#generate(request) };
  }

  async *#generate(request: GenerateRequest): AsyncGenerator<StreamPart> {
    validateRequest(request);
    await this.load(request.signal === undefined ? {} : { signal: request.signal });
    const sequence = await this.#acquireSequence(request.signal);
    try {
      // t0: loaded, a sequence is ours, the prompt is about to be rendered and evaluated.
      yield { type: 'request-start', attempt: 1 };
      yield* this.#generateOnSequence(request, sequence);
    } finally {
      this.#releaseSequence(sequence);
    }
  }

  #acquireSequence(signal: AbortSignal | undefined): Promise<LlamaContextSequence> {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    this.#active += 1;
    const free = this.#freeSequences.pop();
    if (free !== undefined) return Promise.resolve(free);
    return new Promise((resolve, reject) => {
      const waiter = (sequence: LlamaContextSequence) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(sequence);
      };
      const onAbort = () => {
        this.#waiting = this.#waiting.filter((other) => other !== waiter);
        this.#active -= 1;
        this.#notifyIdle();
        reject(new AbortedError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #releaseSequence(sequence: LlamaContextSequence): void {
    this.#active -= 1;
    const next = this.#waiting.shift();
    if (next !== undefined) {
      // The waiter was counted as active when it asked.
      next(sequence);
    } else {
      this.#freeSequences.push(sequence);
    }
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (this.#active === 0) this.#idle?.();
  }

  async *#generateOnSequence(
    request: GenerateRequest,
    sequence: LlamaContextSequence,
  ): AsyncGenerator<StreamPart> {
    const model = this.#model as LlamaModel;
    const chatWrapper = this.#chatWrapper as ChatWrapper;
    const { contextText } = chatWrapper.generateContextState({
      chatHistory: toChatHistory(request.messages),
    });
    const promptTokens = contextText.tokenize(model.tokenizer);
    const contextSize = sequence.contextSize;
    if (promptTokens.length >= contextSize) {
      throw new InvalidArgumentError(
        `The prompt has ${promptTokens.length} tokens but ${this.info.model}'s context holds ${contextSize}: shorten the prompt or raise --ctx.`,
      );
    }
    const maxTokens = Math.min(
      request.maxTokens ?? Number.POSITIVE_INFINITY,
      contextSize - promptTokens.length,
    );
    // Every request starts from an empty cache: no prefix reuse between requests.
    await sequence.clearHistory();

    const stopMatcher = new StopSequenceMatcher(request.stop ?? []);
    const signal = request.signal;
    let generated = 0;
    let finishReason: FinishReason = 'length';
    let pending: Token[] = [];
    const recent: Token[] = [];
    const temperature = request.temperature ?? 0.8;

    if (maxTokens > 0) {
      const tokens = sequence.evaluate(promptTokens, {
        temperature,
        ...(request.ignoreEos === true ? { tokenBias: this.#neverEndBias(model) } : {}),
        ...(request.topP === undefined ? {} : { topP: request.topP }),
        ...(request.seed === undefined ? {} : { seed: request.seed }),
      });
      for await (const token of tokens) {
        if (model.isEogToken(token)) {
          finishReason = 'stop';
          break;
        }
        generated += 1;
        pending.push(token);
        const text = model.detokenize(pending, false, recent.slice(-MAX_PENDING_TOKENS));
        if (!text.endsWith('\uFFFD') || pending.length >= MAX_PENDING_TOKENS) {
          const safe = stopMatcher.push(text);
          if (safe.length > 0) yield { type: 'text-delta', text: safe, tokenCount: pending.length };
          recent.push(...pending);
          if (recent.length > 4 * MAX_PENDING_TOKENS)
            recent.splice(0, recent.length - MAX_PENDING_TOKENS);
          pending = [];
        }
        if (stopMatcher.stopped) {
          finishReason = 'stop';
          break;
        }
        if (signal?.aborted) {
          finishReason = 'abort';
          break;
        }
        if (generated >= maxTokens) break;
      }
    }
    const tail =
      pending.length > 0 ? model.detokenize(pending, false, recent.slice(-MAX_PENDING_TOKENS)) : '';
    const rest = stopMatcher.push(tail) + stopMatcher.flush();
    if (rest.length > 0) yield { type: 'text-delta', text: rest, tokenCount: pending.length };
    yield {
      type: 'finish',
      finishReason,
      usage: {
        inputTokens: promptTokens.length,
        outputTokens: generated,
        reasoningTokens: undefined,
      },
      usageSource: 'engine',
    };
  }

  /** A bias that never samples an end-of-generation token (for ignoreEos). */
  #neverEndBias(model: LlamaModel): TokenBias {
    const bias = new TokenBias(model.tokenizer);
    for (const token of [model.tokens.eos, model.tokens.eot]) {
      if (token !== null) bias.set(token, 'never');
    }
    return bias;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#loading?.catch(() => undefined);
    // Never free the context under a generation that is still evaluating.
    if (this.#active > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    if (this.#context !== undefined) {
      await this.#context.dispose();
      this.#context = undefined;
      await releaseModel(this.#options.gpu ?? 'auto', this.#options.modelPath);
    }
    this.#model = undefined;
    this.#freeSequences = [];
  }
}

function validateRequest(request: GenerateRequest): void {
  if (request.messages.length === 0) {
    throw new InvalidArgumentError('The request has no messages: give a prompt.');
  }
  if (
    request.maxTokens !== undefined &&
    (!Number.isInteger(request.maxTokens) || request.maxTokens < 0)
  ) {
    throw new InvalidArgumentError(
      `Invalid maxTokens ${request.maxTokens}: expected a whole number ≥ 0.`,
    );
  }
}

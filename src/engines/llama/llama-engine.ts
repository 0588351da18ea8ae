import type {
  ChatHistoryItem,
  ChatWrapper,
  GbnfJsonSchema,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaGrammar,
  LlamaModel,
  Token,
} from 'node-llama-cpp';
import {
  isLlamaText,
  LlamaGrammarEvaluationState,
  resolveChatWrapper,
  TokenBias,
} from 'node-llama-cpp';
import { AbortedError, errorLine, InvalidArgumentError, TandemError } from '../../errors.js';
import { validateGgufForLlama } from '../../models/gguf/validate.js';
import type {
  ChatMessage,
  EmbedRequest,
  EmbedResult,
  Engine,
  EngineInfo,
  FinishReason,
  GenerateRequest,
  LoadOptions,
  ResponseFormat,
  StreamPart,
} from '../spec.js';
import { StopSequenceMatcher } from '../stop-sequences.js';
import { defaultThreadCount, threadsFromEnvironment } from '../threads.js';
import { validateRequest } from '../validate-request.js';
import { grammarJsonSchema, UnsupportedJsonSchemaError } from './json-schema-grammar.js';
import {
  acquireModel,
  describeGpu,
  type GpuChoice,
  getLlamaRuntime,
  type LlamaBuffer,
  nodeLlamaCppVersion,
  onLlamaBuffer,
  releaseModel,
} from './llama-runtime.js';

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
  /** A shape twin: the catalog alias whose architecture it has (random weights). */
  twinOf?: string;
  parameterCount?: number;
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
  /** Grammars for response formats, by schema JSON (`json` for any object); built once. */
  readonly #grammars = new Map<string, Promise<LlamaGrammar>>();
  /** The embedding context (a second llama.cpp context), created by the first embed(). */
  #embedding: Promise<LlamaEmbeddingContext> | undefined;

  constructor(options: LlamaEngineOptions) {
    this.#options = options;
    this.info = {
      engine: 'llama',
      reference: options.reference,
      model: options.model,
      modelPath: options.modelPath,
      engineVersion: `node-llama-cpp ${nodeLlamaCppVersion}`,
      ...(options.isDemo === true ? { isDemo: true } : {}),
      ...(options.twinOf === undefined ? {} : { twinOf: options.twinOf }),
      ...(options.parameterCount === undefined ? {} : { parameterCount: options.parameterCount }),
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
    const buffers: LlamaBuffer[] = [];
    const stopListening = onLlamaBuffer((buffer) => buffers.push(buffer));
    try {
      await this.#loadModelAndContext(llama, gpu, modelPath, contextSize, threads, signal);
      // llama.cpp's log reaches JavaScript through a queue: let the last lines arrive.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      stopListening();
    }
    if (buffers.length > 0) this.info.memoryBuffers = buffers;
    Object.assign(this.info, {
      modelFileSizeBytes: summary.fileSizeBytes,
      parameterCount: summary.parameterCount,
      threads,
      gpu: describeGpu(llama),
      contextSize: (this.#context as LlamaContext).contextSize,
      sequences: (this.#context as LlamaContext).totalSequences,
    } satisfies Partial<EngineInfo>);
  }

  async #loadModelAndContext(
    llama: Llama,
    gpu: GpuChoice,
    modelPath: string,
    contextSize: number,
    threads: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
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
    // Before loading: a schema the grammar cannot enforce is refused at once.
    const grammar =
      request.responseFormat === undefined
        ? undefined
        : await this.#grammarFor(request.responseFormat);
    await this.load(request.signal === undefined ? {} : { signal: request.signal });
    const sequence = await this.#acquireSequence(request.signal);
    try {
      // t0: loaded, a sequence is ours, the prompt is about to be rendered and evaluated.
      yield { type: 'request-start', attempt: 1 };
      yield* this.#generateOnSequence(request, sequence, grammar);
    } finally {
      this.#releaseSequence(sequence);
    }
  }

  /** The grammar for a response format, built once per schema (by its JSON text). */
  #grammarFor(format: ResponseFormat): Promise<LlamaGrammar> {
    const key = format.type === 'json_object' ? 'json' : `schema:${JSON.stringify(format.schema)}`;
    let grammar = this.#grammars.get(key);
    if (grammar === undefined) {
      grammar = this.#createGrammar(format);
      this.#grammars.set(key, grammar);
      grammar.catch(() => this.#grammars.delete(key));
    }
    return grammar;
  }

  async #createGrammar(format: ResponseFormat): Promise<LlamaGrammar> {
    const llama = await getLlamaRuntime(this.#options.gpu ?? 'auto');
    if (format.type === 'json_object') return llama.getGrammarFor('json');
    let schema: GbnfJsonSchema;
    try {
      schema = grammarJsonSchema(format.schema);
    } catch (error) {
      if (!(error instanceof UnsupportedJsonSchemaError)) throw error;
      throw new InvalidArgumentError(
        `The JSON schema '${format.name}' uses ${error.message}, which the llama engine cannot enforce: simplify the schema.`,
      );
    }
    try {
      return await llama.createGrammarForJsonSchema<GbnfJsonSchema>(schema);
    } catch (error) {
      throw new InvalidArgumentError(
        `The JSON schema '${format.name}' cannot be turned into a llama.cpp grammar: ${errorLine(error)}`,
        { cause: error },
      );
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
    grammar: LlamaGrammar | undefined,
  ): AsyncGenerator<StreamPart> {
    const model = this.#model as LlamaModel;
    const chatWrapper = this.#chatWrapper as ChatWrapper;
    const { contextText } = chatWrapper.generateContextState({
      chatHistory: toChatHistory(request.messages),
    });
    const promptTokens = contextText.tokenize(model.tokenizer);
    // node-llama-cpp's chat wrappers start with BOS; a model whose GGUF says not to add one
    // (tokenizer.ggml.add_bos_token = false, like the demo models) gets none, as in
    // llama-server and in the model's own template.
    if (!model.tokens.shouldPrependBosToken && promptTokens[0] === model.tokens.bos) {
      promptTokens.shift();
    }
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

    // A grammar's stop triggers (node-llama-cpp's JSON-schema grammars end with four newlines
    // that the model must write) stop generation like stop sequences, and are not shown.
    const stopMatcher = new StopSequenceMatcher([
      ...(request.stop ?? []),
      ...grammarStopTexts(grammar),
    ]);
    const trailing = grammar?.trimWhitespaceSuffix === true ? new TrailingWhitespace() : undefined;
    // One grammar state per request: it follows the tokens this answer has sampled.
    const grammarState =
      grammar === undefined ? undefined : new LlamaGrammarEvaluationState({ model, grammar });
    const signal = request.signal;
    let generated = 0;
    let finishReason: FinishReason = 'length';
    let pending: Token[] = [];
    const recent: Token[] = [];
    const temperature = request.temperature ?? 0.8;

    if (maxTokens > 0) {
      const tokens = sequence.evaluate(promptTokens, {
        temperature,
        // The end token is yielded (not swallowed), so a natural end reports 'stop'.
        yieldEogToken: true,
        // A complete grammar allows only an end token: ignoreEos cannot be honoured then.
        ...(request.ignoreEos === true && grammarState === undefined
          ? { tokenBias: this.#neverEndBias(model) }
          : {}),
        ...(grammarState === undefined ? {} : { grammarEvaluationState: grammarState }),
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
          const shown = trailing === undefined ? safe : trailing.push(safe);
          if (shown.length > 0)
            yield { type: 'text-delta', text: shown, tokenCount: pending.length };
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
    let rest = stopMatcher.push(tail) + stopMatcher.flush();
    // Whitespace after a grammar's answer is dropped when it ended; a cut-off answer keeps it.
    if (trailing !== undefined) {
      rest = trailing.push(rest) + (finishReason === 'stop' ? '' : trailing.flush());
    }
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

  /**
   * Embedding vectors from the model's embedding context (created on first use with the
   * engine's context size and threads), one input at a time, in order.
   */
  async embed(request: EmbedRequest): Promise<EmbedResult> {
    const { inputs, signal } = request;
    if (signal?.aborted) throw new AbortedError();
    if (inputs.length === 0) return { embeddings: [], promptTokens: 0 };
    await this.load(signal === undefined ? {} : { signal });
    if (this.#disposed) throw new TandemError(`${this.info.model} was disposed.`);
    // Counted as active so that dispose() waits for it.
    this.#active += 1;
    try {
      const model = this.#model as LlamaModel;
      const contextSize = this.#context?.contextSize ?? DEFAULT_CONTEXT_SIZE;
      const context = await this.#embeddingContext(model, contextSize);
      let promptTokens = 0;
      for (const [index, text] of inputs.entries()) {
        const tokens = model.tokenize(text).length;
        if (tokens === 0) {
          throw new InvalidArgumentError(`Input ${index + 1} is empty: there is nothing to embed.`);
        }
        const length = context.calculateInputLength(text);
        if (length >= contextSize) {
          throw new InvalidArgumentError(
            `Input ${index + 1} has ${length} tokens but ${this.info.model}'s embedding context holds ${contextSize}: shorten it or raise --ctx.`,
          );
        }
        promptTokens += tokens;
      }
      const embeddings: number[][] = [];
      for (const [index, text] of inputs.entries()) {
        if (signal?.aborted) throw new AbortedError();
        try {
          embeddings.push(Array.from((await context.getEmbeddingFor(text)).vector));
        } catch (error) {
          throw new TandemError(
            `llama.cpp could not embed input ${index + 1} with ${this.info.model}: ${errorLine(error)}`,
            { cause: error },
          );
        }
      }
      return { embeddings, promptTokens };
    } finally {
      this.#active -= 1;
      this.#notifyIdle();
    }
  }

  #embeddingContext(model: LlamaModel, contextSize: number): Promise<LlamaEmbeddingContext> {
    const threads = this.info.threads;
    this.#embedding ??= model
      .createEmbeddingContext({ contextSize, ...(threads === undefined ? {} : { threads }) })
      .catch((error: unknown) => {
        this.#embedding = undefined;
        throw new TandemError(
          `llama.cpp could not create a ${contextSize}-token embedding context for ${this.info.model}: ${errorLine(error)}. Try a smaller --ctx.`,
          { cause: error },
        );
      });
    return this.#embedding;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#loading?.catch(() => undefined);
    // Never free the context under a generation that is still evaluating.
    if (this.#active > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    const embedding = await this.#embedding?.catch(() => undefined);
    this.#embedding = undefined;
    await embedding?.dispose();
    this.#grammars.clear();
    if (this.#context !== undefined) {
      await this.#context.dispose();
      this.#context = undefined;
      await releaseModel(this.#options.gpu ?? 'auto', this.#options.modelPath);
    }
    this.#model = undefined;
    this.#freeSequences = [];
  }
}

/** A grammar's stop triggers as text (node-llama-cpp's built-in grammars use plain text). */
function grammarStopTexts(grammar: LlamaGrammar | undefined): string[] {
  if (grammar === undefined) return [];
  const texts: string[] = [];
  for (const trigger of grammar.stopGenerationTriggers) {
    const values =
      typeof trigger === 'string' ? [trigger] : isLlamaText(trigger) ? trigger.values : trigger;
    if (values.every((value) => typeof value === 'string')) texts.push(values.join(''));
  }
  return texts;
}

/** Holds back whitespace at the end of the text so far, to drop it if the answer ends there. */
class TrailingWhitespace {
  #held = '';

  /** Adds text; returns what can be shown now (everything up to its trailing whitespace). */
  push(text: string): string {
    const combined = this.#held + text;
    const shown = combined.trimEnd();
    this.#held = combined.slice(shown.length);
    return shown;
  }

  flush(): string {
    const held = this.#held;
    this.#held = '';
    return held;
  }
}

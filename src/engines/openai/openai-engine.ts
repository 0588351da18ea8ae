/**
 * The `openai` engine: any OpenAI-compatible HTTP server (Foundry Local, Ollama,
 * llama-server, LM Studio, vLLM...). It streams POST {baseUrl}/chat/completions as SSE and
 * turns the chunks into stream parts, each stamped `arrivedAtMs` with the injected clock
 * the moment its bytes arrived, before parsing.
 *
 * Requests go through tandem's own HTTP/1.1 client (http-client.ts), or through `fetch` when
 * one is injected. t0 (the `request-start` part) is taken just before the request's bytes
 * are written, after its connection is established.
 *
 * What each timeout measures:
 * - connectTimeoutMs: establishing a TCP (and TLS) connection: probed once by load(), and
 *   for every new connection a request opens (with an injected fetch, its own limit applies:
 *   undici's is 10 s); either is reported as TimeoutError('connect').
 * - firstByteTimeoutMs: from just before the request is sent until the first byte of the
 *   response body (headers included): connection, queueing, model load, prompt processing.
 * - idleTimeoutMs: while the engine waits for more bytes after the first; any bytes (a
 *   `: ping` comment too) end the wait. Time the consumer spends between parts is not counted.
 */
import { setMaxListeners } from 'node:events';
import { AbortedError, ApiCallError, InvalidArgumentError } from '../../errors.js';
import { AttemptWatch } from '../../http/attempt-watch.js';
import { type ConnectProbe, tcpConnectProbe } from '../../http/connect-probe.js';
import { createFetchHttpClient } from '../../http/fetch-http-client.js';
import { createHttpClient, type HttpClient } from '../../http/http-client.js';
import { raceAbort } from '../../http/race-abort.js';
import {
  isRetryableError,
  type RetryPolicy,
  resolveRetryPolicy,
  retryDelayMs,
} from '../../http/retry-policy.js';
import { defaultSleep, type Sleep } from '../../http/sleep.js';
import type {
  Clock,
  EmbedRequest,
  EmbedResult,
  Engine,
  EngineInfo,
  GenerateRequest,
  LoadOptions,
  StreamPart,
} from '../spec.js';
import { readEventStream, readWholeResponse } from './chat-completion-readers.js';
import { requestBody } from './chat-completion-request.js';
import { parseEmbeddings, postForJson } from './embeddings.js';
import { listModelIds, probeServer } from './endpoint-probing.js';
import { ErrorMapping } from './error-mapping.js';
import { type ModelIdResolution, resolveModelId } from './model-id-resolution.js';
import {
  type BaseUrlSource,
  type CommandRunner,
  createProcessCommandRunner,
  type PresetName,
  presets,
  resolvePresetBaseUrl,
} from './presets.js';
import { RequestAttempts } from './request-attempts.js';

export interface OpenAIEngineOptions {
  /** Alias or server id, e.g. `phi-4-mini` (resolved through GET /models) or `phi4-mini:latest`. */
  model: string;
  /** …/v1. Optional with a preset that has a default (or discovers it, as `foundry` does). */
  baseUrl?: string;
  preset?: PresetName;
  /** The reference the user gave; default `preset:model` or `model`. */
  reference?: string;
  apiKey?: string;
  /** Extra request headers. */
  headers?: Readonly<Record<string, string>>;
  /** false: one non-streaming request (BENCH_STREAM=0). Default true. */
  stream?: boolean;
  /** Ask for the usage chunk (stream_options.include_usage). Default true. */
  includeUsage?: boolean;
  /** Resolve the model alias through GET {baseUrl}/models in load(). Default true. */
  resolveModelAlias?: boolean;
  /** Send requests with this fetch instead of tandem's own HTTP/1.1 client. */
  fetch?: typeof fetch;
  /** Monotonic clock for `arrivedAtMs`. Default performance.now. */
  clock?: Clock;
  /** Wall clock in epoch ms, for Retry-After dates. Default Date.now. */
  wallClock?: () => number;
  /** Random numbers in [0, 1) for backoff jitter. Default Math.random. */
  random?: () => number;
  /** Waits between retries. Default setTimeout, cut short by the request's signal. */
  sleep?: Sleep;
  /** TCP reachability check in load(), bounded by connectTimeoutMs; false: none. */
  connectProbe?: ConnectProbe | false;
  /** Runs `foundry service status` for the foundry preset. Default child_process. */
  runCommand?: CommandRunner;
  /** RETRY_ON_FAIL, RETRY_BACKOFF, FOUNDRY_LOCAL_ENDPOINT. Default process.env. */
  environment?: Readonly<Record<string, string | undefined>>;
  /** Default 10 000. */
  connectTimeoutMs?: number;
  /** Default 120 000 (a cold server may load a model first). */
  firstByteTimeoutMs?: number;
  /** Default 60 000. */
  idleTimeoutMs?: number;
  /** Default 2, or 0 with RETRY_ON_FAIL=0. Options win over the environment. */
  maxRetries?: number;
  /** Base of the exponential backoff; default 500, or RETRY_BACKOFF seconds. */
  retryBackoffMs?: number;
  /** Cap on a server's Retry-After; default 60 000. */
  maxRetryAfterMs?: number;
}

export interface OpenAIEngine extends Engine {
  /** How the model alias was matched to a server id; undefined before load() or without a list. */
  readonly modelResolution: ModelIdResolution | undefined;
  /** Where the base URL came from (undefined before it is known). */
  readonly baseUrlSource: BaseUrlSource | undefined;
  /** POST {baseUrl}/embeddings: every OpenAI-compatible server has the route (it may refuse). */
  embed(request: EmbedRequest): Promise<EmbedResult>;
}

/** undici's default TCP connect timeout, used by Node's fetch. */
const fetchConnectTimeoutMs = 10_000;

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive number of milliseconds.`);
  }
  return value;
}

/**
 * The engine's dispose() signal: every request in flight listens to it, so a bench at high
 * concurrency adds hundreds of listeners; that is expected, not a leak.
 */
function newDisposalController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

class OpenAICompatibleEngine implements OpenAIEngine {
  readonly #options: OpenAIEngineOptions;
  readonly #http: HttpClient;
  readonly #errors: ErrorMapping;
  readonly #attempts: RequestAttempts;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #sleep: Sleep;
  readonly #connectProbe: ConnectProbe | undefined;
  readonly #environment: Readonly<Record<string, string | undefined>>;
  readonly #retryPolicy: RetryPolicy;
  readonly #streaming: boolean;
  readonly #disposal = newDisposalController();
  #baseUrl: string | undefined;
  #baseUrlSource: BaseUrlSource | undefined;
  #resolution: ModelIdResolution | undefined;
  #resolvedModelId: string | undefined;
  #loading: Promise<void> | undefined;

  constructor(options: OpenAIEngineOptions) {
    if (options.model.trim() === '') throw new InvalidArgumentError('A model name is needed.');
    if (options.baseUrl === undefined && options.preset === undefined) {
      throw new InvalidArgumentError(
        `The server's base URL is needed for model '${options.model}', e.g. http://localhost:8000/v1.`,
      );
    }
    if (options.preset !== undefined && !Object.hasOwn(presets, options.preset)) {
      throw new InvalidArgumentError(
        `Unknown server preset '${options.preset}'. Use one of: ${Object.keys(presets).join(', ')}.`,
      );
    }
    if (options.baseUrl === undefined && options.preset === 'openai') {
      throw new InvalidArgumentError(
        "The 'openai' preset needs a base URL, e.g. http://localhost:8000/v1.",
      );
    }
    this.#options = options;
    this.#clock = options.clock ?? (() => performance.now());
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#connectProbe =
      options.connectProbe === false ? undefined : (options.connectProbe ?? tcpConnectProbe);
    this.#environment = options.environment ?? process.env;
    const retryOptions: Parameters<typeof resolveRetryPolicy>[0] = {
      environment: this.#environment,
    };
    if (options.maxRetries !== undefined) retryOptions.maxRetries = options.maxRetries;
    if (options.retryBackoffMs !== undefined) retryOptions.retryBackoffMs = options.retryBackoffMs;
    if (options.maxRetryAfterMs !== undefined)
      retryOptions.maxRetryAfterMs = options.maxRetryAfterMs;
    this.#retryPolicy = resolveRetryPolicy(retryOptions);
    const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? 10_000);
    const firstByteTimeoutMs = positive(
      'firstByteTimeoutMs',
      options.firstByteTimeoutMs ?? 120_000,
    );
    const idleTimeoutMs = positive('idleTimeoutMs', options.idleTimeoutMs ?? 60_000);
    // The limit on a request's own TCP connection.
    let requestConnectTimeoutMs: number;
    if (options.fetch === undefined) {
      this.#http = createHttpClient({
        clock: this.#clock,
        connectTimeoutMs,
      });
      requestConnectTimeoutMs = connectTimeoutMs;
    } else {
      this.#http = createFetchHttpClient(options.fetch, this.#clock);
      requestConnectTimeoutMs = fetchConnectTimeoutMs;
    }
    this.#errors = new ErrorMapping({
      preset: options.preset,
      baseUrl: () => this.#baseUrl,
      disposalSignal: this.#disposal.signal,
      requestConnectTimeoutMs,
      wallClock: options.wallClock ?? Date.now,
    });
    this.#streaming = options.stream ?? true;
    this.#attempts = new RequestAttempts({
      http: this.#http,
      errors: this.#errors,
      clock: this.#clock,
      disposalSignal: this.#disposal.signal,
      connectTimeoutMs,
      firstByteTimeoutMs,
      idleTimeoutMs,
      streaming: this.#streaming,
      apiKey: options.apiKey,
      headers: options.headers,
    });
    if (options.baseUrl !== undefined) {
      this.#baseUrl = this.#normalizeBaseUrl(options.baseUrl);
      this.#baseUrlSource = 'option';
    }
  }

  get info(): EngineInfo {
    const options = this.#options;
    const info: EngineInfo = {
      engine: 'openai',
      reference:
        options.reference ??
        (options.preset !== undefined ? `${options.preset}:${options.model}` : options.model),
      model: options.model,
    };
    if (this.#resolvedModelId !== undefined) info.resolvedModelId = this.#resolvedModelId;
    if (this.#baseUrl !== undefined) info.baseUrl = this.#baseUrl;
    if (options.preset !== undefined) info.preset = options.preset;
    return info;
  }

  get modelResolution(): ModelIdResolution | undefined {
    return this.#resolution;
  }

  get baseUrlSource(): BaseUrlSource | undefined {
    return this.#baseUrlSource;
  }

  load(options?: LoadOptions): Promise<void> {
    if (this.#disposal.signal.aborted) {
      return Promise.reject(new AbortedError('The engine was disposed.'));
    }
    if (this.#loading === undefined) {
      const loading = this.#load(options?.signal);
      this.#loading = loading;
      loading.catch(() => {
        if (this.#loading === loading) this.#loading = undefined;
      });
    }
    const signal = options?.signal;
    if (signal === undefined) return this.#loading;
    return raceAbort(this.#loading, signal).catch((error: unknown) => {
      throw signal.aborted ? new AbortedError() : error;
    });
  }

  async dispose(): Promise<void> {
    this.#disposal.abort(new AbortedError('The engine was disposed.'));
    this.#http.close();
  }

  stream(request: GenerateRequest): AsyncIterable<StreamPart> {
    return this.#stream(request);
  }

  /**
   * POST {baseUrl}/embeddings with all the inputs at once; retried like load()'s requests.
   * The first-byte timeout bounds the wait for the answer, the idle timeout its body.
   */
  async embed(request: EmbedRequest): Promise<EmbedResult> {
    const signal = request.signal;
    if (signal?.aborted || this.#disposal.signal.aborted) throw this.#errors.abortedError();
    if (request.inputs.length === 0) return { embeddings: [], promptTokens: 0 };
    await this.load(signal === undefined ? {} : { signal });
    const baseUrl = await this.#resolveBaseUrl();
    const url = `${baseUrl}/embeddings`;
    const body = JSON.stringify({
      model: this.#resolvedModelId ?? this.#options.model,
      input: [...request.inputs],
    });
    const text = await this.#withRetries(signal, () =>
      postForJson(this.#attempts, url, body, signal),
    );
    return parseEmbeddings(this.#errors, text, request.inputs.length);
  }

  // --- loading -------------------------------------------------------------------------

  #normalizeBaseUrl(baseUrl: string): string {
    const trimmed = baseUrl.trim().replace(/\/+$/, '');
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new InvalidArgumentError(
        `'${baseUrl}' is not a URL; give e.g. http://localhost:8000/v1.`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidArgumentError(`'${baseUrl}' is not an http(s) URL.`);
    }
    return trimmed;
  }

  async #load(signal: AbortSignal | undefined): Promise<void> {
    const baseUrl = await this.#resolveBaseUrl();
    const probe = this.#connectProbe;
    if (probe !== undefined) {
      await this.#withRetries(signal, () => probeServer(this.#attempts, probe, baseUrl, signal));
    }
    if (this.#options.resolveModelAlias === false) {
      this.#resolvedModelId = this.#options.model;
      return;
    }
    const ids = await this.#withRetries(signal, () =>
      listModelIds(this.#attempts, baseUrl, signal),
    );
    if (ids === undefined) {
      this.#resolvedModelId = this.#options.model;
      return;
    }
    const resolution = resolveModelId(this.#options.model, ids, this.#errors.describeServer());
    this.#resolution = resolution;
    this.#resolvedModelId = resolution.id;
  }

  async #resolveBaseUrl(): Promise<string> {
    if (this.#baseUrl !== undefined) return this.#baseUrl;
    const preset = this.#options.preset ?? 'openai';
    const resolved = await resolvePresetBaseUrl(preset, {
      environment: this.#environment,
      runCommand: this.#options.runCommand ?? createProcessCommandRunner(this.#environment),
    });
    this.#baseUrl = this.#normalizeBaseUrl(resolved.baseUrl);
    this.#baseUrlSource = resolved.source;
    return this.#baseUrl;
  }

  // --- requests ------------------------------------------------------------------------

  async *#stream(request: GenerateRequest): AsyncGenerator<StreamPart> {
    const signal = request.signal;
    if (signal?.aborted || this.#disposal.signal.aborted) throw this.#errors.abortedError();
    await this.load(signal === undefined ? {} : { signal });
    const baseUrl = await this.#resolveBaseUrl();
    const url = `${baseUrl}/chat/completions`;
    const body = JSON.stringify(
      requestBody(
        request,
        this.#resolvedModelId ?? this.#options.model,
        this.#streaming,
        this.#options.includeUsage,
      ),
    );
    for (let attempt = 0; ; attempt++) {
      const watch = new AttemptWatch([signal, this.#disposal.signal]);
      let failure: unknown;
      try {
        const exchange = this.#attempts.send(url, body, watch);
        let writtenAtMs: number;
        try {
          writtenAtMs = await watch.race(exchange.written);
        } catch (error) {
          throw this.#errors.mapFailure(error, watch, url);
        }
        // t0 of the measurement: just before this attempt's request was written (after
        // connecting, which counts as queue time).
        yield { type: 'request-start', attempt: attempt + 1, arrivedAtMs: writtenAtMs };
        const response = await this.#attempts.successfulResponse(exchange, watch, url);
        let answered = false;
        try {
          if (this.#streaming) yield* readEventStream(this.#attempts, response, watch, url);
          else yield* readWholeResponse(this.#attempts, response, watch, url);
          answered = true;
        } finally {
          watch.disarm();
          // A whole answer leaves its connection for the next request; an abandoned one
          // (the consumer stopped, an error) closes it, which stops the server generating.
          if (answered) response.release();
          else response.cancel();
          watch.controller.abort();
        }
        return;
      } catch (error) {
        failure = error;
      } finally {
        watch.dispose();
      }
      if (
        watch.streamStarted ||
        attempt >= this.#retryPolicy.maxRetries ||
        !isRetryableError(failure)
      ) {
        throw failure;
      }
      const retryAfterMs = failure instanceof ApiCallError ? failure.retryAfterMs : undefined;
      await this.#wait(
        retryDelayMs(this.#retryPolicy, attempt, this.#random, retryAfterMs),
        signal,
      );
    }
  }

  async #withRetries<T>(signal: AbortSignal | undefined, action: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await action();
      } catch (error) {
        if (attempt >= this.#retryPolicy.maxRetries || !isRetryableError(error)) throw error;
        const retryAfterMs = error instanceof ApiCallError ? error.retryAfterMs : undefined;
        await this.#wait(
          retryDelayMs(this.#retryPolicy, attempt, this.#random, retryAfterMs),
          signal,
        );
      }
    }
  }

  async #wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    const watch = new AttemptWatch([signal, this.#disposal.signal]);
    let stopped: boolean;
    try {
      await this.#sleep(ms, watch.signal);
      stopped = watch.signal.aborted;
    } catch {
      stopped = true;
    } finally {
      watch.dispose();
    }
    if (stopped) throw this.#errors.abortedError();
  }
}

/** An engine for any OpenAI-compatible server. Nothing is contacted until load() or stream(). */
export function createOpenAIEngine(options: OpenAIEngineOptions): OpenAIEngine {
  return new OpenAICompatibleEngine(options);
}

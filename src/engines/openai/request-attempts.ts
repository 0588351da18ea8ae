/**
 * One attempt of a request to the openai engine's server, under an AttemptWatch: the
 * headers it sends, sending it (the first-byte timer starts), the response head (an HTTP
 * error status thrown as ApiCallError) and the body reads, the first under the first-byte
 * timer, the others under the idle timeout. Failures are worded by the ErrorMapping. It
 * also carries what the other pieces of the engine need for their attempts: the client,
 * the clock, the dispose() signal and the timeouts.
 */
import type { AttemptWatch } from '../../http/attempt-watch.js';
import type {
  HttpBodyChunk,
  HttpClient,
  HttpExchange,
  HttpResponse,
} from '../../http/http-client.js';
import { readTextCapped } from '../../http/read-text-capped.js';
import type { Clock } from '../spec.js';
import type { ErrorMapping } from './error-mapping.js';

export interface RequestAttemptsOptions {
  http: HttpClient;
  errors: ErrorMapping;
  /** Monotonic clock for `arrivedAtMs`. */
  clock: Clock;
  /** The engine's dispose() signal: every attempt listens to it. */
  disposalSignal: AbortSignal;
  connectTimeoutMs: number;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  /** Requests with a body ask for an event stream (false: one JSON answer). */
  streaming: boolean;
  /** Sent as `authorization: Bearer …`. */
  apiKey: string | undefined;
  /** Extra request headers; they win over the engine's own. */
  headers: Readonly<Record<string, string>> | undefined;
}

export class RequestAttempts {
  readonly http: HttpClient;
  readonly errors: ErrorMapping;
  readonly clock: Clock;
  readonly disposalSignal: AbortSignal;
  readonly connectTimeoutMs: number;
  readonly firstByteTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly #streaming: boolean;
  readonly #apiKey: string | undefined;
  readonly #extraHeaders: Readonly<Record<string, string>> | undefined;

  constructor(options: RequestAttemptsOptions) {
    this.http = options.http;
    this.errors = options.errors;
    this.clock = options.clock;
    this.disposalSignal = options.disposalSignal;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.firstByteTimeoutMs = options.firstByteTimeoutMs;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.#streaming = options.streaming;
    this.#apiKey = options.apiKey;
    this.#extraHeaders = options.headers;
  }

  headers(withBody: boolean, eventStream = withBody && this.#streaming): Record<string, string> {
    const headers: Record<string, string> = {
      accept: eventStream ? 'text/event-stream' : 'application/json',
    };
    if (withBody) headers['content-type'] = 'application/json';
    if (this.#apiKey !== undefined) {
      headers.authorization = `Bearer ${this.#apiKey}`;
    }
    return { ...headers, ...this.#extraHeaders };
  }

  /** Sends one attempt of the request; the first-byte timer starts now. */
  send(
    url: string,
    body: string,
    watch: AttemptWatch,
    headers: Record<string, string> = this.headers(true),
  ): HttpExchange {
    watch.arm('first-byte', this.firstByteTimeoutMs);
    return this.http.request({
      method: 'POST',
      url: new URL(url),
      headers,
      body,
      signal: watch.signal,
    });
  }

  /** The response, once its head is in; an HTTP error status is thrown as ApiCallError. */
  async successfulResponse(
    exchange: HttpExchange,
    watch: AttemptWatch,
    url: string,
  ): Promise<HttpResponse> {
    let response: HttpResponse;
    try {
      response = await watch.race(exchange.response);
    } catch (error) {
      throw this.errors.mapFailure(error, watch, url);
    }
    if (response.status >= 200 && response.status <= 299) return response;
    let text: string;
    try {
      text = await readTextCapped(response, watch.signal);
    } catch (error) {
      throw this.errors.mapFailure(error, watch, url);
    }
    throw this.errors.apiCallError('POST', url, response, text);
  }

  /**
   * The next body chunk (stamped on arrival by the client), or undefined at the end. The
   * first read runs under the first-byte timer; later ones under the idle timeout, which
   * counts only the time spent waiting here. An abort (a timeout, the caller, dispose())
   * rejects the read: the HTTP client listens to the attempt's signal.
   */
  async read(
    response: HttpResponse,
    watch: AttemptWatch,
    url: string,
    isFirst: boolean,
  ): Promise<HttpBodyChunk | undefined> {
    if (!isFirst) watch.beginIdleWait(this.idleTimeoutMs);
    let chunk: HttpBodyChunk | undefined;
    try {
      chunk = await response.read();
    } catch (error) {
      throw this.errors.mapFailure(error, watch, url, true);
    }
    if (isFirst) watch.disarm();
    else watch.endIdleWait();
    if (chunk !== undefined && chunk.text.length > 0) watch.streamStarted = true;
    return chunk;
  }
}

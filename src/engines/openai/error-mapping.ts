/**
 * The openai engine's errors, worded for its server: what a request, a body read or a
 * probe threw becomes one of tandem's errors (a timeout, an unreachable endpoint, an
 * interrupted stream, an abort), and an HTTP error status or an error the server reported
 * in the stream becomes an ApiCallError. Every message names the server (its preset's name
 * and base URL) and, where it helps, how to start it.
 */
import {
  AbortedError,
  ApiCallError,
  EndpointUnreachableError,
  StreamInterruptedError,
  TandemError,
  TimeoutError,
} from '../../errors.js';
import type { AttemptWatch } from '../../http/attempt-watch.js';
import type { HttpResponse } from '../../http/http-client.js';
import {
  findErrorMessage,
  isRetryableStatus,
  parseRetryAfterMs,
  summarizeErrorBody,
} from '../../http/http-errors.js';
import { classifyNetworkError, describeNetworkCode } from '../../http/network-errors.js';
import { type PresetName, presets } from './presets.js';

export function seconds(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(1))} s` : `${ms} ms`;
}

/** `the server at …` at the start of a sentence; product names keep their spelling. */
export function capitalize(text: string): string {
  return text.startsWith('the ') ? `The ${text.slice(4)}` : text;
}

export interface ErrorMappingOptions {
  /** The server's preset, for its name and its start hint; undefined: a plain server. */
  preset: PresetName | undefined;
  /** The server's base URL, once known (a preset may discover it in load()). */
  baseUrl: () => string | undefined;
  /** The engine's dispose() signal: an abort after it says the engine was disposed. */
  disposalSignal: AbortSignal;
  /** The limit on a request's own TCP connection. */
  requestConnectTimeoutMs: number;
  /** Wall clock in epoch ms, for Retry-After dates. */
  wallClock: () => number;
}

/** One engine's error wording; the base URL is read when a message is made. */
export class ErrorMapping {
  readonly #preset: PresetName | undefined;
  readonly #baseUrl: () => string | undefined;
  readonly #disposalSignal: AbortSignal;
  /** The limit on a request's own TCP connection. */
  readonly #requestConnectTimeoutMs: number;
  readonly #wallClock: () => number;

  constructor(options: ErrorMappingOptions) {
    this.#preset = options.preset;
    this.#baseUrl = options.baseUrl;
    this.#disposalSignal = options.disposalSignal;
    this.#requestConnectTimeoutMs = options.requestConnectTimeoutMs;
    this.#wallClock = options.wallClock;
  }

  inBandApiError(url: string, error: unknown, raw: string): ApiCallError {
    const message = findErrorMessage({ error }) ?? summarizeErrorBody(raw);
    const code = (error as { code?: unknown } | null)?.code;
    const status = typeof code === 'number' && code >= 400 && code < 600 ? code : 200;
    return new ApiCallError(
      `${capitalize(this.describeServer())} reported an error in the stream: ${summarizeErrorBody(message)}`,
      url,
      status,
      raw,
      false,
    );
  }

  apiCallError(
    method: string,
    url: string,
    response: Pick<HttpResponse, 'status' | 'statusText' | 'headers'>,
    text: string,
  ): ApiCallError {
    const retryAfterMs = parseRetryAfterMs(response.headers, this.#wallClock());
    const statusText = response.statusText === '' ? '' : ` ${response.statusText}`;
    return new ApiCallError(
      `${capitalize(this.describeServer())} answered HTTP ${response.status}${statusText} to ${method} ${url}: ${summarizeErrorBody(text)}`,
      url,
      response.status,
      text,
      isRetryableStatus(response.status),
      retryAfterMs,
    );
  }

  describeServer(): string {
    const preset = this.#preset;
    const name = preset === undefined ? 'the server' : presets[preset].displayName;
    return `${name} at ${this.#baseUrl() ?? '(unknown URL)'}`;
  }

  startHint(): string {
    return presets[this.#preset ?? 'openai'].startHint;
  }

  abortedError(): AbortedError {
    return this.#disposalSignal.aborted
      ? new AbortedError('Stopped: the engine was disposed.')
      : new AbortedError();
  }

  interrupted(eventCount: number, cause?: unknown): StreamInterruptedError {
    return new StreamInterruptedError(
      `${capitalize(this.describeServer())} closed the stream after ${eventCount} event${eventCount === 1 ? '' : 's'} without finishing; the partial answer is kept.`,
      cause === undefined ? undefined : { cause },
    );
  }

  /** Maps what a fetch, a body read or a probe threw to one of tandem's errors. */
  mapFailure(error: unknown, watch: AttemptWatch, url: string, duringBody = false): Error {
    if (error instanceof TandemError) return error;
    if (watch.timedOut !== undefined) {
      const { phase, timeoutMs } = watch.timedOut;
      const server = capitalize(this.describeServer());
      const message =
        phase === 'idle'
          ? `${server} sent nothing for ${seconds(timeoutMs)} in the middle of the answer (idle timeout); the partial answer is kept.`
          : `${server} sent no answer to ${url} within ${seconds(timeoutMs)} (first-byte timeout); a cold server may still be loading the model: raise firstByteTimeoutMs.`;
      return new TimeoutError(phase, timeoutMs, message);
    }
    if (watch.signal.aborted) return this.abortedError();
    const { failure, code } = classifyNetworkError(error);
    if (failure === 'unreachable') {
      return new EndpointUnreachableError(
        url,
        `Cannot reach ${this.describeServer()} (${describeNetworkCode(code)}). ${this.startHint()}`,
        { cause: error },
      );
    }
    if (failure === 'connect-timeout') {
      return new TimeoutError(
        'connect',
        this.#requestConnectTimeoutMs,
        `${capitalize(this.describeServer())} did not accept a TCP connection in time (connect timeout). ${this.startHint()}`,
      );
    }
    if (duringBody || failure === 'closed') {
      return new StreamInterruptedError(
        `${capitalize(this.describeServer())} closed the connection (${describeNetworkCode(code)}) before answering ${url}.`,
        { cause: error },
      );
    }
    const detail = error instanceof Error ? error.message : String(error);
    return new EndpointUnreachableError(
      url,
      `Request to ${url} failed: ${detail}${code === undefined ? '' : ` (${code})`}.`,
      { cause: error },
    );
  }
}

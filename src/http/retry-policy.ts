/**
 * How many times to retry and how long to wait: options first, then the workshop's
 * environment variables RETRY_ON_FAIL and RETRY_BACKOFF, then defaults; and which failures
 * are worth another try.
 */
import {
  ApiCallError,
  EndpointUnreachableError,
  InvalidArgumentError,
  StreamInterruptedError,
} from '../errors.js';
import { parseDecimal } from '../numbers.js';

export interface RetryPolicy {
  maxRetries: number;
  /** Base delay; attempt n (0-based) waits about base × 2^n, with jitter. */
  retryBackoffMs: number;
  /** Upper bound for one computed backoff. */
  maxBackoffMs: number;
  /** Upper bound for a server's Retry-After. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxRetries: 2,
  retryBackoffMs: 500,
  maxBackoffMs: 30_000,
  maxRetryAfterMs: 60_000,
};

export interface RetryPolicyOptions {
  maxRetries?: number;
  retryBackoffMs?: number;
  maxBackoffMs?: number;
  maxRetryAfterMs?: number;
  environment?: Readonly<Record<string, string | undefined>>;
}

const falseWords = new Set(['0', 'false', 'no', 'off']);
const trueWords = new Set(['1', 'true', 'yes', 'on']);

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a number of 0 or more (got ${value}).`);
  }
  return value;
}

/**
 * Explicit options win; else RETRY_ON_FAIL (0/false/no/off: no retries; 1/true/yes/on:
 * the default count) and RETRY_BACKOFF (base backoff in seconds); else the defaults.
 */
export function resolveRetryPolicy(options: RetryPolicyOptions): RetryPolicy {
  const environment = options.environment ?? {};
  let maxRetries = defaultRetryPolicy.maxRetries;
  const retryOnFail = environment.RETRY_ON_FAIL?.trim().toLowerCase();
  if (retryOnFail !== undefined && retryOnFail !== '') {
    if (falseWords.has(retryOnFail)) maxRetries = 0;
    else if (!trueWords.has(retryOnFail)) {
      throw new InvalidArgumentError(
        `RETRY_ON_FAIL must be 1/true or 0/false (got '${environment.RETRY_ON_FAIL}').`,
      );
    }
  }
  let retryBackoffMs = defaultRetryPolicy.retryBackoffMs;
  const retryBackoff = environment.RETRY_BACKOFF?.trim();
  if (retryBackoff !== undefined && retryBackoff !== '') {
    retryBackoffMs =
      parseDecimal(retryBackoff, `RETRY_BACKOFF=${environment.RETRY_BACKOFF} (seconds)`, {
        min: 0,
      }) * 1000;
  }
  if (options.maxRetries !== undefined) {
    maxRetries = nonNegative('maxRetries', options.maxRetries);
    if (!Number.isInteger(maxRetries)) {
      throw new InvalidArgumentError(`maxRetries must be a whole number (got ${maxRetries}).`);
    }
  }
  if (options.retryBackoffMs !== undefined) {
    retryBackoffMs = nonNegative('retryBackoffMs', options.retryBackoffMs);
  }
  return {
    maxRetries,
    retryBackoffMs,
    maxBackoffMs: nonNegative(
      'maxBackoffMs',
      options.maxBackoffMs ?? defaultRetryPolicy.maxBackoffMs,
    ),
    maxRetryAfterMs: nonNegative(
      'maxRetryAfterMs',
      options.maxRetryAfterMs ?? defaultRetryPolicy.maxRetryAfterMs,
    ),
  };
}

/**
 * The wait before retry number `attempt` (0 for the first retry): "equal jitter", half of
 * base × 2^attempt fixed and half random, capped at maxBackoffMs. A server's Retry-After,
 * when given, replaces it (capped at maxRetryAfterMs).
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number,
  retryAfterMs?: number,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const exponential = Math.min(policy.retryBackoffMs * 2 ** attempt, policy.maxBackoffMs);
  return exponential / 2 + (random() * exponential) / 2;
}

/** An HTTP status worth another try (ApiCallError.isRetryable), no answer, or a dropped answer. */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof ApiCallError) return error.isRetryable;
  return error instanceof EndpointUnreachableError || error instanceof StreamInterruptedError;
}

import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { defaultRetryPolicy, resolveRetryPolicy, retryDelayMs } from './retry-policy.js';

describe('resolveRetryPolicy', () => {
  it('uses the defaults without options or environment', () => {
    expect(resolveRetryPolicy({})).toEqual(defaultRetryPolicy);
  });

  it('honours RETRY_ON_FAIL and RETRY_BACKOFF', () => {
    for (const value of ['0', 'false', 'FALSE', 'off', 'no']) {
      expect(resolveRetryPolicy({ environment: { RETRY_ON_FAIL: value } }).maxRetries).toBe(0);
    }
    expect(resolveRetryPolicy({ environment: { RETRY_ON_FAIL: 'true' } }).maxRetries).toBe(2);
    expect(resolveRetryPolicy({ environment: { RETRY_BACKOFF: '1.5' } }).retryBackoffMs).toBe(1500);
    expect(() => resolveRetryPolicy({ environment: { RETRY_ON_FAIL: 'maybe' } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => resolveRetryPolicy({ environment: { RETRY_BACKOFF: '-1' } })).toThrow(
      /RETRY_BACKOFF/,
    );
  });

  it('lets explicit options win over the environment', () => {
    const policy = resolveRetryPolicy({
      maxRetries: 5,
      retryBackoffMs: 10,
      environment: { RETRY_ON_FAIL: '0', RETRY_BACKOFF: '3' },
    });
    expect(policy).toMatchObject({ maxRetries: 5, retryBackoffMs: 10 });
    expect(() => resolveRetryPolicy({ maxRetries: 1.5 })).toThrow(InvalidArgumentError);
  });
});

describe('retryDelayMs', () => {
  const policy = { ...defaultRetryPolicy, retryBackoffMs: 100, maxBackoffMs: 350 };
  it('grows exponentially with equal jitter and a cap', () => {
    expect(retryDelayMs(policy, 0, () => 0)).toBe(50);
    expect(retryDelayMs(policy, 0, () => 1)).toBe(100);
    expect(retryDelayMs(policy, 1, () => 0.5)).toBe(150);
    expect(retryDelayMs(policy, 5, () => 1)).toBe(350);
  });

  it('uses a capped Retry-After instead', () => {
    expect(retryDelayMs(policy, 3, () => 1, 1200)).toBe(1200);
    expect(retryDelayMs(policy, 0, () => 1, 3_600_000)).toBe(60_000);
  });
});

import { describe, expect, it } from 'vitest';
import { classifyNetworkError } from './network-errors.js';

describe('classifyNetworkError', () => {
  it('finds codes in the cause chain and in AggregateErrors', () => {
    const refused = new TypeError('fetch failed', {
      cause: new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]),
    });
    expect(classifyNetworkError(refused)).toEqual({ failure: 'unreachable', code: 'ECONNREFUSED' });
    const timeout = new TypeError('fetch failed', {
      cause: Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
    });
    expect(classifyNetworkError(timeout).failure).toBe('connect-timeout');
    const closed = new TypeError('terminated', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(classifyNetworkError(closed).failure).toBe('closed');
    expect(classifyNetworkError(new Error('weird'))).toEqual({
      failure: 'other',
      code: undefined,
    });
  });
});

import { describe, expect, it } from 'vitest';
import { isRetryableStatus, parseRetryAfterMs, summarizeErrorBody } from './http-errors.js';

describe('summarizeErrorBody', () => {
  it('takes the message of the usual JSON error shapes', () => {
    expect(
      summarizeErrorBody('{"error":{"message":"model not loaded","type":"invalid_request"}}'),
    ).toBe('model not loaded');
    expect(summarizeErrorBody('{"error":"model \\"x\\" not found, try pulling it first"}')).toBe(
      'model "x" not found, try pulling it first',
    );
    expect(summarizeErrorBody('{"detail":"Not Found"}')).toBe('Not Found');
    expect(summarizeErrorBody('{"message":"bad\\n  request"}')).toBe('bad request');
  });

  it('shows the first 200 characters of other bodies on one line', () => {
    const long = `<html>\n<body>${'x'.repeat(500)}</body></html>`;
    const summary = summarizeErrorBody(long);
    expect(summary).toHaveLength(200);
    expect(summary.startsWith('<html> <body>xxx')).toBe(true);
    expect(summary.endsWith('…')).toBe(true);
    expect(summarizeErrorBody('  ')).toBe('(empty body)');
    expect(summarizeErrorBody('{"unrelated":1}')).toBe('{"unrelated":1}');
  });
});

describe('isRetryableStatus', () => {
  it('retries 408, 409, 429 and 5xx only', () => {
    expect([400, 401, 404, 408, 409, 422, 429, 500, 503].map(isRetryableStatus)).toEqual([
      false,
      false,
      false,
      true,
      true,
      false,
      true,
      true,
      true,
    ]);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('reads seconds, an HTTP date and retry-after-ms', () => {
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '0.5' }), now)).toBe(500);
    expect(
      parseRetryAfterMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:07 GMT' }), now),
    ).toBe(7000);
    expect(
      parseRetryAfterMs(new Headers({ 'retry-after': 'Tue, 31 Dec 2024 23:00:00 GMT' }), now),
    ).toBe(0);
    expect(
      parseRetryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now),
    ).toBe(250);
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

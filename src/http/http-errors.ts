/**
 * Turning HTTP failures into one-line messages: error bodies in short and Retry-After (the
 * network failures under HTTP are worded in network-errors.ts).
 */

const shortTextLength = 200;

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function shorten(text: string): string {
  const collapsed = collapse(text);
  return collapsed.length > shortTextLength
    ? `${collapsed.slice(0, shortTextLength - 1)}…`
    : collapsed;
}

/**
 * The error message in an HTTP error body, in short: OpenAI's `{"error":{"message"}}`,
 * `{"error":"..."}` (Ollama), `{"message"}` / `{"detail"}` (FastAPI, vLLM), or the first
 * 200 characters of the text.
 */
export function summarizeErrorBody(body: string): string {
  const trimmed = body.trim();
  if (trimmed === '') return '(empty body)';
  try {
    const message = findErrorMessage(JSON.parse(trimmed));
    if (message !== undefined) return shorten(message);
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return shorten(trimmed);
}

export function findErrorMessage(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const error = record.error;
  if (typeof error === 'string' && error !== '') return error;
  if (typeof error === 'object' && error !== null) {
    const message = (error as Record<string, unknown>).message;
    if (typeof message === 'string' && message !== '') return message;
  }
  for (const key of ['message', 'detail'] as const) {
    const candidate = record[key];
    if (typeof candidate === 'string' && candidate !== '') return candidate;
    if (Array.isArray(candidate) && candidate.length > 0) return JSON.stringify(candidate);
  }
  return undefined;
}

/** 408, 409, 429 and 5xx are worth another try. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Milliseconds to wait from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or an HTTP
 * date, relative to `nowEpochMs`). Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfterMs(headers: Headers, nowEpochMs: number): number | undefined {
  const milliseconds = headers.get('retry-after-ms');
  if (milliseconds !== null && /^\s*[0-9]+(\.[0-9]+)?\s*$/.test(milliseconds)) {
    return Number(milliseconds);
  }
  const value = headers.get('retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^[0-9]+(\.[0-9]+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowEpochMs);
}

/**
 * The optional Bearer key (`tandem serve --api-key`): every /v1, /api, /models and /metrics
 * request must carry it (a CORS preflight carries none); /health lists the models only to a
 * caller that has it. Keys are compared by digest, in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { openAIError } from '../routes/v1/openai-request.js';
import { errorResponse } from './openai-errors.js';

/** Compares digests, so that neither the key's bytes nor its length leak through timing. */
function keysMatch(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** True without a configured key, or when the request carries it. */
export function hasKey(c: Context, key: string | undefined): boolean {
  if (key === undefined) return true;
  const match = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
  return match !== null && keysMatch((match[1] as string).trim(), key);
}

/** Refuses (401) a request without the key; undefined: no key is required. */
export function requireKey(key: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') return next();
    if (!hasKey(c, key)) {
      return errorResponse(
        c,
        401,
        openAIError(
          'Missing or wrong API key: send Authorization: Bearer <the key given to tandem serve --api-key>.',
          'invalid_request_error',
          null,
          'invalid_api_key',
        ),
      );
    }
    return next();
  };
}

/**
 * A slot on a served model for one /v1 request, or the OpenAI-shaped error that says why
 * there is none: busy (429 with Retry-After), failed to load (503), the client gone (400).
 */
import type { Context } from 'hono';
import { errorLine, isAbortError } from '../../../errors.js';
import { errorResponse } from '../../middleware/openai-errors.js';
import { ModelBusyError, ModelLoadError, type ModelPool } from '../../model-pool.js';
import { openAIError } from './openai-request.js';

/** A slot on the model, or the error response that says why there is none. */
export async function lease(c: Context, pool: ModelPool, name: string, signal: AbortSignal) {
  try {
    return { ok: true as const, lease: await pool.acquire(name, signal) };
  } catch (error) {
    if (error instanceof ModelBusyError) {
      c.header('retry-after', String(error.retryAfterSeconds));
      return {
        ok: false as const,
        response: errorResponse(
          c,
          429,
          openAIError(error.message, 'rate_limit_error', null, 'model_busy'),
        ),
      };
    }
    if (error instanceof ModelLoadError) {
      return {
        ok: false as const,
        response: errorResponse(
          c,
          503,
          openAIError(errorLine(error), 'server_error', 'model', 'model_load_failed'),
        ),
      };
    }
    if (isAbortError(error)) {
      return {
        ok: false as const,
        response: errorResponse(
          c,
          400,
          openAIError('The client went away.', 'invalid_request_error', null, 'client_closed'),
        ),
      };
    }
    return {
      ok: false as const,
      response: errorResponse(
        c,
        503,
        openAIError(errorLine(error), 'server_error', null, 'unavailable'),
      ),
    };
  }
}

/**
 * Errors as OpenAI-shaped JSON bodies: the response every refusal and failed /v1 request
 * sends, the status of a failed generation, and the app's answers for an unknown route and
 * an uncaught error. Never a stack trace, never a 500 for bad input.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import {
  ApiCallError,
  EndpointUnreachableError,
  errorLine,
  StreamInterruptedError,
  TimeoutError,
} from '../../errors.js';
import { type OpenAIErrorBody, openAIError } from '../routes/v1/openai-request.js';
import type { ServerEnv } from '../server-env.js';

export type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 429 | 500 | 502 | 503 | 504;

export function errorResponse(c: Context, status: ErrorStatus, body: OpenAIErrorBody): Response {
  return c.json(body, status);
}

/**
 * The status for a failed generation or embedding: a model served through another server
 * (the gateway case) that cannot be reached, times out or fails is a 502/504 from upstream,
 * not an internal error of this server.
 */
export function failureStatus(error: unknown): 500 | 502 | 504 {
  if (error instanceof TimeoutError) return 504;
  if (
    error instanceof EndpointUnreachableError ||
    error instanceof ApiCallError ||
    error instanceof StreamInterruptedError
  ) {
    return 502;
  }
  return 500;
}

/** The app's answer for a path no route serves. */
export const routeNotFound: NotFoundHandler<ServerEnv> = (c) =>
  errorResponse(
    c,
    404,
    openAIError(
      `No route for ${c.req.method} ${c.req.path}. Routes: POST /v1/chat/completions, GET /v1/models, GET /v1/models/{id}, POST /v1/embeddings, GET /health, GET /metrics.`,
      'invalid_request_error',
      null,
      'not_found',
    ),
  );

/** The app's answer for an error no route caught. */
export const internalError: ErrorHandler<ServerEnv> = (error, c) =>
  errorResponse(
    c,
    500,
    openAIError(`Internal error: ${errorLine(error)}`, 'server_error', null, 'internal_error'),
  );

/**
 * The error body of the web app's API: `{ error: { message } }`, one line the page shows as
 * it is (the /v1 routes answer OpenAI-shaped errors instead).
 */
import type { Context } from 'hono';
import type { ApiErrorBody } from './api-types.js';

export function apiError(c: Context, status: 400 | 404, message: string): Response {
  return c.json<ApiErrorBody>({ error: { message } }, status);
}

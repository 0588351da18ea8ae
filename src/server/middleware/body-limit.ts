/**
 * The body limit of the web app's API (/api): a body over the server's `maxBodyBytes` is
 * refused (413) with a line that says what to send instead. The /v1 routes read their JSON
 * bodies under the same limit themselves (routes/v1/json-body.ts).
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiErrorBody } from '../routes/api/api-types.js';

export function apiBodyLimit(maxBodyBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBodyBytes,
    onError: (c) =>
      c.json<ApiErrorBody>(
        {
          error: {
            message: `The body is over this server's limit of ${maxBodyBytes} bytes: send fewer or shorter documents.`,
          },
        },
        413,
      ),
  });
}

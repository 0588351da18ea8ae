/**
 * The Host check against DNS rebinding: a server that listens on loopback answers only
 * requests addressed to a loopback name, so that a page whose domain was made to resolve to
 * 127.0.0.1 cannot reach it.
 */
import type { MiddlewareHandler } from 'hono';
import { openAIError } from '../routes/v1/openai-request.js';
import { errorResponse } from './openai-errors.js';

/** A loopback name with an optional port: localhost, *.localhost, 127.x.y.z, [::1]. */
export const loopbackAuthority =
  '(?:localhost|[a-z0-9-]+\\.localhost|127(?:\\.\\d{1,3}){3}|\\[::1\\])(?::\\d{1,5})?';

const loopbackHostPattern = new RegExp(`^${loopbackAuthority}$`, 'i');

/** Refuses (403) a request whose Host is not a loopback name. */
export const loopbackHostsOnly: MiddlewareHandler = async (c, next) => {
  const host = c.req.header('host') ?? '';
  if (!loopbackHostPattern.test(host)) {
    return errorResponse(
      c,
      403,
      openAIError(
        `Refused: Host '${host.slice(0, 100)}' is not a loopback name. This server listens on loopback only; use http://localhost or http://127.0.0.1.`,
        'invalid_request_error',
        null,
        'host_not_allowed',
      ),
    );
  }
  await next();
};

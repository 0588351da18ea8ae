/**
 * Which pages may call this server: the web app served here (its own origin) may call
 * everything, other pages only the OpenAI API and only from the origins `--cors` allows
 * (localhost pages and file:// by default), with the CORS headers that let them read the
 * answer. /api and /models serve only the web app itself: another site is refused even
 * where a browser sends no Origin (Sec-Fetch-Site), and an /api POST must be JSON.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { ApiErrorBody } from '../routes/api/api-types.js';
import { openAIError } from '../routes/v1/openai-request.js';
import { loopbackAuthority } from './loopback-host.js';
import { errorResponse } from './openai-errors.js';

/** Allowed browser origins: 'localhost' (localhost, loopback addresses and `null`), a list, or '*'. */
export type AllowedOrigins = 'localhost' | '*' | readonly string[];

/** A page on localhost or a loopback address, any port (`null` is checked apart). */
const localhostOriginPattern = new RegExp(`^https?://${loopbackAuthority}$`, 'i');

function allowedOrigin(rule: AllowedOrigins, origin: string): string | null {
  if (rule === '*') return '*';
  if (rule === 'localhost') {
    return origin === 'null' || localhostOriginPattern.test(origin) ? origin : null;
  }
  return rule.includes(origin) ? origin : null;
}

/** The page's own origin: the web app served here calls /api and /v1 from it. */
const sameOrigin = (c: Context, origin: string): boolean =>
  origin === `${new URL(c.req.url).protocol}//${c.req.header('host') ?? ''}`;

// The web app's API holds conversations: only the app itself (its own origin) or a client
// that is not a browser (no Origin) may use it, never another site, nor `null`. A POST must
// say it is JSON, so that a cross-site form or text/plain POST is refused before any work.
export const ownOriginOnly: MiddlewareHandler = async (c, next) => {
  const origin = c.req.header('origin');
  // A cross-site <img> or <script> sends no Origin, but browsers say where it comes from.
  const crossSite = c.req.header('sec-fetch-site') === 'cross-site';
  if (crossSite || (origin !== undefined && !sameOrigin(c, origin))) {
    return c.json<ApiErrorBody>(
      {
        error: {
          message: `Refused: ${c.req.path.startsWith('/models/') ? '/models' : '/api'} serves only tandem's own web app, not ${origin === undefined ? 'another site' : `origin '${origin.slice(0, 100)}'`}.`,
        },
      },
      403,
    );
  }
  return next();
};

/** Refuses (415) a POST whose body does not say it is JSON. */
export const jsonPostsOnly: MiddlewareHandler = async (c, next) => {
  if (c.req.method === 'POST') {
    if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('application/json')) {
      return c.json<ApiErrorBody>(
        { error: { message: 'Send the body as application/json.' } },
        415,
      );
    }
  }
  await next();
};

// CORS headers only stop a page from reading the answer; a cross-origin "simple" POST
// (text/plain, a form) would still run. A request whose Origin is not allowed is refused
// before any work. Clients that are not browsers send no Origin.
/** Refuses (403) a page from another origin that `rule` does not allow. */
export function allowedOriginsOnly(rule: AllowedOrigins): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && !sameOrigin(c, origin) && allowedOrigin(rule, origin) === null) {
      return errorResponse(
        c,
        403,
        openAIError(
          `Refused: origin '${origin.slice(0, 100)}' is not allowed. Start tandem serve with --cors ${origin.slice(0, 100)} to allow it.`,
          'invalid_request_error',
          null,
          'origin_not_allowed',
        ),
      );
    }
    await next();
  };
}

/** The CORS headers (and preflight answers) for the origins `rule` allows. */
export function corsHeaders(rule: AllowedOrigins): MiddlewareHandler {
  return cors({
    origin: (origin) => allowedOrigin(rule, origin),
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    maxAge: 600,
  });
}

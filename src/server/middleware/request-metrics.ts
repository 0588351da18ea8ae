/**
 * The request counter of GET /metrics: every request, counted once its response is made,
 * labelled by route (a bounded set, not the raw path), served model and status.
 */
import type { MiddlewareHandler } from 'hono';
import type { ServerMetrics } from '../metrics.js';
import type { ServerEnv } from '../server-env.js';

/** A bounded label for the request counter: the route, not the raw path. */
function routeLabel(path: string): string {
  if (path.startsWith('/v1/models/')) return '/v1/models/{id}';
  return knownRoutes.has(path) ? path : 'other';
}

const knownRoutes = new Set([
  '/v1/chat/completions',
  '/v1/models',
  '/v1/embeddings',
  '/health',
  '/metrics',
]);

export function requestMetrics(metrics: ServerMetrics): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    await next();
    metrics.countRequest(routeLabel(c.req.path), c.get('servedModel') ?? '', String(c.res.status));
  };
}

/**
 * GET /metrics: the server's metrics in Prometheus' text format (requests, tokens, latencies,
 * queues, loaded models), behind the API key when there is one.
 */
import { Hono } from 'hono';
import { contentType as metricsContentType, type ServerMetrics } from '../metrics.js';
import type { ServerEnv } from '../server-env.js';

/** Mounted at /metrics. */
export function metricsRoutes(metrics: ServerMetrics): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();
  routes.get('/', (c) => {
    c.header('content-type', metricsContentType);
    return c.body(metrics.render());
  });
  return routes;
}

/**
 * GET /health: open to health checks without a key; the served models (and whether each is
 * loaded) are listed only to a caller with the key.
 */
import { Hono } from 'hono';
import { hasKey } from '../middleware/api-key.js';
import type { ModelPool } from '../model-pool.js';
import type { ServerEnv } from '../server-env.js';

export interface HealthRoutesOptions {
  pool: ModelPool;
  /** The key of `tandem serve --api-key`; undefined: none. */
  apiKey: string | undefined;
}

/** Mounted at /health. */
export function healthRoutes({ pool, apiKey }: HealthRoutesOptions): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();
  // Open to health checks; the models are listed only to a caller with the key.
  routes.get('/', (c) =>
    c.json(
      hasKey(c, apiKey)
        ? {
            status: 'ok',
            models: pool.names.map((name) => ({ id: name, loaded: pool.isLoaded(name) })),
          }
        : { status: 'ok' },
    ),
  );
  return routes;
}

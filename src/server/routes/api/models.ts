/**
 * GET /api/models: the served models as the web app lists them, with the engine behind each,
 * whether it is a random-weight demo model, and whether it is loaded.
 */
import { Hono } from 'hono';
import type { ModelPool } from '../../model-pool.js';
import type { ServerEnv } from '../../server-env.js';
import type { ListBody, ServedModel } from './api-types.js';

export interface ServedModelRoutesOptions {
  pool: ModelPool;
  /** The engine behind a served model, for the model list. */
  engineOf: (name: string) => string;
  isDemo: (name: string) => boolean;
}

/** Mounted at /api/models. */
export function servedModelRoutes({
  pool,
  engineOf,
  isDemo,
}: ServedModelRoutesOptions): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();

  routes.get('/', (c) =>
    c.json<ListBody<ServedModel>>({
      data: pool.names.map((name) => ({
        name,
        reference: pool.referenceOf(name),
        engine: engineOf(name),
        demo: isDemo(name),
        loaded: pool.isLoaded(name),
      })),
    }),
  );
  return routes;
}

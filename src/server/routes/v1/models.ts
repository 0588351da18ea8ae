/**
 * GET /v1/models and GET /v1/models/{id}: the served models as OpenAI model objects, with
 * tandem's own fields (the reference behind a name, whether it is loaded, random weights),
 * and the 404 every /v1 route gives for a model not served here.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { errorResponse } from '../../middleware/openai-errors.js';
import type { ModelPool } from '../../model-pool.js';
import type { ServerEnv } from '../../server-env.js';
import { openAIError } from './openai-request.js';

/** 404 for a model this server does not serve, with the names it does. */
export const unknownModel = (c: Context, pool: ModelPool, name: string): Response =>
  errorResponse(
    c,
    404,
    openAIError(
      `The model '${name.slice(0, 100)}' does not exist here. Served models: ${pool.names.join(', ')}.`,
      'invalid_request_error',
      'model',
      'model_not_found',
    ),
  );

export interface ModelRoutesOptions {
  pool: ModelPool;
  /** Names of the models whose weights are random (the demo models). */
  isDemo?: ((name: string) => boolean) | undefined;
}

/** Mounted at /v1/models. */
export function modelRoutes({ pool, isDemo }: ModelRoutesOptions): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();

  const modelObject = (name: string): Record<string, unknown> => {
    const entry: Record<string, unknown> = {
      id: name,
      object: 'model',
      created: 0,
      owned_by: 'tandem',
      reference: pool.referenceOf(name),
      loaded: pool.isLoaded(name),
    };
    if (isDemo?.(name) === true) entry.random_weights = true;
    return entry;
  };

  routes.get('/', (c) =>
    c.json({ object: 'list', data: pool.names.map((name) => modelObject(name)) }),
  );

  routes.get('/:id{.+}', (c) => {
    const name = c.req.param('id');
    if (!pool.has(name)) return unknownModel(c, pool, name);
    return c.json(modelObject(name));
  });
  return routes;
}

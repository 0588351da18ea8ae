/**
 * GET /api/browser-models: the ONNX model folders the "In the browser" page can run, with
 * the weights' data types and sizes each holds (their files are served under /models).
 */
import { Hono } from 'hono';
import type { ServerEnv } from '../../server-env.js';
import type { BrowserModelEntry, BrowserModels } from '../browser-models.js';
import type { ListBody } from './api-types.js';

/** Mounted at /api/browser-models. */
export function browserModelListRoutes(models: BrowserModels): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();
  routes.get('/', async (c) => c.json<ListBody<BrowserModelEntry>>({ data: await models.list() }));
  return routes;
}

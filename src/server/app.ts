/**
 * The Hono app behind `tandem serve`: OpenAI-compatible /v1 routes over a ModelPool, with
 * the safety rules of a server on a developer's machine (Host check against DNS rebinding,
 * CORS for localhost and file:// pages, optional Bearer key, a body limit) and OpenAI-shaped
 * JSON errors: never a stack trace, never a 500 for bad input.
 *
 * This file only composes: the middleware (middleware/, registered before any route and in
 * the order they run) and the routes (routes/), each group a sub-app typed with the shared
 * ServerEnv and mounted at its path. With `web`, the web app's API (routes/api/), the
 * browser models' files and the web app itself are mounted too.
 */
import { Hono } from 'hono';
import { ConversationStore } from '../chat/conversations.js';
import { RagStore } from '../rag/rag-store.js';
import type { Database } from '../store/database.js';
import type { ServerMetrics } from './metrics.js';
import { requireKey } from './middleware/api-key.js';
import { apiBodyLimit } from './middleware/body-limit.js';
import { loopbackHostsOnly } from './middleware/loopback-host.js';
import { internalError, routeNotFound } from './middleware/openai-errors.js';
import {
  type AllowedOrigins,
  allowedOriginsOnly,
  corsHeaders,
  jsonPostsOnly,
  ownOriginOnly,
} from './middleware/origin.js';
import { requestMetrics } from './middleware/request-metrics.js';
import type { ModelPool } from './model-pool.js';
import { benchRunRoutes } from './routes/api/bench-runs.js';
import { browserModelListRoutes } from './routes/api/browser-models.js';
import { chatRoutes } from './routes/api/chat.js';
import { collectionRoutes } from './routes/api/collections.js';
import { conversationRoutes } from './routes/api/conversations.js';
import { messageRoutes } from './routes/api/messages.js';
import { servedModelRoutes } from './routes/api/models.js';
import { type BrowserModels, browserModelFileRoutes } from './routes/browser-models.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { chatCompletionRoutes } from './routes/v1/chat-completions.js';
import { embeddingRoutes } from './routes/v1/embeddings.js';
import { modelRoutes } from './routes/v1/models.js';
import { webAssetRoutes } from './routes/web-assets.js';
import type { ServerEnv } from './server-env.js';

export interface ServerAppOptions {
  pool: ModelPool;
  metrics: ServerMetrics;
  /** Bearer key every /v1, /api, /models and /metrics request must carry; undefined: none. */
  apiKey?: string;
  /** Allowed browser origins: 'localhost' (localhost, loopback addresses and `null`), a list, or '*'. */
  cors: AllowedOrigins;
  /** Refuse requests whose Host is not a loopback name (the server listens on loopback). */
  loopbackHostsOnly: boolean;
  maxBodyBytes: number;
  /** Names of the models whose weights are random (the demo models), for /v1/models. */
  isDemo?: (name: string) => boolean;
  clock?: () => number;
  /** Epoch seconds for `created`. */
  now?: () => number;
  /** The web app at `/` and its API under /api; left out, the server is the OpenAI API only. */
  web?: {
    /** The built app's folder (dist/web). */
    root: string;
    /** tandem's database: conversations, ratings, RAG collections. */
    database: Database;
    /** The engine (or server preset) behind a served model. */
    engineOf: (name: string) => string;
    /** ONNX model folders the "In the browser" page runs (GET /models/NAME/…). */
    browserModels?: BrowserModels;
  };
}

export function createServerApp(options: ServerAppOptions): Hono<ServerEnv> {
  const { pool, metrics } = options;
  const clock = options.clock ?? (() => performance.now());
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const app = new Hono<ServerEnv>();

  // Middleware first, in the order it runs: Hono runs what matches a request in the order it
  // was added, and the sub-apps mounted below carry routes only.
  app.use('*', requestMetrics(metrics));
  if (options.loopbackHostsOnly) app.use('*', loopbackHostsOnly);
  app.use('/models/*', ownOriginOnly);
  app.use('/api/*', ownOriginOnly);
  app.use('/api/*', jsonPostsOnly);
  app.use('/api/*', apiBodyLimit(options.maxBodyBytes));
  app.use('*', allowedOriginsOnly(options.cors));
  app.use('*', corsHeaders(options.cors));
  const keyRequired = requireKey(options.apiKey);
  app.use('/v1/*', keyRequired);
  app.use('/api/*', keyRequired);
  app.use('/models/*', keyRequired);
  app.use('/metrics', keyRequired);

  app.route('/health', healthRoutes({ pool, apiKey: options.apiKey }));
  app.route('/metrics', metricsRoutes(metrics));
  app.route('/v1/models', modelRoutes({ pool, isDemo: options.isDemo }));
  app.route(
    '/v1/chat/completions',
    chatCompletionRoutes({ pool, metrics, maxBodyBytes: options.maxBodyBytes, clock, now }),
  );
  app.route(
    '/v1/embeddings',
    embeddingRoutes({ pool, metrics, maxBodyBytes: options.maxBodyBytes }),
  );

  app.notFound(routeNotFound);
  app.onError(internalError);

  if (options.web !== undefined) {
    const { database, browserModels } = options.web;
    const conversations = new ConversationStore(database);
    // Answers a previous server left mid-stream (it crashed or was killed) are closed now.
    conversations.closeInterrupted();
    const rag = new RagStore(database);
    const isDemo = (name: string) => options.isDemo?.(name) === true;
    app.route('/api/models', servedModelRoutes({ pool, engineOf: options.web.engineOf, isDemo }));
    app.route('/api/collections', collectionRoutes(rag));
    const bench = benchRunRoutes(database);
    app.route('/api/bench/runs', bench.runs);
    app.route('/reports', bench.reports);
    app.route('/api/conversations', conversationRoutes(conversations));
    app.route('/api/messages', messageRoutes(conversations));
    app.route('/api/chat', chatRoutes({ pool, conversations, rag }));
    if (browserModels !== undefined) {
      app.route('/api/browser-models', browserModelListRoutes(browserModels));
      app.route('/models', browserModelFileRoutes(browserModels));
    }
    app.route('/', webAssetRoutes(options.web.root));
  }

  return app;
}

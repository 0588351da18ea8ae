/**
 * The Hono app behind `tandem serve`: OpenAI-compatible /v1 routes over a ModelPool, with
 * the safety rules of a server on a developer's machine (Host check against DNS rebinding,
 * CORS for localhost and file:// pages, optional Bearer key, a body limit) and OpenAI-shaped
 * JSON errors: never a stack trace, never a 500 for bad input.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import {
  ApiCallError,
  EndpointUnreachableError,
  errorLine,
  InvalidArgumentError,
  isAbortError,
  StreamInterruptedError,
  TimeoutError,
} from '../errors.js';
import type { Database } from '../store/database.js';
import type { ServerMetrics } from './metrics.js';
import { contentType as metricsContentType } from './metrics.js';
import { ModelBusyError, ModelLoadError, type ModelPool } from './model-pool.js';
import { addWebApi } from './routes/api/web-api.js';
import { addBrowserModelRoutes, type BrowserModels } from './routes/browser-models.js';
import {
  completeChat,
  completionId,
  type PrimedChat,
  primeChat,
  streamChat,
} from './routes/v1/chat-completions.js';
import {
  type OpenAIErrorBody,
  openAIError,
  parseChatCompletionRequest,
  parseEmbeddingsRequest,
  toGenerateRequest,
} from './routes/v1/openai-request.js';
import { serveWebAssets } from './routes/web-assets.js';

export interface ServerAppOptions {
  pool: ModelPool;
  metrics: ServerMetrics;
  /** Bearer key every /v1 and /metrics request must carry; undefined: none. */
  apiKey?: string;
  /** Allowed browser origins: 'localhost' (localhost, loopback addresses and `null`), a list, or '*'. */
  cors: 'localhost' | '*' | readonly string[];
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

type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 429 | 500 | 502 | 503 | 504;

function errorResponse(c: Context, status: ErrorStatus, body: OpenAIErrorBody): Response {
  return c.json(body, status);
}

/**
 * The status for a failed generation or embedding: a model served through another server
 * (the gateway case) that cannot be reached, times out or fails is a 502/504 from upstream,
 * not an internal error of this server.
 */
function failureStatus(error: unknown): 500 | 502 | 504 {
  if (error instanceof TimeoutError) return 504;
  if (
    error instanceof EndpointUnreachableError ||
    error instanceof ApiCallError ||
    error instanceof StreamInterruptedError
  ) {
    return 502;
  }
  return 500;
}

/** A loopback name with an optional port: localhost, *.localhost, 127.x.y.z, [::1]. */
const loopbackAuthority =
  '(?:localhost|[a-z0-9-]+\\.localhost|127(?:\\.\\d{1,3}){3}|\\[::1\\])(?::\\d{1,5})?';

const loopbackHostPattern = new RegExp(`^${loopbackAuthority}$`, 'i');

/** A page on localhost or a loopback address, any port (`null` is checked apart). */
const localhostOriginPattern = new RegExp(`^https?://${loopbackAuthority}$`, 'i');

function allowedOrigin(rule: ServerAppOptions['cors'], origin: string): string | null {
  if (rule === '*') return '*';
  if (rule === 'localhost') {
    return origin === 'null' || localhostOriginPattern.test(origin) ? origin : null;
  }
  return rule.includes(origin) ? origin : null;
}

/** Compares digests, so that neither the key's bytes nor its length leak through timing. */
function keysMatch(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function httpVersionOf(c: Context): string | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.httpVersion;
}

type BodyRead = { ok: true; body: unknown } | { ok: false; reason: 'not-json' | 'too-large' };

/**
 * The body as text, at most `maxBytes`. On Node it is read straight from the IncomingMessage
 * (a body length declared over the limit is refused before reading); through web streams it
 * cost ~0.1 ms per request, on the path to every first token.
 */
function readBodyText(c: Context, maxBytes: number): Promise<string | undefined> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming === undefined || incoming.readableEnded || incoming.readableDidRead) {
    return c.req.text().then((text) => (Buffer.byteLength(text) > maxBytes ? undefined : text));
  }
  const declared = Number(incoming.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let tooLarge = false;
    incoming.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      total += chunk.byteLength;
      if (total > maxBytes) {
        tooLarge = true;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    incoming.once('end', () => {
      if (!tooLarge) resolve(Buffer.concat(chunks, total).toString('utf8'));
    });
    incoming.once('error', reject);
  });
}

async function readJson(c: Context, maxBytes: number): Promise<BodyRead> {
  const text = await readBodyText(c, maxBytes);
  if (text === undefined) return { ok: false, reason: 'too-large' };
  try {
    return { ok: true, body: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'not-json' };
  }
}

function unreadable(c: Context, reason: 'not-json' | 'too-large', maxBytes: number): Response {
  if (reason === 'too-large') {
    return errorResponse(
      c,
      413,
      openAIError(
        `The request body is larger than ${maxBytes} bytes.`,
        'invalid_request_error',
        null,
        'request_too_large',
      ),
    );
  }
  return errorResponse(
    c,
    400,
    openAIError(
      'The request body is not valid JSON: send a JSON object with Content-Type: application/json.',
      'invalid_request_error',
      null,
      'invalid_json',
    ),
  );
}

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

export function createServerApp(
  options: ServerAppOptions,
): Hono<{ Variables: { servedModel: string } }> {
  const { pool, metrics } = options;
  const clock = options.clock ?? (() => performance.now());
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const app = new Hono<{ Variables: { servedModel: string } }>();

  const unknownModel = (c: Context, name: string): Response =>
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

  app.use('*', async (c, next) => {
    await next();
    metrics.countRequest(routeLabel(c.req.path), c.get('servedModel') ?? '', String(c.res.status));
  });

  if (options.loopbackHostsOnly) {
    app.use('*', async (c, next) => {
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
    });
  }

  // CORS headers only stop a page from reading the answer; a cross-origin "simple" POST
  // (text/plain, a form) would still run. A request whose Origin is not allowed is refused
  // before any work. Clients that are not browsers send no Origin.
  /** The page's own origin: the web app served here calls /api and /v1 from it. */
  const sameOrigin = (c: Context, origin: string): boolean =>
    origin === `${new URL(c.req.url).protocol}//${c.req.header('host') ?? ''}`;

  // The web app's API holds conversations: only the app itself (its own origin) or a client
  // that is not a browser (no Origin) may use it, never another site, nor `null`. A POST must
  // say it is JSON, so that a cross-site form or text/plain POST is refused before any work.
  const ownOriginOnly: MiddlewareHandler = async (c, next) => {
    const origin = c.req.header('origin');
    // A cross-site <img> or <script> sends no Origin, but browsers say where it comes from.
    const crossSite = c.req.header('sec-fetch-site') === 'cross-site';
    if (crossSite || (origin !== undefined && !sameOrigin(c, origin))) {
      return c.json(
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
  app.use('/models/*', ownOriginOnly);
  app.use('/api/*', ownOriginOnly);
  app.use('/api/*', async (c, next) => {
    if (c.req.method === 'POST') {
      if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('application/json')) {
        return c.json({ error: { message: 'Send the body as application/json.' } }, 415);
      }
    }
    await next();
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: options.maxBodyBytes,
      onError: (c) =>
        c.json(
          {
            error: {
              message: `The body is over this server's limit of ${options.maxBodyBytes} bytes: send fewer or shorter documents.`,
            },
          },
          413,
        ),
    }),
  );

  app.use('*', async (c, next) => {
    const origin = c.req.header('origin');
    if (
      origin !== undefined &&
      !sameOrigin(c, origin) &&
      allowedOrigin(options.cors, origin) === null
    ) {
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
  });

  app.use(
    '*',
    cors({
      origin: (origin) => allowedOrigin(options.cors, origin),
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      maxAge: 600,
    }),
  );

  /** True without a configured key, or when the request carries it. */
  const hasKey = (c: Context): boolean => {
    const key = options.apiKey;
    if (key === undefined) return true;
    const match = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
    return match !== null && keysMatch((match[1] as string).trim(), key);
  };

  const requireKey: MiddlewareHandler = async (c, next) => {
    if (c.req.method === 'OPTIONS') return next();
    if (!hasKey(c)) {
      return errorResponse(
        c,
        401,
        openAIError(
          'Missing or wrong API key: send Authorization: Bearer <the key given to tandem serve --api-key>.',
          'invalid_request_error',
          null,
          'invalid_api_key',
        ),
      );
    }
    return next();
  };
  app.use('/v1/*', requireKey);
  app.use('/api/*', requireKey);
  app.use('/models/*', requireKey);
  app.use('/metrics', requireKey);

  // Open to health checks; the models are listed only to a caller with the key.
  app.get('/health', (c) =>
    c.json(
      hasKey(c)
        ? {
            status: 'ok',
            models: pool.names.map((name) => ({ id: name, loaded: pool.isLoaded(name) })),
          }
        : { status: 'ok' },
    ),
  );

  app.get('/metrics', (c) => {
    c.header('content-type', metricsContentType);
    return c.body(metrics.render());
  });

  const modelObject = (name: string): Record<string, unknown> => {
    const entry: Record<string, unknown> = {
      id: name,
      object: 'model',
      created: 0,
      owned_by: 'tandem',
      reference: pool.referenceOf(name),
      loaded: pool.isLoaded(name),
    };
    if (options.isDemo?.(name) === true) entry.random_weights = true;
    return entry;
  };

  app.get('/v1/models', (c) =>
    c.json({ object: 'list', data: pool.names.map((name) => modelObject(name)) }),
  );

  app.get('/v1/models/:id{.+}', (c) => {
    const name = c.req.param('id');
    if (!pool.has(name)) return unknownModel(c, name);
    return c.json(modelObject(name));
  });

  /** A slot on the model, or the error response that says why there is none. */
  async function lease(c: Context, name: string, signal: AbortSignal) {
    try {
      return { ok: true as const, lease: await pool.acquire(name, signal) };
    } catch (error) {
      if (error instanceof ModelBusyError) {
        c.header('retry-after', String(error.retryAfterSeconds));
        return {
          ok: false as const,
          response: errorResponse(
            c,
            429,
            openAIError(error.message, 'rate_limit_error', null, 'model_busy'),
          ),
        };
      }
      if (error instanceof ModelLoadError) {
        return {
          ok: false as const,
          response: errorResponse(
            c,
            503,
            openAIError(errorLine(error), 'server_error', 'model', 'model_load_failed'),
          ),
        };
      }
      if (isAbortError(error)) {
        return {
          ok: false as const,
          response: errorResponse(
            c,
            400,
            openAIError('The client went away.', 'invalid_request_error', null, 'client_closed'),
          ),
        };
      }
      return {
        ok: false as const,
        response: errorResponse(
          c,
          503,
          openAIError(errorLine(error), 'server_error', null, 'unavailable'),
        ),
      };
    }
  }

  app.post('/v1/chat/completions', async (c) => {
    const receivedAt = clock();
    const json = await readJson(c, options.maxBodyBytes);
    if (!json.ok) return unreadable(c, json.reason, options.maxBodyBytes);
    const parsed = parseChatCompletionRequest(json.body);
    if (!parsed.ok) return errorResponse(c, 400, parsed.error);
    const request = parsed.request;
    if (!pool.has(request.model)) return unknownModel(c, request.model);
    c.set('servedModel', request.model);
    const controller = new AbortController();
    const clientSignal = c.req.raw.signal;
    const onClientGone = (): void => controller.abort();
    if (clientSignal.aborted) controller.abort();
    clientSignal.addEventListener('abort', onClientGone, { once: true });
    const slot = await lease(c, request.model, controller.signal);
    if (!slot.ok) {
      clientSignal.removeEventListener('abort', onClientGone);
      return slot.response;
    }
    const generationStartedAt = clock();
    const run = {
      id: completionId(),
      created: now(),
      model: request.model,
      engine: slot.lease.engine,
      request: toGenerateRequest(request, controller.signal),
      includeUsage: request.includeUsage,
      clock,
      onDone: (
        figures: Parameters<Parameters<typeof streamChat>[0]['onDone']>[0],
        error: unknown,
      ) => {
        clientSignal.removeEventListener('abort', onClientGone);
        slot.lease.release();
        metrics.countTokens(request.model, figures.promptTokens, figures.completionTokens);
        // The metrics count from the request, queue wait and model load included.
        const beforeGenerationMs = generationStartedAt - receivedAt;
        if (figures.timeToFirstTokenMs !== undefined) {
          metrics.observeTimeToFirstTokenSeconds(
            request.model,
            (beforeGenerationMs + figures.timeToFirstTokenMs) / 1000,
          );
        }
        if (error === undefined) {
          metrics.observeRequestDurationSeconds(
            request.model,
            (beforeGenerationMs + figures.durationMs) / 1000,
          );
        }
      },
    };
    const failed = (error: unknown): Response =>
      error instanceof InvalidArgumentError
        ? errorResponse(
            c,
            400,
            openAIError(errorLine(error), 'invalid_request_error', null, 'invalid_value'),
          )
        : errorResponse(
            c,
            failureStatus(error),
            openAIError(
              `The generation failed: ${errorLine(error)}`,
              'server_error',
              null,
              'generation_failed',
            ),
          );
    if (!request.stream) {
      try {
        return c.json(await completeChat(run));
      } catch (error) {
        return failed(error);
      }
    }
    let primed: PrimedChat;
    try {
      primed = await primeChat(run);
    } catch (error) {
      return failed(error);
    }
    return new Response(
      streamChat(run, primed, () => controller.abort()),
      {
        status: 200,
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          'x-accel-buffering': 'no',
          // Said outright: without it @hono/node-server waits for a second chunk (and a timer
          // tick) to see whether it can send a Content-Length, which delays the first token.
          // HTTP/1.0 has no chunked coding: its stream ends when the connection closes.
          ...(httpVersionOf(c) === '1.0' ? {} : { 'transfer-encoding': 'chunked' }),
        },
      },
    );
  });

  app.post('/v1/embeddings', async (c) => {
    const json = await readJson(c, options.maxBodyBytes);
    if (!json.ok) return unreadable(c, json.reason, options.maxBodyBytes);
    const parsed = parseEmbeddingsRequest(json.body);
    if (!parsed.ok) return errorResponse(c, 400, parsed.error);
    const request = parsed.request;
    if (!pool.has(request.model)) return unknownModel(c, request.model);
    c.set('servedModel', request.model);
    const slot = await lease(c, request.model, c.req.raw.signal);
    if (!slot.ok) return slot.response;
    try {
      const engine = slot.lease.engine;
      if (engine.embed === undefined) {
        return errorResponse(
          c,
          400,
          openAIError(
            `The model '${request.model}' cannot make embeddings.`,
            'invalid_request_error',
            'model',
            'embeddings_not_supported',
          ),
        );
      }
      const result = await engine.embed({ inputs: request.inputs, signal: c.req.raw.signal });
      metrics.countTokens(request.model, result.promptTokens, 0);
      const data = result.embeddings.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding:
          request.encodingFormat === 'base64'
            ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
            : vector,
      }));
      const promptTokens = result.promptTokens ?? 0;
      return c.json({
        object: 'list',
        data,
        model: request.model,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      });
    } catch (error) {
      if (error instanceof InvalidArgumentError) {
        return errorResponse(
          c,
          400,
          openAIError(errorLine(error), 'invalid_request_error', 'input', 'invalid_value'),
        );
      }
      return errorResponse(
        c,
        failureStatus(error),
        openAIError(
          `The embedding failed: ${errorLine(error)}`,
          'server_error',
          null,
          'embedding_failed',
        ),
      );
    } finally {
      slot.lease.release();
    }
  });

  app.notFound((c) =>
    errorResponse(
      c,
      404,
      openAIError(
        `No route for ${c.req.method} ${c.req.path}. Routes: POST /v1/chat/completions, GET /v1/models, GET /v1/models/{id}, POST /v1/embeddings, GET /health, GET /metrics.`,
        'invalid_request_error',
        null,
        'not_found',
      ),
    ),
  );

  app.onError((error, c) =>
    errorResponse(
      c,
      500,
      openAIError(`Internal error: ${errorLine(error)}`, 'server_error', null, 'internal_error'),
    ),
  );

  if (options.web !== undefined) {
    addWebApi(app, {
      pool,
      database: options.web.database,
      engineOf: options.web.engineOf,
      isDemo: (name) => options.isDemo?.(name) === true,
    });
    if (options.web.browserModels !== undefined) {
      addBrowserModelRoutes(app, options.web.browserModels);
    }
    serveWebAssets(app, options.web.root);
  }

  return app;
}

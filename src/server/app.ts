/**
 * The Hono app behind `tandem serve`: OpenAI-compatible /v1 routes over a ModelPool, with
 * the safety rules of a server on a developer's machine (Host check against DNS rebinding,
 * CORS for localhost and file:// pages, optional Bearer key, a body limit) and OpenAI-shaped
 * JSON errors: never a stack trace, never a 500 for bad input.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { errorLine, InvalidArgumentError, isAbortError } from '../errors.js';
import type { Database } from '../store/database.js';
import type { ServerMetrics } from './metrics.js';
import { contentType as metricsContentType } from './metrics.js';
import { hasKey, requireKey } from './middleware/api-key.js';
import { apiBodyLimit } from './middleware/body-limit.js';
import { loopbackHostsOnly } from './middleware/loopback-host.js';
import {
  errorResponse,
  failureStatus,
  internalError,
  routeNotFound,
} from './middleware/openai-errors.js';
import {
  type AllowedOrigins,
  allowedOriginsOnly,
  corsHeaders,
  jsonPostsOnly,
  ownOriginOnly,
} from './middleware/origin.js';
import { requestMetrics } from './middleware/request-metrics.js';
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
  openAIError,
  parseChatCompletionRequest,
  parseEmbeddingsRequest,
  toGenerateRequest,
} from './routes/v1/openai-request.js';
import { serveWebAssets } from './routes/web-assets.js';
import type { ServerEnv } from './server-env.js';

export interface ServerAppOptions {
  pool: ModelPool;
  metrics: ServerMetrics;
  /** Bearer key every /v1 and /metrics request must carry; undefined: none. */
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

export function createServerApp(options: ServerAppOptions): Hono<ServerEnv> {
  const { pool, metrics } = options;
  const clock = options.clock ?? (() => performance.now());
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const app = new Hono<ServerEnv>();

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

  // Open to health checks; the models are listed only to a caller with the key.
  app.get('/health', (c) =>
    c.json(
      hasKey(c, options.apiKey)
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

  app.notFound(routeNotFound);
  app.onError(internalError);

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

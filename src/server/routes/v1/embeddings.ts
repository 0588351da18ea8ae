/**
 * POST /v1/embeddings: the vectors of a model that makes them, as floats or base64 (the
 * float32 bytes), with the prompt tokens counted into the metrics.
 */
import { Hono } from 'hono';
import { errorLine, InvalidArgumentError } from '../../../errors.js';
import type { ServerMetrics } from '../../metrics.js';
import { errorResponse, failureStatus } from '../../middleware/openai-errors.js';
import type { ModelPool } from '../../model-pool.js';
import type { ServerEnv } from '../../server-env.js';
import { readJson, unreadable } from './json-body.js';
import { lease } from './model-lease.js';
import { unknownModel } from './models.js';
import { openAIError, parseEmbeddingsRequest } from './openai-request.js';

export interface EmbeddingRoutesOptions {
  pool: ModelPool;
  metrics: ServerMetrics;
  maxBodyBytes: number;
}

/** Mounted at /v1/embeddings. */
export function embeddingRoutes({
  pool,
  metrics,
  maxBodyBytes,
}: EmbeddingRoutesOptions): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();
  routes.post('/', async (c) => {
    const json = await readJson(c, maxBodyBytes);
    if (!json.ok) return unreadable(c, json.reason, maxBodyBytes);
    const parsed = parseEmbeddingsRequest(json.body);
    if (!parsed.ok) return errorResponse(c, 400, parsed.error);
    const request = parsed.request;
    if (!pool.has(request.model)) return unknownModel(c, pool, request.model);
    c.set('servedModel', request.model);
    const slot = await lease(c, pool, request.model, c.req.raw.signal);
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
  return routes;
}

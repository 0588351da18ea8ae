/**
 * POST /v1/chat/completions on one engine: the engine's parts become OpenAI chunks (SSE,
 * ending in `data: [DONE]`) or one chat.completion object, each with llama-server-style
 * `timings` measured here, so a client can tell server time from transport. The route reads
 * the request, takes a slot on the model, and counts tokens and latencies into the metrics
 * from the moment the request arrived (queue wait and model load included).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type {
  Engine,
  EngineInfo,
  FinishReason,
  GenerateRequest,
  StreamPart,
} from '../../../engines/spec.js';
import { errorLine, InvalidArgumentError, isAbortError } from '../../../errors.js';
import type { TokenCountSource, UsageRecord } from '../../../measure/usage-record.js';
import type { ServerMetrics } from '../../metrics.js';
import { errorResponse, failureStatus } from '../../middleware/openai-errors.js';
import type { ModelPool } from '../../model-pool.js';
import type { ServerEnv } from '../../server-env.js';
import { readJson, unreadable } from './json-body.js';
import { lease } from './model-lease.js';
import { unknownModel } from './models.js';
import { openAIError, parseChatCompletionRequest, toGenerateRequest } from './openai-request.js';

export interface CompletionFigures {
  promptTokens: number | undefined;
  completionTokens: number;
  /** `usage` or `engine` when the engine said so, `estimate` when deltas were counted. */
  completionTokensSource: TokenCountSource;
  /** From the start of generation to the first token, ms. */
  timeToFirstTokenMs: number | undefined;
  /** From the start of generation to the end, ms. */
  durationMs: number;
  finishReason: FinishReason;
}

/** llama-server's `timings` object: prompt (to the first token) and prediction phases. */
export interface ServerTimingsBody {
  prompt_n: number | undefined;
  prompt_ms: number | undefined;
  prompt_per_second: number | undefined;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_token_ms: number | undefined;
  predicted_per_second: number | undefined;
}

const encoder = new TextEncoder();

export function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString('hex')}`;
}

function openAIFinishReason(reason: FinishReason): string {
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool-calls':
      return 'tool_calls';
    case 'content-filter':
      return 'content_filter';
    default:
      return 'stop';
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function timingsOf(figures: CompletionFigures): ServerTimingsBody {
  const promptMs = figures.timeToFirstTokenMs;
  const predictedMs = promptMs === undefined ? 0 : Math.max(0, figures.durationMs - promptMs);
  const predictedTokens = figures.completionTokens;
  // The first token closes the prompt phase; the rest are the prediction phase.
  const decodeTokens = Math.max(0, predictedTokens - 1);
  return {
    prompt_n: figures.promptTokens,
    prompt_ms: promptMs === undefined ? undefined : round(promptMs),
    prompt_per_second:
      promptMs !== undefined && promptMs > 0 && figures.promptTokens !== undefined
        ? round((figures.promptTokens * 1000) / promptMs)
        : undefined,
    predicted_n: predictedTokens,
    predicted_ms: round(predictedMs),
    predicted_per_token_ms: decodeTokens > 0 ? round(predictedMs / decodeTokens) : undefined,
    predicted_per_second:
      decodeTokens > 0 && predictedMs > 0 ? round((decodeTokens * 1000) / predictedMs) : undefined,
  };
}

/**
 * A served completion as a UsageRecord (measure/usage-record.ts): its tokens with their
 * provenance, its timings from the start of generation, the wait before it (`queueMs`: from
 * the request's arrival, a free slot and the model's load included), and the engine that
 * answered.
 */
export function usageOfCompletion(
  figures: CompletionFigures,
  info: EngineInfo,
  queueMs: number,
): UsageRecord {
  const answered = figures.timeToFirstTokenMs !== undefined;
  return {
    promptTokens: figures.promptTokens,
    outputTokens: figures.completionTokens,
    outputTokensSource: figures.completionTokensSource,
    reasoningTokens: undefined,
    queueMs,
    ttftMs: figures.timeToFirstTokenMs,
    e2eMs: answered ? figures.durationMs : undefined,
    engine: info.engine,
    model: info.model,
    threads: info.threads,
    gpu: info.gpu,
    device: info.device,
    dtype: info.dtype,
    baseUrl: info.baseUrl,
  };
}

export interface ChatRun {
  id: string;
  created: number;
  /** The model name the client asked for (not the engine's reference). */
  model: string;
  engine: Engine;
  request: GenerateRequest;
  includeUsage: boolean;
  clock: () => number;
  /** Called once with the figures, whether the run ended well or not. */
  onDone: (figures: CompletionFigures, error: unknown) => void;
  /**
   * A streaming client that reads nothing for this long (its socket buffers full) loses its
   * stream, so that it cannot hold a slot forever. Default 60 000 ms.
   */
  stallTimeoutMs?: number;
}

/** Runs the generation, collecting figures as parts arrive. */
async function* measured(
  run: ChatRun,
  figures: CompletionFigures,
  startedAt: number,
): AsyncGenerator<StreamPart> {
  // Counted by the engine while every token delta says how many tokens it carries.
  let countedByEngine = true;
  // for await: leaving the loop (an error part thrown here, the consumer's return()) runs
  // the engine's own cleanup — its sequence, its connection — before anything else.
  for await (const part of run.engine.stream(run.request)) {
    if (part.type === 'error') throw part.error;
    if ((part.type === 'text-delta' || part.type === 'reasoning-delta') && part.text !== '') {
      const at = run.clock() - startedAt;
      figures.timeToFirstTokenMs ??= at;
      // The end is the last token, not the finish part (DESIGN.md's E2E).
      figures.durationMs = at;
      if (part.tokenCount === undefined) figures.completionTokens += 1;
      else figures.completionTokens += part.tokenCount;
      countedByEngine &&= part.tokenCount !== undefined;
      figures.completionTokensSource = countedByEngine ? 'engine' : 'estimate';
    }
    if (part.type === 'finish') {
      figures.finishReason = part.finishReason;
      if (part.usage.inputTokens !== undefined) figures.promptTokens = part.usage.inputTokens;
      if (part.usage.outputTokens !== undefined) {
        figures.completionTokens = part.usage.outputTokens;
        figures.completionTokensSource = part.usageSource;
      }
    }
    yield part;
  }
}

function newFigures(): CompletionFigures {
  return {
    promptTokens: undefined,
    completionTokens: 0,
    completionTokensSource: 'estimate',
    timeToFirstTokenMs: undefined,
    durationMs: 0,
    finishReason: 'stop',
  };
}

function usageOf(figures: CompletionFigures): Record<string, number> {
  const promptTokens = figures.promptTokens ?? 0;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: figures.completionTokens,
    total_tokens: promptTokens + figures.completionTokens,
  };
}

/** The whole answer as one chat.completion object. Throws what the engine throws. */
export async function completeChat(run: ChatRun): Promise<Record<string, unknown>> {
  const figures = newFigures();
  const startedAt = run.clock();
  let content = '';
  let reasoning = '';
  try {
    for await (const part of measured(run, figures, startedAt)) {
      if (part.type === 'text-delta') content += part.text;
      else if (part.type === 'reasoning-delta') reasoning += part.text;
      else if (part.type === 'error') throw part.error;
    }
  } catch (error) {
    run.onDone(figures, error);
    throw error;
  }
  run.onDone(figures, undefined);
  const message: Record<string, unknown> = { role: 'assistant', content };
  if (reasoning !== '') message.reasoning_content = reasoning;
  return {
    id: run.id,
    object: 'chat.completion',
    created: run.created,
    model: run.model,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: openAIFinishReason(figures.finishReason),
      },
    ],
    usage: usageOf(figures),
    timings: timingsOf(figures),
  };
}

/** A generation whose first part has arrived: it started, so the answer can be a 200 stream. */
export interface PrimedChat {
  figures: CompletionFigures;
  startedAt: number;
  iterator: AsyncGenerator<StreamPart>;
  first: IteratorResult<StreamPart>;
}

/**
 * Starts the generation and waits for its first real part (a token, or the end), so that a
 * request that fails before answering — a JSON schema the grammar cannot enforce, an
 * upstream that is down or answers 500 — gets its own HTTP status rather than a 200 stream
 * with an error in it. The client's TTFT is unchanged: the head goes out with the first
 * token. Throws what the engine throws (onDone already called).
 */
export async function primeChat(run: ChatRun): Promise<PrimedChat> {
  const figures = newFigures();
  const startedAt = run.clock();
  const iterator = measured(run, figures, startedAt);
  try {
    let first = await iterator.next();
    // Past `request-start`: a server engine only knows the upstream answered once its first
    // chunk is in, and an embedded one has then produced its first token.
    while (!first.done && first.value.type === 'request-start') first = await iterator.next();
    if (!first.done && first.value.type === 'error') throw first.value.error;
    return { figures, startedAt, iterator, first };
  } catch (error) {
    run.onDone(figures, error);
    throw error;
  }
}

/**
 * The answer as a byte stream of SSE events. Cancelling the stream (the client went away)
 * aborts the generation through `abort`. A failure after the first byte ends the stream
 * with an `error` event and `[DONE]`, never a hang.
 */
export function streamChat(
  run: ChatRun,
  primed: PrimedChat,
  abort: () => void,
): ReadableStream<Uint8Array> {
  const { figures } = primed;
  const head = `{"id":"${run.id}","object":"chat.completion.chunk","created":${run.created},"model":${JSON.stringify(run.model)},`;
  const chunk = (choices: string, extra = ''): string =>
    `data: ${head}"choices":${choices}${extra}}\n\n`;
  const delta = (
    fields: Record<string, unknown>,
    finishReason: string | null,
    extra = '',
  ): string =>
    chunk(
      `[{"index":0,"delta":${JSON.stringify(fields)},"logprobs":null,"finish_reason":${finishReason === null ? 'null' : `"${finishReason}"`}}]`,
      extra,
    );
  const iterator = primed.iterator;
  let pending: IteratorResult<StreamPart> | undefined = primed.first;
  let done = false;
  const finish = (error: unknown): void => {
    if (done) return;
    done = true;
    clearInterval(watchdog);
    run.onDone(figures, error);
  };
  // Since when a chunk has waited for the reader to take it (undefined: the reader is
  // waiting for us). One timer per stream checks it, rather than one timer per chunk.
  let waitingForReaderSince: number | undefined = run.clock();
  const stallTimeoutMs = run.stallTimeoutMs ?? 60_000;
  let streamController: ReadableStreamDefaultController<Uint8Array> | undefined;
  const watchdog = setInterval(
    () => {
      const since = waitingForReaderSince;
      if (done || since === undefined || run.clock() - since < stallTimeoutMs) return;
      const error = new Error(
        `The client read nothing for ${stallTimeoutMs >= 1000 ? `${Math.round(stallTimeoutMs / 1000)} s` : `${stallTimeoutMs} ms`}; its stream was ended to free its slot.`,
      );
      abort();
      streamController?.error(error);
      void iterator
        .return(undefined)
        .catch(() => undefined)
        .then(() => finish(error));
    },
    Math.max(10, Math.min(stallTimeoutMs / 2, 5000)),
  );
  watchdog.unref();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      streamController = controller;
      let opening = delta({ role: 'assistant', content: '' }, null);
      // The primed first token goes out with the opening chunk, in one write.
      const first = pending;
      if (first !== undefined && !first.done && first.value.type === 'text-delta') {
        opening += delta({ content: first.value.text }, null);
        pending = undefined;
      }
      controller.enqueue(encoder.encode(opening));
    },
    async pull(controller) {
      waitingForReaderSince = undefined;
      try {
        for (;;) {
          const next = pending ?? (await iterator.next());
          pending = undefined;
          if (next.done) {
            // The finish chunk carries the timings, as llama-server's last chunk does.
            let tail = delta(
              {},
              openAIFinishReason(figures.finishReason),
              `,"timings":${JSON.stringify(timingsOf(figures))}`,
            );
            if (run.includeUsage) {
              tail += chunk('[]', `,"usage":${JSON.stringify(usageOf(figures))}`);
            }
            tail += 'data: [DONE]\n\n';
            controller.enqueue(encoder.encode(tail));
            controller.close();
            finish(undefined);
            return;
          }
          const part = next.value;
          if (part.type === 'text-delta' && part.text !== '') {
            controller.enqueue(encoder.encode(delta({ content: part.text }, null)));
            waitingForReaderSince = run.clock();
            return;
          }
          if (part.type === 'reasoning-delta' && part.text !== '') {
            controller.enqueue(encoder.encode(delta({ reasoning_content: part.text }, null)));
            waitingForReaderSince = run.clock();
            return;
          }
          if (part.type === 'error') throw part.error;
        }
      } catch (error) {
        finish(error);
        if (isAbortError(error)) {
          controller.close();
          return;
        }
        const body = {
          error: {
            message: `The generation failed: ${errorLine(error)}`,
            type: 'server_error',
            param: null,
            code: 'generation_failed',
          },
        };
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(body)}\n\ndata: [DONE]\n\n`));
        controller.close();
      }
    },
    async cancel() {
      abort();
      // The slot is given back only once the generation has really stopped.
      await iterator.return(undefined).catch(() => undefined);
      finish(new Error('The client closed the stream.'));
    },
  });
}

function httpVersionOf(c: Context): string | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.httpVersion;
}

export interface ChatCompletionRoutesOptions {
  pool: ModelPool;
  metrics: ServerMetrics;
  maxBodyBytes: number;
  clock: () => number;
  /** Epoch seconds for `created`. */
  now: () => number;
}

/** Mounted at /v1/chat/completions. */
export function chatCompletionRoutes({
  pool,
  metrics,
  maxBodyBytes,
  clock,
  now,
}: ChatCompletionRoutesOptions): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();
  routes.post('/', async (c) => {
    const receivedAt = clock();
    const json = await readJson(c, maxBodyBytes);
    if (!json.ok) return unreadable(c, json.reason, maxBodyBytes);
    const parsed = parseChatCompletionRequest(json.body);
    if (!parsed.ok) return errorResponse(c, 400, parsed.error);
    const request = parsed.request;
    if (!pool.has(request.model)) return unknownModel(c, pool, request.model);
    c.set('servedModel', request.model);
    const controller = new AbortController();
    const clientSignal = c.req.raw.signal;
    const onClientGone = (): void => controller.abort();
    if (clientSignal.aborted) controller.abort();
    clientSignal.addEventListener('abort', onClientGone, { once: true });
    const slot = await lease(c, pool, request.model, controller.signal);
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
        // The metrics count from the request, queue wait and model load included.
        const usage = usageOfCompletion(
          figures,
          slot.lease.engine.info,
          generationStartedAt - receivedAt,
        );
        metrics.countTokens(request.model, usage.promptTokens, usage.outputTokens);
        if (usage.ttftMs !== undefined) {
          metrics.observeTimeToFirstTokenSeconds(
            request.model,
            (usage.queueMs + usage.ttftMs) / 1000,
          );
        }
        if (error === undefined) {
          metrics.observeRequestDurationSeconds(
            request.model,
            (usage.queueMs + (usage.e2eMs ?? 0)) / 1000,
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
  return routes;
}

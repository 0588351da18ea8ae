/**
 * The web app's API under /api (same origin as /v1): the served models, the RAG collections,
 * conversations with their ratings, and the chat itself as server-sent events.
 *
 * POST /api/chat streams `start` (conversation and message ids), `sources` (for a grounded
 * question, before generation), `delta` (text as it is generated), then `done` or `error`
 * with the stored answer: its figures (measured here as `tandem run` measures), sources and
 * citation check. The answer is stored as it ends, however it ends: a closed tab or the stop
 * button keeps the text so far, marked `aborted`.
 */

import { randomBytes } from 'node:crypto';
import type { Context, Env, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { getRun, listRuns } from '../../../bench/history/bench-store.js';
import { renderHtml } from '../../../bench/reports/html.js';
import { fitHistory } from '../../../chat/chat-history.js';
import {
  type ChatMessage,
  ConversationNotFoundError,
  ConversationStore,
  MessageNotFoundError,
} from '../../../chat/conversations.js';
import type { ChatMessage as EngineMessage } from '../../../engines/spec.js';
import { errorLine } from '../../../errors.js';
import { GenerationError, measureRun, type RunResult } from '../../../generate/generate.js';
import {
  askGrounded,
  type GroundedAnswer,
  type GroundedSource,
  sourceLabel,
} from '../../../rag/ask.js';
import { indexTexts } from '../../../rag/ingest/ingest.js';
import { type RagCollection, RagStore } from '../../../rag/rag-store.js';
import type { Database } from '../../../store/database.js';
import { RunNotFoundError } from '../../../store/errors.js';
import type { ModelPool } from '../../model-pool.js';

export interface WebApiOptions {
  pool: ModelPool;
  /** tandem's database: conversations, ratings and RAG collections. */
  database: Database;
  /** The engine behind a served model, for the model list. */
  engineOf: (name: string) => string;
  isDemo: (name: string) => boolean;
}

/** How often a streaming answer's text so far is written to the store. */
const PARTIAL_SAVE_INTERVAL_MS = 1000;

/** The most text a pasted document may hold (characters), and how many documents. */
const MAX_DOCUMENT_CHARACTERS = 2_000_000;
const MAX_DOCUMENTS = 50;

const chatRequest = z.object({
  model: z.string().min(1).max(200),
  question: z.string().trim().min(1, 'the question is empty').max(20_000),
  conversationId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  documents: z.array(z.string().max(MAX_DOCUMENT_CHARACTERS)).min(1).max(MAX_DOCUMENTS).optional(),
  collection: z.string().min(1).max(64).optional(),
  k: z.number().int().min(1).max(20).default(4),
  maxTokens: z.number().int().min(1).max(8192).default(256),
  temperature: z.number().min(0).max(2).default(0),
});

const ratingRequest = z.object({
  rating: z.union([z.literal(1), z.literal(-1), z.null()]),
  comment: z.string().max(2000).optional(),
});

/** A source as the page shows it. */
function pageSource(source: GroundedSource) {
  return {
    number: source.number,
    chunkId: source.chunkId,
    label: sourceLabel(source),
    source: source.source,
    excerpt: source.excerpt,
    score: source.score,
    truncated: source.truncated,
  };
}

/** The figures the page shows under an answer (all measured by the server). */
function answerFigures(run: RunResult | undefined, retrievalMs: number | undefined) {
  return {
    ...(run === undefined
      ? {}
      : {
          ttftMs: run.ttftMs,
          e2eMs: run.e2eMs,
          decodeTokensPerSecond: run.decodeTokensPerSecond,
          outputTokens: run.outputTokens,
          outputTokensSource: run.outputTokensSource,
          promptTokens: run.promptTokens,
          queueMs: run.queueMs,
          demo: run.isDemo,
        }),
    ...(retrievalMs === undefined ? {} : { retrievalMs }),
  };
}

/** A stored message as the page reads it. */
function pageMessage(message: ChatMessage) {
  return {
    id: message.id,
    role: message.role,
    content: message.content,
    model: message.model,
    figures: message.figures,
    sources: message.sources,
    citations: message.citations,
    finish: message.finish,
    error: message.error,
    rating: message.rating,
    ratingComment: message.ratingComment,
  };
}

function apiError(c: Context, status: 400 | 404, message: string): Response {
  return c.json({ error: { message } }, status);
}

export function addWebApi<E extends Env>(app: Hono<E>, options: WebApiOptions): void {
  const { pool, database } = options;
  const conversations = new ConversationStore(database);
  // Answers a previous server left mid-stream (it crashed or was killed) are closed now.
  conversations.closeInterrupted();
  const rag = new RagStore(database);
  // The routes use no variables of the app's environment.
  const route = app as unknown as Hono;

  route.get('/api/models', (c) =>
    c.json({
      data: pool.names.map((name) => ({
        name,
        reference: pool.referenceOf(name),
        engine: options.engineOf(name),
        demo: options.isDemo(name),
        loaded: pool.isLoaded(name),
      })),
    }),
  );

  route.get('/api/collections', (c) =>
    c.json({
      data: rag.listCollections().map((collection) => ({
        name: collection.name,
        documentCount: collection.documentCount,
        chunkCount: collection.chunkCount,
      })),
    }),
  );

  route.get('/api/bench/runs', (c) =>
    c.json({
      data: listRuns(database, { limit: 50 }).map((run) => ({
        id: run.id,
        name: run.name,
        startedAt: run.startedAt,
        status: run.status,
        models: run.models,
        requests: run.requests,
      })),
    }),
  );

  // A stored bench run as the same HTML report `tandem bench --report x.html` writes.
  const report = (c: Context, runId: number) => {
    try {
      return c.html(renderHtml(getRun(database, runId)));
    } catch (error) {
      if (error instanceof RunNotFoundError) return apiError(c, 404, error.message);
      throw error;
    }
  };
  route.get('/api/bench/runs/:id{[0-9]+}/report', (c) => report(c, Number(c.req.param('id'))));

  // A browser tab opened on a report sends no API key: with a key, the page asks for a link
  // that works once, within a minute, for that report only.
  const reportLinks = new Map<string, { runId: number; expiresAt: number }>();
  route.post('/api/bench/runs/:id{[0-9]+}/report-link', (c) => {
    const now = Date.now();
    for (const [token, link] of reportLinks) {
      if (link.expiresAt < now) reportLinks.delete(token);
    }
    const token = randomBytes(24).toString('base64url');
    reportLinks.set(token, { runId: Number(c.req.param('id')), expiresAt: now + 60_000 });
    return c.json({ url: `/reports/${token}` });
  });
  route.get('/reports/:token', (c) => {
    const link = reportLinks.get(c.req.param('token'));
    reportLinks.delete(c.req.param('token'));
    if (link === undefined || link.expiresAt < Date.now()) {
      return apiError(
        c,
        404,
        'This report link was used or is over a minute old: open the report again from the Compare page.',
      );
    }
    return report(c, link.runId);
  });

  route.get('/api/conversations', (c) =>
    c.json({
      data: conversations.list().map((conversation) => ({
        id: conversation.id,
        title: conversation.title,
        updatedAt: conversation.updatedAt,
        messageCount: conversation.messageCount,
      })),
    }),
  );

  /** A conversation id from the path; 0 when it is not one (no conversation has it). */
  const conversationId = (c: Context) => {
    const id = Number(c.req.param('id'));
    return Number.isSafeInteger(id) && id > 0 ? id : 0;
  };

  route.get('/api/conversations/:id{[0-9]+}', (c) => {
    const id = conversationId(c);
    const conversation = id === 0 ? undefined : conversations.get(id);
    if (conversation === undefined) {
      return apiError(c, 404, `No conversation ${c.req.param('id')}: reload the list.`);
    }
    return c.json({
      id: conversation.id,
      title: conversation.title,
      messages: conversation.messages.map(pageMessage),
    });
  });

  route.delete('/api/conversations/:id{[0-9]+}', (c) => {
    const id = conversationId(c);
    const removed = id !== 0 && conversations.remove(id);
    return removed
      ? c.json({ removed: true })
      : apiError(c, 404, `No conversation ${c.req.param('id')}: reload the list.`);
  });

  route.post('/api/messages/:id{[0-9]+}/rating', async (c) => {
    const parsed = ratingRequest.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      return apiError(
        c,
        400,
        'Send {"rating": 1 | -1 | null, "comment"?: text of at most 2000 characters}.',
      );
    }
    try {
      const message = conversations.rate(
        Number(c.req.param('id')),
        parsed.data.rating,
        parsed.data.comment,
      );
      return c.json(pageMessage(message));
    } catch (error) {
      if (error instanceof MessageNotFoundError) return apiError(c, 404, error.message);
      return apiError(c, 400, errorLine(error));
    }
  });

  route.post('/api/chat', async (c) => {
    const parsed = chatRequest.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return apiError(
        c,
        400,
        `Invalid chat request: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'send JSON'}.`,
      );
    }
    const request = parsed.data;
    if (!pool.has(request.model)) {
      return apiError(
        c,
        404,
        `The model '${request.model.slice(0, 100)}' is not served here. Served models: ${pool.names.join(', ')}.`,
      );
    }
    if (request.documents !== undefined && request.collection !== undefined) {
      return apiError(c, 400, 'Give pasted documents or a collection, not both.');
    }
    let collection: RagCollection | undefined;
    if (request.collection !== undefined) {
      collection = rag.collection(request.collection);
      if (collection === undefined) {
        return apiError(
          c,
          404,
          `No collection '${request.collection}': index it with tandem rag index, or pick another.`,
        );
      }
    }
    const existing =
      request.conversationId === undefined ? undefined : conversations.get(request.conversationId);
    if (request.conversationId !== undefined && existing === undefined) {
      return apiError(c, 404, new ConversationNotFoundError(request.conversationId).message);
    }
    const conversationId = existing?.id ?? conversations.create().id;
    const history = existing?.messages ?? [];
    const user = conversations.appendMessage(conversationId, {
      role: 'user',
      content: request.question,
    });
    const assistant = conversations.appendMessage(conversationId, {
      role: 'assistant',
      content: '',
      model: request.model,
      finish: 'streaming',
    });

    return streamSSE(c, async (stream) => {
      const abort = new AbortController();
      stream.onAbort(() => abort.abort());
      const send = (event: string, data: unknown) =>
        stream.writeSSE({ event, data: JSON.stringify(data) });
      await send('start', {
        conversationId,
        userMessageId: user.id,
        assistantMessageId: assistant.id,
        model: request.model,
      });
      let text = '';
      // The text so far is stored every second, so a crash of this server keeps it.
      let savedAt = performance.now();
      const onPart = (part: { type: string; text?: string }) => {
        if (part.type === 'text-delta' && part.text !== undefined) {
          text += part.text;
          void send('delta', { text: part.text });
          if (performance.now() - savedAt >= PARTIAL_SAVE_INTERVAL_MS) {
            savedAt = performance.now();
            try {
              conversations.updateMessage(assistant.id, { content: text });
            } catch {
              // The conversation was deleted meanwhile; the end of the answer says so.
            }
          }
        }
      };
      // Sources already sent are stored with the answer however it ends.
      let sent: ReturnType<typeof pageSource>[] | undefined;
      let pasted: RagStore | undefined;
      let lease: Awaited<ReturnType<ModelPool['acquire']>> | undefined;
      let droppedHistory = 0;
      try {
        let store = rag;
        let target = collection;
        if (request.documents !== undefined) {
          // Pasted documents live in memory for this answer only. They are indexed before a
          // model slot is taken, so that indexing holds up no one else's answer.
          pasted = RagStore.open(':memory:');
          await indexTexts(pasted, 'pasted', request.documents, { signal: abort.signal });
          store = pasted;
          target = pasted.collection('pasted');
        }
        lease = await pool.acquire(request.model, abort.signal);
        let grounded: GroundedAnswer | undefined;
        let run: RunResult | undefined;
        const generation = {
          maxTokens: request.maxTokens,
          temperature: request.temperature,
          signal: abort.signal,
        };
        if (target !== undefined) {
          grounded = await askGrounded(store, target as RagCollection, request.question, {
            engine: lease.engine,
            retrieval: { mode: 'bm25', k: request.k },
            ...generation,
            onPart,
            onSources: (sources) => {
              sent = sources.map(pageSource);
              void send('sources', { sources: sent });
            },
          });
          run = grounded.run;
          if (grounded.notCovered) {
            text = grounded.answer;
            await send('delta', { text });
          }
        } else {
          const fitted = await fitHistory(
            lease.engine,
            history
              .filter((message) => message.content !== '')
              .map((message) => ({ role: message.role, content: message.content })),
            request.question,
            request.maxTokens,
          );
          droppedHistory = fitted.droppedMessages;
          const messages: EngineMessage[] = [
            ...fitted.messages,
            { role: 'user', content: request.question },
          ];
          run = await measureRun(
            lease.engine,
            { messages, ...generation, onPart },
            { cold: false },
          );
        }
        const aborted = abort.signal.aborted || run?.incomplete === true;
        const stored = conversations.updateMessage(assistant.id, {
          content: grounded?.notCovered ? text : (run?.text ?? text),
          figures: {
            ...answerFigures(run, grounded?.retrieval.elapsedMs),
            ...(droppedHistory > 0 ? { droppedHistoryMessages: droppedHistory } : {}),
          },
          ...(grounded === undefined
            ? {}
            : {
                sources: grounded.sources.map(pageSource),
                citations:
                  grounded.citations === undefined
                    ? null
                    : {
                        valid: grounded.citations.validSources,
                        invalid: grounded.citations.invalidSources,
                        unused: grounded.citations.unusedSources,
                        uncited: grounded.citations.uncited,
                      },
              }),
          finish: aborted ? 'aborted' : (run?.finishReason ?? 'stop'),
          error: aborted ? null : (run?.errorMessage ?? null),
        });
        await send('done', { message: pageMessage(stored) });
      } catch (error) {
        const aborted = abort.signal.aborted;
        const partial = error instanceof GenerationError ? error.result : undefined;
        const content = partial?.text ?? text;
        let stored: ReturnType<typeof pageMessage>;
        try {
          stored = pageMessage(
            conversations.updateMessage(assistant.id, {
              content,
              ...(partial === undefined ? {} : { figures: answerFigures(partial, undefined) }),
              ...(sent === undefined ? {} : { sources: sent }),
              finish: aborted ? 'aborted' : 'error',
              error: aborted ? null : errorLine(error),
            }),
          );
        } catch (storing) {
          // The conversation was deleted meanwhile: say why the answer ends here.
          stored = {
            ...pageMessage(assistant),
            content,
            finish: 'error',
            error: errorLine(storing),
          };
        }
        if (!aborted) await send('error', { message: stored });
      } finally {
        lease?.release();
        pasted?.close();
      }
    });
  });
}

/**
 * POST /api/chat: the web app's chat, as server-sent events.
 *
 * POST /api/chat streams `start` (conversation and message ids), `sources` (for a grounded
 * question, before generation), `delta` (text as it is generated), then `done` or `error`
 * with the stored answer: its figures (measured here as `tandem run` measures), sources and
 * citation check. The answer is stored as it ends, however it ends: a closed tab or the stop
 * button keeps the text so far, marked `aborted`.
 */

import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { fitHistory } from '../../../chat/chat-history.js';
import { ConversationNotFoundError, type ConversationStore } from '../../../chat/conversations.js';
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
import type { ModelPool } from '../../model-pool.js';
import type { ServerEnv } from '../../server-env.js';
import { apiError } from './api-error.js';
import type { AnswerFigures, AnswerSource, ChatEvents } from './api-types.js';
import { pageMessage } from './conversations.js';

export interface ChatRoutesOptions {
  pool: ModelPool;
  /** The conversations the answers are stored in. */
  conversations: ConversationStore;
  /** The RAG collections a question can be grounded in. */
  rag: RagStore;
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

/** A source as the page shows it. */
function pageSource(source: GroundedSource): AnswerSource {
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
      : ({
          ttftMs: run.ttftMs,
          e2eMs: run.e2eMs,
          decodeTokensPerSecond: run.decodeTokensPerSecond,
          outputTokens: run.outputTokens,
          outputTokensSource: run.outputTokensSource,
          promptTokens: run.promptTokens,
          queueMs: run.queueMs,
          demo: run.isDemo,
        } satisfies AnswerFigures)),
    ...(retrievalMs === undefined ? {} : { retrievalMs }),
  } satisfies AnswerFigures;
}

/** Mounted at /api/chat. */
export function chatRoutes({ pool, conversations, rag }: ChatRoutesOptions): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();

  routes.post('/', async (c) => {
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
      const send = <Name extends keyof ChatEvents>(event: Name, data: ChatEvents[Name]) =>
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
  return routes;
}

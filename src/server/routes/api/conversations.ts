/**
 * The conversations the chat keeps: GET /api/conversations lists them (most recent first),
 * GET /api/conversations/ID gives one with its messages as the page reads them, DELETE
 * removes one.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ChatMessage, ConversationStore } from '../../../chat/conversations.js';
import type { ServerEnv } from '../../server-env.js';
import { apiError } from './api-error.js';
import type {
  AnswerSource,
  CitationSummary,
  Conversation,
  ConversationRemoved,
  ConversationSummary,
  ListBody,
  StoredMessage,
} from './api-types.js';

/** A stored message as the page reads it. */
export function pageMessage(message: ChatMessage): StoredMessage {
  return {
    id: message.id,
    role: message.role,
    content: message.content,
    model: message.model,
    figures: message.figures,
    // The store keeps the sources and citation check as the JSON POST /api/chat gave it
    // (pageSource's sources, the citation summary) and, knowing no feature, reads them back
    // as unknown: they are what was written.
    sources: message.sources as AnswerSource[] | undefined,
    citations: message.citations as CitationSummary | undefined,
    finish: message.finish,
    error: message.error,
    rating: message.rating,
    ratingComment: message.ratingComment,
  };
}

/** Mounted at /api/conversations. */
export function conversationRoutes(conversations: ConversationStore): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();

  routes.get('/', (c) =>
    c.json<ListBody<ConversationSummary>>({
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

  routes.get('/:id{[0-9]+}', (c) => {
    const id = conversationId(c);
    const conversation = id === 0 ? undefined : conversations.get(id);
    if (conversation === undefined) {
      return apiError(c, 404, `No conversation ${c.req.param('id')}: reload the list.`);
    }
    return c.json<Conversation>({
      id: conversation.id,
      title: conversation.title,
      messages: conversation.messages.map(pageMessage),
    });
  });

  routes.delete('/:id{[0-9]+}', (c) => {
    const id = conversationId(c);
    const removed = id !== 0 && conversations.remove(id);
    return removed
      ? c.json<ConversationRemoved>({ removed: true })
      : apiError(c, 404, `No conversation ${c.req.param('id')}: reload the list.`);
  });
  return routes;
}

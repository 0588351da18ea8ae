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

/** A stored message as the page reads it. */
export function pageMessage(message: ChatMessage) {
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

/** Mounted at /api/conversations. */
export function conversationRoutes(conversations: ConversationStore): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();

  routes.get('/', (c) =>
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

  routes.get('/:id{[0-9]+}', (c) => {
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

  routes.delete('/:id{[0-9]+}', (c) => {
    const id = conversationId(c);
    const removed = id !== 0 && conversations.remove(id);
    return removed
      ? c.json({ removed: true })
      : apiError(c, 404, `No conversation ${c.req.param('id')}: reload the list.`);
  });
  return routes;
}

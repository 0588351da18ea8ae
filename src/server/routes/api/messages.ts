/**
 * POST /api/messages/ID/rating: a thumbs up or down (or neither) on an answer, with an
 * optional comment; the answer comes back as the page reads it.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { type ConversationStore, MessageNotFoundError } from '../../../chat/conversations.js';
import { errorLine } from '../../../errors.js';
import type { ServerEnv } from '../../server-env.js';
import { apiError } from './api-error.js';
import type { StoredMessage } from './api-types.js';
import { pageMessage } from './conversations.js';

const ratingRequest = z.object({
  rating: z.union([z.literal(1), z.literal(-1), z.null()]),
  comment: z.string().max(2000).optional(),
});

/** Mounted at /api/messages. */
export function messageRoutes(conversations: ConversationStore): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();

  routes.post('/:id{[0-9]+}/rating', async (c) => {
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
      return c.json<StoredMessage>(pageMessage(message));
    } catch (error) {
      if (error instanceof MessageNotFoundError) return apiError(c, 404, error.message);
      return apiError(c, 400, errorLine(error));
    }
  });
  return routes;
}

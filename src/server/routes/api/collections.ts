/**
 * GET /api/collections: the RAG collections indexed with `tandem rag index`, which the chat
 * can ground an answer in.
 */
import { Hono } from 'hono';
import type { RagStore } from '../../../rag/rag-store.js';
import type { ServerEnv } from '../../server-env.js';

/** Mounted at /api/collections. */
export function collectionRoutes(rag: RagStore): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();

  routes.get('/', (c) =>
    c.json({
      data: rag.listCollections().map((collection) => ({
        name: collection.name,
        documentCount: collection.documentCount,
        chunkCount: collection.chunkCount,
      })),
    }),
  );
  return routes;
}

/**
 * Retrieval over a collection: BM25 (FTS5; needs no model), vectors (sqlite-vec; needs the
 * collection's embedding model) or hybrid — reciprocal rank fusion of the two lists, with a
 * weight on the BM25 side. Results are the best `k`, best first, above an optional cutoff.
 */

import { InvalidArgumentError } from '../../errors.js';
import type { Embedder } from '../embedder.js';
import type { RagCollection, RagStore } from '../rag-store.js';
import type { RetrievedChunk } from './retrieved-chunk.js';

export const RETRIEVAL_MODES = ['bm25', 'vector', 'hybrid'] as const;
export type RetrievalMode = (typeof RETRIEVAL_MODES)[number];

/** Reciprocal rank fusion's rank offset (Cormack et al. use 60). */
export const FUSION_RANK_OFFSET = 60;

export interface RetrieveOptions {
  mode?: RetrievalMode;
  /** Chunks returned (default 5). */
  k?: number;
  /**
   * Chunks below this score are dropped (the score of the mode: −bm25, cosine, or fused). No
   * default: FTS5's idf is 0 (floored to 1e-6) for a term in half of a two-chunk collection,
   * so any fixed BM25 cutoff would empty small collections.
   */
  minScore?: number;
  /** hybrid: the BM25 list's weight, 0–1 (default 0.5); the vector list gets the rest. */
  bm25Weight?: number;
  /** vector and hybrid: embeds the query with the collection's model. */
  embedder?: Embedder;
  signal?: AbortSignal;
}

export interface RetrievalResult {
  mode: RetrievalMode;
  chunks: RetrievedChunk[];
  /** Candidates before the cutoff. */
  candidates: number;
  elapsedMs: number;
}

/**
 * Fuses ranked lists: each chunk scores Σ weight / (offset + rank) over the lists it is in
 * (rank 1 = best); ties keep the order of first appearance. Scores replace the lists' own.
 */
export function reciprocalRankFusion(
  lists: readonly (readonly RetrievedChunk[])[],
  weights: readonly number[],
  offset = FUSION_RANK_OFFSET,
): RetrievedChunk[] {
  const fused = new Map<number, { chunk: RetrievedChunk; score: number; order: number }>();
  let order = 0;
  for (const [listIndex, list] of lists.entries()) {
    const weight = weights[listIndex] ?? 1;
    for (const [rankIndex, chunk] of list.entries()) {
      const contribution = weight / (offset + rankIndex + 1);
      const entry = fused.get(chunk.chunkId);
      if (entry === undefined)
        fused.set(chunk.chunkId, { chunk, score: contribution, order: order++ });
      else entry.score += contribution;
    }
  }
  return [...fused.values()]
    .sort((left, right) => right.score - left.score || left.order - right.order)
    .map(({ chunk, score }) => ({ ...chunk, score }));
}

function checkOptions(options: RetrieveOptions): { mode: RetrievalMode; k: number } {
  const mode = options.mode ?? 'bm25';
  const k = options.k ?? 5;
  if (!Number.isInteger(k) || k < 1 || k > 1000) {
    throw new InvalidArgumentError(`Invalid k ${k}: expected a whole number from 1 to 1000.`);
  }
  const weight = options.bm25Weight ?? 0.5;
  if (!(weight >= 0 && weight <= 1)) {
    throw new InvalidArgumentError(`Invalid BM25 weight ${weight}: expected 0–1.`);
  }
  return { mode, k };
}

async function queryVector(
  collection: RagCollection,
  query: string,
  options: RetrieveOptions,
): Promise<Float32Array> {
  if (collection.embeddingModel === undefined) {
    throw new InvalidArgumentError(
      `Collection '${collection.name}' has no vectors: index it with --embed-model MODEL, or use --mode bm25.`,
    );
  }
  if (options.embedder === undefined) {
    throw new InvalidArgumentError(
      `--mode ${options.mode} needs the collection's embedding model (${collection.embeddingModel}).`,
    );
  }
  if (options.embedder.model !== collection.embeddingModel) {
    throw new InvalidArgumentError(
      `Collection '${collection.name}' was embedded with ${collection.embeddingModel}, not ${options.embedder.model}: query with the same model.`,
    );
  }
  const [vector] = await options.embedder.embed([query], options.signal);
  return vector as Float32Array;
}

/** Retrieves the chunks of `collection` that best answer `query`. */
export async function retrieve(
  store: RagStore,
  collection: RagCollection,
  query: string,
  options: RetrieveOptions = {},
): Promise<RetrievalResult> {
  const startedAt = performance.now();
  const { mode, k } = checkOptions(options);
  let candidates: RetrievedChunk[];
  if (mode === 'bm25') {
    candidates = store.searchBm25(collection, query, k);
  } else if (mode === 'vector') {
    candidates = store.searchVectors(collection, await queryVector(collection, query, options), k);
  } else {
    // Each list is deeper than k, so that a chunk ranked well by one side can still make it.
    const depth = Math.max(4 * k, 20);
    const vector = await queryVector(collection, query, options);
    const weight = options.bm25Weight ?? 0.5;
    candidates = reciprocalRankFusion(
      [store.searchBm25(collection, query, depth), store.searchVectors(collection, vector, depth)],
      [weight, 1 - weight],
    ).slice(0, k);
  }
  const minScore = options.minScore;
  const chunks =
    minScore === undefined ? candidates : candidates.filter((chunk) => chunk.score >= minScore);
  return { mode, chunks, candidates: candidates.length, elapsedMs: performance.now() - startedAt };
}

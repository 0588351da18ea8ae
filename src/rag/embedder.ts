/**
 * Embedding vectors for RAG from any engine that makes them (llama embedding context, an
 * upstream /v1/embeddings), as unit-length float32 vectors so that sqlite-vec's L2 distance
 * orders them like cosine similarity.
 */

import type { Engine } from '../engines/spec.js';
import { TandemError } from '../errors.js';

export interface Embedder {
  /** The model reference, recorded with the collection's vectors. */
  readonly model: string;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** Scales a vector to length 1 (a zero vector stays zero). */
export function normalized(values: readonly number[]): Float32Array {
  let sum = 0;
  for (const value of values) sum += value * value;
  const length = Math.sqrt(sum);
  const vector = Float32Array.from(values);
  if (length > 0)
    for (let index = 0; index < vector.length; index++)
      vector[index] = (vector[index] as number) / length;
  return vector;
}

/** An embedder over an engine's embed(), in batches. */
export function engineEmbedder(engine: Engine, model: string, batchSize = 32): Embedder {
  const embed = engine.embed?.bind(engine);
  if (embed === undefined) {
    throw new TandemError(
      `${model} cannot make embeddings (its engine has none): choose an embedding model for --embed-model, or use --mode bm25.`,
    );
  }
  return {
    model,
    async embed(texts, signal) {
      const vectors: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        const batch = texts.slice(start, start + batchSize);
        const result = await embed({ inputs: batch, ...(signal === undefined ? {} : { signal }) });
        if (result.embeddings.length !== batch.length) {
          throw new TandemError(
            `${model} returned ${result.embeddings.length} embeddings for ${batch.length} texts.`,
          );
        }
        for (const embedding of result.embeddings) vectors.push(normalized(embedding));
      }
      return vectors;
    },
  };
}

/**
 * For tests: feeding a demo model's ONNX decoder by hand (inputs, an empty KV cache, and the
 * cache the next call takes from this call's outputs), as transformers.js does.
 */

import * as onnxruntime from 'onnxruntime-node';
import type { DemoModelDefinition } from '../../src/models/demo/definitions.js';

type Tensors = Record<string, onnxruntime.Tensor>;

/** past_key_values.N.key/value with no positions yet: [1, heads, 0, head size]. */
export function emptyKvCache(definition: DemoModelDefinition): Tensors {
  const headDimension = definition.embeddingLength / definition.headCount;
  const cache: Tensors = {};
  for (let layer = 0; layer < definition.blockCount; layer++) {
    for (const kind of ['key', 'value']) {
      cache[`past_key_values.${layer}.${kind}`] = new onnxruntime.Tensor(
        'float32',
        new Float32Array(0),
        [1, definition.headCount, 0, headDimension],
      );
    }
  }
  return cache;
}

/** The inputs of one call: `ids` at positions past, past + 1, …, with the cache so far. */
export function decoderFeeds(ids: readonly number[], past: number, cache: Tensors): Tensors {
  return {
    input_ids: new onnxruntime.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
    attention_mask: new onnxruntime.Tensor('int64', new BigInt64Array(past + ids.length).fill(1n), [
      1,
      past + ids.length,
    ]),
    position_ids: new onnxruntime.Tensor(
      'int64',
      BigInt64Array.from(ids, (_, index) => BigInt(past + index)),
      [1, ids.length],
    ),
    ...cache,
  };
}

/** The next call's past_key_values: this call's present.N.key/value. */
export function presentAsPast(outputs: Tensors, definition: DemoModelDefinition): Tensors {
  const cache: Tensors = {};
  for (let layer = 0; layer < definition.blockCount; layer++) {
    for (const kind of ['key', 'value']) {
      cache[`past_key_values.${layer}.${kind}`] = outputs[
        `present.${layer}.${kind}`
      ] as onnxruntime.Tensor;
    }
  }
  return cache;
}

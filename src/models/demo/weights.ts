/**
 * The demo models' weights, reproducible tensor by tensor: each tensor's values come from
 * its own random stream seeded by (model seed, tensor name), so any writer (GGUF here,
 * ONNX later) regenerates exactly the same float32 values, in any order.
 */

import { InvalidArgumentError } from '../../errors.js';
import { createSeededRandom } from '../random.js';
import {
  type DemoModelDefinition,
  type DemoModelName,
  type DemoTensorSpec,
  demoModelDefinition,
  demoTensorSpecs,
} from './definitions.js';
import { DEMO_FIRST_NORMAL_TOKEN_ID } from './vocabulary.js';

const DEFAULT_CHUNK_ELEMENTS = 1 << 16;

function findTensor(definition: DemoModelDefinition, tensorName: string): DemoTensorSpec {
  const spec = demoTensorSpecs(definition).find((candidate) => candidate.name === tensorName);
  if (spec === undefined) {
    throw new InvalidArgumentError(`Demo model ${definition.name} has no tensor '${tensorName}'.`);
  }
  return spec;
}

/**
 * The float32 values of one demo tensor, in ggml order (shape[0] innermost: row after
 * row), as chunks of at most `chunkElements` values. Each chunk is a fresh array.
 *
 * - norm weights (`*_norm.weight`): all 1.0;
 * - `output.weight`: uniform in ±outputWeightLimit, except that the rows of control,
 *   unknown and byte tokens (ids below 261) are zero, so they are never generated;
 * - every other matrix: uniform in ±weightLimit (standard deviation 0.02).
 *
 * The random stream is `createSeededRandom(`${seed}/${tensorName}`)`, drawn once per
 * element in order (also for the zeroed rows). F16 tensors are stored rounded to float16
 * (round to nearest even, see float32ToFloat16Bits).
 */
export function* demoTensorValues(
  modelName: DemoModelName,
  tensorName: string,
  options: { chunkElements?: number } = {},
): Generator<Float32Array> {
  const definition = demoModelDefinition(modelName);
  const spec = findTensor(definition, tensorName);
  const chunkElements = options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
  const elementCount = spec.shape.reduce((product, dimension) => product * dimension, 1);
  if (tensorName.endsWith('_norm.weight')) {
    for (let start = 0; start < elementCount; start += chunkElements) {
      yield new Float32Array(Math.min(chunkElements, elementCount - start)).fill(1);
    }
    return;
  }
  const random = createSeededRandom(`${definition.seed}/${tensorName}`);
  const isOutput = tensorName === 'output.weight';
  const limit = isOutput
    ? definition.outputWeightLimit
    : tensorName === 'token_embd.weight'
      ? definition.embeddingWeightLimit
      : definition.weightLimit;
  const rowLength = spec.shape[0] ?? 1;
  const zeroedElements = isOutput ? DEMO_FIRST_NORMAL_TOKEN_ID * rowLength : 0;
  for (let start = 0; start < elementCount; start += chunkElements) {
    const chunk = new Float32Array(Math.min(chunkElements, elementCount - start));
    for (let index = 0; index < chunk.length; index++) {
      const value = random.nextSymmetric(limit);
      chunk[index] = start + index < zeroedElements ? 0 : value;
    }
    yield chunk;
  }
}

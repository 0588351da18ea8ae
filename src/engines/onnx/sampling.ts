/**
 * Token choice for the onnx engine, done by tandem rather than transformers.js, so that a
 * seed gives the same text every time (transformers.js samples with Math.random).
 *
 * transformers.js runs greedy search (`do_sample: false`) and calls this as its last logits
 * processor: at temperature 0 it leaves the logits alone (greedy picks the largest, the
 * first on ties); otherwise it samples one token from softmax(logits / temperature),
 * within the top-p nucleus when top-p < 1, and leaves only that token possible.
 */

import { createSeededRandom, type SeededRandom } from '../../models/random.js';

export interface SamplingSettings {
  temperature: number;
  /** Nucleus: the smallest set of most likely tokens whose probabilities reach topP. */
  topP: number;
  random: SeededRandom;
}

/** A random stream for a request: from its seed, else from a fresh random seed. */
export function samplingRandom(seed: number | undefined): SeededRandom {
  const text = seed === undefined ? `${Math.random()}:${performance.now()}` : `seed:${seed}`;
  return createSeededRandom(text);
}

/**
 * Picks a token id from one row of logits. Pure; exported for tests.
 */
export function sampleToken(logits: ArrayLike<number>, settings: SamplingSettings): number {
  const { temperature, topP, random } = settings;
  const count = logits.length;
  let largest = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < count; index++) {
    const value = logits[index] as number;
    if (value > largest) largest = value;
  }
  const weights = new Float64Array(count);
  let total = 0;
  for (let index = 0; index < count; index++) {
    const weight = Math.exp(((logits[index] as number) - largest) / temperature);
    weights[index] = weight;
    total += weight;
  }
  let candidates: number[];
  if (topP < 1) {
    const order = Array.from({ length: count }, (_, index) => index).sort(
      (left, right) => (weights[right] as number) - (weights[left] as number) || left - right,
    );
    candidates = [];
    let mass = 0;
    for (const index of order) {
      candidates.push(index);
      mass += (weights[index] as number) / total;
      if (mass >= topP) break;
    }
  } else {
    candidates = Array.from({ length: count }, (_, index) => index);
  }
  let candidateTotal = 0;
  for (const index of candidates) candidateTotal += weights[index] as number;
  let threshold = random.nextUnit() * candidateTotal;
  for (const index of candidates) {
    threshold -= weights[index] as number;
    if (threshold <= 0) return index;
  }
  return candidates[candidates.length - 1] as number;
}

/** The logits processor transformers.js calls: `(inputIds, logits) => logits`. */
export function createSamplingProcessor(
  settings: SamplingSettings,
): (inputIds: unknown, logits: { data: unknown; dims: readonly number[] }) => unknown {
  return (_inputIds, logits) => {
    if (settings.temperature <= 0) return logits;
    const data = logits.data as Float32Array;
    const vocabulary = logits.dims[logits.dims.length - 1] ?? data.length;
    for (let start = 0; start < data.length; start += vocabulary) {
      const row = data.subarray(start, start + vocabulary);
      const chosen = sampleToken(row, settings);
      row.fill(Number.NEGATIVE_INFINITY);
      row[chosen] = 0;
    }
    return logits;
  };
}

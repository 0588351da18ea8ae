/**
 * Seeded, deterministic samples for the statistics tests: uniform numbers from the same
 * generator the bootstrap resamples with, normal variates and latency-like log-normal ones.
 */

import { createRandomUint32 } from '../../src/measure/random.js';

/** Seeded numbers in [0, 1): the resampling generator scaled the way the bootstrap scales it. */
export function createRandom(seed: number): () => number {
  const next = createRandomUint32(seed);
  return () => next() / 4294967296;
}

/** Deterministic normal variates (Box-Muller on the seeded generator). */
export function normalSample(seed: number, count: number, mean: number, sd: number): number[] {
  const next = createRandom(seed);
  return Array.from({ length: count }, () => {
    const radius = Math.sqrt(-2 * Math.log(1 - next()));
    return mean + sd * radius * Math.cos(2 * Math.PI * next());
  });
}

/** Deterministic log-normal variates: latency-like, right-skewed, positive. */
export function latencySample(seed: number, count: number, median: number): number[] {
  return normalSample(seed, count, 0, 0.5).map((value) => median * Math.exp(value));
}

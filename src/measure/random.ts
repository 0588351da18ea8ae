/**
 * A small, fast, seeded pseudo-random number generator for reproducible resampling
 * (bootstrap confidence intervals). Not for anything security-related.
 *
 * The algorithm is mulberry32 (Tommy Ettinger): 32 bits of state, a period of 2^32, and
 * output that passes the usual statistical batteries well enough for resampling.
 */

import { InvalidArgumentError } from '../errors.js';

/**
 * Returns a generator of numbers in [0, 1), fully determined by `seed`.
 *
 * `seed` must be a finite number; it is reduced to an unsigned 32-bit integer
 * (`seed >>> 0`), so seeds that differ by a multiple of 2^32, or only in their
 * fractional part, give the same sequence.
 */
export function createRandom(seed: number): () => number {
  const next = createRandomUint32(seed);
  return () => next() / 4294967296;
}

/**
 * Returns a generator of unsigned 32-bit integers in [0, 2^32), fully determined by
 * `seed` (same sequence as {@link createRandom}, before scaling to [0, 1)).
 */
export function createRandomUint32(seed: number): () => number {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new InvalidArgumentError(`Random seed must be a finite number, got ${String(seed)}.`);
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return (mixed ^ (mixed >>> 14)) >>> 0;
  };
}

/**
 * Returns a generator of integers in [0, count), uniform up to a bias below
 * count / 2^32 (negligible for the sample sizes a benchmark produces).
 */
export function createRandomIndex(seed: number, count: number): () => number {
  if (!Number.isInteger(count) || count < 1 || count > 4294967296) {
    throw new InvalidArgumentError(
      `Index range must be an integer from 1 to 2^32, got ${String(count)}.`,
    );
  }
  const next = createRandomUint32(seed);
  const scale = count / 4294967296;
  return () => Math.floor(next() * scale);
}

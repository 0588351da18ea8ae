/**
 * A small, fast, seeded pseudo-random number generator for reproducible resampling
 * (bootstrap confidence intervals). Not for anything security-related.
 *
 * The algorithm is mulberry32 (Tommy Ettinger): 32 bits of state, a period of 2^32, and
 * output that passes the usual statistical batteries well enough for resampling.
 *
 * The project has a second seeded generator, xoshiro128** in src/models/random.ts, which
 * builds the demo model weights. They are kept apart on purpose: each one's output is
 * pinned (bootstrap intervals in the statistics tests, model weights by SHA-256), so
 * neither can be swapped for the other without changing results.
 */

import { InvalidArgumentError } from '../errors.js';

/**
 * Returns a generator of unsigned 32-bit integers in [0, 2^32), fully determined by
 * `seed`. Divide by 2^32 for a number in [0, 1); multiply that by n and floor it for an
 * index in [0, n) (uniform up to a bias below n / 2^32).
 *
 * `seed` must be a finite number; it is reduced to an unsigned 32-bit integer
 * (`seed >>> 0`), so seeds that differ by a multiple of 2^32, or only in their
 * fractional part, give the same sequence.
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

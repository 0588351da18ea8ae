/**
 * A sample as the statistics read it: a checked, sorted Float64Array copy (every value
 * finite, the caller's array never mutated), numpy's linear-interpolation percentile of it,
 * and a compensated mean. Shared by the summary, the bootstrap and both comparisons.
 */

import { InvalidArgumentError } from '../../errors.js';

/** A sorted Float64Array copy of `values`, after checking every value is finite. */
export function sortedCopy(values: readonly number[], caller: string): Float64Array {
  if (!Array.isArray(values)) {
    throw new InvalidArgumentError(`${caller} needs an array of numbers.`);
  }
  if (values.length === 0) {
    throw new InvalidArgumentError(`${caller} needs at least one value, got an empty sample.`);
  }
  const copy = new Float64Array(values.length);
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InvalidArgumentError(
        `${caller} needs finite numbers, got ${String(value)} at index ${index}.`,
      );
    }
    copy[index] = value;
  }
  // Float64Array sorts numerically (and puts -0 before +0).
  return copy.sort();
}

/** numpy's 'linear' method (Hyndman & Fan type 7), including its two-sided lerp. */
export function percentileOfSorted(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  const virtualIndex = (n - 1) * (p / 100);
  const previousIndex = Math.min(Math.max(Math.floor(virtualIndex), 0), n - 1);
  const nextIndex = Math.min(previousIndex + 1, n - 1);
  const gamma = virtualIndex - previousIndex;
  return lerp(sorted[previousIndex] as number, sorted[nextIndex] as number, gamma);
}

/** numpy's _lerp: interpolates from the nearer end so that gamma = 1 gives b exactly. */
export function lerp(a: number, b: number, gamma: number): number {
  const span = b - a;
  return gamma >= 0.5 ? b - span * (1 - gamma) : a + span * gamma;
}

export function meanOf(values: Float64Array): number {
  // Neumaier-compensated sum: close to numpy's pairwise sum for any n.
  let sum = 0;
  let compensation = 0;
  for (let index = 0; index < values.length; index++) {
    const value = values[index] as number;
    const total = sum + value;
    compensation += Math.abs(sum) >= Math.abs(value) ? sum - total + value : value - total + sum;
    sum = total;
  }
  return (sum + compensation) / values.length;
}

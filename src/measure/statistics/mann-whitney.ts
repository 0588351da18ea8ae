/**
 * The Mann-Whitney U test: a rank-based comparison of two samples, the second opinion
 * compareSamples gives beside its bootstrap.
 */

import { InvalidArgumentError } from '../../errors.js';
import { sortedCopy } from './sorted-sample.js';
import { normalUpperTail } from './special-functions.js';

/** Mann-Whitney U test (two-sided, normal approximation, tie and continuity corrected). */
export interface MannWhitneyResult {
  /** U statistic of sample a: the number of pairs (x from a, y from b) with x > y, ties counting ½. */
  readonly u: number;
  /** Standardized statistic including the continuity correction; 0 when all values tie. */
  readonly z: number;
  /** Two-sided p-value; 1 when all values tie. */
  readonly pValue: number;
}

/**
 * Mann-Whitney U test of a against b: two-sided, normal approximation with tie
 * correction and continuity correction (what scipy.stats.mannwhitneyu returns with
 * method='asymptotic'). Throws when a or b is empty or holds a non-finite value.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitneyResult {
  if (a.length === 0 || b.length === 0) {
    throw new InvalidArgumentError(
      `mannWhitneyU needs at least one value on each side, got ${a.length} and ${b.length}.`,
    );
  }
  const result = mannWhitneyOfSorted(sortedCopy(a, 'mannWhitneyU'), sortedCopy(b, 'mannWhitneyU'));
  return result as MannWhitneyResult;
}

export function mannWhitneyOfSorted(
  a: Float64Array,
  b: Float64Array,
): MannWhitneyResult | undefined {
  const sizeA = a.length;
  const sizeB = b.length;
  if (sizeA === 0 || sizeB === 0) return undefined;
  // Merge the two sorted samples, giving each run of ties its mid-rank.
  let indexA = 0;
  let indexB = 0;
  let rank = 0;
  let rankSumA = 0;
  let tieTerm = 0;
  while (indexA < sizeA || indexB < sizeB) {
    const value = Math.min(
      indexA < sizeA ? (a[indexA] as number) : Number.POSITIVE_INFINITY,
      indexB < sizeB ? (b[indexB] as number) : Number.POSITIVE_INFINITY,
    );
    let tiedA = 0;
    while (indexA < sizeA && a[indexA] === value) {
      tiedA++;
      indexA++;
    }
    let tiedB = 0;
    while (indexB < sizeB && b[indexB] === value) {
      tiedB++;
      indexB++;
    }
    const tied = tiedA + tiedB;
    const midRank = rank + (tied + 1) / 2;
    rankSumA += tiedA * midRank;
    tieTerm += tied * tied * tied - tied;
    rank += tied;
  }
  const total = sizeA + sizeB;
  const u = rankSumA - (sizeA * (sizeA + 1)) / 2;
  const expected = (sizeA * sizeB) / 2;
  const variance = ((sizeA * sizeB) / 12) * (total + 1 - tieTerm / (total * (total - 1)));
  if (!(variance > 0)) return { u, z: 0, pValue: 1 };
  const deviation = u - expected;
  // Continuity correction: move |U − E[U]| half a step towards 0.
  const corrected = Math.sign(deviation) * Math.max(Math.abs(deviation) - 0.5, 0);
  const z = corrected / Math.sqrt(variance);
  const pValue = Math.min(1, 2 * normalUpperTail(Math.abs(z)));
  return { u, z, pValue };
}

/**
 * Statistics a benchmark can be trusted with: percentiles exactly as numpy computes them,
 * a summary with a bootstrap confidence interval of the mean, and a comparison of two
 * samples that says whether a difference is beyond noise.
 *
 * Conventions
 * - Inputs must be finite numbers; NaN or ±Infinity is rejected with an
 *   InvalidArgumentError (a NaN in a timing is a bug upstream, never data).
 * - Inputs are never mutated.
 * - Bootstrap results are reproducible: every resampling uses a seeded generator
 *   (default seed 1), so the same input and options always give the same interval.
 * - Confidence intervals are percentile bootstrap intervals, computed with the same
 *   linear-interpolation percentile over the resampled statistics.
 *
 * Cost of the bootstrap
 * - Each resample of a mean costs O(n) (n random indices and a sum); a resample of a
 *   median costs O(n) too (counts of the drawn indices over the sorted sample, then one
 *   cumulative scan), so no resample is ever sorted.
 * - Total work is capped at {@link BOOTSTRAP_DRAW_BUDGET} random draws per sample: when
 *   resamples × n would exceed it, the number of resamples is lowered to fit, but never
 *   below {@link MINIMUM_RESAMPLES}. With the default 2000 resamples the cap starts to
 *   bite above n = 25,000; at n = 100,000 it gives 500 resamples (about 0.3 s for
 *   summarize). The ends of the interval then carry Monte-Carlo noise of roughly 5–10% of
 *   its half-width, which is small in absolute terms because at that n the interval is
 *   narrow. The number actually used is reported in the result (`resamples`).
 */

import { InvalidArgumentError } from '../errors.js';
import { createRandomUint32 } from './random.js';

/** At most this many random draws (resamples × n) per bootstrapped sample. */
export const BOOTSTRAP_DRAW_BUDGET = 50_000_000;
/** The bootstrap never uses fewer resamples than this, whatever the budget says. */
export const MINIMUM_RESAMPLES = 500;

const DEFAULT_CONFIDENCE = 0.95;
const DEFAULT_RESAMPLES = 2000;
const DEFAULT_SEED = 1;

/** A two-sided confidence interval. */
export interface ConfidenceInterval {
  readonly low: number;
  readonly high: number;
  /** The confidence level it was computed at, e.g. 0.95. */
  readonly confidence: number;
}

/**
 * The summary of a non-empty sample. Percentiles use numpy's default (linear) method;
 * `sd` is the sample standard deviation (ddof = 1), 0 for a single value.
 */
export interface SampleSummary {
  readonly n: number;
  readonly mean: number;
  readonly sd: number;
  readonly min: number;
  readonly max: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  /**
   * Percentile bootstrap confidence interval of the mean at `options.confidence`
   * (0.95 unless asked otherwise, hence the name); undefined when n < 2.
   */
  readonly ci95: ConfidenceInterval | undefined;
  /** Resamples the bootstrap used (see the work cap above); 0 when n < 2. */
  readonly resamples: number;
}

export interface BootstrapOptions {
  /** Confidence level, strictly between 0 and 1. Default 0.95. */
  readonly confidence?: number;
  /** Requested bootstrap resamples (an integer ≥ 1; may be capped). Default 2000. */
  readonly resamples?: number;
  /** Seed of the resampling generator. Default 1. */
  readonly seed?: number;
}

export type SummarizeOptions = BootstrapOptions;

export type ComparedStatistic = 'median' | 'mean';

export interface CompareOptions extends BootstrapOptions {
  /** The statistic compared. Default 'median' (robust to the outliers latencies have). */
  readonly statistic?: ComparedStatistic;
}

export type ComparisonVerdict = 'a-greater' | 'b-greater' | 'indistinguishable';

/**
 * Why the verdict is what it is:
 * - 'too few samples': a or b has fewer than 2 values, nothing can be said about noise;
 * - 'beyond noise': the interval of the difference a − b excludes 0;
 * - 'within noise': it includes 0.
 */
export type ComparisonReason = 'too few samples' | 'beyond noise' | 'within noise';

/** Mann-Whitney U test (two-sided, normal approximation, tie and continuity corrected). */
export interface MannWhitneyResult {
  /** U statistic of sample a: the number of pairs (x from a, y from b) with x > y, ties counting ½. */
  readonly u: number;
  /** Standardized statistic including the continuity correction; 0 when all values tie. */
  readonly z: number;
  /** Two-sided p-value; 1 when all values tie. */
  readonly pValue: number;
}

export interface SampleComparison {
  readonly statistic: ComparedStatistic;
  readonly confidence: number;
  /** Bootstrap resamples used per sample; 0 when either side has fewer than 2 values. */
  readonly resamples: number;
  readonly a: { readonly n: number; readonly value: number };
  readonly b: { readonly n: number; readonly value: number };
  /**
   * statistic(a) / statistic(b); undefined when statistic(b) is 0. Meaningful for
   * positive quantities (times, rates), which is what a benchmark compares.
   */
  readonly ratio: number | undefined;
  /**
   * Bootstrap interval of the ratio (a and b resampled independently); undefined when
   * either side has fewer than 2 values or some resample of b has statistic 0.
   */
  readonly ratioInterval: ConfidenceInterval | undefined;
  /** statistic(a) − statistic(b). */
  readonly difference: number;
  /** Bootstrap interval of the difference; undefined when either side has fewer than 2 values. */
  readonly differenceInterval: ConfidenceInterval | undefined;
  /**
   * 'a-greater' / 'b-greater' when the interval of the difference excludes 0, else
   * 'indistinguishable'. For positive samples this is the same as the ratio's interval
   * excluding 1 (each resample's ratio is above 1 exactly when its difference is above 0);
   * the difference is used because it stays defined when a statistic is 0 or negative.
   */
  readonly verdict: ComparisonVerdict;
  readonly reason: ComparisonReason;
  /** A rank-based second opinion; undefined when either side is empty. */
  readonly mannWhitney: MannWhitneyResult | undefined;
}

/**
 * The p-th percentile (p in [0, 100]) by linear interpolation between order statistics,
 * bit for bit what numpy.percentile(values, p) returns with its default method.
 * Throws on an empty sample, a non-finite value, or p outside [0, 100].
 */
export function percentile(values: readonly number[], p: number): number {
  const sorted = sortedCopy(values, 'percentile');
  checkPercentileRank(p);
  return percentileOfSorted(sorted, p);
}

/** Several percentiles of one sample, sorting it once. Same rules as {@link percentile}. */
export function percentiles(values: readonly number[], ranks: readonly number[]): number[] {
  const sorted = sortedCopy(values, 'percentiles');
  for (const p of ranks) checkPercentileRank(p);
  return ranks.map((p) => percentileOfSorted(sorted, p));
}

/**
 * Summary of a sample with a bootstrap confidence interval of the mean.
 * Returns undefined for an empty sample (there is no mean, minimum or percentile to
 * report), so callers handle "no data" explicitly instead of reading NaN.
 */
export function summarize(
  values: readonly number[],
  options: SummarizeOptions = {},
): SampleSummary | undefined {
  if (values.length === 0) return undefined;
  const settings = bootstrapSettings(options);
  const sorted = sortedCopy(values, 'summarize');
  const n = sorted.length;
  const mean = meanOf(sorted);
  let squares = 0;
  for (let index = 0; index < n; index++) {
    const deviation = (sorted[index] as number) - mean;
    squares += deviation * deviation;
  }
  const sd = n > 1 ? Math.sqrt(squares / (n - 1)) : 0;

  let ci95: ConfidenceInterval | undefined;
  let resamples = 0;
  if (n >= 2) {
    resamples = cappedResamples(settings.resamples, n);
    const next = createRandomUint32(settings.seed);
    const means = bootstrapStatistic(sorted, 'mean', resamples, next);
    ci95 = intervalOf(means, settings.confidence);
  }
  return {
    n,
    mean,
    sd,
    min: sorted[0] as number,
    max: sorted[n - 1] as number,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    ci95,
    resamples,
  };
}

/**
 * Compares sample a with sample b: the ratio and the difference of their statistic
 * (median by default) with bootstrap intervals (each sample resampled independently,
 * from one seeded generator), a verdict, and a Mann-Whitney U test as a second opinion.
 * Throws when a or b is empty or holds a non-finite value.
 */
export function compareSamples(
  a: readonly number[],
  b: readonly number[],
  options: CompareOptions = {},
): SampleComparison {
  const settings = bootstrapSettings(options);
  const statistic = options.statistic ?? 'median';
  if (statistic !== 'median' && statistic !== 'mean') {
    throw new InvalidArgumentError(
      `Compared statistic must be 'median' or 'mean', got ${String(statistic)}.`,
    );
  }
  if (a.length === 0 || b.length === 0) {
    throw new InvalidArgumentError(
      `compareSamples needs at least one value on each side, got ${a.length} and ${b.length}.`,
    );
  }
  const sortedA = sortedCopy(a, 'compareSamples');
  const sortedB = sortedCopy(b, 'compareSamples');
  const valueA = statisticOfSorted(sortedA, statistic);
  const valueB = statisticOfSorted(sortedB, statistic);
  const ratio = valueB === 0 ? undefined : valueA / valueB;
  const difference = valueA - valueB;
  const common = {
    statistic,
    confidence: settings.confidence,
    a: { n: sortedA.length, value: valueA },
    b: { n: sortedB.length, value: valueB },
    ratio,
    difference,
    mannWhitney: mannWhitneyOfSorted(sortedA, sortedB),
  };

  if (sortedA.length < 2 || sortedB.length < 2) {
    return {
      ...common,
      resamples: 0,
      ratioInterval: undefined,
      differenceInterval: undefined,
      verdict: 'indistinguishable',
      reason: 'too few samples',
    };
  }

  const resamples = cappedResamples(settings.resamples, Math.max(sortedA.length, sortedB.length));
  const next = createRandomUint32(settings.seed);
  const resampledA = bootstrapStatistic(sortedA, statistic, resamples, next);
  const resampledB = bootstrapStatistic(sortedB, statistic, resamples, next);
  const differences = new Float64Array(resamples);
  const ratios = new Float64Array(resamples);
  let ratioDefined = true;
  for (let index = 0; index < resamples; index++) {
    const resampledValueA = resampledA[index] as number;
    const resampledValueB = resampledB[index] as number;
    differences[index] = resampledValueA - resampledValueB;
    if (resampledValueB === 0) ratioDefined = false;
    else ratios[index] = resampledValueA / resampledValueB;
  }
  const differenceInterval = intervalOf(differences, settings.confidence);
  const ratioInterval = ratioDefined ? intervalOf(ratios, settings.confidence) : undefined;
  let verdict: ComparisonVerdict = 'indistinguishable';
  if (differenceInterval.low > 0) verdict = 'a-greater';
  else if (differenceInterval.high < 0) verdict = 'b-greater';
  return {
    ...common,
    resamples,
    ratioInterval,
    differenceInterval,
    verdict,
    reason: verdict === 'indistinguishable' ? 'within noise' : 'beyond noise',
  };
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

/**
 * The standard normal upper tail P(Z > z), accurate to about 1e-14 relative
 * (exported for the tests and for callers that need a p-value from a z score).
 */
export function normalUpperTail(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z < 0) return 1 - normalUpperTail(-z);
  return complementaryErrorFunction(z / Math.SQRT2) / 2;
}

// ---------------------------------------------------------------------------------------
// Internals

interface BootstrapSettings {
  readonly confidence: number;
  readonly resamples: number;
  readonly seed: number;
}

function bootstrapSettings(options: BootstrapOptions): BootstrapSettings {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  if (!(typeof confidence === 'number' && confidence > 0 && confidence < 1)) {
    throw new InvalidArgumentError(
      `Confidence must be a number strictly between 0 and 1 (e.g. 0.95), got ${String(confidence)}.`,
    );
  }
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new InvalidArgumentError(
      `Bootstrap resamples must be a positive integer, got ${String(resamples)}.`,
    );
  }
  const seed = options.seed ?? DEFAULT_SEED;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new InvalidArgumentError(`Bootstrap seed must be a finite number, got ${String(seed)}.`);
  }
  return { confidence, resamples, seed };
}

/** Requested resamples, lowered to fit the draw budget but not below the minimum. */
function cappedResamples(requested: number, n: number): number {
  const affordable = Math.floor(BOOTSTRAP_DRAW_BUDGET / n);
  return Math.min(requested, Math.max(affordable, MINIMUM_RESAMPLES));
}

/** A sorted Float64Array copy of `values`, after checking every value is finite. */
function sortedCopy(values: readonly number[], caller: string): Float64Array {
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

function checkPercentileRank(p: number): void {
  if (typeof p !== 'number' || !(p >= 0 && p <= 100)) {
    throw new InvalidArgumentError(`Percentile must be a number from 0 to 100, got ${String(p)}.`);
  }
}

/** numpy's 'linear' method (Hyndman & Fan type 7), including its two-sided lerp. */
function percentileOfSorted(sorted: Float64Array, p: number): number {
  const n = sorted.length;
  const virtualIndex = (n - 1) * (p / 100);
  const previousIndex = Math.min(Math.max(Math.floor(virtualIndex), 0), n - 1);
  const nextIndex = Math.min(previousIndex + 1, n - 1);
  const gamma = virtualIndex - previousIndex;
  return lerp(sorted[previousIndex] as number, sorted[nextIndex] as number, gamma);
}

/** numpy's _lerp: interpolates from the nearer end so that gamma = 1 gives b exactly. */
function lerp(a: number, b: number, gamma: number): number {
  const span = b - a;
  return gamma >= 0.5 ? b - span * (1 - gamma) : a + span * gamma;
}

function meanOf(values: Float64Array): number {
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

function statisticOfSorted(sorted: Float64Array, statistic: ComparedStatistic): number {
  return statistic === 'mean' ? meanOf(sorted) : percentileOfSorted(sorted, 50);
}

/**
 * `resamples` bootstrap replicates of the statistic of `sorted`, each in O(n).
 * Means sum n drawn values. Medians count how often each sorted position is drawn and
 * walk the counts to the order statistics the linear-interpolation median needs.
 */
function bootstrapStatistic(
  sorted: Float64Array,
  statistic: ComparedStatistic,
  resamples: number,
  next: () => number,
): Float64Array {
  const n = sorted.length;
  const scale = n / 4294967296;
  const replicates = new Float64Array(resamples);
  if (statistic === 'mean') {
    for (let resample = 0; resample < resamples; resample++) {
      let sum = 0;
      for (let draw = 0; draw < n; draw++) {
        sum += sorted[Math.floor(next() * scale)] as number;
      }
      replicates[resample] = sum / n;
    }
    return replicates;
  }
  const counts = new Uint32Array(n);
  const virtualIndex = (n - 1) * 0.5;
  const lowerRank = Math.floor(virtualIndex);
  const upperRank = Math.min(lowerRank + 1, n - 1);
  const gamma = virtualIndex - lowerRank;
  for (let resample = 0; resample < resamples; resample++) {
    counts.fill(0);
    for (let draw = 0; draw < n; draw++) {
      const position = Math.floor(next() * scale);
      counts[position] = (counts[position] as number) + 1;
    }
    let seen = 0;
    let position = 0;
    // Order statistic k of the resample is sorted[position] for the first position
    // whose cumulative count exceeds k.
    while (seen + (counts[position] as number) <= lowerRank) {
      seen += counts[position] as number;
      position++;
    }
    const lower = sorted[position] as number;
    while (seen + (counts[position] as number) <= upperRank) {
      seen += counts[position] as number;
      position++;
    }
    const upper = sorted[position] as number;
    replicates[resample] = lerp(lower, upper, gamma);
  }
  return replicates;
}

function intervalOf(replicates: Float64Array, confidence: number): ConfidenceInterval {
  const sorted = replicates.sort();
  const tail = ((1 - confidence) / 2) * 100;
  return {
    low: percentileOfSorted(sorted, tail),
    high: percentileOfSorted(sorted, 100 - tail),
    confidence,
  };
}

function mannWhitneyOfSorted(a: Float64Array, b: Float64Array): MannWhitneyResult | undefined {
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

/**
 * erfc(x) for x ≥ 0: the series erf(x) = 2/√π · e^(−x²) · Σ (2x²)^k x / (1·3·…·(2k+1))
 * below 2, Lentz's continued fraction for erfc above it.
 */
function complementaryErrorFunction(x: number): number {
  if (x < 2) {
    let term = x;
    let sum = x;
    const square = x * x;
    for (let k = 1; k < 200; k++) {
      term *= (2 * square) / (2 * k + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-square) * sum;
  }
  // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  const tiny = 1e-300;
  let fraction = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    fraction *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / fraction;
}

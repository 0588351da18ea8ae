/**
 * Statistics a benchmark can be trusted with: percentiles exactly as numpy computes them,
 * a summary with a confidence interval of the mean (Student's t below 30 values, the
 * bootstrap from 30 on; this file), and two comparisons of two samples that say whether a
 * difference is beyond noise:
 *
 * - {@link compareRatio} (compare-ratio.ts): Welch's t test on the logarithms of positive
 *   values (times, rates). Its confidence level is honest from n = 2 per side upwards
 *   (exact when the values are log-normal, the usual shape of latencies), so it is the one
 *   to use for a handful of runs.
 * - {@link compareSamples} (compare-samples.ts): a percentile bootstrap of the median (or
 *   mean) with a Mann-Whitney U test beside it. Distribution-free, but only
 *   asymptotically: with fewer than about 10 values per side the bootstrap interval is far
 *   too narrow (see there).
 *
 * Conventions (of every file in statistics/)
 * - Inputs must be finite numbers; NaN or ±Infinity is rejected with an
 *   InvalidArgumentError (a NaN in a timing is a bug upstream, never data).
 * - Inputs are never mutated.
 * - The bootstrap's conventions and cost are in bootstrap.ts.
 */

import { InvalidArgumentError } from '../../errors.js';
import { createRandomUint32 } from '../random.js';
import {
  type BootstrapOptions,
  bootstrapSettings,
  bootstrapStatistic,
  cappedResamples,
  intervalOf,
} from './bootstrap.js';
import type { ConfidenceInterval } from './confidence-interval.js';
import { meanOf, percentileOfSorted, sortedCopy } from './sorted-sample.js';
import { studentTQuantile } from './special-functions.js';

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
   * Confidence interval of the mean at `options.confidence` (0.95 unless asked otherwise,
   * hence the name); undefined when n < 2. Student's t interval below
   * BOOTSTRAP_MINIMUM_SAMPLES values (the percentile bootstrap covers far less than its
   * level there: ~76% at n = 3), the percentile bootstrap from there on.
   */
  readonly ci95: ConfidenceInterval | undefined;
  /** How ci95 was computed; undefined when n < 2. */
  readonly ciMethod: 'student-t' | 'bootstrap' | undefined;
  /** Resamples the bootstrap used (see the work cap above); 0 for the t interval and n < 2. */
  readonly resamples: number;
}

export type SummarizeOptions = BootstrapOptions;

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

/** Below this many values the CI of the mean is Student's t interval, not the bootstrap. */
export const BOOTSTRAP_MINIMUM_SAMPLES = 30;

/**
 * Summary of a sample with a confidence interval of the mean: Student's t interval for
 * small samples (where the percentile bootstrap is much too narrow), the percentile
 * bootstrap from BOOTSTRAP_MINIMUM_SAMPLES values on. Returns undefined for an empty sample (there is no mean, minimum or percentile to
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
  let ciMethod: SampleSummary['ciMethod'];
  let resamples = 0;
  if (n >= 2 && n < BOOTSTRAP_MINIMUM_SAMPLES) {
    const halfWidth =
      studentTQuantile(1 - (1 - settings.confidence) / 2, n - 1) * (sd / Math.sqrt(n));
    ci95 = { low: mean - halfWidth, high: mean + halfWidth, confidence: settings.confidence };
    ciMethod = 'student-t';
  } else if (n >= BOOTSTRAP_MINIMUM_SAMPLES) {
    resamples = cappedResamples(settings.resamples, n);
    const next = createRandomUint32(settings.seed);
    const means = bootstrapStatistic(sorted, 'mean', resamples, next);
    ci95 = intervalOf(means, settings.confidence);
    ciMethod = 'bootstrap';
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
    ciMethod,
    resamples,
  };
}

function checkPercentileRank(p: number): void {
  if (typeof p !== 'number' || !(p >= 0 && p <= 100)) {
    throw new InvalidArgumentError(`Percentile must be a number from 0 to 100, got ${String(p)}.`);
  }
}

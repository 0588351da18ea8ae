/**
 * compareSamples: two samples compared by a percentile bootstrap of their median (or mean),
 * the ratio and the difference with their intervals, a verdict, and a Mann-Whitney U test
 * beside it. Distribution-free but only asymptotically honest: for a handful of runs use
 * compareRatio (compare-ratio.ts).
 */

import { InvalidArgumentError } from '../../errors.js';
import { createRandomUint32 } from '../random.js';
import {
  type BootstrapOptions,
  bootstrapSettings,
  bootstrapStatistic,
  type ComparedStatistic,
  cappedResamples,
  intervalOf,
} from './bootstrap.js';
import type { ComparisonReason, ComparisonVerdict } from './comparison-verdict.js';
import type { ConfidenceInterval } from './confidence-interval.js';
import { type MannWhitneyResult, mannWhitneyOfSorted } from './mann-whitney.js';
import { meanOf, percentileOfSorted, sortedCopy } from './sorted-sample.js';

export interface CompareOptions extends BootstrapOptions {
  /** The statistic compared. Default 'median' (robust to the outliers latencies have). */
  readonly statistic?: ComparedStatistic;
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
 * Compares sample a with sample b: the ratio and the difference of their statistic
 * (median by default) with bootstrap intervals (each sample resampled independently,
 * from one seeded generator), a verdict, and a Mann-Whitney U test as a second opinion.
 * Throws when a or b is empty or holds a non-finite value.
 *
 * The bootstrap intervals only reach their confidence level as n grows. With two or three
 * values per side they are much too narrow and the verdict is far too eager: for two
 * samples of one log-normal distribution it says 'beyond noise' in about 34% of cases at
 * n = 2 and 10% at n = 3, against the 5% a 95% interval promises (about 3% at n = 5;
 * 2,000 pairs each). The Mann-Whitney p-value cannot go below about 0.08 at n = 3 per
 * side, so it cannot confirm anything there either. For a handful of runs of positive
 * figures (times, rates) use {@link compareRatio}, whose level holds from n = 2.
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

function statisticOfSorted(sorted: Float64Array, statistic: ComparedStatistic): number {
  return statistic === 'mean' ? meanOf(sorted) : percentileOfSorted(sorted, 50);
}

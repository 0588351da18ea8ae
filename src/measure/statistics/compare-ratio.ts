/**
 * Ratios of positive samples (times, rates): compareRatio, Welch's t test on the logarithms
 * of two independent samples, honest from n = 2 per side; and pairedLogRatio, the
 * geometric mean of the ratios of paired samples with Student's t interval.
 */

import { InvalidArgumentError } from '../../errors.js';
import type { ComparisonReason, ComparisonVerdict } from './comparison-verdict.js';
import { type ConfidenceInterval, checkedConfidence } from './confidence-interval.js';
import { meanOf } from './sorted-sample.js';
import { studentTQuantile, studentTUpperQuantile, studentTUpperTail } from './special-functions.js';
import { summarize } from './summary.js';

export interface RatioComparisonOptions {
  /** Confidence level of the interval, strictly between 0 and 1. Default 0.95. */
  readonly confidence?: number;
}

/** One side of a {@link RatioComparison}. */
export interface RatioSide {
  readonly n: number;
  /** exp(mean(log x)): the centre the ratio compares, between the median and the mean for skewed data. */
  readonly geometricMean: number;
}

/**
 * The result of {@link compareRatio}: Welch's t test on the natural logarithms of two
 * positive samples, reported back on the original scale as a ratio.
 */
export interface RatioComparison {
  readonly method: 'welch-log-t';
  readonly confidence: number;
  /** geometricMean(a) / geometricMean(b) = exp(mean(log a) − mean(log b)). */
  readonly ratio: number;
  /**
   * Confidence interval of the ratio of the geometric means of the populations:
   * exp(d ± t(1 − α/2, ν) · SE), d the difference of the log means, SE its Welch
   * standard error. Undefined with too few samples; [ratio, ratio] when neither side
   * varies at all.
   */
  readonly interval: ConfidenceInterval | undefined;
  /**
   * Two-sided p-value of "the geometric means are equal"; p < 1 − confidence exactly when
   * the interval excludes 1 (up to rounding at the boundary). Undefined with too few
   * samples; 0 or 1 when neither side varies (different or equal values).
   */
  readonly pValue: number | undefined;
  /**
   * Welch–Satterthwaite degrees of freedom (not an integer in general; between
   * min(nA, nB) − 1 and nA + nB − 2). Undefined when no test was run: too few samples,
   * or neither side varies.
   */
  readonly degreesOfFreedom: number | undefined;
  readonly a: RatioSide;
  readonly b: RatioSide;
  /** 'a-greater' when the interval lies above 1, 'b-greater' below 1, else 'indistinguishable'. */
  readonly verdict: ComparisonVerdict;
  readonly reason: ComparisonReason;
}

/**
 * Compares two samples of positive values (times, rates) by the ratio of their geometric
 * means, with Welch's t test on the natural logarithms of the values:
 * d = mean(log a) − mean(log b), SE² = var(log a)/nA + var(log b)/nB (sample variances),
 * ν by Welch–Satterthwaite, interval exp(d ± t(1 − α/2, ν) · SE), two-sided p-value from
 * t = d / SE. No resampling, so nothing random.
 *
 * Why logs: times and rates are positive and right-skewed, roughly log-normal, and the
 * question is "how many times faster". On log-normal data the test is exact at any n ≥ 2
 * per side (as exact as Welch's approximation: slightly conservative), so its "95%" holds
 * for the 3 runs a comparison usually has; for other shapes it is approximate, as good as
 * the logs are normal, and asymptotically right by the central limit theorem. The price of
 * honesty at small n is width: at n = 2 per side t(0.975, 1) = 12.7, so only a large
 * difference with little spread is called beyond noise.
 *
 * Needs at least 2 values per side for a verdict ('too few samples' otherwise, with the
 * ratio still given). When neither side varies at all the test degenerates: different
 * values are 'beyond noise' with the interval [ratio, ratio], equal ones 'within noise'.
 * Throws an InvalidArgumentError when a side is empty or holds a value that is not a
 * positive finite number, or when the confidence is not strictly between 0 and 1.
 */
export function compareRatio(
  a: readonly number[],
  b: readonly number[],
  options: RatioComparisonOptions = {},
): RatioComparison {
  const confidence = checkedConfidence(options.confidence);
  const sideA = logSample(a, 'a');
  const sideB = logSample(b, 'b');
  const difference = sideA.mean - sideB.mean;
  const ratio = Math.exp(difference);
  const common = {
    method: 'welch-log-t' as const,
    confidence,
    ratio,
    a: { n: sideA.n, geometricMean: Math.exp(sideA.mean) },
    b: { n: sideB.n, geometricMean: Math.exp(sideB.mean) },
  };
  if (sideA.n < 2 || sideB.n < 2) {
    return {
      ...common,
      interval: undefined,
      pValue: undefined,
      degreesOfFreedom: undefined,
      verdict: 'indistinguishable',
      reason: 'too few samples',
    };
  }
  const varianceOfMeanA = sideA.variance / sideA.n;
  const varianceOfMeanB = sideB.variance / sideB.n;
  const varianceOfDifference = varianceOfMeanA + varianceOfMeanB;
  if (varianceOfDifference === 0) {
    // Every value on each side is the same: no noise to compare against.
    const same = difference === 0;
    return {
      ...common,
      interval: { low: ratio, high: ratio, confidence },
      pValue: same ? 1 : 0,
      degreesOfFreedom: undefined,
      verdict: same ? 'indistinguishable' : difference > 0 ? 'a-greater' : 'b-greater',
      reason: same ? 'within noise' : 'beyond noise',
    };
  }
  // Welch–Satterthwaite, written with weights in [0, 1] so that tiny variances cannot
  // underflow to 0 / 0.
  const weightA = varianceOfMeanA / varianceOfDifference;
  const weightB = varianceOfMeanB / varianceOfDifference;
  const degreesOfFreedom =
    1 / ((weightA * weightA) / (sideA.n - 1) + (weightB * weightB) / (sideB.n - 1));
  const standardError = Math.sqrt(varianceOfDifference);
  const critical = studentTUpperQuantile((1 - confidence) / 2, degreesOfFreedom);
  const halfWidth = critical * standardError;
  const low = difference - halfWidth;
  const high = difference + halfWidth;
  const statistic = Math.abs(difference) / standardError;
  const pValue = Math.min(1, 2 * studentTUpperTail(statistic, degreesOfFreedom));
  let verdict: ComparisonVerdict = 'indistinguishable';
  if (low > 0) verdict = 'a-greater';
  else if (high < 0) verdict = 'b-greater';
  return {
    ...common,
    interval: { low: Math.exp(low), high: Math.exp(high), confidence },
    pValue,
    degreesOfFreedom,
    verdict,
    reason: verdict === 'indistinguishable' ? 'within noise' : 'beyond noise',
  };
}

/**
 * The ratio of paired samples (a[i] and b[i] measured together, e.g. interleaved rounds,
 * so that slow drift of the machine cancels): the mean of log(a[i] / b[i]) with Student's t
 * 95% interval, back on the ratio scale (a geometric mean of the ratios). Undefined below
 * two pairs.
 */
export function pairedLogRatio(
  numerators: readonly number[],
  denominators: readonly number[],
): { ratio: number; low: number; high: number } | undefined {
  const logs = numerators.map((value, index) => Math.log(value / (denominators[index] as number)));
  const stats = summarize(logs);
  if (stats === undefined || stats.n < 2) return undefined;
  const half = studentTQuantile(0.975, stats.n - 1) * (stats.sd / Math.sqrt(stats.n));
  return {
    ratio: Math.exp(stats.mean),
    low: Math.exp(stats.mean - half),
    high: Math.exp(stats.mean + half),
  };
}

// ---------------------------------------------------------------------------------------
// compareRatio internals

interface LogSample {
  readonly n: number;
  readonly mean: number;
  /** Sample variance (ddof = 1) of the logs; exactly 0 when all values are equal, 0 for n < 2. */
  readonly variance: number;
}

/** Mean and variance of the natural logs of a non-empty sample of positive finite values. */
function logSample(values: readonly number[], side: string): LogSample {
  if (!Array.isArray(values)) {
    throw new InvalidArgumentError(`compareRatio needs an array of numbers for ${side}.`);
  }
  if (values.length === 0) {
    throw new InvalidArgumentError(
      `compareRatio needs at least one value on each side, got an empty sample for ${side}.`,
    );
  }
  const n = values.length;
  const logs = new Float64Array(n);
  let allEqual = true;
  for (let index = 0; index < n; index++) {
    const value = values[index];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new InvalidArgumentError(
        `compareRatio needs positive finite numbers (times, rates), got ${String(value)} at index ${index} of ${side}.`,
      );
    }
    logs[index] = Math.log(value);
    if (value !== values[0]) allEqual = false;
  }
  // All-equal values must give a variance of exactly 0 (and their own log as the mean),
  // which rounding in the mean would otherwise spoil.
  if (allEqual) return { n, mean: logs[0] as number, variance: 0 };
  const mean = meanOf(logs);
  let squares = 0;
  let sum = 0;
  for (let index = 0; index < n; index++) {
    const deviation = (logs[index] as number) - mean;
    squares += deviation * deviation;
    sum += deviation;
  }
  // Two-pass variance with the rounding of the mean corrected (Chan, Golub & LeVeque).
  const variance = (squares - (sum * sum) / n) / (n - 1);
  return { n, mean, variance: Math.max(variance, 0) };
}

/**
 * Percentiles bit for bit as numpy computes them, and the summary of a sample: its moments
 * and its confidence interval of the mean (Student's t for few values, the bootstrap from
 * BOOTSTRAP_MINIMUM_SAMPLES on), with the coverage each promises.
 */

import { describe, expect, it } from 'vitest';
import { latencySample, normalSample } from '../../../test/support/seeded-samples.js';
import { InvalidArgumentError } from '../../errors.js';
import { BOOTSTRAP_DRAW_BUDGET, MINIMUM_RESAMPLES } from './bootstrap.js';
import { compareSamples } from './compare-samples.js';
import { BOOTSTRAP_MINIMUM_SAMPLES, percentile, percentiles, summarize } from './summary.js';

const ranks = [0, 10, 25, 33.3, 50, 66.7, 90, 95, 99, 100];

// Expected values: numpy 2.4, float(np.percentile(a, p)) for each p in `ranks`.
const percentileCases: [string, number[], number[]][] = [
  [
    'odd length',
    [3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0],
    [
      1.0, 1.3, 2.05, 2.5978, 3.0, 4.002000000000001, 6.600000000000001, 7.799999999999997,
      8.759999999999998, 9.0,
    ],
  ],
  [
    'even length',
    [10.0, 20.0, 30.0, 40.0, 55.5, 61.0],
    [10.0, 15.0, 22.5, 26.65, 35.0, 45.192499999999995, 58.25, 59.625, 60.725, 61.0],
  ],
  [
    'duplicates',
    [2.0, 2.0, 2.0, 5.0, 5.0, 7.0, 7.0, 7.0, 7.0],
    [2.0, 2.0, 2.0, 3.991999999999999, 5.0, 7.0, 7.0, 7.0, 7.0, 7.0],
  ],
  [
    'negatives',
    [-12.5, -3.0, 0.0, 4.25, -7.75, 19.0, -0.5, 3.3],
    [
      -12.5, -9.174999999999999, -4.1875, -2.172500000000001, -0.25, 2.2077000000000018,
      8.674999999999997, 13.837499999999991, 17.967499999999994, 19.0,
    ],
  ],
  ['one element', [42.0], [42, 42, 42, 42, 42, 42, 42, 42, 42, 42]],
  [
    'latencies with an outlier',
    [0.1, 0.2, 0.3, 0.7, 1.1, 13.0, 0.15, 0.25, 0.33],
    [
      0.1, 0.14, 0.2, 0.2332, 0.3, 0.4543200000000001, 3.480000000000002, 8.239999999999995,
      12.047999999999998, 13.0,
    ],
  ],
];

describe('percentile', () => {
  describe.each(percentileCases)('%s', (_name, values, expected) => {
    it.each(ranks.map((p, index) => [p, expected[index] as number]))(
      'p%d equals numpy exactly',
      (p, value) => {
        expect(percentile(values, p)).toBe(value);
      },
    );

    it('gives the same from percentiles() in one call', () => {
      expect(percentiles(values, ranks)).toEqual(expected);
    });
  });

  it('does not mutate its input', () => {
    const values = [5, 3, 1, 4, 2];
    const copy = [...values];
    percentile(values, 50);
    summarize(values);
    compareSamples(values, [1, 2, 3]);
    expect(values).toEqual(copy);
  });

  it('rejects an empty sample', () => {
    expect(() => percentile([], 50)).toThrow(InvalidArgumentError);
    expect(() => percentile([], 50)).toThrow(/at least one value/);
  });

  it.each([-1, 100.0001, Number.NaN, Number.POSITIVE_INFINITY])('rejects p = %d', (p) => {
    expect(() => percentile([1, 2, 3], p)).toThrow(/Percentile must be a number from 0 to 100/);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'rejects the value %d with its index',
    (bad) => {
      expect(() => percentile([1, bad, 3], 50)).toThrow(/finite numbers, got .* at index 1/);
      expect(() => summarize([1, 2, bad])).toThrow(InvalidArgumentError);
      expect(() => compareSamples([1, 2], [bad, 2])).toThrow(InvalidArgumentError);
    },
  );
});

describe('summarize', () => {
  it('returns undefined for an empty sample', () => {
    expect(summarize([])).toBeUndefined();
  });

  it.each([
    // numpy: a.mean(), a.std(ddof=1)
    ['odd length', 0, 3.7285714285714286, 2.698588696407986],
    ['even length', 1, 36.083333333333336, 19.945968682083773],
    ['duplicates', 2, 4.888888888888889, 2.3154073315749675],
    ['negatives', 3, 0.3500000000000001, 9.369669913380848],
    ['latencies with an outlier', 5, 1.7922222222222222, 4.214934097283662],
  ])('matches numpy for %s', (_name, caseIndex, mean, sd) => {
    const [, values, expected] = percentileCases[caseIndex] as [string, number[], number[]];
    const summary = summarize(values);
    expect(summary).toBeDefined();
    if (summary === undefined) return;
    expect(summary.n).toBe(values.length);
    expect(summary.mean).toBeCloseTo(mean, 12);
    expect(summary.sd).toBeCloseTo(sd, 12);
    expect(summary.min).toBe(Math.min(...values));
    expect(summary.max).toBe(Math.max(...values));
    expect([summary.p50, summary.p90, summary.p95, summary.p99]).toEqual([
      expected[4],
      expected[6],
      expected[7],
      expected[8],
    ]);
    expect(summary.ci95).toBeDefined();
    expect(summary.ci95?.confidence).toBe(0.95);
    expect(summary.ci95?.low).toBeLessThanOrEqual(summary.mean);
    expect(summary.ci95?.high).toBeGreaterThanOrEqual(summary.mean);
    const small = values.length < BOOTSTRAP_MINIMUM_SAMPLES;
    expect(summary.ciMethod).toBe(small ? 'student-t' : 'bootstrap');
    expect(summary.resamples).toBe(small ? 0 : 2000);
  });

  it('has sd 0 and no interval for a single value', () => {
    expect(summarize([42])).toEqual({
      n: 1,
      mean: 42,
      sd: 0,
      min: 42,
      max: 42,
      p50: 42,
      p90: 42,
      p95: 42,
      p99: 42,
      ci95: undefined,
      ciMethod: undefined,
      resamples: 0,
    });
  });

  it("gives Student's t interval of the mean for small samples", () => {
    const summary = summarize([1, 2, 3]);
    // mean 2, sd 1, t(0.975, 2) = 4.302652730: half-width 4.302652730 / √3.
    const halfWidth = 4.30265273 / Math.sqrt(3);
    expect(summary?.ciMethod).toBe('student-t');
    expect(summary?.ci95?.low).toBeCloseTo(2 - halfWidth, 7);
    expect(summary?.ci95?.high).toBeCloseTo(2 + halfWidth, 7);
  });

  it('keeps its 95% at n = 3, where the bootstrap would cover ~76%', () => {
    let covered = 0;
    const experiments = 2000;
    for (let experiment = 0; experiment < experiments; experiment++) {
      const interval = summarize(normalSample(5000 + experiment, 3, 0, 1))?.ci95;
      if (interval !== undefined && interval.low <= 0 && interval.high >= 0) covered++;
    }
    expect(covered / experiments).toBeGreaterThan(0.93);
    expect(covered / experiments).toBeLessThan(0.97);
  });

  it('gives a zero-width interval for a constant sample', () => {
    const summary = summarize([3, 3, 3, 3]);
    expect(summary?.sd).toBe(0);
    expect(summary?.ci95).toEqual({ low: 3, high: 3, confidence: 0.95 });
  });

  it('is reproducible with a seed and varies with it', () => {
    const values = latencySample(11, 200, 100);
    const first = summarize(values, { seed: 5 });
    expect(summarize(values, { seed: 5 })).toEqual(first);
    expect(summarize(values)).toEqual(summarize(values));
    expect(summarize(values, { seed: 6 })?.ci95).not.toEqual(first?.ci95);
  });

  it('covers the true mean of a large normal sample, with the width theory predicts', () => {
    const values = normalSample(99, 5000, 50, 10);
    const summary = summarize(values);
    const interval = summary?.ci95;
    expect(interval).toBeDefined();
    if (summary === undefined || interval === undefined) return;
    expect(interval.low).toBeLessThan(50);
    expect(interval.high).toBeGreaterThan(50);
    // Normal theory: half-width ≈ 1.96 · sd / √n ≈ 0.277.
    const halfWidth = (interval.high - interval.low) / 2;
    expect(halfWidth).toBeGreaterThan(0.25);
    expect(halfWidth).toBeLessThan(0.31);
  });

  it('covers the true mean in most of many small experiments', () => {
    let covered = 0;
    const experiments = 200;
    for (let experiment = 0; experiment < experiments; experiment++) {
      const values = normalSample(1000 + experiment, 40, 0, 1);
      const interval = summarize(values, { resamples: 1000, seed: experiment })?.ci95;
      if (interval !== undefined && interval.low <= 0 && interval.high >= 0) covered++;
    }
    // Nominal 95%; the percentile bootstrap runs a little narrow at n = 40.
    expect(covered / experiments).toBeGreaterThan(0.88);
    expect(covered / experiments).toBeLessThan(0.99);
  });

  it('widens with the confidence asked for', () => {
    const values = normalSample(3, 300, 10, 2);
    const narrow = summarize(values, { confidence: 0.8 })?.ci95;
    const wide = summarize(values, { confidence: 0.99 })?.ci95;
    expect(narrow?.confidence).toBe(0.8);
    if (narrow === undefined || wide === undefined) throw new Error('intervals expected');
    expect(wide.low).toBeLessThan(narrow.low);
    expect(wide.high).toBeGreaterThan(narrow.high);
  });

  it.each([
    [{ confidence: 1 }, /Confidence must be/],
    [{ confidence: 0 }, /Confidence must be/],
    [{ resamples: 0 }, /resamples must be a positive integer/],
    [{ resamples: 10.5 }, /resamples must be a positive integer/],
    [{ seed: Number.NaN }, /seed must be a finite number/],
  ])('rejects the option %o', (options, message) => {
    expect(() => summarize([1, 2, 3], options)).toThrow(message);
  });

  it('summarizes 100,000 values quickly, capping the resamples', () => {
    const values = latencySample(5, 100_000, 80);
    const start = performance.now();
    const summary = summarize(values);
    const elapsed = performance.now() - start;
    expect(summary?.n).toBe(100_000);
    expect(summary?.resamples).toBe(
      Math.max(MINIMUM_RESAMPLES, Math.floor(BOOTSTRAP_DRAW_BUDGET / 100_000)),
    );
    // A guard against accidental O(n log n) per resample, not a benchmark.
    expect(elapsed).toBeLessThan(3000);
    // Mean of a log-normal with median 80 and sigma 0.5: 80 · e^(0.125) ≈ 90.65.
    expect(summary?.ci95?.low).toBeLessThan(90.65 + 0.5);
    expect(summary?.ci95?.high).toBeGreaterThan(90.65 - 0.5);
  });
});

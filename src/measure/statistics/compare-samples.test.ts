/**
 * compareSamples: the bootstrap intervals of the ratio and the difference, checked against
 * a slow reference bootstrap, its verdicts and its edge cases.
 */

import { describe, expect, it } from 'vitest';
import { createRandom, latencySample } from '../../../test/support/seeded-samples.js';
import { InvalidArgumentError } from '../../errors.js';
import { MINIMUM_RESAMPLES } from './bootstrap.js';
import { compareSamples } from './compare-samples.js';
import { percentile } from './summary.js';

describe('compareSamples', () => {
  it('detects a 20x difference with an interval of the ratio around 20', () => {
    const slow = latencySample(1, 60, 2000);
    const fast = latencySample(2, 60, 100);
    const comparison = compareSamples(slow, fast);
    expect(comparison.statistic).toBe('median');
    expect(comparison.verdict).toBe('a-greater');
    expect(comparison.reason).toBe('beyond noise');
    expect(comparison.ratio).toBeGreaterThan(16);
    expect(comparison.ratio).toBeLessThan(25);
    const interval = comparison.ratioInterval;
    if (interval === undefined) throw new Error('ratio interval expected');
    expect(interval.low).toBeGreaterThan(14);
    expect(interval.high).toBeLessThan(28);
    expect(interval.low).toBeLessThan(20);
    expect(interval.high).toBeGreaterThan(20);
    expect(comparison.difference).toBeCloseTo(comparison.a.value - comparison.b.value, 9);
    expect(comparison.differenceInterval?.low).toBeGreaterThan(0);
    expect(comparison.mannWhitney?.pValue).toBeLessThan(1e-10);

    const swapped = compareSamples(fast, slow);
    expect(swapped.verdict).toBe('b-greater');
    expect(swapped.ratio).toBeCloseTo(1 / (comparison.ratio as number), 9);
  });

  it('detects the difference with the mean as well', () => {
    const comparison = compareSamples(latencySample(3, 50, 2000), latencySample(4, 50, 100), {
      statistic: 'mean',
    });
    expect(comparison.statistic).toBe('mean');
    expect(comparison.verdict).toBe('a-greater');
    expect(comparison.ratioInterval?.low).toBeLessThan(20);
    expect(comparison.ratioInterval?.high).toBeGreaterThan(20);
  });

  it.each(['median', 'mean'] as const)(
    "calls two samples of one distribution 'indistinguishable' (%s)",
    (statistic) => {
      const comparison = compareSamples(latencySample(21, 80, 100), latencySample(22, 80, 100), {
        statistic,
      });
      expect(comparison.verdict).toBe('indistinguishable');
      expect(comparison.reason).toBe('within noise');
      expect(comparison.ratioInterval?.low).toBeLessThan(1);
      expect(comparison.ratioInterval?.high).toBeGreaterThan(1);
      expect(comparison.mannWhitney?.pValue).toBeGreaterThan(0.05);
    },
  );

  it('rarely calls samples of one distribution different', () => {
    let different = 0;
    for (let trial = 0; trial < 40; trial++) {
      const comparison = compareSamples(
        latencySample(500 + trial, 30, 100),
        latencySample(900 + trial, 30, 100),
        { resamples: 500, seed: trial },
      );
      if (comparison.verdict !== 'indistinguishable') different++;
    }
    expect(different).toBeLessThanOrEqual(6);
  });

  it('detects a small shift with enough samples', () => {
    const comparison = compareSamples(latencySample(31, 2000, 105), latencySample(32, 2000, 100));
    expect(comparison.verdict).toBe('a-greater');
    expect(comparison.ratioInterval?.low).toBeGreaterThan(1);
    expect(comparison.ratioInterval?.high).toBeLessThan(1.1);
  });

  it('is reproducible with a seed', () => {
    const a = latencySample(41, 100, 100);
    const b = latencySample(42, 100, 110);
    expect(compareSamples(a, b, { seed: 9 })).toEqual(compareSamples(a, b, { seed: 9 }));
  });

  it("says 'too few samples' when a side has fewer than 2 values", () => {
    const comparison = compareSamples([100], [1, 2, 3]);
    expect(comparison).toMatchObject({
      verdict: 'indistinguishable',
      reason: 'too few samples',
      ratio: 50,
      difference: 98,
      ratioInterval: undefined,
      differenceInterval: undefined,
      resamples: 0,
    });
    expect(compareSamples([1, 2, 3], [7]).reason).toBe('too few samples');
  });

  it('rejects an empty side', () => {
    expect(() => compareSamples([], [1, 2])).toThrow(/at least one value on each side/);
    expect(() => compareSamples([1, 2], [])).toThrow(InvalidArgumentError);
  });

  it('leaves the ratio undefined when b is zero, but still decides by the difference', () => {
    const comparison = compareSamples([5, 6, 7, 5, 6], [0, 0, 0, 0, 0]);
    expect(comparison.ratio).toBeUndefined();
    expect(comparison.ratioInterval).toBeUndefined();
    expect(comparison.difference).toBe(6);
    expect(comparison.verdict).toBe('a-greater');
  });

  it('leaves the ratio interval undefined when some resample of b has median 0', () => {
    const comparison = compareSamples([5, 6, 7, 5, 6], [0, 0, 1, 1, 1]);
    expect(comparison.ratio).toBe(6);
    expect(comparison.ratioInterval).toBeUndefined();
    expect(comparison.differenceInterval).toBeDefined();
  });

  it('handles a statistic of 0 on side a', () => {
    const comparison = compareSamples([0, 0, 0], [2, 2, 2]);
    expect(comparison.ratio).toBe(0);
    expect(comparison.ratioInterval).toEqual({ low: 0, high: 0, confidence: 0.95 });
    expect(comparison.verdict).toBe('b-greater');
  });

  it('calls identical constant samples indistinguishable', () => {
    const comparison = compareSamples([4, 4, 4], [4, 4, 4, 4]);
    expect(comparison.ratio).toBe(1);
    expect(comparison.verdict).toBe('indistinguishable');
    expect(comparison.mannWhitney).toEqual({ u: 6, z: 0, pValue: 1 });
  });

  it('bootstraps the median exactly like resampling and sorting would', () => {
    // Even n: the median interpolates two order statistics; compare against a slow,
    // obviously correct bootstrap that draws the same indices.
    const a = [9, 1, 8, 2, 7, 3, 6, 4];
    const b = [5, 5, 1, 9, 2, 8];
    const comparison = compareSamples(a, b, { resamples: 300, seed: 77 });
    expect(comparison.differenceInterval).toBeDefined();
    const slow = slowMedianDifferenceInterval(a, b, 300, 77);
    expect(comparison.differenceInterval?.low).toBeCloseTo(slow.low, 12);
    expect(comparison.differenceInterval?.high).toBeCloseTo(slow.high, 12);
  });

  it('compares two samples of 100,000 values in reasonable time', () => {
    const start = performance.now();
    const comparison = compareSamples(
      latencySample(51, 100_000, 103),
      latencySample(52, 50_000, 100),
    );
    expect(performance.now() - start).toBeLessThan(6000);
    expect(comparison.resamples).toBe(MINIMUM_RESAMPLES);
    expect(comparison.verdict).toBe('a-greater');
  });
});

/** The reference bootstrap of the median difference: draw indices, sort, take numpy's median. */
function slowMedianDifferenceInterval(
  a: readonly number[],
  b: readonly number[],
  resamples: number,
  seed: number,
): { low: number; high: number } {
  // Same generator and the same index mapping as the implementation (floor(u32 · n / 2^32)).
  const next = createRandom(seed);
  const resampleMedians = (values: readonly number[]): number[] => {
    const sorted = [...values].sort((x, y) => x - y);
    return Array.from({ length: resamples }, () => {
      const drawn = Array.from(
        { length: sorted.length },
        () => sorted[Math.floor(next() * sorted.length)] as number,
      );
      return percentile(drawn, 50);
    });
  };
  const mediansA = resampleMedians(a);
  const mediansB = resampleMedians(b);
  const differences = mediansA.map((value, index) => value - (mediansB[index] as number));
  return { low: percentile(differences, 2.5), high: percentile(differences, 97.5) };
}

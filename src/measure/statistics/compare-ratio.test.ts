/**
 * compareRatio (Welch's t test on logs): its false-alarm rate, hand computations, edge
 * cases; and pairedLogRatio.
 */

import { describe, expect, it } from 'vitest';
import { createRandom } from '../../../test/support/seeded-samples.js';
import { InvalidArgumentError } from '../../errors.js';
import { compareRatio, pairedLogRatio } from './compare-ratio.js';
import { compareSamples } from './compare-samples.js';
import { studentTCdf, studentTQuantile } from './special-functions.js';

/** n log-normal values around `median` with log-scale spread `sigma`. */
function logNormalSample(
  next: () => number,
  count: number,
  median: number,
  sigma: number,
): number[] {
  return Array.from({ length: count }, () => {
    const radius = Math.sqrt(-2 * Math.log(1 - next()));
    return median * Math.exp(sigma * radius * Math.cos(2 * Math.PI * next()));
  });
}

describe('compareRatio', () => {
  it.each([2, 3, 5])(
    "says 'beyond noise' for at most 7 in 100 of 2,000 same-distribution pairs at n = %i",
    (n) => {
      const pairs = 2000;
      const next = createRandom(7000 + n);
      let ratioAlarms = 0;
      let bootstrapAlarms = 0;
      let covered = 0;
      for (let pair = 0; pair < pairs; pair++) {
        const a = logNormalSample(next, n, 100, 0.3);
        const b = logNormalSample(next, n, 100, 0.3);
        const comparison = compareRatio(a, b);
        if (comparison.reason === 'beyond noise') ratioAlarms++;
        const interval = comparison.interval;
        if (interval !== undefined && interval.low <= 1 && interval.high >= 1) covered++;
        // The bootstrap comparison on the same pairs, for the record (not asserted).
        if (compareSamples(a, b, { resamples: 1000, seed: pair }).reason === 'beyond noise') {
          bootstrapAlarms++;
        }
      }
      console.log(
        `false-alarm rate at n = ${n} per side over ${pairs} pairs: compareRatio ${(ratioAlarms / pairs).toFixed(4)}, compareSamples (median bootstrap) ${(bootstrapAlarms / pairs).toFixed(4)}`,
      );
      expect(ratioAlarms / pairs).toBeLessThanOrEqual(0.07);
      // And it is not conservative to uselessness either: the nominal rate is 5%.
      expect(ratioAlarms / pairs).toBeGreaterThan(0.02);
      expect(covered).toBe(pairs - ratioAlarms);
    },
  );

  it('detects a 20x difference at n = 3 with 10% spread, the interval holding 20', () => {
    const next = createRandom(20);
    const slow = logNormalSample(next, 3, 2000, 0.1);
    const fast = logNormalSample(next, 3, 100, 0.1);
    const comparison = compareRatio(slow, fast);
    expect(comparison).toMatchObject({ verdict: 'a-greater', reason: 'beyond noise' });
    expect(comparison.method).toBe('welch-log-t');
    expect(comparison.interval?.low).toBeLessThan(20);
    expect(comparison.interval?.high).toBeGreaterThan(20);
    expect(comparison.interval?.low).toBeGreaterThan(1);
    expect(comparison.pValue).toBeLessThan(0.001);
    expect(comparison.a.n).toBe(3);
    expect(comparison.ratio).toBeCloseTo(
      comparison.a.geometricMean / comparison.b.geometricMean,
      10,
    );

    // Over many such experiments: always detected, the interval holding 20 about 95% of the time.
    let detected = 0;
    let holds = 0;
    for (let experiment = 0; experiment < 500; experiment++) {
      const result = compareRatio(
        logNormalSample(next, 3, 2000, 0.1),
        logNormalSample(next, 3, 100, 0.1),
      );
      if (result.verdict === 'a-greater') detected++;
      if ((result.interval?.low ?? 21) <= 20 && (result.interval?.high ?? 0) >= 20) holds++;
    }
    expect(detected).toBe(500);
    expect(holds / 500).toBeGreaterThan(0.92);
  });

  it('detects a 1.5x difference at n = 30', () => {
    const next = createRandom(15);
    const comparison = compareRatio(
      logNormalSample(next, 30, 150, 0.25),
      logNormalSample(next, 30, 100, 0.25),
    );
    expect(comparison.verdict).toBe('a-greater');
    expect(comparison.interval?.low).toBeGreaterThan(1);
    expect(comparison.interval?.low).toBeLessThan(1.5);
    expect(comparison.interval?.high).toBeGreaterThan(1.5);
    let detected = 0;
    for (let experiment = 0; experiment < 200; experiment++) {
      const result = compareRatio(
        logNormalSample(next, 30, 150, 0.25),
        logNormalSample(next, 30, 100, 0.25),
      );
      if (result.verdict === 'a-greater') detected++;
    }
    expect(detected / 200).toBeGreaterThan(0.97);
  });

  it('matches a hand computation of Welch on logs', () => {
    // logs: a = ln 2, ln 4, ln 8 = (1, 2, 3) · ln 2, b = ln 1, ln 2 = (0, 1) · ln 2.
    const comparison = compareRatio([2, 4, 8], [1, 2]);
    const ln2 = Math.LN2;
    // d = (2 − 0.5) ln 2; SE² = (1/3 + 0.5/2) ln²2; ν = SE⁴ / ((1/3)²/2 + (1/4)²/1) / ln⁴2.
    const se = Math.sqrt(1 / 3 + 1 / 4) * ln2;
    const nu = (1 / 3 + 1 / 4) ** 2 / ((1 / 3) ** 2 / 2 + (1 / 4) ** 2);
    expect(comparison.ratio).toBeCloseTo(2 ** 1.5, 12);
    expect(comparison.a.geometricMean).toBeCloseTo(4, 12);
    expect(comparison.b.geometricMean).toBeCloseTo(Math.SQRT2, 12);
    expect(comparison.degreesOfFreedom).toBeCloseTo(nu, 12);
    const critical = studentTQuantile(0.975, nu);
    expect(comparison.interval?.low).toBeCloseTo(Math.exp(1.5 * ln2 - critical * se), 10);
    expect(comparison.interval?.high).toBeCloseTo(Math.exp(1.5 * ln2 + critical * se), 10);
    const t = (1.5 * ln2) / se;
    expect(comparison.pValue).toBeCloseTo(2 * studentTCdf(-t, nu), 12);
    expect(comparison.verdict).toBe('indistinguishable');
    expect(comparison.reason).toBe('within noise');
  });

  it('turns around when a and b swap', () => {
    const next = createRandom(33);
    const fast = logNormalSample(next, 4, 100, 0.1);
    const slow = logNormalSample(next, 5, 300, 0.1);
    const forward = compareRatio(slow, fast);
    const backward = compareRatio(fast, slow);
    expect(forward.verdict).toBe('a-greater');
    expect(backward.verdict).toBe('b-greater');
    expect(backward.reason).toBe('beyond noise');
    expect(backward.ratio).toBeCloseTo(1 / forward.ratio, 12);
    expect(backward.interval?.low).toBeCloseTo(1 / (forward.interval?.high as number), 12);
    expect(backward.interval?.high).toBeCloseTo(1 / (forward.interval?.low as number), 12);
    expect(backward.pValue).toBe(forward.pValue);
    expect(backward.degreesOfFreedom).toBe(forward.degreesOfFreedom);
    expect(backward.a).toEqual(forward.b);
  });

  it('agrees with its p-value: the interval excludes 1 exactly when p < 1 − confidence', () => {
    const next = createRandom(44);
    for (let experiment = 0; experiment < 300; experiment++) {
      const confidence = [0.8, 0.9, 0.95, 0.99][experiment % 4] as number;
      const result = compareRatio(
        logNormalSample(next, 2 + (experiment % 5), 100, 0.3),
        logNormalSample(next, 2 + (experiment % 7), 100 * (1 + (experiment % 3) * 0.3), 0.3),
        { confidence },
      );
      const excludes = (result.interval?.low ?? 0) > 1 || (result.interval?.high ?? 2) < 1;
      expect(excludes).toBe((result.pValue as number) < 1 - confidence);
      expect(result.interval?.confidence).toBe(confidence);
    }
  });

  it("says 'too few samples' with one value on a side, still giving the ratio", () => {
    const comparison = compareRatio([100], [20, 30, 45]);
    expect(comparison).toMatchObject({
      verdict: 'indistinguishable',
      reason: 'too few samples',
      interval: undefined,
      pValue: undefined,
      degreesOfFreedom: undefined,
      a: { n: 1 },
    });
    expect(comparison.a.geometricMean).toBeCloseTo(100, 12);
    expect(comparison.ratio).toBeCloseTo(100 / 30, 12);
    expect(compareRatio([3, 4], [5]).reason).toBe('too few samples');
  });

  it('handles sides without spread', () => {
    const different = compareRatio([4, 4, 4], [2, 2]);
    expect(different).toMatchObject({
      ratio: 2,
      interval: { low: 2, high: 2, confidence: 0.95 },
      pValue: 0,
      degreesOfFreedom: undefined,
      verdict: 'a-greater',
      reason: 'beyond noise',
    });
    expect(compareRatio([2, 2], [4, 4, 4]).verdict).toBe('b-greater');

    // Values whose mean does not round back to themselves still have no spread.
    const same = compareRatio([0.1, 0.1, 0.1], [0.1, 0.1]);
    expect(same).toMatchObject({
      ratio: 1,
      interval: { low: 1, high: 1, confidence: 0.95 },
      pValue: 1,
      verdict: 'indistinguishable',
      reason: 'within noise',
    });

    // Spread on one side only: Welch with ν = n − 1 of the side that varies.
    const oneSided = compareRatio([10, 12, 11], [5, 5, 5, 5]);
    expect(oneSided.degreesOfFreedom).toBeCloseTo(2, 12);
    expect(oneSided.verdict).toBe('a-greater');
  });

  it('rejects what is not a positive finite sample', () => {
    expect(() => compareRatio([1, 0, 2], [1, 2])).toThrow(InvalidArgumentError);
    expect(() => compareRatio([1, 2], [-3, 2])).toThrow(/positive finite numbers .* index 0 of b/);
    expect(() => compareRatio([1, Number.NaN], [1, 2])).toThrow(InvalidArgumentError);
    expect(() => compareRatio([1, Number.POSITIVE_INFINITY], [1, 2])).toThrow(InvalidArgumentError);
    expect(() => compareRatio([], [1, 2])).toThrow(/at least one value on each side/);
    expect(() => compareRatio([1, 2], [1, 2], { confidence: 1 })).toThrow(/Confidence must be/);
  });

  it('does not mutate its input and needs no seed (nothing random)', () => {
    const a = [5, 3, 1, 4, 2];
    const copy = [...a];
    expect(compareRatio(a, [1, 2, 3])).toEqual(compareRatio(a, [1, 2, 3]));
    expect(a).toEqual(copy);
  });

  it('narrows as n grows and still covers at large n', () => {
    const next = createRandom(55);
    const small = compareRatio(
      logNormalSample(next, 5, 110, 0.5),
      logNormalSample(next, 5, 100, 0.5),
    );
    const large = compareRatio(
      logNormalSample(next, 20_000, 110, 0.5),
      logNormalSample(next, 20_000, 100, 0.5),
    );
    const width = (c: typeof small) => Math.log((c.interval?.high ?? 0) / (c.interval?.low ?? 1));
    expect(width(large)).toBeLessThan(width(small) / 20);
    expect(large.verdict).toBe('a-greater');
    expect(large.interval?.low).toBeLessThan(1.1);
    expect(large.interval?.high).toBeGreaterThan(1.1);
    expect(large.degreesOfFreedom).toBeGreaterThan(39_000);
  });
});

describe('pairedLogRatio', () => {
  it('is the geometric mean of the pairs’ ratios with a t interval on the logs', () => {
    const result = pairedLogRatio([2, 4, 8], [1, 2, 4]);
    expect(result?.ratio).toBeCloseTo(2, 12);
    // No spread in the ratios: the interval closes on the ratio.
    expect(result?.low).toBeCloseTo(2, 12);
    expect(result?.high).toBeCloseTo(2, 12);
    const spread = pairedLogRatio([2, 3, 2.5, 2.2], [1, 1, 1, 1]) as {
      ratio: number;
      low: number;
      high: number;
    };
    const logs = [2, 3, 2.5, 2.2].map(Math.log);
    const mean = logs.reduce((sum, value) => sum + value, 0) / 4;
    expect(spread.ratio).toBeCloseTo(Math.exp(mean), 12);
    expect(spread.low).toBeLessThan(spread.ratio);
    expect(spread.high).toBeGreaterThan(spread.ratio);
    // t(0.975, 3) = 3.182446
    const sd = Math.sqrt(logs.reduce((sum, value) => sum + (value - mean) ** 2, 0) / 3);
    expect(Math.log(spread.high) - mean).toBeCloseTo((3.182446 * sd) / 2, 5);
    expect(pairedLogRatio([1], [2])).toBeUndefined();
  });
});

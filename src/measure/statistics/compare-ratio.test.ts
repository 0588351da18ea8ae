import { describe, expect, it } from 'vitest';
import { createRandom } from '../../../test/support/seeded-samples.js';
import { InvalidArgumentError } from '../../errors.js';
import { compareRatio, pairedLogRatio } from './compare-ratio.js';
import { compareSamples } from './compare-samples.js';
import {
  mannWhitneyU,
  normalUpperTail,
  studentTCdf,
  studentTQuantile,
} from './special-functions.js';

describe('mannWhitneyU', () => {
  // Expected: U by counting pairs, scipy's asymptotic formulas (tie and continuity
  // corrected), p-value from Python's math.erfc.
  it.each([
    [
      'no ties',
      [1.2, 3.4, 5.6, 7.8, 9.1, 2.3],
      [0.5, 0.7, 1.1, 4.4, 0.9],
      27,
      2.099603137103137,
      0.03576376659097791,
    ],
    [
      'ties',
      [1, 2, 2, 3, 3, 3, 8],
      [2, 3, 4, 4, 5, 1, 1, 0],
      30.5,
      0.23548432020984963,
      0.8138328473809332,
    ],
    [
      'separated',
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 9.5],
      100,
      3.7418482827913495,
      0.0001826717911095504,
    ],
    ['a below b', [1, 2, 3], [4, 5, 6, 7], 0, -1.9445436482630056, 0.051829927217909716],
  ])('matches the normal approximation for %s', (_name, a, b, u, z, pValue) => {
    const result = mannWhitneyU(a, b);
    expect(result.u).toBe(u);
    expect(result.z).toBeCloseTo(z, 12);
    expect(result.pValue).toBeCloseTo(pValue, 12);
    expect(compareSamples(a, b).mannWhitney).toEqual(result);
  });

  it('rejects an empty side', () => {
    expect(() => mannWhitneyU([], [1])).toThrow(InvalidArgumentError);
  });
});

describe('normalUpperTail', () => {
  // Expected: 0.5 · math.erfc(z / √2) from Python.
  it.each([
    [0, 0.5],
    [0.5, 0.3085375387259869],
    [1, 0.15865525393145707],
    [1.96, 0.024997895148220435],
    [2.5, 0.006209665325776139],
    [3, 0.0013498980316300957],
    [4, 3.1671241833119965e-5],
    [6, 9.865876450377012e-10],
    [10, 7.619853024160593e-24],
    [37, 5.725571222525139e-300],
  ])('P(Z > %d) to 1e-12 relative', (z, expected) => {
    expect(Math.abs(normalUpperTail(z) - expected) / expected).toBeLessThan(1e-12);
    expect(normalUpperTail(-z)).toBeCloseTo(1 - expected, 14);
  });
});

describe('studentTQuantile', () => {
  // Table values of t(p, ν), 9 decimals (e.g. scipy.stats.t.ppf); the implementation is
  // accurate to about 1e-11 relative, so the tolerance is the tables' rounding.
  it.each([
    [0.975, 1, 12.706204736],
    [0.975, 2, 4.30265273],
    [0.975, 3, 3.182446305],
    [0.975, 4, 2.776445105],
    [0.975, 5, 2.570581836],
    [0.975, 10, 2.228138852],
    [0.975, 30, 2.042272456],
    [0.975, 100, 1.983971519],
    [0.975, 1000, 1.962339081],
    [0.995, 5, 4.032142984],
  ])('t(%d, ν = %d) = %d', (p, nu, expected) => {
    expect(Math.abs(studentTQuantile(p, nu) - expected)).toBeLessThan(1e-9);
    expect(Math.abs(studentTQuantile(1 - p, nu) + expected)).toBeLessThan(1e-9);
  });

  it('matches the closed forms for ν = 1 (Cauchy) and ν = 2', () => {
    for (const p of [1e-9, 0.001, 0.05, 0.3, 0.6, 0.9, 0.99, 0.999999]) {
      // Written on the smaller tail q, where the formulas keep their precision.
      const q = Math.min(p, 1 - p);
      const sign = p < 0.5 ? -1 : 1;
      const cauchy = sign / Math.tan(Math.PI * q);
      expect(Math.abs(studentTQuantile(p, 1) - cauchy)).toBeLessThan(
        1e-12 * Math.max(1, Math.abs(cauchy)),
      );
      // ν = 2: |t| = (1 − 2q) √(2 / (4q(1 − q))).
      const two = sign * (1 - 2 * q) * Math.sqrt(2 / (4 * q * (1 - q)));
      expect(Math.abs(studentTQuantile(p, 2) - two)).toBeLessThan(
        1e-12 * Math.max(1, Math.abs(two)),
      );
    }
  });

  it('approaches the normal quantile as ν grows, as the Cornish-Fisher series says', () => {
    const z = 1.959963984540054; // Φ⁻¹(0.975)
    // t(p, ν) = z + (z³ + z)/(4ν) + (5z⁵ + 16z³ + 3z)/(96ν²) + O(ν⁻³).
    const series = (nu: number) =>
      z + (z ** 3 + z) / (4 * nu) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * nu * nu);
    // The series' next term is below 3e-12 from ν = 1e4 on.
    for (const nu of [1e4, 1e5, 1e6, 1e7, 1e9, 1e12]) {
      expect(Math.abs(studentTQuantile(0.975, nu) - series(nu))).toBeLessThan(1e-9);
    }
    expect(Math.abs(studentTQuantile(0.975, Number.POSITIVE_INFINITY) - z)).toBeLessThan(1e-13);
  });

  it('inverts the CDF across p and ν, fractional ν included', () => {
    for (const nu of [0.5, 1, 1.7, 2, 3, 4.5, 9, 40, 250, 1e4, 1e6]) {
      for (const p of [1e-10, 1e-4, 0.01, 0.2, 0.45, 0.55, 0.8, 0.99, 0.9999]) {
        const t = studentTQuantile(p, nu);
        const back = studentTCdf(t, nu);
        // Relative to the smaller tail, where the precision lives.
        expect(Math.abs(back - p) / Math.min(p, 1 - p)).toBeLessThan(1e-9);
      }
    }
  });

  it('handles the ends and rejects bad arguments', () => {
    expect(studentTQuantile(0, 3)).toBe(Number.NEGATIVE_INFINITY);
    expect(studentTQuantile(1, 3)).toBe(Number.POSITIVE_INFINITY);
    expect(studentTQuantile(0.5, 3)).toBe(0);
    expect(() => studentTQuantile(1.5, 3)).toThrow(InvalidArgumentError);
    expect(() => studentTQuantile(Number.NaN, 3)).toThrow(/Probability must be/);
    expect(() => studentTQuantile(0.9, 0)).toThrow(/Degrees of freedom must be a positive number/);
    expect(() => studentTQuantile(0.9, Number.NaN)).toThrow(InvalidArgumentError);
  });
});

describe('studentTCdf', () => {
  it('matches the closed forms for ν = 1 and ν = 2', () => {
    for (const t of [-1e6, -30, -3, -1, -0.2, 0, 0.2, 1, 3, 30, 1e6]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 14);
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(t * t + 2)), 14);
    }
    // Far tails keep their relative precision: P(T < −1e6) for ν = 1 is about 1 / (π · 1e6).
    const far = 1 / Math.PI / 1e6;
    expect(Math.abs(studentTCdf(-1e6, 1) - far) / far).toBeLessThan(1e-9);
  });

  it('is symmetric, monotone and 0.5 at 0', () => {
    for (const nu of [0.3, 1, 2.5, 3, 7, 30, 1000, 1e6, 1e8]) {
      expect(studentTCdf(0, nu)).toBe(0.5);
      let previous = 0;
      for (let t = -40; t <= 40; t += 0.25) {
        const value = studentTCdf(t, nu);
        expect(value).toBeGreaterThanOrEqual(previous);
        expect(value + studentTCdf(-t, nu)).toBeCloseTo(1, 14);
        previous = value;
      }
      expect(studentTCdf(Number.POSITIVE_INFINITY, nu)).toBe(1);
      expect(studentTCdf(Number.NEGATIVE_INFINITY, nu)).toBe(0);
    }
    expect(studentTCdf(Number.NaN, 3)).toBeNaN();
  });

  it('has heavier tails for smaller ν and meets the normal in the limit', () => {
    expect(studentTCdf(-2, 3)).toBeGreaterThan(studentTCdf(-2, 30));
    expect(studentTCdf(-2, 30)).toBeGreaterThan(normalUpperTail(2));
    expect(studentTCdf(-2, Number.POSITIVE_INFINITY)).toBe(normalUpperTail(2));
    expect(Math.abs(studentTCdf(-2, 1e12) - normalUpperTail(2))).toBeLessThan(1e-12);
  });
});

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

/**
 * The normal tail and Student's t distribution against tables, closed forms and series,
 * and the quantile as the inverse of the CDF.
 */

import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../errors.js';
import { normalUpperTail, studentTCdf, studentTQuantile } from './special-functions.js';

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

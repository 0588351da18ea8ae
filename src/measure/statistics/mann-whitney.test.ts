/** The Mann-Whitney U test against scipy's asymptotic formulas. */

import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../errors.js';
import { compareSamples } from './compare-samples.js';
import { mannWhitneyU } from './mann-whitney.js';

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

import { describe, expect, it } from 'vitest';
import { formatPercentDifference } from './units.js';

describe('formatPercentDifference', () => {
  it('is signed, relative to the reference, with two decimals', () => {
    expect(formatPercentDifference(488_495_232, 491_400_032)).toBe('-0.59%');
    expect(formatPercentDifference(101, 100)).toBe('1.00%');
    expect(formatPercentDifference(100, 100)).toBe('0.00%');
  });
});

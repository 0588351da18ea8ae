import { describe, expect, it } from 'vitest';
import { formatBytes, formatPercentDifference } from './units.js';

describe('formatPercentDifference', () => {
  it('is signed, relative to the reference, with two decimals', () => {
    expect(formatPercentDifference(488_495_232, 491_400_032)).toBe('-0.59%');
    expect(formatPercentDifference(101, 100)).toBe('1.00%');
    expect(formatPercentDifference(100, 100)).toBe('0.00%');
  });
});

describe('formatBytes', () => {
  it('uses decimal units with three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.00 kB');
    expect(formatBytes(270_590_880)).toBe('271 MB');
    expect(formatBytes(2_491_874_272)).toBe('2.49 GB');
    expect(formatBytes(12_109_566_560)).toBe('12.1 GB');
    expect(formatBytes(999_999_999)).toBe('1.00 GB');
  });
});

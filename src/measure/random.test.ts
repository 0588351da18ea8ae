import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { createRandomUint32 } from './random.js';

function take(next: () => number, count: number): number[] {
  return Array.from({ length: count }, () => next());
}

describe('createRandomUint32', () => {
  // Reference values from a Python transcription of mulberry32.
  it.each([
    [0, [1144304738, 1416247, 958946056, 627933444, 2007157716]],
    [1, [2693262067, 11749833, 2265367787, 4213581821, 4159151403]],
    [42, [2581720956, 1925393290, 3661312704, 2876485805, 750819978]],
    [123456789, [1107202814, 4169434471, 3372958138, 885470128, 1301683845]],
  ])('matches mulberry32 for seed %d', (seed, expected) => {
    expect(take(createRandomUint32(seed), 5)).toEqual(expected);
  });

  it('reduces the seed to an unsigned 32-bit integer', () => {
    expect(take(createRandomUint32(2 ** 32 + 42), 3)).toEqual(take(createRandomUint32(42), 3));
    expect(take(createRandomUint32(-1), 3)).toEqual(take(createRandomUint32(2 ** 32 - 1), 3));
  });

  it('rejects a non-finite seed', () => {
    expect(() => createRandomUint32(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => createRandomUint32(Number.POSITIVE_INFINITY)).toThrow(/finite number/);
  });
});

describe('createRandomUint32 scaled to [0, 1)', () => {
  const uniform = (seed: number) => {
    const next = createRandomUint32(seed);
    return () => next() / 4294967296;
  };

  it('is deterministic for a seed and matches the reference sequence', () => {
    expect(take(uniform(42), 3)).toEqual([
      0.6011037519201636, 0.44829055899754167, 0.8524657934904099,
    ]);
    expect(take(uniform(7), 100)).toEqual(take(uniform(7), 100));
    expect(take(uniform(7), 10)).not.toEqual(take(uniform(8), 10));
  });

  it('stays in [0, 1) and looks uniform', () => {
    const next = uniform(2024);
    const bins = new Array<number>(10).fill(0);
    let sum = 0;
    const count = 100_000;
    for (let index = 0; index < count; index++) {
      const value = next();
      expect(value >= 0 && value < 1).toBe(true);
      sum += value;
      const bin = Math.floor(value * 10);
      bins[bin] = (bins[bin] ?? 0) + 1;
    }
    expect(sum / count).toBeCloseTo(0.5, 2);
    for (const bin of bins) expect(Math.abs(bin - count / 10)).toBeLessThan(500);
  });

  it('gives indices covering [0, n) with floor(u32 · n / 2^32)', () => {
    const next = createRandomUint32(3);
    const seen = new Set<number>();
    for (let index = 0; index < 1000; index++) {
      const value = Math.floor(next() * (7 / 4294967296));
      expect(Number.isInteger(value) && value >= 0 && value < 7).toBe(true);
      seen.add(value);
    }
    expect(seen.size).toBe(7);
  });
});

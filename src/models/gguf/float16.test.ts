import { describe, expect, it } from 'vitest';
import { float16BitsToNumber, float32ToFloat16Bits } from './float16.js';

describe('float32ToFloat16Bits', () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [65504, 0x7bff],
    [65519.99, 0x7bff],
    [65520, 0x7c00], // tie between 65504 (odd mantissa) and infinity: rounds up
    [1e10, 0x7c00],
    [-1e10, 0xfc00],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 2^-24: to even (0)
    [-(2 ** -25), 0x8000],
    [2 ** -25 * (1 + 2 ** -23), 0x0001], // just above the tie
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal units: to even (2)
    [5 * 2 ** -25, 0x0002], // tie between 2 and 3: to even (2)
    [1023.5 * 2 ** -24, 0x0400], // tie between largest subnormal and smallest normal
    [2 ** -26, 0x0000],
    [1e-30, 0x0000],
    [1 + 2 ** -11, 0x3c00], // tie between 0x3c00 and 0x3c01: to even
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02: to even
    [1 + 2 ** -11 + 2 ** -23, 0x3c01], // just above the tie
    [2047.5 / 1024, 0x4000], // 1.99951171875 + carry into the exponent
  ])('converts %s to 0x%s', (value, expected) => {
    expect(float32ToFloat16Bits(value).toString(16)).toBe(expected.toString(16));
  });

  it('keeps NaN a NaN', () => {
    const bits = float32ToFloat16Bits(Number.NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x03ff).not.toBe(0);
  });

  it('round-trips every finite float16 value exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue;
      expect(float32ToFloat16Bits(float16BitsToNumber(bits))).toBe(bits);
    }
  });
});

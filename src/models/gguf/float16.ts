/**
 * IEEE 754 binary32 → binary16 conversion, round to nearest, ties to even, done entirely
 * on the integer bit patterns so the result is identical on every machine.
 */

const conversionFloat = new Float32Array(1);
const conversionBits = new Uint32Array(conversionFloat.buffer);

/** The bit pattern (uint32) of `value` rounded to float32. */
export function float32Bits(value: number): number {
  conversionFloat[0] = value;
  return conversionBits[0] as number;
}

/**
 * Converts a float32 bit pattern to a float16 bit pattern (uint16): round to nearest,
 * ties to even; overflow gives ±infinity; NaN stays NaN (quiet, top payload bits kept).
 */
export function float32BitsToFloat16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const magnitude = bits & 0x7fffffff;
  if (magnitude >= 0x7f800000) {
    if (magnitude === 0x7f800000) return sign | 0x7c00;
    return sign | 0x7e00 | ((magnitude & 0x007fffff) >>> 13);
  }
  // 65520 (halfway between 65504 and 2^16) and above round to infinity.
  if (magnitude >= 0x477ff000) return sign | 0x7c00;
  if (magnitude < 0x38800000) {
    // Below 2^-14: a float16 subnormal (or zero). 2^-25 and below round to zero
    // (2^-25 itself is a tie between 0 and the smallest subnormal, and 0 is even).
    if (magnitude <= 0x33000000) return sign;
    const exponent = magnitude >>> 23;
    const mantissa = (magnitude & 0x007fffff) | 0x00800000;
    const shift = 126 - exponent; // 14..24
    let half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && (half & 1) === 1)) half += 1;
    return sign | half;
  }
  const exponent = (magnitude >>> 23) - 112; // rebias 127 → 15
  const mantissa = magnitude & 0x007fffff;
  let half = (exponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  // A carry out of the mantissa correctly increments the exponent.
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) half += 1;
  return sign | half;
}

/** Converts a number (rounded to float32 first) to float16 bits. */
export function float32ToFloat16Bits(value: number): number {
  return float32BitsToFloat16Bits(float32Bits(value));
}

/** Converts float16 bits back to a number (exact). */
export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x03ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

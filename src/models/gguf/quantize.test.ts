import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../random.js';
import {
  dequantizeBlocks,
  fillRandomBlocks,
  QUANTIZED_TYPES,
  type QuantizedTypeId,
  quantizeValues,
} from './quantize.js';
import { GGML_TYPE, ggmlTypeInfo } from './types.js';

/** Gaussian-ish values (sum of uniforms) with a few outliers, as weights look. */
function weights(count: number, seed: string): Float32Array {
  const random = createSeededRandom(seed);
  const values = new Float32Array(count);
  for (let index = 0; index < count; index++) {
    let sum = 0;
    for (let k = 0; k < 4; k++) sum += random.nextUnit() - 0.5;
    values[index] = sum * 0.05 * (index % 97 === 0 ? 4 : 1);
  }
  return values;
}

/**
 * The largest error each format allows on a block, as a fraction of the block's largest
 * magnitude: half a quantization step, with room for the 6-bit sub-scales and f16 rounding.
 * Q4_0 and Q5_0 map the largest value to −8·d (−16·d), so the other end of the range stops
 * one step short: a whole step there.
 */
const ERROR_BOUND: Record<QuantizedTypeId, number> = {
  [GGML_TYPE.Q8_0]: (0.5 / 127) * 1.25,
  [GGML_TYPE.Q4_0]: (1 / 8) * 1.05,
  [GGML_TYPE.Q5_0]: (1 / 16) * 1.05,
  [GGML_TYPE.Q4_K]: (1 / 15) * 1.25,
  [GGML_TYPE.Q5_K]: (1 / 31) * 1.25,
  [GGML_TYPE.Q6_K]: (0.5 / 31) * 1.25,
  // The scale is a power of two, 2^(⌊log2 amax⌋−3): the widest gap (8d to 12d) and the clip
  // above 12d each cost at most a quarter of the block's largest magnitude.
  [GGML_TYPE.MXFP4]: 0.25 * 1.001,
};

describe('quantized blocks', () => {
  it.each(QUANTIZED_TYPES.map((type) => [ggmlTypeInfo(type)?.name, type] as const))(
    '%s round-trips within the format’s error, block by block',
    (_name, type) => {
      const info = ggmlTypeInfo(type);
      if (info === undefined) throw new Error('no layout');
      const values = weights(info.blockSize * 64, `round-trip ${type}`);
      const bytes = quantizeValues(type, values);
      expect(bytes.length).toBe(64 * info.bytesPerBlock);
      const back = dequantizeBlocks(type, bytes);
      let sumSquares = 0;
      for (let block = 0; block < 64; block++) {
        let amax = 0;
        for (let i = 0; i < info.blockSize; i++) {
          amax = Math.max(amax, Math.abs(values[block * info.blockSize + i] as number));
        }
        const bound = amax * ERROR_BOUND[type] + 1e-7;
        for (let i = 0; i < info.blockSize; i++) {
          const at = block * info.blockSize + i;
          const error = Math.abs((back[at] as number) - (values[at] as number));
          sumSquares += error * error;
          expect(error, `block ${block} element ${i}`).toBeLessThanOrEqual(bound);
        }
      }
      // And the formats rank as they should: more bits, less error.
      expect(Math.sqrt(sumSquares / values.length)).toBeLessThan(0.01);
    },
  );

  it('orders the formats by error: Q8_0 < Q6_K < Q5 < Q4', () => {
    const values = weights(256 * 32, 'ranking');
    const rmse = (type: QuantizedTypeId) => {
      const back = dequantizeBlocks(type, quantizeValues(type, values));
      let sum = 0;
      for (let index = 0; index < values.length; index++) {
        sum += ((back[index] as number) - (values[index] as number)) ** 2;
      }
      return Math.sqrt(sum / values.length);
    };
    expect(rmse(GGML_TYPE.Q8_0)).toBeLessThan(rmse(GGML_TYPE.Q6_K));
    expect(rmse(GGML_TYPE.Q6_K)).toBeLessThan(rmse(GGML_TYPE.Q5_K));
    expect(rmse(GGML_TYPE.Q5_K)).toBeLessThan(rmse(GGML_TYPE.Q4_K));
    expect(rmse(GGML_TYPE.Q5_0)).toBeLessThan(rmse(GGML_TYPE.Q4_0));
  });

  it('decodes a hand-made Q4_0 block as ggml does (low nibbles first, then high)', () => {
    const block = new Uint8Array(18);
    block[0] = 0x00;
    block[1] = 0x3c; // f16 1.0
    for (let j = 0; j < 16; j++) block[2 + j] = j | ((15 - j) << 4);
    const values = dequantizeBlocks(GGML_TYPE.Q4_0, block);
    expect([...values.subarray(0, 3)]).toEqual([-8, -7, -6]);
    expect([...values.subarray(16, 19)]).toEqual([7, 6, 5]);
  });

  it('decodes a hand-made MXFP4 block as ggml does (E8M0 scale 2^(e−128), doubled e2m1 codes)', () => {
    const block = new Uint8Array(17);
    block[0] = 127; // d = 0.5
    for (let j = 0; j < 16; j++) block[1 + j] = j | ((15 - j) << 4);
    const values = dequantizeBlocks(GGML_TYPE.MXFP4, block);
    expect([...values.subarray(0, 8)]).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6]);
    expect([...values.subarray(8, 16)]).toEqual([0, -0.5, -1, -1.5, -2, -3, -4, -6]);
    expect([...values.subarray(16, 19)]).toEqual([-6, -4, -3]);
    // Values on the grid encode back exactly, with the same scale byte.
    const again = quantizeValues(GGML_TYPE.MXFP4, values);
    expect(again[0]).toBe(127);
    expect([...dequantizeBlocks(GGML_TYPE.MXFP4, again)]).toEqual([...values]);
  });

  it('refuses a partial block', () => {
    expect(() => quantizeValues(GGML_TYPE.Q4_K, new Float32Array(100))).toThrow(
      /Q4_K needs a multiple of 256 values/,
    );
  });

  it.each(QUANTIZED_TYPES.map((type) => [ggmlTypeInfo(type)?.name, type] as const))(
    'fills %s blocks with random codes under finite scales, spread over ±range',
    (_name, type) => {
      const info = ggmlTypeInfo(type);
      if (info === undefined) throw new Error('no layout');
      const random = createSeededRandom(`fill ${type}`);
      const bytes = new Uint8Array(info.bytesPerBlock * 200);
      fillRandomBlocks(type, bytes, () => random.nextUint32(), 0.05);
      const values = dequantizeBlocks(type, bytes);
      let sum = 0;
      let max = 0;
      for (const value of values) {
        expect(Number.isFinite(value)).toBe(true);
        sum += value;
        max = Math.max(max, Math.abs(value));
      }
      expect(max).toBeLessThanOrEqual(0.05 * 1.06);
      expect(max).toBeGreaterThan(0.03);
      // Centred on zero.
      expect(Math.abs(sum / values.length)).toBeLessThan(0.005);
    },
  );
});

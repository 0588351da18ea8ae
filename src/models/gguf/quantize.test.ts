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
  // Min to max in 31 steps: half a step is at most amax/31, plus the min's f16 rounding.
  [GGML_TYPE.Q5_1]: (1 / 31) * 1.25,
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
    expect(rmse(GGML_TYPE.Q5_1)).toBeLessThan(rmse(GGML_TYPE.Q4_0));
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

  it('decodes a hand-made Q5_1 block as ggml does (d, m, then the fifth bits, then nibbles)', () => {
    const block = new Uint8Array(24);
    block.set([0x00, 0x3c], 0); // d = 1
    block.set([0x00, 0xcc], 2); // m = −16
    block.set([0x01, 0x00, 0x01, 0x00], 4); // fifth bits of elements 0 and 16
    block[8] = 0x3f; // element 0: low 15, element 16: low 3
    const values = dequantizeBlocks(GGML_TYPE.Q5_1, block);
    expect(values[0]).toBe(15);
    expect(values[1]).toBe(-16);
    expect(values[16]).toBe(3);
  });

  it('decodes a hand-made Q4_K block as ggml does (6-bit scales and mins, 64 values per pair)', () => {
    const block = new Uint8Array(144);
    block.set([0x00, 0x3c], 0); // d = 1
    block.set([0x00, 0x38], 2); // dmin = 0.5
    const scales = block.subarray(4, 16);
    scales[0] = 1 | (1 << 6); // sub-block 0: scale 1; its top bits are sub-block 4's scale's
    scales[4] = 2; // sub-block 0: min 2
    scales[1] = 3; // sub-block 1: scale 3 (min 0)
    scales[8] = 0x12; // sub-block 4: scale low bits 2, min 1
    const qs = block.subarray(16);
    for (let l = 0; l < 32; l++) qs[l] = (l & 15) | ((15 - (l & 15)) << 4);
    qs[64] = 5;
    const values = dequantizeBlocks(GGML_TYPE.Q4_K, block);
    // Sub-block 0, low nibbles: 1·q − 0.5·2.
    expect([...values.subarray(0, 3)]).toEqual([-1, 0, 1]);
    // Sub-block 1, the same bytes' high nibbles: 3·q.
    expect([...values.subarray(32, 34)]).toEqual([45, 42]);
    // Sub-block 4 (bytes 64…): scale 2 + 16 from the high bits = 18, min 0.5·1.
    expect([...values.subarray(128, 130)]).toEqual([89.5, -0.5]);
  });

  it('decodes a hand-made Q6_K block as ggml does (ql, qh, signed scales, d last)', () => {
    const block = new Uint8Array(210);
    const ql = block.subarray(0, 128);
    const qh = block.subarray(128, 192);
    const scales = new Int8Array(block.buffer, 192, 16);
    block.set([0x00, 0x3c], 208); // d = 1
    scales.fill(1);
    scales[2] = 2;
    scales[6] = -1;
    scales[8] = 3;
    ql[0] = 0x21;
    ql[32] = 0x0f;
    qh[0] = 0b11_10_01_00;
    qh[32] = 0x01;
    const values = dequantizeBlocks(GGML_TYPE.Q6_K, block);
    expect(values[0]).toBe(-31); // (1 | 0 << 4) − 32
    expect(values[1]).toBe(-32); // all zero bits
    expect(values[32]).toBe(-2); // ((15 | 1 << 4) − 32) · 2
    expect(values[64]).toBe(2); // (2 | 2 << 4) − 32
    expect(values[96]).toBe(-16); // ((0 | 3 << 4) − 32) · −1
    expect(values[128]).toBe(-48); // second half: ((0 | 1 << 4) − 32) · 3
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

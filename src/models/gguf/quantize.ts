/**
 * ggml's quantized block formats that real GGUF files use (Q8_0, Q4_0, Q5_0, Q5_1, Q4_K,
 * Q5_K, Q6_K, and MXFP4 for gpt-oss's experts): encoding float values into blocks, decoding
 * blocks back, and filling blocks with random codes under fixed, finite scales (for
 * random-weight twins, where quantizing floats first would only cost time). Layouts and
 * decoding follow ggml-common.h and ggml-quants.c (dequantize_row_*); the encoders are
 * ggml's reference rules without its iterative search for the best scales, so their error is
 * within the format's, not always the smallest.
 */

import { InvalidArgumentError } from '../../errors.js';
import { float16BitsToNumber, float32ToFloat16Bits } from './float16.js';
import { GGML_TYPE, type GgmlTypeId, ggmlTypeInfo } from './types.js';

export const QUANTIZED_TYPES = [
  GGML_TYPE.Q8_0,
  GGML_TYPE.Q4_0,
  GGML_TYPE.Q5_0,
  GGML_TYPE.Q5_1,
  GGML_TYPE.Q4_K,
  GGML_TYPE.Q5_K,
  GGML_TYPE.Q6_K,
  GGML_TYPE.MXFP4,
] as const;
export type QuantizedTypeId = (typeof QUANTIZED_TYPES)[number];

export function isQuantizedType(typeId: number): typeId is QuantizedTypeId {
  return (QUANTIZED_TYPES as readonly number[]).includes(typeId);
}

const f16 = (value: number) => float32ToFloat16Bits(value);
const fromF16 = (bytes: Uint8Array, offset: number) =>
  float16BitsToNumber((bytes[offset] as number) | ((bytes[offset + 1] as number) << 8));
const putF16 = (bytes: Uint8Array, offset: number, value: number) => {
  const bits = f16(value);
  bytes[offset] = bits & 0xff;
  bytes[offset + 1] = bits >> 8;
};
/** The f16 value that will be stored, so that codes are computed against it. */
const roundF16 = (value: number) => float16BitsToNumber(f16(value));
const clamp = (value: number, low: number, high: number) => Math.max(low, Math.min(value, high));

/** The element of largest magnitude, with its sign (ggml's `max` in the _0 formats). */
function signedMax(values: Float32Array, start: number, count: number): number {
  let amax = 0;
  let max = 0;
  for (let index = start; index < start + count; index++) {
    const value = values[index] as number;
    if (Math.abs(value) > amax) {
      amax = Math.abs(value);
      max = value;
    }
  }
  return max;
}

function encodeQ8_0(x: Float32Array, at: number, out: Uint8Array, o: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[at + j] as number));
  const d = roundF16(amax / 127);
  putF16(out, o, d);
  const id = d === 0 ? 0 : 1 / d;
  for (let j = 0; j < 32; j++) {
    out[o + 2 + j] = clamp(Math.round((x[at + j] as number) * id), -127, 127) & 0xff;
  }
}

function decodeQ8_0(block: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = fromF16(block, o);
  for (let j = 0; j < 32; j++) y[at + j] = (((block[o + 2 + j] as number) << 24) >> 24) * d;
}

function encodeQ4_0(x: Float32Array, at: number, out: Uint8Array, o: number): void {
  const d = roundF16(signedMax(x, at, 32) / -8);
  putF16(out, o, d);
  const id = d === 0 ? 0 : 1 / d;
  for (let j = 0; j < 16; j++) {
    const q0 = Math.min(15, Math.trunc((x[at + j] as number) * id + 8.5));
    const q1 = Math.min(15, Math.trunc((x[at + j + 16] as number) * id + 8.5));
    out[o + 2 + j] = q0 | (q1 << 4);
  }
}

function decodeQ4_0(block: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = fromF16(block, o);
  for (let j = 0; j < 16; j++) {
    const byte = block[o + 2 + j] as number;
    y[at + j] = ((byte & 0x0f) - 8) * d;
    y[at + j + 16] = ((byte >> 4) - 8) * d;
  }
}

function encodeQ5_0(x: Float32Array, at: number, out: Uint8Array, o: number): void {
  const d = roundF16(signedMax(x, at, 32) / -16);
  putF16(out, o, d);
  const id = d === 0 ? 0 : 1 / d;
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const q0 = Math.min(31, Math.trunc((x[at + j] as number) * id + 16.5));
    const q1 = Math.min(31, Math.trunc((x[at + j + 16] as number) * id + 16.5));
    out[o + 6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
    qh |= ((q0 & 0x10) >>> 4) << j;
    qh |= ((q1 & 0x10) >>> 4) << (j + 16);
  }
  new DataView(out.buffer, out.byteOffset).setUint32(o + 2, qh >>> 0, true);
}

function decodeQ5_0(block: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = fromF16(block, o);
  const qh = new DataView(block.buffer, block.byteOffset).getUint32(o + 2, true);
  for (let j = 0; j < 16; j++) {
    const byte = block[o + 6 + j] as number;
    const high0 = ((qh >>> j) << 4) & 0x10;
    const high1 = (qh >>> (j + 12)) & 0x10;
    y[at + j] = ((byte & 0x0f) - 16 + high0) * d;
    y[at + j + 16] = ((byte >> 4) - 16 + high1) * d;
  }
}

function encodeQ5_1(x: Float32Array, at: number, out: Uint8Array, o: number): void {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < 32; j++) {
    min = Math.min(min, x[at + j] as number);
    max = Math.max(max, x[at + j] as number);
  }
  const d = roundF16((max - min) / 31);
  const m = roundF16(min);
  putF16(out, o, d);
  putF16(out, o + 2, m);
  const id = d === 0 ? 0 : 1 / d;
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const q0 = clamp(Math.trunc(((x[at + j] as number) - m) * id + 0.5), 0, 31);
    const q1 = clamp(Math.trunc(((x[at + j + 16] as number) - m) * id + 0.5), 0, 31);
    out[o + 8 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
    qh |= ((q0 & 0x10) >>> 4) << j;
    qh |= ((q1 & 0x10) >>> 4) << (j + 16);
  }
  new DataView(out.buffer, out.byteOffset).setUint32(o + 4, qh >>> 0, true);
}

function decodeQ5_1(block: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = fromF16(block, o);
  const m = fromF16(block, o + 2);
  const qh = new DataView(block.buffer, block.byteOffset).getUint32(o + 4, true);
  for (let j = 0; j < 16; j++) {
    const byte = block[o + 8 + j] as number;
    const high0 = ((qh >>> j) << 4) & 0x10;
    const high1 = (qh >>> (j + 12)) & 0x10;
    y[at + j] = ((byte & 0x0f) | high0) * d + m;
    y[at + j + 16] = ((byte >> 4) | high1) * d + m;
  }
}

/** The 6-bit scale and min of sub-block j in a K-quant's 12 scale bytes (get_scale_min_k4). */
function scaleMin(scales: Uint8Array, base: number, j: number): [number, number] {
  if (j < 4) {
    return [(scales[base + j] as number) & 63, (scales[base + j + 4] as number) & 63];
  }
  const low = scales[base + j + 4] as number;
  return [
    (low & 0x0f) | (((scales[base + j - 4] as number) >> 6) << 4),
    (low >> 4) | (((scales[base + j] as number) >> 6) << 4),
  ];
}

/** Packs eight 6-bit scales and mins into 12 bytes at `base`. */
function packScaleMins(out: Uint8Array, base: number, ls: number[], lm: number[]): void {
  for (let j = 0; j < 12; j++) out[base + j] = 0;
  for (let j = 0; j < 8; j++) {
    const scale = ls[j] as number;
    const min = lm[j] as number;
    if (j < 4) {
      out[base + j] = scale;
      out[base + j + 4] = min;
    } else {
      out[base + j + 4] = (scale & 0x0f) | ((min & 0x0f) << 4);
      out[base + j - 4] = (out[base + j - 4] as number) | ((scale >> 4) << 6);
      out[base + j] = (out[base + j] as number) | ((min >> 4) << 6);
    }
  }
}

/**
 * The codes (0..levels) of a 256-value super-block in the Q4_K/Q5_K scheme
 * x ≈ d·sc_j·q − dmin·m_j, with its f16 d, dmin and 6-bit sc_j, m_j written at `o`.
 */
function encodeKWithMins(
  x: Float32Array,
  at: number,
  out: Uint8Array,
  o: number,
  levels: number,
): number[] {
  const scales: number[] = [];
  const mins: number[] = [];
  for (let j = 0; j < 8; j++) {
    let low = 0;
    let high = 0;
    for (let i = 0; i < 32; i++) {
      const value = x[at + 32 * j + i] as number;
      if (i === 0 || value < low) low = value;
      if (i === 0 || value > high) high = value;
    }
    if (low > 0) low = 0;
    scales.push((high - low) / levels);
    mins.push(-low);
  }
  const maxScale = Math.max(...scales);
  const maxMin = Math.max(...mins);
  const inverseScale = maxScale > 0 ? 63 / maxScale : 0;
  const inverseMin = maxMin > 0 ? 63 / maxMin : 0;
  const ls = scales.map((scale) => Math.min(63, Math.round(inverseScale * scale)));
  const lm = mins.map((min) => Math.min(63, Math.round(inverseMin * min)));
  putF16(out, o, maxScale / 63);
  putF16(out, o + 2, maxMin / 63);
  packScaleMins(out, o + 4, ls, lm);
  const d = fromF16(out, o);
  const dmin = fromF16(out, o + 2);
  const codes = new Array<number>(256).fill(0);
  for (let j = 0; j < 8; j++) {
    const [sc, m] = scaleMin(out, o + 4, j);
    const step = d * sc;
    if (step === 0) continue;
    const offset = dmin * m;
    for (let i = 0; i < 32; i++) {
      codes[32 * j + i] = clamp(
        Math.round(((x[at + 32 * j + i] as number) + offset) / step),
        0,
        levels,
      );
    }
  }
  return codes;
}

function encodeQ4_K(x: Float32Array, at: number, out: Uint8Array, o: number): void {
  const codes = encodeKWithMins(x, at, out, o, 15);
  for (let group = 0; group < 4; group++) {
    for (let l = 0; l < 32; l++) {
      out[o + 16 + 32 * group + l] =
        (codes[64 * group + l] as number) | ((codes[64 * group + 32 + l] as number) << 4);
    }
  }
}

function decodeQ4_K(block: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = fromF16(block, o);
  const dmin = fromF16(block, o + 2);
  for (let group = 0; group < 4; group++) {
    const [sc1, m1] = scaleMin(block, o + 4, 2 * group);
    const [sc2, m2] = scaleMin(block, o + 4, 2 * group + 1);
    for (let l = 0; l < 32; l++) {
      const byte = block[o + 16 + 32 * group + l] as number;
      y[at + 64 * group + l] = d * sc1 * (byte & 0x0f) - dmin * m1;
      y[at + 64 * group + 32 + l] = d * sc2 * (byte >> 4) - dmin * m2;
    }
  }
}

// Q5_K: d f16 @0, dmin f16 @2, scales[12] @4, qh[32] @16, qs[128] @48.
function encodeQ5_K(x: Float32Array, at: number, out: Uint8Array, o: number): void {
  const codes = encodeKWithMins(x, at, out, o, 31);
  for (let l = 0; l < 32; l++) out[o + 16 + l] = 0;
  for (let group = 0; group < 4; group++) {
    const bit1 = 1 << (2 * group);
    const bit2 = 2 << (2 * group);
    for (let l = 0; l < 32; l++) {
      let q1 = codes[64 * group + l] as number;
      let q2 = codes[64 * group + 32 + l] as number;
      if (q1 > 15) {
        q1 -= 16;
        out[o + 16 + l] = (out[o + 16 + l] as number) | bit1;
      }
      if (q2 > 15) {
        q2 -= 16;
        out[o + 16 + l] = (out[o + 16 + l] as number) | bit2;
      }
      out[o + 48 + 32 * group + l] = q1 | (q2 << 4);
    }
  }
}

function decodeQ5_K(block: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = fromF16(block, o);
  const dmin = fromF16(block, o + 2);
  for (let group = 0; group < 4; group++) {
    const [sc1, m1] = scaleMin(block, o + 4, 2 * group);
    const [sc2, m2] = scaleMin(block, o + 4, 2 * group + 1);
    const bit1 = 1 << (2 * group);
    const bit2 = 2 << (2 * group);
    for (let l = 0; l < 32; l++) {
      const byte = block[o + 48 + 32 * group + l] as number;
      const high = block[o + 16 + l] as number;
      y[at + 64 * group + l] = d * sc1 * ((byte & 0x0f) + (high & bit1 ? 16 : 0)) - dmin * m1;
      y[at + 64 * group + 32 + l] = d * sc2 * ((byte >> 4) + (high & bit2 ? 16 : 0)) - dmin * m2;
    }
  }
}

// Q6_K: ql[128] @0, qh[64] @128, int8 scales[16] @192, d f16 @208.
function encodeQ6_K(x: Float32Array, at: number, out: Uint8Array, o: number): void {
  const scales: number[] = [];
  for (let block = 0; block < 16; block++) {
    let amax = 0;
    for (let i = 0; i < 16; i++) amax = Math.max(amax, Math.abs(x[at + 16 * block + i] as number));
    scales.push(amax / 31);
  }
  const maxScale = Math.max(...scales);
  putF16(out, o + 208, maxScale / 127);
  const d = fromF16(out, o + 208);
  const codes = new Array<number>(256).fill(32);
  for (let block = 0; block < 16; block++) {
    const sc = d === 0 ? 0 : Math.min(127, Math.round((scales[block] as number) / d));
    out[o + 192 + block] = sc & 0xff;
    const step = d * sc;
    if (step === 0) continue;
    for (let i = 0; i < 16; i++) {
      codes[16 * block + i] =
        clamp(Math.round((x[at + 16 * block + i] as number) / step), -32, 31) + 32;
    }
  }
  for (let half = 0; half < 2; half++) {
    const base = 128 * half;
    for (let l = 0; l < 32; l++) {
      const q1 = codes[base + l] as number;
      const q2 = codes[base + l + 32] as number;
      const q3 = codes[base + l + 64] as number;
      const q4 = codes[base + l + 96] as number;
      out[o + 64 * half + l] = (q1 & 0x0f) | ((q3 & 0x0f) << 4);
      out[o + 64 * half + l + 32] = (q2 & 0x0f) | ((q4 & 0x0f) << 4);
      out[o + 128 + 32 * half + l] =
        (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
    }
  }
}

function decodeQ6_K(block: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = fromF16(block, o + 208);
  for (let half = 0; half < 2; half++) {
    for (let l = 0; l < 32; l++) {
      const is = Math.floor(l / 16);
      const ql0 = block[o + 64 * half + l] as number;
      const ql1 = block[o + 64 * half + l + 32] as number;
      const qh = block[o + 128 + 32 * half + l] as number;
      const scale = (r: number) => ((block[o + 192 + 8 * half + is + 2 * r] as number) << 24) >> 24;
      const q1 = ((ql0 & 0x0f) | ((qh & 3) << 4)) - 32;
      const q2 = ((ql1 & 0x0f) | (((qh >> 2) & 3) << 4)) - 32;
      const q3 = ((ql0 >> 4) | (((qh >> 4) & 3) << 4)) - 32;
      const q4 = ((ql1 >> 4) | (((qh >> 6) & 3) << 4)) - 32;
      y[at + 128 * half + l] = d * scale(0) * q1;
      y[at + 128 * half + l + 32] = d * scale(1) * q2;
      y[at + 128 * half + l + 64] = d * scale(2) * q3;
      y[at + 128 * half + l + 96] = d * scale(3) * q4;
    }
  }
}

/** MXFP4's e2m1 values, doubled (ggml's kvalues_mxfp4); the nibble indexes this table. */
const MXFP4_VALUES = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12] as const;

/** The E8M0 exponent byte as ggml reads it for MXFP4: half of 2^(e−127), i.e. 2^(e−128). */
function e8m0Half(exponent: number): number {
  return 2 ** (exponent - 128);
}

/** The nibble whose value is nearest x/d (ggml's best_index_mxfp4; ties go to the first). */
function nearestMxfp4(x: number, d: number): number {
  let best = 0;
  let bestError = Number.POSITIVE_INFINITY;
  for (let index = 0; index < 16; index++) {
    const error = Math.abs(x - (MXFP4_VALUES[index] as number) * d);
    if (error < bestError) {
      bestError = error;
      best = index;
    }
  }
  return best;
}

function encodeMxfp4(x: Float32Array, at: number, out: Uint8Array, o: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[at + j] as number));
  const exponent = amax > 0 ? clamp(Math.floor(Math.log2(amax)) - 2 + 127, 0, 254) : 0;
  const d = e8m0Half(exponent);
  out[o] = exponent;
  for (let j = 0; j < 16; j++) {
    out[o + 1 + j] =
      nearestMxfp4(x[at + j] as number, d) | (nearestMxfp4(x[at + j + 16] as number, d) << 4);
  }
}

function decodeMxfp4(block: Uint8Array, o: number, y: Float32Array, at: number): void {
  const d = e8m0Half(block[o] as number);
  for (let j = 0; j < 16; j++) {
    const byte = block[o + 1 + j] as number;
    y[at + j] = (MXFP4_VALUES[byte & 0x0f] as number) * d;
    y[at + j + 16] = (MXFP4_VALUES[byte >> 4] as number) * d;
  }
}

type BlockCodec = {
  encode: (x: Float32Array, at: number, out: Uint8Array, o: number) => void;
  decode: (block: Uint8Array, o: number, y: Float32Array, at: number) => void;
};

const CODECS: Record<QuantizedTypeId, BlockCodec> = {
  [GGML_TYPE.Q8_0]: { encode: encodeQ8_0, decode: decodeQ8_0 },
  [GGML_TYPE.Q4_0]: { encode: encodeQ4_0, decode: decodeQ4_0 },
  [GGML_TYPE.Q5_0]: { encode: encodeQ5_0, decode: decodeQ5_0 },
  [GGML_TYPE.Q5_1]: { encode: encodeQ5_1, decode: decodeQ5_1 },
  [GGML_TYPE.Q4_K]: { encode: encodeQ4_K, decode: decodeQ4_K },
  [GGML_TYPE.Q5_K]: { encode: encodeQ5_K, decode: decodeQ5_K },
  [GGML_TYPE.Q6_K]: { encode: encodeQ6_K, decode: decodeQ6_K },
  [GGML_TYPE.MXFP4]: { encode: encodeMxfp4, decode: decodeMxfp4 },
};

function layoutOf(typeId: QuantizedTypeId): { blockSize: number; bytesPerBlock: number } {
  const info = ggmlTypeInfo(typeId);
  if (info === undefined) throw new Error(`no layout for type ${typeId}`);
  return info;
}

/** Encodes values (a whole number of blocks) into the type's block bytes. */
export function quantizeValues(typeId: QuantizedTypeId, values: Float32Array): Uint8Array {
  const { blockSize, bytesPerBlock } = layoutOf(typeId);
  if (values.length % blockSize !== 0) {
    throw new InvalidArgumentError(
      `${ggmlTypeInfo(typeId)?.name} needs a multiple of ${blockSize} values; got ${values.length}.`,
    );
  }
  const blocks = values.length / blockSize;
  const out = new Uint8Array(blocks * bytesPerBlock);
  const codec = CODECS[typeId];
  for (let block = 0; block < blocks; block++) {
    codec.encode(values, block * blockSize, out, block * bytesPerBlock);
  }
  return out;
}

/** Decodes block bytes back into values. */
export function dequantizeBlocks(typeId: QuantizedTypeId, bytes: Uint8Array): Float32Array {
  const { blockSize, bytesPerBlock } = layoutOf(typeId);
  if (bytes.length % bytesPerBlock !== 0) {
    throw new InvalidArgumentError(
      `${ggmlTypeInfo(typeId)?.name} blocks are ${bytesPerBlock} bytes; got ${bytes.length}.`,
    );
  }
  const blocks = bytes.length / bytesPerBlock;
  const values = new Float32Array(blocks * blockSize);
  const codec = CODECS[typeId];
  for (let block = 0; block < blocks; block++) {
    codec.decode(bytes, block * bytesPerBlock, values, block * blockSize);
  }
  return values;
}

/**
 * Fixed scale fields for random blocks whose values spread evenly over about ±`range`:
 * every code is random, every scale finite (random scale bits could be NaN or infinite).
 */
function randomBlockTemplate(typeId: QuantizedTypeId, range: number): Uint8Array {
  const { bytesPerBlock } = layoutOf(typeId);
  const template = new Uint8Array(bytesPerBlock);
  switch (typeId) {
    case GGML_TYPE.Q8_0:
      putF16(template, 0, range / 127);
      break;
    case GGML_TYPE.Q4_0:
      putF16(template, 0, range / 8);
      break;
    case GGML_TYPE.Q5_0:
      putF16(template, 0, range / 16);
      break;
    case GGML_TYPE.Q5_1:
      // x = d·q + m over q in 0..31: from −range to +range.
      putF16(template, 0, (2 * range) / 31);
      putF16(template, 2, -range);
      break;
    case GGML_TYPE.Q4_K:
    case GGML_TYPE.Q5_K: {
      // Every sub-block scale and min at 63: x = 63·d·q − 63·dmin, centred on zero.
      const levels = typeId === GGML_TYPE.Q4_K ? 15 : 31;
      putF16(template, 0, (2 * range) / (63 * levels));
      putF16(template, 2, range / 63);
      template.fill(0xff, 4, 16);
      break;
    }
    case GGML_TYPE.Q6_K:
      template.fill(127, 192, 208);
      putF16(template, 208, range / (127 * 32));
      break;
    case GGML_TYPE.MXFP4:
      // The largest code is ±12·2^(e−128): the exponent whose largest value stays within range.
      template[0] = clamp(128 + Math.floor(Math.log2(range / 12)), 1, 254);
      break;
  }
  return template;
}

/** The byte ranges of a block that hold scales (kept from the template), [start, end). */
const SCALE_FIELDS: Record<QuantizedTypeId, readonly (readonly [number, number])[]> = {
  [GGML_TYPE.Q8_0]: [[0, 2]],
  [GGML_TYPE.Q4_0]: [[0, 2]],
  [GGML_TYPE.Q5_0]: [[0, 2]],
  [GGML_TYPE.Q5_1]: [[0, 4]],
  [GGML_TYPE.Q4_K]: [[0, 16]],
  [GGML_TYPE.Q5_K]: [[0, 16]],
  [GGML_TYPE.Q6_K]: [[192, 210]],
  [GGML_TYPE.MXFP4]: [[0, 1]],
};

/**
 * Fills `out` (whole blocks) with random codes from `nextUint32` under the template's fixed
 * scales: values spread over about ±`range`, as a twin's random weights.
 */
export function fillRandomBlocks(
  typeId: QuantizedTypeId,
  out: Uint8Array,
  nextUint32: () => number,
  range: number,
): void {
  const { bytesPerBlock } = layoutOf(typeId);
  if (out.length % bytesPerBlock !== 0) {
    throw new InvalidArgumentError(`a partial ${ggmlTypeInfo(typeId)?.name} block was asked for`);
  }
  const words = Math.floor(out.length / 4);
  if (out.byteOffset % 4 === 0) {
    const view = new Uint32Array(out.buffer, out.byteOffset, words);
    for (let index = 0; index < words; index++) view[index] = nextUint32();
  } else {
    for (let index = 0; index < words * 4; index += 4) {
      const word = nextUint32();
      out[index] = word & 0xff;
      out[index + 1] = (word >>> 8) & 0xff;
      out[index + 2] = (word >>> 16) & 0xff;
      out[index + 3] = word >>> 24;
    }
  }
  for (let index = words * 4; index < out.length; index++) out[index] = nextUint32() & 0xff;
  const template = randomBlockTemplate(typeId, range);
  const fields = SCALE_FIELDS[typeId];
  for (let block = 0; block < out.length; block += bytesPerBlock) {
    for (const [start, end] of fields) out.set(template.subarray(start, end), block + start);
  }
}

/** The type id of a name, for messages. */
export function quantizedTypeName(typeId: GgmlTypeId): string {
  return ggmlTypeInfo(typeId)?.name ?? `type ${typeId}`;
}

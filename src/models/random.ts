/**
 * Seeded pseudo-random streams for the demo models' weights: xoshiro128** (Blackman and
 * Vigna) seeded through splitmix32 from a 32-bit FNV-1a hash of a text seed.
 *
 * Everything is done with 32-bit integer operations (`Math.imul`, shifts) and exact
 * double arithmetic, with no transcendental math, so a stream is bit-for-bit the same on
 * every machine and in every JavaScript engine. Not for anything security-related.
 */

const textEncoder = new TextEncoder();

/** 32-bit FNV-1a hash of the UTF-8 bytes of `text`, as an unsigned integer. */
export function hashText32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of textEncoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/** A stream of unsigned 32-bit integers. */
export interface SeededRandom {
  /** The next unsigned 32-bit integer, in [0, 2^32). */
  nextUint32(): number;
  /** The next number in the open interval (0, 1): (uint32 + 0.5) / 2^32, exact in a double. */
  nextUnit(): number;
  /** The next number in the open interval (-limit, limit), uniform. */
  nextSymmetric(limit: number): number;
}

/** A xoshiro128** stream fully determined by `seedText` (hashed with {@link hashText32}). */
export function createSeededRandom(seedText: string): SeededRandom {
  let splitState = hashText32(seedText);
  const splitmix32 = (): number => {
    splitState = (splitState + 0x9e3779b9) | 0;
    let z = splitState;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
  let s0 = splitmix32();
  let s1 = splitmix32();
  let s2 = splitmix32();
  let s3 = splitmix32();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;

  const nextUint32 = (): number => {
    const result = Math.imul(rotateLeft(Math.imul(s1, 5), 7), 9) >>> 0;
    const shifted = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= shifted;
    s3 = rotateLeft(s3, 11);
    return result;
  };
  const nextUnit = (): number => (nextUint32() + 0.5) / 4294967296;
  return {
    nextUint32,
    nextUnit,
    nextSymmetric: (limit: number): number => (nextUnit() * 2 - 1) * limit,
  };
}

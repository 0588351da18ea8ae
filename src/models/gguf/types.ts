/**
 * GGUF file format constants and value types (version 3, little-endian).
 * Reference: ggml/docs/gguf.md and ggml/src/gguf.cpp in llama.cpp.
 */

/** "GGUF" read as a little-endian uint32. */
export const GGUF_MAGIC = 0x46554747;
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml supports at most 4 dimensions per tensor. */
export const GGML_MAX_DIMENSIONS = 4;

/** Metadata value type ids as stored in the file. */
export const GGUF_VALUE_TYPE = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

export type GgufValueTypeName = keyof typeof GGUF_VALUE_TYPE;
export type GgufNumberTypeName =
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'uint32'
  | 'int32'
  | 'float32'
  | 'float64';
export type GgufBigIntTypeName = 'uint64' | 'int64';
export type GgufIntegerTypeName = Exclude<GgufNumberTypeName, 'float32' | 'float64'>;

export type GgufScalarValue =
  | { readonly type: GgufNumberTypeName; readonly value: number }
  | { readonly type: GgufBigIntTypeName; readonly value: bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string };

export type GgufArrayValue =
  | {
      readonly type: 'array';
      readonly elementType: GgufNumberTypeName;
      readonly values: readonly number[];
    }
  | {
      readonly type: 'array';
      readonly elementType: GgufBigIntTypeName;
      readonly values: readonly bigint[];
    }
  | { readonly type: 'array'; readonly elementType: 'bool'; readonly values: readonly boolean[] }
  | { readonly type: 'array'; readonly elementType: 'string'; readonly values: readonly string[] }
  | {
      readonly type: 'array';
      readonly elementType: 'array';
      readonly values: readonly GgufArrayValue[];
    };

export type GgufMetadataValue = GgufScalarValue | GgufArrayValue;

/** Constructors for typed metadata values (JavaScript numbers do not carry a GGUF type). */
export const ggufValue = {
  uint8: (value: number): GgufMetadataValue => ({ type: 'uint8', value }),
  int8: (value: number): GgufMetadataValue => ({ type: 'int8', value }),
  uint16: (value: number): GgufMetadataValue => ({ type: 'uint16', value }),
  int16: (value: number): GgufMetadataValue => ({ type: 'int16', value }),
  uint32: (value: number): GgufMetadataValue => ({ type: 'uint32', value }),
  int32: (value: number): GgufMetadataValue => ({ type: 'int32', value }),
  uint64: (value: bigint): GgufMetadataValue => ({ type: 'uint64', value }),
  int64: (value: bigint): GgufMetadataValue => ({ type: 'int64', value }),
  float32: (value: number): GgufMetadataValue => ({ type: 'float32', value }),
  float64: (value: number): GgufMetadataValue => ({ type: 'float64', value }),
  bool: (value: boolean): GgufMetadataValue => ({ type: 'bool', value }),
  string: (value: string): GgufMetadataValue => ({ type: 'string', value }),
  stringArray: (values: readonly string[]): GgufMetadataValue => ({
    type: 'array',
    elementType: 'string',
    values,
  }),
  numberArray: (elementType: GgufNumberTypeName, values: readonly number[]): GgufMetadataValue => ({
    type: 'array',
    elementType,
    values,
  }),
  bigIntArray: (elementType: GgufBigIntTypeName, values: readonly bigint[]): GgufMetadataValue => ({
    type: 'array',
    elementType,
    values,
  }),
  boolArray: (values: readonly boolean[]): GgufMetadataValue => ({
    type: 'array',
    elementType: 'bool',
    values,
  }),
};

/** ggml tensor type ids (enum ggml_type). Ids 4, 5 and 31-33, 36-38 are retired. */
export const GGML_TYPE = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
} as const;

export type GgmlTypeName = keyof typeof GGML_TYPE;
export type GgmlTypeId = (typeof GGML_TYPE)[GgmlTypeName];

export interface GgmlTypeInfo {
  readonly name: GgmlTypeName;
  /** Elements per block (1 for plain types). ne[0] must be a multiple of it. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly bytesPerBlock: number;
}

const typeLayouts: Record<GgmlTypeName, readonly [blockSize: number, bytesPerBlock: number]> = {
  F32: [1, 4],
  F16: [1, 2],
  Q4_0: [32, 18],
  Q4_1: [32, 20],
  Q5_0: [32, 22],
  Q5_1: [32, 24],
  Q8_0: [32, 34],
  Q8_1: [32, 36],
  Q2_K: [256, 84],
  Q3_K: [256, 110],
  Q4_K: [256, 144],
  Q5_K: [256, 176],
  Q6_K: [256, 210],
  Q8_K: [256, 292],
  IQ2_XXS: [256, 66],
  IQ2_XS: [256, 74],
  IQ3_XXS: [256, 98],
  IQ1_S: [256, 50],
  IQ4_NL: [32, 18],
  IQ3_S: [256, 110],
  IQ2_S: [256, 82],
  IQ4_XS: [256, 136],
  I8: [1, 1],
  I16: [1, 2],
  I32: [1, 4],
  I64: [1, 8],
  F64: [1, 8],
  IQ1_M: [256, 56],
  BF16: [1, 2],
  TQ1_0: [256, 54],
  TQ2_0: [256, 66],
  MXFP4: [32, 17],
};

const typeInfoById = new Map<number, GgmlTypeInfo>(
  (Object.keys(GGML_TYPE) as GgmlTypeName[]).map((name) => {
    const [blockSize, bytesPerBlock] = typeLayouts[name];
    return [GGML_TYPE[name], { name, blockSize, bytesPerBlock }];
  }),
);

/** Layout of a ggml tensor type, or undefined for an unknown or retired id. */
export function ggmlTypeInfo(typeId: number): GgmlTypeInfo | undefined {
  return typeInfoById.get(typeId);
}

/**
 * Bytes of a tensor's data (unpadded), or undefined when the type is unknown or the row
 * length ne[0] is not a multiple of the type's block size. Shape is in ggml order.
 */
export function ggmlTensorSizeBytes(typeId: number, shape: readonly number[]): number | undefined {
  const info = ggmlTypeInfo(typeId);
  if (info === undefined) return undefined;
  const rowLength = shape[0] ?? 1;
  if (rowLength % info.blockSize !== 0) return undefined;
  let elementCount = 1;
  for (const dimension of shape) elementCount *= dimension;
  return (elementCount / info.blockSize) * info.bytesPerBlock;
}

/** Rounds `value` up to a multiple of `alignment`. */
export function alignUp(value: number, alignment: number): number {
  const remainder = value % alignment;
  return remainder === 0 ? value : value + alignment - remainder;
}

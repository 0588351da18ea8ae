/**
 * The subset of ONNX (onnx.proto) tandem needs to write a transformer decoder, as plain
 * data: the enums and constants (data types, attribute types, IR versions, domains) and the
 * message types, from a tensor up to the model. onnx-builders.ts makes them, onnx-encoder.ts
 * writes them and onnx-decoder.ts reads them back.
 *
 * Field numbers and enum values are those of the official schema, onnx/onnx.proto and
 * onnx/onnx.proto3 in https://github.com/onnx/onnx (generated from onnx.in.proto); each is
 * cited next to its use as `Message.field = number`.
 */

// ---- Enums ----------------------------------------------------------------------------------

/** TensorProto.DataType (onnx.proto). */
export const ONNX_DATA_TYPE = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;

export type OnnxDataTypeName = Exclude<keyof typeof ONNX_DATA_TYPE, 'UNDEFINED'>;
/** A defined element type (any TensorProto.DataType but UNDEFINED). */
export type OnnxDataType = (typeof ONNX_DATA_TYPE)[OnnxDataTypeName];
/** Element types a tensor can store in raw_data (fixed width: everything but STRING). */
export type OnnxTensorDataType = Exclude<OnnxDataType, typeof ONNX_DATA_TYPE.STRING>;

/** Bytes per element in raw_data, by data type (BOOL: one byte per element). */
const elementByteSizes: Readonly<Record<OnnxTensorDataType, number>> = {
  [ONNX_DATA_TYPE.FLOAT]: 4,
  [ONNX_DATA_TYPE.UINT8]: 1,
  [ONNX_DATA_TYPE.INT8]: 1,
  [ONNX_DATA_TYPE.UINT16]: 2,
  [ONNX_DATA_TYPE.INT16]: 2,
  [ONNX_DATA_TYPE.INT32]: 4,
  [ONNX_DATA_TYPE.INT64]: 8,
  [ONNX_DATA_TYPE.BOOL]: 1,
  [ONNX_DATA_TYPE.FLOAT16]: 2,
  [ONNX_DATA_TYPE.DOUBLE]: 8,
  [ONNX_DATA_TYPE.UINT32]: 4,
  [ONNX_DATA_TYPE.UINT64]: 8,
  [ONNX_DATA_TYPE.COMPLEX64]: 8,
  [ONNX_DATA_TYPE.COMPLEX128]: 16,
  [ONNX_DATA_TYPE.BFLOAT16]: 2,
};

export function isOnnxDataType(value: number): value is OnnxDataType {
  return Number.isInteger(value) && value >= 1 && value <= 16;
}

export function isOnnxTensorDataType(value: number): value is OnnxTensorDataType {
  return isOnnxDataType(value) && value !== ONNX_DATA_TYPE.STRING;
}

/** Bytes per element of `dataType` in raw_data. */
export function onnxElementByteSize(dataType: OnnxTensorDataType): number {
  return elementByteSizes[dataType];
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((product, dimension) => product * dimension, 1);
}

/** AttributeProto.AttributeType (onnx.proto). Only the kinds tandem writes are modelled. */
export const ONNX_ATTRIBUTE_TYPE = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
} as const;

/** IR_VERSION_2021_7_30 (onnx.proto `enum Version`); opsets up to 18 pair with it. */
export const ONNX_IR_VERSION_8 = 8;
/** IR_VERSION_2023_5_5 (onnx.proto `enum Version`). */
export const ONNX_IR_VERSION_9 = 9;
/** The default operator set domain ("ai.onnx"; written as the empty string). */
export const ONNX_DEFAULT_DOMAIN = '';
/** onnxruntime contrib operators (e.g. MatMulNBits, GroupQueryAttention). */
export const ONNX_MICROSOFT_DOMAIN = 'com.microsoft';
export const TANDEM_PRODUCER_NAME = 'tandem';

/** Protobuf cannot parse messages of 2 GiB or more; larger models need external data. */
export const MAX_ONNX_MODEL_BYTES = 2 ** 31 - 1;

// ---- Types ----------------------------------------------------------------------------------

/** TensorProto with raw_data. */
export interface OnnxTensor {
  readonly name: string;
  readonly dataType: OnnxTensorDataType;
  /** Row-major shape; [] is a scalar. */
  readonly dims: readonly number[];
  /** Little-endian elements; length = product(dims) × element size. */
  readonly rawData: Uint8Array;
}

/** TensorShapeProto.Dimension: dim_value (number), dim_param (string) or neither (null). */
export type OnnxDimension = number | string | null;

/** ValueInfoProto whose type is a TypeProto.Tensor. */
export interface OnnxValueInfo {
  readonly name: string;
  readonly elementType: OnnxDataType;
  /** Absent: unknown rank. [] : a scalar. */
  readonly shape?: readonly OnnxDimension[];
}

interface AttributeOf<Type extends number, Value> {
  readonly name: string;
  readonly type: Type;
  readonly value: Value;
}

/** AttributeProto: `type` is the AttributeType discriminator, `value` the matching field. */
export type OnnxAttribute =
  | AttributeOf<typeof ONNX_ATTRIBUTE_TYPE.FLOAT, number>
  | AttributeOf<typeof ONNX_ATTRIBUTE_TYPE.INT, number>
  | AttributeOf<typeof ONNX_ATTRIBUTE_TYPE.STRING, string>
  | AttributeOf<typeof ONNX_ATTRIBUTE_TYPE.TENSOR, OnnxTensor>
  | AttributeOf<typeof ONNX_ATTRIBUTE_TYPE.FLOATS, readonly number[]>
  | AttributeOf<typeof ONNX_ATTRIBUTE_TYPE.INTS, readonly number[]>
  | AttributeOf<typeof ONNX_ATTRIBUTE_TYPE.STRINGS, readonly string[]>;

/** NodeProto. An empty input name marks an omitted optional input. */
export interface OnnxNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  /** Operator set domain; absent or '' is the default ONNX domain. */
  readonly domain?: string;
  readonly attributes: readonly OnnxAttribute[];
}

/** GraphProto. Nodes must be in topological order. */
export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly valueInfo: readonly OnnxValueInfo[];
}

/** OperatorSetIdProto. */
export interface OnnxOperatorSetId {
  readonly domain: string;
  readonly version: number;
}

/** StringStringEntryProto. */
export interface OnnxMetadataEntry {
  readonly key: string;
  readonly value: string;
}

/** ModelProto. */
export interface OnnxModel {
  readonly irVersion: number;
  readonly opsetImports: readonly OnnxOperatorSetId[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly graph: OnnxGraph;
  /** Keys must be distinct. */
  readonly metadataProps: readonly OnnxMetadataEntry[];
}

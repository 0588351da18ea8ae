/**
 * Constructors for the ONNX subset in onnx-graph.ts: a model as tandem writes it (producer,
 * IR version, opsets), attributes, and tensors from element values, written little-endian
 * on every machine.
 */

import {
  ONNX_ATTRIBUTE_TYPE,
  ONNX_DATA_TYPE,
  ONNX_DEFAULT_DOMAIN,
  ONNX_IR_VERSION_8,
  type ONNX_IR_VERSION_9,
  ONNX_MICROSOFT_DOMAIN,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxMetadataEntry,
  type OnnxModel,
  type OnnxOperatorSetId,
  type OnnxTensor,
  TANDEM_PRODUCER_NAME,
} from './onnx-graph.js';

export interface TandemOnnxModelOptions {
  readonly graph: OnnxGraph;
  readonly producerVersion: string;
  /** Default 8. */
  readonly irVersion?: typeof ONNX_IR_VERSION_8 | typeof ONNX_IR_VERSION_9;
  /** Version of the default ONNX operator set; default 17. */
  readonly opsetVersion?: 17 | 18;
  /** Also import com.microsoft version 1 (onnxruntime contrib operators). */
  readonly microsoftOperators?: boolean;
  readonly metadataProps?: readonly OnnxMetadataEntry[];
}

/** A model as tandem writes it: producer 'tandem', IR 8 or 9, opset 17 or 18. */
export function createTandemOnnxModel(options: TandemOnnxModelOptions): OnnxModel {
  const opsetImports: OnnxOperatorSetId[] = [
    { domain: ONNX_DEFAULT_DOMAIN, version: options.opsetVersion ?? 17 },
  ];
  if (options.microsoftOperators === true) {
    opsetImports.push({ domain: ONNX_MICROSOFT_DOMAIN, version: 1 });
  }
  return {
    irVersion: options.irVersion ?? ONNX_IR_VERSION_8,
    opsetImports,
    producerName: TANDEM_PRODUCER_NAME,
    producerVersion: options.producerVersion,
    graph: options.graph,
    metadataProps: options.metadataProps ?? [],
  };
}

/** Attribute constructors: `onnxAttribute.int('axis', -1)`. */
export const onnxAttribute = {
  float: (name: string, value: number): OnnxAttribute => ({
    name,
    type: ONNX_ATTRIBUTE_TYPE.FLOAT,
    value,
  }),
  int: (name: string, value: number): OnnxAttribute => ({
    name,
    type: ONNX_ATTRIBUTE_TYPE.INT,
    value,
  }),
  string: (name: string, value: string): OnnxAttribute => ({
    name,
    type: ONNX_ATTRIBUTE_TYPE.STRING,
    value,
  }),
  tensor: (name: string, value: OnnxTensor): OnnxAttribute => ({
    name,
    type: ONNX_ATTRIBUTE_TYPE.TENSOR,
    value,
  }),
  floats: (name: string, value: readonly number[]): OnnxAttribute => ({
    name,
    type: ONNX_ATTRIBUTE_TYPE.FLOATS,
    value,
  }),
  ints: (name: string, value: readonly number[]): OnnxAttribute => ({
    name,
    type: ONNX_ATTRIBUTE_TYPE.INTS,
    value,
  }),
  strings: (name: string, value: readonly string[]): OnnxAttribute => ({
    name,
    type: ONNX_ATTRIBUTE_TYPE.STRINGS,
    value,
  }),
} as const;

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(
  count: number,
  byteSize: number,
  write: (view: DataView, index: number) => void,
): Uint8Array {
  const bytes = new Uint8Array(count * byteSize);
  const view = new DataView(bytes.buffer);
  for (let index = 0; index < count; index++) write(view, index);
  return bytes;
}

/**
 * Tensor constructors from element values, written little-endian on every machine:
 * `onnxTensor.float32('w', [4, 3], values)`.
 */
export const onnxTensor = {
  float32: (
    name: string,
    dims: readonly number[],
    values: Float32Array | readonly number[],
  ): OnnxTensor => ({
    name,
    dataType: ONNX_DATA_TYPE.FLOAT,
    dims,
    // On a little-endian machine a Float32Array's bytes are already raw_data: copy them at once.
    rawData:
      values instanceof Float32Array && IS_LITTLE_ENDIAN
        ? new Uint8Array(values.slice().buffer)
        : littleEndianBytes(values.length, 4, (view, index) =>
            view.setFloat32(index * 4, values[index] as number, true),
          ),
  }),
  /** Float16 elements given as their bit patterns (see gguf/float16.ts). */
  float16Bits: (
    name: string,
    dims: readonly number[],
    bits: Uint16Array | readonly number[],
  ): OnnxTensor => ({
    name,
    dataType: ONNX_DATA_TYPE.FLOAT16,
    dims,
    rawData: littleEndianBytes(bits.length, 2, (view, index) =>
      view.setUint16(index * 2, bits[index] as number, true),
    ),
  }),
  int32: (
    name: string,
    dims: readonly number[],
    values: Int32Array | readonly number[],
  ): OnnxTensor => ({
    name,
    dataType: ONNX_DATA_TYPE.INT32,
    dims,
    rawData: littleEndianBytes(values.length, 4, (view, index) =>
      view.setInt32(index * 4, values[index] as number, true),
    ),
  }),
  int64: (
    name: string,
    dims: readonly number[],
    values: BigInt64Array | readonly (number | bigint)[],
  ): OnnxTensor => ({
    name,
    dataType: ONNX_DATA_TYPE.INT64,
    dims,
    rawData: littleEndianBytes(values.length, 8, (view, index) =>
      view.setBigInt64(index * 8, BigInt(values[index] as number | bigint), true),
    ),
  }),
  uint8: (name: string, dims: readonly number[], values: Uint8Array): OnnxTensor => ({
    name,
    dataType: ONNX_DATA_TYPE.UINT8,
    dims,
    rawData: values,
  }),
  int8: (name: string, dims: readonly number[], values: Int8Array): OnnxTensor => ({
    name,
    dataType: ONNX_DATA_TYPE.INT8,
    dims,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  }),
  bool: (name: string, dims: readonly number[], values: readonly boolean[]): OnnxTensor => ({
    name,
    dataType: ONNX_DATA_TYPE.BOOL,
    dims,
    rawData: Uint8Array.from(values, (value) => (value ? 1 : 0)),
  }),
} as const;

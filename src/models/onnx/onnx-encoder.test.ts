/**
 * The ONNX encoder: round trips through the decoder, deterministic bytes, tandem's defaults,
 * onnx.proto's field numbers in order, and the invalid models it refuses.
 */

import { describe, expect, it } from 'vitest';
import { sampleGraph, sampleModel } from '../../../test/support/onnx-sample-model.js';
import { hex, lengthDelimited, onlyField } from '../../../test/support/protobuf-bytes.js';
import { createTandemOnnxModel, onnxAttribute, onnxTensor } from './onnx-builders.js';
import { decodeModel } from './onnx-decoder.js';
import { encodeModel, encodeModelChunks, OnnxModelError } from './onnx-encoder.js';
import {
  ONNX_ATTRIBUTE_TYPE,
  ONNX_DATA_TYPE,
  type OnnxModel,
  type OnnxTensor,
} from './onnx-graph.js';
import { readFields } from './protobuf-reader.js';
import { WIRE_TYPE } from './protobuf-writer.js';

describe('ONNX model encoding', () => {
  it('round-trips a model through encode and decode', () => {
    const model = sampleModel();
    const bytes = encodeModel(model);
    const decoded = decodeModel(bytes);
    expect(decoded).toEqual(model);
    expect(encodeModel(decoded)).toEqual(bytes);
  });

  it('is deterministic: equal models give identical bytes', () => {
    const first = encodeModel(sampleModel());
    const second = encodeModel(sampleModel());
    expect(hex(second)).toBe(hex(first));
    const chunks = encodeModelChunks(sampleModel());
    expect(Buffer.concat(chunks)).toEqual(Buffer.from(first));
  });

  it('writes tandem defaults: producer, IR version and opsets', () => {
    const model = sampleModel();
    expect(model.producerName).toBe('tandem');
    expect(model.irVersion).toBe(8);
    expect(model.opsetImports).toEqual([
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    const other = createTandemOnnxModel({
      graph: sampleGraph(),
      producerVersion: '1.2.3',
      irVersion: 9,
      opsetVersion: 18,
    });
    expect(other.opsetImports).toEqual([{ domain: '', version: 18 }]);
    expect(decodeModel(encodeModel(other))).toMatchObject({
      irVersion: 9,
      producerName: 'tandem',
      producerVersion: '1.2.3',
      metadataProps: [],
    });
  });

  it('uses the onnx.proto field numbers, in ascending order', () => {
    const bytes = encodeModel(sampleModel());
    const modelFields = readFields(bytes);
    expect(modelFields.map((field) => field.fieldNumber)).toEqual([1, 2, 3, 7, 8, 8, 14, 14]);
    expect(modelFields[0]).toMatchObject({ wireType: WIRE_TYPE.VARINT, value: 8n });
    expect(new TextDecoder().decode(lengthDelimited(modelFields[1]))).toBe('tandem');

    const graphFields = readFields(lengthDelimited(modelFields[3]));
    const graphNumbers = graphFields.map((field) => field.fieldNumber);
    expect(graphNumbers).toEqual([...graphNumbers].sort((a, b) => a - b));
    expect(new Set(graphNumbers)).toEqual(new Set([1, 2, 5, 11, 12, 13]));

    // Node 'LayerNormalization': input = 1 (three, the last empty), output = 2, op_type = 4,
    // attribute = 5; no name (3) or domain (7) because none were given.
    const layerNorm = readFields(lengthDelimited(graphFields[2]));
    expect(layerNorm.map((field) => field.fieldNumber)).toEqual([1, 1, 1, 2, 4, 5, 5]);
    expect(lengthDelimited(layerNorm[2])).toHaveLength(0);

    // Attribute axis = -1: name = 1, i = 3 as a 10-byte two's complement varint, type = 20.
    const axis = readFields(lengthDelimited(layerNorm[5]));
    expect(axis).toMatchObject([
      { fieldNumber: 1 },
      { fieldNumber: 3, wireType: WIRE_TYPE.VARINT, value: 2n ** 64n - 1n },
      { fieldNumber: 20, value: BigInt(ONNX_ATTRIBUTE_TYPE.INT) },
    ]);
    // Attribute epsilon: f = 2 (fixed32), type FLOAT = 1.
    const epsilon = readFields(lengthDelimited(layerNorm[6]));
    expect(epsilon).toMatchObject([
      { fieldNumber: 1 },
      { fieldNumber: 2, wireType: WIRE_TYPE.FIXED32 },
      { fieldNumber: 20, value: 1n },
    ]);

    // Initializer 'embedding': dims = 1 (unpacked), data_type = 2, name = 8, raw_data = 9.
    const embedding = readFields(lengthDelimited(graphFields[8]));
    expect(embedding).toMatchObject([
      { fieldNumber: 1, wireType: WIRE_TYPE.VARINT, value: 4n },
      { fieldNumber: 1, wireType: WIRE_TYPE.VARINT, value: 2n },
      { fieldNumber: 2, value: BigInt(ONNX_DATA_TYPE.FLOAT16) },
      { fieldNumber: 8 },
      { fieldNumber: 9, wireType: WIRE_TYPE.LENGTH_DELIMITED },
    ]);
    expect(hex(lengthDelimited(embedding[4]))).toBe('003c00c000000080010002000300ff7b');

    // Input 'input_ids': ValueInfoProto.type = 2 → TypeProto.tensor_type = 1 →
    // elem_type = 1 (INT64 = 7), shape = 2 → dim = 1 → dim_param = 2.
    const input = readFields(
      lengthDelimited(graphFields.find((field) => field.fieldNumber === 11)),
    );
    expect(input.map((field) => field.fieldNumber)).toEqual([1, 2]);
    const tensorType = readFields(lengthDelimited(onlyField(lengthDelimited(input[1]))));
    expect(tensorType).toMatchObject([{ fieldNumber: 1, value: 7n }, { fieldNumber: 2 }]);
    const dims = readFields(lengthDelimited(tensorType[1]));
    expect(dims.map((field) => field.fieldNumber)).toEqual([1, 1]);
    expect(onlyField(lengthDelimited(dims[0]))).toMatchObject({ fieldNumber: 2 });
  });

  it('writes an empty shape for a scalar and no shape for an unknown rank', () => {
    const model = sampleModel();
    const decoded = decodeModel(encodeModel(model));
    expect(decoded.graph.inputs[1]).toEqual({ name: 'unknown_rank', elementType: 1 });
    expect(decoded.graph.inputs[1]).not.toHaveProperty('shape');
    expect(decoded.graph.inputs[2]?.shape).toEqual([]);
    expect(decoded.graph.outputs[0]?.shape).toEqual(['batch', 2, null]);
  });

  it('round-trips empty repeated fields', () => {
    const model = createTandemOnnxModel({
      producerVersion: '',
      graph: {
        name: '',
        nodes: [{ opType: 'NoOp', inputs: [], outputs: [], attributes: [] }],
        initializers: [],
        inputs: [],
        outputs: [],
        valueInfo: [],
      },
    });
    const bytes = encodeModel(model);
    expect(decodeModel(bytes)).toEqual(model);
    expect(encodeModel(decodeModel(bytes))).toEqual(bytes);
  });

  it('round-trips large raw data without copying it on decode', () => {
    const size = 6 * 1024 * 1024;
    const weights = new Float32Array(size / 4).map((_, index) => Math.fround(Math.sin(index)));
    const tensor: OnnxTensor = {
      name: 'weights',
      dataType: ONNX_DATA_TYPE.FLOAT,
      dims: [1024, size / 4 / 1024],
      rawData: new Uint8Array(weights.buffer),
    };
    const model = createTandemOnnxModel({
      producerVersion: '0.1.0',
      graph: { ...sampleGraph(), initializers: [tensor] },
    });
    const chunks = encodeModelChunks(model);
    expect(chunks.includes(tensor.rawData)).toBe(true);
    const bytes = encodeModel(model);
    const decoded = decodeModel(bytes);
    const decodedWeights = decoded.graph.initializers[0]?.rawData ?? new Uint8Array(0);
    expect(decodedWeights.buffer).toBe(bytes.buffer);
    expect(Buffer.from(decodedWeights).equals(tensor.rawData)).toBe(true);
    // Deep equality on megabytes is slow: compare the rest with the raw data left out.
    const withoutData = (value: OnnxModel) => ({
      ...value,
      graph: {
        ...value.graph,
        initializers: value.graph.initializers.map(({ rawData, ...rest }) => rest),
      },
    });
    expect(withoutData(decoded)).toEqual(withoutData(model));
  });

  it('stores tensor helpers little-endian', () => {
    expect(hex(onnxTensor.float32('a', [1], [1]).rawData)).toBe('0000803f');
    expect(hex(onnxTensor.int64('b', [1], [-2]).rawData)).toBe('feffffffffffffff');
    expect(hex(onnxTensor.int32('c', [1], [0x01020304]).rawData)).toBe('04030201');
    expect(hex(onnxTensor.float16Bits('d', [1], [0x3c00]).rawData)).toBe('003c');
    expect(hex(onnxTensor.bool('e', [2], [true, false]).rawData)).toBe('0100');
  });

  it.each([
    [
      'raw data of the wrong size',
      (model: OnnxModel): OnnxModel => ({
        ...model,
        graph: { ...model.graph, initializers: [onnxTensor.float32('w', [2, 2], [1, 2, 3])] },
      }),
      /tensor 'w' has 12 bytes of raw data, its shape \[2, 2\] needs 16/,
    ],
    [
      'a negative dimension',
      (model: OnnxModel): OnnxModel => ({
        ...model,
        graph: { ...model.graph, initializers: [onnxTensor.float32('w', [-1], [])] },
      }),
      /invalid dimension -1/,
    ],
    [
      'a string tensor',
      (model: OnnxModel): OnnxModel => ({
        ...model,
        graph: {
          ...model.graph,
          initializers: [{ name: 's', dataType: 8 as 1, dims: [1], rawData: new Uint8Array(1) }],
        },
      }),
      /unsupported data type 8/,
    ],
    [
      'a fractional int attribute',
      (model: OnnxModel): OnnxModel => ({
        ...model,
        graph: {
          ...model.graph,
          nodes: [
            {
              opType: 'Softmax',
              inputs: [],
              outputs: [],
              attributes: [onnxAttribute.int('axis', 0.5)],
            },
          ],
        },
      }),
      /attribute 'axis' 0.5 is not a safe integer/,
    ],
    [
      'an empty opset list',
      (model: OnnxModel): OnnxModel => ({ ...model, opsetImports: [] }),
      /opset_import is empty/,
    ],
    [
      'duplicate metadata keys',
      (model: OnnxModel): OnnxModel => ({
        ...model,
        metadataProps: [
          { key: 'k', value: '1' },
          { key: 'k', value: '2' },
        ],
      }),
      /metadata_props lists key 'k' twice/,
    ],
    [
      'a negative shape dimension',
      (model: OnnxModel): OnnxModel => ({
        ...model,
        graph: { ...model.graph, inputs: [{ name: 'x', elementType: 1, shape: [-3] }] },
      }),
      /value 'x' has invalid dimension -3/,
    ],
  ])('refuses to encode %s', (_label, change, reason) => {
    const encode = () => encodeModel(change(sampleModel()));
    expect(encode).toThrow(OnnxModelError);
    expect(encode).toThrow(reason);
  });
});

/**
 * The ONNX decoder: truncated, incomplete and unsupported input fails with a decode error
 * that says what is wrong; packed dims and unknown fields are read as protobuf allows.
 */

import { describe, expect, it } from 'vitest';
import { sampleModel } from '../../../test/support/onnx-sample-model.js';
import { expectDecodeError, written } from '../../../test/support/protobuf-bytes.js';
import { decodeModel } from './onnx-decoder.js';
import { encodeModel } from './onnx-encoder.js';
import { ONNX_DATA_TYPE } from './onnx-graph.js';
import { ProtobufDecodeError, readFields } from './protobuf-reader.js';
import type { ProtobufWriter } from './protobuf-writer.js';

describe('ONNX model decoding', () => {
  it('fails with a decode error on every truncation inside a field', () => {
    const bytes = encodeModel(sampleModel());
    const boundaries = new Set(readFields(bytes).map((field) => field.offset));
    let decodedPrefixes = 0;
    for (let length = 0; length < bytes.length; length++) {
      const prefix = bytes.subarray(0, length);
      if (boundaries.has(length)) {
        // A cut between top-level fields is a shorter, well-formed message: protobuf has no
        // end marker. It decodes only when the required parts are already there.
        try {
          decodeModel(prefix);
          decodedPrefixes++;
        } catch (error) {
          expect(error).toBeInstanceOf(ProtobufDecodeError);
        }
        continue;
      }
      expect(() => decodeModel(prefix), `prefix of ${length} bytes`).toThrow(ProtobufDecodeError);
    }
    // Only the cuts after the first opset import, after the second and after the first
    // metadata entry decode (field order: ... graph = 7, opset_import = 8, metadata = 14).
    expect(decodedPrefixes).toBe(3);
  });

  it('reports what is missing from an empty or incomplete model', () => {
    expectDecodeError(() => decodeModel(new Uint8Array(0)), /ir_version is missing/);
    const noGraph = written((writer) => writer.writeInt64Field(1, 8));
    expectDecodeError(() => decodeModel(noGraph), /graph is missing/);
    const noOpset = written((writer) => {
      writer.writeInt64Field(1, 8);
      writer.writeMessageField(7, () => {});
    });
    expectDecodeError(() => decodeModel(noOpset), /opset_import is empty/);
  });

  function modelWithTensor(writeTensor: (writer: ProtobufWriter) => void): Uint8Array {
    return written((writer) => {
      writer.writeInt64Field(1, 8);
      writer.writeMessageField(7, () => writer.writeMessageField(5, () => writeTensor(writer)));
      writer.writeMessageField(8, () => writer.writeInt64Field(2, 17));
    });
  }

  it('accepts packed dims and skips unknown fields', () => {
    const bytes = modelWithTensor((writer) => {
      writer.writePackedInt64Field(1, [2, 3]);
      writer.writeInt64Field(2, ONNX_DATA_TYPE.UINT8);
      writer.writeStringField(12, 'a doc string, skipped');
      writer.writeStringField(8, 'packed');
      writer.writeBytesField(9, new Uint8Array(6));
    });
    expect(decodeModel(bytes).graph.initializers).toEqual([
      { name: 'packed', dataType: ONNX_DATA_TYPE.UINT8, dims: [2, 3], rawData: new Uint8Array(6) },
    ]);
  });

  it.each([
    [
      'typed tensor data',
      (writer: ProtobufWriter) => {
        writer.writeInt64Field(2, ONNX_DATA_TYPE.FLOAT);
        writer.writePackedFloat32Field(4, [1]);
      },
      /TensorProto.float_data is not supported/,
    ],
    [
      'external tensor data',
      (writer: ProtobufWriter) => {
        writer.writeInt64Field(2, ONNX_DATA_TYPE.FLOAT);
        writer.writeMessageField(13, () => writer.writeStringField(1, 'location'));
      },
      /TensorProto.external_data is not supported/,
    ],
    [
      'raw data of the wrong size',
      (writer: ProtobufWriter) => {
        writer.writeInt64Field(1, 3);
        writer.writeInt64Field(2, ONNX_DATA_TYPE.INT64);
        writer.writeStringField(8, 'ids');
        writer.writeBytesField(9, new Uint8Array(16));
      },
      /tensor 'ids' has 16 bytes of raw_data, its shape \[3\] needs 24/,
    ],
    [
      'no data type',
      (writer: ProtobufWriter) => writer.writeStringField(8, 'untyped'),
      /tensor 'untyped' has unsupported data type 0/,
    ],
    [
      'a wire type that does not match the field',
      (writer: ProtobufWriter) => writer.writeStringField(2, 'FLOAT'),
      /TensorProto.data_type \(field 2\) has wire type length-delimited, expected varint/,
    ],
  ])('rejects a tensor with %s', (_label, writeTensor, reason) => {
    expectDecodeError(() => decodeModel(modelWithTensor(writeTensor)), reason);
  });

  it('rejects an attribute without a type', () => {
    const bytes = written((writer) => {
      writer.writeInt64Field(1, 8);
      writer.writeMessageField(7, () =>
        writer.writeMessageField(1, () => {
          writer.writeStringField(4, 'Softmax');
          writer.writeMessageField(5, () => {
            writer.writeStringField(1, 'axis');
            writer.writeInt64Field(3, -1);
          });
        }),
      );
      writer.writeMessageField(8, () => writer.writeInt64Field(2, 17));
    });
    expectDecodeError(() => decodeModel(bytes), /attribute 'axis' has unsupported type 0/);
  });
});

import { describe, expect, it } from 'vitest';
import { createTandemOnnxModel, onnxAttribute, onnxTensor } from './onnx-builders.js';
import { decodeModel, encodeModel, encodeModelChunks, OnnxModelError } from './onnx-decoder.js';
import {
  ONNX_ATTRIBUTE_TYPE,
  ONNX_DATA_TYPE,
  type OnnxGraph,
  type OnnxModel,
  type OnnxTensor,
} from './onnx-graph.js';
import {
  ProtobufDecodeError,
  type ProtobufField,
  ProtobufReader,
  readFields,
} from './protobuf-reader.js';
import {
  LARGE_BYTES_THRESHOLD,
  ProtobufWriter,
  varintByteLength,
  WIRE_TYPE,
} from './protobuf-writer.js';

function written(write: (writer: ProtobufWriter) => void): Uint8Array {
  const writer = new ProtobufWriter();
  write(writer);
  return writer.finish();
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Reference varint encoding of a uint64, computed with bigints. */
function referenceVarint(value: bigint): string {
  const bytes: number[] = [];
  let rest = BigInt.asUintN(64, value);
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest === 0n ? low : low | 0x80);
  } while (rest !== 0n);
  return hex(Uint8Array.from(bytes));
}

function expectDecodeError(action: () => unknown, reason: RegExp): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ProtobufDecodeError);
  expect((caught as Error).message).toMatch(reason);
  expect((caught as Error).message).not.toContain('\n');
}

function onlyField(bytes: Uint8Array): ProtobufField {
  const fields = readFields(bytes);
  expect(fields).toHaveLength(1);
  return fields[0] as ProtobufField;
}

function lengthDelimited(field: ProtobufField | undefined): Uint8Array {
  if (field?.wireType !== WIRE_TYPE.LENGTH_DELIMITED) throw new Error('not length-delimited');
  return field.value;
}

/** A small transformer-like graph touching every supported feature. */
function sampleGraph(): OnnxGraph {
  return {
    name: 'sample',
    nodes: [
      {
        opType: 'Gather',
        name: 'embed',
        inputs: ['embedding', 'input_ids'],
        outputs: ['hidden16'],
        attributes: [onnxAttribute.int('axis', 0)],
      },
      {
        opType: 'Cast',
        inputs: ['hidden16'],
        outputs: ['hidden'],
        attributes: [onnxAttribute.int('to', ONNX_DATA_TYPE.FLOAT)],
      },
      {
        opType: 'LayerNormalization',
        inputs: ['hidden', 'scale', ''],
        outputs: ['normed'],
        attributes: [onnxAttribute.int('axis', -1), onnxAttribute.float('epsilon', 2 ** -17)],
      },
      {
        opType: 'Transpose',
        inputs: ['normed'],
        outputs: ['transposed'],
        attributes: [onnxAttribute.ints('perm', [0, 2, 1]), onnxAttribute.ints('unused', [])],
      },
      {
        opType: 'Constant',
        inputs: [],
        outputs: ['constants'],
        attributes: [onnxAttribute.floats('value_floats', [0.5, -1.25, 3])],
      },
      {
        opType: 'Constant',
        inputs: [],
        outputs: ['shape'],
        attributes: [onnxAttribute.tensor('value', onnxTensor.int64('', [3], [1, -1, 64]))],
      },
      {
        opType: 'Gelu',
        name: '',
        domain: 'com.microsoft',
        inputs: ['transposed'],
        outputs: ['activated'],
        attributes: [
          onnxAttribute.string('approximate', 'tanh ✓'),
          onnxAttribute.strings('tags', ['a', '', 'ü']),
        ],
      },
    ],
    initializers: [
      onnxTensor.float16Bits('embedding', [4, 2], [0x3c00, 0xc000, 0, 0x8000, 1, 2, 3, 0x7bff]),
      onnxTensor.float32('scale', [2], [1, 0.5]),
      onnxTensor.float32('scalar', [], [Math.fround(0.1)]),
      onnxTensor.float32('empty', [0, 5], []),
      onnxTensor.int32('int32', [2], [-7, 2 ** 31 - 1]),
      onnxTensor.uint8('uint8', [3], Uint8Array.from([0, 128, 255])),
      onnxTensor.int8('int8', [2], Int8Array.from([-128, 127])),
      onnxTensor.bool('mask', [2, 2], [true, false, false, true]),
      onnxTensor.int64('positions', [2], [-(2n ** 63n), 2n ** 63n - 1n]),
    ],
    inputs: [
      { name: 'input_ids', elementType: ONNX_DATA_TYPE.INT64, shape: ['batch', 'sequence'] },
      { name: 'unknown_rank', elementType: ONNX_DATA_TYPE.FLOAT },
      { name: 'scalar_input', elementType: ONNX_DATA_TYPE.BOOL, shape: [] },
    ],
    outputs: [{ name: 'activated', elementType: ONNX_DATA_TYPE.FLOAT, shape: ['batch', 2, null] }],
    valueInfo: [{ name: 'hidden', elementType: ONNX_DATA_TYPE.FLOAT, shape: ['batch', 0, 2] }],
  };
}

function sampleModel(): OnnxModel {
  return createTandemOnnxModel({
    graph: sampleGraph(),
    producerVersion: '0.1.0',
    microsoftOperators: true,
    metadataProps: [
      { key: 'tandem.source', value: 'tiny.gguf' },
      { key: 'empty', value: '' },
    ],
  });
}

describe('ProtobufWriter and ProtobufReader', () => {
  it.each([
    0,
    1,
    127,
    128,
    300,
    16383,
    16384,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 35 + 17,
    2 ** 49,
    2 ** 53 - 1,
  ])('encodes the varint %s like the reference and reads it back', (value) => {
    const bytes = written((writer) => writer.writeVarint(value));
    expect(hex(bytes)).toBe(referenceVarint(BigInt(value)));
    expect(varintByteLength(value)).toBe(bytes.length);
    const reader = new ProtobufReader(bytes);
    expect(reader.readVarint()).toBe(value);
    expect(reader.isAtEnd()).toBe(true);
    expect(new ProtobufReader(bytes).readInt64()).toBe(value);
  });

  it('encodes 300 as ac 02 and 2^53 - 1 in 8 bytes', () => {
    expect(hex(written((writer) => writer.writeVarint(300)))).toBe('ac02');
    expect(hex(written((writer) => writer.writeVarint(2 ** 53 - 1)))).toBe('ffffffffffffff0f');
  });

  it.each([
    -1,
    -2,
    -127,
    -128,
    -(2 ** 31),
    -(2 ** 31) - 1,
    -(2 ** 32),
    -(2 ** 32) - 1,
    -(2 ** 53) + 1,
  ])('encodes the negative int64 %s as a 10-byte two complement varint', (value) => {
    const bytes = written((writer) => writer.writeInt64(value));
    expect(bytes).toHaveLength(10);
    expect(hex(bytes)).toBe(referenceVarint(BigInt(value)));
    expect(new ProtobufReader(bytes).readInt64()).toBe(value);
    expect(new ProtobufReader(bytes).readInt64Bigint()).toBe(BigInt(value));
  });

  it('encodes -1 as ff ff ff ff ff ff ff ff ff 01', () => {
    expect(hex(written((writer) => writer.writeInt64(-1)))).toBe('ffffffffffffffffff01');
  });

  it('reads negative int32 values written as sign-extended varints', () => {
    const bytes = written((writer) => writer.writeInt64(-5));
    expect(new ProtobufReader(bytes).readInt32()).toBe(-5);
  });

  it('covers the full int64 and uint64 ranges with bigints', () => {
    for (const value of [-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n, -(2n ** 53n) - 1n, 0n]) {
      const bytes = written((writer) => writer.writeInt64(value));
      expect(hex(bytes)).toBe(referenceVarint(value));
      expect(new ProtobufReader(bytes).readInt64Bigint()).toBe(value);
    }
    const maximum = 2n ** 64n - 1n;
    const bytes = written((writer) => writer.writeUint64Bigint(maximum));
    expect(hex(bytes)).toBe('ffffffffffffffffff01');
    expect(new ProtobufReader(bytes).readUint64Bigint()).toBe(maximum);
  });

  it('refuses numbers outside what it can encode exactly', () => {
    const writer = new ProtobufWriter();
    expect(() => writer.writeVarint(2 ** 53)).toThrow(RangeError);
    expect(() => writer.writeVarint(-1)).toThrow(RangeError);
    expect(() => writer.writeVarint(1.5)).toThrow(RangeError);
    expect(() => writer.writeInt64(-(2 ** 53))).toThrow(RangeError);
    expect(() => writer.writeInt64(2n ** 63n)).toThrow(RangeError);
    expect(() => writer.writeKey(0, WIRE_TYPE.VARINT)).toThrow(RangeError);
    expect(() => writer.writeKey(2 ** 29, WIRE_TYPE.VARINT)).toThrow(RangeError);
  });

  it('refuses to turn unsafe values into numbers', () => {
    const big = written((writer) => writer.writeVarint(2 ** 53 - 1));
    const tooBig = written((writer) => writer.writeUint64Bigint(2n ** 53n));
    expect(new ProtobufReader(big).readVarint()).toBe(2 ** 53 - 1);
    expectDecodeError(() => new ProtobufReader(tooBig).readVarint(), /larger than 2\^53/);
    expectDecodeError(() => new ProtobufReader(tooBig).readInt64(), /safe integer range/);
    const tooNegative = written((writer) => writer.writeInt64(-(2n ** 53n)));
    expectDecodeError(() => new ProtobufReader(tooNegative).readInt64(), /safe integer range/);
  });

  it('writes fixed-width values little-endian', () => {
    expect(hex(written((writer) => writer.writeFixed32(0x01020304)))).toBe('04030201');
    expect(hex(written((writer) => writer.writeFloat32(1)))).toBe('0000803f');
    expect(hex(written((writer) => writer.writeFloat64(-2)))).toBe('00000000000000c0');
    expect(hex(written((writer) => writer.writeFixed64(0x0102030405060708n)))).toBe(
      '0807060504030201',
    );
    const bytes = written((writer) => {
      writer.writeFloat32Field(2, -0.25);
      writer.writeFloat64Field(3, Math.PI);
      writer.writeFixed32Field(4, 0xffffffff);
      writer.writeFixed64Field(5, 2n ** 64n - 1n);
    });
    const reader = new ProtobufReader(bytes);
    expect(reader.readKey()).toEqual({ fieldNumber: 2, wireType: WIRE_TYPE.FIXED32, offset: 0 });
    expect(reader.readFloat32()).toBe(-0.25);
    expect(reader.readKey().wireType).toBe(WIRE_TYPE.FIXED64);
    expect(reader.readFloat64()).toBe(Math.PI);
    reader.readKey();
    expect(reader.readFixed32()).toBe(0xffffffff);
    reader.readKey();
    expect(reader.readFixed64()).toBe(2n ** 64n - 1n);
    expect(reader.isAtEnd()).toBe(true);
  });

  it('writes keys as (field_number << 3) | wire_type', () => {
    expect(hex(written((writer) => writer.writeVarintField(1, 150)))).toBe('089601');
    expect(hex(written((writer) => writer.writeStringField(2, 'testing')))).toBe(
      '120774657374696e67',
    );
    expect(hex(written((writer) => writer.writeVarintField(20, 7)))).toBe('a00107');
    const bytes = written((writer) => writer.writeVarintField(2 ** 29 - 1, 0));
    expect(onlyField(bytes)).toMatchObject({ fieldNumber: 2 ** 29 - 1, value: 0n });
  });

  it('nests messages with the right lengths, one- and multi-byte', () => {
    const long = 'x'.repeat(200);
    const bytes = written((writer) => {
      writer.writeMessageField(7, () => {
        writer.writeStringField(1, long);
        writer.writeMessageField(3, () => {});
        writer.writeMessageField(4, () => writer.writeVarintField(1, 5));
      });
      writer.writeVarintField(8, 1);
    });
    const [outer, last] = readFields(bytes);
    expect(last).toMatchObject({ fieldNumber: 8, value: 1n });
    const inner = readFields(lengthDelimited(outer));
    expect(new TextDecoder().decode(lengthDelimited(inner[0]))).toBe(long);
    expect(lengthDelimited(inner[1])).toHaveLength(0);
    expect(readFields(lengthDelimited(inner[2]))).toMatchObject([{ fieldNumber: 1, value: 5n }]);
    // string: key + 2-byte length + 200; empty message: key + length; last: 2 + 2
    expect(lengthDelimited(outer)).toHaveLength(203 + 2 + 4);
  });

  it('keeps a large payload as one referenced chunk and copies it once', () => {
    const payload = new Uint8Array(LARGE_BYTES_THRESHOLD * 3).map((_, index) => index % 251);
    const writer = new ProtobufWriter();
    writer.writeMessageField(1, () => {
      writer.writeStringField(1, 'weights');
      writer.writeBytesField(9, payload);
    });
    // name: 1 + 1 + 7; raw data key and 3-byte length: 4; outer key and 3-byte length: 4
    expect(writer.length).toBe(payload.length + 9 + 4 + 4);
    const chunks = writer.finishChunks();
    expect(chunks.includes(payload)).toBe(true);
    const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    expect(total).toBe(writer.length);
    expect(() => writer.finish()).toThrow(/after finish/);

    const again = new ProtobufWriter();
    again.writeMessageField(1, () => {
      again.writeStringField(1, 'weights');
      again.writeBytesField(9, payload);
    });
    const bytes = again.finish();
    expect(Buffer.from(bytes).equals(Buffer.concat(chunks))).toBe(true);
    const message = readFields(lengthDelimited(onlyField(bytes)));
    expect(Buffer.from(lengthDelimited(message[1])).equals(payload)).toBe(true);
  });

  it('grows its arena across many small writes', () => {
    const count = 100_000;
    const bytes = written((writer) => {
      for (let index = 0; index < count; index++) writer.writeVarintField(1, index);
    });
    const fields = readFields(bytes);
    expect(fields).toHaveLength(count);
    expect(fields[count - 1]).toMatchObject({ fieldNumber: 1, value: BigInt(count - 1) });
  });

  it('reports misuse of begin/end and finish', () => {
    const open = new ProtobufWriter();
    open.beginMessage(1);
    expect(() => open.finish()).toThrow(/still open/);
    expect(() => new ProtobufWriter().endMessage()).toThrow(/without a matching/);
  });

  it('reads packed and unpacked repeated scalars alike', () => {
    const packed = written((writer) => {
      writer.writePackedInt64Field(1, [3, -1, 2 ** 40]);
      writer.writePackedFloat32Field(2, [0.5, -2]);
      writer.writePackedInt64Field(3, []);
    });
    const unpacked = written((writer) => {
      for (const value of [3, -1, 2 ** 40]) writer.writeInt64Field(1, value);
      for (const value of [0.5, -2]) writer.writeFloat32Field(2, value);
    });
    for (const bytes of [packed, unpacked]) {
      const integers: number[] = [];
      const floats: number[] = [];
      const reader = new ProtobufReader(bytes);
      while (!reader.isAtEnd()) {
        const key = reader.readKey();
        if (key.fieldNumber === 1) reader.readRepeatedInt64(key, 'ints', integers);
        else reader.readRepeatedFloat32(key, 'floats', floats);
      }
      expect(integers).toEqual([3, -1, 2 ** 40]);
      expect(floats).toEqual([0.5, -2]);
    }
  });

  it('skips unknown fields of every wire type', () => {
    const bytes = written((writer) => {
      writer.writeVarintField(1, 1);
      writer.writeFixed64Field(2, 2n);
      writer.writeStringField(3, 'three');
      writer.writeFixed32Field(4, 4);
      writer.writeVarintField(5, 5);
    });
    const reader = new ProtobufReader(bytes);
    for (let index = 0; index < 4; index++) reader.skipValue(reader.readKey().wireType);
    expect(reader.readKey().fieldNumber).toBe(5);
    expect(reader.readVarint()).toBe(5);
    expect(reader.isAtEnd()).toBe(true);
  });

  it('never reads past the end of a nested message', () => {
    const bytes = written((writer) => {
      writer.writeMessageField(1, () => writer.writeStringField(1, 'abc'));
      writer.writeVarintField(2, 9);
    });
    const reader = new ProtobufReader(bytes);
    reader.readKey();
    const nested = reader.readMessage();
    expect(nested.readKey().fieldNumber).toBe(1);
    expect(nested.readString()).toBe('abc');
    expect(nested.isAtEnd()).toBe(true);
    expectDecodeError(() => nested.readVarint(), /truncated varint/);
    expect(reader.readKey().fieldNumber).toBe(2);
  });

  type MalformedCase = readonly [
    string,
    readonly number[],
    (reader: ProtobufReader) => unknown,
    RegExp,
  ];
  it.each<MalformedCase>([
    ['an empty varint', [], (reader) => reader.readVarint(), /truncated varint/],
    ['a varint cut short', [0x80, 0x80], (reader) => reader.readVarint(), /truncated varint/],
    [
      'a varint longer than 10 bytes',
      [...new Array<number>(10).fill(0x80), 0x01],
      (reader) => reader.readUint64Bigint(),
      /longer than 10 bytes/,
    ],
    [
      'a varint above 2^64',
      [...new Array<number>(9).fill(0xff), 0x02],
      (reader) => reader.readUint64Bigint(),
      /overflows 64 bits/,
    ],
    ['a cut fixed32', [1, 2, 3], (reader) => reader.readFixed32(), /truncated fixed32/],
    ['a cut float', [1, 2], (reader) => reader.readFloat32(), /truncated float/],
    ['a cut fixed64', [1, 2, 3, 4, 5, 6, 7], (reader) => reader.readFixed64(), /truncated fixed64/],
    ['a cut double', [1], (reader) => reader.readFloat64(), /truncated double/],
    [
      'a length past the end',
      [0x05, 0x61, 0x62],
      (reader) => reader.readLengthDelimited(),
      /declares 5 byte\(s\), only 2 left/,
    ],
    [
      'a huge length',
      [0xff, 0xff, 0xff, 0xff, 0x0f],
      (reader) => reader.readLengthDelimited(),
      /only 0 left/,
    ],
    ['invalid UTF-8', [0x02, 0xc3, 0x28], (reader) => reader.readString(), /not valid UTF-8/],
    ['field number 0', [0x00], (reader) => reader.readKey(), /invalid field number 0/],
    [
      'a start-group wire type',
      [0x0b],
      (reader) => reader.readKey(),
      /wire type 3 \(start-group\)/,
    ],
    ['an end-group wire type', [0x0c], (reader) => reader.readKey(), /wire type 4 \(end-group\)/],
    ['wire type 6', [0x0e], (reader) => reader.readKey(), /wire type 6 \(reserved\)/],
    [
      'a cut fixed64 while skipping',
      [0x09, 1, 2],
      (reader) => reader.skipValue(reader.readKey().wireType),
      /truncated fixed64/,
    ],
  ])('fails clearly on %s', (_label, bytes, read, reason) => {
    expectDecodeError(() => read(new ProtobufReader(Uint8Array.from(bytes))), reason);
  });

  it('names the byte offset of the problem', () => {
    const bytes = Uint8Array.from([0x08, 0x01, 0x12, 0x09, 0x61]);
    expectDecodeError(() => readFields(bytes), /^Invalid protobuf message at byte 3: truncated/);
  });

  it('only reads inside the given range of a larger buffer', () => {
    const buffer = Uint8Array.from([0xff, 0x08, 0x96, 0x01, 0xff]);
    const view = buffer.subarray(1, 4);
    expect(readFields(view)).toMatchObject([{ fieldNumber: 1, value: 150n, offset: 0 }]);
    const reader = new ProtobufReader(buffer, 1, 3);
    reader.readKey();
    expectDecodeError(() => reader.readVarint(), /truncated varint: input ends at byte 3/);
    expect(() => new ProtobufReader(buffer, 2, 9)).toThrow(RangeError);
  });
});

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

/**
 * ProtobufWriter and ProtobufReader: varints and fixed-width values against reference
 * encodings, keys, nested messages, large payloads, packed and unpacked repeated fields, and
 * every kind of malformed input named with its byte offset.
 */

import { describe, expect, it } from 'vitest';
import {
  expectDecodeError,
  hex,
  lengthDelimited,
  onlyField,
  written,
} from '../../../test/support/protobuf-bytes.js';
import { ProtobufReader, readFields } from './protobuf-reader.js';
import {
  LARGE_BYTES_THRESHOLD,
  ProtobufWriter,
  varintByteLength,
  WIRE_TYPE,
} from './protobuf-writer.js';

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

/**
 * Bounded protobuf wire-format decoder (https://protobuf.dev/programming-guides/encoding/),
 * used to validate and round-trip the files tandem writes. A reader only ever looks at
 * bytes between its start and end: a truncated or garbage input fails with a one-line
 * ProtobufDecodeError naming the byte offset, never with a RangeError or a read past the
 * end. Length-delimited values are returned as views (no copies), so decoding a file with
 * large tensors costs no extra memory for their data.
 */

import { TandemError } from '../../errors.js';
import { WIRE_TYPE, type WireType } from './protobuf-writer.js';

/** Bytes that are not a valid protobuf message (truncated, bad varint, bad wire type...). */
export class ProtobufDecodeError extends TandemError {
  override readonly exitCode = 5;
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`Invalid protobuf message at byte ${offset}: ${reason}`);
  }
}

export interface ProtobufKey {
  readonly fieldNumber: number;
  readonly wireType: WireType;
  /** Offset of the key's first byte in the underlying bytes. */
  readonly offset: number;
}

/** One field with its raw value: varints and fixed values as unsigned bigints. */
export type ProtobufField =
  | (ProtobufKey & {
      readonly wireType: typeof WIRE_TYPE.VARINT | typeof WIRE_TYPE.FIXED64;
      readonly value: bigint;
    })
  | (ProtobufKey & { readonly wireType: typeof WIRE_TYPE.FIXED32; readonly value: number })
  | (ProtobufKey & {
      readonly wireType: typeof WIRE_TYPE.LENGTH_DELIMITED;
      readonly value: Uint8Array;
    });

const wireTypeNames: Record<number, string> = {
  0: 'varint',
  1: 'fixed64',
  2: 'length-delimited',
  3: 'start-group',
  4: 'end-group',
  5: 'fixed32',
};

const TWO_POWER_32 = 2 ** 32;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export class ProtobufReader {
  private readonly view: DataView;
  private positionValue: number;

  /** Reads `bytes[start, end)`; offsets in errors are relative to `bytes`. */
  constructor(
    private readonly bytes: Uint8Array,
    readonly start = 0,
    readonly end = bytes.length,
  ) {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end) {
      throw new RangeError(`Invalid reader range ${start}..${end}.`);
    }
    if (end > bytes.length) {
      throw new RangeError(`Reader end ${end} is past the ${bytes.length} bytes given.`);
    }
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.positionValue = start;
  }

  get position(): number {
    return this.positionValue;
  }

  isAtEnd(): boolean {
    return this.positionValue >= this.end;
  }

  /** A decode error at the current position (for callers that check field contents). */
  error(reason: string, offset = this.positionValue): ProtobufDecodeError {
    return new ProtobufDecodeError(offset, reason);
  }

  private need(byteCount: number, what: string): void {
    if (byteCount > this.end - this.positionValue) {
      throw this.error(
        `truncated ${what}: needs ${byteCount} byte(s), only ${this.end - this.positionValue} left before byte ${this.end}`,
      );
    }
  }

  // ---- Varints ----------------------------------------------------------------------------

  /**
   * A varint as two 32-bit halves (the uint64 value is high * 2^32 + low). Rejects varints
   * longer than 10 bytes or above 2^64 - 1.
   */
  private readVarintHalves(): { low: number; high: number } {
    const start = this.positionValue;
    let low = 0;
    let high = 0;
    for (let index = 0; index < 10; index++) {
      if (this.positionValue >= this.end) {
        throw this.error(`truncated varint: input ends at byte ${this.end}`, start);
      }
      const byte = this.bytes[this.positionValue++] as number;
      const bits = byte & 0x7f;
      if (index < 4) {
        low |= bits << (7 * index);
      } else if (index === 4) {
        low |= (bits & 0x0f) << 28;
        high |= bits >>> 4;
      } else if (index < 9) {
        high |= bits << (7 * index - 32);
      } else if (bits > 1) {
        throw this.error('varint overflows 64 bits', start);
      } else {
        high |= bits << 31;
      }
      if ((byte & 0x80) === 0) return { low: low >>> 0, high: high >>> 0 };
    }
    throw this.error('varint longer than 10 bytes', start);
  }

  /** An unsigned varint as a number; fails above 2^53 - 1. */
  readVarint(): number {
    const start = this.positionValue;
    const { low, high } = this.readVarintHalves();
    if (high > 0x1fffff) {
      throw this.error('varint is larger than 2^53 - 1 (use readUint64Bigint)', start);
    }
    return high * TWO_POWER_32 + low;
  }

  /** An unsigned varint as a bigint (full uint64 range). */
  readUint64Bigint(): bigint {
    const { low, high } = this.readVarintHalves();
    return (BigInt(high) << 32n) | BigInt(low);
  }

  /** An int64 varint (two's complement) as a bigint. */
  readInt64Bigint(): bigint {
    return BigInt.asIntN(64, this.readUint64Bigint());
  }

  /** An int64 varint (two's complement) as a number; fails outside the safe integer range. */
  readInt64(): number {
    const start = this.positionValue;
    const { low, high } = this.readVarintHalves();
    const value =
      high >= 0x80000000 ? (high - TWO_POWER_32) * TWO_POWER_32 + low : high * TWO_POWER_32 + low;
    if (!Number.isSafeInteger(value)) {
      throw this.error('int64 is outside the safe integer range (use readInt64Bigint)', start);
    }
    return value;
  }

  /** An int32 varint: the low 32 bits as a signed integer, as protobuf parsers do. */
  readInt32(): number {
    return this.readVarintHalves().low | 0;
  }

  // ---- Fixed-width values -----------------------------------------------------------------

  readFixed32(): number {
    this.need(4, 'fixed32');
    const value = this.view.getUint32(this.positionValue, true);
    this.positionValue += 4;
    return value;
  }

  readFloat32(): number {
    this.need(4, 'float');
    const value = this.view.getFloat32(this.positionValue, true);
    this.positionValue += 4;
    return value;
  }

  readFixed64(): bigint {
    this.need(8, 'fixed64');
    const value = this.view.getBigUint64(this.positionValue, true);
    this.positionValue += 8;
    return value;
  }

  readFloat64(): number {
    this.need(8, 'double');
    const value = this.view.getFloat64(this.positionValue, true);
    this.positionValue += 8;
    return value;
  }

  // ---- Length-delimited values ------------------------------------------------------------

  /** A length-delimited value as a view into the input (no copy). */
  readLengthDelimited(): Uint8Array {
    const start = this.positionValue;
    const length = this.readVarint();
    if (length > this.end - this.positionValue) {
      throw this.error(
        `truncated length-delimited value: declares ${length} byte(s), only ${this.end - this.positionValue} left before byte ${this.end}`,
        start,
      );
    }
    const value = this.bytes.subarray(this.positionValue, this.positionValue + length);
    this.positionValue += length;
    return value;
  }

  /** A length-delimited UTF-8 string; invalid UTF-8 fails. */
  readString(): string {
    const start = this.positionValue;
    const bytes = this.readLengthDelimited();
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      throw this.error('string is not valid UTF-8', start);
    }
  }

  /** A nested message: a reader bounded to its bytes (offsets stay absolute). */
  readMessage(): ProtobufReader {
    const value = this.readLengthDelimited();
    const start = value.byteOffset - this.bytes.byteOffset;
    return new ProtobufReader(this.bytes, start, start + value.length);
  }

  // ---- Keys and fields --------------------------------------------------------------------

  /** The next field key. Rejects field number 0 and the group / reserved wire types. */
  readKey(): ProtobufKey {
    const offset = this.positionValue;
    const key = this.readVarint();
    const wireType = key % 8;
    const fieldNumber = Math.floor(key / 8);
    if (fieldNumber === 0 || fieldNumber > 0x1fffffff) {
      throw this.error(`invalid field number ${fieldNumber}`, offset);
    }
    if (
      wireType !== WIRE_TYPE.VARINT &&
      wireType !== WIRE_TYPE.FIXED64 &&
      wireType !== WIRE_TYPE.LENGTH_DELIMITED &&
      wireType !== WIRE_TYPE.FIXED32
    ) {
      throw this.error(
        `unsupported wire type ${wireType} (${wireTypeNames[wireType] ?? 'reserved'}) for field ${fieldNumber}`,
        offset,
      );
    }
    return { fieldNumber, wireType, offset };
  }

  /** Skips the value of a field whose key was just read. */
  skipValue(wireType: WireType): void {
    switch (wireType) {
      case WIRE_TYPE.VARINT:
        this.readVarintHalves();
        return;
      case WIRE_TYPE.FIXED64:
        this.need(8, 'fixed64');
        this.positionValue += 8;
        return;
      case WIRE_TYPE.LENGTH_DELIMITED:
        this.readLengthDelimited();
        return;
      case WIRE_TYPE.FIXED32:
        this.need(4, 'fixed32');
        this.positionValue += 4;
        return;
    }
  }

  /** Fails unless `key` has the wire type `expected`; `what` names the field in the error. */
  expectWireType(key: ProtobufKey, expected: WireType, what: string): void {
    if (key.wireType !== expected) {
      throw this.error(
        `${what} (field ${key.fieldNumber}) has wire type ${wireTypeNames[key.wireType]}, expected ${wireTypeNames[expected]}`,
        key.offset,
      );
    }
  }

  /**
   * Elements of a repeated int64 field, packed (one length-delimited value) or not (one
   * varint per key): protobuf parsers must accept both.
   */
  readRepeatedInt64(key: ProtobufKey, what: string, into: number[]): void {
    if (key.wireType === WIRE_TYPE.LENGTH_DELIMITED) {
      const packed = this.readMessage();
      while (!packed.isAtEnd()) into.push(packed.readInt64());
      return;
    }
    this.expectWireType(key, WIRE_TYPE.VARINT, what);
    into.push(this.readInt64());
  }

  /** Elements of a repeated float field, packed or not. */
  readRepeatedFloat32(key: ProtobufKey, what: string, into: number[]): void {
    if (key.wireType === WIRE_TYPE.LENGTH_DELIMITED) {
      const packed = this.readMessage();
      while (!packed.isAtEnd()) into.push(packed.readFloat32());
      return;
    }
    this.expectWireType(key, WIRE_TYPE.FIXED32, what);
    into.push(this.readFloat32());
  }

  /** The next field with its raw value. */
  readField(): ProtobufField {
    const key = this.readKey();
    switch (key.wireType) {
      case WIRE_TYPE.VARINT:
        return { ...key, wireType: key.wireType, value: this.readUint64Bigint() };
      case WIRE_TYPE.FIXED64:
        return { ...key, wireType: key.wireType, value: this.readFixed64() };
      case WIRE_TYPE.LENGTH_DELIMITED:
        return { ...key, wireType: key.wireType, value: this.readLengthDelimited() };
      case WIRE_TYPE.FIXED32:
        return { ...key, wireType: key.wireType, value: this.readFixed32() };
    }
  }
}

/** Every top-level field of the message in `bytes`, in order, with raw values. */
export function readFields(bytes: Uint8Array): ProtobufField[] {
  const reader = new ProtobufReader(bytes);
  const fields: ProtobufField[] = [];
  while (!reader.isAtEnd()) fields.push(reader.readField());
  return fields;
}

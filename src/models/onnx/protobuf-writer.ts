/**
 * Minimal protobuf wire-format encoder (https://protobuf.dev/programming-guides/encoding/):
 * varints (unsigned and two's complement int64), fixed32/fixed64, length-delimited fields
 * and nested messages. Enough to write ONNX files without a protobuf dependency.
 *
 * Output is a rope of byte chunks, concatenated once by `finish()`:
 * - small writes go to an arena (a growable Uint8Array, views into it become chunks);
 * - a nested message reserves one chunk slot for its key and length, filled in when the
 *   message ends, so nesting never copies the message body (no quadratic copies);
 * - byte payloads of LARGE_BYTES_THRESHOLD or more (tensor weights) are kept by reference
 *   and copied exactly once, in one piece, into the final buffer (or not at all when the
 *   caller writes `finishChunks()` to a file itself).
 *
 * Because large payloads are referenced, they must not change until `finish()` or
 * `finishChunks()` returns.
 */

export const WIRE_TYPE = {
  VARINT: 0,
  FIXED64: 1,
  LENGTH_DELIMITED: 2,
  FIXED32: 5,
} as const;

export type WireType = (typeof WIRE_TYPE)[keyof typeof WIRE_TYPE];

/** Largest field number protobuf allows (2^29 - 1). */
export const MAX_FIELD_NUMBER = 0x1fffffff;

/** Byte payloads at least this large are referenced, not copied into the arena. */
export const LARGE_BYTES_THRESHOLD = 64 * 1024;

const INITIAL_ARENA_BYTES = 4 * 1024;
const MAX_ARENA_BYTES = 1024 * 1024;
const TWO_POWER_32 = 2 ** 32;
const EMPTY_BYTES = new Uint8Array(0);
const textEncoder = new TextEncoder();

interface OpenMessage {
  readonly fieldNumber: number;
  /** Index in `chunks` of the slot that receives the key and length. */
  readonly headerIndex: number;
  /** Output offset where the message body starts. */
  readonly bodyStart: number;
}

function checkFieldNumber(fieldNumber: number): void {
  if (!Number.isInteger(fieldNumber) || fieldNumber < 1 || fieldNumber > MAX_FIELD_NUMBER) {
    throw new RangeError(`Invalid protobuf field number ${fieldNumber}: must be 1..2^29-1.`);
  }
}

function checkUnsigned(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Invalid ${what} ${value}: must be a non-negative safe integer.`);
  }
}

/** Number of bytes the unsigned varint encoding of `value` takes (value: 0..2^53-1). */
export function varintByteLength(value: number): number {
  checkUnsigned(value, 'varint');
  let length = 1;
  let rest = value;
  while (rest >= 128) {
    rest = Math.floor(rest / 128);
    length += 1;
  }
  return length;
}

export class ProtobufWriter {
  private readonly chunks: Uint8Array[] = [];
  private readonly openMessages: OpenMessage[] = [];
  private arena: Uint8Array = new Uint8Array(INITIAL_ARENA_BYTES);
  private arenaView = new DataView(this.arena.buffer);
  /** Next free byte in the arena. */
  private arenaPosition = 0;
  /** Start of the arena bytes not yet turned into a chunk. */
  private pendingStart = 0;
  /** Bytes in `chunks` (reserved header slots count once they are filled). */
  private sealedLength = 0;
  private finished = false;

  /** Bytes written so far (including keys and lengths of messages still open). */
  get length(): number {
    return this.sealedLength + (this.arenaPosition - this.pendingStart);
  }

  // ---- Raw values -------------------------------------------------------------------------

  /** An unsigned varint (0..2^53-1). */
  writeVarint(value: number): void {
    checkUnsigned(value, 'varint');
    this.reserve(10);
    this.arenaPosition = this.putVarint(this.arenaPosition, value);
  }

  /**
   * A protobuf int64 (or int32) varint: non-negative values as usual, negative values as
   * their 64-bit two's complement (always 10 bytes). Numbers must be safe integers; use a
   * bigint for the full int64 range.
   */
  writeInt64(value: number | bigint): void {
    if (typeof value === 'bigint') {
      if (value < -(1n << 63n) || value >= 1n << 63n) {
        throw new RangeError(`Invalid int64 ${value}: outside -2^63..2^63-1.`);
      }
      this.writeUint64Bigint(BigInt.asUintN(64, value));
      return;
    }
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`Invalid int64 ${value}: must be a safe integer (or a bigint).`);
    }
    if (value >= 0) {
      this.writeVarint(value);
      return;
    }
    // Two's complement split into 32-bit halves: value = high * 2^32 + low, low in [0, 2^32).
    let low = value >>> 0;
    let high = Math.floor(value / TWO_POWER_32) >>> 0;
    this.reserve(10);
    while (high !== 0 || low > 127) {
      this.arena[this.arenaPosition++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    this.arena[this.arenaPosition++] = low;
  }

  /** An unsigned varint from a bigint in 0..2^64-1. */
  writeUint64Bigint(value: bigint): void {
    if (value < 0n || value >= 1n << 64n) {
      throw new RangeError(`Invalid uint64 ${value}: outside 0..2^64-1.`);
    }
    this.reserve(10);
    let rest = value;
    while (rest >= 128n) {
      this.arena[this.arenaPosition++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.arena[this.arenaPosition++] = Number(rest);
  }

  /** A little-endian uint32 (wire type fixed32). */
  writeFixed32(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`Invalid fixed32 ${value}: must be an integer in 0..2^32-1.`);
    }
    this.reserve(4);
    this.arenaView.setUint32(this.arenaPosition, value, true);
    this.arenaPosition += 4;
  }

  /** A little-endian IEEE 754 float32 (wire type fixed32); `value` is rounded to float32. */
  writeFloat32(value: number): void {
    this.reserve(4);
    this.arenaView.setFloat32(this.arenaPosition, value, true);
    this.arenaPosition += 4;
  }

  /** A little-endian uint64 (wire type fixed64). */
  writeFixed64(value: bigint): void {
    if (value < 0n || value >= 1n << 64n) {
      throw new RangeError(`Invalid fixed64 ${value}: outside 0..2^64-1.`);
    }
    this.reserve(8);
    this.arenaView.setBigUint64(this.arenaPosition, value, true);
    this.arenaPosition += 8;
  }

  /** A little-endian IEEE 754 float64 (wire type fixed64). */
  writeFloat64(value: number): void {
    this.reserve(8);
    this.arenaView.setFloat64(this.arenaPosition, value, true);
    this.arenaPosition += 8;
  }

  /**
   * Raw bytes, no length prefix. Payloads of LARGE_BYTES_THRESHOLD or more are kept by
   * reference (one copy at `finish()`); smaller ones are copied into the arena now.
   */
  writeRawBytes(bytes: Uint8Array): void {
    this.checkWritable();
    if (bytes.length === 0) return;
    if (bytes.length >= LARGE_BYTES_THRESHOLD) {
      this.sealPending();
      this.chunks.push(bytes);
      this.sealedLength += bytes.length;
      return;
    }
    this.reserve(bytes.length);
    this.arena.set(bytes, this.arenaPosition);
    this.arenaPosition += bytes.length;
  }

  // ---- Fields -----------------------------------------------------------------------------

  /** A field key: (field_number << 3) | wire_type, as a varint. */
  writeKey(fieldNumber: number, wireType: WireType): void {
    checkFieldNumber(fieldNumber);
    this.writeVarint(fieldNumber * 8 + wireType);
  }

  /** An unsigned varint field (uint32, uint64, enum, bool with non-negative values). */
  writeVarintField(fieldNumber: number, value: number): void {
    this.writeKey(fieldNumber, WIRE_TYPE.VARINT);
    this.writeVarint(value);
  }

  /** An int64 or int32 field (negative values as 10-byte two's complement). */
  writeInt64Field(fieldNumber: number, value: number | bigint): void {
    this.writeKey(fieldNumber, WIRE_TYPE.VARINT);
    this.writeInt64(value);
  }

  /** A float field (wire type fixed32). */
  writeFloat32Field(fieldNumber: number, value: number): void {
    this.writeKey(fieldNumber, WIRE_TYPE.FIXED32);
    this.writeFloat32(value);
  }

  /** A double field (wire type fixed64). */
  writeFloat64Field(fieldNumber: number, value: number): void {
    this.writeKey(fieldNumber, WIRE_TYPE.FIXED64);
    this.writeFloat64(value);
  }

  /** A fixed32 field. */
  writeFixed32Field(fieldNumber: number, value: number): void {
    this.writeKey(fieldNumber, WIRE_TYPE.FIXED32);
    this.writeFixed32(value);
  }

  /** A fixed64 field. */
  writeFixed64Field(fieldNumber: number, value: bigint): void {
    this.writeKey(fieldNumber, WIRE_TYPE.FIXED64);
    this.writeFixed64(value);
  }

  /** A bytes field (length-delimited). Large payloads are referenced, see `writeRawBytes`. */
  writeBytesField(fieldNumber: number, bytes: Uint8Array): void {
    this.writeKey(fieldNumber, WIRE_TYPE.LENGTH_DELIMITED);
    this.writeVarint(bytes.length);
    this.writeRawBytes(bytes);
  }

  /** A string field, UTF-8 encoded. */
  writeStringField(fieldNumber: number, value: string): void {
    this.writeBytesField(fieldNumber, textEncoder.encode(value));
  }

  /** A packed repeated int64 field (one length-delimited field); nothing when empty. */
  writePackedInt64Field(fieldNumber: number, values: readonly number[]): void {
    if (values.length === 0) return;
    this.writeMessageField(fieldNumber, () => {
      for (const value of values) this.writeInt64(value);
    });
  }

  /** A packed repeated float field (one length-delimited field); nothing when empty. */
  writePackedFloat32Field(fieldNumber: number, values: readonly number[]): void {
    if (values.length === 0) return;
    this.writeKey(fieldNumber, WIRE_TYPE.LENGTH_DELIMITED);
    this.writeVarint(values.length * 4);
    for (const value of values) this.writeFloat32(value);
  }

  /**
   * Starts a nested message (or any length-delimited field whose length is not known
   * yet). Everything written until the matching `endMessage()` is its body.
   */
  beginMessage(fieldNumber: number): void {
    checkFieldNumber(fieldNumber);
    this.checkWritable();
    this.sealPending();
    this.openMessages.push({
      fieldNumber,
      headerIndex: this.chunks.length,
      bodyStart: this.sealedLength,
    });
    this.chunks.push(EMPTY_BYTES);
  }

  /** Ends the innermost message: fills in its key and body length. */
  endMessage(): void {
    this.checkWritable();
    const open = this.openMessages.pop();
    if (open === undefined) throw new Error('endMessage() without a matching beginMessage().');
    this.sealPending();
    const bodyLength = this.sealedLength - open.bodyStart;
    const keyValue = open.fieldNumber * 8 + WIRE_TYPE.LENGTH_DELIMITED;
    const headerLength = varintByteLength(keyValue) + varintByteLength(bodyLength);
    this.reserve(headerLength);
    const headerStart = this.arenaPosition;
    this.arenaPosition = this.putVarint(this.arenaPosition, keyValue);
    this.arenaPosition = this.putVarint(this.arenaPosition, bodyLength);
    this.chunks[open.headerIndex] = this.arena.subarray(headerStart, this.arenaPosition);
    this.pendingStart = this.arenaPosition;
    this.sealedLength += headerLength;
  }

  /** A nested message field whose body `writeBody` writes to this writer. */
  writeMessageField(fieldNumber: number, writeBody: () => void): void {
    this.beginMessage(fieldNumber);
    writeBody();
    this.endMessage();
  }

  // ---- Output -----------------------------------------------------------------------------

  /**
   * The encoded bytes as chunks in order (large payloads are the caller's own arrays).
   * Write them out in order, e.g. with `fs.writevSync`, to avoid concatenating. The writer
   * cannot be used afterwards.
   */
  finishChunks(): readonly Uint8Array[] {
    this.checkWritable();
    if (this.openMessages.length > 0) {
      throw new Error(`finish() with ${this.openMessages.length} message(s) still open.`);
    }
    this.sealPending();
    this.finished = true;
    return this.chunks.filter((chunk) => chunk.length > 0);
  }

  /** The encoded bytes in one contiguous buffer. The writer cannot be used afterwards. */
  finish(): Uint8Array {
    const chunks = this.finishChunks();
    const output = new Uint8Array(this.sealedLength);
    let offset = 0;
    for (const chunk of chunks) {
      output.set(chunk, offset);
      offset += chunk.length;
    }
    return output;
  }

  // ---- Arena management -------------------------------------------------------------------

  private checkWritable(): void {
    if (this.finished) throw new Error('ProtobufWriter used after finish().');
  }

  /** Makes room for `byteCount` more contiguous bytes in the arena. */
  private reserve(byteCount: number): void {
    this.checkWritable();
    if (this.arenaPosition + byteCount <= this.arena.length) return;
    this.sealPending();
    // Earlier views into the old arena stay valid: it is replaced, never reused or resized.
    const size = Math.max(byteCount, Math.min(MAX_ARENA_BYTES, this.arena.length * 2));
    this.arena = new Uint8Array(size);
    this.arenaView = new DataView(this.arena.buffer);
    this.arenaPosition = 0;
    this.pendingStart = 0;
  }

  /** Turns the pending arena bytes into a chunk (a view, no copy). */
  private sealPending(): void {
    if (this.arenaPosition > this.pendingStart) {
      this.chunks.push(this.arena.subarray(this.pendingStart, this.arenaPosition));
      this.sealedLength += this.arenaPosition - this.pendingStart;
      this.pendingStart = this.arenaPosition;
    }
  }

  /** Writes an unsigned varint at `offset` in the arena (room already reserved). */
  private putVarint(offset: number, value: number): number {
    let position = offset;
    let rest = value;
    while (rest >= 128) {
      this.arena[position++] = (rest % 128) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.arena[position++] = rest;
    return position;
  }
}

/**
 * GGUF header reader: header, metadata and tensor infos, without touching tensor data.
 * Every read is bounds-checked against the file size, and every count is checked against
 * the bytes left, so a truncated, garbage or hostile file fails fast with an
 * InvalidModelFileError (one-line reason) instead of a RangeError, a hang or a huge
 * allocation.
 */

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InvalidModelFileError } from '../../errors.js';
import {
  alignUp,
  GGML_MAX_DIMENSIONS,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  type GgufArrayValue,
  type GgufMetadataValue,
  type GgufValueTypeName,
  ggmlTensorSizeBytes,
  ggmlTypeInfo,
} from './types.js';

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order: shape[0] (ne[0]) is the row length. */
  readonly shape: readonly number[];
  /** ggml type id; see GGML_TYPE. */
  readonly type: number;
  /** Type name, or undefined for an unknown id. */
  readonly typeName: string | undefined;
  readonly elementCount: number;
  /** Data size in bytes, or undefined when the type is unknown or the shape does not fit it. */
  readonly sizeBytes: number | undefined;
  /** Offset of the data relative to the start of the data section. */
  readonly offsetBytes: number;
}

export interface GgufHeader {
  readonly path: string;
  readonly version: number;
  readonly fileSizeBytes: number;
  readonly alignment: number;
  readonly metadata: ReadonlyMap<string, GgufMetadataValue>;
  readonly tensors: readonly GgufTensorInfo[];
  /** Absolute file offset of the tensor data section. */
  readonly dataOffsetBytes: number;
}

/** Strings longer than this are rejected (real chat templates and tokens are far smaller). */
const MAX_STRING_BYTES = 64 * 1024 * 1024;
/** Arrays longer than this are rejected (real vocabularies have well under a million). */
const MAX_ARRAY_LENGTH = 1 << 24;
const MAX_ARRAY_NESTING = 4;
const READ_CHUNK_BYTES = 1 << 20;

const valueTypeNames: readonly GgufValueTypeName[] = [
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'bool',
  'string',
  'array',
  'uint64',
  'int64',
  'float64',
];

/** Smallest encoded size of one value of each type (string: its 8-byte length). */
const minimumValueBytes: Record<GgufValueTypeName, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  string: 8,
  array: 12,
  uint64: 8,
  int64: 8,
  float64: 8,
};

class FormatError extends Error {}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Buffered, bounds-checked little-endian reader over a file descriptor. */
class BoundedReader {
  private buffer = new Uint8Array(0);
  private view = new DataView(this.buffer.buffer);
  private bufferStart = 0;
  position = 0;

  constructor(
    private readonly descriptor: number,
    readonly fileSizeBytes: number,
  ) {}

  get remaining(): number {
    return this.fileSizeBytes - this.position;
  }

  /** Makes `count` bytes at the position available; returns their offset in the buffer. */
  private take(count: number, what: string): number {
    if (count > this.remaining) {
      throw new FormatError(`file ends inside ${what} (at byte ${this.position})`);
    }
    const offset = this.position - this.bufferStart;
    if (offset >= 0 && offset + count <= this.buffer.length) {
      this.position += count;
      return offset;
    }
    const size = Math.min(Math.max(count, READ_CHUNK_BYTES), this.remaining);
    const fresh = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const read = readSync(this.descriptor, fresh, filled, size - filled, this.position + filled);
      if (read === 0) throw new FormatError(`file ends inside ${what} (at byte ${this.position})`);
      filled += read;
    }
    this.buffer = fresh;
    this.view = new DataView(fresh.buffer);
    this.bufferStart = this.position;
    this.position += count;
    return 0;
  }

  uint8(what: string): number {
    const offset = this.take(1, what);
    return this.view.getUint8(offset);
  }
  int8(what: string): number {
    const offset = this.take(1, what);
    return this.view.getInt8(offset);
  }
  uint16(what: string): number {
    const offset = this.take(2, what);
    return this.view.getUint16(offset, true);
  }
  int16(what: string): number {
    const offset = this.take(2, what);
    return this.view.getInt16(offset, true);
  }
  uint32(what: string): number {
    const offset = this.take(4, what);
    return this.view.getUint32(offset, true);
  }
  int32(what: string): number {
    const offset = this.take(4, what);
    return this.view.getInt32(offset, true);
  }
  float32(what: string): number {
    const offset = this.take(4, what);
    return this.view.getFloat32(offset, true);
  }
  float64(what: string): number {
    const offset = this.take(8, what);
    return this.view.getFloat64(offset, true);
  }
  uint64(what: string): bigint {
    const offset = this.take(8, what);
    return this.view.getBigUint64(offset, true);
  }
  int64(what: string): bigint {
    const offset = this.take(8, what);
    return this.view.getBigInt64(offset, true);
  }
  /** A uint64 that must fit in a safe integer and be at most `limit`. */
  count(what: string, limit: number): number {
    const value = this.uint64(what);
    if (value > BigInt(limit)) {
      throw new FormatError(
        `${what} ${value} is impossible for a file of ${this.fileSizeBytes} bytes`,
      );
    }
    return Number(value);
  }
  string(what: string): string {
    const length = this.count(`length of ${what}`, Math.min(this.remaining, MAX_STRING_BYTES));
    const offset = this.take(length, what);
    try {
      return textDecoder.decode(this.buffer.subarray(offset, offset + length));
    } catch {
      throw new FormatError(`${what} is not valid UTF-8`);
    }
  }
}

function readValueType(reader: BoundedReader, what: string): GgufValueTypeName {
  const id = reader.uint32(`type of ${what}`);
  const name = valueTypeNames[id];
  if (name === undefined) throw new FormatError(`${what} has unknown value type ${id}`);
  return name;
}

function readArray(reader: BoundedReader, key: string, depth: number): GgufArrayValue {
  if (depth > MAX_ARRAY_NESTING) throw new FormatError(`'${key}' nests arrays too deeply`);
  const elementType = readValueType(reader, `elements of '${key}'`);
  const limit = Math.min(
    MAX_ARRAY_LENGTH,
    Math.floor(reader.remaining / minimumValueBytes[elementType]),
  );
  const length = reader.count(`length of array '${key}'`, limit);
  const what = `array '${key}'`;
  switch (elementType) {
    case 'string': {
      const values: string[] = new Array(length);
      for (let index = 0; index < length; index++) values[index] = reader.string(what);
      return { type: 'array', elementType, values };
    }
    case 'bool': {
      const values: boolean[] = new Array(length);
      for (let index = 0; index < length; index++) values[index] = reader.uint8(what) !== 0;
      return { type: 'array', elementType, values };
    }
    case 'uint64':
    case 'int64': {
      const values: bigint[] = new Array(length);
      for (let index = 0; index < length; index++) {
        values[index] = elementType === 'uint64' ? reader.uint64(what) : reader.int64(what);
      }
      return { type: 'array', elementType, values };
    }
    case 'array': {
      const values: GgufArrayValue[] = new Array(length);
      for (let index = 0; index < length; index++) {
        values[index] = readArray(reader, key, depth + 1);
      }
      return { type: 'array', elementType, values };
    }
    default: {
      const values: number[] = new Array(length);
      for (let index = 0; index < length; index++) {
        values[index] = readNumber(reader, elementType, what);
      }
      return { type: 'array', elementType, values };
    }
  }
}

function readNumber(
  reader: BoundedReader,
  type: 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64',
  what: string,
): number {
  switch (type) {
    case 'uint8':
      return reader.uint8(what);
    case 'int8':
      return reader.int8(what);
    case 'uint16':
      return reader.uint16(what);
    case 'int16':
      return reader.int16(what);
    case 'uint32':
      return reader.uint32(what);
    case 'int32':
      return reader.int32(what);
    case 'float32':
      return reader.float32(what);
    case 'float64':
      return reader.float64(what);
  }
}

function readValue(reader: BoundedReader, key: string): GgufMetadataValue {
  const type = readValueType(reader, `'${key}'`);
  const what = `value of '${key}'`;
  switch (type) {
    case 'array':
      return readArray(reader, key, 1);
    case 'string':
      return { type, value: reader.string(what) };
    case 'bool':
      return { type, value: reader.uint8(what) !== 0 };
    case 'uint64':
      return { type, value: reader.uint64(what) };
    case 'int64':
      return { type, value: reader.int64(what) };
    default:
      return { type, value: readNumber(reader, type, what) };
  }
}

function parseHeader(path: string, reader: BoundedReader): GgufHeader {
  if (reader.fileSizeBytes < 4) throw new FormatError('file is too short to be GGUF');
  const magic = reader.uint32('magic');
  if (magic !== GGUF_MAGIC) throw new FormatError('not a GGUF file (wrong magic bytes)');
  const version = reader.uint32('version');
  if (version !== 2 && version !== 3) {
    throw new FormatError(`unsupported GGUF version ${version} (expected 3)`);
  }
  // Each tensor info takes at least 24 bytes, each metadata entry at least 8+4+1.
  const tensorCount = reader.count('tensor count', Math.floor(reader.remaining / 24));
  const metadataCount = reader.count('metadata count', Math.floor(reader.remaining / 13));

  const metadata = new Map<string, GgufMetadataValue>();
  for (let index = 0; index < metadataCount; index++) {
    const key = reader.string(`metadata key ${index}`);
    if (metadata.has(key)) throw new FormatError(`metadata key '${key}' appears twice`);
    metadata.set(key, readValue(reader, key));
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignmentValue = metadata.get('general.alignment');
  if (alignmentValue !== undefined) {
    if (
      alignmentValue.type !== 'uint32' ||
      alignmentValue.value === 0 ||
      (alignmentValue.value & (alignmentValue.value - 1)) !== 0
    ) {
      throw new FormatError('general.alignment must be a uint32 power of two');
    }
    alignment = alignmentValue.value;
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let index = 0; index < tensorCount; index++) {
    const name = reader.string(`name of tensor ${index}`);
    if (names.has(name)) throw new FormatError(`tensor '${name}' appears twice`);
    names.add(name);
    const dimensionCount = reader.uint32(`dimension count of tensor '${name}'`);
    if (dimensionCount > GGML_MAX_DIMENSIONS) {
      throw new FormatError(`tensor '${name}' has ${dimensionCount} dimensions (at most 4)`);
    }
    const shape: number[] = [];
    let elementCount = 1;
    for (let dimension = 0; dimension < dimensionCount; dimension++) {
      const size = reader.uint64(`shape of tensor '${name}'`);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new FormatError(`tensor '${name}' has an impossible dimension ${size}`);
      }
      shape.push(Number(size));
      elementCount *= Number(size);
      if (elementCount > Number.MAX_SAFE_INTEGER) {
        throw new FormatError(`tensor '${name}' has an impossible element count`);
      }
    }
    const type = reader.uint32(`type of tensor '${name}'`);
    const offset = reader.uint64(`offset of tensor '${name}'`);
    if (offset > BigInt(reader.fileSizeBytes)) {
      throw new FormatError(
        `tensor '${name}' data offset ${offset} lies beyond the end of the file`,
      );
    }
    tensors.push({
      name,
      shape,
      type,
      typeName: ggmlTypeInfo(type)?.name,
      elementCount,
      sizeBytes: ggmlTensorSizeBytes(type, shape),
      offsetBytes: Number(offset),
    });
  }
  const dataOffsetBytes = alignUp(reader.position, alignment);
  if (tensorCount > 0 && dataOffsetBytes > reader.fileSizeBytes) {
    throw new FormatError('file ends before its tensor data section');
  }
  return {
    path,
    version,
    fileSizeBytes: reader.fileSizeBytes,
    alignment,
    metadata,
    tensors,
    dataOffsetBytes,
  };
}

/**
 * Reads a GGUF file's header, metadata and tensor infos (not tensor data).
 * Throws InvalidModelFileError for anything that is not a well-formed GGUF header;
 * errors opening the file (ENOENT...) are passed through.
 */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const descriptor = openSync(path, 'r');
  try {
    const stats = fstatSync(descriptor);
    if (!stats.isFile()) throw new InvalidModelFileError(path, 'not a regular file');
    return parseHeader(path, new BoundedReader(descriptor, stats.size));
  } catch (error) {
    if (error instanceof FormatError) throw new InvalidModelFileError(path, error.message);
    if (error instanceof RangeError) throw new InvalidModelFileError(path, error.message);
    throw error;
  } finally {
    closeSync(descriptor);
  }
}

/** A metadata value as a JavaScript number when it is a (safe) number of any numeric type. */
export function metadataNumber(value: GgufMetadataValue | undefined): number | undefined {
  if (value === undefined) return undefined;
  switch (value.type) {
    case 'uint8':
    case 'int8':
    case 'uint16':
    case 'int16':
    case 'uint32':
    case 'int32':
    case 'float32':
    case 'float64':
      return value.value;
    case 'uint64':
    case 'int64':
      return value.value <= BigInt(Number.MAX_SAFE_INTEGER) &&
        value.value >= BigInt(Number.MIN_SAFE_INTEGER)
        ? Number(value.value)
        : undefined;
    default:
      return undefined;
  }
}

/** A metadata value as a string when it is a string. */
export function metadataString(value: GgufMetadataValue | undefined): string | undefined {
  return value?.type === 'string' ? value.value : undefined;
}

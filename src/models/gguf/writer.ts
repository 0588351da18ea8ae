/**
 * Streaming GGUF v3 writer. The header (metadata and tensor infos) is built in memory;
 * tensor data is pulled chunk by chunk from each tensor's producer through one fixed-size
 * buffer, so a model of any size is written with a few MB of memory. The file is written
 * to a temporary name beside the target and renamed into place, so readers never see a
 * partial file and two concurrent writers cannot interleave.
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AbortedError, InvalidArgumentError } from '../../errors.js';
import {
  alignUp,
  GGML_MAX_DIMENSIONS,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPE,
  GGUF_VERSION,
  type GgmlTypeId,
  type GgufArrayValue,
  type GgufMetadataValue,
  ggmlTensorSizeBytes,
  ggmlTypeInfo,
} from './types.js';

/** One tensor to write. */
export interface GgufTensorSource {
  readonly name: string;
  /** Dimensions in ggml order: shape[0] (ne[0]) is the row length, the innermost one. */
  readonly shape: readonly number[];
  readonly type: GgmlTypeId;
  /**
   * Produces the tensor's bytes in order, in chunks of any size; their total must be
   * exactly {@link ggmlTensorSizeBytes}(type, shape). Called once, when the tensor is written.
   */
  readonly data: () => Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

export interface GgufWriteInput {
  /** Metadata in file order. `general.alignment` is added when absent. */
  readonly metadata: Iterable<readonly [key: string, value: GgufMetadataValue]>;
  readonly tensors: readonly GgufTensorSource[];
}

export interface GgufWriteOptions {
  onProgress?: (writtenBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
  /** Write buffer size; default 4 MiB. */
  bufferSizeBytes?: number;
}

export interface GgufWriteResult {
  path: string;
  fileSizeBytes: number;
  /** SHA-256 of the whole file, lowercase hex. */
  sha256: string;
}

const textEncoder = new TextEncoder();

/** Growable little-endian byte builder for the header. */
class HeaderBuilder {
  private bytes = new Uint8Array(1 << 16);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  private reserve(count: number): void {
    if (this.length + count <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + count) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  uint8(value: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
  }
  int8(value: number): void {
    this.reserve(1);
    this.view.setInt8(this.length, value);
    this.length += 1;
  }
  uint16(value: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, value, true);
    this.length += 2;
  }
  int16(value: number): void {
    this.reserve(2);
    this.view.setInt16(this.length, value, true);
    this.length += 2;
  }
  uint32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }
  int32(value: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, value, true);
    this.length += 4;
  }
  float32(value: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, value, true);
    this.length += 4;
  }
  float64(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
  }
  uint64(value: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, value, true);
    this.length += 8;
  }
  int64(value: bigint): void {
    this.reserve(8);
    this.view.setBigInt64(this.length, value, true);
    this.length += 8;
  }
  string(value: string): void {
    const encoded = textEncoder.encode(value);
    this.uint64(BigInt(encoded.length));
    this.reserve(encoded.length);
    this.bytes.set(encoded, this.length);
    this.length += encoded.length;
  }
  padTo(alignment: number): void {
    const target = alignUp(this.length, alignment);
    this.reserve(target - this.length);
    this.bytes.fill(0, this.length, target);
    this.length = target;
  }
  result(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

function checkInteger(key: string, type: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`Metadata '${key}': ${value} is not a valid ${type}.`);
  }
}

function writeNumber(builder: HeaderBuilder, key: string, type: string, value: number): void {
  switch (type) {
    case 'uint8':
      checkInteger(key, type, value, 0, 0xff);
      builder.uint8(value);
      return;
    case 'int8':
      checkInteger(key, type, value, -0x80, 0x7f);
      builder.int8(value);
      return;
    case 'uint16':
      checkInteger(key, type, value, 0, 0xffff);
      builder.uint16(value);
      return;
    case 'int16':
      checkInteger(key, type, value, -0x8000, 0x7fff);
      builder.int16(value);
      return;
    case 'uint32':
      checkInteger(key, type, value, 0, 0xffffffff);
      builder.uint32(value);
      return;
    case 'int32':
      checkInteger(key, type, value, -0x80000000, 0x7fffffff);
      builder.int32(value);
      return;
    case 'float32':
      builder.float32(value);
      return;
    case 'float64':
      builder.float64(value);
      return;
    default:
      throw new InvalidArgumentError(`Metadata '${key}': unknown value type '${type}'.`);
  }
}

function writeArray(builder: HeaderBuilder, key: string, array: GgufArrayValue): void {
  builder.uint32(GGUF_VALUE_TYPE[array.elementType]);
  builder.uint64(BigInt(array.values.length));
  switch (array.elementType) {
    case 'string':
      for (const value of array.values) builder.string(value);
      return;
    case 'bool':
      for (const value of array.values) builder.uint8(value ? 1 : 0);
      return;
    case 'uint64':
      for (const value of array.values) builder.uint64(BigInt.asUintN(64, value));
      return;
    case 'int64':
      for (const value of array.values) builder.int64(BigInt.asIntN(64, value));
      return;
    case 'array':
      for (const value of array.values) writeArray(builder, key, value);
      return;
    default: {
      const elementType = array.elementType;
      for (const value of array.values) writeNumber(builder, key, elementType, value);
    }
  }
}

function writeValue(builder: HeaderBuilder, key: string, value: GgufMetadataValue): void {
  builder.uint32(GGUF_VALUE_TYPE[value.type]);
  switch (value.type) {
    case 'array':
      writeArray(builder, key, value);
      return;
    case 'string':
      builder.string(value.value);
      return;
    case 'bool':
      builder.uint8(value.value ? 1 : 0);
      return;
    case 'uint64':
      builder.uint64(BigInt.asUintN(64, value.value));
      return;
    case 'int64':
      builder.int64(BigInt.asIntN(64, value.value));
      return;
    default:
      writeNumber(builder, key, value.type, value.value);
      return;
  }
}

/** The planned byte layout of a GGUF file, computed without producing any tensor data. */
export interface GgufLayout {
  readonly header: Uint8Array;
  readonly alignment: number;
  /** Start of the tensor data section (header length, already padded). */
  readonly dataOffsetBytes: number;
  /** Each tensor's data size (unpadded) and offset relative to the data section. */
  readonly tensors: readonly { sizeBytes: number; offsetBytes: number }[];
  readonly fileSizeBytes: number;
}

/** Builds the header bytes and the byte layout of a GGUF file. */
export function planGgufLayout(input: GgufWriteInput): GgufLayout {
  const metadata = [...input.metadata];
  const keys = new Set<string>();
  for (const [key] of metadata) {
    if (keys.has(key)) throw new InvalidArgumentError(`Metadata key '${key}' is given twice.`);
    keys.add(key);
  }
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignmentEntry = metadata.find(([key]) => key === 'general.alignment');
  if (alignmentEntry === undefined) {
    metadata.push(['general.alignment', { type: 'uint32', value: GGUF_DEFAULT_ALIGNMENT }]);
  } else {
    const value = alignmentEntry[1];
    if (
      value.type !== 'uint32' ||
      value.value <= 0 ||
      !Number.isInteger(value.value) ||
      (value.value & (value.value - 1)) !== 0
    ) {
      throw new InvalidArgumentError('general.alignment must be a uint32 power of two.');
    }
    alignment = value.value;
  }

  const builder = new HeaderBuilder();
  builder.uint32(GGUF_MAGIC);
  builder.uint32(GGUF_VERSION);
  builder.uint64(BigInt(input.tensors.length));
  builder.uint64(BigInt(metadata.length));
  for (const [key, value] of metadata) {
    builder.string(key);
    writeValue(builder, key, value);
  }

  const names = new Set<string>();
  const tensors: { sizeBytes: number; offsetBytes: number }[] = [];
  let offsetBytes = 0;
  for (const tensor of input.tensors) {
    if (names.has(tensor.name)) {
      throw new InvalidArgumentError(`Tensor '${tensor.name}' is given twice.`);
    }
    names.add(tensor.name);
    if (tensor.shape.length < 1 || tensor.shape.length > GGML_MAX_DIMENSIONS) {
      throw new InvalidArgumentError(`Tensor '${tensor.name}' must have 1 to 4 dimensions.`);
    }
    for (const dimension of tensor.shape) {
      if (!Number.isSafeInteger(dimension) || dimension < 1) {
        throw new InvalidArgumentError(`Tensor '${tensor.name}' has an invalid dimension.`);
      }
    }
    const sizeBytes = ggmlTensorSizeBytes(tensor.type, tensor.shape);
    if (sizeBytes === undefined) {
      const typeName = ggmlTypeInfo(tensor.type)?.name ?? `unknown type ${tensor.type}`;
      throw new InvalidArgumentError(
        `Tensor '${tensor.name}': shape [${tensor.shape.join(', ')}] does not fit type ${typeName}.`,
      );
    }
    builder.string(tensor.name);
    builder.uint32(tensor.shape.length);
    for (const dimension of tensor.shape) builder.uint64(BigInt(dimension));
    builder.uint32(tensor.type);
    builder.uint64(BigInt(offsetBytes));
    tensors.push({ sizeBytes, offsetBytes });
    offsetBytes = alignUp(offsetBytes + sizeBytes, alignment);
  }
  builder.padTo(alignment);
  const header = builder.result();
  const lastTensor = tensors.at(-1);
  const dataSizeBytes =
    lastTensor === undefined ? 0 : lastTensor.offsetBytes + lastTensor.sizeBytes;
  return {
    header,
    alignment,
    dataOffsetBytes: header.length,
    tensors,
    fileSizeBytes: header.length + dataSizeBytes,
  };
}

/** Is a process with this id running (or owned by someone else, so not ours to judge)? */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files a writer of `path` left when its process was killed before
 * it could clean up (`.NAME.PID.HEX.tmp`, the PID no longer running): a killed twin write
 * would otherwise leave gigabytes behind. Files of running writers are left alone.
 */
export async function removeStaleTemporaryFiles(path: string): Promise<string[]> {
  const prefix = `.${basename(path)}.`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || isProcessAlive(pid)) continue;
    const stale = join(dirname(path), name);
    await rm(stale, { force: true });
    removed.push(stale);
  }
  return removed;
}

/**
 * Writes a GGUF v3 file at `path` (parent folders created), streaming tensor data, via a
 * temporary file renamed into place, after removing what killed writers of it left behind.
 * Returns the file size and SHA-256.
 */
export async function writeGgufFile(
  path: string,
  input: GgufWriteInput,
  options: GgufWriteOptions = {},
): Promise<GgufWriteResult> {
  const layout = planGgufLayout(input);
  const bufferSizeBytes = options.bufferSizeBytes ?? 4 * 1024 * 1024;
  await mkdir(dirname(path), { recursive: true });
  await removeStaleTemporaryFiles(path);
  const temporaryPath = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const hash = createHash('sha256');
  const buffer = new Uint8Array(bufferSizeBytes);
  let buffered = 0;
  let writtenBytes = 0;
  const handle = await open(temporaryPath, 'wx');
  let closed = false;

  const writeRaw = async (bytes: Uint8Array): Promise<void> => {
    if (options.signal?.aborted) throw new AbortedError();
    hash.update(bytes);
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
      offset += bytesWritten;
    }
    writtenBytes += bytes.length;
    options.onProgress?.(writtenBytes, layout.fileSizeBytes);
  };
  const flush = async (): Promise<void> => {
    if (buffered === 0) return;
    await writeRaw(buffer.subarray(0, buffered));
    buffered = 0;
  };
  const append = async (bytes: Uint8Array): Promise<void> => {
    if (bytes.length >= buffer.length) {
      await flush();
      await writeRaw(bytes);
      return;
    }
    if (buffered + bytes.length > buffer.length) await flush();
    buffer.set(bytes, buffered);
    buffered += bytes.length;
  };

  try {
    await append(layout.header);
    for (const [index, tensor] of input.tensors.entries()) {
      const planned = layout.tensors[index];
      if (planned === undefined) throw new Error('tensor layout out of step');
      const start = layout.dataOffsetBytes + planned.offsetBytes;
      const startPadding = start - (writtenBytes + buffered);
      if (startPadding > 0) await append(new Uint8Array(startPadding));
      let producedBytes = 0;
      for await (const chunk of tensor.data()) {
        producedBytes += chunk.length;
        if (producedBytes > planned.sizeBytes) break;
        await append(chunk);
      }
      if (producedBytes !== planned.sizeBytes) {
        throw new InvalidArgumentError(
          `Tensor '${tensor.name}' produced ${producedBytes > planned.sizeBytes ? 'more than' : 'only'} ${producedBytes} bytes; expected ${planned.sizeBytes}.`,
        );
      }
    }
    await flush();
    await handle.sync();
    await handle.close();
    closed = true;
    await rename(temporaryPath, path);
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(temporaryPath, { force: true }).catch(() => undefined);
    throw error;
  }
  return { path, fileSizeBytes: writtenBytes, sha256: hash.digest('hex') };
}

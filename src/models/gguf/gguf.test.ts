import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidModelFileError } from '../../errors.js';
import { createSeededRandom } from '../random.js';
import { readGgufHeader } from './reader.js';
import { encodeTensorValues } from './tensor-encoding.js';
import { GGML_TYPE, type GgufMetadataValue, ggufValue } from './types.js';
import { validateGgufForLlama } from './validate.js';
import {
  type GgufTensorSource,
  type GgufWriteInput,
  planGgufLayout,
  removeStaleTemporaryFiles,
  writeGgufFile,
} from './writer.js';

const directory = mkdtempSync(join(tmpdir(), 'tandem-gguf-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let fileIndex = 0;
const nextPath = (): string => join(directory, `model-${fileIndex++}.gguf`);

function floatTensor(
  name: string,
  shape: number[],
  type: 0 | 1,
  fill: (index: number) => number,
): GgufTensorSource {
  const count = shape.reduce((product, dimension) => product * dimension, 1);
  return {
    name,
    shape,
    type,
    data: () =>
      encodeTensorValues(type, [Float32Array.from({ length: count }, (_, index) => fill(index))]),
  };
}

/** A tiny llama model that passes validation; `change` edits its metadata. */
function tinyLlama(
  change: (metadata: Map<string, GgufMetadataValue>) => void = () => {},
): GgufWriteInput {
  const metadata = new Map<string, GgufMetadataValue>([
    ['general.architecture', ggufValue.string('llama')],
    ['general.name', ggufValue.string('tiny')],
    ['general.file_type', ggufValue.uint32(0)],
    ['llama.context_length', ggufValue.uint32(64)],
    ['llama.embedding_length', ggufValue.uint32(8)],
    ['llama.block_count', ggufValue.uint32(1)],
    ['llama.feed_forward_length', ggufValue.uint32(16)],
    ['llama.attention.head_count', ggufValue.uint32(2)],
    ['llama.attention.layer_norm_rms_epsilon', ggufValue.float32(1e-5)],
    ['tokenizer.ggml.model', ggufValue.string('llama')],
    ['tokenizer.ggml.tokens', ggufValue.stringArray(['<unk>', 'a', 'b', 'c'])],
    ['tokenizer.chat_template', ggufValue.string('{{ x }}')],
  ]);
  change(metadata);
  return {
    metadata,
    tensors: [
      floatTensor('token_embd.weight', [8, 4], 0, (index) => index / 10),
      floatTensor('output_norm.weight', [8], 0, () => 1),
    ],
  };
}

async function expectInvalid(path: string, reason: RegExp): Promise<void> {
  const error = await validateGgufForLlama(path).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(InvalidModelFileError);
  expect((error as InvalidModelFileError).reason).toMatch(reason);
  expect((error as Error).message).not.toContain('\n');
}

describe('GGUF writer and reader', () => {
  it('round-trips metadata of every type and tensor infos and data', async () => {
    const metadata: [string, GgufMetadataValue][] = [
      ['a.uint8', ggufValue.uint8(255)],
      ['a.int8', ggufValue.int8(-128)],
      ['a.uint16', ggufValue.uint16(65535)],
      ['a.int16', ggufValue.int16(-32768)],
      ['a.uint32', ggufValue.uint32(4294967295)],
      ['a.int32', ggufValue.int32(-2147483648)],
      ['a.uint64', ggufValue.uint64(2n ** 64n - 1n)],
      ['a.int64', ggufValue.int64(-(2n ** 63n))],
      ['a.float32', ggufValue.float32(1.5)],
      ['a.float64', ggufValue.float64(Math.PI)],
      ['a.bool', ggufValue.bool(true)],
      ['a.string', ggufValue.string('héllo ▁ 世界')],
      ['a.empty', ggufValue.string('')],
      ['a.strings', ggufValue.stringArray(['x', '', '<0x0A>'])],
      ['a.int32s', ggufValue.numberArray('int32', [1, -2, 3])],
      ['a.float32s', ggufValue.numberArray('float32', [0.5, -1, 0])],
      ['a.uint8s', ggufValue.numberArray('uint8', [0, 255])],
      ['a.uint64s', ggufValue.bigIntArray('uint64', [0n, 2n ** 40n])],
      ['a.bools', ggufValue.boolArray([true, false])],
      ['a.emptyArray', ggufValue.stringArray([])],
      [
        'a.nested',
        {
          type: 'array',
          elementType: 'array',
          values: [{ type: 'array', elementType: 'int16', values: [7, -7] }],
        },
      ],
    ];
    const tensors = [
      floatTensor('first', [3, 2], GGML_TYPE.F32, (index) => index - 2.5),
      floatTensor('second', [32, 4, 2], GGML_TYPE.F16, (index) => index / 4),
      floatTensor('third', [5], GGML_TYPE.F32, () => 7),
    ];
    const path = nextPath();
    const progress: number[] = [];
    const result = await writeGgufFile(
      path,
      { metadata, tensors },
      { onProgress: (written, total) => progress.push(written / total), bufferSizeBytes: 64 },
    );
    expect(progress.at(-1)).toBe(1);
    const header = await readGgufHeader(path);
    expect(header.version).toBe(3);
    expect(header.alignment).toBe(32);
    expect(header.fileSizeBytes).toBe(result.fileSizeBytes);
    for (const [key, value] of metadata) expect(header.metadata.get(key)).toEqual(value);
    expect(header.metadata.get('general.alignment')).toEqual(ggufValue.uint32(32));
    expect(header.dataOffsetBytes % 32).toBe(0);
    expect(
      header.tensors.map(({ name, shape, type, offsetBytes, sizeBytes }) => ({
        name,
        shape,
        type,
        offsetBytes,
        sizeBytes,
      })),
    ).toEqual([
      { name: 'first', shape: [3, 2], type: 0, offsetBytes: 0, sizeBytes: 24 },
      { name: 'second', shape: [32, 4, 2], type: 1, offsetBytes: 32, sizeBytes: 512 },
      { name: 'third', shape: [5], type: 0, offsetBytes: 544, sizeBytes: 20 },
    ]);
    const bytes = readFileSync(path);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getFloat32(header.dataOffsetBytes + 4, true)).toBe(-1.5);
    expect(view.getUint16(header.dataOffsetBytes + 32 + 2 * 6, true)).toBe(0x3e00); // 1.5
    expect(view.getFloat32(header.dataOffsetBytes + 544 + 16, true)).toBe(7);
    expect(bytes.length).toBe(header.dataOffsetBytes + 564);
    expect(planGgufLayout({ metadata, tensors }).fileSizeBytes).toBe(bytes.length);
  });

  it('rejects a tensor whose producer gives the wrong number of bytes, leaving no file', async () => {
    const path = nextPath();
    const input = {
      metadata: [],
      tensors: [{ name: 't', shape: [4], type: GGML_TYPE.F32, data: () => [new Uint8Array(12)] }],
    };
    await expect(writeGgufFile(path, input)).rejects.toThrow(/only 12 bytes; expected 16/);
    expect(() => readFileSync(path)).toThrow();
  });

  it('removes what a killed writer of the same file left behind, and nothing else', async () => {
    const path = nextPath();
    const name = path.split('/').pop() as string;
    // The pid of a process that has exited: its writer can no longer be running.
    const exited = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const stale = join(directory, `.${name}.${exited}.abc123.tmp`);
    const live = join(directory, `.${name}.${process.pid}.def456.tmp`);
    const other = join(directory, `.other.gguf.${exited}.abc123.tmp`);
    for (const file of [stale, live, other]) writeFileSync(file, 'partial');
    const input = {
      metadata: [],
      tensors: [{ name: 't', shape: [4], type: GGML_TYPE.F32, data: () => [new Uint8Array(16)] }],
    };
    await writeGgufFile(path, input);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(await removeStaleTemporaryFiles(path)).toEqual([]);
    rmSync(live);
    rmSync(other);
    expect(readdirSync(directory).filter((file) => file.endsWith('.tmp'))).toEqual([]);
  });

  it('rejects unsupported encodings and shapes that do not fit the type', () => {
    expect(() => [...encodeTensorValues(GGML_TYPE.Q8_0, [new Float32Array(32)])]).toThrow(/Q8_0/);
    const tensors = [{ name: 't', shape: [31], type: GGML_TYPE.Q8_0, data: () => [] }];
    expect(() => planGgufLayout({ metadata: [], tensors })).toThrow(/does not fit type Q8_0/);
  });
});

describe('validateGgufForLlama', () => {
  it('accepts a well-formed llama file and summarises it', async () => {
    const path = nextPath();
    await writeGgufFile(path, tinyLlama());
    expect(await validateGgufForLlama(path)).toMatchObject({
      architecture: 'llama',
      name: 'tiny',
      parameterCount: 40,
      contextLength: 64,
      vocabularySize: 4,
      tensorCount: 2,
      fileType: 0,
      chatTemplate: '{{ x }}',
    });
  });

  it('rejects wrong magic bytes', async () => {
    const path = nextPath();
    await writeGgufFile(path, tinyLlama());
    const descriptor = openSync(path, 'r+');
    writeSync(descriptor, Buffer.from('GGML'), 0, 4, 0);
    closeSync(descriptor);
    await expectInvalid(path, /wrong magic/);
  });

  it('rejects an empty or tiny file', async () => {
    const path = nextPath();
    writeFileSync(path, Buffer.alloc(0));
    await expectInvalid(path, /too short/);
    writeFileSync(path, Buffer.from('GGUF'));
    await expectInvalid(path, /ends inside version/);
  });

  it('rejects a truncated header at every length', async () => {
    const path = nextPath();
    const { fileSizeBytes } = await writeGgufFile(path, tinyLlama());
    const header = await readGgufHeader(path);
    const original = readFileSync(path);
    for (let length = 0; length < header.dataOffsetBytes; length += 1) {
      writeFileSync(path, original.subarray(0, length));
      const error = await validateGgufForLlama(path).catch((caught: unknown) => caught);
      expect(error, `length ${length}`).toBeInstanceOf(InvalidModelFileError);
    }
    expect(fileSizeBytes).toBeGreaterThan(header.dataOffsetBytes);
  });

  it('rejects truncated tensor data', async () => {
    const path = nextPath();
    const { fileSizeBytes } = await writeGgufFile(path, tinyLlama());
    truncateSync(path, fileSizeBytes - 4);
    await expectInvalid(
      path,
      /output_norm.weight' data ends at byte \d+ but the file has \d+ bytes \(truncated\?\)/,
    );
  });

  it('rejects a llama file without llama.feed_forward_length', async () => {
    const path = nextPath();
    await writeGgufFile(
      path,
      tinyLlama((metadata) => metadata.delete('llama.feed_forward_length')),
    );
    await expectInvalid(path, /llama.feed_forward_length is missing/);
  });

  it('rejects a llama file without llama.attention.head_count', async () => {
    const path = nextPath();
    await writeGgufFile(
      path,
      tinyLlama((metadata) => metadata.delete('llama.attention.head_count')),
    );
    await expectInvalid(path, /llama.attention.head_count is missing/);
  });

  it('rejects zero or non-integer counts', async () => {
    const path = nextPath();
    await writeGgufFile(
      path,
      tinyLlama((metadata) => metadata.set('llama.block_count', ggufValue.uint32(0))),
    );
    await expectInvalid(path, /llama.block_count must be a positive integer/);
    await writeGgufFile(
      path,
      tinyLlama((metadata) => metadata.set('llama.context_length', ggufValue.float32(64))),
    );
    await expectInvalid(path, /llama.context_length must be a positive integer/);
  });

  it('rejects an embedding length not divisible by the head count', async () => {
    const path = nextPath();
    await writeGgufFile(
      path,
      tinyLlama((metadata) => metadata.set('llama.attention.head_count', ggufValue.uint32(3))),
    );
    await expectInvalid(path, /embedding_length 8 is not divisible by attention.head_count 3/);
  });

  it('rejects missing architecture, tokenizer and a token embedding of the wrong shape', async () => {
    const path = nextPath();
    await writeGgufFile(
      path,
      tinyLlama((metadata) => metadata.delete('general.architecture')),
    );
    await expectInvalid(path, /general.architecture is missing/);
    await writeGgufFile(
      path,
      tinyLlama((metadata) => metadata.delete('tokenizer.ggml.tokens')),
    );
    await expectInvalid(path, /tokenizer.ggml.tokens is missing/);
    await writeGgufFile(
      path,
      tinyLlama((metadata) =>
        metadata.set('tokenizer.ggml.tokens', ggufValue.stringArray(['a', 'b'])),
      ),
    );
    await expectInvalid(path, /token_embd.weight has 4 rows but the vocabulary has 2 tokens/);
  });

  it('checks the generic keys of other architectures, without llama-only rules', async () => {
    const path = nextPath();
    const rename = (metadata: Map<string, GgufMetadataValue>, drop: string[]): void => {
      for (const [key, value] of [...metadata]) {
        if (!key.startsWith('llama.')) continue;
        metadata.delete(key);
        if (!drop.includes(key)) metadata.set(`qwen2.${key.slice(6)}`, value);
      }
      metadata.set('general.architecture', ggufValue.string('qwen2'));
    };
    await writeGgufFile(
      path,
      tinyLlama((metadata) => rename(metadata, [])),
    );
    expect((await validateGgufForLlama(path)).architecture).toBe('qwen2');
    await writeGgufFile(
      path,
      tinyLlama((metadata) => rename(metadata, ['llama.block_count'])),
    );
    await expectInvalid(path, /qwen2.block_count is missing/);
    await writeGgufFile(
      path,
      tinyLlama((metadata) => {
        rename(metadata, ['llama.feed_forward_length']);
        metadata.set('qwen2.expert_count', ggufValue.uint32(8));
      }),
    );
    expect((await validateGgufForLlama(path)).architecture).toBe('qwen2');
  });

  it('rejects an absurd metadata count, tensor count, string length and array length quickly', async () => {
    const path = nextPath();
    await writeGgufFile(path, tinyLlama());
    const original = readFileSync(path);
    const patched = (offset: number, value: bigint): Buffer => {
      const copy = Buffer.from(original);
      copy.writeBigUInt64LE(value, offset);
      return copy;
    };
    writeFileSync(path, patched(16, 2n ** 62n));
    await expectInvalid(path, /metadata count 4611686018427387904 is impossible/);
    writeFileSync(path, patched(8, 2n ** 40n));
    await expectInvalid(path, /tensor count .* is impossible/);
    writeFileSync(path, patched(24, 2n ** 50n)); // length of the first key
    await expectInvalid(path, /length of metadata key 0 .* is impossible/);
    // The token list: find its length field after the key and the two type fields.
    const key = Buffer.from('tokenizer.ggml.tokens');
    const lengthOffset = original.indexOf(key) + key.length + 8;
    expect(original.readBigUInt64LE(lengthOffset)).toBe(4n);
    writeFileSync(path, patched(lengthOffset, 2n ** 33n));
    await expectInvalid(path, /length of array 'tokenizer.ggml.tokens' .* is impossible/);
  });

  it('never throws anything but InvalidModelFileError on corrupted headers', async () => {
    const path = nextPath();
    await writeGgufFile(path, tinyLlama());
    const original = readFileSync(path);
    const headerLength = (await readGgufHeader(path)).dataOffsetBytes;
    const random = createSeededRandom('gguf fuzz');
    for (let round = 0; round < 300; round++) {
      const copy = Buffer.from(original);
      for (let flip = 0; flip < 4; flip++) {
        copy[random.nextUint32() % headerLength] = random.nextUint32() & 0xff;
      }
      writeFileSync(path, copy);
      try {
        await validateGgufForLlama(path);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidModelFileError);
      }
    }
  });
});

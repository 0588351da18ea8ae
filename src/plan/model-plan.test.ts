import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { type GgufHeader, readGgufHeader } from '../models/gguf/reader.js';
import {
  GGML_TYPE,
  type GgmlTypeId,
  type GgufMetadataValue,
  ggufValue,
} from '../models/gguf/types.js';
import { type GgufTensorSource, writeGgufFile } from '../models/gguf/writer.js';
import {
  fitCheck,
  kvCacheBytes,
  loadedContextFor,
  longPrompt,
  modelShape,
  planModel,
  SHORT_PROMPT,
  slidingKvCacheBytes,
} from './model-plan.js';

const directory = mkdtempSync(join(tmpdir(), 'tandem-plan-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

// A tiny llama: 2 layers, 64 wide, 4 heads of 16 (2 KV heads), feed-forward 128, vocabulary 100.
const LAYERS = 2;
const EMBEDDING = 64;
const HEADS = 4;
const HEADS_KV = 2;
const HEAD_DIMENSION = 16;
const FEED_FORWARD = 128;
const VOCABULARY = 100;

/** Bytes of n elements in ggml's formats: F32 4 bytes, F16 2, Q8_0 34 bytes per 32 elements. */
const f32 = (elements: number) => elements * 4;
const f16 = (elements: number) => elements * 2;
const q8 = (elements: number) => (elements / 32) * 34;

function zeros(name: string, shape: number[], type: GgmlTypeId, bytes: number): GgufTensorSource {
  return { name, shape, type, data: () => [new Uint8Array(bytes)] };
}

function llamaTensors(untied: boolean): GgufTensorSource[] {
  const kvWidth = HEADS_KV * HEAD_DIMENSION;
  const tensors = [
    zeros('token_embd.weight', [EMBEDDING, VOCABULARY], GGML_TYPE.F16, f16(64 * 100)),
    zeros('output_norm.weight', [EMBEDDING], GGML_TYPE.F32, f32(64)),
  ];
  if (untied) {
    tensors.push(zeros('output.weight', [EMBEDDING, VOCABULARY], GGML_TYPE.Q8_0, q8(64 * 100)));
  }
  for (let layer = 0; layer < LAYERS; layer++) {
    const q = (name: string, shape: [number, number]) =>
      zeros(`blk.${layer}.${name}`, shape, GGML_TYPE.Q8_0, q8(shape[0] * shape[1]));
    tensors.push(
      zeros(`blk.${layer}.attn_norm.weight`, [EMBEDDING], GGML_TYPE.F32, f32(64)),
      q('attn_q.weight', [EMBEDDING, EMBEDDING]),
      q('attn_k.weight', [EMBEDDING, kvWidth]),
      q('attn_v.weight', [EMBEDDING, kvWidth]),
      q('attn_output.weight', [EMBEDDING, EMBEDDING]),
      zeros(`blk.${layer}.ffn_norm.weight`, [EMBEDDING], GGML_TYPE.F32, f32(64)),
      q('ffn_gate.weight', [EMBEDDING, FEED_FORWARD]),
      q('ffn_up.weight', [EMBEDDING, FEED_FORWARD]),
      q('ffn_down.weight', [FEED_FORWARD, EMBEDDING]),
    );
  }
  return tensors;
}

function llamaMetadata(extra: [string, GgufMetadataValue][] = []): [string, GgufMetadataValue][] {
  return [
    ['general.architecture', ggufValue.string('llama')],
    ['general.name', ggufValue.string('tiny')],
    ['llama.context_length', ggufValue.uint32(256)],
    ['llama.embedding_length', ggufValue.uint32(EMBEDDING)],
    ['llama.block_count', ggufValue.uint32(LAYERS)],
    ['llama.feed_forward_length', ggufValue.uint32(FEED_FORWARD)],
    ['llama.attention.head_count', ggufValue.uint32(HEADS)],
    ['llama.attention.head_count_kv', ggufValue.uint32(HEADS_KV)],
    ...extra,
  ];
}

async function writeAndRead(
  name: string,
  tensors: GgufTensorSource[],
  metadata: [string, GgufMetadataValue][],
): Promise<GgufHeader> {
  const path = join(directory, name);
  await writeGgufFile(path, { metadata, tensors });
  return readGgufHeader(path);
}

type TensorInfo = GgufHeader['tensors'][number];

/** A tensor info as the reader gives it; its size is given, not computed. */
function info(name: string, shape: number[], sizeBytes: number): TensorInfo {
  return {
    name,
    shape,
    type: GGML_TYPE.F32,
    typeName: 'F32',
    elementCount: shape.reduce((product, dimension) => product * dimension, 1),
    sizeBytes,
    offsetBytes: 0,
  };
}

/** A header built in memory, for the cases that need no file. */
function headerOf(entries: [string, GgufMetadataValue][], tensors: TensorInfo[] = []): GgufHeader {
  return {
    path: '/models/hand.gguf',
    version: 3,
    fileSizeBytes: 1000,
    alignment: 32,
    metadata: new Map(entries),
    tensors,
    dataOffsetBytes: 0,
  };
}

// Per layer, by hand: 2 norms of 64, q and o 64x64, k and v 64x32, gate/up/down 64x128.
const LAYER_PARAMETERS = 64 + 4096 + 2048 + 2048 + 4096 + 64 + 3 * 8192; // 36,992
const LAYER_BYTES = 256 + 4352 + 2176 + 2176 + 4352 + 256 + 3 * 8704; // 39,680
const EMBEDDING_PARAMETERS = 6400;
const EMBEDDING_BYTES = 12_800; // 6,400 f16
const EMBEDDING_ROW_BYTES = 128; // one row: 64 f16
const OUTPUT_BYTES = 6800; // 6,400 in Q8_0: 200 blocks of 34
// K and V, each 2 layers x 2 KV heads x 16 dimensions, 2 bytes (f16): 2*2*2*16*2.
const KV_BYTES_PER_TOKEN = 256;

describe('modelShape', () => {
  it('a llama with tied output: counts, KV cache per token and bytes read per token', async () => {
    const header = await writeAndRead('tied.gguf', llamaTensors(false), llamaMetadata());
    const shape = modelShape(header);
    expect(shape).toMatchObject({
      architecture: 'llama',
      layers: 2,
      embeddingLength: 64,
      headCount: 4,
      headCountKv: 2,
      headDimension: 16,
      vocabularySize: 100,
      contextLength: 256,
      twinOf: undefined,
    });
    expect(LAYER_PARAMETERS).toBe(36_992);
    expect(LAYER_BYTES).toBe(39_680);
    expect(shape.parameterCount).toBe(EMBEDDING_PARAMETERS + 64 + 2 * LAYER_PARAMETERS); // 80,448
    expect(shape.parameterCount).toBe(80_448);
    const weightBytes = EMBEDDING_BYTES + 256 + 2 * LAYER_BYTES; // 92,416
    expect(shape.weightBytes).toBe(weightBytes);
    expect(shape.weightBytes).toBe(92_416);
    expect(shape.kvCacheBytesPerToken).toBe(KV_BYTES_PER_TOKEN);
    // Tied: the embedding is also the output matrix, so all of it is read for every token.
    expect(shape.bytesReadPerToken).toBe(92_416);
    expect(shape.fileSizeBytes).toBe(statSync(header.path).size);
    expect(shape.fileSizeBytes).toBeGreaterThan(weightBytes);
  });

  it('a llama with a separate output.weight: only one embedding row is read per token', async () => {
    const header = await writeAndRead('untied.gguf', llamaTensors(true), llamaMetadata());
    const shape = modelShape(header);
    expect(shape.parameterCount).toBe(80_448 + 6400);
    expect(shape.weightBytes).toBe(92_416 + OUTPUT_BYTES); // 99,216
    expect(shape.kvCacheBytesPerToken).toBe(KV_BYTES_PER_TOKEN);
    // Every matrix once, the embedding only one row: 99,216 - 12,800 + 128.
    expect(shape.bytesReadPerToken).toBe(99_216 - EMBEDDING_BYTES + EMBEDDING_ROW_BYTES);
    expect(shape.bytesReadPerToken).toBe(86_544);
  });

  it('a twin names the alias it copies (tandem.twin)', async () => {
    const header = await writeAndRead(
      'twin.gguf',
      llamaTensors(false),
      llamaMetadata([['tandem.twin', ggufValue.string('phi-4-mini')]]),
    );
    expect(modelShape(header).twinOf).toBe('phi-4-mini');
  });

  it('without head_count_kv every head has its own K and V; key/value lengths override the head dimension', () => {
    const base: [string, GgufMetadataValue][] = [
      ['general.architecture', ggufValue.string('qwen2')],
      ['qwen2.block_count', ggufValue.uint32(3)],
      ['qwen2.embedding_length', ggufValue.uint32(96)],
      ['qwen2.attention.head_count', ggufValue.uint32(6)],
      ['qwen2.context_length', ggufValue.uint64(4096n)],
    ];
    const mha = modelShape(headerOf(base));
    expect(mha.headCountKv).toBe(6);
    expect(mha.headDimension).toBe(16);
    expect(mha.contextLength).toBe(4096);
    // 3 layers x 6 heads x (16 + 16) x 2 bytes.
    expect(mha.kvCacheBytesPerToken).toBe(3 * 6 * 32 * 2);
    expect(mha.kvCacheBytesPerToken).toBe(1152);
    expect(mha.parameterCount).toBe(0);
    expect(mha.vocabularySize).toBe(0);

    const split = modelShape(
      headerOf([
        ...base,
        ['qwen2.attention.head_count_kv', ggufValue.uint32(1)],
        ['qwen2.attention.key_length', ggufValue.uint32(192)],
        ['qwen2.attention.value_length', ggufValue.uint32(128)],
      ]),
    );
    expect(split.headDimension).toBe(192);
    // 3 layers x 1 KV head x (192 + 128) x 2 bytes.
    expect(split.kvCacheBytesPerToken).toBe(1920);
  });

  it('a dense model has no experts: every parameter is active but the untied embedding’s other rows', async () => {
    const shape = modelShape(await writeAndRead('dense.gguf', llamaTensors(true), llamaMetadata()));
    expect(shape.expertCount).toBeUndefined();
    expect(shape.expertUsedCount).toBeUndefined();
    // The embedding's 100 rows of 64: one is read per token, as model cards count it.
    expect(shape.activeParameterCount).toBe(86_848 - 6400 + 64);
    expect(shape.slidingWindow).toBeUndefined();
    expect(shape.slidingWindowLayers).toBe(0);
    expect(shape.slidingKvCacheBytesPerToken).toBe(0);
  });

  it('a mixture of experts: a token reads and uses only its experts; gpt-oss layers alternate sliding windows', () => {
    const header = headerOf(
      [
        ['general.architecture', ggufValue.string('gpt-oss')],
        ['gpt-oss.block_count', ggufValue.uint32(4)],
        ['gpt-oss.embedding_length', ggufValue.uint32(64)],
        ['gpt-oss.context_length', ggufValue.uint32(4096)],
        ['gpt-oss.attention.head_count', ggufValue.uint32(8)],
        ['gpt-oss.attention.head_count_kv', ggufValue.uint32(2)],
        ['gpt-oss.attention.key_length', ggufValue.uint32(16)],
        ['gpt-oss.attention.value_length', ggufValue.uint32(16)],
        ['gpt-oss.attention.sliding_window', ggufValue.uint32(128)],
        ['gpt-oss.expert_count', ggufValue.uint32(4)],
        ['gpt-oss.expert_used_count', ggufValue.uint32(1)],
      ],
      [
        info('token_embd.weight', [64, 100], 12_800),
        info('output.weight', [64, 100], 6800),
        info('blk.0.ffn_gate_inp.weight', [64, 4], 1024),
        info('blk.0.ffn_up_exps.weight', [64, 32, 4], 8704),
        // The experts' biases, one row per expert: also a quarter read.
        info('blk.0.ffn_up_exps.bias', [32, 4], 512),
      ],
    );
    const shape = modelShape(header);
    expect(shape.expertCount).toBe(4);
    expect(shape.expertUsedCount).toBe(1);
    expect(shape.parameterCount).toBe(6400 + 6400 + 256 + 8192 + 128);
    // One expert of four: a quarter of the 8,192 expert parameters and of the 128 biases.
    expect(shape.activeParameterCount).toBe(64 + 6400 + 256 + 2048 + 32);
    expect(shape.weightBytes).toBe(12_800 + 6800 + 1024 + 8704 + 512);
    // All but the embedding (one row of 128 bytes read) and three quarters of the experts.
    expect(shape.bytesReadPerToken).toBe(6800 + 1024 + 128 + 8704 / 4 + 512 / 4);
    expect(shape.bytesReadPerToken).toBe(10_256);
    // Layers 0 and 2 slide, 1 and 3 attend to everything: 2 KV heads x (16 + 16) x 2 bytes each.
    expect(shape.slidingWindow).toBe(128);
    expect(shape.slidingWindowLayers).toBe(2);
    expect(shape.kvCacheBytesPerToken).toBe(2 * 2 * 32 * 2);
    expect(shape.slidingKvCacheBytesPerToken).toBe(256);
    // The sliding layers' cache stops at window + a 512-token batch, rounded up to 256: 768 cells.
    expect(slidingKvCacheBytes(shape, 100)).toBe(256 * 100);
    expect(slidingKvCacheBytes(shape, 700)).toBe(256 * 700);
    expect(slidingKvCacheBytes(shape, 100_000)).toBe(256 * 768);
    expect(slidingKvCacheBytes(shape, Number.POSITIVE_INFINITY)).toBe(196_608);
    expect(kvCacheBytes(shape, 10_000)).toBe(256 * 10_000 + 196_608);
  });

  it('an expert count without expert_used_count counts every expert as used', () => {
    const shape = modelShape(
      headerOf(
        [
          ['general.architecture', ggufValue.string('gpt-oss')],
          ['gpt-oss.block_count', ggufValue.uint32(1)],
          ['gpt-oss.embedding_length', ggufValue.uint32(64)],
          ['gpt-oss.context_length', ggufValue.uint32(4096)],
          ['gpt-oss.attention.head_count', ggufValue.uint32(4)],
          ['gpt-oss.expert_count', ggufValue.uint32(4)],
        ],
        [info('blk.0.ffn_up_exps.weight', [64, 32, 4], 8704)],
      ),
    );
    expect(shape.expertUsedCount).toBe(4);
    expect(shape.activeParameterCount).toBe(8192);
    expect(shape.bytesReadPerToken).toBe(8704);
    // No sliding_window key: every layer attends to the whole context.
    expect(shape.slidingWindowLayers).toBe(0);
    expect(shape.kvCacheBytesPerToken).toBe(1 * 4 * (16 + 16) * 2);
  });

  it("phi3's sliding_window key is ignored, as llama.cpp ignores it", () => {
    const shape = modelShape(
      headerOf([
        ['general.architecture', ggufValue.string('phi3')],
        ['phi3.block_count', ggufValue.uint32(32)],
        ['phi3.embedding_length', ggufValue.uint32(3072)],
        ['phi3.context_length', ggufValue.uint32(131_072)],
        ['phi3.attention.head_count', ggufValue.uint32(24)],
        ['phi3.attention.head_count_kv', ggufValue.uint32(8)],
        ['phi3.attention.sliding_window', ggufValue.uint32(262_144)],
      ]),
    );
    expect(shape.slidingWindow).toBeUndefined();
    expect(shape.slidingWindowLayers).toBe(0);
    // phi-4-mini: 32 layers x 8 KV heads x (128 + 128) x 2 bytes = 131,072 bytes per token.
    expect(shape.kvCacheBytesPerToken).toBe(131_072);
    expect(kvCacheBytes(shape, 4096)).toBe(131_072 * 4096);
  });

  it('rejects a GGUF that is not a model, or lacks a shape key, with one line naming it', () => {
    expect(() => modelShape(headerOf([]))).toThrow(
      new InvalidArgumentError(
        '/models/hand.gguf has no general.architecture: it is not a model GGUF.',
      ),
    );
    expect(() =>
      modelShape(
        headerOf([
          ['general.architecture', ggufValue.string('llama')],
          ['llama.embedding_length', ggufValue.uint32(64)],
          ['llama.attention.head_count', ggufValue.uint32(4)],
        ]),
      ),
    ).toThrow('/models/hand.gguf has no llama.block_count.');
  });
});

describe('fitCheck', () => {
  // A phi-4-mini-like model: 32 layers x 8 KV heads x 128 x 2 (K, V) x 2 bytes = 131,072 B/token.
  const base = {
    weightsBytes: 2_500_000_000,
    kvCacheBytesPerToken: 131_072,
    contextTokens: 4096,
    runtimeBytes: 300_000_000,
    totalMemoryBytes: 16_000_000_000,
    availableMemoryBytes: 8_000_000_000,
  };
  const kv4k = 131_072 * 4096; // 536,870,912
  const needed4k = 2_500_000_000 + 536_870_912 + 300_000_000; // 3,336,870,912

  it('fits in total and in free memory', () => {
    expect(fitCheck(base)).toEqual({
      fits: true,
      fitsNow: true,
      contextTokens: 4096,
      neededBytes: 3_336_870_912,
      weightsBytes: 2_500_000_000,
      kvCacheBytes: 536_870_912,
      runtimeBytes: 300_000_000,
      totalMemoryBytes: 16_000_000_000,
      availableMemoryBytes: 8_000_000_000,
    });
    expect(kv4k).toBe(536_870_912);
    expect(needed4k).toBe(3_336_870_912);
  });

  it('fits the machine but not the memory free now', () => {
    const fit = fitCheck({ ...base, availableMemoryBytes: 3_000_000_000 });
    expect(fit.fits).toBe(true);
    expect(fit.fitsNow).toBe(false);
  });

  it('does not fit', () => {
    const fit = fitCheck({ ...base, totalMemoryBytes: 3_000_000_000, availableMemoryBytes: 1e9 });
    expect(fit.fits).toBe(false);
    expect(fit.fitsNow).toBe(false);
    expect(fit.neededBytes).toBe(needed4k);
  });

  it('the boundary: exactly the memory fits, one byte less does not', () => {
    const exact = fitCheck({
      ...base,
      totalMemoryBytes: needed4k,
      availableMemoryBytes: needed4k,
    });
    expect(exact.fits).toBe(true);
    expect(exact.fitsNow).toBe(true);
    const short = fitCheck({
      ...base,
      totalMemoryBytes: needed4k - 1,
      availableMemoryBytes: needed4k - 1,
    });
    expect(short.fits).toBe(false);
    expect(short.fitsNow).toBe(false);
  });

  it('a large --ctx pushes the KV cache over the memory the weights fit in', () => {
    const long = fitCheck({ ...base, contextTokens: 131_072 });
    // 131,072 tokens x 131,072 bytes = 16 GiB of KV cache.
    expect(long.kvCacheBytes).toBe(2 ** 34);
    expect(long.neededBytes).toBe(2_500_000_000 + 2 ** 34 + 300_000_000);
    expect(long.fits).toBe(false);
    expect(fitCheck(base).fits).toBe(true);
  });

  it('no context: weights and runtime only', () => {
    const fit = fitCheck({ ...base, contextTokens: 0 });
    expect(fit.kvCacheBytes).toBe(0);
    expect(fit.neededBytes).toBe(2_800_000_000);
  });

  it('a fixed KV cache (sliding-window layers) is added once, whatever the context', () => {
    const fixed = 15_728_640;
    const short = fitCheck({ ...base, fixedKvCacheBytes: fixed });
    expect(short.kvCacheBytes).toBe(536_870_912 + 15_728_640);
    expect(short.neededBytes).toBe(needed4k + 15_728_640);
    const long = fitCheck({ ...base, contextTokens: 8192, fixedKvCacheBytes: fixed });
    expect(long.kvCacheBytes).toBe(2 * 536_870_912 + 15_728_640);
    // One byte of fixed cache tips an exact fit over.
    const edge = fitCheck({ ...base, totalMemoryBytes: needed4k, fixedKvCacheBytes: 1 });
    expect(edge.fits).toBe(false);
  });
});

describe('prompts', () => {
  const prefix = 'Summarise this report in two sentences:\n';

  it('longPrompt has the instruction and exactly the words asked for', () => {
    for (const words of [1, 7, 400, 1000]) {
      const prompt = longPrompt(words);
      expect(prompt.startsWith(prefix)).toBe(true);
      const body = prompt.slice(prefix.length).split(' ');
      expect(body).toHaveLength(words);
      for (const word of body) expect(word).toMatch(/^[a-z]+$/);
    }
  });

  it('longPrompt is deterministic and not one repeated word', () => {
    expect(longPrompt(400)).toBe(longPrompt(400));
    expect(longPrompt(400).startsWith(longPrompt(399))).toBe(true);
    const distinct = new Set(longPrompt(400).slice(prefix.length).split(' '));
    expect(distinct.size).toBeGreaterThanOrEqual(10);
  });

  it('longPrompt(0) is the instruction alone', () => {
    expect(longPrompt(0)).toBe(prefix);
  });

  it('the short prompt is one short sentence', () => {
    expect(SHORT_PROMPT.split(' ').length).toBeLessThan(20);
    expect(SHORT_PROMPT.length).toBeGreaterThan(10);
  });
});

describe('loadedContextFor', () => {
  // phi-4-mini's figures: 2.49 GB of weights, 131,072 bytes of KV cache per token.
  const shape = {
    fileSizeBytes: 2_490_000_000,
    kvCacheBytesPerToken: 131_072,
    slidingWindow: undefined,
    slidingKvCacheBytesPerToken: 0,
  } as unknown as Parameters<typeof loadedContextFor>[0];
  const options = {
    contextTokens: 4096,
    longPromptWords: 400,
    decodeTokens: 64,
    availableMemoryBytes: 20e9,
  };

  it('loads the context asked for where it fits', () => {
    expect(loadedContextFor(shape, options)).toBe(4096);
    expect(loadedContextFor(shape, { ...options, contextTokens: 32_768 })).toBe(32_768);
  });

  it('makes room for the long prompt and the decode under a small --ctx: a token per byte', () => {
    const longBytes = Buffer.byteLength(longPrompt(400));
    expect(longBytes).toBeGreaterThan(2000);
    expect(loadedContextFor(shape, { ...options, contextTokens: 512 })).toBe(longBytes + 64);
    expect(loadedContextFor(shape, { ...options, contextTokens: 512, decodeTokens: 5000 })).toBe(
      Buffer.byteLength(SHORT_PROMPT) + 64 + 5000,
    );
  });

  it('falls back to 8,192 tokens when the context asked for would not fit in free memory', () => {
    // 131,072 tokens: 17.2 GB of KV cache on top of 2.49 GB of weights.
    expect(loadedContextFor(shape, { ...options, contextTokens: 131_072 })).toBe(8192);
    // A context under 8,192 that does not fit loads as asked: the load then says so.
    expect(
      loadedContextFor(shape, { ...options, contextTokens: 4096, availableMemoryBytes: 1e9 }),
    ).toBe(4096);
  });
});

describe('planModel', () => {
  it('refuses a context under 16 tokens or not whole before loading anything', async () => {
    const options = { decodeTokens: 4, longPromptWords: 10, bandwidth: false };
    await expect(
      planModel('no-such-model-anywhere', { ...options, contextTokens: 8 }),
    ).rejects.toThrow(new InvalidArgumentError('--ctx 8: give a context of at least 16 tokens.'));
    await expect(
      planModel('no-such-model-anywhere', { ...options, contextTokens: 100.5 }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

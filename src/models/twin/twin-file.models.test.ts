/**
 * Twin files: small twins of each architecture load and generate in the llama engine; a twin
 * made from a real-format file (weights quantized from floats, as a converter makes them)
 * has its size and tensor shapes, also as `models plan` reports them; writing streams.
 */

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../engines/registry.js';
import { measureRun } from '../../generate/generate.js';
import { PeakRssSampler } from '../../measure/memory.js';
import { kvCacheBytes, modelShape, planModel } from '../../plan/model-plan.js';
import type { CatalogModel } from '../catalog.js';
import { quantizeValues } from '../gguf/quantize.js';
import { readGgufHeader } from '../gguf/reader.js';
import { GGML_TYPE } from '../gguf/types.js';
import { writeGgufFile } from '../gguf/writer.js';
import { createSeededRandom } from '../random.js';
import { twinGgufInput } from './twin-file.js';
import { type TwinFacts, type TwinLayout, twinLayout, twinLayoutFromGguf } from './twin-layout.js';

const scratch = mkdtempSync(join(tmpdir(), 'tandem-twins-'));
const engines: { dispose(): Promise<void> }[] = [];
afterAll(async () => {
  for (const engine of engines) await engine.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

/** A small model of an architecture, in the catalog's terms. */
function tinyModel(
  name: string,
  architecture: string,
  overrides: Partial<CatalogModel['architecture']> = {},
): CatalogModel {
  return {
    alias: `tiny-${name}`,
    // Not the architecture's name: llama.cpp looks up Phi-3's special tokens by text when the
    // model's general.name contains "phi3", and tandem's vocabulary has none of them.
    displayName: 'tiny test model',
    family: 'test',
    parameterCount: 0,
    contextLength: 2048,
    license: 'MIT',
    gguf: {
      repository: 'test/tiny',
      file: `tiny-${name}.gguf`,
      quantization: 'Q4_K_M',
      sizeBytes: 0,
    },
    architecture: {
      name: architecture,
      blockCount: 3,
      embeddingLength: 256,
      feedForwardLength: 512,
      headCount: 4,
      headCountKv: 2,
      vocabSize: 1024,
      ropeFreqBase: 10_000,
      ...overrides,
    },
    sources: [],
  };
}

const FACTS: Record<string, TwinFacts> = {
  llama: { rmsEpsilon: 1e-5, tiedOutput: true, sources: [] },
  qwen2: { rmsEpsilon: 1e-6, tiedOutput: false, sources: [] },
  phi3: {
    rmsEpsilon: 1e-5,
    tiedOutput: true,
    ropeDimensionCount: 48,
    longRope: { originalContextLength: 1024, attentionFactor: 1.19 },
    slidingWindow: 2048,
    sources: [],
  },
};

async function generate(path: string, tokens: number) {
  const engine = await createEngine(`llama:${path}`, { threads: 1, gpu: 'cpu' });
  engines.push(engine);
  return measureRun(
    engine,
    { prompt: 'Hello twin', maxTokens: tokens, temperature: 0, ignoreEos: true },
    { cold: true },
  );
}

describe('twin files', () => {
  // Row lengths of 256 and of 320 (not a multiple of 256: the fallback types) for each.
  it.each([
    ['llama', 256],
    ['qwen2', 320],
    ['phi3', 256],
    ['phi3', 320],
    ['llama', 320],
  ])(
    'a %s twin (rows of %i) loads in the llama engine and generates',
    async (architecture, width) => {
      const model = tinyModel(`${architecture}-${width}`, architecture, {
        embeddingLength: width,
        headCount: width / 64,
        // 4 heads share 2 KV heads; 5 heads (rows of 320) share 1.
        headCountKv: width === 256 ? 2 : 1,
      });
      const layout = twinLayout(model, FACTS[architecture]);
      if (architecture === 'phi3' && width === 320) {
        // phi3's fused qkv is Q5_K; its rows of 320 fall back to Q5_1, as llama.cpp does.
        const qkv = layout.tensors.find((tensor) => tensor.name === 'blk.0.attn_qkv.weight');
        expect(qkv?.type).toBe(GGML_TYPE.Q5_1);
      }
      const path = join(scratch, `${model.alias}.gguf`);
      await writeGgufFile(path, twinGgufInput(layout));
      const result = await generate(path, 6);
      expect(result.outputTokens).toBe(6);
      expect(result.errorMessage).toBeUndefined();
    },
    60_000,
  );

  it('a gpt-oss twin (MXFP4 experts, a sliding window) loads in the llama engine and generates', async () => {
    const model = tinyModel('gpt-oss', 'gpt-oss', {
      embeddingLength: 256,
      feedForwardLength: 256,
      headCount: 8,
      headCountKv: 2,
      expertCount: 8,
      expertUsedCount: 2,
    });
    const layout = twinLayout(
      { ...model, gguf: { ...model.gguf, quantization: 'MXFP4' } },
      {
        rmsEpsilon: 1e-5,
        tiedOutput: false,
        headDimension: 32,
        slidingWindow: 16,
        yarn: { factor: 4, originalContextLength: 512 },
        expertFeedForwardLength: 256,
        sources: [],
      },
    );
    expect(layout.tensors.find((t) => t.name === 'blk.0.ffn_up_exps.weight')?.type).toBe(
      GGML_TYPE.MXFP4,
    );
    const path = join(scratch, 'tiny-gpt-oss.gguf');
    await writeGgufFile(path, twinGgufInput(layout));
    // Past the 16-token window, so the sliding layers' cache wraps.
    const result = await generate(path, 40);
    expect(result.outputTokens).toBe(40);
    expect(result.errorMessage).toBeUndefined();
    // The KV cache llama.cpp allocated is the one the header predicts, sliding layers and all
    // (it reports MiB to two decimals).
    const engine = engines.at(-1) as Awaited<ReturnType<typeof createEngine>>;
    const contextSize = engine.info.contextSize as number;
    const allocated = engine.info.memoryBuffers
      ?.filter((buffer) => buffer.kind === 'kv')
      .reduce((sum, buffer) => sum + buffer.bytes, 0);
    const predicted = kvCacheBytes(modelShape(await readGgufHeader(path)), contextSize);
    expect(Math.abs((allocated as number) - predicted)).toBeLessThanOrEqual(0.01 * 2 ** 20);
    expect(engine.info.memoryBuffers?.some((buffer) => buffer.kind === 'compute')).toBe(true);
  }, 60_000);

  it('makes a twin of a real-format file with its size and shapes, as models plan reports them', async () => {
    // A "real" file: the qwen2 layout with weights quantized from float values.
    const layout = twinLayout(tinyModel('real', 'qwen2'), FACTS.qwen2);
    const random = createSeededRandom('real weights');
    const realPath = join(scratch, 'real-format.gguf');
    await writeGgufFile(realPath, {
      metadata: layout.metadata.filter(([key]) => key !== 'tandem.twin'),
      tensors: layout.tensors.map((tensor) => ({
        name: tensor.name,
        shape: tensor.shape,
        type: tensor.type,
        data: function* () {
          const count = tensor.shape.reduce((product, dimension) => product * dimension, 1);
          const values = new Float32Array(count);
          for (let index = 0; index < count; index++) {
            values[index] =
              tensor.fill === 'ones' ? 1 : tensor.fill === 'zeros' ? 0 : random.nextSymmetric(0.05);
          }
          yield tensor.type === GGML_TYPE.F32
            ? new Uint8Array(values.buffer)
            : quantizeValues(tensor.type as Parameters<typeof quantizeValues>[0], values);
        },
      })),
    });
    const realHeader = await readGgufHeader(realPath);
    const twinPath = join(scratch, 'real-format.twin.gguf');
    await writeGgufFile(twinPath, twinGgufInput(twinLayoutFromGguf(realHeader)));
    const twinHeader = await readGgufHeader(twinPath);
    const shapes = (header: typeof realHeader) =>
      header.tensors.map((tensor) => [tensor.name, tensor.shape, tensor.type]);
    expect(shapes(twinHeader)).toEqual(shapes(realHeader));

    const options = {
      contextTokens: 512,
      decodeTokens: 4,
      longPromptWords: 20,
      bandwidth: false,
      engineOptions: { threads: 1, gpu: 'cpu' as const },
    };
    const realPlan = await planModel(`llama:${realPath}`, options);
    const twinPlan = await planModel(`llama:${twinPath}`, options);
    expect(
      Math.abs(twinPlan.shape.fileSizeBytes - realPlan.shape.fileSizeBytes) /
        realPlan.shape.fileSizeBytes,
    ).toBeLessThan(0.01);
    expect(twinPlan.shape.weightBytes).toBe(realPlan.shape.weightBytes);
    expect(twinPlan.shape.kvCacheBytesPerToken).toBe(realPlan.shape.kvCacheBytesPerToken);
    expect(twinPlan.shape.twinOf).toBe('file:real-format.gguf');
    expect(realPlan.shape.twinOf).toBeUndefined();
    expect(twinPlan.decodeTokens).toBe(4);
    expect(twinPlan.loadedContextTokens).toBe(512);
    // A --ctx smaller than the long prompt: the plan loads room for it and checks the fit at 32.
    const small = await planModel(`llama:${twinPath}`, {
      ...options,
      contextTokens: 32,
      longPromptWords: 30,
    });
    expect(small.fit.contextTokens).toBe(32);
    expect(small.long.promptTokens).toBeGreaterThan(32);
    expect(small.loadedContextTokens).toBeGreaterThan(small.long.promptTokens ?? 0);
    expect(small.long.ttftMs).toBeGreaterThan(0);
    // A long prompt beyond the model's trained context (2,048 here): one line, what to do.
    await expect(
      planModel(`llama:${twinPath}`, { ...options, longPromptWords: 600 }),
    ).rejects.toThrow(
      /^The long prompt \(--long-words 600\) is \d,\d{3} tokens, too many for the 2,048-token context .* \(its trained context is 2,048\): give fewer --long-words\.$/,
    );
  }, 60_000);

  it('streams a twin to disk: memory stays bounded while the file grows past it', async () => {
    const model = tinyModel('large', 'qwen2', {
      blockCount: 8,
      embeddingLength: 1024,
      feedForwardLength: 4096,
      headCount: 16,
      headCountKv: 4,
      vocabSize: 32_000,
    });
    const input = twinGgufInput(twinLayout(model, FACTS.qwen2));
    const path = join(scratch, 'large.twin.gguf');
    const sampler = new PeakRssSampler(undefined, 5);
    await writeGgufFile(path, input);
    const { peakDeltaBytes } = sampler.stop();
    const size = statSync(path).size;
    expect(size).toBeGreaterThan(100e6);
    expect(peakDeltaBytes).toBeLessThan(64e6);
  }, 60_000);

  it('is deterministic from its seed, float tensors included, chunk after chunk', async () => {
    // An F32 and an F16 matrix of 6 MB each: more than one 4 MB chunk apiece.
    const layout: TwinLayout = {
      alias: 'floats',
      architecture: 'llama',
      quantization: 'F16',
      metadata: [],
      tensors: [
        { name: 'a.weight', shape: [1024, 1536], type: GGML_TYPE.F32, fill: 'random' },
        { name: 'b.weight', shape: [1024, 3072], type: GGML_TYPE.F16, fill: 'random' },
        { name: 'c.weight', shape: [1024], type: GGML_TYPE.F32, fill: 'ones' },
      ],
    };
    const write = async (name: string, seed: string) => {
      const path = join(scratch, name);
      await writeGgufFile(path, twinGgufInput(layout, seed));
      const header = await readGgufHeader(path);
      const bytes = readFileSync(path);
      const tensor = (index: number) => {
        const info = header.tensors[index];
        if (info?.sizeBytes === undefined) throw new Error('no tensor');
        const start = header.dataOffsetBytes + info.offsetBytes;
        return bytes.subarray(start, start + info.sizeBytes);
      };
      return { bytes, tensor };
    };
    const first = await write('floats-1.gguf', 'seed one');
    const again = await write('floats-2.gguf', 'seed one');
    const other = await write('floats-3.gguf', 'seed two');
    expect(again.bytes.equals(first.bytes)).toBe(true);
    expect(other.tensor(0).equals(first.tensor(0))).toBe(false);
    const a = first.tensor(0);
    const values = new Float32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.length));
    expect(values.every((value) => Math.abs(value) <= 0.04)).toBe(true);
    // The second chunk is new values, not the first chunk again.
    const chunk = (4 * 1024 * 1024) / 4;
    expect(values.subarray(chunk, chunk + 64)).not.toEqual(values.subarray(0, 64));
    const ones = first.tensor(2);
    expect(new Float32Array(ones.buffer.slice(ones.byteOffset, ones.byteOffset + 4096))).toEqual(
      new Float32Array(1024).fill(1),
    );
  }, 60_000);
});

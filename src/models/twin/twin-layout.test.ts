import { describe, expect, it } from 'vitest';
import { CATALOG, findCatalogModel } from '../catalog.js';
import { GGML_TYPE, ggmlTensorSizeBytes, ggmlTypeInfo } from '../gguf/types.js';
import { LLAMA_3_2_3B } from './published-twins.js';
import { twinFileSizeBytes } from './twin-file.js';
import { type TwinLayout, twinLayout, twinSupport, usesMoreBits } from './twin-layout.js';

/** The bytes of a layout's tensor data (NaN where a tensor's shape does not fit its type). */
function layoutTensorBytes(layout: TwinLayout): number {
  return layout.tensors.reduce(
    (sum, tensor) => sum + (ggmlTensorSizeBytes(tensor.type, tensor.shape) ?? Number.NaN),
    0,
  );
}

function model(alias: string) {
  const found = findCatalogModel(alias);
  if (found === undefined) throw new Error(`no ${alias}`);
  return found;
}

/** Tensor counts per type name. */
function typeCounts(alias: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const tensor of twinLayout(model(alias)).tensors) {
    const name = ggmlTypeInfo(tensor.type)?.name ?? '?';
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

describe('twin layouts', () => {
  it('marks the same layers as llama.cpp’s use_more_bits', () => {
    const layers = (n: number) => [...Array(n).keys()].filter((i) => usesMoreBits(i, n));
    expect(layers(32)).toEqual([0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]);
    expect(layers(24)).toEqual([0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23]);
  });

  // The counts of the published files, from llama.cpp's load logs of them.
  it.each([
    ['phi-4-mini', { F32: 67, Q4_K: 80, Q5_K: 32, Q6_K: 17 }],
    ['qwen2.5-0.5b', { F32: 121, Q5_0: 133, Q8_0: 13, Q4_K: 12, Q6_K: 12 }],
  ])('gives %s the tensor types of its published Q4_K_M file', (alias, counts) => {
    expect(typeCounts(alias)).toEqual(counts);
  });

  it('gives the models without a published count the recipe’s (derived) counts', () => {
    expect(typeCounts('qwen2.5-7b')).toEqual({ F32: 141, Q4_K: 169, Q6_K: 29 });
    expect(typeCounts('smollm2-360m')).toEqual({
      F32: 65,
      Q5_0: 176,
      Q8_0: 17,
      Q6_K: 16,
      Q4_K: 16,
    });
  });

  it('uses the catalog’s shapes: phi-4-mini’s fused qkv and gate-up, qwen’s biases', () => {
    const phi = new Map(twinLayout(model('phi-4-mini')).tensors.map((t) => [t.name, t]));
    expect(phi.get('token_embd.weight')?.shape).toEqual([3072, 200_064]);
    expect(phi.get('output.weight')).toBeUndefined();
    expect(phi.get('blk.0.attn_qkv.weight')?.shape).toEqual([3072, 3072 + 2 * 1024]);
    expect(phi.get('blk.0.ffn_up.weight')?.shape).toEqual([3072, 2 * 8192]);
    expect(phi.get('blk.31.ffn_down.weight')).toMatchObject({
      shape: [8192, 3072],
      type: GGML_TYPE.Q6_K,
    });
    expect(phi.get('blk.4.ffn_down.weight')?.type).toBe(GGML_TYPE.Q4_K);
    expect(phi.get('rope_factors_long.weight')?.shape).toEqual([48]);
    const qwen = new Map(twinLayout(model('qwen2.5-0.5b')).tensors.map((t) => [t.name, t]));
    expect(qwen.get('output.weight')).toMatchObject({
      shape: [896, 151_936],
      type: GGML_TYPE.Q8_0,
    });
    expect(qwen.get('blk.0.attn_k.weight')?.shape).toEqual([896, 128]);
    expect(qwen.get('blk.0.attn_k.bias')?.shape).toEqual([128]);
    expect(qwen.get('blk.3.attn_v.weight')?.type).toBe(GGML_TYPE.Q5_0);
    expect(qwen.get('blk.2.attn_v.weight')?.type).toBe(GGML_TYPE.Q8_0);
    expect(twinLayout(model('qwen2.5-0.5b')).tensors).toHaveLength(291);
    expect(twinLayout(model('phi-4-mini')).tensors).toHaveLength(196);
  });

  it.each(['phi-4-mini', 'qwen2.5-0.5b', 'qwen2.5-7b', 'smollm2-360m', 'gpt-oss-20b'])(
    'makes %s’s twin the size of the published file, within 1%%',
    (alias) => {
      const size = twinFileSizeBytes(twinLayout(model(alias)));
      const published = model(alias).gguf.sizeBytes;
      expect(Math.abs(size - published) / published).toBeLessThan(0.01);
    },
  );

  it('gives gpt-oss-20b the tensors of its published MXFP4 file: 459, f32 289, q8_0 98, mxfp4 72', () => {
    expect(typeCounts('gpt-oss-20b')).toEqual({ F32: 289, Q8_0: 98, MXFP4: 72 });
    const layout = twinLayout(model('gpt-oss-20b'));
    expect(layout.tensors).toHaveLength(459);
    const tensors = new Map(layout.tensors.map((t) => [t.name, t]));
    // 64 heads of 64 (not 2880 / 64): the query is 4096 wide.
    expect(tensors.get('blk.0.attn_q.weight')?.shape).toEqual([2880, 4096]);
    expect(tensors.get('blk.0.attn_output.weight')?.shape).toEqual([4096, 2880]);
    expect(tensors.get('blk.0.attn_k.weight')?.shape).toEqual([2880, 512]);
    expect(tensors.get('blk.23.ffn_down_exps.weight')).toMatchObject({
      shape: [2880, 2880, 32],
      type: GGML_TYPE.MXFP4,
    });
    expect(tensors.get('blk.0.ffn_gate_inp.weight')).toMatchObject({
      shape: [2880, 32],
      type: GGML_TYPE.F32,
    });
    expect(tensors.get('blk.0.attn_sinks.weight')?.shape).toEqual([64]);
    expect(tensors.get('output.weight')?.type).toBe(GGML_TYPE.Q8_0);
    // The tensor bytes of the published file, from llama.cpp's "file size = 11.27 GiB".
    const tensorBytes = layoutTensorBytes(layout);
    expect(tensorBytes).toBe(12_096_558_336);
    const keys = new Map(layout.metadata);
    expect(keys.get('gpt-oss.expert_used_count')).toMatchObject({ value: 4 });
    expect(keys.get('gpt-oss.attention.sliding_window')).toMatchObject({ value: 128 });
  });

  it('refuses a model whose architecture or quantization it cannot write, and says why', () => {
    const gptOss = model('gpt-oss-20b');
    const q4 = { ...gptOss, gguf: { ...gptOss.gguf, quantization: 'Q4_K_M' } };
    expect(twinSupport(q4)).toEqual({
      ok: false,
      reason: expect.stringMatching(/writes MXFP4 twins of gpt-oss models; .* is Q4_K_M/),
    });
    const mamba = { ...gptOss, architecture: { ...gptOss.architecture, name: 'mamba' } };
    expect(twinSupport(mamba)).toEqual({
      ok: false,
      reason: expect.stringMatching(/cannot write the mamba architecture/),
    });
  });

  it('covers every catalog model', () => {
    expect(CATALOG.map((entry) => [entry.alias, twinSupport(entry).ok])).toEqual(
      CATALOG.map((entry) => [entry.alias, true]),
    );
  });
});

describe('the twin of a file with published benchmark figures', () => {
  it('Llama-3.2-3B-Instruct Q4_K_M: 255 tensors, rope_freqs, and the published size within 1%', () => {
    const { model: llama, facts } = LLAMA_3_2_3B;
    const layout = twinLayout(llama, facts);
    expect(layout.tensors).toHaveLength(3 + 28 * 9);
    const tensors = new Map(layout.tensors.map((t) => [t.name, t]));
    expect(tensors.get('rope_freqs.weight')?.shape).toEqual([64]);
    expect(tensors.get('token_embd.weight')).toMatchObject({
      shape: [3072, 128_256],
      type: GGML_TYPE.Q6_K,
    });
    expect(tensors.get('output.weight')).toBeUndefined();
    const size = twinFileSizeBytes(layout);
    expect(Math.abs(size - llama.gguf.sizeBytes) / llama.gguf.sizeBytes).toBeLessThan(0.01);
    // llama-bench printed "1.87 GiB" for the tensor data.
    const tensorBytes = layoutTensorBytes(layout);
    expect((tensorBytes / 2 ** 30).toFixed(2)).toBe('1.87');
  });
});

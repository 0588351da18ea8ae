/**
 * The demo ONNX folders: the graph's interface (names, dims), its weights read back from
 * the written file against the GGUF's values, onnxruntime running it, and the folder's
 * caching (written once, rewritten when damaged).
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as onnxruntime from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decoderFeeds,
  emptyKvCache,
  presentAsPast,
} from '../../../test/support/demo-onnx-session.js';
import { float16BitsToNumber, float32ToFloat16Bits } from '../gguf/float16.js';
import { decodeModel } from '../onnx/onnx-decoder.js';
import { ONNX_DATA_TYPE, type OnnxModel, type OnnxTensor } from '../onnx/onnx-graph.js';
import { demoModelDefinition } from './definitions.js';
import { ensureDemoOnnxModel, writeDemoOnnxFolder } from './demo-onnx.js';
import { buildDemoOnnxModel, ropeInverseFrequencies } from './demo-onnx-graph.js';
import { demoTensorValues } from './weights.js';

const directory = mkdtempSync(join(tmpdir(), 'tandem-demo-onnx-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function allValues(name: 'demo-slm' | 'demo-llm', tensor: string): Float32Array {
  const chunks = [...demoTensorValues(name, tensor)];
  const values = new Float32Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    values.set(chunk, offset);
    offset += chunk.length;
  }
  return values;
}

function floats(tensor: OnnxTensor): Float32Array {
  expect(tensor.dataType).toBe(ONNX_DATA_TYPE.FLOAT);
  const copy = new Uint8Array(tensor.rawData);
  return new Float32Array(copy.buffer, 0, copy.length / 4);
}

describe('the demo-slm ONNX folder', () => {
  let folder: string;
  let model: OnnxModel;
  beforeAll(async () => {
    folder = join(directory, 'written');
    const result = await writeDemoOnnxFolder('demo-slm', folder);
    expect(result.sha256).toBe(demoModelDefinition('demo-slm').onnxSha256);
    model = decodeModel(readFileSync(join(folder, 'onnx', 'model.onnx')));
  });

  it('has the transformers.js layout and a llama config', () => {
    const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    const definition = demoModelDefinition('demo-slm');
    expect(config).toMatchObject({
      model_type: 'llama',
      vocab_size: definition.vocabularySize,
      hidden_size: definition.embeddingLength,
      num_hidden_layers: definition.blockCount,
      num_attention_heads: definition.headCount,
      num_key_value_heads: definition.headCountKv,
      eos_token_id: 4,
      tandem: { demo: true },
    });
    const tokenizerConfig = JSON.parse(readFileSync(join(folder, 'tokenizer_config.json'), 'utf8'));
    expect(tokenizerConfig.chat_template).toContain('<|im_start|>');
    expect(JSON.parse(readFileSync(join(folder, 'generation_config.json'), 'utf8'))).toMatchObject({
      eos_token_id: 4,
    });
    expect(JSON.parse(readFileSync(join(folder, 'tokenizer.json'), 'utf8')).model.type).toBe('BPE');
  });

  it('declares the KV-cache interface with symbolic batch and lengths, fixed heads and head size', () => {
    const definition = demoModelDefinition('demo-slm');
    const headDimension = definition.embeddingLength / definition.headCount;
    const inputs = new Map(model.graph.inputs.map((input) => [input.name, input.shape]));
    expect(inputs.get('input_ids')).toEqual(['batch_size', 'sequence_length']);
    expect(inputs.get('attention_mask')).toEqual(['batch_size', 'total_sequence_length']);
    expect(inputs.get('position_ids')).toEqual(['batch_size', 'sequence_length']);
    const outputs = new Map(model.graph.outputs.map((output) => [output.name, output.shape]));
    expect(outputs.get('logits')).toEqual([
      'batch_size',
      'sequence_length',
      definition.vocabularySize,
    ]);
    for (let layer = 0; layer < definition.blockCount; layer++) {
      for (const kind of ['key', 'value']) {
        expect(inputs.get(`past_key_values.${layer}.${kind}`)).toEqual([
          'batch_size',
          definition.headCount,
          'past_sequence_length',
          headDimension,
        ]);
        expect(outputs.get(`present.${layer}.${kind}`)).toEqual([
          'batch_size',
          definition.headCount,
          'total_sequence_length',
          headDimension,
        ]);
      }
    }
    expect(model.graph.inputs).toHaveLength(3 + 2 * definition.blockCount);
    expect(model.opsetImports).toEqual([{ domain: '', version: 17 }]);
  });

  it('stores the GGUF weights: embeddings as they are, matrices transposed for MatMul', () => {
    const definition = demoModelDefinition('demo-slm');
    const initializers = new Map(model.graph.initializers.map((tensor) => [tensor.name, tensor]));
    const embedding = initializers.get('embed_tokens.weight') as OnnxTensor;
    expect(embedding.dims).toEqual([definition.vocabularySize, definition.embeddingLength]);
    expect(floats(embedding)).toEqual(allValues('demo-slm', 'token_embd.weight'));

    // ggml [in, out] (rows of `in` values) becomes [in, out] with out innermost.
    const query = initializers.get('layers.1.self_attn.q_proj.weight') as OnnxTensor;
    const hidden = definition.embeddingLength;
    expect(query.dims).toEqual([hidden, hidden]);
    const source = allValues('demo-slm', 'blk.1.attn_q.weight');
    const stored = floats(query);
    for (const [row, column] of [
      [0, 0],
      [3, 7],
      [hidden - 1, 5],
      [10, hidden - 1],
    ] as const) {
      expect(stored[column * hidden + row]).toBe(source[row * hidden + column]);
    }
    const down = initializers.get('layers.0.mlp.down_proj.weight') as OnnxTensor;
    expect(down.dims).toEqual([definition.feedForwardLength, hidden]);
    const head = initializers.get('lm_head.weight') as OnnxTensor;
    expect(head.dims).toEqual([hidden, definition.vocabularySize]);
  });

  it('computes llama.cpp rotary frequencies by repeated float32 multiplication', () => {
    const frequencies = ropeInverseFrequencies(10000, 24);
    expect(frequencies[0]).toBe(1);
    const scale = Math.fround(10000 ** (-2 / 24));
    expect(frequencies[1]).toBe(scale);
    expect(frequencies[2]).toBe(Math.fround(scale * scale));
    expect(frequencies[11]).toBeCloseTo(10000 ** (-22 / 24), 6);
  });

  it('runs in onnxruntime: one call with the prompt equals the same prompt fed token by token', async () => {
    const definition = demoModelDefinition('demo-slm');
    const session = await onnxruntime.InferenceSession.create(join(folder, 'onnx', 'model.onnx'), {
      intraOpNumThreads: 1,
    });
    const headDimension = definition.embeddingLength / definition.headCount;
    const prompt = [3, 300, 400, 500, 600, 4];
    const initialCache = emptyKvCache(definition);
    const whole = await session.run(decoderFeeds(prompt, 0, initialCache));
    const vocabulary = definition.vocabularySize;
    const wholeLogits = (whole.logits as onnxruntime.Tensor).data as Float32Array;
    expect((whole['present.1.key'] as onnxruntime.Tensor).dims).toEqual([
      1,
      definition.headCount,
      prompt.length,
      headDimension,
    ]);

    let cache = initialCache;
    for (const [index, id] of prompt.entries()) {
      const step = await session.run(decoderFeeds([id], index, cache));
      const logits = (step.logits as onnxruntime.Tensor).data as Float32Array;
      const expected = wholeLogits.subarray(index * vocabulary, (index + 1) * vocabulary);
      let largest = 0;
      for (let token = 0; token < vocabulary; token++) {
        largest = Math.max(
          largest,
          Math.abs((logits[token] as number) - (expected[token] as number)),
        );
      }
      // Causal masking: position i sees tokens 0..i whether they come at once or one by one.
      expect(largest).toBeLessThan(1e-3);
      cache = presentAsPast(step, definition);
    }
    await session.release();
  });
});

describe('demo-llm in ONNX', () => {
  it('stores its F16 matrices as the float16 values the GGUF holds, widened to float32', () => {
    const model = buildDemoOnnxModel('demo-llm', 'test');
    const down = model.graph.initializers.find(
      (tensor) => tensor.name === 'layers.9.mlp.down_proj.weight',
    ) as OnnxTensor;
    const source = allValues('demo-llm', 'blk.9.ffn_down.weight');
    const stored = floats(down);
    // ggml rows are outputs of `inputSize` values; ONNX stores [inputSize, outputSize].
    const [inputSize, outputSize] = down.dims as [number, number];
    for (const index of [0, 1, 12345, source.length - 1]) {
      const output = Math.floor(index / inputSize);
      const input = index % inputSize;
      const expected = float16BitsToNumber(float32ToFloat16Bits(source[index] as number));
      expect(stored[input * outputSize + output]).toBe(expected);
    }
  });
});

describe('ensureDemoOnnxModel', () => {
  it('writes the folder once, then reuses it; a damaged model.onnx is written again', async () => {
    const modelsDirectory = join(directory, 'cache');
    const first = await ensureDemoOnnxModel('demo-slm', { modelsDirectory });
    expect(first.created).toBe(true);
    expect(first.path).toBe(join(modelsDirectory, 'demo', 'demo-slm-onnx'));
    const second = await ensureDemoOnnxModel('demo-slm', { modelsDirectory });
    expect(second.created).toBe(false);

    const file = join(first.path, 'onnx', 'model.onnx');
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
    writeFileSync(file, bytes);
    const repaired = await ensureDemoOnnxModel('demo-slm', { modelsDirectory });
    expect(repaired.created).toBe(true);

    writeFileSync(join(first.path, 'tokenizer_config.json'), '{}');
    expect((await ensureDemoOnnxModel('demo-slm', { modelsDirectory })).created).toBe(true);
  });

  it('shares one write between concurrent callers', async () => {
    const modelsDirectory = join(directory, 'concurrent');
    let writes = 0;
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        ensureDemoOnnxModel('demo-slm', {
          modelsDirectory,
          onProgress: (written, total) => {
            if (written === total) writes += 1;
          },
        }),
      ),
    );
    expect(new Set(results.map((result) => result.path)).size).toBe(1);
    expect(writes).toBe(1);
  });
});

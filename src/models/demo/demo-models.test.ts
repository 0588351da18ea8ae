import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGgufForLlama } from '../gguf/validate.js';
import { writeGgufFile } from '../gguf/writer.js';
import {
  countDemoParameters,
  DEMO_MODELS,
  demoModelDefinition,
  demoTensorSpecs,
} from './definitions.js';
import { demoGgufInput, writeDemoGguf } from './demo-gguf.js';
import { demoModelPath, ensureDemoModel, sha256OfFile } from './demo-models.js';
import {
  buildDemoVocabulary,
  DEMO_FIRST_NORMAL_TOKEN_ID,
  SPACE_MARKER,
  TOKEN_TYPE,
} from './vocabulary.js';
import { demoTensorValues } from './weights.js';

const directory = mkdtempSync(join(tmpdir(), 'tandem-demo-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function concatenate(chunks: Iterable<Float32Array>): Float32Array {
  const all = [...chunks];
  const result = new Float32Array(all.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of all) {
    result.set(chunk, offset);
    offset += chunk.length;
  }
  return result;
}

describe('demo definitions', () => {
  it('count their parameters from their tensor shapes', () => {
    for (const definition of DEMO_MODELS) {
      expect(countDemoParameters(definition)).toBe(definition.parameterCount);
    }
    expect(demoModelDefinition('demo-slm').parameterCount).toBeCloseTo(1e6, -5);
    expect(demoModelDefinition('demo-llm').parameterCount).toBeGreaterThan(75e6);
    expect(demoModelDefinition('demo-llm').parameterCount).toBeLessThan(78e6);
  });

  it('use llama.cpp shapes', () => {
    const shapes = new Map(
      demoTensorSpecs(demoModelDefinition('demo-llm')).map((spec) => [spec.name, spec.shape]),
    );
    expect(shapes.get('token_embd.weight')).toEqual([768, 4096]);
    expect(shapes.get('output.weight')).toEqual([768, 4096]);
    expect(shapes.get('blk.9.attn_q.weight')).toEqual([768, 768]);
    expect(shapes.get('blk.0.ffn_up.weight')).toEqual([768, 2048]);
    expect(shapes.get('blk.0.ffn_down.weight')).toEqual([2048, 768]);
    expect(shapes.size).toBe(3 + 10 * 9);
  });
});

describe('demo vocabulary', () => {
  const vocabulary = buildDemoVocabulary(4096);

  it('has the special, byte and normal tokens in place, all distinct', () => {
    expect(vocabulary.tokens).toHaveLength(4096);
    expect(new Set(vocabulary.tokens).size).toBe(4096);
    expect(vocabulary.tokens.slice(0, 5)).toEqual([
      '<unk>',
      '<s>',
      '</s>',
      '<|im_start|>',
      '<|im_end|>',
    ]);
    expect(vocabulary.tokenTypes.slice(0, 5)).toEqual([2, 3, 3, 3, 3]);
    expect(vocabulary.tokens[5]).toBe('<0x00>');
    expect(vocabulary.tokens[5 + 0xab]).toBe('<0xAB>');
    expect(vocabulary.tokens[260]).toBe('<0xFF>');
    expect(vocabulary.tokenTypes.slice(5, 261).every((type) => type === TOKEN_TYPE.byte)).toBe(
      true,
    );
    expect(vocabulary.tokenTypes.slice(261).every((type) => type === TOKEN_TYPE.normal)).toBe(true);
    expect(vocabulary.tokens).toContain(`${SPACE_MARKER}the`);
    expect(vocabulary.tokens).toContain('a');
  });

  it('scores earlier pieces higher and contains every prefix of its words', () => {
    const normalScores = vocabulary.scores.slice(DEMO_FIRST_NORMAL_TOKEN_ID);
    for (let index = 1; index < normalScores.length; index++) {
      expect(normalScores[index]).toBeLessThan(normalScores[index - 1] as number);
    }
    const known = new Set(vocabulary.tokens);
    for (const prefix of ['▁w', '▁wo', '▁wor', '▁worl', '▁world'])
      expect(known.has(prefix)).toBe(true);
  });
});

describe('demo weights', () => {
  it('are reproducible per tensor, whatever the chunk size', () => {
    const first = concatenate(demoTensorValues('demo-slm', 'blk.1.attn_k.weight'));
    const again = concatenate(
      demoTensorValues('demo-slm', 'blk.1.attn_k.weight', { chunkElements: 7 }),
    );
    expect(again).toEqual(first);
    expect(first).toHaveLength(96 * 96);
    const other = concatenate(demoTensorValues('demo-slm', 'blk.1.attn_q.weight'));
    expect(other).not.toEqual(first);
    const limit = demoModelDefinition('demo-slm').weightLimit;
    expect(first.every((value) => Math.abs(value) < limit && value !== 0)).toBe(true);
    expect(first.slice(0, 3)).toMatchInlineSnapshot(`
      Float32Array [
        -0.03008965402841568,
        -0.0006229935679584742,
        0.018282243981957436,
      ]
    `);
  });

  it('have all-one norms and zero output rows for control and byte tokens', () => {
    expect(
      concatenate(demoTensorValues('demo-slm', 'output_norm.weight')).every((value) => value === 1),
    ).toBe(true);
    const output = concatenate(demoTensorValues('demo-slm', 'output.weight'));
    const boundary = DEMO_FIRST_NORMAL_TOKEN_ID * 96;
    expect(output.slice(0, boundary).every((value) => value === 0)).toBe(true);
    expect(output.slice(boundary).every((value) => value !== 0)).toBe(true);
  });

  it('reject unknown tensor names', () => {
    expect(() => [...demoTensorValues('demo-slm', 'blk.7.attn_q.weight')]).toThrow(/no tensor/);
  });
});

describe('demo GGUF files', () => {
  it('demo-slm is byte-identical on every write and matches its SHA-256 constant', async () => {
    const definition = demoModelDefinition('demo-slm');
    const first = await writeDemoGguf('demo-slm', join(directory, 'first.gguf'));
    const second = await writeDemoGguf('demo-slm', join(directory, 'second.gguf'));
    expect(first.sha256).toBe(definition.sha256);
    expect(second.sha256).toBe(definition.sha256);
    expect(readFileSync(first.path).equals(readFileSync(second.path))).toBe(true);
    expect(first.fileSizeBytes).toBe(definition.fileSizeBytes);
    expect(await validateGgufForLlama(first.path)).toMatchObject({
      architecture: 'llama',
      name: 'demo-slm',
      parameterCount: definition.parameterCount,
      fileSizeBytes: definition.fileSizeBytes,
      contextLength: 2048,
      vocabularySize: 4096,
      tensorCount: 3 + 2 * 9,
      fileType: 0,
    });
  });

  it('two concurrent writers to one path leave one intact file', async () => {
    const path = join(directory, 'concurrent.gguf');
    await Promise.all([
      writeGgufFile(path, demoGgufInput('demo-slm')),
      writeGgufFile(path, demoGgufInput('demo-slm')),
    ]);
    expect(await sha256OfFile(path)).toBe(demoModelDefinition('demo-slm').sha256);
  });

  describe('ensureDemoModel', () => {
    const modelsDirectory = join(directory, 'models');
    let llmProgress: [number, number][] = [];
    let llmCreated: boolean | undefined;

    beforeAll(async () => {
      const result = await ensureDemoModel('demo-llm', {
        modelsDirectory,
        onProgress: (written, total) => llmProgress.push([written, total]),
      });
      llmCreated = result.created;
    });

    it('writes demo-llm once, matching its SHA-256 constant, and reuses it', async () => {
      const definition = demoModelDefinition('demo-llm');
      const path = demoModelPath(modelsDirectory, 'demo-llm');
      expect(llmCreated).toBe(true);
      expect(llmProgress.at(-1)).toEqual([definition.fileSizeBytes, definition.fileSizeBytes]);
      expect(statSync(path).size).toBe(definition.fileSizeBytes);
      expect(await sha256OfFile(path)).toBe(definition.sha256);
      llmProgress = [];
      expect(await ensureDemoModel('demo-llm', { modelsDirectory })).toEqual({
        path,
        created: false,
      });
      expect(llmProgress).toEqual([]);
      expect(await validateGgufForLlama(path)).toMatchObject({
        name: 'demo-llm',
        parameterCount: definition.parameterCount,
        fileType: 1,
        vocabularySize: 4096,
      });
    });

    it('rewrites a file whose size or content is wrong', async () => {
      const path = demoModelPath(modelsDirectory, 'demo-slm');
      const created = await ensureDemoModel('demo-slm', { modelsDirectory });
      expect(created).toEqual({ path, created: true });
      writeFileSync(path, 'not a model');
      expect((await ensureDemoModel('demo-slm', { modelsDirectory })).created).toBe(true);
      const bytes = readFileSync(path);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
      writeFileSync(path, bytes);
      expect((await ensureDemoModel('demo-slm', { modelsDirectory })).created).toBe(true);
      expect(await sha256OfFile(path)).toBe(demoModelDefinition('demo-slm').sha256);
    });

    it('shares one write between concurrent callers', async () => {
      const otherDirectory = join(directory, 'other-models');
      const results = await Promise.all([
        ensureDemoModel('demo-slm', { modelsDirectory: otherDirectory }),
        ensureDemoModel('demo-slm', { modelsDirectory: otherDirectory }),
      ]);
      expect(results.map((result) => result.created)).toEqual([true, true]);
      expect(await sha256OfFile(results[0]?.path as string)).toBe(
        demoModelDefinition('demo-slm').sha256,
      );
    });
  });
});

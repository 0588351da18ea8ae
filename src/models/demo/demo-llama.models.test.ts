/**
 * Integration: the demo GGUF files load in node-llama-cpp (CPU), the ChatML markup is
 * special tokens, byte fallback round-trips any text, and generation gives printable,
 * varied noise; demo-llm decodes much slower than demo-slm.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoModelName } from './definitions.js';
import { ensureDemoModel } from './demo-models.js';
import { DEMO_FIRST_NORMAL_TOKEN_ID, DEMO_SPECIAL_TOKENS } from './vocabulary.js';

const directory = mkdtempSync(join(tmpdir(), 'tandem-demo-llama-'));
let llama: Llama;
const decodeTokensPerSecond = new Map<DemoModelName, number>();

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
});
afterAll(async () => {
  await llama?.dispose();
  rmSync(directory, { recursive: true, force: true });
});

async function generateGreedy(model: LlamaModel, threads: number, tokenCount: number) {
  const context = await model.createContext({ contextSize: 2048, threads });
  try {
    const prompt = model.tokenize(
      '<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n',
      true,
    );
    const tokens: Token[] = [];
    let firstTokenAtMs = 0;
    for await (const token of context.getSequence().evaluate(prompt, { temperature: 0 })) {
      if (tokens.length === 0) firstTokenAtMs = performance.now();
      tokens.push(token);
      if (tokens.length >= tokenCount) break;
    }
    const seconds = (performance.now() - firstTokenAtMs) / 1000;
    return { tokens, tokensPerSecond: (tokens.length - 1) / seconds };
  } finally {
    await context.dispose();
  }
}

describe.each([
  ['demo-slm', 1, 24],
  ['demo-llm', 2, 12],
] as const)('%s in node-llama-cpp', { timeout: 180_000 }, (name, threads, tokenCount) => {
  let model: LlamaModel;
  beforeAll(async () => {
    const { path } = await ensureDemoModel(name, { modelsDirectory: directory, verify: 'size' });
    model = await llama.loadModel({ modelPath: path });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it('tokenizes ChatML markup to single special tokens', () => {
    const tokens = model.tokenize('<|im_start|>user\nhello<|im_end|>\n', true);
    expect(tokens[0]).toBe(DEMO_SPECIAL_TOKENS.imStart.id);
    expect(tokens).toContain(DEMO_SPECIAL_TOKENS.imEnd.id);
    expect(model.detokenize(tokens, true)).toBe('<|im_start|>user\nhello<|im_end|>\n');
    expect(model.tokens.eos).toBe(DEMO_SPECIAL_TOKENS.imEnd.id);
  });

  it('round-trips ASCII and Unicode text through byte fallback', () => {
    for (const text of [
      'hello world, this is a test!',
      'Grüße, 世界 🙂\n\ttab',
      '  two  spaces ',
    ]) {
      expect(model.detokenize(model.tokenize(text))).toBe(text);
    }
  });

  it('generates varied, printable text', async () => {
    const { tokens, tokensPerSecond } = await generateGreedy(model, threads, tokenCount);
    decodeTokensPerSecond.set(name, tokensPerSecond);
    console.log(`${name}: ${tokensPerSecond.toFixed(1)} tokens/s with ${threads} thread(s)`);
    expect(tokens.every((token) => Number(token) >= DEMO_FIRST_NORMAL_TOKEN_ID)).toBe(true);
    expect(new Set(tokens).size).toBeGreaterThan(tokens.length / 2);
    expect(model.detokenize(tokens)).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('speed', () => {
  it('demo-llm decodes much slower than demo-slm', () => {
    const small = decodeTokensPerSecond.get('demo-slm');
    const large = decodeTokensPerSecond.get('demo-llm');
    expect(small).toBeDefined();
    expect(large).toBeDefined();
    expect((small as number) / (large as number)).toBeGreaterThan(4);
  });
});

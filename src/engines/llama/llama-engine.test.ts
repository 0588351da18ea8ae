import { getLlamaGpuTypes } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../errors.js';
import { measureGeneration } from '../../measure/generation-timing.js';
import { demoModelPathForTests } from '../../test-support/demo-models.js';
import type { StreamPart } from '../spec.js';
import { LlamaEngine } from './llama-engine.js';
import { loadedModels } from './llama-runtime.js';

const prompt = [{ role: 'user' as const, content: 'List 5 benefits of local AI inference.' }];

async function collect(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

describe('llama engine resources', () => {
  it('loads a model once per process and frees it with its last engine', async () => {
    const modelPath = await demoModelPathForTests('demo-slm');
    const options = {
      reference: 'demo-slm',
      model: 'demo-slm',
      modelPath,
      threads: 1,
      gpu: 'cpu' as const,
    };
    const first = new LlamaEngine(options);
    const second = new LlamaEngine(options);
    await Promise.all([first.load(), second.load()]);
    expect(loadedModels().filter((model) => model.modelPath === modelPath)).toEqual([
      { modelPath, gpu: 'cpu', users: 2 },
    ]);
    await first.dispose();
    expect(loadedModels().find((model) => model.modelPath === modelPath)?.users).toBe(1);
    const answer = await measureGeneration(
      second.stream({ messages: prompt, maxTokens: 4, temperature: 0 }),
    );
    expect(answer.outputTokens).toBe(4);
    await second.dispose();
    expect(loadedModels().find((model) => model.modelPath === modelPath)).toBeUndefined();
  });

  it('refuses a GPU that is not there instead of running on the CPU', async (context) => {
    const supported = await getLlamaGpuTypes('supported');
    if (supported.includes('cuda')) context.skip('this machine has CUDA');
    const modelPath = await demoModelPathForTests('demo-slm');
    const engine = new LlamaEngine({
      reference: 'demo-slm',
      model: 'demo-slm',
      modelPath,
      gpu: 'cuda',
    });
    await expect(engine.load()).rejects.toThrow(
      /cannot use --gpu cuda on this machine \(none of node-llama-cpp's prebuilt cuda binaries runs here.*--gpu auto or --gpu cpu/,
    );
    await engine.dispose();
  });
});

describe.each([
  ['demo-slm', 1],
  ['demo-llm', 2],
] as const)('llama engine on %s', (name, threads) => {
  let engine: LlamaEngine;

  beforeAll(async () => {
    const modelPath = await demoModelPathForTests(name);
    engine = new LlamaEngine({
      reference: name,
      model: name,
      modelPath,
      threads,
      gpu: 'cpu',
      isDemo: true,
    });
    await engine.load();
  });

  afterAll(async () => {
    await engine.dispose();
  });

  it('loads with the threads asked for and says what it loaded', () => {
    expect(engine.info).toMatchObject({
      engine: 'llama',
      model: name,
      threads,
      gpu: 'cpu',
      isDemo: true,
    });
    expect(engine.info.parameterCount).toBeGreaterThan(name === 'demo-slm' ? 500_000 : 50_000_000);
    expect(engine.info.modelFileSizeBytes).toBeGreaterThan(0);
    expect(engine.info.contextSize).toBe(2048);
  });

  it('streams exactly maxTokens printable tokens with engine usage, greedy and repeatable', async () => {
    const first = await measureGeneration(
      engine.stream({ messages: prompt, maxTokens: 24, temperature: 0 }),
    );
    const second = await measureGeneration(
      engine.stream({ messages: prompt, maxTokens: 24, temperature: 0 }),
    );
    expect(first.incomplete).toBe(false);
    expect(first.finishReason).toBe('length');
    expect(first.outputTokens).toBe(24);
    expect(first.outputTokensSource).toBe('engine');
    expect(first.tokenEventCount).toBeGreaterThan(1);
    // The ChatML template wraps the prompt: more tokens than the words alone.
    expect(first.promptTokens).toBeGreaterThan(10);
    expect(first.text).not.toMatch(/<\|im_(start|end)\|>|\uFFFD/);
    expect(first.text.trim().length).toBeGreaterThan(0);
    expect(second.text).toBe(first.text);
    expect(first.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  it('the chat template applies the model’s own ChatML markup', async () => {
    const withSystem = await measureGeneration(
      engine.stream({
        messages: [{ role: 'system', content: 'Be brief.' }, ...prompt],
        maxTokens: 1,
        temperature: 0,
      }),
    );
    const without = await measureGeneration(
      engine.stream({ messages: prompt, maxTokens: 1, temperature: 0 }),
    );
    expect((withSystem.promptTokens ?? 0) - (without.promptTokens ?? 0)).toBeGreaterThan(3);
    expect(await engine.countTokens('<|im_start|>')).toBeGreaterThan(1); // not special without parsing
  });

  it('stops at a stop sequence without emitting it', async () => {
    const free = await measureGeneration(
      engine.stream({ messages: prompt, maxTokens: 24, temperature: 0 }),
    );
    const stop = free.text.slice(
      Math.floor(free.text.length / 2),
      Math.floor(free.text.length / 2) + 2,
    );
    const stopped = await measureGeneration(
      engine.stream({ messages: prompt, maxTokens: 24, temperature: 0, stop: [stop] }),
    );
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
  });

  it('stops promptly on abort and reports what it generated', async () => {
    const controller = new AbortController();
    let tokens = 0;
    const result = await measureGeneration(
      engine.stream({
        messages: prompt,
        maxTokens: 1000,
        temperature: 0,
        signal: controller.signal,
      }),
      {
        onPart: (part) => {
          if (part.type === 'text-delta') tokens += part.tokenCount ?? 0;
          if (tokens >= 5) controller.abort();
        },
      },
    );
    expect(result.finishReason).toBe('abort');
    expect(result.incomplete).toBe(true);
    expect(result.outputTokens).toBeGreaterThanOrEqual(5);
    expect(result.outputTokens).toBeLessThanOrEqual(6);
  });

  it('serves concurrent requests one after another on its sequence', async () => {
    const [a, b] = await Promise.all([
      measureGeneration(engine.stream({ messages: prompt, maxTokens: 8, temperature: 0 })),
      measureGeneration(engine.stream({ messages: prompt, maxTokens: 8, temperature: 0 })),
    ]);
    expect(a.text).toBe(b.text);
    expect(a.outputTokens).toBe(8);
    expect(b.outputTokens).toBe(8);
  });

  it('samples with a seed reproducibly', async () => {
    const run = () =>
      measureGeneration(
        engine.stream({ messages: prompt, maxTokens: 16, temperature: 1, seed: 42 }),
      );
    expect((await run()).text).toBe((await run()).text);
  });

  it('rejects a request it cannot serve', async () => {
    await expect(collect(engine.stream({ messages: [], maxTokens: 4 }))).rejects.toThrow(
      InvalidArgumentError,
    );
    const tooLong = 'word '.repeat(5000);
    await expect(
      collect(engine.stream({ messages: [{ role: 'user', content: tooLong }], maxTokens: 4 })),
    ).rejects.toThrow(/context holds 2048/);
  });
});

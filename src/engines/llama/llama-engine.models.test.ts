import { getLlamaGpuTypes } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoModelPathForTests } from '../../../test/support/demo-models.js';
import { AbortedError, InvalidArgumentError } from '../../errors.js';
import { measureGeneration } from '../../measure/generation-timing.js';
import { metadataNumber, metadataString, readGgufHeader } from '../../models/gguf/reader.js';
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

describe('llama engine: JSON answers and embeddings (demo-slm)', () => {
  let engine: LlamaEngine;
  let modelPath: string;

  beforeAll(async () => {
    modelPath = await demoModelPathForTests('demo-slm');
    engine = new LlamaEngine({
      reference: 'demo-slm',
      model: 'demo-slm',
      modelPath,
      threads: 1,
      gpu: 'cpu',
      isDemo: true,
    });
    await engine.load();
  });

  afterAll(async () => {
    await engine.dispose();
  });

  const schema = {
    type: 'object',
    properties: { a: { type: 'integer' } },
    required: ['a'],
    additionalProperties: false,
  };

  it('json_object: the answer is JSON (or, when cut off, starts like it)', async () => {
    const finishes: string[] = [];
    for (const sampling of [{ temperature: 0 }, { temperature: 1, seed: 1 }]) {
      const result = await measureGeneration(
        engine.stream({
          messages: prompt,
          maxTokens: 64,
          ...sampling,
          responseFormat: { type: 'json_object' },
        }),
      );
      expect(result.text).toMatch(/^\s*\{/);
      expect(['stop', 'length']).toContain(result.finishReason);
      if (result.finishReason === 'stop') {
        const parsed: unknown = JSON.parse(result.text);
        expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
      } else {
        expect(result.outputTokens).toBe(64);
      }
      finishes.push(result.finishReason);
    }
    // The random-weight model ends the object at once with this seed: the end token, which
    // the grammar allows only once the JSON is complete, is seen as 'stop'.
    expect(finishes).toContain('stop');
  });

  it('json_schema: the answer matches the schema and ends at the grammar’s end', async () => {
    const run = () =>
      measureGeneration(
        engine.stream({
          messages: prompt,
          maxTokens: 200,
          temperature: 0,
          responseFormat: { type: 'json_schema', name: 'with_a', schema },
        }),
      );
    const result = await run();
    expect(result.text).toMatch(/^\{\s*"a"\s*:/);
    // The grammar allows at most ~60 characters, so 200 tokens always reach its end.
    expect(result.finishReason).toBe('stop');
    const parsed = JSON.parse(result.text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['a']);
    expect(Number.isInteger(parsed.a)).toBe(true);
    // node-llama-cpp's schema grammars end with "\n\n\n\n" (a stop trigger): not shown.
    expect(result.text).toBe(result.text.trim());
    // The grammar is cached; a second request gives the same greedy answer.
    expect((await run()).text).toBe(result.text);
  });

  it('json_schema with ignoreEos still ends when the grammar does', async () => {
    const result = await measureGeneration(
      engine.stream({
        messages: prompt,
        maxTokens: 200,
        temperature: 0,
        ignoreEos: true,
        responseFormat: { type: 'json_schema', name: 'with_a', schema },
      }),
    );
    expect(result.finishReason).toBe('stop');
    expect(JSON.parse(result.text)).toEqual({ a: expect.any(Number) });
  });

  it('refuses a schema the grammar cannot enforce, naming what', async () => {
    const request = (unsupported: Record<string, unknown>) =>
      collect(
        engine.stream({
          messages: prompt,
          maxTokens: 4,
          responseFormat: { type: 'json_schema', name: 'bad', schema: unsupported },
        }),
      );
    await expect(
      request({ type: 'object', properties: { email: { type: 'string', pattern: '@' } } }),
    ).rejects.toThrow(
      new InvalidArgumentError(
        "The JSON schema 'bad' uses 'pattern' at #/properties/email, which the llama engine cannot enforce: simplify the schema.",
      ),
    );
    await expect(request({ properties: {} })).rejects.toThrow(/a schema without a type/);
    await expect(request({ $ref: '#/$defs/missing' })).rejects.toThrow(
      /'\$ref' to the missing definition 'missing' at the root/,
    );
  });

  it('embeds texts: one vector of the model’s embedding length per input', async () => {
    const header = await readGgufHeader(modelPath);
    const architecture = metadataString(header.metadata.get('general.architecture'));
    const embeddingLength = metadataNumber(header.metadata.get(`${architecture}.embedding_length`));
    expect(embeddingLength).toBeGreaterThan(0);
    const result = await engine.embed({ inputs: ['local inference', 'a second text'] });
    expect(result.embeddings).toHaveLength(2);
    for (const vector of result.embeddings) {
      expect(vector).toHaveLength(embeddingLength as number);
      expect(vector.every((value) => typeof value === 'number' && Number.isFinite(value))).toBe(
        true,
      );
    }
    expect(result.embeddings[0]).not.toEqual(result.embeddings[1]);
    expect(result.promptTokens).toBe(
      (await engine.countTokens('local inference')) + (await engine.countTokens('a second text')),
    );
    expect(result.promptTokens).toBeGreaterThan(0);
    const again = await engine.embed({ inputs: ['local inference', 'local inference'] });
    expect(again.embeddings[0]).toEqual(result.embeddings[0]);
    expect(again.embeddings[1]).toEqual(result.embeddings[0]);
  });

  it('refuses inputs it cannot embed and stops between inputs on abort', async () => {
    await expect(engine.embed({ inputs: ['word '.repeat(5000)] })).rejects.toThrow(
      /Input 1 has \d+ tokens but demo-slm's embedding context holds 2048/,
    );
    await expect(engine.embed({ inputs: ['fine', ''] })).rejects.toThrow(InvalidArgumentError);
    const controller = new AbortController();
    controller.abort();
    await expect(engine.embed({ inputs: ['a'], signal: controller.signal })).rejects.toThrow(
      AbortedError,
    );
    expect(await engine.embed({ inputs: [] })).toEqual({ embeddings: [], promptTokens: 0 });
  });
});

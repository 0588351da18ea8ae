/**
 * The registry as a map of providers: prefixes name providers, the default provider reads
 * a reference with no prefix, options are checked against the provider's list, and a
 * composite provider creates the models it is made of through the same registry. Fake
 * providers only: nothing here loads a model.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { looksLikePath, type ModelReference } from './reference.js';
import {
  type CreateEngineOptions,
  createEngineRegistry,
  ENGINE_PROVIDERS,
  type Provider,
  parseModelReference,
} from './registry.js';
import type { Engine, StreamPart } from './spec.js';

/** An engine that answers with its own name and the threads it was given. */
function echoEngine(reference: ModelReference, options: CreateEngineOptions): Engine {
  return {
    info: { engine: 'echo', reference: reference.text, model: reference.name },
    async load() {},
    async *stream() {
      yield { type: 'request-start', attempt: 1 };
      yield { type: 'text-delta', text: `${reference.name}/${options.threads ?? 'default'}` };
      yield {
        type: 'finish',
        finishReason: 'stop',
        usage: { inputTokens: undefined, outputTokens: 1, reasoningTokens: undefined },
        usageSource: 'engine',
      };
    },
    async dispose() {},
  };
}

const echoProvider: Provider = {
  id: 'echo',
  kind: 'embedded',
  prefixes: ['echo'],
  referenceOptions: ['threads'],
  parse: ({ text, rest, body, prefix, options }) => {
    const name = prefix === 'echo' ? rest : body;
    return { kind: 'local', engine: 'echo', name, isPath: looksLikePath(name), options, text };
  },
  create: async (reference, options) => echoEngine(reference, options),
};

/** A composite: `relay:A>B` answers with A's text, then B's. */
const relayProvider: Provider = {
  id: 'relay',
  kind: 'composite',
  prefixes: ['relay'],
  referenceOptions: ['mode'],
  parse: ({ text, rest, options }) => {
    if (!rest.includes('>')) throw new InvalidArgumentError(`write relay:A>B, not '${text}'`);
    return { kind: 'composite', engine: 'relay', name: rest, options, text };
  },
  create: async (reference, options, context) => {
    const [first, second] = reference.name.split('>').map((part) => context.parseReference(part));
    if (first === undefined || second === undefined) throw new Error('two models');
    const inner = [
      await context.createEngine(first, options),
      await context.createEngine(second, options),
    ];
    return {
      info: { engine: 'relay', reference: reference.text, model: reference.name },
      async load() {},
      async *stream(request) {
        for (const engine of inner) yield* engine.stream(request);
      },
      async dispose() {
        for (const engine of inner) await engine.dispose();
      },
    };
  },
};

async function textOf(engine: Engine): Promise<string> {
  const parts: StreamPart[] = [];
  for await (const part of engine.stream({ messages: [{ role: 'user', content: 'hi' }] })) {
    parts.push(part);
  }
  return parts.map((part) => (part.type === 'text-delta' ? part.text : '')).join(' ');
}

describe('the engine registry', () => {
  it('ships llama (the default), onnx and openai, with no prefix read twice', () => {
    expect(ENGINE_PROVIDERS.map((provider) => provider.id)).toEqual(['llama', 'onnx', 'openai']);
    const prefixes = ENGINE_PROVIDERS.flatMap((provider) => provider.prefixes);
    expect(new Set(prefixes).size).toBe(prefixes.length);
    expect(parseModelReference('demo-slm')).toMatchObject({ engine: 'llama' });
    expect(parseModelReference('vllm:qwen')).toMatchObject({ kind: 'server', engine: 'openai' });
  });

  it('names every prefix it reads when one is unknown', () => {
    expect(() => parseModelReference('tensorrt:x')).toThrow(
      "Unknown engine 'tensorrt' in 'tensorrt:x': use one of llama, twin, onnx, foundry, ollama, llamacpp, lmstudio, vllm, openai, or a URL.",
    );
    const registry = createEngineRegistry([echoProvider, relayProvider]);
    expect(() => registry.parse('onnx:x')).toThrow(
      "Unknown engine 'onnx' in 'onnx:x': use one of echo, relay.",
    );
  });

  it('gives a reference with no prefix to the first provider', () => {
    const registry = createEngineRegistry([echoProvider, relayProvider]);
    expect(registry.parse('plain-name')).toMatchObject({ engine: 'echo', name: 'plain-name' });
    expect(registry.parse('C:\\models\\x')).toMatchObject({ engine: 'echo', isPath: true });
  });

  it('refuses a provider list that reads one prefix twice, or is empty', () => {
    expect(() =>
      createEngineRegistry([echoProvider, { ...relayProvider, prefixes: ['echo'] }]),
    ).toThrow("Two engines read the prefix 'echo:' (echo and relay).");
    expect(() => createEngineRegistry([])).toThrow(InvalidArgumentError);
  });

  it('refuses an option the provider does not list, naming the ones it takes', async () => {
    const registry = createEngineRegistry([echoProvider, relayProvider]);
    await expect(registry.create('echo:a?gpu=cuda')).rejects.toThrow(
      "Unknown option 'gpu' in 'echo:a?gpu=cuda': echo models take ?threads=.",
    );
    await expect(registry.create('relay:a>b?threads=2')).rejects.toThrow(
      "Unknown option 'threads' in 'relay:a>b?threads=2': relay models take ?mode=.",
    );
  });

  it('creates a composite model from models of the same registry, options passed on', async () => {
    const registry = createEngineRegistry([echoProvider, relayProvider]);
    const reference = registry.parse('relay:small>echo:large?mode=refine');
    expect(reference).toEqual({
      kind: 'composite',
      engine: 'relay',
      name: 'small>echo:large',
      options: { mode: 'refine' },
      text: 'relay:small>echo:large?mode=refine',
    });
    expect(registry.providerOf(reference).kind).toBe('composite');
    const engine = await registry.create(reference, { threads: 3 });
    expect(engine.info.engine).toBe('relay');
    expect(await textOf(engine)).toBe(' small/3   large/3 ');
    await engine.dispose();
  });

  it('says which engine is missing for a reference no provider made', () => {
    const registry = createEngineRegistry([echoProvider]);
    expect(() =>
      registry.providerOf({
        kind: 'composite',
        engine: 'relay',
        name: 'a>b',
        options: {},
        text: 'x',
      }),
    ).toThrow("No engine 'relay' for 'x': use one of echo.");
  });
});

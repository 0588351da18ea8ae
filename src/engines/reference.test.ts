import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { integerOption } from './reference.js';
import { parseModelReference } from './registry.js';

describe('parseModelReference', () => {
  it('reads a bare alias as the default llama engine', () => {
    expect(parseModelReference('phi-4-mini')).toMatchObject({
      kind: 'local',
      engine: 'llama',
      name: 'phi-4-mini',
      isPath: false,
    });
  });

  it('reads file paths, with or without the llama prefix', () => {
    expect(parseModelReference('llama:./models/x.gguf')).toMatchObject({
      engine: 'llama',
      name: './models/x.gguf',
      isPath: true,
    });
    expect(parseModelReference('/abs/model.gguf')).toMatchObject({ engine: 'llama', isPath: true });
    expect(parseModelReference('model.GGUF')).toMatchObject({ isPath: true });
    expect(parseModelReference('C:\\models\\x.gguf')).toMatchObject({
      engine: 'llama',
      isPath: true,
    });
  });

  it('reads server presets and keeps colons in the model name', () => {
    expect(parseModelReference('foundry:phi-4-mini')).toMatchObject({
      kind: 'server',
      preset: 'foundry',
      name: 'phi-4-mini',
      baseUrl: undefined,
    });
    expect(parseModelReference('ollama:qwen2.5:7b')).toMatchObject({
      preset: 'ollama',
      name: 'qwen2.5:7b',
    });
    expect(parseModelReference('onnx:phi-4-mini')).toMatchObject({ kind: 'local', engine: 'onnx' });
  });

  it('reads URL references', () => {
    expect(
      parseModelReference('http://127.0.0.1:8080/v1/#Phi-4-mini-instruct-cuda-gpu:5'),
    ).toMatchObject({
      kind: 'server',
      preset: 'openai',
      baseUrl: 'http://127.0.0.1:8080/v1',
      name: 'Phi-4-mini-instruct-cuda-gpu:5',
    });
    expect(parseModelReference('foundry:http://localhost:5273/v1#phi-4-mini')).toMatchObject({
      preset: 'foundry',
      baseUrl: 'http://localhost:5273/v1',
      name: 'phi-4-mini',
    });
  });

  it('reads per-model options', () => {
    const reference = parseModelReference('demo-llm?threads=1&gpu=cpu');
    expect(reference).toMatchObject({ name: 'demo-llm', options: { threads: '1', gpu: 'cpu' } });
    expect(integerOption(reference, 'threads')).toBe(1);
    expect(parseModelReference('ollama:phi4-mini?url=http://box:11434/v1')).toMatchObject({
      baseUrl: 'http://box:11434/v1',
    });
  });

  it("reads twin:ALIAS as the catalog model's shape twin in the llama engine", () => {
    expect(parseModelReference('twin:phi-4-mini?threads=2')).toMatchObject({
      kind: 'local',
      engine: 'llama',
      name: 'phi-4-mini',
      isPath: false,
      twin: true,
      options: { threads: '2' },
    });
    expect(parseModelReference('phi-4-mini')).not.toHaveProperty('twin');
    expect(() => parseModelReference('twin:')).toThrow(
      "'twin:' names no catalog model: write twin:ALIAS, e.g. twin:phi-4-mini.",
    );
    expect(() => parseModelReference('twin:./x.gguf')).toThrow(/write twin:ALIAS/);
  });

  it('rejects what it cannot read, with a line that says how to write it', () => {
    expect(() => parseModelReference('')).toThrow(InvalidArgumentError);
    expect(() => parseModelReference('http://host:1234/v1')).toThrow(/No model id/);
    expect(() => parseModelReference('ftp://x/v1#m')).toThrow(InvalidArgumentError);
    expect(() => parseModelReference('ollama:')).toThrow(/ollama:MODEL/);
    expect(() => parseModelReference('tensorrt:x')).toThrow(/Unknown engine 'tensorrt'/);
    expect(() => integerOption(parseModelReference('demo-slm?threads=two'), 'threads')).toThrow(
      /threads=two/,
    );
    expect(() => parseModelReference('demo-slm?bad key=1')).toThrow(InvalidArgumentError);
  });
});

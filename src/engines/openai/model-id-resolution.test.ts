import { describe, expect, it } from 'vitest';
import { ModelNotFoundError } from '../../errors.js';
import { normalizeModelId, resolveModelId } from './model-id-resolution.js';

const foundryIds = [
  'Phi-4-mini-instruct-generic-cpu:4',
  'Phi-4-mini-instruct-cuda-gpu:5',
  'qwen2.5-0.5b-instruct-generic-cpu:3',
  'gpt-oss-20b-cuda-gpu:1',
  'Phi-3.5-mini-instruct-qnn-npu:1',
  'Phi-3.5-mini-instruct-generic-cpu:1',
];

describe('normalizeModelId', () => {
  it('drops tags, device suffixes and -instruct, and lowercases', () => {
    expect(normalizeModelId('Phi-4-mini-instruct-cuda-gpu:5')).toBe('phi-4-mini');
    expect(normalizeModelId('qwen2.5-0.5b-instruct-generic-cpu:3')).toBe('qwen2.5-0.5b');
    expect(normalizeModelId('mistral-7b-v0.2-openvino-gpu:1')).toBe('mistral-7b-v0.2');
    expect(normalizeModelId('Phi-4-trtrtx-gpu:1')).toBe('phi-4');
    expect(normalizeModelId('phi4-mini:latest')).toBe('phi4-mini');
    expect(normalizeModelId('gpt-oss:20b')).toBe('gpt-oss');
  });
});

describe('resolveModelId', () => {
  it('prefers an exact id, then a case-insensitive one', () => {
    expect(resolveModelId('gpt-oss-20b-cuda-gpu:1', foundryIds)).toEqual({
      id: 'gpt-oss-20b-cuda-gpu:1',
      match: 'exact',
      candidates: ['gpt-oss-20b-cuda-gpu:1'],
    });
    expect(resolveModelId('phi-4-mini-instruct-cuda-gpu:5', foundryIds)).toMatchObject({
      id: 'Phi-4-mini-instruct-cuda-gpu:5',
      match: 'case-insensitive',
    });
  });

  it('resolves a Foundry alias to its GPU variant', () => {
    expect(resolveModelId('phi-4-mini', foundryIds)).toEqual({
      id: 'Phi-4-mini-instruct-cuda-gpu:5',
      match: 'normalized',
      candidates: ['Phi-4-mini-instruct-generic-cpu:4', 'Phi-4-mini-instruct-cuda-gpu:5'],
    });
    expect(resolveModelId('gpt-oss-20b', foundryIds).id).toBe('gpt-oss-20b-cuda-gpu:1');
    expect(resolveModelId('qwen2.5-0.5b', foundryIds).id).toBe(
      'qwen2.5-0.5b-instruct-generic-cpu:3',
    );
    expect(resolveModelId('phi-3.5-mini', foundryIds).id).toBe('Phi-3.5-mini-instruct-qnn-npu:1');
  });

  it('prefers the highest version among equal devices', () => {
    expect(resolveModelId('phi-4', ['Phi-4-cuda-gpu:1', 'Phi-4-cuda-gpu:3']).id).toBe(
      'Phi-4-cuda-gpu:3',
    );
  });

  it('resolves an Ollama name to its :latest tag', () => {
    const ollamaIds = ['phi4-mini:latest', 'gpt-oss:20b', 'llama3.2:1b'];
    expect(resolveModelId('phi4-mini', ollamaIds)).toMatchObject({
      id: 'phi4-mini:latest',
      match: 'normalized',
    });
    expect(resolveModelId('gpt-oss', ollamaIds).id).toBe('gpt-oss:20b');
    expect(resolveModelId('gpt-oss:20b', ollamaIds).match).toBe('exact');
  });

  it('falls back to ids that start with the alias at a word boundary', () => {
    expect(resolveModelId('llama3.2', ['llama3.2-1b-instruct-q4_k_m.gguf'])).toMatchObject({
      id: 'llama3.2-1b-instruct-q4_k_m.gguf',
      match: 'prefix',
    });
    expect(() => resolveModelId('llama3', ['llama3.2-1b'])).toThrow(ModelNotFoundError);
  });

  it('refuses an alias that matches several different models', () => {
    const error = (() => {
      try {
        resolveModelId('phi', ['phi-4-mini:1', 'phi-3.5:1'], 'Ollama at http://x/v1');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as ModelNotFoundError).message).toContain('matches several models on Ollama');
    expect((error as ModelNotFoundError).suggestions).toEqual(['phi-4-mini:1', 'phi-3.5:1']);
  });

  it("lists the server's ids when nothing matches", () => {
    expect(() => resolveModelId('mistral-7b', foundryIds, 'Foundry Local at http://x/v1')).toThrow(
      /Foundry Local at http:\/\/x\/v1 has no model 'mistral-7b' \(it has Phi-4-mini-instruct-generic-cpu:4, .*gpt-oss-20b-cuda-gpu:1/,
    );
    expect(() => resolveModelId('x', [])).toThrow(
      /The server has no model 'x' \(it lists no models\)/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import {
  CATALOG,
  catalogNames,
  findCatalogModel,
  huggingFaceUrl,
  isCatalogSizeVerified,
  suggestModels,
} from './catalog.js';
import { ONNX_DTYPES } from './onnx/onnx-dtypes.js';

describe('CATALOG', () => {
  it('has the models the product needs', () => {
    const aliases = CATALOG.map((model) => model.alias);
    expect(aliases).toEqual(
      expect.arrayContaining([
        'phi-4-mini',
        'gpt-oss-20b',
        'qwen2.5-0.5b',
        'qwen2.5-7b',
        'smollm2-360m',
      ]),
    );
    expect(CATALOG.some((model) => model.parameterCount < 500_000_000)).toBe(true);
  });

  it('has unique names across aliases, Foundry aliases and Ollama tags', () => {
    const owners = new Map<string, string>();
    for (const model of CATALOG) {
      for (const name of [model.alias, model.foundryAlias, model.ollamaTag]) {
        if (name === undefined) continue;
        const owner = owners.get(name.toLowerCase());
        expect(owner === undefined || owner === model.alias).toBe(true);
        owners.set(name.toLowerCase(), model.alias);
      }
    }
  });

  it('has well-formed entries', () => {
    for (const model of CATALOG) {
      expect(model.gguf.file.endsWith('.gguf')).toBe(true);
      expect(model.gguf.file.toLowerCase()).toContain(model.gguf.quantization.toLowerCase());
      expect(model.gguf.repository).toMatch(/^[\w.-]+\/[\w.-]+$/);
      expect(Number.isInteger(model.gguf.sizeBytes) && model.gguf.sizeBytes > 0).toBe(true);
      if (model.gguf.sha256 !== undefined) expect(model.gguf.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(model.sources.length).toBeGreaterThan(0);
      for (const source of model.sources) expect(source).toMatch(/^https:\/\//);
      expect(model.contextLength).toBeGreaterThan(0);
      expect(model.architecture.headCount % model.architecture.headCountKv).toBe(0);
      // A Q4/MXFP4 file holds between 4 and 6 bits per parameter.
      const bitsPerParameter = (model.gguf.sizeBytes * 8) / model.parameterCount;
      expect(bitsPerParameter).toBeGreaterThan(4);
      expect(bitsPerParameter).toBeLessThan(8.5);
    }
  });

  it('names each ONNX repository with its layout, its dtypes and a source that shows it', () => {
    for (const model of CATALOG) {
      const onnx = model.onnx;
      if (onnx === undefined) {
        // A model without an ONNX export says that none could be found.
        expect(model.unverified ?? []).toContain('onnx');
        continue;
      }
      expect(['transformers.js', 'onnxruntime-genai']).toContain(onnx.layout);
      if (onnx.layout === 'transformers.js') {
        expect(onnx.repository).toMatch(/^[\w.-]+\/[\w.-]+$/);
      }
      if (onnx.dtypes !== undefined) {
        expect(onnx.dtypes.length).toBeGreaterThan(0);
        expect(new Set(onnx.dtypes).size).toBe(onnx.dtypes.length);
        for (const dtype of onnx.dtypes) expect(ONNX_DTYPES).toContain(dtype);
      }
      const repositoryUrl = `https://huggingface.co/${onnx.repository}`;
      expect(
        model.sources.some(
          (source) => source === repositoryUrl || source.startsWith(`${repositoryUrl}/`),
        ),
      ).toBe(true);
    }
  });

  it('lists unverified fields as dotted paths', () => {
    for (const model of CATALOG) {
      for (const path of model.unverified ?? []) {
        expect(path).toMatch(/^[a-zA-Z]+(\.[a-zA-Z0-9]+)*$/);
      }
    }
  });

  it('describes gpt-oss-20b as a reasoning mixture of experts', () => {
    const model = findCatalogModel('gpt-oss-20b');
    expect(model?.activeParameterCount).toBe(3_600_000_000);
    expect(model?.architecture.expertCount).toBe(32);
    expect(model?.architecture.expertUsedCount).toBe(4);
    expect(model?.gguf.quantization).toBe('MXFP4');
    expect(model?.reasoning).toBe(true);
  });

  it('marks unverified sizes so pull does not trust them', () => {
    for (const model of CATALOG) {
      expect(isCatalogSizeVerified(model)).toBe(
        !(model.unverified ?? []).includes('gguf.sizeBytes'),
      );
    }
  });
});

describe('findCatalogModel', () => {
  it('matches aliases, Foundry aliases and Ollama tags case-insensitively', () => {
    expect(findCatalogModel('Phi-4-Mini')?.alias).toBe('phi-4-mini');
    expect(findCatalogModel('phi4-mini')?.alias).toBe('phi-4-mini');
    expect(findCatalogModel('gpt-oss:20b')?.alias).toBe('gpt-oss-20b');
    expect(findCatalogModel('qwen2.5:0.5b')?.alias).toBe('qwen2.5-0.5b');
    expect(findCatalogModel(' smollm2:360m ')?.alias).toBe('smollm2-360m');
    expect(findCatalogModel('nope')).toBeUndefined();
    expect(findCatalogModel('')).toBeUndefined();
  });
});

describe('suggestModels', () => {
  const names = catalogNames();

  it('suggests close spellings first', () => {
    expect(suggestModels('phi-4-mni', names)[0]).toBe('phi-4-mini');
    expect(suggestModels('phi4mini', names)).toContain('phi-4-mini');
    expect(suggestModels('gpt-oss-20', names)[0]).toBe('gpt-oss-20b');
  });

  it('suggests candidates that start with the name', () => {
    expect(suggestModels('qwen', names, 10)).toEqual(
      expect.arrayContaining(['qwen2.5-0.5b', 'qwen2.5-7b']),
    );
  });

  it('returns nothing for unrelated names and respects the limit', () => {
    expect(suggestModels('zzzzzzzzzz', names)).toEqual([]);
    expect(suggestModels('qwen', names, 1)).toHaveLength(1);
    expect(suggestModels('', names)).toEqual([]);
  });
});

describe('huggingFaceUrl', () => {
  it('builds the resolve/main URL', () => {
    const model = findCatalogModel('gpt-oss-20b');
    if (model === undefined) throw new Error('missing');
    expect(huggingFaceUrl(model)).toBe(
      'https://huggingface.co/ggml-org/gpt-oss-20b-GGUF/resolve/main/gpt-oss-20b-mxfp4.gguf',
    );
  });

  it('honours HF_ENDPOINT for mirrors', () => {
    const model = findCatalogModel('gpt-oss-20b');
    if (model === undefined) throw new Error('missing');
    expect(huggingFaceUrl(model, { HF_ENDPOINT: 'http://mirror.local:8080/' })).toBe(
      'http://mirror.local:8080/ggml-org/gpt-oss-20b-GGUF/resolve/main/gpt-oss-20b-mxfp4.gguf',
    );
  });
});

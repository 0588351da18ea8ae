/**
 * The onnx engine on the demo ONNX folders: streaming, usage, abort, stop sequences, seeded
 * sampling, and every bad input giving one clear error before anything runs.
 */

import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_HOME, TEST_MODELS_DIRECTORY } from '../../../test/support/demo-models.js';
import {
  DownloadError,
  EngineUnavailableError,
  InvalidArgumentError,
  InvalidModelFileError,
  ModelNotFoundError,
} from '../../errors.js';
import { measureGeneration } from '../../measure/generation-timing.js';
import { ensureDemoOnnxModel } from '../../models/demo/demo-onnx.js';
import { createEngine } from '../registry.js';
import type { Engine, StreamPart } from '../spec.js';
import { OnnxEngine, onnxRuntimeReason } from './onnx-engine.js';

const prompt = [{ role: 'user' as const, content: 'List 5 benefits of local AI inference.' }];
const scratch = mkdtempSync(join(tmpdir(), 'tandem-onnx-engine-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function collect(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

function textOf(parts: StreamPart[]): string {
  return parts.map((part) => (part.type === 'text-delta' ? part.text : '')).join('');
}

describe.each(['demo-slm', 'demo-llm'] as const)(
  'onnx engine on %s',
  { timeout: 120_000 },
  (name) => {
    let engine: Engine;
    beforeAll(async () => {
      engine = await createEngine(`onnx:${name}`, { home: TEST_HOME, threads: 1 });
      await engine.load();
    });
    afterAll(async () => {
      await engine?.dispose();
    });

    it('says what it runs: engine, device, dtype, file, threads, context', () => {
      expect(engine.info).toMatchObject({
        engine: 'onnx',
        model: name,
        isDemo: true,
        device: 'cpu',
        dtype: 'fp32',
        threads: 1,
        contextSize: 2048,
        sequences: 1,
        gpu: 'cpu fp32',
      });
      expect(engine.info.modelFileSizeBytes).toBeGreaterThan(1_000_000);
      expect(engine.info.engineVersion).toMatch(
        /^transformers\.js 4\.\d+\.\d+ · onnxruntime-node 1\.\d+/,
      );
    });

    it('streams one text part per token, stamped as produced, with engine usage', async () => {
      const startedAt = performance.now();
      const parts = await collect(
        engine.stream({ messages: prompt, maxTokens: 12, temperature: 0 }),
      );
      expect(parts[0]).toEqual({ type: 'request-start', attempt: 1 });
      const deltas = parts.filter((part) => part.type === 'text-delta');
      expect(deltas.length).toBeGreaterThanOrEqual(8);
      let previous = startedAt;
      for (const delta of deltas) {
        expect(delta.arrivedAtMs).toBeGreaterThanOrEqual(previous);
        previous = delta.arrivedAtMs as number;
      }
      expect(deltas.reduce((sum, delta) => sum + (delta.tokenCount ?? 0), 0)).toBe(12);
      expect(parts.at(-1)).toMatchObject({
        type: 'finish',
        finishReason: 'length',
        usageSource: 'engine',
        usage: { inputTokens: expect.any(Number), outputTokens: 12 },
      });
      const measured = await measureGeneration(
        engine.stream({ messages: prompt, maxTokens: 8, temperature: 0 }),
      );
      expect(measured.ttftMs).toBeGreaterThan(0);
      expect(measured.outputTokensSource).toBe('engine');
      expect(measured.text).toBe(textOf(parts).slice(0, measured.text.length));
    });

    it('gives the same greedy text every time and the same seeded sample every time', async () => {
      const greedy = () =>
        collect(engine.stream({ messages: prompt, maxTokens: 10, temperature: 0 }));
      expect(textOf(await greedy())).toBe(textOf(await greedy()));
      const sampled = (seed: number) =>
        collect(engine.stream({ messages: prompt, maxTokens: 10, temperature: 1, seed }));
      const first = textOf(await sampled(7));
      expect(textOf(await sampled(7))).toBe(first);
      const others = await Promise.all([1, 2, 3].map(async (seed) => textOf(await sampled(seed))));
      expect(others.some((text) => text !== first)).toBe(true);
    });

    it('stops at a stop sequence without showing it', async () => {
      const full = textOf(
        await collect(engine.stream({ messages: prompt, maxTokens: 16, temperature: 0 })),
      );
      const stop = full.slice(6, 9);
      const parts = await collect(
        engine.stream({ messages: prompt, maxTokens: 16, temperature: 0, stop: [stop] }),
      );
      expect(textOf(parts)).toBe(full.slice(0, full.indexOf(stop)));
      expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    });

    it('ends with finish reason abort when the signal fires mid-stream, and serves the next request', async () => {
      const controller = new AbortController();
      const parts: StreamPart[] = [];
      for await (const part of engine.stream({
        messages: prompt,
        maxTokens: 500,
        temperature: 0,
        signal: controller.signal,
      })) {
        parts.push(part);
        if (parts.filter((candidate) => candidate.type === 'text-delta').length === 3) {
          controller.abort();
        }
      }
      const finish = parts.at(-1);
      expect(finish).toMatchObject({ type: 'finish', finishReason: 'abort' });
      expect(finish?.type === 'finish' && (finish.usage.outputTokens ?? 0) < 10).toBe(true);
      const next = await collect(engine.stream({ messages: prompt, maxTokens: 3, temperature: 0 }));
      expect(next.at(-1)).toMatchObject({ finishReason: 'length', usage: { outputTokens: 3 } });
    });

    it('lets a consumer stop reading early; the next request starts cleanly', async () => {
      for await (const part of engine.stream({
        messages: prompt,
        maxTokens: 500,
        temperature: 0,
      })) {
        if (part.type === 'text-delta') break;
      }
      const next = await collect(engine.stream({ messages: prompt, maxTokens: 2, temperature: 0 }));
      expect(next.at(-1)).toMatchObject({ usage: { outputTokens: 2 } });
    });

    it('runs requests one at a time, in order', async () => {
      const spans = await Promise.all(
        [1, 2, 3].map(async (count) => {
          let startedAtMs = 0;
          let finishedAtMs = 0;
          for await (const part of engine.stream({
            messages: prompt,
            maxTokens: count,
            temperature: 0,
          })) {
            if (part.type === 'request-start') startedAtMs = performance.now();
            if (part.type === 'finish') {
              finishedAtMs = performance.now();
              expect(part.usage.outputTokens).toBe(count);
            }
          }
          return { startedAtMs, finishedAtMs };
        }),
      );
      // Each starts only after the one before it has finished.
      expect(spans[1]?.startedAtMs).toBeGreaterThanOrEqual(spans[0]?.finishedAtMs as number);
      expect(spans[2]?.startedAtMs).toBeGreaterThanOrEqual(spans[1]?.finishedAtMs as number);
    });

    it('answers a request for 0 tokens at once, and frees the model', async () => {
      const parts = await collect(engine.stream({ messages: prompt, maxTokens: 0 }));
      expect(parts.at(-1)).toMatchObject({ finishReason: 'length', usage: { outputTokens: 0 } });
      const next = await collect(engine.stream({ messages: prompt, maxTokens: 1, temperature: 0 }));
      expect(next.at(-1)).toMatchObject({ usage: { outputTokens: 1 } });
    });

    it('drops a waiting request that is stopped before its turn, without evaluating it', async () => {
      const controller = new AbortController();
      const first = collect(engine.stream({ messages: prompt, maxTokens: 20, temperature: 0 }));
      const second = collect(
        engine.stream({ messages: prompt, maxTokens: 20, signal: controller.signal }),
      );
      controller.abort();
      await expect(second).rejects.toThrow(/Stopped/);
      expect((await first).at(-1)).toMatchObject({ usage: { outputTokens: 20 } });
    });

    it('counts tokens with the model tokenizer', async () => {
      expect(await engine.countTokens?.('hello world')).toBeGreaterThan(0);
    });
  },
);

describe('onnx engine inputs', () => {
  let demoFolder: string;
  beforeAll(async () => {
    demoFolder = (await ensureDemoOnnxModel('demo-slm', { modelsDirectory: TEST_MODELS_DIRECTORY }))
      .path;
  });

  function copyOfDemo(name: string): string {
    const folder = join(scratch, name);
    cpSync(demoFolder, folder, { recursive: true });
    return folder;
  }

  async function loadError(reference: string): Promise<unknown> {
    const engine = await createEngine(reference, { home: TEST_HOME }).catch((error) => error);
    if (!(engine instanceof OnnxEngine)) return engine;
    const error = await engine.load().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    await engine.dispose();
    return error;
  }

  it('loads any model folder by path', async () => {
    const engine = await createEngine(`onnx:${copyOfDemo('by-path')}`, { home: TEST_HOME });
    const parts = await collect(engine.stream({ messages: prompt, maxTokens: 2, temperature: 0 }));
    expect(parts.at(-1)).toMatchObject({ usage: { outputTokens: 2 } });
    expect(engine.info.model).toBe('by-path');
    await engine.dispose();
  });

  it('names a missing folder', async () => {
    const error = await loadError(`onnx:${join(scratch, 'nowhere')}`);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(String(error)).toMatch(/No ONNX model folder at .*nowhere/);
  });

  it('names a malformed config.json', async () => {
    const folder = copyOfDemo('bad-config');
    writeFileSync(join(folder, 'config.json'), '{"model_type": ');
    const error = await loadError(`onnx:${folder}`);
    expect(error).toBeInstanceOf(InvalidModelFileError);
    expect(String(error)).toMatch(/config\.json is not valid JSON/);
    writeFileSync(join(folder, 'config.json'), '{"vocab_size": 3}');
    expect(String(await loadError(`onnx:${folder}`))).toMatch(
      /config\.json is malformed \(model_type/,
    );
  });

  it('names a missing onnx file and a dtype the folder lacks', async () => {
    const folder = copyOfDemo('no-onnx');
    unlinkSync(join(folder, 'onnx', 'model.onnx'));
    const missing = await loadError(`onnx:${folder}`);
    expect(missing).toBeInstanceOf(InvalidModelFileError);
    expect(String(missing)).toMatch(/onnx\/ has no model file/);

    const lacking = await loadError(`onnx:${demoFolder}?dtype=q4`);
    expect(lacking).toBeInstanceOf(InvalidArgumentError);
    expect(String(lacking)).toMatch(/has no q4 weights \(onnx\/model_q4\.onnx\): use --dtype fp32/);
  });

  it('refuses an unknown dtype, device or option before loading', async () => {
    await expect(createEngine('onnx:demo-slm?dtype=int3', { home: TEST_HOME })).rejects.toThrow(
      /Invalid dtype 'int3' in 'onnx:demo-slm\?dtype=int3': use one of fp32, fp16, q8, q4, q4f16/,
    );
    await expect(createEngine('onnx:demo-slm?device=tpu', { home: TEST_HOME })).rejects.toThrow(
      /Invalid device 'tpu'.*use one of cpu, webgpu, cuda, dml/,
    );
    await expect(createEngine('onnx:demo-slm?gpu=cuda', { home: TEST_HOME })).rejects.toThrow(
      /Unknown option 'gpu'.*onnx models take \?threads=, \?device=, \?dtype=/,
    );
  });

  it('refuses a device this machine lacks, naming the ones it has, without falling back', async (context) => {
    if (process.platform === 'win32') context.skip('DirectML exists on Windows');
    const error = await loadError('onnx:demo-slm?device=dml');
    expect(error).toBeInstanceOf(EngineUnavailableError);
    expect(String(error)).toMatch(
      /Device dml is not available: DirectML is a Windows API\. Available here: cpu, webgpu/,
    );
  });

  it('fails within seconds, with one line, when a repository cannot be reached', async () => {
    const refusing = (async () => {
      throw new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } });
    }) as typeof fetch;
    const engine = await createEngine('onnx:onnx-community/Qwen2.5-0.5B-Instruct', {
      home: TEST_HOME,
      fetch: refusing,
    });
    const startedAt = performance.now();
    const error = await engine.load().catch((caught: unknown) => caught);
    expect(performance.now() - startedAt).toBeLessThan(10_000);
    expect(error).toBeInstanceOf(DownloadError);
    expect(String(error)).toMatch(
      /Cannot reach huggingface\.co \(DNS lookup failed\): onnx:onnx-community\/Qwen2\.5-0\.5B-Instruct is downloaded on first use\. Offline, give a local model folder/,
    );
    expect(String(error)).not.toContain('\n');
    await engine.dispose();
  });

  function hubEngine(fetchImplementation: typeof fetch, env: NodeJS.ProcessEnv = {}) {
    return new OnnxEngine({
      reference: 'onnx:owner/model',
      model: 'owner/model',
      source: { kind: 'hub', repository: 'owner/model' },
      fetch: fetchImplementation,
      cacheDirectory: join(scratch, 'empty-cache'),
      reachabilityTimeoutMs: 300,
      env,
    });
  }

  it('gives up on a repository whose host does not answer, within its time limit', async () => {
    const silent = ((_url: string, init?: RequestInit) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      })) as typeof fetch;
    const engine = hubEngine(silent);
    const startedAt = performance.now();
    const error = await engine.load().catch((caught: unknown) => caught);
    expect(performance.now() - startedAt).toBeLessThan(5000);
    expect(error).toBeInstanceOf(DownloadError);
    expect(String(error)).toMatch(/Cannot reach huggingface\.co \(no answer within 0\.3 s\)/);
    await engine.dispose();
  });

  it('says what a 404 or a 401 from the hub means, and sends HF_TOKEN as transformers.js does', async () => {
    const answering = (status: number) =>
      (async () => new Response(null, { status })) as typeof fetch;
    expect(
      String(
        await hubEngine(answering(404))
          .load()
          .catch((caught: unknown) => caught),
      ),
    ).toMatch(
      /owner\/model was not found on huggingface\.co \(HTTP 404\): check the repository id/,
    );
    expect(
      String(
        await hubEngine(answering(401))
          .load()
          .catch((caught: unknown) => caught),
      ),
    ).toMatch(/refused owner\/model \(HTTP 401\).*set HF_TOKEN/);
    let authorization: string | null = null;
    const recording = (async (_url: string, init?: RequestInit) => {
      authorization = new Headers(init?.headers).get('authorization');
      return new Response(null, { status: 404 });
    }) as typeof fetch;
    await hubEngine(recording, { HF_TOKEN: 'hf_secret' })
      .load()
      .catch(() => undefined);
    expect(authorization).toBe('Bearer hf_secret');
  });

  it('runs a repository already in its cache with no network at all', async () => {
    const cache = join(scratch, 'hub-cache');
    cpSync(demoFolder, join(cache, 'owner', 'model'), { recursive: true });
    const offline = (async () => {
      throw new Error('the network must not be used');
    }) as typeof fetch;
    const engine = new OnnxEngine({
      reference: 'onnx:owner/model',
      model: 'owner/model',
      source: { kind: 'hub', repository: 'owner/model' },
      dtype: 'fp32',
      fetch: offline,
      cacheDirectory: cache,
      threads: 1,
    });
    const parts = await collect(engine.stream({ messages: prompt, maxTokens: 2, temperature: 0 }));
    expect(parts.at(-1)).toMatchObject({ usage: { outputTokens: 2 } });
    expect(engine.info.modelFileSizeBytes).toBeGreaterThan(1_000_000);
    await engine.dispose();
  });

  it('refuses JSON response formats it cannot enforce', async () => {
    const engine = await createEngine('onnx:demo-slm', { home: TEST_HOME });
    await expect(
      collect(engine.stream({ messages: prompt, responseFormat: { type: 'json_object' } })),
    ).rejects.toThrow(/onnx engine cannot constrain output to JSON/);
    await engine.dispose();
  });

  it('shortens onnxruntime messages to their reason', () => {
    const raw = new Error(
      '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize() adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters.',
    );
    expect(onnxRuntimeReason(raw)).toBe('Failed to get a WebGPU adapter: No supported adapters');
  });
});

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeTerminal } from '../../test/support/fake-terminal.js';
import { ggufValue } from '../models/gguf/types.js';
import { writeGgufFile } from '../models/gguf/writer.js';
import type { FitCheck, ModelPlan, ModelShape } from '../plan/model-plan.js';
import { main } from './main.js';
import { planReference, renderPlan } from './models-command.js';

const scratch = mkdtempSync(join(tmpdir(), 'tandem-plan-cli-'));
const home = join(scratch, 'home');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function tandem(args: string[]) {
  const terminal = fakeTerminal({ TANDEM_HOME: home });
  const code = await main(args, terminal);
  return { code, stdout: terminal.output(), stderr: terminal.errors() };
}

/** The whole of stderr is one `error:` line. */
function onlyErrorLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  return lines[0] as string;
}

/** The row of the rendered plan with this label (labels are padded to 14 columns). */
function rowOf(text: string, label: string): string | undefined {
  return text.split('\n').find((line) => line.startsWith(label.padEnd(14)));
}

describe('planReference', () => {
  it('a catalog alias means its twin', () => {
    expect(planReference('phi-4-mini')).toBe('twin:phi-4-mini');
    expect(planReference('llama:qwen2.5-0.5b')).toBe('twin:qwen2.5-0.5b');
    // An Ollama tag names a catalog model too.
    expect(planReference('phi4-mini')).toBe('twin:phi4-mini');
  });

  it('twin:ALIAS stays as written', () => {
    expect(planReference('twin:phi-4-mini')).toBe('twin:phi-4-mini');
    expect(planReference('twin:smollm2-360m')).toBe('twin:smollm2-360m');
  });

  it('a path, a demo model, an unknown name, another engine and a server stay as written', () => {
    expect(planReference('./models/phi-4-mini.gguf')).toBe('./models/phi-4-mini.gguf');
    expect(planReference('/data/phi-4-mini.gguf')).toBe('/data/phi-4-mini.gguf');
    expect(planReference('phi-4-mini.gguf')).toBe('phi-4-mini.gguf');
    expect(planReference('llama:./x.gguf')).toBe('llama:./x.gguf');
    expect(planReference('demo-slm')).toBe('demo-slm');
    expect(planReference('no-such-model')).toBe('no-such-model');
    expect(planReference('onnx:phi-4-mini')).toBe('onnx:phi-4-mini');
    expect(planReference('foundry:phi-4-mini')).toBe('foundry:phi-4-mini');
    expect(planReference('http://127.0.0.1:9/v1#phi-4-mini')).toBe(
      'http://127.0.0.1:9/v1#phi-4-mini',
    );
  });
});

const TWIN_PATH = '/tmp/home/models/twins/phi-4-mini.gguf';

function phiShape(change: Partial<ModelShape> = {}): ModelShape {
  return {
    architecture: 'phi3',
    layers: 32,
    embeddingLength: 3072,
    headCount: 24,
    headCountKv: 8,
    headDimension: 128,
    vocabularySize: 200_064,
    contextLength: 131_072,
    parameterCount: 3_836_021_760,
    weightBytes: 2_480_000_000,
    fileSizeBytes: 2_516_793_015,
    kvCacheBytesPerToken: 131_072,
    slidingWindowLayers: 0,
    slidingWindow: undefined,
    slidingKvCacheBytesPerToken: 0,
    expertCount: undefined,
    expertUsedCount: undefined,
    activeParameterCount: 3_836_021_760,
    bytesReadPerToken: 2_000_000_000,
    twinOf: 'phi-4-mini',
    ...change,
  };
}

const FITS: FitCheck = {
  fits: true,
  fitsNow: true,
  contextTokens: 4096,
  neededBytes: 3_336_870_912,
  weightsBytes: 2_500_000_000,
  kvCacheBytes: 536_870_912,
  runtimeBytes: 300_000_000,
  totalMemoryBytes: 16_000_000_000,
  availableMemoryBytes: 8_000_000_000,
};

function phiPlan(change: Partial<ModelPlan> = {}): ModelPlan {
  return {
    reference: 'twin:phi-4-mini',
    modelPath: TWIN_PATH,
    shape: phiShape(),
    twinBuildMs: undefined,
    loadMs: 1234,
    rssAfterLoadDeltaBytes: 2_600_000_000,
    peakRssDeltaBytes: 3_100_000_000,
    loadedContextTokens: 4096,
    short: { promptTokens: 12, ttftMs: 250 },
    long: { promptTokens: 600, ttftMs: 4200 },
    decodeTokensPerSecond: 5,
    decodeTokens: 64,
    bandwidth: { bytesPerSecond: 20e9, ceilingTokensPerSecond: 10, share: 0.5 },
    buffers: undefined,
    fit: FITS,
    threads: 4,
    ...change,
  };
}

const PUBLISHED = { file: 'Phi-4-mini-instruct-Q4_K_M.gguf', sizeBytes: 2_491_874_272 };

describe('renderPlan', () => {
  it("a twin's plan says its figures come from a random-weight twin", () => {
    const text = renderPlan(phiPlan(), PUBLISHED);
    const first = text.split('\n')[0] as string;
    expect(first).toMatch(
      /^Plan for phi-4-mini, measured on its shape twin: a random-weight file with the real model's architecture/,
    );
    expect(first).toContain('the text it writes is noise');
    expect(rowOf(text, 'twin')).toBe(`twin          reused from the cache: ${TWIN_PATH}`);
    // 2,516,793,015 against 2,491,874,272 bytes: 24,918,743 more, 1.00%.
    expect(rowOf(text, 'file')).toBe(
      'file          2.52 GB (the published Phi-4-mini-instruct-Q4_K_M.gguf: 2.49 GB, 1.00%)',
    );
    expect(text.endsWith('\n')).toBe(true);
  });

  it('a twin written in this run says how long it took', () => {
    const text = renderPlan(phiPlan({ twinBuildMs: 83_000 }));
    expect(rowOf(text, 'twin')).toBe(`twin          written in 83.0 s: ${TWIN_PATH}`);
    expect(rowOf(text, 'file')).toBe('file          2.52 GB');
  });

  it('every figure, labelled', () => {
    const text = renderPlan(phiPlan());
    expect(rowOf(text, 'architecture')).toBe(
      'architecture  phi3, 32 layers, 3072 wide, 24 heads (8 KV, 128 each), vocabulary 200,064, 3.84 B parameters',
    );
    expect(rowOf(text, 'load')).toBe('load          1.23 s (context 4,096 tokens, 4 threads)');
    // 131,072 bytes x 1,024 tokens = 134,217,728 bytes.
    expect(rowOf(text, 'memory')).toBe(
      'memory        RSS +2.60 GB after load, peak +3.10 GB while generating',
    );
    expect(rowOf(text, 'KV cache')).toBe('KV cache      134 MB per 1k tokens of context (f16)');
    // No buffer sizes from llama.cpp: no row for them.
    expect(rowOf(text, 'llama.cpp')).toBeUndefined();
    expect(rowOf(text, 'TTFT')).toBe(
      'TTFT          short prompt (12 tokens) 250 ms; long prompt (600 tokens) 4.20 s',
    );
    expect(rowOf(text, 'decode')).toBe('decode        5.00 tok/s over 64 tokens');
    expect(rowOf(text, 'bandwidth')).toBe(
      'bandwidth     decode reads 2.00 GB of weights per token; this machine reads 20.0 GB/s (4 threads), a ceiling of 10.0 tok/s; decode reaches 50% of it',
    );
  });

  it('the fit verdict: yes, yes but not now, no', () => {
    expect(rowOf(renderPlan(phiPlan()), 'fits')).toBe(
      'fits          yes with --ctx 4,096: needs 3.34 GB (weights 2.50 GB + KV cache 537 MB + the rest of the peak RSS 300 MB) of 16.0 GB (8.00 GB free now)',
    );
    const notNow = renderPlan(
      phiPlan({ fit: { ...FITS, fitsNow: false, availableMemoryBytes: 3_000_000_000 } }),
    );
    expect(rowOf(notNow, 'fits')).toMatch(
      /^fits {10}yes, but not in the memory free now with --ctx 4,096: .* \(3\.00 GB free now\)$/,
    );
    const no = renderPlan(
      phiPlan({
        fit: {
          ...FITS,
          fits: false,
          fitsNow: false,
          contextTokens: 131_072,
          kvCacheBytes: 2 ** 34,
          neededBytes: 2_800_000_000 + 2 ** 34,
        },
      }),
    );
    expect(rowOf(no, 'fits')).toMatch(
      /^fits {10}no with --ctx 131,072: needs 20\.0 GB \(weights 2\.50 GB \+ KV cache 17\.2 GB \+ the rest of the peak RSS 300 MB as measured at 4,096 tokens\) of 16\.0 GB/,
    );
    const beyond = renderPlan(phiPlan({ fit: { ...FITS, contextTokens: 200_000 } }));
    expect(rowOf(beyond, 'fits')).toMatch(
      /; --ctx is beyond the 131,072 tokens the model was trained for$/,
    );
  });

  it('a plain GGUF file: no twin note, and no bandwidth row when it was not measured', () => {
    const text = renderPlan(
      phiPlan({
        modelPath: '/models/x.gguf',
        shape: phiShape({ twinOf: undefined }),
        bandwidth: undefined,
        threads: 2,
      }),
    );
    expect(text.split('\n')[0]).toBe('Plan for /models/x.gguf.');
    expect(text).not.toContain('random-weight');
    expect(text).not.toContain('noise');
    expect(rowOf(text, 'twin')).toBeUndefined();
    expect(rowOf(text, 'bandwidth')).toBeUndefined();
    expect(rowOf(text, 'load')).toBe('load          1.23 s (context 4,096 tokens, 2 threads)');
  });

  it('a mixture of experts with sliding-window layers says so', () => {
    const text = renderPlan(
      phiPlan({
        shape: phiShape({
          architecture: 'gpt-oss',
          layers: 24,
          expertCount: 32,
          expertUsedCount: 4,
          activeParameterCount: 3_610_000_000,
          slidingWindow: 128,
          slidingWindowLayers: 12,
          kvCacheBytesPerToken: 24_576,
          // 12 layers x 8 KV heads x (64 + 64) x 2 bytes.
          slidingKvCacheBytesPerToken: 24_576,
        }),
      }),
    );
    expect(rowOf(text, 'architecture')).toMatch(
      /; 4 of 32 experts per token, 3\.61 B active; 12 layers attend to a 128-token window$/,
    );
    // 24,576 bytes x 1,024 = 25.2 MB per 1k; the window layers hold 768 cells: 18.9 MB.
    expect(rowOf(text, 'KV cache')).toMatch(
      /^KV cache {6}25\.2 MB per 1k tokens of context \(f16\), plus 18\.9 MB for the window layers at any context over 768$/,
    );
  });
});

describe('renderPlan with the buffers llama.cpp reported', () => {
  const buffers = {
    repackedWeightsBytes: 1_302_331_392,
    kvCacheBytes: 536_870_912,
    computeBytes: 439_100_000,
    outputBytes: 800_000,
  };

  it('says which weights RSS counts twice, and checks the KV formula against llama.cpp', () => {
    const text = renderPlan(phiPlan({ buffers }));
    expect(rowOf(text, 'memory')).toBe(
      'memory        RSS +2.60 GB after load, peak +3.10 GB while generating, which counts 1.30 GB of weights twice: llama.cpp copies them into its CPU layout at load, and their pages in the mapped file go unused (the OS drops them when memory is short)',
    );
    // 131,072 bytes per token x 4,096 tokens = 536,870,912 bytes, from the header.
    expect(rowOf(text, 'llama.cpp')).toBe(
      'llama.cpp     KV cache 537 MB at 4,096 tokens (from the header: 537 MB), compute buffers 440 MB',
    );
    expect(rowOf(text, 'fits')).toMatch(/\+ compute buffers 300 MB\)/);
  });

  it('nothing repacked: no double-count note', () => {
    const text = renderPlan(phiPlan({ buffers: { ...buffers, repackedWeightsBytes: 0 } }));
    expect(rowOf(text, 'memory')).toBe(
      'memory        RSS +2.60 GB after load, peak +3.10 GB while generating',
    );
  });
});

describe('tandem models plan: bad input gives one clear line and a non-zero exit', () => {
  it('an unknown alias', async () => {
    const result = await tandem(['models', 'plan', 'no-such-model']);
    expect(result.code).toBe(3);
    expect(onlyErrorLine(result.stderr)).toMatch(
      /^error: Unknown model 'no-such-model'\..*Run 'tandem models list'/,
    );
    expect(result.stdout).toBe('');
  });

  it('a misspelled alias suggests the catalog model', async () => {
    const result = await tandem(['models', 'plan', 'phi-4-mni']);
    expect(result.code).toBe(3);
    expect(onlyErrorLine(result.stderr)).toMatch(
      /Unknown model 'phi-4-mni'\. Did you mean .*phi-4-mini/,
    );
  });

  it('twin: of an unknown alias', async () => {
    const result = await tandem(['models', 'plan', 'twin:no-such-model']);
    expect(result.code).toBe(3);
    expect(onlyErrorLine(result.stderr)).toMatch(
      /^error: No catalog model 'no-such-model' to make a twin of\./,
    );
  });

  it('--ctx that is not a whole number of 16 or more is refused', async () => {
    for (const value of ['abc', '4096.5', '8', '', '-4096']) {
      const result = await tandem(['models', 'plan', 'phi-4-mini', '--ctx', value]);
      expect(result.code, `--ctx '${value}'`).toBe(2);
      expect(onlyErrorLine(result.stderr)).toBe(
        `error: Invalid --ctx '${value}': expected a whole number of 16 or more.`,
      );
    }
  });

  it('--tokens and --long-words are checked too', async () => {
    const tokens = await tandem(['models', 'plan', 'phi-4-mini', '--tokens', '1']);
    expect(tokens.code).toBe(2);
    expect(onlyErrorLine(tokens.stderr)).toBe(
      "error: Invalid --tokens '1': expected a whole number of 2 or more.",
    );
    const words = await tandem(['models', 'plan', 'phi-4-mini', '--long-words', 'many']);
    expect(words.code).toBe(2);
    expect(onlyErrorLine(words.stderr)).toMatch(/^error: Invalid --long-words 'many': /);
  });

  it('a server model is not a GGUF file: refused without contacting it', async () => {
    const result = await tandem(['models', 'plan', 'http://127.0.0.1:9/v1#phi-4-mini']);
    expect(result.code).toBe(2);
    expect(onlyErrorLine(result.stderr)).toBe(
      'error: tandem models plan measures GGUF files in the llama engine: give a catalog alias, twin:ALIAS or a .gguf path, not http://127.0.0.1:9/v1#phi-4-mini.',
    );
  });

  it('a missing .gguf path', async () => {
    const result = await tandem(['models', 'plan', join(scratch, 'nowhere', 'model.gguf')]);
    expect(result.code).toBe(3);
    expect(onlyErrorLine(result.stderr)).toContain('No model file at');
  });

  it('a file that is not GGUF, and a GGUF that is not a model', async () => {
    const broken = join(scratch, 'broken.gguf');
    writeFileSync(broken, Buffer.from('GGUF\u0003\u0000\u0000\u0000truncated'));
    const invalid = await tandem(['models', 'plan', broken]);
    expect(invalid.code).toBe(5);
    expect(onlyErrorLine(invalid.stderr)).toContain(`Invalid model file ${broken}`);

    const notModel = join(scratch, 'metadata-only.gguf');
    await writeGgufFile(notModel, {
      metadata: [['general.name', ggufValue.string('no architecture')]],
      tensors: [],
    });
    const result = await tandem(['models', 'plan', notModel]);
    expect(result.code).toBe(2);
    expect(onlyErrorLine(result.stderr)).toBe(
      `error: ${notModel} has no general.architecture: it is not a model GGUF.`,
    );
  });

  it('the errors wrote nothing under TANDEM_HOME and left no SIGINT handler behind', async () => {
    const listeners = process.listenerCount('SIGINT');
    await tandem(['models', 'plan', 'twin:no-such-model']);
    await tandem(['models', 'plan', 'no-such-model']);
    expect(process.listenerCount('SIGINT')).toBe(listeners);
    expect(readdirSync(scratch)).not.toContain('home');
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_HOME } from '../../test/support/demo-models.js';
import { fakeTerminal } from '../../test/support/fake-terminal.js';
import { startScriptedServer } from '../../test/support/scripted-server.js';
import { main } from './main.js';

const scratch = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
const home = TEST_HOME;

async function tandem(args: string[], env: NodeJS.ProcessEnv = {}, stdin = '') {
  const terminal = fakeTerminal({ TANDEM_HOME: home, ...env }, stdin);
  const code = await main(args, terminal);
  return { code, stdout: terminal.output(), stderr: terminal.errors() };
}

/** A port that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function oneErrorLine(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('error:'));
  expect(lines).toHaveLength(1);
  return lines[0] as string;
}

describe('tandem CLI: bad input gives one clear line and a non-zero exit', () => {
  it('unknown model: close matches and the models list command', async () => {
    const result = await tandem(['run', 'demo-slmm', '--prompt', 'hi']);
    expect(result.code).toBe(3);
    const line = oneErrorLine(result.stderr);
    expect(line).toContain("Unknown model 'demo-slmm'");
    expect(line).toContain('demo-slm');
    expect(line).toContain('tandem models list');
  });

  it('catalog model not downloaded: says how to pull it or use a server', async () => {
    const result = await tandem(['run', 'phi-4-mini', '--prompt', 'hi']);
    expect(result.code).toBe(3);
    expect(oneErrorLine(result.stderr)).toMatch(/tandem models pull phi-4-mini.*ollama:phi4-mini/);
  });

  it('invalid numbers for flags', async () => {
    for (const args of [
      ['run', 'demo-slm', '--prompt', 'hi', '--max-tokens', 'ten'],
      ['run', 'demo-slm', '--prompt', 'hi', '--temperature', '-1'],
      ['run', 'demo-slm', '--prompt', 'hi', '--top-p', '1.5'],
      ['compare', '--rounds', '0'],
      ['run', 'demo-slm', '--prompt', 'hi', '--gpu', 'tpu'],
      ['run', 'demo-slm?thread=2', '--prompt', 'hi'],
      ['run', 'demo-slm?threads=two', '--prompt', 'hi'],
    ]) {
      const result = await tandem(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(oneErrorLine(result.stderr)).toMatch(
        /^error: (Invalid --|Unknown option 'thread'|Invalid threads=two)/,
      );
    }
  });

  it("a flag the model's engine does not read", async () => {
    const onLlama = await tandem(['run', 'demo-slm', '--prompt', 'hi', '--device', 'cuda']);
    expect(onLlama.code).toBe(2);
    expect(oneErrorLine(onLlama.stderr)).toBe(
      'error: --device applies to the onnx engine, and demo-slm runs on llama: use --gpu, or run onnx:demo-slm.',
    );
    const onOnnx = await tandem(['run', 'onnx:demo-slm', '--prompt', 'hi', '--gpu', 'cuda']);
    expect(onOnnx.code).toBe(2);
    expect(oneErrorLine(onOnnx.stderr)).toMatch(
      /--gpu applies to the llama engine, .*use --device/,
    );
  });

  it('an invalid GGUF is rejected before loading, without a native crash', async () => {
    const path = join(scratch, 'broken.gguf');
    writeFileSync(path, Buffer.from('GGUF\u0003\u0000\u0000\u0000truncated'));
    const result = await tandem(['run', path, '--prompt', 'hi']);
    expect(result.code).toBe(5);
    expect(oneErrorLine(result.stderr)).toContain(`Invalid model file ${path}`);
  });

  it('a missing model file', async () => {
    const result = await tandem(['run', './nowhere/model.gguf', '--prompt', 'hi']);
    expect(result.code).toBe(3);
    expect(oneErrorLine(result.stderr)).toContain('No model file at');
  });

  it('an unreachable endpoint names the URL, and for Foundry how to start it', async () => {
    const port = await closedPort();
    const result = await tandem([
      'run',
      `http://127.0.0.1:${port}/v1#phi-4-mini`,
      '--prompt',
      'hi',
    ]);
    expect(result.code).toBe(4);
    expect(oneErrorLine(result.stderr)).toContain(`127.0.0.1:${port}`);
    const foundry = await tandem(['run', 'foundry:phi-4-mini', '--prompt', 'hi'], {
      FOUNDRY_LOCAL_ENDPOINT: `http://127.0.0.1:${port}/v1`,
    });
    expect(foundry.code).toBe(4);
    expect(oneErrorLine(foundry.stderr)).toMatch(/foundry service start/);
  });

  it('an HTTP error body is shown in short, and a dead stream keeps the partial answer', async () => {
    const server = await startScriptedServer({
      models: ['scripted'],
      chatScripts: [
        [
          {
            type: 'respond',
            status: 400,
            body: {
              error: { message: 'max_tokens is too large: 99999', type: 'invalid_request_error' },
            },
          },
        ],
        [
          { type: 'delta', delta: { content: 'half an ' } },
          { type: 'delta', delta: { content: 'answer' }, delayMs: 5 },
          { type: 'destroy', delayMs: 5 },
        ],
      ],
    });
    try {
      const rejected = await tandem(['run', `${server.baseUrl}#scripted`, '--prompt', 'hi']);
      expect(rejected.code).toBe(4);
      const line = oneErrorLine(rejected.stderr);
      expect(line).toContain('400');
      expect(line).toContain('max_tokens is too large: 99999');
      const dead = await tandem(['run', `${server.baseUrl}#scripted`, '--prompt', 'hi']);
      expect(dead.code).toBe(4);
      expect(rejected.stderr).not.toContain('TTFT');
      expect(dead.stdout).toContain('half an answer');
      expect(dead.stderr).toMatch(/finish\s+error \(incomplete\)/);
      expect(oneErrorLine(dead.stderr)).toMatch(/partial answer is kept/);
    } finally {
      await server.close();
    }
  });

  it('an empty prompt on stdin', async () => {
    const result = await tandem(['run', 'demo-slm'], {}, '   ');
    expect(result.code).toBe(2);
    expect(oneErrorLine(result.stderr)).toContain('No prompt');
  });

  it('compare --out with an unknown report type', async () => {
    const result = await tandem(['compare', '--out', 'report.pdf']);
    expect(result.code).toBe(2);
    expect(oneErrorLine(result.stderr)).toContain('.md or .json');
  });

  it('pull fails fast offline with one line that says what to do instead', async () => {
    const port = await closedPort();
    const started = performance.now();
    const result = await tandem(['models', 'pull', 'smollm2-360m'], {
      HF_ENDPOINT: `http://127.0.0.1:${port}`,
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(4);
    expect(oneErrorLine(result.stderr)).toMatch(/Cannot reach .*demo-slm/);
  });
});

describe('tandem CLI on the demo models', () => {
  it('run --json prints one object with every figure', async () => {
    const result = await tandem([
      'run',
      'demo-slm',
      '--prompt',
      'Say hello.',
      '--max-tokens',
      '16',
      '--json',
    ]);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    for (const key of [
      'model',
      'engine',
      'text',
      'finishReason',
      'loadMs',
      'ttftMs',
      'ttfoMs',
      'e2eMs',
      'tpotMs',
      'outputTokens',
      'outputTokensSource',
      'promptTokens',
      'decodeTokensPerSecond',
      'requestTokensPerSecond',
      'peakRssBytes',
    ]) {
      expect(json, key).toHaveProperty(key);
    }
    expect(json.model).toBe('demo-slm');
    expect(json.engine).toBe('llama');
    expect(json.outputTokens).toBe(16);
    expect(json.outputTokensSource).toBe('engine');
    expect(json.finishReason).toBe('length');
    expect(json.isDemo).toBe(true);
    expect(json.notice).toMatch(/^demo-slm has random weights.*tandem models pull phi-4-mini/);
    expect(json.ttftMs as number).toBeGreaterThan(0);
    expect(json.e2eMs as number).toBeGreaterThanOrEqual(json.ttftMs as number);
  });

  it('run streams the answer to stdout, the stats and the demo note to stderr', async () => {
    const result = await tandem([
      'run',
      'demo-slm',
      '--prompt',
      'Say hello.',
      '--max-tokens',
      '8',
      '--verbose',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().length).toBeGreaterThan(0);
    expect(result.stderr).toContain('random weights');
    expect(result.stderr).toMatch(/TTFT\s+\d/);
    expect(result.stderr).toMatch(/output tokens\s+8 \(engine\)/);
    expect(result.stderr).toMatch(/decode\s+\d/);
  });

  it('run reads the prompt from stdin when piped', async () => {
    const result = await tandem(
      ['run', 'demo-slm', '--max-tokens', '4', '--json'],
      {},
      'Hello from stdin',
    );
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { promptTokens: number }).promptTokens).toBeGreaterThan(4);
  });

  it('compare prints the table and a verdict, and writes reports', async () => {
    const out = join(scratch, 'report.md');
    const result = await tandem(['compare', '--rounds', '3', '--max-tokens', '24', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('demo-slm');
    expect(result.stdout).toContain('demo-llm');
    expect(result.stdout).toMatch(/warm TTFT p50/);
    // ~15x apart: a difference no amount of machine noise hides, even in 3 runs each.
    // Three significant figures: 15.2x, or 9.57x on a busy machine.
    expect(result.stdout).toMatch(/demo-slm decodes \d+(\.\d+)?x faster than demo-llm \(95% CI/);
    expect(readFileSync(out, 'utf8')).toMatch(/^# tandem compare[\s\S]*\| demo-llm \|/);
    expect(result.stdout).toContain('random weights');
    const json = await tandem(
      ['compare', 'demo-slm', '--rounds', '2', '--max-tokens', '4', '--json'],
      {
        COMPARE_PROMPT: 'Workshop prompt',
      },
    );
    const parsed = JSON.parse(json.stdout) as {
      prompt: string;
      models: { warm: unknown[]; summary: object }[];
    };
    expect(parsed.prompt).toBe('Workshop prompt');
    expect(parsed.models[0]?.warm).toHaveLength(2);
    expect(parsed.models[0]?.summary).toHaveProperty('decodeTokensPerSecond');
    expect(JSON.stringify(parsed)).toMatch(/"notices":\["note: demo-slm has random weights/);
  });

  it('models list shows the demo models and the catalog', async () => {
    const result = await tandem(['models', 'list']);
    expect(result.code).toBe(0);
    for (const name of [
      'demo-slm',
      'demo-llm',
      'phi-4-mini',
      'gpt-oss-20b',
      'qwen2.5-0.5b',
      'qwen2.5-7b',
    ]) {
      expect(result.stdout).toContain(name);
    }
  });
});

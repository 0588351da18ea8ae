import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chatCommand } from '../src/cli/chat-command.js';
import { TEST_HOME } from '../test/support/demo-models.js';
import { fakeTerminal } from '../test/support/fake-terminal.js';

const bin = fileURLToPath(new URL('../dist/cli/bin.js', import.meta.url));

describe('the tandem process', () => {
  it('is built (npm test builds first)', () => {
    expect(existsSync(bin), `${bin} is missing: run npm run build`).toBe(true);
  });

  it('Ctrl-C during a run stops generation, prints what was measured and exits 130', async () => {
    const child = spawn(
      process.execPath,
      [bin, 'run', 'demo-llm', '--prompt', 'Go on forever.', '--max-tokens', '1900'],
      {
        env: { ...process.env, TANDEM_HOME: TEST_HOME },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.length > 20 && !child.killed) child.kill('SIGINT');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(/Stopped: demo-llm produced \d+ tokens/);
    expect(stderr).toMatch(/TTFT\s+\d/);
    expect(stderr).toMatch(/finish\s+abort \(incomplete\)/);
    expect(stdout.length).toBeGreaterThan(20);
  }, 120_000);
});

describe('tandem chat', () => {
  it('keeps a history across turns and prints figures per answer', async () => {
    const terminal = fakeTerminal({ TANDEM_HOME: TEST_HOME }, 'hello\nand again\n/reset\n/exit\n');
    const code = await chatCommand('demo-slm', { maxTokens: 6, verbose: true }, terminal);
    expect(code).toBe(0);
    expect(terminal.errors()).toMatch(/Chat with demo-slm \(loaded in [\d.]+ m?s\)/);
    const figures = terminal.errors().match(/\[TTFT [^\]]+ · 6 tokens \(engine\) · [^\]]+\]/g);
    expect(figures).toHaveLength(2);
    expect(terminal.errors()).toContain('History cleared.');
    // The second turn carries the first question and answer: its prompt is longer.
    const promptTokens = [...terminal.errors().matchAll(/prompt tokens\s+(\d+)/g)].map((match) =>
      Number(match[1]),
    );
    expect(promptTokens).toHaveLength(2);
    expect(promptTokens[1]).toBeGreaterThan((promptTokens[0] as number) + 6);
  });

  it('ends with the exit code of a model that cannot load', async () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'tandem-chat-')), 'broken.gguf');
    writeFileSync(broken, 'GGUF but not really');
    const terminal = fakeTerminal({ TANDEM_HOME: TEST_HOME }, 'hello\n');
    await expect(chatCommand(broken, {}, terminal)).rejects.toMatchObject({ exitCode: 5 });
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../errors.js';
import {
  type CommandResult,
  type CommandRunner,
  createProcessCommandRunner,
  findServiceOrigin,
  getPreset,
  presets,
  resolvePresetBaseUrl,
} from './presets.js';

interface RecordedCall {
  command: string;
  args: readonly string[];
  timeoutMs: number;
}

function fakeRunner(results: readonly CommandResult[]): {
  runCommand: CommandRunner;
  calls: RecordedCall[];
} {
  const calls: RecordedCall[] = [];
  let index = 0;
  return {
    calls,
    runCommand: async (command, args, options) => {
      calls.push({ command, args, timeoutMs: options.timeoutMs });
      const result = results[index++];
      if (result === undefined) throw new Error('unexpected command');
      return result;
    },
  };
}

const notFound: CommandResult = { exitCode: null, stdout: '', stderr: '', failure: 'not-found' };

describe('presets', () => {
  it('has a default URL and a start hint for each local server', () => {
    expect(presets.ollama.defaultBaseUrl).toBe('http://localhost:11434/v1');
    expect(presets.llamacpp.defaultBaseUrl).toBe('http://localhost:8080/v1');
    expect(presets.lmstudio.defaultBaseUrl).toBe('http://localhost:1234/v1');
    expect(presets.vllm.defaultBaseUrl).toBe('http://localhost:8000/v1');
    expect(presets.foundry.startHint).toContain("'foundry service start'");
    expect(presets.ollama.startHint).toContain("'ollama serve'");
    expect(getPreset('vllm').displayName).toBe('vLLM');
    expect(() => getPreset('nope')).toThrow(InvalidArgumentError);
  });

  it('takes scheme://host:port from a status line', () => {
    expect(
      findServiceOrigin(
        '🟢 Model management service is running on http://127.0.0.1:52735/openai/status',
      ),
    ).toBe('http://127.0.0.1:52735');
    expect(findServiceOrigin('running at https://localhost:5273.')).toBe('https://localhost:5273');
    expect(findServiceOrigin('no url here')).toBeUndefined();
  });
});

describe('resolvePresetBaseUrl', () => {
  it('uses FOUNDRY_LOCAL_ENDPOINT as-is without running anything', async () => {
    const { runCommand, calls } = fakeRunner([]);
    for (const endpoint of ['http://127.0.0.1:5000/v1', 'http://127.0.0.1:5000']) {
      await expect(
        resolvePresetBaseUrl('foundry', {
          environment: { FOUNDRY_LOCAL_ENDPOINT: endpoint },
          runCommand,
        }),
      ).resolves.toEqual({ baseUrl: endpoint, source: 'environment' });
    }
    expect(calls).toEqual([]);
  });

  it("discovers Foundry Local's dynamic port from 'foundry service status'", async () => {
    const { runCommand, calls } = fakeRunner([
      {
        exitCode: 0,
        stdout: '🟢 Model management service is running on http://127.0.0.1:52735/openai/status\n',
        stderr: '',
      },
    ]);
    await expect(resolvePresetBaseUrl('foundry', { environment: {}, runCommand })).resolves.toEqual(
      { baseUrl: 'http://127.0.0.1:52735/v1', source: 'foundry-status' },
    );
    expect(calls).toEqual([{ command: 'foundry', args: ['service', 'status'], timeoutMs: 5000 }]);
  });

  it("falls back to 'foundry server status' when 'service status' fails", async () => {
    const { runCommand, calls } = fakeRunner([
      { exitCode: 1, stdout: '', stderr: "Unknown command 'service'" },
      { exitCode: 0, stdout: 'Server running at http://localhost:61234/openai/status', stderr: '' },
    ]);
    await expect(resolvePresetBaseUrl('foundry', { environment: {}, runCommand })).resolves.toEqual(
      { baseUrl: 'http://localhost:61234/v1', source: 'foundry-status' },
    );
    expect(calls.map((call) => call.args.join(' '))).toEqual(['service status', 'server status']);
  });

  it('falls back to port 5273 when foundry is not on PATH or prints no URL', async () => {
    const missing = fakeRunner([notFound]);
    await expect(
      resolvePresetBaseUrl('foundry', { environment: {}, runCommand: missing.runCommand }),
    ).resolves.toEqual({ baseUrl: 'http://localhost:5273/v1', source: 'default' });
    expect(missing.calls).toHaveLength(1);
    const silent = fakeRunner([
      { exitCode: null, stdout: '', stderr: '', failure: 'timeout' },
      { exitCode: 1, stdout: 'Service is not running', stderr: '' },
    ]);
    await expect(
      resolvePresetBaseUrl('foundry', { environment: {}, runCommand: silent.runCommand }),
    ).resolves.toEqual({ baseUrl: 'http://localhost:5273/v1', source: 'default' });
  });

  it('returns fixed defaults for other presets and requires a URL for openai', async () => {
    const { runCommand, calls } = fakeRunner([]);
    await expect(resolvePresetBaseUrl('ollama', { environment: {}, runCommand })).resolves.toEqual({
      baseUrl: 'http://localhost:11434/v1',
      source: 'default',
    });
    await expect(resolvePresetBaseUrl('openai', { environment: {}, runCommand })).rejects.toThrow(
      InvalidArgumentError,
    );
    expect(calls).toEqual([]);
  });
});

describe('createProcessCommandRunner', () => {
  const runCommand = createProcessCommandRunner(process.env);

  it('runs a real command and reports not-found for a missing one', async () => {
    const ok = await runCommand(process.execPath, ['-e', 'console.log("hi")'], {
      timeoutMs: 10_000,
    });
    expect(ok).toEqual({ exitCode: 0, stdout: 'hi\n', stderr: '' });
    const failing = await runCommand(process.execPath, ['-e', 'process.exit(3)'], {
      timeoutMs: 10_000,
    });
    expect(failing.exitCode).toBe(3);
    expect(failing.failure).toBeUndefined();
    const missing = await runCommand('tandem-no-such-command-xyz', [], { timeoutMs: 1000 });
    expect(missing.failure).toBe('not-found');
  });

  it('kills a command that runs past its timeout', async () => {
    const slow = await runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], {
      timeoutMs: 200,
    });
    expect(slow.failure).toBe('timeout');
    expect(slow.exitCode).toBeNull();
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_HOME } from '../../test/support/demo-models.js';
import { fakeTerminal } from '../../test/support/fake-terminal.js';
import { type SyntheticServer, startSyntheticServer } from '../../test/support/synthetic-server.js';
import { main } from '../cli/main.js';
import { demoModelDefinition } from '../models/demo/definitions.js';
import { openDatabase } from '../store/database.js';
import { createBenchRecorder, getStoredRun } from './history/bench-store.js';
import { renderReport } from './reports/index.js';
import { runBenchmark } from './runner.js';
import type { BenchSettings } from './types.js';

function settingsFor(models: string[], overrides: Partial<BenchSettings> = {}): BenchSettings {
  return {
    name: 'test',
    models,
    prompts: { kind: 'prompt', text: 'Hello' },
    maxTokens: 12,
    temperature: 0,
    seed: 1,
    warmup: 0,
    rounds: 6,
    levels: [{ mode: 'closed', concurrency: 1 }],
    stream: true,
    ignoreEos: false,
    slo: {},
    threads: undefined,
    gpu: undefined,
    contextSize: undefined,
    stallThresholdMs: 1000,
    ...overrides,
  };
}

let server: SyntheticServer;
const noRetries = { env: { RETRY_ON_FAIL: '0' }, idleTimeoutMs: 300 };

beforeAll(async () => {
  server = await startSyntheticServer({ ttftMs: 15, itlMs: 3 });
});
afterAll(async () => {
  await server.close();
});

describe('tandem bench against a synthetic server', () => {
  it('records each failure with its cause, goes on, and stores every request', async () => {
    const database = openDatabase(join(mkdtempSync(join(tmpdir(), 'tandem-bench-')), 'tandem.db'));
    server.enqueueFaults([
      { status: 500 },
      { status: 429, retryAfterSeconds: 1 },
      { dropAfterTokens: 3 },
      { stallAfterTokens: 2, stallMs: 2000 },
    ]);
    const run = await runBenchmark({
      settings: settingsFor([`${server.baseUrl}#synthetic`], { slo: { ttftMs: 1000 } }),
      recorder: createBenchRecorder(database),
      engineOptions: noRetries,
      measureBandwidth: false,
    });
    const [level] = run.levels;
    expect(level).toMatchObject({
      requests: 6,
      completed: 2,
      errors: 4,
      errorsByCause: { 'http-5xx': 1, 'http-429': 1, interrupted: 1, 'timeout-idle': 1 },
      shortOutputs: 0,
    });
    expect(level?.goodputShare).toBeCloseTo(2 / 6, 10);
    expect(level?.ttftMs?.n).toBe(2);
    expect(level?.ttftMs?.p50).toBeGreaterThanOrEqual(14);
    expect(level?.tpotMs?.p50).toBeGreaterThan(2);
    expect(level?.tpotMs?.p50).toBeLessThan(10);
    expect(level?.outputTokensPerSecond).toBeGreaterThan(0);
    const failed = run.requests.filter((record) => record.errorCause !== undefined);
    expect(failed.every((record) => record.errorMessage !== undefined)).toBe(true);
    // Partial output of the dropped stream is kept in the record.
    expect(run.requests.find((record) => record.errorCause === 'interrupted')?.outputTokens).toBe(
      3,
    );
    const stored = getStoredRun(database, run.id as number);
    expect(stored.status).toBe('complete');
    expect(stored.run.requests).toHaveLength(6);
    const csv = renderReport(stored.run, 'csv').trim().split(/\r?\n/);
    expect(csv).toHaveLength(7);
    expect(JSON.parse(renderReport(stored.run, 'json')).levels[0].errors).toBe(4);
    database.close();
  });

  it('offers Poisson load for a duration (open loop)', async () => {
    const run = await runBenchmark({
      settings: settingsFor([`${server.baseUrl}#synthetic`], {
        levels: [{ mode: 'open', ratePerSecond: 40, durationSeconds: 1 }],
      }),
      measureBandwidth: false,
    });
    const measured = run.requests.filter((record) => !record.warmup);
    expect(measured.length).toBeGreaterThan(20);
    expect(measured.length).toBeLessThan(65);
    // Arrivals do not wait for earlier requests: several are in flight at once.
    const overlapping = measured.filter((record, index) => {
      const previous = measured[index - 1];
      return (
        previous !== undefined && record.issuedAtMs < previous.issuedAtMs + (previous.e2eMs ?? 0)
      );
    });
    expect(overlapping.length).toBeGreaterThan(0);
    expect(run.levels[0]?.errors).toBe(0);
  });

  it('keeps what it measured when stopped, marked incomplete', async () => {
    const database = openDatabase(join(mkdtempSync(join(tmpdir(), 'tandem-bench-')), 'tandem.db'));
    const controller = new AbortController();
    const run = await runBenchmark({
      settings: settingsFor([`${server.baseUrl}#synthetic`], { rounds: 50 }),
      recorder: createBenchRecorder(database),
      signal: controller.signal,
      measureBandwidth: false,
      onProgress: (event) => {
        if (event.type === 'request' && event.done === 3) controller.abort();
      },
    });
    expect(run.incomplete).toBe(true);
    expect(run.requests.length).toBeGreaterThanOrEqual(3);
    expect(run.requests.length).toBeLessThan(10);
    const stored = getStoredRun(database, run.id as number);
    expect(stored.status).toBe('incomplete');
    expect(stored.run.requests.length).toBe(run.requests.length);
    database.close();
  });

  it('exits non-zero with the first causes when every request failed', async () => {
    server.enqueueFaults(Array.from({ length: 3 }, () => ({ status: 503 })));
    const terminal = fakeTerminal({
      TANDEM_HOME: mkdtempSync(join(tmpdir(), 'tandem-bench-home-')),
      RETRY_ON_FAIL: '0',
    });
    const code = await main(
      ['bench', `${server.baseUrl}#synthetic`, '--rounds', '3', '--warmup', '0'],
      terminal,
    );
    expect(code).toBe(4);
    expect(terminal.errors()).toMatch(/error: Every request failed: http-5xx: /);
    expect(terminal.output()).toMatch(/c=1\s+3\s+3/);
  });
});

describe('tandem bench on the demo models', () => {
  it('benchmarks an onnx model, identified by the SHA-256 of its weights file', async () => {
    const terminal = fakeTerminal({ TANDEM_HOME: TEST_HOME });
    const out = join(mkdtempSync(join(tmpdir(), 'tandem-bench-')), 'report.json');
    const code = await main(
      ['bench', 'onnx:demo-slm', '--rounds', '2', '--max-tokens', '8', '--out', out],
      terminal,
    );
    expect(code, terminal.errors()).toBe(0);
    expect(terminal.output()).toMatch(/onnx:demo-slm\s+c=1\s+2\s+0/);
    const { readFileSync } = await import('node:fs');
    const run = JSON.parse(readFileSync(out, 'utf8'));
    expect(run.models[0]).toMatchObject({
      gpu: 'cpu fp32',
      modelSha256: demoModelDefinition('demo-slm').onnxSha256,
    });
  });

  it('sweeps concurrency on the embedded engine, with every figure and a verdict', async () => {
    const terminal = fakeTerminal({ TANDEM_HOME: TEST_HOME });
    const out = join(mkdtempSync(join(tmpdir(), 'tandem-bench-')), 'report.json');
    const code = await main(
      [
        'bench',
        'demo-slm',
        'demo-llm',
        '--rounds',
        '3',
        '--max-tokens',
        '16',
        '--concurrency',
        '1,2',
        '--out',
        out,
      ],
      terminal,
    );
    expect(code).toBe(0);
    expect(terminal.output()).toMatch(/demo-slm\s+c=1\s+3\s+0/);
    expect(terminal.output()).toMatch(/demo-llm\s+c=2\s+3\s+0/);
    expect(terminal.output()).toMatch(/c=1, decode tok\/s: demo-slm better by \d+\.\d\dx/);
    expect(terminal.output()).toMatch(/Client event-loop lag: p50/);
    expect(terminal.errors()).toMatch(/Saved as run \d+/);
    const { readFileSync } = await import('node:fs');
    const run = JSON.parse(readFileSync(out, 'utf8'));
    expect(run.levels).toHaveLength(4);
    expect(run.models[0].modelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(run.models[1].threads).toBe(1);
    expect(run.levels.every((level: { shortOutputs: number }) => level.shortOutputs === 0)).toBe(
      true,
    );
    expect(run.levels[3].bandwidthCeilingShare).toBeGreaterThan(0);
    const record = run.requests.find((request: { warmup: boolean }) => !request.warmup);
    expect(record.tokenTimesMs[0]).toBeCloseTo(record.ttftMs, 6);
  });

  it('reads the workshop variables', async () => {
    const terminal = fakeTerminal({
      TANDEM_HOME: TEST_HOME,
      BENCH_MODELS: 'demo-slm',
      BENCH_ROUNDS: '2',
      BENCH_PROMPT: 'Workshop prompt',
      BENCH_STREAM: '0',
    });
    const code = await main(['bench', '--max-tokens', '8', '--json'], terminal);
    expect(code).toBe(0);
    const run = JSON.parse(terminal.output());
    expect(run.settings).toMatchObject({
      models: ['demo-slm'],
      rounds: 2,
      stream: false,
      prompts: { text: 'Workshop prompt' },
    });
    const measured = run.requests.filter((request: { warmup: boolean }) => !request.warmup);
    expect(measured).toHaveLength(2);
    // Not streamed: no time to first token is reported.
    expect(measured.every((request: { ttftMs?: number }) => request.ttftMs === undefined)).toBe(
      true,
    );
  });
});

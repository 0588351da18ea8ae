import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticRun } from '../../test/support/bench-run.js';
import { fakeTerminal } from '../../test/support/fake-terminal.js';
import { createBenchRecorder, saveRun } from '../bench/history/bench-store.js';
import type { BenchRun } from '../bench/types.js';
import { errorLine, TandemError } from '../errors.js';
import { defaultDatabasePath, withDatabase } from '../store/database.js';
import { registerRunsCommand } from './runs-command.js';

const home = mkdtempSync(join(tmpdir(), 'tandem-runs-'));
const level = { mode: 'closed', concurrency: 1 } as const;

/** `tandem ARGS` with only the runs command registered, errors mapped as main() does. */
async function tandem(args: string[], env: NodeJS.ProcessEnv = { TANDEM_HOME: home }) {
  const terminal = fakeTerminal(env);
  let code = 0;
  const program = new Command('tandem').exitOverride().configureOutput({
    writeOut: (text) => terminal.stdout.write(text),
    writeErr: (text) => terminal.stderr.write(text),
  });
  registerRunsCommand(program, terminal, (exitCode) => {
    code = exitCode;
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) code = error.exitCode === 0 ? 0 : 2;
    else if (error instanceof TandemError) {
      terminal.stderr.write(`error: ${errorLine(error)}\n`);
      code = error.exitCode;
    } else throw error;
  }
  return { code, stdout: terminal.output(), stderr: terminal.errors() };
}

let baseline: number;
let slower: number;
let crashed: number;

beforeAll(() => {
  withDatabase(defaultDatabasePath(home), (db) => {
    baseline = saveRun(db, {
      ...syntheticRun({ models: ['demo-llm'], levels: [level], seed: 1 }),
      name: 'before',
    });
    slower = saveRun(db, {
      ...syntheticRun({ models: ['demo-llm'], levels: [level], seed: 2, slowdown: 2 }),
      name: 'after',
    });
    // A run whose process died before finishing: started, 5 requests, no summaries.
    const run: BenchRun = {
      ...syntheticRun({ models: ['demo-slm'], levels: [level] }),
      name: 'killed',
    };
    const recorder = createBenchRecorder(db);
    const started: BenchRun = { ...run, requests: [], levels: [], comparisons: [] };
    recorder.start(started);
    crashed = started.id as number;
    for (const request of run.requests.slice(0, 7)) recorder.request(crashed, request);
    db.prepare('UPDATE bench_runs SET pid = ? WHERE id = ?').run(2_000_000_000, crashed);
  });
});

describe('tandem runs', () => {
  it('list: a table of runs, newest first; the dead run is incomplete', async () => {
    const result = await tandem(['runs', 'list']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^id\s+name\s+started\s+status\s+models\s+levels\s+requests\s+errors$/,
    );
    expect(lines[2]).toMatch(
      new RegExp(
        `^\\s*${crashed}\\s+killed\\s.*incomplete\\s+demo-slm\\s+c=1\\s+5 \\(\\+2 warm-up\\)\\s+0$`,
      ),
    );
    expect(lines[3]).toMatch(
      new RegExp(
        `^\\s*${slower}\\s+after\\s.*complete\\s+demo-llm\\s+c=1\\s+20 \\(\\+2 warm-up\\)\\s+0$`,
      ),
    );
    expect(result.stdout).toContain('tandem runs diff A B');
  });

  it('list --json', async () => {
    const result = await tandem(['runs', 'list', '--json', '--limit', '2']);
    const runs = JSON.parse(result.stdout) as { id: number; status: string }[];
    expect(runs.map((run) => run.id)).toEqual([crashed, slower]);
    expect(runs[0]?.status).toBe('incomplete');
  });

  it('list of an empty home says how to make a run', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tandem-runs-empty-'));
    const result = await tandem(['runs'], { TANDEM_HOME: empty });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('No runs yet');
    expect(result.stdout).toContain('tandem bench');
  });

  it('show: the summary table, settings and machine', async () => {
    const result = await tandem(['runs', 'show', String(baseline)]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Run ${baseline} "before": complete`);
    expect(result.stdout).toMatch(
      /model\s+level\s+n\s+errors\s+TTFT p50\s+TTFT p95\s+TPOT p50\s+decode p50\s+E2E p50\s+E2E p95\s+output\s+goodput/,
    );
    expect(result.stdout).toMatch(/demo-llm\s+c=1\s+20\s+0\s+\d+(\.\d+)? ms/);
    expect(result.stdout).toContain('321 tok/s');
    expect(result.stdout).toContain('2.50 req/s (75%)');
    expect(result.stdout).toContain('Settings: prompts 3 synthetic');
    expect(result.stdout).toContain('Machine: Synthetic CPU @ 3.0GHz, 2 cores');
    expect(result.stdout).toContain('Client event-loop lag: p50 0.50 ms');
  });

  it('show of a killed run: figures from its requests, marked incomplete', async () => {
    const result = await tandem(['runs', 'show', String(crashed)]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('incomplete (stopped before the end)');
    expect(result.stdout).toMatch(/demo-slm\s+c=1\s+5\s+0\s/);
    expect(result.stdout).toContain('computed from the recorded requests');
  });

  it('show --json has the whole run', async () => {
    const result = await tandem(['runs', 'show', String(baseline), '--json']);
    const parsed = JSON.parse(result.stdout) as { status: string; run: BenchRun };
    expect(parsed.status).toBe('complete');
    expect(parsed.run.requests).toHaveLength(22);
  });

  it('diff: a run twice as slow is slower beyond noise, line by line', async () => {
    const result = await tandem(['runs', 'diff', String(baseline), String(slower)]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^demo-llm c=1: TTFT \\d\\.\\d\\dx slower in run ${slower} than run ${baseline} \\(95% CI \\d\\.\\d\\dx–\\d\\.\\d\\dx\\)$`,
      ),
    );
    expect(lines[1]).toMatch(/^demo-llm c=1: TPOT .* slower/);
    expect(lines[2]).toMatch(/^demo-llm c=1: E2E .* slower/);
    expect(lines[3]).toMatch(/^demo-llm c=1: decode tok\/s .* slower/);
    const json = JSON.parse(
      (await tandem(['runs', 'diff', String(baseline), String(slower), '--json'])).stdout,
    ) as { lines: { beyondNoise: boolean }[] };
    expect(json.lines.every((line) => line.beyondNoise)).toBe(true);
  });

  it('diff of a run with itself: indistinguishable from noise', async () => {
    const result = await tandem(['runs', 'diff', String(baseline), String(baseline)]);
    expect(result.stdout).toMatch(/^demo-llm c=1: TTFT indistinguishable from noise/);
  });

  it('export: the report file, its format from the extension', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tandem-export-'));
    for (const extension of ['json', 'csv', 'md', 'html']) {
      const file = join(out, `run.${extension}`);
      const result = await tandem(['runs', 'export', String(baseline), '--out', file]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`Wrote run ${baseline}`);
      expect(existsSync(file)).toBe(true);
    }
    const exported = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as BenchRun;
    expect(exported.id).toBe(baseline);
    expect(exported.requests).toHaveLength(22);
    expect(readFileSync(join(out, 'run.csv'), 'utf8').trim().split('\n').length).toBeGreaterThan(
      22,
    );
    const bad = await tandem(['runs', 'export', String(baseline), '--out', join(out, 'run.txt')]);
    expect(bad.code).toBe(2);
  });

  it('an unknown run: one line and exit 3; a run id that is not a number: exit 2', async () => {
    for (const args of [
      ['runs', 'show', '999'],
      ['runs', 'diff', String(baseline), '999'],
      ['runs', 'export', '999', '--out', join(home, 'x.json')],
    ]) {
      const result = await tandem(args);
      expect(result.code, args.join(' ')).toBe(3);
      expect(result.stderr).toBe("error: No run 999: see 'tandem runs list'.\n");
    }
    const bad = await tandem(['runs', 'show', 'seven']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: Invalid run id 'seven'/);
  });

  it('a database that is not SQLite: one line naming it, exit 5', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'tandem-runs-broken-'));
    writeFileSync(defaultDatabasePath(broken), 'not a database at all\n'.repeat(100));
    const result = await tandem(['runs', 'list'], { TANDEM_HOME: broken });
    expect(result.code).toBe(5);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(
      `${defaultDatabasePath(broken)} is not a SQLite database or is corrupt`,
    );
    expect(result.stderr).toContain('move it aside');
  });
});

/**
 * The database survives a process killed mid-run: a child process (the compiled store in
 * dist/, as `tandem bench` runs it) records a run and is killed with SIGKILL; the parent
 * reopens the database and finds the run, marked incomplete, with exactly the requests
 * written before the kill.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { getStoredRun, listRuns } from '../src/bench/history/bench-store.js';
import { openDatabase } from '../src/store/database.js';
import { encodeJson } from '../src/store/json-columns.js';
import { syntheticRun } from '../test/support/bench-run.js';

const dist = resolve(import.meta.dirname, '../dist');
const ROUNDS = 2000;
const scratch = mkdtempSync(join(tmpdir(), 'tandem-crash-'));

const CHILD_SCRIPT = `
import { readFileSync } from 'node:fs';
const [databaseUrl, storeUrl, databasePath, runPath, mode, pauseAfter] = process.argv.slice(2);
const { openDatabase } = await import(databaseUrl);
const { createBenchRecorder } = await import(storeUrl);
const { decodeJson } = await import(new URL('../../store/json-columns.js', storeUrl).href);
// The test's run, its undefined fields kept (JSON alone would drop them).
const run = decodeJson(readFileSync(runPath, 'utf8'));
const requests = run.requests;
const db = openDatabase(databasePath);
const recorder = createBenchRecorder(db);
const started = { ...run, requests: [], levels: [], comparisons: [] };
recorder.start(started);
run.id = started.id;
process.stdout.write('started ' + run.id + '\\n');
let written = 0;
function writeOne() {
  recorder.request(run.id, requests[written]);
  written++;
  process.stdout.write('wrote ' + written + '\\n');
}
if (mode === 'pause') {
  while (written < Number(pauseAfter)) writeOne();
  process.stdout.write('paused\\n');
  setInterval(() => {}, 1000);
} else {
  // As fast as it can, until killed.
  const loop = () => {
    if (written < requests.length) { writeOne(); setImmediate(loop); }
    else setInterval(() => {}, 1000);
  };
  loop();
}
`;

interface ChildResult {
  lines: string[];
  child: ChildProcess;
}

/** Starts the child; resolves once `ready(lines)` says so, then SIGKILLs it and waits for its end. */
function runAndKill(
  databasePath: string,
  mode: 'pause' | 'flood',
  pauseAfter: number,
  ready: (lines: string[]) => boolean,
): Promise<ChildResult> {
  const script = join(scratch, 'child.mjs');
  writeFileSync(script, CHILD_SCRIPT);
  const runPath = join(scratch, `run-${mode}.json`);
  writeFileSync(runPath, encodeJson(syntheticRun({ models: ['demo-slm'], rounds: ROUNDS })));
  const child = spawn(
    process.execPath,
    [
      script,
      pathToFileURL(join(dist, 'store', 'database.js')).href,
      pathToFileURL(join(dist, 'bench', 'history', 'bench-store.js')).href,
      databasePath,
      runPath,
      mode,
      String(pauseAfter),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolvePromise, reject) => {
    const lines: string[] = [];
    let buffer = '';
    let stderr = '';
    let killed = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      lines.push(...parts);
      if (!killed && ready(lines)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    // 'exit' after the kill: the process is reaped, so its pid is no longer alive.
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolvePromise({ lines, child });
      else reject(new Error(`child ended on its own (code ${code}): ${stderr.trim()}`));
    });
  });
}

describe('a run killed mid-way (the compiled store: npm test builds it first)', () => {
  beforeAll(() => {
    const store = join(dist, 'bench', 'history', 'bench-store.js');
    if (!existsSync(store)) throw new Error(`${store} is missing: run 'npm run build' first.`);
  });

  it('SIGKILL after 37 requests: the run is incomplete with exactly those 37 requests', async () => {
    const path = join(scratch, 'paused.db');
    const { lines } = await runAndKill(path, 'pause', 37, (seen) => seen.includes('paused'));
    const runId = Number(lines[0]?.split(' ')[1]);
    const db = openDatabase(path);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const stored = getStoredRun(db, runId);
      expect(stored.status).toBe('incomplete');
      expect(stored.run.incomplete).toBe(true);
      const expected = syntheticRun({ models: ['demo-slm'], rounds: ROUNDS }).requests.slice(0, 37);
      expect(stored.run.requests).toStrictEqual(expected);
      expect(listRuns(db)[0]).toMatchObject({ id: runId, status: 'incomplete' });
    } finally {
      db.close();
    }
  });

  it('SIGKILL while writing as fast as it can: every acknowledged request is there, nothing torn', async () => {
    const path = join(scratch, 'flood.db');
    const { lines } = await runAndKill(
      path,
      'flood',
      0,
      (seen) => seen.filter((line) => line.startsWith('wrote')).length >= 150,
    );
    const acknowledged = lines.filter((line) => line.startsWith('wrote')).length;
    const runId = Number(lines[0]?.split(' ')[1]);
    const db = openDatabase(path);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const stored = getStoredRun(db, runId);
      expect(stored.status).toBe('incomplete');
      const count = stored.run.requests.length;
      // Written = acknowledged, or one more whose insert committed before its line was sent.
      expect(count).toBeGreaterThanOrEqual(acknowledged);
      expect(count).toBeLessThanOrEqual(acknowledged + 1);
      const plan = syntheticRun({ models: ['demo-slm'], rounds: ROUNDS }).requests;
      expect(stored.run.requests).toStrictEqual(plan.slice(0, count));
    } finally {
      db.close();
    }
  });
});

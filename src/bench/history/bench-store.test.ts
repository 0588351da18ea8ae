import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syntheticModel, syntheticRun } from '../../../test/support/bench-run.js';
import { type Database, openDatabase } from '../../store/database.js';
import { RunNotFoundError } from '../../store/errors.js';
import type { BenchRun } from '../types.js';
import {
  createBenchRecorder,
  deleteRun,
  getRun,
  getStoredRun,
  listRuns,
  markAbandonedRuns,
  saveRun,
} from './bench-store.js';

const scratch = mkdtempSync(join(tmpdir(), 'tandem-store-'));
let db: Database;
let counter = 0;

beforeEach(() => {
  db = openDatabase(join(scratch, `store-${counter++}.db`));
});
afterEach(() => db.close());

/** Records a run the way the runner does: start, each request, models, finish. */
function record(run: BenchRun): number {
  const recorder = createBenchRecorder(db);
  const final = structuredClone(run);
  const started: BenchRun = { ...structuredClone(run), levels: [], requests: [], comparisons: [] };
  recorder.start(started);
  const id = started.id as number;
  for (const request of run.requests) recorder.request(id, request);
  recorder.updateModels(id, run.models);
  final.id = id;
  recorder.finish(final);
  return id;
}

describe('bench store', () => {
  it('round trip: a recorded run reads back deep-equal, undefined fields included', () => {
    const run = syntheticRun({ failEvery: 5 });
    const id = record(run);
    expect(id).toBeGreaterThan(0);
    const back = getRun(db, id);
    expect(back).toStrictEqual({ ...run, id });
    // Floating point survives bit for bit.
    expect(back.requests[3]?.tokenTimesMs).toEqual(run.requests[3]?.tokenTimesMs);
  });

  it('an interrupted run (finish with incomplete) reads back incomplete', () => {
    const run = { ...syntheticRun({ models: ['demo-slm'], rounds: 3 }), incomplete: true };
    const id = record(run);
    const stored = getStoredRun(db, id);
    expect(stored.status).toBe('incomplete');
    expect(stored.run).toStrictEqual({ ...run, id });
  });

  it('start sets run.id and status running with this pid; requests are stored as they come', () => {
    const recorder = createBenchRecorder(db);
    const run = { ...syntheticRun({ models: ['demo-slm'], rounds: 2, warmup: 0 }), requests: [] };
    recorder.start(run);
    expect(run.id).toBeDefined();
    const full = syntheticRun({ models: ['demo-slm'], rounds: 2, warmup: 0 });
    recorder.request(run.id as number, full.requests[1] as never);
    const stored = getStoredRun(db, run.id as number);
    expect(stored.status).toBe('running');
    expect(stored.pid).toBe(process.pid);
    expect(stored.run.incomplete).toBe(true);
    expect(stored.run.requests).toStrictEqual([full.requests[1]]);
  });

  it('updateModels replaces the models; an unknown run id throws', () => {
    const recorder = createBenchRecorder(db);
    const run = syntheticRun({ models: ['demo-slm'] });
    recorder.start(run);
    const updated = [{ ...syntheticModel('demo-slm'), loadMs: 999.5, peakRssBytes: 42 }];
    recorder.updateModels(run.id as number, updated);
    expect(getRun(db, run.id as number).models).toStrictEqual(updated);
    expect(() => recorder.updateModels(9999, updated)).toThrow(RunNotFoundError);
  });

  it('finish stores requests the recorder was not given, without duplicating the others', () => {
    const run = syntheticRun({
      models: ['demo-slm'],
      levels: [{ mode: 'closed', concurrency: 1 }],
    });
    const recorder = createBenchRecorder(db);
    const copy = structuredClone(run);
    recorder.start(copy);
    for (const request of run.requests.slice(0, 5)) recorder.request(copy.id as number, request);
    recorder.finish(copy);
    expect(getRun(db, copy.id as number).requests).toStrictEqual(run.requests);
  });

  it('a duplicate request index is refused', () => {
    const run = syntheticRun({ models: ['demo-slm'], rounds: 1, warmup: 0 });
    const recorder = createBenchRecorder(db);
    recorder.start(run);
    const request = run.requests[0];
    if (request === undefined) throw new Error('no request');
    recorder.request(run.id as number, request);
    expect(() => recorder.request(run.id as number, request)).toThrow(/UNIQUE/);
  });

  it('listRuns: newest first, with models, levels, request and error counts; limit', () => {
    const first = saveRun(db, syntheticRun({ models: ['demo-slm'], rounds: 10, warmup: 2 }));
    const second = saveRun(
      db,
      syntheticRun({ models: ['demo-slm', 'demo-llm'], rounds: 5, warmup: 1, failEvery: 5 }),
    );
    const runs = listRuns(db);
    expect(runs.map((run) => run.id)).toEqual([second, first]);
    expect(runs[0]).toEqual({
      id: second,
      name: 'synthetic',
      startedAt: '2025-01-31T14:05:09.123Z',
      finishedAt: '2025-01-31T14:06:10.456Z',
      status: 'complete',
      models: ['demo-slm', 'demo-llm'],
      levels: [
        { mode: 'closed', concurrency: 1 },
        { mode: 'closed', concurrency: 4 },
      ],
      requests: 2 * 2 * 5,
      warmupRequests: 2 * 2 * 1,
      errors: 2 * 2 * 1,
    });
    expect(runs[1]?.requests).toBe(2 * 10);
    expect(runs[1]?.errors).toBe(0);
    expect(listRuns(db, { limit: 1 }).map((run) => run.id)).toEqual([second]);
  });

  it('deleteRun removes the run and its requests (cascade); ids are not reused', () => {
    const id = saveRun(db, syntheticRun({ models: ['demo-slm'], rounds: 3 }));
    deleteRun(db, id);
    expect(() => getRun(db, id)).toThrow(RunNotFoundError);
    expect(db.prepare('SELECT count(*) AS n FROM bench_requests').get()).toEqual({ n: 0 });
    expect(() => deleteRun(db, id)).toThrow("No run 1: see 'tandem runs list'.");
    expect(saveRun(db, syntheticRun({ models: ['demo-slm'], rounds: 1 }))).toBe(id + 1);
  });

  it('markAbandonedRuns: a running run whose process is gone becomes incomplete', () => {
    const recorder = createBenchRecorder(db);
    const mine = syntheticRun({ models: ['demo-slm'] });
    const theirs = syntheticRun({ models: ['demo-llm'] });
    recorder.start(mine);
    recorder.start(theirs);
    db.prepare('UPDATE bench_runs SET pid = ? WHERE id = ?').run(2_000_000_000, theirs.id);
    expect(markAbandonedRuns(db)).toEqual([theirs.id]);
    expect(getStoredRun(db, theirs.id as number).status).toBe('incomplete');
    expect(getStoredRun(db, mine.id as number).status).toBe('running');
    // list and show mark them too.
    db.prepare("UPDATE bench_runs SET status = 'running' WHERE id = ?").run(theirs.id);
    expect(listRuns(db).find((run) => run.id === theirs.id)?.status).toBe('incomplete');
  });

  it('getRun of an unknown id: RunNotFoundError with exit code 3', () => {
    let error: unknown;
    try {
      getRun(db, 12);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RunNotFoundError);
    expect((error as RunNotFoundError).exitCode).toBe(3);
    expect((error as Error).message).toBe("No run 12: see 'tandem runs list'.");
  });
});

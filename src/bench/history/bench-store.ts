/**
 * Benchmark history in SQLite: one row per run in `bench_runs`, one per request in
 * `bench_requests`. A recorder writes each request as it completes, each insert its own
 * (implicit) transaction, so a crash or Ctrl-C loses at most the request in flight; a run
 * whose process died while it was 'running' is found and marked 'incomplete' later.
 */

import type { FinishReason } from '../../engines/spec.js';
import type { TokenCountSource } from '../../measure/generation-timing.js';
import type { MachineInfo } from '../../measure/machine.js';
import type { Database } from '../../store/database.js';
import { RunNotFoundError } from '../../store/errors.js';
import {
  decodeJson,
  decodeOptionalJson,
  encodeJson,
  encodeOptionalJson,
} from '../../store/json-columns.js';
import type {
  BenchComparison,
  BenchLevelSummary,
  BenchModelInfo,
  BenchRecorder,
  BenchRequestRecord,
  BenchRun,
  BenchSettings,
  ErrorCause,
  EventLoopLagSummary,
  LoadLevel,
  ServerTimingRecord,
} from '../types.js';

export type RunStatus = 'running' | 'complete' | 'incomplete';

interface RunRow {
  id: number;
  name: string | null;
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
  pid: number | null;
  settings: string;
  machine: string;
  models: string;
  levels: string;
  comparisons: string;
  event_loop_lag: string | null;
  bandwidth: number | null;
  tandem_version: string;
}

interface RequestRow {
  request_index: number;
  model_index: number;
  level_index: number;
  warmup: number;
  prompt_index: number;
  issued_at_ms: number;
  queue_ms: number;
  attempts: number;
  ttft_ms: number | null;
  ttfo_ms: number | null;
  e2e_ms: number | null;
  tpot_ms: number | null;
  decode_tokens_per_second: number | null;
  output_tokens: number;
  output_tokens_source: string;
  prompt_tokens: number | null;
  reasoning_tokens: number | null;
  token_times_ms: string;
  stall_count: number;
  finish_reason: string;
  short_output: number;
  error_cause: string | null;
  error_message: string | null;
  server_timings: string | null;
  meets_slo: number | null;
}

const INSERT_REQUEST_SQL = `
  INSERT INTO bench_requests (
    run_id, request_index, model_index, level_index, warmup, prompt_index, issued_at_ms,
    queue_ms, attempts, ttft_ms, ttfo_ms, e2e_ms, tpot_ms, decode_tokens_per_second,
    output_tokens, output_tokens_source, prompt_tokens, reasoning_tokens, token_times_ms,
    stall_count, finish_reason, short_output, error_cause, error_message, server_timings,
    meets_slo
  ) VALUES (
    @runId, @index, @modelIndex, @levelIndex, @warmup, @promptIndex, @issuedAtMs,
    @queueMs, @attempts, @ttftMs, @ttfoMs, @e2eMs, @tpotMs, @decodeTokensPerSecond,
    @outputTokens, @outputTokensSource, @promptTokens, @reasoningTokens, @tokenTimesMs,
    @stallCount, @finishReason, @shortOutput, @errorCause, @errorMessage, @serverTimings,
    @meetsSlo
  )`;

const nullable = <T>(value: T | undefined): T | null => (value === undefined ? null : value);
const optional = <T>(value: T | null): T | undefined => (value === null ? undefined : value);
const bit = (value: boolean): number => (value ? 1 : 0);

function requestParameters(runId: number, record: BenchRequestRecord) {
  return {
    runId,
    index: record.index,
    modelIndex: record.modelIndex,
    levelIndex: record.levelIndex,
    warmup: bit(record.warmup),
    promptIndex: record.promptIndex,
    issuedAtMs: record.issuedAtMs,
    queueMs: record.queueMs,
    attempts: record.attempts,
    ttftMs: nullable(record.ttftMs),
    ttfoMs: nullable(record.ttfoMs),
    e2eMs: nullable(record.e2eMs),
    tpotMs: nullable(record.tpotMs),
    decodeTokensPerSecond: nullable(record.decodeTokensPerSecond),
    outputTokens: record.outputTokens,
    outputTokensSource: record.outputTokensSource,
    promptTokens: nullable(record.promptTokens),
    reasoningTokens: nullable(record.reasoningTokens),
    tokenTimesMs: encodeJson(record.tokenTimesMs),
    stallCount: record.stallCount,
    finishReason: record.finishReason,
    shortOutput: bit(record.shortOutput),
    errorCause: nullable(record.errorCause),
    errorMessage: nullable(record.errorMessage),
    serverTimings: encodeOptionalJson(record.serverTimings),
    meetsSlo: record.meetsSlo === undefined ? null : bit(record.meetsSlo),
  };
}

function requestFromRow(row: RequestRow): BenchRequestRecord {
  return {
    index: row.request_index,
    modelIndex: row.model_index,
    levelIndex: row.level_index,
    warmup: row.warmup === 1,
    promptIndex: row.prompt_index,
    issuedAtMs: row.issued_at_ms,
    queueMs: row.queue_ms,
    attempts: row.attempts,
    ttftMs: optional(row.ttft_ms),
    ttfoMs: optional(row.ttfo_ms),
    e2eMs: optional(row.e2e_ms),
    tpotMs: optional(row.tpot_ms),
    decodeTokensPerSecond: optional(row.decode_tokens_per_second),
    outputTokens: row.output_tokens,
    outputTokensSource: row.output_tokens_source as TokenCountSource,
    promptTokens: optional(row.prompt_tokens),
    reasoningTokens: optional(row.reasoning_tokens),
    tokenTimesMs: decodeJson<number[]>(row.token_times_ms),
    stallCount: row.stall_count,
    finishReason: row.finish_reason as FinishReason,
    shortOutput: row.short_output === 1,
    errorCause: optional(row.error_cause) as ErrorCause | undefined,
    errorMessage: optional(row.error_message),
    serverTimings: decodeOptionalJson<ServerTimingRecord>(row.server_timings),
    meetsSlo: row.meets_slo === null ? undefined : row.meets_slo === 1,
  };
}

/**
 * A recorder that writes a run to the database as it happens. `start` inserts the run
 * (status 'running', this process's pid) and sets `run.id`; each `request` is one insert,
 * committed at once; `finish` writes summaries, comparisons, the end time and the status
 * ('incomplete' when `run.incomplete`), and stores any of `run.requests` not yet recorded.
 */
export function createBenchRecorder(db: Database): BenchRecorder {
  const insertRun = db.prepare(`
    INSERT INTO bench_runs (
      name, started_at, finished_at, status, pid, settings, machine, models, levels,
      comparisons, event_loop_lag, bandwidth, tandem_version
    ) VALUES (
      @name, @startedAt, NULL, 'running', @pid, @settings, @machine, @models, '[]', '[]',
      NULL, @bandwidth, @tandemVersion
    )`);
  const insertRequest = db.prepare(INSERT_REQUEST_SQL);
  const insertRequestIfNew = db.prepare(INSERT_REQUEST_SQL.replace('INSERT', 'INSERT OR IGNORE'));
  const updateModels = db.prepare('UPDATE bench_runs SET models = ? WHERE id = ?');
  const finishRun = db.prepare(`
    UPDATE bench_runs SET
      name = @name, finished_at = @finishedAt, status = @status, settings = @settings,
      machine = @machine, models = @models, levels = @levels, comparisons = @comparisons,
      event_loop_lag = @eventLoopLag, bandwidth = @bandwidth, tandem_version = @tandemVersion
    WHERE id = @id`);
  const finishTransaction = db.transaction((run: BenchRun, id: number) => {
    for (const record of run.requests) insertRequestIfNew.run(requestParameters(id, record));
    const result = finishRun.run({
      id,
      name: nullable(run.name),
      finishedAt: nullable(run.finishedAt),
      status: run.incomplete ? 'incomplete' : 'complete',
      settings: encodeJson(run.settings),
      machine: encodeJson(run.machine),
      models: encodeJson(run.models),
      levels: encodeJson(run.levels),
      comparisons: encodeJson(run.comparisons),
      eventLoopLag: encodeOptionalJson(run.eventLoopLag),
      bandwidth: nullable(run.memoryBandwidthBytesPerSecond),
      tandemVersion: run.tandemVersion,
    });
    if (result.changes === 0) throw new RunNotFoundError(id);
  });

  const start = (run: BenchRun): void => {
    const result = insertRun.run({
      name: nullable(run.name),
      startedAt: run.startedAt,
      pid: process.pid,
      settings: encodeJson(run.settings),
      machine: encodeJson(run.machine),
      models: encodeJson(run.models),
      bandwidth: nullable(run.memoryBandwidthBytesPerSecond),
      tandemVersion: run.tandemVersion,
    });
    run.id = Number(result.lastInsertRowid);
  };

  return {
    start,
    request(runId, record) {
      insertRequest.run(requestParameters(runId, record));
    },
    updateModels(runId, models) {
      const result = updateModels.run(encodeJson(models), runId);
      if (result.changes === 0) throw new RunNotFoundError(runId);
    },
    finish(run) {
      // A run never started is stored whole.
      if (run.id === undefined) start(run);
      finishTransaction(run, run.id as number);
    },
  };
}

/** Stores a finished run in one transaction (import, tests); returns its new id. */
export function saveRun(db: Database, run: BenchRun): number {
  const copy: BenchRun = { ...run, id: undefined };
  const recorder = createBenchRecorder(db);
  db.transaction(() => {
    recorder.start(copy);
    recorder.finish(copy);
  })();
  return copy.id as number;
}

/** Is the process alive? EPERM means it exists but belongs to someone else. */
export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs left 'running' by a process that is gone (killed, crashed, power lost) become
 * 'incomplete': what they hold was measured, the plan was not finished. Returns their ids.
 */
export function markAbandonedRuns(
  db: Database,
  alive: (pid: number) => boolean = isProcessAlive,
): number[] {
  const running = db.prepare("SELECT id, pid FROM bench_runs WHERE status = 'running'").all() as {
    id: number;
    pid: number | null;
  }[];
  const abandoned = running.filter((row) => row.pid === null || !alive(row.pid)).map((r) => r.id);
  if (abandoned.length === 0) return [];
  const mark = db.prepare(
    "UPDATE bench_runs SET status = 'incomplete' WHERE id = ? AND status = 'running'",
  );
  db.transaction(() => {
    for (const id of abandoned) mark.run(id);
  })();
  return abandoned;
}

/** One line of `tandem runs list`. */
export interface RunListEntry {
  id: number;
  name: string | undefined;
  startedAt: string;
  finishedAt: string | undefined;
  status: RunStatus;
  /** Model references, in the run's order. */
  models: string[];
  levels: LoadLevel[];
  /** Measured (non-warm-up) requests recorded. */
  requests: number;
  warmupRequests: number;
  /** Measured requests that failed. */
  errors: number;
}

/** Runs, newest first (after marking abandoned ones incomplete). */
export function listRuns(db: Database, options: { limit?: number } = {}): RunListEntry[] {
  markAbandonedRuns(db);
  const rows = db
    .prepare(`
      SELECT r.id, r.name, r.started_at, r.finished_at, r.status, r.models, r.settings,
        (SELECT count(*) FROM bench_requests q WHERE q.run_id = r.id AND q.warmup = 0) AS requests,
        (SELECT count(*) FROM bench_requests q WHERE q.run_id = r.id AND q.warmup = 1) AS warmups,
        (SELECT count(*) FROM bench_requests q
          WHERE q.run_id = r.id AND q.warmup = 0 AND q.error_cause IS NOT NULL) AS errors
      FROM bench_runs r ORDER BY r.id DESC LIMIT ?`)
    .all(options.limit ?? -1) as (Pick<
    RunRow,
    'id' | 'name' | 'started_at' | 'finished_at' | 'status' | 'models' | 'settings'
  > & { requests: number; warmups: number; errors: number })[];
  return rows.map((row) => ({
    id: row.id,
    name: optional(row.name),
    startedAt: row.started_at,
    finishedAt: optional(row.finished_at),
    status: row.status,
    models: decodeJson<BenchModelInfo[]>(row.models).map((model) => model.reference),
    levels: decodeJson<BenchSettings>(row.settings).levels,
    requests: row.requests,
    warmupRequests: row.warmups,
    errors: row.errors,
  }));
}

/** A stored run with what the store knows beside it. */
export interface StoredRun {
  run: BenchRun;
  status: RunStatus;
  /** The process that ran (or is running) it. */
  pid: number | undefined;
}

/** A run with its status; throws {@link RunNotFoundError} for an unknown id. */
export function getStoredRun(db: Database, id: number): StoredRun {
  markAbandonedRuns(db);
  const row = db.prepare('SELECT * FROM bench_runs WHERE id = ?').get(id) as RunRow | undefined;
  if (row === undefined) throw new RunNotFoundError(id);
  const requests = (
    db.prepare('SELECT * FROM bench_requests WHERE run_id = ? ORDER BY id').all(id) as RequestRow[]
  ).map(requestFromRow);
  const run: BenchRun = {
    id: row.id,
    name: optional(row.name),
    startedAt: row.started_at,
    finishedAt: optional(row.finished_at),
    incomplete: row.status !== 'complete',
    settings: decodeJson<BenchSettings>(row.settings),
    machine: decodeJson<MachineInfo>(row.machine),
    memoryBandwidthBytesPerSecond: optional(row.bandwidth),
    tandemVersion: row.tandem_version,
    models: decodeJson<BenchModelInfo[]>(row.models),
    levels: decodeJson<BenchLevelSummary[]>(row.levels),
    requests,
    comparisons: decodeJson<BenchComparison[]>(row.comparisons),
    eventLoopLag: decodeOptionalJson<EventLoopLagSummary>(row.event_loop_lag),
  };
  return { run, status: row.status, pid: optional(row.pid) };
}

/**
 * The run as it was recorded: requests in the order they were recorded (completion
 * order). A run still running, or stopped before its end, has `incomplete: true`.
 */
export function getRun(db: Database, id: number): BenchRun {
  return getStoredRun(db, id).run;
}

/** Deletes a run and its requests; throws {@link RunNotFoundError} for an unknown id. */
export function deleteRun(db: Database, id: number): void {
  const result = db.prepare('DELETE FROM bench_runs WHERE id = ?').run(id);
  if (result.changes === 0) throw new RunNotFoundError(id);
}

/**
 * The database schema, as an append-only list of migrations. Migration i (from 0) brings
 * the schema from `PRAGMA user_version` i to i + 1. Never edit or reorder an entry once
 * released: add a new one at the end (RAG collections, chats…).
 */
export const MIGRATIONS: readonly string[] = [
  // 1: benchmark runs and their requests.
  `
  CREATE TABLE bench_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete')),
    pid INTEGER,
    settings TEXT NOT NULL,
    machine TEXT NOT NULL,
    models TEXT NOT NULL,
    levels TEXT NOT NULL,
    comparisons TEXT NOT NULL,
    event_loop_lag TEXT,
    bandwidth REAL,
    tandem_version TEXT NOT NULL
  ) STRICT;

  CREATE INDEX bench_runs_status ON bench_runs (status);

  CREATE TABLE bench_requests (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES bench_runs (id) ON DELETE CASCADE,
    request_index INTEGER NOT NULL,
    model_index INTEGER NOT NULL,
    level_index INTEGER NOT NULL,
    warmup INTEGER NOT NULL CHECK (warmup IN (0, 1)),
    prompt_index INTEGER NOT NULL,
    issued_at_ms REAL NOT NULL,
    queue_ms REAL NOT NULL,
    attempts INTEGER NOT NULL,
    ttft_ms REAL,
    ttfo_ms REAL,
    e2e_ms REAL,
    tpot_ms REAL,
    decode_tokens_per_second REAL,
    output_tokens INTEGER NOT NULL,
    output_tokens_source TEXT NOT NULL,
    prompt_tokens INTEGER,
    reasoning_tokens INTEGER,
    token_times_ms TEXT NOT NULL,
    stall_count INTEGER NOT NULL,
    finish_reason TEXT NOT NULL,
    short_output INTEGER NOT NULL CHECK (short_output IN (0, 1)),
    error_cause TEXT,
    error_message TEXT,
    server_timings TEXT,
    meets_slo INTEGER CHECK (meets_slo IN (0, 1)),
    UNIQUE (run_id, request_index)
  ) STRICT;

  CREATE INDEX bench_requests_run_model_level ON bench_requests (run_id, model_index, level_index);
  `,
];

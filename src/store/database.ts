/**
 * tandem's SQLite database (better-sqlite3): one file, `$TANDEM_HOME/tandem.db`, in WAL
 * mode so that a crash mid-write loses at most the transaction in flight. The schema is
 * brought up to date on open from {@link MIGRATIONS} with `PRAGMA user_version`.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DatabaseError } from './errors.js';
import { MIGRATIONS } from './migrations.js';

/** An open database connection (better-sqlite3). */
export type Database = BetterSqlite3.Database;

/** How long a statement waits for another process's write lock before failing. */
export const BUSY_TIMEOUT_MS = 5000;

/** {home}/tandem.db */
export function defaultDatabasePath(home: string): string {
  return join(home, 'tandem.db');
}

const UNREADABLE_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

function sqliteCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * An error from SQLite as one line naming the file: a file that is not a database or is
 * corrupt says to move it aside. Other errors (and non-SQLite errors) are returned as they are.
 */
export function databaseError(error: unknown, path: string): unknown {
  if (error instanceof DatabaseError) return error;
  const code = sqliteCode(error);
  if (code === undefined || !code.startsWith('SQLITE_')) return error;
  const reason = error instanceof Error ? error.message.split('\n')[0] : code;
  if (UNREADABLE_CODES.has(code) || code.startsWith('SQLITE_CORRUPT')) {
    return new DatabaseError(
      path,
      `Database ${path} is not a SQLite database or is corrupt (${reason}): move it aside (with any ${path}-wal and ${path}-shm beside it) and tandem will start a new one.`,
      { cause: error },
    );
  }
  return new DatabaseError(path, `Cannot use database ${path}: ${reason} (${code}).`, {
    cause: error,
  });
}

/** Applies the migrations the database lacks, each in its own transaction; idempotent. */
export function migrate(
  db: Database,
  migrations: readonly string[] = MIGRATIONS,
  path = db.name,
): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new DatabaseError(
      path,
      `Database ${path} has schema version ${current}, newer than this tandem knows (${migrations.length}): upgrade tandem, or move the file aside to start a new one.`,
    );
  }
  for (let version = current; version < migrations.length; version++) {
    const sql = migrations[version] as string;
    // BEGIN IMMEDIATE: two processes opening a new database at once migrate one after the other.
    db.transaction(() => {
      // Another process may have migrated while this one waited for the lock.
      if ((db.pragma('user_version', { simple: true }) as number) !== version) return;
      db.exec(sql);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

/**
 * Opens (creating if needed, with its directory) the database at `path` and brings its
 * schema up to date. WAL journal, synchronous=NORMAL, foreign keys on, a busy timeout.
 * Throws a {@link DatabaseError} when the file is not SQLite, is corrupt, or cannot be opened.
 */
export function openDatabase(path: string): Database {
  let db: Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new BetterSqlite3(path);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, MIGRATIONS, path);
    return db;
  } catch (error) {
    db?.close();
    throw databaseError(error, path);
  }
}

/** Opens the database, runs `use`, closes it; SQLite errors become one line naming the file. */
export function withDatabase<T>(path: string, use: (db: Database) => T): T {
  const db = openDatabase(path);
  try {
    return use(db);
  } catch (error) {
    throw databaseError(error, path);
  } finally {
    db.close();
  }
}

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDatabasePath, migrate, openDatabase, withDatabase } from './database.js';
import { DatabaseError } from './errors.js';
import { MIGRATIONS } from './migrations.js';

const scratch = mkdtempSync(join(tmpdir(), 'tandem-db-'));

function tables(path: string): string[] {
  return withDatabase(path, (db) =>
    (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
        name: string;
      }[]
    ).map((row) => row.name),
  );
}

describe('openDatabase', () => {
  it('lives at $TANDEM_HOME/tandem.db', () => {
    expect(defaultDatabasePath('/data/tandem')).toBe('/data/tandem/tandem.db');
  });

  it('creates the directory and the schema, with WAL, NORMAL sync, foreign keys, a busy timeout', () => {
    const path = join(scratch, 'new', 'deeper', 'tandem.db');
    const db = openDatabase(path);
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(1);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    } finally {
      db.close();
    }
    expect(tables(path)).toEqual(expect.arrayContaining(['bench_requests', 'bench_runs']));
  });

  it('migrations are idempotent: reopening changes nothing, a later migration is applied once', () => {
    const path = join(scratch, 'idempotent.db');
    openDatabase(path).close();
    const before = tables(path);
    openDatabase(path).close();
    openDatabase(path).close();
    expect(tables(path)).toEqual(before);

    const later = [...MIGRATIONS, 'CREATE TABLE chats (id INTEGER PRIMARY KEY, title TEXT)'];
    withDatabase(path, (db) => {
      migrate(db, later);
      migrate(db, later);
      expect(db.pragma('user_version', { simple: true })).toBe(later.length);
      expect(
        db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'chats'").get(),
      ).toEqual({ n: 1 });
    });
  });

  it('a failing migration leaves the schema version where it was', () => {
    const path = join(scratch, 'failing.db');
    withDatabase(path, (db) => {
      const broken = [...MIGRATIONS, 'CREATE TABLE half (id INTEGER); CREATE TABLE oops ('];
      expect(() => migrate(db, broken)).toThrow();
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(
        db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get(),
      ).toEqual({ n: 0 });
    });
  });

  it('a database from a newer tandem is refused with one line', () => {
    const path = join(scratch, 'newer.db');
    withDatabase(path, (db) => db.pragma(`user_version = ${MIGRATIONS.length + 5}`));
    expect(() => openDatabase(path)).toThrow(DatabaseError);
    expect(() => openDatabase(path)).toThrow(/newer than this tandem knows/);
  });

  it('a file that is not SQLite: one line naming the path and saying to move it aside', () => {
    const path = join(scratch, 'not-sqlite.db');
    writeFileSync(path, 'this is a text file, not a database\n'.repeat(200));
    let error: unknown;
    try {
      openDatabase(path);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DatabaseError);
    const message = (error as DatabaseError).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(path);
    expect(message).toMatch(/not a SQLite database or is corrupt.*move it aside/);
    expect((error as DatabaseError).exitCode).toBe(5);
    // The file is left as it was.
    expect(readFileSync(path, 'utf8')).toContain('this is a text file');
  });

  it('a corrupt database (valid header, garbage pages) gives the same line', () => {
    const path = join(scratch, 'corrupt.db');
    openDatabase(path).close();
    const bytes = readFileSync(path);
    // Keep the 100-byte header, overwrite the schema page.
    bytes.fill(0xa5, 100, Math.min(bytes.length, 4096));
    writeFileSync(path, bytes);
    expect(() => openDatabase(path)).toThrow(
      /is not a SQLite database or is corrupt.*move it aside/,
    );
  });
});

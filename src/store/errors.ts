/** Errors of the local store (the SQLite database of runs). One line each, saying what to do. */
import { TandemError } from '../errors.js';

/** A run id that is not in the database. */
export class RunNotFoundError extends TandemError {
  override readonly exitCode = 3;
  constructor(readonly id: number | string) {
    super(`No run ${id}: see 'tandem runs list'.`);
  }
}

/** The database file cannot be used: not SQLite, corrupt, newer schema, or cannot be opened. */
export class DatabaseError extends TandemError {
  override readonly exitCode = 5;
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

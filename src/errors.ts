/**
 * One error base class with typed subclasses. Errors are thrown, not returned as data.
 * Every message is one line that says what happened and what to do.
 */

export class TandemError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A flag, option or argument with an invalid value. */
export class InvalidArgumentError extends TandemError {
  override readonly exitCode = 2;
}

export class ModelNotFoundError extends TandemError {
  override readonly exitCode = 3;
  constructor(
    readonly reference: string,
    readonly suggestions: readonly string[] = [],
    detail?: string,
  ) {
    const close = suggestions.length > 0 ? ` Did you mean ${suggestions.join(', ')}?` : '';
    super(
      `${detail ?? `Unknown model '${reference}'.`}${close} Run 'tandem models list' to see the models tandem knows.`,
    );
  }
}

/** A model file that is not a valid GGUF (or ONNX folder); rejected before loading. */
export class InvalidModelFileError extends TandemError {
  override readonly exitCode = 5;
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`Invalid model file ${path}: ${reason}`);
  }
}

/** An engine that cannot run here (missing native binary, GPU not present...). */
export class EngineUnavailableError extends TandemError {
  override readonly exitCode = 4;
}

/** A server that cannot be reached at all (connection refused, DNS failure, connect timeout). */
export class EndpointUnreachableError extends TandemError {
  override readonly exitCode = 4;
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A non-2xx HTTP answer from a server. */
export class ApiCallError extends TandemError {
  override readonly exitCode = 4;
  constructor(
    message: string,
    readonly url: string,
    readonly status: number,
    readonly responseBody: string,
    readonly isRetryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export type TimeoutPhase = 'connect' | 'first-byte' | 'idle' | 'total';

export class TimeoutError extends TandemError {
  override readonly exitCode = 4;
  constructor(
    readonly phase: TimeoutPhase,
    readonly timeoutMs: number,
    message: string,
  ) {
    super(message);
  }
}

/** A stream that ended before its finish event (a server that died mid-stream). */
export class StreamInterruptedError extends TandemError {
  override readonly exitCode = 4;
}

/** A download that failed (offline, size mismatch, disk full). */
export class DownloadError extends TandemError {
  override readonly exitCode = 4;
}

/** The user or a signal stopped the operation. */
export class AbortedError extends TandemError {
  override readonly exitCode = 130;
  constructor(message = 'Stopped.') {
    super(message);
  }
}

export function isAbortError(error: unknown): boolean {
  return (
    error instanceof AbortedError ||
    (error instanceof Error && error.name === 'AbortError' && !(error instanceof TandemError))
  );
}

/** One line for any thrown value: the message without a stack. */
export function errorLine(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}

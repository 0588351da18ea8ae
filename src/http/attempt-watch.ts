/**
 * The timeouts of one HTTP attempt. An AttemptWatch joins the caller's signals (a request's
 * signal, a client's dispose()) into one abort controller, runs the phase timers (first
 * byte, idle; the connect phase is the HTTP client's or the connect probe's), and records
 * which phase ran out, so that the client can word the failure.
 */
import { AbortedError, type TimeoutPhase } from '../errors.js';

/**
 * One HTTP attempt's abort controller: aborted by the caller's signal, by dispose(), or by
 * the phase timer, which records which phase ran out.
 */
export class AttemptWatch {
  readonly controller = new AbortController();
  timedOut: { phase: TimeoutPhase; timeoutMs: number } | undefined;
  /** A successful response has sent body bytes: the stream has started, so no retry. */
  streamStarted = false;
  /**
   * The phase timer. It is kept between reads and restarted with refresh(): a stream reads
   * once per token, and a new timer per read is measurable at 100 000 tokens/s. While
   * disarmed it is unref'd and its callback does nothing.
   */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armed = false;
  #armedPhase: TimeoutPhase | undefined;
  #armedTimeoutMs = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #idleTimeoutMs = 0;
  #idleWaitSinceMs: number | undefined;
  /** The promise race() waits on now and the function that rejects race()'s answer. */
  #racing: Promise<unknown> | undefined;
  #rejectRace: ((reason: unknown) => void) | undefined;
  #listeningForRaces = false;
  readonly #unlink: (() => void)[] = [];

  constructor(readonly sources: readonly (AbortSignal | undefined)[]) {
    for (const source of sources) {
      if (source === undefined) continue;
      if (source.aborted) {
        this.controller.abort(source.reason);
        continue;
      }
      const onAbort = (): void => this.controller.abort(source.reason);
      source.addEventListener('abort', onAbort, { once: true });
      this.#unlink.push(() => source.removeEventListener('abort', onAbort));
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * raceAbort(promise, this.signal), with one abort listener for the whole attempt instead
   * of one per call (reads are sequential: one race at a time).
   */
  race<T>(promise: Promise<T>): Promise<T> {
    const signal = this.controller.signal;
    if (signal.aborted) {
      promise.catch(() => {});
      return Promise.reject(signal.reason);
    }
    if (!this.#listeningForRaces) {
      this.#listeningForRaces = true;
      signal.addEventListener(
        'abort',
        () => {
          const reject = this.#rejectRace;
          this.#racing?.catch(() => {});
          this.#racing = undefined;
          this.#rejectRace = undefined;
          reject?.(signal.reason);
        },
        { once: true },
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.#racing = promise;
      this.#rejectRace = reject;
      promise.then(
        (value) => {
          if (this.#racing === promise) {
            this.#racing = undefined;
            this.#rejectRace = undefined;
          }
          resolve(value);
        },
        (error: unknown) => {
          if (this.#racing === promise) {
            this.#racing = undefined;
            this.#rejectRace = undefined;
          }
          reject(error);
        },
      );
    });
  }

  arm(phase: TimeoutPhase, timeoutMs: number): void {
    if (
      this.#timer !== undefined &&
      this.#armedPhase === phase &&
      this.#armedTimeoutMs === timeoutMs
    ) {
      this.#armed = true;
      this.#timer.ref();
      this.#timer.refresh();
      return;
    }
    this.#clearTimer();
    this.#armed = true;
    this.#armedPhase = phase;
    this.#armedTimeoutMs = timeoutMs;
    this.#timer = setTimeout(() => {
      if (!this.#armed) return;
      this.#armed = false;
      this.timedOut = { phase, timeoutMs };
      this.controller.abort(new Error(`${phase} timeout`));
    }, timeoutMs);
  }

  disarm(): void {
    if (!this.#armed) return;
    this.#armed = false;
    this.#timer?.unref();
  }

  /**
   * The idle timeout, checked lazily: a stream waits once per token, and even refreshing a
   * timer per wait is measurable at 100 000 tokens/s. One timer per attempt wakes up at most
   * once per timeout and compares how long the current wait (if any) has lasted.
   */
  beginIdleWait(timeoutMs: number): void {
    this.#idleWaitSinceMs = performance.now();
    if (this.#idleTimer !== undefined && this.#idleTimeoutMs === timeoutMs) return;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimeoutMs = timeoutMs;
    this.#scheduleIdleCheck(timeoutMs);
  }

  endIdleWait(): void {
    this.#idleWaitSinceMs = undefined;
  }

  #scheduleIdleCheck(delayMs: number): void {
    this.#idleTimer = setTimeout(() => this.#checkIdle(), Math.max(1, Math.ceil(delayMs)));
    // The socket keeps the process alive while a read is pending, not this timer.
    this.#idleTimer.unref();
  }

  #checkIdle(): void {
    this.#idleTimer = undefined;
    const since = this.#idleWaitSinceMs;
    const timeoutMs = this.#idleTimeoutMs;
    if (since === undefined) {
      this.#scheduleIdleCheck(timeoutMs);
      return;
    }
    const waitedMs = performance.now() - since;
    if (waitedMs < timeoutMs) {
      this.#scheduleIdleCheck(timeoutMs - waitedMs);
      return;
    }
    this.timedOut = { phase: 'idle', timeoutMs };
    this.controller.abort(new Error('idle timeout'));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armed = false;
    this.#armedPhase = undefined;
  }

  /** Ends the attempt: whatever it left in flight (a request whose answer nobody will read) is aborted. */
  dispose(): void {
    this.#clearTimer();
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    for (const unlink of this.#unlink) unlink();
    this.#unlink.length = 0;
    if (!this.controller.signal.aborted) this.controller.abort(new AbortedError());
  }
}

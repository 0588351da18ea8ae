/**
 * The models `tandem serve` exposes, by name: each is loaded on first use (one load however
 * many requests arrive together), serves at most `maxConcurrency` requests at once with a
 * bounded queue behind them, and is unloaded after `keepAliveMs` without requests.
 */

import type { Engine } from '../engines/spec.js';
import { AbortedError, errorLine, TandemError } from '../errors.js';

export interface ServedModelConfig {
  /** The name clients send as `model`. */
  name: string;
  /** The tandem model reference behind it (`demo-slm`, `llama:./x.gguf`, `foundry:…`). */
  reference: string;
}

export interface ModelPoolOptions {
  models: readonly ServedModelConfig[];
  /** Makes the engine for a reference; `sequences` = the model's concurrency. */
  createEngine: (reference: string, sequences: number) => Promise<Engine> | Engine;
  /** Requests one model serves at once. */
  maxConcurrency: number;
  /** Requests that may wait for a slot, per model; more are refused (429). */
  maxQueue: number;
  /** Unload a model this long after its last request ends; Infinity: never. */
  keepAliveMs: number;
  clock?: () => number;
  onLoaded?: (name: string, loadMs: number) => void;
  onUnloaded?: (name: string) => void;
  onQueueChange?: (name: string, waiting: number, inFlight: number) => void;
}

/** The queue for a model is full: the caller should answer 429. */
export class ModelBusyError extends TandemError {
  constructor(
    readonly model: string,
    readonly retryAfterSeconds: number,
  ) {
    super(
      `${model} is busy: all its slots are in use and its queue is full. Retry in ${retryAfterSeconds} s.`,
    );
    this.name = 'ModelBusyError';
  }
}

/** The model could not be loaded; the server goes on serving the others. */
export class ModelLoadError extends TandemError {
  constructor(
    readonly model: string,
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

export interface ModelLease {
  readonly engine: Engine;
  /** Queue wait plus load, ms. */
  readonly waitedMs: number;
  /** Gives the slot back; call exactly once. */
  release(): void;
}

interface Waiter {
  grant: () => void;
  reject: (error: unknown) => void;
}

interface ModelState {
  config: ServedModelConfig;
  engine: Engine | undefined;
  loading: Promise<Engine> | undefined;
  inFlight: number;
  waiting: Waiter[];
  unloadTimer: ReturnType<typeof setTimeout> | undefined;
  /** Mean duration of recent requests, for Retry-After. */
  meanRequestMs: number;
}

const maximumTimerMs = 2 ** 31 - 1;

export class ModelPool {
  readonly #options: ModelPoolOptions;
  readonly #models = new Map<string, ModelState>();
  readonly #clock: () => number;
  #closed = false;

  constructor(options: ModelPoolOptions) {
    this.#options = options;
    this.#clock = options.clock ?? (() => performance.now());
    for (const config of options.models) {
      this.#models.set(config.name, {
        config,
        engine: undefined,
        loading: undefined,
        inFlight: 0,
        waiting: [],
        unloadTimer: undefined,
        meanRequestMs: 1000,
      });
    }
  }

  get names(): string[] {
    return [...this.#models.keys()];
  }

  has(name: string): boolean {
    return this.#models.has(name);
  }

  referenceOf(name: string): string | undefined {
    return this.#models.get(name)?.config.reference;
  }

  isLoaded(name: string): boolean {
    return this.#models.get(name)?.engine !== undefined;
  }

  /** A slot on the model, loading it if needed. Throws ModelBusyError, ModelLoadError, AbortedError. */
  async acquire(name: string, signal?: AbortSignal): Promise<ModelLease> {
    const state = this.#models.get(name);
    if (state === undefined) throw new TandemError(`No model named '${name}' is served.`);
    if (this.#closed) throw new TandemError('The server is shutting down.');
    const startedAt = this.#clock();
    if (state.inFlight >= this.#options.maxConcurrency) {
      if (state.waiting.length >= this.#options.maxQueue) {
        throw new ModelBusyError(name, this.#retryAfterSeconds(state));
      }
      await this.#wait(state, signal);
    } else {
      state.inFlight++;
    }
    this.#reportQueue(state);
    this.#cancelUnload(state);
    let engine: Engine;
    try {
      engine = await this.#engineFor(state, signal);
    } catch (error) {
      this.#release(state, startedAt, false);
      throw error;
    }
    let released = false;
    return {
      engine,
      waitedMs: this.#clock() - startedAt,
      release: () => {
        if (released) return;
        released = true;
        this.#release(state, startedAt, true);
      },
    };
  }

  #wait(state: ModelState, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortedError('The client went away while waiting for a slot.'));
        return;
      }
      const onAbort = (): void => {
        state.waiting = state.waiting.filter((other) => other !== waiter);
        this.#reportQueue(state);
        reject(new AbortedError('The client went away while waiting for a slot.'));
      };
      const waiter: Waiter = {
        // The slot is handed over by #release: inFlight already counts it.
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      state.waiting.push(waiter);
      this.#reportQueue(state);
    });
  }

  #release(state: ModelState, startedAt: number, served: boolean): void {
    if (served) {
      const durationMs = this.#clock() - startedAt;
      state.meanRequestMs = 0.8 * state.meanRequestMs + 0.2 * durationMs;
    }
    const next = state.waiting.shift();
    if (next !== undefined) {
      next.grant();
    } else {
      state.inFlight--;
      if (state.inFlight === 0) this.#scheduleUnload(state);
    }
    this.#reportQueue(state);
  }

  async #engineFor(state: ModelState, signal: AbortSignal | undefined): Promise<Engine> {
    if (state.engine !== undefined) return state.engine;
    if (state.loading === undefined) {
      const loading = this.#load(state);
      state.loading = loading;
      loading.then(
        (engine) => {
          state.engine = engine;
          state.loading = undefined;
          // Every request that wanted it may have left during the load: keep-alive still applies.
          if (state.inFlight === 0 && !this.#closed) this.#scheduleUnload(state);
        },
        () => {
          state.loading = undefined;
        },
      );
    }
    const loading = state.loading;
    if (signal === undefined) return loading;
    // A client that leaves does not stop the load others may be waiting for.
    return new Promise<Engine>((resolve, reject) => {
      const onAbort = (): void => reject(new AbortedError('The client went away during the load.'));
      if (signal.aborted) onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      loading.then(
        (engine) => {
          signal.removeEventListener('abort', onAbort);
          resolve(engine);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  async #load(state: ModelState): Promise<Engine> {
    const { name, reference } = state.config;
    const startedAt = this.#clock();
    let engine: Engine | undefined;
    try {
      engine = await this.#options.createEngine(reference, this.#options.maxConcurrency);
      await engine.prepare?.();
      await engine.load();
    } catch (error) {
      await engine?.dispose().catch(() => undefined);
      throw new ModelLoadError(
        name,
        `Model '${name}' (${reference}) could not be loaded: ${errorLine(error)}`,
        { cause: error },
      );
    }
    this.#options.onLoaded?.(name, this.#clock() - startedAt);
    return engine;
  }

  #scheduleUnload(state: ModelState): void {
    this.#cancelUnload(state);
    const keepAliveMs = this.#options.keepAliveMs;
    // Longer than a timer can wait (~24.8 days) counts as forever, not as 1 ms.
    if (keepAliveMs > maximumTimerMs || state.engine === undefined) return;
    state.unloadTimer = setTimeout(() => {
      state.unloadTimer = undefined;
      if (state.inFlight > 0 || state.engine === undefined) return;
      const engine = state.engine;
      state.engine = undefined;
      this.#options.onUnloaded?.(state.config.name);
      void engine.dispose().catch(() => undefined);
    }, keepAliveMs);
    state.unloadTimer.unref();
  }

  #cancelUnload(state: ModelState): void {
    if (state.unloadTimer !== undefined) clearTimeout(state.unloadTimer);
    state.unloadTimer = undefined;
  }

  #retryAfterSeconds(state: ModelState): number {
    const queued = state.waiting.length + state.inFlight;
    const perSlotMs = state.meanRequestMs / Math.max(1, this.#options.maxConcurrency);
    return Math.min(60, Math.max(1, Math.ceil((queued * perSlotMs) / 1000)));
  }

  #reportQueue(state: ModelState): void {
    this.#options.onQueueChange?.(state.config.name, state.waiting.length, state.inFlight);
  }

  /** Refuses new requests, fails the queued ones and disposes every engine. */
  async close(): Promise<void> {
    this.#closed = true;
    const disposals: Promise<void>[] = [];
    for (const state of this.#models.values()) {
      this.#cancelUnload(state);
      for (const waiter of state.waiting.splice(0)) {
        waiter.reject(new TandemError('The server is shutting down.'));
      }
      const engine = state.engine ?? (await state.loading?.catch(() => undefined));
      state.engine = undefined;
      if (engine !== undefined) disposals.push(engine.dispose().catch(() => undefined));
    }
    await Promise.all(disposals);
  }
}

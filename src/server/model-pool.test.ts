/**
 * ModelPool with fake engines: loads are gated by deferred promises the tests resolve, so
 * every interleaving (single-flight load, FIFO slots, aborts, keep-alive) is exact.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Engine } from '../engines/spec.js';
import { AbortedError, TandemError } from '../errors.js';
import {
  ModelBusyError,
  type ModelLease,
  ModelLoadError,
  ModelPool,
  type ModelPoolOptions,
} from './model-pool.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface FakeEngine extends Engine {
  readonly id: number;
  loadCalls: number;
  disposeCalls: number;
  /** load() waits on this. */
  readonly gate: Deferred<void>;
}

interface Tracked<T> {
  readonly promise: Promise<T>;
  status: 'pending' | 'fulfilled' | 'rejected';
  value: T | undefined;
  error: unknown;
}

/** Follows a promise's state without leaving its rejection unhandled. */
function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { promise, status: 'pending', value: undefined, error: undefined };
  promise.then(
    (value) => {
      tracked.status = 'fulfilled';
      tracked.value = value;
    },
    (error: unknown) => {
      tracked.status = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

function leaseOf(tracked: Tracked<ModelLease>): ModelLease {
  expect(tracked.status).toBe('fulfilled');
  if (tracked.value === undefined) throw new Error('no lease');
  return tracked.value;
}

/** Lets every pending promise callback run (setImmediate is never faked here). */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface HarnessOptions extends Partial<ModelPoolOptions> {
  /** Loads wait for `engine.gate.resolve()`; otherwise they finish at once. */
  gated?: boolean;
}

function harness({ gated = false, ...overrides }: HarnessOptions = {}) {
  const engines: FakeEngine[] = [];
  const createCalls: { reference: string; sequences: number }[] = [];
  const queueReports: { name: string; waiting: number; inFlight: number }[] = [];
  const loaded: string[] = [];
  const unloaded: string[] = [];
  /** Set to make the next load fail: thrown by createEngine or by load(). */
  const failures: { createEngine?: Error; load?: Error } = {};
  const pool = new ModelPool({
    models: [
      { name: 'alpha', reference: 'demo-slm' },
      { name: 'beta', reference: 'llama:./beta.gguf' },
    ],
    createEngine: (reference, sequences) => {
      createCalls.push({ reference, sequences });
      const createError = failures.createEngine;
      if (createError !== undefined) {
        delete failures.createEngine;
        throw createError;
      }
      const loadError = failures.load;
      delete failures.load;
      const gate = deferred<void>();
      if (!gated) gate.resolve();
      const engine: FakeEngine = {
        id: engines.length,
        info: { engine: 'llama', reference, model: reference },
        loadCalls: 0,
        disposeCalls: 0,
        gate,
        load: async () => {
          engine.loadCalls++;
          await gate.promise;
          if (loadError !== undefined) throw loadError;
        },
        stream: () => {
          throw new Error('stream() is not used by the pool');
        },
        dispose: async () => {
          engine.disposeCalls++;
        },
      };
      engines.push(engine);
      return engine;
    },
    maxConcurrency: 2,
    maxQueue: 2,
    keepAliveMs: 1000,
    onLoaded: (name) => loaded.push(name),
    onUnloaded: (name) => unloaded.push(name),
    onQueueChange: (name, waiting, inFlight) => queueReports.push({ name, waiting, inFlight }),
    ...overrides,
  });
  const engine = (index: number): FakeEngine => {
    const found = engines[index];
    if (found === undefined) throw new Error(`no engine #${index}`);
    return found;
  };
  const lastReport = () => queueReports.at(-1);
  return {
    pool,
    engines,
    engine,
    createCalls,
    queueReports,
    lastReport,
    loaded,
    unloaded,
    failures,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ModelPool: loading', () => {
  it('loads nothing until the first acquire, then loads that model only, once', async () => {
    const h = harness({ maxConcurrency: 3 });
    expect(h.createCalls).toEqual([]);
    expect(h.pool.isLoaded('alpha')).toBe(false);

    const first = await h.pool.acquire('alpha');
    expect(h.createCalls).toEqual([{ reference: 'demo-slm', sequences: 3 }]);
    expect(h.engine(0).loadCalls).toBe(1);
    expect(first.engine).toBe(h.engine(0));
    expect(h.pool.isLoaded('alpha')).toBe(true);
    expect(h.pool.isLoaded('beta')).toBe(false);
    expect(h.loaded).toEqual(['alpha']);
    first.release();

    const second = await h.pool.acquire('alpha');
    expect(second.engine).toBe(h.engine(0));
    expect(h.createCalls).toHaveLength(1);
    expect(h.engine(0).loadCalls).toBe(1);
    second.release();
    await h.pool.close();
  });

  it('runs one load for five concurrent acquires (single flight)', async () => {
    const h = harness({ gated: true, maxConcurrency: 5 });
    const acquires = Array.from({ length: 5 }, () => track(h.pool.acquire('alpha')));
    await flush();
    expect(h.createCalls).toHaveLength(1);
    expect(h.engine(0).loadCalls).toBe(1);
    expect(acquires.map((a) => a.status)).toEqual(Array(5).fill('pending'));

    h.engine(0).gate.resolve();
    await flush();
    expect(acquires.map((a) => a.status)).toEqual(Array(5).fill('fulfilled'));
    for (const acquire of acquires) expect(leaseOf(acquire).engine).toBe(h.engine(0));
    expect(h.createCalls).toHaveLength(1);
    expect(h.loaded).toEqual(['alpha']);
    for (const acquire of acquires) leaseOf(acquire).release();
    await h.pool.close();
  });

  it('runs one load for requests that waited in the queue while it was loading', async () => {
    const h = harness({ gated: true, maxConcurrency: 2, maxQueue: 3 });
    const acquires = Array.from({ length: 5 }, () => track(h.pool.acquire('alpha')));
    await flush();
    h.engine(0).gate.resolve();
    await flush();
    expect(acquires.map((a) => a.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'pending',
      'pending',
      'pending',
    ]);
    for (const index of [0, 1, 2, 3, 4]) {
      const acquire = acquires[index];
      if (acquire === undefined) throw new Error('missing');
      await flush();
      leaseOf(acquire).release();
    }
    expect(h.createCalls).toHaveLength(1);
    expect(h.engine(0).loadCalls).toBe(1);
    await h.pool.close();
  });

  it('refuses a model it does not serve', async () => {
    const h = harness();
    await expect(h.pool.acquire('nope')).rejects.toThrow(TandemError);
    await expect(h.pool.acquire('nope')).rejects.toThrow(/No model named 'nope'/);
    expect(h.createCalls).toEqual([]);
    expect(h.pool.names).toEqual(['alpha', 'beta']);
    expect(h.pool.has('alpha')).toBe(true);
    expect(h.pool.has('nope')).toBe(false);
    expect(h.pool.referenceOf('beta')).toBe('llama:./beta.gguf');
    expect(h.pool.referenceOf('nope')).toBeUndefined();
    expect(h.pool.isLoaded('nope')).toBe(false);
  });

  it('reports the time spent waiting and loading as waitedMs', async () => {
    let now = 100;
    const h = harness({ gated: true, maxConcurrency: 1, clock: () => now });
    const first = track(h.pool.acquire('alpha'));
    await flush();
    now = 140;
    h.engine(0).gate.resolve();
    await flush();
    expect(leaseOf(first).waitedMs).toBe(40);

    const second = track(h.pool.acquire('alpha'));
    await flush();
    now = 400;
    leaseOf(first).release();
    await flush();
    expect(leaseOf(second).waitedMs).toBe(260);
    leaseOf(second).release();
    await h.pool.close();
  });
});

describe('ModelPool: slots and queue', () => {
  it('grants maxConcurrency slots, then queues in FIFO order, never exceeding the limit', async () => {
    const h = harness({ maxConcurrency: 2, maxQueue: 3 });
    const granted: string[] = [];
    const start = (id: string) => {
      const tracked = track(h.pool.acquire('alpha'));
      void tracked.promise.then(
        () => granted.push(id),
        () => undefined,
      );
      return tracked;
    };
    const a = start('a');
    const b = start('b');
    await flush();
    const c = start('c');
    const d = start('d');
    const e = start('e');
    await flush();
    expect(granted).toEqual(['a', 'b']);
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 3, inFlight: 2 });

    leaseOf(a).release();
    await flush();
    expect(granted).toEqual(['a', 'b', 'c']);
    expect([d.status, e.status]).toEqual(['pending', 'pending']);
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 2, inFlight: 2 });

    leaseOf(c).release();
    await flush();
    expect(granted).toEqual(['a', 'b', 'c', 'd']);
    leaseOf(b).release();
    await flush();
    expect(granted).toEqual(['a', 'b', 'c', 'd', 'e']);
    leaseOf(d).release();
    leaseOf(e).release();

    expect(h.queueReports.length).toBeGreaterThan(0);
    for (const report of h.queueReports) {
      expect(report.inFlight).toBeGreaterThanOrEqual(0);
      expect(report.inFlight).toBeLessThanOrEqual(2);
      expect(report.waiting).toBeGreaterThanOrEqual(0);
    }
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 0 });
    await h.pool.close();
  });

  it('keeps each model’s slots separate', async () => {
    const h = harness({ maxConcurrency: 1, maxQueue: 0 });
    const alpha = await h.pool.acquire('alpha');
    const beta = await h.pool.acquire('beta');
    expect(alpha.engine).not.toBe(beta.engine);
    await expect(h.pool.acquire('alpha')).rejects.toThrow(ModelBusyError);
    alpha.release();
    beta.release();
    await h.pool.close();
  });

  it('refuses with ModelBusyError when the queue is full, and the refusal takes no place', async () => {
    const h = harness({ maxConcurrency: 1, maxQueue: 1 });
    const held = await h.pool.acquire('alpha');
    const queued = track(h.pool.acquire('alpha'));
    await flush();

    const refused = await h.pool.acquire('alpha').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ModelBusyError);
    if (!(refused instanceof ModelBusyError)) throw new Error('unreachable');
    expect(refused.model).toBe('alpha');
    expect(Number.isInteger(refused.retryAfterSeconds)).toBe(true);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(refused.message).toContain(`Retry in ${refused.retryAfterSeconds} s`);
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 1, inFlight: 1 });

    held.release();
    await flush();
    expect(queued.status).toBe('fulfilled');
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 1 });
    leaseOf(queued).release();
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 0 });
    await h.pool.close();
  });

  it('refuses at once when maxQueue is 0 and every slot is taken', async () => {
    const h = harness({ maxConcurrency: 1, maxQueue: 0 });
    const held = await h.pool.acquire('alpha');
    await expect(h.pool.acquire('alpha')).rejects.toThrow(ModelBusyError);
    held.release();
    const again = await h.pool.acquire('alpha');
    again.release();
    await h.pool.close();
  });

  it('clamps Retry-After to 60 s for slow requests and 1 s for fast ones', async () => {
    let now = 0;
    const slow = harness({ maxConcurrency: 1, maxQueue: 0, clock: () => now });
    const long = await slow.pool.acquire('alpha');
    now = 10_000_000;
    long.release();
    const held = await slow.pool.acquire('alpha');
    const slowError = await slow.pool.acquire('alpha').catch((error: unknown) => error);
    expect(slowError).toBeInstanceOf(ModelBusyError);
    expect((slowError as ModelBusyError).retryAfterSeconds).toBe(60);
    held.release();
    await slow.pool.close();

    const fast = harness({ maxConcurrency: 1, maxQueue: 0, clock: () => 0 });
    for (let i = 0; i < 40; i++) (await fast.pool.acquire('alpha')).release();
    const fastHeld = await fast.pool.acquire('alpha');
    const fastError = await fast.pool.acquire('alpha').catch((error: unknown) => error);
    expect(fastError).toBeInstanceOf(ModelBusyError);
    expect((fastError as ModelBusyError).retryAfterSeconds).toBe(1);
    fastHeld.release();
    await fast.pool.close();
  });

  it('drops a waiter whose signal aborts: it rejects with AbortedError and takes no slot', async () => {
    const h = harness({ maxConcurrency: 1, maxQueue: 2 });
    const held = await h.pool.acquire('alpha');
    const controller = new AbortController();
    const leaving = track(h.pool.acquire('alpha', controller.signal));
    const staying = track(h.pool.acquire('alpha'));
    await flush();
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 2, inFlight: 1 });

    controller.abort();
    await flush();
    expect(leaving.status).toBe('rejected');
    expect(leaving.error).toBeInstanceOf(AbortedError);
    expect(staying.status).toBe('pending');
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 1, inFlight: 1 });

    held.release();
    await flush();
    expect(staying.status).toBe('fulfilled');
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 1 });
    leaseOf(staying).release();
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 0 });

    // The freed slot is really free: one acquire gets it at once, the next must queue.
    const next = await h.pool.acquire('alpha');
    const after = track(h.pool.acquire('alpha'));
    await flush();
    expect(after.status).toBe('pending');
    next.release();
    await flush();
    leaseOf(after).release();
    await h.pool.close();
  });

  it('rejects at once, without queueing, a request whose signal is already aborted', async () => {
    const h = harness({ maxConcurrency: 1, maxQueue: 1 });
    const held = await h.pool.acquire('alpha');
    await expect(h.pool.acquire('alpha', AbortSignal.abort())).rejects.toThrow(AbortedError);
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 1 });
    // The queue place is still there.
    const queued = track(h.pool.acquire('alpha'));
    await flush();
    expect(queued.status).toBe('pending');
    held.release();
    await flush();
    leaseOf(queued).release();
    await h.pool.close();
  });

  it('does not hold a free slot for an already-aborted request while the model loads', async () => {
    const h = harness({ gated: true, maxConcurrency: 1 });
    const gone = track(h.pool.acquire('alpha', AbortSignal.abort()));
    await flush();
    expect(gone.status).toBe('rejected');
    expect(gone.error).toBeInstanceOf(AbortedError);
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 0 });
    const next = track(h.pool.acquire('alpha'));
    h.engine(0).gate.resolve();
    await flush();
    expect(leaseOf(next).engine).toBe(h.engine(0));
    expect(h.createCalls).toHaveLength(1);
    leaseOf(next).release();
    await h.pool.close();
  });

  it('lets one client leave during a load without stopping it for the others', async () => {
    const h = harness({ gated: true, maxConcurrency: 2 });
    const controller = new AbortController();
    const leaving = track(h.pool.acquire('alpha', controller.signal));
    const staying = track(h.pool.acquire('alpha'));
    await flush();
    controller.abort();
    await flush();
    expect(leaving.error).toBeInstanceOf(AbortedError);
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 1 });
    h.engine(0).gate.resolve();
    await flush();
    expect(leaseOf(staying).engine).toBe(h.engine(0));
    expect(h.createCalls).toHaveLength(1);
    leaseOf(staying).release();
    await h.pool.close();
  });

  it('ignores a second release() of the same lease', async () => {
    const h = harness({ maxConcurrency: 1, maxQueue: 2 });
    const first = await h.pool.acquire('alpha');
    first.release();
    first.release();
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 0 });

    const second = await h.pool.acquire('alpha');
    const third = track(h.pool.acquire('alpha'));
    const fourth = track(h.pool.acquire('alpha'));
    await flush();
    expect(third.status).toBe('pending');

    second.release();
    second.release();
    await flush();
    expect(third.status).toBe('fulfilled');
    expect(fourth.status).toBe('pending');
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 1, inFlight: 1 });

    leaseOf(third).release();
    await flush();
    leaseOf(fourth).release();
    leaseOf(fourth).release();
    for (const report of h.queueReports) expect(report.inFlight).toBeGreaterThanOrEqual(0);
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 0 });
    await h.pool.close();
  });
});

describe('ModelPool: failed loads', () => {
  it('turns a failing load into ModelLoadError, frees the slot and loads again next time', async () => {
    const h = harness({ maxConcurrency: 1 });
    const cause = new Error('disk on fire');
    h.failures.load = cause;

    const error = await h.pool.acquire('alpha').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelLoadError);
    if (!(error instanceof ModelLoadError)) throw new Error('unreachable');
    expect(error.model).toBe('alpha');
    expect(error.message).toContain("'alpha'");
    expect(error.message).toContain('demo-slm');
    expect(error.message).toContain('disk on fire');
    expect(error.cause).toBe(cause);
    expect(h.engine(0).disposeCalls).toBe(1);
    expect(h.pool.isLoaded('alpha')).toBe(false);
    expect(h.loaded).toEqual([]);
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 0 });

    const lease = await h.pool.acquire('alpha');
    expect(h.createCalls).toHaveLength(2);
    expect(lease.engine).toBe(h.engine(1));
    expect(h.pool.isLoaded('alpha')).toBe(true);
    expect(h.loaded).toEqual(['alpha']);
    lease.release();
    await h.pool.close();
  });

  it('turns a createEngine that throws into ModelLoadError too', async () => {
    const h = harness();
    h.failures.createEngine = new Error('no such file');
    await expect(h.pool.acquire('beta')).rejects.toThrow(
      /Model 'beta' \(llama:\.\/beta\.gguf\) could not be loaded: no such file/,
    );
    expect(h.lastReport()).toEqual({ name: 'beta', waiting: 0, inFlight: 0 });
    const lease = await h.pool.acquire('beta');
    expect(h.createCalls).toHaveLength(2);
    lease.release();
    await h.pool.close();
  });

  it('fails everyone sharing a failed load, and a queued request loads again', async () => {
    const h = harness({ gated: true, maxConcurrency: 2, maxQueue: 1 });
    h.failures.load = new Error('bad weights');
    const a = track(h.pool.acquire('alpha'));
    const b = track(h.pool.acquire('alpha'));
    const queued = track(h.pool.acquire('alpha'));
    await flush();
    expect(h.createCalls).toHaveLength(1);

    h.engine(0).gate.resolve();
    await flush();
    expect(a.error).toBeInstanceOf(ModelLoadError);
    expect(b.error).toBeInstanceOf(ModelLoadError);
    // The queued request got a freed slot and started a fresh load.
    expect(queued.status).toBe('pending');
    expect(h.createCalls).toHaveLength(2);
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 1 });

    h.engine(1).gate.resolve();
    await flush();
    expect(leaseOf(queued).engine).toBe(h.engine(1));
    leaseOf(queued).release();
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 0 });
    await h.pool.close();
  });
});

describe('ModelPool: keep-alive', () => {
  function fakeTimeouts(): void {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  }

  it('disposes the engine keepAliveMs after the last release, then loads again', async () => {
    fakeTimeouts();
    const h = harness({ keepAliveMs: 1000 });
    const first = await h.pool.acquire('alpha');
    const second = await h.pool.acquire('alpha');
    first.release();
    vi.advanceTimersByTime(5000);
    expect(h.engine(0).disposeCalls).toBe(0);

    second.release();
    vi.advanceTimersByTime(999);
    expect(h.engine(0).disposeCalls).toBe(0);
    expect(h.pool.isLoaded('alpha')).toBe(true);
    vi.advanceTimersByTime(1);
    expect(h.engine(0).disposeCalls).toBe(1);
    expect(h.unloaded).toEqual(['alpha']);
    expect(h.pool.isLoaded('alpha')).toBe(false);

    const third = await h.pool.acquire('alpha');
    expect(h.createCalls).toHaveLength(2);
    expect(third.engine).toBe(h.engine(1));
    expect(h.loaded).toEqual(['alpha', 'alpha']);
    third.release();
    await h.pool.close();
    expect(h.engine(0).disposeCalls).toBe(1);
    expect(h.engine(1).disposeCalls).toBe(1);
  });

  it('cancels the unload when a request arrives before it', async () => {
    fakeTimeouts();
    const h = harness({ keepAliveMs: 1000 });
    (await h.pool.acquire('alpha')).release();
    vi.advanceTimersByTime(900);
    const lease = await h.pool.acquire('alpha');
    vi.advanceTimersByTime(5000);
    expect(h.engine(0).disposeCalls).toBe(0);
    expect(h.unloaded).toEqual([]);

    lease.release();
    vi.advanceTimersByTime(999);
    expect(h.engine(0).disposeCalls).toBe(0);
    vi.advanceTimersByTime(1);
    expect(h.engine(0).disposeCalls).toBe(1);
    expect(h.createCalls).toHaveLength(1);
    await h.pool.close();
  });

  it('never unloads with keepAliveMs Infinity', async () => {
    fakeTimeouts();
    const h = harness({ keepAliveMs: Number.POSITIVE_INFINITY });
    (await h.pool.acquire('alpha')).release();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(365 * 24 * 3_600_000);
    expect(h.engine(0).disposeCalls).toBe(0);
    expect(h.unloaded).toEqual([]);
    expect(h.pool.isLoaded('alpha')).toBe(true);
    await h.pool.close();
    expect(h.engine(0).disposeCalls).toBe(1);
  });

  it('unloads a model whose load finished after its only client left', async () => {
    fakeTimeouts();
    const h = harness({ gated: true, keepAliveMs: 1000 });
    const controller = new AbortController();
    const leaving = track(h.pool.acquire('alpha', controller.signal));
    await flush();
    controller.abort();
    await flush();
    expect(leaving.error).toBeInstanceOf(AbortedError);
    expect(h.lastReport()).toEqual({ name: 'alpha', waiting: 0, inFlight: 0 });

    h.engine(0).gate.resolve();
    await flush();
    expect(h.pool.isLoaded('alpha')).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(h.engine(0).disposeCalls).toBe(1);
    expect(h.unloaded).toEqual(['alpha']);
    expect(h.pool.isLoaded('alpha')).toBe(false);
    await h.pool.close();
  });
});

describe('ModelPool: close', () => {
  it('fails queued requests, disposes loaded engines and refuses new requests', async () => {
    const h = harness({ maxConcurrency: 1, maxQueue: 2 });
    const held = await h.pool.acquire('alpha');
    const queued = [track(h.pool.acquire('alpha')), track(h.pool.acquire('alpha'))];
    await flush();

    await h.pool.close();
    await flush();
    for (const waiter of queued) {
      expect(waiter.status).toBe('rejected');
      expect(waiter.error).toBeInstanceOf(TandemError);
      expect((waiter.error as Error).message).toMatch(/shutting down/);
    }
    expect(h.engine(0).disposeCalls).toBe(1);
    expect(h.pool.isLoaded('alpha')).toBe(false);
    expect(h.createCalls).toHaveLength(1);

    await expect(h.pool.acquire('alpha')).rejects.toThrow(/shutting down/);
    await expect(h.pool.acquire('beta')).rejects.toThrow(/shutting down/);
    expect(h.createCalls).toHaveLength(1);
    // A lease held across close may still be given back.
    held.release();
    held.release();
    expect(h.engine(0).disposeCalls).toBe(1);
  });

  it('waits for a load in progress and disposes what it loaded', async () => {
    const h = harness({ gated: true });
    const acquiring = track(h.pool.acquire('alpha'));
    await flush();
    const closing = track(h.pool.close());
    await flush();
    expect(closing.status).toBe('pending');

    h.engine(0).gate.resolve();
    await flush();
    expect(closing.status).toBe('fulfilled');
    expect(h.engine(0).disposeCalls).toBe(1);
    expect(acquiring.status).not.toBe('pending');
    if (acquiring.status === 'fulfilled') leaseOf(acquiring).release();
  });
});

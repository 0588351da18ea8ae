/**
 * How late the event loop runs, measured with perf_hooks.monitorEventLoopDelay: a timer that
 * should fire every `resolutionMs` records how much later than due it ran. A client that
 * measures streams must show this is small, or its own stamps are late by about that much.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** Samples recorded (one per timer tick). */
  sampleCount: number;
}

export interface EventLoopLagMonitor {
  /** Stops the monitor and returns the lag seen since it started (idempotent). */
  stop(): EventLoopLag;
}

export interface EventLoopLagOptions {
  /** Sampling timer period in ms; 1 to 10 (default 10). */
  resolutionMs?: number;
}

const nanosecondsPerMillisecond = 1e6;

export function startEventLoopLagMonitor(options: EventLoopLagOptions = {}): EventLoopLagMonitor {
  const resolution = Math.min(10, Math.max(1, Math.round(options.resolutionMs ?? 10)));
  const histogram = monitorEventLoopDelay({ resolution });
  histogram.enable();
  let result: EventLoopLag | undefined;
  return {
    stop(): EventLoopLag {
      if (result !== undefined) return result;
      histogram.disable();
      // The histogram records the whole delay of each tick, the period included; lag is what
      // exceeds the period.
      const lag = (nanoseconds: number): number =>
        Math.max(0, nanoseconds / nanosecondsPerMillisecond - resolution);
      const sampleCount = histogram.count;
      result =
        sampleCount === 0
          ? { p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0, sampleCount }
          : {
              p50Ms: lag(histogram.percentile(50)),
              p99Ms: lag(histogram.percentile(99)),
              maxMs: lag(histogram.max),
              meanMs: lag(histogram.mean),
              sampleCount,
            };
      return result;
    },
  };
}

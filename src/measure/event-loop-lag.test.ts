import { describe, expect, it } from 'vitest';
import { startEventLoopLagMonitor } from './event-loop-lag.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Blocks the event loop on purpose.
  }
}

describe('startEventLoopLagMonitor', () => {
  it('shows a 200 ms busy-wait as lag', async () => {
    const monitor = startEventLoopLagMonitor();
    await sleep(50);
    busyWait(200);
    await sleep(50);
    const lag = monitor.stop();
    expect(lag.maxMs).toBeGreaterThan(150);
    expect(lag.maxMs).toBeLessThan(1000);
    expect(lag.sampleCount).toBeGreaterThan(0);
  });

  it('reports little lag for an idle loop, and stop() is idempotent', async () => {
    const monitor = startEventLoopLagMonitor({ resolutionMs: 1 });
    await sleep(100);
    const lag = monitor.stop();
    expect(lag.p50Ms).toBeLessThan(20);
    expect(lag.p50Ms).toBeGreaterThanOrEqual(0);
    expect(monitor.stop()).toBe(lag);
  });
});

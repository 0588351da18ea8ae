import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import {
  closedLoop,
  parseConcurrencyLevels,
  parseServiceLevelObjectives,
  poissonArrivals,
} from './load.js';

describe('load generation', () => {
  it('draws Poisson arrivals at the rate asked, reproducibly from a seed', () => {
    const arrivals = poissonArrivals(50, 200, 7);
    expect(arrivals.length / 200).toBeGreaterThan(47);
    expect(arrivals.length / 200).toBeLessThan(53);
    expect(poissonArrivals(50, 200, 7)).toEqual(arrivals);
    expect(poissonArrivals(50, 200, 8)).not.toEqual(arrivals);
    // Exponential gaps: their coefficient of variation is 1.
    const gaps = arrivals.slice(1).map((at, index) => at - (arrivals[index] as number));
    const mean = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((sum, gap) => sum + (gap - mean) ** 2, 0) / (gaps.length - 1));
    expect(mean).toBeCloseTo(20, -0.5);
    expect(sd / mean).toBeGreaterThan(0.93);
    expect(sd / mean).toBeLessThan(1.07);
    expect(arrivals.every((at) => at >= 0 && at < 200_000)).toBe(true);
  });

  it('runs a closed loop with exactly N clients busy until the work is done', async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await closedLoop(20, 4, async (index) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2 + (index % 3)));
      inFlight -= 1;
      done.push(index);
    });
    expect(most).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, index) => index));
  });

  it('stops issuing when stopped', async () => {
    const controller = new AbortController();
    let issued = 0;
    await closedLoop(
      100,
      2,
      async () => {
        issued += 1;
        if (issued === 5) controller.abort();
        await new Promise((resolve) => setTimeout(resolve, 1));
      },
      controller.signal,
    );
    expect(issued).toBeLessThanOrEqual(6);
  });

  it('parses sweeps and SLOs, rejecting nonsense with one line', () => {
    expect(
      parseConcurrencyLevels('1,2,4,8').map(
        (level) => level.mode === 'closed' && level.concurrency,
      ),
    ).toEqual([1, 2, 4, 8]);
    expect(() => parseConcurrencyLevels('1,x')).toThrow(InvalidArgumentError);
    expect(() => parseConcurrencyLevels('2,2')).toThrow(/each level once/);
    expect(parseServiceLevelObjectives('ttft=500,tpot=50,e2e=10000')).toEqual({
      ttftMs: 500,
      tpotMs: 50,
      e2eMs: 10000,
    });
    expect(() => parseServiceLevelObjectives('latency=5')).toThrow(/ttft=MS,tpot=MS,e2e=MS/);
    expect(() => parseServiceLevelObjectives('ttft=fast')).toThrow(/Invalid --slo ttft=fast/);
  });
});

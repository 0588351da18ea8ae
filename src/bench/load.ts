import { InvalidArgumentError } from '../errors.js';
import { createRandomUint32 } from '../measure/random.js';
import { parseDecimal, parseWholeNumber } from '../numbers.js';
import type { LoadLevel, ServiceLevelObjectives } from './types.js';

/**
 * Arrival times (ms from the level's start) of a Poisson process at `ratePerSecond` over
 * `durationSeconds`: exponential gaps, −ln(U)/rate, from a seeded generator.
 */
export function poissonArrivals(
  ratePerSecond: number,
  durationSeconds: number,
  seed: number,
): number[] {
  const next = createRandomUint32(seed);
  const arrivals: number[] = [];
  let at = 0;
  while (true) {
    const uniform = (next() + 1) / 4294967297; // (0, 1]
    at += (-Math.log(uniform) / ratePerSecond) * 1000;
    if (at >= durationSeconds * 1000) return arrivals;
    arrivals.push(at);
  }
}

/**
 * Runs `total` jobs with at most `concurrency` in flight (a closed loop: each client issues
 * its next request when its previous one ends). Stops issuing when `signal` aborts.
 */
export async function closedLoop(
  total: number,
  concurrency: number,
  job: (index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let nextIndex = 0;
  const client = async () => {
    while (nextIndex < total && signal?.aborted !== true) {
      const index = nextIndex++;
      await job(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, client));
}

/** Issues one job per arrival time (open loop), whatever is still in flight; waits for all. */
export async function openLoop(
  arrivalsMs: readonly number[],
  job: (index: number) => Promise<void>,
  signal?: AbortSignal,
  now: () => number = () => performance.now(),
): Promise<void> {
  const start = now();
  const inFlight: Promise<void>[] = [];
  for (const [index, at] of arrivalsMs.entries()) {
    const wait = start + at - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (signal?.aborted === true) break;
    inFlight.push(job(index));
  }
  await Promise.all(inFlight);
}

/** `--concurrency 1,2,4,8` → closed-loop levels. */
export function parseConcurrencyLevels(text: string): LoadLevel[] {
  const levels = text.split(',').map((part) => ({
    mode: 'closed' as const,
    concurrency: parseWholeNumber(part.trim(), `--concurrency '${text}'`, { min: 1, max: 4096 }),
  }));
  if (new Set(levels.map((level) => level.concurrency)).size !== levels.length) {
    throw new InvalidArgumentError(
      `Invalid --concurrency '${text}': each level once, e.g. 1,2,4,8.`,
    );
  }
  return levels;
}

/** `--slo ttft=500,tpot=50,e2e=10000` (milliseconds). */
export function parseServiceLevelObjectives(text: string): ServiceLevelObjectives {
  const slo: ServiceLevelObjectives = {};
  for (const part of text.split(',')) {
    const [key, value] = part.split('=').map((piece) => piece.trim());
    const ms = parseDecimal(value ?? '', `--slo ${part} (milliseconds)`, { min: 0 });
    if (key === 'ttft') slo.ttftMs = ms;
    else if (key === 'tpot') slo.tpotMs = ms;
    else if (key === 'e2e') slo.e2eMs = ms;
    else throw new InvalidArgumentError(`Invalid --slo '${text}': use ttft=MS,tpot=MS,e2e=MS.`);
  }
  return slo;
}

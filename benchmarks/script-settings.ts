/**
 * What the `npm run bench:*` scripts share: their settings from the environment, number
 * formatting, and interleaved rounds.
 */
import { InvalidArgumentError } from '../src/errors.js';
import { parseWholeNumber } from '../src/numbers.js';

/** A whole-number setting (`BENCH_ROUNDS=20`), else the fallback. */
export function wholeNumberSetting(
  name: string,
  fallback: number,
  min = 1,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const value = env[name];
  if (value === undefined || value.trim() === '') return fallback;
  return parseWholeNumber(value, `${name}=${value}`, { min });
}

/** A setting that may have decimals (`BENCH_ITL_MS=2.4`) and must be above 0, else the fallback. */
export function positiveNumberSetting(
  name: string,
  fallback: number,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${name}=${raw} is not a positive number.`);
  }
  return value;
}

/** A figure with fixed decimals; `—` when there is none. */
export function fixed(value: number | undefined, digits = 2): string {
  return value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits);
}

/**
 * Runs `first` and `second` once per round, alternating which goes first, so that slow drift
 * of the machine hits both alike. Returns their results, index by index one round.
 */
export async function interleavedRounds<A, B>(
  rounds: number,
  first: () => Promise<A>,
  second: () => Promise<B>,
): Promise<[A[], B[]]> {
  const firsts: A[] = [];
  const seconds: B[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      firsts.push(await first());
      seconds.push(await second());
    } else {
      seconds.push(await second());
      firsts.push(await first());
    }
  }
  return [firsts, seconds];
}

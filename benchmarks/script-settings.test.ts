import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../src/errors.js';
import {
  fixed,
  interleavedRounds,
  positiveNumberSetting,
  wholeNumberSetting,
} from './script-settings.js';

describe('bench script settings', () => {
  it('reads whole and positive numbers from the environment, else the fallback', () => {
    expect(wholeNumberSetting('BENCH_ROUNDS', 20, 2, {})).toBe(20);
    expect(wholeNumberSetting('BENCH_ROUNDS', 20, 2, { BENCH_ROUNDS: ' ' })).toBe(20);
    expect(wholeNumberSetting('BENCH_ROUNDS', 20, 2, { BENCH_ROUNDS: '7' })).toBe(7);
    expect(() => wholeNumberSetting('BENCH_ROUNDS', 20, 2, { BENCH_ROUNDS: '1' })).toThrow(
      /BENCH_ROUNDS=1/,
    );
    expect(positiveNumberSetting('BENCH_ITL_MS', 2.4, { BENCH_ITL_MS: '1.5' })).toBe(1.5);
    expect(() => positiveNumberSetting('BENCH_ITL_MS', 2.4, { BENCH_ITL_MS: '0' })).toThrow(
      InvalidArgumentError,
    );
    expect(() => positiveNumberSetting('BENCH_ITL_MS', 2.4, { BENCH_ITL_MS: 'fast' })).toThrow(
      'BENCH_ITL_MS=fast is not a positive number.',
    );
  });

  it('formats figures, with a dash for none', () => {
    expect(fixed(1.23456, 3)).toBe('1.235');
    expect(fixed(undefined)).toBe('—');
    expect(fixed(Number.NaN)).toBe('—');
  });

  it('alternates which side runs first, round by round', async () => {
    const order: string[] = [];
    let count = 0;
    const [a, b] = await interleavedRounds(
      3,
      async () => {
        order.push('a');
        return ++count;
      },
      async () => {
        order.push('b');
        return `b${++count}`;
      },
    );
    expect(order).toEqual(['a', 'b', 'b', 'a', 'a', 'b']);
    expect(a).toEqual([1, 4, 5]);
    expect(b).toEqual(['b2', 'b3', 'b6']);
  });
});

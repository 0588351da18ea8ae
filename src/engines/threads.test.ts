import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { physicalCoreCount } from '../measure/machine.js';
import { defaultThreadCount, threadsFromEnvironment } from './threads.js';

const twoCoresFourThreads = [
  'processor\t: 0\nphysical id\t: 0\ncore id\t\t: 0',
  'processor\t: 1\nphysical id\t: 0\ncore id\t\t: 1',
  'processor\t: 2\nphysical id\t: 0\ncore id\t\t: 0',
  'processor\t: 3\nphysical id\t: 0\ncore id\t\t: 1',
].join('\n\n');

describe('threads', () => {
  it('counts physical cores, not hyper-threads', () => {
    expect(physicalCoreCount(twoCoresFourThreads)).toBe(2);
  });

  it('caps threads by model size', () => {
    expect(defaultThreadCount(1_000_000, 8)).toBe(1);
    expect(defaultThreadCount(77_000_000, 2)).toBe(1);
    expect(defaultThreadCount(494_000_000, 16)).toBe(5);
    expect(defaultThreadCount(494_000_000, 2)).toBe(2);
    expect(defaultThreadCount(3_800_000_000, 8)).toBe(8);
    expect(defaultThreadCount(undefined, 6)).toBe(6);
  });

  it('reads TANDEM_THREADS and rejects nonsense', () => {
    expect(threadsFromEnvironment({ TANDEM_THREADS: '3' })).toBe(3);
    expect(threadsFromEnvironment({})).toBeUndefined();
    expect(() => threadsFromEnvironment({ TANDEM_THREADS: 'many' })).toThrow(InvalidArgumentError);
    expect(() => threadsFromEnvironment({ TANDEM_THREADS: '0' })).toThrow(/TANDEM_THREADS/);
  });
});

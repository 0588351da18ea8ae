import { describe, expect, it } from 'vitest';
import { StopSequenceMatcher } from './stop-sequences.js';

function run(stops: string[], chunks: string[]): { emitted: string; stopped: boolean } {
  const matcher = new StopSequenceMatcher(stops);
  let emitted = '';
  for (const chunk of chunks) {
    emitted += matcher.push(chunk);
    if (matcher.stopped) break;
  }
  emitted += matcher.flush();
  return { emitted, stopped: matcher.stopped };
}

describe('StopSequenceMatcher', () => {
  it('passes text through without stops', () => {
    expect(run([], ['a', 'b'])).toEqual({ emitted: 'ab', stopped: false });
  });

  it('stops at a sequence split across chunks and never emits it', () => {
    expect(run(['END'], ['hello E', 'N', 'D more'])).toEqual({ emitted: 'hello ', stopped: true });
  });

  it('releases held text that turned out not to be a stop', () => {
    const matcher = new StopSequenceMatcher(['END']);
    expect(matcher.push('abE')).toBe('ab');
    expect(matcher.push('x')).toBe('Ex');
    expect(matcher.flush()).toBe('');
  });

  it('emits held text at the end of generation', () => {
    expect(run(['END'], ['abEN'])).toEqual({ emitted: 'abEN', stopped: false });
  });

  it('cuts at the earliest of several stops', () => {
    expect(run(['zz', 'b'], ['aazzb'])).toEqual({ emitted: 'aa', stopped: true });
  });
});

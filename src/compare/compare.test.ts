import { describe, expect, it } from 'vitest';
import type { RunResult } from '../generate/generate.js';
import { type ModelComparison, verdictFor } from './compare.js';

function runWith(figures: { decode?: number; ttft?: number; incomplete?: boolean }): RunResult {
  return {
    decodeTokensPerSecond: figures.decode,
    ttftMs: figures.ttft,
    incomplete: figures.incomplete ?? false,
  } as RunResult;
}

function model(
  name: string,
  runs: { decode?: number; ttft?: number; incomplete?: boolean }[],
): ModelComparison {
  return { model: name, reference: name, warm: runs.map(runWith) } as ModelComparison;
}

const fast = model('small', [
  { decode: 2000, ttft: 2.0 },
  { decode: 2100, ttft: 2.2 },
  { decode: 1950, ttft: 1.9 },
]);
const slow = model('large', [
  { decode: 100, ttft: 100 },
  { decode: 98, ttft: 110 },
  { decode: 103, ttft: 95 },
]);

describe('compare verdicts', () => {
  it('names the faster decoder with the ratio and its CI, whichever side it is on', () => {
    const verdict = verdictFor('decodeTokensPerSecond', fast, slow);
    expect(verdict).toMatchObject({ better: 'small', worse: 'large', beyondNoise: true });
    expect(verdict?.ratio).toBeCloseTo(20.2, 0);
    expect(verdict?.interval?.low).toBeLessThan(verdict?.ratio as number);
    expect(verdict?.interval?.high).toBeGreaterThan(verdict?.ratio as number);
    expect(verdict?.text).toMatch(
      /^small decodes 20\.\dx faster than large \(95% CI \d+\.\d–\d+\.\dx\)\.$/,
    );
    const swapped = verdictFor('decodeTokensPerSecond', slow, fast);
    expect(swapped).toMatchObject({ better: 'small', worse: 'large', beyondNoise: true });
    expect(swapped?.ratio).toBeCloseTo(verdict?.ratio as number, 10);
  });

  it('orients time to first token so that lower is better', () => {
    const verdict = verdictFor('ttftMs', fast, slow);
    expect(verdict).toMatchObject({ better: 'small', worse: 'large', beyondNoise: true });
    expect(verdict?.ratio).toBeGreaterThan(40);
    expect(verdict?.text).toMatch(/^small reaches its first token \d+\.\dx sooner than large/);
    expect(verdictFor('ttftMs', slow, fast)?.better).toBe('small');
  });

  it('says when a difference is within noise', () => {
    const a = model('a', [{ decode: 100 }, { decode: 106 }, { decode: 97 }]);
    const b = model('b', [{ decode: 101 }, { decode: 98 }, { decode: 104 }]);
    const verdict = verdictFor('decodeTokensPerSecond', a, b);
    expect(verdict?.beyondNoise).toBe(false);
    expect(verdict?.text).toMatch(
      /^a and b: decode speed indistinguishable from noise \(ratio 1\.\d\dx, 95% CI/,
    );
  });

  it('does not claim anything from one run per side', () => {
    const verdict = verdictFor(
      'decodeTokensPerSecond',
      model('a', [{ decode: 200 }]),
      model('b', [{ decode: 100 }]),
    );
    expect(verdict?.beyondNoise).toBe(false);
    expect(verdict?.text).toMatch(/too few complete warm runs/);
  });

  it('leaves incomplete runs out', () => {
    const withFailure = model('small', [
      ...fast.warm.map((run) => ({ decode: run.decodeTokensPerSecond as number })),
      { decode: 1, incomplete: true },
    ]);
    const verdict = verdictFor('decodeTokensPerSecond', withFailure, slow);
    expect(verdict?.samples).toEqual({ better: 3, worse: 3 });
    expect(verdict?.ratio).toBeCloseTo(
      verdictFor('decodeTokensPerSecond', fast, slow)?.ratio as number,
      10,
    );
  });

  it('uses the names it is given (references where model names collide)', () => {
    const verdict = verdictFor('decodeTokensPerSecond', fast, slow, {
      first: 'demo-llm?threads=1',
      second: 'demo-llm?threads=2',
    });
    expect(verdict?.text).toMatch(/^demo-llm\?threads=1 decodes/);
  });
});

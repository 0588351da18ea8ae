import { describe, expect, it } from 'vitest';
import { syntheticRun } from '../../../test/support/bench-run.js';
import { diffRuns } from './run-diff.js';
import { formatLoadLevel, levelFigures } from './run-figures.js';

const level = { mode: 'closed', concurrency: 1 } as const;

describe('diffRuns', () => {
  it('a run twice as slow is slower beyond noise on every metric, with the ratio near 2', () => {
    const a = { ...syntheticRun({ models: ['demo-llm'], levels: [level], seed: 1 }), id: 6 };
    const b = {
      ...syntheticRun({ models: ['demo-llm'], levels: [level], seed: 2, slowdown: 2 }),
      id: 7,
    };
    const diff = diffRuns(a, b);
    expect(diff.lines.map((line) => line.metric)).toEqual([
      'ttftMs',
      'tpotMs',
      'e2eMs',
      'decodeTokensPerSecond',
    ]);
    for (const line of diff.lines) {
      expect(line.beyondNoise, line.text).toBe(true);
      expect(line.verdict).toBe('slower');
      expect(line.a.n).toBe(20);
    }
    const ttft = diff.lines[0];
    expect(ttft?.ratio).toBeGreaterThan(1.8);
    expect(ttft?.ratio).toBeLessThan(2.2);
    expect(ttft?.text).toMatch(
      /^demo-llm c=1: TTFT 2\.\d\dx slower in run 7 than run 6 \(95% CI \d\.\d\dx–\d\.\d\dx\)$/,
    );
    // A rate: B/A near 0.5, said as "2.0x slower".
    const decode = diff.lines[3];
    expect(decode?.ratio).toBeLessThan(0.56);
    expect(decode?.text).toMatch(
      /^demo-llm c=1: decode tok\/s (1\.9\d|2\.\d\d)x slower in run 7 than run 6/,
    );
    // And the other way round it is faster.
    const reverse = diffRuns(b, a);
    expect(reverse.lines.every((line) => line.verdict === 'faster')).toBe(true);
    expect(reverse.lines[0]?.text).toMatch(/TTFT 2\.\d\dx faster in run 6 than run 7/);
  });

  it('two runs from the same distribution are indistinguishable from noise', () => {
    const a = { ...syntheticRun({ seed: 11 }), id: 1 };
    const b = { ...syntheticRun({ seed: 12 }), id: 2 };
    const diff = diffRuns(a, b);
    expect(diff.lines).toHaveLength(2 * 2 * 4);
    for (const line of diff.lines) {
      expect(line.beyondNoise, line.text).toBe(false);
      expect(line.verdict).toBe('indistinguishable');
      expect(line.text).toMatch(
        /indistinguishable from noise \(run 2 \/ run 1 = \d\.\d\dx, 95% CI \d\.\d\dx–\d\.\d\dx\)$/,
      );
      expect(line.low).toBeLessThan(1);
      expect(line.high).toBeGreaterThan(1);
    }
    expect(diff.notes).toEqual([]);
  });

  it('only shared models and levels are compared; the rest, and differing settings, are noted', () => {
    const a = {
      ...syntheticRun({
        models: ['demo-slm', 'demo-llm'],
        levels: [level, { mode: 'closed', concurrency: 4 }],
      }),
      id: 1,
    };
    const bBase = syntheticRun({
      models: ['demo-llm', 'phi-4-mini'],
      levels: [{ mode: 'open', ratePerSecond: 2, durationSeconds: 30 }, level],
    });
    const b = { ...bBase, id: 2, settings: { ...bBase.settings, maxTokens: 64 } };
    const diff = diffRuns(a, b);
    expect(
      new Set(diff.lines.map((line) => `${line.model} ${formatLoadLevel(line.level)}`)),
    ).toEqual(new Set(['demo-llm c=1']));
    expect(diff.notes).toEqual([
      'demo-slm is only in run 1',
      'phi-4-mini is only in run 2',
      'load c=4 is only in run 1',
      'load 2 req/s for 30 s is only in run 2',
      'max tokens differs: 16 in run 1, 64 in run 2',
    ]);
  });

  it('failed and warm-up requests are left out; too few or no values are said so', () => {
    const a = { ...syntheticRun({ models: ['m'], levels: [level], rounds: 1, warmup: 3 }), id: 1 };
    const b = {
      ...syntheticRun({ models: ['m'], levels: [level], rounds: 4, failEvery: 1 }),
      id: 2,
    };
    const diff = diffRuns(a, b);
    expect(diff.lines[0]?.verdict).toBe('not measured');
    expect(diff.lines[0]?.text).toBe('m c=1: TTFT not measured in run 2');
    const c = { ...syntheticRun({ models: ['m'], levels: [level], rounds: 5 }), id: 3 };
    const few = diffRuns(a, c);
    expect(few.lines[0]?.verdict).toBe('too few samples');
    expect(few.lines[0]?.a.n).toBe(1);
    expect(few.lines[0]?.text).toContain('too few measured requests (n = 1 in run 1, 5 in run 3');
  });
});

describe('levelFigures', () => {
  it('uses stored summaries, and computes rows from requests where a run has none', () => {
    const run = syntheticRun({ models: ['demo-slm'], levels: [level], failEvery: 4 });
    const [fromSummary] = levelFigures(run);
    expect(fromSummary?.source).toBe('summary');
    expect(fromSummary?.requests).toBe(20);
    expect(fromSummary?.errors).toBe(5);
    expect(fromSummary?.outputTokensPerSecond).toBe(321.25);
    const crashed = { ...run, levels: [], incomplete: true };
    const [fromRequests] = levelFigures(crashed);
    expect(fromRequests?.source).toBe('requests');
    expect(fromRequests?.requests).toBe(20);
    expect(fromRequests?.errors).toBe(5);
    expect(fromRequests?.ttftMs?.p50).toBe(fromSummary?.ttftMs?.p50);
    expect(fromRequests?.e2eMs?.p95).toBe(fromSummary?.e2eMs?.p95);
    expect(fromRequests?.decodeTokensPerSecondP50).toBe(fromSummary?.decodeTokensPerSecondP50);
    expect(fromRequests?.outputTokensPerSecond).toBeGreaterThan(0);
    expect(fromRequests?.goodputShare).toBeGreaterThan(0);
  });
});

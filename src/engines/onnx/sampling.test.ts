import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../models/random.js';
import { createSamplingProcessor, sampleToken, samplingRandom } from './sampling.js';

function counts(logits: number[], temperature: number, topP: number, draws: number): number[] {
  const random = createSeededRandom('sampling-test');
  const tally = logits.map(() => 0);
  for (let draw = 0; draw < draws; draw++) {
    const token = sampleToken(logits, { temperature, topP, random });
    tally[token] = (tally[token] as number) + 1;
  }
  return tally;
}

describe('sampleToken', () => {
  it('draws tokens in proportion to softmax(logits / temperature)', () => {
    const logits = [Math.log(1), Math.log(2), Math.log(7)];
    const tally = counts(logits, 1, 1, 20_000);
    expect((tally[0] as number) / 20_000).toBeCloseTo(0.1, 1);
    expect((tally[1] as number) / 20_000).toBeCloseTo(0.2, 1);
    expect((tally[2] as number) / 20_000).toBeCloseTo(0.7, 1);
  });

  it('sharpens at low temperature and flattens at high temperature', () => {
    const logits = [0, 1];
    expect((counts(logits, 0.1, 1, 2000)[1] as number) / 2000).toBeGreaterThan(0.99);
    expect((counts(logits, 100, 1, 4000)[1] as number) / 4000).toBeCloseTo(0.5, 1);
  });

  it('keeps to the top-p nucleus', () => {
    // Probabilities 0.5, 0.3, 0.2: top-p 0.6 keeps the first two only.
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    const tally = counts(logits, 1, 0.6, 5000);
    expect(tally[2]).toBe(0);
    expect((tally[0] as number) / 5000).toBeCloseTo(0.625, 1);
  });

  it('gives the same sequence for the same seed', () => {
    const logits = Array.from({ length: 50 }, (_, index) => Math.sin(index));
    const draw = (seed: number) => {
      const random = samplingRandom(seed);
      return Array.from({ length: 20 }, () =>
        sampleToken(logits, { temperature: 1, topP: 1, random }),
      );
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });
});

describe('createSamplingProcessor', () => {
  it('leaves logits alone at temperature 0 (greedy picks the largest)', () => {
    const data = new Float32Array([1, 3, 2]);
    createSamplingProcessor({ temperature: 0, topP: 1, random: samplingRandom(1) })(undefined, {
      data,
      dims: [1, 3],
    });
    expect([...data]).toEqual([1, 3, 2]);
  });

  it('leaves exactly one possible token per row when sampling', () => {
    const data = new Float32Array([0, 0, 0, 5, 5, 5]);
    createSamplingProcessor({ temperature: 1, topP: 1, random: samplingRandom(1) })(undefined, {
      data,
      dims: [2, 3],
    });
    for (const row of [data.subarray(0, 3), data.subarray(3)]) {
      expect([...row].filter((value) => value === 0)).toHaveLength(1);
      expect([...row].filter((value) => value === Number.NEGATIVE_INFINITY)).toHaveLength(2);
    }
  });
});

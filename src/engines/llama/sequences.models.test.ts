import { describe, expect, it } from 'vitest';
import { demoModelPathForTests } from '../../../test/support/demo-models.js';
import { measureGeneration } from '../../measure/generation-timing.js';
import { LlamaEngine } from './llama-engine.js';

const messages = [{ role: 'user' as const, content: 'List 5 benefits of local AI inference.' }];

function engineFor(modelPath: string, sequences = 1): LlamaEngine {
  return new LlamaEngine({
    reference: modelPath,
    model: 'demo-slm',
    modelPath,
    threads: 1,
    gpu: 'cpu',
    sequences,
  });
}

describe('llama engine: concurrent sequences', () => {
  it('runs requests at once on several sequences, and queues beyond them', async () => {
    const engine = engineFor(await demoModelPathForTests('demo-slm'), 2);
    try {
      await engine.load();
      expect(engine.info.sequences).toBe(2);
      const results = await Promise.all(
        [0, 1, 2].map(() =>
          measureGeneration(engine.stream({ messages, maxTokens: 64, temperature: 0 })),
        ),
      );
      for (const result of results) expect(result.outputTokens).toBe(64);
      // Two start at once; the third waits for a free sequence.
      const queued = results.map((result) => result.queueMs).sort((a, b) => a - b);
      expect(queued[2]).toBeGreaterThan((queued[0] as number) + 1);
    } finally {
      await engine.dispose();
    }
  });
});

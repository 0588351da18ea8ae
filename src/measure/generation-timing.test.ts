import { describe, expect, it } from 'vitest';
import type { StreamPart } from '../engines/spec.js';
import { StreamInterruptedError } from '../errors.js';
import { measureGeneration } from './generation-timing.js';

/** A fake clock the test moves by hand; the stream advances it as "time passes". */
function fakeClock() {
  let now = 1000;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}

async function* script(
  steps: ({ waitMs: number } | StreamPart | { throw: Error })[],
  advance: (ms: number) => void,
): AsyncGenerator<StreamPart> {
  for (const step of steps) {
    if ('waitMs' in step) advance(step.waitMs);
    else if ('throw' in step) throw step.throw;
    else yield step;
  }
}

const finish = (
  outputTokens: number | undefined,
  usageSource: 'usage' | 'engine' = 'usage',
): StreamPart => ({
  type: 'finish',
  finishReason: 'stop',
  usage: { inputTokens: 12, outputTokens, reasoningTokens: undefined },
  usageSource,
});

describe('measureGeneration', () => {
  it('computes TTFT, TPOT, decode rate and E2E exactly as defined', async () => {
    const { clock, advance } = fakeClock();
    const result = await measureGeneration(
      script(
        [
          { waitMs: 50 },
          { type: 'text-delta', text: '' }, // role-only/empty chunk: not a token
          { waitMs: 50 },
          { type: 'text-delta', text: 'a' },
          { waitMs: 10 },
          { type: 'text-delta', text: 'b' },
          { waitMs: 10 },
          { type: 'text-delta', text: 'c' },
          { waitMs: 10 },
          { type: 'text-delta', text: 'd' },
          { waitMs: 30 }, // usage chunk and [DONE] later: not E2E
          finish(4),
        ],
        advance,
      ),
      { clock },
    );
    expect(result.ttftMs).toBe(100);
    expect(result.ttfoMs).toBe(100);
    expect(result.e2eMs).toBe(130);
    expect(result.outputTokens).toBe(4);
    expect(result.outputTokensSource).toBe('usage');
    expect(result.promptTokens).toBe(12);
    expect(result.tpotMs).toBe(10);
    expect(result.decodeTokensPerSecond).toBe(100);
    expect(result.requestTokensPerSecond).toBeCloseTo(4000 / 130, 10);
    expect(result.interTokenGapsMs).toEqual([10, 10, 10]);
    expect(result.text).toBe('abcd');
    expect(result.incomplete).toBe(false);
    expect(result.finishReason).toBe('stop');
  });

  it('separates reasoning (TTFT) from the first content token (TTFO)', async () => {
    const { clock, advance } = fakeClock();
    const result = await measureGeneration(
      script(
        [
          { waitMs: 20 },
          { type: 'reasoning-delta', text: 'think' },
          { waitMs: 20 },
          { type: 'reasoning-delta', text: 'ing' },
          { waitMs: 20 },
          { type: 'text-delta', text: 'answer' },
          finish(undefined),
        ],
        advance,
      ),
      { clock },
    );
    expect(result.ttftMs).toBe(20);
    expect(result.ttfoMs).toBe(60);
    expect(result.reasoningText).toBe('thinking');
    // No usage from the server: one token per event, and it says so.
    expect(result.outputTokens).toBe(3);
    expect(result.outputTokensSource).toBe('estimate');
  });

  it('uses the engine count when every delta carries one', async () => {
    const { clock, advance } = fakeClock();
    const result = await measureGeneration(
      script(
        [
          { waitMs: 5 },
          { type: 'text-delta', text: 'ab', tokenCount: 2 },
          { waitMs: 5 },
          { type: 'text-delta', text: 'c', tokenCount: 1 },
          { ...finish(undefined, 'engine') },
        ],
        advance,
      ),
      { clock },
    );
    expect(result.outputTokens).toBe(3);
    expect(result.outputTokensSource).toBe('engine');
  });

  it('prefers the arrival stamp a transport put on a part', async () => {
    const { clock, advance } = fakeClock();
    const result = await measureGeneration(
      script(
        [{ waitMs: 100 }, { type: 'text-delta', text: 'x', arrivedAtMs: 1040 }, finish(1)],
        advance,
      ),
      { clock },
    );
    expect(result.ttftMs).toBe(40);
  });

  it('counts tool-call deltas as tokens and assembles the calls', async () => {
    const { clock, advance } = fakeClock();
    const result = await measureGeneration(
      script(
        [
          { waitMs: 7 },
          {
            type: 'tool-call-delta',
            index: 0,
            id: 'call_1',
            name: 'get_weather',
            argumentsDelta: '',
          },
          { waitMs: 3 },
          { type: 'tool-call-delta', index: 0, argumentsDelta: '{"city":' },
          { type: 'tool-call-delta', index: 0, argumentsDelta: '"Oslo"}' },
          finish(3),
        ],
        advance,
      ),
      { clock },
    );
    expect(result.ttftMs).toBe(7);
    expect(result.ttfoMs).toBeUndefined();
    expect(result.toolCalls).toEqual([
      { index: 0, id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    ]);
  });

  it('keeps the partial answer of a stream that dies, marked incomplete', async () => {
    const { clock, advance } = fakeClock();
    const result = await measureGeneration(
      script(
        [
          { waitMs: 10 },
          { type: 'text-delta', text: 'partial ' },
          { waitMs: 10 },
          { type: 'text-delta', text: 'answer' },
          { throw: new StreamInterruptedError('The server closed the stream after 2 events.') },
        ],
        advance,
      ),
      { clock },
    );
    expect(result.text).toBe('partial answer');
    expect(result.incomplete).toBe(true);
    expect(result.finishReason).toBe('error');
    expect(result.errorMessage).toBe('The server closed the stream after 2 events.');
    expect(result.outputTokens).toBe(2);
    expect(result.outputTokensSource).toBe('estimate');
    expect(result.error).toBeInstanceOf(StreamInterruptedError);
  });

  it('reports an in-band error and a stream without a finish event', async () => {
    const { clock, advance } = fakeClock();
    const inBand = await measureGeneration(
      script(
        [
          { type: 'text-delta', text: 'x' },
          { type: 'error', error: new Error('model crashed') },
        ],
        advance,
      ),
      { clock },
    );
    expect(inBand.incomplete).toBe(true);
    expect(inBand.errorMessage).toBe('model crashed');
    const unfinished = await measureGeneration(
      script([{ type: 'text-delta', text: 'x' }], advance),
      { clock },
    );
    expect(unfinished.incomplete).toBe(true);
    expect(unfinished.errorMessage).toMatch(/without a finish event/);
  });

  it('marks an aborted generation', async () => {
    const { clock, advance } = fakeClock();
    const abort = new DOMException('aborted', 'AbortError');
    const result = await measureGeneration(
      script([{ type: 'text-delta', text: 'x' }, { throw: abort as unknown as Error }], advance),
      { clock },
    );
    expect(result.finishReason).toBe('abort');
    expect(result.incomplete).toBe(true);
  });

  it('takes t0 from the last request start: retries and loading are queue time', async () => {
    const { clock, advance } = fakeClock();
    const result = await measureGeneration(
      script(
        [
          { waitMs: 30 }, // loading, resolving the model id
          { type: 'request-start', attempt: 1 },
          { waitMs: 500 }, // a 503, then back-off
          { type: 'request-start', attempt: 2 },
          { waitMs: 40 },
          { type: 'text-delta', text: 'a' },
          { waitMs: 10 },
          { type: 'text-delta', text: 'b' },
          finish(2),
        ],
        advance,
      ),
      { clock },
    );
    expect(result.queueMs).toBe(530);
    expect(result.attempts).toBe(2);
    expect(result.ttftMs).toBe(40);
    expect(result.e2eMs).toBe(50);
  });

  it('counts stalls over the threshold', async () => {
    const { clock, advance } = fakeClock();
    const result = await measureGeneration(
      script(
        [
          { type: 'text-delta', text: 'a' },
          { waitMs: 1500 },
          { type: 'text-delta', text: 'b' },
          { waitMs: 10 },
          { type: 'text-delta', text: 'c' },
          finish(3),
        ],
        advance,
      ),
      { clock, stallThresholdMs: 1000 },
    );
    expect(result.stallCount).toBe(1);
    expect(result.tpotMs).toBe(755);
  });
});

import { describe, expect, it } from 'vitest';
import type { Engine, StreamPart } from '../../../engines/spec.js';
import {
  type ChatRun,
  type CompletionFigures,
  completeChat,
  primeChat,
  streamChat,
  usageOfCompletion,
} from './chat-completions.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An engine that streams one token every `intervalMs` until stopped; it says when it was. */
function endlessEngine(intervalMs: number) {
  const state = { stopped: false, tokens: 0 };
  const engine: Engine = {
    info: { engine: 'llama', reference: 'endless', model: 'endless' },
    async load() {},
    async dispose() {},
    async *stream(request): AsyncGenerator<StreamPart> {
      try {
        yield { type: 'request-start', attempt: 1 };
        while (request.signal?.aborted !== true) {
          state.tokens += 1;
          yield { type: 'text-delta', text: 'x', tokenCount: 1 };
          await sleep(intervalMs);
        }
      } finally {
        state.stopped = true;
      }
    },
  };
  return { engine, state };
}

function runOn(engine: Engine, stallTimeoutMs: number) {
  const controller = new AbortController();
  const done: { figures?: CompletionFigures; error?: unknown; called: number } = { called: 0 };
  const run: ChatRun = {
    id: 'chatcmpl-test',
    created: 0,
    model: 'endless',
    engine,
    request: { messages: [{ role: 'user', content: 'hi' }], signal: controller.signal },
    includeUsage: false,
    clock: () => performance.now(),
    onDone: (figures, error) => {
      done.called += 1;
      done.figures = figures;
      done.error = error;
    },
    stallTimeoutMs,
  };
  return { run, done, abort: () => controller.abort() };
}

describe('streamChat', () => {
  it('ends the stream of a client that stops reading, and stops its generation', async () => {
    const { engine, state } = endlessEngine(1);
    const { run, done, abort } = runOn(engine, 60);
    const stream = streamChat(run, await primeChat(run), abort);
    const reader = stream.getReader();
    await reader.read();
    await reader.read();
    // The reader stops here, as a client whose socket buffers are full.
    await sleep(400);
    expect(done.called).toBe(1);
    expect(String(done.error)).toMatch(/read nothing for 60 ms/);
    expect(state.stopped).toBe(true);
    const tokensAtStop = state.tokens;
    await sleep(50);
    expect(state.tokens).toBe(tokensAtStop);
    await expect(reader.read()).rejects.toThrow(/read nothing/);
  });

  it('leaves a slow but steady reader alone', async () => {
    const { engine, state } = endlessEngine(1);
    const { run, done, abort } = runOn(engine, 100);
    const stream = streamChat(run, await primeChat(run), abort);
    const reader = stream.getReader();
    for (let read = 0; read < 12; read++) {
      await reader.read();
      await sleep(30);
    }
    expect(done.called).toBe(0);
    expect(state.stopped).toBe(false);
    await reader.cancel();
    expect(done.called).toBe(1);
    expect(state.stopped).toBe(true);
  });
});

/** An engine that answers with the given parts, then its finish part. */
function scriptedEngine(parts: StreamPart[]): Engine {
  return {
    info: { engine: 'onnx', reference: 'onnx:tiny', model: 'tiny', threads: 2, device: 'cpu' },
    async load() {},
    async dispose() {},
    async *stream(): AsyncGenerator<StreamPart> {
      yield { type: 'request-start', attempt: 1 };
      yield* parts;
    },
  };
}

async function usageAfter(parts: StreamPart[]) {
  const { run, done } = runOn(scriptedEngine(parts), 60_000);
  await completeChat(run);
  const figures = done.figures as CompletionFigures;
  return usageOfCompletion(figures, run.engine.info, 25);
}

const finish = (outputTokens: number | undefined, usageSource: 'usage' | 'engine' = 'usage') =>
  ({
    type: 'finish',
    finishReason: 'stop',
    usage: { inputTokens: 7, outputTokens, reasoningTokens: undefined },
    usageSource,
  }) as const;

describe('usageOfCompletion', () => {
  it("is a served completion's usage record: tokens with provenance, timings, the engine", async () => {
    const usage = await usageAfter([
      { type: 'text-delta', text: 'a', tokenCount: 1 },
      { type: 'text-delta', text: 'b', tokenCount: 2 },
      finish(undefined),
    ]);
    expect(usage).toMatchObject({
      promptTokens: 7,
      outputTokens: 3,
      outputTokensSource: 'engine',
      queueMs: 25,
      engine: 'onnx',
      model: 'tiny',
      threads: 2,
      device: 'cpu',
      gpu: undefined,
      baseUrl: undefined,
    });
    expect(usage.ttftMs).toBeGreaterThanOrEqual(0);
    expect(usage.e2eMs).toBeGreaterThanOrEqual(usage.ttftMs as number);
  });

  it('says where the output count comes from: the usage, the engine, or counted deltas', async () => {
    const counted = await usageAfter([
      { type: 'text-delta', text: 'a', tokenCount: 1 },
      { type: 'text-delta', text: 'b' },
      finish(undefined),
    ]);
    expect(counted).toMatchObject({ outputTokens: 2, outputTokensSource: 'estimate' });
    const reported = await usageAfter([{ type: 'text-delta', text: 'a' }, finish(5)]);
    expect(reported).toMatchObject({ outputTokens: 5, outputTokensSource: 'usage' });
    const silent = await usageAfter([finish(undefined)]);
    expect(silent).toMatchObject({ outputTokens: 0, ttftMs: undefined, e2eMs: undefined });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChatScript,
  type ScriptedServer,
  startScriptedServer,
} from '../../test/support/scripted-server.js';
import { GenerationError, run } from './generate.js';

let server: ScriptedServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const TOKENS = 20;
const FIRST_MS = 80;
const GAP_MS = 15;

/** A server whose first token leaves after 80 ms and the next 19 every 15 ms. */
function cadenceScript({ usage }: { usage: boolean }): ChatScript {
  return [
    { type: 'delta', delta: { role: 'assistant', content: '' } },
    ...Array.from({ length: TOKENS }, (_, index) => ({
      type: 'delta' as const,
      delta: { content: `t${index} ` },
      delayMs: index === 0 ? FIRST_MS : GAP_MS,
    })),
    { type: 'delta', delta: {}, finishReason: 'stop' },
    ...(usage
      ? [
          {
            type: 'usage' as const,
            usage: { prompt_tokens: 9, completion_tokens: TOKENS, total_tokens: 29 },
            delayMs: 40,
          },
        ]
      : []),
    { type: 'done' },
  ];
}

function modelUrl(scripted: ScriptedServer): string {
  return `${scripted.baseUrl}#scripted-model`;
}

describe('run() against a scripted streaming server', () => {
  it('measures TTFT, TPOT and tokens as the server sent them, with usage provenance', async () => {
    server = await startScriptedServer({
      chatScripts: [cadenceScript({ usage: true })],
      models: ['scripted-model'],
    });
    const result = await run({ model: modelUrl(server), prompt: 'hi', maxTokens: 50 });
    const request = server.requests[0];
    if (request === undefined) throw new Error('no request recorded');
    const sends = request.steps
      .filter((step) => step.step.type === 'delta')
      .map((step) => step.sentAtMs);
    const firstTokenSent = sends[1] as number;
    const lastTokenSent = sends[TOKENS] as number;
    // The client's t0 precedes the server's receipt; the first token arrives just after its send.
    expect(result.ttftMs).toBeGreaterThanOrEqual(FIRST_MS - 2);
    expect((result.ttftMs as number) - (firstTokenSent - result.startedAtMs)).toBeLessThan(15);
    expect(
      (result.ttftMs as number) - (firstTokenSent - result.startedAtMs),
    ).toBeGreaterThanOrEqual(0);
    const serverTpot = (lastTokenSent - firstTokenSent) / (TOKENS - 1);
    expect(Math.abs((result.tpotMs as number) - serverTpot)).toBeLessThan(3);
    expect(result.tpotMs).toBeGreaterThan(GAP_MS - 3);
    // E2E ends at the last token, not at the usage chunk 40 ms later.
    expect(Math.abs((result.e2eMs as number) - (lastTokenSent - result.startedAtMs))).toBeLessThan(
      15,
    );
    expect(result.outputTokens).toBe(TOKENS);
    expect(result.outputTokensSource).toBe('usage');
    expect(result.promptTokens).toBe(9);
    expect(result.engine).toBe('openai');
    expect(result.peakRssDeltaBytes).toBeUndefined();
    expect(result.text).toBe(Array.from({ length: TOKENS }, (_, index) => `t${index} `).join(''));
    expect(request.body).toMatchObject({
      model: 'scripted-model',
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('counts a retried 503 and its back-off as queue time, not as time to first token', async () => {
    server = await startScriptedServer({
      chatScripts: [
        [{ type: 'respond', status: 503, headers: { 'retry-after': '0.3' }, body: 'busy' }],
        cadenceScript({ usage: true }),
      ],
      models: ['scripted-model'],
    });
    const result = await run({ model: modelUrl(server), prompt: 'hi' });
    expect(result.attempts).toBe(2);
    expect(result.queueMs).toBeGreaterThanOrEqual(290);
    expect(result.ttftMs).toBeGreaterThanOrEqual(FIRST_MS - 2);
    expect(result.ttftMs).toBeLessThan(FIRST_MS + 100);
    expect(result.setupMs).toBeGreaterThan(0);
    expect(result.loadMs).toBeUndefined();
  });

  it('estimates tokens from events when the server sends no usage, and says so', async () => {
    server = await startScriptedServer({
      chatScripts: [cadenceScript({ usage: false })],
      models: ['scripted-model'],
    });
    const result = await run({ model: modelUrl(server), prompt: 'hi' });
    expect(result.outputTokens).toBe(TOKENS);
    expect(result.outputTokensSource).toBe('estimate');
    expect(result.promptTokens).toBeUndefined();
  });

  it('keeps the partial text of a server that dies mid-stream, marked incomplete', async () => {
    server = await startScriptedServer({
      chatScripts: [
        [
          { type: 'delta', delta: { content: 'partial ' } },
          { type: 'delta', delta: { content: 'answer' }, delayMs: 10 },
          { type: 'destroy', delayMs: 10 },
        ],
      ],
      models: ['scripted-model'],
    });
    const error = await run({ model: modelUrl(server), prompt: 'hi' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(GenerationError);
    const { result } = error as GenerationError;
    expect(result.text).toBe('partial answer');
    expect(result.incomplete).toBe(true);
    expect(result.finishReason).toBe('error');
    expect((error as GenerationError).message).toMatch(/partial answer is kept/);
  });

  it('gives up on a server that stalls mid-stream after the idle timeout, keeping the text', async () => {
    server = await startScriptedServer({
      chatScripts: [
        [
          { type: 'delta', delta: { content: 'before the stall' } },
          { type: 'stall', ms: 5000 },
          { type: 'delta', delta: { content: 'never seen' } },
        ],
      ],
      models: ['scripted-model'],
    });
    const started = performance.now();
    const error = (await run({
      model: modelUrl(server),
      prompt: 'hi',
      engineOptions: { idleTimeoutMs: 300 },
    }).catch((caught: unknown) => caught)) as GenerationError;
    expect(performance.now() - started).toBeLessThan(3000);
    expect(error).toBeInstanceOf(GenerationError);
    expect(error.result.text).toBe('before the stall');
    expect(error.result.incomplete).toBe(true);
    expect(error.message).toMatch(/idle|no data|stalled|300/i);
  });

  it('stops on abort and reports what was measured', async () => {
    server = await startScriptedServer({
      chatScripts: [cadenceScript({ usage: true })],
      models: ['scripted-model'],
    });
    const controller = new AbortController();
    let seen = 0;
    const error = (await run({
      model: modelUrl(server),
      prompt: 'hi',
      signal: controller.signal,
      onPart: (part) => {
        if (part.type === 'text-delta' && part.text !== '') seen += 1;
        if (seen === 3) controller.abort();
      },
    }).catch((caught: unknown) => caught)) as GenerationError;
    expect(error).toBeInstanceOf(GenerationError);
    expect(error.exitCode).toBe(130);
    expect(error.result.finishReason).toBe('abort');
    expect(error.result.text).toBe('t0 t1 t2 ');
  });
});

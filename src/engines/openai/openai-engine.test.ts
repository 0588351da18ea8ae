import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChatScript,
  chatCompletionBody,
  type ScriptedServer,
  startScriptedServer,
} from '../../../test/support/scripted-server.js';
import {
  AbortedError,
  ApiCallError,
  EndpointUnreachableError,
  InvalidArgumentError,
  ModelNotFoundError,
  StreamInterruptedError,
  TandemError,
  TimeoutError,
} from '../../errors.js';
import { ConnectProbeTimeout, tcpConnectProbe } from '../../http/connect-probe.js';
import type { FinishPart, StreamPart } from '../spec.js';
import { createOpenAIEngine, type OpenAIEngineOptions } from './openai-engine.js';

const servers: ScriptedServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(
  scripts: ChatScript[] = [],
  models: readonly string[] | null = ['test-model'],
): Promise<ScriptedServer> {
  const options = models === null ? { chatScripts: scripts } : { chatScripts: scripts, models };
  const server = await startScriptedServer(options);
  servers.push(server);
  return server;
}

function engineFor(server: { baseUrl: string }, overrides: Partial<OpenAIEngineOptions> = {}) {
  return createOpenAIEngine({
    baseUrl: server.baseUrl,
    model: 'test-model',
    environment: {},
    connectTimeoutMs: 2000,
    firstByteTimeoutMs: 5000,
    idleTimeoutMs: 2000,
    retryBackoffMs: 1,
    ...overrides,
  });
}

const prompt = { messages: [{ role: 'user' as const, content: 'Say hello' }] };

/** The parts of a stream; `request-start` markers are kept apart in `starts`. */
async function collect(
  stream: AsyncIterable<StreamPart>,
): Promise<{ parts: StreamPart[]; starts: StreamPart[]; error: unknown }> {
  const parts: StreamPart[] = [];
  const starts: StreamPart[] = [];
  try {
    for await (const part of stream) (part.type === 'request-start' ? starts : parts).push(part);
    return { parts, starts, error: undefined };
  } catch (error) {
    return { parts, starts, error };
  }
}

function texts(parts: readonly StreamPart[], type: StreamPart['type'] = 'text-delta'): string[] {
  return parts.flatMap((part) => (part.type === type && 'text' in part ? [part.text] : []));
}

function finishOf(parts: readonly StreamPart[]): FinishPart | undefined {
  const last = parts.at(-1);
  return last?.type === 'finish' ? last : undefined;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const basicScript: ChatScript = [
  { type: 'delta', delta: { role: 'assistant', content: '' } },
  { type: 'delta', delta: { content: 'Hel' }, delayMs: 5 },
  { type: 'delta', delta: { content: 'lo' }, delayMs: 5 },
  { type: 'delta', delta: {}, finishReason: 'stop' },
  {
    type: 'usage',
    usage: {
      prompt_tokens: 11,
      completion_tokens: 2,
      total_tokens: 13,
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  },
  { type: 'done' },
];

describe('createOpenAIEngine: streaming', () => {
  it('streams text deltas and a finish part with server usage', async () => {
    const server = await serve([basicScript]);
    const engine = engineFor(server, { apiKey: 'secret-key' });
    const { parts, error } = await collect(
      engine.stream({
        ...prompt,
        maxTokens: 64,
        temperature: 0,
        topP: 0.9,
        seed: 7,
        stop: ['\n\n'],
      }),
    );
    expect(error).toBeUndefined();
    expect(texts(parts)).toEqual(['Hel', 'lo']);
    expect(parts.map((part) => part.type)).toEqual(['text-delta', 'text-delta', 'finish']);
    expect(parts.every((part) => typeof part.arrivedAtMs === 'number')).toBe(true);
    expect(parts.some((part) => 'tokenCount' in part)).toBe(false);
    expect(finishOf(parts)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 11, outputTokens: 2, reasoningTokens: 0 },
      usageSource: 'usage',
      responseModelId: 'test-model',
      arrivedAtMs: expect.any(Number),
    });
    const request = server.requests[0];
    expect(request?.body).toEqual({
      model: 'test-model',
      messages: [{ role: 'user', content: 'Say hello' }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 64,
      temperature: 0,
      top_p: 0.9,
      seed: 7,
      stop: ['\n\n'],
    });
    expect(request?.headers.authorization).toBe('Bearer secret-key');
    expect(request?.headers.accept).toBe('text/event-stream');
  });

  it('stamps arrival times that agree with the server send times within a few ms', async () => {
    const script: ChatScript = [
      { type: 'delta', delta: { role: 'assistant' } },
      { type: 'delta', delta: { content: 'a' }, delayMs: 60 },
      { type: 'delta', delta: { content: 'b' }, delayMs: 30 },
      { type: 'delta', delta: { content: 'c' }, delayMs: 45 },
      { type: 'delta', delta: { content: 'd' }, delayMs: 20 },
      { type: 'delta', delta: {}, finishReason: 'stop', delayMs: 5 },
      { type: 'done' },
    ];
    const server = await serve([script]);
    const engine = engineFor(server);
    await engine.load();
    const startedAtMs = performance.now();
    const { parts, error } = await collect(engine.stream(prompt));
    expect(error).toBeUndefined();
    const sent = server.requests[0]?.steps ?? [];
    const textParts = parts.filter((part) => part.type === 'text-delta');
    expect(textParts).toHaveLength(4);
    textParts.forEach((part, index) => {
      const sentAtMs = sent[index + 1]?.sentAtMs ?? Number.NaN;
      const lagMs = (part.arrivedAtMs ?? Number.NaN) - sentAtMs;
      expect(lagMs, `part ${index}`).toBeGreaterThanOrEqual(0);
      expect(lagMs, `part ${index}`).toBeLessThan(15);
    });
    const clientTtftMs = (textParts[0]?.arrivedAtMs ?? 0) - startedAtMs;
    const serverTtftMs = (sent[1]?.sentAtMs ?? 0) - startedAtMs;
    expect(Math.abs(clientTtftMs - serverTtftMs)).toBeLessThan(15);
    for (let index = 1; index < textParts.length; index++) {
      const clientGapMs =
        (textParts[index]?.arrivedAtMs ?? 0) - (textParts[index - 1]?.arrivedAtMs ?? 0);
      const serverGapMs = (sent[index + 1]?.sentAtMs ?? 0) - (sent[index]?.sentAtMs ?? 0);
      expect(Math.abs(clientGapMs - serverGapMs), `gap ${index}`).toBeLessThan(15);
    }
  });

  it('uses the injected clock for arrivedAtMs', async () => {
    const server = await serve([basicScript]);
    let tick = 1000;
    const engine = engineFor(server, { clock: () => tick++ });
    const { parts } = await collect(engine.stream(prompt));
    const stamps = parts.map((part) => part.arrivedAtMs ?? 0);
    expect(stamps.every((stamp) => stamp >= 1000 && stamp < 1100)).toBe(true);
  });

  it('maps reasoning (reasoning_content and reasoning) and tool-call deltas', async () => {
    const server = await serve([
      [
        { type: 'delta', delta: { role: 'assistant' } },
        { type: 'delta', delta: { reasoning_content: 'Let me ' } },
        { type: 'delta', delta: { reasoning: 'think.' } },
        { type: 'delta', delta: { content: 'Calling.' } },
        {
          type: 'delta',
          delta: {
            tool_calls: [
              {
                index: 0,
                id: 'call_1',
                type: 'function',
                function: { name: 'lookup', arguments: '' },
              },
            ],
          },
        },
        { type: 'delta', delta: { tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] } },
        { type: 'delta', delta: { tool_calls: [{ index: 0, function: { arguments: '"x"}' } }] } },
        { type: 'delta', delta: {}, finishReason: 'tool_calls' },
        {
          type: 'usage',
          usage: {
            prompt_tokens: 5,
            completion_tokens: 20,
            completion_tokens_details: { reasoning_tokens: 9 },
          },
        },
        { type: 'done' },
      ],
    ]);
    const { parts } = await collect(engineFor(server).stream(prompt));
    expect(texts(parts, 'reasoning-delta')).toEqual(['Let me ', 'think.']);
    expect(texts(parts)).toEqual(['Calling.']);
    const toolCalls = parts.filter((part) => part.type === 'tool-call-delta');
    expect(toolCalls.map(({ arrivedAtMs: _arrivedAtMs, ...rest }) => rest)).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'lookup', argumentsDelta: '' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{"q":' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '"x"}' },
    ]);
    expect(finishOf(parts)).toMatchObject({
      finishReason: 'tool-calls',
      usage: { inputTokens: 5, outputTokens: 20, reasoningTokens: 9 },
    });
  });

  it("ignores pings and reads llama-server's timings and a usage chunk with empty choices", async () => {
    const server = await serve([
      [
        { type: 'comment', text: 'ping' },
        { type: 'delta', delta: { content: 'x' } },
        { type: 'comment' },
        { type: 'delta', delta: {}, finishReason: 'length' },
        {
          type: 'usage',
          usage: { prompt_tokens: 3, completion_tokens: 1 },
          timings: { prompt_n: 3, prompt_ms: 1.5, predicted_n: 1, predicted_ms: 20.25 },
        },
        { type: 'done' },
      ],
    ]);
    const { parts } = await collect(engineFor(server).stream(prompt));
    expect(parts.map((part) => part.type)).toEqual(['text-delta', 'finish']);
    expect(finishOf(parts)).toMatchObject({
      finishReason: 'length',
      usage: { inputTokens: 3, outputTokens: 1, reasoningTokens: undefined },
      usageSource: 'usage',
      timings: { promptTokens: 3, promptMs: 1.5, predictedTokens: 1, predictedMs: 20.25 },
    });
  });

  it('leaves usage undefined when the server sends none, and maps content_filter', async () => {
    const server = await serve([
      [
        { type: 'delta', delta: { content: 'x' } },
        { type: 'delta', delta: {}, finishReason: 'content_filter' },
        { type: 'done' },
      ],
    ]);
    const { parts } = await collect(engineFor(server, { includeUsage: false }).stream(prompt));
    expect(finishOf(parts)).toMatchObject({
      finishReason: 'content-filter',
      usage: { inputTokens: undefined, outputTokens: undefined, reasoningTokens: undefined },
      usageSource: 'usage',
    });
    expect(server.requests[0]?.body).not.toHaveProperty('stream_options');
  });

  it('parses events split across writes, mid-line and mid-code-point', async () => {
    const event = (content: string) =>
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    const bytes = new TextEncoder().encode(event('Grüße 🌍'));
    const cut = bytes.indexOf(0xf0) + 2;
    const server = await serve([
      [
        { type: 'raw', bytes: bytes.slice(0, cut) },
        { type: 'raw', bytes: bytes.slice(cut), delayMs: 30 },
        { type: 'raw', bytes: `${event('a')}${event('b')}data: {"choices":[{"index":0,` },
        { type: 'raw', bytes: '"delta":{},"finish_reason":"stop"}]}\r\n\r', delayMs: 10 },
        { type: 'raw', bytes: '\ndata: [DONE]\r\n\r\n', delayMs: 10 },
      ],
    ]);
    const { parts, error } = await collect(engineFor(server).stream(prompt));
    expect(error).toBeUndefined();
    expect(texts(parts)).toEqual(['Grüße 🌍', 'a', 'b']);
    const steps = server.requests[0]?.steps ?? [];
    expect(parts[0]?.arrivedAtMs).toBeGreaterThanOrEqual(steps[1]?.sentAtMs ?? Number.NaN);
    expect(parts[1]?.arrivedAtMs).toBe(parts[2]?.arrivedAtMs);
    expect(finishOf(parts)?.finishReason).toBe('stop');
  });

  it('turns an in-band error into an error part and a finish part, then ends', async () => {
    const server = await serve([
      [
        { type: 'delta', delta: { content: 'partial' } },
        {
          type: 'error',
          error: { code: 500, message: 'CUDA out of memory', type: 'server_error' },
        },
        { type: 'delta', delta: { content: 'never' } },
        { type: 'done' },
      ],
    ]);
    const { parts, error } = await collect(engineFor(server).stream(prompt));
    expect(error).toBeUndefined();
    expect(parts.map((part) => part.type)).toEqual(['text-delta', 'error', 'finish']);
    const errorPart = parts[1];
    expect(errorPart?.type === 'error' && errorPart.error).toBeInstanceOf(ApiCallError);
    expect(errorPart?.type === 'error' && errorPart.error.message).toMatch(
      /reported an error in the stream: CUDA out of memory/,
    );
    expect(finishOf(parts)?.finishReason).toBe('error');
    expect(server.requests).toHaveLength(1);
  });

  it('finishes a stream that closes after finish_reason without [DONE]', async () => {
    const server = await serve([
      [
        { type: 'delta', delta: { content: 'x' } },
        { type: 'delta', delta: {}, finishReason: 'stop' },
        { type: 'end' },
      ],
    ]);
    const { parts, error } = await collect(engineFor(server).stream(prompt));
    expect(error).toBeUndefined();
    expect(finishOf(parts)?.finishReason).toBe('stop');
  });
});

describe('createOpenAIEngine: failures and retries', () => {
  it('retries a 500 and then succeeds', async () => {
    const server = await serve([
      [{ type: 'respond', status: 500, body: { error: { message: 'warming up' } } }],
      basicScript,
    ]);
    const delays: number[] = [];
    const engine = engineFor(server, {
      retryBackoffMs: 200,
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const { parts, starts, error } = await collect(engine.stream(prompt));
    expect(error).toBeUndefined();
    expect(texts(parts)).toEqual(['Hel', 'lo']);
    expect(server.requests).toHaveLength(2);
    expect(delays).toEqual([150]);
    // One request-start per attempt, each stamped just before its request was written.
    expect(starts.map((part) => (part.type === 'request-start' ? part.attempt : 0))).toEqual([
      1, 2,
    ]);
    expect(starts[1]?.arrivedAtMs).toBeLessThanOrEqual(
      server.requests[1]?.receivedAtMs ?? Number.NaN,
    );
    expect(starts[1]?.arrivedAtMs).toBeGreaterThan(server.requests[0]?.receivedAtMs ?? Number.NaN);
  });

  it("honours a 429's Retry-After", async () => {
    const server = await serve([
      [{ type: 'respond', status: 429, headers: { 'retry-after': '2' }, body: 'slow down' }],
      [
        {
          type: 'respond',
          status: 503,
          headers: { 'retry-after': 'Thu, 01 Jan 2099 00:00:00 GMT' },
          body: '',
        },
      ],
      basicScript,
    ]);
    const delays: number[] = [];
    const engine = engineFor(server, {
      maxRetryAfterMs: 5000,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const { error } = await collect(engine.stream(prompt));
    expect(error).toBeUndefined();
    expect(delays).toEqual([2000, 5000]);
  });

  it('gives up after maxRetries with the last ApiCallError', async () => {
    const server = await serve([
      [{ type: 'respond', status: 502, body: 'bad gateway' }],
      [{ type: 'respond', status: 502, body: 'bad gateway' }],
    ]);
    const { error } = await collect(engineFor(server, { maxRetries: 1 }).stream(prompt));
    expect(error).toBeInstanceOf(ApiCallError);
    expect((error as ApiCallError).status).toBe(502);
    expect(server.requests).toHaveLength(2);
  });

  it('does not retry with RETRY_ON_FAIL=0, nor a 400', async () => {
    const server = await serve([
      [{ type: 'respond', status: 500, body: { error: { message: 'boom' } } }],
      [{ type: 'respond', status: 400, body: { error: { message: 'bad request' } } }],
    ]);
    const noRetries = engineFor(server, { environment: { RETRY_ON_FAIL: '0' } });
    expect((await collect(noRetries.stream(prompt))).error).toBeInstanceOf(ApiCallError);
    expect(server.requests).toHaveLength(1);
    const { error } = await collect(engineFor(server).stream(prompt));
    expect(error).toMatchObject({ status: 400, isRetryable: false });
    expect(server.requests).toHaveLength(2);
  });

  it('shows HTTP error bodies in short', async () => {
    const server = await serve([
      [
        {
          type: 'respond',
          status: 404,
          body: { error: { message: "model 'nope' not found", type: 'invalid_request_error' } },
        },
      ],
      [
        {
          type: 'respond',
          status: 422,
          body: `<html><body>${'detail '.repeat(100)}</body></html>`,
        },
      ],
    ]);
    const first = (await collect(engineFor(server).stream(prompt))).error as ApiCallError;
    expect(first).toBeInstanceOf(ApiCallError);
    expect(first.message).toBe(
      `The server at ${server.baseUrl} answered HTTP 404 Not Found to POST ${server.baseUrl}/chat/completions: model 'nope' not found`,
    );
    expect(first.isRetryable).toBe(false);
    expect(first.responseBody).toContain('invalid_request_error');
    const second = (await collect(engineFor(server).stream(prompt))).error as ApiCallError;
    expect(second.message).toMatch(/HTTP 422 .*: <html><body>detail detail/);
    expect(second.message.length).toBeLessThan(400);
    expect(second.message.includes('\n')).toBe(false);
  });

  it('never retries after a part was yielded: a drop mid-stream keeps the partial parts', async () => {
    const server = await serve([
      [
        { type: 'delta', delta: { content: 'Hel' } },
        { type: 'delta', delta: { content: 'lo' }, delayMs: 5 },
        { type: 'destroy', delayMs: 5 },
      ],
      basicScript,
    ]);
    const { parts, error } = await collect(engineFor(server).stream(prompt));
    expect(texts(parts)).toEqual(['Hel', 'lo']);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as Error).message).toBe(
      `The server at ${server.baseUrl} closed the stream after 2 events without finishing; the partial answer is kept.`,
    );
    expect(server.requests).toHaveLength(1);
  });

  it('reports a cleanly closed stream without [DONE] or finish_reason as interrupted', async () => {
    const server = await serve([[{ type: 'delta', delta: { content: 'x' } }, { type: 'end' }]]);
    const { parts, error } = await collect(engineFor(server).stream(prompt));
    expect(texts(parts)).toEqual(['x']);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as Error).message).toMatch(/after 1 event without finishing/);
  });

  it('retries a response that dropped before any byte of its body', async () => {
    const server = await serve([
      [{ type: 'headers' }, { type: 'destroy', delayMs: 5 }],
      basicScript,
    ]);
    const { parts, error } = await collect(engineFor(server).stream(prompt));
    expect(error).toBeUndefined();
    expect(texts(parts)).toEqual(['Hel', 'lo']);
    expect(server.requests).toHaveLength(2);
  });

  it('never retries once the body has started, even when no part was yielded yet', async () => {
    const server = await serve([
      [
        { type: 'headers' },
        { type: 'delta', delta: { role: 'assistant' } },
        { type: 'destroy', delayMs: 5 },
      ],
      basicScript,
    ]);
    const { parts, error } = await collect(engineFor(server).stream(prompt));
    expect(parts).toEqual([]);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(server.requests).toHaveLength(1);
  });

  it('times out quickly on a stall mid-stream (idle)', async () => {
    const server = await serve([
      [{ type: 'delta', delta: { content: 'x' } }, { type: 'stall', ms: 2000 }, { type: 'done' }],
    ]);
    const startedAtMs = performance.now();
    const { parts, error } = await collect(
      engineFor(server, { idleTimeoutMs: 100 }).stream(prompt),
    );
    expect(texts(parts)).toEqual(['x']);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ phase: 'idle', timeoutMs: 100 });
    expect(performance.now() - startedAtMs).toBeLessThan(1000);
    expect(server.requests).toHaveLength(1);
  });

  it('pings keep an idle stream alive', async () => {
    const server = await serve([
      [
        { type: 'delta', delta: { content: 'x' } },
        { type: 'comment', delayMs: 60 },
        { type: 'comment', delayMs: 60 },
        { type: 'comment', delayMs: 60 },
        { type: 'delta', delta: {}, finishReason: 'stop', delayMs: 60 },
        { type: 'done' },
      ],
    ]);
    const { error } = await collect(engineFor(server, { idleTimeoutMs: 120 }).stream(prompt));
    expect(error).toBeUndefined();
  });

  it('times out when no first byte arrives (headers or body), without retrying', async () => {
    const server = await serve([
      [{ type: 'stall', ms: 1500 }, ...basicScript],
      [{ type: 'headers' }, { type: 'stall', ms: 1500 }, ...basicScript],
    ]);
    for (const expectedRequests of [1, 2]) {
      const startedAtMs = performance.now();
      const { error } = await collect(
        engineFor(server, { firstByteTimeoutMs: 100 }).stream(prompt),
      );
      expect(error).toMatchObject({ phase: 'first-byte', timeoutMs: 100 });
      expect((error as Error).message).toMatch(/first-byte timeout/);
      expect(performance.now() - startedAtMs).toBeLessThan(1000);
      expect(server.requests).toHaveLength(expectedRequests);
    }
  });

  it('reports a refused connection as EndpointUnreachableError naming the URL and the hint', async () => {
    const port = await closedPort();
    const baseUrl = `http://127.0.0.1:${port}/v1`;
    const withProbe = createOpenAIEngine({
      baseUrl,
      model: 'phi4-mini',
      preset: 'ollama',
      environment: {},
      maxRetries: 0,
    });
    const { error } = await collect(withProbe.stream(prompt));
    expect(error).toBeInstanceOf(EndpointUnreachableError);
    expect((error as EndpointUnreachableError).url).toBe(baseUrl);
    expect((error as Error).message).toBe(
      `Cannot reach Ollama at ${baseUrl} (connection refused). Start it with 'ollama serve'.`,
    );
    const withoutProbe = createOpenAIEngine({
      baseUrl,
      model: 'phi4-mini',
      preset: 'foundry',
      environment: {},
      connectProbe: false,
      resolveModelAlias: false,
      retryBackoffMs: 1,
    });
    const second = (await collect(withoutProbe.stream(prompt))).error;
    expect(second).toBeInstanceOf(EndpointUnreachableError);
    expect((second as EndpointUnreachableError).url).toBe(`${baseUrl}/chat/completions`);
    expect((second as Error).message).toMatch(
      /^Cannot reach Foundry Local at .* \(connection refused\)\. Start it with 'foundry service start' or set FOUNDRY_LOCAL_ENDPOINT\.$/,
    );
  });

  it('reports a connect timeout from the probe as TimeoutError connect', async () => {
    const server = await serve([basicScript]);
    const engine = engineFor(server, {
      connectTimeoutMs: 50,
      maxRetries: 0,
      connectProbe: async (_url, timeoutMs) => {
        throw new ConnectProbeTimeout(timeoutMs);
      },
    });
    await expect(engine.load()).rejects.toMatchObject({ phase: 'connect', timeoutMs: 50 });
    await expect(engine.load()).rejects.toBeInstanceOf(TimeoutError);
  });
});

describe('createOpenAIEngine: abort and dispose', () => {
  it('aborts the fetch and the body read at once', async () => {
    const server = await serve([
      [{ type: 'delta', delta: { content: 'x' } }, { type: 'stall', ms: 3000 }, { type: 'done' }],
      [{ type: 'stall', ms: 3000 }, ...basicScript],
    ]);
    const engine = engineFor(server);
    const controller = new AbortController();
    const parts: StreamPart[] = [];
    let abortedAtMs = 0;
    const reading = (async () => {
      for await (const part of engine.stream({ ...prompt, signal: controller.signal })) {
        parts.push(part);
        setTimeout(() => {
          abortedAtMs = performance.now();
          controller.abort();
        }, 20);
      }
    })();
    await expect(reading).rejects.toBeInstanceOf(AbortedError);
    expect(performance.now() - abortedAtMs).toBeLessThan(100);
    expect(texts(parts)).toEqual(['x']);

    const beforeFirstByte = new AbortController();
    setTimeout(() => beforeFirstByte.abort(), 50);
    const startedAtMs = performance.now();
    const { error } = await collect(engine.stream({ ...prompt, signal: beforeFirstByte.signal }));
    expect(error).toBeInstanceOf(AbortedError);
    expect(performance.now() - startedAtMs).toBeLessThan(500);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.requests[1]?.clientClosedEarly).toBe(true);
    expect(server.requests).toHaveLength(2);
  });

  it('rejects at once with an already aborted signal', async () => {
    const server = await serve([basicScript]);
    const { error } = await collect(
      engineFor(server).stream({ ...prompt, signal: AbortSignal.abort() }),
    );
    expect(error).toBeInstanceOf(AbortedError);
    expect(server.requests).toHaveLength(0);
  });

  it('dispose() stops an in-flight stream', async () => {
    const server = await serve([
      [
        { type: 'delta', delta: { content: 'x' } },
        { type: 'stall', ms: 3000 },
      ],
    ]);
    const engine = engineFor(server);
    const parts: StreamPart[] = [];
    const reading = (async () => {
      for await (const part of engine.stream(prompt)) {
        parts.push(part);
        setTimeout(() => void engine.dispose(), 10);
      }
    })();
    await expect(reading).rejects.toThrow(/disposed/);
    await expect(engine.load()).rejects.toBeInstanceOf(AbortedError);
  });

  it('stops reading when the consumer breaks out of the loop', async () => {
    const server = await serve([
      [
        { type: 'delta', delta: { content: 'x' } },
        { type: 'delta', delta: { content: 'y' }, delayMs: 200 },
      ],
    ]);
    for await (const part of engineFor(server).stream(prompt)) {
      if (part.type === 'request-start') continue;
      expect(part.type).toBe('text-delta');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.requests[0]?.clientClosedEarly).toBe(true);
  });
});

describe('createOpenAIEngine: model alias resolution', () => {
  it('resolves a Foundry alias once through /models and sends the real id', async () => {
    const server = await serve(
      [basicScript, basicScript],
      [
        'Phi-4-mini-instruct-generic-cpu:4',
        'Phi-4-mini-instruct-cuda-gpu:5',
        'gpt-oss-20b-cuda-gpu:1',
      ],
    );
    const engine = engineFor(server, { model: 'phi-4-mini', preset: 'foundry' });
    expect(engine.info).toEqual({
      engine: 'openai',
      reference: 'foundry:phi-4-mini',
      model: 'phi-4-mini',
      baseUrl: server.baseUrl,
      preset: 'foundry',
    });
    await engine.load();
    await engine.load();
    expect(engine.info.resolvedModelId).toBe('Phi-4-mini-instruct-cuda-gpu:5');
    expect(engine.modelResolution).toMatchObject({ match: 'normalized' });
    await collect(engine.stream(prompt));
    await collect(engine.stream(prompt));
    expect(server.modelsRequestCount).toBe(1);
    expect(server.requests.map((request) => (request.body as { model: string }).model)).toEqual([
      'Phi-4-mini-instruct-cuda-gpu:5',
      'Phi-4-mini-instruct-cuda-gpu:5',
    ]);
  });

  it('resolves an Ollama name to its tag', async () => {
    const server = await serve([basicScript], ['phi4-mini:latest', 'gpt-oss:20b']);
    const engine = engineFor(server, { model: 'phi4-mini', preset: 'ollama' });
    await collect(engine.stream(prompt));
    expect(server.requests[0]?.body).toMatchObject({ model: 'phi4-mini:latest' });
  });

  it("throws ModelNotFoundError listing the server's ids", async () => {
    const server = await serve([], ['phi4-mini:latest', 'gpt-oss:20b']);
    const engine = engineFor(server, { model: 'mistral', preset: 'ollama' });
    const { error } = await collect(engine.stream(prompt));
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toContain(
      `Ollama at ${server.baseUrl} has no model 'mistral' (it has phi4-mini:latest, gpt-oss:20b)`,
    );
    expect(server.requests).toHaveLength(0);
  });

  it('uses the name as given when /models answers 404', async () => {
    const server = await serve([basicScript], null);
    const engine = engineFor(server, { model: 'whatever.gguf', preset: 'llamacpp' });
    await engine.load();
    expect(engine.info.resolvedModelId).toBe('whatever.gguf');
    expect(engine.modelResolution).toBeUndefined();
    expect(server.modelsRequestCount).toBe(1);
    expect((await collect(engine.stream(prompt))).error).toBeUndefined();
  });
});

describe('createOpenAIEngine: options', () => {
  it('sends through an injected fetch instead of its own HTTP client', async () => {
    const server = await serve([basicScript]);
    const urls: string[] = [];
    const countingFetch: typeof fetch = (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    };
    const { parts, error } = await collect(
      engineFor(server, { fetch: countingFetch }).stream(prompt),
    );
    expect(error).toBeUndefined();
    expect(texts(parts)).toEqual(['Hel', 'lo']);
    expect(finishOf(parts)).toMatchObject({ finishReason: 'stop', usage: { outputTokens: 2 } });
    expect(urls).toEqual([`${server.baseUrl}/models`, `${server.baseUrl}/chat/completions`]);
  });

  it('supports non-streaming requests (BENCH_STREAM=0)', async () => {
    const server = await serve([
      [
        {
          type: 'respond',
          delayMs: 20,
          body: chatCompletionBody({
            content: 'Hello there',
            reasoningContent: 'brief thought',
            model: 'test-model',
            usage: { prompt_tokens: 4, completion_tokens: 2 },
          }),
        },
      ],
    ]);
    const engine = engineFor(server, { stream: false });
    const { parts, error } = await collect(engine.stream(prompt));
    expect(error).toBeUndefined();
    expect(parts.map((part) => part.type)).toEqual(['reasoning-delta', 'text-delta', 'finish']);
    expect(texts(parts)).toEqual(['Hello there']);
    expect(finishOf(parts)).toMatchObject({
      finishReason: 'stop',
      usage: { inputTokens: 4, outputTokens: 2 },
      responseModelId: 'test-model',
    });
    const respondedAtMs = server.requests[0]?.steps[0]?.sentAtMs ?? Number.NaN;
    expect((parts[1]?.arrivedAtMs ?? 0) - respondedAtMs).toBeLessThan(15);
    expect(server.requests[0]?.body).toMatchObject({ stream: false });
    expect(server.requests[0]?.body).not.toHaveProperty('stream_options');
  });

  it('takes the Foundry base URL from FOUNDRY_LOCAL_ENDPOINT', async () => {
    const server = await serve([basicScript], ['Phi-4-mini-instruct-cuda-gpu:5']);
    const engine = createOpenAIEngine({
      model: 'phi-4-mini',
      preset: 'foundry',
      environment: { FOUNDRY_LOCAL_ENDPOINT: `${server.baseUrl}/` },
      runCommand: async () => {
        throw new Error('must not run foundry');
      },
    });
    expect(engine.info.baseUrl).toBeUndefined();
    await engine.load();
    expect(engine.info.baseUrl).toBe(server.baseUrl);
    expect(engine.baseUrlSource).toBe('environment');
    expect((await collect(engine.stream(prompt))).error).toBeUndefined();
  });

  it('discovers the Foundry base URL through the command runner', async () => {
    const server = await serve([basicScript], ['Phi-4-mini-instruct-cuda-gpu:5']);
    const engine = createOpenAIEngine({
      model: 'phi-4-mini',
      preset: 'foundry',
      environment: {},
      runCommand: async () => ({
        exitCode: 0,
        stdout: `🟢 Model management service is running on ${server.origin}/openai/status`,
        stderr: '',
      }),
    });
    await engine.load();
    expect(engine.info).toMatchObject({
      baseUrl: server.baseUrl,
      resolvedModelId: 'Phi-4-mini-instruct-cuda-gpu:5',
    });
    expect(engine.baseUrlSource).toBe('foundry-status');
  });

  it('rejects invalid options', () => {
    expect(() => createOpenAIEngine({ model: 'x' })).toThrow(InvalidArgumentError);
    expect(() => createOpenAIEngine({ model: 'x', preset: 'openai' })).toThrow(
      InvalidArgumentError,
    );
    expect(() => createOpenAIEngine({ model: 'x', baseUrl: 'not a url' })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      createOpenAIEngine({ model: 'x', baseUrl: 'http://h/v1', idleTimeoutMs: 0, environment: {} }),
    ).toThrow(InvalidArgumentError);
    expect(
      createOpenAIEngine({ model: 'x', baseUrl: 'http://h/v1', environment: {} }).countTokens,
    ).toBeUndefined();
  });
});

describe('tcpConnectProbe', () => {
  it('connects to a listening port and is refused by a closed one', async () => {
    const server = await serve();
    await expect(tcpConnectProbe(new URL(server.baseUrl), 1000)).resolves.toBeUndefined();
    const port = await closedPort();
    await expect(
      tcpConnectProbe(new URL(`http://127.0.0.1:${port}/v1`), 1000),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('createOpenAIEngine: response formats', () => {
  it('sends response_format as the OpenAI API spells it', async () => {
    const server = await serve([basicScript, basicScript, basicScript]);
    const engine = engineFor(server);
    const schema = {
      type: 'object',
      properties: { a: { type: 'integer' } },
      required: ['a'],
      additionalProperties: false,
    };
    for (const responseFormat of [
      { type: 'json_object' as const },
      { type: 'json_schema' as const, name: 'with_a', schema, strict: true },
      { type: 'json_schema' as const, name: 'with_a', schema },
    ]) {
      expect((await collect(engine.stream({ ...prompt, responseFormat }))).error).toBeUndefined();
    }
    const formats = server.requests.map(
      (request) => (request.body as { response_format?: unknown }).response_format,
    );
    expect(formats).toEqual([
      { type: 'json_object' },
      { type: 'json_schema', json_schema: { name: 'with_a', schema, strict: true } },
      { type: 'json_schema', json_schema: { name: 'with_a', schema } },
    ]);
    // Without a response format the field is not sent at all.
    const plain = await serve([basicScript]);
    await collect(engineFor(plain).stream(prompt));
    expect(plain.requests[0]?.body).not.toHaveProperty('response_format');
  });
});

describe('createOpenAIEngine: embeddings', () => {
  function embeddingsAnswer(
    data: readonly unknown[],
    usage: Record<string, unknown> | null = { prompt_tokens: 7, total_tokens: 7 },
  ): ChatScript {
    return [
      {
        type: 'respond',
        body: {
          object: 'list',
          model: 'test-model',
          data,
          ...(usage === null ? {} : { usage }),
        },
      },
    ];
  }

  it('posts the inputs to /embeddings and orders the vectors by index', async () => {
    const server = await serve([], ['test-model:latest']);
    server.enqueueEmbeddings(
      embeddingsAnswer([
        { object: 'embedding', index: 1, embedding: [0.5, -1] },
        { object: 'embedding', index: 0, embedding: [1, 2.25] },
      ]),
    );
    const engine = engineFor(server, { apiKey: 'secret-key' });
    const result = await engine.embed({ inputs: ['first', 'second'] });
    expect(result).toEqual({
      embeddings: [
        [1, 2.25],
        [0.5, -1],
      ],
      promptTokens: 7,
    });
    expect(server.embeddingRequests).toHaveLength(1);
    const request = server.embeddingRequests[0];
    expect(request?.body).toEqual({ model: 'test-model:latest', input: ['first', 'second'] });
    expect(request?.path).toBe('/v1/embeddings');
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.authorization).toBe('Bearer secret-key');
    expect(server.requests).toHaveLength(0);
  });

  it('reads answers without index or usage in input order', async () => {
    const server = await serve();
    server.enqueueEmbeddings(embeddingsAnswer([{ embedding: [1] }, { embedding: [2] }], null));
    const result = await engineFor(server).embed({ inputs: ['a', 'b'] });
    expect(result).toEqual({ embeddings: [[1], [2]], promptTokens: undefined });
    expect(await engineFor(server).embed({ inputs: [] })).toEqual({
      embeddings: [],
      promptTokens: 0,
    });
    expect(server.embeddingRequests).toHaveLength(1);
  });

  it('retries a 500 and then reports an ApiCallError', async () => {
    const failure: ChatScript = [
      { type: 'respond', status: 500, body: { error: { message: 'embedder crashed' } } },
    ];
    const server = await serve();
    server.enqueueEmbeddings(failure, failure, failure);
    const delays: number[] = [];
    const engine = engineFor(server, {
      maxRetries: 2,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const error = await engine.embed({ inputs: ['a'] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiCallError);
    expect(error).toMatchObject({ status: 500, isRetryable: true });
    expect((error as Error).message).toMatch(
      /answered HTTP 500 Internal Server Error to POST http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings: embedder crashed/,
    );
    expect(server.embeddingRequests).toHaveLength(3);
    expect(delays).toHaveLength(2);
  });

  it('retries a 503 and then succeeds', async () => {
    const server = await serve();
    server.enqueueEmbeddings(
      [{ type: 'respond', status: 503, body: 'loading' }],
      embeddingsAnswer([{ index: 0, embedding: [3] }]),
    );
    const engine = engineFor(server, { sleep: async () => {} });
    expect(await engine.embed({ inputs: ['a'] })).toEqual({ embeddings: [[3]], promptTokens: 7 });
    expect(server.embeddingRequests).toHaveLength(2);
  });

  it('says clearly what is wrong with a malformed answer', async () => {
    const server = await serve();
    const engine = engineFor(server);
    const cases: [ChatScript, RegExp][] = [
      [[{ type: 'respond', body: 'not json' }], /sent an embeddings answer that is not JSON/],
      [embeddingsAnswer([{ index: 0, embedding: [1] }]), /sent 1 embedding for 2 inputs/],
      [
        embeddingsAnswer([
          { index: 0, embedding: [1] },
          { index: 0, embedding: [2] },
        ]),
        /sent two embeddings with index 0/,
      ],
      [
        embeddingsAnswer([
          { index: 0, embedding: [1] },
          { index: 5, embedding: [2] },
        ]),
        /sent an embedding with index 5 for 2 inputs/,
      ],
      [
        embeddingsAnswer([
          { index: 0, embedding: [1] },
          { index: 1, embedding: 'AAAA' },
        ]),
        /sent embedding 1 that is not a list of numbers/,
      ],
      [
        [{ type: 'respond', body: { error: { message: 'model is not an embedding model' } } }],
        /reported an error instead of embeddings: model is not an embedding model/,
      ],
      [[{ type: 'respond', body: { object: 'list' } }], /without a 'data' list/],
    ];
    for (const [script, message] of cases) {
      server.enqueueEmbeddings(script);
      const error = await engine.embed({ inputs: ['a', 'b'] }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TandemError);
      expect(error).not.toBeInstanceOf(ApiCallError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    }
    // None of these is retried.
    expect(server.embeddingRequests).toHaveLength(cases.length);
  });

  it('times out when no first byte arrives, and stops on abort', async () => {
    const server = await serve();
    server.enqueueEmbeddings(
      [{ type: 'respond', body: { data: [] }, delayMs: 2000 }],
      [{ type: 'respond', body: { data: [] }, delayMs: 2000 }],
    );
    const engine = engineFor(server, { firstByteTimeoutMs: 100, maxRetries: 0 });
    const error = await engine.embed({ inputs: ['a'] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ phase: 'first-byte' });
    const loaded = engineFor(server);
    await loaded.load();
    const controller = new AbortController();
    const startedAtMs = performance.now();
    const pending = loaded.embed({ inputs: ['a'], signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    expect(performance.now() - startedAtMs).toBeLessThan(1000);
    expect(server.embeddingRequests).toHaveLength(2);
  });

  it('the scripted server answers 404 at /embeddings when it has no embeddings scripts', async () => {
    const server = await serve();
    const error = await engineFor(server)
      .embed({ inputs: ['a'] })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 404, isRetryable: false });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { createOpenAIEngine } from '../src/engines/openai/openai-engine.js';
import { measureGeneration } from '../src/measure/generation-timing.js';
import { percentiles } from '../src/measure/statistics/summary.js';
import { type SyntheticServer, startSyntheticServer } from '../test/support/synthetic-server.js';
import { runBareReader } from './bare-reader.js';
import { type AgreementFigures, figureAgreement, runClientBenchmark } from './client-benchmark.js';

let server: SyntheticServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Parameters<typeof startSyntheticServer>[0] = {}) {
  server = await startSyntheticServer(options);
  return server;
}

function post(
  baseUrl: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      model: 'synthetic',
      messages: [{ role: 'user', content: 'hi' }],
      ...body,
    }),
  });
}

function dataLines(text: string): string[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
}

function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((time, index) => time - (times[index] as number));
}

describe('synthetic server', () => {
  it('streams the asked number of tokens at the scripted cadence, then finish, usage and [DONE]', async () => {
    const { baseUrl, getSendTimes, getRecord } = await start({ ttftMs: 30, itlMs: 10 });
    const response = await post(baseUrl, {
      stream: true,
      max_tokens: 20,
      stream_options: { include_usage: true },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = dataLines(await response.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    const contents = chunks.filter((chunk) => chunk.choices[0]?.delta?.content !== undefined);
    expect(contents).toHaveLength(20);
    const requestId = chunks[0].id as string;
    expect(requestId).toMatch(/^syn-\d+$/);
    expect(contents[0].choices[0].delta.content).toBe(`${requestId} `);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1).usage).toEqual({
      prompt_tokens: 8,
      completion_tokens: 20,
      total_tokens: 28,
    });
    const sends = getSendTimes(requestId) ?? [];
    expect(sends).toHaveLength(20);
    const record = getRecord(requestId);
    expect(record?.outcome).toBe('complete');
    expect((sends[0] as number) - (record?.receivedAtMs as number)).toBeGreaterThanOrEqual(29);
    const [median] = percentiles(gaps(sends), [50]);
    expect(median).toBeGreaterThan(8);
    expect(median).toBeLessThan(15);
    // Absolute schedule: the whole stream takes about ttft + 19 × itl.
    expect((sends[19] as number) - (record?.receivedAtMs as number)).toBeLessThan(30 + 190 + 50);
  });

  it('takes per-request cadence from a header or the body, and lists its model', async () => {
    const { baseUrl, getSendTimes } = await start({ ttftMs: 500, itlMs: 500 });
    const models = (await (await fetch(`${baseUrl}/models`)).json()) as { data: { id: string }[] };
    expect(models.data[0]?.id).toBe('synthetic');
    const started = performance.now();
    const byHeader = await post(
      baseUrl,
      { stream: true, max_tokens: 100 },
      { 'x-synthetic-ttft-ms': '1', 'x-synthetic-itl-ms': '1', 'x-synthetic-tokens': '5' },
    );
    const headerEvents = dataLines(await byHeader.text());
    const byBody = await post(baseUrl, {
      stream: true,
      max_tokens: 5,
      synthetic: { ttftMs: 1, itlMs: 1 },
    });
    await byBody.text();
    expect(performance.now() - started).toBeLessThan(400);
    const id = JSON.parse(headerEvents[0] as string).id as string;
    expect(getSendTimes(id)).toHaveLength(5);
  });

  it('answers an injected HTTP 500 and a 429 with Retry-After', async () => {
    const { baseUrl, enqueueFaults } = await start();
    const failed = await post(baseUrl, { stream: true }, { 'x-synthetic-status': '500' });
    expect(failed.status).toBe(500);
    expect(((await failed.json()) as { error: { code: number } }).error.code).toBe(500);
    enqueueFaults([{ status: 429, retryAfterSeconds: 2 }]);
    const limited = await post(baseUrl, { stream: true });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    await limited.text();
    const next = await post(baseUrl, { stream: true, max_tokens: 2 });
    expect(next.status).toBe(200);
    await next.text();
  });

  it('drops the connection after K tokens', async () => {
    const { baseUrl, records } = await start({ ttftMs: 1, itlMs: 2 });
    const response = await post(baseUrl, {
      stream: true,
      max_tokens: 50,
      synthetic: { dropAfterTokens: 3 },
    });
    await expect(response.text()).rejects.toThrow();
    const record = records()[0];
    expect(record?.outcome).toBe('dropped');
    expect(record?.tokensSent).toBe(3);
  });

  it('stalls S ms after K tokens, then goes on', async () => {
    const { baseUrl, records } = await start({ ttftMs: 1, itlMs: 2 });
    const response = await post(
      baseUrl,
      { stream: true, max_tokens: 6 },
      { 'x-synthetic-stall-after-tokens': '2', 'x-synthetic-stall-ms': '150' },
    );
    await response.text();
    const record = records()[0];
    expect(record?.tokensSent).toBe(6);
    const sendGaps = gaps(Array.from(record?.sendTimesMs ?? []));
    expect(sendGaps[1]).toBeGreaterThanOrEqual(145);
    expect(sendGaps[0]).toBeLessThan(100);
    expect(sendGaps[3]).toBeLessThan(100);
  });

  it('is served through tandem’s engine, which retries a 429 and then streams', async () => {
    const { baseUrl, enqueueFaults } = await start({ ttftMs: 1, itlMs: 1 });
    enqueueFaults([{ status: 429, retryAfterSeconds: 0 }]);
    const engine = createOpenAIEngine({ model: 'synthetic', baseUrl, retryBackoffMs: 1 });
    const measurement = await measureGeneration(
      engine.stream({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 10 }),
    );
    await engine.dispose();
    expect(measurement.incomplete).toBe(false);
    expect(measurement.attempts).toBe(2);
    expect(measurement.outputTokens).toBe(10);
    expect(measurement.outputTokensSource).toBe('usage');
    expect(measurement.tokenEventCount).toBe(10);
  });

  it('agrees with the client within a few ms at small scale (8 streams × 50 tokens)', async () => {
    const local = await start({ ttftMs: 10, itlMs: 5 });
    const result = await runClientBenchmark(
      {
        baseUrl: local.baseUrl,
        records: async (ids) =>
          ids.map((id) => local.getRecord(id)).filter((record) => record !== undefined),
        readClock: async () => performance.timeOrigin + performance.now(),
      },
      { streams: 8, warmupMs: 0, durationMs: 600, minTokens: 50, maxTokens: 50 },
    );
    expect(result.errors.size).toBe(0);
    expect(result.agreement.unmatched).toBe(0);
    expect(result.agreement.tokenCountMismatches).toBe(0);
    expect(result.agreement.firstTokenDelayMs.length).toBeGreaterThanOrEqual(8);
    expect(result.agreement.gapDifferenceMs.length).toBeGreaterThan(300);
    const [firstP50] = percentiles(result.agreement.firstTokenDelayMs, [50]);
    const [gapP50, gapP99] = percentiles(result.agreement.gapDifferenceMs, [50, 99]);
    expect(firstP50).toBeLessThan(5);
    expect(gapP50).toBeLessThan(3);
    expect(gapP99).toBeLessThan(25);
    expect(result.tokensPerSecond).toBeGreaterThan(0);
    // Every token was counted once, on both sides.
    expect(result.agreement.clientGapsMs).toHaveLength(result.agreement.serverGapsMs.length);
    const [ttft, itl] = figureAgreement(result.agreement);
    expect(ttft?.count).toBe(result.agreement.clientTtftMs.length);
    expect(ttft?.serverP50Ms).toBeGreaterThanOrEqual(10);
    expect(itl?.serverP50Ms).toBeGreaterThanOrEqual(4);
    expect(Math.abs(itl?.p50DifferenceMs ?? Number.NaN)).toBeLessThan(3);
  });

  it('the bare reader counts every token the server sent in its window', async () => {
    const local = await start({ ttftMs: 5, itlMs: 5 });
    const result = await runBareReader(local.baseUrl, {
      streams: 4,
      warmupMs: 0,
      durationMs: 400,
      minTokens: 20,
      maxTokens: 20,
    });
    // 4 streams × one token per 5 ms over 0.4 s, less TTFT and request turnarounds.
    expect(result.tokensPerSecond).toBeGreaterThan(400);
    expect(result.tokensPerSecond).toBeLessThanOrEqual(4 * 200 + 1);
    expect(result.cpuMs.user + result.cpuMs.system).toBeGreaterThan(0);
  });
});

describe('figureAgreement', () => {
  const agreement = (client: number[], server: number[]): AgreementFigures => ({
    firstTokenDelayMs: [],
    gapDifferenceMs: [],
    clientTtftMs: client,
    serverTtftMs: server,
    clientGapsMs: client.map((value) => value / 10),
    serverGapsMs: server.map((value) => value / 10),
    tokenCountMismatches: 0,
    unmatched: 0,
  });
  const range = (from: number, count: number): number[] =>
    Array.from({ length: count }, (_, index) => from + index);

  it('compares the p50 and p99 the client reports with the server truth', () => {
    const [ttft, itl] = figureAgreement(agreement(range(20.5, 101), range(20, 101)));
    expect(ttft).toMatchObject({ name: 'TTFT', count: 101, clientP50Ms: 70.5, serverP50Ms: 70 });
    expect(ttft?.p50DifferenceMs).toBeCloseTo(0.5);
    expect(ttft?.p99DifferenceMs).toBeCloseTo(0.5);
    expect(ttft?.met).toBe(true);
    expect(itl?.met).toBe(true);
  });

  it('fails a p50 more than 1 ms off, or a p99 more than 5 ms off', () => {
    expect(figureAgreement(agreement(range(21.5, 101), range(20, 101)))[0]?.met).toBe(false);
    const tail = range(20, 101);
    tail[100] = 200;
    tail[99] = 200;
    expect(figureAgreement(agreement(tail, range(20, 101)))[0]?.met).toBe(false);
  });
});

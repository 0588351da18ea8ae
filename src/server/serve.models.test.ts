/**
 * `tandem serve` end to end: real servers on port 0 with the demo models, driven by the
 * openai package, fetch and node:http (where a test must set Host or Origin itself).
 */
import { request as httpRequest } from 'node:http';
import OpenAI from 'openai';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoModelPathForTests, TEST_HOME } from '../../test/support/demo-models.js';
import { startScriptedServer } from '../../test/support/scripted-server.js';
import { startSyntheticServer } from '../../test/support/synthetic-server.js';
import { type RunningServer, type ServeOptions, startServer } from './serve.js';

const engineOptions = { home: TEST_HOME, threads: 1, gpu: 'cpu' as const };
const messages = [{ role: 'user' as const, content: 'Say something.' }];

type ApiError = InstanceType<typeof OpenAI.APIError>;

let running: RunningServer[] = [];

async function start(options: ServeOptions = {}): Promise<RunningServer> {
  const server = await startServer({ port: 0, engineOptions, ...options });
  running.push(server);
  return server;
}

/** Closes one server now (and not again in afterEach). */
async function stop(server: RunningServer): Promise<void> {
  running = running.filter((other) => other !== server);
  await server.close();
}

function client(server: RunningServer, apiKey = 'x'): OpenAI {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
}

function post(server: RunningServer, path: string, body: unknown, init: RequestInit = {}) {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over node:http, so Host and Origin are exactly what the test says. */
function raw(
  server: RunningServer,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    /** Written in pieces without a content-length (chunked) when `chunked` is true. */
    body?: string;
    chunked?: boolean;
  },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined && options.chunked !== true) {
      headers['content-length'] = String(Buffer.byteLength(options.body));
    }
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    if (options.body !== undefined) {
      if (options.chunked === true) {
        for (let index = 0; index < options.body.length; index += 512) {
          request.write(options.body.slice(index, index + 512));
        }
      } else {
        request.write(options.body);
      }
    }
    request.end();
  });
}

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An OpenAI-shaped error body, with no stack trace in it. */
function expectOpenAIError(text: string): ErrorBody {
  expect(text).not.toMatch(/\n\s*at /);
  const body = JSON.parse(text) as ErrorBody;
  expect(body).toEqual({
    error: {
      message: expect.any(String),
      type: expect.any(String),
      param: body.error.param === null ? null : expect.any(String),
      code: body.error.code === null ? null : expect.any(String),
    },
  });
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

/** Reads a stream until `predicate` holds for the text so far. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  predicate: (text: string) => boolean,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  while (!predicate(text)) {
    const next = await reader.read();
    if (next.done) break;
    text += decoder.decode(next.value, { stream: true });
  }
  return text;
}

function metricValue(text: string, line: string): number | undefined {
  for (const row of text.split('\n')) {
    if (row.startsWith(`${line} `)) return Number(row.slice(line.length + 1));
  }
  return undefined;
}

beforeAll(async () => {
  await demoModelPathForTests('demo-slm');
});

afterEach(async () => {
  // Gateways before the servers they point at.
  const servers = running.reverse();
  running = [];
  for (const server of servers) await server.close();
});

describe('tandem serve through the openai package', () => {
  it('makes embeddings, as floats and as base64', async () => {
    const server = await start();
    const openai = client(server);
    const result = await openai.embeddings.create({
      model: 'demo-slm',
      input: ['local models', 'local models', 'something else'],
      encoding_format: 'float',
    });
    expect(result.data).toHaveLength(3);
    const [first, second, third] = result.data.map((item) => item.embedding);
    expect(first?.length).toBeGreaterThan(8);
    expect(first?.every((value) => Number.isFinite(value))).toBe(true);
    expect(second).toEqual(first);
    expect(third).not.toEqual(first);
    expect(result.usage.prompt_tokens).toBeGreaterThan(0);
    // The openai package asks for base64 by default and decodes it into the same floats.
    const decoded = await openai.embeddings.create({ model: 'demo-slm', input: 'local models' });
    const floats = decoded.data[0]?.embedding ?? [];
    expect(floats).toHaveLength(first?.length ?? -1);
    for (const [index, value] of floats.entries()) {
      expect(value).toBeCloseTo(first?.[index] ?? Number.NaN, 5);
    }
  });

  it('constrains the answer to a JSON schema, and refuses a schema the grammar cannot enforce', async () => {
    const server = await start();
    const openai = client(server);
    const completion = await openai.chat.completions.create({
      model: 'demo-slm',
      messages,
      max_tokens: 200,
      temperature: 0,
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'answer',
          strict: true,
          schema: {
            type: 'object',
            properties: { a: { type: 'integer' } },
            required: ['a'],
            additionalProperties: false,
          },
        },
      },
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    const parsed = JSON.parse(choice?.message.content ?? '') as { a: unknown };
    expect(Number.isInteger(parsed.a)).toBe(true);
    await expect(
      openai.chat.completions.create({
        model: 'demo-slm',
        messages,
        max_tokens: 20,
        stream: true,
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'email',
            schema: { type: 'object', properties: { e: { type: 'string', pattern: '^.+@.+$' } } },
          },
        },
      }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/pattern/) });
  });

  it('answers a non-streaming chat completion with usage and timings', async () => {
    const server = await start();
    const completion = await client(server).chat.completions.create({
      model: 'demo-slm',
      messages,
      max_tokens: 8,
      temperature: 0,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('demo-slm');
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.choices).toHaveLength(1);
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('length');
    expect(choice?.message.role).toBe('assistant');
    expect(choice?.message.content?.length).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBe(8);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );
    const { timings } = completion as unknown as { timings: Record<string, unknown> };
    expect(timings).toMatchObject({ predicted_n: 8, prompt_n: completion.usage?.prompt_tokens });
    expect(timings.predicted_ms).toEqual(expect.any(Number));
  });

  it('streams with include_usage, under an alias name', async () => {
    const server = await start({ models: [{ name: 'phi-4-mini', reference: 'demo-slm' }] });
    const openai = client(server);
    const whole = await openai.chat.completions.create({
      model: 'phi-4-mini',
      messages,
      max_tokens: 12,
      temperature: 0,
    });
    expect(whole.model).toBe('phi-4-mini');
    const stream = await openai.chat.completions.create({
      model: 'phi-4-mini',
      messages,
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finishReason: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.model).toBe('phi-4-mini');
      const choice = chunk.choices[0];
      if (choice !== undefined) {
        text += choice.delta.content ?? '';
        finishReason = choice.finish_reason ?? finishReason;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(finishReason).toBe('length');
    expect(usage?.completion_tokens).toBe(12);
    // temperature 0: the same text as the non-streaming answer.
    expect(text).toBe(whole.choices[0]?.message.content);
  });

  it('serves an onnx model under a name, streaming, marked as random weights', async () => {
    const server = await start({ models: [{ name: 'phi-onnx', reference: 'onnx:demo-slm' }] });
    const openai = client(server);
    expect(await openai.models.retrieve('phi-onnx')).toMatchObject({
      reference: 'onnx:demo-slm',
      random_weights: true,
    });
    const stream = await openai.chat.completions.create({
      model: 'phi-onnx',
      messages,
      max_tokens: 6,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let completionTokens: number | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(completionTokens).toBe(6);
  });

  it('marks a shape twin as random weights too, without writing it before a request', async () => {
    const server = await start({ models: [{ name: 'phi-twin', reference: 'twin:phi-4-mini' }] });
    expect(await client(server).models.retrieve('phi-twin')).toMatchObject({
      reference: 'twin:phi-4-mini',
      random_weights: true,
      loaded: false,
    });
  });

  it('lists and retrieves models, and names the served ones for an unknown id', async () => {
    const server = await start({ models: [{ name: 'phi-4-mini', reference: 'demo-slm' }] });
    const openai = client(server);
    const ids: string[] = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids).toEqual(['phi-4-mini', 'demo-slm', 'demo-llm']);
    const model = await openai.models.retrieve('phi-4-mini');
    expect(model).toMatchObject({ id: 'phi-4-mini', object: 'model', owned_by: 'tandem' });
    expect(model).toMatchObject({ reference: 'demo-slm', random_weights: true, loaded: false });
    const error = await openai.models.retrieve('gpt-17').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const notFound = error as ApiError;
    expect(notFound.status).toBe(404);
    expect(notFound.message).toMatch(/gpt-17/);
    expect(notFound.message).toMatch(/phi-4-mini, demo-slm, demo-llm/);
  });

  it('surfaces bad requests as the typed errors of the openai package', async () => {
    const server = await start({ apiKey: 'secret', maxBodyBytes: 1024 });
    const openai = client(server, 'secret');

    const badTopP = await openai.chat.completions
      .create({ model: 'demo-slm', messages, max_tokens: 4, top_p: 1.5 })
      .catch((caught: unknown) => caught);
    expect(badTopP).toBeInstanceOf(OpenAI.BadRequestError);
    expect((badTopP as ApiError).param).toBe('top_p');
    expect((badTopP as ApiError).status).toBe(400);

    const unknown = await openai.chat.completions
      .create({ model: 'nope', messages, max_tokens: 4 })
      .catch((caught: unknown) => caught);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as ApiError).message).toMatch(/demo-slm/);

    const wrongKey = await client(server, 'guess')
      .chat.completions.create({ model: 'demo-slm', messages, max_tokens: 4 })
      .catch((caught: unknown) => caught);
    expect(wrongKey).toBeInstanceOf(OpenAI.AuthenticationError);
    const noKey = await fetch(`${server.url}/metrics`);
    expect(noKey.status).toBe(401);
    expectOpenAIError(await noKey.text());
    // /health answers anyone, but lists the models only to a caller with the key.
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok' });
    const healthWithKey = (await (
      await fetch(`${server.url}/health`, { headers: { authorization: 'Bearer secret' } })
    ).json()) as { models: unknown[] };
    expect(healthWithKey.models.length).toBeGreaterThan(0);

    const auth = { authorization: 'Bearer secret', 'content-type': 'application/json' };
    const tooLarge = await post(
      server,
      '/v1/chat/completions',
      { model: 'demo-slm', messages: [{ role: 'user', content: 'x'.repeat(2000) }] },
      { headers: auth },
    );
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get('content-type')).toMatch(/application\/json/);
    expect(expectOpenAIError(await tooLarge.text()).error.code).toBe('request_too_large');

    // The same without a content-length: the limit holds for a chunked body too.
    const chunked = await raw(server, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: auth,
      body: JSON.stringify({ model: 'demo-slm', messages, stop: 'y'.repeat(3000) }),
      chunked: true,
    });
    expect(chunked.status).toBe(413);
    expectOpenAIError(chunked.body);

    const notJson = await post(server, '/v1/chat/completions', '{"model": "demo-slm", messa', {
      headers: auth,
    });
    expect(notJson.status).toBe(400);
    expect(expectOpenAIError(await notJson.text()).error.code).toBe('invalid_json');

    const embeddingsNotJson = await post(server, '/v1/embeddings', 'hello', { headers: auth });
    expect(embeddingsNotJson.status).toBe(400);
    expectOpenAIError(await embeddingsNotJson.text());

    const noRoute = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: auth });
    expect(noRoute.status).toBe(404);
    expectOpenAIError(await noRoute.text());
  });
});

describe('tandem serve over raw HTTP', () => {
  it('refuses a request from an origin that is not allowed before doing any work', async () => {
    const server = await start();
    // A "simple" cross-origin POST needs no preflight; CORS headers alone would not stop it.
    const refused = await post(
      server,
      '/v1/chat/completions',
      JSON.stringify({ model: 'demo-slm', messages, max_tokens: 4 }),
      { headers: { 'content-type': 'text/plain', origin: 'https://evil.example' } },
    );
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
      'origin_not_allowed',
    );
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).not.toContain('tandem_completion_tokens_total{model="demo-slm"}');
    const allowed = await post(
      server,
      '/v1/chat/completions',
      { model: 'demo-slm', messages, max_tokens: 4 },
      { headers: { 'content-type': 'application/json', origin: 'http://localhost:3000' } },
    );
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
  });

  it('frames SSE exactly: data events, a finish chunk with timings, usage on request, [DONE]', async () => {
    const server = await start();
    for (const includeUsage of [true, false]) {
      const response = await post(server, '/v1/chat/completions', {
        model: 'demo-slm',
        messages,
        max_tokens: 6,
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      const text = await response.text();
      expect(text.endsWith('\n\ndata: [DONE]\n\n')).toBe(true);
      expect(text.indexOf('[DONE]')).toBe(text.length - '[DONE]\n\n'.length);
      const events = text.slice(0, -2).split('\n\n');
      expect(events.at(-1)).toBe('data: [DONE]');
      const chunks = events.slice(0, -1).map((event) => {
        expect(event).toMatch(/^data: \{[^\n]*\}$/);
        return JSON.parse(event.slice('data: '.length)) as {
          id: string;
          object: string;
          model: string;
          choices: {
            index: number;
            delta: Record<string, unknown>;
            finish_reason: string | null;
          }[];
          usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
          timings?: { predicted_n: number };
        };
      });
      const id = chunks[0]?.id;
      expect(id).toMatch(/^chatcmpl-/);
      for (const chunk of chunks) {
        expect(chunk).toMatchObject({ id, object: 'chat.completion.chunk', model: 'demo-slm' });
      }
      expect(chunks[0]?.choices).toEqual([
        {
          index: 0,
          delta: { role: 'assistant', content: '' },
          logprobs: null,
          finish_reason: null,
        },
      ]);
      const finishIndex = chunks.findIndex((chunk) => chunk.choices[0]?.finish_reason != null);
      const finish = chunks[finishIndex];
      expect(finish?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'length' });
      expect(finish?.timings?.predicted_n).toBe(6);
      const content = chunks.slice(1, finishIndex);
      expect(content.length).toBeGreaterThan(0);
      for (const chunk of content) {
        expect(chunk.choices[0]?.finish_reason).toBeNull();
        expect(typeof chunk.choices[0]?.delta.content).toBe('string');
      }
      const usage = chunks.filter((chunk) => chunk.usage !== undefined);
      if (includeUsage) {
        expect(finishIndex).toBe(chunks.length - 2);
        expect(usage).toHaveLength(1);
        expect(usage[0]?.choices).toEqual([]);
        expect(usage[0]?.usage?.completion_tokens).toBe(6);
        expect(usage[0]?.usage?.total_tokens).toBe(
          (usage[0]?.usage?.prompt_tokens ?? 0) + (usage[0]?.usage?.completion_tokens ?? 0),
        );
      } else {
        expect(finishIndex).toBe(chunks.length - 1);
        expect(usage).toHaveLength(0);
      }
    }
  });

  it('allows localhost and file:// origins by default, and only the configured ones otherwise', async () => {
    const preflight = (server: RunningServer, origin: string) =>
      raw(server, {
        method: 'OPTIONS',
        path: '/v1/chat/completions',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, authorization',
        },
      });
    const local = await start({ apiKey: 'secret' });
    for (const origin of ['http://localhost:3000', 'null', 'http://127.0.0.1:8080']) {
      const response = await preflight(local, origin);
      expect(response.status).toBeLessThan(300);
      expect(response.headers['access-control-allow-origin']).toBe(origin);
      expect(String(response.headers['access-control-allow-methods'])).toMatch(/POST/);
    }
    for (const origin of ['https://evil.example', 'http://localhost.evil.example']) {
      const response = await preflight(local, origin);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    }
    const simple = await raw(local, {
      path: '/health',
      headers: { origin: 'http://localhost:5173' },
    });
    expect(simple.status).toBe(200);
    expect(simple.headers['access-control-allow-origin']).toBe('http://localhost:5173');

    const any = await start({ cors: '*' });
    const anyResponse = await preflight(any, 'https://evil.example');
    expect(anyResponse.headers['access-control-allow-origin']).toBe('*');

    const listed = await start({ cors: ['https://app.example'] });
    expect(
      (await preflight(listed, 'https://app.example')).headers['access-control-allow-origin'],
    ).toBe('https://app.example');
    for (const origin of ['http://localhost:3000', 'null', 'https://other.example']) {
      expect(
        (await preflight(listed, origin)).headers['access-control-allow-origin'],
      ).toBeUndefined();
    }
  });

  it('refuses a foreign Host header on loopback, and a public bind without a key', async () => {
    const server = await start();
    const foreign = await raw(server, { path: '/health', headers: { host: 'evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.headers['content-type']).toMatch(/application\/json/);
    expect(expectOpenAIError(foreign.body).error.code).toBe('host_not_allowed');
    const rebinding = await raw(server, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { host: `evil.example:${server.port}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-slm', messages, max_tokens: 2 }),
    });
    expect(rebinding.status).toBe(403);
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, 'localhost']) {
      const response = await raw(server, { path: '/health', headers: { host } });
      expect(response.status).toBe(200);
    }

    await expect(startServer({ host: '0.0.0.0', port: 0, engineOptions })).rejects.toThrow(
      /--api-key/,
    );
    const open = await start({ host: '0.0.0.0', allowUnauthenticated: true });
    expect(open.port).toBeGreaterThan(0);
    const any = await raw(open, { path: '/health', headers: { host: 'box.lan' } });
    expect(any.status).toBe(200);
  });

  it('answers 429 with retry-after when the slot and the queue are full', async () => {
    const server = await start({ maxConcurrency: 1, maxQueue: 0 });
    const holder = new AbortController();
    const long = await post(
      server,
      '/v1/chat/completions',
      { model: 'demo-slm', messages, max_tokens: 2000, stream: true },
      { signal: holder.signal },
    );
    expect(long.status).toBe(200);
    const reader = (long.body as ReadableStream<Uint8Array>).getReader();
    await readUntil(reader, (text) => text.includes('\n\n'));
    try {
      const busy = await post(server, '/v1/chat/completions', {
        model: 'demo-slm',
        messages,
        max_tokens: 2,
      });
      expect(busy.status).toBe(429);
      expect(Number(busy.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const body = expectOpenAIError(await busy.text());
      expect(body.error).toMatchObject({ type: 'rate_limit_error', code: 'model_busy' });
      expect(body.error.message).toMatch(/demo-slm/);
      const typed = await client(server)
        .chat.completions.create({ model: 'demo-slm', messages, max_tokens: 2 })
        .catch((caught: unknown) => caught);
      expect(typed).toBeInstanceOf(OpenAI.RateLimitError);
    } finally {
      holder.abort();
      await reader.cancel().catch(() => undefined);
    }
  });

  it('frees the slot as soon as a streaming client goes away', async () => {
    const server = await start({ maxConcurrency: 1, maxQueue: 4 });
    const controller = new AbortController();
    const long = await post(
      server,
      '/v1/chat/completions',
      { model: 'demo-slm', messages, max_tokens: 100_000, stream: true },
      { signal: controller.signal },
    );
    const reader = (long.body as ReadableStream<Uint8Array>).getReader();
    // The role chunk and at least one content chunk: the generation is running.
    await readUntil(reader, (text) => text.split('\n\n').length > 2);
    controller.abort();
    await reader.cancel().catch(() => undefined);

    const startedAt = performance.now();
    const next = await post(server, '/v1/chat/completions', {
      model: 'demo-slm',
      messages,
      max_tokens: 8,
    });
    const elapsedMs = performance.now() - startedAt;
    expect(next.status).toBe(200);
    expect(((await next.json()) as { usage: { completion_tokens: number } }).usage).toMatchObject({
      completion_tokens: 8,
    });
    // The aborted generation (up to the 2048-token context, seconds) did not run on.
    expect(elapsedMs).toBeLessThan(2000);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const generated = metricValue(metrics, 'tandem_completion_tokens_total{model="demo-slm"}');
    expect(generated).toBeGreaterThanOrEqual(9);
    expect(generated).toBeLessThan(1000);
    expect(metricValue(metrics, 'tandem_requests_in_flight{model="demo-slm"}')).toBe(0);
  });
});

describe('tandem serve as a gateway and with failing models', () => {
  it('proxies a model on another server and reports that server going away', async () => {
    const upstream = await start();
    const gateway = await start({
      models: [{ name: 'remote-slm', reference: `${upstream.url}/v1#demo-slm` }],
    });
    const openai = client(gateway);
    const stream = await openai.chat.completions.create({
      model: 'remote-slm',
      messages,
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.model).toBe('remote-slm');
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBe(6);
    const upstreamMetrics = await (await fetch(`${upstream.url}/metrics`)).text();
    expect(upstreamMetrics).toContain(
      'tandem_requests_total{route="/v1/chat/completions",model="demo-slm",status="200"} 1',
    );

    await stop(upstream);
    const startedAt = performance.now();
    const failed = await post(gateway, '/v1/chat/completions', {
      model: 'remote-slm',
      messages,
      max_tokens: 4,
    });
    expect(performance.now() - startedAt).toBeLessThan(5000);
    expect([502, 503, 504]).toContain(failed.status);
    const body = expectOpenAIError(await failed.text());
    expect(body.error.type).toBe('server_error');

    const streamed = await post(gateway, '/v1/chat/completions', {
      model: 'remote-slm',
      messages,
      max_tokens: 4,
      stream: true,
    });
    const streamedText = await streamed.text();
    expect(streamedText).not.toMatch(/\n\s*at /);
    if (streamed.status === 200) {
      expect(streamedText).toMatch(/^data: .*"error":\{/m);
      expect(streamedText.endsWith('data: [DONE]\n\n')).toBe(true);
    } else {
      expect([502, 503, 504]).toContain(streamed.status);
      expectOpenAIError(streamedText);
    }

    const local = await client(gateway).chat.completions.create({
      model: 'demo-slm',
      messages,
      max_tokens: 4,
    });
    expect(local.usage?.completion_tokens).toBe(4);
  });

  it('answers 503 for a gateway model whose server is down from the start', async () => {
    const upstream = await start();
    const reference = `${upstream.url}/v1#demo-slm`;
    await stop(upstream);
    const gateway = await start({ models: [{ name: 'remote-slm', reference }] });
    const error = await client(gateway)
      .chat.completions.create({ model: 'remote-slm', messages, max_tokens: 4 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as ApiError).status).toBe(503);
    expect((error as ApiError).code).toBe('model_load_failed');
    expect((error as ApiError).message).toMatch(/'remote-slm'.*connection refused/);
  });

  it('answers 503 for a model that cannot load and keeps serving the others', async () => {
    const server = await start({
      models: [{ name: 'broken', reference: 'llama:/nonexistent/x.gguf' }],
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await post(server, '/v1/chat/completions', {
        model: 'broken',
        messages,
        max_tokens: 4,
      });
      expect(response.status).toBe(503);
      const body = expectOpenAIError(await response.text());
      expect(body.error.message).toMatch(/'broken'/);
      expect(body.error.message).toMatch(/nonexistent/);
      expect(body.error.code).toBe('model_load_failed');
    }
    const health = (await (await fetch(`${server.url}/health`)).json()) as {
      models: { id: string; loaded: boolean }[];
    };
    expect(health.models.find((model) => model.id === 'broken')?.loaded).toBe(false);
    const ok = await client(server).chat.completions.create({
      model: 'demo-slm',
      messages,
      max_tokens: 4,
    });
    expect(ok.choices[0]?.finish_reason).toBe('length');
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzz.

/** mulberry32: a small seeded PRNG, so a failure names a body that can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Fuzzer {
  constructor(readonly random: () => number) {}

  int(below: number): number {
    return Math.floor(this.random() * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  chance(probability: number): boolean {
    return this.random() < probability;
  }

  junkString(): string {
    const alphabets = [
      'abcdefghijklmnopqrstuvwxyz ',
      '{}[]":,\\\n\t\r\u0000',
      'éü中文🙂\u200b\ud800',
      '<script>%00%ff../../',
    ];
    const length = this.pick([0, 1, 3, 10, 40, 200]);
    let text = '';
    for (let index = 0; index < length; index++) {
      const alphabet = this.pick(alphabets);
      text += alphabet[this.int(alphabet.length)] ?? '';
    }
    return text;
  }

  number(): number {
    return this.pick([
      0,
      -0,
      1,
      -1,
      0.5,
      1.5,
      2,
      3,
      -2.5,
      1e6,
      1_000_001,
      2 ** 31,
      2 ** 53,
      2 ** 53 + 2,
      1e21,
      1e308,
      -1e308,
      5e-324,
      this.random() * 10 - 5,
      this.int(4096),
    ]);
  }

  value(depth = 0): unknown {
    const kinds = depth > 2 ? 5 : 7;
    switch (this.int(kinds)) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.number();
      case 3:
      case 4:
        return this.junkString();
      case 5: {
        const items: unknown[] = [];
        for (let index = this.int(4); index > 0; index--) items.push(this.value(depth + 1));
        return items;
      }
      default: {
        const object: Record<string, unknown> = {};
        for (let index = this.int(4); index > 0; index--) {
          object[this.pick(['a', 'type', 'text', 'role', 'content', this.junkString()])] =
            this.value(depth + 1);
        }
        return object;
      }
    }
  }

  message(): unknown {
    switch (this.int(6)) {
      case 0:
        return this.value();
      case 1:
        return { role: this.pick(['user', 'system', 'wizard', '', 1]), content: this.value() };
      case 2:
        return {
          role: 'user',
          content: [{ type: this.pick(['text', 'image_url', 'TEXT']), text: this.value() }],
        };
      case 3:
        return { role: this.pick(['assistant', 'developer', 'tool']), content: null };
      default:
        return {
          role: this.pick(['user', 'system', 'developer', 'assistant']),
          content: this.chance(0.2) ? 'x'.repeat(this.pick([1, 100, 5000])) : this.junkString(),
        };
    }
  }

  chatBody(): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: 'demo-slm',
      messages: [{ role: 'user', content: this.junkString() || 'hi' }],
      max_tokens: 1 + this.int(3),
    };
    const fields: Record<string, () => unknown> = {
      model: () => this.pick(['demo-slm', 'demo-slm ', 'DEMO-SLM', '', 'gpt-4o', this.value()]),
      messages: () =>
        this.chance(0.3) ? this.value() : Array.from({ length: this.int(4) }, () => this.message()),
      stream: () => this.pick([true, false, 'true', 1, null]),
      stream_options: () =>
        this.pick([{ include_usage: true }, { include_usage: 'yes' }, null, [], this.value()]),
      max_tokens: () => this.pick([1, 2, 3, 0, -1, 1.5, '4', null, 1e308, 2 ** 53, 1_000_001]),
      max_completion_tokens: () => this.pick([1, 2, 3, 0, 7, '2', null, -5]),
      temperature: () => this.number(),
      top_p: () => this.pick([this.number(), '0.5', null]),
      seed: () => this.pick([this.number(), 42, -(2 ** 60), '7']),
      stop: () =>
        this.pick([
          '\n',
          '',
          ['a', 'b'],
          ['a', 'b', 'c', 'd', 'e'],
          [''],
          [1],
          this.junkString(),
          this.value(),
        ]),
      response_format: () =>
        this.pick([
          { type: 'text' },
          { type: 'json_object' },
          { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
          {
            type: 'json_schema',
            json_schema: {
              name: 'answer',
              schema: {
                type: 'object',
                properties: { n: { type: 'integer' } },
                required: ['n'],
              },
            },
          },
          { type: 'json_schema', json_schema: { name: 'bad name!', schema: {} } },
          { type: 'json_schema', json_schema: { name: 'y', schema: this.value() } },
          { type: 'xml' },
          this.value(),
        ]),
      n: () => this.pick([1, 2, 0, '1', null]),
      frequency_penalty: () => this.number(),
      presence_penalty: () => this.number(),
      logprobs: () => this.pick([true, false, 'no']),
      top_logprobs: () => this.pick([0, 1, null]),
      tools: () => this.pick([[], [{ type: 'function' }], null]),
      tool_choice: () => this.pick(['none', 'auto', null]),
      user: () => this.value(),
      [this.junkString()]: () => this.value(),
    };
    const names = Object.keys(fields);
    for (let count = 1 + this.int(3); count > 0; count--) {
      const name = this.pick(names);
      if (this.chance(0.15)) delete body[name];
      else body[name] = fields[name]?.();
    }
    // Keep generation short: a valid-looking token limit is forced small.
    for (const name of ['max_tokens', 'max_completion_tokens']) {
      const value = body[name];
      if (typeof value === 'number' && Number.isInteger(value) && value > 3) body[name] = 3;
    }
    if (
      (body.max_tokens === undefined || body.max_tokens === null) &&
      (body.max_completion_tokens === undefined || body.max_completion_tokens === null)
    ) {
      body.max_tokens = 2;
    }
    return body;
  }

  embeddingsBody(): Record<string, unknown> {
    const body: Record<string, unknown> = { model: 'demo-slm', input: this.junkString() || 'hi' };
    const fields: Record<string, () => unknown> = {
      model: () => this.pick(['demo-slm', '', 'text-embedding-3-small', this.value()]),
      input: () =>
        this.pick([
          'hello',
          '',
          [],
          [''],
          ['a', 'b', 'c'],
          [1, 2, 3],
          [[1, 2]],
          ['x'.repeat(3000)],
          this.value(),
          Array.from({ length: this.int(5) }, () => this.junkString()),
        ]),
      encoding_format: () => this.pick(['float', 'base64', 'hex', null, 1]),
      dimensions: () => this.pick([null, 8, 'x']),
      user: () => this.value(),
    };
    const names = Object.keys(fields);
    for (let count = 1 + this.int(3); count > 0; count--) {
      const name = this.pick(names);
      if (this.chance(0.15)) delete body[name];
      else body[name] = fields[name]?.();
    }
    return body;
  }

  /** A request body as text: mostly mutated valid bodies, then random JSON and non-JSON. */
  body(route: 'chat' | 'embeddings'): string {
    const roll = this.random();
    if (roll < 0.6) {
      return JSON.stringify(route === 'chat' ? this.chatBody() : this.embeddingsBody());
    }
    if (roll < 0.75) return JSON.stringify(this.value());
    if (roll < 0.8) return '';
    if (roll < 0.9) {
      const valid = JSON.stringify(route === 'chat' ? this.chatBody() : this.embeddingsBody());
      // Truncated or spliced JSON.
      const cut = this.int(valid.length);
      return this.chance(0.5) ? valid.slice(0, cut) : `${valid.slice(0, cut)}${this.junkString()}`;
    }
    return this.pick([
      this.junkString(),
      'null',
      '[]',
      '{}',
      '"a string"',
      '1e999',
      '{"model": "demo-slm", "messages": [{"role": "user", "content": "\\ud800"}], "max_tokens": 1}',
      '\u0000\u0001\u0002',
      '{"__proto__": {"model": "demo-slm"}, "messages": []}',
      '{"constructor": {"prototype": {"x": 1}}}',
    ]);
  }
}

interface FuzzCase {
  index: number;
  route: '/v1/chat/completions' | '/v1/embeddings';
  body: string;
  contentType: string | undefined;
}

function checkFuzzResponse(
  fuzzCase: FuzzCase,
  status: number,
  contentType: string,
  text: string,
): void {
  const where = `case ${fuzzCase.index} ${fuzzCase.route} ${fuzzCase.body.slice(0, 300)} → ${status} ${text.slice(0, 300)}`;
  expect(status, where).toBeLessThan(500);
  expect(text, where).not.toMatch(/\n\s*at /);
  if (status === 200 && contentType.startsWith('text/event-stream')) {
    expect(text.endsWith('data: [DONE]\n\n'), where).toBe(true);
    for (const event of text.slice(0, -2).split('\n\n').slice(0, -1)) {
      expect(event, where).toMatch(/^data: \{/);
      const chunk = JSON.parse(event.slice(6)) as { object?: string; error?: unknown };
      expect(chunk.object === 'chat.completion.chunk' || chunk.error !== undefined, where).toBe(
        true,
      );
    }
    return;
  }
  expect(contentType, where).toMatch(/^application\/json/);
  const body = JSON.parse(text) as Record<string, unknown>;
  if (status === 200) {
    if (fuzzCase.route === '/v1/chat/completions') {
      expect(body.object, where).toBe('chat.completion');
    } else {
      expect(body.object, where).toBe('list');
      expect(Array.isArray(body.data), where).toBe(true);
    }
    return;
  }
  expect([400, 404, 413, 429], where).toContain(status);
  const error = body.error as Record<string, unknown> | undefined;
  expect(typeof error?.message, where).toBe('string');
  expect(typeof error?.type, where).toBe('string');
}

describe('tandem serve in front of the scripted and synthetic servers', () => {
  it('relays reasoning, content and usage from the scripted server, and its in-band error', async () => {
    const upstream = await startScriptedServer({
      models: ['phi4-mini:latest'],
      chatScripts: [
        [
          { type: 'delta', delta: { role: 'assistant', reasoning_content: 'Think.' } },
          { type: 'delta', delta: { content: 'Hel' } },
          { type: 'delta', delta: { content: 'lo' } },
          { type: 'delta', delta: {}, finishReason: 'stop' },
          { type: 'usage', usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } },
          { type: 'done' },
        ],
        [
          { type: 'delta', delta: { content: 'Par' } },
          { type: 'error', error: { message: 'the upstream ran out of memory', code: 500 } },
        ],
      ],
    });
    try {
      const gateway = await start({
        models: [{ name: 'phi-4-mini', reference: `${upstream.baseUrl}#phi4-mini` }],
      });
      const openai = client(gateway);
      const stream = await openai.chat.completions.create({
        model: 'phi-4-mini',
        messages,
        max_tokens: 10,
        stream: true,
        stream_options: { include_usage: true },
      });
      let content = '';
      let reasoning = '';
      let usage: { completion_tokens: number } | undefined;
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta as
          | { content?: string; reasoning_content?: string }
          | undefined;
        content += delta?.content ?? '';
        reasoning += delta?.reasoning_content ?? '';
        if (chunk.usage) usage = chunk.usage;
        expect(chunk.model).toBe('phi-4-mini');
      }
      expect(content).toBe('Hello');
      expect(reasoning).toBe('Think.');
      expect(usage?.completion_tokens).toBe(3);
      // The alias was resolved to the upstream's own id, and the options went through.
      expect(upstream.requests[0]?.body).toMatchObject({
        model: 'phi4-mini:latest',
        max_tokens: 10,
      });

      const failing = await post(gateway, '/v1/chat/completions', {
        model: 'phi-4-mini',
        messages,
        stream: true,
      });
      expect(failing.status).toBe(200);
      const text = await failing.text();
      expect(text).toContain('"content":"Par"');
      expect(text).toMatch(
        /data: \{"error":\{"message":"The generation failed: .*ran out of memory/,
      );
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    } finally {
      await upstream.close();
    }
  });

  it('ends the stream with an error event when the upstream drops mid-stream, and 502s a failed start', async () => {
    const upstream = await startSyntheticServer({ ttftMs: 1, itlMs: 1 });
    try {
      const gateway = await start({
        models: [{ name: 'remote', reference: `${upstream.baseUrl}#synthetic` }],
      });
      upstream.enqueueFaults([{ dropAfterTokens: 3 }]);
      const response = await post(gateway, '/v1/chat/completions', {
        model: 'remote',
        messages,
        max_tokens: 20,
        stream: true,
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      const events = text.split('\n\n').filter((event) => event !== '');
      const contents = events
        .filter((event) => event.includes('"content":"') && !event.includes('"content":""'))
        .map((event) => JSON.parse(event.slice('data: '.length)).choices[0].delta.content);
      expect(contents).toHaveLength(3);
      expect(events.at(-2)).toMatch(
        /^data: \{"error":\{"message":"The generation failed: .*closed/,
      );
      expect(events.at(-1)).toBe('data: [DONE]');

      // A start that fails (HTTP 500 upstream, after the engine's retries) is a 502, not a 200.
      upstream.enqueueFaults([{ status: 500 }, { status: 500 }, { status: 500 }]);
      const failed = await post(gateway, '/v1/chat/completions', {
        model: 'remote',
        messages,
        max_tokens: 5,
        stream: true,
      });
      expect(failed.status).toBe(502);
      const body = (await failed.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/answered HTTP 500/);
    } finally {
      await upstream.close();
    }
  });
});

describe('tandem serve under fuzzing', () => {
  it('answers 1,200 random and malformed bodies with JSON, never a 5xx', async () => {
    const server = await start({ maxConcurrency: 4, maxQueue: 64 });
    const fuzzer = new Fuzzer(prng(20_240_601));
    const cases: FuzzCase[] = [];
    for (let index = 0; index < 1200; index++) {
      const chat = fuzzer.chance(0.65);
      cases.push({
        index,
        route: chat ? '/v1/chat/completions' : '/v1/embeddings',
        body: fuzzer.body(chat ? 'chat' : 'embeddings'),
        contentType: fuzzer.pick(['application/json', 'application/json', 'text/plain', undefined]),
      });
    }
    let next = 0;
    const statuses = new Map<number, number>();
    const worker = async (): Promise<void> => {
      for (;;) {
        const fuzzCase = cases[next++];
        if (fuzzCase === undefined) return;
        const response = await fetch(`${server.url}${fuzzCase.route}`, {
          method: 'POST',
          headers:
            fuzzCase.contentType === undefined ? {} : { 'content-type': fuzzCase.contentType },
          body: fuzzCase.body,
        });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        checkFuzzResponse(
          fuzzCase,
          response.status,
          response.headers.get('content-type') ?? '',
          text,
        );
      }
    };
    await Promise.all(Array.from({ length: 8 }, () => worker()));
    // The mix really exercised both outcomes.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(50);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(300);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    const after = await client(server).chat.completions.create({
      model: 'demo-slm',
      messages,
      max_tokens: 2,
    });
    expect(after.usage?.completion_tokens).toBe(2);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).not.toMatch(/status="5\d\d"/);
  });
});

describe('tandem serve health and metrics', () => {
  it('reports loaded models on /health and request counts and TTFT on /metrics', async () => {
    const server = await start();
    const before = (await (await fetch(`${server.url}/health`)).json()) as {
      status: string;
      models: { id: string; loaded: boolean }[];
    };
    expect(before).toEqual({
      status: 'ok',
      models: [
        { id: 'demo-slm', loaded: false },
        { id: 'demo-llm', loaded: false },
      ],
    });
    await client(server).chat.completions.create({ model: 'demo-slm', messages, max_tokens: 4 });
    const health = (await (await fetch(`${server.url}/health`)).json()) as typeof before;
    expect(health.models).toEqual([
      { id: 'demo-slm', loaded: true },
      { id: 'demo-llm', loaded: false },
    ]);
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = await response.text();
    expect(metrics).toContain(
      'tandem_requests_total{route="/v1/chat/completions",model="demo-slm",status="200"} 1',
    );
    expect(metricValue(metrics, 'tandem_time_to_first_token_seconds_count{model="demo-slm"}')).toBe(
      1,
    );
    expect(metrics).toMatch(/^tandem_time_to_first_token_seconds_bucket\{model="demo-slm",le="/m);
    expect(metricValue(metrics, 'tandem_completion_tokens_total{model="demo-slm"}')).toBe(4);
    expect(metricValue(metrics, 'tandem_model_loaded{model="demo-slm"}')).toBe(1);
    expect(metricValue(metrics, 'tandem_model_loaded{model="demo-llm"}')).toBe(0);
    expect(metrics).toContain('tandem_requests_total{route="/health",model="",status="200"} 2');
  });
});

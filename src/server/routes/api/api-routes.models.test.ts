/**
 * The web app's API on a real server with the demo models: the chat's event stream (plain
 * and grounded in pasted documents or a collection), conversations kept in the database,
 * ratings, a stopped answer kept as far as it got, bad requests, and the built app at `/`.
 */

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { syntheticRun } from '../../../../test/support/bench-run.js';
import { TEST_HOME } from '../../../../test/support/demo-models.js';
import { saveRun } from '../../../bench/history/bench-store.js';
import { ConversationStore, INTERRUPTED_ERROR } from '../../../chat/conversations.js';
import { indexTexts } from '../../../rag/ingest/ingest.js';
import { RagStore } from '../../../rag/rag-store.js';
import { withDatabase } from '../../../store/database.js';
import { type RunningServer, type ServeOptions, startServer } from '../../serve.js';

const scratch = mkdtempSync(join(tmpdir(), 'tandem-web-api-'));
const engineOptions = { home: TEST_HOME, threads: 1, gpu: 'cpu' as const };
let running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.map((server) => server.close()));
  running = [];
});

async function start(options: ServeOptions = {}): Promise<RunningServer> {
  const databasePath = join(mkdtempSync(join(scratch, 'db-')), 'tandem.db');
  const server = await startServer({
    port: 0,
    engineOptions,
    databasePath,
    servePulledModels: false,
    ...options,
  });
  running.push(server);
  return server;
}

interface Event {
  event: string;
  data: Record<string, unknown>;
}

/** POSTs to /api/chat and reads every event (or stops after `until` returns true). */
async function chat(
  server: RunningServer,
  body: unknown,
  until?: (event: Event) => boolean,
): Promise<{ status: number; events: Event[]; error?: string }> {
  const abort = new AbortController();
  const response = await fetch(`${server.url}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: abort.signal,
  });
  if (!response.ok) {
    const error = ((await response.json()) as { error: { message: string } }).error.message;
    return { status: response.status, events: [], error };
  }
  const events: Event[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>)
    .pipeThrough(new TextDecoderStream())
    .getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
        const data = JSON.parse(/^data: ?(.*)$/m.exec(block)?.[1] ?? '{}');
        events.push({ event, data });
        if (until?.(events.at(-1) as Event)) {
          abort.abort();
          return { status: response.status, events };
        }
      }
    }
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
  }
  return { status: response.status, events };
}

async function getJson(server: RunningServer, path: string) {
  const response = await fetch(`${server.url}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The conversation's first answer once the server has stored how it ended (after a stop). */
async function storedAnswer(
  server: RunningServer,
  conversationId: number,
): Promise<Record<string, unknown> | undefined> {
  let answer: Record<string, unknown> | undefined;
  for (let attempt = 0; attempt < 100; attempt++) {
    const conversation = await getJson(server, `/api/conversations/${conversationId}`);
    answer = (conversation.body.messages as Record<string, unknown>[])[1];
    if (answer?.finish !== 'streaming') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return answer;
}

describe('web API', () => {
  it('lists the served models and collections', async () => {
    const server = await start();
    const models = await getJson(server, '/api/models');
    expect(models.body.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'demo-slm', engine: 'llama', demo: true }),
      ]),
    );
    expect((await getJson(server, '/api/collections')).body).toEqual({ data: [] });
  });

  it('streams a plain answer, stores the conversation and keeps a rating', async () => {
    const server = await start();
    const { events } = await chat(server, {
      model: 'demo-slm',
      question: 'Say something.',
      maxTokens: 12,
    });
    expect(events.map((event) => event.event)).toEqual(
      expect.arrayContaining(['start', 'delta', 'done']),
    );
    expect(events[0]?.event).toBe('start');
    expect(events.at(-1)?.event).toBe('done');
    const deltas = events.filter((event) => event.event === 'delta');
    const done = events.at(-1)?.data.message as Record<string, unknown>;
    expect(done.content).toBe(deltas.map((event) => event.data.text).join(''));
    expect(done.finish).toBe('length');
    const figures = done.figures as Record<string, unknown>;
    expect(figures.outputTokens).toBe(12);
    expect(figures.outputTokensSource).toBe('engine');
    expect(figures.ttftMs).toBeGreaterThan(0);
    expect(figures.demo).toBe(true);

    const conversationId = events[0]?.data.conversationId as number;
    const conversation = await getJson(server, `/api/conversations/${conversationId}`);
    expect(conversation.body.title).toBe('Say something.');
    const messages = conversation.body.messages as Record<string, unknown>[];
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant']);

    const rated = await fetch(`${server.url}/api/messages/${done.id}/rating`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rating: -1, comment: 'noise' }),
    });
    expect(await rated.json()).toMatchObject({ rating: -1, ratingComment: 'noise' });
    const again = await getJson(server, `/api/conversations/${conversationId}`);
    expect((again.body.messages as Record<string, unknown>[])[1]).toMatchObject({
      rating: -1,
      ratingComment: 'noise',
    });
    // A user message cannot be rated.
    const refused = await fetch(`${server.url}/api/messages/${messages[0]?.id}/rating`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rating: 1 }),
    });
    expect(refused.status).toBe(400);
    // The next question continues the conversation.
    const next = await chat(server, {
      model: 'demo-slm',
      question: 'And more?',
      conversationId,
      maxTokens: 4,
    });
    expect(next.events[0]?.data.conversationId).toBe(conversationId);
    const list = await getJson(server, '/api/conversations');
    expect(list.body.data).toEqual([
      expect.objectContaining({ id: conversationId, messageCount: 4 }),
    ]);
  });

  it('grounds an answer in pasted documents: sources first, then the citation check', async () => {
    const server = await start();
    const { events } = await chat(server, {
      model: 'demo-slm',
      question: 'How much is a hotel night in Paris?',
      documents: [
        '# Travel\n\nHotel stays are reimbursed up to 180 euros per night in Paris.',
        '# Leave\n\nEveryone has 25 days of paid leave.',
      ],
      maxTokens: 8,
    });
    const order = events.map((event) => event.event);
    expect(order.indexOf('sources')).toBeGreaterThan(order.indexOf('start'));
    expect(order.indexOf('sources')).toBeLessThan(order.indexOf('delta'));
    const sources = events.find((event) => event.event === 'sources')?.data.sources as Record<
      string,
      unknown
    >[];
    expect(sources[0]).toMatchObject({ number: 1, label: 'doc-1 › Travel' });
    const done = events.at(-1)?.data.message as Record<string, unknown>;
    expect(done.sources).toEqual(sources);
    // Random weights cite nothing: the check says so.
    expect(done.citations).toMatchObject({ uncited: true, invalid: [], unused: [1] });
    expect((done.figures as Record<string, unknown>).retrievalMs).toBeGreaterThanOrEqual(0);
  });

  it('answers from a collection, and says when the documents do not cover the question', async () => {
    const databasePath = join(mkdtempSync(join(scratch, 'db-')), 'tandem.db');
    const store = RagStore.open(databasePath);
    await indexTexts(store, 'policies', ['Hotel stays are reimbursed up to 180 euros.']);
    store.close();
    const server = await start({ databasePath });
    expect((await getJson(server, '/api/collections')).body.data).toEqual([
      { name: 'policies', documentCount: 1, chunkCount: 1 },
    ]);
    const { events } = await chat(server, {
      model: 'demo-slm',
      question: 'What about submarines?',
      collection: 'policies',
    });
    const done = events.at(-1)?.data.message as Record<string, unknown>;
    expect(done.content).toBe('The documents do not cover this question.');
    expect(done.sources).toEqual([]);
    const missing = await chat(server, {
      model: 'demo-slm',
      question: 'Hotels?',
      collection: 'nope',
    });
    expect(missing).toMatchObject({ status: 404 });
    expect(missing.error).toContain("No collection 'nope'");
  });

  it('keeps a stopped answer as far as it got, marked aborted', async () => {
    const server = await start();
    const { events } = await chat(
      server,
      { model: 'demo-llm', question: 'Go on and on.', maxTokens: 2000 },
      (event) => event.event === 'delta',
    );
    const answer = await storedAnswer(server, events[0]?.data.conversationId as number);
    expect(answer?.finish).toBe('aborted');
    expect(String(answer?.content).length).toBeGreaterThan(0);
    expect(answer?.error).toBeUndefined();
  });

  it('serves /api only to its own page or to non-browser clients, as JSON within the body limit', async () => {
    const server = await start({ maxBodyBytes: 4096 });
    const list = (origin?: string) =>
      fetch(`${server.url}/api/conversations`, {
        headers: origin === undefined ? {} : { origin },
      });
    expect((await list()).status).toBe(200);
    expect((await list(server.url)).status).toBe(200);
    for (const origin of ['null', 'http://localhost:3000', 'https://evil.example']) {
      const refused = await list(origin);
      expect(refused.status, origin).toBe(403);
    }
    const asText = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ model: 'demo-slm', question: 'hi' }),
    });
    expect(asText.status).toBe(415);
    const tooBig = await chat(server, {
      model: 'demo-slm',
      question: 'hi',
      documents: ['x'.repeat(10_000)],
    });
    expect(tooBig.status).toBe(413);
    expect(tooBig.error).toContain('limit of 4096 bytes');
    expect((await getJson(server, '/api/conversations/0')).status).toBe(404);
    expect((await getJson(server, '/api/conversations/99999999999999999999')).status).toBe(404);
  });

  it('leaves out the oldest messages that no longer fit the context, and says so', async () => {
    const databasePath = join(mkdtempSync(join(scratch, 'db-')), 'tandem.db');
    const conversationId = withDatabase(databasePath, (db) => {
      const store = new ConversationStore(db);
      const conversation = store.create();
      // demo-slm's context is 2048 tokens: this message alone holds more.
      store.appendMessage(conversation.id, { role: 'user', content: 'long '.repeat(3000) });
      store.appendMessage(conversation.id, { role: 'assistant', content: 'ok', finish: 'stop' });
      store.appendMessage(conversation.id, { role: 'user', content: 'short' });
      store.appendMessage(conversation.id, { role: 'assistant', content: 'ok', finish: 'stop' });
      return conversation.id;
    });
    const server = await start({ databasePath });
    const { events } = await chat(server, {
      model: 'demo-slm',
      question: 'And now?',
      conversationId,
      maxTokens: 8,
    });
    const done = events.at(-1)?.data.message as Record<string, unknown>;
    expect(done.error).toBeUndefined();
    expect(done.finish).toBe('length');
    expect((done.figures as Record<string, unknown>).droppedHistoryMessages).toBe(2);
  });

  it('stores the text of an answer while it streams, so a crash keeps it', async () => {
    const server = await start();
    let conversationId: number | undefined;
    let firstDeltaAt: number | undefined;
    // Streams for up to 4 s (demo-llm writes ~50 tokens/s), then stops.
    const streaming = chat(
      server,
      { model: 'demo-llm', question: 'Write a long essay.', maxTokens: 1000 },
      (event) => {
        if (event.event === 'start') conversationId = event.data.conversationId as number;
        if (event.event === 'delta') firstDeltaAt ??= performance.now();
        return firstDeltaAt !== undefined && performance.now() - firstDeltaAt > 4000;
      },
    );
    let seen: Record<string, unknown> | undefined;
    for (let attempt = 0; attempt < 80 && seen === undefined; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (conversationId === undefined) continue;
      const { body } = await getJson(server, `/api/conversations/${conversationId}`);
      const answer = (body.messages as Record<string, unknown>[])[1];
      if (answer?.finish === 'streaming' && answer.content !== '') seen = answer;
    }
    await streaming;
    // Some text was stored while the answer was still streaming.
    expect(seen?.content).toMatch(/./);
  });

  it('opens a bench report behind --api-key through a link that works once', async () => {
    const databasePath = join(mkdtempSync(join(scratch, 'db-')), 'tandem.db');
    const runId = withDatabase(databasePath, (db) =>
      saveRun(db, { ...syntheticRun({ models: ['demo-slm'] }), name: 'keyed run' }),
    );
    const server = await start({ databasePath, apiKey: 'sesame' });
    const path = `/api/bench/runs/${runId}/report-link`;
    const post = (headers: Record<string, string>) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{}',
      });
    expect((await post({})).status).toBe(401);
    const { url } = (await (await post({ authorization: 'Bearer sesame' })).json()) as {
      url: string;
    };
    expect(url).toMatch(/^\/reports\/[\w-]{32}$/);
    const opened = await fetch(`${server.url}${url}`);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toContain('keyed run');
    const again = await fetch(`${server.url}${url}`);
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain(
      'This report link was used or is over a minute old',
    );
  });

  it('closes, at start, an answer a crashed server left streaming', async () => {
    const databasePath = join(mkdtempSync(join(scratch, 'db-')), 'tandem.db');
    const { conversationId, messageId } = withDatabase(databasePath, (db) => {
      const store = new ConversationStore(db);
      const conversation = store.create();
      store.appendMessage(conversation.id, { role: 'user', content: 'Hello?' });
      const answer = store.appendMessage(conversation.id, {
        role: 'assistant',
        content: 'Hel',
        model: 'demo-slm',
        finish: 'streaming',
      });
      return { conversationId: conversation.id, messageId: answer.id };
    });
    const server = await start({ databasePath });
    const response = await fetch(`${server.url}/api/conversations/${conversationId}`);
    const body = (await response.json()) as {
      messages: { id: number; content: string; finish: string; error: string }[];
    };
    expect(body.messages.find((message) => message.id === messageId)).toMatchObject({
      content: 'Hel',
      finish: 'interrupted',
      error: INTERRUPTED_ERROR,
    });
  });

  it('keeps the sources of a grounded answer that was stopped', async () => {
    const server = await start();
    const { events } = await chat(
      server,
      {
        model: 'demo-llm',
        question: 'Hotel nights?',
        documents: ['Hotel nights are reimbursed.'],
        maxTokens: 200,
      },
      (event) => event.event === 'delta',
    );
    const answer = await storedAnswer(server, events[0]?.data.conversationId as number);
    expect(answer?.finish).toBe('aborted');
    expect(answer?.sources).toEqual([expect.objectContaining({ number: 1 })]);
  });

  it('refuses bad requests with one clear line', async () => {
    const server = await start();
    expect(await chat(server, { model: 'demo-slm', question: '   ' })).toMatchObject({
      status: 400,
      error: 'Invalid chat request: question: the question is empty.',
    });
    expect(await chat(server, { model: 'nope', question: 'hi' })).toMatchObject({ status: 404 });
    expect(
      await chat(server, { model: 'demo-slm', question: 'hi', conversationId: 999 }),
    ).toMatchObject({ status: 404 });
    const both = await chat(server, {
      model: 'demo-slm',
      question: 'hi',
      documents: ['a'],
      collection: 'b',
    });
    expect(both).toMatchObject({
      status: 400,
      error: 'Give pasted documents or a collection, not both.',
    });
    const notJson = await fetch(`${server.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'hello',
    });
    expect(notJson.status).toBe(400);
  });

  it('serves the built app at / and its assets, never a file outside them', async () => {
    const root = mkdtempSync(join(scratch, 'web-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>tandem</title>');
    writeFileSync(join(root, 'assets', 'app-1.js'), 'console.log(1)');
    writeFileSync(join(scratch, 'secret.txt'), 'no');
    const server = await start({ webRoot: root });
    const page = await fetch(`${server.url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<title>tandem</title>');
    const script = await fetch(`${server.url}/assets/app-1.js`);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(script.headers.get('cache-control')).toContain('immutable');
    for (const path of [
      '/assets/..%2F..%2Fsecret.txt',
      '/assets/%2e%2e/index.html',
      '/assets/nope.js',
    ]) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(404);
    }
    const unbuilt = await start({ webRoot: join(scratch, 'no-such-folder') });
    const missing = await fetch(`${unbuilt.url}/`);
    expect(missing.status).toBe(503);
    expect(await missing.text()).toContain('run npm run build');
  });
});

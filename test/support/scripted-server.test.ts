import { afterEach, describe, expect, it } from 'vitest';
import { type ScriptedServer, startScriptedServer } from './scripted-server.js';

const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function post(server: ScriptedServer, body: unknown): Promise<Response> {
  return fetch(`${server.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('startScriptedServer', () => {
  it('plays a script as SSE and records when each step was sent', async () => {
    const server = await startScriptedServer({
      chatScripts: [
        [
          { type: 'delta', delta: { content: 'a' } },
          { type: 'comment' },
          { type: 'delta', delta: {}, finishReason: 'stop', delayMs: 20 },
          { type: 'usage', usage: { prompt_tokens: 1, completion_tokens: 1 } },
          { type: 'raw', bytes: 'data: raw\n\n' },
          { type: 'error', error: { message: 'x' } },
          { type: 'done' },
        ],
      ],
    });
    servers.push(server);
    const response = await post(server, { model: 'm', stream: true });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    const lines = text.split('\n\n').filter((line) => line !== '');
    expect(lines).toHaveLength(7);
    expect(JSON.parse(lines[0]?.slice(6) ?? '')).toMatchObject({
      object: 'chat.completion.chunk',
      model: 'm',
      choices: [{ index: 0, delta: { content: 'a' }, finish_reason: null }],
    });
    expect(lines[1]).toBe(': ping');
    expect(JSON.parse(lines[3]?.slice(6) ?? '')).toMatchObject({ choices: [], usage: {} });
    expect(lines.slice(4)).toEqual([
      'data: raw',
      'data: {"error":{"message":"x"}}',
      'data: [DONE]',
    ]);
    const [request] = server.requests;
    expect(request?.body).toEqual({ model: 'm', stream: true });
    expect(request?.steps).toHaveLength(7);
    const sent = request?.steps.map((step) => step.sentAtMs) ?? [];
    expect((sent[2] ?? 0) - (sent[1] ?? 0)).toBeGreaterThanOrEqual(19);
    expect(request?.finishedAtMs).toBeGreaterThanOrEqual(sent[6] ?? Number.NaN);
  });

  it('answers with a status, body and headers, and 500 when scripts run out', async () => {
    const server = await startScriptedServer({
      chatScripts: [
        [{ type: 'respond', status: 429, headers: { 'retry-after': '1' }, body: { error: 'x' } }],
      ],
    });
    servers.push(server);
    const limited = await post(server, {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toEqual({ error: 'x' });
    const exhausted = await post(server, {});
    expect(exhausted.status).toBe(500);
    expect(await exhausted.text()).toContain('no script left');
  });

  it('serves /models, 404 without a list, and scripts chosen by a function', async () => {
    const server = await startScriptedServer({
      models: ['a', 'b:latest'],
      chatScripts: (_request, index) => [{ type: 'delta', delta: { content: `#${index}` } }],
    });
    servers.push(server);
    const models = await (await fetch(`${server.baseUrl}/models`)).json();
    expect(models).toMatchObject({ object: 'list', data: [{ id: 'a' }, { id: 'b:latest' }] });
    server.setModels(undefined);
    expect((await fetch(`${server.baseUrl}/models`)).status).toBe(404);
    expect(server.modelsRequestCount).toBe(2);
    expect(await (await post(server, {})).text()).toContain('"content":"#0"');
    expect(await (await post(server, {})).text()).toContain('"content":"#1"');
  });

  it('destroys the socket on a destroy step', async () => {
    const server = await startScriptedServer({
      chatScripts: [[{ type: 'delta', delta: { content: 'a' } }, { type: 'destroy' }]],
    });
    servers.push(server);
    const response = await post(server, {});
    await expect(response.text()).rejects.toThrow();
  });
});

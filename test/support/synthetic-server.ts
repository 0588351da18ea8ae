/**
 * A synthetic OpenAI-compatible streaming server with no model, for load tests of the client.
 *
 * POST /v1/chat/completions streams `max_tokens` tokens, one SSE `chat.completion.chunk` per
 * token (delta content a short word), the first after `ttftMs`, then one every `itlMs` on an
 * absolute schedule (no drift), then a finish chunk, a usage chunk (unless the request set
 * stream_options.include_usage to false) and `data: [DONE]`. Non-streaming requests get the
 * whole completion when the last token is due. GET /v1/models lists one model.
 *
 * Truth for the client: the server records the send time of every token of every request,
 * on the clock `performance.timeOrigin + performance.now()` (epoch milliseconds, high
 * resolution), so a client in another thread or process can compare on one time base. The
 * request id is the chunk `id` field, and also the text of the first token (`syn-17 `), so a
 * client that only sees the text can match its request to the server's record.
 *
 * Speed: every token is one `res.write` on a socket with Nagle off; one timer loop serves all
 * streams (it sends every token that is due, then sleeps until the next one is), not a timer
 * per token. Run it in its own process with startSyntheticServerProcess() so that it does
 * not share a core with the client it measures.
 *
 * Per-request overrides and failure injection (a header wins over the body field, which wins
 * over a fault queued with enqueueFaults(), which wins over the server's defaults):
 *
 * | header                          | body field `synthetic.` | effect                                  |
 * | ------------------------------- | ----------------------- | --------------------------------------- |
 * | x-synthetic-ttft-ms             | ttftMs                  | first token after this many ms          |
 * | x-synthetic-itl-ms              | itlMs                   | one token every this many ms            |
 * | x-synthetic-tokens              | tokens                  | tokens to stream (else max_tokens)      |
 * | x-synthetic-status              | status                  | answer this HTTP status (500, 429...)   |
 * | x-synthetic-retry-after         | retryAfterSeconds       | Retry-After header with that status     |
 * | x-synthetic-drop-after-tokens   | dropAfterTokens         | destroy the socket after K tokens       |
 * | x-synthetic-stall-after-tokens  | stallAfterTokens        | after K tokens, send nothing for …      |
 * | x-synthetic-stall-ms            | stallMs                 | … this many ms, then go on              |
 */
import { fork } from 'node:child_process';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** Per-request behaviour; every field optional. */
export interface SyntheticRequestScript {
  ttftMs?: number;
  itlMs?: number;
  tokens?: number;
  status?: number;
  retryAfterSeconds?: number;
  dropAfterTokens?: number;
  stallAfterTokens?: number;
  stallMs?: number;
}

export interface SyntheticServerOptions {
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** Default 20. */
  ttftMs?: number;
  /** Default 5. */
  itlMs?: number;
  /** Tokens when the request gives no max_tokens. Default 16. */
  defaultTokens?: number;
  /** Default `synthetic`. */
  modelId?: string;
  /** Prompt tokens reported in usage. Default 8. */
  promptTokens?: number;
  /** Record every token's send time. Default true. */
  recordSendTimes?: boolean;
}

/** What the server did for one request. */
export interface SyntheticRequestRecord {
  requestId: string;
  /** When the request body had arrived (epoch ms, high resolution). */
  receivedAtMs: number;
  /** Send time of each token sent (epoch ms, high resolution). */
  sendTimesMs: Float64Array;
  /** Tokens actually sent (≤ sendTimesMs.length). */
  tokensSent: number;
  tokensAsked: number;
  status: number;
  outcome: 'streaming' | 'complete' | 'failed' | 'dropped' | 'client-closed';
}

export interface SyntheticServerStatistics {
  requests: number;
  tokensSent: number;
  /** Sends that ran later than their schedule by more than 1 ms (server overloaded). */
  lateSends: number;
  /** Largest lateness of a send against its schedule, ms. */
  maxLatenessMs: number;
}

export interface SyntheticServer {
  /** http://host:port/v1 */
  readonly baseUrl: string;
  readonly port: number;
  getRecord(requestId: string): SyntheticRequestRecord | undefined;
  /** Send times of the tokens of one request (epoch ms), or undefined for an unknown id. */
  getSendTimes(requestId: string): number[] | undefined;
  records(): SyntheticRequestRecord[];
  /** The next requests take these scripts, one each, in order (under headers and body). */
  enqueueFaults(scripts: readonly SyntheticRequestScript[]): void;
  statistics(): SyntheticServerStatistics;
  /** Forgets the records kept so far (the statistics too). */
  clearRecords(): void;
  close(): Promise<void>;
}

/** The server's clock: epoch milliseconds with sub-millisecond resolution, one base for all threads. */
export function sharedClockMs(): number {
  return performance.timeOrigin + performance.now();
}

const words = [
  'lorem ',
  'ipsum ',
  'dolor ',
  'sit ',
  'amet ',
  'local ',
  'model ',
  'token ',
  'bench ',
  'stream ',
  'small ',
  'large ',
  'fast ',
  'true ',
  'quick ',
  'brief ',
];

interface ActiveStream {
  record: SyntheticRequestRecord;
  response: ServerResponse;
  socket: Socket;
  /** Schedule of token 0, epoch ms. */
  firstDueMs: number;
  itlMs: number;
  stallAfterTokens: number;
  stallMs: number;
  dropAfterTokens: number;
  includeUsage: boolean;
  /** JSON fragments that do not change between chunks. */
  prefix: string;
  closed: boolean;
}

function numberHeader(headers: IncomingHttpHeaders, name: string): number | undefined {
  const raw = headers[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function numberField(source: unknown, name: string): number | undefined {
  if (source === null || typeof source !== 'object') return undefined;
  const value = (source as Record<string, unknown>)[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

const scriptFields: readonly (readonly [keyof SyntheticRequestScript, string])[] = [
  ['ttftMs', 'x-synthetic-ttft-ms'],
  ['itlMs', 'x-synthetic-itl-ms'],
  ['tokens', 'x-synthetic-tokens'],
  ['status', 'x-synthetic-status'],
  ['retryAfterSeconds', 'x-synthetic-retry-after'],
  ['dropAfterTokens', 'x-synthetic-drop-after-tokens'],
  ['stallAfterTokens', 'x-synthetic-stall-after-tokens'],
  ['stallMs', 'x-synthetic-stall-ms'],
];

function mergeScript(
  queued: SyntheticRequestScript | undefined,
  body: unknown,
  headers: IncomingHttpHeaders,
): SyntheticRequestScript {
  const script: SyntheticRequestScript = { ...queued };
  const fromBody =
    body !== null && typeof body === 'object'
      ? (body as Record<string, unknown>).synthetic
      : undefined;
  for (const [field, header] of scriptFields) {
    const value = numberHeader(headers, header) ?? numberField(fromBody, field);
    if (value !== undefined) script[field] = value;
  }
  return script;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** Starts the server in this thread. Prefer startSyntheticServerProcess() for load tests. */
export async function startSyntheticServer(
  options: SyntheticServerOptions = {},
): Promise<SyntheticServer> {
  const defaultTtftMs = options.ttftMs ?? 20;
  const defaultItlMs = options.itlMs ?? 5;
  const defaultTokens = options.defaultTokens ?? 16;
  const modelId = options.modelId ?? 'synthetic';
  const promptTokens = options.promptTokens ?? 8;
  const recordSendTimes = options.recordSendTimes ?? true;
  const created = Math.floor(Date.now() / 1000);
  const records = new Map<string, SyntheticRequestRecord>();
  const queuedFaults: SyntheticRequestScript[] = [];
  const active: ActiveStream[] = [];
  const statistics: SyntheticServerStatistics = {
    requests: 0,
    tokensSent: 0,
    lateSends: 0,
    maxLatenessMs: 0,
  };
  let nextRequestNumber = 1;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let immediate: ReturnType<typeof setImmediate> | undefined;
  let closing = false;

  const dueMs = (stream: ActiveStream, token: number): number =>
    stream.firstDueMs +
    token * stream.itlMs +
    (token >= stream.stallAfterTokens ? stream.stallMs : 0);

  function finishStream(stream: ActiveStream): void {
    let tail = `data: {${stream.prefix}"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\n\n`;
    if (stream.includeUsage) {
      tail += `data: {${stream.prefix}"choices":[],"usage":{"prompt_tokens":${promptTokens},"completion_tokens":${stream.record.tokensSent},"total_tokens":${promptTokens + stream.record.tokensSent}}}\n\n`;
    }
    tail += 'data: [DONE]\n\n';
    stream.response.end(tail);
    stream.record.outcome = 'complete';
    stream.closed = true;
  }

  function sendToken(stream: ActiveStream, now: number): void {
    const record = stream.record;
    const index = record.tokensSent;
    const content = index === 0 ? `${record.requestId} ` : (words[index % words.length] as string);
    const delta =
      index === 0 ? `{"role":"assistant","content":"${content}"}` : `{"content":"${content}"}`;
    const event = `data: {${stream.prefix}"choices":[{"index":0,"delta":${delta},"finish_reason":null}]}\n\n`;
    const sentAt = sharedClockMs();
    // One chunk of the chunked body, written to the socket in one call (ServerResponse.write
    // would cost a writev of three buffers and its own bookkeeping per token). The headers
    // went out with flushHeaders(), and response.end() writes the last chunk after these.
    stream.socket.write(`${Buffer.byteLength(event).toString(16)}\r\n${event}\r\n`);
    if (recordSendTimes) record.sendTimesMs[index] = sentAt;
    record.tokensSent = index + 1;
    statistics.tokensSent++;
    const lateness = now - dueMs(stream, index);
    if (lateness > 1) statistics.lateSends++;
    if (lateness > statistics.maxLatenessMs) statistics.maxLatenessMs = lateness;
  }

  /** The one timer loop: sends every token that is due, then sleeps until the next is. */
  function tick(): void {
    timer = undefined;
    immediate = undefined;
    const now = sharedClockMs();
    let nextDue = Number.POSITIVE_INFINITY;
    for (let index = 0; index < active.length; ) {
      const stream = active[index] as ActiveStream;
      if (!stream.closed) {
        const record = stream.record;
        while (record.tokensSent < record.tokensAsked && dueMs(stream, record.tokensSent) <= now) {
          if (record.tokensSent >= stream.dropAfterTokens) {
            // Dropped when the next token would have been sent.
            record.outcome = 'dropped';
            stream.closed = true;
            stream.response.socket?.destroy();
            break;
          }
          sendToken(stream, now);
        }
        if (stream.closed) {
          // Dropped above.
        } else if (record.tokensSent >= record.tokensAsked) {
          finishStream(stream);
        } else {
          const due = dueMs(stream, record.tokensSent);
          if (due < nextDue) nextDue = due;
        }
      }
      if (stream.closed) {
        // Swap-remove: order does not matter.
        const last = active.pop() as ActiveStream;
        if (last !== stream) active[index] = last;
        continue;
      }
      index++;
    }
    schedule(nextDue);
  }

  function schedule(nextDue: number): void {
    if (closing || nextDue === Number.POSITIVE_INFINITY) return;
    if (timer !== undefined) clearTimeout(timer);
    if (immediate !== undefined) return;
    timer = undefined;
    const wait = nextDue - sharedClockMs();
    // Never poll: a spinning server takes the CPU the client it measures needs (two cores
    // in all on the reference VM). Timers are good to about a millisecond, so a token may go
    // out up to ~1 ms late; its send time is recorded, and the truth is what was sent when.
    if (wait <= 0) immediate = setImmediate(tick);
    else timer = setTimeout(tick, Math.max(1, Math.round(wait)));
  }

  function wake(): void {
    if (immediate !== undefined) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    immediate = setImmediate(tick);
  }

  async function handleCompletion(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const text = await readBody(request);
    const receivedAtMs = sharedClockMs();
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      sendJson(response, 400, { error: { message: 'The body is not a JSON object.', code: 400 } });
      return;
    }
    const script = mergeScript(queuedFaults.shift(), body, request.headers);
    const requestId = `syn-${nextRequestNumber++}`;
    statistics.requests++;
    const maxTokens = numberField(body, 'max_tokens') ?? numberField(body, 'max_completion_tokens');
    const tokensAsked = Math.max(0, Math.floor(script.tokens ?? maxTokens ?? defaultTokens));
    const status = script.status ?? 200;
    const record: SyntheticRequestRecord = {
      requestId,
      receivedAtMs,
      sendTimesMs: new Float64Array(recordSendTimes ? tokensAsked : 0),
      tokensSent: 0,
      tokensAsked,
      status,
      outcome: status === 200 ? 'streaming' : 'failed',
    };
    records.set(requestId, record);
    if (status !== 200) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (script.retryAfterSeconds !== undefined) {
        headers['retry-after'] = String(script.retryAfterSeconds);
      }
      const errorBody = JSON.stringify({
        error: { message: `synthetic failure (HTTP ${status})`, type: 'synthetic', code: status },
      });
      response.writeHead(status, headers);
      response.end(errorBody);
      return;
    }
    const ttftMs = script.ttftMs ?? defaultTtftMs;
    const itlMs = script.itlMs ?? defaultItlMs;
    const streaming = body.stream === true;
    if (!streaming) {
      const delay = ttftMs + Math.max(0, tokensAsked - 1) * itlMs;
      setTimeout(() => {
        const sentAt = sharedClockMs();
        let content = '';
        for (let index = 0; index < tokensAsked; index++) {
          content += index === 0 ? `${requestId} ` : words[index % words.length];
          if (recordSendTimes) record.sendTimesMs[index] = sentAt;
        }
        record.tokensSent = tokensAsked;
        record.outcome = 'complete';
        statistics.tokensSent += tokensAsked;
        sendJson(response, 200, {
          id: requestId,
          object: 'chat.completion',
          created,
          model: modelId,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'length' }],
          usage: {
            prompt_tokens: promptTokens,
            completion_tokens: tokensAsked,
            total_tokens: promptTokens + tokensAsked,
          },
        });
      }, delay);
      return;
    }
    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    response.flushHeaders();
    const socket = response.socket;
    if (socket === null || response.writableLength > 0) {
      // Gone already, or the headers are still queued (a pipelined request): not streamed.
      record.outcome = 'client-closed';
      response.destroy();
      return;
    }
    const stream: ActiveStream = {
      record,
      response,
      socket,
      firstDueMs: receivedAtMs + ttftMs,
      itlMs,
      stallAfterTokens: script.stallAfterTokens ?? Number.POSITIVE_INFINITY,
      stallMs: script.stallMs ?? 0,
      dropAfterTokens: script.dropAfterTokens ?? Number.POSITIVE_INFINITY,
      includeUsage: streamOptions?.include_usage !== false,
      prefix: `"id":"${requestId}","object":"chat.completion.chunk","created":${created},"model":"${modelId}",`,
      closed: false,
    };
    response.on('close', () => {
      if (!stream.closed) {
        stream.closed = true;
        record.outcome = 'client-closed';
      }
    });
    active.push(stream);
    wake();
  }

  const server: Server = createServer(
    { noDelay: true, keepAliveTimeout: 30_000 },
    (request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method === 'GET' && (path === '/v1/models' || path === '/models')) {
        sendJson(response, 200, {
          object: 'list',
          data: [{ id: modelId, object: 'model', created, owned_by: 'tandem-synthetic' }],
        });
        return;
      }
      if (
        request.method === 'POST' &&
        (path === '/v1/chat/completions' || path === '/chat/completions')
      ) {
        handleCompletion(request, response).catch(() => {
          if (!response.headersSent) sendJson(response, 500, { error: { message: 'internal' } });
          else response.destroy();
        });
        return;
      }
      sendJson(response, 404, { error: { message: `No route for ${request.method} ${path}` } });
    },
  );
  server.on('connection', (socket) => socket.setNoDelay(true));
  server.maxHeadersCount = 100;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    baseUrl: `http://${host}:${address.port}/v1`,
    port: address.port,
    getRecord: (requestId) => records.get(requestId),
    getSendTimes(requestId) {
      const record = records.get(requestId);
      return record === undefined
        ? undefined
        : Array.from(record.sendTimesMs.subarray(0, record.tokensSent));
    },
    records: () => [...records.values()],
    enqueueFaults(scripts) {
      queuedFaults.push(...scripts);
    },
    statistics: () => ({ ...statistics }),
    clearRecords() {
      records.clear();
      statistics.requests = 0;
      statistics.tokensSent = 0;
      statistics.lateSends = 0;
      statistics.maxLatenessMs = 0;
    },
    close() {
      closing = true;
      if (timer !== undefined) clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
      for (const stream of active) {
        stream.closed = true;
        stream.response.socket?.destroy();
      }
      active.length = 0;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// --- the server in its own process -------------------------------------------------------

const childFlag = '--tandem-synthetic-server';

type ChildCommand =
  | { type: 'records'; sequence: number; requestIds?: string[] }
  | { type: 'statistics'; sequence: number }
  | { type: 'clock'; sequence: number }
  | { type: 'enqueue'; sequence: number; scripts: SyntheticRequestScript[] }
  | { type: 'clear'; sequence: number }
  | { type: 'close'; sequence: number };

export interface SyntheticServerProcessStatistics extends SyntheticServerStatistics {
  /** CPU time of the server process since it started, ms. */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Share of wall time the server's event loop was busy since it started (0..1). */
  eventLoopUtilization: number;
}

/** The same server in a child process; its methods ask the child over IPC. */
export interface SyntheticServerProcess {
  readonly baseUrl: string;
  readonly port: number;
  readonly pid: number;
  /** Records of the given requests (all when omitted). */
  records(requestIds?: readonly string[]): Promise<SyntheticRequestRecord[]>;
  getSendTimes(requestId: string): Promise<number[] | undefined>;
  statistics(): Promise<SyntheticServerProcessStatistics>;
  /** The child's sharedClockMs(), read when it answered (for clock-offset checks). */
  readClock(): Promise<number>;
  enqueueFaults(scripts: readonly SyntheticRequestScript[]): Promise<void>;
  clearRecords(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Forks this module (compiled JavaScript) as a child process running the server, so that
 * the server gets its own core and its CPU time can be told from the client's.
 */
export async function startSyntheticServerProcess(
  options: SyntheticServerOptions = {},
): Promise<SyntheticServerProcess> {
  const modulePath = fileURLToPath(import.meta.url);
  const child = fork(modulePath, [childFlag, JSON.stringify(options)], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  let nextSequence = 1;
  let exited = false;
  const ready = new Promise<{ baseUrl: string; port: number }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      exited = true;
      const error = new Error(`The synthetic server process exited (code ${code}).`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
    child.on('message', (message: { type: string; sequence?: number; value?: unknown }) => {
      if (message.type === 'ready') {
        resolve(message.value as { baseUrl: string; port: number });
        return;
      }
      if (message.sequence === undefined) return;
      const waiter = pending.get(message.sequence);
      pending.delete(message.sequence);
      waiter?.resolve(message.value);
    });
  });
  const { baseUrl, port } = await ready;

  function ask<T>(command: Record<string, unknown> & { type: ChildCommand['type'] }): Promise<T> {
    if (exited) return Promise.reject(new Error('The synthetic server process has exited.'));
    const sequence = nextSequence++;
    return new Promise<T>((resolve, reject) => {
      pending.set(sequence, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ ...command, sequence });
    });
  }

  return {
    baseUrl,
    port,
    pid: child.pid ?? -1,
    records: (requestIds) =>
      ask<SyntheticRequestRecord[]>(
        requestIds === undefined
          ? { type: 'records' }
          : { type: 'records', requestIds: [...requestIds] },
      ),
    async getSendTimes(requestId) {
      const [record] = await ask<SyntheticRequestRecord[]>({
        type: 'records',
        requestIds: [requestId],
      });
      return record === undefined
        ? undefined
        : Array.from(record.sendTimesMs.subarray(0, record.tokensSent));
    },
    statistics: () => ask<SyntheticServerProcessStatistics>({ type: 'statistics' }),
    readClock: () => ask<number>({ type: 'clock' }),
    enqueueFaults: (scripts) => ask<void>({ type: 'enqueue', scripts: [...scripts] }),
    clearRecords: () => ask<void>({ type: 'clear' }),
    async close() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'close', sequence: nextSequence++ });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}

async function runChild(): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('The synthetic server child needs an IPC channel.');
  const options = JSON.parse(
    process.argv[process.argv.indexOf(childFlag) + 1] ?? '{}',
  ) as SyntheticServerOptions;
  const server = await startSyntheticServer(options);
  const startCpu = process.cpuUsage();
  const startUtilization = performance.eventLoopUtilization();
  process.on('message', (command: ChildCommand) => {
    const reply = (value: unknown): void => {
      send({ type: 'reply', sequence: command.sequence, value });
    };
    switch (command.type) {
      case 'records':
        reply(
          command.requestIds === undefined
            ? server.records()
            : command.requestIds
                .map((id) => server.getRecord(id))
                .filter((record) => record !== undefined),
        );
        break;
      case 'statistics': {
        const cpu = process.cpuUsage(startCpu);
        reply({
          ...server.statistics(),
          cpuUserMs: cpu.user / 1000,
          cpuSystemMs: cpu.system / 1000,
          eventLoopUtilization: performance.eventLoopUtilization(startUtilization).utilization,
        });
        break;
      }
      case 'clock':
        reply(sharedClockMs());
        break;
      case 'enqueue':
        server.enqueueFaults(command.scripts);
        reply(undefined);
        break;
      case 'clear':
        server.clearRecords();
        reply(undefined);
        break;
      case 'close':
        server.close().then(() => process.exit(0));
        break;
    }
  });
  process.on('disconnect', () => {
    server.close().then(() => process.exit(0));
  });
  send({ type: 'ready', value: { baseUrl: server.baseUrl, port: server.port } });
}

if (process.argv.includes(childFlag) && process.send !== undefined) {
  runChild().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

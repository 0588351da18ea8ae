/**
 * A real HTTP server on 127.0.0.1 that plays scripted OpenAI-compatible answers, for tests
 * and benchmarks of HTTP engines. Each POST {basePath}/chat/completions takes the next
 * script (and each POST {basePath}/embeddings the next embeddings script, when some are given): a list of steps (SSE chunks after a delay, raw bytes, pings, usage, [DONE],
 * stalls, a destroyed socket, an HTTP error answer). The server records when it sent each
 * step with its clock (performance.now() by default): run it in the client's process and
 * the client's arrival stamps can be compared with the server's send times.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptStep =
  /** A whole non-streaming answer (an HTTP error, or a JSON completion); ends the response. */
  | {
      type: 'respond';
      status?: number;
      body?: string | object;
      headers?: Record<string, string>;
      delayMs?: number;
    }
  /** Sends the streaming response headers now (otherwise sent with the first data step). */
  | { type: 'headers'; status?: number; headers?: Record<string, string>; delayMs?: number }
  /** `data: {chat.completion.chunk with choices[0].delta}` */
  | {
      type: 'delta';
      delta: Record<string, unknown>;
      finishReason?: string | null;
      extra?: Record<string, unknown>;
      delayMs?: number;
    }
  /** `data: <data>`: an object is sent as JSON, a string as-is. */
  | { type: 'chunk'; data: unknown; delayMs?: number }
  /** Bytes exactly as given (to split events or code points across writes). */
  | { type: 'raw'; bytes: string | Uint8Array; delayMs?: number }
  /** `: ping` (a comment line and a blank line). */
  | { type: 'comment'; text?: string; delayMs?: number }
  /** The usage chunk with empty choices, as with stream_options.include_usage. */
  | {
      type: 'usage';
      usage: Record<string, unknown>;
      timings?: Record<string, unknown>;
      delayMs?: number;
    }
  /** An in-band error payload: `data: {"error": {...}}`. */
  | { type: 'error'; error: Record<string, unknown>; delayMs?: number }
  /** `data: [DONE]` */
  | { type: 'done'; delayMs?: number }
  /** Sends nothing for ms. */
  | { type: 'stall'; ms: number }
  /** Destroys the socket (a server that dies). */
  | { type: 'destroy'; delayMs?: number }
  /** Ends the response cleanly (also done after the last step). */
  | { type: 'end'; delayMs?: number };

export type ChatScript = readonly ScriptStep[];

export interface RecordedStep {
  step: ScriptStep;
  /** Server clock just before the step's bytes were written (for a stall: when it began). */
  sentAtMs: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The JSON body, parsed; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  /** Server clock when the request's headers were received. */
  receivedAtMs: number;
  steps: RecordedStep[];
  /** Server clock when the script finished or the client went away. */
  finishedAtMs: number | undefined;
  /** True when the client closed the connection before the script finished. */
  clientClosedEarly: boolean;
}

export interface ScriptedServerOptions {
  /** Scripts for successive chat requests, or a function choosing one per request. */
  chatScripts?: readonly ChatScript[] | ((request: RecordedRequest, index: number) => ChatScript);
  /**
   * Scripts for successive POST {basePath}/embeddings requests (usually one `respond` step),
   * or a function choosing one per request. Undefined (and none enqueued): that route
   * answers 404.
   */
  embeddingScripts?:
    | readonly ChatScript[]
    | ((request: RecordedRequest, index: number) => ChatScript);
  /** Ids served at GET {basePath}/models; undefined: that route answers 404. */
  models?: readonly string[];
  /** The `model` field of chunks; default: the requested model. */
  responseModelId?: string;
  /** Default `/v1`. */
  basePath?: string;
  clock?: () => number;
}

export interface ScriptedServer {
  /** http://127.0.0.1:PORT/v1 */
  readonly baseUrl: string;
  readonly origin: string;
  readonly port: number;
  /** Chat completion requests, in order of arrival. */
  readonly requests: readonly RecordedRequest[];
  /** Embeddings requests, in order of arrival. */
  readonly embeddingRequests: readonly RecordedRequest[];
  /** How many times GET /models was asked. */
  readonly modelsRequestCount: number;
  /** Adds scripts for the next chat requests (when chatScripts is a list). */
  enqueue(...scripts: ChatScript[]): void;
  /** Adds scripts for the next embeddings requests (when embeddingScripts is not a function). */
  enqueueEmbeddings(...scripts: ChatScript[]): void;
  setModels(models: readonly string[] | undefined): void;
  close(): Promise<void>;
}

const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
};

/** A non-streaming chat completion body, for `respond` steps. */
export function chatCompletionBody(options: {
  content: string;
  reasoningContent?: string;
  finishReason?: string;
  model?: string;
  usage?: Record<string, unknown>;
  timings?: Record<string, unknown>;
}): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: options.content };
  if (options.reasoningContent !== undefined) {
    message.reasoning_content = options.reasoningContent;
  }
  const body: Record<string, unknown> = {
    id: 'chatcmpl-scripted',
    object: 'chat.completion',
    created: 0,
    model: options.model ?? 'scripted-model',
    choices: [{ index: 0, message, finish_reason: options.finishReason ?? 'stop' }],
  };
  if (options.usage !== undefined) body.usage = options.usage;
  if (options.timings !== undefined) body.timings = options.timings;
  return body;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function startScriptedServer(
  options: ScriptedServerOptions = {},
): Promise<ScriptedServer> {
  const clock = options.clock ?? (() => performance.now());
  const basePath = options.basePath ?? '/v1';
  const queue: ChatScript[] = Array.isArray(options.chatScripts) ? [...options.chatScripts] : [];
  const chooseScript = typeof options.chatScripts === 'function' ? options.chatScripts : undefined;
  let models = options.models;
  let modelsRequestCount = 0;
  const requests: RecordedRequest[] = [];
  const embeddingQueue: ChatScript[] = Array.isArray(options.embeddingScripts)
    ? [...options.embeddingScripts]
    : [];
  const chooseEmbeddingScript =
    typeof options.embeddingScripts === 'function' ? options.embeddingScripts : undefined;
  let servesEmbeddings = options.embeddingScripts !== undefined;
  const embeddingRequests: RecordedRequest[] = [];

  const playScript = async (
    script: ChatScript,
    record: RecordedRequest,
    response: ServerResponse,
    requestedModel: string,
  ): Promise<void> => {
    let clientGone = false;
    let wakeUp: (() => void) | undefined;
    response.on('close', () => {
      if (!response.writableFinished) clientGone = true;
      wakeUp?.();
    });
    /** Waits ms, or less when the client goes away. */
    const wait = (ms: number): Promise<void> =>
      ms <= 0 || clientGone
        ? Promise.resolve()
        : new Promise((resolve) => {
            const timer = setTimeout(done, ms);
            function done(): void {
              clearTimeout(timer);
              wakeUp = undefined;
              resolve();
            }
            wakeUp = done;
          });
    let chunkNumber = 0;
    const chunkBase = (): Record<string, unknown> => ({
      id: `chatcmpl-scripted-${requests.length}`,
      object: 'chat.completion.chunk',
      created: 0,
      model: options.responseModelId ?? requestedModel,
      system_fingerprint: `step-${chunkNumber++}`,
    });
    const ensureHeaders = (): void => {
      if (response.headersSent) return;
      response.writeHead(200, sseHeaders);
      response.flushHeaders();
    };
    const send = (step: ScriptStep, bytes: string | Uint8Array): void => {
      ensureHeaders();
      record.steps.push({ step, sentAtMs: clock() });
      response.write(bytes);
    };
    const sendData = (step: ScriptStep, data: unknown): void => {
      send(step, `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    };

    for (const step of script) {
      if (clientGone) break;
      if (step.type === 'stall') {
        record.steps.push({ step, sentAtMs: clock() });
        await wait(step.ms);
        continue;
      }
      await wait(step.delayMs ?? 0);
      if (clientGone) break;
      switch (step.type) {
        case 'respond': {
          const body =
            step.body === undefined
              ? ''
              : typeof step.body === 'string'
                ? step.body
                : JSON.stringify(step.body);
          const headers: Record<string, string> = {
            'content-type':
              typeof step.body === 'object' ? 'application/json' : 'text/plain; charset=utf-8',
            ...step.headers,
          };
          record.steps.push({ step, sentAtMs: clock() });
          response.writeHead(step.status ?? 200, headers);
          response.end(body);
          break;
        }
        case 'headers':
          record.steps.push({ step, sentAtMs: clock() });
          response.writeHead(step.status ?? 200, { ...sseHeaders, ...step.headers });
          response.flushHeaders();
          break;
        case 'delta':
          sendData(step, {
            ...chunkBase(),
            choices: [{ index: 0, delta: step.delta, finish_reason: step.finishReason ?? null }],
            ...step.extra,
          });
          break;
        case 'chunk':
          sendData(step, step.data);
          break;
        case 'raw':
          send(step, step.bytes);
          break;
        case 'comment':
          send(step, `: ${step.text ?? 'ping'}\n\n`);
          break;
        case 'usage': {
          const payload: Record<string, unknown> = {
            ...chunkBase(),
            choices: [],
            usage: step.usage,
          };
          if (step.timings !== undefined) payload.timings = step.timings;
          sendData(step, payload);
          break;
        }
        case 'error':
          sendData(step, { error: step.error });
          break;
        case 'done':
          sendData(step, '[DONE]');
          break;
        case 'destroy':
          record.steps.push({ step, sentAtMs: clock() });
          response.socket?.destroy();
          clientGone = true;
          break;
        case 'end':
          record.steps.push({ step, sentAtMs: clock() });
          ensureHeaders();
          response.end();
          break;
      }
      if (response.writableEnded) break;
    }
    if (!clientGone && !response.writableEnded) {
      ensureHeaders();
      response.end();
    }
    record.finishedAtMs = clock();
    record.clientClosedEarly = clientGone && record.steps.at(-1)?.step.type !== 'destroy';
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    request.socket.setNoDelay(true);
    const receivedAtMs = clock();
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const body = await readBody(request);
    if (request.method === 'GET' && path === `${basePath}/models`) {
      modelsRequestCount++;
      if (models === undefined) {
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end('Not Found');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          object: 'list',
          data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'scripted' })),
        }),
      );
      return;
    }
    /** The record of a POST (chat completions or embeddings). */
    const newRecord = (): RecordedRequest => ({
      method: 'POST',
      path,
      headers: request.headers,
      body,
      receivedAtMs,
      steps: [],
      finishedAtMs: undefined,
      clientClosedEarly: false,
    });
    if (request.method === 'POST' && path === `${basePath}/embeddings` && servesEmbeddings) {
      const record = newRecord();
      embeddingRequests.push(record);
      const script = chooseEmbeddingScript
        ? chooseEmbeddingScript(record, embeddingRequests.length - 1)
        : embeddingQueue.shift();
      if (script === undefined) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ error: { message: 'scripted server: no embeddings script left' } }),
        );
        return;
      }
      await playScript(script, record, response, 'scripted-model');
      return;
    }
    if (request.method === 'POST' && path === `${basePath}/chat/completions`) {
      const record = newRecord();
      requests.push(record);
      const script = chooseScript ? chooseScript(record, requests.length - 1) : queue.shift();
      if (script === undefined) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: 'scripted server: no script left' } }));
        return;
      }
      const requestedModel =
        typeof body === 'object' && body !== null && 'model' in body
          ? String((body as { model: unknown }).model)
          : 'scripted-model';
      await playScript(script, record, response, requestedModel);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end(`scripted server: no route for ${request.method} ${path}`);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    baseUrl: `${origin}${basePath}`,
    origin,
    port,
    requests,
    embeddingRequests,
    get modelsRequestCount() {
      return modelsRequestCount;
    },
    enqueue(...scripts) {
      queue.push(...scripts);
    },
    enqueueEmbeddings(...scripts) {
      servesEmbeddings = true;
      embeddingQueue.push(...scripts);
    },
    setModels(next) {
      models = next;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

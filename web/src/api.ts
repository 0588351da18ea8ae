/**
 * The web app's calls to `tandem serve` (same origin): JSON routes under /api and the chat's
 * server-sent events, read from a fetch body so the stop button can abort them. The shapes
 * the server sends are the server's own types (src/server/routes/api/api-types.ts).
 */

export type {
  AnswerFigures,
  AnswerSource,
  ApiErrorBody,
  BenchRunSummary,
  ChatDeltaEvent,
  ChatEndEvent,
  ChatEvents,
  ChatSourcesEvent,
  ChatStartEvent,
  CitationSummary,
  CollectionSummary,
  Conversation,
  ConversationRemoved,
  ConversationSummary,
  ListBody,
  ReportLink,
  ServedModel,
  StoredMessage,
} from '../../src/server/routes/api/api-types.js';

const API_KEY_STORAGE = 'tandem.apiKey';

/** Fired on window when the server answers 401: the page asks for the API key. */
export const KEY_NEEDED_EVENT = 'tandem:key-needed';

/** The key given to `tandem serve --api-key`, kept for this tab only. */
export function storedApiKey(): string | undefined {
  return sessionStorage.getItem(API_KEY_STORAGE) ?? undefined;
}

export function storeApiKey(key: string): void {
  sessionStorage.setItem(API_KEY_STORAGE, key);
}

/** The request's headers with the API key added, when the user gave one. */
export function withApiKey(headers: HeadersInit = {}): Headers {
  const all = new Headers(headers);
  const key = storedApiKey();
  if (key !== undefined) all.set('authorization', `Bearer ${key}`);
  return all;
}

/** fetch() to this server with the API key; a 401 asks the page for the key. */
export async function serverFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(path, { ...init, headers: withApiKey(init.headers) });
  if (response.status === 401) dispatchEvent(new Event(KEY_NEEDED_EVENT));
  return response;
}

/** One line from the server's error body, or the status. */
export async function failure(response: Response): Promise<Error> {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: { message?: string } | string };
    const text = typeof body.error === 'string' ? body.error : body.error?.message;
    if (text) message = text;
  } catch {
    // Not JSON: keep the status line.
  }
  return new Error(message);
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await serverFetch(path, { headers: { accept: 'application/json' } });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export async function sendJson<T>(path: string, method: string, body: unknown): Promise<T> {
  const response = await serverFetch(path, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

/** A server-sent event: its name and parsed JSON data. */
export interface StreamEvent {
  event: string;
  data: unknown;
}

/**
 * POSTs `body` and calls `onEvent` for each server-sent event as it arrives, stamped with
 * performance.now() before parsing. Resolves when the stream ends; rejects on a failed
 * request or a dropped connection (an abort rejects with an AbortError).
 */
export async function streamEvents(
  path: string,
  body: unknown,
  onEvent: (event: StreamEvent, atMs: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await serverFetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok || response.body === null) throw await failure(response);
  for await (const { event, data, atMs } of serverSentEvents(response.body)) {
    onEvent({ event, data: JSON.parse(data) }, atMs);
  }
}

/**
 * The server-sent events of a response body as they arrive: the event name ('message' when
 * unnamed), the data text, and performance.now() when its bytes arrived, before parsing.
 */
export async function* serverSentEvents(
  body: ReadableStream<Uint8Array<ArrayBuffer>>,
): AsyncGenerator<{ event: string; data: string; atMs: number }> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const atMs = performance.now();
    buffer += value;
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) yield { event, data: data.join('\n'), atMs };
    }
  }
}

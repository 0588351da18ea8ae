/**
 * tandem's HTTP/1.1 client (the openai engine's transport): keep-alive connections over
 * node:net (node:tls for https), responses parsed here, and every body chunk stamped with the
 * injected clock in the socket's read callback, before any parsing.
 *
 * Why not fetch: a benchmark client streams one small chunk per token from hundreds of
 * connections at once. Through fetch (undici, WHATWG streams) each chunk cost this 2-core VM
 * ~4 µs of JavaScript more than a socket read, and at 100 000 tokens/s the client saturated
 * its core, so tokens waited in socket buffers and their arrival stamps were late. Here a
 * plain-http socket reads into one reused buffer (net's `onread`), the response framing
 * (Content-Length, chunked, or until close) is decoded in place, and one promise per socket
 * read reaches the engine. createFetchHttpClient() keeps an injected fetch usable.
 */

import { validateHeaderName, validateHeaderValue } from 'node:http';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { connect as connectTls } from 'node:tls';
import type { Clock } from '../engines/spec.js';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Readonly<Record<string, string>>;
  body?: string;
  /** Aborting destroys the connection and rejects what is pending with the signal's reason. */
  signal?: AbortSignal;
}

/** A piece of a response body, decoded from UTF-8 (a code point split across reads waits). */
export interface HttpBodyChunk {
  text: string;
  /** The clock when its bytes were read from the socket. */
  arrivedAtMs: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** The next piece of the body (transfer coding removed, decoded), or undefined at its end. */
  read(): Promise<HttpBodyChunk | undefined>;
  /** Stops reading and closes the connection unless the body had ended (an abandoned stream). */
  cancel(): void;
  /**
   * Done reading, though the body's last bytes (a chunked terminator after `data: [DONE]`)
   * may not be in yet: they are read and dropped for up to a second, and the connection is
   * then reused.
   */
  release(): void;
}

export interface HttpExchange {
  /** The clock just before the request's bytes were handed to the socket (after connecting). */
  readonly written: Promise<number>;
  readonly response: Promise<HttpResponse>;
}

export interface HttpClient {
  request(request: HttpRequest): HttpExchange;
  /** Closes the idle connections; requests in flight go on. */
  close(): void;
}

export interface HttpClientOptions {
  clock?: Clock;
  /** TCP (and TLS) connection establishment. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept. Default 4 000 ms. */
  idleTimeoutMs?: number;
}

/** An error with a network-style `code`, as node:net's errors have. */
export class HttpClientError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'HttpClientError';
  }
}

const maxHeadBytes = 64 * 1024;
/** Body pieces queued unread before the socket is paused. */
const pauseAtQueuedPieces = 64;
const sharedReadBufferBytes = 64 * 1024;
/** How long the rest of an abandoned body is read before its connection is closed. */
const drainTimeoutMs = 1000;

/** Chunk-size lines with extensions, and trailers, are bounded like a head. */
const maxFramingLineBytes = maxHeadBytes;

/** A copy of bytes [start, end): the read buffer is reused as soon as the callback returns. */
function copyOf(buffer: Buffer, start: number, end: number): Buffer {
  const copy = Buffer.allocUnsafe(end - start);
  buffer.copy(copy, 0, start, end);
  return copy;
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}

function protocolError(message: string): HttpClientError {
  return new HttpClientError(`Malformed HTTP response: ${message}`, 'ERR_HTTP_PROTOCOL');
}

function prematureClose(): HttpClientError {
  return new HttpClientError(
    'The server closed the connection before the response ended.',
    'ERR_STREAM_PREMATURE_CLOSE',
  );
}

function hangUp(): HttpClientError {
  return new HttpClientError(
    'The server closed the connection without answering (socket hang up).',
    'ECONNRESET',
  );
}

type BodyFraming =
  | { kind: 'none' }
  | { kind: 'length'; remaining: number }
  | { kind: 'chunked' }
  | { kind: 'close' };

type ChunkedState = 'size' | 'data' | 'data-end' | 'trailers';

interface ParsedHead {
  status: number;
  statusText: string;
  headers: Headers;
  keepAlive: boolean;
  framing: BodyFraming;
  keepAliveTimeoutMs: number | undefined;
}

function parseHead(text: string, method: string): ParsedHead {
  const lines = text.split(/\r?\n/);
  const statusLine = lines[0] ?? '';
  const match = /^HTTP\/1\.([01]) ([0-9]{3})(?: (.*))?$/.exec(statusLine);
  if (match === null) throw protocolError(`bad status line '${statusLine.slice(0, 80)}'.`);
  const minorVersion = match[1];
  const status = Number(match[2]);
  const headers = new Headers();
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index] as string;
    if (line === '') continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      throw protocolError('folded header line.');
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw protocolError(`bad header line '${line.slice(0, 80)}'.`);
    try {
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    } catch {
      throw protocolError(`bad header line '${line.slice(0, 80)}'.`);
    }
  }
  const connection = (headers.get('connection') ?? '').toLowerCase();
  const keepAlive =
    minorVersion === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
  const timeout = /\btimeout=([0-9]+)/i.exec(headers.get('keep-alive') ?? '');
  const keepAliveTimeoutMs = timeout === null ? undefined : Number(timeout[1]) * 1000;
  let framing: BodyFraming;
  const transferEncoding = headers.get('transfer-encoding');
  const contentLength = headers.get('content-length');
  if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    framing = { kind: 'none' };
  } else if (transferEncoding !== null) {
    const codings = transferEncoding.toLowerCase().split(',');
    if (codings.at(-1)?.trim() !== 'chunked') {
      framing = { kind: 'close' };
    } else if (codings.length > 1) {
      throw protocolError(`unsupported transfer coding '${transferEncoding}'.`);
    } else {
      framing = { kind: 'chunked' };
    }
  } else if (contentLength !== null) {
    const values = new Set(contentLength.split(',').map((value) => value.trim()));
    const [only] = values;
    if (values.size !== 1 || only === undefined || !/^[0-9]{1,15}$/.test(only)) {
      throw protocolError(`bad Content-Length '${contentLength}'.`);
    }
    const length = Number(only);
    framing = length === 0 ? { kind: 'none' } : { kind: 'length', remaining: length };
  } else {
    framing = { kind: 'close' };
  }
  return {
    status,
    statusText: match[3] ?? '',
    headers,
    keepAlive: keepAlive && framing.kind !== 'close',
    framing,
    keepAliveTimeoutMs,
  };
}

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * One request/response exchange on one connection. The connection hands it bytes; it
 * parses the head, then the body, and answers read() from a queue.
 */
class Exchange implements HttpResponse {
  status = 0;
  statusText = '';
  headers = new Headers();
  #head: ParsedHead | undefined;
  #headBytes: Buffer[] = [];
  #headLength = 0;
  #chunkedState: ChunkedState = 'size';
  #chunkRemaining = 0;
  /** The chunk-size line being read (it may be split across reads). */
  #sizeValue = 0;
  #sizeDigits = 0;
  #sizeEnded = false;
  #inChunkExtension = false;
  #trailerLineHasText = false;
  /** Bytes of framing since the last chunk's data (size line, CRLF, trailers). */
  #framingLineBytes = 0;
  readonly #queue: HttpBodyChunk[] = [];
  #waiting: Pending<HttpBodyChunk | undefined> | undefined;
  #ended = false;
  #failure: unknown;
  #cancelled = false;
  #settled = false;
  readonly #onResponse: Pending<HttpResponse>;
  /** Called once, when the exchange has ended or failed. */
  onSettled: (() => void) | undefined;

  constructor(
    readonly method: string,
    onResponse: Pending<HttpResponse>,
    readonly connection: Connection,
  ) {
    this.#onResponse = onResponse;
  }

  get finished(): boolean {
    return this.#ended || this.#failure !== undefined;
  }

  get reusable(): boolean {
    return this.#ended && this.#head?.keepAlive === true;
  }

  get keepAliveTimeoutMs(): number | undefined {
    return this.#head?.keepAliveTimeoutMs;
  }

  get queuedPieces(): number {
    return this.#queue.length;
  }

  /** Consumes bytes [start, end) of `buffer` (which is reused after this returns). */
  receive(buffer: Buffer, start: number, end: number, arrivedAtMs: number): void {
    let offset = start;
    while (offset < end && !this.finished) {
      if (this.#head === undefined) {
        offset = this.#receiveHead(buffer, offset, end);
        continue;
      }
      offset = this.#receiveBody(buffer, offset, end, arrivedAtMs);
    }
    if (offset < end && this.#ended) {
      // Bytes after the end of the response: a broken server; the connection is not reused.
      this.connection.poisoned = true;
    }
    this.#flushPieces(arrivedAtMs);
  }

  /** The connection ended (FIN) or failed. */
  closed(error: unknown | undefined, arrivedAtMs: number): void {
    if (this.finished) return;
    if (error === undefined && this.#head?.framing.kind === 'close') {
      this.#flushPieces(arrivedAtMs);
      this.#end();
      return;
    }
    this.fail(error ?? (this.#head === undefined ? hangUp() : prematureClose()));
  }

  fail(error: unknown): void {
    if (this.finished) return;
    this.#failure = error;
    this.#settle();
    if (this.#head === undefined) {
      this.#onResponse.reject(error);
      return;
    }
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
  }

  read(): Promise<HttpBodyChunk | undefined> {
    const next = this.#queue.shift();
    if (next !== undefined) {
      if (this.#queue.length === 0) this.connection.resumeReading();
      return Promise.resolve(next);
    }
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#ended || this.#cancelled) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  cancel(): void {
    if (!this.#stopReading()) return;
    this.connection.destroy();
  }

  release(): void {
    if (!this.#stopReading()) return;
    // Its abort signal no longer concerns this exchange (an engine ends its attempt right
    // after releasing); the drain decides whether the connection can be reused.
    this.onSettled?.();
    this.onSettled = undefined;
    this.connection.drain(this);
  }

  /** Drops what is queued and answers a waiting read; false when nothing is left to stop. */
  #stopReading(): boolean {
    if (this.#cancelled) return false;
    this.#cancelled = true;
    this.#queue.length = 0;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(undefined);
    return !this.finished;
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.onSettled?.();
  }

  /** Text decoded from this read's body bytes so far. */
  #text = '';
  readonly #decoder = new StringDecoder('utf8');
  /** The decoder may hold the first bytes of a code point split across reads. */
  #decoderMayHold = false;

  /**
   * Decodes body bytes [start, end) straight from the read buffer. Without a split code
   * point in play, one native slice; otherwise the streaming decoder.
   */
  #decode(buffer: Buffer, start: number, end: number): void {
    if (start === end) return;
    if (!this.#decoderMayHold && (buffer[end - 1] as number) < 0x80) {
      this.#text += buffer.toString('utf8', start, end);
      return;
    }
    this.#text += this.#decoder.write(buffer.subarray(start, end));
    // An ASCII last byte completes (or invalidates) whatever came before it.
    this.#decoderMayHold = (buffer[end - 1] as number) >= 0x80;
  }

  #receiveHead(buffer: Buffer, start: number, end: number): number {
    const previous = this.#headLength;
    this.#headBytes.push(copyOf(buffer, start, end));
    this.#headLength += end - start;
    const joined =
      this.#headBytes.length === 1
        ? (this.#headBytes[0] as Buffer)
        : Buffer.concat(this.#headBytes, this.#headLength);
    // Search from a little before the new bytes: the blank line may straddle two reads.
    const searchFrom = Math.max(0, previous - 3);
    let headEnd = -1;
    let bodyStart = -1;
    for (let index = searchFrom; index < joined.length; index++) {
      if (joined[index] !== 0x0a) continue;
      if (joined[index + 1] === 0x0a) {
        headEnd = index;
        bodyStart = index + 2;
        break;
      }
      if (joined[index + 1] === 0x0d && joined[index + 2] === 0x0a) {
        headEnd = index;
        bodyStart = index + 3;
        break;
      }
    }
    if (headEnd === -1) {
      if (this.#headLength > maxHeadBytes) {
        throw protocolError(`the head is longer than ${maxHeadBytes} bytes.`);
      }
      this.#headBytes = [joined];
      return end;
    }
    // The head's last line ends at headEnd; a CR before its LF is not part of it.
    if (headEnd > maxHeadBytes) {
      throw protocolError(`the head is longer than ${maxHeadBytes} bytes.`);
    }
    const headTextEnd = joined[headEnd - 1] === 0x0d ? headEnd - 1 : headEnd;
    const head = parseHead(joined.toString('latin1', 0, headTextEnd), this.method);
    const consumedHere = bodyStart - previous;
    this.#headBytes = [];
    this.#headLength = 0;
    if (head.status >= 100 && head.status < 200) {
      // 100 Continue, 103 Early Hints: the real answer follows.
      if (head.status === 101) throw protocolError('unexpected protocol switch (101).');
      return start + consumedHere;
    }
    this.#head = head;
    this.status = head.status;
    this.statusText = head.statusText;
    this.headers = head.headers;
    if (head.framing.kind === 'none') this.#end();
    this.#onResponse.resolve(this);
    return start + consumedHere;
  }

  #receiveBody(buffer: Buffer, start: number, end: number, arrivedAtMs: number): number {
    const framing = (this.#head as ParsedHead).framing;
    switch (framing.kind) {
      case 'none':
        return start;
      case 'close':
        this.#decode(buffer, start, end);
        return end;
      case 'length': {
        const take = Math.min(framing.remaining, end - start);
        this.#decode(buffer, start, start + take);
        framing.remaining -= take;
        if (framing.remaining === 0) {
          this.#flushPieces(arrivedAtMs);
          this.#end();
        }
        return start + take;
      }
      case 'chunked':
        return this.#receiveChunked(buffer, start, end, arrivedAtMs);
    }
  }

  /** Chunked transfer coding, decoded byte by byte outside the data (no strings, no regex). */
  #receiveChunked(buffer: Buffer, start: number, end: number, arrivedAtMs: number): number {
    let offset = start;
    while (offset < end) {
      if (this.#chunkedState === 'data') {
        const take = Math.min(this.#chunkRemaining, end - offset);
        this.#decode(buffer, offset, offset + take);
        this.#chunkRemaining -= take;
        offset += take;
        if (this.#chunkRemaining === 0) this.#chunkedState = 'data-end';
        continue;
      }
      const byte = buffer[offset++] as number;
      if (++this.#framingLineBytes > maxFramingLineBytes) {
        throw protocolError('chunk framing line too long.');
      }
      switch (this.#chunkedState) {
        case 'size':
          this.#chunkSizeByte(byte);
          break;
        case 'data-end':
          if (byte === 0x0a) {
            this.#chunkedState = 'size';
            this.#resetFramingLine();
          } else if (byte !== 0x0d) {
            throw protocolError('chunk data longer than its size.');
          }
          break;
        case 'trailers':
          if (byte === 0x0a) {
            if (this.#trailerLineHasText) {
              this.#trailerLineHasText = false;
            } else {
              this.#flushPieces(arrivedAtMs);
              this.#end();
              return offset;
            }
          } else if (byte !== 0x0d) {
            this.#trailerLineHasText = true;
          }
          break;
      }
    }
    return offset;
  }

  #chunkSizeByte(byte: number): void {
    if (byte === 0x0a) {
      if (this.#sizeDigits === 0) throw protocolError('chunk size missing.');
      const size = this.#sizeValue;
      this.#resetFramingLine();
      if (size === 0) {
        this.#chunkedState = 'trailers';
        this.#trailerLineHasText = false;
      } else {
        this.#chunkRemaining = size;
        this.#chunkedState = 'data';
      }
      return;
    }
    if (this.#inChunkExtension || byte === 0x0d) return;
    if (byte === 0x3b /* ; */) {
      this.#inChunkExtension = true;
      return;
    }
    if (byte === 0x20 || byte === 0x09) {
      this.#sizeEnded = this.#sizeDigits > 0;
      return;
    }
    const digit = hexDigit(byte);
    if (digit === -1 || this.#sizeEnded || this.#sizeDigits >= 12) {
      throw protocolError(`bad chunk size (byte 0x${byte.toString(16).padStart(2, '0')}).`);
    }
    this.#sizeValue = this.#sizeValue * 16 + digit;
    this.#sizeDigits++;
  }

  #resetFramingLine(): void {
    this.#framingLineBytes = 0;
    this.#sizeValue = 0;
    this.#sizeDigits = 0;
    this.#sizeEnded = false;
    this.#inChunkExtension = false;
  }

  #flushPieces(arrivedAtMs: number): void {
    const text = this.#text;
    if (text === '') return;
    this.#text = '';
    if (this.#cancelled) return;
    const chunk = { text, arrivedAtMs };
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting.resolve(chunk);
      return;
    }
    this.#queue.push(chunk);
    if (this.#queue.length >= pauseAtQueuedPieces) this.connection.pauseReading();
  }

  #end(): void {
    if (this.#ended) return;
    if (this.#decoderMayHold) {
      // A code point cut off by the end of the body: U+FFFD, as TextDecoder would give.
      // Through #flushPieces, so that a read already waiting gets it.
      this.#text += this.#decoder.end();
      this.#flushPieces(this.connection.pool.clock());
    }
    this.#ended = true;
    this.#settle();
    const waiting = this.#waiting;
    if (waiting !== undefined && this.#queue.length === 0) {
      this.#waiting = undefined;
      waiting.resolve(undefined);
    }
    this.connection.exchangeEnded(this);
  }
}

/** One keep-alive connection; at most one exchange at a time (no pipelining). */
class Connection {
  readonly socket: Socket;
  exchange: Exchange | undefined;
  connected = false;
  /** Not to be reused (stray bytes, a cancelled body, an error). */
  poisoned = false;
  /** The idle timer while pooled, the drain timer while a cancelled body drains. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #paused = false;

  constructor(
    readonly pool: HttpClientPool,
    readonly key: string,
    url: URL,
    readBuffer: Buffer,
  ) {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const secure = url.protocol === 'https:';
    const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
    if (secure) {
      this.socket = connectTls({
        host,
        port,
        // SNI carries host names only, never IP addresses.
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ALPNProtocols: ['http/1.1'],
      });
      this.socket.on('data', (bytes: Buffer) => this.#onBytes(bytes, 0, bytes.length));
    } else {
      this.socket = connectTcp({
        host,
        port,
        noDelay: true,
        onread: {
          buffer: readBuffer,
          callback: (count: number, buffer: Uint8Array) => {
            this.#onBytes(buffer as Buffer, 0, count);
            return !this.#paused;
          },
        },
      });
    }
    this.socket.setNoDelay(true);
    this.socket.on('error', (error) => this.#onClose(error));
    this.socket.on('end', () => this.#onClose(undefined));
    this.socket.on('close', () => this.#onClose(undefined));
  }

  #onBytes(buffer: Buffer, start: number, end: number): void {
    const arrivedAtMs = this.pool.clock();
    const exchange = this.exchange;
    if (exchange === undefined) {
      // Bytes on an idle connection: nothing may be trusted on it any more.
      this.poisoned = true;
      this.destroy();
      return;
    }
    try {
      exchange.receive(buffer, start, end, arrivedAtMs);
    } catch (error) {
      this.poisoned = true;
      exchange.fail(error);
      this.destroy();
    }
  }

  #onClose(error: Error | undefined): void {
    this.poisoned = true;
    this.#clearTimer();
    this.pool.forget(this);
    this.exchange?.closed(error, this.pool.clock());
    if (!this.socket.destroyed) this.socket.destroy();
  }

  pauseReading(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume();
  }

  exchangeEnded(exchange: Exchange): void {
    if (this.exchange !== exchange) return;
    // Settle after the current read callback, which may still be delivering bytes.
    queueMicrotask(() => {
      if (this.exchange !== exchange) return;
      this.exchange = undefined;
      this.#clearTimer();
      if (exchange.reusable && !this.poisoned) {
        this.pool.release(this, exchange.keepAliveTimeoutMs);
      } else {
        this.destroy();
      }
    });
  }

  /**
   * The reader gave up before the body ended (an engine stops at `data: [DONE]`, before the
   * final chunk of a chunked body). The rest is read and dropped for a moment, so that the
   * connection can be reused; a body that goes on is cut off.
   */
  drain(exchange: Exchange): void {
    if (this.exchange !== exchange) return;
    this.resumeReading();
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      if (this.exchange === exchange) this.destroy();
    }, drainTimeoutMs);
  }

  idle(timeoutMs: number): void {
    this.resumeReading();
    this.socket.unref();
    this.#clearTimer();
    this.#timer = setTimeout(() => this.destroy(), timeoutMs);
    this.#timer.unref();
  }

  activate(exchange: Exchange): void {
    this.#clearTimer();
    this.socket.ref();
    this.exchange = exchange;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  destroy(): void {
    this.poisoned = true;
    this.#clearTimer();
    this.pool.forget(this);
    this.exchange?.fail(prematureClose());
    this.socket.destroy();
  }
}

class HttpClientPool implements HttpClient {
  readonly clock: Clock;
  readonly #connectTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #idle = new Map<string, Connection[]>();
  /** One read buffer for every plain-http socket: reads are synchronous, one at a time. */
  readonly #readBuffer = Buffer.allocUnsafe(sharedReadBufferBytes);

  constructor(options: HttpClientOptions) {
    this.clock = options.clock ?? (() => performance.now());
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 4_000;
  }

  request(request: HttpRequest): HttpExchange {
    let resolveWritten!: (at: number) => void;
    let rejectWritten!: (error: unknown) => void;
    const written = new Promise<number>((resolve, reject) => {
      resolveWritten = resolve;
      rejectWritten = reject;
    });
    let onResponse!: Pending<HttpResponse>;
    const response = new Promise<HttpResponse>((resolve, reject) => {
      onResponse = { resolve, reject };
    });
    // Whoever awaits only one of the two must not see an unhandled rejection from the other.
    written.catch(() => {});
    response.catch(() => {});
    const fail = (error: unknown): void => {
      rejectWritten(error);
      onResponse.reject(error);
    };
    let head: string;
    try {
      head = this.#serializeHead(request);
    } catch (error) {
      fail(error);
      return { written, response };
    }
    const signal = request.signal;
    if (signal?.aborted) {
      fail(signal.reason);
      return { written, response };
    }
    const key = `${request.url.protocol}//${request.url.host}`;
    const reused = this.#takeIdle(key);
    const connection = reused ?? new Connection(this, key, request.url, this.#readBuffer);
    const exchange = new Exchange(request.method, onResponse, connection);
    connection.activate(exchange);
    const onAbort = (): void => {
      exchange.fail(signal?.reason);
      rejectWritten(signal?.reason);
      connection.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // The abort listener stays until the body has been read, failed or given up.
    exchange.onSettled = (): void => signal?.removeEventListener('abort', onAbort);
    const write = (): void => {
      const at = this.clock();
      connection.socket.write(request.body === undefined ? head : head + request.body);
      resolveWritten(at);
    };
    if (reused !== undefined) {
      write();
    } else {
      const socket = connection.socket;
      const timer = setTimeout(() => {
        const error = new HttpClientError(
          `No TCP connection to ${request.url.host} within ${this.#connectTimeoutMs} ms.`,
          'ETIMEDOUT',
        );
        exchange.fail(error);
        rejectWritten(error);
        connection.destroy();
      }, this.#connectTimeoutMs);
      const ready = request.url.protocol === 'https:' ? 'secureConnect' : 'connect';
      socket.once(ready, () => {
        clearTimeout(timer);
        connection.connected = true;
        write();
      });
      socket.once('close', () => {
        clearTimeout(timer);
        rejectWritten(hangUp());
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        rejectWritten(error);
      });
    }
    return { written, response };
  }

  #serializeHead(request: HttpRequest): string {
    const url = request.url;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new HttpClientError(`Unsupported protocol '${url.protocol}'.`, 'ERR_INVALID_URL');
    }
    let head = `${request.method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
    let hasLength = false;
    for (const [name, value] of Object.entries(request.headers)) {
      validateHeaderName(name);
      validateHeaderValue(name, value);
      const lower = name.toLowerCase();
      if (lower === 'host' || lower === 'connection' || lower === 'transfer-encoding') continue;
      if (lower === 'content-length') hasLength = true;
      head += `${name}: ${value}\r\n`;
    }
    if (request.body !== undefined && !hasLength) {
      head += `content-length: ${Buffer.byteLength(request.body)}\r\n`;
    }
    return `${head}\r\n`;
  }

  #takeIdle(key: string): Connection | undefined {
    const idle = this.#idle.get(key);
    while (idle !== undefined && idle.length > 0) {
      const connection = idle.pop() as Connection;
      if (!connection.poisoned && !connection.socket.destroyed) return connection;
    }
    return undefined;
  }

  release(connection: Connection, serverTimeoutMs: number | undefined): void {
    const timeoutMs =
      serverTimeoutMs === undefined
        ? this.#idleTimeoutMs
        : Math.min(this.#idleTimeoutMs, Math.max(0, serverTimeoutMs - 1000));
    if (timeoutMs <= 0) {
      connection.destroy();
      return;
    }
    let idle = this.#idle.get(connection.key);
    if (idle === undefined) {
      idle = [];
      this.#idle.set(connection.key, idle);
    }
    idle.push(connection);
    connection.idle(timeoutMs);
  }

  forget(connection: Connection): void {
    const idle = this.#idle.get(connection.key);
    if (idle === undefined) return;
    const index = idle.indexOf(connection);
    if (index !== -1) idle.splice(index, 1);
  }

  close(): void {
    for (const idle of [...this.#idle.values()]) {
      for (const connection of [...idle]) connection.destroy();
    }
    this.#idle.clear();
  }
}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  return new HttpClientPool(options);
}

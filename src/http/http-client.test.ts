import { once } from 'node:events';
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createFetchHttpClient } from './fetch-http-client.js';
import {
  createHttpClient,
  type HttpBodyChunk,
  type HttpClient,
  type HttpClientOptions,
  type HttpResponse,
} from './http-client.js';

// ---------------------------------------------------------------------------------------------
// Test support: cleanup, deferreds, clocks, raw and node:http servers.
// ---------------------------------------------------------------------------------------------

const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** A counter clock that also tells who waits for its next call (each socket read calls it). */
interface SteppingClock {
  clock: () => number;
  readonly calls: number;
  /** Resolves at the clock's next call. */
  nextCall(): Promise<void>;
}

function steppingClock(): SteppingClock {
  let now = 0;
  let waiters: (() => void)[] = [];
  return {
    clock: () => {
      now += 1;
      const ready = waiters;
      waiters = [];
      for (const waiter of ready) waiter();
      return now;
    },
    get calls() {
      return now;
    },
    nextCall: () => new Promise<void>((resolve) => waiters.push(resolve)),
  };
}

function client(options: HttpClientOptions = {}): HttpClient {
  const created = createHttpClient(options);
  cleanups.push(() => created.close());
  return created;
}

interface RawRequest {
  requestLine: string;
  /** Header lines as received, names as sent. */
  headers: [string, string][];
  body: Buffer;
  socket: Socket;
  /** Which request this is, over the server's life (0 for the first). */
  index: number;
}

interface RawServer {
  url: URL;
  readonly connectionCount: number;
  readonly requests: RawRequest[];
  readonly sockets: Socket[];
  /** Resolves when the server's side of the socket has closed. */
  closed(socket: Socket | undefined): Promise<void>;
}

/**
 * A node:net server that parses requests (head plus Content-Length body, several per
 * connection) and leaves the answer, byte for byte, to `onRequest`.
 */
async function startRawServer(
  onRequest: (request: RawRequest) => void | Promise<void>,
): Promise<RawServer> {
  const requests: RawRequest[] = [];
  const sockets: Socket[] = [];
  const closedBySocket = new Map<Socket, Promise<void>>();
  const server = createNetServer((socket) => {
    sockets.push(socket);
    closedBySocket.set(
      socket,
      once(socket, 'close').then(() => undefined),
    );
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (bytes: Buffer) => {
      buffered = Buffer.concat([buffered, bytes]);
      for (;;) {
        const headEnd = buffered.indexOf('\r\n\r\n');
        if (headEnd === -1) return;
        const lines = buffered.toString('latin1', 0, headEnd).split('\r\n');
        const headers = lines.slice(1).map((line): [string, string] => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon), line.slice(colon + 1).trim()];
        });
        const length = Number(
          headers.find(([name]) => name.toLowerCase() === 'content-length')?.[1] ?? '0',
        );
        if (buffered.length < headEnd + 4 + length) return;
        const body = buffered.subarray(headEnd + 4, headEnd + 4 + length);
        buffered = buffered.subarray(headEnd + 4 + length);
        const request: RawRequest = {
          requestLine: lines[0] ?? '',
          headers,
          body,
          socket,
          index: requests.length,
        };
        requests.push(request);
        Promise.resolve()
          .then(() => onRequest(request))
          .catch(() => socket.destroy());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: new URL(`http://127.0.0.1:${port}/`),
    get connectionCount() {
      return sockets.length;
    },
    requests,
    sockets,
    closed: (socket) => {
      const closed = socket === undefined ? undefined : closedBySocket.get(socket);
      if (closed === undefined) throw new Error('No such server socket.');
      return closed;
    },
  };
}

/** A raw server that answers every request with the same bytes. */
function answerWith(response: string | Buffer): (request: RawRequest) => void {
  return ({ socket }) => {
    socket.write(typeof response === 'string' ? Buffer.from(response, 'latin1') : response);
  };
}

/** Writes one byte at a time, each after the client's previous read (its clock call). */
async function writeBytewise(
  socket: Socket,
  bytes: Buffer,
  nextRead: () => Promise<void>,
): Promise<void> {
  for (let index = 0; index < bytes.length; index++) {
    if (socket.destroyed) return;
    const read = nextRead();
    socket.write(bytes.subarray(index, index + 1));
    await Promise.race([read, sleep(100)]);
  }
}

/** The chunked transfer coding of `pieces`, with an extension on every size line. */
function chunked(pieces: readonly Buffer[], trailers = ''): Buffer {
  const parts: Buffer[] = [];
  pieces.forEach((piece, index) => {
    parts.push(Buffer.from(`${piece.length.toString(16)};n=${index}\r\n`, 'latin1'));
    parts.push(piece, Buffer.from('\r\n', 'latin1'));
  });
  parts.push(Buffer.from(`0\r\n${trailers}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

async function readAll(response: HttpResponse): Promise<HttpBodyChunk[]> {
  const chunks: HttpBodyChunk[] = [];
  for (;;) {
    const chunk = await response.read();
    if (chunk === undefined) return chunks;
    chunks.push(chunk);
  }
}

async function readText(response: HttpResponse): Promise<string> {
  return (await readAll(response)).map((chunk) => chunk.text).join('');
}

async function startHttpServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ server: HttpServer; url: URL; connections: () => number }> {
  const server = createHttpServer(handler);
  let connections = 0;
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, url: new URL(`http://127.0.0.1:${port}/`), connections: () => connections };
}

async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const okResponse = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
const chunkedHead = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';

/** A body with multi-byte characters, split into chunks inside '€' and inside '😀'. */
const utf8Text = 'price: 5€, mood: 😀! ü';
const utf8Bytes = Buffer.from(utf8Text, 'utf8');
const utf8Pieces = (() => {
  const euro = utf8Bytes.indexOf(Buffer.from('€', 'utf8'));
  const emoji = utf8Bytes.indexOf(Buffer.from('😀', 'utf8'));
  const cuts = [0, euro + 1, euro + 2, emoji + 2, emoji + 3, utf8Bytes.length];
  return cuts.slice(1).map((cut, index) => utf8Bytes.subarray(cuts[index], cut));
})();

// ---------------------------------------------------------------------------------------------
// createHttpClient
// ---------------------------------------------------------------------------------------------

describe('createHttpClient: request serialization', () => {
  it('writes a GET request line, the host header and the given headers', async () => {
    const server = await startRawServer(answerWith(okResponse));
    const http = client();
    const url = new URL('/v1/models?limit=2&q=a%20b', server.url);
    const exchange = http.request({
      method: 'GET',
      url,
      headers: { authorization: 'Bearer secret', 'X-Custom': 'value' },
    });
    await expect(exchange.written).resolves.toEqual(expect.any(Number));
    const response = await exchange.response;
    expect(await readText(response)).toBe('ok');
    const [request] = server.requests;
    expect(request?.requestLine).toBe('GET /v1/models?limit=2&q=a%20b HTTP/1.1');
    expect(request?.headers).toEqual([
      ['host', url.host],
      ['authorization', 'Bearer secret'],
      ['X-Custom', 'value'],
    ]);
    expect(request?.body.length).toBe(0);
  });

  it('writes a POST body with its UTF-8 byte length', async () => {
    const server = await startRawServer(answerWith(okResponse));
    const http = client();
    const body = '{"text":"é"}';
    const response = await http.request({
      method: 'POST',
      url: new URL('/v1/chat/completions', server.url),
      headers: { 'content-type': 'application/json' },
      body,
    }).response;
    expect(await readText(response)).toBe('ok');
    const [request] = server.requests;
    expect(request?.requestLine).toBe('POST /v1/chat/completions HTTP/1.1');
    expect(request?.headers).toEqual([
      ['host', server.url.host],
      ['content-type', 'application/json'],
      ['content-length', String(body.length + 1)],
    ]);
    expect(request?.body.equals(Buffer.from(body, 'utf8'))).toBe(true);
  });

  it('counts a lone é as two bytes', async () => {
    const server = await startRawServer(answerWith(okResponse));
    const http = client();
    await readText(
      await http.request({ method: 'POST', url: server.url, headers: {}, body: 'é' }).response,
    );
    const [request] = server.requests;
    expect(request?.headers).toContainEqual(['content-length', '2']);
    expect(request?.body.equals(Buffer.from([0xc3, 0xa9]))).toBe(true);
  });

  it('drops host, connection and transfer-encoding headers and keeps a given content-length', async () => {
    const server = await startRawServer(answerWith(okResponse));
    const http = client();
    await readText(
      await http.request({
        method: 'POST',
        url: server.url,
        headers: {
          Host: 'elsewhere.example',
          Connection: 'close',
          'Transfer-Encoding': 'chunked',
          'Content-Length': '3',
        },
        body: 'abc',
      }).response,
    );
    const [request] = server.requests;
    expect(request?.headers).toEqual([
      ['host', server.url.host],
      ['Content-Length', '3'],
    ]);
    expect(request?.body.toString()).toBe('abc');
  });

  it('rejects a header value with CR/LF without connecting or writing anything', async () => {
    const server = await startRawServer(answerWith(okResponse));
    const http = client();
    const exchange = http.request({
      method: 'GET',
      url: server.url,
      headers: { 'x-bad': 'a\r\nx-injected: 1' },
    });
    await expect(exchange.written).rejects.toMatchObject({ code: 'ERR_INVALID_CHAR' });
    await expect(exchange.response).rejects.toMatchObject({ code: 'ERR_INVALID_CHAR' });
    await sleep(50);
    expect(server.connectionCount).toBe(0);
  });

  it('rejects an invalid header name and an unsupported protocol', async () => {
    const http = client();
    const badName = http.request({
      method: 'GET',
      url: new URL('http://127.0.0.1:9/'),
      headers: { 'bad name': 'x' },
    });
    await expect(badName.written).rejects.toMatchObject({ code: 'ERR_INVALID_HTTP_TOKEN' });
    await expect(badName.response).rejects.toMatchObject({ code: 'ERR_INVALID_HTTP_TOKEN' });
    const ftp = http.request({ method: 'GET', url: new URL('ftp://127.0.0.1/'), headers: {} });
    await expect(ftp.response).rejects.toMatchObject({ code: 'ERR_INVALID_URL' });
  });
});

describe('createHttpClient: response framing', () => {
  it('reads a Content-Length body, with status and headers', async () => {
    const server = await startRawServer(
      answerWith(
        'HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nX-Twice: a\r\nX-Twice: b\r\n' +
          'Content-Length: 11\r\n\r\nhello world',
      ),
    );
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    expect(response.status).toBe(201);
    expect(response.statusText).toBe('Created');
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(response.headers.get('x-twice')).toBe('a, b');
    expect(await readText(response)).toBe('hello world');
    await expect(response.read()).resolves.toBeUndefined();
  });

  it('reads a status line without a reason phrase and LF-only line ends', async () => {
    const server = await startRawServer(answerWith('HTTP/1.1 200\nContent-Length: 3\n\nabc'));
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    expect(response.status).toBe(200);
    expect(response.statusText).toBe('');
    expect(await readText(response)).toBe('abc');
  });

  it('reads a chunked body with chunk extensions and trailers', async () => {
    const server = await startRawServer(
      answerWith(
        `${chunkedHead}5;a=b\r\nhello\r\n6;name="quoted;value"\r\n world\r\n` +
          'A \r\n0123456789\r\n0;last\r\nX-Trailer: 1\r\nOther: 2\r\n\r\n',
      ),
    );
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(await readText(response)).toBe('hello world0123456789');
  });

  it('reads a body until the server closes when there is neither length nor chunking', async () => {
    const server = await startRawServer(async ({ socket }) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ');
      await sleep(20);
      socket.write('part two');
      await sleep(20);
      socket.end();
    });
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    expect(await readText(response)).toBe('part one, part two');
  });

  it('treats a transfer coding other than chunked as read-until-close', async () => {
    const server = await startRawServer(({ socket }) => {
      socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nraw bytes');
    });
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    expect(await readText(response)).toBe('raw bytes');
  });

  it('ends a 204 response with no body, and keeps its connection', async () => {
    const server = await startRawServer((request) => {
      request.socket.write(request.index === 0 ? 'HTTP/1.1 204 No Content\r\n\r\n' : okResponse);
    });
    const http = client();
    const response = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    expect(response.status).toBe(204);
    await expect(response.read()).resolves.toBeUndefined();
    await sleep(0);
    const second = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    expect(await readText(second)).toBe('ok');
    expect(server.connectionCount).toBe(1);
  });

  it('ends a Content-Length: 0 response at once', async () => {
    const server = await startRawServer(answerWith('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    await expect(response.read()).resolves.toBeUndefined();
  });

  it('skips 100 Continue and 103 Early Hints before the real response', async () => {
    const server = await startRawServer(async ({ socket }) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      await sleep(20);
      socket.write(
        'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 20',
      );
      await sleep(20);
      socket.write('0 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    expect(response.status).toBe(200);
    expect(response.headers.get('link')).toBeNull();
    expect(await readText(response)).toBe('ok');
  });

  it('skips a 100 Continue that arrives in the same read as the response', async () => {
    const server = await startRawServer(answerWith(`HTTP/1.1 100 Continue\r\n\r\n${okResponse}`));
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    expect(response.status).toBe(200);
    expect(await readText(response)).toBe('ok');
  });
});

describe('createHttpClient: reads split anywhere', () => {
  const framings: { name: string; response: Buffer; close: boolean }[] = [
    {
      name: 'chunked',
      response: Buffer.concat([
        Buffer.from(chunkedHead, 'latin1'),
        chunked(utf8Pieces, 'X-Trailer: yes\r\n'),
      ]),
      close: false,
    },
    {
      name: 'Content-Length',
      response: Buffer.concat([
        Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${utf8Bytes.length}\r\n\r\n`, 'latin1'),
        utf8Bytes,
      ]),
      close: false,
    },
    {
      name: 'read-until-close',
      response: Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n\r\n', 'latin1'), utf8Bytes]),
      close: true,
    },
  ];

  for (const { name, response: bytes, close } of framings) {
    it(`decodes a ${name} body sent all at once`, async () => {
      const server = await startRawServer(({ socket }) => {
        if (close) socket.end(bytes);
        else socket.write(bytes);
      });
      const response = await client().request({ method: 'GET', url: server.url, headers: {} })
        .response;
      expect(await readText(response)).toBe(utf8Text);
    });

    it(`decodes a ${name} response sent one byte per read`, async () => {
      const clock = steppingClock();
      const server = await startRawServer(async ({ socket }) => {
        await writeBytewise(socket, bytes, clock.nextCall);
        if (close) socket.end();
      });
      const response = await client({ clock: clock.clock }).request({
        method: 'GET',
        url: server.url,
        headers: {},
      }).response;
      expect(response.status).toBe(200);
      const chunks = await readAll(response);
      expect(chunks.map((chunk) => chunk.text).join('')).toBe(utf8Text);
      // Many reads, each its own piece; a piece never holds half a character.
      expect(chunks.length).toBeGreaterThan(10);
      for (const chunk of chunks) expect(chunk.text).not.toContain('\uFFFD');
    });
  }

  it('turns an incomplete UTF-8 sequence at the end of a body into U+FFFD', async () => {
    const server = await startRawServer(({ socket }) => {
      socket.write(
        Buffer.concat([
          Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab', 'latin1'),
          Buffer.from([0xe2, 0x82]),
        ]),
      );
    });
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    expect(await readText(response)).toBe('ab\uFFFD');
  });

  const cutOffEndings: { name: string; head: string; ending: Buffer; close: boolean }[] = [
    {
      name: 'Content-Length',
      head: 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab',
      ending: Buffer.from([0xe2, 0x82]),
      close: false,
    },
    {
      name: 'chunked',
      head: `${chunkedHead}2\r\nab\r\n`,
      ending: Buffer.from([0x32, 0x0d, 0x0a, 0xe2, 0x82, 0x0d, 0x0a, 0x30, 0x0d, 0x0a, 0x0d, 0x0a]),
      close: false,
    },
    {
      name: 'read-until-close',
      head: 'HTTP/1.1 200 OK\r\n\r\nab',
      ending: Buffer.from([0xe2, 0x82]),
      close: true,
    },
  ];

  for (const { name, head, ending, close } of cutOffEndings) {
    it(`answers a waiting read with U+FFFD when a ${name} body ends mid-character`, async () => {
      const readWaiting = deferred();
      const server = await startRawServer(async ({ socket }) => {
        socket.write(head);
        await readWaiting.promise;
        if (close) socket.end(ending);
        else socket.write(ending);
      });
      const response = await client().request({ method: 'GET', url: server.url, headers: {} })
        .response;
      await expect(response.read()).resolves.toMatchObject({ text: 'ab' });
      const pending = response.read();
      readWaiting.resolve();
      await expect(pending).resolves.toMatchObject({ text: '\uFFFD' });
      await expect(response.read()).resolves.toBeUndefined();
    }, 3000);
  }

  it('pauses the socket while many pieces wait unread, and resumes when they are read', async () => {
    const clock = steppingClock();
    const pieces = Array.from({ length: 100 }, (_, index) => `<${index}>`);
    const sent = deferred();
    const server = await startRawServer(async ({ socket }) => {
      const body = pieces.join('');
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      let index = 0;
      for (; index < pieces.length; index++) {
        const read = clock.nextCall();
        socket.write(pieces[index] ?? '');
        const answer = await Promise.race([read.then(() => 'read'), sleep(50).then(() => 'none')]);
        if (answer === 'none') break;
      }
      socket.write(pieces.slice(index + 1).join(''));
      sent.resolve();
    });
    const response = await client({ clock: clock.clock }).request({
      method: 'GET',
      url: server.url,
      headers: {},
    }).response;
    await sent.promise;
    await sleep(50);
    // Reading stopped with about 64 pieces queued, long before the 100th.
    expect(clock.calls).toBeLessThan(80);
    expect(await readText(response)).toBe(pieces.join(''));
  });
});

describe('createHttpClient: keep-alive', () => {
  it('reuses one connection for sequential requests to the same origin', async () => {
    const server = await startRawServer(
      answerWith('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'),
    );
    const http = client();
    for (let round = 0; round < 3; round++) {
      const response = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
      expect(await readText(response)).toBe('hello');
    }
    expect(server.requests).toHaveLength(3);
    expect(server.connectionCount).toBe(1);
  });

  it('reuses a connection after a chunked body and after a POST', async () => {
    const server = await startRawServer((request) => {
      request.socket.write(
        request.index === 0 ? `${chunkedHead}3\r\nabc\r\n0\r\n\r\n` : `${okResponse}`,
      );
    });
    const http = client();
    expect(
      await readText(
        await http.request({ method: 'POST', url: server.url, headers: {}, body: 'x' }).response,
      ),
    ).toBe('abc');
    expect(
      await readText(await http.request({ method: 'GET', url: server.url, headers: {} }).response),
    ).toBe('ok');
    expect(server.connectionCount).toBe(1);
    expect(server.requests.map((request) => request.socket)).toEqual([
      server.sockets[0],
      server.sockets[0],
    ]);
  });

  it('reuses a connection with node:http as the server', async () => {
    const { url, connections } = await startHttpServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (text: string) => {
        body += text;
      });
      request.on('end', () => {
        response.setHeader('content-type', 'text/plain');
        response.end(`${request.method} ${request.url} ${body}`);
      });
    });
    const http = client();
    const first = await http.request({
      method: 'POST',
      url: new URL('/echo', url),
      headers: { 'content-type': 'text/plain' },
      body: 'héllo',
    }).response;
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/plain');
    expect(await readText(first)).toBe('POST /echo héllo');
    const second = await http.request({ method: 'GET', url: new URL('/again', url), headers: {} })
      .response;
    expect(await readText(second)).toBe('GET /again ');
    expect(connections()).toBe(1);
  });

  it('reads a chunked streaming response from node:http', async () => {
    const { url } = await startHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: one\n\n');
      setTimeout(() => {
        response.write('data: two €\n\n');
        response.end();
      }, 20);
    });
    const response = await client().request({ method: 'GET', url, headers: {} }).response;
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(await readText(response)).toBe('data: one\n\ndata: two €\n\n');
  });

  const notReused: { name: string; response: string }[] = [
    {
      name: 'Connection: close',
      response: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok',
    },
    { name: 'an HTTP/1.0 response', response: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok' },
    {
      name: 'Keep-Alive: timeout=1',
      response: 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok',
    },
    {
      name: 'bytes after the end of the response',
      response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokSTRAY',
    },
  ];

  for (const { name, response: answer } of notReused) {
    it(`does not reuse a connection after ${name}`, async () => {
      // The server never closes on its own: the client must.
      const server = await startRawServer(answerWith(answer));
      const http = client();
      const first = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
      expect(await readText(first)).toBe('ok');
      await server.closed(server.sockets[0]);
      const second = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
      expect(await readText(second)).toBe('ok');
      expect(server.connectionCount).toBe(2);
    });
  }

  it('reuses an HTTP/1.0 response with Connection: keep-alive', async () => {
    const server = await startRawServer(
      answerWith('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok'),
    );
    const http = client();
    for (let round = 0; round < 2; round++) {
      const response = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
      expect(await readText(response)).toBe('ok');
    }
    expect(server.connectionCount).toBe(1);
  });

  it('does not reuse a pooled connection that the server has closed', async () => {
    const server = await startRawServer(async ({ socket }) => {
      socket.write(okResponse);
      await sleep(20);
      socket.end();
    });
    const http = client();
    const first = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    expect(await readText(first)).toBe('ok');
    // Closed on both sides: the client has seen the server's FIN.
    await server.closed(server.sockets[0]);
    const second = http.request({ method: 'GET', url: server.url, headers: {} });
    await expect(second.written).resolves.toEqual(expect.any(Number));
    expect(await readText(await second.response)).toBe('ok');
    expect(server.connectionCount).toBe(2);
  });

  it('closes an idle connection after idleTimeoutMs', async () => {
    const server = await startRawServer(answerWith(okResponse));
    const http = client({ idleTimeoutMs: 50 });
    const response = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    expect(await readText(response)).toBe('ok');
    await server.closed(server.sockets[0]);
    const second = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    expect(await readText(second)).toBe('ok');
    expect(server.connectionCount).toBe(2);
  });

  it('opens a second connection for a request while the first is busy', async () => {
    const release = deferred();
    const server = await startRawServer(async (request) => {
      if (request.index === 0) await release.promise;
      request.socket.write(okResponse);
    });
    const http = client();
    const slow = http.request({ method: 'GET', url: server.url, headers: {} });
    await expect(slow.written).resolves.toEqual(expect.any(Number));
    const fast = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    expect(await readText(fast)).toBe('ok');
    release.resolve();
    expect(await readText(await slow.response)).toBe('ok');
    expect(server.connectionCount).toBe(2);
  });

  it('close() destroys the idle pooled connections', async () => {
    const server = await startRawServer(answerWith(okResponse));
    const http = client();
    const responses = await Promise.all([
      http.request({ method: 'GET', url: server.url, headers: {} }).response,
      http.request({ method: 'GET', url: server.url, headers: {} }).response,
    ]);
    for (const response of responses) expect(await readText(response)).toBe('ok');
    await sleep(0);
    expect(server.connectionCount).toBe(2);
    http.close();
    await Promise.all(server.sockets.map((socket) => server.closed(socket)));
  });
});

describe('createHttpClient: release and cancel', () => {
  it('drains the rest of a released chunked body and reuses the connection, even when the signal aborts', async () => {
    const cancelled = deferred();
    const restSent = deferred();
    const server = await startRawServer(async (request) => {
      if (request.index > 0) {
        request.socket.write(okResponse);
        return;
      }
      request.socket.write(`${chunkedHead}5\r\nhello\r\n`);
      await cancelled.promise;
      await sleep(30);
      request.socket.write('5\r\nworld\r\n');
      await sleep(20);
      request.socket.write('0\r\n\r\n');
      restSent.resolve();
    });
    const http = client();
    const controller = new AbortController();
    const response = await http.request({
      method: 'GET',
      url: server.url,
      headers: {},
      signal: controller.signal,
    }).response;
    await expect(response.read()).resolves.toMatchObject({ text: 'hello' });
    const pending = response.read();
    response.release();
    // An engine ends its attempt (aborting its signal) right after releasing.
    controller.abort();
    await expect(pending).resolves.toBeUndefined();
    await expect(response.read()).resolves.toBeUndefined();
    cancelled.resolve();
    await restSent.promise;
    await sleep(100);
    const second = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    expect(await readText(second)).toBe('ok');
    expect(server.connectionCount).toBe(1);
  });

  it('drops queued pieces at cancel', async () => {
    const server = await startRawServer(async ({ socket }) => {
      socket.write(`${chunkedHead}3\r\none\r\n`);
      await sleep(20);
      socket.write('3\r\ntwo\r\n0\r\n\r\n');
    });
    const http = client();
    const response = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    await sleep(60);
    response.cancel();
    await expect(response.read()).resolves.toBeUndefined();
  });

  it('closes the connection at once when an unfinished body is cancelled', async () => {
    const server = await startRawServer(async (request) => {
      if (request.index > 0) {
        request.socket.write(okResponse);
        return;
      }
      request.socket.write(`${chunkedHead}5\r\nhello\r\n`);
    });
    const http = client();
    const response = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    await expect(response.read()).resolves.toMatchObject({ text: 'hello' });
    const cancelledAt = performance.now();
    response.cancel();
    await server.closed(server.sockets[0]);
    expect(performance.now() - cancelledAt).toBeLessThan(500);
    const second = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    expect(await readText(second)).toBe('ok');
    expect(server.connectionCount).toBe(2);
  });

  it('closes a released connection whose body goes on past the drain time', async () => {
    const server = await startRawServer(async (request) => {
      if (request.index > 0) {
        request.socket.write(okResponse);
        return;
      }
      const { socket } = request;
      socket.write(`${chunkedHead}5\r\nhello\r\n`);
      while (!socket.destroyed) {
        await sleep(100);
        if (!socket.destroyed) socket.write('1\r\nx\r\n');
      }
    });
    const http = client();
    const response = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    await expect(response.read()).resolves.toMatchObject({ text: 'hello' });
    const cancelledAt = performance.now();
    response.release();
    await server.closed(server.sockets[0]);
    const elapsed = performance.now() - cancelledAt;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(2000);
    const second = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    expect(await readText(second)).toBe('ok');
    expect(server.connectionCount).toBe(2);
  }, 5000);
});

describe('createHttpClient: errors', () => {
  it('rejects written and response with ECONNREFUSED when nothing listens', async () => {
    const port = await closedPort();
    const exchange = client().request({
      method: 'GET',
      url: new URL(`http://127.0.0.1:${port}/`),
      headers: {},
    });
    await expect(exchange.written).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(exchange.response).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects with ECONNRESET when the server closes before answering', async () => {
    const server = await startRawServer(({ socket }) => {
      socket.end();
    });
    const exchange = client().request({ method: 'GET', url: server.url, headers: {} });
    await expect(exchange.written).resolves.toEqual(expect.any(Number));
    await expect(exchange.response).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('rejects with ECONNRESET when the server closes in the middle of the head', async () => {
    const server = await startRawServer(({ socket }) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Le');
    });
    const exchange = client().request({ method: 'GET', url: server.url, headers: {} });
    await expect(exchange.response).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('rejects a read with ERR_STREAM_PREMATURE_CLOSE when a chunked body is cut off', async () => {
    const server = await startRawServer(({ socket }) => {
      socket.end(`${chunkedHead}5\r\nhello\r\n`);
    });
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    await expect(response.read()).resolves.toMatchObject({ text: 'hello' });
    await expect(response.read()).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    await expect(response.read()).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  it('rejects a waiting read with ERR_STREAM_PREMATURE_CLOSE when a body is short of its length', async () => {
    const readWaiting = deferred();
    const server = await startRawServer(async ({ socket }) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello');
      await readWaiting.promise;
      socket.end();
    });
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    await expect(response.read()).resolves.toMatchObject({ text: 'hello' });
    const pending = response.read();
    readWaiting.resolve();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  const malformedHeads: { name: string; response: string }[] = [
    { name: 'a malformed status line', response: 'HTTP/1.1 OK\r\n\r\n' },
    { name: 'a non-HTTP status line', response: 'SSH-2.0-OpenSSH_9.6\r\n\r\n' },
    { name: 'an HTTP/2 status line', response: 'HTTP/2 200 OK\r\n\r\n' },
    { name: 'a header line without a colon', response: 'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n' },
    { name: 'an empty header name', response: 'HTTP/1.1 200 OK\r\n: value\r\n\r\n' },
    { name: 'an invalid header name', response: 'HTTP/1.1 200 OK\r\nbad name: v\r\n\r\n' },
    {
      name: 'a folded header line',
      response: 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n',
    },
    {
      name: 'conflicting Content-Length headers',
      response: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    },
    {
      name: 'a non-numeric Content-Length',
      response: 'HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc',
    },
    {
      name: 'a transfer coding before chunked',
      response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
    },
    { name: 'a protocol switch', response: 'HTTP/1.1 101 Switching Protocols\r\n\r\n' },
  ];

  for (const { name, response: answer } of malformedHeads) {
    it(`rejects the response with ERR_HTTP_PROTOCOL for ${name}`, async () => {
      const server = await startRawServer(answerWith(answer));
      const exchange = client().request({ method: 'GET', url: server.url, headers: {} });
      await expect(exchange.response).rejects.toMatchObject({ code: 'ERR_HTTP_PROTOCOL' });
      await server.closed(server.sockets[0]);
    });
  }

  it('accepts repeated equal Content-Length values', async () => {
    const server = await startRawServer(
      answerWith('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc'),
    );
    const response = await client().request({ method: 'GET', url: server.url, headers: {} })
      .response;
    expect(await readText(response)).toBe('abc');
  });

  it('rejects a head longer than 64 KiB with ERR_HTTP_PROTOCOL', async () => {
    const server = await startRawServer(({ socket }) => {
      socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(200 * 1024)}\r\n\r\n`);
    });
    const exchange = client().request({ method: 'GET', url: server.url, headers: {} });
    await expect(exchange.response).rejects.toMatchObject({ code: 'ERR_HTTP_PROTOCOL' });
  });

  const badBodies: { name: string; body: string }[] = [
    { name: 'a bad chunk size', body: 'zz\r\nhello\r\n0\r\n\r\n' },
    { name: 'a missing chunk size', body: '\r\nhello\r\n0\r\n\r\n' },
    { name: 'a space inside a chunk size', body: '1 0\r\n0123456789abcdef\r\n0\r\n\r\n' },
    { name: 'chunk data longer than its size', body: '3\r\nhello\r\n0\r\n\r\n' },
  ];

  for (const { name, body } of badBodies) {
    it(`rejects a read with ERR_HTTP_PROTOCOL for ${name}`, async () => {
      const server = await startRawServer(async ({ socket }) => {
        socket.write(chunkedHead);
        await sleep(20);
        socket.write(body);
      });
      const response = await client().request({ method: 'GET', url: server.url, headers: {} })
        .response;
      expect(response.status).toBe(200);
      await expect(readAll(response)).rejects.toMatchObject({ code: 'ERR_HTTP_PROTOCOL' });
      await server.closed(server.sockets[0]);
    });
  }
});

describe('createHttpClient: abort', () => {
  it('rejects at once, without connecting, for a signal already aborted', async () => {
    const server = await startRawServer(answerWith(okResponse));
    const reason = new Error('already stopped');
    const exchange = client().request({
      method: 'GET',
      url: server.url,
      headers: {},
      signal: AbortSignal.abort(reason),
    });
    await expect(exchange.written).rejects.toBe(reason);
    await expect(exchange.response).rejects.toBe(reason);
    await sleep(50);
    expect(server.connectionCount).toBe(0);
  });

  it('rejects the response with the reason when aborted while waiting for the head', async () => {
    const received = deferred();
    const server = await startRawServer(() => {
      received.resolve();
    });
    const controller = new AbortController();
    const exchange = client().request({
      method: 'GET',
      url: server.url,
      headers: {},
      signal: controller.signal,
    });
    await received.promise;
    const reason = new Error('stop waiting');
    controller.abort(reason);
    await expect(exchange.response).rejects.toBe(reason);
    await expect(exchange.written).resolves.toEqual(expect.any(Number));
    await server.closed(server.sockets[0]);
  });

  it('rejects a pending read with the reason and closes the connection', async () => {
    const server = await startRawServer(({ socket }) => {
      socket.write(`${chunkedHead}5\r\nhello\r\n`);
    });
    const controller = new AbortController();
    const http = client();
    const response = await http.request({
      method: 'GET',
      url: server.url,
      headers: {},
      signal: controller.signal,
    }).response;
    await expect(response.read()).resolves.toMatchObject({ text: 'hello' });
    const pending = response.read();
    const reason = new Error('stop reading');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(response.read()).rejects.toBe(reason);
    await server.closed(server.sockets[0]);
  });

  it('leaves a pooled connection alone when the signal aborts after the body ended', async () => {
    const server = await startRawServer(answerWith(okResponse));
    const controller = new AbortController();
    const http = client();
    const response = await http.request({
      method: 'GET',
      url: server.url,
      headers: {},
      signal: controller.signal,
    }).response;
    expect(await readText(response)).toBe('ok');
    await sleep(0);
    controller.abort(new Error('late'));
    const second = await http.request({ method: 'GET', url: server.url, headers: {} }).response;
    expect(await readText(second)).toBe('ok');
    expect(server.connectionCount).toBe(1);
  });
});

describe('createHttpClient: clock', () => {
  it('stamps written and every piece with the injected clock, in increasing order', async () => {
    const clock = steppingClock();
    const server = await startRawServer(async ({ socket }) => {
      for (const part of [
        `${chunkedHead}3\r\none\r\n`,
        '3\r\ntwo\r\n',
        '5\r\nthree\r\n0\r\n\r\n',
      ]) {
        const read = clock.nextCall();
        socket.write(part);
        await Promise.race([read, sleep(200)]);
      }
    });
    const exchange = client({ clock: clock.clock }).request({
      method: 'GET',
      url: server.url,
      headers: {},
    });
    const writtenAt = await exchange.written;
    expect(writtenAt).toBe(1);
    const chunks = await readAll(await exchange.response);
    expect(chunks.map((chunk) => chunk.text)).toEqual(['one', 'two', 'three']);
    const stamps = chunks.map((chunk) => chunk.arrivedAtMs);
    expect(stamps.every((stamp) => Number.isInteger(stamp) && stamp <= clock.calls)).toBe(true);
    expect(stamps[0]).toBeGreaterThan(writtenAt);
    for (let index = 1; index < stamps.length; index++) {
      expect(stamps[index]).toBeGreaterThan(stamps[index - 1] ?? Number.POSITIVE_INFINITY);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// createFetchHttpClient
// ---------------------------------------------------------------------------------------------

describe('createFetchHttpClient', () => {
  it('gives status, headers and the whole text body', async () => {
    const { url } = await startHttpServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (text: string) => {
        body += text;
      });
      request.on('end', () => {
        response.writeHead(201, 'Made', { 'x-test': 'yes', 'content-type': 'text/plain' });
        response.write(`${request.method} ${body} `);
        setTimeout(() => response.end('end €'), 20);
      });
    });
    const clock = steppingClock();
    const http = createFetchHttpClient(globalThis.fetch, clock.clock);
    const exchange = http.request({
      method: 'POST',
      url: new URL('/x', url),
      headers: { 'content-type': 'text/plain' },
      body: 'héllo',
    });
    await expect(exchange.written).resolves.toBe(1);
    const response = await exchange.response;
    expect(response.status).toBe(201);
    expect(response.statusText).toBe('Made');
    expect(response.headers.get('x-test')).toBe('yes');
    const chunks = await readAll(response);
    expect(chunks.map((chunk) => chunk.text).join('')).toBe('POST héllo end €');
    for (const chunk of chunks) expect(chunk.arrivedAtMs).toBeGreaterThan(1);
    await expect(response.read()).resolves.toBeUndefined();
    http.close();
  });

  it('rejects a pending read when the signal aborts', async () => {
    const { url } = await startHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: first\n\n');
    });
    const http = createFetchHttpClient(globalThis.fetch, () => 0);
    const controller = new AbortController();
    const response = await http.request({
      method: 'GET',
      url,
      headers: {},
      signal: controller.signal,
    }).response;
    await expect(response.read()).resolves.toMatchObject({ text: 'data: first\n\n' });
    const pending = response.read();
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});

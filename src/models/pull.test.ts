import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortedError, DownloadError, TimeoutError } from '../errors.js';
import { cachedModelPath } from './cache.js';
import { CATALOG, type CatalogModel } from './catalog.js';
import { type PullProgress, pullModel } from './pull.js';

const content = randomBytes(256 * 1024);

function testModel(sizeBytes = content.length): CatalogModel {
  const base = CATALOG[0];
  if (base === undefined) throw new Error('empty catalog');
  return {
    ...base,
    alias: 'test-model',
    gguf: { ...base.gguf, file: 'test-model.gguf', sizeBytes },
  };
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server;
let sockets: Set<Socket>;
let baseUrl: string;
let handler: Handler;
let home: string;
let requests: { method: string; range: string | undefined; authorization: string | undefined }[];

/** Serves `content`, honouring Range unless told otherwise. */
function serveFile(options: { ignoreRange?: boolean; dropAfterBytes?: number } = {}): Handler {
  return (request, response) => {
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const start = range && !options.ignoreRange ? Number(range[1]) : 0;
    const body = content.subarray(start);
    const headers: Record<string, string | number> = {
      'content-length': body.length,
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
    };
    if (start > 0)
      headers['content-range'] = `bytes ${start}-${content.length - 1}/${content.length}`;
    response.writeHead(start > 0 ? 206 : 200, headers);
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    if (options.dropAfterBytes !== undefined) {
      response.write(body.subarray(0, options.dropAfterBytes), () => {
        setTimeout(() => request.socket.destroy(), 20);
      });
      return;
    }
    response.end(body);
  };
}

beforeEach(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'tandem-pull-'));
  requests = [];
  sockets = new Set();
  handler = serveFile();
  server = createServer((request, response) => {
    requests.push({
      method: request.method ?? '',
      range: request.headers.range,
      authorization: request.headers.authorization,
    });
    handler(request, response);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.gguf`;
});

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(home, { recursive: true, force: true });
});

const pull = (model: CatalogModel, extra: Partial<Parameters<typeof pullModel>[1]> = {}) =>
  pullModel(model, { home, url: baseUrl, env: {}, ...extra });

describe('pullModel', () => {
  it('downloads the whole file, reports progress and renames it into place', async () => {
    const model = testModel();
    const progress: PullProgress[] = [];
    const result = await pull(model, { onProgress: (p) => progress.push(p) });
    expect(result).toEqual({
      path: cachedModelPath(home, model),
      sizeBytes: content.length,
      resumed: false,
      alreadyComplete: false,
    });
    expect(Buffer.compare(await readFile(result.path), content)).toBe(0);
    await expect(stat(`${result.path}.part`)).rejects.toThrow();
    expect(progress.at(-1)).toMatchObject({ receivedBytes: content.length, etaSeconds: 0 });
    expect(progress.every((p) => p.totalBytes === content.length)).toBe(true);
    expect(requests.map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });

  it('returns alreadyComplete without any request when the file is cached', async () => {
    const model = testModel();
    await pull(model);
    requests = [];
    const again = await pull(model);
    expect(again.alreadyComplete).toBe(true);
    expect(requests).toEqual([]);
  });

  it('resumes with a Range request after the server dropped the connection midway', async () => {
    const model = testModel();
    handler = serveFile({ dropAfterBytes: 100_000 });
    const first = await pull(model).catch((error: unknown) => error);
    expect(first).toBeInstanceOf(DownloadError);
    expect((first as Error).message).toMatch(/interrupted|ended early/);
    expect((first as Error).message).not.toContain('\n');
    const partSize = (await stat(`${cachedModelPath(home, model)}.part`)).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThanOrEqual(100_000);

    handler = serveFile();
    requests = [];
    const second = await pull(model);
    expect(second.resumed).toBe(true);
    expect(requests.find((r) => r.method === 'GET')?.range).toBe(`bytes=${partSize}-`);
    expect(Buffer.compare(await readFile(second.path), content)).toBe(0);
  });

  it('restarts from zero when the server ignores Range and answers 200', async () => {
    const model = testModel();
    const partPath = `${cachedModelPath(home, model)}.part`;
    await mkdir(path.dirname(partPath), { recursive: true });
    await writeFile(partPath, Buffer.alloc(5000, 0xff)); // garbage prefix
    handler = serveFile({ ignoreRange: true });
    const result = await pull(model);
    expect(requests.find((r) => r.method === 'GET')?.range).toBe('bytes=5000-');
    expect(result.resumed).toBe(false);
    expect(Buffer.compare(await readFile(result.path), content)).toBe(0);
  });

  it('refuses a file whose size differs from the catalog and keeps nothing', async () => {
    const model = testModel(content.length + 10);
    const partPath = `${cachedModelPath(home, model)}.part`;
    await mkdir(path.dirname(partPath), { recursive: true });
    await writeFile(partPath, content.subarray(0, 1000));
    const error = await pull(model).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/reports \d+ bytes .* catalog expects \d+/);
    await expect(stat(partPath)).rejects.toThrow();
    await expect(stat(cachedModelPath(home, model))).rejects.toThrow();
  });

  it('removes the .part when the body is longer than announced by the catalog', async () => {
    const model = testModel(content.length - 100);
    // Chunked answer (no Content-Length), so only the catalog size bounds it.
    handler = (request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      if (request.method === 'HEAD') response.end();
      else response.end(content);
    };
    const error = await pull(model).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/more than the \d+ expected/);
    await expect(stat(`${cachedModelPath(home, model)}.part`)).rejects.toThrow();
  });

  it('turns a 404 into one line', async () => {
    handler = (_request, response) => {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('Entry not found');
    };
    const error = await pull(testModel()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toContain('HTTP 404');
    expect((error as Error).message).not.toContain('\n');
  });

  it('fails fast with one line when the host refuses connections', async () => {
    const started = performance.now();
    const error = await pull(testModel(), { url: 'http://127.0.0.1:1/model.gguf' }).catch(
      (caught: unknown) => caught,
    );
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(DownloadError);
    const message = (error as Error).message;
    // Node's fetch refuses port 1 itself ('bad port'); either way it is one fast line.
    expect(message).toMatch(
      /^Cannot reach 127\.0\.0\.1:1 \([^)]+\): tandem models pull needs internet access\./,
    );
    expect(message).toContain("'tandem run llama:/path/to/file.gguf'");
    expect(message).toContain('demo-slm, demo-llm');
    expect(message).not.toContain('\n');
  });

  it('says connection refused for a closed port', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const error = await pull(testModel(), { url: `http://127.0.0.1:${port}/model.gguf` }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toContain(
      `Cannot reach 127.0.0.1:${port} (connection refused)`,
    );
  });

  it('fails within the reachability timeout when the host accepts but never answers', async () => {
    handler = () => {
      // never answers
    };
    const started = performance.now();
    const error = await pull(testModel(), { reachabilityTimeoutMs: 300 }).catch(
      (caught: unknown) => caught,
    );
    expect(performance.now() - started).toBeLessThan(3000);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(
      /^Cannot reach 127\.0\.0\.1:\d+ \(no answer within 0\.3 s\)/,
    );
  });

  it('errors instead of hanging when the body stalls, keeping the .part', async () => {
    const model = testModel();
    handler = (request, response) => {
      response.writeHead(200, { 'content-length': content.length });
      if (request.method === 'HEAD') response.end();
      else response.write(content.subarray(0, 50_000)); // then nothing
    };
    const error = await pull(model, { idleTimeoutMs: 300 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).phase).toBe('idle');
    expect((await stat(`${cachedModelPath(home, model)}.part`)).size).toBeGreaterThan(0);
  });

  it('stops on abort and keeps the .part for resume', async () => {
    const model = testModel();
    handler = (request, response) => {
      response.writeHead(200, { 'content-length': content.length });
      if (request.method === 'HEAD') {
        response.end();
        return;
      }
      let offset = 0;
      const timer = setInterval(() => {
        if (offset >= content.length || response.destroyed) {
          clearInterval(timer);
          response.end();
          return;
        }
        response.write(content.subarray(offset, offset + 8192));
        offset += 8192;
      }, 10);
      response.on('close', () => clearInterval(timer));
    };
    const controller = new AbortController();
    const error = await pull(model, {
      signal: controller.signal,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (p.receivedBytes >= 16_384) controller.abort();
      },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AbortedError);
    expect((await stat(`${cachedModelPath(home, model)}.part`)).size).toBeGreaterThan(0);
    await expect(stat(cachedModelPath(home, model))).rejects.toThrow();
  });

  it('sends HF_TOKEN as a Bearer token', async () => {
    await pull(testModel(), { env: { HF_TOKEN: 'hf_secret' } });
    expect(requests.every((r) => r.authorization === 'Bearer hf_secret')).toBe(true);
  });
});

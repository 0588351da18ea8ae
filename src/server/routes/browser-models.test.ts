/**
 * The ONNX folders offered to the in-browser page: the command-line form, the checks made at
 * start, the list, the files streamed from /models/NAME/… (a demo folder written on first
 * use; nothing outside the folder; the key and origin rules of /api), and the
 * Content-Security-Policy of the page and of its assets.
 */

import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { demoOnnxFolderPath } from '../../models/demo/demo-onnx.js';
import { type RunningServer, type ServeOptions, startServer } from '../serve.js';
import { BrowserModels, parseBrowserModel } from './browser-models.js';
import { WEB_APP_CSP, WORKER_CSP } from './web-assets.js';

const scratch = mkdtempSync(join(tmpdir(), 'tandem-browser-models-'));
let running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.map((server) => server.close()));
  running = [];
});

/** A server on a fresh home, so the demo ONNX folders are not written yet. */
async function start(options: ServeOptions = {}): Promise<{ server: RunningServer; home: string }> {
  const home = mkdtempSync(join(scratch, 'home-'));
  const server = await startServer({
    port: 0,
    engineOptions: { home, threads: 1, gpu: 'cpu' },
    databasePath: join(home, 'tandem.db'),
    servePulledModels: false,
    ...options,
  });
  running.push(server);
  return { server, home };
}

interface ListedModel {
  name: string;
  demo: boolean;
  dtypes: string[];
  weightBytes: Record<string, number>;
  ready: boolean;
}

async function list(server: RunningServer): Promise<ListedModel[]> {
  const response = await fetch(`${server.url}/api/browser-models`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: ListedModel[] }).data;
}

/** A real ONNX folder to expose: demo-slm's, written by a first server. */
async function writtenDemoFolder(): Promise<string> {
  const { server, home } = await start();
  expect((await fetch(`${server.url}/models/demo-slm/config.json`)).status).toBe(200);
  return demoOnnxFolderPath(join(home, 'models'), 'demo-slm');
}

describe('--browser-model NAME=FOLDER', () => {
  it('parses a name and a folder', () => {
    expect(parseBrowserModel('phi=./models/phi onnx')).toEqual({
      name: 'phi',
      path: './models/phi onnx',
    });
  });

  it.each([
    ['phi', /is not NAME=FOLDER/],
    ['=./x', /is not NAME=FOLDER/],
    ['phi=', /is not NAME=FOLDER/],
    ['a/b=./x', /may only use letters, digits and \. _ -/],
    ['a b=./x', /may only use letters, digits and \. _ -/],
    ['..=./x', /must start with a letter or digit/],
  ])('refuses %s', (text, message) => {
    expect(() => parseBrowserModel(text)).toThrow(message);
  });

  it('checks the folders at start: missing, not a model, a demo name, twice', async () => {
    const models = join(scratch, 'models');
    expect(() => new BrowserModels([{ name: 'x', path: join(scratch, 'nope') }], models)).toThrow(
      /^--browser-model x: no folder at .*nope; give the folder that holds config\.json and onnx\/model\.onnx\.$/,
    );
    const empty = mkdtempSync(join(scratch, 'empty-'));
    expect(() => new BrowserModels([{ name: 'x', path: empty }], models)).toThrow(
      /config\.json is missing/,
    );
    const folder = await writtenDemoFolder();
    expect(() => new BrowserModels([{ name: 'demo-slm', path: folder }], models)).toThrow(
      /built-in demo model/,
    );
    expect(
      () =>
        new BrowserModels(
          [
            { name: 'x', path: folder },
            { name: 'x', path: folder },
          ],
          models,
        ),
    ).toThrow(/given twice/);
    await expect(start({ browserModels: [{ name: 'x', path: empty }] })).rejects.toThrow(
      /config\.json is missing/,
    );
  });
});

describe('GET /api/browser-models and /models/NAME/…', () => {
  it('lists the demo models, writes one on first use, and streams its files', async () => {
    const { server, home } = await start();
    expect(server.browserModels).toEqual(['demo-slm', 'demo-llm']);
    const before = await list(server);
    expect(before.map((model) => [model.name, model.demo, model.ready, model.dtypes])).toEqual([
      ['demo-slm', true, false, ['fp32']],
      ['demo-llm', true, false, ['fp32']],
    ]);

    const config = await fetch(`${server.url}/models/demo-slm/config.json`);
    expect(config.status).toBe(200);
    expect(config.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(((await config.json()) as { model_type: string }).model_type).toBe('llama');

    const folder = demoOnnxFolderPath(join(home, 'models'), 'demo-slm');
    const onDisk = readFileSync(join(folder, 'onnx', 'model.onnx'));
    const weights = await fetch(`${server.url}/models/demo-slm/onnx/model.onnx`);
    expect(weights.status).toBe(200);
    expect(weights.headers.get('content-length')).toBe(String(onDisk.length));
    expect(Buffer.from(await weights.arrayBuffer()).equals(onDisk)).toBe(true);

    const after = await list(server);
    expect(after[0]).toMatchObject({ name: 'demo-slm', ready: true, dtypes: ['fp32'] });
    expect(after[0]?.weightBytes.fp32).toBe(onDisk.length);
    expect(after[1]?.ready).toBe(false);
  });

  it('serves an exposed folder under its name, first in the list', async () => {
    const source = await writtenDemoFolder();
    const copy = join(mkdtempSync(join(scratch, 'exposed-')), 'tiny');
    cpSync(source, copy, { recursive: true });
    cpSync(join(copy, 'onnx', 'model.onnx'), join(copy, 'onnx', 'model_quantized.onnx'));
    const { server } = await start({ browserModels: [{ name: 'tiny', path: copy }] });
    const models = await list(server);
    expect(models[0]).toMatchObject({
      name: 'tiny',
      demo: false,
      ready: true,
      dtypes: ['fp32', 'q8'],
    });
    mkdirSync(join(copy, '.git'));
    writeFileSync(join(copy, '.git', 'config'), 'not for the browser');
    writeFileSync(join(copy, 'notes.txt'), 'not for the browser');
    for (const path of ['/.git/config', '/notes.txt', '/onnx/../notes.txt']) {
      const refused = await fetch(`${server.url}/models/tiny${path}`);
      expect(refused.status, path).toBe(404);
      expect(await refused.text(), path).not.toContain('not for the browser');
    }
    const file = await fetch(`${server.url}/models/tiny/onnx/model_quantized.onnx`);
    expect(
      Buffer.from(await file.arrayBuffer()).equals(
        readFileSync(join(source, 'onnx', 'model.onnx')),
      ),
    ).toBe(true);
  });

  it('answers 404 with what to do for unknown models and files, and never leaves the folder', async () => {
    const { server, home } = await start();
    writeFileSync(join(home, 'secret.txt'), 'not for the browser');
    const unknown = await fetch(`${server.url}/models/phi/config.json`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe(
      "No browser model 'phi'. Offered: demo-slm, demo-llm; expose a folder with tandem serve --browser-model NAME=FOLDER.",
    );
    const missing = await fetch(`${server.url}/models/demo-slm/onnx/model_q4.onnx`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toBe(
      'demo-slm has no file /onnx/model_q4.onnx.',
    );
    for (const path of [
      '/models/demo-slm/..%2f..%2f..%2fsecret.txt',
      '/models/demo-slm/%2e%2e/%2e%2e/%2e%2e/secret.txt',
      '/models/demo-slm/onnx',
    ]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).not.toContain('not for the browser');
    }
  });

  it('keeps /models to the app itself and to holders of the key', async () => {
    const { server } = await start({ apiKey: 'sesame' });
    expect((await fetch(`${server.url}/models/demo-slm/config.json`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/browser-models`)).status).toBe(401);
    const authorization = { authorization: 'Bearer sesame' };
    expect(
      (await fetch(`${server.url}/models/demo-slm/config.json`, { headers: authorization })).status,
    ).toBe(200);
    const foreign = await fetch(`${server.url}/models/demo-slm/config.json`, {
      headers: { ...authorization, origin: 'http://localhost:3000' },
    });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { message: string } }).error.message).toContain(
      "/models serves only tandem's own web app",
    );
    const own = await fetch(`${server.url}/models/demo-slm/config.json`, {
      headers: { ...authorization, origin: server.url },
    });
    expect(own.status).toBe(200);
    // A cross-site <img> sends no Origin, but says it is cross-site: refused before any work.
    for (const path of ['/models/demo-llm/config.json', '/api/models']) {
      const embedded = await fetch(`${server.url}${path}`, {
        headers: { ...authorization, 'sec-fetch-site': 'cross-site' },
      });
      expect(embedded.status, path).toBe(403);
      expect(((await embedded.json()) as { error: { message: string } }).error.message).toMatch(
        /serves only tandem's own web app, not another site/,
      );
    }
  });
});

describe('Content-Security-Policy', () => {
  it('sends the page policy with the page and the worker policy with the assets', async () => {
    const webRoot = mkdtempSync(join(scratch, 'web-'));
    mkdirSync(join(webRoot, 'assets'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(webRoot, 'assets', 'worker-x.js'), 'self.onmessage = () => {};');
    const { server } = await start({ webRoot });
    const page = await fetch(`${server.url}/`);
    expect(page.headers.get('content-security-policy')).toBe(WEB_APP_CSP);
    const asset = await fetch(`${server.url}/assets/worker-x.js`);
    expect(asset.headers.get('content-security-policy')).toBe(WORKER_CSP);
    // The page itself may run no inline script and compile no WebAssembly.
    expect(WEB_APP_CSP).toContain("script-src 'self';");
    expect(WORKER_CSP).toContain("'wasm-unsafe-eval'");
  });
});

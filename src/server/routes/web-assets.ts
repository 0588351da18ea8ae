/**
 * The built web app (dist/web, made by `npm run build`) served at `/`: index.html at the
 * root and its hashed assets under /assets/. Only files inside the web folder are served;
 * nothing is fetched from anywhere else at run time.
 */

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ServerEnv } from '../server-env.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream',
};

/** The web app's folder in this installation: <package root>/dist/web. */
export function defaultWebRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder);
    if (parent === folder) break;
    folder = parent;
  }
  return join(folder, 'dist', 'web');
}

export function contentType(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file under `root` that a URL path names, or undefined when the path leaves the folder
 * (`..`, encoded or not) or is malformed.
 */
export function fileUnder(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const base = resolve(root);
  const path = resolve(base, `.${decoded.startsWith('/') ? '' : '/'}${decoded}`);
  return path.startsWith(base + sep) ? path : undefined;
}

const COMMON_CSP = [
  "default-src 'self'",
  "connect-src 'self' blob: data:",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
];

/**
 * The page's Content-Security-Policy: everything from this server only, and no inline or
 * injected script, even if Markdown sanitizing ever failed.
 */
export const WEB_APP_CSP = [...COMMON_CSP, "script-src 'self'", "worker-src 'self'"].join('; ');

/**
 * The policy sent with the assets, which is what a worker runs under (a worker takes its
 * policy from its own script's response; for other scripts it is ignored). The in-browser
 * worker compiles ONNX Runtime's WebAssembly ('wasm-unsafe-eval') and imports ONNX Runtime's
 * glue code from a blob: URL that transformers.js makes from the file this server serves.
 */
export const WORKER_CSP = [
  ...COMMON_CSP,
  "script-src 'self' 'wasm-unsafe-eval' blob:",
  "worker-src 'self' blob:",
].join('; ');

/** Sends a file, or undefined when it does not exist. */
export async function sendFile(
  c: Context,
  path: string,
  cacheControl: string,
  headers: Record<string, string> = {},
): Promise<Response | undefined> {
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch {
    return undefined;
  }
  return c.body(new Uint8Array(body), 200, {
    'content-type': contentType(path),
    'cache-control': cacheControl,
    'x-content-type-options': 'nosniff',
    ...headers,
  });
}

/** `/` and `/assets/*`, mounted at `/`. */
export function webAssetRoutes(root: string): Hono<ServerEnv> {
  const routes = new Hono<ServerEnv>();
  routes.get('/', async (c) => {
    const page = await sendFile(c, join(root, 'index.html'), 'no-cache', {
      'content-security-policy': WEB_APP_CSP,
      'referrer-policy': 'no-referrer',
    });
    if (page !== undefined) return page;
    return c.text(
      `tandem's web app is not built (no ${join(root, 'index.html')}): run npm run build in the tandem folder, then restart tandem serve.`,
      503,
    );
  });
  routes.get('/assets/*', async (c) => {
    const path = fileUnder(join(root, 'assets'), c.req.path.slice('/assets'.length));
    const file =
      path === undefined
        ? undefined
        : await sendFile(c, path, 'public, max-age=31536000, immutable', {
            'content-security-policy': WORKER_CSP,
          });
    return file ?? c.text(`No such file: ${c.req.path.slice(0, 200)}`, 404);
  });
  return routes;
}

/**
 * `tandem serve` as a library call: the models, the pool, the metrics and the Hono app on
 * @hono/node-server, with the binding rules (loopback by default; anything else needs an
 * API key or an explicit --allow-unauthenticated).
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import {
  type CreateEngineOptions,
  createEngine,
  parseModelReference,
} from '../engines/registry.js';
import { InvalidArgumentError, TandemError } from '../errors.js';
import { listCachedModels, modelsDirectory, tandemHome } from '../models/cache.js';
import { DEMO_MODEL_NAMES, isDemoModelName } from '../models/demo/demo-models.js';
import { defaultDatabasePath, openDatabase } from '../store/database.js';
import { createServerApp, type ServerAppOptions } from './app.js';
import { createServerMetrics, type ServerMetrics } from './metrics.js';
import { ModelPool, type ServedModelConfig } from './model-pool.js';
import { type BrowserModelConfig, BrowserModels } from './routes/browser-models.js';
import { defaultWebRoot } from './routes/web-assets.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** NAME=REF pairs; the demo models are always added. */
  models?: readonly ServedModelConfig[];
  apiKey?: string;
  allowUnauthenticated?: boolean;
  cors?: ServerAppOptions['cors'];
  maxConcurrency?: number;
  maxQueue?: number;
  /** Unload a model after this long without requests; Infinity: never. Default 5 min. */
  keepAliveMs?: number;
  maxBodyBytes?: number;
  engineOptions?: CreateEngineOptions;
  /** Serve the catalog models pulled into the cache under their names. Default true. */
  servePulledModels?: boolean;
  /** tandem's database for the web app (conversations, collections); default $TANDEM_HOME/tandem.db. */
  databasePath?: string;
  /** The built web app (default: this installation's dist/web). */
  webRoot?: string;
  /** ONNX model folders the web app may run in the browser, besides the demo models. */
  browserModels?: readonly BrowserModelConfig[];
}

export interface RunningServer {
  /** http://host:port (the OpenAI base URL is this + /v1). */
  readonly url: string;
  readonly port: number;
  readonly models: readonly ServedModelConfig[];
  /** The models the web app can run inside the browser (ONNX folders, demo models last). */
  readonly browserModels: readonly string[];
  readonly metrics: ServerMetrics;
  readonly pool: ModelPool;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 5273;
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare === '::1' || /^127(?:\.\d{1,3}){3}$/.test(bare);
}

/** `NAME=REF` from the command line. */
export function parseServedModel(text: string): ServedModelConfig {
  const equals = text.indexOf('=');
  if (equals <= 0 || equals === text.length - 1) {
    throw new InvalidArgumentError(
      `--model '${text}' is not NAME=REF: e.g. --model phi-4-mini=demo-slm or --model gpt-oss-20b=foundry:gpt-oss-20b.`,
    );
  }
  const name = text.slice(0, equals).trim();
  const reference = text.slice(equals + 1).trim();
  if (!/^[\w.:/@+-]{1,128}$/.test(name)) {
    throw new InvalidArgumentError(
      `--model name '${name}' may only use letters, digits and . _ - : / @ +.`,
    );
  }
  parseModelReference(reference);
  return { name, reference };
}

/**
 * The served models: the user's; then the catalog models pulled into the cache, under their
 * catalog names (so a page that asks for `phi-4-mini` gets the real one once it is pulled),
 * unless a user model has that name; then the demo models under their own names.
 */
export function servedModels(
  models: readonly ServedModelConfig[],
  pulledAliases: readonly string[] = [],
): ServedModelConfig[] {
  const names = new Set<string>();
  const all: ServedModelConfig[] = [];
  for (const model of models) {
    if (names.has(model.name)) {
      throw new InvalidArgumentError(`--model ${model.name} is given twice.`);
    }
    if ((DEMO_MODEL_NAMES as readonly string[]).includes(model.name)) {
      throw new InvalidArgumentError(
        `'${model.name}' is a built-in demo model and is always served; pick another name.`,
      );
    }
    names.add(model.name);
    all.push(model);
  }
  for (const alias of pulledAliases) {
    if (!names.has(alias)) {
      names.add(alias);
      all.push({ name: alias, reference: alias });
    }
  }
  for (const demo of DEMO_MODEL_NAMES) all.push({ name: demo, reference: demo });
  return all;
}

export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const loopback = isLoopbackHost(host);
  if (!loopback && options.apiKey === undefined && options.allowUnauthenticated !== true) {
    throw new InvalidArgumentError(
      `Binding ${host} lets other machines use your models: give --api-key KEY (clients send Authorization: Bearer KEY), or --allow-unauthenticated if you mean it.`,
    );
  }
  const engineOptions = options.engineOptions ?? {};
  const home = engineOptions.home ?? tandemHome(engineOptions.env ?? process.env);
  const browserModels = new BrowserModels(options.browserModels ?? [], modelsDirectory(home));
  const pulled =
    options.servePulledModels === false
      ? []
      : (await listCachedModels(home))
          .filter((model) => model.complete)
          .map((model) => model.alias);
  const models = servedModels(options.models ?? [], pulled);
  const metrics = createServerMetrics();
  for (const model of models) metrics.setModelLoaded(model.name, false);
  const pool = new ModelPool({
    models,
    createEngine: (reference, sequences) =>
      createEngine(reference, { ...engineOptions, sequences }),
    maxConcurrency: options.maxConcurrency ?? 4,
    maxQueue: options.maxQueue ?? 64,
    keepAliveMs: options.keepAliveMs ?? 5 * 60_000,
    onLoaded: (name, loadMs) => {
      metrics.observeModelLoadSeconds(name, loadMs / 1000);
      metrics.setModelLoaded(name, true);
    },
    onUnloaded: (name) => metrics.setModelLoaded(name, false),
    onQueueChange: (name, waiting, inFlight) => {
      metrics.setQueueDepth(name, waiting);
      metrics.setInFlight(name, inFlight);
    },
  });
  const database = openDatabase(options.databasePath ?? defaultDatabasePath(home));
  const app = createServerApp({
    pool,
    metrics,
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    cors: options.cors ?? 'localhost',
    loopbackHostsOnly: loopback,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    isDemo: (name) => isDemoReference(pool.referenceOf(name)),
    web: {
      root: options.webRoot ?? defaultWebRoot(),
      database,
      engineOf: (name) => engineLabel(pool.referenceOf(name)),
      browserModels,
    },
  });
  const port = options.port ?? DEFAULT_PORT;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(started));
    started.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new TandemError(
              `Port ${port} on ${host} is in use: stop what runs there or pick another --port.`,
            )
          : error.code === 'EACCES'
            ? new TandemError(`No permission to listen on ${host}:${port}: pick a port above 1023.`)
            : new TandemError(`Cannot listen on ${host}:${port}: ${error.message}.`),
      );
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost === '127.0.0.1' ? '127.0.0.1' : shownHost}:${address.port}`,
    port: address.port,
    models,
    browserModels: browserModels.names,
    metrics,
    pool,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Every connection goes now: a client that loses its stream aborts its generation,
      // which frees its slot, so the engines can be disposed.
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      await pool.close();
      database.close();
    },
  };
}

/** 'llama', 'onnx', or the server preset ('foundry', 'ollama', 'openai'…) behind a reference. */
function engineLabel(reference: string | undefined): string {
  if (reference === undefined) return 'unknown';
  try {
    const parsed = parseModelReference(reference);
    return parsed.kind === 'server' ? parsed.preset : parsed.engine;
  } catch {
    return 'unknown';
  }
}

/**
 * demo-slm, llama:demo-llm, onnx:demo-slm?device=webgpu…: a built-in random-weight model;
 * twin:ALIAS: a catalog model's random-weight shape twin.
 */
function isDemoReference(reference: string | undefined): boolean {
  if (reference === undefined) return false;
  try {
    const parsed = parseModelReference(reference);
    if (parsed.kind !== 'local') return false;
    return parsed.twin === true || (!parsed.isPath && isDemoModelName(parsed.name));
  } catch {
    return false;
  }
}

import type { Command } from 'commander';
import type { GpuChoice } from '../engines/llama/llama-runtime.js';
import { InvalidArgumentError } from '../errors.js';
import { DEMO_MODEL_NAMES } from '../models/demo/demo-models.js';
import { parseWholeNumber } from '../numbers.js';
import { parseBrowserModel } from '../server/routes/browser-models.js';
import { DEFAULT_PORT, parseServedModel, type ServeOptions, startServer } from '../server/serve.js';
import { engineOptionsFrom } from './generation-flags.js';
import { demoNote, dim, type ExitWith, interruptSignal, type Terminal } from './terminal.js';

export interface ServeFlags {
  port?: string;
  host?: string;
  model?: string[];
  apiKey?: string;
  allowUnauthenticated?: boolean;
  cors?: string;
  maxConcurrency?: string;
  maxQueue?: string;
  keepAlive?: string;
  threads?: number;
  gpu?: GpuChoice;
  db?: string;
  browserModel?: string[];
}

/** `30s`, `5m`, `1h`, `250ms`, a bare number of seconds, or `forever`/`-1`. */
export function parseKeepAlive(text: string): number {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'forever' || trimmed === '-1') return Number.POSITIVE_INFINITY;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(trimmed);
  if (match === null) {
    throw new InvalidArgumentError(
      `--keep-alive '${text}' is not a duration: use e.g. 30s, 5m, 1h, or forever.`,
    );
  }
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit] as number;
  return value * factor;
}

/** `--cors a,b` → the list; `*` → any origin; default: localhost pages and file://. */
export function parseCors(text: string | undefined): NonNullable<ServeOptions['cors']> {
  if (text === undefined) return 'localhost';
  const origins = text
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  if (origins.includes('*')) return '*';
  for (const origin of origins) {
    if (origin !== 'null' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new InvalidArgumentError(
        `--cors origin '${origin}' is not scheme://host[:port] (or null, or *).`,
      );
    }
  }
  return origins;
}

export function serveOptionsFrom(flags: ServeFlags, terminal: Terminal): ServeOptions {
  const port =
    flags.port === undefined ? DEFAULT_PORT : parseWholeNumber(flags.port, '--port', { min: 0 });
  if (port > 65_535) throw new InvalidArgumentError(`--port ${port} is above 65535.`);
  const options: ServeOptions = {
    host: flags.host ?? '127.0.0.1',
    port,
    models: (flags.model ?? []).map(parseServedModel),
    cors: parseCors(flags.cors),
    maxConcurrency:
      flags.maxConcurrency === undefined
        ? 4
        : parseWholeNumber(flags.maxConcurrency, '--max-concurrency', { min: 1 }),
    maxQueue:
      flags.maxQueue === undefined
        ? 64
        : parseWholeNumber(flags.maxQueue, '--max-queue', { min: 0 }),
    keepAliveMs: flags.keepAlive === undefined ? 5 * 60_000 : parseKeepAlive(flags.keepAlive),
    engineOptions: engineOptionsFrom(flags, terminal),
  };
  if (flags.apiKey !== undefined) {
    if (flags.apiKey.trim() === '') throw new InvalidArgumentError('--api-key is empty.');
    options.apiKey = flags.apiKey;
  }
  if (flags.allowUnauthenticated === true) options.allowUnauthenticated = true;
  if (flags.db !== undefined) options.databasePath = flags.db;
  if (flags.browserModel !== undefined) {
    options.browserModels = flags.browserModel.map(parseBrowserModel);
  }
  return options;
}

export async function serveCommand(flags: ServeFlags, terminal: Terminal): Promise<number> {
  const options = serveOptionsFrom(flags, terminal);
  const server = await startServer(options);
  const out = terminal.stdout;
  out.write(`tandem serve: OpenAI-compatible API at ${server.url}/v1\n`);
  out.write(`  web app: ${server.url}/ (in the browser: ${server.browserModels.join(', ')})\n`);
  for (const model of server.models) {
    const isDemo = (DEMO_MODEL_NAMES as readonly string[]).includes(model.reference);
    const source = model.reference === model.name ? '' : ` → ${model.reference}`;
    out.write(`  ${model.name}${source}${isDemo ? dim(terminal, ' (random weights)') : ''}\n`);
  }
  if (
    server.models.every((model) =>
      (DEMO_MODEL_NAMES as readonly string[]).includes(model.reference),
    )
  ) {
    out.write(
      dim(
        terminal,
        `Only the demo models are served; they ${demoNote(2)} Add one with --model NAME=REF.\n`,
      ),
    );
  }
  out.write(
    dim(
      terminal,
      `Models load on first use and unload after ${flags.keepAlive ?? '5m'} idle. GET /health, GET /metrics. Ctrl-C stops.\n`,
    ),
  );
  const interrupt = interruptSignal(terminal);
  await new Promise<void>((resolve) => {
    interrupt.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  interrupt.dispose();
  await server.close();
  return 0;
}

export function registerServeCommand(
  program: Command,
  terminal: Terminal,
  exitWith: ExitWith,
): void {
  program
    .command('serve')
    .description(
      'A local OpenAI-compatible server (and gateway) for embedded models and other servers',
    )
    .option('--port <port>', `port (default ${DEFAULT_PORT}; 0: any free port)`)
    .option('--host <host>', 'address to bind (default 127.0.0.1)')
    .option(
      '--model <NAME=REF>',
      'serve a model reference under a name, e.g. phi-4-mini=demo-slm (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--api-key <key>', 'require Authorization: Bearer <key>')
    .option('--allow-unauthenticated', 'allow binding a non-loopback address without --api-key')
    .option(
      '--cors <origins>',
      'allowed browser origins, comma-separated, or * (default: localhost and file://)',
    )
    .option('--max-concurrency <n>', 'requests one model serves at once (default 4)')
    .option('--max-queue <n>', 'requests that may wait per model before 429 (default 64)')
    .option(
      '--keep-alive <duration>',
      'unload a model after this long idle: 30s, 5m, forever (default 5m)',
    )
    .option('--threads <n>', 'llama threads per model', (value: string) =>
      parseWholeNumber(value, '--threads', { min: 1 }),
    )
    .option(
      '--db <file>',
      "the web app's conversations and collections (default $TANDEM_HOME/tandem.db)",
    )
    .option(
      '--browser-model <NAME=FOLDER>',
      "offer an ONNX model folder to the web app's in-browser page (repeatable; the demo models are always offered)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action((flags: ServeFlags) => exitWith(serveCommand(flags, terminal)));
}

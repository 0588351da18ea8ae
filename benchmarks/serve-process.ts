/**
 * `tandem serve` in a child process for bench:serve, so that the server's model and event
 * loop do not share a process with the client that measures them. Started with
 * startServeProcess(); it reports its URL, and on request its memory.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { errorLine } from '../src/errors.js';
import { type ServeOptions, startServer } from '../src/server/serve.js';

const childFlag = '--tandem-serve-child';

export interface ServeProcessMemory {
  rssBytes: number;
  /** Peak resident set size of the process so far. */
  peakRssBytes: number;
}

export interface ServeProcess {
  readonly url: string;
  memory(): Promise<ServeProcessMemory>;
  close(): Promise<void>;
}

interface ChildMessage {
  type: 'ready' | 'memory' | 'failed';
  url?: string;
  memory?: ServeProcessMemory;
  message?: string;
}

export async function startServeProcess(options: ServeOptions): Promise<ServeProcess> {
  const child = fork(fileURLToPath(import.meta.url), [childFlag, JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiters: ((memory: ServeProcessMemory) => void)[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`tandem serve exited (code ${code}).`)));
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready' && message.url !== undefined) resolve(message.url);
      else if (message.type === 'failed') reject(new Error(message.message));
      else if (message.type === 'memory' && message.memory !== undefined) {
        waiters.shift()?.(message.memory);
      }
    });
  });
  return {
    url,
    memory: () =>
      new Promise<ServeProcessMemory>((resolve, reject) => {
        if (child.exitCode !== null || !child.connected) {
          reject(new Error('tandem serve has exited.'));
          return;
        }
        waiters.push(resolve);
        child.send({ type: 'memory' });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.send({ type: 'close' });
      }),
  };
}

function memoryNow(): ServeProcessMemory {
  return {
    rssBytes: process.memoryUsage().rss,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

async function runChild(optionsJson: string): Promise<void> {
  const options = JSON.parse(optionsJson) as ServeOptions;
  const send = (message: ChildMessage): void => {
    process.send?.(message);
  };
  try {
    const server = await startServer(options);
    process.on('message', (message: { type: string }) => {
      if (message.type === 'memory') send({ type: 'memory', memory: memoryNow() });
      if (message.type === 'close') {
        void server.close().finally(() => process.exit(0));
      }
    });
    process.on('disconnect', () => {
      void server.close().finally(() => process.exit(0));
    });
    send({ type: 'ready', url: server.url });
  } catch (error) {
    send({ type: 'failed', message: errorLine(error) });
    process.exit(1);
  }
}

if (process.argv[2] === childFlag) {
  await runChild(process.argv[3] ?? '{}');
}

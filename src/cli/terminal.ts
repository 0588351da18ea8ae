import { AbortedError } from '../errors.js';

/** Where the CLI writes; injected so commands can be tested without a terminal. */
export interface Terminal {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** Sets the CLI's exit code from a command's promise (commander awaits what it returns). */
export type ExitWith = (promise: Promise<number>) => Promise<void>;

export const processTerminal: Terminal = {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
};

/**
 * Ctrl-C handling: the first SIGINT aborts the running operation (which stops generation
 * and reports what was measured); a second one exits at once.
 */
export function interruptSignal(terminal: Terminal): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) process.exit(130);
    terminal.stderr.write('\nStopping… (Ctrl-C again to quit at once)\n');
    controller.abort(new AbortedError());
  };
  process.on('SIGINT', onInterrupt);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onInterrupt) };
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export function dim(terminal: Terminal, text: string): string {
  return terminal.stderr.isTTY === true && terminal.env.NO_COLOR === undefined
    ? `\x1b[2m${text}\x1b[22m`
    : text;
}

export { demoNote } from '../models/demo/demo-note.js';

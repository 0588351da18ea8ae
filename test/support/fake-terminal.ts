import { PassThrough, Readable } from 'node:stream';
import type { Terminal } from '../../src/cli/terminal.js';

export interface CapturedTerminal extends Terminal {
  output(): string;
  errors(): string;
}

/** A terminal whose output is captured; stdin is the given text (piped, not a TTY). */
export function fakeTerminal(env: NodeJS.ProcessEnv, stdinText = ''): CapturedTerminal {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  return {
    stdout,
    stderr,
    stdin: Readable.from(stdinText === '' ? [] : [Buffer.from(stdinText)]),
    env,
    output: () => out,
    errors: () => err,
  };
}

/** What the CLI prints while a demo model or a shape twin is written on first use. */
import { formatBytes } from '../units.js';
import { renderProgressBar } from './progress-bar.js';
import type { Terminal } from './terminal.js';

/** Prints one line when a demo model is generated on first use. */
export function demoProgressReporter(terminal: Terminal) {
  const announced = new Set<string>();
  return (model: string, writtenBytes: number, totalBytes: number) => {
    if (!announced.has(model)) {
      announced.add(model);
      terminal.stderr.write(
        `Writing the built-in ${model} model (first use, ${Math.round(totalBytes / 1e6)} MB)…\n`,
      );
    }
    if (writtenBytes === totalBytes) terminal.stderr.write(`${model} written.\n`);
  };
}

/**
 * A progress bar while a shape twin is written on first use (phi-4-mini's is 2.5 GB): redrawn
 * in place on a terminal, a line every 5 s otherwise.
 */
export function twinProgressReporter(terminal: Terminal) {
  const started = new Map<string, number>();
  let lastLineAt = 0;
  const interactive = terminal.stderr.isTTY === true;
  return (alias: string, writtenBytes: number, totalBytes: number) => {
    const now = performance.now();
    if (!started.has(alias)) {
      started.set(alias, now);
      terminal.stderr.write(
        `Writing twin:${alias}, a random-weight file with ${alias}'s exact shapes and quantization (first use, ${formatBytes(totalBytes)})…\n`,
      );
    }
    const elapsedSeconds = (now - (started.get(alias) as number)) / 1000;
    const bytesPerSecond = elapsedSeconds > 0 ? writtenBytes / elapsedSeconds : 0;
    const line = renderProgressBar({
      receivedBytes: writtenBytes,
      totalBytes,
      bytesPerSecond,
      etaSeconds: bytesPerSecond > 0 ? (totalBytes - writtenBytes) / bytesPerSecond : undefined,
    });
    const done = writtenBytes === totalBytes;
    if (interactive) terminal.stderr.write(`\r${line}${done ? '\n' : ''}`);
    else if (done || now - lastLineAt > 5000) {
      lastLineAt = now;
      terminal.stderr.write(`${line}\n`);
    }
  };
}

/** `tandem chat MODEL`: an interactive conversation with history and per-answer figures. */

import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { engineKind } from '../engines/registry.js';
import type { ChatMessage } from '../engines/spec.js';
import { AbortedError, errorLine, TandemError } from '../errors.js';
import { GenerationError, measureRun, type RunResult } from '../generate/generate.js';
import { formatMs, formatRate } from './format.js';
import { addGenerationFlags, checkEngineFlags } from './generation-flags.js';
import { renderRunStats } from './render-run.js';
import {
  createStoppableEngine,
  type RunFlags,
  requestFrom,
  streamWriter,
} from './streamed-answer.js';
import { demoNote, dim, type ExitWith, interruptSignal, type Terminal } from './terminal.js';

/** `tandem chat MODEL`: an interactive conversation with history and a stats line per answer. */
export async function chatCommand(
  reference: string,
  flags: RunFlags,
  terminal: Terminal,
): Promise<number> {
  checkEngineFlags(reference, flags);
  // Ctrl-C while a twin is written on first use stops the write (and removes its file).
  const interrupt = interruptSignal(terminal);
  const engine = await createStoppableEngine(reference, flags, terminal, interrupt);
  interrupt.dispose();
  // Load before the first prompt: a model that cannot load ends the chat with its exit code.
  await engine.prepare?.();
  const loadStarted = performance.now();
  try {
    await engine.load();
  } catch (error) {
    await engine.dispose();
    throw error;
  }
  const loadMs = performance.now() - loadStarted;
  const history: ChatMessage[] = [];
  const lines = createInterface({
    input: terminal.stdin,
    output: terminal.stderr,
    terminal: terminal.stdin.isTTY === true,
  });
  // Ctrl-C aborts the answer being generated; at the prompt it ends the chat.
  let generation: AbortController | undefined;
  const onInterrupt = () => {
    if (generation !== undefined) generation.abort(new AbortedError());
    else lines.close();
  };
  lines.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  // The line iterator buffers input that arrives while an answer streams (piped stdin).
  const input = lines[Symbol.asyncIterator]();
  // With piped input, a turn that failed makes the exit code non-zero.
  let failedExitCode = 0;
  try {
    terminal.stderr.write(
      `Chat with ${engine.info.model} (${engineKind(engine.info.engine) === 'server' ? 'ready' : 'loaded'} in ${formatMs(loadMs)}). /reset clears the history, /exit (or Ctrl-D) quits.\n`,
    );
    if (engine.info.isDemo === true)
      terminal.stderr.write(dim(terminal, `note: ${engine.info.model} ${demoNote()}\n`));
    while (true) {
      terminal.stderr.write('> ');
      const next = await input.next();
      if (next.done === true) break;
      const text = next.value.trim();
      if (text === '') continue;
      if (text === '/exit' || text === '/quit') break;
      if (text === '/reset') {
        history.length = 0;
        terminal.stderr.write('History cleared.\n');
        continue;
      }
      const controller = new AbortController();
      generation = controller;
      const writer = streamWriter(terminal);
      let result: RunResult;
      try {
        result = await measureRun(
          engine,
          {
            messages: history,
            prompt: text,
            ...(flags.system === undefined ? {} : { system: flags.system }),
            ...requestFrom(flags),
            signal: controller.signal,
            onPart: (part) => writer.onPart(part),
          },
          { cold: false },
        );
      } catch (error) {
        writer.end();
        if (!(error instanceof GenerationError)) {
          terminal.stderr.write(`error: ${errorLine(error)}\n`);
          failedExitCode = error instanceof TandemError ? error.exitCode : 1;
          continue;
        }
        result = error.result;
        terminal.stderr.write(`${error.message}\n`);
        if (result.finishReason !== 'abort') failedExitCode = error.exitCode;
      } finally {
        generation = undefined;
      }
      writer.end();
      history.push({ role: 'user', content: text }, { role: 'assistant', content: result.text });
      terminal.stderr.write(
        dim(
          terminal,
          `[TTFT ${formatMs(result.ttftMs)} · ${result.outputTokens} tokens (${result.outputTokensSource}) · ${formatRate(result.decodeTokensPerSecond)}]\n`,
        ),
      );
      if (flags.verbose === true) terminal.stderr.write(`${renderRunStats(result)}\n`);
    }
    terminal.stderr.write('\n');
    return terminal.stdin.isTTY === true ? 0 : failedExitCode;
  } finally {
    process.off('SIGINT', onInterrupt);
    lines.close();
    await engine.dispose();
  }
}

/** `tandem chat`. */
export function registerChatCommand(
  program: Command,
  terminal: Terminal,
  exitWith: ExitWith,
): void {
  addGenerationFlags(
    program
      .command('chat')
      .description('Interactive chat with history and per-answer figures')
      .argument('<model>', 'model reference')
      .option('-s, --system <text>', 'system message')
      .option('-v, --verbose', 'print a stats block after each answer'),
    { maxTokensDefault: '256' },
  ).action((model: string, flags) => exitWith(chatCommand(model, flags, terminal)));
}

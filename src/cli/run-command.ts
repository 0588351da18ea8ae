/** `tandem run MODEL`: one prompt, streamed, with a stats block or as one JSON object. */
import type { Command } from 'commander';
import type { StreamPart } from '../engines/spec.js';
import { InvalidArgumentError } from '../errors.js';
import { GenerationError, measureRun, type RunResult } from '../generate/generate.js';
import { chatCommand } from './chat-command.js';
import { addGenerationFlags, checkEngineFlags } from './generation-flags.js';
import { renderRunStats } from './render-run.js';
import {
  createStoppableEngine,
  type RunFlags,
  requestFrom,
  streamWriter,
} from './streamed-answer.js';
import {
  demoNote,
  dim,
  type ExitWith,
  interruptSignal,
  readAll,
  type Terminal,
} from './terminal.js';

/** `--json`: the result, and for a demo model the notice that its text is noise. */
function runJson(result: RunResult): string {
  const notice = result.isDemo ? { notice: `${result.model} ${demoNote()}` } : {};
  return `${JSON.stringify({ ...result, ...notice }, null, 2)}\n`;
}

/** `tandem run MODEL`: one prompt, streamed, optionally with stats or as JSON. */
export async function runCommand(
  reference: string,
  flags: RunFlags,
  terminal: Terminal,
): Promise<number> {
  let prompt = flags.prompt;
  if (prompt === undefined) {
    if (terminal.stdin.isTTY === true) return chatCommand(reference, flags, terminal);
    prompt = (await readAll(terminal.stdin)).trim();
    if (prompt === '')
      throw new InvalidArgumentError('No prompt: pass --prompt TEXT, or pipe text on stdin.');
  }
  checkEngineFlags(reference, flags);
  const interrupt = interruptSignal(terminal);
  const engine = await createStoppableEngine(reference, flags, terminal, interrupt);
  const writer = streamWriter(terminal);
  try {
    if (engine.info.isDemo === true && flags.json !== true)
      terminal.stderr.write(dim(terminal, `note: ${engine.info.model} ${demoNote()}\n`));
    let result: RunResult;
    try {
      result = await measureRun(
        engine,
        {
          prompt,
          ...(flags.system === undefined ? {} : { system: flags.system }),
          ...requestFrom(flags),
          signal: interrupt.signal,
          ...(flags.json === true ? {} : { onPart: (part: StreamPart) => writer.onPart(part) }),
        },
        { cold: true },
      );
    } catch (error) {
      if (!(error instanceof GenerationError)) throw error;
      writer.end();
      if (flags.json === true) terminal.stdout.write(runJson(error.result));
      else if (error.result.tokenEventCount > 0 || flags.verbose === true)
        terminal.stderr.write(`${renderRunStats(error.result)}\n`);
      terminal.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    writer.end();
    if (flags.json === true) {
      terminal.stdout.write(runJson(result));
    } else if (flags.verbose === true) {
      terminal.stderr.write(`${renderRunStats(result)}\n`);
    }
    return 0;
  } finally {
    interrupt.dispose();
    await engine.dispose();
  }
}

/** `tandem run`. */
export function registerRunCommand(program: Command, terminal: Terminal, exitWith: ExitWith): void {
  addGenerationFlags(
    program
      .command('run')
      .description(
        'Run one prompt on a model and stream the answer (no --prompt and a terminal: chat)',
      )
      .argument(
        '<model>',
        'model reference: demo-slm, phi-4-mini, llama:./x.gguf, ollama:phi4-mini, http://host:port/v1#id',
      )
      .option('-p, --prompt <text>', 'the prompt (default: stdin when piped)')
      .option('-s, --system <text>', 'system message')
      .option('--json', 'print one JSON object with the answer and every figure')
      .option('-v, --verbose', 'print a stats block after the answer'),
    { maxTokensDefault: '256' },
  ).action((model: string, flags) => exitWith(runCommand(model, flags, terminal)));
}

import { Command, CommanderError } from 'commander';
import { errorLine, TandemError } from '../errors.js';
import { registerBenchCommand } from './bench-command.js';
import { compareCommand } from './compare-command.js';
import {
  modelsListCommand,
  modelsPlanCommand,
  modelsPullCommand,
  modelsRemoveCommand,
  type PlanFlags,
} from './models-command.js';
import { integerFlag } from './options.js';
import { registerRagCommand } from './rag-command.js';
import { addGenerationFlags, chatCommand, runCommand } from './run-command.js';
import { registerRunsCommand } from './runs-command.js';
import { registerServeCommand } from './serve-command.js';
import { processTerminal, type Terminal } from './terminal.js';

export function buildProgram(terminal: Terminal, setExitCode: (code: number) => void): Command {
  const program = new Command('tandem')
    .description('Measure, compare and combine small and large local language models.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => terminal.stdout.write(text),
      writeErr: (text) => terminal.stderr.write(text),
    });

  const exitWith = (promise: Promise<number>) => promise.then(setExitCode);

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

  addGenerationFlags(
    program
      .command('chat')
      .description('Interactive chat with history and per-answer figures')
      .argument('<model>', 'model reference')
      .option('-s, --system <text>', 'system message')
      .option('-v, --verbose', 'print a stats block after each answer'),
    { maxTokensDefault: '256' },
  ).action((model: string, flags) => exitWith(chatCommand(model, flags, terminal)));

  addGenerationFlags(
    program
      .command('compare')
      .description(
        'The same prompt on several models: latency, tokens, memory, answer, and which is faster beyond noise',
      )
      .argument(
        '[models...]',
        'model references (default: SLM_ALIAS and LLM_ALIAS, else demo-slm demo-llm)',
      )
      .option(
        '-p, --prompt <text>',
        'the prompt (default: COMPARE_PROMPT, else "List 5 benefits of local AI inference.")',
      )
      .option('-s, --system <text>', 'system message')
      .option(
        '--rounds <n>',
        'warm runs per model after the cold run (default 3)',
        integerFlag('--rounds', { min: 1, max: 1000 }),
      )
      .option('--json', 'print the whole result as JSON')
      .option('--out <file>', 'also write a report: FILE.md or FILE.json'),
    { maxTokensDefault: '128' },
  ).action((models: string[], flags) => exitWith(compareCommand(models, flags, terminal)));

  const models = program
    .command('models')
    .description('The demo models, the catalog, and the download cache');
  models
    .command('list', { isDefault: true })
    .description('List demo and catalog models with sizes and what is downloaded')
    .option('--json', 'print as JSON')
    .action((flags) => exitWith(modelsListCommand(flags, terminal)));
  models
    .command('pull')
    .description('Download a catalog model (GGUF) into the cache, with progress; resumes')
    .argument('<alias>', 'catalog alias, e.g. phi-4-mini')
    .action((alias: string) => exitWith(modelsPullCommand(alias, terminal)));
  models
    .command('rm')
    .description('Remove a downloaded catalog model')
    .argument('<alias>', 'catalog alias')
    .action((alias: string) => exitWith(modelsRemoveCommand(alias, terminal)));
  models
    .command('plan')
    .description(
      "Without downloading: load a catalog model's random-weight shape twin (or a .gguf) and measure load, memory, TTFT, decode and whether it fits",
    )
    .argument(
      '<model>',
      'catalog alias (its twin is built on first use), twin:ALIAS, or a .gguf path',
    )
    .option(
      '--ctx <tokens>',
      'context the fit check is for (default 4096)',
      integerFlag('--ctx', { min: 16 }),
    )
    .option(
      '--tokens <n>',
      'tokens decoded for the decode figure (default 64)',
      integerFlag('--tokens', { min: 2 }),
    )
    .option(
      '--long-words <n>',
      'words in the long prompt (default 400)',
      integerFlag('--long-words', { min: 1 }),
    )
    .option('--threads <n>', 'llama threads', integerFlag('--threads', { min: 1 }))
    .option('--no-bandwidth', 'skip the memory-bandwidth measurement')
    .option('--json', 'print as JSON')
    .action((model: string, flags: PlanFlags) =>
      exitWith(modelsPlanCommand(model, flags, terminal)),
    );

  registerBenchCommand(program, terminal, setExitCode);
  registerServeCommand(program, terminal, exitWith);
  registerRunsCommand(program, terminal, setExitCode);
  registerRagCommand(program, terminal, setExitCode);

  return program;
}

/** Runs the CLI; returns the exit code. Errors become one line on stderr. */
export async function main(
  argv: readonly string[],
  terminal: Terminal = processTerminal,
): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(terminal, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof TandemError) {
      terminal.stderr.write(`error: ${errorLine(error)}\n`);
      return error.exitCode;
    }
    terminal.stderr.write(
      `error: ${errorLine(error)} (unexpected; please report it with the command you ran)\n`,
    );
    if (terminal.env.TANDEM_DEBUG !== undefined && error instanceof Error)
      terminal.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

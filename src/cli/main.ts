import { Command, CommanderError } from 'commander';
import { errorLine, TandemError } from '../errors.js';
import { registerBenchCommand } from './bench-command.js';
import { registerChatCommand } from './chat-command.js';
import { registerCompareCommand } from './compare-command.js';
import { registerModelsCommand } from './models-command.js';
import { registerRagCommand } from './rag-command.js';
import { registerRunCommand } from './run-command.js';
import { registerRunsCommand } from './runs-command.js';
import { registerServeCommand } from './serve-command.js';
import { type ExitWith, processTerminal, type Terminal } from './terminal.js';

/** The CLI: each command registers itself from its own file; this only wires them. */
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

  const exitWith: ExitWith = (promise) => promise.then(setExitCode);

  registerRunCommand(program, terminal, exitWith);
  registerChatCommand(program, terminal, exitWith);
  registerCompareCommand(program, terminal, exitWith);
  registerModelsCommand(program, terminal, exitWith);
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

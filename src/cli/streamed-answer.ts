/**
 * One streamed answer, as run and chat show it: the request their flags make, the answer
 * written as it streams (reasoning dimmed on stderr), and the engine created with Ctrl-C able
 * to stop a first-use write.
 */
import { createEngine } from '../engines/registry.js';
import type { Engine, StreamPart } from '../engines/spec.js';
import { engineOptionsFrom, type GenerationFlags } from './generation-flags.js';
import { dim, type Terminal } from './terminal.js';

export interface RunFlags extends GenerationFlags {
  prompt?: string;
  system?: string;
  json?: boolean;
  verbose?: boolean;
}

const RUN_MAX_TOKENS = 256;

export function requestFrom(flags: GenerationFlags) {
  return {
    maxTokens: flags.maxTokens ?? RUN_MAX_TOKENS,
    ...(flags.temperature === undefined ? {} : { temperature: flags.temperature }),
    ...(flags.topP === undefined ? {} : { topP: flags.topP }),
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
    ...(flags.stop === undefined ? {} : { stop: flags.stop }),
  };
}

export function streamWriter(terminal: Terminal) {
  let wroteAnswer = false;
  let lastChar = '\n';
  return {
    onPart(part: StreamPart) {
      if (part.type === 'text-delta' && part.text.length > 0) {
        terminal.stdout.write(part.text);
        wroteAnswer = true;
        lastChar = part.text.at(-1) ?? lastChar;
      } else if (part.type === 'reasoning-delta' && part.text.length > 0) {
        terminal.stderr.write(dim(terminal, part.text));
      }
    },
    end() {
      if (wroteAnswer && lastChar !== '\n') terminal.stdout.write('\n');
    },
  };
}

/**
 * The engine for a reference, with Ctrl-C able to stop what creating it writes (a demo model
 * or a twin on first use); the interrupt handler is removed if creating it fails.
 */
export async function createStoppableEngine(
  reference: string,
  flags: RunFlags,
  terminal: Terminal,
  interrupt: { signal: AbortSignal; dispose: () => void },
): Promise<Engine> {
  try {
    return await createEngine(reference, {
      ...engineOptionsFrom(flags, terminal),
      signal: interrupt.signal,
    });
  } catch (error) {
    interrupt.dispose();
    throw error;
  }
}

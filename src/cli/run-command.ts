import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { GPU_CHOICES, type GpuChoice } from '../engines/llama/llama-runtime.js';
import {
  ONNX_DEVICES,
  ONNX_DTYPES,
  type OnnxDevice,
  type OnnxDtype,
} from '../engines/onnx/onnx-devices.js';
import {
  type CreateEngineOptions,
  createEngine,
  engineKind,
  engineRegistry,
  parseModelReference,
} from '../engines/registry.js';
import type { ChatMessage, Engine, StreamPart } from '../engines/spec.js';
import { AbortedError, errorLine, InvalidArgumentError, TandemError } from '../errors.js';
import { GenerationError, measureRun, type RunResult } from '../generate/generate.js';
import { formatBytes } from '../units.js';
import { formatMs, formatRate } from './format.js';
import { choiceFlag, collect, integerFlag, numberFlag } from './options.js';
import { renderProgressBar } from './progress-bar.js';
import { renderRunStats } from './render-run.js';
import { demoNote, dim, interruptSignal, readAll, type Terminal } from './terminal.js';

export interface GenerationFlags {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  threads?: number;
  gpu?: GpuChoice;
  ctx?: number;
  device?: OnnxDevice;
  dtype?: OnnxDtype;
}

/** Flags shared by run, chat and compare. */
export function addGenerationFlags(
  command: Command,
  { maxTokensDefault }: { maxTokensDefault: string },
): Command {
  return command
    .option(
      '--max-tokens <n>',
      `most tokens to generate (default ${maxTokensDefault})`,
      integerFlag('--max-tokens', { min: 1 }),
    )
    .option(
      '--temperature <t>',
      'sampling temperature; 0 is greedy',
      numberFlag('--temperature', { min: 0, max: 2 }),
    )
    .option('--top-p <p>', 'nucleus sampling', numberFlag('--top-p', { min: 0, max: 1 }))
    .option('--seed <n>', 'sampling seed', integerFlag('--seed', { min: 0, max: 2 ** 32 - 1 }))
    .option('--stop <text>', 'stop sequence (repeatable)', collect)
    .option(
      '--threads <n>',
      'llama: CPU threads (default: physical cores, capped by model size; or TANDEM_THREADS)',
      integerFlag('--threads', { min: 1, max: 1024 }),
    )
    .option('--gpu <kind>', `llama: ${GPU_CHOICES.join('|')}`, choiceFlag('--gpu', GPU_CHOICES))
    .option(
      '--ctx <tokens>',
      'llama: context window (default min(model, 4096))',
      integerFlag('--ctx', { min: 16 }),
    )
    .option(
      '--device <device>',
      `onnx: ${ONNX_DEVICES.join('|')} (default cpu; per model: onnx:NAME?device=webgpu)`,
      choiceFlag('--device', ONNX_DEVICES),
    )
    .option(
      '--dtype <dtype>',
      `onnx: ${ONNX_DTYPES.join('|')} (default: the model folder's own, else fp32)`,
      choiceFlag('--dtype', ONNX_DTYPES),
    );
}

export function engineOptionsFrom(flags: GenerationFlags, terminal: Terminal): CreateEngineOptions {
  return {
    env: terminal.env,
    ...(flags.threads === undefined ? {} : { threads: flags.threads }),
    ...(flags.gpu === undefined ? {} : { gpu: flags.gpu }),
    ...(flags.ctx === undefined ? {} : { contextSize: flags.ctx }),
    ...(flags.device === undefined ? {} : { device: flags.device }),
    ...(flags.dtype === undefined ? {} : { dtype: flags.dtype }),
    onDemoModelProgress: demoProgressReporter(terminal),
    onTwinProgress: twinProgressReporter(terminal),
  };
}

/** Flags that only some engines read, with the reference option each one stands for. */
const ENGINE_FLAGS = [
  { flag: '--device', option: 'device', value: (flags: GenerationFlags) => flags.device },
  { flag: '--dtype', option: 'dtype', value: (flags: GenerationFlags) => flags.dtype },
  { flag: '--gpu', option: 'gpu', value: (flags: GenerationFlags) => flags.gpu },
  { flag: '--ctx', option: 'ctx', value: (flags: GenerationFlags) => flags.ctx },
] as const;

/**
 * What to do instead, by the model's engine and the engine that reads the refused flags
 * (an engine with no entry gets the refusal without advice).
 */
const FLAG_ADVICE: Readonly<Record<string, (name: string) => string>> = {
  'llama<-onnx': (name) => `use --gpu, or run onnx:${name}`,
  'server<-onnx': () => 'the server chooses its device',
  'onnx<-llama': () => 'use --device and --dtype',
};

/**
 * With one model, a flag its engine does not read is a mistake (`--device cuda` on a llama
 * model would silently run on the CPU): refuse it. Which flags an engine reads comes from its
 * provider's `referenceOptions`. compare and bench apply each flag to the models whose engine
 * reads it.
 */
export function checkEngineFlags(reference: string, flags: GenerationFlags): void {
  const parsed = parseModelReference(reference);
  const provider = engineRegistry.providerOf(parsed);
  const runsOn = provider.kind === 'server' ? 'server' : provider.id;
  const readerOf = (option: string) =>
    engineRegistry.providers.find((candidate) => candidate.referenceOptions.includes(option))?.id ??
    'another';
  const unread = ENGINE_FLAGS.filter(
    ({ option, value }) =>
      value(flags) !== undefined && !provider.referenceOptions.includes(option),
  ).map(({ flag, option }) => ({ flag, reader: readerOf(option) }));
  const first = unread[0];
  if (first === undefined) return;
  // One engine at a time, in the order the flags are listed.
  const names = unread.filter(({ reader }) => reader === first.reader).map(({ flag }) => flag);
  const advice = FLAG_ADVICE[`${runsOn}<-${first.reader}`]?.(parsed.name);
  throw new InvalidArgumentError(
    `${names.join(' and ')} ${names.length > 1 ? 'apply' : 'applies'} to the ${first.reader} engine, and ${reference} runs on ${runsOn}${advice === undefined ? '' : `: ${advice}`}.`,
  );
}

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

interface RunFlags extends GenerationFlags {
  prompt?: string;
  system?: string;
  json?: boolean;
  verbose?: boolean;
}

const RUN_MAX_TOKENS = 256;

function requestFrom(flags: GenerationFlags) {
  return {
    maxTokens: flags.maxTokens ?? RUN_MAX_TOKENS,
    ...(flags.temperature === undefined ? {} : { temperature: flags.temperature }),
    ...(flags.topP === undefined ? {} : { topP: flags.topP }),
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
    ...(flags.stop === undefined ? {} : { stop: flags.stop }),
  };
}

function streamWriter(terminal: Terminal) {
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

/**
 * The engine for a reference, with Ctrl-C able to stop what creating it writes (a demo model
 * or a twin on first use); the interrupt handler is removed if creating it fails.
 */
async function createStoppableEngine(
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

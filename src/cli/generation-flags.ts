/**
 * The generation flags run, chat, compare and bench share, the engine options they become,
 * and the check that refuses a flag the model's engine does not read (from its provider's
 * `referenceOptions`).
 */

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
  engineRegistry,
  parseModelReference,
} from '../engines/registry.js';
import { InvalidArgumentError } from '../errors.js';
import { choiceFlag, collect, integerFlag, numberFlag } from './options.js';
import type { Terminal } from './terminal.js';
import { demoProgressReporter, twinProgressReporter } from './write-progress.js';

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

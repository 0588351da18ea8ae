import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseModelReference } from '../engines/registry.js';
import { ModelNotFoundError } from '../errors.js';
import {
  listCachedModels,
  modelsDirectory,
  removeCachedModel,
  tandemHome,
} from '../models/cache.js';
import { CATALOG, catalogNames, findCatalogModel, suggestModels } from '../models/catalog.js';
import { DEMO_MODELS } from '../models/demo/demo-models.js';
import { pullModel } from '../models/pull.js';
import {
  kvCacheBytes,
  type ModelPlan,
  planModel,
  slidingKvCacheBytes,
  slidingWindowCells,
} from '../plan/model-plan.js';
import { formatBytes, formatPercentDifference } from '../units.js';
import { formatMs, formatRate, renderTable } from './format.js';
import { integerFlag } from './options.js';
import { renderProgressBar } from './progress-bar.js';
import { type ExitWith, interruptSignal, type Terminal } from './terminal.js';
import { twinProgressReporter } from './write-progress.js';

function formatParameters(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(count >= 1e8 ? 0 : 1)}M`;
  return `${(count / 1e3).toFixed(0)}K`;
}

/** `tandem models list`: the demo models, the catalog, and what is in the cache. */
export async function modelsListCommand(
  flags: { json?: boolean },
  terminal: Terminal,
): Promise<number> {
  const home = tandemHome(terminal.env);
  const cached = new Map((await listCachedModels(home)).map((entry) => [entry.alias, entry]));
  const demoDirectory = join(modelsDirectory(home), 'demo');
  const demos = DEMO_MODELS.map((demo) => {
    const path = join(demoDirectory, `${demo.name}.gguf`);
    const present = existsSync(path);
    return { ...demo, path, present, sizeBytes: present ? statSync(path).size : undefined };
  });
  if (flags.json === true) {
    terminal.stdout.write(
      `${JSON.stringify({ home, demo: demos, catalog: CATALOG.map((model) => ({ ...model, cached: cached.get(model.alias) })) }, null, 2)}\n`,
    );
    return 0;
  }
  const rows: string[][] = [['model', 'parameters', 'file', 'size', 'status', 'foundry', 'ollama']];
  for (const demo of demos) {
    rows.push([
      demo.name,
      formatParameters(demo.parameterCount),
      `demo GGUF ${demo.fileType}`,
      formatBytes(demo.fileSizeBytes),
      demo.present ? 'ready' : 'written on first use',
      '—',
      '—',
    ]);
  }
  for (const model of CATALOG) {
    const entry = cached.get(model.alias);
    const status =
      entry === undefined
        ? 'not downloaded'
        : entry.complete
          ? 'downloaded'
          : `partial ${formatBytes(entry.sizeBytes)} (pull resumes)`;
    rows.push([
      model.alias,
      `${formatParameters(model.parameterCount)}${model.activeParameterCount === undefined ? '' : ` (${formatParameters(model.activeParameterCount)} active)`}`,
      `${model.gguf.quantization}`,
      formatBytes(model.gguf.sizeBytes),
      status,
      model.foundryAlias ?? '—',
      model.ollamaTag ?? '—',
    ]);
  }
  terminal.stdout.write(`${renderTable(rows, new Set([1, 3]))}\n`);
  terminal.stdout.write(
    `\nCache: ${modelsDirectory(home)}. demo-slm and demo-llm have random weights (noise text, real speed).\nRun a catalog model with 'tandem models pull ALIAS' then 'tandem run ALIAS', or through a server: 'tandem run foundry:ALIAS', 'tandem run ollama:TAG'.\n`,
  );
  return 0;
}

function catalogModelOrThrow(alias: string) {
  const model = findCatalogModel(alias);
  if (model === undefined)
    throw new ModelNotFoundError(alias, suggestModels(alias, catalogNames()));
  return model;
}

/** `tandem models pull ALIAS`: download the catalog GGUF with progress, resumable. */
export async function modelsPullCommand(alias: string, terminal: Terminal): Promise<number> {
  const model = catalogModelOrThrow(alias);
  const home = tandemHome(terminal.env);
  const interrupt = interruptSignal(terminal);
  const interactive = terminal.stderr.isTTY === true;
  let lastLineAt = 0;
  try {
    terminal.stderr.write(
      `Pulling ${model.alias}: ${model.gguf.repository}/${model.gguf.file} (${formatBytes(model.gguf.sizeBytes)})\n`,
    );
    const result = await pullModel(model, {
      home,
      env: terminal.env,
      signal: interrupt.signal,
      onProgress: (progress) => {
        const now = Date.now();
        if (interactive) terminal.stderr.write(`\r${renderProgressBar(progress)}`);
        else if (now - lastLineAt > 5000) {
          lastLineAt = now;
          terminal.stderr.write(`${renderProgressBar(progress)}\n`);
        }
      },
    });
    if (interactive) terminal.stderr.write('\n');
    terminal.stdout.write(
      result.alreadyComplete
        ? `${model.alias} is already downloaded: ${result.path}\n`
        : `${model.alias} downloaded${result.resumed ? ' (resumed)' : ''}: ${result.path} (${formatBytes(result.sizeBytes)})\n`,
    );
    return 0;
  } finally {
    interrupt.dispose();
  }
}

/** `tandem models rm ALIAS`. */
export async function modelsRemoveCommand(alias: string, terminal: Terminal): Promise<number> {
  catalogModelOrThrow(alias);
  const removed = await removeCachedModel(alias, tandemHome(terminal.env));
  terminal.stdout.write(
    removed.removed
      ? `Removed ${removed.alias} (${formatBytes(removed.freedBytes)} freed).\n`
      : `${removed.alias} was not in the cache.\n`,
  );
  return 0;
}

export interface PlanFlags {
  ctx?: number;
  tokens?: number;
  longWords?: number;
  threads?: number;
  json?: boolean;
  bandwidth?: boolean;
}

/** The reference `models plan` measures: an alias means its twin; paths and twin: stay. */
export function planReference(target: string): string {
  const parsed = parseModelReference(target);
  if (
    parsed.kind === 'local' &&
    parsed.engine === 'llama' &&
    !parsed.isPath &&
    parsed.twin !== true
  ) {
    // Options (`?threads=2`) stay with the reference.
    const query = target.indexOf('?');
    if (findCatalogModel(parsed.name) !== undefined)
      return `twin:${parsed.name}${query < 0 ? '' : target.slice(query)}`;
  }
  return target;
}

/** The plan as text: every figure, labelled, with what a twin's figures stand for. */
export function renderPlan(
  plan: ModelPlan,
  published?: { sizeBytes: number; file: string },
): string {
  const { shape, fit } = plan;
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(14)}${value}`);
  if (shape.twinOf !== undefined) {
    lines.push(
      `Plan for ${shape.twinOf}, measured on its shape twin: a random-weight file with the real model's architecture, tensor shapes and quantization. Speed and memory are the real file's; the text it writes is noise.`,
    );
  } else {
    lines.push(`Plan for ${plan.modelPath}.`);
  }
  row(
    'file',
    `${formatBytes(shape.fileSizeBytes)}${published === undefined ? '' : ` (the published ${published.file}: ${formatBytes(published.sizeBytes)}, ${formatPercentDifference(shape.fileSizeBytes, published.sizeBytes)})`}`,
  );
  if (shape.twinOf !== undefined) {
    row(
      'twin',
      plan.twinBuildMs === undefined
        ? `reused from the cache: ${plan.modelPath}`
        : `written in ${formatMs(plan.twinBuildMs)}: ${plan.modelPath}`,
    );
  }
  row(
    'architecture',
    `${shape.architecture}, ${shape.layers} layers, ${shape.embeddingLength} wide, ${shape.headCount} heads (${shape.headCountKv} KV, ${shape.headDimension} each), vocabulary ${shape.vocabularySize.toLocaleString('en-US')}, ${(shape.parameterCount / 1e9).toFixed(2)} B parameters${shape.expertCount === undefined ? '' : `; ${shape.expertUsedCount} of ${shape.expertCount} experts per token, ${(shape.activeParameterCount / 1e9).toFixed(2)} B active`}${shape.slidingWindow === undefined ? '' : `; ${shape.slidingWindowLayers} layers attend to a ${shape.slidingWindow}-token window`}`,
  );
  const threads =
    plan.threads === undefined
      ? 'threads unknown'
      : `${plan.threads} thread${plan.threads === 1 ? '' : 's'}`;
  row(
    'load',
    `${formatMs(plan.loadMs)} (context ${plan.loadedContextTokens.toLocaleString('en-US')} tokens, ${threads})`,
  );
  row(
    'memory',
    `RSS +${formatBytes(plan.rssAfterLoadDeltaBytes)} after load, peak +${formatBytes(plan.peakRssDeltaBytes)} while generating${plan.buffers === undefined || plan.buffers.repackedWeightsBytes === 0 ? '' : `, which counts ${formatBytes(plan.buffers.repackedWeightsBytes)} of weights twice: llama.cpp copies them into its CPU layout at load, and their pages in the mapped file go unused (the OS drops them when memory is short)`}`,
  );
  if (plan.buffers !== undefined) {
    row(
      'llama.cpp',
      `KV cache ${formatBytes(plan.buffers.kvCacheBytes)} at ${plan.loadedContextTokens.toLocaleString('en-US')} tokens (from the header: ${formatBytes(kvCacheBytes(shape, plan.loadedContextTokens))}), compute buffers ${formatBytes(plan.buffers.computeBytes + plan.buffers.outputBytes)}`,
    );
  }
  row(
    'KV cache',
    `${formatBytes(shape.kvCacheBytesPerToken * 1024)} per 1k tokens of context (f16)${shape.slidingWindow === undefined ? '' : `, plus ${formatBytes(slidingKvCacheBytes(shape, Number.POSITIVE_INFINITY))} for the window layers at any context over ${slidingWindowCells(shape.slidingWindow, Number.POSITIVE_INFINITY).toLocaleString('en-US')}`}`,
  );
  row(
    'TTFT',
    `short prompt (${plan.short.promptTokens ?? '?'} tokens) ${formatMs(plan.short.ttftMs)}; long prompt (${plan.long.promptTokens ?? '?'} tokens) ${formatMs(plan.long.ttftMs)}`,
  );
  row('decode', `${formatRate(plan.decodeTokensPerSecond)} over ${plan.decodeTokens} tokens`);
  if (plan.bandwidth !== undefined) {
    row(
      'bandwidth',
      `decode reads ${formatBytes(shape.bytesReadPerToken)} of weights per token; this machine reads ${formatBytes(plan.bandwidth.bytesPerSecond)}/s (${threads}), a ceiling of ${formatRate(plan.bandwidth.ceilingTokensPerSecond)}${plan.bandwidth.share === undefined ? '' : `; decode reaches ${(plan.bandwidth.share * 100).toFixed(0)}% of it`}`,
    );
  }
  row(
    'fits',
    `${fit.fits ? (fit.fitsNow ? 'yes' : 'yes, but not in the memory free now') : 'no'} with --ctx ${fit.contextTokens.toLocaleString('en-US')}: needs ${formatBytes(fit.neededBytes)} (weights ${formatBytes(fit.weightsBytes)} + KV cache ${formatBytes(fit.kvCacheBytes)} + ${plan.buffers === undefined ? 'the rest of the peak RSS' : 'compute buffers'} ${formatBytes(fit.runtimeBytes)}${plan.loadedContextTokens === fit.contextTokens ? '' : ` as measured at ${plan.loadedContextTokens.toLocaleString('en-US')} tokens`}) of ${formatBytes(fit.totalMemoryBytes)} (${formatBytes(fit.availableMemoryBytes)} free now)${fit.contextTokens > shape.contextLength ? `; --ctx is beyond the ${shape.contextLength.toLocaleString('en-US')} tokens the model was trained for` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

/** `tandem models plan MODEL`: measure a model's twin (or a GGUF file) on this machine. */
export async function modelsPlanCommand(
  target: string,
  flags: PlanFlags,
  terminal: Terminal,
): Promise<number> {
  const reference = planReference(target);
  const parsed = parseModelReference(reference);
  const catalog =
    parsed.kind === 'local' && parsed.twin === true ? findCatalogModel(parsed.name) : undefined;
  const interrupt = interruptSignal(terminal);
  try {
    const plan = await planModel(reference, {
      contextTokens: flags.ctx ?? 4096,
      decodeTokens: flags.tokens ?? 64,
      longPromptWords: flags.longWords ?? 400,
      bandwidth: flags.bandwidth !== false,
      signal: interrupt.signal,
      engineOptions: {
        env: terminal.env,
        ...(flags.threads === undefined ? {} : { threads: flags.threads }),
        onTwinProgress: twinProgressReporter(terminal),
      },
      onStep: (step) => {
        if (flags.json !== true) terminal.stderr.write(`measuring: ${step}…\n`);
      },
    });
    if (flags.json === true) {
      terminal.stdout.write(
        `${JSON.stringify({ ...plan, ...(catalog === undefined ? {} : { published: { file: catalog.gguf.file, sizeBytes: catalog.gguf.sizeBytes } }), note: plan.shape.twinOf === undefined ? undefined : 'random-weight twin: speed and memory are the real file’s, text is noise' }, null, 2)}\n`,
      );
    } else {
      terminal.stdout.write(
        renderPlan(
          plan,
          catalog === undefined
            ? undefined
            : { sizeBytes: catalog.gguf.sizeBytes, file: catalog.gguf.file },
        ),
      );
    }
    return 0;
  } finally {
    interrupt.dispose();
  }
}

/** `tandem models` and its subcommands: list, pull, rm, plan. */
export function registerModelsCommand(
  program: Command,
  terminal: Terminal,
  exitWith: ExitWith,
): void {
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
}

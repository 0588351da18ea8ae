import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelNotFoundError } from '../errors.js';
import {
  listCachedModels,
  modelsDirectory,
  removeCachedModel,
  tandemHome,
} from '../models/cache.js';
import { CATALOG, catalogNames, findCatalogModel, suggestModels } from '../models/catalog.js';
import { DEMO_MODELS } from '../models/demo/demo-models.js';
import { pullModel, renderProgressBar } from '../models/pull.js';
import { formatBytes } from '../units.js';
import { renderTable } from './format.js';
import { interruptSignal, type Terminal } from './terminal.js';

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

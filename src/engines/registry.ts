import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { EngineUnavailableError, InvalidArgumentError, ModelNotFoundError } from '../errors.js';
import { cachedModelPath, modelsDirectory, tandemHome } from '../models/cache.js';
import { catalogNames, findCatalogModel, suggestModels } from '../models/catalog.js';
import {
  DEMO_MODEL_NAMES,
  type DemoModelName,
  ensureDemoModel,
} from '../models/demo/demo-models.js';
import { formatBytes } from '../units.js';
import { LlamaEngine } from './llama/llama-engine.js';
import { GPU_CHOICES, type GpuChoice } from './llama/llama-runtime.js';
import { createOpenAIEngine } from './openai/openai-engine.js';
import { integerOption, type ModelReference, parseModelReference } from './reference.js';
import type { Engine } from './spec.js';

export interface CreateEngineOptions {
  /** Data and model cache; default TANDEM_HOME, else the user's cache directory. */
  home?: string;
  env?: NodeJS.ProcessEnv;
  /** llama: threads (else `?threads=`, TANDEM_THREADS, or the size-capped default). */
  threads?: number;
  gpu?: GpuChoice;
  /** llama: context window in tokens. */
  contextSize?: number;
  /** llama: requests served at once (context sequences). */
  sequences?: number;
  /** openai: the fetch to use (tests inject one). */
  fetch?: typeof fetch;
  /** openai: stream (default) or one non-streaming response. */
  stream?: boolean;
  /** openai: timeouts (see createOpenAIEngine for what each phase measures). */
  connectTimeoutMs?: number;
  firstByteTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Stops the writing of a demo model on first use (the only slow part of creating an engine). */
  signal?: AbortSignal;
  /** Called while a demo model file is written on first use. */
  onDemoModelProgress?: (model: string, writtenBytes: number, totalBytes: number) => void;
}

function isDemoModelName(name: string): name is DemoModelName {
  return (DEMO_MODEL_NAMES as readonly string[]).includes(name);
}

/** Every name `tandem` accepts without an engine prefix, for "did you mean". */
export function knownModelNames(): string[] {
  return [...DEMO_MODEL_NAMES, ...catalogNames()];
}

function expandHome(path: string): string {
  return path.startsWith('~/') ? resolve(homedir(), path.slice(2)) : resolve(path);
}

const REFERENCE_OPTIONS = {
  llama: ['threads', 'gpu', 'ctx'],
  server: ['url'],
} as const;

/** A misspelt option would silently measure a different setup: reject it. */
function checkReferenceOptions(
  reference: ModelReference,
  allowed: readonly string[],
  kind: string,
): void {
  for (const key of Object.keys(reference.options)) {
    if (!allowed.includes(key)) {
      throw new InvalidArgumentError(
        `Unknown option '${key}' in '${reference.text}': ${kind} take ${allowed.map((name) => `?${name}=`).join(', ')}.`,
      );
    }
  }
}

function gpuOption(
  reference: ModelReference,
  fallback: GpuChoice | undefined,
): GpuChoice | undefined {
  const value = reference.options.gpu;
  if (value === undefined) return fallback;
  if (!(GPU_CHOICES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `Invalid gpu=${value} in '${reference.text}': use one of ${GPU_CHOICES.join(', ')}.`,
    );
  }
  return value as GpuChoice;
}

async function createLlamaEngine(
  reference: Extract<ModelReference, { kind: 'local' }>,
  options: CreateEngineOptions,
): Promise<Engine> {
  checkReferenceOptions(reference, REFERENCE_OPTIONS.llama, 'llama models');
  const env = options.env ?? process.env;
  const home = options.home ?? tandemHome(env);
  const threads = integerOption(reference, 'threads', { min: 1, max: 1024 }) ?? options.threads;
  const contextSize = integerOption(reference, 'ctx', { min: 16 }) ?? options.contextSize;
  const gpu = gpuOption(reference, options.gpu);
  const common = {
    reference: reference.text,
    env,
    ...(threads === undefined ? {} : { threads }),
    ...(contextSize === undefined ? {} : { contextSize }),
    ...(options.sequences === undefined ? {} : { sequences: options.sequences }),
    ...(gpu === undefined ? {} : { gpu }),
  };
  const name = reference.name;
  if (reference.isPath) {
    const modelPath = expandHome(name);
    if (!existsSync(modelPath) || !statSync(modelPath).isFile()) {
      throw new ModelNotFoundError(
        name,
        [],
        `No model file at ${modelPath}: check the path, or pass a catalog alias or demo-slm.`,
      );
    }
    const model =
      modelPath
        .split(/[\\/]/)
        .pop()
        ?.replace(/\.gguf$/i, '') ?? name;
    return new LlamaEngine({ ...common, model, modelPath });
  }
  if (isDemoModelName(name)) {
    const { path } = await ensureDemoModel(name, {
      modelsDirectory: modelsDirectory(home),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onDemoModelProgress === undefined
        ? {}
        : {
            onProgress: (written: number, total: number) =>
              options.onDemoModelProgress?.(name, written, total),
          }),
    });
    return new LlamaEngine({ ...common, model: name, modelPath: path, isDemo: true });
  }
  const catalogModel = findCatalogModel(name);
  if (catalogModel !== undefined) {
    const modelPath = cachedModelPath(home, catalogModel);
    if (!existsSync(modelPath)) {
      const servers = [
        catalogModel.foundryAlias === undefined
          ? undefined
          : `foundry:${catalogModel.foundryAlias}`,
        catalogModel.ollamaTag === undefined ? undefined : `ollama:${catalogModel.ollamaTag}`,
      ].filter((value) => value !== undefined);
      throw new ModelNotFoundError(
        name,
        [],
        `${catalogModel.alias} is not downloaded: run 'tandem models pull ${catalogModel.alias}' (${formatBytes(catalogModel.gguf.sizeBytes)})${servers.length > 0 ? `, or use a local server: ${servers.join(' or ')}` : ''}.`,
      );
    }
    return new LlamaEngine({ ...common, model: catalogModel.alias, modelPath });
  }
  throw new ModelNotFoundError(name, suggestModels(name, knownModelNames()));
}

/**
 * Creates the engine a model reference names (see parseModelReference). Nothing is loaded
 * yet; call `load()` (and time it) or just `stream()`.
 */
export async function createEngine(
  reference: string | ModelReference,
  options: CreateEngineOptions = {},
): Promise<Engine> {
  const parsed = typeof reference === 'string' ? parseModelReference(reference) : reference;
  if (parsed.kind === 'server') {
    checkReferenceOptions(parsed, REFERENCE_OPTIONS.server, 'server models');
    return createOpenAIEngine({
      reference: parsed.text,
      preset: parsed.preset,
      model: parsed.name,
      ...(parsed.baseUrl === undefined ? {} : { baseUrl: parsed.baseUrl }),
      ...(options.env === undefined ? {} : { environment: options.env }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.stream === undefined ? {} : { stream: options.stream }),
      ...(options.connectTimeoutMs === undefined
        ? {}
        : { connectTimeoutMs: options.connectTimeoutMs }),
      ...(options.firstByteTimeoutMs === undefined
        ? {}
        : { firstByteTimeoutMs: options.firstByteTimeoutMs }),
      ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
    });
  }
  if (parsed.engine === 'onnx') {
    throw new EngineUnavailableError(
      `The onnx engine is not part of this version of tandem yet: run '${parsed.name}' with the llama engine (a GGUF file) or through a server (ollama:, foundry:).`,
    );
  }
  return createLlamaEngine(parsed, options);
}

import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { EngineUnavailableError, InvalidArgumentError, ModelNotFoundError } from '../errors.js';
import { cachedModelPath, modelsDirectory, tandemHome } from '../models/cache.js';
import { catalogNames, findCatalogModel, suggestModels } from '../models/catalog.js';
import {
  DEMO_MODEL_NAMES,
  type DemoModelName,
  demoModelDefinition,
  ensureDemoModel,
} from '../models/demo/demo-models.js';
import { ensureDemoOnnxModel } from '../models/demo/demo-onnx.js';
import { ensureTwin } from '../models/twin/twin-file.js';
import { formatBytes } from '../units.js';
import { LlamaEngine } from './llama/llama-engine.js';
import { GPU_CHOICES, type GpuChoice } from './llama/llama-runtime.js';
import {
  type OnnxDevice,
  type OnnxDtype,
  parseOnnxDevice,
  parseOnnxDtype,
} from './onnx/onnx-devices.js';
import { OnnxEngine, onnxCacheDirectory } from './onnx/onnx-engine.js';
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
  /** onnx: execution provider (else `?device=`, else cpu). */
  device?: OnnxDevice;
  /** onnx: weights' data type (else `?dtype=`, else the folder's own). */
  dtype?: OnnxDtype;
  /** openai, and onnx's reachability check of repositories: the fetch to use (tests inject one). */
  fetch?: typeof fetch;
  /** openai: stream (default) or one non-streaming response. */
  stream?: boolean;
  /** openai: timeouts (see createOpenAIEngine for what each phase measures). */
  connectTimeoutMs?: number;
  firstByteTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Stops the writing of a demo model on first use (the only slow part of creating an engine). */
  signal?: AbortSignal;
  /** Called while a shape twin is written on first use (a twin of phi-4-mini is 2.5 GB). */
  onTwinProgress?: (alias: string, writtenBytes: number, totalBytes: number) => void;
  /** Called while a demo model file is written on first use. */
  onDemoModelProgress?: (model: string, writtenBytes: number, totalBytes: number) => void;
}

function isDemoModelName(name: string): name is DemoModelName {
  return (DEMO_MODEL_NAMES as readonly string[]).includes(name);
}

/** Where and how a demo model is written on first use (GGUF or ONNX alike). */
function demoWriteOptions(name: DemoModelName, home: string, options: CreateEngineOptions) {
  return {
    modelsDirectory: modelsDirectory(home),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onDemoModelProgress === undefined
      ? {}
      : {
          onProgress: (written: number, total: number) =>
            options.onDemoModelProgress?.(name, written, total),
        }),
  };
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
  onnx: ['threads', 'device', 'dtype'],
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
  if (reference.twin === true) {
    const twin = await ensureTwin(name, {
      modelsDirectory: modelsDirectory(home),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onTwinProgress === undefined
        ? {}
        : {
            onProgress: (written: number, total: number) =>
              options.onTwinProgress?.(name, written, total),
          }),
    });
    return new LlamaEngine({
      ...common,
      model: `twin:${twin.model.alias}`,
      modelPath: twin.path,
      isDemo: true,
      twinOf: twin.model.alias,
      parameterCount: twin.model.parameterCount,
    });
  }
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
    const { path } = await ensureDemoModel(name, demoWriteOptions(name, home, options));
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

/** A Hugging Face repository id: owner/name, nothing that looks like a local path. */
const REPOSITORY_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

async function createOnnxEngine(
  reference: Extract<ModelReference, { kind: 'local' }>,
  options: CreateEngineOptions,
): Promise<Engine> {
  checkReferenceOptions(reference, REFERENCE_OPTIONS.onnx, 'onnx models');
  const env = options.env ?? process.env;
  const home = options.home ?? tandemHome(env);
  const threads = integerOption(reference, 'threads', { min: 1, max: 1024 }) ?? options.threads;
  const where = `in '${reference.text}'`;
  const device =
    reference.options.device === undefined
      ? options.device
      : parseOnnxDevice(reference.options.device, where);
  const dtype =
    reference.options.dtype === undefined
      ? options.dtype
      : parseOnnxDtype(reference.options.dtype, where);
  const common = {
    reference: reference.text,
    env,
    cacheDirectory: onnxCacheDirectory(modelsDirectory(home)),
    ...(threads === undefined ? {} : { threads }),
    ...(device === undefined ? {} : { device }),
    ...(dtype === undefined ? {} : { dtype }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  };
  const name = reference.name;
  if (isDemoModelName(name)) {
    const { path } = await ensureDemoOnnxModel(name, demoWriteOptions(name, home, options));
    return new OnnxEngine({
      ...common,
      model: name,
      source: { kind: 'folder', path },
      isDemo: true,
      parameterCount: demoModelDefinition(name).parameterCount,
    });
  }
  const catalogModel = reference.isPath ? undefined : findCatalogModel(name);
  if (catalogModel !== undefined) {
    if (catalogModel.onnx === undefined) {
      throw new ModelNotFoundError(
        name,
        [],
        `${catalogModel.alias} has no ONNX export that tandem knows: run it with the llama engine ('${catalogModel.alias}') or give an ONNX folder or repository (onnx:owner/name).`,
      );
    }
    const { repository, layout, dtypes } = catalogModel.onnx;
    if (layout !== 'transformers.js') {
      throw new EngineUnavailableError(
        `${catalogModel.alias}'s ONNX export (${repository}) is in the onnxruntime-genai layout, which transformers.js cannot load: run it with the llama engine ('${catalogModel.alias}') or foundry:${catalogModel.foundryAlias ?? catalogModel.alias}.`,
      );
    }
    // Without --dtype: the smallest weights the repository is known to have.
    const preferred = (['q4', 'q4f16', 'q8', 'fp16', 'fp32'] as const).find((candidate) =>
      dtypes?.includes(candidate),
    );
    return new OnnxEngine({
      ...(preferred === undefined ? {} : { dtype: preferred }),
      ...common,
      model: catalogModel.alias,
      source: { kind: 'hub', repository },
      parameterCount: catalogModel.parameterCount,
    });
  }
  const folder = expandHome(name);
  if (existsSync(folder) || !REPOSITORY_ID.test(name)) {
    return new OnnxEngine({
      ...common,
      model:
        folder
          .split(/[\\/]/)
          .filter((part) => part !== '')
          .pop() ?? name,
      source: { kind: 'folder', path: folder },
    });
  }
  return new OnnxEngine({ ...common, model: name, source: { kind: 'hub', repository: name } });
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
  if (parsed.engine === 'onnx') return createOnnxEngine(parsed, options);
  return createLlamaEngine(parsed, options);
}

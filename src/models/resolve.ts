/**
 * From a model's name to the files that hold it: a built-in demo model (written on first
 * use), a catalog model's shape twin (written on first use), a catalog model pulled into the
 * cache, or a file or folder the user names. The engines' providers call these; a name that
 * is none of them is a ModelNotFoundError that suggests the nearest known names.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { EngineUnavailableError, ModelNotFoundError } from '../errors.js';
import { formatBytes } from '../units.js';
import { cachedModelPath, modelsDirectory } from './cache.js';
import { catalogNames, findCatalogModel, suggestModels } from './catalog.js';
import {
  DEMO_MODEL_NAMES,
  type DemoModelName,
  demoModelDefinition,
  isDemoModelName,
} from './demo/definitions.js';
import { ensureDemoModel } from './demo/demo-models.js';
import { ensureDemoOnnxModel } from './demo/demo-onnx.js';
import type { OnnxDtype } from './onnx/onnx-dtypes.js';
import { ensureTwin } from './twin/twin-file.js';

export interface ResolveOptions {
  /** Data and model cache (TANDEM_HOME). */
  home: string;
  /** Stops the writing of a demo model or twin on first use. */
  signal?: AbortSignal;
  /** Called while a shape twin is written on first use (a twin of phi-4-mini is 2.5 GB). */
  onTwinProgress?: (alias: string, writtenBytes: number, totalBytes: number) => void;
  /** Called while a demo model file is written on first use. */
  onDemoModelProgress?: (model: string, writtenBytes: number, totalBytes: number) => void;
}

/** A GGUF file to load, and what results should say about it. */
export interface ResolvedGguf {
  /** The model's name as tandem shows it. */
  model: string;
  modelPath: string;
  /** tandem's random-weight models: the demo models and shape twins. */
  isDemo?: boolean;
  /** A shape twin: the catalog alias whose architecture, shapes and quantization it copies. */
  twinOf?: string;
  parameterCount?: number;
}

/** Where an ONNX model is: a local folder, or a Hugging Face repository to download. */
export type OnnxLocation = { kind: 'folder'; path: string } | { kind: 'hub'; repository: string };

/** An ONNX model to load, and what results should say about it. */
export interface ResolvedOnnx {
  model: string;
  source: OnnxLocation;
  isDemo?: boolean;
  parameterCount?: number;
  /** The weights' data type to use when the caller names none (a repository's smallest). */
  preferredDtype?: OnnxDtype;
}

/** Every name `tandem` accepts without an engine prefix, for "did you mean". */
export function knownModelNames(): string[] {
  return [...DEMO_MODEL_NAMES, ...catalogNames()];
}

export function expandHome(path: string): string {
  return path.startsWith('~/') ? resolve(homedir(), path.slice(2)) : resolve(path);
}

/** Where and how a demo model is written on first use (GGUF or ONNX alike). */
function demoWriteOptions(name: DemoModelName, options: ResolveOptions) {
  return {
    modelsDirectory: modelsDirectory(options.home),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onDemoModelProgress === undefined
      ? {}
      : {
          onProgress: (written: number, total: number) =>
            options.onDemoModelProgress?.(name, written, total),
        }),
  };
}

/** The shape twin of a catalog alias, written on first use. */
export async function resolveTwin(alias: string, options: ResolveOptions): Promise<ResolvedGguf> {
  const twin = await ensureTwin(alias, {
    modelsDirectory: modelsDirectory(options.home),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onTwinProgress === undefined
      ? {}
      : {
          onProgress: (written: number, total: number) =>
            options.onTwinProgress?.(alias, written, total),
        }),
  });
  return {
    model: `twin:${twin.model.alias}`,
    modelPath: twin.path,
    isDemo: true,
    twinOf: twin.model.alias,
    parameterCount: twin.model.parameterCount,
  };
}

/**
 * The GGUF file a name stands for: a path, a demo model (written on first use), or a catalog
 * model in the cache. A catalog model that is not downloaded says how to pull it (or which
 * local servers have it).
 */
export async function resolveGguf(
  name: string,
  isPath: boolean,
  options: ResolveOptions,
): Promise<ResolvedGguf> {
  if (isPath) {
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
    return { model, modelPath };
  }
  if (isDemoModelName(name)) {
    const { path } = await ensureDemoModel(name, demoWriteOptions(name, options));
    return { model: name, modelPath: path, isDemo: true };
  }
  const catalogModel = findCatalogModel(name);
  if (catalogModel !== undefined) {
    const modelPath = cachedModelPath(options.home, catalogModel);
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
    return { model: catalogModel.alias, modelPath };
  }
  throw new ModelNotFoundError(name, suggestModels(name, knownModelNames()));
}

/** A Hugging Face repository id: owner/name, nothing that looks like a local path. */
const REPOSITORY_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/**
 * The ONNX model a name stands for: a demo model's folder (written on first use), a catalog
 * model's ONNX repository, a local folder, or a repository id.
 */
export async function resolveOnnx(
  name: string,
  isPath: boolean,
  options: ResolveOptions,
): Promise<ResolvedOnnx> {
  if (isDemoModelName(name)) {
    const { path } = await ensureDemoOnnxModel(name, demoWriteOptions(name, options));
    return {
      model: name,
      source: { kind: 'folder', path },
      isDemo: true,
      parameterCount: demoModelDefinition(name).parameterCount,
    };
  }
  const catalogModel = isPath ? undefined : findCatalogModel(name);
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
    return {
      model: catalogModel.alias,
      source: { kind: 'hub', repository },
      parameterCount: catalogModel.parameterCount,
      ...(preferred === undefined ? {} : { preferredDtype: preferred }),
    };
  }
  const folder = expandHome(name);
  if (existsSync(folder) || !REPOSITORY_ID.test(name)) {
    return {
      model:
        folder
          .split(/[\\/]/)
          .filter((part) => part !== '')
          .pop() ?? name,
      source: { kind: 'folder', path: folder },
    };
  }
  return { model: name, source: { kind: 'hub', repository: name } };
}

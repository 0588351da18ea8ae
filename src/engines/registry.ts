/**
 * The engines tandem knows, as a map of providers: a reference's prefix names a provider, the
 * provider reads the rest and creates the engine. Adding an engine is one folder that exports
 * a provider and one line in ENGINE_PROVIDERS. A composite model (a router over two models)
 * is a provider too: it creates the models it is made of through the same registry.
 */
import { InvalidArgumentError } from '../errors.js';
import type { OnnxDtype } from '../models/onnx/onnx-dtypes.js';
import { llamaProvider } from './llama/llama-provider.js';
import type { GpuChoice } from './llama/llama-runtime.js';
import type { OnnxDevice } from './onnx/onnx-devices.js';
import { onnxProvider } from './onnx/onnx-provider.js';
import { openaiProvider } from './openai/openai-provider.js';
import type { EngineProvider, ProviderContext, ProviderKind } from './provider.js';
import { isUrlReference, looksLikePath, type ModelReference, referenceParts } from './reference.js';
import type { Engine, EngineId } from './spec.js';

/**
 * Settings for creating an engine: the union of what the providers read. Each provider takes
 * the ones that apply to it and ignores the rest (the CLI refuses a flag the model's engine
 * does not read, through the provider's `referenceOptions`).
 */
export interface CreateEngineOptions {
  /** Data and model cache; default TANDEM_HOME, else the user's cache directory. */
  home?: string;
  env?: NodeJS.ProcessEnv;
  /** llama, onnx: threads (else `?threads=`, TANDEM_THREADS, or the size-capped default). */
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

export type Provider = EngineProvider<CreateEngineOptions>;

/** The engines tandem ships, the default (a reference with no prefix) first. */
export const ENGINE_PROVIDERS: readonly Provider[] = [llamaProvider, onnxProvider, openaiProvider];

export interface EngineRegistry {
  readonly providers: readonly Provider[];
  /** Reads a model reference (see reference.ts); throws a line that says how to write it. */
  parse(text: string): ModelReference;
  /** The provider that reads and creates a reference. */
  providerOf(reference: ModelReference): Provider;
  /**
   * Creates the engine a model reference names. Nothing is loaded yet; call `load()` (and
   * time it) or just `stream()`.
   */
  create(reference: string | ModelReference, options?: CreateEngineOptions): Promise<Engine>;
}

/** A misspelt option would silently measure a different setup: reject it. */
function checkReferenceOptions(reference: ModelReference, provider: Provider): void {
  const allowed = provider.referenceOptions;
  const models = `${provider.kind === 'server' ? 'server' : provider.id} models`;
  for (const key of Object.keys(reference.options)) {
    if (!allowed.includes(key)) {
      throw new InvalidArgumentError(
        `Unknown option '${key}' in '${reference.text}': ${models} take ${allowed.map((name) => `?${name}=`).join(', ')}.`,
      );
    }
  }
}

/**
 * A registry over some providers: the first is the default engine (a reference with no
 * prefix), the one with `parseUrl` reads URLs. Tests and composite models build their own.
 */
export function createEngineRegistry(providers: readonly Provider[]): EngineRegistry {
  const first = providers[0];
  if (first === undefined) throw new InvalidArgumentError('An engine registry needs a provider.');
  const fallback: Provider = first;
  const byPrefix = new Map<string, Provider>();
  for (const provider of providers) {
    for (const prefix of provider.prefixes) {
      if (byPrefix.has(prefix)) {
        throw new InvalidArgumentError(
          `Two engines read the prefix '${prefix}:' (${byPrefix.get(prefix)?.id} and ${provider.id}).`,
        );
      }
      byPrefix.set(prefix, provider);
    }
  }
  const byId = new Map(providers.map((provider) => [provider.id, provider]));
  const urlProvider = providers.find((provider) => provider.parseUrl !== undefined);

  function parse(input: string): ModelReference {
    const text = input.trim();
    if (urlProvider?.parseUrl !== undefined && isUrlReference(text)) {
      return urlProvider.parseUrl(text);
    }
    const parts = referenceParts(text);
    const named = byPrefix.get(parts.prefix);
    if (named !== undefined) return named.parse(parts);
    if (parts.prefix !== '' && parts.prefix.length > 1 && !looksLikePath(parts.body)) {
      throw new InvalidArgumentError(
        `Unknown engine '${parts.prefix}' in '${parts.text}': use one of ${[...byPrefix.keys()].join(', ')}${urlProvider === undefined ? '' : ', or a URL'}.`,
      );
    }
    // No prefix (or a drive letter, C:\…): the default engine reads the whole body.
    return fallback.parse(parts);
  }

  function providerOf(reference: ModelReference): Provider {
    const provider = byId.get(reference.engine);
    if (provider === undefined) {
      throw new InvalidArgumentError(
        `No engine '${reference.engine}' for '${reference.text}': use one of ${[...byId.keys()].join(', ')}.`,
      );
    }
    return provider;
  }

  async function create(
    reference: string | ModelReference,
    options: CreateEngineOptions = {},
  ): Promise<Engine> {
    const parsed = typeof reference === 'string' ? parse(reference) : reference;
    const provider = providerOf(parsed);
    checkReferenceOptions(parsed, provider);
    return provider.create(parsed, options, context);
  }

  const context: ProviderContext<CreateEngineOptions> = {
    createEngine: create,
    parseReference: parse,
  };
  return { providers, parse, providerOf, create };
}

/** The registry of the engines tandem ships. */
export const engineRegistry = createEngineRegistry(ENGINE_PROVIDERS);

/**
 * Where an engine of the shipped registry runs its models, by its id (`EngineInfo.engine`);
 * undefined for an engine the registry does not know (a test's fake).
 */
export function engineKind(id: EngineId): ProviderKind | undefined {
  return engineRegistry.providers.find((provider) => provider.id === id)?.kind;
}

/** Reads a model reference with the shipped engines (see reference.ts for the forms). */
export function parseModelReference(text: string): ModelReference {
  return engineRegistry.parse(text);
}

/**
 * Creates the engine a model reference names (see parseModelReference). Nothing is loaded
 * yet; call `load()` (and time it) or just `stream()`.
 */
export function createEngine(
  reference: string | ModelReference,
  options: CreateEngineOptions = {},
): Promise<Engine> {
  return engineRegistry.create(reference, options);
}

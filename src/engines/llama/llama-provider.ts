/**
 * The `llama` engine's provider: GGUF models in this process through llama.cpp. It reads
 * `llama:PATH_OR_NAME`, `twin:ALIAS` (a catalog model's random-weight shape twin) and, as
 * the registry's default, a reference with no prefix (`demo-slm`, `phi-4-mini`, `./x.gguf`).
 */
import { InvalidArgumentError } from '../../errors.js';
import { tandemHome } from '../../models/cache.js';
import { type ResolvedGguf, resolveGguf, resolveTwin } from '../../models/resolve.js';
import type { EngineProvider } from '../provider.js';
import { integerOption, looksLikePath, type ModelReference } from '../reference.js';
import type { CreateEngineOptions } from '../registry.js';
import { LlamaEngine } from './llama-engine.js';
import { GPU_CHOICES, type GpuChoice } from './llama-runtime.js';

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

export const llamaProvider: EngineProvider<CreateEngineOptions> = {
  id: 'llama',
  kind: 'embedded',
  prefixes: ['llama', 'twin'],
  referenceOptions: ['threads', 'gpu', 'ctx'],

  parse({ text, prefix, rest, body, options }) {
    if (prefix === 'twin') {
      if (rest === '' || looksLikePath(rest)) {
        throw new InvalidArgumentError(
          `'${text}' names no catalog model: write twin:ALIAS, e.g. twin:phi-4-mini.`,
        );
      }
      return {
        kind: 'local',
        engine: 'llama',
        name: rest,
        isPath: false,
        twin: true,
        options,
        text,
      };
    }
    if (prefix === 'llama') {
      if (rest === '') {
        throw new InvalidArgumentError(
          `No model in '${text}': write llama:NAME or llama:./path/to/model.`,
        );
      }
      return {
        kind: 'local',
        engine: 'llama',
        name: rest,
        isPath: looksLikePath(rest),
        options,
        text,
      };
    }
    // No prefix (the default engine), or a colon inside a path.
    return {
      kind: 'local',
      engine: 'llama',
      name: body,
      isPath: looksLikePath(body),
      options,
      text,
    };
  },

  async create(reference, options) {
    if (reference.kind !== 'local') {
      throw new InvalidArgumentError(`'${reference.text}' is not a llama model reference.`);
    }
    const env = options.env ?? process.env;
    const home = options.home ?? tandemHome(env);
    const threads = integerOption(reference, 'threads', { min: 1, max: 1024 }) ?? options.threads;
    const contextSize = integerOption(reference, 'ctx', { min: 16 }) ?? options.contextSize;
    const gpu = gpuOption(reference, options.gpu);
    // The settings resolving reads (home, signal, first-use progress) have the same names.
    const resolveOptions = { ...options, home };
    const resolved: ResolvedGguf =
      reference.twin === true
        ? await resolveTwin(reference.name, resolveOptions)
        : await resolveGguf(reference.name, reference.isPath, resolveOptions);
    return new LlamaEngine({
      reference: reference.text,
      env,
      ...(threads === undefined ? {} : { threads }),
      ...(contextSize === undefined ? {} : { contextSize }),
      ...(options.sequences === undefined ? {} : { sequences: options.sequences }),
      ...(gpu === undefined ? {} : { gpu }),
      ...resolved,
    });
  },
};

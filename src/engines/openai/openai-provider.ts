/**
 * The `openai` engine's provider: any OpenAI-compatible server. It reads a server preset's
 * prefix (`foundry:`, `ollama:`, `llamacpp:`, `lmstudio:`, `vllm:`, `openai:`) and URL
 * references (`http://host:port/v1#model-id`, also `foundry:http://…#id`).
 */
import { InvalidArgumentError } from '../../errors.js';
import type { EngineProvider } from '../provider.js';
import { type ModelReference, type ServerModelReference, splitOptions } from '../reference.js';
import type { CreateEngineOptions } from '../registry.js';
import { createOpenAIEngine } from './openai-engine.js';
import { getPreset, type PresetName, presets } from './presets.js';

function parseUrlReference(
  text: string,
  body: string,
  options: Record<string, string>,
): ServerModelReference {
  const hash = body.indexOf('#');
  const urlText = hash < 0 ? body : body.slice(0, hash);
  const model = hash < 0 ? '' : body.slice(hash + 1);
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new InvalidArgumentError(
      `Invalid server URL in '${text}': write it as http://host:port/v1#model-id.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(
      `Unsupported URL scheme '${url.protocol}' in '${text}': use http:// or https://.`,
    );
  }
  if (model === '') {
    throw new InvalidArgumentError(
      `No model id in '${text}': add it after '#', e.g. ${urlText}#phi-4-mini.`,
    );
  }
  return {
    kind: 'server',
    engine: 'openai',
    preset: 'openai',
    name: model,
    baseUrl: urlText.replace(/\/+$/, ''),
    options,
    text,
  };
}

export const openaiProvider: EngineProvider<CreateEngineOptions> = {
  id: 'openai',
  kind: 'server',
  prefixes: Object.keys(presets),
  referenceOptions: ['url'],

  parse({ text, prefix, rest, options }): ModelReference {
    if (/^https?:\/\//i.test(rest)) {
      return { ...parseUrlReference(text, rest, options), preset: prefix };
    }
    if (rest === '') {
      throw new InvalidArgumentError(
        `No model name in '${text}': write ${prefix}:MODEL, e.g. ${prefix}:phi-4-mini.`,
      );
    }
    return {
      kind: 'server',
      engine: 'openai',
      preset: prefix,
      name: rest,
      baseUrl: options.url?.replace(/\/+$/, ''),
      options,
      text,
    };
  },

  parseUrl(text) {
    // Options follow the model id: http://host/v1#id?threads=2 is not meaningful, but
    // `#id?url-options` is accepted the same way as elsewhere.
    const hash = text.indexOf('#');
    if (hash < 0) return parseUrlReference(text, text, {});
    const afterHash = splitOptions(text.slice(hash + 1));
    return parseUrlReference(text, `${text.slice(0, hash)}#${afterHash.body}`, afterHash.options);
  },

  async create(reference, options) {
    if (reference.kind !== 'server') {
      throw new InvalidArgumentError(`'${reference.text}' is not a server model reference.`);
    }
    const preset: PresetName = getPreset(reference.preset).name;
    return createOpenAIEngine({
      reference: reference.text,
      preset,
      model: reference.name,
      ...(reference.baseUrl === undefined ? {} : { baseUrl: reference.baseUrl }),
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
  },
};

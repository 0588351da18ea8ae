import { InvalidArgumentError } from '../errors.js';
import { type NumberBounds, parseWholeNumber } from '../numbers.js';
import { isPresetName, type PresetName, presets } from './openai/presets.js';

/**
 * A model reference: `[engine:]name[?option=value&...]`.
 *
 * - `phi-4-mini`, `demo-slm`           a catalog alias or demo model on the default engine (llama)
 * - `llama:./models/x.gguf`, `./x.gguf` a GGUF file
 * - `onnx:phi-4-mini`                   the onnx engine
 * - `twin:phi-4-mini`                   a catalog model's random-weight shape twin (llama engine)
 * - `foundry:phi-4-mini`, `ollama:phi4-mini`, `llamacpp:`, `lmstudio:`, `vllm:`  a local server preset
 * - `http://host:port/v1#model-id`      any OpenAI-compatible server (also `openai:http://…#id`)
 *
 * Options after `?` apply to that model only, e.g. `demo-llm?threads=1` or `ollama:qwen2.5:7b?url=http://box:11434/v1`.
 */
export type ModelReference =
  | {
      kind: 'local';
      engine: 'llama' | 'onnx';
      /** Alias or file/folder path as written. */
      name: string;
      /** True when `name` is a path (contains a slash or ends in .gguf). */
      isPath: boolean;
      /** `twin:ALIAS`: the catalog model's shape twin, not the model. */
      twin?: boolean;
      options: Readonly<Record<string, string>>;
      text: string;
    }
  | {
      kind: 'server';
      engine: 'openai';
      preset: PresetName;
      /** The model alias or id to ask the server for. */
      name: string;
      /** An explicit base URL (…/v1); presets have their own defaults. */
      baseUrl: string | undefined;
      options: Readonly<Record<string, string>>;
      text: string;
    };

const SERVER_PRESET_NAMES = Object.keys(presets) as PresetName[];

const LOCAL_ENGINES = ['llama', 'onnx'] as const;

function isLocalEngine(value: string): value is 'llama' | 'onnx' {
  return (LOCAL_ENGINES as readonly string[]).includes(value);
}

function looksLikePath(name: string): boolean {
  return (
    name.includes('/') ||
    name.includes('\\') ||
    name.toLowerCase().endsWith('.gguf') ||
    name.startsWith('.') ||
    name.startsWith('~')
  );
}

/** Splits `name?key=value&key2=value2`; a `?` inside a URL's query is not supported. */
function splitOptions(text: string): { body: string; options: Record<string, string> } {
  const index = text.indexOf('?');
  if (index < 0) return { body: text, options: {} };
  const options: Record<string, string> = {};
  for (const pair of text.slice(index + 1).split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = equals < 0 ? pair : pair.slice(0, equals);
    const value = equals < 0 ? 'true' : decodeURIComponent(pair.slice(equals + 1));
    if (!/^[a-zA-Z][a-zA-Z0-9-]*$/.test(key)) {
      throw new InvalidArgumentError(
        `Invalid option '${pair}' in model reference '${text}': write options as ?name=value&name2=value2.`,
      );
    }
    options[key] = value;
  }
  return { body: text.slice(0, index), options };
}

function parseUrlReference(
  text: string,
  body: string,
  options: Record<string, string>,
): ModelReference {
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

export function parseModelReference(input: string): ModelReference {
  const text = input.trim();
  if (text === '')
    throw new InvalidArgumentError('Empty model reference: name a model, e.g. demo-slm.');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const hash = text.indexOf('#');
    // Options follow the model id: http://host/v1#id?threads=2 is not meaningful, but
    // `#id?url-options` is accepted the same way as elsewhere.
    const { body, options } = hash < 0 ? { body: text, options: {} } : splitAfterHash(text, hash);
    return parseUrlReference(text, body, options);
  }
  const { body, options } = splitOptions(text);
  const colon = body.indexOf(':');
  const prefix = colon < 0 ? '' : body.slice(0, colon).toLowerCase();
  const rest = colon < 0 ? body : body.slice(colon + 1);
  if (prefix !== '' && isPresetName(prefix)) {
    if (/^https?:\/\//i.test(rest)) {
      const parsed = parseUrlReference(text, rest, options);
      return parsed.kind === 'server' ? { ...parsed, preset: prefix } : parsed;
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
  }
  if (prefix === 'twin') {
    if (rest === '' || looksLikePath(rest)) {
      throw new InvalidArgumentError(
        `'${text}' names no catalog model: write twin:ALIAS, e.g. twin:phi-4-mini.`,
      );
    }
    return { kind: 'local', engine: 'llama', name: rest, isPath: false, twin: true, options, text };
  }
  if (prefix !== '' && isLocalEngine(prefix)) {
    if (rest === '') {
      throw new InvalidArgumentError(
        `No model in '${text}': write ${prefix}:NAME or ${prefix}:./path/to/model.`,
      );
    }
    return {
      kind: 'local',
      engine: prefix,
      name: rest,
      isPath: looksLikePath(rest),
      options,
      text,
    };
  }
  if (prefix !== '' && prefix.length > 1 && !looksLikePath(body)) {
    throw new InvalidArgumentError(
      `Unknown engine '${prefix}' in '${text}': use one of llama, onnx, twin, ${SERVER_PRESET_NAMES.join(', ')}, or a URL.`,
    );
  }
  return { kind: 'local', engine: 'llama', name: body, isPath: looksLikePath(body), options, text };
}

function splitAfterHash(
  text: string,
  hash: number,
): { body: string; options: Record<string, string> } {
  const afterHash = splitOptions(text.slice(hash + 1));
  return { body: `${text.slice(0, hash)}#${afterHash.body}`, options: afterHash.options };
}

/** Reads a whole-number option such as `threads`. */
export function integerOption(
  reference: ModelReference,
  key: string,
  bounds: NumberBounds = { min: 1 },
): number | undefined {
  const value = reference.options[key];
  if (value === undefined) return undefined;
  return parseWholeNumber(value, `${key}=${value} in '${reference.text}'`, bounds);
}

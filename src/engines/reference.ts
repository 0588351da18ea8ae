import { InvalidArgumentError } from '../errors.js';
import { type NumberBounds, parseWholeNumber } from '../numbers.js';

/**
 * A model reference: `[engine:]name[?option=value&...]`. The syntax is read here; which
 * engine a prefix names is the registry's business (engines/registry.ts), and each engine's
 * provider reads the rest of its own references.
 *
 * - `phi-4-mini`, `demo-slm`           a catalog alias or demo model on the default engine (llama)
 * - `llama:./models/x.gguf`, `./x.gguf` a GGUF file
 * - `onnx:phi-4-mini`                   the onnx engine
 * - `twin:phi-4-mini`                   a catalog model's random-weight shape twin (llama engine)
 * - `foundry:phi-4-mini`, `ollama:phi4-mini`, `llamacpp:`, `lmstudio:`, `vllm:`  a local server preset
 * - `http://host:port/v1#model-id`      any OpenAI-compatible server (also `openai:http://…#id`)
 * - `PREFIX:…` of a composite provider  a model made of other models (a router over two models)
 *
 * Options after `?` apply to that model only, e.g. `demo-llm?threads=1` or `ollama:qwen2.5:7b?url=http://box:11434/v1`.
 */
export type ModelReference = LocalModelReference | ServerModelReference | CompositeModelReference;

/** A model run in this process from a file or folder (llama, onnx). */
export interface LocalModelReference {
  kind: 'local';
  /** The id of the engine (provider) that runs it. */
  engine: string;
  /** Alias or file/folder path as written. */
  name: string;
  /** True when `name` is a path (contains a slash or ends in .gguf). */
  isPath: boolean;
  /** `twin:ALIAS`: the catalog model's shape twin, not the model. */
  twin?: boolean;
  options: Readonly<Record<string, string>>;
  text: string;
}

/** A model behind an OpenAI-compatible server. */
export interface ServerModelReference {
  kind: 'server';
  /** The id of the engine (provider) that talks to the server. */
  engine: string;
  /** The server preset: foundry, ollama, llamacpp, lmstudio, vllm, or openai (any server). */
  preset: string;
  /** The model alias or id to ask the server for. */
  name: string;
  /** An explicit base URL (…/v1); presets have their own defaults. */
  baseUrl: string | undefined;
  options: Readonly<Record<string, string>>;
  text: string;
}

/**
 * A model made of other models (a router that drafts on one and refines on another): its
 * provider reads `body` (which names the inner models) and creates them through the registry.
 */
export interface CompositeModelReference {
  kind: 'composite';
  /** The id of the composite provider. */
  engine: string;
  /** Everything between `PREFIX:` and the options, as written. */
  name: string;
  options: Readonly<Record<string, string>>;
  text: string;
}

/** A reference cut into its parts, before any provider reads it. */
export interface ReferenceParts {
  /** The whole reference as written (trimmed). */
  text: string;
  /** The lower-cased text before the first `:`, or '' when there is none. */
  prefix: string;
  /** What follows the prefix's colon (everything before `?` when there is no prefix). */
  rest: string;
  /** Everything before `?` (prefix included). */
  body: string;
  options: Record<string, string>;
}

/** True when a name is a file or folder path rather than an alias. */
export function looksLikePath(name: string): boolean {
  return (
    name.includes('/') ||
    name.includes('\\') ||
    name.toLowerCase().endsWith('.gguf') ||
    name.startsWith('.') ||
    name.startsWith('~')
  );
}

/** True when the reference is a URL (`http://…`, or any `scheme://`). */
export function isUrlReference(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

/** Splits `name?key=value&key2=value2`; a `?` inside a URL's query is not supported. */
export function splitOptions(text: string): { body: string; options: Record<string, string> } {
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

/**
 * Cuts a (non-URL) reference into prefix, rest and options. An empty reference is refused
 * with a line that says what to write.
 */
export function referenceParts(input: string): ReferenceParts {
  const text = input.trim();
  if (text === '')
    throw new InvalidArgumentError('Empty model reference: name a model, e.g. demo-slm.');
  const { body, options } = splitOptions(text);
  const colon = body.indexOf(':');
  const prefix = colon < 0 ? '' : body.slice(0, colon).toLowerCase();
  const rest = colon < 0 ? body : body.slice(colon + 1);
  return { text, prefix, rest, body, options };
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

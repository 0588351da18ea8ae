/**
 * What an engine folder exports so the registry can read its references and create its
 * engines (types only). Adding an engine is one folder that exports a provider and one line
 * in engines/registry.ts; nothing else names engines one by one. `Options` is the registry's
 * settings bag (CreateEngineOptions): each provider reads the settings that apply to it.
 */
import type { ModelReference, ReferenceParts } from './reference.js';
import type { Engine } from './spec.js';

/** Where a provider's models run; the CLI and the results word things by it. */
export type ProviderKind =
  /** In this process (llama.cpp, ONNX Runtime): threads, memory and load time are ours. */
  | 'embedded'
  /** Behind an HTTP server: the server chooses devices and holds the memory. */
  | 'server'
  /** Made of other models (a router over a small and a large model). */
  | 'composite';

/** What the registry lends a provider while it creates an engine. */
export interface ProviderContext<Options extends object> {
  /**
   * Creates the engine of another reference through the same registry: how a composite
   * model creates the models it is made of (pass on the options it was given).
   */
  createEngine(reference: string | ModelReference, options: Options): Promise<Engine>;
  /** Reads another reference through the same registry (a composite's inner models). */
  parseReference(text: string): ModelReference;
}

export interface EngineProvider<Options extends object> {
  /** The engine's id, as results name it (`EngineInfo.engine`): llama, onnx, openai… */
  readonly id: string;
  readonly kind: ProviderKind;
  /**
   * The prefixes that name this provider in a reference (`llama:`, `twin:`, a server preset
   * such as `ollama:`), lower case, in the order "use one of …" lists them.
   */
  readonly prefixes: readonly string[];
  /**
   * The `?name=value` options its references take. Any other is refused: a misspelt option
   * would silently measure another setup. The CLI reads it to refuse flags this engine ignores.
   */
  readonly referenceOptions: readonly string[];
  /**
   * Reads a reference whose prefix is one of `prefixes` or, for the registry's default
   * provider (the first), one with no known prefix. Throws InvalidArgumentError with a line
   * that says how to write it.
   */
  parse(parts: ReferenceParts): ModelReference;
  /** Reads a URL reference (`http://host:port/v1#id`), for the one provider that takes URLs. */
  parseUrl?(text: string): ModelReference;
  /** Creates the engine a reference names. Nothing is loaded yet. */
  create(
    reference: ModelReference,
    options: Options,
    context: ProviderContext<Options>,
  ): Promise<Engine>;
}

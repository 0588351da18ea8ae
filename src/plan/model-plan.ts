/**
 * `tandem models plan`: will a model fit this machine, and how fast will it answer, before
 * downloading it? The model's shape twin (or any GGUF file, a real one included) is loaded
 * in the llama engine and measured: load time, memory, TTFT for a short and a long prompt,
 * decode tokens/s and its share of the memory-bandwidth ceiling. What follows from the file's
 * header alone (KV cache per token, bytes read per token, whether it fits with a context) is
 * computed, and the fit check is a pure function.
 */

import { freemem, totalmem } from 'node:os';
import { type CreateEngineOptions, createEngine } from '../engines/registry.js';
import type { Engine, EngineMemoryBuffer } from '../engines/spec.js';
import { InvalidArgumentError } from '../errors.js';
import { measureRun, type RunResult } from '../generate/generate.js';
import { PeakRssSampler, readProcessRss } from '../measure/memory.js';
import { measureReadBandwidth } from '../measure/memory-bandwidth.js';
import {
  type GgufHeader,
  metadataNumber,
  metadataString,
  readGgufHeader,
} from '../models/gguf/reader.js';

/** What the header says about the model's shape and cost. */
export interface ModelShape {
  architecture: string;
  layers: number;
  embeddingLength: number;
  headCount: number;
  headCountKv: number;
  headDimension: number;
  vocabularySize: number;
  contextLength: number;
  parameterCount: number;
  /** Tensor data bytes (the weights), without the header. */
  weightBytes: number;
  fileSizeBytes: number;
  /**
   * KV cache bytes per token of context, K and V in f16 (llama.cpp's default), over the
   * layers that attend to the whole context.
   */
  kvCacheBytesPerToken: number;
  /**
   * Layers that attend to a sliding window only (gpt-oss: every other one). llama.cpp gives
   * them a cache of the window plus a batch (512 tokens), whatever the context.
   */
  slidingWindowLayers: number;
  slidingWindow: number | undefined;
  /** KV cache bytes per cell of the sliding-window layers together (0 when none slide). */
  slidingKvCacheBytesPerToken: number;
  /** Mixture of experts: experts per layer and experts each token uses (undefined if dense). */
  expertCount: number | undefined;
  expertUsedCount: number | undefined;
  /**
   * Parameters a token uses: all of them, less the experts it does not pick and, when the
   * embedding is not also the output, all but its one row.
   */
  activeParameterCount: number;
  /**
   * Weight bytes decode reads per token: every matrix once, except the token embedding, of
   * which only a row is read, unless it is also the output matrix (tied), and, in a mixture
   * of experts, only the share of the expert tensors a token's experts hold.
   */
  bytesReadPerToken: number;
  /** Set when the file is a tandem shape twin: the catalog alias it copies. */
  twinOf: string | undefined;
}

function required(header: GgufHeader, key: string): number {
  const value = metadataNumber(header.metadata.get(key));
  if (value === undefined) throw new InvalidArgumentError(`${header.path} has no ${key}.`);
  return value;
}

/**
 * Architectures whose layers alternate sliding-window and full attention, with llama.cpp's
 * default pattern: in every `n` layers, the first n − 1 slide (gpt-oss: 2, so every other).
 * phi3 files carry a sliding_window key too, which llama.cpp does not use.
 */
const SLIDING_WINDOW_PATTERN: Readonly<Record<string, number>> = { 'gpt-oss': 2 };

/**
 * The cells llama.cpp gives a sliding-window layer's cache: the window and a batch of 512,
 * rounded up to 256 (GGML_PAD(n_swa + n_ubatch, 256); gpt-oss: 768, which its KV buffer
 * size confirms), and never more than the context.
 */
export function slidingWindowCells(window: number, contextTokens: number): number {
  return Math.min(contextTokens, Math.ceil((window + 512) / 256) * 256);
}

/** KV cache bytes at a context: the full layers' per token, the sliding ones' capped. */
export function kvCacheBytes(shape: ModelShape, contextTokens: number): number {
  return shape.kvCacheBytesPerToken * contextTokens + slidingKvCacheBytes(shape, contextTokens);
}

/** The sliding-window layers' KV cache at a context: it stops growing past window + batch. */
export function slidingKvCacheBytes(shape: ModelShape, contextTokens: number): number {
  if (shape.slidingWindow === undefined) return 0;
  return shape.slidingKvCacheBytesPerToken * slidingWindowCells(shape.slidingWindow, contextTokens);
}

/** The shape and per-token costs of a GGUF model, from its header. */
export function modelShape(header: GgufHeader): ModelShape {
  const architecture = metadataString(header.metadata.get('general.architecture'));
  if (architecture === undefined) {
    throw new InvalidArgumentError(
      `${header.path} has no general.architecture: it is not a model GGUF.`,
    );
  }
  const key = (name: string) => `${architecture}.${name}`;
  const layers = required(header, key('block_count'));
  const embeddingLength = required(header, key('embedding_length'));
  const headCount = required(header, key('attention.head_count'));
  const headCountKv =
    metadataNumber(header.metadata.get(key('attention.head_count_kv'))) ?? headCount;
  const headDimension =
    metadataNumber(header.metadata.get(key('attention.key_length'))) ?? embeddingLength / headCount;
  const valueDimension =
    metadataNumber(header.metadata.get(key('attention.value_length'))) ?? headDimension;
  const embedding = header.tensors.find((tensor) => tensor.name === 'token_embd.weight');
  const hasOutput = header.tensors.some((tensor) => tensor.name === 'output.weight');
  const expertCount = metadataNumber(header.metadata.get(key('expert_count')));
  const expertUsedCount = metadataNumber(header.metadata.get(key('expert_used_count')));
  const experts = expertCount !== undefined && expertCount > 0 ? expertCount : undefined;
  // The share of an expert tensor ([.., .., experts]) that one token's experts hold.
  const usedShare = experts === undefined ? 1 : Math.min(1, (expertUsedCount ?? experts) / experts);
  // Expert weights ([in, out, experts]) and their biases ([out, experts]): the last dimension.
  const isExpertTensor = (tensor: { name: string; shape: readonly number[] }) =>
    experts !== undefined &&
    tensor.name.includes('_exps.') &&
    tensor.shape[tensor.shape.length - 1] === experts;
  let weightBytes = 0;
  let parameterCount = 0;
  let activeParameterCount = 0;
  let unusedExpertBytes = 0;
  for (const tensor of header.tensors) {
    weightBytes += tensor.sizeBytes ?? 0;
    parameterCount += tensor.elementCount;
    const share = isExpertTensor(tensor) ? usedShare : 1;
    activeParameterCount += tensor.elementCount * share;
    unusedExpertBytes += (tensor.sizeBytes ?? 0) * (1 - share);
  }
  const embeddingBytes = embedding?.sizeBytes ?? 0;
  const embeddingRowBytes =
    embedding === undefined ? 0 : embeddingBytes / (embedding.shape[1] ?? 1);
  const slidingWindow = SLIDING_WINDOW_PATTERN[architecture]
    ? metadataNumber(header.metadata.get(key('attention.sliding_window')))
    : undefined;
  const pattern = SLIDING_WINDOW_PATTERN[architecture] ?? 0;
  let slidingWindowLayers = 0;
  if (slidingWindow !== undefined && pattern > 0) {
    for (let layer = 0; layer < layers; layer++) {
      if (layer % pattern < pattern - 1) slidingWindowLayers++;
    }
  }
  const kvBytesPerLayerToken = headCountKv * (headDimension + valueDimension) * 2;
  return {
    architecture,
    layers,
    embeddingLength,
    headCount,
    headCountKv,
    headDimension,
    vocabularySize: embedding?.shape[1] ?? 0,
    contextLength: required(header, key('context_length')),
    parameterCount,
    weightBytes,
    fileSizeBytes: header.fileSizeBytes,
    kvCacheBytesPerToken: (layers - slidingWindowLayers) * kvBytesPerLayerToken,
    slidingWindowLayers,
    slidingWindow,
    slidingKvCacheBytesPerToken: slidingWindowLayers * kvBytesPerLayerToken,
    expertCount: experts,
    expertUsedCount: experts === undefined ? undefined : (expertUsedCount ?? experts),
    // A token reads one row of an untied embedding (as model cards count active parameters).
    activeParameterCount: Math.round(
      activeParameterCount -
        (hasOutput && embedding !== undefined
          ? embedding.elementCount - (embedding.shape[0] ?? 0)
          : 0),
    ),
    bytesReadPerToken:
      (hasOutput ? weightBytes - embeddingBytes + embeddingRowBytes : weightBytes) -
      unusedExpertBytes,
    twinOf: metadataString(header.metadata.get('tandem.twin')),
  };
}

export interface FitCheck {
  fits: boolean;
  /** The context the check is for. */
  contextTokens: number;
  /** Weights + KV cache at the context + runtime buffers (an estimate). */
  neededBytes: number;
  weightsBytes: number;
  kvCacheBytes: number;
  /** llama.cpp's compute buffers and the rest, measured after load when known, else estimated. */
  runtimeBytes: number;
  totalMemoryBytes: number;
  availableMemoryBytes: number;
  /** Fits in what is free now, not only in the machine's total. */
  fitsNow: boolean;
}

/**
 * Does the model fit with `contextTokens` of context? The weights are memory-mapped and read
 * whole while decoding, so all of them count; the KV cache grows with the context.
 */
export function fitCheck(options: {
  weightsBytes: number;
  kvCacheBytesPerToken: number;
  contextTokens: number;
  /** KV cache that does not grow with the context (sliding-window layers); 0 if omitted. */
  fixedKvCacheBytes?: number;
  runtimeBytes: number;
  totalMemoryBytes: number;
  availableMemoryBytes: number;
}): FitCheck {
  const kvCacheBytes =
    options.kvCacheBytesPerToken * options.contextTokens + (options.fixedKvCacheBytes ?? 0);
  const neededBytes = options.weightsBytes + kvCacheBytes + options.runtimeBytes;
  return {
    fits: neededBytes <= options.totalMemoryBytes,
    fitsNow: neededBytes <= options.availableMemoryBytes,
    neededBytes,
    contextTokens: options.contextTokens,
    weightsBytes: options.weightsBytes,
    kvCacheBytes,
    runtimeBytes: options.runtimeBytes,
    totalMemoryBytes: options.totalMemoryBytes,
    availableMemoryBytes: options.availableMemoryBytes,
  };
}

export interface PlanOptions {
  /** Context the fit check is for, and the one loaded where it fits (see loadedContextFor). */
  contextTokens: number;
  /** Tokens decoded for the decode figure. */
  decodeTokens: number;
  /** Words in the long prompt (its token count is measured). */
  longPromptWords: number;
  engineOptions?: CreateEngineOptions;
  /** Measure the memory bandwidth ceiling (a few seconds). */
  bandwidth?: boolean;
  onStep?: (step: string) => void;
  signal?: AbortSignal;
}

export interface ModelPlan {
  reference: string;
  modelPath: string;
  shape: ModelShape;
  /** Milliseconds spent writing the twin in this run; undefined when reused or not a twin. */
  twinBuildMs: number | undefined;
  loadMs: number;
  rssAfterLoadDeltaBytes: number;
  peakRssDeltaBytes: number;
  loadedContextTokens: number;
  short: { promptTokens: number | undefined; ttftMs: number | undefined };
  long: { promptTokens: number | undefined; ttftMs: number | undefined };
  decodeTokensPerSecond: number | undefined;
  decodeTokens: number;
  bandwidth:
    | { bytesPerSecond: number; ceilingTokensPerSecond: number; share: number | undefined }
    | undefined;
  /**
   * The buffers llama.cpp said it allocated at load (undefined when it said nothing): the
   * weights it copied into its CPU layout (repacked: RSS counts those bytes twice, once in
   * the copy and once in the mapped file, whose pages for them go unused and can be dropped),
   * the KV cache at the loaded context, and the compute and output buffers.
   */
  buffers:
    | {
        repackedWeightsBytes: number;
        kvCacheBytes: number;
        computeBytes: number;
        outputBytes: number;
      }
    | undefined;
  fit: FitCheck;
  threads: number | undefined;
}

export const SHORT_PROMPT = 'Explain in three sentences why small language models matter.';

/** A deterministic long prompt of `words` words (a report to summarise). */
export function longPrompt(words: number): string {
  const vocabulary = [
    'revenue',
    'quarter',
    'growth',
    'customer',
    'latency',
    'model',
    'budget',
    'server',
    'report',
    'region',
    'forecast',
    'margin',
    'risk',
    'team',
    'launch',
    'metric',
    'cost',
    'review',
  ];
  const text: string[] = [];
  for (let index = 0; index < words; index++)
    text.push(vocabulary[(index * 7 + (index >> 3)) % vocabulary.length] as string);
  return `Summarise this report in two sentences:\n${text.join(' ')}`;
}

/** Totals of llama.cpp's reported buffers by kind, or undefined when there are none. */
export function summariseBuffers(
  buffers: readonly EngineMemoryBuffer[] | undefined,
): ModelPlan['buffers'] {
  if (buffers === undefined || buffers.length === 0) return undefined;
  const total = (test: (buffer: EngineMemoryBuffer) => boolean) =>
    buffers.filter(test).reduce((sum, buffer) => sum + buffer.bytes, 0);
  return {
    repackedWeightsBytes: total((b) => b.kind === 'model' && /REPACK/i.test(b.label)),
    kvCacheBytes: total((b) => b.kind === 'kv'),
    computeBytes: total((b) => b.kind === 'compute'),
    outputBytes: total((b) => b.kind === 'output'),
  };
}

/** Tokens a chat template adds around a prompt, at most (ChatML adds about 10). */
const TEMPLATE_TOKENS = 64;
/** Where the asked context does not fit in free memory, the plan loads at most this many. */
const FALLBACK_LOADED_CONTEXT = 8192;
/** Room left for llama.cpp's compute buffers when deciding whether a context fits (0.3–0.5 GB here). */
const RUNTIME_HEADROOM_BYTES = 1024 ** 3;

/**
 * The context the plan loads the model with: the one asked for (so llama.cpp's own KV and
 * compute buffers are measured there), with room for the long prompt and the decode at
 * one token per byte at most; or, when that would not fit in the memory free now, at most
 * 8,192 tokens. llama.cpp caps it at the model's trained context.
 */
export function loadedContextFor(
  shape: ModelShape,
  options: {
    contextTokens: number;
    longPromptWords: number;
    decodeTokens: number;
    availableMemoryBytes: number;
  },
): number {
  // No tokenizer with byte fallback makes more tokens than the text has bytes.
  const longPromptBytes = Buffer.byteLength(longPrompt(options.longPromptWords));
  const promptsNeed = Math.max(
    longPromptBytes + TEMPLATE_TOKENS,
    Buffer.byteLength(SHORT_PROMPT) + TEMPLATE_TOKENS + options.decodeTokens,
  );
  const wanted = Math.max(options.contextTokens, promptsNeed);
  const neededBytes = shape.fileSizeBytes + kvCacheBytes(shape, wanted) + RUNTIME_HEADROOM_BYTES;
  if (neededBytes <= options.availableMemoryBytes) return wanted;
  return Math.max(Math.min(options.contextTokens, FALLBACK_LOADED_CONTEXT), promptsNeed);
}

export async function planModel(reference: string, options: PlanOptions): Promise<ModelPlan> {
  if (!Number.isInteger(options.contextTokens) || options.contextTokens < 16) {
    throw new InvalidArgumentError(
      `--ctx ${options.contextTokens}: give a context of at least 16 tokens.`,
    );
  }
  const step = options.onStep ?? (() => undefined);
  const engineOptions = (contextSize: number): CreateEngineOptions => ({
    ...options.engineOptions,
    contextSize,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const twinStartedAt = performance.now();
  let twinWritten = false;
  // Creating the engine resolves the model (writing a twin on first use) but loads nothing.
  let engine: Engine = await createEngine(reference, {
    ...engineOptions(options.contextTokens),
    onTwinProgress: (alias, written, total) => {
      twinWritten = true;
      options.engineOptions?.onTwinProgress?.(alias, written, total);
    },
  });
  const twinBuildMs = twinWritten ? performance.now() - twinStartedAt : undefined;
  let sampler: PeakRssSampler | undefined;
  try {
    if (engine.info.engine !== 'llama' || engine.info.modelPath === undefined) {
      throw new InvalidArgumentError(
        `tandem models plan measures GGUF files in the llama engine: give a catalog alias, twin:ALIAS or a .gguf path, not ${reference}.`,
      );
    }
    const modelPath = engine.info.modelPath;
    const header = await readGgufHeader(modelPath);
    const shape = modelShape(header);
    // Free memory before this model takes any: the fit check sets the whole need against it.
    const availableMemoryBytes = freemem();
    const contextToLoad = loadedContextFor(shape, {
      contextTokens: options.contextTokens,
      longPromptWords: options.longPromptWords,
      decodeTokens: options.decodeTokens,
      availableMemoryBytes,
    });
    if (contextToLoad !== options.contextTokens) {
      const unloaded = engine;
      engine = await createEngine(reference, engineOptions(contextToLoad));
      await unloaded.dispose();
    }
    await engine.prepare?.();
    step('load');
    sampler = new PeakRssSampler();
    const beforeLoad = readProcessRss();
    const loadStartedAt = performance.now();
    await engine.load(options.signal === undefined ? {} : { signal: options.signal });
    const loadMs = performance.now() - loadStartedAt;
    const rssAfterLoadDeltaBytes = Math.max(0, readProcessRss() - beforeLoad);
    // Before any measuring: does the long prompt fit the context llama.cpp gave?
    const longText = longPrompt(options.longPromptWords);
    const longTokens = (await engine.countTokens?.(longText)) ?? 0;
    const contextSize = engine.info.contextSize ?? contextToLoad;
    if (longTokens + 4 + TEMPLATE_TOKENS > contextSize) {
      throw new InvalidArgumentError(
        `The long prompt (--long-words ${options.longPromptWords}) is ${longTokens.toLocaleString('en-US')} tokens, too many for the ${contextSize.toLocaleString('en-US')}-token context ${engine.info.model} was loaded with (its trained context is ${shape.contextLength.toLocaleString('en-US')}): give fewer --long-words.`,
      );
    }
    const generate = (prompt: string, maxTokens: number): Promise<RunResult> =>
      measureRun(
        engine,
        {
          prompt,
          maxTokens,
          temperature: 0,
          ignoreEos: true,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        },
        { cold: false },
      );
    step('warm-up');
    await generate(SHORT_PROMPT, 4);
    step('short prompt');
    const short = await generate(SHORT_PROMPT, options.decodeTokens);
    step('long prompt');
    const long = await generate(longText, 4);
    const peak = sampler.stop();
    let bandwidth: ModelPlan['bandwidth'];
    if (options.bandwidth !== false) {
      step('memory bandwidth');
      const threads = engine.info.threads ?? 1;
      const measured = await measureReadBandwidth({ threads, repetitions: 5 });
      const best = Math.max(...measured.samplesBytesPerSecond);
      const ceiling = best / shape.bytesReadPerToken;
      bandwidth = {
        bytesPerSecond: best,
        ceilingTokensPerSecond: ceiling,
        share:
          short.decodeTokensPerSecond === undefined
            ? undefined
            : short.decodeTokensPerSecond / ceiling,
      };
    }
    // llama.cpp's own figure: it caps the context at the trained one and pads it.
    const loadedContextTokens = engine.info.contextSize ?? contextToLoad;
    const buffers = summariseBuffers(engine.info.memoryBuffers);
    // Beyond the weights and the KV cache: llama.cpp's compute and output buffers as it
    // reported them; else what the peak RSS leaves over (which then also holds any weights
    // it copied, so it overstates).
    const runtimeBytes =
      buffers !== undefined
        ? buffers.computeBytes + buffers.outputBytes
        : Math.max(
            0,
            peak.peakDeltaBytes - shape.fileSizeBytes - kvCacheBytes(shape, loadedContextTokens),
          );
    return {
      reference,
      modelPath,
      shape,
      twinBuildMs,
      loadMs,
      rssAfterLoadDeltaBytes,
      peakRssDeltaBytes: peak.peakDeltaBytes,
      loadedContextTokens,
      short: { promptTokens: short.promptTokens, ttftMs: short.ttftMs },
      long: { promptTokens: long.promptTokens, ttftMs: long.ttftMs },
      decodeTokensPerSecond: short.decodeTokensPerSecond,
      decodeTokens: short.outputTokens ?? options.decodeTokens,
      bandwidth,
      buffers,
      fit: fitCheck({
        weightsBytes: shape.fileSizeBytes,
        kvCacheBytesPerToken: shape.kvCacheBytesPerToken,
        contextTokens: options.contextTokens,
        fixedKvCacheBytes: slidingKvCacheBytes(shape, options.contextTokens),
        runtimeBytes,
        totalMemoryBytes: totalmem(),
        availableMemoryBytes,
      }),
      threads: engine.info.threads,
    };
  } finally {
    sampler?.stop();
    await engine.dispose();
  }
}

/**
 * Shape twins: GGUF files with a catalog model's exact architecture, tensor names, shapes
 * and per-tensor quantization types (so the same file size and bytes read per token), and
 * random weights. Speed and memory depend on those, not on the weights' values, so a twin
 * answers "how fast, how much memory" before any download.
 *
 * The tensor types follow llama.cpp's Q4_K_M recipe as it made the published files
 * (llama-quant.cpp, 2024–2025): Q4_K by default; Q6_K for the output (or the embedding when
 * it is tied to the output) and for attn_v and ffn_down on the "more bits" layers; Q5_K for
 * phi3's fused attn_qkv; a row length that is not a multiple of 256 falls back to Q5_0 (for
 * Q4_K), Q5_1 (for Q5_K) or Q8_0 (for Q6_K); one-dimensional tensors stay F32. The counts
 * this gives match the published files' (docs/catalog-sources.md and the load logs cited in
 * `sources`).
 */

import { InvalidArgumentError } from '../../errors.js';
import type { CatalogModel } from '../catalog.js';
import { buildDemoVocabulary, CHATML_TEMPLATE, DEMO_SPECIAL_TOKENS } from '../demo/vocabulary.js';
import { GGML_TYPE, type GgmlTypeId, type GgufMetadataValue, ggufValue } from '../gguf/types.js';

/** What the catalog does not say but a faithful file needs, per model. */
export interface TwinFacts {
  /** config.json rms_norm_eps. */
  rmsEpsilon: number;
  /** The published GGUF has no output.weight: the output reuses token_embd. */
  tiedOutput: boolean;
  /** Rotary dimensions, where not the whole head (phi3: partial_rotary_factor 0.75). */
  ropeDimensionCount?: number;
  /** phi3 LongRoPE: rope_factors_long/short tensors and these keys. */
  longRope?: { originalContextLength: number; attentionFactor: number };
  /**
   * The sliding_window key: phi3's (llama.cpp ignores it for phi3, but the file has it), or
   * gpt-oss's, whose every other layer attends to this many tokens only.
   */
  slidingWindow?: number;
  /**
   * Llama 3's rope scaling: the file carries a rope_freqs.weight tensor (head dimension / 2
   * factors) that the converter computes from config.json's rope_scaling.
   */
  ropeFrequencyFactors?: boolean;
  /** Head dimension, where it is not embedding / heads (gpt-oss: 64, with 2880 / 64 heads). */
  headDimension?: number;
  /** YaRN rope scaling (gpt-oss). */
  yarn?: { factor: number; originalContextLength: number };
  /** Mixture of experts: each expert's feed-forward length (config.json intermediate_size). */
  expertFeedForwardLength?: number;
  /** Where these facts were checked. */
  sources: string[];
}

export const TWIN_FACTS: Readonly<Record<string, TwinFacts>> = {
  'phi-4-mini': {
    rmsEpsilon: 1e-5,
    tiedOutput: true,
    ropeDimensionCount: 96,
    longRope: { originalContextLength: 4096, attentionFactor: 1.190238 },
    slidingWindow: 262_144,
    sources: [
      'https://huggingface.co/microsoft/Phi-4-mini-instruct/blob/main/config.json',
      'llama.cpp load log of Phi-4-mini-instruct-Q4_K_M.gguf (36 KVs, 196 tensors: f32 67, q4_K 80, q5_K 32, q6_K 17)',
    ],
  },
  'qwen2.5-0.5b': {
    rmsEpsilon: 1e-6,
    // The official Q4_K_M file carries a separate output.weight (Q8_0) although the model ties.
    tiedOutput: false,
    sources: [
      'https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/blob/main/config.json',
      'llama.cpp load log of qwen2.5-0.5b-instruct-q4_k_m.gguf (f32 121, q5_0 133, q8_0 13, q4_K 12, q6_K 12)',
    ],
  },
  'qwen2.5-7b': {
    rmsEpsilon: 1e-6,
    tiedOutput: false,
    sources: ['https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/blob/main/config.json'],
  },
  'gpt-oss-20b': {
    rmsEpsilon: 1e-5,
    tiedOutput: false,
    headDimension: 64,
    slidingWindow: 128,
    yarn: { factor: 32, originalContextLength: 4096 },
    expertFeedForwardLength: 2880,
    sources: [
      'https://huggingface.co/openai/gpt-oss-20b/blob/main/config.json',
      'llama.cpp load log of ggml-org/gpt-oss-20b-GGUF gpt-oss-20b-mxfp4.gguf (35 KVs, 459 tensors: f32 289, q8_0 98, mxfp4 72; 11.27 GiB)',
    ],
  },
  'smollm2-360m': {
    rmsEpsilon: 1e-5,
    tiedOutput: true,
    sources: ['https://huggingface.co/HuggingFaceTB/SmolLM2-360M-Instruct/blob/main/config.json'],
  },
};

/** How a tensor's values are made. */
export type TwinFill = 'random' | 'ones' | 'zeros';

export interface TwinTensor {
  name: string;
  /** ggml order: shape[0] is the row length. */
  shape: number[];
  type: GgmlTypeId;
  fill: TwinFill;
}

export interface TwinLayout {
  alias: string;
  architecture: string;
  quantization: string;
  metadata: [string, GgufMetadataValue][];
  tensors: TwinTensor[];
}

/** llama.cpp's use_more_bits: the first and last eighth of the layers and every third between. */
export function usesMoreBits(layer: number, layers: number): boolean {
  const eighth = Math.floor(layers / 8);
  return layer < eighth || layer >= Math.floor((7 * layers) / 8) || (layer - eighth) % 3 === 2;
}

/** A K-quant type for a row length, with llama.cpp's fallback when rows do not hold 256. */
function fitted(type: GgmlTypeId, rowLength: number): GgmlTypeId {
  if (rowLength % 256 === 0) return type;
  if (type === GGML_TYPE.Q6_K) return GGML_TYPE.Q8_0;
  if (type === GGML_TYPE.Q4_K) return GGML_TYPE.Q5_0;
  if (type === GGML_TYPE.Q5_K) return GGML_TYPE.Q5_1;
  return type;
}

/**
 * The twin of any GGUF file, from its header alone: the same metadata, tensor names, shapes
 * and types, with random weights (norms 1, biases 0). Its file size is the original's, give
 * or take the `tandem.twin` key.
 */
export function twinLayoutFromGguf(header: {
  path: string;
  metadata: ReadonlyMap<string, GgufMetadataValue>;
  tensors: readonly {
    name: string;
    shape: readonly number[];
    type: number;
    typeName: string | undefined;
  }[];
}): TwinLayout {
  const architecture = header.metadata.get('general.architecture');
  const name = header.path.split(/[\\/]/).pop() ?? header.path;
  const metadata: [string, GgufMetadataValue][] = [...header.metadata].filter(
    ([key]) => key !== 'tandem.twin' && key !== 'tandem.twin.seed',
  );
  metadata.push(['tandem.twin', ggufValue.string(`file:${name}`)]);
  const tensors = header.tensors.map((tensor): TwinTensor => {
    if (!FILLABLE_TYPES.has(tensor.type)) {
      throw new InvalidArgumentError(
        `No twin of ${name}: tensor ${tensor.name} is ${tensor.typeName ?? `type ${tensor.type}`}; tandem fills F32, F16, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K and MXFP4.`,
      );
    }
    const fill: TwinFill =
      tensor.shape.length > 1 ? 'random' : tensor.name.endsWith('.bias') ? 'zeros' : 'ones';
    return { name: tensor.name, shape: [...tensor.shape], type: tensor.type as GgmlTypeId, fill };
  });
  return {
    alias: `file:${name}`,
    architecture: architecture?.type === 'string' ? architecture.value : 'unknown',
    quantization: 'as the file',
    metadata,
    tensors,
  };
}

const FILLABLE_TYPES = new Set<number>([
  GGML_TYPE.MXFP4,
  GGML_TYPE.F32,
  GGML_TYPE.F16,
  GGML_TYPE.Q8_0,
  GGML_TYPE.Q4_0,
  GGML_TYPE.Q5_0,
  GGML_TYPE.Q5_1,
  GGML_TYPE.Q4_K,
  GGML_TYPE.Q5_K,
  GGML_TYPE.Q6_K,
]);

/** The architectures tandem writes twins of: dense llama, qwen2 and phi3, and gpt-oss. */
export const TWIN_ARCHITECTURES = ['llama', 'qwen2', 'phi3', 'gpt-oss'] as const;

/** The quantization each architecture's twin copies: the published file's. */
const TWIN_QUANTIZATION: Record<string, string> = {
  llama: 'Q4_K_M',
  qwen2: 'Q4_K_M',
  phi3: 'Q4_K_M',
  'gpt-oss': 'MXFP4',
};

export function twinSupport(model: CatalogModel): { ok: true } | { ok: false; reason: string } {
  const architecture = model.architecture.name;
  if (!(TWIN_ARCHITECTURES as readonly string[]).includes(architecture)) {
    return {
      ok: false,
      reason: `tandem cannot write the ${architecture} architecture (it writes ${TWIN_ARCHITECTURES.join(', ')}).`,
    };
  }
  if (TWIN_FACTS[model.alias] === undefined) {
    return { ok: false, reason: `tandem has no twin facts for ${model.alias}.` };
  }
  const quantization = TWIN_QUANTIZATION[architecture];
  if (model.gguf.quantization !== quantization) {
    return {
      ok: false,
      reason: `tandem writes ${quantization} twins of ${architecture} models; ${model.alias}'s file is ${model.gguf.quantization}.`,
    };
  }
  return { ok: true };
}

/**
 * The full layout of a catalog model's Q4_K_M twin: metadata and every tensor. `facts` are
 * the model's own unless given (tests make small models of each architecture this way).
 */
export function twinLayout(model: CatalogModel, facts = TWIN_FACTS[model.alias]): TwinLayout {
  const support = twinSupport(model);
  if (facts === undefined) {
    throw new InvalidArgumentError(
      `No twin of ${model.alias}: ${support.ok ? 'no facts' : support.reason}`,
    );
  }
  if (!(TWIN_ARCHITECTURES as readonly string[]).includes(model.architecture.name)) {
    throw new InvalidArgumentError(
      `No twin of ${model.alias}: tandem cannot write the ${model.architecture.name} architecture.`,
    );
  }
  if (model.architecture.name === 'gpt-oss') return gptOssTwinLayout(model, facts);
  if (model.architecture.expertCount !== undefined) {
    throw new InvalidArgumentError(
      `No twin of ${model.alias}: tandem writes the experts of gpt-oss only, not of ${model.architecture.name}.`,
    );
  }
  const a = model.architecture;
  const arch = a.name;
  const embedding = a.embeddingLength;
  const headDimension = embedding / a.headCount;
  const kvWidth = headDimension * a.headCountKv;
  const feedForward = a.feedForwardLength as number;
  const layers = a.blockCount;
  const vocabulary = a.vocabSize;

  const tensors: TwinTensor[] = [];
  const add = (name: string, shape: number[], type: GgmlTypeId, fill: TwinFill = 'random') =>
    tensors.push({ name, shape, type, fill });
  const q4k = (rowLength: number) => fitted(GGML_TYPE.Q4_K, rowLength);
  const moreBits = (layer: number, rowLength: number) =>
    fitted(usesMoreBits(layer, layers) ? GGML_TYPE.Q6_K : GGML_TYPE.Q4_K, rowLength);

  // llama-quantize writes the non-layer tensors first, by name, then each layer's by name.
  if (!facts.tiedOutput)
    add('output.weight', [embedding, vocabulary], fitted(GGML_TYPE.Q6_K, embedding));
  add('output_norm.weight', [embedding], GGML_TYPE.F32, 'ones');
  if (facts.ropeFrequencyFactors === true) {
    add('rope_freqs.weight', [headDimension / 2], GGML_TYPE.F32, 'ones');
  }
  if (facts.longRope !== undefined) {
    const factors = (facts.ropeDimensionCount ?? headDimension) / 2;
    add('rope_factors_long.weight', [factors], GGML_TYPE.F32, 'ones');
    add('rope_factors_short.weight', [factors], GGML_TYPE.F32, 'ones');
  }
  add(
    'token_embd.weight',
    [embedding, vocabulary],
    facts.tiedOutput ? fitted(GGML_TYPE.Q6_K, embedding) : q4k(embedding),
  );
  for (let layer = 0; layer < layers; layer++) {
    const blk = (name: string) => `blk.${layer}.${name}`;
    const layerTensors: TwinTensor[] = [];
    const put = (name: string, shape: number[], type: GgmlTypeId, fill: TwinFill = 'random') =>
      layerTensors.push({ name: blk(name), shape, type, fill });
    put('attn_norm.weight', [embedding], GGML_TYPE.F32, 'ones');
    put('ffn_norm.weight', [embedding], GGML_TYPE.F32, 'ones');
    put('attn_output.weight', [embedding, embedding], q4k(embedding));
    put('ffn_down.weight', [feedForward, embedding], moreBits(layer, feedForward));
    if (arch === 'phi3') {
      put(
        'attn_qkv.weight',
        [embedding, embedding + 2 * kvWidth],
        fitted(GGML_TYPE.Q5_K, embedding),
      );
      put('ffn_up.weight', [embedding, 2 * feedForward], q4k(embedding));
    } else {
      put('attn_q.weight', [embedding, embedding], q4k(embedding));
      put('attn_k.weight', [embedding, kvWidth], q4k(embedding));
      put('attn_v.weight', [embedding, kvWidth], moreBits(layer, embedding));
      put('ffn_gate.weight', [embedding, feedForward], q4k(embedding));
      put('ffn_up.weight', [embedding, feedForward], q4k(embedding));
      if (arch === 'qwen2') {
        put('attn_q.bias', [embedding], GGML_TYPE.F32, 'zeros');
        put('attn_k.bias', [kvWidth], GGML_TYPE.F32, 'zeros');
        put('attn_v.bias', [kvWidth], GGML_TYPE.F32, 'zeros');
      }
    }
    layerTensors.sort((left, right) =>
      left.name < right.name ? -1 : left.name > right.name ? 1 : 0,
    );
    tensors.push(...layerTensors);
  }

  const key = (name: string) => `${arch}.${name}`;
  const metadata: [string, GgufMetadataValue][] = [
    ['general.architecture', ggufValue.string(arch)],
    ['general.name', ggufValue.string(`twin of ${model.displayName}`)],
    [
      'general.description',
      ggufValue.string(
        `tandem shape twin of ${model.alias}: the architecture, tensor shapes and Q4_K_M tensor types of ${model.gguf.repository}/${model.gguf.file}, with random weights. Its speed and memory are the real model's; its text is noise.`,
      ),
    ],
    // llama.cpp's LLAMA_FTYPE_MOSTLY_Q4_K_M.
    ['general.file_type', ggufValue.uint32(15)],
    ['general.quantization_version', ggufValue.uint32(2)],
    ['general.alignment', ggufValue.uint32(32)],
    ['tandem.twin', ggufValue.string(model.alias)],
    [key('context_length'), ggufValue.uint32(model.contextLength)],
    [key('embedding_length'), ggufValue.uint32(embedding)],
    [key('block_count'), ggufValue.uint32(layers)],
    [key('feed_forward_length'), ggufValue.uint32(feedForward)],
    [key('attention.head_count'), ggufValue.uint32(a.headCount)],
    [key('attention.head_count_kv'), ggufValue.uint32(a.headCountKv)],
    [key('attention.layer_norm_rms_epsilon'), ggufValue.float32(facts.rmsEpsilon)],
    [key('rope.freq_base'), ggufValue.float32(a.ropeFreqBase ?? 10_000)],
    [key('rope.dimension_count'), ggufValue.uint32(facts.ropeDimensionCount ?? headDimension)],
  ];
  if (arch === 'llama') metadata.push([key('vocab_size'), ggufValue.uint32(vocabulary)]);
  if (facts.longRope !== undefined) {
    metadata.push(
      [
        key('rope.scaling.original_context_length'),
        ggufValue.uint32(facts.longRope.originalContextLength),
      ],
      [key('rope.scaling.attn_factor'), ggufValue.float32(facts.longRope.attentionFactor)],
    );
  }
  if (facts.slidingWindow !== undefined) {
    metadata.push([key('attention.sliding_window'), ggufValue.uint32(facts.slidingWindow)]);
  }
  metadata.push(...twinTokenizer(vocabulary));
  return { alias: model.alias, architecture: arch, quantization: 'Q4_K_M', metadata, tensors };
}

/**
 * tandem's byte-fallback vocabulary at the model's vocabulary size (the embedding's rows),
 * with a ChatML template. The published files' tokenizers differ (gpt2 BPE with merges for
 * qwen2, phi-4-mini and gpt-oss); only the header's size changes with it, by a few MB.
 */
function twinTokenizer(vocabulary: number): [string, GgufMetadataValue][] {
  const words = buildDemoVocabulary(vocabulary);
  return [
    ['tokenizer.ggml.model', ggufValue.string('llama')],
    ['tokenizer.ggml.tokens', ggufValue.stringArray(words.tokens)],
    ['tokenizer.ggml.scores', ggufValue.numberArray('float32', words.scores)],
    ['tokenizer.ggml.token_type', ggufValue.numberArray('int32', words.tokenTypes)],
    ['tokenizer.ggml.bos_token_id', ggufValue.uint32(DEMO_SPECIAL_TOKENS.beginOfSequence.id)],
    ['tokenizer.ggml.eos_token_id', ggufValue.uint32(DEMO_SPECIAL_TOKENS.imEnd.id)],
    ['tokenizer.ggml.unknown_token_id', ggufValue.uint32(DEMO_SPECIAL_TOKENS.unknown.id)],
    ['tokenizer.ggml.padding_token_id', ggufValue.uint32(DEMO_SPECIAL_TOKENS.endOfSequence.id)],
    ['tokenizer.ggml.add_bos_token', ggufValue.bool(false)],
    ['tokenizer.ggml.add_eos_token', ggufValue.bool(false)],
    ['tokenizer.ggml.add_space_prefix', ggufValue.bool(false)],
    ['tokenizer.chat_template', ggufValue.string(CHATML_TEMPLATE)],
  ];
}

/**
 * gpt-oss's twin, as ggml-org/gpt-oss-20b-GGUF's MXFP4 file is laid out: the experts'
 * 3-D gate, up and down tensors in MXFP4; every other matrix, the embedding and the output
 * in Q8_0; the router, norms, biases and attention sinks in F32. Every other layer attends
 * to a sliding window. The tensors are in llama-quantize's order (the published file, made
 * by the converter, may order them otherwise: that moves no bytes a token reads).
 */
function gptOssTwinLayout(model: CatalogModel, facts: TwinFacts): TwinLayout {
  const a = model.architecture;
  const arch = a.name;
  const experts = a.expertCount;
  const expertsUsed = a.expertUsedCount;
  const expertFeedForward = facts.expertFeedForwardLength;
  const headDimension = facts.headDimension;
  if (
    experts === undefined ||
    expertsUsed === undefined ||
    expertFeedForward === undefined ||
    headDimension === undefined ||
    facts.slidingWindow === undefined
  ) {
    throw new InvalidArgumentError(
      `No twin of ${model.alias}: its expert counts, expert feed-forward length, head dimension or sliding window is not known.`,
    );
  }
  const embedding = a.embeddingLength;
  const queryWidth = a.headCount * headDimension;
  const kvWidth = a.headCountKv * headDimension;
  const vocabulary = a.vocabSize;
  const tensors: TwinTensor[] = [
    { name: 'output.weight', shape: [embedding, vocabulary], type: GGML_TYPE.Q8_0, fill: 'random' },
    { name: 'output_norm.weight', shape: [embedding], type: GGML_TYPE.F32, fill: 'ones' },
    {
      name: 'token_embd.weight',
      shape: [embedding, vocabulary],
      type: GGML_TYPE.Q8_0,
      fill: 'random',
    },
  ];
  for (let layer = 0; layer < a.blockCount; layer++) {
    const layerTensors: TwinTensor[] = [];
    const put = (name: string, shape: number[], type: GgmlTypeId, fill: TwinFill) =>
      layerTensors.push({ name: `blk.${layer}.${name}`, shape, type, fill });
    put('attn_norm.weight', [embedding], GGML_TYPE.F32, 'ones');
    put('post_attention_norm.weight', [embedding], GGML_TYPE.F32, 'ones');
    put('attn_q.weight', [embedding, queryWidth], GGML_TYPE.Q8_0, 'random');
    put('attn_k.weight', [embedding, kvWidth], GGML_TYPE.Q8_0, 'random');
    put('attn_v.weight', [embedding, kvWidth], GGML_TYPE.Q8_0, 'random');
    put('attn_output.weight', [queryWidth, embedding], GGML_TYPE.Q8_0, 'random');
    put('attn_q.bias', [queryWidth], GGML_TYPE.F32, 'zeros');
    put('attn_k.bias', [kvWidth], GGML_TYPE.F32, 'zeros');
    put('attn_v.bias', [kvWidth], GGML_TYPE.F32, 'zeros');
    put('attn_output.bias', [embedding], GGML_TYPE.F32, 'zeros');
    put('attn_sinks.weight', [a.headCount], GGML_TYPE.F32, 'zeros');
    // The router stays F32 (llama.cpp never quantizes ffn_gate_inp); random, so each token
    // picks its experts at random: still expertsUsed of them, as the real model does.
    put('ffn_gate_inp.weight', [embedding, experts], GGML_TYPE.F32, 'random');
    put('ffn_gate_inp.bias', [experts], GGML_TYPE.F32, 'zeros');
    put('ffn_gate_exps.weight', [embedding, expertFeedForward, experts], GGML_TYPE.MXFP4, 'random');
    put('ffn_up_exps.weight', [embedding, expertFeedForward, experts], GGML_TYPE.MXFP4, 'random');
    put('ffn_down_exps.weight', [expertFeedForward, embedding, experts], GGML_TYPE.MXFP4, 'random');
    put('ffn_gate_exps.bias', [expertFeedForward, experts], GGML_TYPE.F32, 'zeros');
    put('ffn_up_exps.bias', [expertFeedForward, experts], GGML_TYPE.F32, 'zeros');
    put('ffn_down_exps.bias', [embedding, experts], GGML_TYPE.F32, 'zeros');
    layerTensors.sort((left, right) =>
      left.name < right.name ? -1 : left.name > right.name ? 1 : 0,
    );
    tensors.push(...layerTensors);
  }
  const key = (name: string) => `${arch}.${name}`;
  const metadata: [string, GgufMetadataValue][] = [
    ['general.architecture', ggufValue.string(arch)],
    ['general.name', ggufValue.string(`twin of ${model.displayName}`)],
    [
      'general.description',
      ggufValue.string(
        `tandem shape twin of ${model.alias}: the architecture, tensor shapes and MXFP4/Q8_0 tensor types of ${model.gguf.repository}/${model.gguf.file}, with random weights. Its speed and memory are the real model's; its text is noise.`,
      ),
    ],
    // llama.cpp's LLAMA_FTYPE_MOSTLY_MXFP4_MOE.
    ['general.file_type', ggufValue.uint32(38)],
    ['general.quantization_version', ggufValue.uint32(2)],
    ['general.alignment', ggufValue.uint32(32)],
    ['tandem.twin', ggufValue.string(model.alias)],
    [key('block_count'), ggufValue.uint32(a.blockCount)],
    [key('context_length'), ggufValue.uint32(model.contextLength)],
    [key('embedding_length'), ggufValue.uint32(embedding)],
    [key('feed_forward_length'), ggufValue.uint32(a.feedForwardLength ?? expertFeedForward)],
    [key('attention.head_count'), ggufValue.uint32(a.headCount)],
    [key('attention.head_count_kv'), ggufValue.uint32(a.headCountKv)],
    [key('rope.freq_base'), ggufValue.float32(a.ropeFreqBase ?? 10_000)],
    [key('attention.layer_norm_rms_epsilon'), ggufValue.float32(facts.rmsEpsilon)],
    [key('expert_count'), ggufValue.uint32(experts)],
    [key('expert_used_count'), ggufValue.uint32(expertsUsed)],
    [key('attention.key_length'), ggufValue.uint32(headDimension)],
    [key('attention.value_length'), ggufValue.uint32(headDimension)],
    [key('attention.sliding_window'), ggufValue.uint32(facts.slidingWindow)],
    [key('expert_feed_forward_length'), ggufValue.uint32(expertFeedForward)],
  ];
  if (facts.yarn !== undefined) {
    metadata.push(
      [key('rope.scaling.type'), ggufValue.string('yarn')],
      [key('rope.scaling.factor'), ggufValue.float32(facts.yarn.factor)],
      [
        key('rope.scaling.original_context_length'),
        ggufValue.uint32(facts.yarn.originalContextLength),
      ],
    );
  }
  metadata.push(...twinTokenizer(vocabulary));
  return { alias: model.alias, architecture: arch, quantization: 'MXFP4', metadata, tensors };
}

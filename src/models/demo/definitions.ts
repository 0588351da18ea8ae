/**
 * The built-in demo models: llama architecture, random weights from a fixed seed, so every
 * part of tandem can run offline. Their text is noise; their speed and memory are real.
 */

import { GGML_TYPE, type GgmlTypeId } from '../gguf/types.js';

export type DemoModelName = 'demo-slm' | 'demo-llm';

export interface DemoModelDefinition {
  readonly name: DemoModelName;
  /** Seed text every tensor's random stream is derived from (with the tensor name). */
  readonly seed: string;
  readonly description: string;
  readonly vocabularySize: number;
  readonly contextLength: number;
  readonly embeddingLength: number;
  readonly blockCount: number;
  readonly headCount: number;
  readonly headCountKv: number;
  readonly feedForwardLength: number;
  readonly ropeFrequencyBase: number;
  readonly rmsNormEpsilon: number;
  /** Type of the 2-D weight matrices; norm weights are always F32. */
  readonly matrixType: GgmlTypeId;
  /** Tensor type of the weight matrices, for display: 'F32' or 'F16'. */
  readonly fileType: 'F32' | 'F16';
  /** general.file_type (llama_ftype): 0 all F32, 1 mostly F16. */
  readonly ggufFileType: number;
  /** Weights are uniform in ±this (0.02·√3: standard deviation 0.02, like a real init). */
  readonly weightLimit: number;
  /**
   * token_embd.weight is uniform in ±this: √3 (standard deviation 1), so the current
   * token dominates the residual stream over the layers' context averages and the text
   * stays varied instead of settling on one token.
   */
  readonly embeddingWeightLimit: number;
  /**
   * output.weight is uniform in ±this, larger than a real init so the logits of normal
   * pieces spread widely (sd ≈ 6) and the all-zero rows of control and byte tokens are
   * never chosen, greedy or sampled.
   */
  readonly outputWeightLimit: number;
  /** Sum of all tensors' element counts. */
  readonly parameterCount: number;
  /** Size of the written GGUF file. */
  readonly fileSizeBytes: number;
  /** SHA-256 of the written GGUF file: the writer is deterministic, byte for byte. */
  readonly sha256: string;
  /** Size of the ONNX folder's onnx/model.onnx (float32 weights). */
  readonly onnxFileSizeBytes: number;
  /** SHA-256 of onnx/model.onnx. */
  readonly onnxSha256: string;
}

/** 0.02·√3: a uniform distribution with this bound has a standard deviation of 0.02. */
const WEIGHT_LIMIT = 0.034641016151377546;
/** √3: standard deviation 1. */
const EMBEDDING_WEIGHT_LIMIT = 1.7320508075688772;

const DEFINITIONS: Readonly<Record<DemoModelName, DemoModelDefinition>> = {
  'demo-slm': {
    name: 'demo-slm',
    seed: 'tandem/demo-slm/v1',
    description:
      'tandem demo small model: random weights, for testing only (its text is noise). Use a real model for real answers.',
    vocabularySize: 4096,
    contextLength: 2048,
    embeddingLength: 96,
    blockCount: 2,
    headCount: 4,
    headCountKv: 4,
    feedForwardLength: 256,
    ropeFrequencyBase: 10000,
    rmsNormEpsilon: 1e-5,
    matrixType: GGML_TYPE.F32,
    fileType: 'F32',
    ggufFileType: 0,
    weightLimit: WEIGHT_LIMIT,
    embeddingWeightLimit: EMBEDDING_WEIGHT_LIMIT,
    outputWeightLimit: 1,
    parameterCount: 1_008_096,
    fileSizeBytes: 4_119_872,
    sha256: 'b6ba286493c7747313a42243af05df209809553f0d8a9bee1ef4c423e3c5bb53',
    onnxFileSizeBytes: 4_044_472,
    onnxSha256: 'd10fc423a30c02110f3b90beb6d674bb7e949b3a580c2a79801557d1ecaaf5a9',
  },
  'demo-llm': {
    name: 'demo-llm',
    seed: 'tandem/demo-llm/v1',
    description:
      'tandem demo large model: random weights, for testing only (its text is noise). Use a real model for real answers.',
    vocabularySize: 4096,
    contextLength: 2048,
    embeddingLength: 768,
    blockCount: 10,
    headCount: 12,
    headCountKv: 12,
    feedForwardLength: 2048,
    ropeFrequencyBase: 10000,
    rmsNormEpsilon: 1e-5,
    matrixType: GGML_TYPE.F16,
    fileType: 'F16',
    ggufFileType: 1,
    weightLimit: WEIGHT_LIMIT,
    embeddingWeightLimit: EMBEDDING_WEIGHT_LIMIT,
    outputWeightLimit: 0.375,
    parameterCount: 77_086_464,
    fileSizeBytes: 154_296_896,
    sha256: '71ef9da8ed0d217130cd724767fd015fb691cb582db3648e20b5b3a2c0454c21',
    onnxFileSizeBytes: 308_396_928,
    onnxSha256: '3eaea42ab06f4fe4d163271e7f73325f693dab648949fbce960607637423e7d8',
  },
};

export const DEMO_MODEL_NAMES: readonly DemoModelName[] = ['demo-slm', 'demo-llm'];

/** Both demo models, small first. */
export const DEMO_MODELS: readonly DemoModelDefinition[] = DEMO_MODEL_NAMES.map(
  (name) => DEFINITIONS[name],
);

/** The definition of one demo model. */
export function demoModelDefinition(name: DemoModelName): DemoModelDefinition {
  return DEFINITIONS[name];
}

export function isDemoModelName(name: string): name is DemoModelName {
  return name === 'demo-slm' || name === 'demo-llm';
}

export interface DemoTensorSpec {
  readonly name: string;
  /** ggml order: shape[0] (ne[0]) is the row length. */
  readonly shape: readonly number[];
  readonly type: GgmlTypeId;
}

/** The model's tensors in file order, with llama.cpp's names and shapes. */
export function demoTensorSpecs(definition: DemoModelDefinition): DemoTensorSpec[] {
  const embedding = definition.embeddingLength;
  const headDimension = embedding / definition.headCount;
  const kvWidth = headDimension * definition.headCountKv;
  const matrix = definition.matrixType;
  const norm = GGML_TYPE.F32;
  const specs: DemoTensorSpec[] = [
    { name: 'token_embd.weight', shape: [embedding, definition.vocabularySize], type: matrix },
    { name: 'output_norm.weight', shape: [embedding], type: norm },
    { name: 'output.weight', shape: [embedding, definition.vocabularySize], type: matrix },
  ];
  for (let block = 0; block < definition.blockCount; block++) {
    const prefix = `blk.${block}.`;
    specs.push(
      { name: `${prefix}attn_norm.weight`, shape: [embedding], type: norm },
      { name: `${prefix}attn_q.weight`, shape: [embedding, embedding], type: matrix },
      { name: `${prefix}attn_k.weight`, shape: [embedding, kvWidth], type: matrix },
      { name: `${prefix}attn_v.weight`, shape: [embedding, kvWidth], type: matrix },
      { name: `${prefix}attn_output.weight`, shape: [embedding, embedding], type: matrix },
      { name: `${prefix}ffn_norm.weight`, shape: [embedding], type: norm },
      {
        name: `${prefix}ffn_gate.weight`,
        shape: [embedding, definition.feedForwardLength],
        type: matrix,
      },
      {
        name: `${prefix}ffn_up.weight`,
        shape: [embedding, definition.feedForwardLength],
        type: matrix,
      },
      {
        name: `${prefix}ffn_down.weight`,
        shape: [definition.feedForwardLength, embedding],
        type: matrix,
      },
    );
  }
  return specs;
}

/** Sum of the element counts of {@link demoTensorSpecs}. */
export function countDemoParameters(definition: DemoModelDefinition): number {
  let total = 0;
  for (const spec of demoTensorSpecs(definition)) {
    total += spec.shape.reduce((product, dimension) => product * dimension, 1);
  }
  return total;
}

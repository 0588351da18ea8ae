/**
 * The demo models as an ONNX graph: the computation llama.cpp runs for the llama
 * architecture, with the same weights as the GGUF file, and a KV cache in the layout
 * transformers.js and onnxruntime-genai expect from a decoder export:
 *
 * - inputs `input_ids`, `attention_mask`, `position_ids` (int64) and
 *   `past_key_values.N.key` / `.value` (float32, [batch_size, kv heads, past_sequence_length,
 *   head size]);
 * - outputs `logits` ([batch_size, sequence_length, vocabulary]) and `present.N.key` /
 *   `.value` (the past with this call's keys and values appended).
 *
 * Only default-domain operators of opset 17, so onnxruntime runs it on every execution
 * provider (CPU, CUDA, WebGPU, WASM). What follows llama.cpp exactly:
 * - RMS norm: x / sqrt(mean(x²) + ε) × weight;
 * - rotary embeddings in llama.cpp's "normal" mode for the llama architecture: adjacent
 *   pairs (x[2i], x[2i+1]) rotate by position × base^(−2i/head size). (Hugging Face's
 *   Llama rotates the two halves instead; llama.cpp's converter permutes the Q and K
 *   weights to make up for it. These weights are written for llama.cpp's layout, so the
 *   graph rotates pairs.)
 * - causal attention with scale 1/√(head size), then SwiGLU: down(silu(gate(x)) × up(x)).
 * llama.cpp keeps its KV cache in float16 and rounds activations to float16 before F16
 * matrix products; this graph computes in float32. The two agree to float rounding.
 */

import { InvalidArgumentError } from '../../errors.js';
import { float16BitsToNumber, float32BitsToFloat16Bits } from '../gguf/float16.js';
import { GGML_TYPE } from '../gguf/types.js';
import { createTandemOnnxModel, onnxAttribute, onnxTensor } from '../onnx/onnx-builders.js';
import {
  ONNX_DATA_TYPE,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from '../onnx/onnx-graph.js';
import {
  type DemoModelDefinition,
  type DemoModelName,
  type DemoTensorSpec,
  demoModelDefinition,
  demoTensorSpecs,
} from './definitions.js';
import { demoTensorValues } from './weights.js';

/** The symbolic dimension names of the inputs and outputs (those of Hugging Face exports). */
export const DEMO_ONNX_DIMENSIONS = {
  batch: 'batch_size',
  sequence: 'sequence_length',
  past: 'past_sequence_length',
  total: 'total_sequence_length',
} as const;

/** Builds the node list, naming every intermediate value uniquely. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  #counter = 0;

  /** Adds a node with one output and returns that output's name. */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: readonly OnnxAttribute[] = [],
    output?: string,
  ): string {
    const name = output ?? `${opType.toLowerCase()}_${this.#counter++}`;
    this.nodes.push({ opType, inputs, outputs: [name], name: `${opType}:${name}`, attributes });
    return name;
  }

  /** Adds a node with several outputs. */
  nodeWithOutputs(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: readonly OnnxAttribute[] = [],
  ): string[] {
    const base = `${opType.toLowerCase()}_${this.#counter++}`;
    const outputs = Array.from({ length: outputCount }, (_, index) => `${base}_${index}`);
    this.nodes.push({ opType, inputs, outputs, name: `${opType}:${base}`, attributes });
    return outputs;
  }

  initializer(tensor: OnnxTensor): string {
    this.initializers.push(tensor);
    return tensor.name;
  }
}

function tensorSpec(definition: DemoModelDefinition, name: string): DemoTensorSpec {
  const spec = demoTensorSpecs(definition).find((candidate) => candidate.name === name);
  if (spec === undefined) throw new InvalidArgumentError(`No demo tensor '${name}'.`);
  return spec;
}

let float16Table: Float32Array | undefined;

/** Every float16 bit pattern's value (65,536 entries), built once. */
function float16Values(): Float32Array {
  if (float16Table === undefined) {
    float16Table = new Float32Array(1 << 16);
    for (let bits = 0; bits < float16Table.length; bits++) {
      float16Table[bits] = float16BitsToNumber(bits);
    }
  }
  return float16Table;
}

/** A demo tensor's values exactly as the GGUF stores them (F16 matrices rounded to float16). */
function ggufValues(modelName: DemoModelName, spec: DemoTensorSpec): Float32Array {
  const count = spec.shape.reduce((product, dimension) => product * dimension, 1);
  const values = new Float32Array(count);
  let offset = 0;
  for (const chunk of demoTensorValues(modelName, spec.name, { chunkElements: 1 << 20 })) {
    if (spec.type === GGML_TYPE.F16) {
      const table = float16Values();
      const bits = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length);
      for (let index = 0; index < chunk.length; index++) {
        chunk[index] = table[float32BitsToFloat16Bits(bits[index] as number)] as number;
      }
    }
    values.set(chunk, offset);
    offset += chunk.length;
  }
  return values;
}

/**
 * A ggml matrix [columns, rows] (rows of `columns` values, the PyTorch [out, in] layout)
 * as the ONNX MatMul operand [in, out]: transposed.
 */
function transposedMatrix(values: Float32Array, columns: number, rows: number): Float32Array {
  const transposed = new Float32Array(values.length);
  for (let row = 0; row < rows; row++) {
    const source = row * columns;
    for (let column = 0; column < columns; column++) {
      transposed[column * rows + row] = values[source + column] as number;
    }
  }
  return transposed;
}

function weightInitializer(
  builder: GraphBuilder,
  modelName: DemoModelName,
  definition: DemoModelDefinition,
  ggufName: string,
  onnxName: string,
  layout: 'matmul' | 'as-is',
): string {
  const spec = tensorSpec(definition, ggufName);
  const values = ggufValues(modelName, spec);
  if (spec.shape.length === 1 || layout === 'as-is') {
    // ggml [ne0, ne1] is row-major [ne1, ne0].
    const dims = [...spec.shape].reverse();
    return builder.initializer(onnxTensor.float32(onnxName, dims, values));
  }
  const [columns, rows] = spec.shape as [number, number];
  return builder.initializer(
    onnxTensor.float32(onnxName, [columns, rows], transposedMatrix(values, columns, rows)),
  );
}

/**
 * llama.cpp's rotary frequencies: θ_scale = base^(−2/head size), and frequency i is
 * θ_scale^i by repeated float32 multiplication (ggml_rope_cache_init).
 */
export function ropeInverseFrequencies(base: number, headDimension: number): Float32Array {
  const frequencies = new Float32Array(headDimension / 2);
  const scale = Math.fround(base ** (-2 / headDimension));
  let theta = 1;
  for (let index = 0; index < frequencies.length; index++) {
    frequencies[index] = theta;
    theta = Math.fround(theta * scale);
  }
  return frequencies;
}

/** The ONNX model of a demo model (weights included: ~4 MB for demo-slm, ~308 MB for demo-llm). */
export function buildDemoOnnxModel(modelName: DemoModelName, producerVersion: string): OnnxModel {
  const definition = demoModelDefinition(modelName);
  if (definition.headCountKv !== definition.headCount) {
    throw new InvalidArgumentError(
      `The demo ONNX graph has no grouped-query attention; ${modelName} has ${definition.headCountKv} KV heads for ${definition.headCount}.`,
    );
  }
  const builder = new GraphBuilder();
  const hidden = definition.embeddingLength;
  const heads = definition.headCount;
  const headDimension = hidden / heads;
  const { batch, sequence, past, total } = DEMO_ONNX_DIMENSIONS;

  const constant = {
    int64: (name: string, values: readonly number[], dims: readonly number[] = [values.length]) =>
      builder.initializer(onnxTensor.int64(name, dims, values)),
    float: (name: string, value: number) =>
      builder.initializer(onnxTensor.float32(name, [], [value])),
  };
  const epsilon = constant.float('rms_norm_epsilon', definition.rmsNormEpsilon);
  const attentionScale = constant.float('attention_scale', 1 / Math.sqrt(headDimension));
  const negativeInfinity = constant.float('negative_infinity', Number.NEGATIVE_INFINITY);
  const zero = constant.int64('zero', [0], []);
  const one = constant.int64('one', [1], []);
  const axisZero = constant.int64('axis_zero', [0]);
  const splitHeadsShape = constant.int64('split_heads_shape', [0, 0, heads, headDimension]);
  const pairShape = constant.int64('rope_pair_shape', [0, 0, heads, headDimension / 2, 2]);
  const mergeHeadsShape = constant.int64('merge_heads_shape', [0, 0, hidden]);
  const inverseFrequencies = builder.initializer(
    onnxTensor.float32(
      'rope_inverse_frequencies',
      [headDimension / 2],
      ropeInverseFrequencies(definition.ropeFrequencyBase, headDimension),
    ),
  );

  const rmsNorm = (input: string, weight: string): string => {
    const squared = builder.node('Mul', [input, input]);
    const mean = builder.node(
      'ReduceMean',
      [squared],
      [onnxAttribute.ints('axes', [-1]), onnxAttribute.int('keepdims', 1)],
    );
    const root = builder.node('Sqrt', [builder.node('Add', [mean, epsilon])]);
    const normalized = builder.node('Mul', [input, builder.node('Reciprocal', [root])]);
    return builder.node('Mul', [normalized, weight]);
  };

  // Rotary angles, shared by every layer: [batch, sequence, 1, head size / 2, 1].
  const positions = builder.node(
    'Cast',
    ['position_ids'],
    [onnxAttribute.int('to', ONNX_DATA_TYPE.FLOAT)],
  );
  const positionColumn = builder.node('Unsqueeze', [
    positions,
    constant.int64('rope_position_axes', [2, 3]),
  ]);
  const angles = builder.node('Unsqueeze', [
    builder.node('Mul', [positionColumn, inverseFrequencies]),
    constant.int64('rope_angle_axes', [-1]),
  ]);
  const cosine = builder.node('Cos', [angles]);
  const sine = builder.node('Sin', [angles]);

  const rotate = (projection: string): string => {
    const pairs = builder.node('Reshape', [projection, pairShape]);
    const [even, odd] = builder.nodeWithOutputs('Split', [pairs], 2, [
      onnxAttribute.int('axis', -1),
    ]) as [string, string];
    const rotatedEven = builder.node('Sub', [
      builder.node('Mul', [even, cosine]),
      builder.node('Mul', [odd, sine]),
    ]);
    const rotatedOdd = builder.node('Add', [
      builder.node('Mul', [even, sine]),
      builder.node('Mul', [odd, cosine]),
    ]);
    const joined = builder.node(
      'Concat',
      [rotatedEven, rotatedOdd],
      [onnxAttribute.int('axis', -1)],
    );
    return builder.node('Reshape', [joined, splitHeadsShape]);
  };
  const toHeads = (projection: string): string =>
    builder.node('Transpose', [projection], [onnxAttribute.ints('perm', [0, 2, 1, 3])]);

  // The attention mask, shared by every layer: [batch, 1, sequence, total] (true = visible).
  const totalLength = builder.node('Squeeze', [
    builder.node(
      'Shape',
      ['attention_mask'],
      [onnxAttribute.int('start', 1), onnxAttribute.int('end', 2)],
    ),
    axisZero,
  ]);
  const newLength = builder.node('Squeeze', [
    builder.node(
      'Shape',
      ['input_ids'],
      [onnxAttribute.int('start', 1), onnxAttribute.int('end', 2)],
    ),
    axisZero,
  ]);
  const pastLength = builder.node('Sub', [totalLength, newLength]);
  const keyPositions = builder.node('Range', [zero, totalLength, one]);
  const queryPositions = builder.node('Unsqueeze', [
    builder.node('Range', [pastLength, totalLength, one]),
    constant.int64('query_position_axes', [1]),
  ]);
  const causal = builder.node('LessOrEqual', [keyPositions, queryPositions]);
  const padding = builder.node('Unsqueeze', [
    builder.node('Cast', ['attention_mask'], [onnxAttribute.int('to', ONNX_DATA_TYPE.BOOL)]),
    constant.int64('padding_axes', [1, 2]),
  ]);
  const visible = builder.node('And', [causal, padding]);

  let residual = builder.node('Gather', [
    weightInitializer(
      builder,
      modelName,
      definition,
      'token_embd.weight',
      'embed_tokens.weight',
      'as-is',
    ),
    'input_ids',
  ]);
  const pastInputs: OnnxValueInfo[] = [];
  const presentOutputs: OnnxValueInfo[] = [];
  const cacheShape = (length: string) => [batch, heads, length, headDimension];
  for (let layer = 0; layer < definition.blockCount; layer++) {
    const weight = (ggufSuffix: string, onnxSuffix: string) =>
      weightInitializer(
        builder,
        modelName,
        definition,
        `blk.${layer}.${ggufSuffix}`,
        `layers.${layer}.${onnxSuffix}`,
        'matmul',
      );
    /** input × the layer's matrix (a linear projection). */
    const project = (input: string, ggufSuffix: string, onnxSuffix: string) =>
      builder.node('MatMul', [input, weight(ggufSuffix, onnxSuffix)]);
    const normed = rmsNorm(residual, weight('attn_norm.weight', 'input_layernorm.weight'));
    const query = project(normed, 'attn_q.weight', 'self_attn.q_proj.weight');
    const key = project(normed, 'attn_k.weight', 'self_attn.k_proj.weight');
    const value = project(normed, 'attn_v.weight', 'self_attn.v_proj.weight');

    const pastKey = `past_key_values.${layer}.key`;
    const pastValue = `past_key_values.${layer}.value`;
    const presentKey = `present.${layer}.key`;
    const presentValue = `present.${layer}.value`;
    pastInputs.push(
      { name: pastKey, elementType: ONNX_DATA_TYPE.FLOAT, shape: cacheShape(past) },
      { name: pastValue, elementType: ONNX_DATA_TYPE.FLOAT, shape: cacheShape(past) },
    );
    presentOutputs.push(
      { name: presentKey, elementType: ONNX_DATA_TYPE.FLOAT, shape: cacheShape(total) },
      { name: presentValue, elementType: ONNX_DATA_TYPE.FLOAT, shape: cacheShape(total) },
    );
    const queryHeads = toHeads(rotate(query));
    const keys = builder.node(
      'Concat',
      [pastKey, toHeads(rotate(key))],
      [onnxAttribute.int('axis', 2)],
      presentKey,
    );
    const values = builder.node(
      'Concat',
      [pastValue, toHeads(builder.node('Reshape', [value, splitHeadsShape]))],
      [onnxAttribute.int('axis', 2)],
      presentValue,
    );
    const scores = builder.node('Mul', [
      builder.node('MatMul', [
        queryHeads,
        builder.node('Transpose', [keys], [onnxAttribute.ints('perm', [0, 1, 3, 2])]),
      ]),
      attentionScale,
    ]);
    const weights = builder.node(
      'Softmax',
      [builder.node('Where', [visible, scores, negativeInfinity])],
      [onnxAttribute.int('axis', -1)],
    );
    const attended = builder.node('Reshape', [
      builder.node(
        'Transpose',
        [builder.node('MatMul', [weights, values])],
        [onnxAttribute.ints('perm', [0, 2, 1, 3])],
      ),
      mergeHeadsShape,
    ]);
    residual = builder.node('Add', [
      residual,
      project(attended, 'attn_output.weight', 'self_attn.o_proj.weight'),
    ]);

    const feedForwardInput = rmsNorm(
      residual,
      weight('ffn_norm.weight', 'post_attention_layernorm.weight'),
    );
    const gate = project(feedForwardInput, 'ffn_gate.weight', 'mlp.gate_proj.weight');
    const up = project(feedForwardInput, 'ffn_up.weight', 'mlp.up_proj.weight');
    const activated = builder.node('Mul', [
      builder.node('Mul', [gate, builder.node('Sigmoid', [gate])]),
      up,
    ]);
    residual = builder.node('Add', [
      residual,
      project(activated, 'ffn_down.weight', 'mlp.down_proj.weight'),
    ]);
  }
  const finalNorm = rmsNorm(
    residual,
    weightInitializer(
      builder,
      modelName,
      definition,
      'output_norm.weight',
      'norm.weight',
      'matmul',
    ),
  );
  builder.node(
    'MatMul',
    [
      finalNorm,
      weightInitializer(
        builder,
        modelName,
        definition,
        'output.weight',
        'lm_head.weight',
        'matmul',
      ),
    ],
    [],
    'logits',
  );

  const graph: OnnxGraph = {
    name: modelName,
    nodes: builder.nodes,
    initializers: builder.initializers,
    inputs: [
      { name: 'input_ids', elementType: ONNX_DATA_TYPE.INT64, shape: [batch, sequence] },
      { name: 'attention_mask', elementType: ONNX_DATA_TYPE.INT64, shape: [batch, total] },
      { name: 'position_ids', elementType: ONNX_DATA_TYPE.INT64, shape: [batch, sequence] },
      ...pastInputs,
    ],
    outputs: [
      {
        name: 'logits',
        elementType: ONNX_DATA_TYPE.FLOAT,
        shape: [batch, sequence, definition.vocabularySize],
      },
      ...presentOutputs,
    ],
    valueInfo: [],
  };
  return createTandemOnnxModel({
    graph,
    producerVersion,
    metadataProps: [
      { key: 'tandem.demo', value: 'true' },
      { key: 'tandem.model', value: modelName },
      { key: 'tandem.seed', value: definition.seed },
    ],
  });
}

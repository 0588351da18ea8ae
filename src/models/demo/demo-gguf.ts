/** The demo models as GGUF: metadata, tokenizer and streamed tensors. */

import { encodeTensorValues } from '../gguf/tensor-encoding.js';
import { type GgufMetadataValue, ggufValue } from '../gguf/types.js';
import {
  type GgufTensorSource,
  type GgufWriteInput,
  type GgufWriteOptions,
  type GgufWriteResult,
  writeGgufFile,
} from '../gguf/writer.js';
import { type DemoModelName, demoModelDefinition, demoTensorSpecs } from './definitions.js';
import { buildDemoVocabulary, CHATML_TEMPLATE, DEMO_SPECIAL_TOKENS } from './vocabulary.js';
import { demoTensorValues } from './weights.js';

/** Everything needed to write a demo model's GGUF file (nothing is generated yet). */
export function demoGgufInput(modelName: DemoModelName): GgufWriteInput {
  const definition = demoModelDefinition(modelName);
  const vocabulary = buildDemoVocabulary(definition.vocabularySize);
  const headDimension = definition.embeddingLength / definition.headCount;
  const metadata: [string, GgufMetadataValue][] = [
    ['general.architecture', ggufValue.string('llama')],
    ['general.name', ggufValue.string(definition.name)],
    ['general.description', ggufValue.string(definition.description)],
    ['general.file_type', ggufValue.uint32(definition.ggufFileType)],
    ['general.alignment', ggufValue.uint32(32)],
    ['tandem.demo', ggufValue.bool(true)],
    ['llama.vocab_size', ggufValue.uint32(definition.vocabularySize)],
    ['llama.context_length', ggufValue.uint32(definition.contextLength)],
    ['llama.embedding_length', ggufValue.uint32(definition.embeddingLength)],
    ['llama.block_count', ggufValue.uint32(definition.blockCount)],
    ['llama.feed_forward_length', ggufValue.uint32(definition.feedForwardLength)],
    ['llama.rope.dimension_count', ggufValue.uint32(headDimension)],
    ['llama.attention.head_count', ggufValue.uint32(definition.headCount)],
    ['llama.attention.head_count_kv', ggufValue.uint32(definition.headCountKv)],
    ['llama.attention.layer_norm_rms_epsilon', ggufValue.float32(definition.rmsNormEpsilon)],
    ['llama.rope.freq_base', ggufValue.float32(definition.ropeFrequencyBase)],
    ['tokenizer.ggml.model', ggufValue.string('llama')],
    ['tokenizer.ggml.tokens', ggufValue.stringArray(vocabulary.tokens)],
    ['tokenizer.ggml.scores', ggufValue.numberArray('float32', vocabulary.scores)],
    ['tokenizer.ggml.token_type', ggufValue.numberArray('int32', vocabulary.tokenTypes)],
    ['tokenizer.ggml.bos_token_id', ggufValue.uint32(DEMO_SPECIAL_TOKENS.beginOfSequence.id)],
    ['tokenizer.ggml.eos_token_id', ggufValue.uint32(DEMO_SPECIAL_TOKENS.imEnd.id)],
    ['tokenizer.ggml.unknown_token_id', ggufValue.uint32(DEMO_SPECIAL_TOKENS.unknown.id)],
    ['tokenizer.ggml.padding_token_id', ggufValue.uint32(DEMO_SPECIAL_TOKENS.endOfSequence.id)],
    ['tokenizer.ggml.add_bos_token', ggufValue.bool(false)],
    ['tokenizer.ggml.add_eos_token', ggufValue.bool(false)],
    ['tokenizer.ggml.add_space_prefix', ggufValue.bool(false)],
    ['tokenizer.chat_template', ggufValue.string(CHATML_TEMPLATE)],
  ];
  const tensors: GgufTensorSource[] = demoTensorSpecs(definition).map((spec) => ({
    name: spec.name,
    shape: spec.shape,
    type: spec.type,
    data: () => encodeTensorValues(spec.type, demoTensorValues(modelName, spec.name)),
  }));
  return { metadata, tensors };
}

/** Writes a demo model's GGUF file at `path` (temp file + rename). */
export function writeDemoGguf(
  modelName: DemoModelName,
  path: string,
  options: GgufWriteOptions = {},
): Promise<GgufWriteResult> {
  return writeGgufFile(path, demoGgufInput(modelName), options);
}

/**
 * Checks that must pass before a GGUF file is handed to llama.cpp (node-llama-cpp).
 * Some malformed files make llama.cpp abort the whole process natively (for example a
 * llama model without `llama.feed_forward_length` or `llama.attention.head_count`), so
 * the keys llama.cpp reads unconditionally are checked here first.
 */

import { InvalidModelFileError } from '../../errors.js';
import { type GgufHeader, metadataNumber, metadataString, readGgufHeader } from './reader.js';
import type { GgufMetadataValue } from './types.js';

export interface GgufModelSummary {
  readonly path: string;
  readonly architecture: string;
  /** general.name, when present. */
  readonly name: string | undefined;
  /** Sum of all tensors' element counts. */
  readonly parameterCount: number;
  readonly fileSizeBytes: number;
  readonly contextLength: number;
  readonly vocabularySize: number;
  readonly tensorCount: number;
  /** general.file_type (llama_ftype: 0 all F32, 1 mostly F16, 7 mostly Q8_0...), when present. */
  readonly fileType: number | undefined;
  readonly chatTemplate: string | undefined;
}

/** Recurrent architectures without attention heads. */
const ARCHITECTURES_WITHOUT_ATTENTION = new Set([
  'mamba',
  'mamba2',
  'rwkv6',
  'rwkv6qwen2',
  'rwkv7',
  'arwkv7',
]);

/** A value that is a positive integer, or an array of non-negative integers with one > 0. */
function positiveCounts(value: GgufMetadataValue | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  if (value.type === 'array') {
    if (value.values.length === 0) return undefined;
    const counts: number[] = [];
    for (const element of value.values) {
      if (typeof element !== 'number' && typeof element !== 'bigint') return undefined;
      const count = Number(element);
      if (!Number.isSafeInteger(count) || count < 0) return undefined;
      counts.push(count);
    }
    return counts.some((count) => count > 0) ? counts : undefined;
  }
  const count = metadataNumber(value);
  if (count === undefined || value.type === 'float32' || value.type === 'float64') return undefined;
  return Number.isSafeInteger(count) && count > 0 ? [count] : undefined;
}

function fail(path: string, reason: string): never {
  throw new InvalidModelFileError(path, reason);
}

/** Validates an already-read header; see {@link validateGgufForLlama}. */
export function validateGgufHeaderForLlama(header: GgufHeader): GgufModelSummary {
  const { path, metadata } = header;
  const architecture = metadataString(metadata.get('general.architecture'));
  if (architecture === undefined || architecture === '') {
    fail(path, 'general.architecture is missing');
  }

  const requireCounts = (suffix: string): number[] => {
    const key = `${architecture}.${suffix}`;
    const value = metadata.get(key);
    if (value === undefined) fail(path, `${key} is missing (llama.cpp cannot load this file)`);
    const counts = positiveCounts(value);
    if (counts === undefined) fail(path, `${key} must be a positive integer`);
    return counts;
  };

  const contextLength = requireCounts('context_length')[0] as number;
  const embeddingLength = requireCounts('embedding_length')[0] as number;
  const blockCount = requireCounts('block_count')[0] as number;
  const expertCount = metadataNumber(metadata.get(`${architecture}.expert_count`)) ?? 0;
  if (architecture === 'llama' || expertCount === 0) requireCounts('feed_forward_length');
  if (!ARCHITECTURES_WITHOUT_ATTENTION.has(architecture)) {
    const headCounts = requireCounts('attention.head_count');
    if (headCounts.length !== 1 && headCounts.length !== blockCount) {
      fail(
        path,
        `${architecture}.attention.head_count has ${headCounts.length} entries for ${blockCount} blocks`,
      );
    }
    const hasKeyLength = metadata.has(`${architecture}.attention.key_length`);
    if (!hasKeyLength) {
      for (const headCount of headCounts) {
        if (headCount > 0 && embeddingLength % headCount !== 0) {
          fail(
            path,
            `${architecture}.embedding_length ${embeddingLength} is not divisible by attention.head_count ${headCount}`,
          );
        }
      }
    }
  }
  if (architecture === 'llama') {
    const epsilon = metadataNumber(metadata.get('llama.attention.layer_norm_rms_epsilon'));
    if (epsilon === undefined || !(epsilon > 0)) {
      fail(path, 'llama.attention.layer_norm_rms_epsilon is missing or not positive');
    }
  }

  const tokenizerModel = metadataString(metadata.get('tokenizer.ggml.model'));
  if (tokenizerModel === undefined) fail(path, 'tokenizer.ggml.model is missing');
  const tokens = metadata.get('tokenizer.ggml.tokens');
  let vocabularySize = 0;
  if (tokenizerModel !== 'none') {
    if (tokens?.type !== 'array' || tokens.elementType !== 'string' || tokens.values.length === 0) {
      fail(path, 'tokenizer.ggml.tokens is missing or not a list of strings');
    }
    vocabularySize = tokens.values.length;
  }

  let parameterCount = 0;
  const tensorsByName = new Map(header.tensors.map((tensor) => [tensor.name, tensor]));
  const ranges: { start: number; end: number; name: string }[] = [];
  for (const tensor of header.tensors) {
    if (tensor.typeName === undefined) {
      fail(path, `tensor '${tensor.name}' has unknown type ${tensor.type}`);
    }
    if (tensor.sizeBytes === undefined) {
      fail(
        path,
        `tensor '${tensor.name}' row length ${tensor.shape[0]} does not fit type ${tensor.typeName}`,
      );
    }
    if (tensor.offsetBytes % header.alignment !== 0) {
      fail(path, `tensor '${tensor.name}' data is not aligned to ${header.alignment} bytes`);
    }
    const start = header.dataOffsetBytes + tensor.offsetBytes;
    const end = start + tensor.sizeBytes;
    if (end > header.fileSizeBytes) {
      fail(
        path,
        `tensor '${tensor.name}' data ends at byte ${end} but the file has ${header.fileSizeBytes} bytes (truncated?)`,
      );
    }
    ranges.push({ start, end, name: tensor.name });
    parameterCount += tensor.elementCount;
  }
  ranges.sort((left, right) => left.start - right.start);
  for (let index = 1; index < ranges.length; index++) {
    const previous = ranges[index - 1];
    const current = ranges[index];
    if (previous !== undefined && current !== undefined && current.start < previous.end) {
      fail(path, `tensors '${previous.name}' and '${current.name}' overlap`);
    }
  }

  const tokenEmbedding = tensorsByName.get('token_embd.weight');
  if (architecture === 'llama' && tokenEmbedding === undefined) {
    fail(path, 'tensor token_embd.weight is missing');
  }
  if (tokenEmbedding !== undefined) {
    const [rowLength, rowCount] = tokenEmbedding.shape;
    if (rowLength !== embeddingLength) {
      fail(
        path,
        `token_embd.weight rows have ${rowLength} values but embedding_length is ${embeddingLength}`,
      );
    }
    if (architecture === 'llama' && vocabularySize > 0 && rowCount !== vocabularySize) {
      fail(
        path,
        `token_embd.weight has ${rowCount} rows but the vocabulary has ${vocabularySize} tokens`,
      );
    }
  }

  return {
    path,
    architecture,
    name: metadataString(metadata.get('general.name')),
    parameterCount,
    fileSizeBytes: header.fileSizeBytes,
    contextLength,
    vocabularySize,
    tensorCount: header.tensors.length,
    fileType: metadataNumber(metadata.get('general.file_type')),
    chatTemplate: metadataString(metadata.get('tokenizer.chat_template')),
  };
}

/**
 * Reads and validates a GGUF file for llama.cpp. Throws InvalidModelFileError with a
 * one-line reason; returns a summary of the model when the file may be loaded.
 */
export async function validateGgufForLlama(path: string): Promise<GgufModelSummary> {
  return validateGgufHeaderForLlama(await readGgufHeader(path));
}

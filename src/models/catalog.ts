/**
 * The model catalog: tandem's aliases mapped to their per-engine artifacts (GGUF file on
 * Hugging Face, ONNX repository, Foundry Local alias, Ollama tag), sizes and architecture.
 *
 * Every fact was checked against a public source listed in `sources`; a field that could not
 * be checked is named in `unverified`. docs/catalog-sources.md has the fact-by-fact table.
 */

import type { OnnxDtype } from './onnx/onnx-dtypes.js';

export interface CatalogArchitecture {
  /** GGUF `general.architecture` (llama.cpp's name for the architecture). */
  name: string;
  /** config.json num_hidden_layers. */
  blockCount: number;
  /** config.json hidden_size. */
  embeddingLength: number;
  /** config.json intermediate_size (per expert for MoE models). */
  feedForwardLength?: number;
  /** config.json num_attention_heads. */
  headCount: number;
  /** config.json num_key_value_heads. */
  headCountKv: number;
  /** config.json vocab_size (the embedding rows, which may exceed the tokenizer's vocabulary). */
  vocabSize: number;
  /** config.json rope_theta. */
  ropeFreqBase?: number;
  /** MoE: config.json num_local_experts. */
  expertCount?: number;
  /** MoE: config.json num_experts_per_tok / experts_per_token. */
  expertUsedCount?: number;
}

export interface CatalogGgufArtifact {
  /** Hugging Face repository, `owner/name`. */
  repository: string;
  /** File name inside the repository (the default quantization). */
  file: string;
  quantization: string;
  /** Exact file size in bytes (the LFS pointer's size). */
  sizeBytes: number;
  /** The file's SHA-256 (the LFS object id), where it was found. */
  sha256?: string;
}

export interface CatalogOnnxArtifact {
  /** Hugging Face repository, `owner/name`. */
  repository: string;
  /**
   * How the repository is laid out. 'transformers.js': config.json, tokenizer.json and
   * tokenizer_config.json at the root and onnx/model{suffix}.onnx (suffix '' fp32, '_fp16',
   * '_quantized' q8, '_q4', '_q4f16'; optional .onnx_data files), which the `onnx` engine loads.
   * 'onnxruntime-genai': per-device folders holding genai_config.json and model.onnx +
   * model.onnx.data, which transformers.js cannot load.
   */
  layout: 'transformers.js' | 'onnxruntime-genai';
  /** The dtypes whose onnx/model{suffix}.onnx file the repository's file listing showed. */
  dtypes?: readonly OnnxDtype[];
}

export interface CatalogModel {
  /** tandem's alias, e.g. 'phi-4-mini'. */
  alias: string;
  displayName: string;
  family: string;
  /** Total parameters. */
  parameterCount: number;
  /** Parameters active per token (mixture-of-experts models only). */
  activeParameterCount?: number;
  /** Context length in tokens, as the model's config.json / GGUF metadata declares it. */
  contextLength: number;
  /** SPDX identifier (or the licence's own name where it has none). */
  license: string;
  gguf: CatalogGgufArtifact;
  /** ONNX source for the `onnx` engine. */
  onnx?: CatalogOnnxArtifact;
  /** Foundry Local alias, e.g. 'phi-4-mini'. */
  foundryAlias?: string;
  /** Ollama tag, e.g. 'phi4-mini' or 'gpt-oss:20b'. */
  ollamaTag?: string;
  architecture: CatalogArchitecture;
  /** Streams reasoning before the answer (gpt-oss). */
  reasoning?: boolean;
  /** Where the facts were checked (URLs). */
  sources: string[];
  /** Dotted field paths that could not be verified, e.g. 'architecture.ropeFreqBase'. */
  unverified?: string[];
}

export const CATALOG: readonly CatalogModel[] = [
  {
    alias: 'phi-4-mini',
    displayName: 'Phi-4-mini-instruct',
    family: 'phi-4',
    parameterCount: 3_836_021_760,
    contextLength: 131_072,
    license: 'MIT',
    gguf: {
      repository: 'unsloth/Phi-4-mini-instruct-GGUF',
      file: 'Phi-4-mini-instruct-Q4_K_M.gguf',
      quantization: 'Q4_K_M',
      sizeBytes: 2_491_874_272,
      sha256: '88c00229914083cd112853aab84ed51b87bdf6b9ce42f532d8c85c7c63b1730a',
    },
    // microsoft/Phi-4-mini-instruct-onnx is the onnxruntime-genai layout (cpu_and_mobile/… and
    // gpu/… folders with genai_config.json), which transformers.js cannot load. The -GQA export's
    // onnx/ listing predates its latest uploads, hence onnx.dtypes in `unverified`.
    onnx: {
      repository: 'onnx-community/Phi-4-mini-instruct-ONNX-GQA',
      layout: 'transformers.js',
      dtypes: ['q4f16'],
    },
    foundryAlias: 'phi-4-mini',
    ollamaTag: 'phi4-mini',
    architecture: {
      name: 'phi3',
      blockCount: 32,
      embeddingLength: 3072,
      feedForwardLength: 8192,
      headCount: 24,
      headCountKv: 8,
      vocabSize: 200_064,
      ropeFreqBase: 10_000,
    },
    sources: [
      'https://huggingface.co/microsoft/Phi-4-mini-instruct',
      'https://huggingface.co/microsoft/Phi-4-mini-instruct/blob/main/config.json',
      'https://huggingface.co/unsloth/Phi-4-mini-instruct-GGUF/blob/main/Phi-4-mini-instruct-Q4_K_M.gguf',
      'https://huggingface.co/microsoft/Phi-4-mini-instruct-onnx',
      'https://huggingface.co/microsoft/Phi-4-mini-instruct-onnx/tree/main/cpu_and_mobile/cpu-int4-rtn-block-32-acc-level-4',
      'https://huggingface.co/onnx-community/Phi-4-mini-instruct-ONNX-GQA/tree/39b0c116b48e4a94b778f377dc833524bc66a643',
      'https://huggingface.co/onnx-community/Phi-4-mini-instruct-ONNX-GQA/tree/c9498b245b028984ef73246f27bf0e663c6296a4/onnx',
      'https://ollama.com/library/phi4-mini',
      'https://learn.microsoft.com/azure/ai-foundry/foundry-local/reference/reference-cli',
    ],
    unverified: ['onnx.dtypes'],
  },
  {
    alias: 'gpt-oss-20b',
    displayName: 'gpt-oss-20b',
    family: 'gpt-oss',
    // The model card's rounded figures ("21B parameters with 3.6B active parameters").
    parameterCount: 21_000_000_000,
    activeParameterCount: 3_600_000_000,
    contextLength: 131_072,
    license: 'Apache-2.0',
    gguf: {
      repository: 'ggml-org/gpt-oss-20b-GGUF',
      file: 'gpt-oss-20b-mxfp4.gguf',
      quantization: 'MXFP4',
      sizeBytes: 12_109_566_560,
      sha256: 'be37a636aca0fc1aae0d32325f82f6b4d21495f06823b5fbc1898ae0303e9935',
    },
    // onnxruntime-genai's WebGPU guide names this repository's onnx/model_q4f16.onnx; no file
    // listing of it was found, so its root files (layout) and its dtypes are unchecked.
    onnx: { repository: 'onnx-community/gpt-oss-20b-ONNX', layout: 'transformers.js' },
    foundryAlias: 'gpt-oss-20b',
    ollamaTag: 'gpt-oss:20b',
    architecture: {
      name: 'gpt-oss',
      blockCount: 24,
      embeddingLength: 2880,
      feedForwardLength: 2880,
      headCount: 64,
      headCountKv: 8,
      vocabSize: 201_088,
      ropeFreqBase: 150_000,
      expertCount: 32,
      expertUsedCount: 4,
    },
    reasoning: true,
    sources: [
      'https://huggingface.co/openai/gpt-oss-20b',
      'https://huggingface.co/openai/gpt-oss-20b/blob/main/config.json',
      'https://huggingface.co/ggml-org/gpt-oss-20b-GGUF/blob/main/gpt-oss-20b-mxfp4.gguf',
      'https://huggingface.co/onnx-community/gpt-oss-20b-ONNX',
      'https://github.com/microsoft/onnxruntime-genai/blob/main/doc/RunGPTOSSWebGPU.md',
      'https://ollama.com/library/gpt-oss',
      'https://learn.microsoft.com/azure/ai-foundry/foundry-local/get-started',
    ],
    unverified: ['onnx.layout', 'onnx.dtypes'],
  },
  {
    alias: 'qwen2.5-0.5b',
    displayName: 'Qwen2.5-0.5B-Instruct',
    family: 'qwen2.5',
    // The model card's rounded figure ("Number of Parameters: 0.49B").
    parameterCount: 490_000_000,
    contextLength: 32_768,
    license: 'Apache-2.0',
    gguf: {
      repository: 'Qwen/Qwen2.5-0.5B-Instruct-GGUF',
      file: 'qwen2.5-0.5b-instruct-q4_k_m.gguf',
      quantization: 'Q4_K_M',
      sizeBytes: 491_400_032,
      sha256: '74a4da8c9fdbcd15bd1f6d01d621410d31c6fc00986f5eb687824e7b93d7a9db',
    },
    onnx: {
      repository: 'onnx-community/Qwen2.5-0.5B-Instruct',
      layout: 'transformers.js',
      dtypes: ['fp32', 'fp16', 'q8', 'q4', 'q4f16'],
    },
    foundryAlias: 'qwen2.5-0.5b',
    ollamaTag: 'qwen2.5:0.5b',
    architecture: {
      name: 'qwen2',
      blockCount: 24,
      embeddingLength: 896,
      feedForwardLength: 4864,
      headCount: 14,
      headCountKv: 2,
      vocabSize: 151_936,
      ropeFreqBase: 1_000_000,
    },
    sources: [
      'https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct',
      'https://huggingface.co/Qwen/Qwen2.5-0.5B/blob/main/config.json',
      'https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/blob/main/qwen2.5-0.5b-instruct-q4_k_m.gguf',
      'https://huggingface.co/onnx-community/Qwen2.5-0.5B-Instruct',
      'https://huggingface.co/onnx-community/Qwen2.5-0.5B-Instruct/tree/main',
      'https://huggingface.co/onnx-community/Qwen2.5-0.5B-Instruct/tree/main/onnx',
      'https://ollama.com/library/qwen2.5',
      'https://learn.microsoft.com/azure/ai-foundry/foundry-local/reference/reference-cli',
    ],
  },
  {
    alias: 'qwen2.5-7b',
    displayName: 'Qwen2.5-7B-Instruct',
    family: 'qwen2.5',
    parameterCount: 7_615_616_512,
    // config.json max_position_embeddings; the card's 131,072 needs YaRN rope scaling.
    contextLength: 32_768,
    license: 'Apache-2.0',
    gguf: {
      // Qwen's own GGUF repository splits Q4_K_M into two files; this one is a single file.
      repository: 'lmstudio-community/Qwen2.5-7B-Instruct-GGUF',
      file: 'Qwen2.5-7B-Instruct-Q4_K_M.gguf',
      quantization: 'Q4_K_M',
      sizeBytes: 4_683_073_952,
    },
    // No transformers.js-layout ONNX export of this model was found, hence no onnx.
    foundryAlias: 'qwen2.5-7b',
    ollamaTag: 'qwen2.5:7b',
    architecture: {
      name: 'qwen2',
      blockCount: 28,
      embeddingLength: 3584,
      feedForwardLength: 18_944,
      headCount: 28,
      headCountKv: 4,
      vocabSize: 152_064,
      ropeFreqBase: 1_000_000,
    },
    sources: [
      'https://huggingface.co/Qwen/Qwen2.5-7B-Instruct',
      'https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/blob/main/config.json',
      'https://huggingface.co/api/models/Qwen/Qwen2.5-7B-Instruct',
      'https://huggingface.co/lmstudio-community/Qwen2.5-7B-Instruct-GGUF/blob/main/Qwen2.5-7B-Instruct-Q4_K_M.gguf',
      'https://lmstudio.ai/docs/typescript/manage-models/list-downloaded',
      'https://ollama.com/library/qwen2.5',
    ],
    unverified: ['architecture.ropeFreqBase', 'gguf.sha256', 'onnx'],
  },
  {
    alias: 'smollm2-360m',
    displayName: 'SmolLM2-360M-Instruct',
    family: 'smollm2',
    parameterCount: 361_821_120,
    contextLength: 8192,
    license: 'Apache-2.0',
    gguf: {
      repository: 'bartowski/SmolLM2-360M-Instruct-GGUF',
      file: 'SmolLM2-360M-Instruct-Q4_K_M.gguf',
      quantization: 'Q4_K_M',
      sizeBytes: 270_590_880,
      sha256: '2fa3f013dcdd7b99f9b237717fa0b12d75bbb89984cc1274be1471a465bac9c2',
    },
    // The onnx/ listing predates the repository's latest ONNX upload (#10), hence onnx.dtypes in
    // `unverified`.
    onnx: {
      repository: 'HuggingFaceTB/SmolLM2-360M-Instruct',
      layout: 'transformers.js',
      dtypes: ['fp32', 'fp16', 'q4', 'q4f16'],
    },
    ollamaTag: 'smollm2:360m',
    architecture: {
      name: 'llama',
      blockCount: 32,
      embeddingLength: 960,
      feedForwardLength: 2560,
      headCount: 15,
      headCountKv: 5,
      vocabSize: 49_152,
      ropeFreqBase: 100_000,
    },
    sources: [
      'https://huggingface.co/HuggingFaceTB/SmolLM2-360M-Instruct',
      'https://huggingface.co/HuggingFaceTB/SmolLM2-360M-Instruct/blob/main/config.json',
      'https://huggingface.co/HuggingFaceTB/SmolLM2-360M-Instruct/tree/main',
      'https://huggingface.co/HuggingFaceTB/SmolLM2-360M-Instruct/tree/main/onnx',
      'https://huggingface.co/bartowski/SmolLM2-360M-Instruct-GGUF/blob/main/SmolLM2-360M-Instruct-Q4_K_M.gguf',
      'https://ollama.com/library/smollm2',
    ],
    // Not in Foundry Local's catalog as far as could be checked, hence no foundryAlias.
    unverified: ['foundryAlias', 'onnx.dtypes'],
  },
];

/** Finds a catalog model by alias, Foundry alias or Ollama tag, case-insensitively. */
export function findCatalogModel(alias: string): CatalogModel | undefined {
  const wanted = alias.trim().toLowerCase();
  if (wanted === '') return undefined;
  return (
    CATALOG.find((model) => model.alias.toLowerCase() === wanted) ??
    CATALOG.find((model) => model.foundryAlias?.toLowerCase() === wanted) ??
    CATALOG.find((model) => model.ollamaTag?.toLowerCase() === wanted)
  );
}

/** Every name a catalog model answers to (aliases first), for "Did you mean" suggestions. */
export function catalogNames(): string[] {
  const names = new Set<string>();
  for (const model of CATALOG) names.add(model.alias);
  for (const model of CATALOG) {
    if (model.foundryAlias !== undefined) names.add(model.foundryAlias);
    if (model.ollamaTag !== undefined) names.add(model.ollamaTag);
  }
  return [...names];
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(left: string, right: string): number {
  const rows = left.length + 1;
  const columns = right.length + 1;
  const table: number[][] = Array.from({ length: rows }, (_, row) =>
    Array.from({ length: columns }, (_, column) => (row === 0 ? column : column === 0 ? row : 0)),
  );
  const cell = (row: number, column: number): number => table[row]?.[column] ?? 0;
  for (let row = 1; row < rows; row++) {
    for (let column = 1; column < columns; column++) {
      const cost = left[row - 1] === right[column - 1] ? 0 : 1;
      let best = Math.min(
        cell(row - 1, column) + 1,
        cell(row, column - 1) + 1,
        cell(row - 1, column - 1) + cost,
      );
      if (
        row > 1 &&
        column > 1 &&
        left[row - 1] === right[column - 2] &&
        left[row - 2] === right[column - 1]
      ) {
        best = Math.min(best, cell(row - 2, column - 2) + 1);
      }
      const tableRow = table[row];
      if (tableRow !== undefined) tableRow[column] = best;
    }
  }
  return cell(left.length, right.length);
}

/** Punctuation-free form, so 'phi4mini' and 'phi-4-mini' compare as equal. */
function squash(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * Close matches for a name that was not found, best first: by edit distance (ignoring case),
 * and candidates that start with the name (or the other way round). For "Did you mean …?".
 */
export function suggestModels(name: string, candidates: readonly string[], limit = 3): string[] {
  const wanted = name.trim().toLowerCase();
  if (wanted === '' || limit <= 0) return [];
  const maximumDistance = Math.max(2, Math.floor(wanted.length / 3));
  const scored: { candidate: string; score: number }[] = [];
  for (const candidate of new Set(candidates)) {
    const lower = candidate.toLowerCase();
    if (lower === wanted) continue;
    const distance = Math.min(
      editDistance(wanted, lower),
      editDistance(squash(wanted), squash(lower)),
    );
    const isPrefix = wanted.length >= 2 && (lower.startsWith(wanted) || wanted.startsWith(lower));
    if (distance <= maximumDistance) scored.push({ candidate, score: distance });
    else if (isPrefix) scored.push({ candidate, score: maximumDistance + 1 });
  }
  scored.sort(
    (left, right) => left.score - right.score || left.candidate.localeCompare(right.candidate),
  );
  return scored.slice(0, limit).map((entry) => entry.candidate);
}

/**
 * The download URL of the model's GGUF file: {endpoint}/{repo}/resolve/main/{file}, where the
 * endpoint is HF_ENDPOINT (Hugging Face's own variable for mirrors) or https://huggingface.co.
 */
export function huggingFaceUrl(model: CatalogModel, env: NodeJS.ProcessEnv = {}): string {
  const file = model.gguf.file.split('/').map(encodeURIComponent).join('/');
  const endpoint = env.HF_ENDPOINT?.trim().replace(/\/+$/, '') || 'https://huggingface.co';
  return `${endpoint}/${model.gguf.repository}/resolve/main/${file}`;
}

/** Whether the catalog's file size for this model was verified (pull checks it strictly then). */
export function isCatalogSizeVerified(model: CatalogModel): boolean {
  return !(model.unverified ?? []).includes('gguf.sizeBytes');
}

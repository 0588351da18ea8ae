/**
 * The demo models as ONNX model folders in the transformers.js layout, written by tandem
 * from the same seed and weights as their GGUF files:
 *
 * ```
 * {modelsDirectory}/demo/{name}-onnx/
 *   config.json  generation_config.json  tokenizer.json  tokenizer_config.json
 *   onnx/model.onnx
 * ```
 *
 * Written on first use into a temporary folder that is renamed into place, and rewritten
 * when what is there differs from what tandem writes (model.onnx checked by size, then
 * SHA-256 once per process; the JSON files by content).
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AbortedError, TandemError } from '../../errors.js';
import { encodeModelChunks } from '../onnx/onnx-encoder.js';
import { type DemoModelName, demoModelDefinition } from './definitions.js';
import { sha256OfFile } from './demo-models.js';
import { buildDemoOnnxModel } from './demo-onnx-graph.js';
import { demoTokenizerConfig, demoTokenizerJson } from './demo-tokenizer.js';
import { DEMO_SPECIAL_TOKENS } from './vocabulary.js';

/** Written into the file (producer_version); part of what the SHA-256 covers. */
const DEMO_ONNX_PRODUCER_VERSION = 'demo-onnx/1';

export function demoOnnxFolderPath(modelsDirectory: string, name: DemoModelName): string {
  return join(modelsDirectory, 'demo', `${name}-onnx`);
}

/** config.json: Hugging Face's llama config, plus what transformers.js and tandem read. */
export function demoOnnxConfig(name: DemoModelName): Record<string, unknown> {
  const definition = demoModelDefinition(name);
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: definition.vocabularySize,
    hidden_size: definition.embeddingLength,
    intermediate_size: definition.feedForwardLength,
    num_hidden_layers: definition.blockCount,
    num_attention_heads: definition.headCount,
    num_key_value_heads: definition.headCountKv,
    head_dim: definition.embeddingLength / definition.headCount,
    max_position_embeddings: definition.contextLength,
    rms_norm_eps: definition.rmsNormEpsilon,
    rope_theta: definition.ropeFrequencyBase,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    bos_token_id: DEMO_SPECIAL_TOKENS.beginOfSequence.id,
    eos_token_id: DEMO_SPECIAL_TOKENS.imEnd.id,
    pad_token_id: DEMO_SPECIAL_TOKENS.endOfSequence.id,
    torch_dtype: 'float32',
    use_cache: true,
    'transformers.js_config': { dtype: 'fp32' },
    tandem: {
      demo: true,
      seed: definition.seed,
      description: definition.description,
      parameter_count: definition.parameterCount,
      rope: 'llama.cpp normal mode: adjacent pairs rotate (the weights are llama.cpp-layout)',
    },
  };
}

export function demoGenerationConfig(): Record<string, unknown> {
  return {
    bos_token_id: DEMO_SPECIAL_TOKENS.beginOfSequence.id,
    eos_token_id: DEMO_SPECIAL_TOKENS.imEnd.id,
    pad_token_id: DEMO_SPECIAL_TOKENS.endOfSequence.id,
  };
}

/** The folder's JSON files by name, as written (two-space indent, final newline). */
function demoJsonFiles(name: DemoModelName): Record<string, string> {
  const definition = demoModelDefinition(name);
  const text = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    'config.json': text(demoOnnxConfig(name)),
    'generation_config.json': text(demoGenerationConfig()),
    'tokenizer.json': text(demoTokenizerJson(definition.vocabularySize)),
    'tokenizer_config.json': text(demoTokenizerConfig()),
  };
}

export interface DemoOnnxWriteOptions {
  onProgress?: (writtenBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

export interface DemoOnnxWriteResult {
  path: string;
  modelFileSizeBytes: number;
  /** SHA-256 of onnx/model.onnx. */
  sha256: string;
}

/** Writes the folder's files into `folder` (which must not exist yet). */
export async function writeDemoOnnxFolder(
  name: DemoModelName,
  folder: string,
  options: DemoOnnxWriteOptions = {},
): Promise<DemoOnnxWriteResult> {
  await mkdir(join(folder, 'onnx'), { recursive: true });
  for (const [file, content] of Object.entries(demoJsonFiles(name))) {
    await writeFile(join(folder, file), content);
  }
  if (options.signal?.aborted) throw new AbortedError('Stopped while writing the demo model.');
  const chunks = encodeModelChunks(buildDemoOnnxModel(name, DEMO_ONNX_PRODUCER_VERSION));
  const totalBytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const hash = createHash('sha256');
  const handle = await open(join(folder, 'onnx', 'model.onnx'), 'w');
  let written = 0;
  try {
    for (const chunk of chunks) {
      if (options.signal?.aborted) throw new AbortedError('Stopped while writing the demo model.');
      hash.update(chunk);
      await handle.write(chunk);
      written += chunk.length;
      options.onProgress?.(written, totalBytes);
    }
  } finally {
    await handle.close();
  }
  return { path: folder, modelFileSizeBytes: totalBytes, sha256: hash.digest('hex') };
}

/** Folders already checked in this process: path → "size:mtime" of model.onnx. */
const verifiedFolders = new Map<string, string>();
const pendingWrites = new Map<string, Promise<EnsureDemoOnnxResult>>();

export interface EnsureDemoOnnxOptions extends DemoOnnxWriteOptions {
  modelsDirectory: string;
}

export interface EnsureDemoOnnxResult {
  path: string;
  created: boolean;
}

async function isExpectedFolder(folder: string, name: DemoModelName): Promise<boolean> {
  const definition = demoModelDefinition(name);
  const modelFile = join(folder, 'onnx', 'model.onnx');
  const stats = await stat(modelFile).catch(() => undefined);
  if (stats === undefined || stats.size !== definition.onnxFileSizeBytes) return false;
  for (const [file, content] of Object.entries(demoJsonFiles(name))) {
    const existing = await readFile(join(folder, file), 'utf8').catch(() => undefined);
    if (existing !== content) return false;
  }
  const stamp = `${stats.size}:${stats.mtimeMs}`;
  if (verifiedFolders.get(folder) === stamp) return true;
  if ((await sha256OfFile(modelFile)) !== definition.onnxSha256) return false;
  verifiedFolders.set(folder, stamp);
  return true;
}

async function writeInPlace(
  name: DemoModelName,
  folder: string,
  options: EnsureDemoOnnxOptions,
): Promise<EnsureDemoOnnxResult> {
  const definition = demoModelDefinition(name);
  const temporary = join(
    dirname(folder),
    `.${name}-onnx.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  await mkdir(dirname(folder), { recursive: true });
  try {
    const result = await writeDemoOnnxFolder(name, temporary, options);
    if (
      result.sha256 !== definition.onnxSha256 ||
      result.modelFileSizeBytes !== definition.onnxFileSizeBytes
    ) {
      throw new TandemError(
        `The ${name} ONNX file came out different from the expected one (SHA-256 ${result.sha256}, expected ${definition.onnxSha256}): this is a bug in tandem, please report it.`,
      );
    }
    let usedOther = false;
    try {
      await rename(temporary, folder);
    } catch (error) {
      // A folder is there: another process's complete one (use it), or a damaged one.
      if (!isTaken(error)) throw error;
      if (await isExpectedFolder(folder, name)) usedOther = true;
      else {
        await rm(folder, { recursive: true, force: true });
        try {
          await rename(temporary, folder);
        } catch (again) {
          if (!isTaken(again) || !(await isExpectedFolder(folder, name))) throw again;
          usedOther = true;
        }
      }
    }
    if (!usedOther) {
      const stats = await stat(join(folder, 'onnx', 'model.onnx'));
      verifiedFolders.set(folder, `${stats.size}:${stats.mtimeMs}`);
    }
    return { path: folder, created: !usedOther };
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

/** rename() onto a folder that exists (ENOTEMPTY on Linux and macOS, EPERM on Windows). */
function isTaken(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM';
}

/**
 * Makes sure the demo model's ONNX folder exists and is exactly what tandem writes; writes
 * it (about 4 MB for demo-slm, 308 MB for demo-llm: float32 weights) when it does not.
 */
export async function ensureDemoOnnxModel(
  name: DemoModelName,
  options: EnsureDemoOnnxOptions,
): Promise<EnsureDemoOnnxResult> {
  const folder = demoOnnxFolderPath(options.modelsDirectory, name);
  const pending = pendingWrites.get(folder);
  if (pending !== undefined) return pending;
  if (await isExpectedFolder(folder, name)) return { path: folder, created: false };
  const again = pendingWrites.get(folder);
  if (again !== undefined) return again;
  const write = writeInPlace(name, folder, options).finally(() => pendingWrites.delete(folder));
  pendingWrites.set(folder, write);
  return write;
}

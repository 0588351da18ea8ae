/**
 * A local ONNX model folder in the Hugging Face / transformers.js layout, checked before
 * anything is loaded: config.json, tokenizer.json, tokenizer_config.json and
 * onnx/model{suffix}.onnx per dtype (plus .onnx_data files for external weights).
 */

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InvalidArgumentError, InvalidModelFileError, ModelNotFoundError } from '../../errors.js';
import { ONNX_DTYPE_FILE_SUFFIX, ONNX_DTYPES, type OnnxDtype } from './onnx-dtypes.js';

const configSchema = z
  .object({
    model_type: z.string().min(1),
    vocab_size: z.number().int().positive().optional(),
    hidden_size: z.number().int().positive().optional(),
    num_hidden_layers: z.number().int().positive().optional(),
    max_position_embeddings: z.number().int().positive().optional(),
    eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullish(),
    tandem: z.object({ demo: z.boolean().optional() }).passthrough().optional(),
  })
  .passthrough();

export type OnnxModelConfig = z.infer<typeof configSchema>;

export interface OnnxModelFolder {
  path: string;
  config: OnnxModelConfig;
  /** The dtypes whose onnx/model{suffix}.onnx file is present. */
  dtypes: OnnxDtype[];
}

function readJson(folder: string, file: string): unknown {
  const path = join(folder, file);
  if (!existsSync(path)) {
    throw new InvalidModelFileError(
      folder,
      `${file} is missing: an ONNX model folder needs config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx.`,
    );
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InvalidModelFileError(
      folder,
      `${file} is not valid JSON (${error instanceof Error ? error.message : String(error)}).`,
    );
  }
}

/** Reads and checks a local ONNX model folder; throws one-line errors for what is wrong. */
export function inspectOnnxModelFolder(path: string): OnnxModelFolder {
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new ModelNotFoundError(
      path,
      [],
      `No ONNX model folder at ${path}: check the path, or give a Hugging Face repository id (owner/name) or onnx:demo-slm.`,
    );
  }
  const parsed = configSchema.safeParse(readJson(path, 'config.json'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidModelFileError(
      path,
      `config.json is malformed (${issue === undefined ? 'invalid' : `${issue.path.join('.') || 'the file'}: ${issue.message}`}).`,
    );
  }
  readJson(path, 'tokenizer.json');
  readJson(path, 'tokenizer_config.json');
  const onnxDirectory = join(path, 'onnx');
  const files = existsSync(onnxDirectory) ? readdirSync(onnxDirectory) : [];
  const dtypes = ONNX_DTYPES.filter((dtype) =>
    files.includes(`model${ONNX_DTYPE_FILE_SUFFIX[dtype]}.onnx`),
  );
  if (dtypes.length === 0) {
    throw new InvalidModelFileError(
      path,
      'onnx/ has no model file (model.onnx, model_fp16.onnx, model_quantized.onnx, model_q4.onnx or model_q4f16.onnx).',
    );
  }
  return { path, config: parsed.data, dtypes };
}

/** The ONNX file for a dtype (throws when the folder lacks it, naming the dtypes it has). */
export function onnxModelFile(folder: OnnxModelFolder, dtype: OnnxDtype): string {
  if (!folder.dtypes.includes(dtype)) {
    throw new InvalidArgumentError(
      `${folder.path} has no ${dtype} weights (onnx/model${ONNX_DTYPE_FILE_SUFFIX[dtype]}.onnx): use --dtype ${folder.dtypes.join(' or ')}.`,
    );
  }
  return join(folder.path, 'onnx', `model${ONNX_DTYPE_FILE_SUFFIX[dtype]}.onnx`);
}

/** Bytes of an ONNX file and its external data files (model.onnx_data, model.onnx_data_1, …). */
export function onnxWeightsSizeBytes(modelFile: string): number {
  let total = statSync(modelFile).size;
  const directory = join(modelFile, '..');
  const base = modelFile.split(/[\\/]/).pop() ?? '';
  for (const file of readdirSync(directory)) {
    if (file.startsWith(`${base}_data`)) total += statSync(join(directory, file)).size;
  }
  return total;
}

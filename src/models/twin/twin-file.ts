/**
 * Writing a shape twin to disk: the layout's tensors filled with random codes from a seed,
 * streamed in whole blocks (never the whole model in memory), into tandem's model cache
 * ($TANDEM_HOME/models/twins/ALIAS-QUANTIZATION.twin.gguf), reused when it is already there.
 */

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelNotFoundError } from '../../errors.js';
import { type CatalogModel, catalogNames, findCatalogModel, suggestModels } from '../catalog.js';
import { float32ToFloat16Bits } from '../gguf/float16.js';
import { fillRandomBlocks, isQuantizedType } from '../gguf/quantize.js';
import { metadataString, readGgufHeader } from '../gguf/reader.js';
import { GGML_TYPE, ggmlTypeInfo } from '../gguf/types.js';
import {
  type GgufTensorSource,
  type GgufWriteInput,
  type GgufWriteOptions,
  planGgufLayout,
  writeGgufFile,
} from '../gguf/writer.js';
import { createSeededRandom } from '../random.js';
import { type TwinFacts, type TwinLayout, type TwinTensor, twinLayout } from './twin-layout.js';

/** The spread of the random weights: values over about ±0.04, like a trained matrix's. */
const WEIGHT_RANGE = 0.04;
/** Bytes produced per chunk while writing (whole blocks). */
const CHUNK_BYTES = 4 * 1024 * 1024;
export const TWIN_SEED = 'tandem/twin/v1';

function* tensorBytes(tensor: TwinTensor, seed: string): Generator<Uint8Array> {
  const info = ggmlTypeInfo(tensor.type);
  if (info === undefined) throw new Error(`no layout for ${tensor.name}`);
  let elements = 1;
  for (const dimension of tensor.shape) elements *= dimension;
  const totalBytes = (elements / info.blockSize) * info.bytesPerBlock;
  if (tensor.type === GGML_TYPE.F32 || tensor.type === GGML_TYPE.F16) {
    // Float tensors are streamed too: a twin of an F16 file can hold a gigabyte embedding.
    const random = createSeededRandom(`${seed}/${tensor.name}`);
    const value = () =>
      tensor.fill === 'ones' ? 1 : tensor.fill === 'zeros' ? 0 : random.nextSymmetric(WEIGHT_RANGE);
    const chunkElements = CHUNK_BYTES / info.bytesPerBlock;
    const values =
      tensor.type === GGML_TYPE.F32
        ? new Float32Array(Math.min(chunkElements, elements))
        : new Uint16Array(Math.min(chunkElements, elements));
    for (let done = 0; done < elements; done += values.length) {
      const count = Math.min(values.length, elements - done);
      if (values instanceof Float32Array) {
        for (let index = 0; index < count; index++) values[index] = value();
      } else {
        for (let index = 0; index < count; index++) values[index] = float32ToFloat16Bits(value());
      }
      yield new Uint8Array(values.buffer, 0, count * info.bytesPerBlock);
    }
    return;
  }
  if (!isQuantizedType(tensor.type)) throw new Error(`${tensor.name}: cannot fill ${info.name}`);
  const random = createSeededRandom(`${seed}/${tensor.name}`);
  const next = () => random.nextUint32();
  const chunkBytes = Math.max(1, Math.floor(CHUNK_BYTES / info.bytesPerBlock)) * info.bytesPerBlock;
  const buffer = new Uint8Array(chunkBytes);
  for (let written = 0; written < totalBytes; written += chunkBytes) {
    const size = Math.min(chunkBytes, totalBytes - written);
    const chunk = buffer.subarray(0, size);
    fillRandomBlocks(tensor.type, chunk, next, WEIGHT_RANGE);
    // The writer copies or writes each chunk before asking for the next, so one buffer serves.
    yield chunk;
  }
}

/** What writeGgufFile needs for a layout: metadata and a lazy, seeded generator per tensor. */
export function twinGgufInput(layout: TwinLayout, seed = TWIN_SEED): GgufWriteInput {
  const tensors: GgufTensorSource[] = layout.tensors.map((tensor) => ({
    name: tensor.name,
    shape: tensor.shape,
    type: tensor.type,
    data: () => tensorBytes(tensor, `${seed}/${layout.alias}`),
  }));
  return {
    metadata: [...layout.metadata, ['tandem.twin.seed', { type: 'string', value: seed }]],
    tensors,
  };
}

/** The twin's file size, computed from the layout alone. */
export function twinFileSizeBytes(layout: TwinLayout): number {
  return planGgufLayout(twinGgufInput(layout)).fileSizeBytes;
}

/** Where a catalog model's twin is cached: `twins/ALIAS-QUANTIZATION.twin.gguf`. */
export function twinPath(modelsDirectory: string, model: CatalogModel): string {
  return join(modelsDirectory, 'twins', `${model.alias}-${model.gguf.quantization}.twin.gguf`);
}

export interface EnsureTwinOptions extends GgufWriteOptions {
  modelsDirectory: string;
}

export interface EnsureTwinResult {
  path: string;
  model: CatalogModel;
  fileSizeBytes: number;
  /** Milliseconds spent writing it now; undefined when it was already in the cache. */
  buildMs?: number;
}

const pending = new Map<string, Promise<EnsureTwinResult>>();

/** A catalog model for `twin:ALIAS`, or a one-line error naming the aliases that have twins. */
export function twinModel(alias: string): CatalogModel {
  const model = findCatalogModel(alias);
  if (model === undefined) {
    throw new ModelNotFoundError(
      `twin:${alias}`,
      suggestModels(alias, catalogNames()).map((name) => `twin:${name}`),
      `No catalog model '${alias}' to make a twin of.`,
    );
  }
  return model;
}

/** Is the file at `path` this layout's twin, whole? (Size and the tandem.twin key.) */
async function isWholeTwin(
  path: string,
  layout: TwinLayout,
  expectedBytes: number,
): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || info.size !== expectedBytes) return false;
  try {
    const header = await readGgufHeader(path);
    return metadataString(header.metadata.get('tandem.twin')) === layout.alias;
  } catch {
    return false;
  }
}

/** The twin of a catalog model in the cache, written first when it is missing or partial. */
export function ensureTwin(alias: string, options: EnsureTwinOptions): Promise<EnsureTwinResult> {
  return ensureTwinOf(twinModel(alias), undefined, options);
}

/**
 * The twin of any model tandem has facts for (a catalog model, or one with published
 * figures), cached beside the catalog's twins.
 */
export function ensureTwinOf(
  model: CatalogModel,
  facts: TwinFacts | undefined,
  options: EnsureTwinOptions,
): Promise<EnsureTwinResult> {
  const path = twinPath(options.modelsDirectory, model);
  const running = pending.get(path);
  if (running !== undefined) return running;
  const work = (async (): Promise<EnsureTwinResult> => {
    const layout = twinLayout(model, facts);
    const input = twinGgufInput(layout);
    const expectedBytes = planGgufLayout(input).fileSizeBytes;
    if (await isWholeTwin(path, layout, expectedBytes)) {
      return { path, model, fileSizeBytes: expectedBytes };
    }
    const startedAt = performance.now();
    const written = await writeGgufFile(path, input, options);
    return {
      path,
      model,
      fileSizeBytes: written.fileSizeBytes,
      buildMs: performance.now() - startedAt,
    };
  })().finally(() => pending.delete(path));
  pending.set(path, work);
  return work;
}

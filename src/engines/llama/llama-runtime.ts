import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  getLlama,
  type Llama,
  type LlamaGpuType,
  LlamaLogLevel,
  type LlamaModel,
} from 'node-llama-cpp';
import { EngineUnavailableError, errorLine } from '../../errors.js';
import type { EngineMemoryBuffer } from '../spec.js';

export const GPU_CHOICES = ['auto', 'cpu', 'cuda', 'vulkan', 'metal'] as const;
export type GpuChoice = (typeof GPU_CHOICES)[number];

/** node-llama-cpp's version, for results and reports (its package.json is not exported). */
export const nodeLlamaCppVersion: string = readPackageVersion(
  import.meta.resolve('node-llama-cpp'),
);

function readPackageVersion(entryUrl: string): string {
  let directory = dirname(fileURLToPath(entryUrl));
  for (let depth = 0; depth < 5; depth++) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'node-llama-cpp' && manifest.version !== undefined)
        return manifest.version;
    } catch {
      // not here; look one level up
    }
    directory = dirname(directory);
  }
  return 'unknown';
}

const llamas = new Map<GpuChoice, Promise<Llama>>();

/**
 * A buffer llama.cpp says it allocated, from its load log: the weights it maps from the file
 * (`CPU_Mapped model`), the weights it copies into its CPU layout (`CPU_REPACK model`), the
 * KV cache (`CPU KV`), compute and output buffers, on each device (`CUDA0 compute`…).
 */
export type LlamaBuffer = EngineMemoryBuffer;

const BUFFER_LINE = /^\s*(?:[\w:]*:\s+)?(\S+(?:\s+\S+)??)\s+buffer size\s*=\s*([\d.]+)\s*MiB/;
const bufferListeners = new Set<(buffer: LlamaBuffer) => void>();

/** Parses one of llama.cpp's "… buffer size = N MiB" log lines. */
export function parseBufferLine(message: string): LlamaBuffer | undefined {
  const match = BUFFER_LINE.exec(message);
  if (match === null) return undefined;
  const label = (match[1] as string).replace(/\s+/g, ' ');
  const kind = / model$/.test(label)
    ? 'model'
    : / KV$/.test(label)
      ? 'kv'
      : / compute$/.test(label)
        ? 'compute'
        : / output$/.test(label)
          ? 'output'
          : 'other';
  return { label, kind, bytes: Math.round(Number(match[2]) * 1024 * 1024) };
}

/**
 * Calls `listener` with each buffer llama.cpp reports allocating, until the returned function
 * is called. The log is the process's: loads that overlap are reported together.
 */
export function onLlamaBuffer(listener: (buffer: LlamaBuffer) => void): () => void {
  bufferListeners.add(listener);
  return () => bufferListeners.delete(listener);
}

/**
 * One llama.cpp runtime per GPU choice per process. Prebuilt binaries only (never a source
 * build at run time). A GPU that is asked for and missing is an error, never a silent CPU run.
 */
export function getLlamaRuntime(gpu: GpuChoice): Promise<Llama> {
  let llama = llamas.get(gpu);
  if (llama === undefined) {
    const gpuOption: LlamaGpuType | 'auto' = gpu === 'cpu' ? false : gpu;
    llama = getLlama({
      gpu: gpuOption,
      build: 'never',
      // Info, to read the buffer sizes llama.cpp reports while loading; only errors are shown.
      logLevel: LlamaLogLevel.info,
      logger: (level, message) => {
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) {
          process.stderr.write(`llama.cpp: ${message.trim()}\n`);
        } else if (bufferListeners.size > 0) {
          const buffer = parseBufferLine(message);
          if (buffer !== undefined) for (const listener of bufferListeners) listener(buffer);
        }
      },
      progressLogs: false,
      skipDownload: true,
    }).catch((error: unknown) => {
      llamas.delete(gpu);
      const reason =
        error instanceof Error && error.constructor.name === 'NoBinaryFoundError'
          ? `none of node-llama-cpp's prebuilt ${gpu} binaries runs here; is the ${gpu} driver installed?`
          : errorLine(error);
      throw new EngineUnavailableError(
        `llama.cpp cannot use --gpu ${gpu} on this machine (${reason}). Use --gpu auto or --gpu cpu.`,
        { cause: error },
      );
    });
    llamas.set(gpu, llama);
  }
  return llama;
}

export function describeGpu(llama: Llama): string {
  return llama.gpu === false ? 'cpu' : llama.gpu;
}

interface SharedModel {
  model: Promise<LlamaModel>;
  users: number;
}

const models = new Map<string, SharedModel>();

/** A model is loaded once per process and GPU choice; engines share it and count their use. */
export function acquireModel(
  llama: Llama,
  gpu: GpuChoice,
  modelPath: string,
  signal: AbortSignal | undefined,
): Promise<LlamaModel> {
  const key = `${gpu}\u0000${modelPath}`;
  let shared = models.get(key);
  if (shared === undefined) {
    const model = llama.loadModel({
      modelPath,
      ...(gpu === 'cpu' ? { gpuLayers: 0 } : {}),
      ...(signal === undefined ? {} : { loadSignal: signal }),
    });
    shared = { model, users: 0 };
    models.set(key, shared);
    model.catch(() => models.delete(key));
  }
  shared.users += 1;
  return shared.model;
}

/** The models this process holds, with how many engines use each (for tests and metrics). */
export function loadedModels(): { modelPath: string; gpu: GpuChoice; users: number }[] {
  return [...models.entries()].map(([key, shared]) => {
    const [gpu, modelPath] = key.split('\u0000') as [GpuChoice, string];
    return { modelPath, gpu, users: shared.users };
  });
}

export async function releaseModel(gpu: GpuChoice, modelPath: string): Promise<void> {
  const key = `${gpu}\u0000${modelPath}`;
  const shared = models.get(key);
  if (shared === undefined) return;
  shared.users -= 1;
  if (shared.users > 0) return;
  models.delete(key);
  const model = await shared.model.catch(() => undefined);
  await model?.dispose();
}

/**
 * The demo models on disk: `${modelsDirectory}/demo/${name}.gguf`, written on first use and
 * rewritten when the file there is not byte-identical to what tandem writes (checked by
 * size, then SHA-256 once per process). Writes go to a temporary file renamed into place,
 * so concurrent callers in several processes never see or produce a partial file.
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TandemError } from '../../errors.js';
import { type DemoModelName, demoModelDefinition } from './definitions.js';
import { writeDemoGguf } from './demo-gguf.js';

export {
  DEMO_MODEL_NAMES,
  DEMO_MODELS,
  type DemoModelDefinition,
  type DemoModelName,
  demoModelDefinition,
  isDemoModelName,
} from './definitions.js';

export interface EnsureDemoModelOptions {
  /** The models cache; the file goes in its `demo/` folder. */
  modelsDirectory: string;
  /** Called while the file is written (only when it has to be written). */
  onProgress?: (writtenBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
  /**
   * How an existing file is checked: 'sha256' (default) hashes it once per process,
   * 'size' trusts a file of the right size.
   */
  verify?: 'size' | 'sha256';
}

export interface EnsureDemoModelResult {
  path: string;
  /** True when the file was (re)written by this call. */
  created: boolean;
}

/** Where a demo model lives in a models cache. */
export function demoModelPath(modelsDirectory: string, name: DemoModelName): string {
  return join(modelsDirectory, 'demo', `${name}.gguf`);
}

/** SHA-256 of a file, lowercase hex, streamed. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** Files already hashed in this process: path → "size:mtime" when they matched. */
const verifiedFiles = new Map<string, string>();
/** Writes in progress in this process, by path, so concurrent callers share one. */
const pendingWrites = new Map<string, Promise<EnsureDemoModelResult>>();

async function isExpectedFile(
  path: string,
  name: DemoModelName,
  verify: 'size' | 'sha256',
): Promise<boolean> {
  const definition = demoModelDefinition(name);
  const stats = await stat(path).catch(() => undefined);
  if (stats === undefined || !stats.isFile() || stats.size !== definition.fileSizeBytes) {
    return false;
  }
  if (verify === 'size') return true;
  const stamp = `${stats.size}:${stats.mtimeMs}`;
  if (verifiedFiles.get(path) === stamp) return true;
  if ((await sha256OfFile(path)) !== definition.sha256) return false;
  verifiedFiles.set(path, stamp);
  return true;
}

async function writeDemoModel(
  name: DemoModelName,
  path: string,
  options: EnsureDemoModelOptions,
): Promise<EnsureDemoModelResult> {
  const definition = demoModelDefinition(name);
  const result = await writeDemoGguf(name, path, {
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (result.sha256 !== definition.sha256 || result.fileSizeBytes !== definition.fileSizeBytes) {
    throw new TandemError(
      `The ${name} file came out different from the expected one (SHA-256 ${result.sha256}, expected ${definition.sha256}): this is a bug in tandem, please report it.`,
    );
  }
  const stats = await stat(path);
  verifiedFiles.set(path, `${stats.size}:${stats.mtimeMs}`);
  return { path, created: true };
}

/**
 * Makes sure the demo model's GGUF file exists and is exactly what tandem writes;
 * writes it (about 4 MB for demo-slm, 154 MB for demo-llm) when it does not.
 */
export async function ensureDemoModel(
  name: DemoModelName,
  options: EnsureDemoModelOptions,
): Promise<EnsureDemoModelResult> {
  const path = demoModelPath(options.modelsDirectory, name);
  const pending = pendingWrites.get(path);
  if (pending !== undefined) return pending;
  if (await isExpectedFile(path, name, options.verify ?? 'sha256')) return { path, created: false };
  const again = pendingWrites.get(path);
  if (again !== undefined) return again;
  const write = writeDemoModel(name, path, options).finally(() => pendingWrites.delete(path));
  pendingWrites.set(path, write);
  return write;
}

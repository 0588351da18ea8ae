/**
 * Where tandem keeps its data and model files, and what is in the model cache.
 * Cached catalog files live at {home}/models/{alias}/{file}; a download in progress (or an
 * interrupted one, kept for resume) is {file}.part beside it.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { ModelNotFoundError } from '../errors.js';
import {
  CATALOG,
  type CatalogModel,
  catalogNames,
  findCatalogModel,
  isCatalogSizeVerified,
  suggestModels,
} from './catalog.js';

/** Suffix of a download in progress or an interrupted one kept for resume. */
export const PARTIAL_DOWNLOAD_SUFFIX = '.part';

export interface TandemHomeContext {
  platform?: NodeJS.Platform;
  homeDirectory?: string;
}

/**
 * tandem's data and cache directory: TANDEM_HOME if set; else $XDG_CACHE_HOME/tandem if set;
 * else the platform's cache directory: ~/Library/Caches/tandem on macOS,
 * %LOCALAPPDATA%\tandem on Windows, ~/.cache/tandem elsewhere.
 */
export function tandemHome(
  env: NodeJS.ProcessEnv = process.env,
  context: TandemHomeContext = {},
): string {
  const platform = context.platform ?? process.platform;
  const join = platform === 'win32' ? path.win32.join : path.posix.join;
  const explicit = env.TANDEM_HOME?.trim();
  if (explicit) return explicit;
  const xdgCache = env.XDG_CACHE_HOME?.trim();
  if (xdgCache) return join(xdgCache, 'tandem');
  const home = context.homeDirectory ?? homedir();
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'tandem');
  if (platform === 'win32') {
    const localAppData = env.LOCALAPPDATA?.trim();
    return join(localAppData || join(home, 'AppData', 'Local'), 'tandem');
  }
  return join(home, '.cache', 'tandem');
}

/** {home}/models */
export function modelsDirectory(home: string): string {
  return path.join(home, 'models');
}

/** {home}/models/{alias}/{file}: where a pulled catalog model's GGUF file lives. */
export function cachedModelPath(home: string, model: CatalogModel): string {
  return path.join(modelsDirectory(home), model.alias, model.gguf.file);
}

export interface CachedModel {
  alias: string;
  /** The finished file, or the `.part` file of an interrupted download. */
  path: string;
  sizeBytes: number;
  /** The catalog's size for the file. */
  expectedSizeBytes: number;
  /** A finished file whose size equals the catalog size. */
  complete: boolean;
  /** An interrupted download that `pullModel` resumes. */
  partial: boolean;
}

/** Size of a regular file, or undefined when there is none. */
export async function fileSize(filePath: string): Promise<number | undefined> {
  try {
    const info = await stat(filePath);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

/** The catalog models with a file (finished or partial) in the cache, in catalog order. */
export async function listCachedModels(
  home: string,
  catalog: readonly CatalogModel[] = CATALOG,
): Promise<CachedModel[]> {
  const found: CachedModel[] = [];
  for (const model of catalog) {
    const finalPath = cachedModelPath(home, model);
    const expectedSizeBytes = model.gguf.sizeBytes;
    const finalSize = await fileSize(finalPath);
    if (finalSize !== undefined) {
      // A file only gets its final name after pullModel checked its size against the
      // server's Content-Length; with an unverified catalog size that check is what counts.
      const complete = finalSize === expectedSizeBytes || !isCatalogSizeVerified(model);
      found.push({
        alias: model.alias,
        path: finalPath,
        sizeBytes: finalSize,
        expectedSizeBytes,
        complete,
        partial: false,
      });
      continue;
    }
    const partPath = finalPath + PARTIAL_DOWNLOAD_SUFFIX;
    const partSize = await fileSize(partPath);
    if (partSize !== undefined) {
      found.push({
        alias: model.alias,
        path: partPath,
        sizeBytes: partSize,
        expectedSizeBytes,
        complete: false,
        partial: true,
      });
    }
  }
  return found;
}

export interface RemovedCachedModel {
  alias: string;
  removed: boolean;
  freedBytes: number;
}

async function directorySize(directory: string): Promise<number> {
  let total = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const entryPath = path.join(directory, entry.name);
    if (entry.isDirectory()) total += await directorySize(entryPath);
    else if (entry.isFile()) total += (await fileSize(entryPath)) ?? 0;
  }
  return total;
}

/**
 * Removes a catalog model's cache folder ({home}/models/{alias}: the file and any `.part`).
 * The alias is resolved through the catalog (so no path outside the cache can be named);
 * an unknown alias throws ModelNotFoundError with suggestions.
 */
export async function removeCachedModel(alias: string, home: string): Promise<RemovedCachedModel> {
  const model = findCatalogModel(alias);
  if (model === undefined) {
    throw new ModelNotFoundError(alias, suggestModels(alias, catalogNames()));
  }
  const directory = path.join(modelsDirectory(home), model.alias);
  const freedBytes = await directorySize(directory);
  let existed = true;
  try {
    await stat(directory);
  } catch {
    existed = false;
  }
  await rm(directory, { recursive: true, force: true });
  return { alias: model.alias, removed: existed, freedBytes };
}

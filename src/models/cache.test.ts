import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelNotFoundError } from '../errors.js';
import {
  cachedModelPath,
  listCachedModels,
  modelsDirectory,
  removeCachedModel,
  tandemHome,
} from './cache.js';
import { CATALOG, type CatalogModel } from './catalog.js';

describe('tandemHome', () => {
  it('prefers TANDEM_HOME', () => {
    expect(tandemHome({ TANDEM_HOME: '/data/tandem', XDG_CACHE_HOME: '/x' })).toBe('/data/tandem');
  });

  it('uses XDG_CACHE_HOME, then ~/.cache on Linux', () => {
    expect(tandemHome({ XDG_CACHE_HOME: '/x' }, { platform: 'linux', homeDirectory: '/h' })).toBe(
      '/x/tandem',
    );
    expect(tandemHome({}, { platform: 'linux', homeDirectory: '/h' })).toBe('/h/.cache/tandem');
  });

  it('uses ~/Library/Caches on macOS and %LOCALAPPDATA% on Windows', () => {
    expect(tandemHome({}, { platform: 'darwin', homeDirectory: '/Users/a' })).toBe(
      '/Users/a/Library/Caches/tandem',
    );
    expect(
      tandemHome(
        { LOCALAPPDATA: 'C:\\Users\\a\\AppData\\Local' },
        { platform: 'win32', homeDirectory: 'C:\\Users\\a' },
      ),
    ).toBe('C:\\Users\\a\\AppData\\Local\\tandem');
    expect(tandemHome({}, { platform: 'win32', homeDirectory: 'C:\\Users\\a' })).toBe(
      'C:\\Users\\a\\AppData\\Local\\tandem',
    );
  });
});

describe('model cache', () => {
  let home: string;
  const small: CatalogModel = {
    ...(CATALOG[0] as CatalogModel),
    alias: 'tiny',
    gguf: { ...(CATALOG[0] as CatalogModel).gguf, file: 'tiny.gguf', sizeBytes: 10 },
  };
  const other: CatalogModel = {
    ...small,
    alias: 'other',
    gguf: { ...small.gguf, file: 'other.gguf' },
  };
  const absent: CatalogModel = {
    ...small,
    alias: 'absent',
    gguf: { ...small.gguf, file: 'a.gguf' },
  };

  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'tandem-cache-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('puts files at models/{alias}/{file}', () => {
    expect(modelsDirectory(home)).toBe(path.join(home, 'models'));
    expect(cachedModelPath(home, small)).toBe(path.join(home, 'models', 'tiny', 'tiny.gguf'));
  });

  it('lists complete, wrong-sized and partial files', async () => {
    await mkdir(path.join(home, 'models', 'tiny'), { recursive: true });
    await writeFile(cachedModelPath(home, small), Buffer.alloc(10));
    await mkdir(path.join(home, 'models', 'other'), { recursive: true });
    await writeFile(`${cachedModelPath(home, other)}.part`, Buffer.alloc(4));
    const listed = await listCachedModels(home, [small, other, absent]);
    expect(listed).toEqual([
      {
        alias: 'tiny',
        path: cachedModelPath(home, small),
        sizeBytes: 10,
        expectedSizeBytes: 10,
        complete: true,
        partial: false,
      },
      {
        alias: 'other',
        path: `${cachedModelPath(home, other)}.part`,
        sizeBytes: 4,
        expectedSizeBytes: 10,
        complete: false,
        partial: true,
      },
    ]);
    await writeFile(cachedModelPath(home, small), Buffer.alloc(9));
    expect((await listCachedModels(home, [small]))[0]?.complete).toBe(false);
  });

  it('removes a catalog model folder by alias, Foundry alias or Ollama tag', async () => {
    const model = CATALOG.find((entry) => entry.alias === 'smollm2-360m') as CatalogModel;
    const directory = path.join(home, 'models', model.alias);
    await mkdir(directory, { recursive: true });
    await writeFile(`${cachedModelPath(home, model)}.part`, Buffer.alloc(7));
    expect(await removeCachedModel('smollm2:360m', home)).toEqual({
      alias: 'smollm2-360m',
      removed: true,
      freedBytes: 7,
    });
    await expect(stat(directory)).rejects.toThrow();
    expect(await removeCachedModel('smollm2-360m', home)).toEqual({
      alias: 'smollm2-360m',
      removed: false,
      freedBytes: 0,
    });
  });

  it('refuses unknown aliases with suggestions (and so never leaves the cache)', async () => {
    const error = await removeCachedModel('phi-4-mni', home).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as ModelNotFoundError).suggestions).toContain('phi-4-mini');
    await expect(removeCachedModel('../../etc', home)).rejects.toBeInstanceOf(ModelNotFoundError);
  });
});

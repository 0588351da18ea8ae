/**
 * `twin:ALIAS` end to end through createEngine, as run, compare, bench and serve use it:
 * written into the cache on first use (with progress), reused after, labelled as a twin,
 * and loaded and run in the llama engine.
 */

import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelNotFoundError } from '../errors.js';
import { measureRun } from '../generate/generate.js';
import { modelsDirectory } from '../models/cache.js';
import { findCatalogModel } from '../models/catalog.js';
import { twinPath } from '../models/twin/twin-file.js';
import { createEngine } from './registry.js';
import type { Engine } from './spec.js';

const home = mkdtempSync(join(tmpdir(), 'tandem-twin-reference-'));
const engines: Engine[] = [];
afterAll(async () => {
  for (const engine of engines) await engine.dispose();
  rmSync(home, { recursive: true, force: true });
});

describe('twin:ALIAS references', () => {
  it('writes the twin on first use, reuses it after, and runs it as a labelled twin', async () => {
    const model = findCatalogModel('smollm2-360m');
    if (model === undefined) throw new Error('smollm2-360m left the catalog');
    const progress: [string, number, number][] = [];
    const options = { home, threads: 2, gpu: 'cpu' as const };
    const first = await createEngine('twin:smollm2-360m', {
      ...options,
      onTwinProgress: (alias, written, total) => progress.push([alias, written, total]),
    });
    engines.push(first);
    const path = twinPath(modelsDirectory(home), model);
    expect(first.info).toMatchObject({
      engine: 'llama',
      model: 'twin:smollm2-360m',
      modelPath: path,
      twinOf: 'smollm2-360m',
      isDemo: true,
    });
    expect(existsSync(path)).toBe(true);
    const last = progress.at(-1);
    expect(last?.[0]).toBe('smollm2-360m');
    expect(last?.[1]).toBe(statSync(path).size);
    expect(last?.[2]).toBe(statSync(path).size);

    progress.length = 0;
    const again = await createEngine('twin:smollm2-360m', {
      ...options,
      onTwinProgress: (alias, written, total) => progress.push([alias, written, total]),
    });
    engines.push(again);
    expect(progress).toEqual([]);
    expect(again.info.modelPath).toBe(path);

    const result = await measureRun(
      again,
      { prompt: 'Hello', maxTokens: 3, temperature: 0, ignoreEos: true },
      { cold: true },
    );
    expect(result.outputTokens).toBe(3);
    expect(result.errorMessage).toBeUndefined();
  }, 120_000);

  it('an unknown alias is one line naming the twin it may have meant, and writes nothing', async () => {
    const error = await createEngine('twin:phi-4-mni', { home }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toMatch(
      /^No catalog model 'phi-4-mni' to make a twin of\. Did you mean twin:phi-4-mini/,
    );
    expect(
      readdirSync(join(modelsDirectory(home), 'twins')).filter((name) => name.startsWith('phi')),
    ).toEqual([]);
    expect((error as Error).message).not.toContain('\n');
  });
});

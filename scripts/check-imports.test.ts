/**
 * The import check passes on this repository and fails, naming the rule, on each kind of
 * import that runs the wrong way: a small tree is written for each case.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkImports } from './check-imports.mjs';

const REPOSITORY = join(import.meta.dirname, '..');

/** A repository of the given files (path → source) with zod as its one dependency. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tandem-imports-'));
  const all = {
    'package.json': JSON.stringify({
      dependencies: { zod: '4' },
      devDependencies: { vitest: '4' },
    }),
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** The rules broken in a tree, one line each. */
function rulesBroken(files: Record<string, string>): string[] {
  return checkImports(tree(files)).map(({ file, rule }) => `${file}: ${rule}`);
}

describe('the import check', () => {
  it('passes on this repository', () => {
    expect(checkImports(REPOSITORY)).toEqual([]);
  });

  it('passes a tree whose imports point down', () => {
    expect(
      rulesBroken({
        'src/errors.ts': 'export class TandemError extends Error {}',
        'src/store/database.ts': "import { TandemError } from '../errors.js';",
        'src/bench/history/bench-store.ts':
          "import type { Run } from '../types.js';\nimport '../../store/database.js';",
        'src/bench/types.ts': 'export interface Run {}',
        'src/cli/main.ts': "import '../bench/types.js';\nimport { z } from 'zod';",
      }),
    ).toEqual([]);
  });

  it('fails when the store imports a feature, even for types', () => {
    expect(
      rulesBroken({
        'src/store/bench-store.ts': "import type { Run } from '../bench/types.js';",
        'src/bench/types.ts': 'export interface Run {}',
      }),
    ).toEqual(['src/store/bench-store.ts: store may not import features (it may import base)']);
  });

  it('fails when an engine imports the server, or one engine folder another', () => {
    expect(
      rulesBroken({
        'src/engines/llama/llama-engine.ts': "import '../../server/app.js';",
        'src/engines/onnx/onnx-engine.ts': "import { threads } from '../llama/threads.js';",
        'src/engines/llama/threads.ts': 'export const threads = 1;',
        'src/server/app.ts': '',
      }),
    ).toEqual([
      'src/engines/llama/llama-engine.ts: engines may not import server (it may import base, spec, http, models, measure)',
      'src/engines/onnx/onnx-engine.ts: an engine folder is reached only through engines/registry.ts (engines/llama/ from src/engines/onnx/onnx-engine.ts)',
    ]);
  });

  it('fails when one feature imports another', () => {
    expect(
      rulesBroken({
        'src/chat/history.ts': "import { estimate } from '../rag/chunk.js';",
        'src/rag/chunk.ts': 'export const estimate = 1;',
      }),
    ).toEqual([
      'src/chat/history.ts: features stand alone: chat/ may not import rag/ (share through generate/ or a lower floor)',
    ]);
  });

  it('fails when src/, a test included, imports benchmarks/ or shipped code imports test/', () => {
    expect(
      rulesBroken({
        'src/bench/runner.ts': "import '../../test/support/fake.js';",
        'src/bench/runner.test.ts': "import '../../benchmarks/synthetic.js';",
        'test/support/fake.ts': '',
        'benchmarks/synthetic.ts':
          "import '../src/bench/runner.js';\nimport '../test/support/fake.js';",
      }),
    ).toEqual([
      'src/bench/runner.test.ts: only benchmarks/ imports benchmarks/',
      'src/bench/runner.ts: shipped code never imports test/ (test support is for tests and benchmarks)',
    ]);
  });

  it('fails when shipped code imports a package that is not a runtime dependency', () => {
    expect(
      rulesBroken({
        'src/rag/search.ts':
          "import MiniSearch from 'minisearch';\nimport { z } from 'zod';\nimport { readFile } from 'node:fs/promises';",
        'src/rag/search.test.ts':
          "import { it } from 'vitest';\nimport MiniSearch from 'minisearch';",
      }),
    ).toEqual([
      "src/rag/search.ts: shipped code imports 'minisearch', which is not in package.json's dependencies",
    ]);
  });

  it('fails on a cycle through imports that run, not through type-only ones', () => {
    expect(
      rulesBroken({
        'src/rag/a.ts': "import { b } from './b.js';\nexport const a = b;",
        'src/rag/b.ts': "import { a } from './a.js';\nexport const b = a;",
        'src/rag/c.ts': "import type { D } from './d.js';\nexport interface C { d?: D }",
        'src/rag/d.ts': "import type { C } from './c.js';\nexport interface D { c?: C }",
      }),
    ).toEqual(['src/rag/a.ts: import cycle: src/rag/a.ts <-> src/rag/b.ts']);
  });

  it("lets the web app import the server's types and browser-safe code, nothing that needs Node", () => {
    expect(
      rulesBroken({
        'web/src/api.ts': "import type { Answer } from '../../src/server/routes/api/types.js';",
        'web/src/worker.ts': "import { decode } from '../../src/engines/onnx/token-text.js';",
        'web/src/bad.ts': "import { serve } from '../../src/server/serve.js';",
        'src/server/routes/api/types.ts': 'export interface Answer {}',
        'src/engines/onnx/token-text.ts': 'export const decode = 1;',
        'src/server/serve.ts':
          "import { createServer } from 'node:http';\nexport const serve = createServer;",
      }),
    ).toEqual([
      "web/src/bad.ts: the web app runs in a browser: src/server/serve.ts imports 'node:http' (share types with import type, or move the shared code where it needs no Node)",
    ]);
  });

  it('names an import that resolves to no file', () => {
    expect(rulesBroken({ 'src/units.ts': "import './gone.js';" })).toEqual([
      "src/units.ts: './gone.js' names no file",
    ]);
  });
});

/**
 * What `npm pack` would publish: the built package and nothing of the repository's own
 * tooling. No benchmark script, no test or test support, and no import of a package that an
 * installation of tandem does not have (a devDependency).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

function packedFiles(): string[] {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [pack] = JSON.parse(output) as { files: { path: string }[] }[];
  return (pack?.files ?? []).map((file) => file.path);
}

/** The bare packages a compiled module imports (static, re-export or dynamic). */
function packagesImportedBy(source: string): string[] {
  const names = new Set<string>();
  const statements = [
    ...source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...source.matchAll(/^import\s*['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  for (const match of statements) {
    const specifier = match[1] ?? '';
    if (specifier.startsWith('node:') || specifier.startsWith('.')) continue;
    const parts = specifier.split('/');
    const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
    if (!builtinModules.includes(name)) names.add(name);
  }
  return [...names];
}

describe('the published package', () => {
  const files = packedFiles();

  it('holds dist/, the README and package.json, and no test, test support or benchmark', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((path) => !path.startsWith('dist/')).sort()).toEqual([
      'README.md',
      'package.json',
    ]);
    expect(
      files.filter((path) =>
        /(^|\/)(test|tests|test-support|benchmarks|e2e|scripts)\/|\.test\.|-benchmark\.|synthetic-server|bare-reader/.test(
          path,
        ),
      ),
    ).toEqual([]);
    expect(files).toContain('dist/cli/bin.js');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/web/index.html');
  });

  it('imports only its runtime dependencies', () => {
    const dependencies = new Set(Object.keys(manifest.dependencies));
    const strays = files
      .filter((path) => path.endsWith('.js'))
      .flatMap((path) =>
        packagesImportedBy(readFileSync(join(ROOT, path), 'utf8'))
          .filter((name) => !dependencies.has(name))
          .map((name) => `${path} imports ${name}`),
      )
      // The web app's bundle is self-contained: its imports are its own chunks.
      .filter((stray) => !stray.startsWith('dist/web/'));
    expect(strays).toEqual([]);
  });
});

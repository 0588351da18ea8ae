/**
 * Global setup of the e2e project, the only tests that need the built package (dist/: the
 * CLI, the compiled store a killed child process uses, the web app): builds it when it is
 * missing or older than its sources, so `npm test` and `npm run test:e2e` work from a fresh
 * clone, and `.ci/run` (which builds first) does not build twice.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCES = ['src', 'web', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
const OUTPUTS = ['dist/cli/bin.js', 'dist/web/index.html'];

/** The newest modification time of the files under a path (a file or a folder, walked). */
function newestMtimeMs(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  }
  return newest;
}

/** Why dist/ must be built again, or undefined when it is up to date. */
export function staleReason(root = ROOT): string | undefined {
  const missing = OUTPUTS.find((output) => !existsSync(join(root, output)));
  if (missing !== undefined) return `${missing} is missing`;
  const built = Math.min(...OUTPUTS.map((output) => statSync(join(root, output)).mtimeMs));
  const changed = SOURCES.find(
    (source) => existsSync(join(root, source)) && newestMtimeMs(join(root, source)) > built,
  );
  return changed === undefined ? undefined : `${changed} changed since the last build`;
}

export default function setup(): void {
  const reason = staleReason();
  if (reason === undefined) return;
  process.stdout.write(`e2e tests need dist/: ${reason}, running npm run build…\n`);
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) {
    throw new Error(`npm run build failed (exit ${build.status}): the e2e tests need dist/.`);
  }
}

import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staleReason } from './build-if-stale.js';

function write(root: string, path: string, secondsAgo: number): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), '');
  const time = Date.now() / 1000 - secondsAgo;
  utimesSync(join(root, path), time, time);
}

describe('the e2e build check', () => {
  it('builds when an output is missing, or a source is newer than the oldest output', () => {
    const root = mkdtempSync(join(tmpdir(), 'tandem-stale-'));
    write(root, 'src/cli/main.ts', 100);
    write(root, 'package.json', 100);
    expect(staleReason(root)).toBe('dist/cli/bin.js is missing');
    write(root, 'dist/cli/bin.js', 50);
    write(root, 'dist/web/index.html', 40);
    expect(staleReason(root)).toBeUndefined();
    write(root, 'web/src/chat.tsx', 45);
    expect(staleReason(root)).toBe('web changed since the last build');
  });
});

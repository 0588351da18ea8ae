/**
 * `tandem rag` end to end through the CLI: index a folder, search it, ask a demo model
 * (streamed, sources and citation check shown), inline documents, list, remove, and the
 * errors a user meets.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_HOME } from '../../test/support/demo-models.js';
import { fakeTerminal } from '../../test/support/fake-terminal.js';
import { main } from './main.js';

const scratch = mkdtempSync(join(tmpdir(), 'tandem-rag-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const database = join(scratch, 'rag.db');

async function tandem(args: string[]) {
  const terminal = fakeTerminal({ TANDEM_HOME: TEST_HOME, TANDEM_THREADS: '1' });
  const code = await main(args, terminal);
  return { code, stdout: terminal.output(), stderr: terminal.errors() };
}

describe('tandem rag', { timeout: 120_000 }, () => {
  const folder = join(scratch, 'docs');

  it('indexes, re-indexes incrementally, searches, lists and removes', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(folder);
    writeFileSync(
      join(folder, 'handbook.md'),
      '# Handbook\n\n## Expenses\n\nMeals on business trips are reimbursed up to 40 euros a day.\n\n## Security\n\nLaptops must use disk encryption.\n',
    );
    writeFileSync(
      join(folder, 'faq.html'),
      '<html><head><title>FAQ</title><script>alert(1)</script></head><body><h1>FAQ</h1><p>The VPN client is installed by IT.</p></body></html>',
    );
    const indexed = await tandem([
      'rag',
      'index',
      folder,
      '--db',
      database,
      '--collection',
      'handbook',
    ]);
    expect(indexed.code, indexed.stderr).toBe(0);
    expect(indexed.stdout).toMatch(
      /Collection 'handbook': 2 added, 0 updated, 0 unchanged, 0 removed, 0 skipped; \d+ chunks/,
    );
    const again = await tandem([
      'rag',
      'index',
      folder,
      '--db',
      database,
      '--collection',
      'handbook',
      '--json',
    ]);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, unchanged: 2 });

    const search = await tandem([
      'rag',
      'search',
      'meals reimbursed',
      '--db',
      database,
      '--collection',
      'handbook',
      '--json',
    ]);
    expect(search.code).toBe(0);
    const result = JSON.parse(search.stdout);
    expect(result.chunks[0]).toMatchObject({
      headingPath: ['Handbook', 'Expenses'],
      title: 'Handbook',
    });
    expect(result.chunks[0].text).toMatch(/40 euros/);
    const scriptFree = await tandem([
      'rag',
      'search',
      'alert',
      '--db',
      database,
      '--collection',
      'handbook',
      '--json',
    ]);
    expect(JSON.parse(scriptFree.stdout).chunks).toEqual([]);
    const table = await tandem([
      'rag',
      'search',
      'VPN',
      '--db',
      database,
      '--collection',
      'handbook',
    ]);
    expect(table.stdout).toMatch(/FAQ/);

    const list = await tandem(['rag', 'list', '--db', database]);
    expect(list.stdout).toMatch(/handbook\s+2\s+\d+/);

    const removed = await tandem([
      'rag',
      'rm',
      'handbook',
      '--db',
      database,
      '--document',
      'faq.html',
    ]);
    expect(removed.stdout).toMatch(/Removed .*faq\.html from 'handbook'/);
    const gone = await tandem(['rag', 'rm', 'handbook', '--db', database]);
    expect(gone.stdout).toMatch(/Removed collection 'handbook' \(1 documents/);
  });

  it('answers with a demo model from a collection: streamed text, sources, citation check, figures', async () => {
    await tandem(['rag', 'index', folder, '--db', database, '--collection', 'ask']);
    const asked = await tandem([
      'rag',
      'ask',
      'How much are meals reimbursed?',
      '--model',
      'demo-slm',
      '--db',
      database,
      '--collection',
      'ask',
      '--max-tokens',
      '12',
      '--temperature',
      '0',
    ]);
    expect(asked.code, asked.stderr).toBe(0);
    expect(asked.stdout.trim().length).toBeGreaterThan(0);
    expect(asked.stderr).toMatch(/random weights/);
    expect(asked.stderr).toMatch(/Sources:\n {2}\[1\] Handbook › Expenses/);
    // A random-weight model cites nothing: the check says so.
    expect(asked.stderr).toMatch(/Citations: none — the answer is not grounded/);
    expect(asked.stderr).toMatch(
      /Retrieval [\d.]+ ms \(bm25\); TTFT [\d.]+ ms, 12 tokens \(engine\)/,
    );

    const json = await tandem([
      'rag',
      'ask',
      'How much are meals reimbursed?',
      '--model',
      'demo-slm',
      '--db',
      database,
      '--collection',
      'ask',
      '--max-tokens',
      '4',
      '--json',
    ]);
    const answer = JSON.parse(json.stdout);
    expect(answer).toMatchObject({ notCovered: false, retrieval: { mode: 'bm25' } });
    expect(answer.sources[0]).toMatchObject({ number: 1, title: 'Handbook' });
    expect(answer.run.outputTokens).toBe(4);
    expect(answer.citations.uncited).toBe(true);
  });

  it('answers from inline documents kept in memory, and says when they do not cover the question', async () => {
    const inline = await tandem([
      'rag',
      'ask',
      'parking rules',
      '--model',
      'demo-slm',
      '--doc',
      'Parking is free on weekends.',
      '--doc',
      'The canteen opens at noon.',
      '--max-tokens',
      '4',
      '--json',
    ]);
    expect(inline.code, inline.stderr).toBe(0);
    expect(JSON.parse(inline.stdout).sources[0]).toMatchObject({
      source: 'doc-1',
      excerpt: 'Parking is free on weekends.',
    });
    const uncovered = await tandem([
      'rag',
      'ask',
      'quantum physics',
      '--model',
      'demo-slm',
      '--doc',
      'Parking is free on weekends.',
    ]);
    expect(uncovered.code).toBe(0);
    expect(uncovered.stdout).toMatch(/The documents do not cover this question\./);
    expect(uncovered.stderr).toMatch(/the model was not called/);
  });

  it('gives one-line errors for what users get wrong', async () => {
    const noCollection = await tandem([
      'rag',
      'search',
      'x',
      '--db',
      database,
      '--collection',
      'nope',
    ]);
    expect(noCollection.code).toBe(2);
    expect(noCollection.stderr.trim().split('\n')).toHaveLength(1);
    expect(noCollection.stderr).toMatch(
      /No collection 'nope' in .*rag\.db.*tandem rag index PATHS --collection nope/,
    );
    const inlineVectors = await tandem([
      'rag',
      'ask',
      'x',
      '--model',
      'demo-slm',
      '--doc',
      'y',
      '--mode',
      'hybrid',
    ]);
    expect(inlineVectors.code).toBe(2);
    expect(inlineVectors.stderr).toMatch(/--mode hybrid with --doc needs --embed-model MODEL/);
    const noModel = await tandem(['rag', 'ask', 'x', '--doc', 'y']);
    expect(noModel.stderr).toMatch(/rag ask needs --model MODEL/);
    const both = await tandem([
      'rag',
      'ask',
      'x',
      '--model',
      'demo-slm',
      '--doc',
      'y',
      '--collection',
      'a',
    ]);
    expect(both.stderr).toMatch(/either --doc TEXT .* or --collection NAME/);
    const badName = await tandem([
      'rag',
      'index',
      folder,
      '--db',
      database,
      '--collection',
      '../evil',
    ]);
    expect(badName.stderr).toMatch(/Invalid collection name '\.\.\/evil'/);
    const typo = await tandem([
      'rag',
      'index',
      join(scratch, 'typo'),
      '--db',
      database,
      '--collection',
      'typo',
    ]);
    expect(typo.code).toBe(3);
    expect(typo.stderr).toMatch(/warning: skipped .*typo: no such file or folder/);
    const vectorless = await tandem([
      'rag',
      'index',
      folder,
      '--db',
      database,
      '--collection',
      'plain',
    ]);
    expect(vectorless.code).toBe(0);
    const vectorMode = await tandem([
      'rag',
      'search',
      'x',
      '--db',
      database,
      '--collection',
      'plain',
      '--mode',
      'vector',
    ]);
    expect(vectorMode.code).toBe(2);
    expect(vectorMode.stderr).toMatch(
      /has no vectors: index it with --embed-model MODEL, or use --mode bm25/,
    );
  });
});

/**
 * The web app in a real browser: Debian's chromium (headless) driven by playwright-core,
 * against a real `tandem serve` on 127.0.0.1 with the demo models and a scripted
 * OpenAI-compatible server (for answers with citations and hostile Markdown). Every request
 * the page makes is intercepted: one that leaves the server's origin fails the test. A
 * screenshot of each page is saved under test-results/screenshots/.
 *
 * Skipped, with the reason, where chromium or the built app is missing (.ci/run installs
 * chromium; `npm test` builds the app first).
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { saveRun } from '../src/bench/history/bench-store.js';
import { type RunningServer, startServer } from '../src/server/serve.js';
import { withDatabase } from '../src/store/database.js';
import { syntheticRun } from '../test/support/bench-run.js';
import { TEST_HOME } from '../test/support/demo-models.js';
import { type ScriptedServer, startScriptedServer } from '../test/support/scripted-server.js';
import { guardedPage, launchChromium, missingPrerequisite, SCREENSHOTS } from './harness.js';

const missing = missingPrerequisite();

/** A cited answer with an invalid citation and Markdown that tries to inject HTML. */
const CITED_ANSWER =
  'Hotel nights in Paris are reimbursed up to **180 euros** [1]. Leave is 25 days [2], see also [7].\n\n<img src="http://198.51.100.7/x.png" onerror="window.injected=1"><script>window.injected=2</script>';

describe.skipIf(missing !== undefined)('web app in chromium', () => {
  let browser: Browser;
  let server: RunningServer;
  let upstream: ScriptedServer;
  let context: BrowserContext;
  let page: Page;
  let outside: string[];
  let problems: string[];

  beforeAll(async () => {
    upstream = await startScriptedServer({
      models: ['cited'],
      chatScripts: () => [
        ...CITED_ANSWER.split(/(?<= )/).map((piece) => ({
          type: 'delta' as const,
          delta: { content: piece },
        })),
        { type: 'delta', delta: {}, finishReason: 'stop' },
        { type: 'done' },
      ],
    });
    const databasePath = join(mkdtempSync(join(tmpdir(), 'tandem-e2e-')), 'tandem.db');
    // A stored bench run (made-up requests, as the report tests use) for the Compare page.
    withDatabase(databasePath, (db) =>
      saveRun(db, { ...syntheticRun({ models: ['demo-slm', 'demo-llm'] }), name: 'e2e run' }),
    );
    server = await startServer({
      port: 0,
      engineOptions: { home: TEST_HOME, threads: 1, gpu: 'cpu' },
      databasePath,
      servePulledModels: false,
      models: [{ name: 'cited', reference: `${upstream.baseUrl}#cited` }],
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await upstream?.close();
  });

  beforeEach(async () => {
    ({ context, page, outside, problems } = await guardedPage(browser, server.url));
  });

  afterEach(async () => {
    await context.close();
    // No request left 127.0.0.1 (the server's origin), nothing broke the page's CSP.
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
  });

  async function ask(options: { model: string; question: string; documents?: string }) {
    await page.getByTestId('model-picker').selectOption(options.model);
    if (options.documents !== undefined) {
      await page.getByLabel('Paste documents').check();
      await page.getByTestId('documents').fill(options.documents);
    }
    await page.getByTestId('prompt').fill(options.question);
    await page.getByTestId('send').click();
  }

  it('streams a chat answer from a demo model and shows the sources of pasted documents', async () => {
    await page.goto(`${server.url}/`);
    await ask({
      model: 'demo-slm',
      question: 'How much is a hotel night in Paris reimbursed?',
      documents:
        '# Travel policy\n\nHotel stays are reimbursed up to 180 euros per night in Paris.\n---\n# Leave policy\n\nEveryone has 25 days of paid leave per year.',
    });
    // The answer streams: text appears before the figures that come at the end.
    const answer = page.getByTestId('assistant-message').last();
    await expect
      .poll(async () => (await answer.locator('.answer').innerText()).length)
      .toBeGreaterThan(0);
    await answer.getByTestId('figures').waitFor({ timeout: 60_000 });
    expect(await answer.getByTestId('figures').innerText()).toMatch(
      /TTFT \d+ ms · [\d.]+ tok\/s · \d+ tokens \(engine\)/,
    );
    const source = page.getByTestId('source').first();
    expect(await source.innerText()).toContain('Travel policy');
    expect(await source.innerText()).toContain('180 euros');
    expect(await answer.innerText()).toContain('Random-weight model');
    expect(await answer.getByTestId('citation-check').innerText()).toContain('no citation');
    await page.screenshot({ path: join(SCREENSHOTS, 'chat.png'), fullPage: true });
  });

  it('links citations to the highlighted source, marks invalid ones, and renders no HTML from the model', async () => {
    await page.goto(`${server.url}/`);
    await ask({
      model: 'cited',
      question: 'What are the hotel and leave rules?',
      documents:
        '# Travel policy\n\nHotel stays are reimbursed up to 180 euros per night in Paris.\n---\n# Leave policy\n\nEveryone has 25 days of paid leave per year and the hotel rules apply.',
    });
    const answer = page.getByTestId('assistant-message').last();
    await answer.getByTestId('figures').waitFor({ timeout: 30_000 });
    expect(await answer.locator('strong').innerText()).toBe('180 euros');
    // No element from the model's HTML, and nothing it tried ran: its HTML is shown as text.
    expect(await answer.locator('img, script').count()).toBe(0);
    expect(await answer.innerText()).toContain('<script>window.injected=2</script>');
    expect(
      await page.evaluate(() => (globalThis as { injected?: number }).injected),
    ).toBeUndefined();
    // [1] and [2] are links to sources, [7] names none.
    expect(await answer.locator('button.citation:not(.invalid)').allInnerTexts()).toEqual([
      '[1]',
      '[2]',
    ]);
    const invalid = answer.locator('button.citation.invalid');
    expect(await invalid.innerText()).toBe('[7]');
    expect(await answer.getByTestId('citation-check').innerText()).toContain('invalid [7]');
    await answer.locator('button.citation[data-citation="2"]').click();
    const highlighted = page.locator('[data-testid="source"].highlighted');
    expect(await highlighted.getAttribute('data-number')).toBe('2');
    expect(await highlighted.innerText()).toBe(await page.getByTestId('source').nth(1).innerText());
    expect(await page.getByTestId('source').count()).toBe(2);
    await page.screenshot({ path: join(SCREENSHOTS, 'chat-citations.png'), fullPage: true });
  });

  it('keeps a rating and its comment after a reload', async () => {
    await page.goto(`${server.url}/`);
    await ask({ model: 'demo-slm', question: 'Rate this answer, please.' });
    const answer = page.getByTestId('assistant-message').last();
    await answer.getByTestId('figures').waitFor({ timeout: 60_000 });
    await answer.getByRole('button', { name: /Bad/ }).click();
    await answer.getByPlaceholder('Why? (optional)').fill('Noise, as expected.');
    await answer.getByRole('button', { name: 'Save' }).click();
    await answer.locator('.rating-comment').waitFor();
    await page.reload();
    await page.getByTestId('conversations').getByText('Rate this answer, please.').click();
    const reloaded = page.getByTestId('assistant-message').last();
    await expect
      .poll(() => reloaded.getByRole('button', { name: /Bad/ }).getAttribute('aria-pressed'), {
        timeout: 10_000,
      })
      .toBe('true');
    expect(await reloaded.locator('.rating-comment').innerText()).toContain('Noise, as expected.');
  });

  it('stops a streaming answer and keeps what was written', async () => {
    await page.goto(`${server.url}/`);
    await ask({ model: 'demo-llm', question: 'Write a long essay.' });
    const answer = page.getByTestId('assistant-message').last();
    await expect
      .poll(async () => (await answer.locator('.answer').innerText()).length, { timeout: 60_000 })
      .toBeGreaterThan(0);
    await page.getByTestId('stop').click();
    await answer.getByText('Stopped.').waitFor({ timeout: 30_000 });
    expect((await answer.locator('.answer').innerText()).length).toBeGreaterThan(0);
  });

  it('compares models side by side: the chart gains a point per run, kept across a reload', async () => {
    await page.goto(`${server.url}/#/compare`);
    await page.getByTestId('compare-prompt').fill('Say something short.');
    await page.getByLabel('Max tokens').fill('12');
    await page.getByLabel('cited').uncheck();
    await page.getByLabel('demo-slm').check();
    await page.getByLabel('demo-llm').check();
    await page.getByTestId('compare-run').click();
    const runs = page.getByTestId('compare-runs').locator('tbody tr');
    await expect.poll(() => runs.count(), { timeout: 60_000 }).toBe(2);
    expect(await page.locator('.chart').first().getAttribute('data-points')).toBe('2');
    expect(await page.locator('.chart canvas').count()).toBe(2);
    const panes = page.getByTestId('compare-pane');
    expect(await panes.count()).toBe(2);
    // demo-slm can send all 12 tokens within one read of the stream: then no rate, and why.
    expect(await panes.first().locator('.figures').innerText()).toMatch(
      /TTFT \d+ ms( \(cold\))? · ([\d.]+ tok\/s|— tok\/s \(all tokens arrived at once\)) · 12 tokens \(usage\)/,
    );
    // Toggle to one model and run again: one more point.
    await page.getByLabel('demo-llm').uncheck();
    await page.getByTestId('compare-run').click();
    await expect.poll(() => runs.count(), { timeout: 60_000 }).toBe(3);
    expect(await page.locator('.chart').first().getAttribute('data-points')).toBe('3');
    expect(await runs.nth(2).locator('td').nth(1).innerText()).toBe('demo-slm');
    await page.screenshot({ path: join(SCREENSHOTS, 'compare.png'), fullPage: true });
    await page.reload();
    await expect.poll(() => runs.count(), { timeout: 10_000 }).toBe(3);
    // A stored bench run opens as its HTML report.
    const link = page.getByTestId('bench-runs').getByRole('link', { name: /e2e run/ });
    const [report] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await report.waitForLoadState();
    expect(await report.title()).toContain('e2e run');
  });
});

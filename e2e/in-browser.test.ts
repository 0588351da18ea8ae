/**
 * In-browser inference in a real browser: the "In the browser" page runs demo-slm's ONNX
 * folder with transformers.js on onnxruntime-web, on WASM (chromium without WebGPU) and on
 * WebGPU (chromium with --enable-unsafe-webgpu: a software adapter), names the backend, and
 * puts the run beside the same prompt on the server. The server runs the same weights with
 * onnxruntime-node, so greedy decoding must give the same text in the browser and on the
 * server. No request may leave 127.0.0.1; a screenshot of each run is saved.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/server/serve.js';
import { TEST_HOME } from '../test/support/demo-models.js';
import { guardedPage, launchChromium, missingPrerequisite, SCREENSHOTS } from './harness.js';

const missing = missingPrerequisite();

describe.skipIf(missing !== undefined)('in-browser inference in chromium', () => {
  let server: RunningServer;
  const browsers: Browser[] = [];

  beforeAll(async () => {
    server = await startServer({
      port: 0,
      engineOptions: { home: TEST_HOME, threads: 1, gpu: 'cpu' },
      databasePath: join(mkdtempSync(join(tmpdir(), 'tandem-e2e-')), 'tandem.db'),
      servePulledModels: false,
      models: [{ name: 'onnx-slm', reference: 'onnx:demo-slm' }],
    });
  }, 60_000);

  afterAll(async () => {
    for (const browser of browsers) await browser.close();
    await server?.close();
  });

  async function runInBrowser(webgpu: boolean) {
    const browser = await launchChromium({ webgpu });
    browsers.push(browser);
    const guarded = await guardedPage(browser, server.url);
    const { page } = guarded;
    await page.goto(`${server.url}/#/browser`);
    const status = page.getByTestId('webgpu-status');
    await expect.poll(() => status.innerText(), { timeout: 20_000 }).not.toContain('checking');
    await page.getByTestId('browser-model').selectOption('demo-slm');
    await page.getByTestId('browser-prompt').fill('hi');
    await page.getByLabel('Max tokens').fill('16');
    await page.getByTestId('browser-server-model').selectOption('onnx-slm');
    await page.getByTestId('browser-run').click();
    // The server's answer follows the browser's; both are then on the chart.
    const runs = page.getByTestId('compare-runs').locator('tbody tr');
    const alert = page.getByRole('alert');
    // An error on the page ends the wait at once, with its text.
    const outcome = await Promise.race([
      alert
        .waitFor({ timeout: 120_000 })
        .then(async () => `error on the page: ${await alert.innerText()}`)
        .catch(() => 'no error'),
      expect
        .poll(() => runs.count(), { timeout: 120_000 })
        .toBe(2)
        .then(() => 'two runs'),
    ]);
    expect(outcome).toBe('two runs');
    await page.getByTestId('server-pane').locator('.figures').waitFor({ timeout: 60_000 });
    return { ...guarded, status, runs };
  }

  it('runs demo-slm on WASM when the browser offers no WebGPU, names the backend, and matches the server', {
    timeout: 180_000,
  }, async () => {
    const { page, context, status, runs, outside, problems } = await runInBrowser(false);
    expect(await status.innerText()).toContain(
      'WebGPU: not available, the browser offers no WebGPU adapter',
    );
    expect(await page.getByTestId('browser-backend').innerText()).toMatch(/^WASM \(1 thread/);
    expect(await page.getByTestId('browser-figures').innerText()).toMatch(
      /Load [\d.]+ s · TTFT \d+ ms \(cold\) · [\d.]+ tok\/s · 16 tokens \(counted\)/,
    );
    const browserText = await page.getByTestId('browser-text').innerText();
    expect(browserText.trim().length).toBeGreaterThan(0);
    expect(await page.getByTestId('server-pane').locator('.pane-text').innerText()).toBe(
      browserText,
    );
    expect(await runs.nth(0).locator('td').nth(1).innerText()).toBe('demo-slm (browser, WASM)');
    expect(await runs.nth(1).locator('td').nth(1).innerText()).toBe('onnx-slm');
    expect(await page.locator('.chart').first().getAttribute('data-points')).toBe('2');
    await page.screenshot({ path: join(SCREENSHOTS, 'in-browser-wasm.png'), fullPage: true });
    // A second run reuses the loaded model: no longer cold.
    await page.getByTestId('browser-server-model').selectOption('');
    await page.getByTestId('browser-run').click();
    await expect.poll(() => runs.count(), { timeout: 60_000 }).toBe(3);
    expect(await page.getByTestId('browser-figures').innerText()).not.toContain('cold');
    await context.close();
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('asks for the API key of a server started with --api-key, then sends it, the worker included', {
    timeout: 180_000,
  }, async () => {
    const keyed = await startServer({
      port: 0,
      apiKey: 'sesame',
      engineOptions: { home: TEST_HOME, threads: 1, gpu: 'cpu' },
      databasePath: join(mkdtempSync(join(tmpdir(), 'tandem-e2e-')), 'tandem.db'),
      servePulledModels: false,
    });
    try {
      const browser = await launchChromium();
      browsers.push(browser);
      const { page, context, outside, problems } = await guardedPage(browser, keyed.url);
      await page.goto(`${keyed.url}/#/browser`);
      const form = page.getByTestId('api-key-form');
      await form.waitFor({ timeout: 20_000 });
      await form.locator('input').fill('sesame');
      await form.getByRole('button', { name: 'Use key' }).click();
      await expect.poll(() => form.count(), { timeout: 20_000 }).toBe(0);
      await page.getByTestId('browser-model').selectOption('demo-slm');
      await page.getByLabel('Max tokens').fill('8');
      await page.getByTestId('browser-run').click();
      await page
        .getByTestId('browser-figures')
        .getByText(/8 tokens/)
        .waitFor({ timeout: 60_000 });
      expect(await page.getByRole('alert').count()).toBe(0);
      await context.close();
      expect(outside).toEqual([]);
      // The first requests were refused (401) before the key was given; nothing else broke.
      expect(problems).toEqual([]);
    } finally {
      await keyed.close();
    }
  });

  it('runs demo-slm on WebGPU when chromium offers an adapter, and names it', {
    timeout: 180_000,
  }, async () => {
    const { page, context, status, runs, outside, problems } = await runInBrowser(true);
    expect(await status.innerText()).toContain('WebGPU: available');
    expect(await page.getByTestId('browser-backend').innerText()).toMatch(
      /^WebGPU \(.+, software, on the CPU\)$/,
    );
    expect(await page.getByTestId('browser-figures').innerText()).toMatch(
      /TTFT \d+ ms \(cold\) · [\d.]+ tok\/s · 16 tokens \(counted\)/,
    );
    const browserText = await page.getByTestId('browser-text').innerText();
    expect(await page.getByTestId('server-pane').locator('.pane-text').innerText()).toBe(
      browserText,
    );
    expect(await runs.nth(0).locator('td').nth(1).innerText()).toBe('demo-slm (browser, WebGPU)');
    await page.screenshot({ path: join(SCREENSHOTS, 'in-browser-webgpu.png'), fullPage: true });
    await context.close();
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
  });
});

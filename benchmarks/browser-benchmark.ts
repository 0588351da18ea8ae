/**
 * npm run bench:browser — in-browser inference beside server inference, through the web app
 * itself: Debian's chromium (headless) opens the "In the browser" page of a `tandem serve`
 * on 127.0.0.1 and runs a demo model's ONNX folder with transformers.js on onnxruntime-web,
 * on WASM and on WebGPU (chromium's adapter here is SwiftShader, a software one), each round
 * followed by the same prompt on the server, where the same weights run in onnxruntime-node
 * (CPU). Figures are those the page measures and charts: load, TTFT (cold = the first run
 * after load), decode tokens/s, with medians, 95% CIs and the paired browser/server ratio.
 *
 * Environment: BENCH_MODEL (demo-slm | demo-llm; default demo-slm), BENCH_ROUNDS (default 8),
 * BENCH_TOKENS (default 32), BENCH_BACKENDS (default wasm,webgpu), TANDEM_HOME.
 * Needs the built app (npm run build) and /usr/bin/chromium; the machine to itself.
 */

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { errorLine, InvalidArgumentError, TandemError } from '../src/errors.js';
import { describeMachine } from '../src/measure/machine.js';
import { pairedLogRatio } from '../src/measure/statistics/compare-ratio.js';
import { type SampleSummary, summarize } from '../src/measure/statistics/summary.js';
import { isDemoModelName } from '../src/models/demo/definitions.js';
import { defaultWebRoot } from '../src/server/routes/web-assets.js';
import { startServer } from '../src/server/serve.js';
import { wholeNumberSetting } from './script-settings.js';

const CHROMIUM = '/usr/bin/chromium';

interface PagePoint {
  where?: 'server' | 'browser';
  ttftMs?: number;
  tokensPerSecond?: number;
  tokens: number;
  cold?: boolean;
}

/** What the page's functions use (this file is compiled without the DOM's types). */
interface PageGlobals {
  document: {
    querySelectorAll(selector: string): { length: number };
    querySelector(selector: string): unknown;
  };
  localStorage: { getItem(key: string): string | null };
}

interface BackendResult {
  backend: string;
  detail: string;
  loadSeconds: number;
  browser: PagePoint[];
  server: PagePoint[];
}

function median(values: number[], digits: number, unit: string): string {
  if (values.length === 0) return '—';
  const stats = summarize(values) as SampleSummary;
  // Two or three values give a t interval wider than the values (even below zero).
  const interval =
    stats.ci95 === undefined || values.length < 4
      ? ''
      : ` (95% CI ${stats.ci95.low.toFixed(digits)}–${stats.ci95.high.toFixed(digits)})`;
  return `${stats.p50.toFixed(digits)} ${unit}${interval}`;
}

async function runBackend(
  url: string,
  backend: 'wasm' | 'webgpu',
  model: string,
  serverModel: string,
  rounds: number,
  tokens: number,
): Promise<BackendResult> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...(backend === 'webgpu' ? ['--enable-unsafe-webgpu'] : []),
    ],
  });
  try {
    const context = await browser.newContext();
    await context.route('**/*', (route) =>
      route.request().url().startsWith(`${url}/`)
        ? route.continue()
        : route.abort('blockedbyclient'),
    );
    const page = await context.newPage();
    await page.goto(`${url}/#/browser`);
    await page.getByTestId('browser-model').selectOption(model);
    await page.getByTestId('browser-backend-choice').selectOption(backend);
    await page
      .getByTestId('browser-prompt')
      .fill('Explain in three sentences why small language models matter.');
    await page.getByLabel('Max tokens').fill(String(tokens));
    await page.getByTestId('browser-server-model').selectOption(serverModel);
    for (let round = 1; round <= rounds; round += 1) {
      await page.getByTestId('browser-run').click();
      // Done when the browser run and the server run have both added their point (or the
      // page shows an error), and the run button is back.
      await page.waitForFunction(
        (expected) => {
          const { document } = globalThis as unknown as PageGlobals;
          return (
            document.querySelectorAll('[data-testid="compare-runs"] tbody tr').length >= expected ||
            document.querySelector('[role="alert"]') !== null
          );
        },
        round * 2,
        { timeout: 600_000 },
      );
      const alert = page.getByRole('alert');
      if ((await alert.count()) > 0) {
        throw new TandemError(`The page failed on ${backend}: ${await alert.textContent()}`);
      }
      await page.getByTestId('browser-run').waitFor({ timeout: 60_000 });
      if (process.stdout.isTTY) process.stdout.write(`  ${backend}: round ${round}/${rounds}\r`);
    }
    if (process.stdout.isTTY) process.stdout.write('\x1b[2K');
    const detail = (await page.getByTestId('browser-backend').textContent()) ?? backend;
    const figures = (await page.getByTestId('browser-figures').textContent()) ?? '';
    const points = JSON.parse(
      (await page.evaluate(() =>
        (globalThis as unknown as PageGlobals).localStorage.getItem('tandem.compare.points'),
      )) ?? '[]',
    ) as PagePoint[];
    return {
      backend,
      detail,
      loadSeconds: Number(/Load ([\d.]+) s/.exec(figures)?.[1] ?? Number.NaN),
      browser: points.filter((point) => point.where === 'browser'),
      server: points.filter((point) => point.where === 'server'),
    };
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  const model = process.env.BENCH_MODEL?.trim() || 'demo-slm';
  if (!isDemoModelName(model)) {
    throw new InvalidArgumentError(`BENCH_MODEL=${model}: use demo-slm or demo-llm.`);
  }
  const rounds = wholeNumberSetting('BENCH_ROUNDS', 8, 2);
  const tokens = wholeNumberSetting('BENCH_TOKENS', 32, 2);
  const backends = (process.env.BENCH_BACKENDS ?? 'wasm,webgpu')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const backend of backends) {
    if (backend !== 'wasm' && backend !== 'webgpu') {
      throw new InvalidArgumentError(`BENCH_BACKENDS: '${backend}' is not wasm or webgpu.`);
    }
  }
  if (!existsSync(CHROMIUM)) {
    throw new TandemError(`${CHROMIUM} is missing: apt-get install chromium.`);
  }
  if (!existsSync(join(defaultWebRoot(), 'index.html'))) {
    throw new TandemError('The web app is not built: run npm run build.');
  }
  const serverModel = `onnx-${model}`;
  const server = await startServer({
    port: 0,
    engineOptions: { threads: 1 },
    databasePath: join(mkdtempSync(join(tmpdir(), 'tandem-bench-browser-')), 'tandem.db'),
    servePulledModels: false,
    models: [{ name: serverModel, reference: `onnx:${model}?threads=1` }],
  });
  const machine = describeMachine();
  const machineLine = `${machine.cpuModel}, ${machine.logicalCores} logical cores, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(0)} GiB, ${machine.platform} ${machine.architecture}, Node ${machine.nodeVersion}`;
  process.stdout.write(
    `In-browser vs server inference: ${model}, ${rounds} rounds of ${tokens} tokens, greedy\n` +
      `Machine: ${machineLine}\n` +
      `Server: tandem serve on ${server.url}, ${serverModel} = onnx:${model} (onnxruntime-node, CPU, 1 thread)\n\n`,
  );
  try {
    for (const backend of backends as ('wasm' | 'webgpu')[]) {
      const result = await runBackend(server.url, backend, model, serverModel, rounds, tokens);
      // Points alternate browser, server: round i is the i-th of each. Warm pairs only.
      const pairs = result.browser.flatMap((point, index) => {
        const other = result.server[index];
        return other === undefined || point.cold === true || other.cold === true
          ? []
          : [{ browser: point, server: other }];
      });
      const warmBrowser = pairs.map((pair) => pair.browser);
      const warmServer = pairs.map((pair) => pair.server);
      const cold = result.browser.find((point) => point.cold === true);
      const rate = (points: PagePoint[]) =>
        points.flatMap((point) =>
          point.tokensPerSecond === undefined ? [] : [point.tokensPerSecond],
        );
      const ttft = (points: PagePoint[]) =>
        points.flatMap((point) => (point.ttftMs === undefined ? [] : [point.ttftMs]));
      const measuredPairs = pairs.filter(
        (pair) =>
          pair.browser.tokensPerSecond !== undefined && pair.server.tokensPerSecond !== undefined,
      );
      const ratio = pairedLogRatio(
        measuredPairs.map((pair) => pair.browser.tokensPerSecond as number),
        measuredPairs.map((pair) => pair.server.tokensPerSecond as number),
      );
      process.stdout.write(
        [
          `${result.detail}`,
          `  browser load (files from the server, runtime start, session): ${result.loadSeconds.toFixed(2)} s`,
          `  browser TTFT, cold (first run after load): ${cold?.ttftMs?.toFixed(1) ?? '—'} ms`,
          `  browser TTFT, warm: ${median(ttft(warmBrowser), 1, 'ms')}   (n=${warmBrowser.length})`,
          `  server  TTFT, warm: ${median(ttft(warmServer), 1, 'ms')}   (n=${warmServer.length}, measured in the page from the /v1 stream)`,
          `  browser decode: ${median(rate(warmBrowser), 1, 'tok/s')}`,
          `  server  decode: ${median(rate(warmServer), 1, 'tok/s')}`,
          `  browser / server decode, paired by round: ${ratio === undefined ? '—' : `${ratio.ratio.toFixed(3)}x (95% CI ${ratio.low.toFixed(3)}–${ratio.high.toFixed(3)}x)`}`,
          '',
        ].join('\n'),
      );
    }
  } finally {
    await server.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:browser: ${errorLine(error)}\n`);
  process.exitCode = 1;
});

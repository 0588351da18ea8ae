/**
 * What the browser tests share: Debian's chromium driven by playwright-core, headless, and a
 * page whose every request is intercepted (one that leaves the server's origin is aborted and
 * recorded, so the test fails), with Content-Security-Policy violations and uncaught page
 * errors recorded too.
 */

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { defaultWebRoot } from '../src/server/routes/web-assets.js';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(import.meta.dirname, '..', 'test-results', 'screenshots');

const BROWSER_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Why the browser tests cannot run here, or undefined when they can. */
export function missingPrerequisite(): string | undefined {
  const missing = !existsSync(CHROMIUM)
    ? `${CHROMIUM} is not installed (apt-get install chromium)`
    : !existsSync(join(defaultWebRoot(), 'index.html'))
      ? 'the web app is not built (npm run build)'
      : undefined;
  if (missing !== undefined) console.warn(`browser tests skipped: ${missing}`);
  return missing;
}

/** Headless chromium; `webgpu` adds --enable-unsafe-webgpu (a software adapter on Linux). */
export function launchChromium(options: { webgpu?: boolean } = {}): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [...BROWSER_FLAGS, ...(options.webgpu === true ? ['--enable-unsafe-webgpu'] : [])],
  });
}

export interface GuardedPage {
  context: BrowserContext;
  page: Page;
  /** Requests that tried to leave the server's origin (aborted). */
  outside: string[];
  /** Content-Security-Policy violations and uncaught errors on the page. */
  problems: string[];
}

/** A new context and page that may only reach `origin`. */
export async function guardedPage(browser: Browser, origin: string): Promise<GuardedPage> {
  const outside: string[] = [];
  const problems: string[] = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    outside.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return { context, page, outside, problems };
}

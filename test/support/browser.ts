import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { ADMIN_TOKEN } from './bridge.js';

// Debian's headless Chromium for the browser tests (never a downloaded one), where their
// screenshots go, and what every browser test does the same way: a watched page in a fresh
// context, signing in to the admin page, screenshots, and axe.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-output');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: run scripts/ensure-chromium.sh (or set CHROMIUM_PATH)`);
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface PageOptions {
  /** Default 1366×768. */
  viewport?: { width: number; height: number };
  /** Inject axe-core (for `axeViolations`). */
  axe?: boolean;
  /** Accept downloads (page.waitForEvent('download')). */
  downloads?: boolean;
  /** The page's default timeout; default 15 s. */
  timeout?: number;
  /** Prefix each error with the page's URL (for tests that watch several pages). */
  errorUrls?: boolean;
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** The page's uncaught errors and CSP violations, as they happen. */
  errors: string[];
}

/** Records a page's uncaught errors and CSP violations (the admin page, or a window it opened) in `errors`. */
export function watch(page: Page, errors: string[], options: { errorUrls?: boolean } = {}): void {
  const label = (message: string) => (options.errorUrls ? `${page.url()}: ${message}` : message);
  page.on('pageerror', (err) => errors.push(label(err.message)));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) errors.push(label(msg.text()));
  });
}

/**
 * A fresh browser context (own sessionStorage; zh-CN, Asia/Shanghai) with a watched page on it.
 * axe-core, when asked for, is injected through DevTools before the page's scripts (the page's CSP
 * stays as it is).
 */
export async function openPage(browser: Browser, options: PageOptions = {}): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1366, height: 768 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    ...(options.downloads ? { acceptDownloads: true } : {}),
  });
  if (options.axe) await context.addInitScript({ path: AXE });
  const page = await context.newPage();
  const errors: string[] = [];
  watch(page, errors, options);
  page.setDefaultTimeout(options.timeout ?? 15_000);
  return { context, page, errors };
}

export function expectNoPageErrors(errors: string[]): void {
  expect(errors, 'uncaught errors or CSP violations in the page').toEqual([]);
}

/** The page of a test file whose tests open one page at a time (see `pagePerTest`). */
export interface PagePerTest {
  /** A fresh watched page (`openPage` with the file's defaults); the page before, and its errors, are forgotten. */
  open(options?: PageOptions): Promise<Page>;
  /** Closes the open page's context. */
  close(): Promise<void>;
  /** The file's afterEach: closes the page's context and fails the test on the page's errors. */
  closeAndCheck(): Promise<void>;
  /** The open page's context (for the windows it opens). */
  readonly context: BrowserContext;
  /** Watches another page (a window the open page opened) into the open page's errors. */
  watch(page: Page): void;
}

export function pagePerTest(browser: () => Browser, defaults: PageOptions = {}): PagePerTest {
  let context: BrowserContext | null = null;
  let errors: string[] = [];
  const close = async (): Promise<void> => {
    await context?.close();
    context = null;
  };
  return {
    async open(options = {}) {
      const opened = await openPage(browser(), { ...defaults, ...options });
      ({ context, errors } = opened);
      return opened.page;
    },
    close,
    async closeAndCheck() {
      await close();
      expectNoPageErrors(errors);
    },
    get context() {
      if (!context) throw new Error('no page is open');
      return context;
    },
    watch(page) {
      watch(page, errors, defaults);
    },
  };
}

/** Signs in to the admin page of the bridge at `url` with the admin token. */
export async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/admin/`);
  await page.locator('#login-token').fill(ADMIN_TOKEN);
  await page.locator('#login-submit').click();
  await page.locator('#app-view').waitFor({ state: 'visible' });
}

/**
 * test-output/<name>.png: the full page; with `viewport`, or while a modal dialog is open, the
 * viewport (what the user sees; the dialog's backdrop covers only that).
 */
export async function screenshot(page: Page, name: string, options: { viewport?: boolean } = {}): Promise<void> {
  const dialogOpen = (await page.locator('dialog[open]').count()) > 0;
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: !dialogOpen && !options.viewport });
}

/** Serious and critical axe violations of the page as it is now (dialogs included); opened with `axe: true`. */
export async function axeViolations(page: Page): Promise<string[]> {
  return (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => v.impact + ' ' + v.id + ': ' + n.target.join(' '))))`)) as string[];
}

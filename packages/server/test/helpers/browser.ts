/**
 * A real browser for the console tests: Debian's chromium (`.ci/run` installs it when missing),
 * driven by playwright-core, which downloads nothing. Headless, no sandbox (CI runs as root), no
 * network of its own (no updates, sync or QUIC), and a fresh profile that is removed afterwards.
 * When chromium is absent the tests skip with one line saying so.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env['SPACEKV_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

/** Why the browser tests cannot run, or undefined when they can. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium; .ci/run does): browser tests skipped`;
}

export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(viewport: { width: number; height: number } = { width: 1280, height: 800 }): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'spacekv-chromium-'));
  // A persistent context is how playwright gives chromium its own --user-data-dir: a fresh one here.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

/**
 * What the functions a test runs inside the page (`waitForFunction`, `evaluate`) use of the page's
 * `document`: this package compiles without the DOM library, so each such file declares
 * `declare const document: PageDocument;`.
 */
export interface PageDocument {
  querySelector(selector: string): { readonly textContent: string | null; getAttribute(name: string): string | null } | null;
  querySelectorAll(selector: string): { readonly length: number };
  readonly activeElement: { readonly id: string; readonly textContent: string | null } | null;
}

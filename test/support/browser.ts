/**
 * A real browser for end-to-end tests: the system's Chromium driven by playwright-core (which
 * ships no browser of its own), and a screenshot of the page whenever a test fails.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const hasChromium = existsSync(CHROMIUM_PATH);

/** Where failure screenshots go (git-ignored). */
export const TEST_RESULTS_DIR = resolve('test-results');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // Containers and CI runners have neither a user namespace for the sandbox nor a GPU; the
    // rest keeps Chromium from calling home during a test.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function screenshotPathFor(testName: string): string {
  const safe = testName.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 150) || 'test';
  return resolve(TEST_RESULTS_DIR, `${safe}.png`);
}

/** Saves what the page shows and returns the file's path, or null when the page is gone. */
export async function saveScreenshot(page: Page, testName: string): Promise<string | null> {
  if (page.isClosed()) return null;
  const path = screenshotPathFor(testName);
  await mkdir(TEST_RESULTS_DIR, { recursive: true });
  try {
    await page.screenshot({ path, fullPage: true, timeout: 10_000 });
    return path;
  } catch (error) {
    console.error(`could not take a screenshot for "${testName}": ${String(error)}`);
    return null;
  }
}

/**
 * One browser for a test file: each test's pages are closed after it, and the last one it opened
 * is saved as a screenshot when it fails.
 */
export function useChromium(): { newPage(): Promise<Page> } {
  let browser: Browser | undefined;
  const opened: Page[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterEach(async (test) => {
    const last = opened.at(-1);
    if (test.task.result?.state === 'fail' && last) await saveScreenshot(last, test.task.name);
    for (const page of opened.splice(0)) await page.close();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    async newPage() {
      const page = await browser!.newPage();
      opened.push(page);
      return page;
    },
  };
}

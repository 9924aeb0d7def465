/**
 * /docs in a real browser: Debian's headless Chromium, driven by
 * playwright-core (never a browser download), loads the page from the running
 * reference server and shows the five routes. The screenshot is saved to
 * test-artifacts/. `.ci/run` installs Chromium; only where it cannot be
 * installed is this test left out, with a message saying so.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestClient } from '../support/context.js';
import { startReference } from '../support/reference-server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) console.warn(`docs-browser: ${CHROMIUM} is not installed; the /docs browser test does not run here`);

const { client, dbName } = useTestClient();

describe.runIf(available)('/docs in headless Chromium', () => {
  let server: Awaited<ReturnType<typeof startReference>>;
  beforeAll(async () => {
    server = await startReference('express', client, dbName('browser'));
  });
  afterAll(() => server.close());

  it('shows the five routes of the original API', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
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
    try {
      const page = await browser.newPage();
      const blocked: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) blocked.push(r.url());
      });
      await page.goto(`${server.url}/docs`);
      await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 });
      const paths = await page.$$eval('.opblock-summary-path', (nodes) => nodes.map((n) => n.textContent?.trim()));
      expect(paths).toEqual(
        expect.arrayContaining(['/org/create', '/org/get', '/org/update', '/org/delete', '/admin/login']),
      );
      expect(blocked).toEqual([]); // everything is served locally: no CDN
      const artifacts = resolve(import.meta.dirname, '..', '..', 'test-artifacts');
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: resolve(artifacts, 'docs.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 60_000);
});

// The console in Chromium against a node whose admin port wants a bearer token
// (--admin-token-file): the console asks for the token, says when it is refused, shows the node's
// data once given the right one (sent with every read, kept in the tab's sessionStorage), and
// forgets it on request. Skipped, saying why, where Chromium is missing.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { ServerNode } from './helpers/servers.js';
import { ARTIFACTS, CHROMIUM_ARGS, findChromium, startNode, tempDir, until } from './helpers/servers.js';

jest.setTimeout(60_000);

const found = findChromium();
const describeIfChromium = 'path' in found ? describe : describe.skip;
if ('missing' in found) process.stderr.write(`console browser tests skipped: ${found.missing}\n`);

const TOKEN = 'console-e2e-token-0123456789abcdef';

let node: ServerNode;
let dataDir: string;
let browser: Browser;
let page: Page;

async function visible(selector: string): Promise<string> {
  return until(`${selector} to show`, async () => {
    const l = page.locator(selector).first();
    return (await l.isVisible().catch(() => false)) ? ((await l.textContent()) ?? '').trim() : undefined;
  });
}

describeIfChromium('the console with an admin token', () => {
  beforeAll(async () => {
    dataDir = tempDir('chronik-console-token-');
    const tokenFile = path.join(dataDir, 'admin.token');
    fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    node = await startNode(1, path.join(dataDir, 'data'), [
      '--kafka-port',
      '0',
      '--admin-port',
      '0',
      '--admin-token-file',
      tokenFile,
    ]);
    browser = await chromium.launch({
      executablePath: (found as { path: string }).path,
      args: CHROMIUM_ARGS,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
    if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('asks for the token, refuses a wrong one, shows the node with the right one, forgets it', async () => {
    await page.goto(`${node.adminUrl}/`);
    expect(await visible('.token-form h1')).toBe('Admin token');

    await page.fill('.token-form input[name="token"]', 'not-the-token');
    await page.click('.token-form button[type="submit"]');
    expect(await visible('.token-form p')).toContain('was not accepted');

    await page.fill('.token-form input[name="token"]', TOKEN);
    await page.click('.token-form button[type="submit"]');
    await until('the overview', async () => {
      const t =
        (await page
          .locator('[data-card="Nodes"] .card-value')
          .first()
          .textContent()
          .catch(() => '')) ?? '';
      return t.trim() === '1 / 1 up' ? true : undefined;
    });
    expect(await page.locator('.token-form').count()).toBe(0);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-token-overview.png'), fullPage: true });

    await page.click('text=forget the admin token');
    expect(await visible('.token-form h1')).toBe('Admin token');
    expect(await page.evaluate(() => sessionStorage.getItem('chronik.adminToken'))).toBeNull();
  });
});

// The console in Chromium, loaded from a real single-node chronik-server (the built program serving
// the built console): the overview, finding a topic, browsing its records written by kafkajs (text,
// JSON, hex; from an offset), and a consumer group's lag. A screenshot of each page goes to
// test-artifacts/. Skipped, saying why, where Chromium is missing.
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { ServerNode } from './helpers/servers.js';
import { ARTIFACTS, CHROMIUM_ARGS, findChromium, startNode, tempDir, until } from './helpers/servers.js';

jest.setTimeout(90_000);

const found = findChromium();
const describeIfChromium = 'path' in found ? describe : describe.skip;
if ('missing' in found) process.stderr.write(`console browser tests skipped: ${found.missing}\n`);

let node: ServerNode;
let dataDir: string;
let browser: Browser;
let page: Page;
let kafka: Kafka;
/** What the page logged as errors (CSP violations, failed requests, exceptions). */
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `standalone-${name}.png`), fullPage: true });
}

async function text(selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent()) ?? '').trim();
}

/** Waits until the text of `selector` satisfies `ok`. */
async function waitText(selector: string, ok: (t: string) => boolean, timeoutMs = 15_000): Promise<string> {
  return until(
    `${selector} to show the expected text`,
    async () => {
      const t = await text(selector).catch(() => '');
      return ok(t) ? t : undefined;
    },
    timeoutMs,
  );
}

describeIfChromium('the console on a single node', () => {
  beforeAll(async () => {
    dataDir = tempDir('chronik-console-e2e-');
    node = await startNode(1, dataDir, [
      '--kafka-port',
      '0',
      '--admin-port',
      '0',
      '--offsets-topic-partitions',
      '3',
    ]);
    kafka = new Kafka({ clientId: 'console-e2e', brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'orders', numPartitions: 2 },
        { topic: 'payments', numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'orders',
      messages: Array.from({ length: 12 }, (_, i) => ({
        partition: 0,
        key: `order-${i}`,
        value: JSON.stringify({ id: i, item: 'book' }),
        headers: { origin: 'e2e' },
      })),
    });
    await producer.send({
      topic: 'orders',
      messages: [{ partition: 1, value: Buffer.from([0, 1, 2, 250]) }],
    });
    await producer.disconnect();
    browser = await chromium.launch({
      executablePath: (found as { path: string }).path,
      args: CHROMIUM_ARGS,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
    if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('the overview: one node up and the metadata leader, topics and partitions counted, a live throughput chart', async () => {
    await page.goto(`${node.adminUrl}/`);
    await waitText('[data-card="Nodes"] .card-value', (t) => t === '1 / 1 up');
    expect(await text('[data-card="Metadata leader"] .card-value')).toBe('node 1');
    await waitText('[data-card="Topics"] .card-value', (t) => t === '2');
    // orders (2) + payments (1), all online (no group yet: no __consumer_offsets).
    expect(await text('[data-card="Partitions"] .card-value')).toBe('3 online');
    expect(await text('[data-card="Partitions"] [data-count="offline"]')).toBe('0 offline');
    expect(await text('#nodes tr[data-node="1"]')).toContain('up');
    // Samples arrive every 2 s: two make a rate.
    await until('throughput samples', async () => {
      const n = await page.locator('.chart').first().getAttribute('data-samples');
      return Number(n) >= 2 ? true : undefined;
    });
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(2);
    await shot('overview');
  });

  test('find a topic by search, see its partitions, and browse its records', async () => {
    await page.goto(`${node.adminUrl}/#/topics`);
    await page.locator('#topics tr[data-topic="orders"]').waitFor();
    await page.fill('input[type="search"]', 'pay');
    await until('the search to leave payments alone', async () =>
      (await page.locator('#topics tbody tr[data-topic]').count()) === 1 ? true : undefined,
    );
    expect(await text('#topics tbody tr[data-topic]')).toContain('payments');
    await shot('topics');
    await page.fill('input[type="search"]', 'ord');
    await page.click('#topics a:text-is("orders")');
    await waitText('#topic-name', (t) => t === 'orders');
    await waitText('#partitions tr[data-partition="0"] [data-hw]', (t) => t === '12');
    expect(await text('#partitions tr[data-partition="1"] [data-hw]')).toBe('1');

    // The latest records of partition 0, JSON shown as JSON.
    await page.locator('#records tr[data-offset="11"]').waitFor();
    expect(await page.locator('#records tbody tr[data-offset]').count()).toBe(12);
    const value = page.locator('#records tr[data-offset="3"] [data-field="value"]');
    expect(await value.getAttribute('data-rendering')).toBe('json');
    expect(JSON.parse((await value.textContent()) ?? '')).toEqual({ id: 3, item: 'book' });
    expect(await text('#records tr[data-offset="3"] [data-field="key"]')).toBe('order-3');
    expect(await text('#records tr[data-offset="3"] .headers')).toContain('origin');
    await shot('topic');

    // From an offset, with 20 a page, as hex.
    await page.selectOption('select[name="mode"]', 'offset');
    await page.fill('input[name="offset"]', '10');
    await page.selectOption('select[name="rendering"]', 'hex');
    await page.click('form[aria-label="Message browser"] button[type="submit"]');
    await until('records from offset 10', async () =>
      (await page.locator('#records tbody tr[data-offset]').count()) === 2 ? true : undefined,
    );
    expect(await text('#records tbody tr[data-offset]')).toContain('10');
    expect(await text('#records tr[data-offset="10"] [data-field="key"]')).toContain(
      '6f 72 64 65 72 2d 31 30',
    );

    // Partition 1's binary value: shown as hex even when asked for text.
    await page.selectOption('select[name="partition"]', '1');
    await page.selectOption('select[name="mode"]', 'latest');
    await page.selectOption('select[name="rendering"]', 'text');
    await page.click('form[aria-label="Message browser"] button[type="submit"]');
    await page.locator('#records tr[data-offset="0"]').waitFor();
    await until('the binary value as hex', async () =>
      (await page
        .locator('#records tr[data-offset="0"] [data-field="value"]')
        .getAttribute('data-rendering')) === 'hex'
        ? true
        : undefined,
    );
    expect(await text('#records tr[data-offset="0"] [data-field="value"]')).toContain('00 01 02 fa');
  });

  test('a consumer group: its member, committed offsets, and the lag that grows and falls, over time', async () => {
    const consumer = kafka.consumer({ groupId: 'billing', heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
    let seen = 0;
    await consumer.run({ autoCommitInterval: 100, eachMessage: async () => void seen++ });
    await until('the consumer to read everything', async () => (seen >= 13 ? true : undefined));

    await page.goto(`${node.adminUrl}/#/groups`);
    await page.locator('#groups tr[data-group="billing"]').waitFor();
    await shot('groups');
    await page.click('#groups a:text-is("billing")');
    await waitText('#group-id', (t) => t === 'billing');
    await waitText('#total-lag', (t) => t === '0');
    await waitText('#members tbody', (t) => t.includes('console-e2e'));
    await waitText('#group-partitions tr[data-partition="orders-0"] [data-lag]', (t) => t === '0');

    // The member leaves; new records are lag, and the chart keeps the samples.
    await consumer.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'orders',
      messages: Array.from({ length: 7 }, (_, i) => ({ partition: 0, value: `late-${i}` })),
    });
    await producer.disconnect();
    await waitText('#total-lag', (t) => t === '7');
    expect(await text('#group-partitions tr[data-partition="orders-0"] [data-lag]')).toBe('7');

    // A consumer joins again and reads them: the lag falls back to 0 while the page watches.
    const again = kafka.consumer({ groupId: 'billing', heartbeatInterval: 500 });
    await again.connect();
    await again.subscribe({ topics: ['orders'] });
    await again.run({ autoCommitInterval: 100, eachMessage: async () => undefined });
    try {
      await waitText('#total-lag', (t) => t === '0', 30_000);
      await waitText('#members tbody', (t) => t.includes('console-e2e'));
    } finally {
      await again.disconnect();
    }
    await until('lag samples', async () => {
      const n = await page.locator('.chart').first().getAttribute('data-samples');
      return Number(n) >= 3 ? true : undefined;
    });
    await shot('group');

    // The cluster page says this is a single node.
    await page.goto(`${node.adminUrl}/#/cluster`);
    await waitText('main section p', (t) => t.includes('single node'));
    await shot('cluster');
    expect(pageErrors).toEqual([]);
  });
});

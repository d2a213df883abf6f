// The console in Chromium against a real 3-node raft-cluster (three chronik-server processes): any
// node's console shows every node up, the metadata leader, and its Raft groups; when a node is
// killed, the overview shows it down and the partitions it held under-replicated, as does the
// topic's page. Screenshots go to test-artifacts/. Skipped, saying why, where Chromium is missing.
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { ServerNode } from './helpers/servers.js';
import {
  ARTIFACTS,
  CHROMIUM_ARGS,
  findChromium,
  freePort,
  startNode,
  tempDir,
  until,
} from './helpers/servers.js';

jest.setTimeout(120_000);

const found = findChromium();
const describeIfChromium = 'path' in found ? describe : describe.skip;
if ('missing' in found) process.stderr.write(`console browser tests skipped: ${found.missing}\n`);

const TOPIC = 'replicated';
let root: string;
let nodes: ServerNode[] = [];
let browser: Browser;
let page: Page;

async function text(selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent()) ?? '').trim();
}

async function waitText(selector: string, ok: (t: string) => boolean, timeoutMs = 20_000): Promise<string> {
  return until(
    `${selector} to show the expected text`,
    async () => {
      const t = await text(selector).catch(() => '');
      return ok(t) ? t : undefined;
    },
    timeoutMs,
  );
}

async function shot(name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `cluster-${name}.png`), fullPage: true });
}

describeIfChromium('the console on a 3-node cluster', () => {
  beforeAll(async () => {
    root = tempDir('chronik-console-cluster-');
    const ports = await Promise.all(
      [1, 2, 3].map(async (id) => ({
        id,
        kafka: await freePort(),
        raft: await freePort(),
        admin: await freePort(),
      })),
    );
    nodes = await Promise.all(
      ports.map((p) =>
        startNode(p.id, path.join(root, `node${p.id}`), [
          '--kafka-port',
          String(p.kafka),
          '--admin-port',
          String(p.admin),
          '--offsets-topic-partitions',
          '3',
          'raft-cluster',
          '--raft-addr',
          `127.0.0.1:${p.raft}`,
          '--peers',
          ports
            .filter((q) => q.id !== p.id)
            .map((q) => `${q.id}@127.0.0.1:${q.raft}`)
            .join(','),
          '--bootstrap',
        ]),
      ),
    );
    await until('every node registered', async () => {
      const res = await fetch(`${nodes[1]?.adminUrl}/v1/cluster`);
      const c = (await res.json()) as { brokers: unknown[]; metadataGroup: { leaderId: number } };
      return c.brokers.length === 3 && c.metadataGroup.leaderId >= 0 ? true : undefined;
    });
    const kafka = new Kafka({
      clientId: 'console-cluster-e2e',
      brokers: nodes.map((n) => n.bootstrap),
      logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 100, retries: 20 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    for (let partition = 0; partition < 3; partition++)
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition, value: `hello ${partition}` }] });
    await producer.disconnect();
    browser = await chromium.launch({
      executablePath: (found as { path: string }).path,
      args: CHROMIUM_ARGS,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  });

  afterAll(async () => {
    await browser?.close();
    for (const n of nodes) await n.stop().catch(() => undefined);
    if (root !== undefined) fs.rmSync(root, { recursive: true, force: true });
  });

  test("node 2's console: three nodes up, the metadata leader, its Raft groups, and records led anywhere", async () => {
    const url = (nodes[1] as ServerNode).adminUrl;
    await page.goto(`${url}/`);
    await waitText('[data-card="Nodes"] .card-value', (t) => t === '3 / 3 up');
    expect(await text('[data-card="Metadata leader"] .card-value')).toMatch(/^node [123]$/);
    await waitText(
      '[data-card="Partitions"] [data-count="under-replicated"]',
      (t) => t === '0 under-replicated',
    );
    await shot('overview');

    await page.goto(`${url}/#/cluster`);
    await page.locator('#raft-groups tr[data-group="metadata"]').waitFor();
    for (let p = 0; p < 3; p++) await page.locator(`#raft-groups tr[data-group="${TOPIC}-${p}"]`).waitFor();
    await waitText(
      '#peers',
      (t) => (t.match(/not answering/g) ?? []).length === 0 && t.includes('answering'),
    );
    await shot('raft');

    // Every partition's one record, read through node 2 whichever node leads it.
    await page.goto(`${url}/#/topics/${TOPIC}`);
    for (let p = 0; p < 3; p++) {
      await page.selectOption('select[name="partition"]', String(p));
      await waitText('#records tbody', (t) => t.includes(`hello ${p}`));
    }
  });

  test('a killed node: down in the overview, its partitions under-replicated there and on the topic page', async () => {
    await (nodes[2] as ServerNode).kill();
    const url = (nodes[0] as ServerNode).adminUrl;
    await page.goto(`${url}/`);
    await waitText('[data-card="Nodes"] .card-value', (t) => t === '2 / 3 up', 30_000);
    await waitText('#nodes tr[data-node="3"]', (t) => t.includes('down'));
    // The leaders drop node 3 from the ISR once it is 10 s behind.
    await waitText(
      '[data-card="Partitions"] [data-count="under-replicated"]',
      (t) => t === '3 under-replicated',
      45_000,
    );
    await shot('node-down');
    await page.goto(`${url}/#/topics`);
    await waitText(`#topics tr[data-topic="${TOPIC}"]`, (t) => t.includes('3 under-replicated'));
    await page.goto(`${url}/#/topics/${TOPIC}`);
    await waitText('#partitions tr[data-partition="0"]', (t) => t.includes('under-replicated'));
    await shot('under-replicated');
  });
});

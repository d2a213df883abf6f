// An in-process broker on free ports with a temp data directory (protocol-level tests).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { Broker } from '../../src/broker.js';
import type { ServerConfig } from '../../src/config.js';
import { DEFAULT_BROKER, DEFAULT_CONFIG, DEFAULT_LIMITS } from '../../src/config.js';
import type { StandaloneOptions } from '../../src/modes/standalone.js';
import { standaloneMode } from '../../src/modes/standalone.js';
import { tempDir } from './server.js';

export async function startBroker(
  overrides: {
    broker?: Partial<ServerConfig['broker']>;
    limits?: Partial<ServerConfig['limits']>;
    clientQuotas?: Partial<ServerConfig['clientQuotas']>;
    dataDir?: string;
  } = {},
  services: StandaloneOptions = {},
): Promise<{ broker: Broker; dataDir: string; stop(): Promise<void> }> {
  const dataDir = overrides.dataDir ?? tempDir();
  const config: ServerConfig = {
    ...DEFAULT_CONFIG,
    kafkaPort: 0,
    advertisedPort: 0,
    advertisedHost: '127.0.0.1',
    listenHost: '127.0.0.1',
    adminHost: '127.0.0.1',
    adminPort: 0,
    dataDir,
    broker: { ...DEFAULT_BROKER, offsetsTopicNumPartitions: 3, ...overrides.broker },
    limits: { ...DEFAULT_LIMITS, ...overrides.limits },
    clientQuotas: { ...DEFAULT_CONFIG.clientQuotas, ...overrides.clientQuotas },
    shutdownTimeoutMs: 2000,
  };
  const broker = new Broker(config, { randomId: randomUUID }, standaloneMode(services));
  try {
    await broker.start();
  } catch (e) {
    // What the program does after a failed start: release the listener and the data directory.
    await broker.stop().catch(() => undefined);
    throw e;
  }
  return {
    broker,
    dataDir,
    stop: async () => {
      await broker.stop();
    },
  };
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

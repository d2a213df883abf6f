// The chronik-server program: parse the command line, start the broker, stop it on SIGTERM/SIGINT.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Broker } from './broker.js';
import { parseCommandLine } from './cli.js';
import { errorMessage, isServerError } from './errors.js';
import { createLogger } from './logger.js';
import { raftClusterMode } from './modes/raft-cluster.js';
import { standaloneMode } from './modes/standalone.js';

/**
 * The web console's built files (@chronik/console's dist/, built with the workspace), or undefined
 * when the package or its build is missing: the admin port then serves the API only.
 */
function consoleDir(): string | undefined {
  try {
    const pkg = fileURLToPath(import.meta.resolve('@chronik/console/package.json'));
    const dir = path.join(path.dirname(pkg), 'dist');
    return existsSync(path.join(dir, 'index.html')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Runs the program; resolves with the process exit code once the broker has stopped. */
export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (parsed.kind === 'exit') {
    if (parsed.stdout) process.stdout.write(parsed.stdout);
    if (parsed.stderr) process.stderr.write(parsed.stderr);
    return parsed.exitCode;
  }
  const config = parsed.config;
  const logger = createLogger(config.logLevel);
  // A stray rejection is a bug to log, not a reason to drop every client; an exception that escaped
  // to the event loop leaves state unknown, so the process stops (the WAL recovers on restart).
  process.on('unhandledRejection', (reason) => {
    logger.error(
      { err: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason) },
      'unhandled rejection',
    );
  });
  process.on('uncaughtException', (e) => {
    logger.error({ err: e.stack ?? e.message }, 'uncaught exception: exiting');
    process.exit(70);
  });
  // The one place the mode is chosen.
  const mode = config.mode === 'raft-cluster' ? raftClusterMode() : standaloneMode();
  // V8 counts the request bytes held outside the JS heap against a small heap: without a larger
  // growing factor, produce load triggers a full GC about every 100 ms (p99 0.38x with it: README).
  const dir = consoleDir();
  const broker = new Broker(
    config,
    {
      logger,
      randomId: randomUUID,
      processMetrics: true,
      heapGrowingPercent: 400,
      // The broker stopped itself (a state it cannot go on from): exit non-zero.
      onFatal: () => process.exit(70),
      ...(dir !== undefined ? { consoleDir: dir } : {}),
    },
    mode,
  );
  try {
    await broker.start();
  } catch (e) {
    logger.error({ err: errorMessage(e), code: isServerError(e) ? e.code : undefined }, 'startup failed');
    process.stderr.write(`chronik-server: ${errorMessage(e)}\n`);
    await broker.stop().catch(() => undefined);
    return 1;
  }
  const code = await new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      // Whatever happens, the process is gone within a few seconds.
      setTimeout(() => {
        logger.error({}, 'shutdown took too long: exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs + 3000).unref();
      broker.stop().then(
        () => resolve(0),
        (e: unknown) => {
          logger.error({ err: errorMessage(e) }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // SIGHUP: read the TLS certificate, key and CA files again (new connections get them); a file
    // that cannot be read or used keeps the old ones, with an error logged.
    process.on('SIGHUP', () => {
      broker
        .reloadTls()
        .catch((e: unknown) =>
          logger.error({ err: errorMessage(e) }, 'TLS reload failed: the previous certificates stay in use'),
        );
    });
  });
  logger.info({ exitCode: code }, 'stopped');
  // Nothing should keep the loop alive now; if something does, do not hang.
  setTimeout(() => process.exit(code), 1000).unref();
  return code;
}

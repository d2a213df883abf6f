// The web console's files (apps/console, bundled by its build) served by the admin listener: `/` is
// its index.html, anything else a file of that folder. The folder is read once, at the first
// request (the bundle is small: about 100 KiB), and kept in memory; a name outside it, a hidden
// file or a folder is 404. Without the folder (the console was not built) `/` says so.
//
// The console only reads the admin API of the node that served it (same origin), so the answers
// forbid everything else: a Content-Security-Policy allowing only this origin, no framing.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface ConsoleFile {
  body: Buffer;
  contentType: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};
/** Files kept from the folder, and bytes: a bound against a wrong folder given by mistake. */
const MAX_FILES = 64;
const MAX_TOTAL_BYTES = 16 * 1024 * 1024;

export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export class ConsoleFiles {
  private loading: Promise<Map<string, ConsoleFile>> | undefined;

  /** @param dir the console's built folder (with index.html), or undefined when there is none. */
  constructor(private readonly dir: string | undefined) {}

  /** The file for a request path (`/` is index.html), or undefined. */
  async get(pathname: string): Promise<ConsoleFile | undefined> {
    const files = await (this.loading ??= this.load());
    const name = pathname === '/' ? 'index.html' : pathname.slice(1);
    return files.get(name);
  }

  get available(): boolean {
    return this.dir !== undefined;
  }

  private async load(): Promise<Map<string, ConsoleFile>> {
    const out = new Map<string, ConsoleFile>();
    if (this.dir === undefined) return out;
    let total = 0;
    const walk = async (sub: string): Promise<void> => {
      const entries = await readdir(path.join(this.dir as string, sub), { withFileTypes: true }).catch(
        () => [],
      );
      for (const e of entries) {
        if (e.name.startsWith('.') || out.size >= MAX_FILES) continue;
        const rel = sub === '' ? e.name : `${sub}/${e.name}`;
        if (e.isDirectory()) {
          await walk(rel);
          continue;
        }
        const type = TYPES[path.extname(e.name)];
        if (!e.isFile() || type === undefined) continue;
        const body = await readFile(path.join(this.dir as string, rel));
        total += body.length;
        if (total > MAX_TOTAL_BYTES) return;
        out.set(rel, { body, contentType: type });
      }
    };
    await walk('');
    return out;
  }
}

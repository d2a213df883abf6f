/** Placeholder until the broker lands: says so, and exits non-zero. */
export async function main(argv: readonly string[]): Promise<number> {
  process.stderr.write(
    `chronik-server: the broker is not built yet (args: ${argv.join(' ') || 'none'}); see README.md for status\n`,
  );
  return 1;
}

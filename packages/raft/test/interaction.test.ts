// Runs the scenario scripts in testdata/*.txt. Each block is a command, a line "----", the expected
// output and a blank line. RAFT_REWRITE=1 rewrites the files with the actual output: a deliberate act,
// reviewed as a diff.
import fs from 'node:fs';
import path from 'node:path';
import { InteractionEnv, parseCommand } from './interaction/env.js';

const dir = path.join(__dirname, '..', 'testdata');
const rewrite = process.env['RAFT_REWRITE'] === '1';

interface Block {
  readonly comments: string[];
  readonly command: string;
  readonly expected: string;
  readonly line: number;
}

function parse(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let comments: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i] as string;
    if (l.startsWith('#') || l.trim() === '') {
      if (l.startsWith('#')) comments.push(l);
      else if (comments.length > 0) comments.push('');
      i++;
      continue;
    }
    const start = i + 1;
    const command = l;
    i++;
    if (lines[i] !== '----') throw new Error(`line ${i + 1}: expected ---- after the command`);
    i++;
    const out: string[] = [];
    while (i < lines.length && (lines[i] as string) !== '') out.push(lines[i++] as string);
    while (comments.length > 0 && comments[comments.length - 1] === '') comments.pop();
    blocks.push({ comments, command, expected: out.join('\n'), line: start });
    comments = [];
  }
  return blocks;
}

function render(blocks: readonly Block[], actual: readonly string[]): string {
  const parts: string[] = [];
  blocks.forEach((b, k) => {
    const text = [...b.comments, b.command, '----', ...(actual[k] === '' ? [] : [actual[k] as string])].join(
      '\n',
    );
    parts.push(text);
  });
  return `${parts.join('\n\n')}\n`;
}

const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('scenario scripts (testdata/*.txt)', () => {
  it('has scripts', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const f of files) {
    it(f, () => {
      const file = path.join(dir, f);
      const blocks = parse(fs.readFileSync(file, 'utf8'));
      const env = new InteractionEnv();
      const actual: string[] = [];
      for (const b of blocks) {
        const got = env.handle(parseCommand(b.command));
        actual.push(got);
        if (!rewrite && got !== b.expected) {
          throw new Error(
            `${f}:${b.line}: ${b.command}\n--- expected\n${b.expected}\n--- actual\n${got}\n(RAFT_REWRITE=1 regenerates on purpose)`,
          );
        }
      }
      if (rewrite) fs.writeFileSync(file, render(blocks, actual));
    });
  }
});

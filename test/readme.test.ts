// Every README (and docs/scale.md) code block that claims to run does: a fence opened with ```js run is saved as an
// ES module in a scratch project whose node_modules/rnnkit links to this checkout (dist/, as `npm install rnnkit`
// would give), and run with node, as a reader who pastes it would. Any other js or ts fence must say `fragment`, so
// no example can escape this test by accident. docs/scale.md's blocks also get onnxruntime-node (a devDependency).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');

interface Block {
  info: string;
  code: string;
  line: number;
}

/** The fenced code blocks of a Markdown text, with their info strings and 1-based opening line. */
function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S.*)?$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((line, j) => j > i && line === '```');
    if (end === -1) throw new Error(`a Markdown file: the fence opened on line ${i + 1} is never closed`);
    blocks.push({ info: (open[1] ?? '').trim(), code: lines.slice(i + 1, end).join('\n'), line: i + 1 });
    i = end;
  }
  return blocks;
}

/** The checks of one Markdown file's code blocks; `extraPackages` are linked into the scratch project too. */
function describeBlocks(file: string, minimumRunnable: number, extraPackages: string[] = []): void {
  const blocks = fencedBlocks(fs.readFileSync(path.join(root, file), 'utf8'));
  const runnable = blocks.filter((b) => b.info === 'js run');

  describe(`${file} code blocks`, () => {
    it('marks every JavaScript or TypeScript block as `run` or `fragment`', () => {
      const unmarked = blocks.filter((b) => /^(js|javascript|ts|typescript|mjs)\b/.test(b.info) && b.info !== 'js run' &&
        !b.info.split(/\s+/).includes('fragment'));
      expect(unmarked.map((b) => `line ${b.line}: \`\`\`${b.info}`)).toEqual([]);
    });

    it(`has at least ${minimumRunnable} runnable examples`, () => {
      expect(runnable.length).toBeGreaterThanOrEqual(minimumRunnable);
    });

    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-readme-'));
    fs.mkdirSync(path.join(project, 'node_modules'));
    fs.symlinkSync(root, path.join(project, 'node_modules', 'rnnkit'), 'dir');
    for (const name of extraPackages) fs.symlinkSync(path.join(root, 'node_modules', name), path.join(project, 'node_modules', name), 'dir');
    afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

    it.each(runnable.map((b) => [b.line, b] as const))('the block on line %i runs', (line, block) => {
      const script = path.join(project, `block-${line}.mjs`);
      fs.writeFileSync(script, block.code);
      const run = spawnSync(process.execPath, [script], { cwd: project, encoding: 'utf8', timeout: 60_000 });
      expect({ status: run.status, signal: run.signal, stderr: run.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
      expect(run.stdout.length).toBeGreaterThan(0);
    });
  });
}

// The quickstart and one runnable example per topic.
describeBlocks('README.md', 8);
describeBlocks('docs/scale.md', 2, ['onnxruntime-node']);

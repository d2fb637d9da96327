// The package as users load it: require('rnnkit') and `import * as rk from 'rnnkit'` both expose the API
// (dist/ is built by `npm run build`, which runs before the tests in the README and CI).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');
const entry = path.join(root, 'dist', 'index.js');

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();
}

describe('package entry points', () => {
  it('dist/ exists (run `npm run build` first)', () => {
    expect(fs.existsSync(entry)).toBe(true);
  });

  it('works with require()', () => {
    const out = run(['-e', `const rk = require(${JSON.stringify(entry)}); const m = rk.sequential(); m.add(rk.layers.gru({ units: 3, inputShape: [4, 2] })); console.log(m.countParams(), typeof rk.layers.lstm, rk.backendInfo().eigen)`]);
    expect(out).toBe('63 function 3.4.0');  // GRU resetAfter: 2*9 + 3*9 + 2*9
  });

  it('works with ESM import * as rk', () => {
    const url = `file://${entry}`;
    const out = run(['--input-type=module', '-e', `import * as rk from ${JSON.stringify(url)}; const m = rk.sequential(); m.add(rk.layers.lstm({ units: 2, inputShape: [3, 1] })); console.log(m.countParams(), typeof rk.RnnError)`]);
    expect(out).toBe('32 function');
  });
});

describe('prepack check (scripts/check-pack.js)', () => {
  const script = path.join(root, 'scripts', 'check-pack.js');
  const platformArch = `${process.platform}-${process.arch}`;

  /** A fake package root with one native and one TypeScript source, written `sourceAgeS` seconds ago. */
  function fakeRoot(sourceAgeS: number): string {
    const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'rnnkit-pack-check-'));
    for (const file of ['native/kernels/a.cc', 'lib/a.ts']) {
      fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), '');
      const when = new Date(Date.now() - sourceAgeS * 1000);
      fs.utimesSync(path.join(dir, file), when, when);
    }
    return dir;
  }

  function check(dir: string): { status: number; stderr: string } {
    try {
      execFileSync(process.execPath, [script, dir], { encoding: 'utf8', stdio: 'pipe' });
      return { status: 0, stderr: '' };
    } catch (e) {
      const error = e as { status: number; stderr: string };
      return { status: error.status, stderr: error.stderr };
    }
  }

  function writeOutputs(dir: string): void {
    fs.mkdirSync(path.join(dir, 'prebuilds', platformArch), { recursive: true });
    fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
    for (const v of ['baseline', 'avx2']) fs.writeFileSync(path.join(dir, 'prebuilds', platformArch, `rnnkit.${v}.node`), '');
    fs.writeFileSync(path.join(dir, 'dist', 'index.js'), '');
  }

  it('refuses to pack without prebuilt addons or dist/, naming each missing file and the command that makes it', () => {
    const result = check(fakeRoot(60));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`prebuilds/${platformArch}/rnnkit\\.baseline\\.node is missing \\(run npm run build:prebuilds\\)`));
    expect(result.stderr).toMatch(/dist\/index\.js is missing \(run npm run build:ts\)/);
  });

  it('refuses outputs older than their sources and accepts fresh ones', () => {
    const stale = fakeRoot(-60);  // sources edited after the outputs were built
    writeOutputs(stale);
    expect(check(stale).stderr).toMatch(/rnnkit\.avx2\.node is older than its sources/);
    const fresh = fakeRoot(60);
    writeOutputs(fresh);
    expect(check(fresh)).toEqual({ status: 0, stderr: '' });
  });
});

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
  const shipped = [
    { file: 'prebuilds/linux-x64/rnnkit.baseline.node', machine: 62 },
    { file: 'prebuilds/linux-x64/rnnkit.avx2.node', machine: 62 },
    { file: 'prebuilds/linux-x64/rnnkit.avx512.node', machine: 62 },
    { file: 'prebuilds/linux-arm64/rnnkit.node', machine: 183 },
  ];

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

  /** The first 20 bytes of a 64-bit little-endian ELF shared object for `machine` (what check-pack.js reads). */
  function elfHeader(machine: number): Buffer {
    const header = Buffer.alloc(20);
    header.write('\x7fELF', 0, 'latin1');
    header[4] = 2;
    header[5] = 1;
    header.writeUInt16LE(3, 16);
    header.writeUInt16LE(machine, 18);
    return header;
  }

  function writeOutputs(dir: string, machineOf = (file: string, machine: number) => machine): void {
    for (const { file, machine } of shipped) {
      fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), elfHeader(machineOf(file, machine)));
    }
    fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'dist', 'index.js'), '');
  }

  it('refuses to pack without prebuilt addons or dist/, naming each missing file and the command that makes it', () => {
    const result = check(fakeRoot(60));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('prebuilds/linux-x64/rnnkit.baseline.node is missing (run npm run build:prebuilds)');
    expect(result.stderr).toContain('prebuilds/linux-x64/rnnkit.avx512.node is missing (run npm run build:prebuilds)');
    expect(result.stderr).toContain('prebuilds/linux-arm64/rnnkit.node is missing (run npm run build:prebuilds:arm64)');
    expect(result.stderr).toContain('dist/index.js is missing (run npm run build:ts)');
  });

  it('refuses outputs older than their sources and accepts fresh ones', () => {
    const stale = fakeRoot(-60);  // sources edited after the outputs were built
    writeOutputs(stale);
    expect(check(stale).stderr).toMatch(/rnnkit\.avx2\.node is older than its sources/);
    const fresh = fakeRoot(60);
    writeOutputs(fresh);
    expect(check(fresh)).toEqual({ status: 0, stderr: '' });
  });

  it('refuses a binary built for the wrong architecture', () => {
    const swapped = fakeRoot(60);
    writeOutputs(swapped, (file, machine) => (file.includes('arm64') ? 62 : machine));
    expect(check(swapped)).toEqual({
      status: 1,
      stderr: 'rnnkit: not packing, the tarball would be incomplete or stale:\n' +
        '  - prebuilds/linux-arm64/rnnkit.node is built for x86-64, not AArch64 (run npm run build:prebuilds:arm64)\n',
    });
  });
});

describe('what npm pack ships (package.json files)', () => {
  /** The tarball's file list, without running the prepack check (which needs every prebuild). */
  function packedFiles(): string[] {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    return (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  }

  it('holds what a source build needs and no tests, build trees or development scripts', () => {
    const files = packedFiles();
    // binding.gyp runs scripts while node-gyp configures (`node scripts/x.js`): the tarball must hold each of them.
    const gypScripts = [...fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8').matchAll(/node (scripts\/[\w.-]+\.js)/g)]
      .map((m) => m[1]);
    expect(gypScripts.length).toBeGreaterThan(0);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'CMakeLists.txt', 'binding.gyp', 'vcpkg.json',
      'native/binding/addon.cc', 'native/kernels/lstm.cc', 'native/ops/network.cc', ...gypScripts]));
    const unwanted = files.filter((f) =>
      /^(test|bench|examples|lib|build[^/]*|node_modules|\.ci)\//.test(f) || f.startsWith('native/tests/') ||
      f.startsWith('native/cmake/') || (f.startsWith('scripts/') && !gypScripts.includes(f)) ||
      /\.(test\.[jt]s|o|tgz)$/.test(f) || f.startsWith('dist/') && !/\.(js|d\.ts)$/.test(f));
    expect(unwanted).toEqual([]);
  });
});

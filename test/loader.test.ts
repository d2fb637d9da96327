// The native loader (lib/native.ts): which binary it picks, how RNNKIT_ISA forces a prebuilt variant, what the CPU
// check reports, and the one message that explains a failed load. Tests of the prebuilt variants need
// `npm run build:prebuilds` (CI runs it); without prebuilds/ they are skipped and their names say so.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { NativeAddon } from '../lib/native';
import { chainSpec, oneBatch } from './helpers/raw-network';

const root = path.join(__dirname, '..');
const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const baselineFile = path.join(prebuildDir, 'rnnkit.baseline.node');
const avx2File = path.join(prebuildDir, 'rnnkit.avx2.node');
const avx512File = path.join(prebuildDir, 'rnnkit.avx512.node');
const havePrebuilds = [baselineFile, avx2File, avx512File].every((file) => fs.existsSync(file));
const withPrebuilds = havePrebuilds ? it : it.skip;
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';

interface LoadOutcome {
  addon?: NativeAddon;
  error?: { name: string; code: string; message: string };
}

/** Loads lib/native.ts in a fresh module registry (so nothing is cached) with these environment variables. */
function loadWith(env: Record<string, string | undefined>): LoadOutcome {
  const saved: Record<string, string | undefined> = {};
  const outcome: LoadOutcome = {};
  for (const key of ['RNNKIT_NATIVE_PATH', 'RNNKIT_ISA', ...Object.keys(env)]) {
    saved[key] = process.env[key];
    delete process.env[key];
  }
  Object.assign(process.env, env);
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { loadNative } = require('../lib/native') as typeof import('../lib/native');
      try {
        outcome.addon = loadNative();
      } catch (error) {
        outcome.error = error as LoadOutcome['error'];
      }
    });
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  return outcome;
}

/** y = x . [1, 2] + 0.5 through the raw addon: [3, 4] -> 11.5 in any variant (exact in float32). */
function denseOutput(addon: NativeAddon): number {
  const network = new addon.Network(chainSpec([2], [{ kind: 'dense', name: 'd', units: 1, activation: 'linear', useBias: true }]));
  network.setParam(0, new Float32Array([1, 2]));
  network.setParam(1, new Float32Array([0.5]));
  return network.predictSync(oneBatch(new Float32Array([3, 4]), 1, [2])).outputs[0][0];
}

/** The flags Linux reports for this CPU (it hides those whose register state the kernel does not save). */
function cpuinfoFlags(): string[] {
  return fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)![1].trim().split(/\s+/);
}

/** What Linux says about this CPU: the x86-64-v3 flags the avx2 variant is compiled for (abm = lzcnt). */
function cpuinfoRunsAvx2(): boolean {
  return ['avx', 'avx2', 'fma', 'f16c', 'movbe', 'bmi1', 'bmi2', 'abm', 'sse4_2', 'popcnt'].every((f) =>
    cpuinfoFlags().includes(f));
}

/** ... and the x86-64-v4 flags the avx512 variant is compiled for. */
function cpuinfoRunsAvx512(): boolean {
  return cpuinfoRunsAvx2() &&
    ['avx512f', 'avx512dq', 'avx512cd', 'avx512bw', 'avx512vl'].every((f) => cpuinfoFlags().includes(f));
}

describe('when nothing loads', () => {
  it('RNNKIT_NATIVE_PATH at a missing file: a NATIVE error naming the path and the ways out', () => {
    const missing = path.join(os.tmpdir(), 'rnnkit-no-such-dir', 'rnnkit.node');
    const { addon, error } = loadWith({ RNNKIT_NATIVE_PATH: missing });
    expect(addon).toBeUndefined();
    expect(error?.name).toBe('RnnError');
    expect(error?.code).toBe('NATIVE');
    expect(error?.message).toContain(`Tried:\n  ${missing}: not found\n`);
    expect(error?.message).toContain('`npm run build`');
    expect(error?.message).toContain('Eigen 3.4');
    expect(error?.message).toContain('RNNKIT_NATIVE_PATH');
  });

  it('a file that is not an addon: the message carries the dynamic loader reason', () => {
    const bogus = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-loader-')), 'rnnkit.node');
    fs.writeFileSync(bogus, 'not an ELF file');
    const { error } = loadWith({ RNNKIT_NATIVE_PATH: bogus });
    expect(error?.code).toBe('NATIVE');
    expect(error?.message).toMatch(new RegExp(`  ${bogus.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\S`));
    expect(error?.message).not.toContain(`${bogus}: not found`);
  });

  it('the built package (dist/) explains itself the same way in a fresh process', () => {
    const missing = path.join(os.tmpdir(), 'rnnkit-no-such-dir', 'other.node');
    const script = `try { require(${JSON.stringify(path.join(root, 'dist', 'index.js'))}).backendInfo(); }
      catch (e) { console.log(e.code + '\\n' + e.message); process.exit(3); }`;
    const child = spawnSync(process.execPath, ['-e', script],
      { encoding: 'utf8', env: { ...process.env, RNNKIT_NATIVE_PATH: missing, RNNKIT_ISA: '' } });
    expect(child.status).toBe(3);
    expect(child.stdout).toContain('NATIVE\nrnnkit could not load its native addon');
    expect(child.stdout).toContain(`  ${missing}: not found`);
  });
});

describe('RNNKIT_ISA', () => {
  it('rejects anything but baseline, avx2 or avx512 before loading', () => {
    const { error } = loadWith({ RNNKIT_ISA: 'sse4' });
    expect(error?.code).toBe('ARGUMENT');
    expect(error?.message).toBe(`Expected one of 'baseline', 'avx2', 'avx512' (or unset) for the RNNKIT_ISA ` +
      'environment variable but received "sse4"');
  });

  withPrebuilds('baseline forces the prebuilt baseline binary, which computes (needs npm run build:prebuilds)', () => {
    const { addon, error } = loadWith({ RNNKIT_ISA: 'baseline' });
    expect(error).toBeUndefined();
    expect(addon!.build).toMatchObject({ variant: 'baseline', isa: 'baseline', source: 'prebuild', path: baselineFile });
    expect(denseOutput(addon!)).toBe(11.5);
  });

  withPrebuilds('avx2 loads the avx2 binary when the CPU runs it, else fails naming what is missing (needs npm run build:prebuilds)', () => {
    const { addon, error } = loadWith({ RNNKIT_ISA: 'avx2' });
    const cpu = loadWith({ RNNKIT_NATIVE_PATH: baselineFile }).addon!.cpuFeatures!();
    if (cpu.avx2) {
      expect(addon!.build).toMatchObject({ variant: 'avx2', isa: 'avx2', source: 'prebuild', path: avx2File });
      expect(denseOutput(addon!)).toBe(11.5);
    } else {
      expect(error?.code).toBe('NATIVE');
      expect(error?.message).toContain(`without ${cpu.missingForAvx2.join(', ')}`);
    }
  });

  withPrebuilds('avx512 loads the avx512 binary when the CPU and OS run it, else fails naming what is missing (needs npm run build:prebuilds)', () => {
    const { addon, error } = loadWith({ RNNKIT_ISA: 'avx512' });
    const cpu = loadWith({ RNNKIT_NATIVE_PATH: baselineFile }).addon!.cpuFeatures!();
    if (cpu.avx512) {
      expect(error).toBeUndefined();
      expect(addon!.build).toMatchObject({ variant: 'avx512', isa: 'avx512', source: 'prebuild', path: avx512File });
      expect(addon!.build.simd).toMatch(/^AVX512, FMA/);
      expect(denseOutput(addon!)).toBe(11.5);
    } else {
      expect(error?.code).toBe('NATIVE');
      expect(error?.message).toContain(`without ${cpu.missingForAvx512!.join(', ')}`);
      expect(error?.message).toContain(`set it to a variant this CPU runs (baseline${cpu.avx2 ? ', avx2' : ''})`);
    }
  });

  withPrebuilds('unset, the best variant the CPU runs loads: avx512, else avx2, else baseline (needs npm run build:prebuilds)', () => {
    const cpu = loadWith({ RNNKIT_NATIVE_PATH: baselineFile }).addon!.cpuFeatures!();
    const best = cpu.avx512 ? 'avx512' : cpu.avx2 ? 'avx2' : 'baseline';
    let addon: NativeAddon | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      addon = (require('../lib/native') as typeof import('../lib/native')).loadPrebuilt(undefined, []);
    });
    expect(addon!.build).toMatchObject({ variant: best, isa: best, path: path.join(prebuildDir, `rnnkit.${best}.node`) });
  });

  withPrebuilds('RNNKIT_NATIVE_PATH at the avx512 binary runs only where the CPU and OS do (needs npm run build:prebuilds)', () => {
    const { addon, error } = loadWith({ RNNKIT_NATIVE_PATH: avx512File });
    if (cpuinfoRunsAvx512()) {
      expect(addon!.build).toMatchObject({ variant: 'avx512', isa: 'avx512', source: 'override' });
    } else {
      expect(error?.code).toBe('NATIVE');
      expect(error?.message).toContain('Expected a CPU and OS that run x86-64-v4');
    }
  });

  withPrebuilds('a variant that contradicts RNNKIT_NATIVE_PATH is refused (needs npm run build:prebuilds)', () => {
    const { error } = loadWith({ RNNKIT_NATIVE_PATH: baselineFile, RNNKIT_ISA: 'avx2' });
    expect(error?.code).toBe('NATIVE');
    expect(error?.message).toContain(`${baselineFile}: built for baseline, not the RNNKIT_ISA=avx2 requested`);
    expect(error?.message).toContain('unset RNNKIT_ISA (now "avx2")');
  });
});

describe('cpuFeatures (CPUID + XGETBV in the addon)', () => {
  const probe = havePrebuilds ? baselineFile : path.join(root, 'build', 'Release', 'rnnkit.node');
  const testIfLinux = onLinuxX64 ? it : it.skip;

  testIfLinux('agrees with the flags Linux reports in /proc/cpuinfo (linux-x64 only)', () => {
    const { addon } = loadWith({ RNNKIT_NATIVE_PATH: probe });
    // A build older than cpuFeatures cannot answer; that is a stale build, which this test reports.
    expect(typeof addon?.cpuFeatures).toBe('function');
    const cpu = addon!.cpuFeatures!();
    expect(cpu.x64).toBe(true);
    expect(cpu.avx2).toBe(cpuinfoRunsAvx2());
    expect(cpu.missingForAvx2.length === 0).toBe(cpu.avx2);
    expect(cpu.avx512).toBe(cpuinfoRunsAvx512());
    expect(cpu.missingForAvx512!.length === 0).toBe(cpu.avx512);
    // Each level includes the one below: what avx2 lacks, avx512 lacks too.
    expect(cpu.missingForAvx512).toEqual(expect.arrayContaining(cpu.missingForAvx2));
    expect(cpu.missingForBaseline).toEqual([]);   // this test runs, so the baseline level is there
  });

  it('backendInfo() of the built package (dist/) names the variant loaded and where it came from', () => {
    const script = `console.log(JSON.stringify(require(${JSON.stringify(path.join(root, 'dist', 'index.js'))}).backendInfo()))`;
    const env = { ...process.env };
    delete env.RNNKIT_NATIVE_PATH;
    delete env.RNNKIT_ISA;
    const info = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env }));
    expect(['avx512', 'avx2', 'baseline', 'generic']).toContain(info.variant);
    expect(['local-build', 'prebuild']).toContain(info.source);
    expect(fs.existsSync(info.path)).toBe(true);
  });
});

describe('the prebuilt binaries hold the instructions their names promise', () => {
  withPrebuilds('objdump: no AVX in baseline, ymm and FMA but no AVX-512 in avx2, zmm in avx512 (needs npm run build:prebuilds)', () => {
    const out = execFileSync(process.execPath, [path.join(root, 'scripts', 'check-baseline-isa.js'), prebuildDir],
      { encoding: 'utf8' });
    expect(out).toContain('baseline: 0 ymm lines, 0 zmm lines, 0 AVX-512 lines, 0 VEX/EVEX instructions, 0 FMA');
    expect(out).toMatch(/^avx2: +[1-9]\d* ymm lines, 0 zmm lines, 0 AVX-512 lines, [1-9]\d* VEX\/EVEX instructions, [1-9]\d* FMA$/m);
    expect(out).toMatch(/^avx512: +\d+ ymm lines, [1-9]\d* zmm lines, [1-9]\d* AVX-512 lines,/m);
    expect(out).toContain('check-baseline-isa: ok');
  });

  withPrebuilds('the scan catches AVX-512 where it must not be: avx2 under the avx512 name and back (needs npm run build:prebuilds)', () => {
    // The check itself, fed swapped binaries: avx512 code named avx2 fails, avx2 code named avx512 fails.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-isa-swap-'));
    try {
      fs.copyFileSync(baselineFile, path.join(dir, 'rnnkit.baseline.node'));
      fs.copyFileSync(avx512File, path.join(dir, 'rnnkit.avx2.node'));
      fs.copyFileSync(avx2File, path.join(dir, 'rnnkit.avx512.node'));
      const child = spawnSync(process.execPath, [path.join(root, 'scripts', 'check-baseline-isa.js'), dir], { encoding: 'utf8' });
      expect(child.status).toBe(1);
      expect(child.stderr).toContain(`Expected no AVX-512 instructions in ${path.join(dir, 'rnnkit.avx2.node')}`);
      expect(child.stderr).toContain(`Expected zmm registers and FMA instructions in ${path.join(dir, 'rnnkit.avx512.node')} but received 0`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('which prebuilt binary each platform loads (loadPrebuilt)', () => {
  const localBuild = path.join(root, 'build', 'Release', 'rnnkit.node');
  type Site = import('../lib/native').PrebuildSite;
  type Attempts = Parameters<typeof import('../lib/native').loadPrebuilt>[1];

  const fakeRoots: string[] = [];
  afterAll(() => fakeRoots.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  /** A fake package root: each relative path gets a copy of the local build (a loadable addon) or the given text. */
  function fakePackage(files: Record<string, 'addon' | string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnkit-prebuilds-'));
    fakeRoots.push(dir);
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
      if (content === 'addon') fs.copyFileSync(localBuild, path.join(dir, file));
      else fs.writeFileSync(path.join(dir, file), content);
    }
    return dir;
  }

  function loadFrom(request: import('../lib/native').NativeVariant | undefined, site?: Site): { addon?: NativeAddon; attempts: Attempts } {
    const attempts: Attempts = [];
    let addon: NativeAddon | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { loadPrebuilt } = require('../lib/native') as typeof import('../lib/native');
      addon = loadPrebuilt(request, attempts, site);
    });
    return { addon, attempts };
  }

  it('linux-arm64: loads prebuilds/linux-arm64/rnnkit.node, the one binary, and ignores x64 variant names', () => {
    const dir = fakePackage({
      'prebuilds/linux-arm64/rnnkit.node': 'addon',
      'prebuilds/linux-arm64/rnnkit.baseline.node': 'not an ELF file',
      'prebuilds/linux-x64/rnnkit.node': 'not an ELF file',
    });
    const { addon, attempts } = loadFrom(undefined, { root: dir, platform: 'linux', arch: 'arm64' });
    expect(attempts).toEqual([]);
    expect(addon!.build).toMatchObject({
      variant: 'generic', source: 'prebuild', path: path.join(dir, 'prebuilds', 'linux-arm64', 'rnnkit.node'),
    });
    expect(denseOutput(addon!)).toBe(11.5);
  });

  it('linux-arm64 without its binary: the attempt names the one file looked for', () => {
    const dir = fakePackage({ 'prebuilds/linux-x64/rnnkit.baseline.node': 'addon' });
    const { addon, attempts } = loadFrom(undefined, { root: dir, platform: 'linux', arch: 'arm64' });
    expect(addon).toBeUndefined();
    expect(attempts).toEqual([{ file: path.join(dir, 'prebuilds', 'linux-arm64', 'rnnkit.node'), problem: 'not found' }]);
  });

  it('linux-arm64 refuses RNNKIT_ISA, an x64 notion, instead of loading the binary anyway', () => {
    const dir = fakePackage({ 'prebuilds/linux-arm64/rnnkit.node': 'addon' });
    const { addon, attempts } = loadFrom('baseline', { root: dir, platform: 'linux', arch: 'arm64' });
    expect(addon).toBeUndefined();
    expect(attempts).toEqual([{
      file: path.join(dir, 'prebuilds', 'linux-arm64'), problem: 'RNNKIT_ISA=baseline applies to x64 only, this is arm64',
    }]);
  });

  it('linux-x64: looks for the baseline binary first and never at rnnkit.node', () => {
    const dir = fakePackage({ 'prebuilds/linux-x64/rnnkit.node': 'addon' });
    const { addon, attempts } = loadFrom(undefined, { root: dir, platform: 'linux', arch: 'x64' });
    expect(addon).toBeUndefined();
    expect(attempts).toEqual([{ file: path.join(dir, 'prebuilds', 'linux-x64', 'rnnkit.baseline.node'), problem: 'not found' }]);
  });

  withPrebuilds('linux-x64 without the avx512 binary: a CPU that runs it gets avx2, and the attempt says why (needs npm run build:prebuilds)', () => {
    const dir = fakePackage({});
    fs.mkdirSync(path.join(dir, 'prebuilds', 'linux-x64'), { recursive: true });
    fs.copyFileSync(baselineFile, path.join(dir, 'prebuilds', 'linux-x64', 'rnnkit.baseline.node'));
    fs.copyFileSync(avx2File, path.join(dir, 'prebuilds', 'linux-x64', 'rnnkit.avx2.node'));
    const site = { root: dir, platform: 'linux', arch: 'x64' };
    const cpu = loadWith({ RNNKIT_NATIVE_PATH: baselineFile }).addon!.cpuFeatures!();
    const { addon, attempts } = loadFrom(undefined, site);
    const avx512Missing = { file: path.join(dir, 'prebuilds', 'linux-x64', 'rnnkit.avx512.node'), problem: 'not found' };
    expect(attempts).toEqual(cpu.avx512 ? [avx512Missing] : []);
    expect(addon!.build.variant).toBe(cpu.avx2 ? 'avx2' : 'baseline');
    // Forced, the missing binary is a failed load, not a silent fallback.
    const forced = loadFrom('avx512', site);
    expect(forced.addon).toBeUndefined();
    if (cpu.avx512) expect(forced.attempts).toEqual([avx512Missing]);
  });

  it('by default follows process.platform and process.arch in the package itself', () => {
    const saved = Object.getOwnPropertyDescriptor(process, 'arch')!;
    Object.defineProperty(process, 'arch', { ...saved, value: 'arm64' });
    let outcome: ReturnType<typeof loadFrom>;
    try {
      outcome = loadFrom(undefined);
    } finally {
      Object.defineProperty(process, 'arch', saved);
    }
    // The real arm64 prebuild, when built, is there but cannot load on this x64 machine (which jest sees as arm64).
    expect(outcome.attempts.map((a) => a.file)).toEqual(
      [path.join(root, 'prebuilds', `${process.platform}-arm64`, 'rnnkit.node')]);
  });
});

describe('the linux-arm64 prebuild', () => {
  const arm64File = path.join(root, 'prebuilds', 'linux-arm64', 'rnnkit.node');
  const withArm64 = fs.existsSync(arm64File) ? it : it.skip;

  withArm64('is an AArch64 ELF shared object (needs npm run build:prebuilds:arm64)', () => {
    const header = Buffer.alloc(20);
    const fd = fs.openSync(arm64File, 'r');
    fs.readSync(fd, header, 0, 20, 0);
    fs.closeSync(fd);
    // e_ident: 0x7f 'ELF', class 2 (64-bit), data 1 (little-endian); e_type 3 (ET_DYN); e_machine 183 (EM_AARCH64).
    expect([header.toString('latin1', 0, 4), header[4], header[5], header.readUInt16LE(16), header.readUInt16LE(18)])
      .toEqual(['\x7fELF', 2, 1, 3, 183]);
  });

  (fs.existsSync(arm64File) && process.arch === 'x64' ? it : it.skip)(
    'on x64 the failed load says it is an arm64 binary, not "No such file" as the dynamic loader does', () => {
      const { error } = loadWith({ RNNKIT_NATIVE_PATH: arm64File });
      expect(error?.code).toBe('NATIVE');
      expect(error?.message).toContain(`Tried:\n  ${arm64File}: built for arm64, this is x64\n`);
    });
});

describe('the C and C++ runtime every prebuild needs (the Linux distributions it reaches)', () => {
  // glibc 2.34 and libstdc++ from GCC 12 (GLIBCXX_3.4.30): Debian 12, Ubuntu 22.04, Fedora 36 and later. A newer
  // build machine raises these silently and drops distributions; this test makes that a decision.
  const FLOOR: Record<string, string> = { GLIBC: '2.34', GLIBCXX: '3.4.30', CXXABI: '1.3.13' };
  const files = [
    path.join(root, 'prebuilds', 'linux-x64', 'rnnkit.baseline.node'),
    path.join(root, 'prebuilds', 'linux-x64', 'rnnkit.avx2.node'),
    path.join(root, 'prebuilds', 'linux-x64', 'rnnkit.avx512.node'),
    path.join(root, 'prebuilds', 'linux-arm64', 'rnnkit.node'),
  ].filter((file) => fs.existsSync(file));
  const haveReadelf = spawnSync('readelf', ['--version']).status === 0;
  /** Whether dotted version a is above b ('2.35' > '2.34', '3.4.30' > '3.4.4'). */
  const newer = (a: string, b: string) => {
    const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
    const differs = x.findIndex((part, i) => part !== (y[i] ?? 0));
    return differs >= 0 && x[differs] > (y[differs] ?? 0);
  };

  (files.length > 0 && haveReadelf ? it : it.skip)('asks for no symbol version above the floor (needs prebuilds)', () => {
    const aboveFloor: string[] = [];
    for (const file of files) {
      const symbols = execFileSync('readelf', ['--dyn-syms', '--wide', file], { encoding: 'utf8' });
      for (const [, library, version] of symbols.matchAll(/@(GLIBC|GLIBCXX|CXXABI)_([\d.]+)/g)) {
        if (newer(version, FLOOR[library])) aboveFloor.push(`${path.relative(root, file)}: ${library}_${version}`);
      }
    }
    expect([...new Set(aboveFloor)]).toEqual([]);
  });
});

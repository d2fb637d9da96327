/**
 * The one place that loads rnnkit's compiled addon (its types: lib/binding_types.ts).
 *
 * Load order: the RNNKIT_NATIVE_PATH override (a .node file); then a local source build (`build/Release/rnnkit.node`,
 * present only in a development checkout, where it is fresher than any prebuild); then the prebuilt binaries shipped
 * in the package under `prebuilds/<platform>-<arch>/`. On x64 there are three, `rnnkit.baseline.node` (x86-64-v2),
 * `rnnkit.avx2.node` (x86-64-v3) and `rnnkit.avx512.node` (x86-64-v4): the baseline one loads first and is asked,
 * with CPUID + XGETBV, which of the others this CPU and OS run; the best of those then loads instead. Elsewhere
 * (linux-arm64: armv8-a with NEON, which every 64-bit Arm CPU runs) there is one, `rnnkit.node`, and nothing to
 * choose. RNNKIT_ISA=baseline|avx2|avx512 forces a prebuilt x64 variant (skipping the local build), and fails clearly
 * when the CPU cannot run it. When nothing loads, the error lists every path tried, why each failed, and the ways out.
 * @internal
 */
import * as fs from 'fs';
import * as path from 'path';
import { RnnError } from './errors';
import { invalid } from './validate';
import { NATIVE_VARIANTS, NativeAddon, NativeBuildInfo, NativeCpuFeatures, NativeVariant } from './binding_types';

// The binding's types live in binding_types.ts; they are re-exported here so callers import one module.
export * from './binding_types';

const packageRoot = path.join(__dirname, '..');

/** One failed load: the file and why, for the explanation when nothing loads. */
export interface LoadAttempt {
  file: string;
  problem: string;
}

/** RNNKIT_ISA, validated: undefined when unset (the loader picks the best variant). */
function requestedVariant(): NativeVariant | undefined {
  const value = process.env.RNNKIT_ISA;
  if (value === undefined || value === '') return undefined;
  if (!(NATIVE_VARIANTS as readonly string[]).includes(value)) {
    throw invalid('ARGUMENT', `one of ${NATIVE_VARIANTS.map((v) => `'${v}'`).join(', ')} (or unset)`,
      'the RNNKIT_ISA environment variable', value);
  }
  return value as NativeVariant;
}

/** ELF e_machine values of the architectures rnnkit ships, named as process.arch names them. */
const ELF_MACHINES: Record<number, string> = { 62: 'x64', 183: 'arm64' };

/** The architecture a 64-bit ELF file was built for, when it is one of ELF_MACHINES. */
function elfArch(file: string): string | undefined {
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  try {
    if (fs.readSync(fd, header, 0, 20, 0) < 20 || header.toString('latin1', 0, 4) !== '\x7fELF') return undefined;
  } finally {
    fs.closeSync(fd);
  }
  return ELF_MACHINES[header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18)];
}

function tryRequire(file: string, attempts: LoadAttempt[]): NativeAddon | undefined {
  if (!fs.existsSync(file)) {
    attempts.push({ file, problem: 'not found' });
    return undefined;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(file) as NativeAddon;
  } catch (error) {
    // glibc reports a binary of another architecture as "No such file or directory", which misleads: say what it is.
    const built = elfArch(file);
    const problem = built !== undefined && built !== process.arch
      ? `built for ${built}, this is ${process.arch}` : (error as Error).message.split('\n')[0];
    attempts.push({ file, problem });
    return undefined;
  }
}

const REBUILD_FOR_THIS_CPU = 'rebuild from source for it: `npx cmake-js compile --CDRNNKIT_ISA=baseline` ' +
  '(or `--CDRNNKIT_ISA=none` for the compiler default) in the package directory';

/** The x64 variants above the baseline, best first, with what each needs of the CPU and OS (for messages). */
const UPPER_VARIANTS = [
  { variant: 'avx512', needs: 'x86-64-v4 (AVX-512 F, BW, CD, DQ, VL; opmask and ZMM state saved)' },
  { variant: 'avx2', needs: 'x86-64-v3 (AVX2, FMA, BMI2, YMM state saved)' },
] as const;

/** Whether `cpu` runs `variant`, and if not, what it lacks. */
function cpuLacks(cpu: NativeCpuFeatures, variant: 'avx2' | 'avx512'): string[] {
  if (variant === 'avx2') return cpu.avx2 ? [] : cpu.missingForAvx2;
  if (cpu.avx512 === true) return [];
  return cpu.missingForAvx512 ?? ['the AVX-512 check (its CPU check predates the avx512 variant)'];
}

/**
 * Throws when `addon` reports that this CPU lacks what `variant` was compiled for, before any kernel runs (a binary
 * with AVX2 or AVX-512 code can load on an older CPU and crash with SIGILL only when the code runs).
 */
function checkCpuRuns(addon: NativeAddon, variant: string, what: string, wayOut: string): void {
  const cpu = addon.cpuFeatures?.();
  if (!cpu || !cpu.x64) return;
  for (const upper of UPPER_VARIANTS) {
    if (variant !== upper.variant) continue;
    const missing = cpuLacks(cpu, upper.variant);
    if (missing.length > 0) {
      throw new RnnError('NATIVE',
        `Expected a CPU and OS that run ${upper.needs} for ${what} but received one without ${missing.join(', ')}; ` +
        wayOut);
    }
  }
  if (!cpu.baseline) {
    throw new RnnError('NATIVE',
      `Expected a CPU that runs x86-64-v2 (SSE4.2, POPCNT) for ${what} but received one without ` +
      `${cpu.missingForBaseline.join(', ')}; ${REBUILD_FOR_THIS_CPU}`);
  }
}

function accept(addon: NativeAddon, file: string, source: NativeBuildInfo['source'], variant: string): NativeAddon {
  Object.assign(addon.build, { variant, source, path: file });
  return addon;
}

/** Where to look for prebuilt binaries; `process`'s own by default, another platform's in tests. */
export interface PrebuildSite {
  root: string;
  platform: string;
  arch: string;
}

/** The file name of the one prebuilt binary of a platform without CPU variants (linux-arm64). */
export const SINGLE_PREBUILD = 'rnnkit.node';

/**
 * The best prebuilt binary for this machine. On x64 the baseline binary loads first and answers cpuFeatures(); the
 * avx512 or avx2 one is loaded only if the CPU and OS run it (or RNNKIT_ISA asks for it, failing clearly if they
 * do not).
 * Elsewhere the platform's one binary loads, and RNNKIT_ISA (an x64 notion) is refused.
 * @internal
 */
export function loadPrebuilt(request: NativeVariant | undefined, attempts: LoadAttempt[],
  site: PrebuildSite = { root: packageRoot, platform: process.platform, arch: process.arch }): NativeAddon | undefined {
  const directory = path.join(site.root, 'prebuilds', `${site.platform}-${site.arch}`);
  if (site.arch !== 'x64') {
    if (request) {
      attempts.push({ file: directory, problem: `RNNKIT_ISA=${request} applies to x64 only, this is ${site.arch}` });
      return undefined;
    }
    const file = path.join(directory, SINGLE_PREBUILD);
    const single = tryRequire(file, attempts);
    return single && accept(single, file, 'prebuild', 'generic');
  }
  const fileOf = (variant: NativeVariant) => path.join(directory, `rnnkit.${variant}.node`);
  const baseline = tryRequire(fileOf('baseline'), attempts);
  if (!baseline) {
    // Without the baseline binary nothing can ask the CPU, and loading AVX code blind could crash it (SIGILL).
    for (const { variant } of UPPER_VARIANTS) {
      if (fs.existsSync(fileOf(variant))) {
        attempts.push({ file: fileOf(variant), problem: 'not tried: the CPU check needs the baseline binary' });
      }
    }
    return undefined;
  }
  checkCpuRuns(baseline, 'baseline', `the prebuilt baseline binary (${fileOf('baseline')})`, REBUILD_FOR_THIS_CPU);
  const cpu = baseline.cpuFeatures?.();
  if (request === 'avx2' || request === 'avx512') {
    const runs = ['baseline', ...UPPER_VARIANTS.filter((u) => cpu && cpuLacks(cpu, u.variant).length === 0)
      .map((u) => u.variant).reverse()];
    checkCpuRuns(baseline, request, `RNNKIT_ISA=${request}`,
      `unset RNNKIT_ISA or set it to a variant this CPU runs (${runs.join(', ')})`);
    const forced = tryRequire(fileOf(request), attempts);
    return forced && accept(forced, fileOf(request), 'prebuild', request);
  }
  if (request === undefined && cpu) {
    // The best variant this CPU runs; one missing from the package falls back to the next (its attempt is kept).
    for (const { variant } of UPPER_VARIANTS) {
      if (cpuLacks(cpu, variant).length > 0) continue;
      const addon = tryRequire(fileOf(variant), attempts);
      if (addon) return accept(addon, fileOf(variant), 'prebuild', variant);
    }
  }
  return accept(baseline, fileOf('baseline'), 'prebuild', 'baseline');
}

function notLoaded(attempts: LoadAttempt[], request: NativeVariant | undefined): RnnError {
  const ways = [
    `build it from source in ${packageRoot}: \`npx cmake-js compile\` (\`npm run build\` in a git checkout; ` +
      'needs a C++17 compiler, CMake >= 3.15 and Eigen 3.4: `apt-get install libeigen3-dev`, `brew install eigen`, ' +
      'or vcpkg with VCPKG_ROOT set, whose manifest vcpkg.json lists eigen3); `npx node-gyp rebuild` works too',
    'or, in a git checkout, make the prebuilt binaries with `npm run build:prebuilds` ' +
      '(the npm package ships linux-x64 and linux-arm64 ones)',
    'or point RNNKIT_NATIVE_PATH at a built rnnkit.node',
  ];
  if (request) ways.unshift(`unset RNNKIT_ISA (now "${request}") to let rnnkit choose`);
  return new RnnError(
    'NATIVE',
    `rnnkit could not load its native addon for ${process.platform}-${process.arch} (Node ${process.version}). ` +
      `Tried:\n${attempts.map((a) => `  ${a.file}: ${a.problem}`).join('\n')}\n` +
      `Ways out:\n${ways.map((w) => `  - ${w}`).join('\n')}`,
  );
}

function load(): NativeAddon {
  const request = requestedVariant();
  const attempts: LoadAttempt[] = [];
  const override = process.env.RNNKIT_NATIVE_PATH;
  if (override) {
    const file = path.resolve(override);
    const addon = tryRequire(file, attempts);
    if (!addon) throw notLoaded(attempts, request);
    if (request && addon.build.isa !== request) {
      attempts.push({ file, problem: `built for ${addon.build.isa}, not the RNNKIT_ISA=${request} requested` });
      throw notLoaded(attempts, request);
    }
    checkCpuRuns(addon, addon.build.isa, `RNNKIT_NATIVE_PATH=${file}`,
      `point RNNKIT_NATIVE_PATH elsewhere or ${REBUILD_FOR_THIS_CPU}`);
    return accept(addon, file, 'override', addon.build.isa);
  }
  // A forced variant means a prebuilt one: the local build is whatever its builder chose.
  if (!request) {
    const local = path.join(packageRoot, 'build', 'Release', 'rnnkit.node');
    const addon = tryRequire(local, attempts);
    if (addon) {
      checkCpuRuns(addon, addon.build.isa, `the local build (${local})`, REBUILD_FOR_THIS_CPU);
      return accept(addon, local, 'local-build', addon.build.isa);
    }
  }
  const prebuilt = loadPrebuilt(request, attempts);
  if (prebuilt) return prebuilt;
  throw notLoaded(attempts, request);
}

let cached: NativeAddon | undefined;

/** Loads the addon once; throws an RnnError('NATIVE') explaining every failed attempt. */
export function loadNative(): NativeAddon {
  if (!cached) cached = load();
  return cached;
}

/**
 * Converts an error thrown by the addon (an Error with a `code`) into an RnnError with the same code. The check is
 * structural, not `instanceof Error`: errors created by the addon can come from another realm (e.g. under jest).
 */
export function toRnnError(error: unknown): unknown {
  if (error instanceof RnnError) return error;
  const candidate = error as { code?: unknown; message?: unknown } | null;
  if (typeof candidate === 'object' && candidate !== null && typeof candidate.code === 'string' &&
      typeof candidate.message === 'string') {
    return new RnnError(candidate.code as RnnError['code'], candidate.message);
  }
  return error;
}

#!/usr/bin/env node
// Builds the shipped binaries into prebuilds/<platform>-<arch>/, where lib/native.ts looks for them: on linux-x64
// one complete addon per CPU variant, each compiled with a single set of -m flags (never mixing Eigen code compiled
// for different instruction sets in one binary); on linux-arm64 one addon (armv8-a with NEON runs on every 64-bit
// Arm server), cross-compiled from linux-x64 with Debian's g++-aarch64-linux-gnu.
//
// Usage: npm run build:prebuilds [-- baseline|avx2|avx512 ...]   this machine's platform (default: every variant)
//        npm run build:prebuilds:arm64                    linux-arm64 (node scripts/prebuild.js --target linux-arm64)
// Build trees go to build-<variant>/ (build-arm64/ for arm64) so the development build in build/ is never touched.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const CROSS_COMPILER = 'aarch64-linux-gnu-g++';

/**
 * What a target ships: variant name -> { file, buildDir, options (CMake -D) }. On x64 the variant name is the
 * RNNKIT_ISA value CMakeLists.txt understands (x86-64-v2, x86-64-v3 and x86-64-v4 respectively); elsewhere it is the arch.
 */
function binariesFor(target, host) {
  if (target.endsWith('-x64')) {
    const variant = (isa) => ({ buildDir: `build-${isa}`, options: { RNNKIT_ISA: isa } });
    return { baseline: { ...variant('baseline'), file: 'rnnkit.baseline.node' },
      avx2: { ...variant('avx2'), file: 'rnnkit.avx2.node' },
      avx512: { ...variant('avx512'), file: 'rnnkit.avx512.node' } };
  }
  const options = { RNNKIT_ISA: 'none' };
  if (target === 'linux-arm64' && host !== 'linux-arm64') {
    options.CMAKE_TOOLCHAIN_FILE = path.join(root, 'native', 'cmake', 'aarch64-linux-gnu.cmake');
    // The float64 checks of the cross-compiled core come from the same build tree; scripts/arm64-check.sh runs them
    // under qemu-aarch64 (on an arm64 machine `npm test` runs its own).
    options.RNNKIT_BUILD_TESTS = 'ON';
  }
  const arch = target.split('-')[1];
  return { [arch]: { buildDir: `build-${arch}`, options, file: 'rnnkit.node' } };
}

/** Refuses a target this machine cannot build, naming what to install. */
function checkCanBuild(target, host) {
  if (target === host) return;
  if (target === 'linux-arm64' && host === 'linux-x64') {
    if (spawnSync(CROSS_COMPILER, ['--version']).status !== 0) {
      throw new Error(`Expected the cross compiler ${CROSS_COMPILER} on PATH for the linux-arm64 prebuild but it is ` +
        'not there: apt-get install g++-aarch64-linux-gnu');
    }
    return;
  }
  throw new Error(`Expected ${host} or, from linux-x64, linux-arm64 as the target but received "${target}"`);
}

function parseArguments(argv, host) {
  const targetFlag = argv.indexOf('--target');
  const target = targetFlag >= 0 ? argv[targetFlag + 1] : host;
  if (!target) throw new Error('Expected a <platform>-<arch> after --target but received nothing');
  const names = argv.filter((_, i) => targetFlag < 0 || (i !== targetFlag && i !== targetFlag + 1));
  return { target, names };
}

function build(target, name, binary, outDir) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const options = Object.entries(binary.options).map(([key, value]) => `--CD${key}=${value}`);
  const started = Date.now();
  process.stdout.write(`prebuild: ${target} ${name} (${options.join(' ')}) in ${binary.buildDir}/\n`);
  execFileSync(process.execPath, [cmakeJs, 'compile', '--out', binary.buildDir, ...options], { cwd: root, stdio: 'inherit' });
  const file = path.join(outDir, binary.file);
  // Copy to a temporary name and rename, so a running process never sees a half-written binary.
  fs.copyFileSync(path.join(root, binary.buildDir, 'Release', 'rnnkit.node'), `${file}.tmp`);
  fs.renameSync(`${file}.tmp`, file);
  process.stdout.write(`prebuild: wrote ${path.relative(root, file)} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

function main() {
  const host = `${process.platform}-${process.arch}`;
  const { target, names } = parseArguments(process.argv.slice(2), host);
  checkCanBuild(target, host);
  const available = binariesFor(target, host);
  for (const name of names) {
    if (!(name in available)) {
      throw new Error(`Expected a variant among ${Object.keys(available).join(', ')} for ${target} but received "${name}"`);
    }
  }
  const outDir = path.join(root, 'prebuilds', target);
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of names.length > 0 ? names : Object.keys(available)) build(target, name, available[name], outDir);
}

main();

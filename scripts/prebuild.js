#!/usr/bin/env node
// Builds the shipped binaries: one complete addon per CPU variant, each compiled with a single set of -m flags
// (never mixing Eigen code compiled for different instruction sets in one binary), copied to
// prebuilds/<platform>-<arch>/rnnkit.<variant>.node where lib/native.ts looks for them.
//
// Usage: npm run build:prebuilds [-- baseline|avx2 ...]   (default: every variant of this platform)
// Build trees go to build-<variant>/ so the development build in build/ is never touched.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.join(__dirname, '..');
// Variant name -> RNNKIT_ISA value CMakeLists.txt understands (x86-64-v2 and x86-64-v3 respectively).
const X64_VARIANTS = { baseline: 'baseline', avx2: 'avx2' };

function variantsFor(platformArch) {
  // Other architectures get one build with the compiler's default flags, named after the architecture.
  return platformArch.endsWith('-x64') ? X64_VARIANTS : { generic: 'none' };
}

function main() {
  const platformArch = `${process.platform}-${process.arch}`;
  const available = variantsFor(platformArch);
  const requested = process.argv.slice(2);
  for (const name of requested) {
    if (!(name in available)) {
      throw new Error(`Expected a variant among ${Object.keys(available).join(', ')} for ${platformArch} but received "${name}"`);
    }
  }
  const variants = requested.length > 0 ? requested : Object.keys(available);
  const outDir = path.join(root, 'prebuilds', platformArch);
  fs.mkdirSync(outDir, { recursive: true });
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  for (const variant of variants) {
    const buildDir = `build-${variant}`;
    const started = Date.now();
    process.stdout.write(`prebuild: ${variant} (RNNKIT_ISA=${available[variant]}) in ${buildDir}/\n`);
    execFileSync(process.execPath, [cmakeJs, 'compile', '--out', buildDir, `--CDRNNKIT_ISA=${available[variant]}`],
      { cwd: root, stdio: 'inherit' });
    const target = path.join(outDir, `rnnkit.${variant}.node`);
    // Copy to a temporary name and rename, so a running process never sees a half-written binary.
    fs.copyFileSync(path.join(root, buildDir, 'Release', 'rnnkit.node'), `${target}.tmp`);
    fs.renameSync(`${target}.tmp`, target);
    process.stdout.write(`prebuild: wrote ${path.relative(root, target)} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
}

main();

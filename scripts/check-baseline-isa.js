#!/usr/bin/env node
// Proves the prebuilt variants hold the instructions their names promise, by disassembling them (objdump -d):
// the baseline (x86-64-v2) binary must contain no AVX instruction at all - no ymm register, no VEX-encoded
// v-mnemonic such as vfmadd231ps or vmovaps - or it could crash (SIGILL) a CPU without AVX2; the avx2 binary must
// use ymm registers and FMA, or the variant is not what it says.
//
// Usage: node scripts/check-baseline-isa.js [dir]   (default prebuilds/linux-x64). Exit 1 on a violation.
'use strict';
const path = require('path');
const fs = require('fs');
const readline = require('readline');
const { spawn } = require('child_process');

// AT&T syntax: registers are written %ymm0; VEX instructions are the only mnemonics starting with "v" among the
// SIMD set (x86-64-v2 has none: vzeroupper, vmovaps, vfmadd... all need AVX). "verr"/"verw" are ancient
// system instructions, not AVX.
const YMM = /%ymm\d+/;
const VEX_MNEMONIC = /^\s*[0-9a-f]+:\s+(v(?!err|erw)[a-z0-9]+)\s/;
const FMA_MNEMONIC = /^v?f(n)?m(add|sub)/;

/** Counts AVX usage in one binary's disassembly: lines with ymm, VEX instructions, FMA instructions. */
function scan(file) {
  return new Promise((resolve, reject) => {
    const objdump = spawn('objdump', ['-d', '--no-show-raw-insn', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const counts = { ymm: 0, vex: 0, fma: 0, firstVex: '' };
    let stderr = '';
    objdump.stderr.on('data', (chunk) => { stderr += chunk; });
    objdump.on('error', (error) => reject(new Error(`objdump could not run (${error.message}); install binutils`)));
    readline.createInterface({ input: objdump.stdout }).on('line', (line) => {
      if (YMM.test(line)) counts.ymm += 1;
      const vex = VEX_MNEMONIC.exec(line);
      if (vex) {
        counts.vex += 1;
        if (!counts.firstVex) counts.firstVex = line.trim();
        if (FMA_MNEMONIC.test(vex[1])) counts.fma += 1;
      }
    });
    objdump.on('close', (code) => (code === 0 ? resolve(counts) : reject(new Error(`objdump -d ${file} failed: ${stderr}`))));
  });
}

async function main() {
  const dir = path.resolve(process.argv[2] || path.join(__dirname, '..', 'prebuilds', 'linux-x64'));
  const baselineFile = path.join(dir, 'rnnkit.baseline.node');
  const avx2File = path.join(dir, 'rnnkit.avx2.node');
  const problems = [];
  for (const file of [baselineFile, avx2File]) {
    if (!fs.existsSync(file)) problems.push(`${file} not found (run \`npm run build:prebuilds\`)`);
  }
  if (problems.length === 0) {
    const [baseline, avx2] = await Promise.all([scan(baselineFile), scan(avx2File)]);
    process.stdout.write(`baseline: ${baseline.ymm} ymm lines, ${baseline.vex} VEX instructions, ${baseline.fma} FMA\n` +
      `avx2:     ${avx2.ymm} ymm lines, ${avx2.vex} VEX instructions, ${avx2.fma} FMA\n`);
    if (baseline.ymm > 0 || baseline.vex > 0) {
      problems.push(`Expected no AVX instructions in ${baselineFile} but received ${baseline.vex} (first: ${baseline.firstVex})`);
    }
    if (avx2.ymm === 0 || avx2.fma === 0) {
      problems.push(`Expected ymm registers and FMA instructions in ${avx2File} but received ${avx2.ymm} and ${avx2.fma}`);
    }
  }
  if (problems.length > 0) {
    process.stderr.write(`check-baseline-isa: ${problems.join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write('check-baseline-isa: ok\n');
}

main().catch((error) => {
  process.stderr.write(`check-baseline-isa: ${error.message}\n`);
  process.exit(1);
});

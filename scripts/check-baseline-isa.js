#!/usr/bin/env node
// Proves the prebuilt variants hold the instructions their names promise, by disassembling them (objdump -d):
// the baseline (x86-64-v2) binary must contain no AVX instruction at all - no ymm register, no VEX-encoded
// v-mnemonic such as vfmadd231ps or vmovaps - or it could crash (SIGILL) a CPU without AVX2; the avx2 binary must
// use ymm registers and FMA but no AVX-512 (no zmm register, no opmask register, no xmm16-31/ymm16-31, which only
// EVEX encodes), or it could crash a CPU with AVX2 but not AVX-512; the avx512 binary must use zmm registers, or it
// is the avx2 code under another name.
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
// AVX-512 only: zmm registers, opmask registers (%k0-%k7, as operands or {%k1} masks), and the 16 extra xmm/ymm
// registers EVEX adds.
const ZMM = /%zmm\d+/;
const AVX512_ONLY = /%zmm\d+|%k[0-7]\b|%[xy]mm(1[6-9]|2\d|3[01])\b/;
// ... and the AVX-512 mnemonics that can also appear on xmm0-15/ymm0-15 without a mask (AVX512VL/DQ/BW/CD forms).
const AVX512_MNEMONIC = new RegExp('^(vpternlog|vperm[it]2|vrndscale|vrange|vgetexp|vgetmant|vscalef|vfixupimm|' +
  'vrcp14|vrsqrt14|vp?compress|vp?expand|valign[dq]|vp?blendm|vpabsq|vp(max|min)[su]q|vpmullq|vpro[lr]|vpsraq|' +
  'vpconflict|vplzcnt|vdbpsadbw|vfpclass|vreduce|vpermw|vps[lr][la]vw|vpsravq|vcvtt?\\w*(2u|u\\w*2|qq)|' +
  'v(extract|insert|broadcast|shuf)[fi](32x[248]|64x[24])|vpmov(u?s)?(qb|qw|qd|db|dw|wb)$|vpmov[bwdq]2m|vpmovm2)');

/** Counts AVX usage in one binary's disassembly: lines with ymm, VEX instructions, FMA instructions. */
function scan(file) {
  return new Promise((resolve, reject) => {
    const objdump = spawn('objdump', ['-d', '--no-show-raw-insn', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const counts = { ymm: 0, zmm: 0, avx512: 0, vex: 0, fma: 0, firstVex: '', firstAvx512: '' };
    let stderr = '';
    objdump.stderr.on('data', (chunk) => { stderr += chunk; });
    objdump.on('error', (error) => reject(new Error(`objdump could not run (${error.message}); install binutils`)));
    readline.createInterface({ input: objdump.stdout }).on('line', (line) => {
      if (YMM.test(line)) counts.ymm += 1;
      if (ZMM.test(line)) counts.zmm += 1;
      const mnemonic = VEX_MNEMONIC.exec(line)?.[1] ?? '';
      if (AVX512_ONLY.test(line) || AVX512_MNEMONIC.test(mnemonic)) {
        counts.avx512 += 1;
        if (!counts.firstAvx512) counts.firstAvx512 = line.trim();
      }
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
  const files = ['baseline', 'avx2', 'avx512'].map((variant) => path.join(dir, `rnnkit.${variant}.node`));
  const problems = [];
  for (const file of files) {
    if (!fs.existsSync(file)) problems.push(`${file} not found (run \`npm run build:prebuilds\`)`);
  }
  if (problems.length === 0) {
    const [baseline, avx2, avx512] = await Promise.all(files.map(scan));
    const line = (name, c) => `${`${name}:`.padEnd(9)} ${c.ymm} ymm lines, ${c.zmm} zmm lines, ${c.avx512} AVX-512 lines, ` +
      `${c.vex} VEX/EVEX instructions, ${c.fma} FMA\n`;
    process.stdout.write(line('baseline', baseline) + line('avx2', avx2) + line('avx512', avx512));
    if (baseline.ymm > 0 || baseline.vex > 0) {
      problems.push(`Expected no AVX instructions in ${files[0]} but received ${baseline.vex} (first: ${baseline.firstVex})`);
    }
    if (avx2.ymm === 0 || avx2.fma === 0) {
      problems.push(`Expected ymm registers and FMA instructions in ${files[1]} but received ${avx2.ymm} and ${avx2.fma}`);
    }
    if (avx2.avx512 > 0) {
      problems.push(`Expected no AVX-512 instructions in ${files[1]} but received ${avx2.avx512} lines (first: ${avx2.firstAvx512})`);
    }
    if (avx512.zmm === 0 || avx512.fma === 0) {
      problems.push(`Expected zmm registers and FMA instructions in ${files[2]} but received ${avx512.zmm} and ${avx512.fma}`);
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

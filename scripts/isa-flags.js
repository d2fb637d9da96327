// Compiler flags for the instruction-set variant (RNNKIT_ISA=avx2|avx512|baseline|native|none; default avx2) on x86-64.
'use strict';
const isa = process.env.RNNKIT_ISA || 'avx2';
const flags = { avx2: '-march=x86-64-v3', avx512: '-march=x86-64-v4', baseline: '-march=x86-64-v2', native: '-march=native', none: '' };
if (!(isa in flags)) {
  process.stderr.write(`rnnkit: expected RNNKIT_ISA to be one of ${Object.keys(flags).join(', ')} but received "${isa}"\n`);
  process.exit(1);
}
process.stdout.write(process.arch === 'x64' ? flags[isa] : '');

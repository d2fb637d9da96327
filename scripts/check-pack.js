// `npm pack` / `npm publish` hook (package.json "prepack"): refuses to pack a tarball that would ship without working
// binaries or compiled JavaScript. The prebuilt addons are made by `npm run build:prebuilds` (linux-x64) and
// `npm run build:prebuilds:arm64` (linux-arm64, cross-compiled) and are not in git, so a pack straight from a
// checkout would otherwise produce a package whose `npm install` finds nothing to load.
'use strict';
const fs = require('fs');
const path = require('path');

// The package root; an argument names another one (used by test/package-entry.test.ts).
const root = process.argv[2] ? path.resolve(process.argv[2]) : path.join(__dirname, '..');
// Every binary a release ships, with the ELF e_machine it must carry (62 = x86-64, 183 = AArch64), whatever machine
// packs it: a tarball packed without the arm64 binary would install on Graviton and then fail at the first use.
const binaries = [
  { file: 'prebuilds/linux-x64/rnnkit.baseline.node', machine: 62, remedy: 'run npm run build:prebuilds' },
  { file: 'prebuilds/linux-x64/rnnkit.avx2.node', machine: 62, remedy: 'run npm run build:prebuilds' },
  { file: 'prebuilds/linux-x64/rnnkit.avx512.node', machine: 62, remedy: 'run npm run build:prebuilds' },
  { file: 'prebuilds/linux-arm64/rnnkit.node', machine: 183, remedy: 'run npm run build:prebuilds:arm64' },
];
const MACHINE_NAMES = { 62: 'x86-64', 183: 'AArch64' };

function newestMtime(dir, extensions) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full, extensions));
    else if (extensions.some((ext) => entry.name.endsWith(ext))) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

function check(file, sourcesMtime, remedy) {
  const full = path.join(root, file);
  if (!fs.existsSync(full)) return `${file} is missing (${remedy})`;
  if (fs.statSync(full).mtimeMs < sourcesMtime) return `${file} is older than its sources (${remedy})`;
  return null;
}

/** The ELF e_machine of a file, or null when it is not a 64-bit little-endian ELF file. */
function elfMachine(file) {
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  const bytes = fs.readSync(fd, header, 0, 20, 0);
  fs.closeSync(fd);
  if (bytes < 20 || header.toString('latin1', 0, 4) !== '\x7fELF' || header[4] !== 2 || header[5] !== 1) return null;
  return header.readUInt16LE(18);
}

function checkBinary({ file, machine, remedy }, sourcesMtime) {
  const problem = check(file, sourcesMtime, remedy);
  if (problem) return problem;
  const found = elfMachine(path.join(root, file));
  if (found === machine) return null;
  const what = found === null ? 'not a 64-bit ELF file' : `built for ${MACHINE_NAMES[found] || `ELF machine ${found}`}`;
  return `${file} is ${what}, not ${MACHINE_NAMES[machine]} (${remedy})`;
}

const nativeSources = newestMtime(path.join(root, 'native'), ['.cc', '.h']);
const tsSources = newestMtime(path.join(root, 'lib'), ['.ts']);
const problems = [
  ...binaries.map((binary) => checkBinary(binary, nativeSources)),
  check('dist/index.js', tsSources, 'run npm run build:ts'),
].filter(Boolean);

if (problems.length > 0) {
  process.stderr.write(`rnnkit: not packing, the tarball would be incomplete or stale:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}

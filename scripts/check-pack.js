// `npm pack` / `npm publish` hook (package.json "prepack"): refuses to pack a tarball that would ship without working
// binaries or compiled JavaScript. The prebuilt addons are made by `npm run build:prebuilds` and are not in git, so a
// pack straight from a checkout would otherwise produce a package whose `npm install` finds nothing to load.
'use strict';
const fs = require('fs');
const path = require('path');

// The package root; an argument names another one (used by test/package-entry.test.ts).
const root = process.argv[2] ? path.resolve(process.argv[2]) : path.join(__dirname, '..');
const platformArch = `${process.platform}-${process.arch}`;
const variants = ['baseline', 'avx2'];

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

const nativeSources = newestMtime(path.join(root, 'native'), ['.cc', '.h']);
const tsSources = newestMtime(path.join(root, 'lib'), ['.ts']);
const problems = [
  ...variants.map((v) => check(`prebuilds/${platformArch}/rnnkit.${v}.node`, nativeSources, 'run npm run build:prebuilds')),
  check('dist/index.js', tsSources, 'run npm run build:ts'),
].filter(Boolean);

if (problems.length > 0) {
  process.stderr.write(`rnnkit: not packing, the tarball would be incomplete or stale:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}

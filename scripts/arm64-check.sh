#!/usr/bin/env bash
# The linux-arm64 prebuild, checked on a linux-x64 machine: cross-compiles it (npm run build:prebuilds:arm64, with
# Debian's g++-aarch64-linux-gnu), runs the cross-compiled native float64 checks under qemu-user, then installs the
# npm tarball and trains a small model in it with the official arm64 Node 20 under qemu-user
# (bash scripts/pack-smoke.sh arm64). Installs the cross compiler and qemu-user with apt-get when they are missing
# (as root, as CI is; otherwise it names the command). Needs dist/ and the x64 prebuilds as well, since the tarball
# it installs is the whole package (npm run build, npm run build:prebuilds).
set -euo pipefail
cd "$(dirname "$0")/.."

have_tools() {
  command -v aarch64-linux-gnu-g++ >/dev/null && [ -d /usr/aarch64-linux-gnu/lib ] &&
    { command -v qemu-aarch64 >/dev/null || command -v qemu-aarch64-static >/dev/null; }
}
if ! have_tools; then
  packages="g++-aarch64-linux-gnu qemu-user"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "arm64-check: installing $packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  else
    echo "arm64-check: needs a cross compiler and qemu-user: sudo apt-get install $packages" >&2
    exit 1
  fi
fi
qemu="$(command -v qemu-aarch64 || command -v qemu-aarch64-static)"

started=$SECONDS
npm run build:prebuilds:arm64
echo "arm64-check: cross build $((SECONDS - started)) s"

# The same float64 checks `npm test` runs natively (test/native-core.test.ts), here on the cross-compiled core.
started=$SECONDS
log="$(mktemp /tmp/rnnkit-arm64-native.XXXXXX)"
trap 'rm -f "$log"' EXIT
status=0
"$qemu" -L /usr/aarch64-linux-gnu build-arm64/rnnkit_native_tests > "$log" 2>&1 || status=$?
grep '^FAIL ' "$log" >&2 || true
summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)"
if [ "$status" != 0 ] || ! [[ "$summary" =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]]; then
  tail -n 20 "$log" >&2
  echo "arm64-check: the native float64 checks failed under qemu-aarch64 (exit $status, \"$summary\")" >&2
  exit 1
fi
echo "arm64-check: native float64 checks under qemu-aarch64 ok ($summary, $((SECONDS - started)) s)"

started=$SECONDS
bash scripts/pack-smoke.sh arm64
echo "arm64-check: pack-smoke arm64 $((SECONDS - started)) s"

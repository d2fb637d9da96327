#!/usr/bin/env bash
# npm run test:asan: the native float64 checks and the addon built with AddressSanitizer + UndefinedBehaviorSanitizer in
# their own folder (build-asan/, so the normal build is untouched), then
#   1. build-asan/rnnkit_native_tests (leak detection on), and
#   2. the jest suite against the sanitized addon (RNNKIT_NATIVE_PATH, libasan preloaded into node; leak detection
#      off there: node itself does not free everything at exit),
# and the number of sanitizer reports of each. Exits non-zero when any report or test failure occurred.
# Slow (a full build with sanitizers, then the suite at ASan speed): not part of .ci/run.
set -uo pipefail
cd "$(dirname "$0")/.."
out=build-asan
logs="$out/reports"
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
npx cmake-js compile -O "$out" --CDRNNKIT_BUILD_TESTS=ON "--CDCMAKE_CXX_FLAGS=$flags" \
  "--CDCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined" "--CDCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" || exit 1
mkdir -p "$logs"
rm -f "$logs"/*

count_reports() {  # files... -> number of ASan/UBSan reports in them
  cat "$@" 2>/dev/null | grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' || true
}

ASAN_OPTIONS="detect_leaks=1:log_path=$logs/native" UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/native-ub" \
  "$out/rnnkit_native_tests" > "$logs/native-tests.txt" 2>&1
native_status=$?
native_summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logs/native-tests.txt" | tail -1)
native_reports=$(count_reports "$logs"/native* "$logs/native-tests.txt")

libasan=$(${CXX:-g++} -print-file-name=libasan.so)
LD_PRELOAD="$libasan" ASAN_OPTIONS="detect_leaks=0:log_path=$logs/jest" UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/jest-ub" \
  RNNKIT_NATIVE_PATH="$PWD/$out/Release/rnnkit.node" npx jest --testPathIgnorePatterns native-core "$@" > "$logs/jest.txt" 2>&1
jest_status=$?
jest_summary=$(grep -E '^Tests:' "$logs/jest.txt" | tail -1)
jest_reports=$(count_reports "$logs"/jest*)

echo "native checks (ASan+UBSan): ${native_summary:-no summary} (exit $native_status), sanitizer reports: $native_reports"
echo "jest on the ASan+UBSan addon: ${jest_summary:-no summary} (exit $jest_status), sanitizer reports: $jest_reports"
echo "reports and logs: $logs/"
[ "$native_status" = 0 ] && [ "$jest_status" = 0 ] && [ "$native_reports" = 0 ] && [ "$jest_reports" = 0 ]

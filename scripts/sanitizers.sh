#!/usr/bin/env bash
# The whole test suite under AddressSanitizer, then ThreadSanitizer. Run before each release
# (too slow for CI on 2 cores: each is a separate full build, ~2-4 min, plus the tests).
# Each sanitizer builds into its own scratch path so the normal .build is left alone.
# Usage: scripts/sanitizers.sh [address|thread]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
which=("${@:-address thread}")
suppressions="$(mktemp)"
# LeakSanitizer finds leaks inside libXCTest.so itself and exits 1 although every test passed.
echo "leak:libXCTest.so" >"$suppressions"
status=0
for sanitizer in ${which[@]}; do
    echo "=== --sanitize=$sanitizer"
    if LSAN_OPTIONS="suppressions=$suppressions" TSAN_OPTIONS="halt_on_error=1" SWIFT_BACKTRACE=enable=no \
        swift test --sanitize="$sanitizer" --scratch-path ".build-$sanitizer" -Xswiftc -use-ld=lld; then
        echo "=== --sanitize=$sanitizer: passed"
    else
        echo "=== --sanitize=$sanitizer: FAILED"
        status=1
    fi
done
rm -f "$suppressions"
exit $status

#!/usr/bin/env bash
# The crash loop against a release build of breakerd: SIGKILL at random moments under mixed
# load, restart on the same file, check every acknowledged change and PRAGMA integrity_check.
# Usage: scripts/crash-loop.sh [cycles]   (default 50). Takes ~3 min for the release build,
# then ~1 s per cycle.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles="${1:-50}"
swift build -c release --product breakerd
bin="$(swift build -c release --show-bin-path)/breakerd"
BREAKERD_BIN="$bin" BREAKERD_CRASH_CYCLES="$cycles" \
    swift test --filter 'CrashLoopTests'

#!/usr/bin/env bash
# The whole test suite under AddressSanitizer, then ThreadSanitizer. `.ci/run` runs the
# ThreadSanitizer half on every submission (a race fails CI); run both before each release.
# Each sanitizer builds into its own scratch path so the normal .build is left alone.
# Usage: scripts/sanitizers.sh [address|thread]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
which=("${@:-address thread}")
suppressions="$(mktemp)"
# LeakSanitizer finds leaks inside libXCTest.so itself and exits 1 although every test passed;
# likewise inside Foundation (a Data(contentsOf:) read buffer, a weak reference Process.run makes).
# swift-argument-parser leaves 48 bytes per nested @OptionGroup (an InputKey path array) that
# breakerctl never frees before exit(2) on a usage error; LSan would turn that exit code into 23.
# NIOSSLContext's initializer leaks its SSL_CTX when it throws (a key that does not match the
# certificate): once, as breakerd exits 1 at start, or per SIGHUP with broken files.
printf 'leak:libXCTest.so\nleak:libFoundationEssentials.so\nleak:libFoundation.so\nleak:ArgumentParser\nleak:CNIOBoringSSL_SSL_CTX_new\n' >"$suppressions"
asan_suppressions="$(mktemp)"
# Foundation's Process.run (findMaximumOpenFromProcSelfFD) memcpys a whole 256-byte dirent name
# past the end of glibc's opendir buffer: a read inside uninstrumented libFoundation, reported
# by ASan's memcpy interceptor at the first Process.run of any test that starts the daemon.
echo "interceptor_via_lib:libFoundation.so" >"$asan_suppressions"
status=0
for sanitizer in ${which[@]}; do
    echo "=== --sanitize=$sanitizer"
    # TSan cannot see Synchronization.Mutex lock on Linux; BreakerSync swaps in a pthread mutex.
    defines=()
    [ "$sanitizer" = thread ] && defines=(-Xswiftc -DBREAKERD_TSAN)
    if LSAN_OPTIONS="suppressions=$suppressions" ASAN_OPTIONS="suppressions=$asan_suppressions" TSAN_OPTIONS="halt_on_error=0" SWIFT_BACKTRACE=enable=no \
        swift test --sanitize="$sanitizer" --scratch-path ".build-$sanitizer" -Xswiftc -use-ld=lld "${defines[@]}"; then
        echo "=== --sanitize=$sanitizer: passed"
    else
        echo "=== --sanitize=$sanitizer: FAILED"
        status=1
    fi
done
rm -f "$suppressions" "$asan_suppressions"
exit $status

#!/usr/bin/env bash
# Builds the libFuzzer target for the request decoder (BreakerSync, BreakerCore and BreakerWire compiled with
# -sanitize=fuzzer,address) and runs it for a bounded time, seeded with the hostile-input corpus.
# Usage: Fuzz/run.sh [seconds]   (default 60). A crash leaves crash-<hash> in Fuzz/findings/:
# add it to Tests/Fixtures/bad-lines/ as fuzz-<hash>.line once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=.build/fuzz
mkdir -p "$out" Fuzz/findings "$out/corpus"
flags=(-O -sanitize=fuzzer,address -parse-as-library -swift-version 6 -package-name breakerd)
swiftc "${flags[@]}" -module-name BreakerSync -emit-module -emit-module-path "$out/BreakerSync.swiftmodule" \
    -emit-library -static -o "$out/libBreakerSync.a" Sources/BreakerSync/*.swift
swiftc "${flags[@]}" -module-name BreakerCore -I "$out" -emit-module -emit-module-path "$out/BreakerCore.swiftmodule" \
    -emit-library -static -o "$out/libBreakerCore.a" Sources/BreakerCore/*.swift
swiftc "${flags[@]}" -module-name BreakerWire -I "$out" -emit-module -emit-module-path "$out/BreakerWire.swiftmodule" \
    -emit-library -static -o "$out/libBreakerWire.a" Sources/BreakerWire/*.swift
swiftc "${flags[@]}" -module-name RequestDecoderFuzz -I "$out" -L "$out" -lBreakerWire -lBreakerCore -lBreakerSync \
    -o "$out/request-decoder-fuzz" Fuzz/RequestDecoderFuzz.swift
cp Tests/Fixtures/bad-lines/*.line "$out/corpus/"
# Swift's own crash handler would hide the real failure behind a false ASan report.
SWIFT_BACKTRACE=enable=no "$out/request-decoder-fuzz" "$out/corpus" -max_total_time="$seconds" \
    -max_len=200000 -timeout=10 -rss_limit_mb=2048 -artifact_prefix=Fuzz/findings/ -print_final_stats=1

#!/bin/bash
# Builds every libFuzzer target with clang and runs each for a short,
# time-boxed period over its corpus (tests/fuzz/corpus/NAME/ if present).
# Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]   (default 20)
set -euo pipefail
secs=${1:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
        "$top/configure" -q --enable-fuzzing --disable-tests CC=clang >/dev/null
fi
targets=$(sed -n 's/^\ttests\/fuzz\/\(fuzz-[a-z0-9-]*\).*/\1/p' "$top/Makefile.am" | sort -u)
failed=0
passed=0
for t in $targets; do
        make -s -j"$(nproc)" "tests/fuzz/$t" >/dev/null
        corpus=$(mktemp -d)
        name=${t#fuzz-}
        if [ -d "$top/tests/fuzz/corpus/$name" ]; then
                cp -r "$top/tests/fuzz/corpus/$name/." "$corpus/"
        fi
        if "./tests/fuzz/$t" -max_total_time="$secs" -rss_limit_mb=2048 -artifact_prefix="$build/$t-" "$corpus" \
                >"$build/$t.log" 2>&1; then
                echo "ok - fuzz $t ($(grep -o 'Done [0-9]* runs' "$build/$t.log" | tail -1))"
                passed=$((passed + 1))
        else
                echo "not ok - fuzz $t: see $build/$t.log"
                tail -30 "$build/$t.log"
                failed=$((failed + 1))
        fi
        rm -rf "$corpus"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

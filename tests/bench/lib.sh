# shellcheck shell=bash
# Helpers for the benchmarks in tests/bench/: they print figures and never
# assert timings.

BENCH_RUNS=${BENCH_RUNS:-30}
BENCH_WARMUP=${BENCH_WARMUP:-3}
if [ "$BENCH_RUNS" -lt 20 ]; then
        echo "BENCH_RUNS=$BENCH_RUNS: using 20, the minimum for a useful median" >&2
        BENCH_RUNS=20
fi

# now_us VAR: sets VAR to the wall-clock time in microseconds (bash's
# $EPOCHREALTIME: no fork; else date +%s%N).
now_us() {
        if [ -n "${EPOCHREALTIME:-}" ]; then
                printf -v "$1" '%s' "${EPOCHREALTIME/[.,]/}"
        else
                printf -v "$1" '%s' "$(($(date +%s%N) / 1000))"
        fi
}

# bench_median_us CMD...: runs CMD $BENCH_WARMUP times unmeasured, then
# $BENCH_RUNS times, and prints the median wall time in microseconds.
# Fails (printing CMD's output) when CMD fails.  Uses hyperfine when
# BENCH_HYPERFINE=1 and hyperfine and jq are installed.
bench_median_us() {
        local i t0 t1 errf
        errf=$(mktemp)
        for ((i = 0; i < BENCH_WARMUP; i++)); do
                if ! "$@" >/dev/null 2>"$errf"; then
                        echo "command failed: $*" >&2
                        cat "$errf" >&2
                        rm -f "$errf"
                        return 1
                fi
        done
        if [ "${BENCH_HYPERFINE:-}" = 1 ] && command -v hyperfine >/dev/null && command -v jq >/dev/null; then
                local json
                json=$(mktemp)
                local q arg cmdline=
                for arg in "$@"; do
                        printf -v q '%q' "$arg"
                        cmdline+="$q "
                done
                if ! hyperfine -N --runs "$BENCH_RUNS" --export-json "$json" "$cmdline" >/dev/null 2>"$errf"; then
                        cat "$errf" >&2
                        rm -f "$errf" "$json"
                        return 1
                fi
                jq '.results[0].median * 1000000 | floor' "$json"
                rm -f "$errf" "$json"
                return 0
        fi
        local -a samples=()
        for ((i = 0; i < BENCH_RUNS; i++)); do
                now_us t0
                if ! "$@" >/dev/null 2>"$errf"; then
                        echo "command failed: $*" >&2
                        cat "$errf" >&2
                        rm -f "$errf"
                        return 1
                fi
                now_us t1
                samples+=($((t1 - t0)))
        done
        rm -f "$errf"
        printf '%s\n' "${samples[@]}" | sort -n | awk '{ v[NR] = $1 } END {
                if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# fmt_ms MICROSECONDS: "12.34 ms".
fmt_ms() {
        awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'
}

# ratio A B: A/B with two decimals ("n/a" when B is 0 or empty).
ratio() {
        awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2fx", a / b; else printf "n/a" }'
}

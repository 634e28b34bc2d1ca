#!/bin/bash
# tests/run-tests.sh: runs every test of hutch, as root, on a Debian 12 machine:
#
#   1. apt-get installs the build and test dependencies;
#   2. ./autogen.sh, configure --enable-sanitizers (ASan+UBSan) and make in build-ci/;
#   3. make check: the cmocka unit tests (their logs are printed);
#   4. tests/setup-test-user.sh: users hutchtest (with subordinate ranges) and
#      hutchnosub (without);
#   5. the bats system tests as hutchtest, then the [nosub] tests as hutchnosub
#      with /dev/fuse and /dev/net/tun inaccessible to it (a private mount
#      namespace: the host's devices are left alone); hutchtest's run gets a
#      small tmpfs for the disk-full tests (tests/setup-smallfs.sh) and runs
#      in cgroups delegated to it for pause/unpause (tests/setup-cgroup.sh);
#      then the [badsub KIND] tests as hutchnosub, each with a crafted
#      /etc/subuid and /etc/subgid bound over the host's in a private mount
#      namespace; README's first command (contrib/quickstart.sh) for
#      hutchtest, installing into a prefix of its own;
#   6. shellcheck and clang-format checks, a short run of each fuzz target;
#   7. the benchmarks: start-up, lifecycle, build (figures only, never a failure).
#
# The last line is "N passed, N failed, N skipped" (unit tests, system tests
# and checks); the exit status is non-zero when anything failed.
#
# Environment: HUTCH_TEST_NO_APT=1 skips step 1; HUTCH_TEST_NO_FUZZ=1 and
# HUTCH_TEST_NO_BENCH=1 skip the fuzz runs and the benchmark;
# HUTCH_TEST_FUZZ_SECONDS (default 20) is the time per fuzz target;
# HUTCH_TEST_UNIT_TIMEOUT (default 120) the limit per unit test binary.
set -uo pipefail
# The whole script is one block, read before it runs: a checkout updated
# during a run cannot change what runs.
{

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=$srcdir/build-ci
logdir=$builddir/test-logs
test_user=hutchtest
nosub_user=hutchnosub
fuzz_seconds=${HUTCH_TEST_FUZZ_SECONDS:-20}
jobs=$(nproc 2>/dev/null || echo 2)

if [ "$(id -u)" -ne 0 ]; then
        cat >&2 <<EOF
$0 must run as root (sudo $0): it installs the build and test dependencies
with apt-get, creates the test users '$test_user' (with subordinate UID/GID
ranges) and '$nosub_user' (without), makes /dev/fuse and /dev/net/tun 0666,
and then runs the system tests as those unprivileged users.
EOF
        exit 2
fi

PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()
start_time=$(date +%s)

step() {
        printf '\n==> [%4ss] %s\n' "$(($(date +%s) - start_time))" "$*"
}

# pass NAME / fail NAME / skipped NAME: one check's result.
pass() {
        PASSED=$((PASSED + 1))
        echo "PASS: $*"
}
fail() {
        FAILED=$((FAILED + 1))
        FAILURES+=("$*")
        echo "FAIL: $*"
}
skipped() {
        SKIPPED=$((SKIPPED + 1))
        echo "SKIP: $*"
}

finish() {
        step "summary"
        local f
        for f in "${FAILURES[@]}"; do
                echo "failed: $f"
        done
        echo "total time: $(($(date +%s) - start_time))s"
        echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
        [ "$FAILED" -eq 0 ]
        exit
}

# ---- 1. dependencies ----------------------------------------------------------

BUILD_DEPS=(build-essential autoconf automake libtool pkg-config
        libseccomp-dev libcap-dev libslirp-dev libglib2.0-dev libyajl-dev libcurl4-openssl-dev
        libarchive-dev libssl-dev libsubid-dev libcmocka-dev)
RUNTIME_DEPS=(uidmap fuse-overlayfs)
# bats/busybox-static/jq/procps: system tests; docker-registry: a local registry
# for pull/push tests; git/shellcheck/clang-format: checks; clang and
# libclang-rt-14-dev: fuzz targets; podman/runc: the benchmark's comparison.
TEST_DEPS=(bats busybox-static jq procps util-linux coreutils docker-registry git shellcheck clang-format clang
        libclang-rt-14-dev podman runc expect skopeo apache2-utils openssl curl python3 iproute2 zsh fish)

if [ "${HUTCH_TEST_NO_APT:-}" != 1 ]; then
        step "installing dependencies (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get update -q || ! apt-get install -y -q --no-install-recommends \
                "${BUILD_DEPS[@]}" "${RUNTIME_DEPS[@]}" "${TEST_DEPS[@]}"; then
                fail "apt-get install"
                finish
        fi
        # Tests start registries of their own on ports of their own: the
        # packaged service must not hold port 5000.
        if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q docker-registry 2>/dev/null; then
                systemctl disable --now docker-registry || true
        fi
fi

# ---- 2. build ---------------------------------------------------------------------

step "building with ASan+UBSan in $builddir"
cd "$srcdir" || exit 2
if ! ./autogen.sh; then
        fail "autogen.sh"
        finish
fi
mkdir -p "$builddir" "$logdir"
cd "$builddir" || exit 2
if ! ../configure --enable-sanitizers; then
        tail -n 50 config.log
        fail "configure --enable-sanitizers"
        finish
fi
if ! make -j"$jobs"; then
        fail "make (build with sanitizers)"
        finish
fi

# ---- 3. unit tests ---------------------------------------------------------------

step "unit tests (make check)"
# Leak checking on for the unit tests; a fatal sanitizer report aborts.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:print_summary=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Results of an earlier run must not count as this run's.
find . -name '*.trs' -delete
rm -f test-suite.log
# Each unit test binary gets HUTCH_TEST_UNIT_TIMEOUT seconds (default 120):
# a hung test fails instead of hanging the run.
make -j"$jobs" check LOG_COMPILER=timeout AM_LOG_FLAGS="-k 10 ${HUTCH_TEST_UNIT_TIMEOUT:-120}"
check_status=$?
unit_logs=()
while IFS= read -r trs; do
        unit_logs+=("${trs%.trs}")
done < <(find . -name '*.trs' | sed 's|^\./||' | LC_ALL=C sort)
if [ ${#unit_logs[@]} -eq 0 ]; then
        fail "make check (status $check_status) ran no unit test"
fi
for t in "${unit_logs[@]}"; do
        name=${t##*/}
        echo "---- $t.log ----"
        cat "$t.log"
        # cmocka's own summary lines.
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$t.log" | awk '{ s += $1 } END { print s + 0 }')
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$t.log" | awk '{ s += $1 } END { print s + 0 }')
        s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$t.log" | awk '{ s += $1 } END { print s + 0 }')
        PASSED=$((PASSED + p))
        SKIPPED=$((SKIPPED + s))
        FAILED=$((FAILED + f))
        if [ "$f" -gt 0 ]; then FAILURES+=("unit tests: $name: $f failed"); fi
        # A binary that crashed or failed without cmocka's summary still counts.
        if grep -qE '^:test-result: (FAIL|ERROR)' "$t.trs" && [ "$f" -eq 0 ]; then
                if grep -q '^FAIL.*exit status: 124' "$t.log"; then
                        fail "unit tests: $name timed out after ${HUTCH_TEST_UNIT_TIMEOUT:-120}s (see $t.log)"
                else
                        fail "unit tests: $name exited with a failure (see $t.log)"
                fi
        fi
done

# ---- 4. test users -----------------------------------------------------------

step "test users"
if ! "$srcdir/tests/setup-test-user.sh"; then
        fail "tests/setup-test-user.sh"
        finish
fi

# The test users must read the binary and the tests: stage them in a
# world-readable place (the checkout may be under /root).
stage=/var/tmp/hutch-ci
rm -rf "$stage"
install -d -m 0755 "$stage" "$stage/bin" "$stage/src" "$stage/src/tests"
install -m 0755 "$builddir/hutch" "$stage/bin/hutch"
install -m 0755 "$builddir/hutch-init" "$stage/bin/hutch-init" # found beside hutch, for --init
# Helper programs the system tests copy into containers (make check builds
# them), where the tests look for them: beside $HUTCH in tests/helpers/.
for helper in "$builddir"/tests/helpers/*; do
        if [ -f "$helper" ] && [ -x "$helper" ]; then
                install -D -m 0755 "$helper" "$stage/bin/tests/helpers/$(basename "$helper")"
        fi
done
cp -r "$srcdir/contrib" "$stage/src/contrib"
cp -r "$srcdir/tests/system" "$srcdir/tests/bench" "$stage/src/tests/"
chmod -R a+rX "$stage"

# user_cmd USER: the command prefix, in USER_CMD, that runs a command as USER
# with a clean environment, its own XDG_RUNTIME_DIR, in its home directory.
user_cmd() {
        local user=$1 home uid
        home=$(getent passwd "$user" | cut -d: -f6)
        uid=$(id -u "$user")
        # shellcheck disable=SC2016 # the last line is a script for bash -c
        USER_CMD=(runuser -u "$user" -- env -i
                HOME="$home" USER="$user" LOGNAME="$user" SHELL=/bin/bash LANG=C.UTF-8 TMPDIR=/tmp
                PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
                XDG_RUNTIME_DIR="/run/user/$uid" CI="${CI:-}"
                HUTCH_TEST_SMALLFS="${HUTCH_TEST_SMALLFS:-}" HUTCH_TEST_CGROUP="${HUTCH_TEST_CGROUP:-}"
                HUTCH_TEST_NOSUID_DIR="${HUTCH_TEST_SMALLFS:-}" HUTCH_TEST_BADSUB="${HUTCH_TEST_BADSUB:-}"
                HUTCH="$stage/bin/hutch" HUTCH_SRCDIR="$stage/src"
                ASAN_OPTIONS="$SYSTEM_ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS"
                bash -c 'cd "$HOME" && exec "$@"' _)
}

# as_user USER CMD...
as_user() {
        user_cmd "$1"
        shift
        "${USER_CMD[@]}" "$@"
}

# LeakSanitizer stops the world with ptrace, which is not always allowed
# (Yama, containers): use it for the system tests only when it works here.
SYSTEM_ASAN_OPTIONS=detect_leaks=0
if as_user "$test_user" env ASAN_OPTIONS=detect_leaks=1 "$stage/bin/hutch" version >/dev/null 2>&1; then
        SYSTEM_ASAN_OPTIONS=detect_leaks=1
fi
echo "system tests: ASAN_OPTIONS=$SYSTEM_ASAN_OPTIONS"

# count_tap FILE STATUS NAME: adds a bats TAP log's results.
count_tap() {
        local file=$1 status=$2 name=$3 plan n=0 p=0 f=0 s=0
        plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$file" | head -n1)
        while IFS= read -r line; do
                case "$line" in
                "ok "*" # skip"*)
                        s=$((s + 1))
                        n=$((n + 1))
                        ;;
                "ok "*)
                        p=$((p + 1))
                        n=$((n + 1))
                        ;;
                "not ok "*)
                        f=$((f + 1))
                        n=$((n + 1))
                        FAILURES+=("$name: ${line#not ok }")
                        ;;
                esac
        done <"$file"
        PASSED=$((PASSED + p))
        FAILED=$((FAILED + f))
        SKIPPED=$((SKIPPED + s))
        echo "$name: $p passed, $f failed, $s skipped"
        if [ -n "$plan" ] && [ "$n" -lt "$plan" ]; then
                fail "$name: only $n of $plan tests reported"
        elif [ -z "$plan" ] || { [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; }; then
                fail "$name: bats exited with status $status"
        fi
}

# ---- 5. system tests -----------------------------------------------------------

step "system tests as $test_user (bats)"
# Every test but the [nosub] and [badsub ...] ones, which the passes below
# run (bats 1.8 has no tags: a regex for names that do not start with "[").
not_tagged='^[^[]'
# A full disk for real (a small tmpfs) and a delegated cgroup, for this run only.
HUTCH_TEST_SMALLFS=$("$srcdir/tests/setup-smallfs.sh" up "$test_user") || HUTCH_TEST_SMALLFS=
HUTCH_TEST_CGROUP=$("$srcdir/tests/setup-cgroup.sh" up "$test_user") || HUTCH_TEST_CGROUP=
echo "disk-full tests on: ${HUTCH_TEST_SMALLFS:-(none)}; delegated cgroup: ${HUTCH_TEST_CGROUP:-(none)}"
user_cmd "$test_user"
"$srcdir/tests/setup-cgroup.sh" exec "$test_user" -- "${USER_CMD[@]}" \
        bats --tap --filter "$not_tagged" "$stage/src/tests/system" 2>&1 | tee "$logdir/system.tap"
count_tap "$logdir/system.tap" "${PIPESTATUS[0]}" "system tests"
"$srcdir/tests/setup-cgroup.sh" down "$test_user" || true
"$srcdir/tests/setup-smallfs.sh" down "$test_user" || true
HUTCH_TEST_SMALLFS=''
HUTCH_TEST_CGROUP=''

step "system tests without subordinate IDs, /dev/fuse and /dev/net/tun as $nosub_user (bats --filter '[nosub]')"
# A private mount namespace in which /dev/fuse and /dev/net/tun are root-only
# device nodes; the host's stay as they are.
# shellcheck disable=SC2016 # a script for bash -c
nosub_script='
set -e
masks=$(mktemp -d /tmp/hutch-devmask.XXXXXX)
mount -t tmpfs -o mode=0755 hutch-devmask "$masks"
mknod -m 0600 "$masks/fuse" c 10 229
mknod -m 0600 "$masks/tun" c 10 200
for d in /dev/fuse /dev/net/tun; do
        [ -e "$d" ] || continue
        mount --bind "$masks/$(basename "$d")" "$d"
done
"$@"
'
user_cmd "$nosub_user"
mask=(unshare --mount --propagation private bash -c "$nosub_script" _)
if ! unshare --mount --propagation private true 2>/dev/null; then
        echo "cannot make a mount namespace here: /dev/fuse and /dev/net/tun stay usable (those tests skip)"
        mask=()
fi
"${mask[@]}" "${USER_CMD[@]}" bats --tap --filter '\[nosub\]' "$stage/src/tests/system" 2>&1 | tee "$logdir/system-nosub.tap"
count_tap "$logdir/system-nosub.tap" "${PIPESTATUS[0]}" "system tests ($nosub_user)"

step "system tests with bad subordinate ranges as $nosub_user (bats --filter '[badsub KIND]')"
# Checklist #40: for each kind of bad /etc/subuid entry, a private mount
# namespace in which /etc/subuid and /etc/subgid are a crafted file giving
# $nosub_user that range; the host's files stay as they are.
# shellcheck disable=SC2016 # a script for bash -c
badsub_script='
set -e
mount --bind "$1" /etc/subuid
mount --bind "$1" /etc/subgid
shift
"$@"
'
badsub_dir=$(mktemp -d /tmp/hutch-badsub.XXXXXX)
nosub_uid=$(id -u "$nosub_user")
printf '%s:%s:65536\n' "$nosub_user" "$nosub_uid" >"$badsub_dir/own"
printf '%s:0:65536\n' "$nosub_user" >"$badsub_dir/zero"
printf '%s:300000:65536\n%s:330000:65536\n' "$nosub_user" "$nosub_user" >"$badsub_dir/overlap"
chmod 0755 "$badsub_dir"
chmod 0644 "$badsub_dir"/*
for kind in own zero overlap; do
        HUTCH_TEST_BADSUB=$kind user_cmd "$nosub_user"
        unshare --mount --propagation private bash -c "$badsub_script" _ "$badsub_dir/$kind" \
                "${USER_CMD[@]}" bats --tap --filter "\\[badsub $kind\\]" \
                "$stage/src/tests/system" 2>&1 | tee "$logdir/system-badsub-$kind.tap"
        count_tap "$logdir/system-badsub-$kind.tap" "${PIPESTATUS[0]}" "system tests ($nosub_user, bad ranges: $kind)"
done
rm -rf "$badsub_dir"

step "README's first command, contrib/quickstart.sh, for $test_user (as sudo would run it)"
# Installed in a prefix of its own, so nothing else here uses that binary.
qs_prefix=$(mktemp -d /var/tmp/hutch-quickstart-prefix.XXXXXX)
chmod 0755 "$qs_prefix"
if SUDO_USER=$test_user PREFIX=$qs_prefix "$srcdir/contrib/quickstart.sh" >"$logdir/quickstart.log" 2>&1 &&
        grep -q '^hello from ' "$logdir/quickstart.log" &&
        grep -q "^uid=0(root) gid=0(root)" "$logdir/quickstart.log"; then
        tail -n 4 "$logdir/quickstart.log"
        pass "contrib/quickstart.sh ran a container as $test_user"
else
        tail -n 30 "$logdir/quickstart.log"
        fail "contrib/quickstart.sh (see $logdir/quickstart.log)"
fi
rm -rf "$qs_prefix" "$srcdir/build-quickstart"

# ---- 6. checks ----------------------------------------------------------------------

# Both checks list files with git ls-files; root may run git in a checkout
# that another user owns.
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0="$srcdir"
if ! git -C "$srcdir" ls-files --error-unmatch tests/run-tests.sh >/dev/null 2>&1; then
        skipped "shellcheck and clang-format: $srcdir is not a git checkout (they check the files git tracks)"
else
        step "shellcheck"
        if make -C "$builddir" shellcheck; then pass "shellcheck"; else fail "shellcheck (make shellcheck)"; fi

        step "clang-format"
        if make -C "$builddir" format-check; then pass "clang-format"; else fail "clang-format (make format-check)"; fi
fi

if [ "${HUTCH_TEST_NO_FUZZ:-}" = 1 ]; then
        skipped "fuzz targets (HUTCH_TEST_NO_FUZZ=1)"
else
        step "fuzz targets (${fuzz_seconds}s each)"
        fuzzdir=$srcdir/build-ci-fuzz
        mkdir -p "$fuzzdir"
        targets=()
        for c in "$srcdir"/tests/fuzz/fuzz-*.c; do
                [ -e "$c" ] && targets+=("$(basename "$c" .c)")
        done
        if [ ${#targets[@]} -eq 0 ]; then
                skipped "fuzz targets (none in tests/fuzz/)"
        elif ! (cd "$fuzzdir" && ../configure --enable-fuzzing CC=clang >"$logdir/fuzz-configure.log" 2>&1); then
                tail -n 30 "$logdir/fuzz-configure.log"
                fail "fuzz: configure --enable-fuzzing CC=clang"
        else
                for t in "${targets[@]}"; do
                        if ! make -C "$fuzzdir" -j"$jobs" "tests/fuzz/$t"; then
                                fail "fuzz: building $t"
                                continue
                        fi
                        corpus=$(mktemp -d)
                        seeds=()
                        [ -d "$srcdir/tests/fuzz/corpus/${t#fuzz-}" ] && seeds+=("$srcdir/tests/fuzz/corpus/${t#fuzz-}")
                        [ -d "$srcdir/tests/fuzz/corpus/$t" ] && seeds+=("$srcdir/tests/fuzz/corpus/$t")
                        if (cd "$corpus" && ASAN_OPTIONS=detect_leaks=1 "$fuzzdir/tests/fuzz/$t" \
                                -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -print_final_stats=1 \
                                "$corpus" "${seeds[@]}") >"$logdir/$t.log" 2>&1; then
                                tail -n 3 "$logdir/$t.log"
                                pass "fuzz: $t (${fuzz_seconds}s)"
                        else
                                tail -n 60 "$logdir/$t.log"
                                fail "fuzz: $t found a crash (see $logdir/$t.log)"
                        fi
                        rm -rf "$corpus"
                done
        fi
fi

# ---- 7. benchmark ---------------------------------------------------------------------

if [ "${HUTCH_TEST_NO_BENCH:-}" != 1 ]; then
        step "benchmark: tests/bench/run-latency (figures only)"
        benchdir=$srcdir/build-ci-bench
        mkdir -p "$benchdir"
        if (cd "$benchdir" && ../configure --disable-tests >"$logdir/bench-configure.log" 2>&1 &&
                make -j"$jobs" hutch >"$logdir/bench-build.log" 2>&1); then
                install -m 0755 "$benchdir/hutch" "$stage/bin/hutch-release"
                HUTCH="$stage/bin/hutch-release" HUTCH_BENCH_USER=$test_user \
                        "$stage/src/tests/bench/run-latency" || echo "benchmark failed (not counted)"
                step "benchmark: tests/bench/lifecycle (figures only)"
                HUTCH="$stage/bin/hutch-release" HUTCH_BENCH_USER=$test_user \
                        "$stage/src/tests/bench/lifecycle" || echo "benchmark failed (not counted)"
                step "benchmark: tests/bench/build (figures only)"
                HUTCH="$stage/bin/hutch-release" HUTCH_BENCH_USER=$test_user \
                        "$stage/src/tests/bench/build" || echo "benchmark failed (not counted)"
        else
                echo "benchmark: building without sanitizers failed (not counted); see $logdir/bench-*.log"
        fi
fi

finish
}

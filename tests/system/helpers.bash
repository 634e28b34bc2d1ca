# shellcheck shell=bash
# shellcheck disable=SC2034 # status, lines, stderr_lines, ... are read by the tests
# Helpers for the hutch system tests (bats).  Every NNN-topic.bats file starts
# with `load helpers`.  See README.md in this directory.
#
#   $HUTCH          the binary under test (default: `hutch` on PATH)
#   $ROOTFS         a busybox root filesystem made once per file (setup_file)
#   $HUTCH_ROOT     per-test storage root (--root), under $BATS_TEST_TMPDIR
#   $HUTCH_RUNROOT  per-test run-time directory (--runroot), in the test's own
#                   $XDG_RUNTIME_DIR
#
# The tests run as an unprivileged user: they fail at once as root unless
# HUTCH_TEST_ALLOW_ROOT=1.

HUTCH=${HUTCH:-$(command -v hutch || echo hutch)}
HUTCH_SRCDIR=${HUTCH_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
MKROOTFS=${MKROOTFS:-$HUTCH_SRCDIR/contrib/mkrootfs-busybox.sh}
# Seconds any single hutch command may take before the test gives up on it.
HUTCH_TEST_TIMEOUT=${HUTCH_TEST_TIMEOUT:-60}
export HUTCH MKROOTFS

# ---- failing ------------------------------------------------------------

# Prints a failure message block and fails the test.
die() {
        local line
        echo "#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv" >&2
        for line in "$@"; do
                echo "#| FAIL: $line" >&2
        done
        echo "#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^" >&2
        false
}

# Refuses to run as root: rootless is the point.
require_not_root() {
        if [ "$(id -u)" -eq 0 ] && [ "${HUTCH_TEST_ALLOW_ROOT:-}" != 1 ]; then
                die "the hutch system tests run as an unprivileged user (tests/run-tests.sh creates one);" \
                        "set HUTCH_TEST_ALLOW_ROOT=1 to run them as root anyway"
                return 1
        fi
}

# ---- setup ----------------------------------------------------------------

# Per-file setup: the shared busybox rootfs in $BATS_FILE_TMPDIR/rootfs.
basic_setup_file() {
        require_not_root || return 1
        if [ ! -x "$HUTCH" ] && ! command -v "$HUTCH" >/dev/null 2>&1; then
                die "hutch binary '$HUTCH' not found: set HUTCH=/path/to/hutch"
                return 1
        fi
        export ROOTFS="$BATS_FILE_TMPDIR/rootfs"
        if [ ! -e "$ROOTFS/bin/busybox" ]; then
                "$MKROOTFS" "$ROOTFS" >&2 || {
                        die "$MKROOTFS $ROOTFS failed"
                        return 1
                }
        fi
}

# Per-test setup: a private runtime directory and storage root.
basic_setup() {
        require_not_root || return 1
        export ROOTFS="$BATS_FILE_TMPDIR/rootfs"
        export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/xdg-run"
        export XDG_DATA_HOME="$BATS_TEST_TMPDIR/xdg-data"
        export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/xdg-config"
        mkdir -p "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
        chmod 0700 "$XDG_RUNTIME_DIR"
        export HUTCH_ROOT="$BATS_TEST_TMPDIR/store"
        export HUTCH_RUNROOT="$XDG_RUNTIME_DIR/hutch"
}

# import_busybox_image [IMPORT OPTION...]: the busybox root filesystem as
# the image bb:1 of the test's store (its tar made once per file, in
# $IMAGE_TAR).
import_busybox_image() {
        IMAGE_TAR="$BATS_FILE_TMPDIR/rootfs.tar"
        if [ ! -e "$IMAGE_TAR" ]; then
                tar -C "$ROOTFS" -cf "$IMAGE_TAR" .
        fi
        run_hutch import "$@" "$IMAGE_TAR" bb:1
}

# run_expect BODY ARGS...: spawns `hutch ARGS...` (from a script file, so no
# quoting reaches expect) under a pseudo-terminal of 33x77 and runs the
# expect BODY; a timeout, an unexpected end or hutch killed by a signal
# fails.  Sets $status (hutch's exit status) and $output.
run_expect() {
        local body=$1
        shift
        local cmdfile script
        cmdfile=$(mktemp "$BATS_TEST_TMPDIR/cmd.XXXXXX")
        script=$(mktemp "$BATS_TEST_TMPDIR/exp.XXXXXX")
        hutch_cmd "$@"
        {
                echo '#!/bin/bash'
                printf 'exec'
                printf ' %q' "${HUTCH_CMD[@]}"
                echo
        } >"$cmdfile"
        chmod +x "$cmdfile"
        cat >"$script" <<EXP
set timeout 20
set stty_init "rows 33 columns 77"
spawn $cmdfile
expect_after {
        timeout { puts "\nEXPECT: timed out"; exit 124 }
        eof { puts "\nEXPECT: hutch ended early"; exit 99 }
}
$body
catch wait result
if {[llength \$result] > 4} { puts "\nEXPECT: hutch was killed: \$result"; exit 98 }
exit [lindex \$result 3]
EXP
        echo "\$ hutch $* (under expect)"
        run timeout -k 5 60 expect "$script" 3>&-
        echo "$output"
        assert_not_match "$output" "EXPECT: " "the session went as expected"
}

# build_fails STATUS TEXT FORMAT [ARGS...]: writes `printf FORMAT ARGS...`
# as $CTX/Dockerfile, builds $CTX, and expects exit STATUS with TEXT in
# the error.
build_fails() {
        local want_status=$1 text=$2
        shift 2
        # shellcheck disable=SC2059 # the Dockerfile is the format
        printf "$@" >"$CTX/Dockerfile"
        run_hutch "$want_status" build "$CTX"
        [[ "$stderr" == *"$text"* ]] || die "build of: $(cat "$CTX/Dockerfile")" "stderr lacks: $text" "stderr: $stderr"
}

# make_certs DIR: a test CA (DIR/ca/ca.crt, for a certs.d directory) and a
# server certificate for 127.0.0.1 signed by it (DIR/srv.crt, DIR/srv.key).
make_certs() {
        local d=$1
        mkdir -p "$d/ca"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca/ca.crt" -days 2 \
                -subj /CN=hutch-test-ca 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout "$d/srv.key" -out "$d/srv.csr" -subj /CN=127.0.0.1 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$d/ext"
        openssl x509 -req -in "$d/srv.csr" -CA "$d/ca/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
                -out "$d/srv.crt" -days 2 -extfile "$d/ext" 2>/dev/null
}

# free_ports N: the first of N consecutive ports free for TCP and UDP on
# every address, picked at random (so suites run at once by two users never
# publish the same fixed port).
free_ports() {
        python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randint(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            for t in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(socket.AF_INET, t)
                socks.append(s)
                s.bind(("0.0.0.0", p))
        print(base)
        sys.exit(0)
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
sys.exit("no free ports")
PY
}

# Removes every container of the test's store, running ones too: their
# monitors outlive the test otherwise.
remove_containers() {
        local ids
        [ -n "${HUTCH_ROOT:-}" ] && [ -d "$HUTCH_ROOT" ] || return 0
        ids=$("$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" ps -aq </dev/null 2>/dev/null 3>&-) || true
        if [ -n "$ids" ]; then
                # shellcheck disable=SC2086 # one ID a word
                "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" rm -f $ids </dev/null >/dev/null 2>&1 3>&- || true
        fi
}

basic_teardown() {
        local pid
        # Background hutch processes a failed test left behind.
        for pid in "${HUTCH_BG_PIDS[@]}"; do
                kill_tree "$pid"
        done
        HUTCH_BG_PIDS=()
        remove_containers
        # The store holds files of subordinate IDs that only the storage user
        # namespace may remove; bats could not clean its directory otherwise.
        if [ -n "${HUTCH_ROOT:-}" ] && [ -d "$HUTCH_ROOT" ]; then
                "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" unshare rm -rf "$HUTCH_ROOT" \
                        </dev/null >/dev/null 2>&1 3>&- || true
        fi
}

# Default hooks; a test file may define its own and call these.
setup_file() { basic_setup_file; }
setup() { basic_setup; }
teardown() { basic_teardown; }

HUTCH_BG_PIDS=()

# ---- running hutch ----------------------------------------------------------

# run_hutch [STATUS|'?'] ARGS...
#
# Runs $HUTCH --root $HUTCH_ROOT --runroot $HUTCH_RUNROOT ARGS... with stdin
# from $RUN_HUTCH_STDIN (default /dev/null) and checks its exit status
# (default 0; '?' accepts any).  Sets:
#   $status        the exit status
#   $output        standard output, $lines the same split into lines
#   $stderr        standard error, $stderr_lines the same split into lines
# Fails the test, showing the command, both outputs and the two statuses, when
# the status is not the one expected or when stderr has a sanitizer report.
run_hutch() {
        local expected=0
        case "${1:-}" in
        '?')
                expected='?'
                shift
                ;;
        [0-9] | [0-9][0-9] | [0-9][0-9][0-9])
                expected=$1
                shift
                ;;
        esac
        local out err
        out=$(mktemp "$BATS_TEST_TMPDIR/run_hutch.out.XXXXXX")
        err=$(mktemp "$BATS_TEST_TMPDIR/run_hutch.err.XXXXXX")
        echo "\$ hutch $*"
        status=0
        timeout -k 5 "$HUTCH_TEST_TIMEOUT" "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" "$@" \
                <"${RUN_HUTCH_STDIN:-/dev/null}" >"$out" 2>"$err" 3>&- || status=$?
        output=$(cat "$out")
        stderr=$(cat "$err")
        rm -f "$out" "$err"
        lines=()
        stderr_lines=()
        if [ -n "$output" ]; then mapfile -t lines <<<"$output"; fi
        if [ -n "$stderr" ]; then mapfile -t stderr_lines <<<"$stderr"; fi
        if [ -n "$output" ]; then echo "$output"; fi
        if [ -n "$stderr" ]; then echo "[stderr] $stderr"; fi
        if [ "$status" -eq 124 ] && [ "$expected" != 124 ]; then
                die "hutch $*" "timed out after ${HUTCH_TEST_TIMEOUT}s"
                return 1
        fi
        if [ "$expected" != '?' ] && [ "$status" -ne "$expected" ]; then
                die "hutch $*" "exit status $status, expected $expected" "stdout: $output" "stderr: $stderr"
                return 1
        fi
        check_no_sanitizer_report "$stderr" || return 1
}

# Fails when TEXT holds an AddressSanitizer/UBSan/LeakSanitizer report.
check_no_sanitizer_report() {
        case "$1" in
        *"ERROR: AddressSanitizer"* | *"ERROR: LeakSanitizer"* | *"runtime error:"* | *"SUMMARY: UndefinedBehaviorSanitizer"*)
                die "sanitizer report on stderr:" "$1"
                return 1
                ;;
        esac
}

# hutch_cmd ARGS...: the full command line run_hutch would run, in the array
# HUTCH_CMD, for tests that start hutch themselves (in the background).
hutch_cmd() {
        HUTCH_CMD=("$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" "$@")
}

# start_hutch_bg OUTFILE ARGS...: starts hutch ARGS... in the background with
# stdout and stderr to OUTFILE and OUTFILE.err, all signal dispositions reset
# to default (bash ignores SIGINT/SIGQUIT in background jobs otherwise), fd 3
# closed (bats waits for it).  Sets HUTCH_PID.
start_hutch_bg() {
        local outfile=$1
        shift
        hutch_cmd "$@"
        echo "\$ hutch $* &"
        env --default-signal "${HUTCH_CMD[@]}" </dev/null >"$outfile" 2>"$outfile.err" 3>&- &
        HUTCH_PID=$!
        HUTCH_BG_ERR=$outfile.err
        HUTCH_BG_PIDS+=("$HUTCH_PID")
}

# wait_for_file_content FILE REGEX [SECONDS]: waits until FILE has a line
# matching REGEX.
wait_for_file_content() {
        local file=$1 re=$2 secs=${3:-20} i
        for ((i = 0; i < secs * 20; i++)); do
                if [ -f "$file" ] && grep -qE -- "$re" "$file"; then
                        return 0
                fi
                sleep 0.05
        done
        die "timed out after ${secs}s waiting for /$re/ in $file" "content: $(cat "$file" 2>/dev/null)" \
                "stderr: $(cat "$file.err" 2>/dev/null)"
        return 1
}

# descendant_pids PID: every descendant of PID (children first), from /proc.
descendant_pids() {
        local parent=$1 stat rest pid ppid
        local -a queue=("$parent")
        local -A children=()
        for stat in /proc/[0-9]*/stat; do
                # pid (comm) state ppid ...; comm may hold spaces and parens.
                read -r rest <"$stat" 2>/dev/null || continue
                pid=${rest%% *}
                rest=${rest##*) }
                ppid=$(echo "$rest" | cut -d' ' -f2)
                children[$ppid]+="$pid "
        done
        while [ ${#queue[@]} -gt 0 ]; do
                pid=${queue[0]}
                queue=("${queue[@]:1}")
                for rest in ${children[$pid]:-}; do
                        echo "$rest"
                        queue+=("$rest")
                done
        done
}

# find_container_process HUTCH_PID COMM [SECONDS]: prints the host PID of the
# first descendant of HUTCH_PID whose command name is COMM, waiting for it.
find_container_process() {
        local hpid=$1 comm=$2 secs=${3:-20} i pid c
        for ((i = 0; i < secs * 20; i++)); do
                for pid in $(descendant_pids "$hpid"); do
                        c=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
                        if [ "$c" = "$comm" ]; then
                                echo "$pid"
                                return 0
                        fi
                done
                sleep 0.05
        done
        die "no process '$comm' under hutch pid $hpid after ${secs}s"
        return 1
}

# wait_hutch_bg [SECONDS]: waits (default 30 s) for $HUTCH_PID and sets
# $status; when it does not exit in time, kills it and its descendants and
# fails the test.
wait_hutch_bg() {
        local secs=${1:-30} i
        for ((i = 0; i < secs * 20; i++)); do
                kill -0 "$HUTCH_PID" 2>/dev/null || break
                # A zombie has exited: wait reaps it.
                [ "$(cut -d' ' -f3 "/proc/$HUTCH_PID/stat" 2>/dev/null)" = Z ] && break
                sleep 0.05
        done
        local timed_out=0
        if kill -0 "$HUTCH_PID" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$HUTCH_PID/stat" 2>/dev/null)" != Z ]; then
                timed_out=1
                kill_tree "$HUTCH_PID"
        fi
        status=0
        wait "$HUTCH_PID" || status=$?
        local pid
        local -a keep=()
        for pid in "${HUTCH_BG_PIDS[@]}"; do
                [ "$pid" = "$HUTCH_PID" ] || keep+=("$pid")
        done
        HUTCH_BG_PIDS=("${keep[@]}")
        if [ "$timed_out" -eq 1 ]; then
                die "hutch (pid $HUTCH_PID) did not exit within ${secs}s; killed it"
                return 1
        fi
        if [ -n "${HUTCH_BG_ERR:-}" ] && [ -f "$HUTCH_BG_ERR" ]; then
                check_no_sanitizer_report "$(cat "$HUTCH_BG_ERR")" || return 1
        fi
}

# kill_tree PID: SIGKILL to PID's descendants and PID.
kill_tree() {
        local pid
        for pid in $(descendant_pids "$1") "$1"; do
                kill -KILL "$pid" 2>/dev/null || true
        done
}

# ---- SIGKILL at random points (checklist #34) ----

# now_ms: a monotonic-enough clock in milliseconds.
now_ms() {
        local t=${EPOCHREALTIME/./}
        echo $((t / 1000))
}

# duration_ms ARGS...: how long hutch ARGS takes here (the kill points
# are spread over it); the command must succeed.
duration_ms() {
        local t0
        t0=$(now_ms)
        run_hutch "$@" >/dev/null || return 1
        echo $(($(now_ms) - t0))
}

# kill_at_random MAX_MS ARGS...: starts hutch ARGS in a session of its own
# and, after a random delay of up to MAX_MS, SIGKILLs that whole session at
# once (hutch and the helpers it forked; a -d monitor that has made its own
# session lives on, as it would).  Sets $status, and $KILLED_SID to the
# session's ID.
kill_at_random() {
        local max=$1 d pid
        shift
        d=$((RANDOM % (max + 1)))
        hutch_cmd "$@"
        echo "\$ hutch $* & (SIGKILL after ${d} ms)"
        setsid "${HUTCH_CMD[@]}" </dev/null >"$BATS_TEST_TMPDIR/k.out" 2>"$BATS_TEST_TMPDIR/k.err" 3>&- &
        pid=$!
        KILLED_SID=$pid
        sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
        kill -KILL -- "-$pid" 2>/dev/null || true
        status=0
        wait "$pid" || status=$?
        echo "status $status"
        check_no_sanitizer_report "$(cat "$BATS_TEST_TMPDIR/k.err")"
}

# ---- assertions ---------------------------------------------------------------

# assert ACTUAL OP EXPECTED [DESCRIPTION]
#   OP: == != (strings), =~ !~ (extended regex), -eq -ne -lt -le -gt -ge
assert() {
        local actual=$1 op=$2 expected=$3 desc=${4:-}
        local ok=1
        case "$op" in
        '==') [ "$actual" == "$expected" ] || ok=0 ;;
        '!=') [ "$actual" != "$expected" ] || ok=0 ;;
        '=~') [[ "$actual" =~ $expected ]] || ok=0 ;;
        '!~') [[ ! "$actual" =~ $expected ]] || ok=0 ;;
        -eq | -ne | -lt | -le | -gt | -ge) test "$actual" "$op" "$expected" || ok=0 ;;
        *)
                die "assert: unknown operator '$op'"
                return 1
                ;;
        esac
        if [ "$ok" -eq 0 ]; then
                die "${desc:-assertion failed}" "expected: $op '$expected'" "  actual: '$actual'"
                return 1
        fi
}

assert_equal() { assert "$1" == "$2" "${3:-}"; }
assert_match() { assert "$1" =~ "$2" "${3:-}"; }
assert_not_match() { assert "$1" '!~' "$2" "${3:-}"; }

# assert_error_message REGEX: the command failed with a clear message: a
# stderr line starts with "Error: " and stderr matches REGEX.
assert_error_message() {
        local re=$1 line found=0
        for line in "${stderr_lines[@]}"; do
                [[ "$line" == "Error: "* ]] && found=1
        done
        if [ "$found" -eq 0 ]; then
                die "no 'Error: ' line on stderr" "stderr: $stderr"
                return 1
        fi
        assert "$stderr" =~ "$re" "the error message names the problem" || return 1
}

# ---- requirements ---------------------------------------------------------------

# require_cmd NAME...: skips the test when a command is missing.
require_cmd() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed"
        done
}

# require_userns: skips when this user cannot create a user namespace.
require_userns() {
        unshare --user true 2>/dev/null || skip "unprivileged user namespaces are not available"
}

# require_subids: skips when this user has no subordinate UID and GID range.
require_subids() {
        if [ -z "$(subid_ranges uid)" ] || [ -z "$(subid_ranges gid)" ]; then
                skip "$(id -un) has no subordinate ID range in /etc/subuid and /etc/subgid"
        fi
        require_cmd newuidmap newgidmap
}

# skip_if_no_fuse: skips unless /dev/fuse is usable and fuse-overlayfs installed.
skip_if_no_fuse() {
        [ -c /dev/fuse ] || skip "/dev/fuse does not exist"
        if [ ! -r /dev/fuse ] || [ ! -w /dev/fuse ]; then
                skip "/dev/fuse is not readable and writable by $(id -un)"
        fi
        require_cmd fuse-overlayfs
}

# subid_ranges uid|gid: "START COUNT" lines of this user's subordinate ranges,
# from getsubids (libsubid, as hutch reads them) or /etc/subuid|/etc/subgid.
subid_ranges() {
        local kind=$1 name uid
        name=$(id -un)
        uid=$(id -u)
        if command -v getsubids >/dev/null 2>&1; then
                local -a flag=()
                [ "$kind" = gid ] && flag=(-g)
                # "0: user 100000 65536"
                getsubids "${flag[@]}" "$name" 2>/dev/null | awk '{ print $3, $4 }'
                return 0
        fi
        local file=/etc/subuid
        [ "$kind" = gid ] && file=/etc/subgid
        [ -r "$file" ] || return 0
        awk -F: -v n="$name" -v u="$uid" '$1 == n || $1 == u { print $2, $3 }' "$file"
}

# first_subid uid|gid: the start of the first subordinate range.
first_subid() {
        subid_ranges "$1" | head -n1 | cut -d' ' -f1
}

# expected_id_map uid|gid: the full map hutch should write, as "inside outside
# count" lines: 0 -> our own ID, then 1.. -> every subordinate range in order.
expected_id_map() {
        local kind=$1 own inside=1 start count
        if [ "$kind" = uid ]; then own=$(id -u); else own=$(id -g); fi
        echo "0 $own 1"
        while read -r start count; do
                [ -n "$start" ] || continue
                echo "$inside $start $count"
                inside=$((inside + count))
        done < <(subid_ranges "$kind")
}

# normalize_map TEXT: /proc/PID/uid_map with the padding squeezed.
normalize_map() {
        awk 'NF == 3 { print $1, $2, $3 }' <<<"$1"
}

# make_rootfs DIR: a private busybox rootfs, for tests that must not share one.
make_rootfs() {
        "$MKROOTFS" "$1" >&2
}

# tree_manifest DIR: one line per entry (path, type, mode, owner, size, mtime,
# link target, content checksum) to compare a tree before and after.
tree_manifest() {
        local dir=$1
        (
                cd "$dir" || exit 1
                find . -printf '%p %y %m %U:%G %s %T@ %l\n' | LC_ALL=C sort
                find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
        )
}

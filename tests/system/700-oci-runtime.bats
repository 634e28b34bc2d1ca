#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the container's shell expands these
# hutch oci: the OCI runtime command line (runc's create/start/state/kill/
# delete/run/list/spec) over a bundle: config.json plus a root filesystem.

load helpers

RECV_CONSOLE=${RECV_CONSOLE:-$(dirname "$HUTCH")/tests/helpers/recv-console}

setup() {
        basic_setup
        require_userns
        require_cmd jq
        BUNDLE="$BATS_TEST_TMPDIR/bundle"
        mkdir -p "$BUNDLE/out"
        cp -a "$ROOTFS" "$BUNDLE/rootfs"
        OUT="$BUNDLE/out"
        run_hutch oci spec --bundle "$BUNDLE"
}

teardown() {
        local id
        "$HUTCH" --runroot "$HUTCH_RUNROOT" oci list -q 2>/dev/null | while read -r id; do
                "$HUTCH" --runroot "$HUTCH_RUNROOT" oci delete --force "$id" >/dev/null 2>&1 </dev/null
        done
        basic_teardown
}

# config FILTER: edits $BUNDLE/config.json with jq.
config() {
        jq "$1" "$BUNDLE/config.json" >"$BUNDLE/config.json.new"
        mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

# program SCRIPT: the container runs sh -c SCRIPT, with $BUNDLE/out at /out.
program() {
        local script=$1
        config ".process.args = [\"sh\", \"-c\", $(jq -Rn --arg s "$script" '$s')]
                | .root.readonly = false
                | .mounts += [{\"destination\": \"/out\", \"type\": \"bind\", \"source\": \"out\", \"options\": [\"rbind\", \"rw\"]}]"
}

# state_field ID FIELD: one field of `hutch oci state ID`.
state_field() {
        run_hutch oci state "$1" >/dev/null
        jq -r ".$2" <<<"$output"
}

wait_for_path() {
        local path=$1 i
        for ((i = 0; i < 200; i++)); do
                [ -e "$path" ] && return 0
                sleep 0.05
        done
        die "timed out waiting for $path"
}

wait_for_status() {
        local id=$1 want=$2 i s
        for ((i = 0; i < 200; i++)); do
                s=$("$HUTCH" --runroot "$HUTCH_RUNROOT" oci state "$id" 2>/dev/null | jq -r .status)
                [ "$s" = "$want" ] && return 0
                sleep 0.05
        done
        die "container $id is '$s', not '$want' after 10 s"
}

# no_state_left ID: nothing of ID under the OCI state root.
no_state_left() {
        assert_equal "$(ls -A "$HUTCH_RUNROOT/oci" 2>/dev/null)" "" "no state left behind"
        run_hutch 125 oci state "$1"
        assert_match "$stderr" "container '$1' does not exist"
}

@test "oci spec: a rootless config.json that runs; it is never overwritten" {
        run jq -r '.linux.uidMappings[0].hostID, .linux.namespaces[].type, .root.path' "$BUNDLE/config.json"
        assert_equal "${lines[0]}" "$(id -u)"
        assert_match "$output" "user"
        assert_equal "${lines[-1]}" "rootfs"
        run_hutch 125 oci spec --bundle "$BUNDLE"
        assert_match "$stderr" "config.json' exists: remove it first"

        config '.process.args = ["sh", "-c", "echo uid=$(id -u) host=$(hostname); cat /proc/self/status"]'
        run_hutch oci run --bundle "$BUNDLE" spec1
        assert_match "$output" "uid=0 host=hutch"
        # the three capabilities of the default config, as bounding and effective
        assert_match "$output" "CapEff:	0000000020000420"
        assert_match "$output" "CapBnd:	0000000020000420"
        assert_match "$output" "NoNewPrivs:	1"
        no_state_left spec1

        # nothing of hutch's (lock, control socket, start pipe) reaches the program
        config '.process.args = ["ls", "/proc/self/fd"]'
        run_hutch oci run --bundle "$BUNDLE" spec2
        assert_equal "$(echo "$output" | tr '\n' ' ')" "0 1 2 3 "
}

@test "oci create/start/state/kill/delete: the program waits for start" {
        program 'echo started > /out/marker; trap "echo term > /out/term; exit 3" TERM; while :; do sleep 0.1; done'
        # an fd the caller leaves open is not kept by the long-lived monitor
        run_hutch oci create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c1 7>"$BATS_TEST_TMPDIR/fd7-marker"
        run_hutch oci state c1
        assert_equal "$(jq -r .status <<<"$output")" "created"
        assert_equal "$(jq -r .id <<<"$output")" "c1"
        assert_equal "$(jq -r .ociVersion <<<"$output")" "1.2.0"
        assert_equal "$(jq -r .bundle <<<"$output")" "$(realpath "$BUNDLE")"
        pid=$(jq -r .pid <<<"$output")
        assert "$pid" -gt 0
        assert_equal "$(cat "$BATS_TEST_TMPDIR/pid")" "$pid" "--pid-file holds the container's PID"
        kill -0 "$pid"
        monitor=$(awk '{ print $4 }' "/proc/$pid/stat")
        run ls -l "/proc/$monitor/fd"
        assert_match "$output" "lock"
        assert_not_match "$output" "fd7-marker"
        sleep 0.5
        [ ! -e "$OUT/marker" ] || die "the program ran before 'start'"

        run_hutch oci start c1
        wait_for_path "$OUT/marker"
        assert_equal "$(state_field c1 status)" "running"
        assert_equal "$(state_field c1 pid)" "$pid"
        run_hutch 125 oci start c1
        assert_match "$stderr" "container 'c1' is running, not created"

        run_hutch oci list
        assert_match "${lines[1]}" "^c1 +$pid +running +$(realpath "$BUNDLE")"

        run_hutch oci kill c1 TERM
        wait_for_status c1 stopped
        assert_equal "$(cat "$OUT/term")" "term"
        assert_equal "$(state_field c1 pid)" "0"
        run_hutch 125 oci kill c1 KILL
        assert_match "$stderr" "container 'c1' is not running"
        run_hutch oci delete c1
        no_state_left c1
        ! kill -0 "$pid" 2>/dev/null || die "the container's process is still there"
}

@test "oci run: foreground returns the exit code and removes the container; --detach keeps it" {
        program 'echo out-line; echo err-line >&2; exit 7'
        run_hutch 7 oci run --bundle "$BUNDLE" r1
        assert_match "$output" "out-line"
        assert_match "$stderr" "err-line"
        no_state_left r1

        program 'echo > /out/ran; sleep 60'
        run_hutch oci run --detach --bundle "$BUNDLE" r2
        wait_for_path "$OUT/ran"
        assert_equal "$(state_field r2 status)" "running"
        run_hutch oci kill r2 9
        wait_for_status r2 stopped
        run_hutch oci delete r2
        no_state_left r2

        config '.process.args = ["/no/such/program"]'
        run_hutch 127 oci run --bundle "$BUNDLE" r3
        no_state_left r3
}

@test "oci delete: a running container needs --force; a created one goes (its program never runs)" {
        program 'echo > /out/ran; sleep 60'
        run_hutch oci run --detach --bundle "$BUNDLE" d1
        wait_for_path "$OUT/ran"
        pid=$(state_field d1 pid)
        run_hutch 125 oci delete d1
        assert_match "$stderr" "container 'd1' is running: stop it first"
        assert_equal "$(state_field d1 status)" "running"
        kill -0 "$pid"
        run_hutch oci delete --force d1
        no_state_left d1
        ! kill -0 "$pid" 2>/dev/null || die "the container's process survived delete --force"

        rm -f "$OUT/ran"
        run_hutch oci create --bundle "$BUNDLE" d2
        pid=$(state_field d2 pid)
        run_hutch oci delete d2
        no_state_left d2
        ! kill -0 "$pid" 2>/dev/null || die "the created container's process survived delete"
        [ ! -e "$OUT/ran" ] || die "the program of a deleted created container ran"
}

@test "oci: a duplicate ID is refused and the first container is unharmed" {
        program 'echo > /out/ran; sleep 60'
        run_hutch oci create --bundle "$BUNDLE" dup
        run_hutch 125 oci create --bundle "$BUNDLE" dup
        assert_match "$stderr" "container 'dup' already exists"
        assert_equal "$(state_field dup status)" "created"
        run_hutch oci start dup
        wait_for_path "$OUT/ran"
}

@test "oci: invalid container IDs are refused" {
        local long
        long=$(printf 'a%.0s' {1..256})
        for id in "a/b" ".." "." "../x" "$long" "bad id" ""; do
                run_hutch 125 oci create --bundle "$BUNDLE" "$id"
                assert_match "$stderr" "invalid container ID"
        done
        for cmd in state start delete kill; do
                run_hutch 125 oci "$cmd" "../etc"
                assert_match "$stderr" "invalid container ID"
        done
        assert_equal "$(ls -A "$HUTCH_RUNROOT/oci" 2>/dev/null)" ""

        # the longest ID works: its control socket's path is longer than a
        # unix socket address can be
        long=${long:1}
        program 'echo > /out/ran; sleep 60'
        run_hutch oci create --bundle "$BUNDLE" "$long"
        assert_equal "$(state_field "$long" status)" "created"
        run_hutch oci start "$long"
        wait_for_path "$OUT/ran"
        run_hutch oci delete --force "$long"
        no_state_left "$long"
}

@test "oci create: a bad config.json is a clear error and leaves no state" {
        cp "$BUNDLE/config.json" "$BATS_TEST_TMPDIR/good.json"

        config 'del(.root)'
        run_hutch 125 oci create --bundle "$BUNDLE" bad
        assert_match "$stderr" "'root' is required"
        no_state_left bad

        echo '{"ociVersion": "1.0.0", "root": ' >"$BUNDLE/config.json"
        run_hutch 125 oci create --bundle "$BUNDLE" bad
        assert_match "$stderr" "invalid JSON"
        no_state_left bad

        cp "$BATS_TEST_TMPDIR/good.json" "$BUNDLE/config.json"
        config '.linux.namespaces += [{"type": "network", "path": "/proc/1/ns/net"}] | .linux.namespaces |= (map(select(.type != "network" or .path)))'
        run_hutch 125 oci create --bundle "$BUNDLE" bad
        assert_match "$stderr" "joining the network namespace at '/proc/1/ns/net' is not supported"
        no_state_left bad

        cp "$BATS_TEST_TMPDIR/good.json" "$BUNDLE/config.json"
        config '.hooks = {"prestart": [{"path": "/bin/true"}]}'
        run_hutch 125 oci create --bundle "$BUNDLE" bad
        assert_match "$stderr" "'hooks.prestart' is not supported by hutch"
        no_state_left bad

        cp "$BATS_TEST_TMPDIR/good.json" "$BUNDLE/config.json"
        config '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)'
        run_hutch 125 oci create --bundle "$BUNDLE" bad
        assert_match "$stderr" "must include a user namespace"
        no_state_left bad

        # oversized: 3 MB of annotations
        cp "$BATS_TEST_TMPDIR/good.json" "$BUNDLE/config.json"
        head -c 3000000 /dev/zero | tr '\0' 'x' >"$BATS_TEST_TMPDIR/big"
        jq --rawfile big "$BATS_TEST_TMPDIR/big" '.annotations = {"big": $big}' "$BATS_TEST_TMPDIR/good.json" \
                >"$BUNDLE/config.json"
        run_hutch 125 oci create --bundle "$BUNDLE" bad
        assert_match "$stderr" "larger than"
        no_state_left bad

        cp "$BATS_TEST_TMPDIR/good.json" "$BUNDLE/config.json"
        config '.root.path = "nowhere"'
        run_hutch 125 oci create --bundle "$BUNDLE" bad
        assert_match "$stderr" "root.path '.*nowhere': No such file or directory"
        no_state_left bad

        rm "$BUNDLE/config.json"
        run_hutch 125 oci create --bundle "$BUNDLE" bad
        assert_match "$stderr" "config.json"
        no_state_left bad
}

@test "oci: process.terminal sends the pty master to --console-socket" {
        [ -x "$RECV_CONSOLE" ] || skip "$RECV_CONSOLE not built"
        config '.process.terminal = true | .process.consoleSize = {"height": 33, "width": 111}
                | .process.args = ["sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo both-ttys; stty size"]'
        run_hutch 125 oci create --bundle "$BUNDLE" t0
        assert_match "$stderr" "give --console-socket"
        no_state_left t0

        sock="$BATS_TEST_TMPDIR/console.sock"
        "$RECV_CONSOLE" "$sock" >"$BATS_TEST_TMPDIR/console.out" 2>&1 3>&- &
        recv=$!
        wait_for_path "$sock"
        run_hutch oci create --bundle "$BUNDLE" --console-socket "$sock" t1
        run_hutch oci start t1
        wait "$recv" || die "recv-console failed: $(cat "$BATS_TEST_TMPDIR/console.out")"
        out=$(tr -d '\r' <"$BATS_TEST_TMPDIR/console.out")
        assert_match "$out" "^pty master /dev/pts/[0-9]+"
        assert_match "$out" "/dev/pts/0"
        assert_match "$out" "both-ttys"
        assert_match "$out" "33 111"
        wait_for_status t1 stopped
        run_hutch oci delete t1
}

@test "oci: the config's seccomp, read-only root, mounts and user are applied" {
        require_subids
        config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
        config '.mounts += [{"destination": "/ro", "type": "bind", "source": "out", "options": ["rbind", "ro", "nosuid"]},
                            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "noexec"]}]'
        config '.process.args = ["sh", "-c", "mkdir /scratch/d 2>&1; touch /x 2>&1; touch /ro/y 2>&1; touch /scratch/ok && echo scratch-ok; grep -E \" /(ro|scratch) \" /proc/self/mountinfo"]'
        run_hutch oci run --bundle "$BUNDLE" s1
        assert_match "$output" "mkdir: can't create directory '/scratch/d': Operation not permitted"
        assert_match "$output" "touch: /x: Read-only file system"
        assert_match "$output" "touch: /ro/y: Read-only file system"
        assert_match "$output" "scratch-ok"
        assert_match "$output" " /ro ro,nosuid"
        assert_match "$output" " /scratch rw,nosuid,nodev,noexec"

        # hutch's own ID map (no uidMappings): container user 1000 is a subordinate ID
        config 'del(.linux.uidMappings, .linux.gidMappings, .linux.seccomp) | .process.user = {"uid": 1000, "gid": 1000, "additionalGids": [1500]}
                | .process.args = ["sh", "-c", "id"]'
        run_hutch oci run --bundle "$BUNDLE" s2
        assert_match "$output" "uid=1000\\(tester\\) gid=1000\\(testers\\) groups=1000\\(testers\\),1500\\(extra\\)"
}

@test "oci: linux.uidMappings beyond your own IDs go through newuidmap" {
        require_subids
        local su sg
        su=$(first_subid uid)
        sg=$(first_subid gid)
        config ".linux.uidMappings = [{\"containerID\": 0, \"hostID\": $(id -u), \"size\": 1}, {\"containerID\": 1, \"hostID\": $su, \"size\": 1000}]
                | .linux.gidMappings = [{\"containerID\": 0, \"hostID\": $(id -g), \"size\": 1}, {\"containerID\": 1, \"hostID\": $sg, \"size\": 1000}]
                | .process.user = {\"uid\": 999, \"gid\": 998}
                | .process.args = [\"sh\", \"-c\", \"id -u; id -g; cat /proc/self/uid_map\"]"
        run_hutch oci run --bundle "$BUNDLE" m1
        assert_equal "${lines[0]}" "999"
        assert_equal "${lines[1]}" "998"
        assert_match "$(echo "${lines[3]}" | tr -s ' ')" "^ ?1 $su 1000$"

        # a host ID that is neither yours nor subordinate: newuidmap refuses
        config ".linux.uidMappings[1].hostID = 1"
        run_hutch 125 oci run --bundle "$BUNDLE" m2
        assert_match "$stderr" "ID maps"
        no_state_left m2
}

@test "oci: a killed monitor takes its container along; state says stopped and delete cleans up" {
        program 'echo > /out/ran; sleep 60'
        run_hutch oci run --detach --bundle "$BUNDLE" k1
        wait_for_path "$OUT/ran"
        pid=$(state_field k1 pid)
        monitor=$(awk '{ print $4 }' "/proc/$pid/stat")
        assert_match "$(cat "/proc/$monitor/comm")" "hutch"
        kill -KILL "$monitor"
        for ((i = 0; i < 100; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
        done
        ! kill -0 "$pid" 2>/dev/null || die "the container outlived its monitor"
        assert_equal "$(state_field k1 status)" "stopped"
        assert_equal "$(state_field k1 pid)" "0"
        run_hutch 125 oci kill k1 KILL
        assert_match "$stderr" "container 'k1' is not running"

        run_hutch oci list --format json
        assert_equal "$(jq -r '.[0].id + " " + .[0].status' <<<"$output")" "k1 stopped"
        run_hutch oci list -q
        assert_equal "$output" "k1"
        run_hutch oci delete k1
        no_state_left k1
}

@test "oci: a config shaped like runc's rootless one (host network, /sys bound, cgroup mount, device rule) runs" {
        config '.linux.namespaces |= map(select(.type != "network"))
                | .mounts |= map(select(.destination != "/sys"))
                | .mounts += [{"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]},
                              {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}]
                | .mounts |= map(if .destination == "/dev/pts" then .options += ["gid=5"] else . end)
                | .linux.resources = {"devices": [{"allow": false, "access": "rwm"}]}
                | .linux.cgroupsPath = "/hutch-test"
                | .process.args = ["sh", "-c", "touch /sys/x 2>&1; grep -c . /proc/net/dev; echo done"]'
        run_hutch oci run --bundle "$BUNDLE" runc1
        assert_match "$output" "touch: /sys/x: Read-only file system"
        # no network namespace: the host's interfaces
        assert_equal "${lines[1]}" "$(grep -c . /proc/net/dev)"
        assert_equal "${lines[-1]}" "done"

        # a mount that would be weaker than asked is refused
        config '.mounts |= map(if .destination == "/proc" then .options = ["ro"] else . end)'
        run_hutch 125 oci run --bundle "$BUNDLE" runc2
        assert_match "$stderr" "hutch mounts /proc itself, without 'ro'"
        no_state_left runc2
}

@test "oci: linux.devices are bound from the host when it has them, else refused" {
        [ -c /dev/fuse ] || skip "no /dev/fuse on this host"
        local maj min
        maj=$((0x$(stat -c %t /dev/fuse)))
        min=$((0x$(stat -c %T /dev/fuse)))
        config ".linux.devices = [{\"type\": \"c\", \"path\": \"/dev/null\", \"major\": 1, \"minor\": 3},
                                  {\"type\": \"c\", \"path\": \"/dev/fuse\", \"major\": $maj, \"minor\": $min}]
                | .process.args = [\"sh\", \"-c\", \"stat -c '%F %t:%T' /dev/fuse /dev/null\"]"
        run_hutch oci run --bundle "$BUNDLE" dev1
        assert_equal "${lines[0]}" "character special file $(printf '%x:%x' "$maj" "$min")"
        assert_equal "${lines[1]}" "character special file 1:3"

        config ".linux.devices = [{\"type\": \"c\", \"path\": \"/dev/fuse\", \"major\": $maj, \"minor\": $((min + 1))}]"
        run_hutch 125 oci run --bundle "$BUNDLE" dev2
        assert_match "$stderr" "'linux.devices': '/dev/fuse' cannot be made"
        no_state_left dev2
}

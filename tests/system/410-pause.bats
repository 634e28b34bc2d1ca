#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the container's shell expands these
# hutch pause / unpause: the cgroup freezer on a cgroup of the container's
# own, which hutch makes only below a cgroup delegated to the user (cgroup
# v2, else the v1 freezer).  tests/run-tests.sh runs the tests inside such a
# cgroup (tests/setup-cgroup.sh, $HUTCH_TEST_CGROUP); without one, the tests
# that need it skip and the error path is tested as is.

load helpers

setup() {
        basic_setup
        require_userns
        import_busybox_image
        mkdir -p "$BATS_TEST_TMPDIR/out"
        TEST_CGROUPS=()
}

teardown() {
        local d
        remove_containers # before their cgroups go
        # the cgroups a test made, children first (a cgroup goes once empty)
        for d in "${TEST_CGROUPS[@]}"; do
                chmod 0755 "$d" 2>/dev/null || true
                # the monitors of removed containers may take a moment to leave
                for _ in $(seq 1 40); do
                        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
                        [ -d "$d" ] || break
                        sleep 0.05
                done
        done
        basic_teardown
}

# cgroup_mount v2|v1: where the cgroup v2 hierarchy, or the v1 freezer
# hierarchy, is mounted (empty when there is none).
cgroup_mount() {
        if [ "$1" = v2 ]; then
                if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
                        echo /sys/fs/cgroup
                elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
                        echo /sys/fs/cgroup/unified
                fi
        elif [ "$(stat -f -c %T /sys/fs/cgroup/freezer 2>/dev/null)" = cgroupfs ]; then
                echo /sys/fs/cgroup/freezer
        fi
}

# proc_cgroup PID v2|v1: the cgroup path of PID in that hierarchy.
proc_cgroup() {
        if [ "$2" = v2 ]; then
                sed -n 's/^0:://p' "/proc/$1/cgroup"
        else
                awk -F: '$2 ~ /(^|,)freezer(,|$)/ { print $3 }' "/proc/$1/cgroup"
        fi
}

# own_cgroup v2|v1: this shell's cgroup directory (empty without one).
own_cgroup() {
        local mount path
        mount=$(cgroup_mount "$1")
        path=$(proc_cgroup "$BASHPID" "$1")
        [ -n "$mount" ] && [ -n "$path" ] || return 0
        echo "$mount${path%/}"
}

# writable_cgroup DIR: we may make cgroups in DIR and move processes there.
writable_cgroup() {
        [ -n "$1" ] && [ -w "$1" ] && [ -w "$1/cgroup.procs" ]
}

# require_delegation v2|v1: skips unless this user may write its own cgroup
# there; fails when tests/run-tests.sh promised one ($HUTCH_TEST_CGROUP).
require_delegation() {
        local d
        [ -n "$(cgroup_mount "$1")" ] || skip "this machine has no $1 hierarchy (for the freezer)"
        d=$(own_cgroup "$1")
        writable_cgroup "$d" && return 0
        if [ -n "${HUTCH_TEST_CGROUP:-}" ]; then
                die "HUTCH_TEST_CGROUP is set, but this user's $1 cgroup '${d:-(none)}' is not writable"
                return 1
        fi
        skip "no $1 cgroup delegated to $(id -un) (tests/setup-cgroup.sh up USER, as root, makes one; run bats through its 'exec')"
}

# sub_cgroup v2|v1 NAME: makes NAME below this shell's cgroup, in $SUB_CGROUP.
sub_cgroup() {
        SUB_CGROUP="$(own_cgroup "$1")/$2-$BATS_TEST_NUMBER"
        mkdir "$SUB_CGROUP" || return 1
        TEST_CGROUPS+=("$SUB_CGROUP")
}

# start_counter NAME [DIR]: a detached container that writes a counter to
# $BATS_TEST_TMPDIR/out/c ten times a second (rename: never half-written).
start_counter() {
        run_hutch run -d --network none --name "$1" -v "$BATS_TEST_TMPDIR/out:/out" bb:1 \
                sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/out/c.tmp; mv /out/c.tmp /out/c; sleep 0.1; done'
        wait_for_file_content "$BATS_TEST_TMPDIR/out/c" '^[0-9]+$'
}

counter() { cat "$BATS_TEST_TMPDIR/out/c"; }

# assert_counter_advances yes|no: whether the counter moves in 0.8 s.
assert_counter_advances() {
        local a b
        a=$(counter)
        sleep 0.8
        b=$(counter)
        if [ "$1" = yes ]; then
                assert "$b" -gt "$a" "the container's counter advances"
        else
                assert "$b" -eq "$a" "the paused container's counter stands still"
        fi
}

# container_cgroup NAME v2|v1: the cgroup directory of the container's init.
container_cgroup() {
        run_hutch inspect --format '{{.State.Pid}}' "$1" >/dev/null
        echo "$(cgroup_mount "$2")$(proc_cgroup "$output" "$2")"
}

# make_undelegated: where this user has delegated cgroups, child cgroups
# of them made read-only, in RO_CGROUPS: processes started there may not
# give a container a cgroup of its own.
make_undelegated() {
        RO_CGROUPS=()
        if writable_cgroup "$(own_cgroup v2)"; then
                sub_cgroup v2 ro
                RO_CGROUPS+=("$SUB_CGROUP")
        fi
        if writable_cgroup "$(own_cgroup v1)"; then
                sub_cgroup v1 ro
                RO_CGROUPS+=("$SUB_CGROUP")
        fi
        if [ ${#RO_CGROUPS[@]} -gt 0 ]; then chmod 0555 "${RO_CGROUPS[@]}"; fi
}

# undelegated CMD...: runs CMD in a subshell moved into RO_CGROUPS.
undelegated() {
        (
                for d in "${RO_CGROUPS[@]}"; do
                        echo "$BASHPID" >"$d/cgroup.procs"
                done
                "$@"
        )
}

# pause_refused NAME: pause fails and says why and what to do.
pause_refused() {
        run_hutch 125 pause "$1"
        assert_error_message "cannot pause container '$1': it has no cgroup of its own to freeze" || return 1
        assert_match "$stderr" "is not writable by you" || return 1
        assert_match "$stderr" "systemd-run --user --scope -p Delegate=yes"
}

@test "pause: without a delegated cgroup, a clear error that says how to get one; the container runs on" {
        make_undelegated
        undelegated start_counter plain
        undelegated pause_refused plain
        run_hutch ps --format json
        assert_equal "$(jq -r '.[0].State' <<<"$output")" running
        run_hutch inspect --format '{{.State.Paused}}' plain
        assert_equal "$output" false
        assert_counter_advances yes
        run_hutch exec plain echo still-here
        assert_equal "$output" still-here
        run_hutch 125 unpause plain
        assert_error_message "container 'plain' is not paused"
        if [ ${#RO_CGROUPS[@]} -gt 0 ]; then
                # from a delegated cgroup: the container just needs a restart
                run_hutch 125 pause plain
                assert_error_message "it was started without a cgroup of its own; restart it"
        fi
}

@test "pause: bad arguments and containers that do not run" {
        run_hutch 125 pause
        assert_error_message "needs at least one CONTAINER"
        run_hutch 125 unpause
        assert_error_message "needs at least one CONTAINER"
        run_hutch 125 pause nosuch
        assert_error_message "nosuch"
        run_hutch create --network none --name made bb:1 true
        run_hutch 125 pause made
        assert_error_message "container 'made' is not running"
        run_hutch 125 unpause made
        assert_error_message "container 'made' is not running"
        run_hutch pause --help
        assert_match "$output" "pause"
}

@test "pause: the cgroup v2 freezer stops every process of the container; unpause resumes them" {
        require_delegation v2
        start_counter c1
        assert_counter_advances yes
        local cg
        cg=$(container_cgroup c1 v2)
        assert_match "$cg" "/hutch-[0-9a-f]{12}$" "the container has a cgroup of its own"
        run_hutch pause c1
        assert_equal "$output" c1
        grep -qx "frozen 1" "$cg/cgroup.events" || die "the kernel does not report $cg frozen: $(cat "$cg/cgroup.events")"
        assert_counter_advances no
        run_hutch ps --format json
        assert_equal "$(jq -r '.[0].State' <<<"$output")" paused
        assert_match "$(jq -r '.[0].Status' <<<"$output")" "^Up .* \(Paused\)$"
        run_hutch ps
        assert_match "$output" "(Paused)"
        run_hutch ps --filter status=paused -q
        assert_equal "${#lines[@]}" 1
        run_hutch ps --format '{{.Names}} {{.State}}'
        assert_equal "$output" "c1 paused"
        run_hutch inspect --format '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' c1
        assert_equal "$output" "paused true true"
        run_hutch 125 exec c1 true
        assert_error_message "container 'c1' is paused: unpause it first"
        run_hutch 125 pause c1
        assert_error_message "container 'c1' is already paused"
        run_hutch unpause c1
        assert_equal "$output" c1
        grep -qx "frozen 0" "$cg/cgroup.events" || die "$cg still frozen: $(cat "$cg/cgroup.events")"
        assert_counter_advances yes
        run_hutch inspect --format '{{.State.Status}} {{.State.Paused}}' c1
        assert_equal "$output" "running false"
        # processes exec'd into it are frozen with it
        run_hutch exec -d c1 sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/out/e.tmp; mv /out/e.tmp /out/e; sleep 0.1; done'
        wait_for_file_content "$BATS_TEST_TMPDIR/out/e" '^[0-9]+$'
        run_hutch pause c1
        local e1 e2
        e1=$(cat "$BATS_TEST_TMPDIR/out/e")
        sleep 0.5
        e2=$(cat "$BATS_TEST_TMPDIR/out/e")
        assert_equal "$e2" "$e1" "the exec'd process is frozen too"
        run_hutch unpause c1
        run_hutch rm -f c1
        [ ! -e "$cg" ] || die "the container's cgroup '$cg' is left after rm"
}

@test "pause: stop, kill and rm -f of a paused container finish at once" {
        require_delegation v2
        local t0
        start_counter s1
        run_hutch pause s1
        t0=$SECONDS
        run_hutch stop -t 2 s1
        assert "$((SECONDS - t0))" -le 6 "stop of a paused container does not hang"
        run_hutch ps -a --format json
        assert_equal "$(jq -r '.[0].State' <<<"$output")" exited
        run_hutch start s1
        run_hutch pause s1
        run_hutch kill s1
        run_hutch wait s1
        assert_equal "$output" 137
        start_counter s2
        run_hutch pause s2
        t0=$SECONDS
        run_hutch rm -f s2
        assert "$((SECONDS - t0))" -le 6 "rm -f of a paused container does not hang"
        run_hutch ps -aq --filter name=s2
        assert_equal "$output" ""
}

@test "pause: the cgroup v1 freezer where only that is delegated" {
        require_delegation v1
        require_delegation v2
        # The container starts from a v2 cgroup made read-only: the v1
        # freezer is all hutch may use.
        sub_cgroup v2 ro
        local ro=$SUB_CGROUP
        (
                echo "$BASHPID" >"$ro/cgroup.procs"
                chmod 0555 "$ro"
                start_counter f1
        )
        local cg
        cg=$(container_cgroup f1 v1)
        assert_match "$cg" "/hutch-[0-9a-f]{12}$" "the container has a freezer cgroup of its own"
        run_hutch pause f1
        assert_equal "$(cat "$cg/freezer.state")" FROZEN
        assert_counter_advances no
        run_hutch inspect --format '{{.State.Status}}' f1
        assert_equal "$output" paused
        run_hutch unpause f1
        assert_equal "$(cat "$cg/freezer.state")" THAWED
        assert_counter_advances yes
        run_hutch pause f1
        local t0=$SECONDS
        run_hutch stop -t 1 f1
        assert "$((SECONDS - t0))" -le 6 "stop of a paused container does not hang"
}

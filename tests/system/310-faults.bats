#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2030,SC2031 # bats runs each test in a subshell
# shellcheck disable=SC2012 # ls of digest-named files
# Faults of the store: a full disk for real (a small tmpfs that root mounts
# for us, $HUTCH_TEST_SMALLFS: tests/setup-smallfs.sh) during load, unpack,
# create, run and save; and load, create, run, rm and rmi killed with SIGKILL
# at random points.  Whatever happens, the error names what was written,
# nothing half-made is listed or trusted, and the next commands work.
#
# The archives are made here by `hutch import` and `hutch save` in a store
# of their own on the ordinary disk.

load helpers

setup_file() {
        basic_setup_file || return 1
        # XDG_RUNTIME_DIR of this setup only; each test gets its own.
        local fix="$BATS_FILE_TMPDIR/fixtures" d
        mkdir -p "$fix/run" "$fix/data"
        chmod 0700 "$fix/run"
        local -a h=("$HUTCH" --root "$fix/store" --runroot "$fix/run/hutch")
        tar -C "$ROOTFS" -cf "$fix/rootfs.tar" .
        # random content: nothing compresses it
        for size in 25 50; do
                d="$fix/data$size"
                mkdir -p "$d/data"
                head -c "${size}M" /dev/urandom >"$d/data/blob"
                tar -C "$d" -cf "$fix/data$size.tar" .
                rm -rf "$d"
        done
        if ! { XDG_RUNTIME_DIR="$fix/run" "${h[@]}" import "$fix/rootfs.tar" bb:1 >/dev/null &&
                XDG_RUNTIME_DIR="$fix/run" "${h[@]}" import "$fix/data25.tar" mid:1 >/dev/null &&
                XDG_RUNTIME_DIR="$fix/run" "${h[@]}" import "$fix/data50.tar" big:1 >/dev/null &&
                XDG_RUNTIME_DIR="$fix/run" "${h[@]}" save -o "$fix/bb.tar" bb:1 &&
                XDG_RUNTIME_DIR="$fix/run" "${h[@]}" save -o "$fix/mid.tar" mid:1 &&
                XDG_RUNTIME_DIR="$fix/run" "${h[@]}" save -o "$fix/big.tar" big:1 &&
                XDG_RUNTIME_DIR="$fix/run" "${h[@]}" save -o "$fix/multi.tar" bb:1 mid:1; }; then
                die "making the archives failed"
                return 1
        fi
        XDG_RUNTIME_DIR="$fix/run" "${h[@]}" unshare rm -rf "$fix/store"
        rm -f "$fix/data25.tar" "$fix/data50.tar" "$fix/rootfs.tar"
}

setup() {
        basic_setup
        require_userns
        FIX="$BATS_FILE_TMPDIR/fixtures"
        SMALL=
}

teardown() {
        if [ -n "$SMALL" ]; then
                chmod -R u+w "$SMALL" 2>/dev/null || true
        fi
        basic_teardown
        # the small filesystem is shared by the tests of the file
        if [ -n "$SMALL" ]; then
                rm -rf "$SMALL"
        fi
}

# use_smallfs: the test's store on the small filesystem, in $SMALL; skips
# when there is none (bats run by hand without tests/setup-smallfs.sh).
use_smallfs() {
        if [ -z "${HUTCH_TEST_SMALLFS:-}" ]; then
                skip "no small filesystem to fill: as root, 'tests/setup-smallfs.sh up $(id -un)' mounts one; pass its path in HUTCH_TEST_SMALLFS"
        fi
        if [ ! -d "$HUTCH_TEST_SMALLFS" ] || [ ! -w "$HUTCH_TEST_SMALLFS" ]; then
                die "HUTCH_TEST_SMALLFS='$HUTCH_TEST_SMALLFS' is not a directory writable by $(id -un)"
                return 1
        fi
        SMALL="$HUTCH_TEST_SMALLFS/t$BATS_TEST_NUMBER"
        mkdir "$SMALL"
        chmod 0700 "$SMALL"
        export HUTCH_ROOT="$SMALL/store"
        local avail
        avail=$(df -k --output=avail "$HUTCH_TEST_SMALLFS" | tail -n1)
        assert "$avail" -ge 36000 "the small filesystem starts (nearly) empty: ${avail} KB free" || return 1
}

# used_kb: KB in use on the small filesystem.
used_kb() { df -k --output=used "$HUTCH_TEST_SMALLFS" | tail -n1; }

# fill_up: fills the small filesystem to the last block.
fill_up() {
        cat /dev/zero >"$SMALL/fill" 2>/dev/null || true
        assert "$(df -k --output=avail "$HUTCH_TEST_SMALLFS" | tail -n1)" -eq 0 "the filesystem is full"
}

# store_listing: what the store holds (images, layers, blobs, staging).
store_listing() {
        "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" images -q --no-trunc
        ls -A "$HUTCH_ROOT/layers" "$HUTCH_ROOT/blobs/sha256" "$HUTCH_ROOT/tmp"
}

@test "disk full: a load bigger than the space fails clearly, keeps what was there and gives the space back" {
        use_smallfs
        run_hutch load -i "$FIX/bb.tar"
        assert_equal "$output" "Loaded image: localhost/bb:1"
        local before used
        before=$(store_listing)
        used=$(used_kb)

        # 50 MB on 40 MB: the staging of the layer blob fails
        run_hutch 125 load -i "$FIX/big.tar"
        assert_error_message "No space left on device"
        assert_match "$stderr" "stage '[^']*' of the archive: write to '$HUTCH_ROOT/tmp'"
        assert_equal "$(store_listing)" "$before" "nothing stored, nothing lost"
        assert "$(used_kb)" -le "$((used + 64))" "the space is given back"

        # 25 MB fits staged, not staged and unpacked as well: unpacking fails
        run_hutch 125 load -i "$FIX/mid.tar"
        assert_error_message "No space left on device"
        assert_match "$stderr" "layer sha256:[0-9a-f]{64}: unpack into '$HUTCH_ROOT/tmp/[^']*'"
        assert_equal "$(store_listing)" "$before" "nothing stored, nothing lost"
        assert "$(used_kb)" -le "$((used + 64))" "the space is given back"

        # the image loaded before still runs; nothing of the failed loads
        # is trusted by the next one
        run_hutch run --rm --network none bb:1 echo still-runs
        assert_equal "$output" still-runs
        run_hutch images --format json
        assert_equal "$(jq -r '.[].Names[]' <<<"$output")" "localhost/bb:1"
        run_hutch rmi bb:1
        assert_equal "$(find "$HUTCH_ROOT/layers" "$HUTCH_ROOT/blobs/sha256" "$HUTCH_ROOT/tmp" -mindepth 1 -maxdepth 1)" "" \
                "rmi left nothing behind"
        run_hutch load -i "$FIX/bb.tar"
        run_hutch run --rm --network none bb:1 echo runs-again
        assert_equal "$output" runs-again
}

@test "disk full: create and run fail clearly when the container's directory or record cannot be made" {
        use_smallfs
        run_hutch load -q -i "$FIX/bb.tar"
        fill_up
        run_hutch 125 create --network none --name c1 bb:1 true
        assert_error_message "container 'c1' in '$HUTCH_ROOT/containers/[0-9a-f]{64}'.*No space left on device"
        run_hutch 125 run --network none --name c2 bb:1 true
        assert_error_message "container 'c2' in '$HUTCH_ROOT/containers/[0-9a-f]{64}'.*No space left on device"
        run_hutch ps -aq
        assert_equal "$output" "" "nothing half-made is listed"
        assert_equal "$(ls "$HUTCH_ROOT/containers")" "containers.lock" "nothing half-made is left"
        # the name is free again once there is space
        rm -f "$SMALL/fill"
        run_hutch run --network none --name c1 bb:1 echo made
        assert_equal "$output" made

        # a containers directory that refuses new entries
        chmod 0500 "$HUTCH_ROOT/containers"
        run_hutch 125 create --network none --name c3 bb:1 true
        assert_error_message "create '$HUTCH_ROOT/containers/[0-9a-f]{64}': Permission denied"
        chmod 0700 "$HUTCH_ROOT/containers"
        run_hutch ps -a --format json
        assert_equal "$(jq -r '.[].Names[0]' <<<"$output")" c1
}

@test "disk full: save -o onto a full filesystem fails clearly and leaves no partial file" {
        use_smallfs
        run_hutch load -q -i "$FIX/bb.tar"
        fill_up
        run_hutch 125 save -o "$SMALL/out.tar" bb:1
        assert_error_message "save: '$SMALL/out.tar': .*No space left on device"
        assert_equal "$(ls "$SMALL")" "fill
store" "no partial archive, no temporary file"
        rm -f "$SMALL/fill"
        run_hutch save -o "$SMALL/out.tar" bb:1
        run_hutch rmi bb:1
        run_hutch load -i "$SMALL/out.tar"
        assert_equal "$output" "Loaded image: localhost/bb:1"
}

# ---- SIGKILL at random points ----

# assert_images_whole: every listed image has all its layers: a killed
# command never leaves a record naming something half-made.
assert_images_whole() {
        local id chain
        run_hutch images -q --no-trunc
        for id in "${lines[@]}"; do
                run_hutch image inspect "$id"
                while read -r chain; do
                        [ -d "$HUTCH_ROOT/layers/$chain" ] || die "image $id lists layer $chain, which is missing"
                done < <(sed -n 's/^ *"ChainID": "sha256:\([0-9a-f]*\)".*/\1/p' <<<"$output")
        done
}

@test "faults: load and unpack killed with SIGKILL at 20 random points; the next commands repair or ignore what it left" {
        local i max
        max=$(duration_ms load -q -i "$FIX/multi.tar")
        run_hutch rmi bb:1 mid:1
        for i in $(seq 1 20); do
                kill_at_random "$max" load -q -i "$FIX/multi.tar"
                assert_images_whole
                # half the time from an empty store, half over what is there
                if [ $((i % 2)) -eq 0 ]; then
                        run_hutch images -q
                        if [ ${#lines[@]} -gt 0 ]; then run_hutch rmi -f "${lines[@]}"; fi
                fi
        done
        run_hutch load -i "$FIX/multi.tar"
        assert_match "$output" "Loaded image: localhost/bb:1"
        assert_match "$output" "Loaded image: localhost/mid:1"
        assert_equal "$(ls -A "$HUTCH_ROOT/tmp")" "" "staging cleaned"
        run_hutch unshare sh -c "ls -A '$HUTCH_ROOT/layers' '$HUTCH_ROOT/images' | grep -c tmp- || true"
        assert_equal "$output" 0 "no temporary layer or record left"
        run_hutch run --rm --network none bb:1 ls /bin/busybox
        assert_equal "$output" /bin/busybox
        run_hutch image inspect mid:1
        local chain
        chain=$(sed -n 's/^ *"ChainID": "sha256:\([0-9a-f]*\)".*/\1/p' <<<"$output")
        run_hutch unshare sh -c "wc -c <'$HUTCH_ROOT/layers/$chain/data/blob'"
        assert_equal "$output" 26214400 "the 25 MB layer is whole"
        assert_images_whole
}

@test "faults: create, run -d, rm and rmi killed with SIGKILL at 20 random points leave nothing half-made" {
        local i max_create max_run max_rm max_rmi name
        run_hutch load -q -i "$FIX/bb.tar"
        max_create=$(duration_ms create --network none --name m1 bb:1 true)
        max_run=$(duration_ms run -d --network none --name m2 bb:1 sleep 1000)
        max_rm=$(duration_ms rm -f m1 m2)
        run_hutch tag bb:1 other:1
        max_rmi=$(duration_ms rmi other:1)
        for i in $(seq 1 20); do
                name="k$i"
                case $((RANDOM % 4)) in
                0) kill_at_random "$max_create" create --network none --name "$name" bb:1 true ;;
                1) kill_at_random "$max_run" run -d --network none --name "$name" bb:1 sleep 1000 ;;
                2)
                        run_hutch run -d --network none --name "$name" bb:1 sleep 1000
                        kill_at_random "$max_rm" rm -f "$name"
                        ;;
                3)
                        run_hutch tag bb:1 "other:$i"
                        kill_at_random "$max_rmi" rmi "other:$i"
                        ;;
                esac
                # the store answers after every kill, and what it lists is whole
                run_hutch ps -a --format json
                run_hutch images
                assert_images_whole
        done
        # every container listed works: created ones start, all are removable
        run_hutch ps -a --format json
        local -a names
        mapfile -t names < <(jq -r '.[] | select(.State == "created") | .Names[0]' <<<"$output")
        for name in "${names[@]}"; do
                run_hutch start "$name"
                run_hutch inspect --format '{{.State.Status}}' "$name"
                assert_match "$output" "^(running|exited)$" "'$name' started"
        done
        run_hutch ps -a --format json
        mapfile -t names < <(jq -r '.[].Names[0]' <<<"$output")
        for name in "${names[@]}"; do
                run_hutch rm -f "$name"
        done
        run_hutch ps -aq
        assert_equal "$output" ""
        run_hutch run --rm --network none bb:1 echo still-fine
        assert_equal "$output" still-fine
        run_hutch run --network none --name k1 bb:1 echo name-free
        assert_equal "$output" name-free
        run_hutch images --format json
        assert_equal "$(jq -r '[.[].Names[] | select(startswith("localhost/bb:"))] | length' <<<"$output")" 1
}

@test "faults: a run-time directory left by a killed run is replaced; one in use is never taken over" {
        run_hutch load -q -i "$FIX/bb.tar"
        run_hutch create --network none --name st bb:1 echo started
        local id=$output
        # what a `hutch run` killed between making its run-time directory
        # and removing it leaves (also with a lock file nobody holds)
        mkdir -p "$HUTCH_RUNROOT/$id/mnt"
        : >"$HUTCH_RUNROOT/$id/.lock"
        echo stale >"$HUTCH_RUNROOT/$id/resolv.conf"
        run_hutch start -a st
        assert_equal "$output" started
        [ ! -e "$HUTCH_RUNROOT/$id" ] || die "the run-time directory is left after the container exited"
        # a directory whose lock another process holds: refused, and kept
        mkdir -p "$HUTCH_RUNROOT/$id"
        setsid flock "$HUTCH_RUNROOT/$id/.lock" -c "echo locked >'$BATS_TEST_TMPDIR/locked'; exec sleep 60" 3>&- &
        local holder=$!
        wait_for_file_content "$BATS_TEST_TMPDIR/locked" locked 10
        run_hutch 125 start -a st
        assert_error_message "'$HUTCH_RUNROOT/$id' is in use: the container is starting or running"
        [ -e "$HUTCH_RUNROOT/$id/.lock" ] || die "another's run-time directory was removed"
        kill -- "-$holder" 2>/dev/null || true
        wait "$holder" 2>/dev/null || true
        # a running container's own directory is locked by its monitor
        run_hutch run -d --network none --name live bb:1 sleep 1000
        local live=$output
        run_hutch 125 start live
        assert_error_message "already running"
        [ -e "$HUTCH_RUNROOT/$live/.lock" ] || die "the running container lost its run-time directory"
        run_hutch rm -f live
}

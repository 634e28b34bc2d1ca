#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the container's shell expands these
# Named volumes, --mount and --tmpfs.

load helpers

setup() {
        basic_setup
        IMAGE_TAR="$BATS_FILE_TMPDIR/rootfs.tar"
        if [ ! -e "$IMAGE_TAR" ]; then
                tar -C "$ROOTFS" -cf "$IMAGE_TAR" .
        fi
        run_hutch import "$IMAGE_TAR" bb:1
}

@test "volumes: -v NAME:/path creates the volume, seeds it from the image, and keeps data across containers" {
        run_hutch run --rm --network none -v data:/etc bb:1 cat /etc/passwd
        assert_match "$output" "^root:"
        run_hutch volume ls
        assert_match "$output" "local +data"
        run_hutch run --rm --network none -u tester -v data:/etc bb:1 sh -c 'touch /etc/by-tester 2>/dev/null || echo denied'
        assert_equal "$output" "denied" "seeded files keep the image's owners"
        run_hutch run --rm --network none -v data:/etc bb:1 sh -c 'echo kept > /etc/note'
        run_hutch run --rm --network none -v data:/other bb:1 cat /other/note
        assert_equal "$output" "kept"
        run_hutch volume inspect data
        assert_equal "$(jq -r '.[0].Name' <<<"$output")" "data"
        mountpoint=$(jq -r '.[0].Mountpoint' <<<"$output")
        [ -f "$mountpoint/note" ] || die "no note in $mountpoint"
        run_hutch volume rm data
        run_hutch volume ls -q
        assert_equal "$output" ""
}

@test "volumes: create, ls --format json, rm of a volume in use, prune" {
        run_hutch volume create cache
        assert_equal "$output" "cache"
        run_hutch 125 volume create cache
        assert_match "$stderr" "already exists"
        run_hutch 125 volume create 'bad/name'
        run_hutch volume create
        assert_match "$output" '^[0-9a-f]{64}$'
        run_hutch run --network none --name user1 -v cache:/c bb:1 true
        run_hutch 125 volume rm cache
        assert_match "$stderr" "used by container 'user1'"
        run_hutch volume prune
        assert_equal "${#lines[@]}" "1" "only the anonymous one goes"
        run_hutch volume ls --format json
        assert_equal "$(jq -r '.[].Name' <<<"$output")" "cache"
        run_hutch rm user1
        run_hutch volume rm cache
        run_hutch 125 volume rm cache
        assert_match "$stderr" "no such volume"
}

@test "volumes: --mount type=volume|bind|tmpfs and --tmpfs; bad specs are refused" {
        mkdir -p "$BATS_TEST_TMPDIR/host"
        echo from-host >"$BATS_TEST_TMPDIR/host/f"
        run_hutch run --rm --network none \
                --mount "type=bind,source=$BATS_TEST_TMPDIR/host,target=/h,readonly" \
                --mount type=volume,src=mv,dst=/v \
                --mount type=tmpfs,target=/t,tmpfs-size=1m \
                --tmpfs /scratch:size=2m,mode=1777 \
                bb:1 sh -c 'cat /h/f; touch /h/x 2>/dev/null || echo ro; touch /v/y && echo vol; grep -E " /(t|scratch) " /proc/mounts | cut -d" " -f2,3 | sort'
        assert_equal "$output" "$(printf 'from-host\nro\nvol\n/scratch tmpfs\n/t tmpfs')"
        run_hutch 125 run --rm --network none --mount type=nfs,target=/x bb:1 true
        run_hutch 125 run --rm --network none --mount type=bind,source=relative,target=/x bb:1 true
        run_hutch 125 run --rm --network none --tmpfs relative bb:1 true
        run_hutch 125 run --rm --network none --tmpfs /x:exec bb:1 true
        run_hutch volume rm mv
}

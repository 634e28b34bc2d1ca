#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the container's shell expands these
# Named volumes, --mount and --tmpfs.

load helpers

setup() {
        basic_setup
        import_busybox_image
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

@test "volumes: :U chowns the source to the container user through the ID map; links are not followed" {
        require_subids
        local dir="$BATS_TEST_TMPDIR/u" outside="$BATS_TEST_TMPDIR/outside" ubase gbase
        ubase=$(first_subid uid)
        gbase=$(first_subid gid)
        mkdir -p "$dir/sub"
        echo x >"$dir/sub/f"
        echo keep >"$outside"
        ln -s "$outside" "$dir/link"
        chmod 0700 "$dir"
        run_hutch run --rm --network none -u 1000:1500 -v "$dir:/d:U" bb:1 sh -c \
                'touch /d/new && stat -c %u:%g /d /d/sub/f /d/new'
        assert_equal "$output" "1000:1500
1000:1500
1000:1500"
        assert_equal "$(stat -c %u:%g "$dir")" "$((ubase + 999)):$((gbase + 1499))" \
                "owned by the subordinate IDs of 1000:1500 on the host"
        assert_equal "$(stat -c %u:%g "$outside")" "$(id -u):$(id -g)" "a symlink's target outside is untouched"
        # --mount ...,U and :ro,U (chowned, mounted read-only), to the image's USER name
        run_hutch run --rm --network none -u tester --mount "type=bind,src=$dir,dst=/d,U" bb:1 stat -c %u /d/sub
        assert_equal "$output" 1000
        run_hutch run --rm --network none -v "$dir:/d:ro,U" bb:1 sh -c 'stat -c %u /d; touch /d/x 2>/dev/null || echo ro'
        assert_equal "$output" "0
ro"
        assert_equal "$(stat -c %u "$dir")" "$(id -u)" "back to container root: the user"
        run_hutch 125 run --rm --network none -v "$dir:/d:U,bogus" bb:1 true
        assert_error_message "unknown option 'bogus'"
        run_hutch 125 run --rm --network none --mount type=tmpfs,dst=/t,U bb:1 true
        assert_error_message "U is for bind and volume mounts"
        run_hutch unshare rm -rf "$dir"
}

# An image with VOLUME /data whose /data holds a file.
make_volume_image() {
        local tree="$BATS_TEST_TMPDIR/vimg"
        mkdir -p "$tree/data"
        echo seeded >"$tree/data/seed"
        tar -C "$ROOTFS" -cf "$BATS_TEST_TMPDIR/vimg.tar" .
        tar -C "$tree" -rf "$BATS_TEST_TMPDIR/vimg.tar" ./data
        run_hutch import --change 'VOLUME /data' "$BATS_TEST_TMPDIR/vimg.tar" vimg:1
}

@test "volumes: the image's VOLUME is an anonymous volume, seeded, kept across starts, removed by rm -v" {
        require_cmd jq
        make_volume_image
        run_hutch create --network none --name v1 vimg:1 sh -c 'cat /data/seed; ls /data; date >> /data/log'
        run_hutch start -a v1
        assert_equal "$output" "seeded
seed"
        run_hutch start -a v1
        assert_equal "$output" "seeded
log
seed" "data persists across starts"
        run_hutch inspect v1
        local name
        name=$(jq -r '.[0].Mounts[] | select(.Destination == "/data") | .Name' <<<"$output")
        assert_match "$name" '^[0-9a-f]{64}$' "an anonymous volume's name"
        assert_equal "$(jq -r '.[0].Mounts[0].Type' <<<"$output")" "volume"
        [ -f "$(jq -r '.[0].Mounts[0].Source' <<<"$output")/log" ] || die "Source is not the volume's data"
        run_hutch volume ls -q
        assert_equal "$output" "$name"
        run_hutch 125 volume rm "$name"
        assert_match "$stderr" "used by container 'v1'"
        # plain rm keeps it
        run_hutch rm v1
        run_hutch volume ls -q
        assert_equal "$output" "$name"
        run_hutch volume rm "$name"
        # rm -v removes it
        run_hutch run --network none --name v2 vimg:1 true
        run_hutch volume ls -q
        assert_match "$output" '^[0-9a-f]{64}$'
        run_hutch rm -v v2
        run_hutch volume ls -q
        assert_equal "$output" "" "rm -v removed the anonymous volume"
}

@test "volumes: run --rm removes the image's anonymous volume; a -v at the same path wins" {
        make_volume_image
        run_hutch run --rm --network none vimg:1 sh -c 'cat /data/seed; grep -c " /data " /proc/mounts'
        assert_equal "$output" "seeded
1"
        run_hutch volume ls -q
        assert_equal "$output" "" "--rm removed it"
        run_hutch run -d --rm --network none --name drm vimg:1 true
        for _ in $(seq 100); do
                run_hutch volume ls -q
                [ -z "$output" ] && break
                sleep 0.1
        done
        assert_equal "$output" "" "-d --rm removed it too"
        mkdir -p "$BATS_TEST_TMPDIR/mine"
        echo mine >"$BATS_TEST_TMPDIR/mine/f"
        run_hutch run --rm --network none -v "$BATS_TEST_TMPDIR/mine:/data" vimg:1 ls /data
        assert_equal "$output" "f" "the user's bind mount wins"
        run_hutch run --rm --network none --mount type=volume,src=named,dst=/data/ vimg:1 cat /data/seed
        assert_equal "$output" "seeded" "a named volume there is seeded instead"
        run_hutch volume ls -q
        assert_equal "$output" "named" "no anonymous volume was made"
}

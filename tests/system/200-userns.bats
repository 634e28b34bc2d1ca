#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2030,SC2031 # bats runs each test in a subshell
# shellcheck disable=SC2016 # the container's shell expands these
# The user namespace: the ID maps, file ownership on the host, user
# switching, and the single-ID fallback.
#
# Tests named "[nosub] ..." need a user without subordinate ranges:
# tests/run-tests.sh runs them as hutchnosub (bats --filter '\[nosub\]'), with
# /dev/fuse and /dev/net/tun made inaccessible to it.  They skip otherwise.

load helpers

@test "userns: uid_map and gid_map inside: 0 -> the user, 1.. -> the subordinate ranges" {
        require_subids
        run_hutch run --rm --rootfs "$ROOTFS" cat /proc/self/uid_map
        assert_equal "$(normalize_map "$output")" "$(expected_id_map uid)" "uid_map"
        assert_equal "$stderr" "" "no warning with a full map"
        run_hutch run --rm --rootfs "$ROOTFS" cat /proc/self/gid_map
        assert_equal "$(normalize_map "$output")" "$(expected_id_map gid)" "gid_map"
        # Supplementary groups need setgroups(2), which newgidmap leaves allowed.
        run_hutch run --rm --rootfs "$ROOTFS" cat /proc/self/setgroups
        assert_equal "$output" allow "setgroups"
}

@test "userns: root in the container is the user; inside IDs are the container's" {
        require_subids
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'id -u; id -g; id -G'
        assert_equal "$output" "0
0
0"
        # The container's root has a full set of capabilities in its own namespace only.
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'grep ^CapEff /proc/self/status'
        assert_match "$output" "^CapEff:[[:space:]]+[0-9a-f]+$"
}

@test "userns: a file made by container UID 1000 on a volume belongs to subordinate ID base+999" {
        require_subids
        local vol="$BATS_TEST_TMPDIR/vol"
        mkdir "$vol"
        chmod 0777 "$vol"
        local ubase gbase
        ubase=$(first_subid uid)
        gbase=$(first_subid gid)
        run_hutch run --rm --rootfs "$ROOTFS" -v "$vol:/data" -u 1000:1000 sh -c 'touch /data/by-1000; id -u'
        assert_equal "$output" 1000
        assert_equal "$(stat -c %u:%g "$vol/by-1000")" "$((ubase + 999)):$((gbase + 999))" "owner on the host"

        # Container root's files belong to the user; chown to container IDs maps too.
        run_hutch run --rm --rootfs "$ROOTFS" -v "$vol:/data" sh -c \
                'touch /data/by-root /data/chowned; chown 1500:1500 /data/chowned; stat -c %u:%g /data/by-1000'
        assert_equal "$output" "1000:1000" "the host's owner seen inside"
        assert_equal "$(stat -c %u:%g "$vol/by-root")" "$(id -u):$(id -g)"
        assert_equal "$(stat -c %u:%g "$vol/chowned")" "$((ubase + 1499)):$((gbase + 1499))"
        # Files of other IDs in a directory of the user's own: it may remove them.
        rm -f "$vol"/*
}

@test "userns: -u tester runs as uid 1000 with its groups 1000 and 1500 from the container's files" {
        require_subids
        run_hutch run --rm --rootfs "$ROOTFS" -u tester sh -c 'id -u; id -g; id -G | tr " " "\n" | sort -n | tr "\n" " "'
        assert_equal "$output" "1000
1000
1000 1500 "
        run_hutch run --rm --rootfs "$ROOTFS" --user tester id -un
        assert_equal "$output" tester
}

@test "userns: -u UID:GID, -u NAME:GROUP, -u UID and -u 0" {
        require_subids
        run_hutch run --rm --rootfs "$ROOTFS" -u 1000:1500 sh -c 'id -u; id -g'
        assert_equal "$output" "1000
1500"
        run_hutch run --rm --rootfs "$ROOTFS" -u tester:extra sh -c 'id -u; id -g'
        assert_equal "$output" "1000
1500"
        run_hutch run --rm --rootfs "$ROOTFS" -u daemon sh -c 'id -u; id -g'
        assert_equal "$output" "1
1"
        run_hutch run --rm --rootfs "$ROOTFS" -u 4242 sh -c 'id -u'
        assert_equal "$output" 4242 "a numeric UID need not be in /etc/passwd"
        run_hutch run --rm --rootfs "$ROOTFS" -u 0 id -u
        assert_equal "$output" 0
}

@test "userns: a switched user cannot write root's files and keeps no capabilities" {
        require_subids
        run_hutch '?' run --rm --rootfs "$ROOTFS" -u tester sh -c 'echo x >> /etc/passwd'
        assert "$status" -ne 0 "uid 1000 cannot write root's /etc/passwd"
        assert_match "$stderr" "[Pp]ermission denied"
        run_hutch run --rm --rootfs "$ROOTFS" -u tester sh -c 'grep ^CapEff /proc/self/status'
        assert_match "$output" "^CapEff:[[:space:]]+0+$" "no effective capabilities"
}

@test "userns: bad --user values are errors (exit 125) naming them" {
        require_subids
        run_hutch 125 run --rm --rootfs "$ROOTFS" -u no-such-user true
        assert_error_message "no-such-user"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -u tester:no-such-group true
        assert_error_message "no-such-group"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -u 1000:x:y true
        assert_error_message "1000:x:y"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -u '' true
        assert_error_message "user"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -u -5 true
        assert_error_message "-5"
}

@test "userns: single-ID fallback when newuidmap is unavailable (HUTCH_NEWUIDMAP=/nonexistent)" {
        HUTCH_NEWUIDMAP=/nonexistent run_hutch run --rm --rootfs "$ROOTFS" sh -c 'cat /proc/self/uid_map; id -u'
        assert_equal "$(normalize_map "$output")" "0 $(id -u) 1" "uid_map is a single ID"
        assert_equal "${lines[-1]}" 0 "the container runs as root"
        assert_equal "${#stderr_lines[@]}" 1 "exactly one warning line (stderr: $stderr)"
        assert_match "$stderr" "newuidmap" "the warning names the missing helper"
        # The fix for a missing helper is the package; for missing ranges, usermod.
        assert_match "$stderr" "install uidmap|usermod --add-subuids" "the warning names the fix"
}

@test "[nosub] single-ID fallback for a user without subordinate ranges" {
        if [ -n "$(subid_ranges uid)" ]; then
                skip "$(id -un) has subordinate ranges (the hutchnosub pass of tests/run-tests.sh runs this)"
        fi
        # --network none: this pass also has no usable /dev/net/tun (see below).
        run_hutch run --rm --network none --rootfs "$ROOTFS" sh -c \
                'cat /proc/self/uid_map; cat /proc/self/gid_map; id -u; echo ok'
        assert_equal "$(normalize_map "$output")" "0 $(id -u) 1
0 $(id -g) 1" "uid_map and gid_map are single IDs"
        assert_equal "${lines[-1]}" ok
        assert_equal "${lines[-2]}" 0 "the container runs as root"
        assert_equal "${#stderr_lines[@]}" 1 "exactly one warning line (stderr: $stderr)"
        assert_match "$stderr" "usermod --add-subuids" "the warning names the fix"

        # The rest of a run works the same.
        local vol="$BATS_TEST_TMPDIR/vol"
        mkdir "$vol"
        run_hutch 7 run --rm --network none --rootfs "$ROOTFS" -v "$vol:/data" --hostname single sh -c \
                'echo $$ $(hostname) > /data/f; exit 7'
        assert_equal "$(cat "$vol/f")" "1 single"
        assert_equal "$(stat -c %u "$vol/f")" "$(id -u)"

        # Without newgidmap, gid_map can only be written with setgroups denied.
        run_hutch run --rm --network none --rootfs "$ROOTFS" cat /proc/self/setgroups
        assert_equal "$output" deny
        # A user the map cannot hold is a clear error, not a container running as someone else.
        run_hutch 125 run --rm --network none --rootfs "$ROOTFS" -u 1000 id -u
        assert_error_message "1000"
        assert_equal "$output" "" "the container did not run"
}

@test "[nosub] /dev/fuse unusable: --storage-driver fuse-overlayfs fails naming chmod 0666 /dev/fuse" {
        if (exec 9<>/dev/fuse) 2>/dev/null; then
                skip "/dev/fuse is usable by $(id -un) (the hutchnosub pass of tests/run-tests.sh runs this)"
        fi
        require_cmd fuse-overlayfs
        run_hutch 125 --storage-driver fuse-overlayfs run --rm --network none --rootfs "$ROOTFS" true
        assert_error_message "chmod 0666 /dev/fuse"
        # The automatic choice does not pick fuse-overlayfs then, and the container runs.
        run_hutch run --rm --network none --rootfs "$ROOTFS" echo still-runs
        assert_equal "$output" still-runs
}

@test "[nosub] /dev/net/tun unusable: the slirp network fails naming chmod 0666 /dev/net/tun" {
        if (exec 9<>/dev/net/tun) 2>/dev/null; then
                skip "/dev/net/tun is usable by $(id -un) (the hutchnosub pass of tests/run-tests.sh runs this)"
        fi
        run_hutch 125 run --rm --network slirp --rootfs "$ROOTFS" true
        assert_error_message "chmod 0666 /dev/net/tun"
        assert_equal "$output" "" "the container did not run"
        # Loopback only needs no tun device.
        run_hutch run --rm --network none --rootfs "$ROOTFS" echo still-runs
        assert_equal "$output" still-runs
}

@test "[nosub] /dev/fuse and /dev/net/tun unusable: hutch info says why" {
        if (exec 9<>/dev/fuse) 2>/dev/null; then
                skip "/dev/fuse is usable by $(id -un) (the hutchnosub pass of tests/run-tests.sh runs this)"
        fi
        require_cmd jq
        run_hutch info --format json
        assert "$(jq -r .host.dev_fuse <<<"$output")" != usable "dev_fuse"
        assert_match "$(jq -r .host.dev_fuse <<<"$output")" "chmod 0666 /dev/fuse" "dev_fuse names the fix"
        if ! (exec 9<>/dev/net/tun) 2>/dev/null; then
                assert "$(jq -r .host.dev_net_tun <<<"$output")" != usable "dev_net_tun"
        fi
        assert "$(jq -r .host.overlay.mode <<<"$output")" != fuse-overlayfs "overlay.mode"
}

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
#
# Tests named "[badsub KIND] ..." need /etc/subuid and /etc/subgid that give
# the user a bad range (checklist #40): tests/run-tests.sh runs each as
# hutchnosub in a private mount namespace where both files are a crafted one,
# with HUTCH_TEST_BADSUB=KIND (own: a range holding the user's own ID; zero:
# one holding ID 0; overlap: two ranges that overlap).  They skip otherwise.

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

# badsub_test KIND MESSAGE-REGEX: with the crafted ranges of KIND, every
# command that maps IDs refuses with MESSAGE and runs nothing: no silent
# fallback to a single-ID map.
badsub_test() {
        local kind=$1 message=$2
        if [ "${HUTCH_TEST_BADSUB:-}" != "$kind" ]; then
                skip "needs /etc/subuid with a bad range ($kind) (the [badsub] passes of tests/run-tests.sh run this)"
        fi
        run_hutch 125 run --rm --network none --rootfs "$ROOTFS" echo ran
        assert_error_message "$message"
        assert_match "$stderr" "/etc/subuid" "the error names the file"
        assert_equal "$output" "" "the container did not run"
        run_hutch 125 unshare true
        assert_error_message "$message"
        run_hutch 125 run --rm --network none --userns keep-id --rootfs "$ROOTFS" echo ran
        assert_error_message "$message"
}

@test "[badsub own] a subordinate range that holds the user's own UID is refused, not used or skipped" {
        badsub_test own "range '$(id -un):$(id -u):[0-9]+' includes ID 0 or the user's own ID $(id -u)"
}

@test "[badsub zero] a subordinate range that holds ID 0 is refused, not used or skipped" {
        badsub_test zero "range '$(id -un):0:[0-9]+' includes ID 0"
}

@test "[badsub overlap] overlapping subordinate ranges are refused, not used or skipped" {
        badsub_test overlap "subordinate ranges [0-9]+\\+[0-9]+ and [0-9]+\\+[0-9]+ overlap"
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

# An image for --userns=keep-id: the busybox rootfs owned by root, plus
# /etc/f1000 owned by 1000:1000.
make_keepid_image() {
        local tar="$BATS_TEST_TMPDIR/kid.tar"
        echo owned-by-1000 >"$BATS_TEST_TMPDIR/f1000"
        tar -C "$ROOTFS" --owner=0 --group=0 -cf "$tar" .
        tar -C "$BATS_TEST_TMPDIR" --owner=1000 --group=1000 --transform 's|^f1000$|./etc/f1000|' -rf "$tar" f1000
        run_hutch import "$tar" kid:1
}

@test "userns: --userns=keep-id: the user's own IDs inside, the image's owners kept, -u 0 still root" {
        require_subids
        skip_if_no_fuse
        make_keepid_image
        run_hutch run --rm --network none --userns=keep-id kid:1 sh -c \
                'id -u; id -g; stat -c %u:%g /etc/os-release /etc/f1000 /bin/busybox; id -un; echo "$HOME"'
        assert_equal "${lines[0]}" "$(id -u)" "id -u"
        assert_equal "${lines[1]}" "$(id -g)" "id -g"
        assert_equal "${lines[2]}" "0:0" "a file of root in the image"
        assert_equal "${lines[3]}" "1000:1000" "a file of 1000 in the image"
        assert_equal "${lines[4]}" "0:0" "the image's busybox"
        assert_equal "${lines[5]}" "$(id -un)" "a passwd entry for the user"
        assert_match "${lines[6]}" "^/" "HOME is set"
        # the map: the user is itself, the IDs around it subordinate ones
        run_hutch run --rm --network none --userns=keep-id kid:1 cat /proc/self/uid_map
        assert_match "$(normalize_map "$output")" "(^|
)$(id -u) $(id -u) 1(
|$)" "uid_map maps the user to itself"
        assert_match "$(normalize_map "$output")" "^0 $(first_subid uid) " "container 0 is the first subordinate ID"
        run_hutch run --rm --network none --userns=keep-id -u 0 kid:1 sh -c 'id -u; touch /etc/by-root && echo ok'
        assert_equal "$output" "0
ok"
        # the image's layers are not changed: a normal run sees the same owners
        run_hutch run --rm --network none kid:1 stat -c %u:%g /etc/f1000 /etc/os-release
        assert_equal "$output" "1000:1000
0:0"
        run_hutch run --rm --network none kid:1 sh -c "grep -c '^$(id -un):' /etc/passwd || true"
        assert_equal "$output" "0" "the generated passwd entry is not in the image"
}

@test "userns: --userns=keep-id: a bind-mounted host directory is the user's inside and out" {
        require_subids
        skip_if_no_fuse
        make_keepid_image
        local vol="$BATS_TEST_TMPDIR/vol"
        mkdir "$vol"
        echo host >"$vol/from-host"
        run_hutch run --rm --network none --userns=keep-id -v "$vol:/data" kid:1 sh -c \
                'stat -c %u:%g /data/from-host; echo c > /data/from-ctr'
        assert_equal "$output" "$(id -u):$(id -g)" "the host user's file inside"
        assert_equal "$(stat -c %u:%g "$vol/from-ctr")" "$(id -u):$(id -g)" "a file made inside, on the host"
        # uid=/gid= choose the inside IDs; the image's user for them is used
        run_hutch run --rm --network none --userns=keep-id:uid=1000,gid=1000 -v "$vol:/data" kid:1 sh -c \
                'id -u; id -un; stat -c %u /data/from-host; touch /data/by-1000; echo "$HOME"'
        assert_equal "$output" "1000
tester
1000
/home/tester"
        assert_equal "$(stat -c %u:%g "$vol/by-1000")" "$(id -u):$(id -g)"
        # :U goes through the keep-id map: given to container 1000 of the
        # default map (a subordinate ID), then back to the keep-id user (us)
        run_hutch run --rm --network none -u 1000 -v "$vol:/data:U" kid:1 true
        assert_equal "$(stat -c %u "$vol")" "$(($(first_subid uid) + 999))"
        run_hutch run --rm --network none --userns=keep-id -v "$vol:/data:U" kid:1 stat -c %u /data/from-host
        assert_equal "$output" "$(id -u)"
        assert_equal "$(stat -c %u:%g "$vol" "$vol/from-host")" "$(id -u):$(id -g)
$(id -u):$(id -g)"
}

@test "userns: --userns=keep-id is kept by create/start and exec, and shown by inspect" {
        require_subids
        skip_if_no_fuse
        require_cmd jq
        make_keepid_image
        run_hutch create --network none --name kid1 --userns=keep-id kid:1 sh -c 'id -u; echo x > /tmp/mine; stat -c %u /tmp/mine'
        run_hutch start -a kid1
        assert_equal "$output" "$(id -u)
$(id -u)"
        run_hutch start -a kid1
        assert_equal "$output" "$(id -u)
$(id -u)" "the second start sees its own file with the same owner"
        run_hutch inspect kid1
        assert_equal "$(jq -r '.[0].HostConfig.UsernsMode' <<<"$output")" "keep-id"
        run_hutch run -d --network none --name kid2 --userns=keep-id kid:1 sleep 100
        run_hutch exec kid2 id -u
        assert_equal "$output" "$(id -u)" "exec runs as the user too"
        run_hutch rm -f kid2
        run_hutch inspect --format '{{.HostConfig.UsernsMode}}' kid1
        assert_equal "$output" "keep-id"
        run_hutch rm kid1
}

@test "userns: bad --userns values and keep-id without subordinate IDs are clear errors" {
        require_subids
        make_keepid_image
        run_hutch 125 run --rm --network none --userns=bogus kid:1 true
        assert_error_message "unknown --userns mode 'bogus'"
        run_hutch 125 run --rm --network none --userns=keep-id:size=5 kid:1 true
        assert_error_message "size=5"
        run_hutch 125 run --rm --network none --userns=keep-id: kid:1 true
        assert_error_message "keep-id"
        run_hutch 125 run --rm --network none --userns=keep-id:uid=4294967295 kid:1 true
        assert_error_message "uid=4294967295"
        local count
        count=$(subid_ranges uid | awk '{ n += $2 } END { print n }')
        run_hutch 125 run --rm --network none --userns=keep-id:uid=$((count + 1)) kid:1 true
        assert_error_message "beyond the $count subordinate uids"
        HUTCH_NEWUIDMAP=/nonexistent run_hutch 125 run --rm --network none --userns=keep-id kid:1 true
        assert_error_message "keep-id needs subordinate IDs"
        assert_equal "$output" "" "the container did not run"
        run_hutch 125 --storage-driver overlay run --rm --network none --userns=keep-id kid:1 true
        assert_error_message "fuse-overlayfs"
        run_hutch 125 --storage-driver copy create --network none --userns=keep-id kid:1 true
        assert_error_message "not --storage-driver copy"
        run_hutch ps -a -q
        assert_equal "$output" "" "no container was left behind"
}

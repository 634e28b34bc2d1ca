#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the container's shell expands these
# hutch diff, hutch commit and hutch history: a container's changes as an
# image layer, with each storage driver.

load helpers

setup() {
        basic_setup
        IMAGE_TAR="$BATS_FILE_TMPDIR/rootfs.tar"
        if [ ! -e "$IMAGE_TAR" ]; then
                local extra="$BATS_FILE_TMPDIR/extra"
                mkdir -p "$extra/data/b"
                echo a >"$extra/data/a"
                echo c >"$extra/data/b/c"
                tar -C "$ROOTFS" -cf "$IMAGE_TAR" .
                tar -C "$extra" -rf "$IMAGE_TAR" data
        fi
        run_hutch import --change 'CMD=["sh","-c","echo from-cmd"]' --change 'ENV=BASE=1' "$IMAGE_TAR" bb:1
        BASE_ID=$output
}

teardown() {
        "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" ps -aq 2>/dev/null | while read -r id; do
                "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" rm -f "$id" >/dev/null 2>&1
        done
        basic_teardown
}

# drivers: the storage drivers this machine can run
drivers() {
        echo overlay
        if command -v fuse-overlayfs >/dev/null && [ -w /dev/fuse ]; then
                echo fuse-overlayfs
        fi
        echo copy
}

# The changes every driver must carry over.
CHANGES='set -e
echo added > /added
mkdir -p /newdir/sub && echo deep > /newdir/sub/file
echo more >> /etc/os-release
rm /bin/wget
rm -rf /home
rm -rf /data && mkdir /data && echo x > /data/new
echo owned > /owned && chown 1000:1500 /owned
echo link > /hl1 && ln /hl1 /hl2
ln -s /added /sym
touch /suid && chmod 4755 /suid
mkdir /sticky && chmod 1777 /sticky
chmod 0700 /var/tmp'

EXPECTED_DIFF='A /added
C /bin
D /bin/wget
C /data
D /data/a
D /data/b
A /data/new
C /etc
C /etc/os-release
A /hl1
A /hl2
D /home
A /newdir
A /newdir/sub
A /newdir/sub/file
A /owned
A /sticky
A /suid
A /sym
C /var
C /var/tmp'

# What a container of the committed image must see.
CHECK='cat /added /newdir/sub/file /data/new; tail -n1 /etc/os-release; ls /data
stat -c "%n %u:%g %a %h %F" /owned /suid /hl1 /hl2 /sym
stat -c "%n %a %F" /sticky /var/tmp
[ "$(stat -c %i /hl1)" = "$(stat -c %i /hl2)" ] && echo hardlinked
readlink /sym
[ ! -e /bin/wget ] && [ ! -e /home ] && [ ! -e /data/a ] && [ -x /bin/busybox ] && echo deleted'

EXPECTED_CHECK='added
deep
x
more
new
/owned 1000:1500 644 1 regular file
/suid 0:0 4755 1 regular empty file
/hl1 0:0 644 2 regular file
/hl2 0:0 644 2 regular file
/sym 0:0 777 1 symbolic link
/sticky 1777 directory
/var/tmp 700 directory
hardlinked
/added
deleted'

# commit_cycle DRIVER: changes, diff, commit, run the image, a commit of a
# commit, system check.
commit_cycle() {
        local d=$1
        run_hutch --storage-driver "$d" run --network none --name c1 bb:1 sh -c "$CHANGES"
        run_hutch diff c1
        assert_equal "$output" "$EXPECTED_DIFF" "diff with driver $d"
        run_hutch commit -m "first commit" -a "Tess Ter <t@example.com>" c1 new:1
        local id=$output
        assert_match "$id" '^[0-9a-f]{64}$'
        run_hutch images --no-trunc -q new:1
        assert_equal "$output" "$id" "commit prints the ID images --no-trunc shows"
        # the copy driver's copy of the layers does not keep hardlinks
        # (hutch_copy_entry): read the image through overlay there too
        local check_driver=$d
        if [ "$d" = copy ]; then check_driver=overlay; fi
        run_hutch --storage-driver "$check_driver" run --rm --network none new:1 sh -c "$CHECK"
        assert_equal "$output" "$EXPECTED_CHECK" "the image committed with driver $d"
        # the image's Cmd, not the run's command (as Docker keeps it)
        run_hutch --storage-driver "$d" run --rm --network none new:1
        assert_equal "$output" "from-cmd"

        # a container of the new image that changes nothing has no diff
        run_hutch --storage-driver "$d" run --network none --name c2 new:1 true
        run_hutch diff c2
        assert_equal "$output" "" "an unchanged container with driver $d"

        # a commit of a commit: layers stack
        run_hutch --storage-driver "$d" run --network none --name c3 new:1 sh -c 'echo two > /second; rm /added; rm -r /newdir/sub'
        run_hutch diff c3
        assert_equal "$output" "$(printf 'D /added\nC /newdir\nD /newdir/sub\nA /second')"
        run_hutch commit c3 new:2
        run_hutch --storage-driver "$d" run --rm --network none new:2 sh -c 'cat /second /data/new; ls /newdir; ls /added 2>&1 || true'
        assert_equal "$output" "$(printf 'two\nx\nls: /added: No such file or directory')"
        run_hutch image inspect new:2
        assert_equal "$(jq -r '.[0].RootFS.Layers | length' <<<"$output")" "3" "base + two commits"
        run_hutch image inspect new:1
        assert_equal "$(jq -r '.[0].RootFS.Layers | length' <<<"$output")" "2"
        run_hutch system check
        run_hutch rm c1 c2 c3
        run_hutch rmi new:2 new:1
        run_hutch system check
}

@test "commit: overlay: every kind of change is carried over, diff lists them" {
        commit_cycle overlay
}

@test "commit: fuse-overlayfs: every kind of change is carried over, diff lists them" {
        if ! command -v fuse-overlayfs >/dev/null || [ ! -w /dev/fuse ]; then
                skip "fuse-overlayfs is not usable here"
        fi
        commit_cycle fuse-overlayfs
}

@test "commit: copy driver: the changes are computed against the image, diff lists them" {
        commit_cycle copy
}

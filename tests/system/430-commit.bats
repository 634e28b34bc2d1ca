#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the container's shell expands these
# shellcheck disable=SC2030,SC2031 # a test may move its own HUTCH_ROOT
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
}

teardown() {
        basic_teardown
        # the disk-full test's store, on the shared small filesystem
        if [ -n "${SMALL_DIR:-}" ] && [ -d "$SMALL_DIR" ]; then
                "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" unshare rm -rf "$SMALL_DIR" </dev/null >/dev/null 2>&1 || true
        fi
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
        # the run's command is the new image's Cmd (as Docker's commit makes it)
        run_hutch image inspect new:1
        assert_equal "$(jq -r '.[0].Config.Cmd[0:2] | join(" ")' <<<"$output")" "sh -c"

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

@test "commit: --change, -m and -a: the image's config kept and changed, history appended" {
        run_hutch run --network none --name c1 bb:1 sh -c 'mkdir /work; echo hi > /work/f'
        # without --change: the image's settings with the run's over them, as Docker's
        run_hutch commit c1 plain
        run_hutch image inspect plain
        assert_equal "$(jq -c '.[0].Config.Cmd' <<<"$output")" '["sh","-c","mkdir /work; echo hi > /work/f"]'
        assert_equal "$(jq -c '.[0].Config.Env' <<<"$output")" '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","BASE=1"]'
        run_hutch run --network none --name c3 -e BASE=2 -e NEW=x -w /tmp -u 1000:1000 --entrypoint /bin/echo bb:1 one two
        assert_equal "$output" "one two"
        run_hutch commit c3 fromrun
        run_hutch image inspect fromrun
        assert_equal "$(jq -c '.[0].Config | [.Entrypoint, .Cmd, .Env, .WorkingDir, .User]' <<<"$output")" \
                '[["/bin/echo"],["one","two"],["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","BASE=2","NEW=x"],"/tmp","1000:1000"]'
        run_hutch run --rm --network none fromrun
        assert_equal "$output" "one two"
        run_hutch run --network none --name c4 bb:1
        assert_equal "$output" "from-cmd"
        run_hutch commit c4 nocmd
        run_hutch image inspect nocmd
        assert_equal "$(jq -c '.[0].Config.Cmd' <<<"$output")" '["sh","-c","echo from-cmd"]' "no command given: the image's"
        run_hutch commit -q -m "the message" -a "Tess Ter" \
                -c 'CMD ["cat","f"]' -c 'ENV MORE=2' -c 'WORKDIR=/work' -c 'USER 1000' -c 'LABEL a=b' \
                -c 'EXPOSE 8080' -c 'ENTRYPOINT ["/bin/busybox"]' c1 changed:v1
        run_hutch image inspect changed:v1
        local j=$output
        assert_equal "$(jq -c '.[0].Config.Cmd' <<<"$j")" '["cat","f"]'
        assert_equal "$(jq -c '.[0].Config.Entrypoint' <<<"$j")" '["/bin/busybox"]'
        assert_equal "$(jq -r '.[0].Config.Env[-1]' <<<"$j")" 'MORE=2'
        assert_equal "$(jq -r '.[0].Config.WorkingDir' <<<"$j")" '/work'
        assert_equal "$(jq -r '.[0].Config.User' <<<"$j")" '1000'
        assert_equal "$(jq -r '.[0].Config.Labels.a' <<<"$j")" 'b'
        assert_equal "$(jq -r '.[0].Config.ExposedPorts[0]' <<<"$j")" '8080/tcp'
        assert_equal "$(jq -r '.[0].Author' <<<"$j")" 'Tess Ter'
        run_hutch run --rm --network none changed:v1
        assert_equal "$output" "hi"
        run_hutch history --format json changed:v1
        assert_equal "$(jq -r '.[0].comment' <<<"$output")" 'the message'
        assert_equal "$(jq -r '.[0].author' <<<"$output")" 'Tess Ter'
        assert_equal "$(jq -r '.[0].created_by' <<<"$output")" "sh -c mkdir /work; echo hi > /work/f"
        assert_equal "$(jq -r '.[1].created_by' <<<"$output")" 'hutch import'
        assert_equal "$(jq -r 'length' <<<"$output")" '2'
        run_hutch history changed:v1
        assert_match "${lines[0]}" '^CREATED +CREATED BY +COMMENT'
        assert_match "${lines[1]}" 'sh -c mkdir /work; echo hi > /work/f +the message$'
        assert_match "${lines[2]}" 'hutch import'
        run_hutch image history -q changed:v1
        assert_equal "${#lines[@]}" "2" "image history: the same entries"
        # a commit without a name is dangling, as Docker makes it
        run_hutch commit c1
        local id=$output
        run_hutch images --no-trunc --format '{{.ID}} {{.Repository}}'
        assert_match "$output" "${id:0:12} <none>"
}

@test "commit: a running container is read as it is; diff --format json" {
        run_hutch run -d --network none --name live bb:1 sh -c 'echo running > /state; rm /etc/os-release; sleep 600'
        for _ in $(seq 50); do
                run_hutch diff live
                if [ "$output" = "$(printf 'C /etc\nD /etc/os-release\nA /state')" ]; then break; fi
                sleep 0.1
        done
        assert_equal "$output" "$(printf 'C /etc\nD /etc/os-release\nA /state')"
        run_hutch container diff live
        assert_equal "$output" "$(printf 'C /etc\nD /etc/os-release\nA /state')"
        run_hutch diff --format json live
        assert_equal "$(jq -c . <<<"$output")" '{"changed":["/etc"],"added":["/state"],"deleted":["/etc/os-release"]}'
        run_hutch commit live live:snap
        run_hutch ps --format '{{.Names}} {{.Status}}'
        assert_match "$output" "live Up"
        run_hutch run --rm --network none live:snap sh -c 'cat /state; ls /etc/os-release 2>&1 || true'
        assert_equal "$output" "$(printf 'running\nls: /etc/os-release: No such file or directory')"
}

@test "commit: file capabilities are kept in the layer" {
        require_cmd setcap getcap
        run_hutch run --network none --name c1 bb:1 sh -c 'cp /bin/busybox /capped'
        run_hutch inspect --format '{{.Id}}' c1
        local id=$output
        run_hutch unshare setcap cap_net_raw+ep "$HUTCH_ROOT/containers/$id/upper/capped"
        run_hutch commit c1 caps:1
        run_hutch image inspect caps:1
        local top
        top=$(jq -r '.[0].RootFS.Layers[-1]' <<<"$output")
        # the blob is the uncompressed tar: its xattr is in the PAX header
        tar --xattrs --xattrs-include='security.*' -tvvf "$HUTCH_ROOT/blobs/sha256/${top#sha256:}" capped >/dev/null
        run bash -c "grep -a -c 'SCHILY.xattr.security.capability' '$HUTCH_ROOT/blobs/sha256/${top#sha256:}'"
        assert_equal "$output" "1" "the layer carries security.capability"
        run_hutch unshare sh -c "getcap $HUTCH_ROOT/layers/*/capped"
        assert_match "$output" "capped cap_net_raw=ep"
}

@test "commit: save and load the committed image; push it to a registry and pull it back" {
        run_hutch run --network none --name c1 bb:1 sh -c 'echo saved > /saved; rm /etc/os-release'
        run_hutch commit c1 localhost/saved:1
        local id=$output
        run_hutch save -o "$BATS_TEST_TMPDIR/d.tar" localhost/saved:1
        run_hutch save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" localhost/saved:1
        run_hutch rm c1
        run_hutch rmi localhost/saved:1 bb:1
        run_hutch load -i "$BATS_TEST_TMPDIR/d.tar"
        run_hutch images --no-trunc -q localhost/saved:1
        assert_equal "$output" "$id" "the same image ID after a docker-archive round trip"
        run_hutch run --rm --network none localhost/saved:1 sh -c 'cat /saved; ls /etc/os-release 2>&1 || true'
        assert_equal "$output" "$(printf 'saved\nls: /etc/os-release: No such file or directory')"
        run_hutch rmi localhost/saved:1
        run_hutch load -i "$BATS_TEST_TMPDIR/o.tar"
        run_hutch images --no-trunc -q localhost/saved:1
        assert_equal "$output" "$id" "the same image ID after an oci-archive round trip"
        run_hutch system check

        # a registry (plain HTTP) takes the uncompressed layer
        local reg=/usr/bin/docker-registry d="$BATS_TEST_TMPDIR/reg" port=""
        [ -x "$reg" ] || skip "no docker-registry"
        mkdir -p "$d/data"
        for _ in 1 2 3 4 5; do
                port=$(shuf -i 20000-60000 -n 1)
                printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
                        "$d/data" "$port" >"$d/config.yml"
                "$reg" serve "$d/config.yml" >"$d/log" 2>&1 3>&- &
                echo $! >"$d/pid"
                for _ in $(seq 50); do
                        if curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; then break 2; fi
                        sleep 0.1
                done
                kill "$(cat "$d/pid")" 2>/dev/null || true
                port=""
        done
        [ -n "$port" ] || die "docker-registry did not start: $(cat "$d/log")"
        run_hutch push --tls-verify=false localhost/saved:1 "127.0.0.1:$port/t/saved:1"
        run_hutch rmi localhost/saved:1
        run_hutch pull --tls-verify=false "127.0.0.1:$port/t/saved:1"
        kill "$(cat "$d/pid")" 2>/dev/null || true
        run_hutch images --no-trunc -q "127.0.0.1:$port/t/saved:1"
        assert_equal "$output" "$id" "the same image ID after a push and pull"
        run_hutch run --rm --network none "127.0.0.1:$port/t/saved:1" cat /saved
        assert_equal "$output" "saved"
}

@test "commit: bad input is refused and nothing stored is lost" {
        run_hutch run --network none --name c1 bb:1 sh -c 'echo x > /x'
        run_hutch images --no-trunc -q
        local before=$output
        run_hutch 125 commit nosuch img:1
        assert_error_message "no such container"
        run_hutch 125 diff nosuch
        assert_error_message "no such container"
        run_hutch 125 commit -c 'FROB x' c1 img:1
        assert_error_message "invalid --change 'FROB x'"
        run_hutch 125 commit -c 'CMD' c1 img:1
        assert_error_message "invalid --change"
        run_hutch 125 commit c1 'Bad Name'
        run_hutch 125 commit c1 'img@sha256:0000000000000000000000000000000000000000000000000000000000000000'
        assert_error_message "cannot carry a digest"
        run_hutch 125 commit
        run_hutch 125 commit c1 a b
        run_hutch images --no-trunc -q
        assert_equal "$output" "$before" "nothing was stored"
        # a container whose image was removed meanwhile (rmi -f would
        # remove the container too: another hutch's records change instead)
        local recs="$HUTCH_ROOT/images/images.json"
        jq -c '.images = []' "$recs" >"$recs.new"
        mv "$recs.new" "$recs"
        run_hutch 125 commit c1 img:1
        assert_error_message "was removed"
        run_hutch 125 diff c1
        assert_error_message "was removed"
        run_hutch images -q
        assert_equal "$output" ""
        run_hutch rm c1
        run_hutch system check
}

@test "commit: a full disk fails clearly, stores nothing and gives the space back" {
        if [ -z "${HUTCH_TEST_SMALLFS:-}" ]; then
                skip "no small filesystem to fill: as root, 'tests/setup-smallfs.sh up $(id -un)' mounts one; pass its path in HUTCH_TEST_SMALLFS"
        fi
        local small="$HUTCH_TEST_SMALLFS/t-commit-$BATS_TEST_NUMBER"
        SMALL_DIR=$small
        mkdir "$small"
        chmod 0700 "$small"
        # setup's store holds files of subordinate IDs: remove it while it is ours
        "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" unshare rm -rf "$HUTCH_ROOT" </dev/null
        export HUTCH_ROOT="$small/store"
        run_hutch import "$IMAGE_TAR" bb:1
        # 14 MB of changes: stored as a blob and unpacked they need twice
        # that, more than the 40 MB filesystem has left (the unpacking fails,
        # and the blob already stored is collected again)
        run_hutch run --network none --name big bb:1 sh -c 'head -c 14000000 /dev/urandom > /big'
        local before used
        before=$("$HUTCH" --root "$HUTCH_ROOT" images -q --no-trunc; ls -A "$HUTCH_ROOT/layers" "$HUTCH_ROOT/blobs/sha256")
        used=$(df -k --output=used "$HUTCH_TEST_SMALLFS" | tail -n1)
        run_hutch 125 commit big big:1
        assert_error_message "No space left on device"
        assert_equal "$("$HUTCH" --root "$HUTCH_ROOT" images -q --no-trunc; ls -A "$HUTCH_ROOT/layers" "$HUTCH_ROOT/blobs/sha256")" \
                "$before" "nothing stored, nothing lost"
        assert "$(df -k --output=used "$HUTCH_TEST_SMALLFS" | tail -n1)" -le "$((used + 64))" "the space is given back"
        assert_equal "$(ls -A "$HUTCH_ROOT/tmp")" "" "no staging left"
        # a smaller change commits
        run_hutch run --network none --name small bb:1 sh -c 'echo s > /s'
        run_hutch commit small small:1
        run_hutch run --rm --network none small:1 cat /s
        assert_equal "$output" "s"
        run_hutch system check
        run_hutch rm -f big small
}

@test "commit: the mount points the runtime makes in an image without them are neither listed nor committed" {
        local min="$BATS_TEST_TMPDIR/min"
        mkdir -p "$min/bin"
        cp "$ROOTFS/bin/busybox" "$min/bin/"
        ln -s busybox "$min/bin/sh"
        tar -C "$min" -cf "$BATS_TEST_TMPDIR/min.tar" .
        run_hutch import "$BATS_TEST_TMPDIR/min.tar" min
        local d
        for d in $(drivers); do
                run_hutch --storage-driver "$d" run --network none --name "m-$d" min /bin/busybox true
                run_hutch diff "m-$d"
                assert_equal "$output" "" "no /dev, /proc, /sys, /etc/hosts... with driver $d"
                run_hutch --storage-driver "$d" run --network none --name "n-$d" min /bin/busybox sh -c 'echo mine > /etc/mine'
                run_hutch diff "n-$d"
                assert_equal "$output" "$(printf 'A /etc\nA /etc/mine')" "driver $d"
                run_hutch commit --pause=false "n-$d" "min-$d"
                run_hutch --storage-driver "$d" run --rm --network none "min-$d" /bin/busybox sh -c \
                        '/bin/busybox cat /etc/mine; /bin/busybox wc -c < /etc/hostname'
                assert_equal "${lines[0]}" "mine"
                assert "${lines[1]}" -gt 0 "the runtime's /etc/hostname is mounted over the committed image"
                run_hutch image inspect "min-$d"
                local top
                top=$(jq -r '.[0].RootFS.Layers[-1]' <<<"$output")
                run tar -tf "$HUTCH_ROOT/blobs/sha256/${top#sha256:}"
                assert_equal "$output" "$(printf 'etc/\netc/mine')" "the layer holds only the container's own change"
        done
}

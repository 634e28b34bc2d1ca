#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2030,SC2031 # bats runs each test in a subshell
# Transports without a registry: hutch push to oci:DIR[:TAG], oci-archive:
# and docker-archive:, hutch pull from them; skopeo reads what hutch writes
# and hutch reads what skopeo writes.  Bad destinations and corrupt sources
# fail with a clear message and leave nothing behind.  Progress lines: plain
# when stderr is not a terminal, redrawn in place on one (script(1) gives
# hutch a terminal).

load helpers

sha() { sha256sum "$1" | cut -d' ' -f1; }

# blob DIR FILE: moves FILE into DIR/blobs/sha256 and prints "HEX SIZE".
blob() {
        local h s
        h=$(sha "$2")
        s=$(stat -c %s "$2")
        mv "$2" "$1/blobs/sha256/$h"
        echo "$h $s"
}

host_arch() {
        case "$(uname -m)" in
        x86_64) echo amd64 ;;
        aarch64) echo arm64 ;;
        *) uname -m ;;
        esac
}

setup_file() {
        basic_setup_file || return 1
        local t=$BATS_FILE_TMPDIR d l gz s diffs="" layers="" cfg man
        # a layout of two gzip layers (busybox; a file over it), tagged v1
        mkdir -p "$t/src/blobs/sha256" "$t/l2/etc"
        echo hello-from-a-layout >"$t/l2/etc/greeting"
        tar --numeric-owner --owner=0 --group=0 -C "$ROOTFS" -cf "$t/l1.tar" .
        tar --numeric-owner --owner=0 --group=0 -C "$t/l2" -cf "$t/l2.tar" .
        for l in "$t/l1.tar" "$t/l2.tar"; do
                d=$(sha "$l")
                gzip -n -1 -c "$l" >"$t/src/gz.tmp"
                read -r gz s < <(blob "$t/src" "$t/src/gz.tmp")
                diffs="$diffs${diffs:+,}\"sha256:$d\""
                layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$gz\",\"size\":$s}"
                LAYER_DIGESTS="${LAYER_DIGESTS:-}${LAYER_DIGESTS:+ }sha256:$gz"
        done
        printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/bin/cat","/etc/greeting"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
                "$(host_arch)" "$diffs" >"$t/src/c.tmp"
        read -r cfg s < <(blob "$t/src" "$t/src/c.tmp")
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
                "$cfg" "$s" "$layers" >"$t/src/m.tmp"
        read -r man s < <(blob "$t/src" "$t/src/m.tmp")
        printf '{"imageLayoutVersion":"1.0.0"}' >"$t/src/oci-layout"
        printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
                "$man" "$s" >"$t/src/index.json"
        export SRC="$t/src" IMAGE_ID=$cfg MANIFEST_DIGEST=sha256:$man LAYER_DIGESTS
}

# a_store: the image of $SRC in this test's store, as localhost/v1:latest.
a_store() {
        run_hutch pull -q "oci:$SRC:v1"
        assert_equal "$output" "$IMAGE_ID"
}

# no_leftovers DIR [DEPTH]: DIR holds no temporary file of ours.
no_leftovers() {
        local left
        left=$(find "$1" -maxdepth "${2:-5}" -name '*.tmp-*' 2>/dev/null)
        assert_equal "$left" "" "no temporary files in $1"
}

@test "pull oci:DIR:TAG (digests checked as the blobs are copied), run it; -q prints only the ID" {
        run_hutch pull "oci:$SRC:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        local d
        for d in $LAYER_DIGESTS; do
                assert_match "$stderr" "Copying blob ${d:0:19} done"
        done
        assert_match "$stderr" "Writing manifest to image destination"
        run_hutch images --format '{{.Repository}}:{{.Tag}}'
        assert_equal "$output" "localhost/v1:latest" "named by the tag, as podman does"
        run_hutch run --rm --network none "$IMAGE_ID"
        assert_equal "$output" "hello-from-a-layout"
        run_hutch pull -q "oci:$SRC"
        assert_equal "$output" "$IMAGE_ID" "the only image of the layout"
        assert_equal "$stderr" ""
}

@test "push oci:DIR:TAG: skopeo reads it; a second tag keeps the first; blobs there are skipped" {
        require_cmd skopeo jq
        a_store
        local lay="$BATS_TEST_TMPDIR/lay"
        run_hutch push localhost/v1 "oci:$lay:one"
        assert_match "$stderr" "Copying config sha256:${IMAGE_ID:0:12} done"
        assert_match "$stderr" "Writing manifest to image destination"
        run skopeo inspect --raw "oci:$lay:one"
        assert_equal "$status" 0 "skopeo inspect: $output"
        assert_equal "$(jq -r .config.digest <<<"$output")" "sha256:$IMAGE_ID"
        run skopeo inspect "oci:$lay:one"
        assert_equal "$status" 0 "skopeo inspect: $output"
        assert_equal "$(jq -r '.Layers | length' <<<"$output")" 2

        run_hutch push localhost/v1 "oci:$lay:two"
        assert_match "$stderr" "skipped: already exists"
        assert_equal "$(jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | join(" ")' \
                "$lay/index.json")" "one two"
        run skopeo inspect --raw "oci:$lay:one"
        assert_equal "$status" 0 "the first tag is still there"
        run_hutch push localhost/v1 "oci:$lay:two"
        assert_equal "$(jq -r '.manifests | length' "$lay/index.json")" 2 "the same tag again replaces its entry"
        no_leftovers "$lay"

        # skopeo copies what hutch wrote; hutch pulls what skopeo wrote
        run skopeo copy -q "oci:$lay:two" "oci:$BATS_TEST_TMPDIR/sk:copied"
        assert_equal "$status" 0 "skopeo copy: $output"
        export HUTCH_ROOT="$BATS_TEST_TMPDIR/store2"
        run_hutch pull -q "oci:$BATS_TEST_TMPDIR/sk:copied"
        assert_equal "$output" "$IMAGE_ID"
        run_hutch run --rm --network none "$IMAGE_ID"
        assert_equal "$output" "hello-from-a-layout"
}

@test "push oci-archive: and docker-archive:, readable by skopeo, pulled back; an existing docker-archive is kept" {
        require_cmd skopeo jq
        a_store
        local o="$BATS_TEST_TMPDIR/o.tar" d="$BATS_TEST_TMPDIR/d.tar" sum
        run_hutch push localhost/v1 "oci-archive:$o:t1"
        run skopeo inspect --raw "oci-archive:$o:t1"
        assert_equal "$status" 0 "skopeo inspect: $output"
        assert_equal "$(jq -r .config.digest <<<"$output")" "sha256:$IMAGE_ID"
        run_hutch push localhost/v1 "docker-archive:$d:example.com/app:2"
        run skopeo inspect "docker-archive:$d"
        assert_equal "$status" 0 "skopeo inspect: $output"
        assert_equal "$(jq -r '.Layers | length' <<<"$output")" 2
        run skopeo copy -q "docker-archive:$d" "oci:$BATS_TEST_TMPDIR/from-docker:x"
        assert_equal "$status" 0 "skopeo copy: $output"

        # as podman: a docker-archive is not added to, an oci-archive is replaced
        sum=$(cksum <"$d")
        run_hutch 125 push localhost/v1 "docker-archive:$d"
        assert_error_message "exists: docker-archive does not modify existing archives"
        assert_equal "$(cksum <"$d")" "$sum" "the archive is untouched"
        run_hutch push localhost/v1 "oci-archive:$o:t2"
        run skopeo inspect --raw "oci-archive:$o:t2"
        assert_equal "$status" 0
        no_leftovers "$BATS_TEST_TMPDIR" 1

        export HUTCH_ROOT="$BATS_TEST_TMPDIR/store2"
        run_hutch pull "docker-archive:$d"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        run_hutch images --format '{{.Repository}}:{{.Tag}}'
        assert_equal "$output" "example.com/app:2"
        run_hutch run --rm --network none example.com/app:2
        assert_equal "$output" "hello-from-a-layout"
        run_hutch pull -q "oci-archive:$o"
        assert_equal "$output" "$IMAGE_ID"
        # skopeo's docker-archive (uncompressed layers) too
        run skopeo copy -q "oci:$SRC:v1" "docker-archive:$BATS_TEST_TMPDIR/sk.tar:sk/img:1"
        assert_equal "$status" 0 "skopeo copy: $output"
        run_hutch pull -q "docker-archive:$BATS_TEST_TMPDIR/sk.tar"
        assert_equal "$output" "$IMAGE_ID"
}

@test "dir: as skopeo writes it, both ways; an image directory is replaced whole" {
        require_cmd skopeo jq
        a_store
        local d="$BATS_TEST_TMPDIR/dir"
        run_hutch push localhost/v1 "dir:$d"
        assert_equal "$(cat "$d/version")" "Directory Transport Version: 1.1"
        run skopeo inspect --raw "dir:$d"
        assert_equal "$status" 0 "skopeo inspect: $output"
        assert_equal "$(jq -r .config.digest <<<"$output")" "sha256:$IMAGE_ID"
        run skopeo copy -q "dir:$d" "oci:$BATS_TEST_TMPDIR/from-dir:x"
        assert_equal "$status" 0 "skopeo copy: $output"
        echo stale >"$d/stale-file"
        run_hutch push localhost/v1 "dir:$d"
        [ ! -e "$d/stale-file" ] || die "the old directory's files are still there"
        no_leftovers "$BATS_TEST_TMPDIR" 1

        run skopeo copy -q "oci:$SRC:v1" "dir:$BATS_TEST_TMPDIR/sk-dir"
        assert_equal "$status" 0 "skopeo copy: $output"
        export HUTCH_ROOT="$BATS_TEST_TMPDIR/store2"
        run_hutch pull "dir:$BATS_TEST_TMPDIR/sk-dir"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        run_hutch run --rm --network none "$IMAGE_ID"
        assert_equal "$output" "hello-from-a-layout"
        # a blob changed: refused, nothing stored
        local first=${LAYER_DIGESTS%% *}
        export HUTCH_ROOT="$BATS_TEST_TMPDIR/store3"
        printf 'X' | dd of="$BATS_TEST_TMPDIR/sk-dir/${first#sha256:}" bs=1 seek=100 conv=notrunc 2>/dev/null
        run_hutch 125 pull "dir:$BATS_TEST_TMPDIR/sk-dir"
        assert_error_message "wrong content"
        run_hutch images -q
        assert_equal "$output" ""
}

@test "bad destinations: clear errors, nothing half-written" {
        a_store
        local t=$BATS_TEST_TMPDIR
        run_hutch 125 push localhost/v1 "foo:/x"
        assert_error_message "unknown transport 'foo:'"
        mkdir "$t/not-a-layout" && echo x >"$t/not-a-layout/f"
        run_hutch 125 push localhost/v1 "ostree:$t/d"
        assert_error_message "ostree: transport is not supported"
        run_hutch 125 push localhost/v1 "dir:$t/not-a-layout"
        assert_error_message "not an image directory"
        run_hutch 125 push localhost/v1 "oci:"
        assert_error_message "no PATH"
        run_hutch 125 push localhost/v1 "oci-archive::tag"
        assert_error_message "no PATH"
        run_hutch 125 push localhost/v1 "oci:$t/lay:bad tag"
        assert_error_message "invalid tag"
        : >"$t/a-file"
        run_hutch 125 push localhost/v1 "oci:$t/a-file"
        assert_error_message "exists and is not a directory"
        run_hutch 125 push localhost/v1 "oci:$t/not-a-layout"
        assert_error_message "not an OCI image layout"
        assert_equal "$(ls -A "$t/not-a-layout")" "f"
        run_hutch 125 push localhost/v1 "oci:$t/missing/parent/lay"
        assert_error_message "No such file or directory"
        mkdir "$t/archive-dir"
        run_hutch 125 push localhost/v1 "oci-archive:$t/archive-dir"
        assert_error_message "is a directory"
        run_hutch 125 push localhost/v1 "docker-archive:$t/d.tar:Bad/Name:1"
        run_hutch 125 push localhost/v1 "docker-archive:$t/d.tar:name@sha256:$IMAGE_ID"
        [ ! -e "$t/d.tar" ] || die "d.tar was written"
        mkdir "$t/ro"
        chmod 555 "$t/ro"
        run_hutch 125 push localhost/v1 "oci:$t/ro/lay"
        assert_error_message "Permission denied"
        run_hutch 125 push localhost/v1 "oci-archive:$t/ro/o.tar"
        assert_error_message "Permission denied"
        run_hutch 125 push localhost/v1 "docker-archive:$t/ro/d.tar"
        assert_equal "$(ls -A "$t/ro")" "" "nothing left in the unwritable directory"
        chmod 755 "$t/ro"
        # an empty directory becomes a layout
        mkdir "$t/empty"
        run_hutch push -q localhost/v1 "oci:$t/empty:x"
        assert_equal "$stderr" ""
        [ -f "$t/empty/oci-layout" ] || die "no oci-layout in the empty directory"
        no_leftovers "$t" 2
}

@test "bad sources: missing tags, non-layouts, corrupt blobs; nothing is stored" {
        local t=$BATS_TEST_TMPDIR
        run_hutch 125 pull "oci:$SRC:no-such-tag"
        assert_error_message "no image tagged 'no-such-tag'"
        mkdir "$t/empty"
        run_hutch 125 pull "oci:$t/empty"
        assert_error_message "not an OCI image layout"
        run_hutch 125 pull "oci:$t/missing"
        assert_error_message "No such file or directory"
        echo "not an archive" >"$t/junk.tar"
        run_hutch 125 pull "oci-archive:$t/junk.tar"
        assert_error_message "junk.tar"
        run_hutch 125 pull "docker-archive:$t/missing.tar"
        assert_error_message "No such file or directory"
        run_hutch 125 pull "docker-archive:$t/empty"
        assert_error_message "not a regular file"
        run_hutch 125 pull "oci-archive:$t/junk.tar:tag"
        assert_error_message "not supported"

        # one byte of a layer changed, its size kept
        cp -r "$SRC" "$t/corrupt"
        local first=${LAYER_DIGESTS%% *}
        printf 'X' | dd of="$t/corrupt/blobs/sha256/${first#sha256:}" bs=1 seek=100 conv=notrunc 2>/dev/null
        run_hutch 125 pull "oci:$t/corrupt:v1"
        assert_error_message "wrong content"
        run_hutch images -q
        assert_equal "$output" "" "nothing stored"
        # shellcheck disable=SC2016 # expanded by the shell in the namespace
        run_hutch unshare sh -c 'ls "$0/layers" "$0/blobs/sha256" | grep -v ":$" | grep -c . || true' "$HUTCH_ROOT"
        assert_equal "$output" "0" "no layer or blob stored"
}

@test "progress: redrawn in place on a terminal with every layer's final state; plain lines otherwise" {
        require_cmd script perl
        local cmd out final d
        printf -v cmd '%q ' "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" pull "oci:$SRC:v1"
        out=$(TERM=xterm script -qec "$cmd" /dev/null </dev/null)
        assert_match "$out" $'\e\\[K' "lines are cleared and redrawn"
        assert_match "$out" $'\e\\[[0-9]+A' "the cursor moves up to redraw"
        # what the screen shows at the end: the text after the last move up
        final=$(perl -0777 -ne 'my @p = split /\e\[\d+A/; print $p[-1]' <<<"$out")
        for d in $LAYER_DIGESTS; do
                assert_match "$final" "Copying blob ${d:0:19} +[0-9.]+[KM]?i?B / [0-9.]+[KM]?i?B .*done" \
                        "the final state of layer $d"
        done
        assert_match "$out" "$IMAGE_ID"

        printf -v cmd '%q ' "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" push localhost/v1 \
                "oci:$BATS_TEST_TMPDIR/lay:t"
        out=$(TERM=xterm script -qec "$cmd" /dev/null </dev/null)
        assert_match "$out" $'\e\\[[0-9]+A'
        final=$(perl -0777 -ne 'my @p = split /\e\[\d+A/; print $p[-1]' <<<"$out")
        assert_match "$final" "Copying config sha256:${IMAGE_ID:0:12} .*done"

        # not a terminal: plain lines, no escape sequences
        run_hutch push localhost/v1 "oci:$BATS_TEST_TMPDIR/lay2:t"
        assert_not_match "$stderr" $'\e'
        for d in $LAYER_DIGESTS; do
                assert_match "$stderr" "Copying blob ${d:0:19} done"
        done
        # -q on a terminal: only the ID
        printf -v cmd '%q ' "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" pull -q "oci:$SRC:v1"
        out=$(TERM=xterm script -qec "$cmd" /dev/null </dev/null)
        assert_equal "${out%$'\r'}" "$IMAGE_ID"
}

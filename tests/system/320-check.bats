#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2030,SC2031 # bats runs each test in a subshell
# `hutch system check` (checklist #37): a store damaged from outside (bytes
# flipped in a layer blob, a blob, manifest or layer tree deleted, the image
# records cut short, leftovers of killed commands, containers of damaged
# images) is reported with a non-zero status, `--repair` removes exactly
# what is damaged and names the images to pull again, and `rmi` and
# `image prune` work on what is left.  Intact images stay runnable.

load helpers

setup_file() {
        basic_setup_file || return 1
        local fix="$BATS_FILE_TMPDIR/fix"
        mkdir -p "$fix/extra/etc" "$fix/third/etc"
        tar --numeric-owner --owner=0 --group=0 -C "$ROOTFS" -cf "$fix/bb.tar" .
        echo app >"$fix/extra/etc/which"
        cp "$fix/bb.tar" "$fix/app.tar"
        tar --numeric-owner --owner=0 --group=0 -C "$fix/extra" -rf "$fix/app.tar" ./etc/which
        echo third >"$fix/third/etc/which"
        cp "$fix/bb.tar" "$fix/third.tar"
        tar --numeric-owner --owner=0 --group=0 -C "$fix/third" -rf "$fix/third.tar" ./etc/which
}

setup() {
        basic_setup
        require_userns
        FIX="$BATS_FILE_TMPDIR/fix"
}

# import_images NAME...: imports $FIX/NAME.tar as localhost/NAME:1.
import_images() {
        local n
        for n in "$@"; do
                run_hutch import "$FIX/$n.tar" "$n:1"
        done
}

# field IMAGE JQ: sets $FIELD to a field of the image's inspect JSON.
field() {
        run_hutch image inspect "$1"
        FIELD=$(jq -r ".[0]$2" <<<"$output")
}

# blob_path DIGEST: the file of a blob in the store.
blob_path() { echo "$HUTCH_ROOT/blobs/sha256/${1#sha256:}"; }

# flip_byte FILE OFFSET: changes one byte in place (the size stays).
flip_byte() {
        local old
        old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
        printf '%b' "\\0$(printf %03o $(((old + 1) % 256)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

@test "check: a clean store is fine, empty or not" {
        run_hutch system check
        assert_match "$output" "^No problems found: 0 images, 0 layers, 0 blobs and 0 containers checked.$"
        import_images bb app
        run_hutch create --network none --name c1 bb:1 true
        run_hutch system check
        assert_equal "$output" "No problems found: 2 images, 2 layers, 6 blobs and 1 container checked."
        assert_equal "$stderr" ""
        run_hutch system check --quick
        assert_match "$output" "No problems found: .* \\(sizes only\\)\\.$"
        run_hutch 125 system check --force
        assert_error_message "--force only applies with --repair"
        run_hutch 125 system check extra
        assert_error_message "accepts no arguments"
}

@test "check: bytes flipped in a layer blob are found; --repair removes that image only, the others still run" {
        import_images bb app
        local blob id
        field bb:1 ".Layers[0].Digest"
        blob=$FIELD
        field bb:1 .Id
        id=$FIELD
        flip_byte "$(blob_path "$blob")" 5000
        run_hutch 125 system check
        assert_equal "${lines[0]}" "image localhost/bb:1 (${id:0:12}): layer blob $blob: corrupt: its content hashes to sha256:$(sha256sum "$(blob_path "$blob")" | cut -d' ' -f1)"
        assert_equal "${#lines[@]}" 1 "only the damaged image is reported"
        assert_error_message "1 problem found in the store: 'hutch system check --repair' removes what is damaged"
        # sizes only: a flipped byte keeps the size
        run_hutch system check --quick
        run_hutch system check --repair
        assert_match "$output" "layer blob $blob: corrupt: .*: removed"
        assert_match "$output" "Images removed \\(pull or load them again\\):"$'\n'"  localhost/bb:1"
        assert_match "$output" "Repaired 1 problem."
        [ ! -e "$(blob_path "$blob")" ] || die "the corrupt blob is still stored"
        run_hutch images --format '{{.Repository}}:{{.Tag}}'
        assert_equal "$output" "localhost/app:1"
        run_hutch run --rm --network none app:1 cat /etc/which
        assert_equal "$output" app
        run_hutch system check
        assert_match "$output" "^No problems found: 1 image, 1 layer, 3 blobs"
        # the damaged image can be had again
        import_images bb
        run_hutch run --rm --network none bb:1 echo back
        assert_equal "$output" back
        run_hutch system check
}

@test "check: a deleted layer blob, manifest or config is reported; rmi and image prune remove what is left" {
        import_images bb app third
        local blob manifest config
        field bb:1 ".Layers[0].Digest"
        blob=$FIELD
        field app:1 .Digest
        manifest=$FIELD
        rm -f "$(blob_path "$blob")" "$(blob_path "$manifest")"
        run_hutch 125 system check --quick
        assert_match "$output" "image localhost/bb:1 \\([0-9a-f]{12}\\): layer blob $blob: missing \\(No such file or directory\\)"
        assert_match "$output" "image localhost/app:1 \\([0-9a-f]{12}\\): manifest $manifest: missing"
        assert_error_message "2 problems found in the store"
        run_hutch rmi bb:1
        assert_match "$output" "Untagged: localhost/bb:1"
        run_hutch image prune -a
        assert_match "$output" "Untagged: localhost/app:1"
        run_hutch images -q
        assert_equal "$output" ""
        run_hutch system check
        assert_match "$output" "^No problems found: 0 images, 0 layers, 0 blobs"
        # a config cut short: the sizes already tell
        import_images third
        field third:1 .Id
        config=$FIELD
        truncate -s 10 "$(blob_path "sha256:$config")"
        run_hutch 125 run --rm --network none third:1 true
        assert_error_message "corrupt"
        run_hutch 125 system check --quick
        assert_match "$output" "config sha256:$config: 10 bytes, [0-9]+ recorded"
        run_hutch system check --repair
        assert_match "$output" "  localhost/third:1"
        run_hutch system check
}

@test "check: a missing layer tree is reported; run says so; --repair removes the image" {
        import_images bb app
        local chain
        field bb:1 ".Layers[0].ChainID"
        chain=$FIELD
        run_hutch unshare rm -rf "$HUTCH_ROOT/layers/${chain#sha256:}"
        run_hutch 125 run --rm --network none bb:1 true
        assert_error_message "layer $chain is missing from the store"
        run_hutch 125 system check
        assert_match "$output" "image localhost/bb:1 .*: layer $chain: its tree 'layers/${chain#sha256:}' is missing"
        run_hutch system check --repair
        assert_match "$output" "  localhost/bb:1"
        run_hutch run --rm --network none app:1 cat /etc/which
        assert_equal "$output" app
        run_hutch system check
}

@test "check: image records cut short: a clear error from every command; --repair keeps the whole records" {
        import_images bb app third
        local recs="$HUTCH_ROOT/images/images.json" size
        size=$(stat -c %s "$recs")
        # the third record is cut in its middle
        truncate -s $((size * 5 / 6)) "$recs"
        run_hutch 125 images
        assert_error_message "image records '$HUTCH_ROOT/images/images.json' are damaged \\('hutch system check --repair' keeps what is whole\\)"
        run_hutch 125 rmi bb:1
        assert_error_message "are damaged"
        run_hutch 125 image prune
        assert_error_message "are damaged"
        run_hutch 125 run --rm --network none bb:1 true
        assert_error_message "are damaged"
        run_hutch 125 system check
        assert_match "$output" "image records 'images/images.json': invalid JSON: .*: 2 whole records kept, the rest lost"
        assert_match "$output" "Images whose records are lost \\(pull or load them again\\):"$'\n'"  localhost/third:1"
        run_hutch system check --repair
        assert_match "$output" "rewritten with the whole records"
        assert_match "$output" "Images removed \\(pull or load them again\\):"$'\n'"  localhost/third:1"
        run_hutch images --format '{{.Repository}}:{{.Tag}}'
        assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "localhost/app:1 localhost/bb:1 "
        run_hutch run --rm --network none app:1 cat /etc/which
        assert_equal "$output" app
        run_hutch system check
        assert_match "$output" "^No problems found: 2 images, 2 layers, 6 blobs"
        # cut to nothing: an empty store, nothing of it left behind
        : >"$recs"
        run_hutch 125 images
        run_hutch system check --repair
        assert_match "$output" "0 whole records kept"
        run_hutch images -q
        assert_equal "$output" ""
        assert_equal "$(find "$HUTCH_ROOT/layers" "$HUTCH_ROOT/blobs/sha256" -mindepth 1 -maxdepth 1 | wc -l)" 0 "unused layers and blobs collected"
        import_images third
        run_hutch run --rm --network none third:1 cat /etc/which
        assert_equal "$output" third
}

@test "check: leftovers of killed commands are reported once nobody uses the store, and removed" {
        import_images bb
        mkdir -p "$HUTCH_ROOT/tmp/pull-Ab12Cd/x" "$HUTCH_ROOT/layers/$(printf '%064d' 7).tmp-XyZ123"
        : >"$HUTCH_ROOT/blobs/sha256/blob-1-2-3"
        # in use (as by a running container): not leftovers yet
        exec 8<"$HUTCH_ROOT/storage.lock"
        flock -s 8
        run_hutch system check
        assert_match "$output" "^No problems found"
        assert_match "$stderr" "the store is in use .*: files of commands in progress were not checked"
        exec 8<&-
        run_hutch 125 system check
        assert_match "$output" "tmp/pull-Ab12Cd: left by an interrupted command"
        assert_match "$output" "layers/0{63}7.tmp-XyZ123: left by an interrupted command"
        assert_match "$output" "blobs/sha256/blob-1-2-3: left by an interrupted command"
        assert_error_message "3 problems found in the store"
        run_hutch system check --repair
        assert_match "$output" "Repaired 3 problems."
        assert_equal "$(ls -A "$HUTCH_ROOT/tmp")" "" "tmp/ is empty"
        run_hutch system check
        run_hutch run --rm --network none bb:1 echo fine
        assert_equal "$output" fine
}

@test "check: containers of a damaged image are kept unless --force; unreadable container records" {
        import_images bb app
        run_hutch create --network none --name c1 bb:1 true
        local c1=$output blob
        run_hutch create --network none --name c2 app:1 cat /etc/which
        field bb:1 ".Layers[0].Digest"
        blob=$FIELD
        flip_byte "$(blob_path "$blob")" 100
        run_hutch 125 system check
        assert_match "$output" "container c1 \\(${c1:0:12}\\): its image [0-9a-f]{12} is damaged"
        assert_error_message "2 problems found"
        run_hutch 125 system check --repair
        assert_match "$output" "image localhost/bb:1 .*corrupt.*\\(a container uses it: --force removes both\\)"
        assert_match "$output" "container c1 .*is damaged \\(--force removes it\\)"
        assert_error_message "2 problems could not be repaired"
        run_hutch ps -a --format '{{.Names}}'
        assert_match "$output" "c1"
        run_hutch system check --repair --force
        assert_match "$output" "container c1 .*: removed"
        assert_match "$output" "  localhost/bb:1"
        run_hutch ps -a --format '{{.Names}}'
        assert_equal "$output" c2
        run_hutch start -a c2
        assert_equal "$output" app
        # a record that no longer parses
        run_hutch ps -aq --no-trunc
        local c2=$output
        echo '{"id":' >"$HUTCH_ROOT/containers/$c2/container.json"
        run_hutch 125 system check
        assert_match "$output" "container \\? \\(${c2:0:12}\\): its record is unreadable"
        run_hutch system check --repair --force
        [ ! -e "$HUTCH_ROOT/containers/$c2" ] || die "the container with the unreadable record is left"
        run_hutch system check
        run_hutch run --rm --network none app:1 cat /etc/which
        assert_equal "$output" app
}

#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# The command line: help, version, usage errors and `hutch info`.

load helpers

setup_file() {
        require_not_root
}

@test "hutch --help lists the commands and global options" {
        run_hutch --help
        assert_match "$output" "Usage:"
        assert_match "$output" "hutch \[OPTIONS\] COMMAND"
        local c
        for c in run info version; do
                grep -qE "^  $c " <<<"$output" || die "--help does not list '$c'"
        done
        for c in --log-level --root --runroot --storage-driver --version; do
                assert_match "$output" "$c" "--help lists '$c'"
        done
        assert_equal "$stderr" "" "nothing on stderr"
}

@test "hutch COMMAND --help shows the command's usage and options" {
        run_hutch run --help
        assert_match "$output" "hutch run \[OPTIONS\] IMAGE\|--rootfs DIR \[COMMAND"
        local opt
        for opt in --rootfs --env --env-file --workdir --user --hostname --entrypoint --volume --rm --read-only; do
                assert_match "$output" "$opt" "run --help lists '$opt'"
        done
        run_hutch info --help
        assert_match "$output" "hutch info"
        assert_match "$output" "--format"
        run_hutch version --help
        assert_match "$output" "hutch version"
}

@test "hutch --version and hutch version" {
        run_hutch --version
        assert_match "$output" "^hutch version [0-9]+\.[0-9]+\.[0-9]+"
        local v=${output#hutch version }

        run_hutch version
        assert_match "$output" "$v"

        require_cmd jq
        run_hutch version --format json
        run jq -r .Version <<<"$output"
        assert_equal "$status" 0 "version --format json is JSON"
        assert_equal "$output" "$v"
}

@test "an unknown command: one error line, a hint, exit 125" {
        run_hutch 125 frobnicate
        assert_equal "$output" "" "nothing on stdout"
        assert_error_message "frobnicate"
        assert_match "$stderr" "'hutch --help'"
}

@test "unknown flags and missing arguments: exit 125 with a hint" {
        run_hutch 125 --no-such-flag version
        assert_error_message "no-such-flag"
        assert_match "$stderr" "See 'hutch --help'"

        run_hutch 125 run --no-such-flag --rootfs /nonexistent true
        assert_error_message "no-such-flag"
        assert_match "$stderr" "See 'hutch run --help'"

        run_hutch 125 info --no-such-flag
        assert_error_message "no-such-flag"
        assert_match "$stderr" "See 'hutch info --help'"

        run_hutch 125 run --rootfs
        assert_error_message "rootfs"

        run_hutch 125 --log-level loud version
        assert_error_message "loud"

        run_hutch 125 --storage-driver zfs version
        assert_error_message "zfs"

        run_hutch 125 info --format yaml
        assert_error_message "yaml"
}

@test "hutch with no command prints the usage and fails" {
        run_hutch 125
        assert_match "$output$stderr" "Usage:"
}

@test "hutch info (text) says what this machine allows" {
        run_hutch info
        local word
        for word in kernel "user namespaces" newuidmap overlay /dev/fuse /dev/net/tun cgroup "$HUTCH_ROOT" \
                "$HUTCH_RUNROOT"; do
                assert_match "$output" "$word" "info mentions '$word'"
        done
        assert_match "$output" "$(uname -r)"
        assert_match "$output" "$(id -un)"
}

@test "hutch info --format json reports the host, ID maps, helpers, overlay, devices, cgroups and store" {
        require_cmd jq
        run_hutch info --format json
        json=$output
        jq -e . >/dev/null <<<"$json" || die "not JSON: $json"

        assert_equal "$(jq -r .host.kernel <<<"$json")" "$(uname -r)" "host.kernel"
        assert_match "$(jq -r .host.arch <<<"$json")" "^[a-z0-9_]+$" "host.arch"
        assert_equal "$(jq -r .host.user <<<"$json")" "$(id -un)" "host.user"
        assert_equal "$(jq -c .host.uid <<<"$json")" "$(id -u)" "host.uid is a number"
        local userns=false
        if unshare --user true 2>/dev/null; then userns=true; fi
        assert_equal "$(jq -c .host.userns <<<"$json")" "$userns" "host.userns"

        # The subordinate ranges, as in /etc/subuid and /etc/subgid.
        local kind want got
        for kind in uid gid; do
                assert_match "$(jq -r ".host.idmaps.$kind.source" <<<"$json")" "." "idmaps.$kind.source"
                want=$(subid_ranges "$kind")
                got=$(jq -r ".host.idmaps.$kind.ranges[] | \"\(.start) \(.count)\"" <<<"$json")
                assert_equal "$got" "$want" "idmaps.$kind.ranges"
        done

        # Helpers: a path when installed, else null.
        local helper path
        for helper in newuidmap newgidmap; do
                path=$(command -v "$helper" || echo null)
                got=$(jq -r ".host.$helper" <<<"$json")
                if [ "$path" = null ]; then
                        assert_equal "$got" null "host.$helper"
                else
                        assert_equal "$(readlink -f "$got")" "$(readlink -f "$path")" "host.$helper"
                fi
        done

        assert_match "$(jq -r .host.overlay.mode <<<"$json")" "^(overlay|fuse-overlayfs|copy)$" "overlay.mode"
        assert_match "$(jq -c .host.overlay.kernel_overlay <<<"$json")" "^(true|false)$" "overlay.kernel_overlay"
        path=$(command -v fuse-overlayfs || echo null)
        got=$(jq -r .host.overlay.fuse_overlayfs <<<"$json")
        if [ "$path" = null ]; then
                assert_equal "$got" null "overlay.fuse_overlayfs"
        else
                assert_equal "$(readlink -f "$got")" "$(readlink -f "$path")" "overlay.fuse_overlayfs"
        fi

        # Devices: "usable" exactly when we can open them read-write.
        local dev key
        for dev in /dev/fuse /dev/net/tun; do
                key=dev_$(echo "${dev#/dev/}" | tr / _)
                got=$(jq -r ".host.$key" <<<"$json")
                if (exec 9<>"$dev") 2>/dev/null; then
                        assert_equal "$got" usable "host.$key"
                else
                        assert_match "$got" "." "host.$key explains the problem"
                        assert "$got" != usable "host.$key"
                fi
        done

        local cg=v1
        if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
                cg=v2
        elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
                cg=hybrid
        fi
        assert_equal "$(jq -r .host.cgroup.version <<<"$json")" "$cg" "cgroup.version"

        assert_equal "$(jq -r .store.root <<<"$json")" "$HUTCH_ROOT" "store.root follows --root"
        assert_equal "$(jq -r .store.runroot <<<"$json")" "$HUTCH_RUNROOT" "store.runroot follows --runroot"
}

@test "hutch info --format json: store.driver follows --storage-driver" {
        require_cmd jq
        run_hutch --storage-driver copy info --format json
        # host.overlay.mode is what the machine allows; store.driver is the one chosen.
        assert_equal "$(jq -r .store.driver <<<"$output")" copy "store.driver"
}

@test "[nosub] hutch info for a user without subordinate ranges" {
        if [ -n "$(subid_ranges uid)" ]; then
                skip "$(id -un) has subordinate ranges (the hutchnosub pass of tests/run-tests.sh runs this)"
        fi
        require_cmd jq
        run_hutch info --format json
        assert_equal "$(jq -c .host.idmaps.uid.ranges <<<"$output")" "[]" "no subordinate UIDs"
        assert_equal "$(jq -c .host.idmaps.gid.ranges <<<"$output")" "[]" "no subordinate GIDs"
        run_hutch info
        assert_match "$output" "usermod" "text info names the fix (usermod --add-subuids)"
}

@test "config file: [storage] root, runroot and driver apply where no option says otherwise; bad files are errors" {
        mkdir -p "$XDG_CONFIG_HOME/hutch"
        printf '[storage]\nroot = "%s"\ndriver = "copy"\n' "$BATS_TEST_TMPDIR/cfg-root" >"$XDG_CONFIG_HOME/hutch/hutch.conf"
        run env XDG_CONFIG_HOME="$XDG_CONFIG_HOME" "$HUTCH" info --format json
        assert_equal "$status" "0"
        assert_equal "$(jq -r .store.root <<<"$output")" "$BATS_TEST_TMPDIR/cfg-root"
        assert_equal "$(jq -r .store.driver <<<"$output")" "copy"
        run env XDG_CONFIG_HOME="$XDG_CONFIG_HOME" "$HUTCH" --root "$BATS_TEST_TMPDIR/opt-root" info --format json
        assert_equal "$(jq -r .store.root <<<"$output")" "$BATS_TEST_TMPDIR/opt-root"
        printf '[storage]\nroot = "relative"\n' >"$XDG_CONFIG_HOME/hutch/hutch.conf"
        run env XDG_CONFIG_HOME="$XDG_CONFIG_HOME" "$HUTCH" info
        assert_equal "$status" "125"
        assert_match "$output" "invalid \[storage\] root"
        printf '[storage\n' >"$XDG_CONFIG_HOME/hutch/hutch.conf"
        run env XDG_CONFIG_HOME="$XDG_CONFIG_HOME" "$HUTCH" info
        assert_equal "$status" "125"
        run env HUTCH_CONFIG=/nonexistent "$HUTCH" version
        assert_equal "$status" "125"
}

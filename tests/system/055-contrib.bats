#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# What contrib/ ships: the systemd user units (their commands run as systemd
# would run them) and the example configuration files (read by hutch).

load helpers

setup() {
        basic_setup
        IMAGE_TAR="$BATS_FILE_TMPDIR/rootfs.tar"
        if [ ! -e "$IMAGE_TAR" ]; then
                tar -C "$ROOTFS" -cf "$IMAGE_TAR" .
        fi
        UNITS="$HUTCH_SRCDIR/contrib/systemd"
}


# unit_command FILE KEY INSTANCE: the words of KEY= (ExecStart, ...) of a
# unit file with %i replaced, in the array UNIT_ARGV; its first word must
# be hutch.
unit_command() {
        local line
        line=$(sed -n "s/^$2=//p" "$1")
        [ -n "$line" ] || die "$1 has no $2="
        read -ra UNIT_ARGV <<<"${line//%i/$3}"
        assert_equal "${UNIT_ARGV[0]}" "hutch" "$2 runs hutch"
}

@test "systemd: hutch-container@.service's ExecStart runs the container in the foreground, ExecStop stops it" {
        run_hutch import "$IMAGE_TAR" bb:1
        run_hutch create --network none --name web bb:1 \
                sh -c 'trap "echo got-term; exit 0" TERM; echo up; while :; do sleep 0.1; done'
        local unit="$UNITS/hutch-container@.service"
        grep -qx 'Restart=on-failure' "$unit"
        grep -qx 'KillMode=mixed' "$unit"

        unit_command "$unit" ExecStart web
        assert_equal "${UNIT_ARGV[*]}" "hutch start -a web"
        start_hutch_bg "$BATS_TEST_TMPDIR/start.out" "${UNIT_ARGV[@]:1}"
        wait_for_file_content "$BATS_TEST_TMPDIR/start.out" "^up$"
        run_hutch ps --format '{{.Names}} {{.State}}'
        assert_equal "$output" "web running"

        unit_command "$unit" ExecStop web
        assert_equal "${UNIT_ARGV[*]}" "hutch stop -t 10 web"
        run_hutch "${UNIT_ARGV[@]:1}"
        # ExecStart's hutch ends with the container, with its status: 0 is
        # not a failure for Restart=on-failure
        wait_hutch_bg 20
        assert_equal "$status" "0" "hutch start -a exits with the container's status"
        assert_match "$(cat "$BATS_TEST_TMPDIR/start.out")" "got-term"
        run_hutch inspect --format '{{.State.Status}} {{.State.ExitCode}}' web
        assert_equal "$output" "exited 0"
        run_hutch ps
        assert_equal "${#lines[@]}" "1" "nothing runs"
}

@test "systemd: a failing container makes ExecStart fail (Restart=on-failure restarts it)" {
        run_hutch import "$IMAGE_TAR" bb:1
        run_hutch create --network none --name bad bb:1 sh -c 'exit 7'
        unit_command "$UNITS/hutch-container@.service" ExecStart bad
        run_hutch 7 "${UNIT_ARGV[@]:1}"
        # and runs again, as systemd's restart does
        run_hutch 7 "${UNIT_ARGV[@]:1}"
        run_hutch 125 start -a no-such-container
        assert_error_message "no-such-container"
}

@test "systemd: hutch-prune.service's command prunes; the timer is weekly" {
        run_hutch import "$IMAGE_TAR" bb:1
        run_hutch create --network none --name old bb:1 true
        run_hutch start -a old
        grep -qx 'OnCalendar=weekly' "$UNITS/hutch-prune.timer"
        unit_command "$UNITS/hutch-prune.service" ExecStart x
        assert_equal "${UNIT_ARGV[*]}" "hutch system prune -f"
        run_hutch "${UNIT_ARGV[@]:1}"
        run_hutch ps -aq
        assert_equal "$output" "" "the stopped container is gone"
        run_hutch images --format '{{.Repository}}:{{.Tag}}'
        assert_match "$output" "bb:1$" "a named image is kept (no --all)"
        # systemd's own check of the files, where this user can run it
        if command -v systemd-analyze >/dev/null 2>&1; then
                local dir="$BATS_TEST_TMPDIR/units" bin="$BATS_TEST_TMPDIR/bin"
                mkdir -p "$dir" "$bin"
                ln -s "$(command -v "$HUTCH")" "$bin/hutch"
                cp "$UNITS/hutch-container@.service" "$dir/hutch-container@web.service"
                cp "$UNITS/hutch-prune.service" "$UNITS/hutch-prune.timer" "$dir/"
                run env PATH="$bin:$PATH" systemd-analyze --user verify "$dir/hutch-container@web.service" \
                        "$dir/hutch-prune.service" "$dir/hutch-prune.timer"
                assert_equal "$status" "0" "systemd-analyze verify: $output"
        fi
}

@test "config: the example registries.conf is read and its registries honoured" {
        export CONTAINERS_REGISTRIES_CONF="$HUTCH_SRCDIR/contrib/config/registries.conf"
        # blocked = true, without any network
        run_hutch 125 pull blocked.example.com/team/app:1
        assert_error_message "blocked"
        # the same file broken is refused: so it is the one read
        CONTAINERS_REGISTRIES_CONF="$BATS_TEST_TMPDIR/broken.conf"
        sed 's/^unqualified-search-registries = \[/unqualified-search-registries = [1, /' \
                "$HUTCH_SRCDIR/contrib/config/registries.conf" >"$CONTAINERS_REGISTRIES_CONF"
        run_hutch 125 pull blocked.example.com/team/app:1
        assert_error_message "broken.conf"
        # where the README says it goes
        unset CONTAINERS_REGISTRIES_CONF
        mkdir -p "$XDG_CONFIG_HOME/containers"
        cp "$HUTCH_SRCDIR/contrib/config/registries.conf" "$XDG_CONFIG_HOME/containers/"
        run_hutch 125 pull blocked.example.com/team/app:1
        assert_error_message "blocked"
}

@test "config: the example hutch.conf is read (command-line options win)" {
        export HUTCH_CONFIG="$HUTCH_SRCDIR/contrib/config/hutch.conf"
        run_hutch import "$IMAGE_TAR" bb:1
        run_hutch images --format '{{.Repository}}:{{.Tag}}'
        assert_match "$output" "bb:1$"
        HUTCH_CONFIG="$BATS_TEST_TMPDIR/hutch.conf"
        sed 's/^# driver = .*/driver = "nonsense"/' "$HUTCH_SRCDIR/contrib/config/hutch.conf" >"$HUTCH_CONFIG"
        run_hutch 125 images
        assert_error_message "invalid \[storage\] driver"
        unset HUTCH_CONFIG # teardown's hutch reads none
}

#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2030,SC2031 # bats runs each test in a subshell
# shellcheck disable=SC2016 # the container's shell expands these
# hutch run --rootfs: the process, its namespaces, exit codes, signals, env,
# workdir, volumes, the root filesystem left untouched, fds and errors.

load helpers

@test "run: the command runs as PID 1 and its output passes through" {
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'echo pid=$$; echo to-stderr >&2'
        assert_equal "$output" "pid=1"
        assert_equal "$stderr" "to-stderr" "the container's stderr is hutch's stderr"
}

@test "run: the root is the given directory, nothing of the host's" {
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'grep ^NAME= /etc/os-release; ls /'
        assert_equal "${lines[0]}" 'NAME="hutch busybox rootfs"'
        local ls_root
        ls_root=$(echo "${lines[@]:1}" | tr ' ' '\n' | sort | tr '\n' ' ')
        assert_equal "$ls_root" "$(find "$ROOTFS" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')" \
                "the container's / lists the rootfs"
        run_hutch run --rm --rootfs "$ROOTFS" sh -c "test -e '$BATS_TEST_TMPDIR' || test -e '$HUTCH_ROOT' || echo isolated"
        assert_equal "$output" isolated "the host's files are out of sight"
}

@test "run: a megabyte of output passes through whole" {
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'head -c 1048576 /dev/zero | tr "\0" x; echo; echo end >&2'
        assert_equal "${#output}" 1048576 "bytes on stdout"
        assert_equal "$stderr" end
}

@test "run: two containers from the same rootfs at the same time" {
        local out1="$BATS_TEST_TMPDIR/out1" out2="$BATS_TEST_TMPDIR/out2" pid1
        start_hutch_bg "$out1" run --rm --rootfs "$ROOTFS" --hostname one sh -c \
                'echo one > /etc/which; echo ready; sleep 2; cat /etc/which; hostname'
        pid1=$HUTCH_PID
        start_hutch_bg "$out2" run --rm --rootfs "$ROOTFS" --hostname two sh -c \
                'echo two > /etc/which; echo ready; sleep 2; cat /etc/which; hostname'
        wait_for_file_content "$out1" '^ready$'
        wait_for_file_content "$out2" '^ready$'
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'cat /etc/which 2>/dev/null || echo none'
        assert_equal "$output" none "a third container sees neither's files"
        wait_hutch_bg
        assert_equal "$status" 0
        assert_equal "$(cat "$out2")" "ready
two
two"
        HUTCH_PID=$pid1
        # shellcheck disable=SC2034 # read by wait_hutch_bg
        HUTCH_BG_ERR=$out1.err
        wait_hutch_bg
        assert_equal "$status" 0
        assert_equal "$(cat "$out1")" "ready
one
one"
}

@test "run: stdin passes through with -i; without it the container reads nothing (Docker's)" {
        printf 'line one\nline two\n' >"$BATS_TEST_TMPDIR/in"
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/in" run_hutch run --rm -i --rootfs "$ROOTFS" wc -l
        assert_equal "$(echo "$output" | tr -d ' ')" 2
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/in" run_hutch run --rm --rootfs "$ROOTFS" wc -l
        assert_equal "$(echo "$output" | tr -d ' ')" 0
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/in" run_hutch run --rm --rootfs "$ROOTFS" sh -c 'readlink /proc/self/fd/0'
        assert_equal "$output" "/dev/null"
}

@test "run: arguments reach the command unchanged" {
        run_hutch run --rm --rootfs "$ROOTFS" printf '[%s]\n' "a b" "" '$HOME' "-e" "--rm"
        assert_equal "$output" "[a b]
[]
[\$HOME]
[-e]
[--rm]"
}

@test "run: the container has its own namespaces" {
        local ns mine theirs
        for ns in user mnt pid uts ipc net cgroup; do
                mine=$(readlink "/proc/self/ns/$ns")
                run_hutch run --rm --rootfs "$ROOTFS" readlink "/proc/self/ns/$ns"
                theirs=$output
                assert_match "$theirs" "^$ns:\[[0-9]+\]$" "ns/$ns"
                assert "$theirs" != "$mine" "the container has its own $ns namespace"
        done
}

@test "run: --network none: only the loopback interface, and it is up" {
        run_hutch run --rm --network none --rootfs "$ROOTFS" cat /proc/net/dev
        local ifaces
        ifaces=$(tail -n +3 <<<"$output" | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')
        assert_equal "$ifaces" "lo " "network interfaces"
        run_hutch run --rm --network none --rootfs "$ROOTFS" ip -o link show lo
        assert_match "$output" "<LOOPBACK,UP" "lo is up"
}

@test "run: --hostname sets the host name" {
        run_hutch run --rm --rootfs "$ROOTFS" --hostname box-42 sh -c 'hostname; cat /proc/sys/kernel/hostname'
        assert_equal "$output" "box-42
box-42"
        # The host's name is left alone.
        run_hutch run --rm --rootfs "$ROOTFS" hostname
        assert "$output" != box-42 "a new container gets a new UTS namespace"
        assert_equal "$(hostname)" "$(cat /proc/sys/kernel/hostname)"
}

@test "run: /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue and a read-only /sys are set up" {
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'cat /proc/self/mountinfo'
        local mi=$output
        local mp
        for mp in /proc /dev /dev/pts /dev/shm /dev/mqueue /sys; do
                grep -qE "^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ $mp " <<<"$mi" || die "no mount on $mp" "$mi"
        done
        grep -qE "^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ /sys ro[, ]" <<<"$mi" || die "/sys is not read-only" "$mi"
        grep -qE "^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ /dev [^ ]+ .*- tmpfs " <<<"$mi" || die "/dev is not a tmpfs" "$mi"
        grep -qE "^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ /proc [^ ]+ .*- proc " <<<"$mi" || die "/proc is not a proc" "$mi"
        # A devpts instance of its own: none of the host's terminals.
        run_hutch run --rm --rootfs "$ROOTFS" ls /dev/pts
        assert_equal "$output" ptmx "/dev/pts is a new instance"
        run_hutch run --rm --rootfs "$ROOTFS" sh -c \
                'for d in null zero full random urandom tty; do test -c /dev/$d || echo "missing /dev/$d"; done;
                 echo x > /dev/null && head -c 4 /dev/zero | wc -c; test -e /dev/ptmx && echo ptmx'
        assert_equal "$output" "4
ptmx"
        # Only the standard devices: nothing else of the host's /dev.
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'test -e /dev/fuse || test -e /dev/vda || test -e /dev/mem; echo $?'
        assert_equal "$output" 1 "host devices beyond the standard ones are not visible"
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'echo $PPID'
        assert_equal "$output" 0 "PID 1 has no parent inside"
}

@test "run: exit codes: 0, the container's own, 126, 127" {
        run_hutch 0 run --rm --rootfs "$ROOTFS" true
        run_hutch 1 run --rm --rootfs "$ROOTFS" false
        run_hutch 42 run --rm --rootfs "$ROOTFS" sh -c 'exit 42'
        run_hutch 255 run --rm --rootfs "$ROOTFS" sh -c 'exit 255'

        # 126: found but cannot be executed (not executable, a directory).
        run_hutch 126 run --rm --rootfs "$ROOTFS" /etc/passwd
        assert_match "$stderr" "/etc/passwd" "the error names the file"
        run_hutch 126 run --rm --rootfs "$ROOTFS" /tmp
        assert_match "$stderr" "/tmp"

        # 127: not found, by path and by PATH lookup.
        run_hutch 127 run --rm --rootfs "$ROOTFS" /no/such/program
        assert_match "$stderr" "/no/such/program" "the error names the program"
        run_hutch 127 run --rm --rootfs "$ROOTFS" no-such-program
        assert_match "$stderr" "no-such-program" "the error names the program"
}

@test "run: 128+n when the container is killed by signal n (137 for SIGKILL from the host)" {
        local out="$BATS_TEST_TMPDIR/out"
        start_hutch_bg "$out" run --rm --rootfs "$ROOTFS" sleep 1000
        local cpid
        cpid=$(find_container_process "$HUTCH_PID" sleep)
        kill -KILL "$cpid"
        wait_hutch_bg
        assert_equal "$status" 137 "exit status after SIGKILL"
}

# forward_signal SIG: starts a container whose PID 1 traps SIG, sends SIG to
# hutch and checks that the trap ran and the exit status is the trap's.
forward_signal() {
        local sig=$1 out="$BATS_TEST_TMPDIR/out-$1"
        start_hutch_bg "$out" run --rm --rootfs "$ROOTFS" sh -c \
                "trap 'echo got-$sig; exit 33' $sig; echo ready; while :; do sleep 0.05; done"
        wait_for_file_content "$out" '^ready$' || return 1
        kill "-$sig" "$HUTCH_PID"
        wait_hutch_bg
        assert_equal "$(cat "$out")" "ready
got-$sig" "the container's trap for SIG$sig ran (stderr: $(cat "$out.err"))" || return 1
        assert_equal "$status" 33 "hutch exits with the container's status after SIG$sig" || return 1
}

@test "run: SIGTERM sent to hutch is forwarded to the container's PID 1" {
        forward_signal TERM
}

@test "run: SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded" {
        local sig
        for sig in INT HUP QUIT USR1 USR2; do
                forward_signal "$sig"
        done
}

@test "run: SIGTERM to hutch when PID 1 ignores it does not kill hutch" {
        local out="$BATS_TEST_TMPDIR/out"
        start_hutch_bg "$out" run --rm --rootfs "$ROOTFS" sh -c \
                "trap '' TERM; echo ready; sleep 1; echo still-here"
        wait_for_file_content "$out" '^ready$'
        kill -TERM "$HUTCH_PID"
        wait_hutch_bg
        assert_equal "$status" 0
        assert_equal "$(cat "$out")" "ready
still-here"
}

@test "run: -e, --env-file and -e KEY with the host's value; the host environment stays out" {
        local envfile="$BATS_TEST_TMPDIR/env"
        cat >"$envfile" <<'EOF'
# a comment

FROM_FILE=one
SPACES=two words here
EMPTY=
OVERRIDDEN=from-file
EOF
        export HUTCH_TEST_HOST_VAR=host-value HUTCH_TEST_SECRET=should-not-leak
        run_hutch run --rm --rootfs "$ROOTFS" -e FOO=bar -e 'WITH_EQ=a=b' --env-file "$envfile" \
                -e OVERRIDDEN=from-flag -e HUTCH_TEST_HOST_VAR --env HUTCH_TEST_UNSET_VAR env
        local env=$output
        local want
        for want in FOO=bar WITH_EQ=a=b FROM_FILE=one "SPACES=two words here" EMPTY= OVERRIDDEN=from-flag \
                HUTCH_TEST_HOST_VAR=host-value; do
                grep -qxF -- "$want" <<<"$env" || die "'$want' missing from the container's environment" "$env"
        done
        ! grep -q HUTCH_TEST_SECRET <<<"$env" || die "the host's environment leaked into the container" "$env"
        ! grep -q '^HUTCH_TEST_UNSET_VAR=' <<<"$env" || die "-e KEY for an unset host variable set it" "$env"
        ! grep -q '^#' <<<"$env" || die "a comment of the env file became a variable" "$env"
        grep -q '^PATH=/' <<<"$env" || die "no default PATH" "$env"
        grep -q '^HOME=/root$' <<<"$env" || die "HOME is not root's home" "$env"
}

@test "run: a missing or malformed --env-file is an error" {
        run_hutch 125 run --rm --rootfs "$ROOTFS" --env-file "$BATS_TEST_TMPDIR/no-such-file" true
        assert_error_message "no-such-file"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -e '=value' true
        assert_error_message "=value"
}

@test "run: -w/--workdir sets the working directory" {
        run_hutch run --rm --rootfs "$ROOTFS" pwd
        assert_equal "$output" / "default working directory"
        run_hutch run --rm --rootfs "$ROOTFS" -w /tmp pwd
        assert_equal "$output" /tmp
        run_hutch run --rm --rootfs "$ROOTFS" --workdir /home/tester sh -c 'pwd; echo $PWD'
        assert_equal "$output" "/home/tester
/home/tester"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -w relative/dir pwd
        assert_error_message "relative/dir"
}

@test "run: --entrypoint runs CMD with the command as its arguments" {
        run_hutch run --rm --rootfs "$ROOTFS" --entrypoint /bin/echo hello world
        assert_equal "$output" "hello world"
        run_hutch run --rm --rootfs "$ROOTFS" --entrypoint printf '<%s>' x
        assert_equal "$output" "<x>"
}

@test "run: -v rw volume: the container writes, the host sees it" {
        local vol="$BATS_TEST_TMPDIR/vol"
        mkdir "$vol"
        echo from-host >"$vol/in"
        run_hutch run --rm --rootfs "$ROOTFS" -v "$vol:/data" sh -c 'cat /data/in; echo from-container > /data/out'
        assert_equal "$output" from-host
        assert_equal "$(cat "$vol/out")" from-container
        assert_equal "$(stat -c %u "$vol/out")" "$(id -u)" "a file made by container root belongs to the user"

        # A single file, and a mount point that does not exist in the rootfs.
        run_hutch run --rm --rootfs "$ROOTFS" -v "$vol/in:/etc/in.conf" -v "$vol:/new/dir/data" \
                sh -c 'cat /etc/in.conf; ls /new/dir/data | sort | tr "\n" " "'
        assert_equal "$output" "from-host
in out "
        [ ! -e "$ROOTFS/new" ] || die "the mount point was created in the rootfs directory itself"
}

@test "run: -v ro volume: reads work, writes fail, the host keeps its file" {
        local vol="$BATS_TEST_TMPDIR/vol"
        mkdir "$vol"
        echo keep >"$vol/file"
        run_hutch run --rm --rootfs "$ROOTFS" -v "$vol:/data:ro" cat /data/file
        assert_equal "$output" keep
        run_hutch '?' run --rm --rootfs "$ROOTFS" -v "$vol:/data:ro" sh -c 'echo changed > /data/file'
        assert "$status" -ne 0 "writing to a read-only volume fails"
        assert_match "$stderr" "Read-only file system"
        run_hutch '?' run --rm --rootfs "$ROOTFS" -v "$vol:/data:ro" touch /data/new
        assert "$status" -ne 0 "creating a file on a read-only volume fails"
        assert_equal "$(cat "$vol/file")" keep
        [ ! -e "$vol/new" ] || die "a file was created on a read-only volume"
}

@test "run: bad -v specs are errors (exit 125) naming the problem" {
        local vol="$BATS_TEST_TMPDIR/vol"
        mkdir "$vol"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -v "$BATS_TEST_TMPDIR/no-such-dir:/data" true
        assert_error_message "no-such-dir"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -v "$vol:relative" true
        assert_error_message "relative"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -v "$vol:/data:bogus-option" true
        assert_error_message "bogus-option"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -v ":/data" true
        assert_error_message "/data"
}

# check_rootfs_unchanged [GLOBAL-OPTIONS...]: a container that writes,
# deletes, renames and chmods files leaves the rootfs directory as it was.
check_rootfs_unchanged() {
        local rootfs="$BATS_TEST_TMPDIR/rootfs"
        make_rootfs "$rootfs"
        echo original >"$rootfs/home/tester/file"
        local before after
        before=$(tree_manifest "$rootfs")
        run_hutch "$@" run --rm --rootfs "$rootfs" sh -c '
                set -e
                echo new > /etc/new-file
                echo more >> /etc/passwd
                rm /etc/group /bin/wget
                mv /etc/os-release /etc/os-release.moved
                chmod 0600 /etc/os-release.moved
                chmod 0700 /home/tester
                mkdir -p /var/new/dir
                rm -rf /home/tester/file
                touch /tmp/x /bin
                ln -s /nowhere /etc/dangling
                chown 1000:1000 /home/tester /bin/busybox
                echo done'
        assert_equal "$output" "done"
        after=$(tree_manifest "$rootfs")
        if [ "$before" != "$after" ]; then
                die "the rootfs directory changed:" "$(diff <(echo "$before") <(echo "$after"))"
        fi
        # And the next container sees the original files again.
        run_hutch "$@" run --rm --rootfs "$rootfs" sh -c 'cat /home/tester/file; test -e /etc/new-file || echo gone'
        assert_equal "$output" "original
gone"
}

@test "run: the rootfs directory is unchanged after a container that modifies it (default driver)" {
        check_rootfs_unchanged
}

@test "run: the rootfs directory is unchanged (--storage-driver overlay)" {
        check_rootfs_unchanged --storage-driver overlay
}

@test "run: the rootfs directory is unchanged (--storage-driver fuse-overlayfs)" {
        skip_if_no_fuse
        check_rootfs_unchanged --storage-driver fuse-overlayfs
}

@test "run: the rootfs directory is unchanged (--storage-driver copy)" {
        check_rootfs_unchanged --storage-driver copy
}

@test "run: --read-only makes the root filesystem read-only" {
        run_hutch '?' run --rm --rootfs "$ROOTFS" --read-only touch /etc/new-file
        assert "$status" -ne 0 "writing to a --read-only root fails"
        assert_match "$stderr" "Read-only file system"
        run_hutch run --rm --rootfs "$ROOTFS" --read-only sh -c 'grep -E "^[^ ]+ / " /proc/mounts'
        assert_match "$output" " ro[, ]" "/ is mounted ro"
        # Volumes stay writable.
        local vol="$BATS_TEST_TMPDIR/vol"
        mkdir "$vol"
        run_hutch run --rm --rootfs "$ROOTFS" --read-only -v "$vol:/data" sh -c 'echo w > /data/f'
        assert_equal "$(cat "$vol/f")" w "a rw volume under --read-only"
        # The rest still works.
        run_hutch run --rm --rootfs "$ROOTFS" --read-only sh -c 'head -n1 /etc/passwd; echo x > /dev/null; ls /proc/1 >/dev/null'
        assert_equal "$output" "root:x:0:0:root:/root:/bin/sh"
}

@test "run: no file descriptor of hutch's reaches the container" {
        run_hutch run --rm --rootfs "$ROOTFS" ls /proc/self/fd
        assert_equal "$(echo "$output" | tr '\n' ' ')" "0 1 2 3 " "ls sees 0 1 2 and its own directory fd"
        run_hutch run --rm --rootfs "$ROOTFS" ls -l /proc/1/fd
        assert_equal "$(awk 'NR > 1 { print $9 }' <<<"$output" | sort -n | tr '\n' ' ')" "0 1 2 3 " "PID 1's fds"

        # From the host, with extra fds open in hutch's parent: PID 1 holds 0 1 2 only.
        local out="$BATS_TEST_TMPDIR/out"
        hutch_cmd run --rm --rootfs "$ROOTFS" sleep 1000
        "${HUTCH_CMD[@]}" </dev/null >"$out" 2>"$out.err" 3>&- 7</etc/hostname 8>"$BATS_TEST_TMPDIR/fd8" &
        HUTCH_PID=$!
        HUTCH_BG_PIDS+=("$HUTCH_PID")
        local cpid
        cpid=$(find_container_process "$HUTCH_PID" sleep)
        local fds
        fds=$(find "/proc/$cpid/fd" -mindepth 1 -printf '%f\n' | sort -n | tr '\n' ' ')
        kill -KILL "$cpid"
        wait_hutch_bg
        assert_equal "$fds" "0 1 2 " "the container's PID 1 seen from the host"
}

@test "run: clear errors: missing rootfs, rootfs not a directory, no command, no --rootfs" {
        run_hutch 125 run --rm --rootfs "$BATS_TEST_TMPDIR/no-such-rootfs" true
        assert_error_message "no-such-rootfs"
        assert_equal "$output" "" "nothing on stdout"

        touch "$BATS_TEST_TMPDIR/a-file"
        run_hutch 125 run --rm --rootfs "$BATS_TEST_TMPDIR/a-file" true
        assert_error_message "a-file"

        run_hutch 125 run --rm --rootfs "$ROOTFS"
        assert_error_message "[Cc]ommand"

        run_hutch 125 run --rm true
        assert_error_message "."

        run_hutch 125 run --rm --rootfs relative/path true
        assert_error_message "relative/path"
}

@test "run: --rm leaves nothing behind in the store and the run-time directory" {
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'echo data > /etc/x; mkdir -p /var/lib/y; echo z > /var/lib/y/z'
        run_hutch 3 run --rm --rootfs "$ROOTFS" sh -c 'exit 3'
        run_hutch 127 run --rm --rootfs "$ROOTFS" no-such-program
        # Caches (e.g. compiled seccomp filters) and lock files may stay.
        local left
        left=$(find "$HUTCH_ROOT" "$HUTCH_RUNROOT" -mindepth 1 -path '*/cache' -prune -o \
                \( -type f -o -type l -o -type p -o -type s \) ! -name '*.lock' -print 2>/dev/null || true)
        assert_equal "$left" "" "files left behind after --rm"
        # No mounts left behind either (the host's mount table never saw them).
        ! grep -qF "$BATS_TEST_TMPDIR" /proc/self/mountinfo || die "mounts left in the host's namespace"
}

@test "run: --log-level, -v and --log-format json shape hutch's own messages" {
        run_hutch --log-level debug run --rm --rootfs "$ROOTFS" true
        assert "${#stderr_lines[@]}" -gt 0 "debug messages on stderr"
        local line
        for line in "${stderr_lines[@]}"; do
                assert_match "$line" "^hutch\[[0-9]+\]: (error|warning|info|debug|trace): " "text log line"
        done
        run_hutch -vv run --rm --rootfs "$ROOTFS" true
        assert "${#stderr_lines[@]}" -gt 0 "-vv means debug"
        run_hutch run --rm --rootfs "$ROOTFS" true
        assert_equal "$stderr" "" "nothing on stderr by default"

        require_cmd jq
        run_hutch --log-format json --log-level debug run --rm --rootfs "$ROOTFS" true
        assert "${#stderr_lines[@]}" -gt 0 "debug messages on stderr"
        for line in "${stderr_lines[@]}"; do
                jq -e 'has("time") and has("level") and has("pid") and has("msg")' <<<"$line" >/dev/null ||
                        die "not a JSON log line with time, level, pid, msg: $line"
        done
}

@test "run: --device adds a host device node to /dev; non-devices and bad specs are refused" {
        run_hutch run --rm --network none --device /dev/null:/dev/extra-null --rootfs "$ROOTFS" sh -c 'stat -c "%t:%T" /dev/extra-null; echo hi > /dev/extra-null && echo wrote'
        assert_equal "$output" "$(printf '1:3\nwrote')"
        run_hutch 125 run --rm --network none --device /etc/passwd --rootfs "$ROOTFS" true
        assert_match "$stderr" "is not a device"
        run_hutch 125 run --rm --network none --device /dev/nonexistent --rootfs "$ROOTFS" true
        run_hutch 125 run --rm --network none --device /dev/null:bogus --rootfs "$ROOTFS" true
}

#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the container's shell expands these
# Attacks that broke other runtimes (shared/security-checklist.md, section 2
# and items 13, 14, 22): leaked fds as a working directory, the runtime's
# own binary through /proc/PID/exe, and host-side helpers loading or
# running files from the image.

load helpers

setup() {
        basic_setup
        import_busybox_image
}

@test "attacks: --workdir /proc/self/fd/N never gives the container a host directory (CVE-2024-21626)" {
        for n in 3 4 5 6 7 8 9 10 15 20; do
                run_hutch '?' run --rm --network none -w "/proc/self/fd/$n" --rootfs "$ROOTFS" sh -c 'pwd; ls /'
                if [ "$status" -eq 0 ]; then
                        # only acceptable if the directory is the container's own
                        assert_not_match "$output" "(unreachable)"
                        assert_match "$output" "^/proc/"
                fi
        done
        run_hutch run -d --network none --name wd bb:1 sleep 1000
        for n in 3 4 5 6 7 8 9 10; do
                run_hutch '?' exec -w "/proc/self/fd/$n" wd sh -c 'pwd; ls /'
                assert_not_match "$output" "(unreachable)"
                [ "$status" -ne 0 ] || assert_match "$output" "^/proc/"
        done
        run_hutch rm -f wd
}

@test "attacks: host-side commands never run the image's nsenter nor load its NSS modules or libraries (CVE-2019-14271)" {
        local marker="$BATS_TEST_TMPDIR/marker"
        local img="$BATS_TEST_TMPDIR/evil-img"
        mkdir -p "$img"
        cp -a "$ROOTFS/." "$img/"
        for f in usr/bin/nsenter bin/nsenter usr/sbin/nsenter; do
                mkdir -p "$img/$(dirname "$f")"
                rm -f "$img/$f" # busybox's applet link: replace it, don't write through it
                printf '#!/bin/sh\ntouch %s\n' "$marker" >"$img/$f"
                chmod 0755 "$img/$f"
        done
        # libraries a host-side process might load (NSS, and those hutch
        # opens with dlopen on first use) that leave the marker when loaded
        require_cmd cc
        printf '#include <fcntl.h>\n__attribute__((constructor)) static void f(void) { open("%s", O_CREAT | O_WRONLY, 0644); }\n' \
                "$marker" >"$BATS_TEST_TMPDIR/evil.c"
        cc -shared -fPIC -o "$BATS_TEST_TMPDIR/evil.so" "$BATS_TEST_TMPDIR/evil.c" || die "cc failed"
        local lib
        for d in lib lib64 lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu usr/lib; do
                mkdir -p "$img/$d"
                for lib in libnss_files.so.2 libarchive.so.13 libcrypto.so.3 libcurl.so.4 libslirp.so.0 libsubid.so.4; do
                        rm -f "$img/$d/$lib"
                        cp "$BATS_TEST_TMPDIR/evil.so" "$img/$d/$lib"
                done
        done
        tar -C "$img" -cf "$BATS_TEST_TMPDIR/evil.tar" .
        run_hutch import "$BATS_TEST_TMPDIR/evil.tar" evil:1
        run_hutch run -d --network none --name nss -u tester evil:1 sleep 1000
        run_hutch exec -u tester nss id -u
        assert_equal "$output" "1000"
        run_hutch top nss
        run_hutch cp nss:/etc/passwd "$BATS_TEST_TMPDIR/passwd-copy"
        run_hutch cp "$BATS_TEST_TMPDIR/passwd-copy" nss:/tmp/
        # tar streams (libarchive) in both directions, and a stopped container
        "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" cp nss:/etc - >"$BATS_TEST_TMPDIR/etc.tar"
        tar -tf "$BATS_TEST_TMPDIR/etc.tar" | grep -qx etc/passwd || die "cp - wrote no tar"
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/etc.tar" run_hutch cp - nss:/tmp
        run_hutch inspect nss
        run_hutch export -o "$BATS_TEST_TMPDIR/nss.tar" nss
        run_hutch stop -t 0 nss
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/etc.tar" run_hutch cp - nss:/tmp
        run_hutch cp nss:/etc/passwd "$BATS_TEST_TMPDIR/passwd-copy2"
        run_hutch rm -f nss
        [ ! -e "$marker" ] || die "a host-side command ran the image's nsenter or loaded one of its libraries"
}

# ---- the runtime's own binary, with tests/helpers/hutch-probe exe-attack ----
#
# These make the attack of CVE-2019-5736 in earnest: a probe in the container
# scans /proc for hutch's processes, stops each one it finds and tries to
# write its binary through /proc/PID/exe (O_WRONLY; O_PATH kept and reopened
# for writing through /proc/self/fd/N on every pass; a writable remount of
# the file's mount).  hutch, copied where the test user owns it (as in
# ~/.local/bin), must never show the container that file at all: the probe
# must reach no descriptor of its inode, write nothing, and its sha256 stays.
#
# To see these tests fail, build hutch with CPPFLAGS=-DHUTCH_NO_EXE_PROTECTION
# (no sealed copy of hutch, hutch-init bound from the user's file): the probe
# then gets an O_PATH descriptor of the user's hutch from the hutch that a
# `#!/proc/self/exe` script runs, and once the `exec` is over (the container
# itself was started by another hutch binary) reopens it for writing and
# appends to it; with --init it reaches the user's hutch-init and remounts it
# writable.

HUTCH_PROBE=${HUTCH_PROBE:-$(dirname "$HUTCH")/tests/helpers/hutch-probe}

# probe_image: imports probe:1, busybox with the probe and /bin/evil-sh, a
# script whose interpreter is /proc/self/exe (the program that execs it),
# and the dynamic loader and libraries hutch needs, so that hutch can run
# in there when a process of hutch execs that script.
probe_image() {
        [ -x "$HUTCH_PROBE" ] || die "hutch-probe not found at '$HUTCH_PROBE' (make check builds it)"
        local img="$BATS_TEST_TMPDIR/probe-img" lib
        mkdir -p "$img"
        cp -a "$ROOTFS/." "$img/"
        for lib in $(ldd "$HUTCH" | grep -o '/[^ ]*'); do
                mkdir -p "$img$(dirname "$lib")"
                cp -L "$lib" "$img$lib"
        done
        cp "$HUTCH_PROBE" "$img/bin/hutch-probe"
        printf '#!/proc/self/exe\n' >"$img/bin/evil-sh"
        chmod 0755 "$img/bin/evil-sh"
        tar -C "$img" -cf "$BATS_TEST_TMPDIR/probe.tar" .
        run_hutch import "$BATS_TEST_TMPDIR/probe.tar" probe:1
}

# user_hutch: copies hutch and hutch-init to $BATS_TEST_TMPDIR/bin, owned by
# the test user, and sets USER_HUTCH and USER_INIT.
user_hutch() {
        local bin="$BATS_TEST_TMPDIR/bin"
        mkdir -p "$bin"
        cp "$HUTCH" "$bin/hutch"
        cp "$(dirname "$HUTCH")/hutch-init" "$bin/hutch-init"
        chmod 0755 "$bin/hutch" "$bin/hutch-init"
        USER_HUTCH=$bin/hutch
        USER_INIT=$bin/hutch-init
        [ -O "$USER_HUTCH" ] || die "the copy of hutch is not the test user's"
}

# assert_not_reached FILE PROBE_OUTPUT: the probe saw at least one process of
# hutch, reached no descriptor of FILE's inode and wrote nothing.
assert_not_reached() {
        local file=$1 out=$2 id
        id=$(stat -c '%d:%i' "$file")
        assert_match "$out" "target " "the probe saw a process of hutch" || return 1
        assert_match "$out" "summary: targets=[1-9][0-9]* wrote=0" "no write succeeded" || return 1
        assert_not_match "$out" "write: OK" "no write succeeded" || return 1
        assert_not_match "$out" "dev:ino=$id" "the container reached $file" || return 1
}

@test "attacks: exec never shows the container a user-owned hutch's binary, even through #!/proc/self/exe; its helper cannot be ptraced (CVE-2019-5736, CVE-2016-9962, #14)" {
        probe_image
        user_hutch
        local before
        before=$(sha256sum <"$USER_HUTCH")
        # The container is started by $HUTCH (root's, in the test setup), the
        # execs by the user's copy: once an exec is over no process runs the
        # copy's file, so ETXTBSY no longer guards it and only hutch's own
        # protection stands between a kept descriptor and a write.
        run_hutch run -d --network none --name xp probe:1 \
                sh -c '/bin/hutch-probe exe-attack 60 /tmp/stop >/tmp/probe.out 2>&1; touch /tmp/done; sleep 1000'
        sleep 0.3
        # a #!/proc/self/exe hutch lives a millisecond: enough tries that the
        # probe's /proc scan meets one (8 missed it one run in three)
        for _ in $(seq 30); do
                HUTCH=$USER_HUTCH run_hutch '?' exec xp /bin/evil-sh
                HUTCH=$USER_HUTCH run_hutch exec xp true
        done
        sleep 0.5 # the probe's passes after the last exec
        run_hutch exec xp touch /tmp/stop
        for _ in $(seq 100); do
                run_hutch '?' exec xp test -e /tmp/done
                [ "$status" -ne 0 ] || break
                sleep 0.1
        done
        run_hutch exec xp cat /tmp/probe.out
        local out=$output
        echo "probe: $out" >&3
        run_hutch rm -f xp
        assert_not_reached "$USER_HUTCH" "$out"
        assert_match "$out" "argv0=/proc/self/exe" "the probe caught hutch run through #!/proc/self/exe"
        # CVE-2016-9962: the exec helper (not dumpable, so its exe link is
        # EACCES) can be neither ptraced (/proc/PID/mem) nor looked into
        assert_match "$out" "mem exe=EACCES: EACCES" "the probe caught the exec helper"
        assert_not_match "$out" "(mem|fd-dir) exe=EACCES: OK" "the exec helper is out of reach"
        assert_equal "$(sha256sum <"$USER_HUTCH")" "$before" "the user's hutch is unchanged"
}

@test "attacks: --init never binds a user-owned hutch-init the container could remount and write (#14)" {
        probe_image
        user_hutch
        local before
        before=$(sha256sum <"$USER_INIT")
        # --privileged: CAP_SYS_ADMIN and no filter, so the probe can remount
        # the init's bind mount writable.
        HUTCH=$USER_HUTCH run_hutch run --rm --init --privileged --network none probe:1 /bin/hutch-probe exe-attack 2
        assert_match "$output" "argv0=/run/hutch-init" "the probe saw hutch-init"
        assert_not_reached "$USER_INIT" "$output"
        assert_not_reached "$USER_HUTCH" "$output"
        assert_equal "$(sha256sum <"$USER_INIT")" "$before" "the user's hutch-init is unchanged"
}

@test "attacks #13: an exec'd process holds only 0, 1 and 2, whatever the exec client had open" {
        run_hutch run -d --network none --name fds bb:1 sleep 1000
        # fds 7 and 8 open in hutch exec; ls sees its own directory as 3
        hutch_cmd exec fds ls /proc/self/fd
        local out
        out=$("${HUTCH_CMD[@]}" </dev/null 2>&1 3>&- 7</etc/hostname 8>"$BATS_TEST_TMPDIR/fd8")
        assert_equal "$(echo "$out" | tr '\n' ' ')" "0 1 2 3 " "the exec'd process's fds"
        # and from the host, a long-running exec'd process
        start_hutch_bg "$BATS_TEST_TMPDIR/out" exec fds sleep 1001
        local cpid fds
        cpid=$(find_container_process "$HUTCH_PID" sleep)
        fds=$(find "/proc/$cpid/fd" -mindepth 1 -printf '%f\n' | sort -n | tr '\n' ' ')
        kill -KILL "$cpid"
        wait_hutch_bg
        assert_equal "$fds" "0 1 2 " "the exec'd sleep seen from the host"
        run_hutch rm -f fds
}

@test "attacks #38: hutch killed with SIGKILL at any point of a container's start leaves no process behind" {
        local i delay net pids user
        # the check below sees a container's process of a subordinate ID
        run_hutch run -d --network none -u 1000 --name sanity bb:1 sleep 4242
        pids=$(pgrep -f '^sleep 4242$' || true)
        [ -n "$pids" ] || die "pgrep does not see the container's sleep"
        run_hutch rm -f sanity
        for i in $(seq 0 39); do
                # 0 to 78 ms: before the clone, between clone and exec, after
                # exec; as root and as another user of the container (its
                # processes then belong to a subordinate ID, not to us)
                delay=$(printf '0.%03d' $((i * 2)))
                net=none
                [ $((i % 3)) -ne 0 ] || net=slirp
                user=0
                [ $((i % 2)) -eq 0 ] || user=1000
                start_hutch_bg "$BATS_TEST_TMPDIR/out" run --rm --network "$net" -u "$user" --rootfs "$ROOTFS" \
                        sleep 4242
                sleep "$delay"
                kill -KILL "$HUTCH_PID"
                wait_hutch_bg
        done
        sleep 1
        for i in $(seq 50); do
                # any user's: the container's IDs are subordinate ones
                pids=$(pgrep -f '^sleep 4242$' || true)
                pids+=$(pgrep -u "$(id -u)" -x hutch || true)
                [ -n "$pids" ] || break
                sleep 0.1
        done
        [ -z "$pids" ] || die "left behind: $(ps -o pid,user,ppid,args -p "$(echo "$pids" | tr '\n' ',' | sed 's/,$//')")"
}

@test "attacks #18: a container swapping a directory and a symlink in a shared volume never moves another's mounts out of its root (CVE-2021-30465)" {
        probe_image
        local vol=$BATS_TEST_TMPDIR/vol outside=$BATS_TEST_TMPDIR/outside i
        mkdir -p "$vol/sub" "$outside"
        # inside a container the link leads nowhere; resolved on the host it
        # would lead to $outside
        ln -s "$outside" "$vol/link"
        run_hutch run -d --network none --name swapper -v "$vol:/data" probe:1 \
                /bin/hutch-probe swap /data/sub /data/link 600
        sleep 0.3
        for i in $(seq "${HUTCH_TEST_RACE_RUNS:-1000}"); do
                # nested mounts below the swapped path: directories to make,
                # a tmpfs and a bind
                run_hutch '?' run --rm --network none -v "$vol:/data" --tmpfs /data/sub/made/tmp \
                        -v "$BATS_TEST_TMPDIR/outside:/data/sub/made/bind" --rootfs "$ROOTFS" true
                [ "$status" -eq 0 ] || [ "$status" -eq 125 ] || die "run: exit status $status"
        done
        run_hutch exec swapper true # still swapping
        run_hutch rm -f swapper
        assert_equal "$(find "$outside" -mindepth 1 | wc -l)" 0 "nothing appeared in $outside"
}

@test "attacks #42: the store and run-time directories are 0700; hutch holds no abstract unix socket (CVE-2021-41091, CVE-2020-15257)" {
        run_hutch run -d --name perms -p 127.0.0.1::80 bb:1 sleep 1000
        run_hutch run -d --name hostnet --network host bb:1 sleep 1000
        assert_equal "$(stat -c %a "$HUTCH_ROOT")" 700 "the store"
        assert_equal "$(stat -c %a "$HUTCH_RUNROOT")" 700 "the run-time directory"
        local d
        for d in "$HUTCH_RUNROOT"/*/; do
                [ -d "$d" ] || continue
                # below a 0700 directory nobody else gets in; still, none is open to all
                assert_not_match "$(stat -c %A "$d")" "......rwx" "$d"
        done
        # every unix socket a process of hutch holds, looked up in the host's
        # network namespace (which --network host shares)
        local pid inodes="" ino
        for pid in $(pgrep -u "$(id -u)" -x hutch); do
                for ino in $(find "/proc/$pid/fd" -mindepth 1 -lname 'socket:*' -printf '%l\n' 2>/dev/null |
                        tr -dc '0-9\n'); do
                        inodes+=" $ino"
                done
        done
        [ -n "$inodes" ] || die "found no socket of hutch's to check"
        local abstract
        abstract=$(awk -v set="$inodes " 'NR > 1 && $8 ~ /^@/ && index(set, " " $7 " ") { print $7, $8 }' /proc/net/unix)
        assert_equal "$abstract" "" "abstract sockets of hutch"
        run_hutch rm -f perms hostnet
}

@test "attacks: a gigabyte through exec or run costs hutch no memory (CVE-2022-1708)" {
        [ -x /usr/bin/time ] || skip "GNU time is not installed"
        run_hutch run -d --network none --name big bb:1 sleep 1000
        hutch_cmd exec big sh -c 'head -c 1073741824 /dev/zero'
        local kb
        kb=$( { /usr/bin/time -f '%M' "${HUTCH_CMD[@]}" </dev/null 3>&- | wc -c >"$BATS_TEST_TMPDIR/n"; } 2>&1 | tail -n1)
        assert_equal "$(cat "$BATS_TEST_TMPDIR/n")" 1073741824 "every byte passed"
        assert "$kb" -lt 262144 "exec's peak memory in KiB"
        hutch_cmd run --rm --network none --rootfs "$ROOTFS" sh -c 'head -c 1073741824 /dev/zero'
        kb=$( { /usr/bin/time -f '%M' "${HUTCH_CMD[@]}" </dev/null 3>&- | wc -c >"$BATS_TEST_TMPDIR/n"; } 2>&1 | tail -n1)
        assert_equal "$(cat "$BATS_TEST_TMPDIR/n")" 1073741824 "every byte passed"
        assert "$kb" -lt 262144 "run's peak memory in KiB"
        run_hutch rm -f big
}

@test "attacks: -u NAME with the image's /etc/passwd a link to a device or a FIFO is a clear error, never a hang" {
        local img=$BATS_TEST_TMPDIR/pw
        cp -a "$ROOTFS/." "$img/"
        rm -f "$img/etc/passwd"
        ln -s /dev/zero "$img/etc/passwd"
        run_hutch 125 run --rm --network none -u tester --rootfs "$img" id
        assert_equal "$stderr" "Error: the container's /etc/passwd: '/etc/passwd' is not a regular file: Invalid argument"
        rm -f "$img/etc/passwd"
        mkfifo "$img/etc/passwd"
        run timeout 20 "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" run --rm --network none -u tester \
                --rootfs "$img" id </dev/null
        assert_equal "$status" "125" "refused, not blocked on the FIFO"
        assert_match "$output" "is not a regular file"
}

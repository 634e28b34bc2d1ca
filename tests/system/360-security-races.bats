#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the container's shell expands these
# Paths an image or a running container controls, resolved by hutch while
# something races it (shared/security-checklist.md, items 10, 11, 19, 21 and
# CVE-2025-52565, CVE-2022-23648, CVE-2018-15664): an image's WORKDIR and
# VOLUMEs through links and "..", `cp` against a renameat2(RENAME_EXCHANGE)
# loop, the terminal at /dev/console, and /sys under every network mode.
#
# Each test keeps a marker directory on the host that the container's links
# point at, and checks that nothing appeared in it or changed.

load helpers

HUTCH_PROBE=${HUTCH_PROBE:-$(dirname "$HUTCH")/tests/helpers/hutch-probe}

setup() {
        basic_setup
        [ -x "$HUTCH_PROBE" ] || die "hutch-probe not found at '$HUTCH_PROBE' (make check builds it)"
        OUTSIDE=$BATS_TEST_TMPDIR/outside
        mkdir -p "$OUTSIDE"
        echo host-secret >"$OUTSIDE/secret"
}

# A failed test leaves no container (and no monitor) running behind it.
teardown() {
        local ids
        ids=$("$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" ps -aq </dev/null 2>/dev/null 3>&-) || true
        if [ -n "$ids" ]; then
                # shellcheck disable=SC2086 # one ID a word
                "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" rm -f $ids </dev/null >/dev/null 2>&1 3>&- || true
        fi
        basic_teardown
}

# assert_outside_untouched: $OUTSIDE still holds only its secret, unchanged.
assert_outside_untouched() {
        assert_equal "$(find "$OUTSIDE" -mindepth 1 -printf '%P\n' | sort | tr '\n' ' ')" "secret " \
                "nothing appeared in $OUTSIDE" || return 1
        assert_equal "$(cat "$OUTSIDE/secret")" host-secret "$OUTSIDE/secret is unchanged"
}

# image_from TREE NAME [--change ...]: imports TREE (the busybox root plus
# what the test put in TREE) as image NAME.
image_from() {
        local tree=$1 name=$2
        shift 2
        tar -C "$tree" -cf "$BATS_TEST_TMPDIR/$name.tar" .
        run_hutch import "$@" "$BATS_TEST_TMPDIR/$name.tar" "$name:1"
}

# links_tree DIR: the busybox root with the probe, /abs a link to $OUTSIDE
# (a host path), /rel a link that climbs to it with "..", /gone a link to
# a host path the image lacks.  The image has a directory of $OUTSIDE's
# name too, holding "inside": resolved in the root the links reach that,
# resolved on the host they would reach the host's secret.
links_tree() {
        local tree=$1
        mkdir -p "$tree"
        cp -a "$ROOTFS/." "$tree/"
        cp "$HUTCH_PROBE" "$tree/bin/hutch-probe"
        ln -s "$OUTSIDE" "$tree/abs"
        ln -s "../../../../../../../../../..$OUTSIDE" "$tree/rel"
        ln -s "$OUTSIDE/gone" "$tree/gone"
        mkdir -p "$tree$OUTSIDE"
        echo image >"$tree$OUTSIDE/inside"
}

# ---- #19: WORKDIR, mount destinations and VOLUMEs --------------------------

@test "races #19: an image's WORKDIR or -w through a link or .. is made inside the root (GHSA-q6r4-3wmg-fwcq)" {
        local tree=$BATS_TEST_TMPDIR/tree wd n=0
        links_tree "$tree"
        mkdir -p "$tree/srv"
        ln -s /srv "$tree/inner"
        for wd in /abs/work /rel/work "/../../../../../..$OUTSIDE/work" /abs /gone/work /inner/work; do
                n=$((n + 1))
                image_from "$tree" "wd$n" --change "WORKDIR $wd"
                # made inside the root and entered there (a link to nothing
                # gets its target made in the root, as Docker does)
                run_hutch run --rm --network none "wd$n:1" sh -c 'pwd; ls -A'
                assert_not_match "${lines[0]}" "unreachable" "WORKDIR $wd: the cwd is in the root"
                assert_not_match "$output" "secret" "WORKDIR $wd: not the host's directory"
                assert_outside_untouched || return 1
        done
        run_hutch run --rm --network none wd5:1 sh -c 'pwd; ls -d "$(readlink /gone)/work"'
        assert_equal "$output" "$OUTSIDE/gone/work
$OUTSIDE/gone/work" "WORKDIR behind a link to nothing: its target made in the root"
        run_hutch run --rm --network none wd4:1 sh -c 'pwd; ls -A'
        assert_equal "$output" "$OUTSIDE
inside" "WORKDIR /abs: the image's directory of that name"
        run_hutch run --rm --network none wd1:1 ls -d "$OUTSIDE/work"
        # a link inside the root is followed inside it
        run_hutch run --rm --network none wd6:1 sh -c 'pwd; ls -d /srv/work'
        assert_equal "$output" "/srv/work
/srv/work"
        # exec and exec -w: the same rules in a running container
        run_hutch run -d --network none --name k wd6:1 sleep 1000
        for wd in /abs/sub /rel/sub "/../../../../../..$OUTSIDE/sub" /gone/sub /inner/x; do
                run_hutch exec -w "$wd" k sh -c 'pwd; ls -A; touch made-by-exec'
                assert_not_match "${lines[0]}" "unreachable" "exec -w $wd: the cwd is in the root"
                assert_not_match "$output" "secret" "exec -w $wd: not the host's directory"
                assert_outside_untouched || return 1
        done
        run_hutch exec k sh -c 'find / -xdev -name made-by-exec | sort'
        assert_equal "$output" "/srv/x/made-by-exec
$OUTSIDE/gone/sub/made-by-exec
$OUTSIDE/sub/made-by-exec" "exec -w made its directories in the root"
        run_hutch rm -f k
        assert_outside_untouched
}

@test "races #19: -v, --tmpfs and --mount destinations through a link or .. stay in an image container's root" {
        local tree=$BATS_TEST_TMPDIR/tree vol=$BATS_TEST_TMPDIR/vol d
        mkdir -p "$vol"
        echo data >"$vol/f"
        links_tree "$tree"
        image_from "$tree" links
        for d in /abs/m /rel/m "/../../../..$OUTSIDE/m" "/abs/../abs/m" /gone/m; do
                run_hutch '?' run --rm --network none -v "$vol:$d" links:1 cat "$d/f"
                [ "$status" -ne 0 ] || assert_equal "$output" data "-v at $d"
                run_hutch '?' run --rm --network none --tmpfs "$d" links:1 sh -c "touch $d/t"
                run_hutch '?' run --rm --network none --mount "type=bind,src=$vol,dst=$d,ro" links:1 cat "$d/f"
                [ "$status" -ne 0 ] || assert_equal "$output" data "--mount at $d"
                run_hutch '?' run --rm --network none --mount "type=volume,src=named,dst=$d" links:1 true
                assert_outside_untouched || return 1
        done
        assert_equal "$(find "$vol" -mindepth 1 -printf '%P\n')" f "the volume holds only its file"
        # the links led to the image's directory of $OUTSIDE's name
        run_hutch run --rm --network none -v "$vol:/abs/m" links:1 sh -c "cat $OUTSIDE/m/f; ls $OUTSIDE"
        assert_equal "$output" "data
inside
m"
}

@test "races #19: an image VOLUME through a link or .. is confined; nothing of the host is seeded into it (CVE-2022-23648)" {
        require_cmd jq
        local tree=$BATS_TEST_TMPDIR/tree v n=0 src
        links_tree "$tree"
        for v in /abs /abs/sub /rel "/../../../../..$OUTSIDE" /gone; do
                n=$((n + 1))
                image_from "$tree" "vol$n" --change "VOLUME $v"
                run_hutch '?' run --network none --name "c$n" "vol$n:1" sh -c "ls -a $v; touch $v/made-here"
                if [ "$status" -eq 0 ]; then
                        assert_not_match "$output" "secret" "VOLUME $v shows no host file"
                        run_hutch inspect "c$n"
                        src=$(jq -r '.[0].Mounts[] | select(.Type == "volume") | .Source' <<<"$output")
                        [ -n "$src" ] || die "VOLUME $v: no anonymous volume"
                        assert_equal "$(find "$src" -mindepth 1 -printf '%P\n' | sort | tr '\n' ' ')" \
                                "$(case $v in /abs | /rel) echo "inside made-here " ;; *) echo "made-here " ;; esac)" \
                                "VOLUME $v: seeded from the image's directory, not the host's"
                else
                        assert_match "$status" "^12[56]$" "VOLUME $v: refused as a setup error"
                fi
                run_hutch '?' rm -f -v "c$n"
                assert_outside_untouched || return 1
        done
}

# ---- #21: cp against a renameat2 race (CVE-2018-15664) ------------------------

@test "races #21: cp in both directions while the container swaps a directory and a link to a host path" {
        local tree=$BATS_TEST_TMPDIR/tree host=$BATS_TEST_TMPDIR/host i runs=${HUTCH_TEST_CP_RACE_RUNS:-150}
        local got bad=0 ok_out=0 ok_in=0
        links_tree "$tree"
        image_from "$tree" cpr
        mkdir -p "$host/out"
        echo from-host >"$host/in"
        # /tmp/d is a directory, /tmp/l a link to $OUTSIDE (a host path) and
        # /tmp/r a link to /: the probe exchanges /tmp/d and /tmp/l without
        # pause, a second one /tmp/d and /tmp/r.
        run_hutch run -d --network none --name racer cpr:1 sh -c \
                'mkdir -p /tmp/d && echo container >/tmp/d/secret && ln -s '"$OUTSIDE"' /tmp/l && ln -s / /tmp/r &&
                 mkdir -p '"$OUTSIDE"' && echo container-copy >'"$OUTSIDE"'/secret &&
                 (hutch-probe swap /tmp/d /tmp/l 120 & hutch-probe swap /tmp/d /tmp/r 120 & wait)'
        sleep 0.3
        run_hutch exec racer sh -c 'ls -d /tmp/d /tmp/l /tmp/r'
        for i in $(seq "$runs"); do
                run_hutch '?' cp racer:/tmp/d/secret "$host/out/got-$i"
                if [ "$status" -eq 0 ]; then
                        ok_out=$((ok_out + 1))
                        got=$(cat "$host/out/got-$i")
                        case "$got" in
                        container | container-copy) ;;
                        *)
                                echo "copy $i read '$got'" >&3
                                bad=$((bad + 1))
                                ;;
                        esac
                else
                        assert_equal "$status" 125 "cp out: a refusal is hutch's error"
                fi
                run_hutch '?' cp "$host/in" "racer:/tmp/d/in-$i"
                [ "$status" -ne 0 ] || ok_in=$((ok_in + 1))
                [ "$status" -eq 0 ] || assert_equal "$status" 125 "cp in: a refusal is hutch's error"
        done
        run_hutch exec racer sh -c 'cat /proc/[0-9]*/comm | grep -c "^hutch-probe$"'
        assert_equal "$output" 2 "both swappers still run"
        run_hutch rm -f racer
        echo "copies out: $ok_out, in: $ok_in of $runs" >&3
        assert "$bad" -eq 0 "no copy read a host file"
        assert "$ok_out" -gt 0 "some copies out went through"
        assert "$ok_in" -gt 0 "some copies in went through"
        assert_outside_untouched
        assert_equal "$(find "$host" -mindepth 1 -not -path "$host/out/got-*" -printf '%P\n' | sort | tr '\n' ' ')" \
                "in out " "cp wrote nothing on the host but its targets"
}

@test "races #21: export of a running container that swaps a directory and a link to a host path holds only its files" {
        local tree=$BATS_TEST_TMPDIR/tree i ok=0 runs=${HUTCH_TEST_EXPORT_RACE_RUNS:-20}
        links_tree "$tree"
        image_from "$tree" exr
        echo host-only-marker >>"$OUTSIDE/secret"
        run_hutch run -d --network none --name exr exr:1 sh -c \
                'mkdir -p /tmp/d/sub && echo container >/tmp/d/sub/f && ln -s '"$OUTSIDE"' /tmp/l &&
                 hutch-probe swap /tmp/d /tmp/l 120'
        sleep 0.3
        for i in $(seq "$runs"); do
                run_hutch '?' export -o "$BATS_TEST_TMPDIR/ex.tar" exr
                if [ "$status" -eq 0 ]; then
                        ok=$((ok + 1))
                        ! grep -aq host-only-marker "$BATS_TEST_TMPDIR/ex.tar" || die "export $i holds the host's file"
                        tar -tf "$BATS_TEST_TMPDIR/ex.tar" >/dev/null || die "export $i is not a tar"
                else
                        assert_equal "$status" 125 "export $i: a refusal is hutch's error"
                fi
        done
        echo "exports: $ok of $runs" >&3
        assert "$ok" -gt 0 "some exports went through"
        run_hutch exec exr sh -c 'cat /proc/[0-9]*/comm | grep -c "^hutch-probe$"'
        assert_equal "$output" 1 "the swapper still runs"
        run_hutch rm -f exr
        assert_equal "$(tail -1 "$OUTSIDE/secret")" host-only-marker
        assert_equal "$(find "$OUTSIDE" -mindepth 1 -printf '%P\n')" secret "nothing appeared in $OUTSIDE"
}

# ---- CVE-2025-52565: the terminal at /dev/console ------------------------------

# tty_run CMD: runs hutch CMD... (a string, words split by the shell) with
# a pseudo-terminal as its stdio, through script(1); sets output (\r removed).
tty_run() {
        local cmd
        cmd="$HUTCH --root $HUTCH_ROOT --runroot $HUTCH_RUNROOT $1"
        echo "\$ script -qec '$cmd'"
        status=0
        output=$(timeout -k 5 "$HUTCH_TEST_TIMEOUT" script -qec "$cmd" /dev/null </dev/null 2>&1 3>&-) || status=$?
        output=${output//$'\r'/}
        lines=()
        if [ -n "$output" ]; then mapfile -t lines <<<"$output"; fi
        echo "$output"
        check_no_sanitizer_report "$output"
}

@test "races: run -t binds the container's own terminal at /dev/console; planted /dev links change nothing (CVE-2025-52565)" {
        require_cmd script
        local tree=$BATS_TEST_TMPDIR/tree f
        links_tree "$tree"
        # the image's /dev (hidden by hutch's tmpfs) points everywhere outside
        mkdir -p "$tree/dev"
        for f in console pts ptmx tty; do
                rm -rf "${tree:?}/dev/$f"
        done
        ln -s "$OUTSIDE/secret" "$tree/dev/console"
        ln -s "../../../../../../..$OUTSIDE" "$tree/dev/pts"
        ln -s "$OUTSIDE/ptmx" "$tree/dev/ptmx"
        image_from "$tree" con
        for _ in 1 2 3; do
                tty_run "run --rm -t --network none con:1 sh -c 'stat -c %t:%T /dev/console; stat -L -c %t:%T /proc/self/fd/0; tty; cat /dev/console </dev/null & sleep 0.1; kill \$!; echo done'"
                assert_equal "$status" 0 "run -t"
                assert_match "${lines[0]}" "^8[89a-f]:[0-9a-f]+$" "/dev/console is a pty (major 136..143)"
                assert_equal "${lines[1]}" "${lines[0]}" "/dev/console is the container's terminal"
                assert_match "${lines[2]}" "^/dev/pts/[0-9]+$" "tty"
                assert_outside_untouched || return 1
        done
        # without -t there is no console, and nothing is bound there
        run_hutch run --rm --network none con:1 sh -c 'test -e /dev/console && echo present || echo absent'
        assert_equal "$output" absent
}

@test "races: exec -t while the container swaps /dev/ptmx with a link to a host path gets a pty or an error; /dev/console cannot be swapped (CVE-2025-52565)" {
        require_cmd script
        local tree=$BATS_TEST_TMPDIR/tree i ok=0 before
        links_tree "$tree"
        image_from "$tree" conr
        tty_run "run -d -t --network none --name ttyc conr:1 sleep 1000"
        assert_equal "$status" 0 "run -d -t"
        # container root owns its /dev; the bound console is a mount point
        run_hutch exec ttyc sh -c 'stat -c %t /dev/console; touch /dev/evil; hutch-probe swap /dev/console /dev/evil 1'
        assert_match "${lines[0]}" "^8[89a-f]$" "the detached container's console is a pty"
        assert_equal "${lines[1]}" "swap: EBUSY" "the console cannot be swapped"
        # a link named like the host's file, which inside is a plain file
        run_hutch exec ttyc sh -c 'rm /dev/evil; ln -s '"$OUTSIDE"'/secret /dev/evil;
                mkdir -p '"$OUTSIDE"' && echo container >'"$OUTSIDE"'/secret'
        hutch_cmd exec ttyc hutch-probe swap /dev/ptmx /dev/evil 60
        "${HUTCH_CMD[@]}" </dev/null >"$BATS_TEST_TMPDIR/swap.out" 2>&1 3>&- &
        HUTCH_BG_PIDS+=("$!")
        sleep 0.3
        before=$(stat -c '%i %s %Y' "$OUTSIDE/secret")
        for i in $(seq 20); do
                tty_run "exec -t ttyc sh -c 'stat -L -c %t /proc/self/fd/0; tty'"
                if [ "$status" -eq 0 ]; then
                        ok=$((ok + 1))
                        assert_match "${lines[0]}" "^8[89a-f]$" "exec -t $i: its terminal is a pty"
                        assert_match "${lines[1]}" "^/dev/pts/[0-9]+$" "exec -t $i: tty"
                else
                        assert_equal "$status" 125 "exec -t $i: a setup error"
                        assert_match "$output" "Error: .*terminal" "exec -t $i: the error names the terminal"
                fi
        done
        echo "exec -t with a pty: $ok of 20" >&3
        run_hutch exec ttyc sh -c 'cat /proc/[0-9]*/comm | grep -c "^hutch-probe$"; stat -c %t /dev/console'
        assert_equal "$output" "1
88" "the swapper still runs; the console is still the pty"
        run_hutch rm -f ttyc
        assert_equal "$(stat -c '%i %s %Y' "$OUTSIDE/secret")" "$before" "the host file is unchanged"
        assert_outside_untouched
}

# ---- #10, #11: /sys in every network mode -------------------------------------

@test "races #10 #11: /sys and every mount below it are ro, nosuid, nodev and noexec in every network mode" {
        local net info flag
        for net in none slirp host; do
                run_hutch run --rm --network "$net" --rootfs "$ROOTFS" cat /proc/self/mountinfo
                info=$output
                assert_match "$info" " /sys " "--network $net: /sys is mounted"
                for flag in ro nosuid nodev noexec; do
                        run awk -v f="$flag" '$5 ~ "^/sys(/|$)" && ("," $6 ",") !~ ("," f ",") { print $5, $6 }' <<<"$info"
                        assert_equal "$output" "" "--network $net: a mount under /sys without $flag"
                done
        done
}

# ---- CVE-2026-53488: labels choose nothing on the host -------------------------

@test "races: image labels that other tools obey (capabilities, seccomp profile, run labels, log driver) change nothing (CVE-2026-53488)" {
        local tree=$BATS_TEST_TMPDIR/tree prof=$BATS_TEST_TMPDIR/profile.json marker=$BATS_TEST_TMPDIR/marker
        echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]}' >"$prof"
        links_tree "$tree"
        image_from "$tree" lbl \
                --change "LABEL io.containers.capabilities=SYS_ADMIN,NET_RAW" \
                --change "LABEL io.containers.seccomp.profile=$prof" \
                --change "LABEL RUN=touch $marker" --change "LABEL INSTALL=touch $marker" \
                --change "LABEL com.docker.log-driver=touch-$marker" \
                --change "LABEL io.containers.autoupdate=registry"
        run_hutch inspect lbl:1
        assert_match "$output" "io.containers.seccomp.profile" "the labels are in the image"
        run_hutch run --rm --network none lbl:1 hutch-probe status
        assert_match "$output" "CapEff: 00000000800405fb" "the default capabilities"
        assert_match "$output" "Seccomp: 2" "a filter"
        run_hutch run --rm --network none lbl:1 hutch-probe syscall getpid keyctl
        assert_equal "$output" "getpid: OK
keyctl: EPERM" "the default filter, not the label's profile"
        run_hutch run -d --network none --name lb lbl:1 sleep 1000
        run_hutch exec lb true
        run_hutch logs lb
        run_hutch inspect lb
        run_hutch rm -f lb
        [ ! -e "$marker" ] || die "a label ran a host command"
        assert_equal "$(find "$BATS_TEST_TMPDIR" -maxdepth 1 -name 'touch-*' | wc -l)" 0 "no log file named by a label"
}

# ---- #40: the ID-map helpers ----------------------------------------------------

@test "races #40: a newuidmap/newgidmap without setuid or file capabilities is a clear error, not a silent fallback" {
        require_subids
        local h bin=$BATS_TEST_TMPDIR/bin
        mkdir -p "$bin"
        for h in newuidmap newgidmap; do
                command -v "$h" >/dev/null || skip "$h is not installed"
                # a copy by the user keeps neither the setuid bit nor file capabilities
                cp "$(command -v "$h")" "$bin/$h"
                [ ! -u "$bin/$h" ] || die "the copy of $h is still setuid"
        done
        HUTCH_NEWUIDMAP=$bin/newuidmap HUTCH_NEWGIDMAP=$bin/newgidmap \
                run_hutch 125 run --rm --network none --rootfs "$ROOTFS" id -u
        assert_equal "$output" "" "the command did not run"
        assert_error_message "newuidmap.*(Operation not permitted|exit status)"
        HUTCH_NEWUIDMAP=/usr/bin/newuidmap HUTCH_NEWGIDMAP=$bin/newgidmap \
                run_hutch 125 run --rm --network none --rootfs "$ROOTFS" id -u
        assert_error_message "newgidmap"
}

# ---- section 1: /dev as the trusted runtimes make it ----------------------------

@test "security (section 1): /dev is a 64 MB nosuid tmpfs of mode 755, /dev/shm 1777; the device nodes are 0666" {
        local info
        run_hutch run --rm --network none --rootfs "$ROOTFS" cat /proc/self/mountinfo
        info=$output
        run awk '$5 == "/dev" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1), $6 "," $(i + 3) } }' <<<"$info"
        assert_match "$output" "^tmpfs " "/dev is a tmpfs"
        assert_match ",${output#tmpfs }," ",nosuid," "/dev is nosuid"
        assert_match ",${output#tmpfs }," ",size=65536k," "/dev is 64 MB"
        assert_match ",${output#tmpfs }," ",mode=755," "/dev is 755"
        run_hutch run --rm --network none --rootfs "$ROOTFS" sh -c \
                'stat -c "%n %a" /dev /dev/shm /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/pts/ptmx'
        assert_equal "$output" "/dev 755
/dev/shm 1777
/dev/null 666
/dev/zero 666
/dev/full 666
/dev/random 666
/dev/urandom 666
/dev/pts/ptmx 666"
}

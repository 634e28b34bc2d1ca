#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the container's shell expands these
# Kept containers: create/start/ps/rm, detached runs with logs, stop, kill
# and wait.  Images come from `hutch import` of the busybox rootfs.

load helpers

setup() {
        basic_setup
        import_busybox_image --change 'CMD=["sh","-c","echo from-cmd"]' --change 'STOPSIGNAL=SIGUSR1'
}


@test "containers: run without --rm keeps the container and its layer; start -a runs it again" {
        run_hutch 3 run --network none --name keeper bb:1 sh -c 'echo 1 >> /count; cat /count; exit 3'
        assert_equal "$output" "1"
        run_hutch ps -a --format json
        assert_equal "$(jq -r '.[0].Names[0]' <<<"$output")" "keeper"
        assert_equal "$(jq -r '.[0].State' <<<"$output")" "exited"
        assert_equal "$(jq -r '.[0].ExitCode' <<<"$output")" "3"
        run_hutch ps
        assert_equal "${#lines[@]}" "1" "only the header: nothing runs"
        # the same container, its own layer kept: the file grows
        run_hutch 3 start -a keeper
        assert_equal "$output" "$(printf '1\n1')"
        run_hutch rm keeper
        run_hutch ps -aq
        assert_equal "$output" ""
        local left
        left=$(find "$HUTCH_ROOT/containers" -mindepth 1 -maxdepth 1 -type d)
        assert_equal "$left" "" "container directory removed"
}

@test "containers: create prints a 64-hex ID; start -a by unique prefix; image Cmd used" {
        run_hutch create --network none bb:1
        id=$output
        assert_match "$id" '^[0-9a-f]{64}$'
        run_hutch ps -a
        assert_match "$output" "${id:0:12}.*Created"
        run_hutch start -a "${id:0:7}"
        assert_equal "$output" "from-cmd"
        run_hutch ps -a -q
        assert_equal "$output" "${id:0:12}"
        run_hutch ps -a -q --no-trunc
        assert_equal "$output" "$id"
        run_hutch rm "$id"
}

@test "containers: names are unique and checked; unknown and ambiguous references fail" {
        run_hutch run --network none --name twin bb:1 true
        run_hutch 125 run --network none --name twin bb:1 true
        assert_match "$stderr" "name 'twin' is already in use"
        run_hutch 125 run --network none --name '../bad' bb:1 true
        assert_match "$stderr" "invalid --name"
        run_hutch 125 rm no-such-container
        assert_match "$stderr" "no such container"
        run_hutch 125 start -a no-such-container
        run_hutch rm twin
}

@test "containers: run --rm with an image keeps nothing" {
        run_hutch run --rm --network none bb:1 true
        run_hutch ps -aq
        assert_equal "$output" ""
}

@test "containers: files made in a kept container's layer belong to subordinate IDs and rm removes them" {
        require_subids
        run_hutch run --network none --name owned bb:1 sh -c 'mkdir -p /data/sub && touch /data/sub/f && chown -R 1000:1000 /data && chmod 700 /data/sub'
        local upper
        upper=$(ls -d "$HUTCH_ROOT"/containers/*/upper)
        base=$(first_subid uid)
        assert_equal "$(stat -c %u "$upper/data")" "$((base + 999))"
        run_hutch rm owned
        [ ! -e "$upper" ] || die "the container layer is still there"
}

@test "containers: a container run in the foreground has logs too (run, start -a, run -t); its output still reaches us" {
        run_hutch 3 run --network none --name fg bb:1 sh -c 'echo out; echo err >&2; exit 3'
        assert_equal "$output" out
        assert_equal "$stderr" err
        run_hutch logs fg
        assert_equal "$output" out "stdout in the log"
        assert_equal "$stderr" err "stderr in the log"
        run_hutch 3 start -a fg
        run_hutch logs fg
        assert_equal "$output" "out
out" "start -a appends to the log"
        # our stdout closed early: the container runs on, the log keeps all
        "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" run --network none --name many bb:1 seq 1 20000 |
                head -n 1 >"$BATS_TEST_TMPDIR/first"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/first")" 1
        run_hutch wait many
        assert_equal "$output" 0 "the container was not killed by our closed pipe"
        run_hutch logs --tail 1 many
        assert_equal "$output" 20000
        # stdin is still ours
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/first" run_hutch run -i --network none --name in bb:1 cat
        assert_equal "$output" 1
        # a terminal's output is logged as the terminal wrote it
        require_cmd script
        script -qec "$HUTCH --root $HUTCH_ROOT --runroot $HUTCH_RUNROOT run -t --network none --name tty bb:1 echo on-tty" \
                /dev/null >"$BATS_TEST_TMPDIR/tty.out" </dev/null
        assert_match "$(cat "$BATS_TEST_TMPDIR/tty.out")" "on-tty"
        run_hutch logs tty
        assert_equal "$(tr -d '\r' <<<"$output")" on-tty
        # --rm runs keep no log (and no container)
        run_hutch run --rm --network none bb:1 echo gone
        assert_equal "$output" gone
}

@test "containers: run -d starts in the background; logs, stop with the image's StopSignal, wait" {
        run_hutch run -d --network none --name svc bb:1 sh -c 'trap "echo got-usr1; exit 9" USR1; i=0; while :; do echo out $i; echo err $i >&2; i=$((i+1)); sleep 0.1; done'
        assert_match "$output" '^[0-9a-f]{64}$'
        run_hutch ps --format json
        assert_equal "$(jq -r '.[0].State' <<<"$output")" "running"
        wait_for_logs svc 'out 3'
        # --tail counts lines of both streams, each printed on its own
        run_hutch logs --tail 2 svc
        assert_match "$output" '^out [0-9]+$'
        assert_match "$stderr" '^err [0-9]+$'
        run_hutch logs -t --tail 2 svc
        assert_match "$output" '^20[0-9-]{8}T[0-9:.]+Z out [0-9]+$'
        run_hutch stop -t 5 svc
        run_hutch wait svc
        assert_equal "$output" "9" "the trap for the image's StopSignal (USR1) ran"
        run_hutch logs svc
        assert_match "$output" 'got-usr1'
        run_hutch ps -a --format json
        assert_equal "$(jq -r '.[0].State' <<<"$output")" "exited"
        run_hutch 125 kill svc
        assert_match "$stderr" "is not running"
}

@test "containers: kill -s sends a signal; stop kills what ignores the stop signal" {
        run_hutch run -d --network none --name k1 bb:1 sh -c 'trap "exit 5" TERM; while :; do sleep 0.1; done'
        run_hutch kill -s TERM k1
        run_hutch wait k1
        assert_equal "$output" "5"
        run_hutch run -d --network none --name k2 bb:1 sh -c 'trap "" USR1; while :; do sleep 0.1; done'
        run_hutch stop -t 1 k2
        run_hutch wait k2
        assert_equal "$output" "137"
        run_hutch 125 kill -s NOSUCHSIG k2
}

@test "containers: run -d --rm removes the container once it exits; a failing command is reported" {
        run_hutch run -d --rm --network none bb:1 sh -c 'exit 4'
        id=$output
        for _ in $(seq 50); do
                [ -d "$HUTCH_ROOT/containers/$id" ] || break
                sleep 0.1
        done
        [ ! -d "$HUTCH_ROOT/containers/$id" ] || die "container $id is still there"
        run_hutch 127 run -d --network none bb:1 no-such-command
        assert_match "$stderr" "no-such-command: executable file not found"
        run_hutch 125 run -d --network none --rootfs "$ROOTFS" true
        assert_match "$stderr" "needs an IMAGE"
}

@test "containers: a monitor killed with SIGKILL leaves the container shown as exited, status unknown" {
        run_hutch run -d --network none --name orphan bb:1 sleep 1000
        id=$output
        pid=$(jq -r '.State.Pid' "$HUTCH_ROOT/containers/$id/container.json")
        monitor=$(ps -o ppid= -p "$pid" | tr -d ' ')
        kill -KILL "$monitor"
        for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        run_hutch ps -a --format json
        assert_equal "$(jq -r '.[0].State' <<<"$output")" "exited"
        assert_equal "$(jq -r '.[0].ExitCode' <<<"$output")" "-1"
        run_hutch rm orphan
}

# wait_for_logs CONTAINER REGEX: waits up to 10 s for a log line.
wait_for_logs() {
        local _
        for _ in $(seq 100); do
                if "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" logs "$1" 2>/dev/null | grep -qE "$2"; then
                        return 0
                fi
                sleep 0.1
        done
        die "no log line matching '$2' from $1"
}

@test "containers: exec joins the running container with its user, env, caps and seccomp" {
        run_hutch run -d --network none --name ex -e FOO=from-run bb:1 sleep 1000
        run_hutch exec ex sh -c 'echo $FOO; hostname; readlink /proc/1/exe; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; ls /proc/self/fd | tr "\n" " "'
        assert_equal "${lines[0]}" "from-run"
        assert_match "${lines[2]}" "busybox"
        assert_match "$output" "CapEff:.00000000800405fb"
        assert_match "$output" "NoNewPrivs:.1"
        assert_match "$output" "Seccomp:.2"
        assert_match "${lines[-1]}" '^0 1 2 3 ?$'
        run_hutch 7 exec -u tester -e A=1 -w /home ex sh -c 'id -u; pwd; echo $A; exit 7'
        assert_equal "$output" "$(printf '1000\n/home\n1')"
        run_hutch 127 exec ex no-such-command
        run_hutch 125 exec ex
        run_hutch 125 exec no-such-container true
        run_hutch exec -d ex sh -c 'echo bg > /tmp/bg'
        for _ in $(seq 50); do
                "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" exec ex cat /tmp/bg 2>/dev/null | grep -q bg && break
                sleep 0.1
        done
        run_hutch exec ex cat /tmp/bg
        assert_equal "$output" "bg"
        # stdin only with -i, and -d writes nothing to us (Docker's)
        printf 'in-1\nin-2\n' >"$BATS_TEST_TMPDIR/in"
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/in" run_hutch exec -i ex cat
        assert_equal "$output" "$(printf 'in-1\nin-2')"
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/in" run_hutch exec ex cat
        assert_equal "$output" ""
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/in" run_hutch exec -d ex sh -c 'echo out-d; echo err-d >&2; cat > /tmp/din'
        assert_equal "$output" ""
        assert_equal "$stderr" ""
        for _ in $(seq 50); do
                [ -n "$("$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" exec ex sh -c 'test -e /tmp/din && echo y' 2>/dev/null)" ] && break
                sleep 0.1
        done
        run_hutch exec ex cat /tmp/din
        assert_equal "$output" "" "exec -d reads nothing of ours"
        run_hutch stop -t 1 ex
        run_hutch 125 exec ex true
        assert_match "$stderr" "is not running"
}

@test "containers: inspect shows State, Config, Mounts and Ports; --format templates" {
        local port
        port=$(free_ports 1)
        run_hutch run -d --name insp -v "$BATS_TEST_TMPDIR:/host:ro" -p "127.0.0.1:$port:80" bb:1 sleep 1000
        run_hutch inspect insp
        assert_equal "$(jq -r '.[0].State.Status' <<<"$output")" "running"
        assert_equal "$(jq -r '.[0].State.Running' <<<"$output")" "true"
        assert_equal "$(jq -r '.[0].Mounts[0].Destination' <<<"$output")" "/host"
        assert_equal "$(jq -r '.[0].Mounts[0].RW' <<<"$output")" "false"
        assert_equal "$(jq -r '.[0].NetworkSettings.Ports["80/tcp"][0].HostPort' <<<"$output")" "$port"
        run_hutch inspect --format '{{.State.Status}} {{.Name}} {{json .Config.Cmd}}' insp
        assert_equal "$output" 'running insp ["sleep","1000"]'
        run_hutch inspect -f '{{index .NetworkSettings.Ports "80/tcp"}}' insp
        assert_match "$output" '"HostIp":"127.0.0.1"'
        run_hutch 125 inspect -f '{{.State' insp
        assert_match "$stderr" "invalid --format template"
        run_hutch stop -t 1 insp
        run_hutch inspect -f '{{.State.Status}} {{.State.ExitCode}}' insp
        assert_match "$output" '^exited '
        run_hutch 125 run -d --network none -p 8080:80 --name refused bb:1 true
        run_hutch ps -aq --filter name=refused
        assert_equal "$output" "" "a refused run leaves no container"
}

@test "containers: start without -a runs detached; rename; restart; container prune" {
        run_hutch create --network none --name s1 bb:1 sh -c 'echo started; sleep 1000'
        run_hutch start s1
        assert_equal "$output" "s1"
        run_hutch ps --format json
        assert_equal "$(jq -r '.[0].State' <<<"$output")" "running"
        run_hutch rename s1 s2
        run_hutch 125 rename s2 'bad/name'
        run_hutch restart -t 1 s2
        run_hutch ps --format json
        assert_equal "$(jq -r '.[0].Names[0]' <<<"$output")" "s2" "the monitor keeps the new name"
        assert_equal "$(jq -r '.[0].State' <<<"$output")" "running"
        for _ in $(seq 100); do
                [ "$("$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" logs s2 2>/dev/null | grep -c started)" = 2 ] && break
                sleep 0.1
        done
        run_hutch logs s2
        assert_equal "$output" "$(printf 'started\nstarted')"
        run_hutch run --network none --name done1 bb:1 true
        run_hutch container prune
        assert_match "$output" '^[0-9a-f]{64}$'
        run_hutch ps -a --format json
        assert_equal "$(jq -r 'length' <<<"$output")" "1" "the running container stays"
        run_hutch stop -t 1 s2
}

@test "containers: -t gives a terminal of the container's own devpts; -it is interactive; exec -t too" {
        require_cmd expect
        run_expect '
expect "# "
send "tty; echo hi-\$((40+2))\r"
expect "hi-42"
expect "# "
send "exit 5\r"
expect eof' run --rm -it --network none --rootfs "$ROOTFS" sh
        assert_equal "$status" "5" "the shell's exit status: $output"
        assert_match "$output" "/dev/pts/0"
        assert_match "$output" "hi-42"

        run_hutch run --rm -t --network none --rootfs "$ROOTFS" sh -c 'tty; test -t 0 && test -t 1 && echo both'
        assert_match "$output" "/dev/pts/0"
        assert_match "$output" "both"

        run_hutch run -d --network none --name t1 bb:1 sleep 1000
        run_hutch exec -t t1 sh -c 'tty; readlink /proc/self/fd/1'
        assert_match "$output" "/dev/pts/[0-9]+"
        run_hutch exec t1 sh -c 'test -t 0 || echo no-tty'
        assert_equal "$output" "no-tty"
        run_hutch rm -f t1
}

@test "containers: --init runs a read-only init as PID 1 that reaps zombies and passes signals and the status on" {
        run_hutch run --rm --init --network none --rootfs "$ROOTFS" sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo $$; sh -c "sleep 0.1 &" ; sleep 0.4; ps -o stat | grep -c "^Z" || true; echo x > /run/hutch-init || echo read-only'
        assert_match "${lines[0]}" "^/run/hutch-init sh -c"
        assert_equal "${lines[1]}" "2" "the command is PID 2"
        assert_equal "${lines[2]}" "0" "no zombies"
        assert_equal "${lines[3]}" "read-only"
        run_hutch 42 run --rm --init --network none --rootfs "$ROOTFS" sh -c 'exit 42'
        start_hutch_bg "$BATS_TEST_TMPDIR/out" run --rm --init --network none --rootfs "$ROOTFS" sleep 100
        sleep 0.5
        kill -TERM "$HUTCH_PID"
        wait_hutch_bg
        assert_equal "$status" "143" "sleep, killed by the forwarded SIGTERM"
}

@test "containers: top lists the container's processes and nothing else" {
        run_hutch run -d --network none --name tp bb:1 sh -c 'sleep 1001 & sleep 1002'
        for _ in $(seq 50); do
                "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" top tp 2>/dev/null | grep -q "sleep 1001" && break
                sleep 0.1
        done
        run_hutch top tp
        assert_match "${lines[0]}" "PID +HOSTUSER +TIME +COMMAND"
        assert_match "$output" "sleep 1001"
        assert_match "$output" "sleep 1002"
        assert_equal "${#lines[@]}" "3" "two processes: $output"
        run_hutch rm -f tp
        run_hutch 125 top tp
}

@test "containers: --memory, --cpus and --pids-limit are applied or refused with the reason, never ignored" {
        if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && [ -w "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)" ]; then
                run_hutch run --rm --network none --memory 64m --pids-limit 50 --rootfs "$ROOTFS" cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max
                assert_equal "$output" "$(printf '67108864\n50')"
        else
                run_hutch 125 run --rm --network none --memory 64m --rootfs "$ROOTFS" true
                assert_match "$stderr" "resource limits need"
                run_hutch 125 run --rm --network none --cpus 1.5 --rootfs "$ROOTFS" true
                run_hutch 125 run --rm --network none --pids-limit 10 --rootfs "$ROOTFS" true
        fi
        run_hutch 125 run --rm --network none --memory lots --rootfs "$ROOTFS" true
        assert_match "$stderr" "invalid --memory"
        run_hutch 125 run --rm --network none --cpus 1.2345 --rootfs "$ROOTFS" true
        run_hutch 125 run --rm --network none --pids-limit 0 --rootfs "$ROOTFS" true
}

@test "containers: cp in both directions stays inside the container whatever its symlinks say" {
        local host="$BATS_TEST_TMPDIR/host"
        mkdir -p "$host/in/sub" "$host/out"
        echo a >"$host/in/a"
        echo b >"$host/in/sub/b"
        echo host-secret >"$host/secret"
        run_hutch run -d --network none --name cpc bb:1 sleep 1000
        run_hutch cp "$host/in" cpc:/data
        run_hutch cp "$host/in/a" cpc:/tmp/renamed
        run_hutch exec cpc sh -c 'cat /data/a /data/sub/b /tmp/renamed; stat -c %u /data/a'
        assert_equal "$output" "$(printf 'a\nb\na\n0')"
        # links in the container point at the host's paths: they resolve inside it
        run_hutch exec cpc sh -c "ln -s / /escape; ln -s $host /hostdir; ln -s /etc/passwd /tmp/pw; mkdir -p /d2; echo x > /d2/f"
        run_hutch cp cpc:/escape/etc/passwd "$host/out/"
        assert_match "$(head -1 "$host/out/passwd")" "^root:x:0:0:"
        assert_equal "$(wc -l <"$host/out/passwd")" "$(wc -l <"$ROOTFS/etc/passwd")" "the container's passwd, not the host's"
        run_hutch 125 cp cpc:/hostdir/secret "$host/out/stolen"
        [ ! -e "$host/out/stolen" ] || die "a file outside the container was copied"
        run_hutch cp cpc:/../../../../etc/hostname "$host/out/h"
        run_hutch cp cpc:/tmp/pw "$host/out/pw"
        [ -L "$host/out/pw" ] || die "a symlink is copied as a symlink"
        # writing through a link into the host is impossible too
        # (the link's target does not exist inside the container)
        run_hutch 125 cp "$host/in/a" cpc:/hostdir/planted
        [ ! -e "$host/planted" ] || die "cp wrote through a container symlink onto the host"
        run_hutch exec cpc sh -c "mkdir -p $host && ln -s / /up"
        run_hutch cp "$host/in/a" "cpc:/up/up/..$host/planted"
        [ ! -e "$host/planted" ] || die "cp wrote through a container symlink onto the host"
        run_hutch exec cpc cat "$host/planted"
        assert_equal "$output" "a"
        run_hutch cp cpc:/d2 "$host/out/"
        assert_equal "$(cat "$host/out/d2/f")" "x"
        run_hutch 125 cp cpc:/nonexistent "$host/out/"
        run_hutch 125 cp "$host/in" "$host/out"
        run_hutch rm -f cpc
}

@test "containers: cp follows Docker's rules for SRC, SRC/. and DST, replaces what it copied before, and -L follows a link" {
        local host="$BATS_TEST_TMPDIR/host"
        mkdir -p "$host/src/sub" "$host/out"
        echo a >"$host/src/a"
        echo b >"$host/src/sub/b"
        run_hutch run -d --network none --name cpr bb:1 sleep 1000
        # a directory to a new path becomes that path; to an existing
        # directory it goes inside under its name
        run_hutch cp "$host/src" cpr:/data
        run_hutch cp "$host/src" cpr:/data
        # SRC/. copies the contents; again, the files are replaced
        run_hutch cp "$host/src/." cpr:/contents
        echo a2 >"$host/src/a"
        run_hutch cp "$host/src/." cpr:/contents
        run_hutch exec cpr sh -c 'find /data /contents | sort; cat /contents/a'
        assert_equal "$output" "/contents
/contents/a
/contents/sub
/contents/sub/b
/data
/data/a
/data/src
/data/src/a
/data/src/sub
/data/src/sub/b
/data/sub
/data/sub/b
a2"
        # a file into a directory (by its name), as a new name, over a file
        run_hutch cp "$host/src/a" cpr:/tmp
        run_hutch cp "$host/src/sub/b" cpr:/tmp/a
        run_hutch exec cpr cat /tmp/a
        assert_equal "$output" b
        # errors: DST/ that does not exist, a directory onto a file, SRC/ that is a file
        run_hutch 125 cp "$host/src/a" cpr:/nowhere/
        assert_error_message "destination directory must exist"
        run_hutch 125 cp "$host/src" cpr:/etc/passwd
        assert_error_message "cannot copy a directory onto a file"
        run_hutch 125 cp cpr:/etc/passwd/ "$host/out/x"
        assert_error_message "Not a directory"
        run_hutch 125 cp "$host/src/a/." cpr:/tmp
        # out of the container: SRC/. into a new directory
        run_hutch cp cpr:/contents/. "$host/out/c"
        assert_equal "$(cd "$host/out/c" && find . | sort | tr '\n' ' ')" ". ./a ./sub ./sub/b "
        # a link is copied as a link; -L copies what it points at, found in the container
        run_hutch exec cpr sh -c 'ln -s /etc/hostname /hn; ln -s hn /hn2'
        run_hutch cp cpr:/hn "$host/out/"
        assert_equal "$(readlink "$host/out/hn")" /etc/hostname
        run_hutch cp -L cpr:/hn2 "$host/out/hn-copy"
        [ ! -L "$host/out/hn-copy" ] || die "-L copied the link"
        run_hutch exec cpr cat /etc/hostname
        assert_equal "$(cat "$host/out/hn-copy")" "$output" "-L: the container's file"
        # owners: yours by default; with -a the container's, through the ID map
        require_subids
        run_hutch exec cpr sh -c 'echo x > /owned; chown 1000:1000 /owned'
        run_hutch cp cpr:/owned "$host/out/owned"
        assert_equal "$(stat -c %u "$host/out/owned")" "$(id -u)"
        run_hutch cp -a cpr:/owned "$host/out/owned-a"
        local first
        first=$(subid_ranges uid | head -1 | cut -d' ' -f1)
        assert_equal "$(stat -c %u "$host/out/owned-a")" "$((first + 999))" "-a: container UID 1000, mapped"
        run_hutch unshare rm -f "$host/out/owned-a"
        run_hutch rm -f cpr
}

@test "containers: cp with '-' writes a tar of SRC to standard output and unpacks one from standard input, confined to DST" {
        local host="$BATS_TEST_TMPDIR/host"
        mkdir -p "$host/t/d" "$host/x"
        echo hi >"$host/t/d/f"
        ln -s /etc/passwd "$host/t/d/l"
        run_hutch run -d --network none --name cpt bb:1 sleep 1000
        run_hutch exec cpt sh -c 'mkdir -p /srv/s; echo in-ctr > /srv/s/g'
        # out: the entry under its name; DIR/. what is in it
        "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" cp cpt:/srv/s - >"$host/out.tar"
        assert_equal "$(tar -tf "$host/out.tar" | sort | tr '\n' ' ')" "s/ s/g "
        "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" cp cpt:/srv/s/. - >"$host/out2.tar"
        assert_equal "$(tar -tf "$host/out2.tar" | sort | tr '\n' ' ')" "g "
        tar -C "$host/x" -xf "$host/out.tar"
        assert_equal "$(cat "$host/x/s/g")" in-ctr
        # in: unpacked into the directory; again, replacing
        tar -C "$host/t" -cf "$host/in.tar" d
        RUN_HUTCH_STDIN="$host/in.tar" run_hutch cp - cpt:/tmp
        RUN_HUTCH_STDIN="$host/in.tar" run_hutch cp - cpt:/tmp
        run_hutch exec cpt sh -c 'cat /tmp/d/f; readlink /tmp/d/l'
        assert_equal "$output" "hi
/etc/passwd"
        # a hostile tar: names and links that climb out stay inside /tmp
        mkdir -p "$host/evil"
        ln -s / "$host/evil/up"
        (cd "$host/evil" && tar -cf "$host/evil.tar" up && tar -rf "$host/evil.tar" --transform 's|^|up/|' -C "$host/t" d) ||
                die "making the tar failed"
        RUN_HUTCH_STDIN="$host/evil.tar" run_hutch '?' cp - cpt:/tmp
        run_hutch exec cpt sh -c 'ls /d 2>&1; ls /tmp/up/d 2>&1 || true'
        assert_match "$output" "No such file" "nothing was written through the link out of /tmp"
        # errors: DST that is not a directory, junk, a terminal is refused
        RUN_HUTCH_STDIN="$host/in.tar" run_hutch 125 cp - cpt:/etc/passwd
        assert_error_message "is not a directory"
        RUN_HUTCH_STDIN="$host/t/d/f" run_hutch 125 cp - cpt:/tmp
        assert_error_message "tar"
        run_hutch rm -f cpt
}

@test "containers: cp into and out of a stopped container, inside its root" {
        local host="$BATS_TEST_TMPDIR/host"
        mkdir -p "$host/out"
        echo into-stopped >"$host/f"
        run_hutch create --network none --name cps bb:1 cat /f
        # never started: the image's files and our copy
        run_hutch cp "$host/f" cps:/f
        run_hutch cp cps:/etc/passwd "$host/out/passwd"
        assert_equal "$(head -1 "$host/out/passwd")" "$(head -1 "$ROOTFS/etc/passwd")"
        run_hutch start -a cps
        assert_equal "$output" into-stopped "the container saw the copied file"
        # after it ran: what it wrote, and a deleted image file stays deleted
        run_hutch run --network none --name cps2 bb:1 sh -c 'echo ran > /ran; rm /etc/group'
        run_hutch cp cps2:/ran "$host/out/ran"
        assert_equal "$(cat "$host/out/ran")" ran
        run_hutch 125 cp cps2:/etc/group "$host/out/group"
        [ ! -e "$host/out/group" ] || die "a deleted file was copied"
        # a copy where the container deleted a file of the image
        run_hutch cp "$host/f" cps2:/etc/group
        run_hutch cp cps2:/etc/group "$host/out/group"
        assert_equal "$(cat "$host/out/group")" into-stopped
        # links in a stopped container resolve inside it too
        run_hutch run --network none --name cps3 bb:1 sh -c "ln -s / /escape; ln -s $host /hostdir"
        run_hutch cp cps3:/escape/etc/passwd "$host/out/p3"
        assert_equal "$(cat "$host/out/p3")" "$(cat "$ROOTFS/etc/passwd")"
        run_hutch 125 cp "$host/f" cps3:/hostdir/planted
        [ ! -e "$host/planted" ] || die "cp wrote through a stopped container's symlink onto the host"
        # nothing left behind: no mount, no run directory
        assert_equal "$(grep -c "$HUTCH_RUNROOT" /proc/self/mountinfo)" 0 "no mount left"
        assert_equal "$(find "$HUTCH_RUNROOT" -mindepth 1 -maxdepth 1 -type d | wc -l)" 0 "no run directory left"
}

@test "containers: --restart on-failure:N and always restart a detached container; stop ends it" {
        run_hutch run -d --network none --restart on-failure:2 --name rf bb:1 sh -c 'echo ran; exit 3'
        for _ in $(seq 100); do
                [ "$("$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" logs rf 2>/dev/null | grep -c ran)" = 3 ] && break
                sleep 0.1
        done
        run_hutch wait rf
        assert_equal "$output" "3"
        sleep 1
        run_hutch logs rf
        assert_equal "$(grep -c ran <<<"$output")" "3" "the first run and two restarts"
        run_hutch run -d --network none --restart always --name ra bb:1 sh -c 'echo up; sleep 0.2'
        for _ in $(seq 100); do
                [ "$("$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" logs ra 2>/dev/null | grep -c up)" -ge 3 ] && break
                sleep 0.1
        done
        run_hutch logs ra
        [ "$(grep -c up <<<"$output")" -ge 3 ] || die "always did not restart: $output"
        run_hutch stop -t 1 ra
        sleep 1.5
        run_hutch ps --format json
        assert_equal "$(jq -r 'length' <<<"$output")" "0" "nothing restarts after stop"
        run_hutch 125 run -d --restart sometimes bb:1 true
        run_hutch 125 run -d --rm --restart always bb:1 true
}

@test "containers: a foreground run with --restart shows its output and exit code, then its monitor restarts it" {
        run_hutch 3 run --network none --restart on-failure:2 --name fg bb:1 sh -c 'echo ran-$((1+1)); echo err >&2; exit 3'
        assert_equal "$output" "ran-2"
        assert_equal "$stderr" "err"
        for _ in $(seq 100); do
                [ "$("$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" logs fg 2>/dev/null | grep -c ran)" = 3 ] && break
                sleep 0.1
        done
        run_hutch wait fg
        assert_equal "$output" "3"
        sleep 1
        run_hutch logs fg
        assert_equal "$(grep -c ran-2 <<<"$output")" "3" "the first run and two restarts"
        run_hutch inspect --format '{{.RestartCount}} {{.State.Status}}' fg
        assert_equal "$output" "2 exited"
        # started by hand, the policy starts over (Docker's): two restarts again
        run_hutch 3 start -a fg
        assert_equal "$output" "ran-2"
        for _ in $(seq 100); do
                [ "$("$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" logs fg 2>/dev/null | grep -c ran)" = 6 ] && break
                sleep 0.1
        done
        run_hutch wait fg
        sleep 1
        run_hutch inspect --format '{{.RestartCount}} {{.State.Status}}' fg
        assert_equal "$output" "2 exited"
        run_hutch logs fg
        assert_equal "$(grep -c ran-2 <<<"$output")" "6"
}

@test "containers: port lists the published ports of a running container" {
        local port
        port=$(free_ports 2)
        run_hutch run -d --name pp -p "127.0.0.1:$port:80" -p "$((port + 1)):81/udp" bb:1 sleep 1000
        run_hutch port pp
        assert_match "$output" "80/tcp -> 127.0.0.1:$port"
        assert_match "$output" "81/udp -> .*:$((port + 1))"
        run_hutch port pp 80
        assert_equal "$output" "127.0.0.1:$port"
        run_hutch 125 port pp 99
        run_hutch rm -f pp
}

@test "containers: system prune removes stopped containers and unused images; -a and --volumes more; running ones and what they use stay" {
        tar -C "$ROOTFS" -cf "$BATS_TEST_TMPDIR/r.tar" .
        run_hutch import --change 'LABEL v=2' "$BATS_TEST_TMPDIR/r.tar" other:1
        run_hutch run --network none --name stopped other:1 true
        run_hutch run -d --network none --name live -v used:/data bb:1 sleep 1000
        run_hutch volume create unused
        run_hutch system prune -f
        assert_match "$output" "Deleted Containers:"
        run_hutch ps -a --format '{{.Names}}'
        assert_equal "$output" live "the stopped container is gone, the running one stays"
        run_hutch images --format '{{.Repository}}:{{.Tag}}'
        assert_equal "$(sort <<<"$output" | tr "\n" " ")" "localhost/bb:1 localhost/other:1 " "named images stay without -a"
        run_hutch volume ls -q
        assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "unused used " "volumes stay without --volumes"
        run_hutch system prune -a -f --volumes
        assert_match "$output" "Deleted Volumes:"
        run_hutch images --format '{{.Repository}}:{{.Tag}}'
        assert_equal "$output" "localhost/bb:1" "the running container's image stays"
        run_hutch volume ls -q
        assert_equal "$output" used "the running container's volume stays"
        run_hutch exec live true
        run_hutch 125 system prune extra
        run_hutch rm -f live
}

@test "containers: system df counts the store; system reset --force empties it, running containers included" {
        run_hutch run --network none --name kept bb:1 true
        run_hutch run -d --network none --name live bb:1 sleep 1000
        run_hutch volume create vol1
        run_hutch system df
        assert_match "$output" "Layers +1 "
        assert_match "$output" "Containers +2 "
        assert_match "$output" "Volumes +1 "
        run_hutch 125 system reset
        assert_match "$stderr" "--force"
        run_hutch system reset --force
        run_hutch ps -aq
        assert_equal "$output" ""
        run_hutch images -q
        assert_equal "$output" ""
        run_hutch volume ls -q
        assert_equal "$output" ""
        # (listing re-creates the store's empty directories)
        assert_equal "$(find "$HUTCH_ROOT" -mindepth 1 -not -type d -not -name '*.lock' | head -1)" ""
}

@test "containers: export writes the container's files (its changes over the image) as a tar" {
        run_hutch run --network none --name ex1 bb:1 sh -c 'echo new > /newfile; rm /etc/group; mkdir -p /d; ln /newfile /d/hard; chown 1000:1000 /newfile'
        run_hutch export -o "$BATS_TEST_TMPDIR/ex.tar" ex1
        local list
        list=$(tar -tvf "$BATS_TEST_TMPDIR/ex.tar")
        assert_match "$list" "1000/1000 .* newfile"
        assert_match "$list" "d/hard link to newfile"
        assert_match "$list" " bin/busybox"
        assert_not_match "$list" " etc/group"
        assert_equal "$(tar -xOf "$BATS_TEST_TMPDIR/ex.tar" newfile)" "new"
        run_hutch 125 export no-such-container
        run_hutch rm ex1
}

@test "containers: create and rm killed with SIGKILL at random points leave a store the next commands use" {
        local i pid
        for i in $(seq 1 15); do
                hutch_cmd create --network none --name "k$i" bb:1 true
                "${HUTCH_CMD[@]}" </dev/null >/dev/null 2>&1 3>&- &
                pid=$!
                sleep "0.0$((RANDOM % 10))"
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
        run_hutch ps -a --format json
        local names
        names=$(jq -r '.[].Names[0]' <<<"$output")
        for n in $names; do
                hutch_cmd rm -f "$n"
                "${HUTCH_CMD[@]}" </dev/null >/dev/null 2>&1 3>&- &
                pid=$!
                sleep "0.0$((RANDOM % 10))"
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
        # whatever is left is listed, removable and does not get in the way
        run_hutch ps -a --format json
        for n in $(jq -r '.[].Names[0]' <<<"$output"); do
                run_hutch rm -f "$n"
        done
        run_hutch ps -aq
        assert_equal "$output" ""
        run_hutch run --rm --network none bb:1 echo still-fine
        assert_equal "$output" "still-fine"
        run_hutch run --network none --name k1 bb:1 true
        run_hutch rm k1
}

@test "containers: 50 detached containers are started, listed, stopped and removed" {
        local i
        for i in $(seq 1 50); do
                run_hutch run -d --network none --name "many$i" bb:1 sleep 1000
        done
        run_hutch ps -q
        assert_equal "${#lines[@]}" "50"
        run_hutch ps --format json
        assert_equal "$(jq -r '[.[] | select(.State == "running")] | length' <<<"$output")" "50"
        local names=()
        for i in $(seq 1 50); do names+=("many$i"); done
        run_hutch stop -t 2 "${names[@]}"
        run_hutch ps -q
        assert_equal "$output" ""
        run_hutch rm "${names[@]}"
        run_hutch ps -aq
        assert_equal "$output" ""
}

@test "containers: container prune removes what a killed create left (a directory without a record)" {
        local old new
        old=$(printf '%064d' 7)
        new=$(printf '%064d' 8)
        run_hutch create --network none --name real bb:1 true
        mkdir -p "$HUTCH_ROOT/containers/$old/upper" "$HUTCH_ROOT/containers/$new"
        touch -d '2 minutes ago' "$HUTCH_ROOT/containers/$old"
        run_hutch container prune
        [ ! -e "$HUTCH_ROOT/containers/$old" ] || die "the old leftover is still there"
        [ -e "$HUTCH_ROOT/containers/$new" ] || die "a fresh directory (maybe being created) was removed"
        run_hutch ps -aq
        assert_equal "$output" ""
}

@test "containers: rm -f of a running container removes it at once, its monitor's last writes and --restart included" {
        for i in 1 2 3 4 5; do
                # a monitor busy writing logs, and one that would restart
                run_hutch run -d --network none --name busy$i bb:1 sh -c 'while :; do echo line; done'
                run_hutch run -d --network none --restart always --name again$i bb:1 sleep 100
                run_hutch rm -f busy$i again$i
                assert_equal "${lines[*]}" "busy$i again$i"
        done
        sleep 1
        run_hutch ps -aq
        assert_equal "$output" "" "nothing kept, nothing restarted"
        run ls -A "$HUTCH_ROOT/containers"
        assert_equal "$(grep -v '\.lock$' <<<"$output")" "" "no container directory left: $output"
}

@test "containers: ps shows published ports and takes Go templates; 'table' templates (ps, images) print a header" {
        local port
        run_hutch run -d --name web -p 127.0.0.1::80 bb:1 sleep 100
        run_hutch port web 80
        port=${output##*:}
        run_hutch create --network none --name idle bb:1
        run_hutch ps
        assert_match "${lines[0]}" "^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$"
        assert_match "${lines[1]}" "127\.0\.0\.1:$port->80/tcp +web$"
        run_hutch ps -a --format '{{.Names}} {{.State}} {{.Ports}}'
        assert_equal "$(sort <<<"$output")" "$(printf 'idle created \nweb running 127.0.0.1:%s->80/tcp' "$port")"
        run_hutch ps --format 'table {{.ID}}\t{{.Names}}\t{{.RunningFor}}'
        assert_equal "${lines[0]}" "$(printf 'CONTAINER ID\tNAMES\tCREATED')"
        assert_match "${lines[1]}" "^[0-9a-f]{12}	web	.* ago$"
        run_hutch ps --no-trunc --format '{{.ID}}'
        assert_match "$output" "^[0-9a-f]{64}$"
        run_hutch ps --noheading
        assert_equal "${#lines[@]}" "1"
        run_hutch 125 ps --format '{{.Names'
        assert_error_message "template"
        run_hutch 125 ps --format yaml
        assert_error_message "unknown --format"
        run_hutch rm -f web idle
        # images takes the same 'table' form
        run_hutch images --format 'table {{.Repository}}\t{{.ID}}'
        assert_equal "${lines[0]}" "$(printf 'REPOSITORY\tIMAGE ID')"
        assert_match "${lines[1]}" "^localhost/bb	[0-9a-f]{12}$"
}

@test "containers: after a simulated reboot (run directory wiped) or with a recycled PID in the record, nothing foreign is signalled (#39)" {
        # a reboot: every process of the container gone, the run directory too
        run_hutch run -d --network none --name boot bb:1 sleep 1000
        local id=$output pid monitor
        pid=$(jq -r '.State.Pid' "$HUTCH_ROOT/containers/$id/container.json")
        monitor=$(ps -o ppid= -p "$pid" | tr -d ' ')
        kill -KILL "$monitor" "$pid"
        for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        rm -rf "$HUTCH_RUNROOT"
        run_hutch ps -a --format '{{.Names}} {{.State}} {{.ExitCode}}'
        assert_equal "$output" "boot exited -1"
        run_hutch start boot
        run_hutch ps --format '{{.Names}} {{.State}}'
        assert_equal "$output" "boot running" "it starts again with a new run directory"
        run_hutch rm -f boot

        # a record naming a PID that now belongs to another process of ours
        run_hutch create --network none --name stale bb:1 sleep 1000
        id=$output
        sleep 1000 &
        local victim=$!
        local rec="$HUTCH_ROOT/containers/$id/container.json"
        jq --argjson p "$victim" '.State.Status = "running" | .State.Pid = $p | .State.PidStart = 1' "$rec" >"$rec.new"
        mv "$rec.new" "$rec"
        run_hutch ps -a --format '{{.Names}} {{.State}}'
        assert_equal "$output" "stale exited"
        run_hutch '?' kill stale
        run_hutch '?' stop -t 1 stale
        run_hutch rm -f stale
        kill -0 "$victim" || die "hutch signalled a process that merely reused the container's PID"
        kill "$victim"
}

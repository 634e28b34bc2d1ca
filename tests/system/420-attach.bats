#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153,SC2030,SC2031 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the container's shell expands these
# hutch attach and the detach keys: terminals driven through a real
# pseudo-terminal with expect, pipes, signals, several clients, and
# `run -it` of a kept container, which can be detached from.

load helpers

setup() {
        basic_setup
        import_busybox_image
}


# Waits until the attach client $1 (a PID) has its signalfd: it has the
# monitor's hello, so it gets all output from now on.
wait_attached() {
        local pid=$1 i fd
        for ((i = 0; i < 400; i++)); do
                for fd in /proc/"$pid"/fd/*; do
                        if [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:[signalfd]" ]; then
                                return 0
                        fi
                done
                sleep 0.05
        done
        die "attach (pid $pid) never connected" "$(cat "$HUTCH_BG_ERR" 2>/dev/null)"
}

container_state() {
        "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" ps -a --format json </dev/null 3>&- |
                jq -r --arg n "$1" '.[] | select(.Names[0] == $n) | .State'
}

@test "attach: type into a -dit shell, detach with ctrl-p ctrl-q, attach again and exit 3" {
        require_cmd expect
        run_hutch run -dit --network none --name c1 bb:1 sh
        run_expect '
send "echo hi-\$((40+2))\r"
expect "hi-42"
send "\x10\x11"
expect eof' attach c1
        assert_equal "$status" "0" "a detach exits 0"
        assert_match "$output" "hi-42"
        assert_equal "$(container_state c1)" "running" "the container still runs"
        run_hutch ps
        assert_match "$output" "c1"
        assert_match "$output" "Up"

        # the window size follows the user's terminal, at attach and on SIGWINCH
        run_expect '
send "echo again-\$((2+3)); stty size\r"
expect "again-5"
expect "33 77"
stty rows 40 columns 90 < $spawn_out(slave,name)
for {set i 0} {$i < 50} {incr i} {
        send "stty size\r"
        expect {
                "40 90" { break }
                -re {[0-9]+ [0-9]+} { sleep 0.2 }
        }
}
if {$i == 50} { puts "\nEXPECT: the new size never reached the container"; exit 98 }
send "exit 3\r"
expect eof' attach c1
        assert_equal "$status" "3" "attach ends with the container's exit code"
        assert_equal "$(container_state c1)" "exited"
        run_hutch ps -a --format json
        assert_equal "$(jq -r '.[0].ExitCode' <<<"$output")" "3"
        # the log was written while we were attached
        run_hutch logs c1
        assert_match "$output" "hi-42"
        assert_match "$output" "again-5"
}

@test "attach: --detach-keys ctrl-x,y detaches; ctrl-p ctrl-q then is plain input" {
        require_cmd expect
        run_hutch run -dit --network none --name c2 bb:1 sh
        run_expect '
send "echo one-\$((0+1))\r"
expect "one-1"
send "\x18y"
expect eof' attach --detach-keys ctrl-x,y c2
        assert_equal "$status" "0"
        assert_equal "$(container_state c2)" "running"
        # with detaching off, the default keys reach the shell; exit ends it
        # (control keys only once attach has the terminal in raw mode: the
        # prompt it answers a return with says so)
        run_expect '
send "\r"
expect "# "
send "\x10\x11"
send "\x03"
send "exit 4\r"
expect eof' attach --detach-keys '' c2
        assert_equal "$status" "4"
}

@test "attach: bad detach keys, stopped and unknown containers are clear errors" {
        run_hutch run -d --network none --name c3 bb:1 sleep 1000
        for keys in ctrl-1 ab 'ctrl-p,' ctrl+p; do
                run_hutch 125 attach --detach-keys "$keys" c3
                assert_match "$stderr" "Error: invalid detach keys '"
                assert_match "$stderr" "ctrl-X"
        done
        run_hutch 125 run --detach-keys ctrl-pp --network none bb:1 true
        assert_match "$stderr" "invalid detach keys"
        run_hutch 125 exec --detach-keys ',' c3 true
        assert_match "$stderr" "invalid detach keys"
        run_hutch 125 start --detach-keys 'ctrl-' c3
        assert_match "$stderr" "invalid detach keys"
        run_hutch 125 attach --sig-proxy=maybe c3
        assert_match "$stderr" "invalid --sig-proxy"
        run_hutch exec --detach-keys ctrl-a c3 echo exec-ok
        assert_equal "$output" "exec-ok"

        run_hutch stop -t 1 c3
        run_hutch 125 attach c3
        assert_match "$stderr" "container 'c3' is not running"
        run_hutch create --network none --name c4 bb:1 true
        run_hutch 125 attach c4
        assert_match "$stderr" "is not running"
        run_hutch 125 attach no-such-container
        assert_match "$stderr" "no such container"
        run_hutch 125 attach
        assert_match "$stderr" "needs exactly one CONTAINER"
}

@test "attach: run -d -i gives the container a stdin pipe; attach sends piped input and ends with it" {
        run_hutch run -d -i --network none --name cat1 bb:1 sh -c 'cat; echo cat-done >&2; exit 5'
        local input="$BATS_TEST_TMPDIR/input"
        printf 'hello\nworld\n' >"$input"
        # a pipe, as `printf ... | hutch attach` gives
        hutch_cmd attach cat1
        run bash -c 'printf "hello\nworld\n" | timeout -k 5 30 "$@"' _ "${HUTCH_CMD[@]}" 3>&-
        echo "$output"
        assert_equal "$status" "5" "cat ended with the input, the container with 5"
        assert_match "$output" "hello"
        assert_match "$output" "world"
        assert_match "$output" "cat-done"

        # a regular file works too (epoll cannot watch one)
        run_hutch run -d -i --network none --name cat2 bb:1 cat
        RUN_HUTCH_STDIN=$input run_hutch attach cat2
        assert_equal "$output" "$(printf 'hello\nworld')"

        # without -i the container's stdin is /dev/null and stays so
        local w="$BATS_TEST_TMPDIR/w"
        mkdir -p "$w"
        run_hutch run -d --network none --name noin -v "$w:/w" bb:1 \
                sh -c 'while [ ! -e /w/go ]; do sleep 0.05; done; cat; echo no-input-$?'
        start_hutch_bg "$BATS_TEST_TMPDIR/noin.out" attach noin
        wait_attached "$HUTCH_PID"
        touch "$w/go"
        wait_hutch_bg
        assert_equal "$status" "0"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/noin.out")" "no-input-0"
}

@test "attach: a non-tty container's stdout and stderr stay apart; exit code passes through" {
        local w="$BATS_TEST_TMPDIR/w"
        mkdir -p "$w"
        run_hutch run -d --network none --name out1 -v "$w:/w" bb:1 \
                sh -c 'while [ ! -e /w/go ]; do sleep 0.05; done; echo to-out; echo to-err >&2; exit 4'
        start_hutch_bg "$BATS_TEST_TMPDIR/att.out" attach out1
        wait_attached "$HUTCH_PID"
        touch "$w/go"
        wait_hutch_bg
        assert_equal "$status" "4"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/att.out")" "to-out"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/att.out.err")" "to-err"
}

@test "attach: sig-proxy forwards SIGTERM to the container; --sig-proxy=false does not" {
        run_hutch run -d --network none --name sig1 bb:1 \
                sh -c 'trap "echo got-term; exit 7" TERM; while :; do sleep 0.1; done'
        start_hutch_bg "$BATS_TEST_TMPDIR/sig.out" attach --sig-proxy=false sig1
        wait_attached "$HUTCH_PID"
        kill -TERM "$HUTCH_PID"
        wait_hutch_bg
        assert_equal "$status" "143" "attach itself ended"
        assert_equal "$(container_state sig1)" "running" "the container did not get it"

        start_hutch_bg "$BATS_TEST_TMPDIR/sig2.out" attach sig1
        wait_attached "$HUTCH_PID"
        kill -TERM "$HUTCH_PID"
        wait_hutch_bg
        assert_equal "$status" "7" "the container's trap ran and its exit code came back"
        assert_match "$(cat "$BATS_TEST_TMPDIR/sig2.out")" "got-term"
}

@test "attach: two clients at once both see the output and the exit" {
        local w="$BATS_TEST_TMPDIR/w"
        mkdir -p "$w"
        run_hutch run -d --network none --name two -v "$w:/w" bb:1 \
                sh -c 'while [ ! -e /w/go ]; do sleep 0.05; done; echo both-see-this; exit 2'
        start_hutch_bg "$BATS_TEST_TMPDIR/a.out" attach two
        local first=$HUTCH_PID
        wait_attached "$first"
        start_hutch_bg "$BATS_TEST_TMPDIR/b.out" attach --no-stdin two
        local second=$HUTCH_PID
        wait_attached "$second"
        touch "$w/go"
        HUTCH_PID=$first
        wait_hutch_bg
        assert_equal "$status" "2"
        HUTCH_PID=$second
        wait_hutch_bg
        assert_equal "$status" "2"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/a.out")" "both-see-this"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/b.out")" "both-see-this"
        # the socket went with the container
        assert_equal "$(find "$HUTCH_RUNROOT" -name attach)" ""
}

@test "attach: run -it of a kept container detaches and is attached to again; start -a -i too" {
        require_cmd expect
        run_expect '
expect "# "
send "echo first-\$((3*3))\r"
expect "first-9"
send "\x10\x11"
expect eof' run -it --network none --name rit bb:1 sh
        assert_equal "$status" "0" "a detach exits 0"
        assert_match "$output" "first-9"
        assert_equal "$(container_state rit)" "running"
        # the monitor is detached: no stdio of ours, its own session
        run_expect '
send "echo back-\$((4*4))\r"
expect "back-16"
send "exit 6\r"
expect eof' attach rit
        assert_equal "$status" "6"
        assert_equal "$(container_state rit)" "exited"

        run_expect '
expect "# "
send "echo restarted-\$((5*5))\r"
expect "restarted-25"
send "\x01d"
expect eof' start -a -i --detach-keys ctrl-a,d rit
        assert_equal "$status" "0"
        assert_equal "$(container_state rit)" "running"
        run_hutch stop -t 1 rit
}

@test "attach: start -a gives a container made with -i none of our input, start -a -i and start -i do (Docker's)" {
        local in="$BATS_TEST_TMPDIR/in"
        echo hello >"$in"
        # read -t: stdin kept open with nothing written times out, as with Docker
        run_hutch create -i --network none --name ci bb:1 \
                sh -c 'if read -t 2 x; then echo "got-$x"; else echo "no-input-$?"; fi'
        RUN_HUTCH_STDIN=$in run_hutch start -a ci
        assert_match "$output" "no-input-"
        assert_not_match "$output" "got-hello"
        RUN_HUTCH_STDIN=$in run_hutch start -a -i ci
        assert_equal "$output" "got-hello"
        RUN_HUTCH_STDIN=$in run_hutch start -i ci
        assert_equal "$output" "got-hello" "start -i attaches as Docker's does"
}

@test "attach: start -a of a container made with -it shows its terminal but sends it nothing" {
        require_cmd expect
        run_hutch create -it --network none --name cit bb:1 \
                sh -c 'echo ready; if read -t 3 x; then echo "got-=$x="; else echo "no-input-$?"; fi'
        run_expect '
expect "ready"
send "typed\r"
expect "no-input-"
expect eof' start -a cit
        assert_equal "$status" "0"
        assert_not_match "$output" "got-"
        run_expect '
expect "ready"
send "typed\r"
expect "got-=typed="
expect eof' start -a -i cit
        assert_equal "$status" "0"
}

@test "attach: run -it of a kept container that ends at once still shows its output and exit code (20 runs)" {
        require_cmd expect
        # the container may be gone before the CLI reads a byte: the monitor's
        # first client is a socket pair made before it, never a later connect
        local i
        for ((i = 0; i < 20; i++)); do
                run_expect '
expect "quick-6"
expect eof' run -it --network none bb:1 sh -c 'echo quick-$((2*3)); exit 4'
                assert_equal "$status" "4" "run $i: the container's exit code"
        done
        run_hutch ps -a --format '{{.Status}}'
        assert_equal "$(grep -c 'Exited (4)' <<<"$output")" "20"
}

@test "attach: run --rm -it detaches too; the container is removed when it exits, before run or attach returns" {
        require_cmd expect
        run_expect '
expect "# "
send "exit 8\r"
expect eof' run --rm -it --network none bb:1 sh
        assert_equal "$status" "8"
        run_hutch ps -aq
        assert_equal "$output" "" "removed before run returned"

        run_expect '
expect "# "
send "echo rm-\$((2*4))\r"
expect "rm-8"
send "\x10\x11"
expect eof' run --rm -it --network none --name rmit bb:1 sh
        assert_equal "$status" "0" "a detach exits 0"
        assert_equal "$(container_state rmit)" "running"
        run_expect '
send "exit 9\r"
expect eof' attach rmit
        assert_equal "$status" "9"
        run_hutch ps -aq
        assert_equal "$output" "" "removed before attach returned"
}

@test "attach: run -it --restart on-failure:1 exits with the code and the monitor restarts the container, with its terminal" {
        require_cmd expect
        run_expect '
expect "# "
send "exit 3\r"
expect eof' run -it --restart on-failure:1 --network none --name itr bb:1 sh
        assert_equal "$status" "3"
        local i
        for ((i = 0; i < 100; i++)); do
                [ "$(container_state itr)" = running ] && break
                sleep 0.1
        done
        assert_equal "$(container_state itr)" "running" "restarted after we were gone"
        run_hutch inspect --format '{{.RestartCount}}' itr
        assert_equal "$output" "1"
        run_expect '
send "echo again-\$((6*7))\r"
expect "again-42"
send "exit 4\r"
expect eof' attach itr
        assert_equal "$status" "4"
        sleep 1
        assert_equal "$(container_state itr)" "exited" "on-failure:1 restarts once"
        run_hutch inspect --format '{{.State.ExitCode}} {{.RestartCount}}' itr
        assert_equal "$output" "4 1"
}

@test "attach: at most 8 clients; a client that stops reading is dropped while the log goes on" {
        run_hutch run -d --network none --name many bb:1 sleep 1000
        local pids=() i
        for ((i = 0; i < 8; i++)); do
                start_hutch_bg "$BATS_TEST_TMPDIR/m$i.out" attach --no-stdin many
                pids+=("$HUTCH_PID")
                wait_attached "$HUTCH_PID"
        done
        run_hutch 125 attach --no-stdin many
        assert_match "$stderr" "too many clients attached \(at most 8\)"
        for i in "${pids[@]}"; do
                kill -KILL "$i"
                HUTCH_PID=$i
                wait_hutch_bg || true
        done
        run_hutch stop -t 1 many

        # a flood of output and a client that stopped reading it
        run_hutch run -d --network none --name flood bb:1 \
                sh -c 'while :; do echo 0123456789012345678901234567890123456789012345678901234567890123456789; done'
        start_hutch_bg "$BATS_TEST_TMPDIR/flood.out" attach --no-stdin flood
        local client=$HUTCH_PID
        wait_attached "$client"
        kill -STOP "$client"
        local ctr monitor last1 last2
        ctr=$("$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" inspect --format '{{.State.Pid}}' flood)
        monitor=$(cut -d' ' -f4 "/proc/$ctr/stat")
        sleep 3
        # the newest log line's time moves on (the log rotates: its size may not grow)
        run_hutch logs -t --tail 1 flood
        last1=${output%% *}
        sleep 1
        run_hutch logs -t --tail 1 flood
        last2=${output%% *}
        assert "$last1" != "$last2" "the log is still written"
        local rss
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$monitor/status")
        assert "$rss" -lt 65536 "the monitor's memory stays bounded (${rss} kB)"
        kill -CONT "$client"
        wait_hutch_bg
        assert_equal "$status" "125" "the dropped client says so"
        assert_match "$(cat "$BATS_TEST_TMPDIR/flood.out.err")" "lost the connection to the monitor of container 'flood'"
        assert_equal "$(container_state flood)" "running"
        run_hutch stop -t 1 flood
}

@test "attach: exec -it detaches with ctrl-p ctrl-q and the command runs on; --detach-keys '' passes the keys through" {
        require_cmd expect
        run_hutch run -d --network none --name ex bb:1 sleep 1000
        # the exec'd shell leaves a mark after the detach: it ran on
        run_expect '
send "\r"
expect "# "
send "(sleep 1; touch /tmp/after-detach) &\r"
expect "# "
send "\x10\x11"
expect eof' exec -it ex sh
        assert_equal "$status" "0" "a detach exits 0"
        local i
        for i in $(seq 50); do
                "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" exec ex test -e /tmp/after-detach \
                        </dev/null 3>&- 2>/dev/null && break
                sleep 0.1
        done
        run_hutch exec ex sh -c 'test -e /tmp/after-detach && echo marked; ps -o args | grep -c "^sh$"'
        assert_equal "${lines[0]}" marked "the shell ran on after the detach"
        assert_equal "${lines[1]}" 1 "the detached shell still runs"
        # custom keys; and with none, ctrl-p ctrl-q are input and exit ends it
        run_expect '
send "\r"
expect "# "
send "\x18y"
expect eof' exec -it --detach-keys ctrl-x,y ex sh
        assert_equal "$status" "0"
        run_expect '
send "\r"
expect "# "
send "\x10\x11"
send "exit 5\r"
expect eof' exec -it --detach-keys '' ex sh
        assert_equal "$status" "5"
        run_hutch rm -f ex
}

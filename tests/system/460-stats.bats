#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the container's shell expands these
# hutch stats: CPU, memory, PIDs, network and block I/O of real containers,
# read without a delegated cgroup (from /proc) where the machine has none;
# --format, -a, errors, and the redrawing table under a pseudo-terminal.

load helpers

setup() {
        basic_setup
        import_busybox_image
        SINK_PID=
}

teardown() {
        if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null || true; fi
        basic_teardown
}

# to_bytes SIZE: "1.5MiB", "12.3kB", "0B" as Docker prints them -> bytes.
to_bytes() {
        awk -v s="$1" 'BEGIN {
                n = s + 0; u = s; sub(/^[0-9.]+(e\+[0-9]+)?/, "", u)
                m["B"] = 1; m["kB"] = 1e3; m["MB"] = 1e6; m["GB"] = 1e9; m["TB"] = 1e12
                m["KiB"] = 1024; m["MiB"] = 1048576; m["GiB"] = 1073741824; m["TiB"] = 1099511627776
                if (!(u in m)) { print "bad size: " s > "/dev/stderr"; exit 1 }
                printf "%.0f\n", n * m[u] }'
}

# stat_field CONTAINER FIELD: one sample's .FIELD of the container.
stat_field() {
        run_hutch stats --no-stream --format "{{.$2}}" "$1"
        field=$output
}

# until_field CONTAINER FIELD AWK_TEST TRIES: samples until the value (its
# first number, in bytes for sizes) passes AWK_TEST ('v > 100'); $field holds
# the last value either way.
until_field() {
        local i v
        for ((i = 0; i < $4; i++)); do
                stat_field "$1" "$2"
                v=${field%% *}
                case "$v" in *B) v=$(to_bytes "$v") ;; *%) v=${v%\%} ;; esac
                if awk -v v="$v" "BEGIN { exit !($3) }"; then return 0; fi
                sleep 0.5
        done
}

@test "stats: --no-stream prints Docker's columns, one row per running container, and only those" {
        run_hutch run -d --network none --name one bb:1 sleep 1000
        run_hutch run --network none --name finished bb:1 true
        run_hutch stats --no-stream
        assert_equal "${#lines[@]}" 2 "a header and the running container"
        assert_match "${lines[0]}" '^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS$'
        assert_match "${lines[1]}" '^[0-9a-f]{12} +one +[0-9]+\.[0-9]{2}% +[0-9.]+(B|KiB|MiB) / [0-9.]+(MiB|GiB|TiB) +[0-9]+\.[0-9]{2}% +0B / 0B +[0-9.]+(B|kB|MB) / [0-9.]+(B|kB|MB) +1$'
        # the columns line up under the header
        local name_col=${lines[0]%%NAME*} pids_col=${lines[0]%%PIDS*}
        assert_equal "${lines[1]:${#name_col}:3}" "one"
        assert_equal "${lines[1]:${#pids_col}}" "1"
        run_hutch stats --no-stream --no-trunc --format '{{.ID}}' one
        assert_match "$output" '^[0-9a-f]{64}$'
}

@test "stats: memory a container holds shows in MEM USAGE, the host's memory as the limit" {
        # tail keeps a line without a newline whole: 64 MB (61 MiB) held until the writer ends
        run_hutch run -d --network none --name mem bb:1 sh -c '(head -c 64000000 /dev/zero; sleep 1000) | tail'
        until_field mem MemUsage 'v >= 64000000' 40
        local usage=${field%% / *} limit=${field##* / }
        assert "$(to_bytes "$usage")" -ge 64000000 "MEM USAGE $field holds the 64 MB"
        local total
        total=$(awk '/^MemTotal:/ { printf "%.0f\n", $2 * 1024 }' /proc/meminfo)
        local lim
        lim=$(to_bytes "$limit")
        # 4 significant digits of the host's MemTotal
        assert "$(awk -v a="$lim" -v b="$total" 'BEGIN { d = a - b; if (d < 0) d = -d; print (d <= b / 1000) }')" == 1 \
                "the limit $limit is the host's memory ($total bytes)"
        stat_field mem MemPerc
        assert "$(awk -v p="${field%\%}" -v u="$(to_bytes "$usage")" -v t="$total" \
                'BEGIN { e = u / t * 100; d = p - e; if (d < 0) d = -d; print (d < 0.1 + e / 50) }')" == 1 \
                "MEM % $field is usage / limit"
        # a container that holds nothing shows far less
        run_hutch run -d --network none --name idle bb:1 sleep 1000
        stat_field idle MemUsage
        assert "$(to_bytes "${field%% / *}")" -lt 16000000 "an idle shell's $field"
}

@test "stats: a busy loop shows CPU % above 50, an idle container near 0" {
        # one loop per CPU: over 50% of a core even on a host busy with others
        run_hutch run -d --network none --name busy bb:1 sh -c \
                "for i in \$(seq $(nproc)); do sh -c 'while :; do :; done' & done; wait"
        run_hutch run -d --network none --name idle bb:1 sleep 1000
        until_field busy CPUPerc 'v > 50' 5
        assert "$(awk -v v="${field%\%}" 'BEGIN { print (v > 50) }')" == 1 "a busy loop's CPU % ($field)"
        stat_field idle CPUPerc
        assert "$(awk -v v="${field%\%}" 'BEGIN { print (v < 10) }')" == 1 "a sleeping container's CPU % ($field)"
}

@test "stats: PIDS counts every process of the container, exactly; --format TEMPLATE" {
        run_hutch run -d --network none --name pids bb:1 sh -c 'sleep 1000 & sleep 1000 & sleep 1000 & wait'
        until_field pids PIDs 'v == 4' 20
        run_hutch stats --no-stream --format '{{.Name}} {{.PIDs}}' pids
        assert_equal "$output" "pids 4"
        # an exec'd process is the container's too while it runs
        run_hutch exec -d pids sleep 1000
        until_field pids PIDs 'v == 5' 20
        assert_equal "$field" 5
}

@test "stats: NET I/O counts what the container sends through slirp" {
        local port
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
n = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    n += len(d)
print(n, flush=True)' >"$BATS_TEST_TMPDIR/sink" 3>&- &
        SINK_PID=$!
        wait_for_file_content "$BATS_TEST_TMPDIR/sink" '^[0-9]+$' 10
        port=$(head -1 "$BATS_TEST_TMPDIR/sink")
        run_hutch run -d --network slirp:allow_host_loopback=true --name net bb:1 sleep 1000
        stat_field net NetIO
        local tx_before
        tx_before=$(to_bytes "${field##* / }")
        run_hutch exec net sh -c "head -c 300000 /dev/zero | nc -w 2 10.0.2.2 $port"
        for _ in $(seq 50); do [ "$(wc -l <"$BATS_TEST_TMPDIR/sink")" -ge 2 ] && break; sleep 0.1; done
        assert_equal "$(sed -n 2p "$BATS_TEST_TMPDIR/sink")" 300000 "the host received the bytes"
        stat_field net NetIO
        local rx_after tx_after
        rx_after=$(to_bytes "${field%% / *}")
        tx_after=$(to_bytes "${field##* / }")
        assert "$((tx_after - tx_before))" -ge 300000 "sent bytes grow by at least what was sent ($field)"
        assert "$rx_after" -gt 0 "acknowledgements came back ($field)"
        # --network none: only lo, which is not counted
        run_hutch run -d --network none --name nonet bb:1 sleep 1000
        stat_field nonet NetIO
        assert_equal "$field" "0B / 0B"
}

@test "stats: BLOCK I/O counts what the container writes to its own filesystem" {
        if [ "$(stat -f -c %T "$BATS_TEST_TMPDIR")" = tmpfs ]; then
                skip "the store is on tmpfs, which the kernel does not count as block I/O"
        fi
        run_hutch run -d --network none --name wr bb:1 sh -c \
                'dd if=/dev/urandom of=/big bs=1M count=8 2>/dev/null; sync; touch /written; sleep 1000'
        for _ in $(seq 100); do
                run_hutch '?' exec wr test -e /written
                [ "$status" -eq 0 ] && break
                sleep 0.1
        done
        stat_field wr BlockIO
        assert "$(to_bytes "${field##* / }")" -ge 8000000 "8 MiB written and synced ($field)"
}

@test "stats: --format json parses and has Docker's fields" {
        run_hutch run -d --network none --name j1 bb:1 sleep 1000
        run_hutch run -d --network none --name j2 bb:1 sleep 1000
        run_hutch stats --no-stream --format json
        assert_equal "$(jq -r 'length' <<<"$output")" 2
        assert_equal "$(jq -r '[.[].Name] | sort | join(",")' <<<"$output")" "j1,j2"
        assert_equal "$(jq -r '.[0] | keys | sort | join(",")' <<<"$output")" \
                "BlockIO,CPUPerc,Container,ID,MemPerc,MemUsage,Name,NetIO,PIDs"
        assert_match "$(jq -r '.[] | select(.Name == "j1") | "\(.ID) \(.PIDs) \(.CPUPerc) \(.MemUsage)"' <<<"$output")" \
                '^[0-9a-f]{12} 1 [0-9.]+% [0-9.]+[KM]iB / [0-9.]+GiB$'
        run_hutch stats --no-stream --format 'table {{.Name}}\t{{.PIDs}}' j1
        assert_match "${lines[0]}" '^NAME +PIDS$'
        assert_match "${lines[1]}" '^j1 +1$'
}

@test "stats: --no-stream -a lists stopped containers with zeros, as a named one" {
        run_hutch run --network none --name ex bb:1 true
        run_hutch create --network none --name cr bb:1 true
        local fmt='{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDs}}'
        run_hutch stats --no-stream -a --format "$fmt"
        assert_equal "$(sort <<<"$output")" "$(printf '%s\n' 'cr 0.00% 0B / 0B 0.00% 0B / 0B 0B / 0B 0' \
                'ex 0.00% 0B / 0B 0.00% 0B / 0B 0B / 0B 0')"
        run_hutch stats --no-stream --format "$fmt"
        assert_equal "$output" "" "nothing runs"
        run_hutch stats --no-stream --format "$fmt" ex
        assert_equal "$output" "ex 0.00% 0B / 0B 0.00% 0B / 0B 0B / 0B 0"
}

@test "stats: an unknown container or a bad --format is an error (125)" {
        run_hutch run -d --network none --name known bb:1 sleep 1000
        run_hutch 125 stats --no-stream nosuch
        assert_error_message "no such container 'nosuch'"
        assert_equal "$output" ""
        run_hutch 125 stats --no-stream known nosuch
        assert_error_message "no such container 'nosuch'"
        assert_equal "$output" "" "no table when a named container is unknown, as Docker"
        run_hutch 125 stats --no-stream --format '{{.Name'
        assert_error_message "format"
        run_hutch 125 stats --no-stream --format 'plain text'
        assert_error_message "unknown --format 'plain text'"
        run_hutch 125 stats --bogus
        run_hutch stats --help
        assert_match "$output" "--no-stream"
}

@test "stats: on a terminal the table is redrawn every second until Ctrl-C, the cursor given back" {
        require_cmd expect
        run_hutch run -d --network none --name live bb:1 sleep 1000
        run_expect '
expect "CONTAINER ID"
expect " live "
expect "CONTAINER ID"
expect " live "
expect "CONTAINER ID"
send "\003"
expect_after
expect eof' stats
        assert_equal "$status" 0 "Ctrl-C ends it with status 0"
        assert "$(grep -o 'CONTAINER ID' <<<"$output" | wc -l)" -ge 3 "redrawn"
        assert_match "$output" $'\e\\[\\?25l' "the cursor is hidden while it draws"
        assert_match "$output" $'\e\\[H\e\\[J' "each frame starts at the top of a cleared screen"
        assert_match "$output" $'\e\\[\\?25h' "the cursor is shown again at the end"
        # the container kept running
        run_hutch ps --format '{{.Names}}'
        assert_equal "$output" "live"
}

@test "stats: without a terminal the stream prints frame after frame until SIGINT" {
        run_hutch run -d --network none --name s1 bb:1 sleep 1000
        start_hutch_bg "$BATS_TEST_TMPDIR/stream" stats --format '{{.Name}} {{.PIDs}}'
        for _ in $(seq 100); do
                [ "$(grep -c '^s1 1$' "$BATS_TEST_TMPDIR/stream")" -ge 2 ] && break
                sleep 0.1
        done
        kill -INT "$HUTCH_PID"
        wait_hutch_bg
        assert_equal "$status" 0
        assert "$(grep -c '^s1 1$' "$BATS_TEST_TMPDIR/stream")" -ge 2 "two frames or more"
        run grep -c $'\e' "$BATS_TEST_TMPDIR/stream"
        assert_equal "$output" 0 "no terminal codes in a file"
}

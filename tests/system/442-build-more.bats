#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # Dockerfiles and the container's shell expand these
# hutch build, continued from 440-build.bats: ONBUILD triggers (recorded,
# run by a child build, not by a grandchild), ADD from a URL (a local HTTP
# server the test starts on 127.0.0.1: no internet), and ADD --chown on an
# extracted tar.

load helpers

setup() {
        basic_setup
        import_busybox_image --change 'CMD=["sh","-c","echo from-base"]'
        CTX="$BATS_TEST_TMPDIR/ctx"
        mkdir -p "$CTX"
        export HUTCH_REGISTRY_RETRY_DELAY_MS=10 # an unreachable URL fails fast
}

teardown() {
        if [ -n "${HTTP_PID:-}" ]; then
                kill "$HTTP_PID" 2>/dev/null || true
                wait "$HTTP_PID" 2>/dev/null || true
        fi
        basic_teardown
}

# start_http DIR [tls]: serves DIR on 127.0.0.1 (HTTPS with a CA made here,
# trusted through certs.d); sets HTTP_PID and URL_BASE.
start_http() {
        local dir=$1 tls=${2:-} d="$BATS_TEST_TMPDIR/http" port
        mkdir -p "$d"
        if [ -n "$tls" ]; then
                make_certs "$d"
        fi
        cat >"$d/serve.py" <<'PY'
import http.server, os, ssl, sys
os.chdir(sys.argv[1])
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
if len(sys.argv) > 3:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
srv.serve_forever()
PY
        if [ -n "$tls" ]; then
                python3 "$d/serve.py" "$dir" "$d/port" "$d/srv.crt" "$d/srv.key" 2>"$d/log" &
        else
                python3 "$d/serve.py" "$dir" "$d/port" 2>"$d/log" &
        fi
        HTTP_PID=$!
        for _ in $(seq 100); do
                [ -s "$d/port" ] && break
                sleep 0.1
        done
        port=$(cat "$d/port") || die "the HTTP server did not start: $(cat "$d/log")"
        if [ -n "$tls" ]; then
                mkdir -p "$XDG_CONFIG_HOME/containers/certs.d/127.0.0.1:$port"
                cp "$d/ca/ca.crt" "$XDG_CONFIG_HOME/containers/certs.d/127.0.0.1:$port/ca.crt"
                URL_BASE="https://127.0.0.1:$port"
        else
                URL_BASE="http://127.0.0.1:$port"
        fi
}

assert_no_containers() {
        run_hutch ps -aq
        [ -z "$output" ] || die "build containers left behind: $output"
}

# ONBUILD_LIST: the image's Config.OnBuild as one line of JSON.
onbuild_of() {
        run_hutch image inspect "$1"
        ONBUILD_LIST=$(jq -c '.[0].Config.OnBuild' <<<"$output")
}

@test "build: ONBUILD triggers are recorded, run in order by a child build, and not by a grandchild" {
        echo "from the child's context" >"$CTX/ctx-file"
        cat >"$CTX/Dockerfile" <<'EOF2'
FROM bb:1
ONBUILD ARG WHO=child
ONBUILD RUN echo "trigger ran for $WHO" >> /triggers.log
ONBUILD COPY ctx-file /copied-by-trigger
ONBUILD RUN echo second >> /triggers.log
RUN echo parent > /parent.txt
EOF2
        run_hutch build -t ob-parent:1 "$CTX"
        [[ "$output" != *"build trigger"* ]] || die "the parent ran its own triggers: $output"
        onbuild_of ob-parent:1
        assert_equal "$ONBUILD_LIST" \
                '["ARG WHO=child","RUN echo \"trigger ran for $WHO\" >> /triggers.log","COPY ctx-file /copied-by-trigger","RUN echo second >> /triggers.log"]'
        run_hutch run --rm --network none ob-parent:1 sh -c 'test ! -e /triggers.log && cat /parent.txt'
        assert_equal "$output" parent

        printf 'FROM ob-parent:1\nRUN cat /triggers.log /copied-by-trigger\n' >"$CTX/Dockerfile"
        run_hutch build -t ob-child:1 "$CTX"
        [[ "$output" == *"# Executing 4 build triggers"* ]] || die "no trigger banner: $output"
        [[ "$output" == *"ONBUILD RUN echo second"* ]] || die "no trigger step: $output"
        run_hutch run --rm --network none ob-child:1 cat /triggers.log /copied-by-trigger /parent.txt
        assert_equal "$output" "$(printf "trigger ran for child\nsecond\nfrom the child's context\nparent")"
        # the child's image has no triggers of its own
        onbuild_of ob-child:1
        assert_equal "$ONBUILD_LIST" null

        # a grandchild runs nothing
        printf 'FROM ob-child:1\nRUN cat /triggers.log\n' >"$CTX/Dockerfile"
        run_hutch build -t ob-grandchild:1 "$CTX"
        [[ "$output" != *"build trigger"* ]] || die "a grandchild ran triggers: $output"
        [[ "$output" == *"$(printf 'trigger ran for child\nsecond')"* ]] || die "grandchild RUN: $output"

        # the cache keys on the triggers: a rebuild of the child uses it, a
        # parent with another trigger does not
        printf 'FROM ob-parent:1\nRUN cat /triggers.log /copied-by-trigger\n' >"$CTX/Dockerfile"
        run_hutch build "$CTX"
        [[ "$output" == *"Using cache"* ]] || die "no cache on the rebuild: $output"
        [[ "$output" != *"Running in"* ]] || die "a trigger ran again: $output"
        printf 'FROM bb:1\nONBUILD RUN echo other > /other\n' >"$CTX/Dockerfile"
        run_hutch build -t ob-parent:1 "$CTX"
        printf 'FROM ob-parent:1\nRUN cat /other\n' >"$CTX/Dockerfile"
        run_hutch build -t ob-child:2 "$CTX"
        [[ "$output" == *"Running in"* ]] || die "the new trigger did not run: $output"
        run_hutch run --rm --network none ob-child:2 cat /other
        assert_equal "$output" other
        # a child that adds ONBUILD has only its own triggers
        printf 'FROM ob-parent:1\nONBUILD RUN echo mine\n' >"$CTX/Dockerfile"
        run_hutch build -t ob-child:3 "$CTX"
        onbuild_of ob-child:3
        assert_equal "$ONBUILD_LIST" '["RUN echo mine"]'
        assert_no_containers
}

@test "build: ONBUILD errors: chained, FROM, MAINTAINER, empty; a failing trigger names itself" {
        local bad
        for bad in 'ONBUILD RUN true' 'FROM bb:1' 'MAINTAINER me' 'onbuild run x'; do
                printf 'FROM bb:1\nONBUILD %s\n' "$bad" >"$CTX/Dockerfile"
                run_hutch 125 build "$CTX"
                [[ "$stderr" == *"line 2: "*" isn't allowed as an ONBUILD trigger"* ]] || die "ONBUILD $bad: $stderr"
        done
        build_fails 125 "line 2: ONBUILD requires an instruction" 'FROM bb:1\nONBUILD\n'
        build_fails 125 "line 2: unknown instruction: NOPE" 'FROM bb:1\nONBUILD NOPE x\n'

        printf 'FROM bb:1\nONBUILD RUN exit 7\n' >"$CTX/Dockerfile"
        run_hutch build -t ob-fails:1 "$CTX"
        printf '# a comment\nFROM ob-fails:1\n' >"$CTX/Dockerfile"
        run_hutch 1 build "$CTX"
        [[ "$stderr" == *"ob-fails:1: ONBUILD trigger 1 ('RUN exit 7')"*"returned a non-zero code: 7"* ]] ||
                die "failing trigger: $stderr"
        printf 'FROM bb:1\nONBUILD COPY missing /\n' >"$CTX/Dockerfile"
        run_hutch build -t ob-fails:2 "$CTX"
        printf 'FROM ob-fails:2\n' >"$CTX/Dockerfile"
        run_hutch 125 build "$CTX"
        [[ "$stderr" == *"ob-fails:2: ONBUILD trigger 1 ('COPY missing /'): line 1: COPY"*"missing"* ]] ||
                die "trigger COPY: $stderr"
        assert_no_containers
}

@test "build: ADD --chown applies to what a local tar holds" {
        mkdir -p "$BATS_TEST_TMPDIR/tarsrc/t/sub"
        echo in-tar >"$BATS_TEST_TMPDIR/tarsrc/t/sub/f"
        tar -C "$BATS_TEST_TMPDIR/tarsrc" --owner=7 --group=8 -czf "$CTX/a.tar.gz" t
        cat >"$CTX/Dockerfile" <<'EOF2'
FROM bb:1
ADD --chown=1234:5678 a.tar.gz /x/
ADD a.tar.gz /y/
EOF2
        run_hutch build -t addchown:1 "$CTX"
        run_hutch run --rm --network none addchown:1 stat -c '%u:%g %n' /x/t /x/t/sub /x/t/sub/f /y/t/sub/f
        assert_equal "$output" "$(printf '1234:5678 /x/t\n1234:5678 /x/t/sub\n1234:5678 /x/t/sub/f\n7:8 /y/t/sub/f')"
}

@test "build: ADD from a URL: content, mode 0600, name, never extracted; --checksum; the cache follows the content" {
        require_cmd python3 openssl
        local srv="$BATS_TEST_TMPDIR/srv" sum
        mkdir -p "$srv/dir" "$BATS_TEST_TMPDIR/tarsrc"
        echo "served content" >"$srv/dir/file.txt"
        echo in-tar >"$BATS_TEST_TMPDIR/tarsrc/t"
        tar -C "$BATS_TEST_TMPDIR/tarsrc" -czf "$srv/a.tar.gz" t
        sum=$(sha256sum "$srv/dir/file.txt" | cut -d' ' -f1)
        # the server's Last-Modified becomes the file's time, as in Docker
        touch -d '2001-02-03 04:05:06 UTC' "$srv/dir/file.txt"
        start_http "$srv" tls
        cat >"$CTX/Dockerfile" <<EOF2
FROM bb:1
ADD $URL_BASE/dir/file.txt?x=1 /in-dir/
ADD $URL_BASE/dir/file.txt /named.txt
ADD --chown=12:34 $URL_BASE/a.tar.gz /tars/
ADD --checksum=sha256:$sum $URL_BASE/dir/file.txt /checked
EOF2
        run_hutch build -t url:1 "$CTX"
        run_hutch run --rm --network none url:1 sh -c \
                'cat /in-dir/file.txt /named.txt /checked; stat -c "%a %u:%g %n" /in-dir/file.txt /named.txt /tars/a.tar.gz /checked; ls /tars'
        assert_equal "$output" "$(printf 'served content\nserved content\nserved content\n600 0:0 /in-dir/file.txt\n600 0:0 /named.txt\n600 12:34 /tars/a.tar.gz\n600 0:0 /checked\na.tar.gz')"
        run_hutch run --rm --network none url:1 stat -c %Y /named.txt /checked
        assert_equal "$output" "$(printf '981173106\n981173106')"

        # the same content: every step from the cache (downloaded again to compare)
        run_hutch build "$CTX"
        [[ "$output" != *"Running in"* ]] || die "a step ran again: $output"
        assert_equal "$(grep -c 'Using cache' <<<"$output")" 4
        # the served file changed: the steps that fetch it are built again
        echo "changed content" >"$srv/dir/file.txt"
        printf 'FROM bb:1\nADD %s/dir/file.txt /named.txt\n' "$URL_BASE" >"$CTX/Dockerfile"
        run_hutch build -t url:2 "$CTX"
        [[ "$output" != *"Using cache"* ]] || die "the cache hid a changed file: $output"
        run_hutch run --rm --network none url:2 cat /named.txt
        assert_equal "$output" "changed content"

        # --checksum mismatch, 404, too big, no name, bad flags: errors naming the URL
        build_fails 1 "line 2: ADD: $URL_BASE/dir/file.txt: checksum mismatch: expected sha256:$sum" 'FROM bb:1\nADD --checksum=sha256:%s %s/dir/file.txt /x\n' "$sum" "$URL_BASE"
        build_fails 1 "line 2: ADD: $URL_BASE/nope.txt: HTTP 404" 'FROM bb:1\nADD %s/nope.txt /x\n' "$URL_BASE"
        HUTCH_BUILD_URL_MAX_BYTES=4 build_fails 1 "$URL_BASE/dir/file.txt: the file is larger than 4 bytes" 'FROM bb:1\nADD %s/dir/file.txt /x\n' "$URL_BASE"
        build_fails 125 "cannot determine a file name from the URL" 'FROM bb:1\nADD %s/ /x/\n' "$URL_BASE"
        build_fails 125 "--checksum=md5:00: expected sha256:" 'FROM bb:1\nADD --checksum=md5:00 %s/dir/file.txt /x\n' "$URL_BASE"
        build_fails 125 "source can't be a URL" 'FROM bb:1\nCOPY %s/dir/file.txt /x\n' "$URL_BASE"
        assert_no_containers
}

@test "build: ADD from a URL over plain HTTP; an unreachable host fails with exit 1" {
        require_cmd python3
        local srv="$BATS_TEST_TMPDIR/srv" port
        mkdir -p "$srv"
        echo plain >"$srv/p.txt"
        start_http "$srv"
        printf 'FROM bb:1\nADD %s/p.txt /p\n' "$URL_BASE" >"$CTX/Dockerfile"
        run_hutch build -t urlp:1 "$CTX"
        run_hutch run --rm --network none urlp:1 cat /p
        assert_equal "$output" plain

        # a port nothing listens on
        port=${URL_BASE##*:}
        kill "$HTTP_PID"
        wait "$HTTP_PID" 2>/dev/null || true
        HTTP_PID=
        run_hutch 1 build "$CTX"
        [[ "$stderr" == *"line 2: ADD: http://127.0.0.1:$port/p.txt: "*"onnect"* ]] || die "unreachable: $stderr"
        assert_no_containers
}

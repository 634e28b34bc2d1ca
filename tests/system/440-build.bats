#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153,SC2030,SC2031 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # Dockerfiles and the container's shell expand these
# hutch build: a Dockerfile over a local busybox base (bb:1, from `hutch
# import`), each instruction's effect seen by running the result; stages,
# .dockerignore, build arguments, the cache, and bad input.  No network:
# RUN steps reach nothing outside.

load helpers

setup() {
        basic_setup
        import_busybox_image --change 'CMD=["sh","-c","echo from-base"]'
        CTX="$BATS_TEST_TMPDIR/ctx"
        mkdir -p "$CTX"
}


# start_build_until_started ARGS...: `hutch build ARGS...` in the background,
# its output in $BATS_TEST_TMPDIR/out, waited for until its RUN prints
# "started"; the build's PID is in $BUILD_PID.
start_build_until_started() {
        "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" build "$@" >"$BATS_TEST_TMPDIR/out" 2>&1 &
        BUILD_PID=$!
        HUTCH_BG_PIDS+=("$BUILD_PID")
        local _
        for _ in $(seq 1 100); do
                grep -q '^started' "$BATS_TEST_TMPDIR/out" && return 0
                sleep 0.2
        done
        die "the RUN never started: $(cat "$BATS_TEST_TMPDIR/out")"
}

# No container of any build step is left.
assert_no_containers() {
        run_hutch ps -aq
        [ -z "$output" ] || die "build containers left behind: $output"
}

@test "build: RUN COPY ADD ENV ARG WORKDIR USER CMD ENTRYPOINT LABEL EXPOSE VOLUME STOPSIGNAL take effect" {
        echo "file content" >"$CTX/file.txt"
        mkdir -p "$CTX/dir/sub" "$BATS_TEST_TMPDIR/tarsrc/t"
        echo inner >"$CTX/dir/sub/inner.txt"
        echo plain >"$CTX/plain.txt"
        echo "from the tar" >"$BATS_TEST_TMPDIR/tarsrc/t/in-tar.txt"
        tar -C "$BATS_TEST_TMPDIR/tarsrc" -czf "$CTX/files.tar.gz" t
        tar -C "$BATS_TEST_TMPDIR/tarsrc" -cf - t | zstd -q >"$CTX/files.tar.zst"
        tar -C "$BATS_TEST_TMPDIR/tarsrc" -cJf "$CTX/files.tar.xz" t
        tar -C "$BATS_TEST_TMPDIR/tarsrc" -cjf "$CTX/files.tbz2" t
        tar -C "$BATS_TEST_TMPDIR/tarsrc" -cf "$CTX/plain-tar" t
        gzip -c "$CTX/plain.txt" >"$CTX/not-a-tar.gz"
        cat >"$CTX/Dockerfile" <<'EOF'
# a comment
FROM bb:1
ARG GREETING=hello
ENV APP=/app NAME="the app"
ENV LEGACY value with  spaces
ENV APP=/changed-later OLD=$APP
ENV APP=/app
WORKDIR $APP
COPY file.txt ./
COPY dir/ /data/
ADD files.tar.gz /unpacked/
ADD files.tar.zst /unpacked-zst/
ADD files.tar.xz files.tbz2 plain-tar /more/
ADD not-a-tar.gz /kept/
ADD plain.txt /added.txt
RUN echo "$GREETING from $NAME" > /ran.txt \
    # a comment inside the continuation
    && mkdir -p /home/tester/made && chown 1000:1000 /home/tester/made
LABEL version=1.0 "com.example.name"="$NAME"
EXPOSE 8080 53/udp
VOLUME ["/vol"]
RUN echo discarded > /vol/x
STOPSIGNAL SIGUSR1
WORKDIR sub
USER tester
ENTRYPOINT ["sh", "-c"]
CMD ["echo default; id -un; pwd"]
EOF
        run_hutch build -t app:1 "$CTX"
        [[ "$output" == *"STEP 1/24: FROM bb:1"* ]] || die "no STEP lines: $output"
        [[ "$output" == *"Successfully tagged localhost/app:1"* ]] || die "no tag line"
        assert_no_containers
        # the step images are intermediate: listed only with -a
        run_hutch images -q
        [ "${#lines[@]}" -eq 2 ] || die "images lists intermediate images: $output"
        run_hutch images -a -q
        [ "${#lines[@]}" -gt 10 ] || die "images -a lacks the intermediate images: $output"
        # the RUN after VOLUME wrote into an anonymous volume: gone with its container
        run_hutch volume ls -q
        [ -z "$output" ] || die "volumes left behind: $output"

        # ENTRYPOINT + CMD, USER, WORKDIR (relative to the first), created in the image
        run_hutch run --rm --network none app:1
        [ "${lines[0]}" = default ] || die "CMD: ${lines[0]}"
        [ "${lines[1]}" = tester ] || die "USER: ${lines[1]}"
        [ "${lines[2]}" = /app/sub ] || die "WORKDIR: ${lines[2]}"

        run_hutch run --rm --network none app:1 'cat /app/file.txt /data/sub/inner.txt /unpacked/t/in-tar.txt /unpacked-zst/t/in-tar.txt /added.txt /ran.txt; ls /more; ls /more/t; ls /kept'
        [ "$output" = "$(printf 'file content\ninner\nfrom the tar\nfrom the tar\nplain\nhello from the app\nt\nin-tar.txt\nnot-a-tar.gz')" ] ||
                die "files: $output"
        # COPY: owned by root (0:0) by default, whatever owns them on the host
        run_hutch run --rm --network none app:1 'stat -c %u:%g /app/file.txt /data/sub/inner.txt; ls -A /vol | wc -l'
        [ "$output" = "$(printf '0:0\n0:0\n0')" ] || die "owners, volume: $output"
        # ENV (both forms); ARG is not in the image's environment
        run_hutch run --rm --network none app:1 'echo "[$APP] [$NAME] [$LEGACY] [${GREETING-unset}] [$OLD]"'
        [ "$output" = "[/app] [the app] [value with  spaces] [unset] [/app]" ] || die "env: $output"

        run_hutch image inspect --format '{{json .Config.Labels}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{.Config.StopSignal}} {{.Config.User}}' app:1
        [[ "$output" == *'"com.example.name":"the app"'* ]] || die "labels: $output"
        [[ "$output" == *'"version":"1.0"'* ]] || die "labels: $output"
        [[ "$output" == *8080/tcp* && "$output" == *53/udp* ]] || die "exposed: $output"
        [[ "$output" == *'/vol'* ]] || die "volumes: $output"
        [[ "$output" == *"SIGUSR1 tester"* ]] || die "stop signal, user: $output"

        # history: one entry a step, config steps without a layer
        run_hutch history app:1
        [[ "$output" == *"COPY file.txt /app"* ]] || die "history: $output"
        [[ "$output" == *'/bin/sh -c echo "$GREETING from $NAME"'* ]] || die "history: $output"
}

@test "build: ENTRYPOINT drops the base image's CMD; SHELL changes RUN's shell; exec-form RUN" {
        cat >"$CTX/Dockerfile" <<'EOF'
FROM bb:1
SHELL ["/bin/sh", "-ec"]
RUN ["/bin/sh", "-c", "echo exec-form > /exec"]
RUN echo "$0 $-" > /shell; cat > /stdin
ENTRYPOINT ["cat", "/exec", "/shell", "/stdin"]
EOF
        echo "the build's own input" >"$BATS_TEST_TMPDIR/input"
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/input" run_hutch build -q "$CTX"
        [ "${#lines[@]}" -eq 1 ] || die "-q printed more than the ID: $output"
        [[ "${lines[0]}" =~ ^[0-9a-f]{64}$ ]] || die "-q: not an ID: $output"
        run_hutch run --rm --network none "${lines[0]}"
        [ "${lines[0]}" = exec-form ] || die "exec form: $output"
        [[ "${lines[1]}" == "/bin/sh "*e* ]] || die "SHELL not used: $output"
        [ "${#lines[@]}" -eq 2 ] || die "the base CMD was kept, or RUN read the build's input: $output"
}

@test "build: multi-stage COPY --from, --target, FROM an earlier stage" {
        cat >"$CTX/Dockerfile" <<'EOF'
ARG BASE=bb:1
FROM --platform=$BUILDPLATFORM $BASE AS builder
RUN echo built > /artifact && echo junk > /junk
FROM builder AS second
RUN echo second > /second
FROM bb:1
COPY --from=builder /artifact /from-builder
COPY --from=0 /artifact /from-index
COPY --from=bb:1 /etc/hostname /from-image
CMD ["sh", "-c", "cat /from-builder /from-index; ls /junk /second 2>&1 | wc -l"]
EOF
        run_hutch build -t multi:1 "$CTX"
        run_hutch run --rm --network none multi:1
        [ "$output" = "$(printf 'built\nbuilt\n2')" ] || die "final stage: $output"
        run_hutch run --rm --network none multi:1 test -f /from-image

        run_hutch build --target second -t second:1 "$CTX"
        [[ "$output" != *"COPY --from"* ]] || die "--target built past its stage: $output"
        run_hutch run --rm --network none second:1 cat /artifact /second
        [ "$output" = "$(printf 'built\nsecond')" ] || die "--target: $output"

        run_hutch 125 build --target nosuch "$CTX"
        [[ "$stderr" == *"target stage 'nosuch' could not be found"* ]] || die "unknown target: $stderr"
        assert_no_containers
}

@test "build: .dockerignore with exceptions and **; COPY wildcards" {
        mkdir -p "$CTX/docs" "$CTX/a/b/tmp" "$CTX/src"
        echo keep >"$CTX/docs/keep.md"
        echo drop >"$CTX/docs/drop.md"
        echo secret >"$CTX/secret.key"
        echo deep >"$CTX/a/b/tmp/x"
        echo c >"$CTX/src/main.c"
        echo h >"$CTX/src/main.h"
        printf '# ignore\n*.key\ndocs/**\n!docs/keep.md\n**/tmp\n' >"$CTX/.dockerignore"
        cat >"$CTX/Dockerfile" <<'EOF'
FROM bb:1
COPY . /ctx/
COPY src/*.c /c-only/
EOF
        run_hutch build -t ign:1 "$CTX"
        run_hutch run --rm --network none ign:1 sh -c 'cd /ctx && find . -type f | sort; ls /c-only'
        [ "$output" = "$(printf './.dockerignore\n./Dockerfile\n./docs/keep.md\n./src/main.c\n./src/main.h\nmain.c')" ] ||
                die "dockerignore: $output"

        # an ignored file named as a source is not found
        printf 'FROM bb:1\nCOPY secret.key /\n' >"$CTX/Dockerfile"
        run_hutch 125 build "$CTX"
        [[ "$stderr" == *"excluded by .dockerignore"*"secret.key"* ]] || die "ignored source: $stderr"
        assert_no_containers
}

@test "build: --build-arg overrides the default, reaches RUN; an unused one warns; a bad one fails" {
        cat >"$CTX/Dockerfile" <<'EOF'
FROM bb:1
ARG VERSION=1.0
ARG EMPTY
ENV FROM_ARG=v$VERSION
RUN echo "run sees $VERSION" > /v
EOF
        run_hutch build --build-arg VERSION=2.5 --build-arg UNUSED=x -t args:1 "$CTX"
        [[ "$stderr" == *"not consumed"*UNUSED* ]] || die "no warning for an unused build arg: $stderr"
        run_hutch run --rm --network none args:1 sh -c 'cat /v; echo $FROM_ARG'
        [ "$output" = "$(printf 'run sees 2.5\nv2.5')" ] || die "build arg: $output"

        run_hutch 125 build --build-arg =x "$CTX"
        [[ "$stderr" == *"--build-arg '=x'"* ]] || die "bad build arg: $stderr"
}

@test "build: the cache is used on a rebuild, missed after a context change, bypassed by --no-cache" {
        echo v1 >"$CTX/f"
        cat >"$CTX/Dockerfile" <<'EOF'
FROM bb:1
RUN echo $$ > /run-pid
COPY f /f
RUN cat /f > /g
EOF
        run_hutch build -q -t cache:1 "$CTX"
        id1=${lines[0]}
        run_hutch build "$CTX"
        [ "$(grep -c 'Using cache' <<<"$output")" -eq 3 ] || die "expected 3 cache hits: $output"
        [ "${lines[-1]}" = "$id1" ] || die "rebuild gave another image: ${lines[-1]} vs $id1"

        echo v2 >"$CTX/f"
        run_hutch build "$CTX"
        [ "$(grep -c 'Using cache' <<<"$output")" -eq 1 ] || die "expected 1 cache hit after the change: $output"
        id2=${lines[-1]}
        run_hutch run --rm --network none "$id2" cat /g
        [ "$output" = v2 ] || die "stale content: $output"

        run_hutch build --no-cache "$CTX"
        [[ "$output" != *"Using cache"* ]] || die "--no-cache used the cache: $output"

        # an image the cache points to is removed: the build redoes the step
        [ -n "$(ls "$HUTCH_ROOT/build-cache")" ] || die "no cache records in the store"
        run_hutch image prune -f
        # the records of removed images went with them; those of cache:1 stay
        local f n=0
        for f in "$HUTCH_ROOT"/build-cache/*; do
                [ -e "$f" ] || continue
                run_hutch image inspect --format '{{.Id}}' "$(cat "$f")"
                n=$((n + 1))
        done
        [ "$n" -gt 0 ] || die "image prune removed the cache records of a named image"
        run_hutch build "$CTX"
        [[ "$output" == *"Successfully built"* ]] || die "build after prune: $output"
        assert_no_containers
}

@test "build: bad input fails with a clear message and leaves no container" {
        run_hutch 125 build "$BATS_TEST_TMPDIR/no-such-dir"
        [[ "$stderr" == *"build context"*"no-such-dir"* ]] || die "missing context: $stderr"
        run_hutch 125 build "$CTX"
        [[ "$stderr" == *"Dockerfile"* ]] || die "missing Dockerfile: $stderr"
        run_hutch 125 build -f "$BATS_TEST_TMPDIR/nope" "$CTX"
        [[ "$stderr" == *nope* ]] || die "missing -f file: $stderr"

        build_fails 125 "line 3: unknown instruction: FROOM" 'FROM bb:1\nRUN true\nFROOM x\n'
        build_fails 125 "line 1: RUN before the first FROM" 'RUN true\n'

        printf 'FROM bb:1\nCOPY missing.txt /\n' >"$CTX/Dockerfile"
        run_hutch 125 build "$CTX"
        [[ "$stderr" == *"file not found in build context"*"missing.txt"* ]] || die "missing source: $stderr"
        build_fails 125 "outside the build context" 'FROM bb:1\nCOPY ../outside /\n'

        printf 'FROM bb:1\nRUN echo before\nRUN exit 3\n' >"$CTX/Dockerfile"
        run_hutch 1 build "$CTX"
        [[ "$stderr" == *"RUN exit 3"*"returned a non-zero code: 3"* ]] || die "failing RUN: $stderr"

        build_fails 125 "line 2: RUN --mount is not supported" 'FROM bb:1\nRUN --mount=type=bind,source=/,target=/host,rw touch /host/x\n'
        build_fails 125 "line 2: heredocs" 'FROM bb:1\nRUN <<EOF\necho hi\nEOF\n'

        run_hutch 125 build -t 'Bad Name!' "$CTX"
        run_hutch 125 build "$CTX" extra
        assert_no_containers
        # nothing stored before was lost
        run_hutch run --rm --network none bb:1
        [ "$output" = from-base ] || die "the base image: $output"
}

@test "build: long names, links and spaces survive COPY (PAX headers); JSON form" {
        local long
        long="$(printf 'a%.0s' {1..60})/$(printf 'b%.0s' {1..60})"
        mkdir -p "$CTX/$long"
        echo long >"$CTX/$long/$(printf 'c%.0s' {1..120})"
        echo "sp ace" >"$CTX/with space.txt"
        ln -s "$(printf 'x%.0s' {1..150})" "$CTX/longlink"
        cat >"$CTX/Dockerfile" <<'EOF'
FROM bb:1
COPY . /c/
COPY ["with space.txt", "/sp/"]
EOF
        run_hutch build -t long:1 "$CTX"
        run_hutch run --rm --network none long:1 sh -c 'cat /c/a*/b*/c* /sp/with\ space.txt; readlink /c/longlink | wc -c'
        [ "$output" = "$(printf 'long\nsp ace\n151')" ] || die "long names: $output"
}

@test "build: a symlink in the context is copied as a link, never followed out of it" {
        echo "host secret" >"$BATS_TEST_TMPDIR/host-secret"
        mkdir -p "$BATS_TEST_TMPDIR/host-dir"
        echo "host dir file" >"$BATS_TEST_TMPDIR/host-dir/f"
        ln -s "$BATS_TEST_TMPDIR/host-secret" "$CTX/link-file"
        ln -s "$BATS_TEST_TMPDIR/host-dir" "$CTX/link-dir"
        ln -s ../../../../../../../../.. "$CTX/up"
        cat >"$CTX/Dockerfile" <<'EOF'
FROM bb:1
COPY link-file /copied-link
COPY . /ctx/
EOF
        run_hutch build -t links:1 "$CTX"
        run_hutch run --rm --network none links:1 sh -c 'readlink /copied-link; cat /copied-link /ctx/link-dir/f 2>&1; ls /ctx'
        [[ "$output" == "$BATS_TEST_TMPDIR/host-secret"* ]] || die "not copied as a link: $output"
        [[ "$output" != *"host secret"* && "$output" != *"host dir file"* ]] || die "a host file leaked: $output"

        # a path through a link resolves inside the context only
        build_fails 125 "not found in build context" 'FROM bb:1\nCOPY link-dir/f /f\n'
        printf 'FROM bb:1\nCOPY up/etc/passwd /p\n' >"$CTX/Dockerfile"
        run_hutch 125 build "$CTX"
        assert_no_containers
}

@test "build: COPY --chown takes names from the image's /etc/passwd and /etc/group; --chmod" {
        echo data >"$CTX/f"
        mkdir -p "$CTX/d"
        echo in-d >"$CTX/d/g"
        cat >"$CTX/Dockerfile" <<'EOF'
FROM bb:1
RUN echo 'hutchbuilder:x:4321:4322::/home/hb:/bin/sh' >> /etc/passwd && echo 'hutchgroup:x:4322:' >> /etc/group
COPY --chown=hutchbuilder:hutchgroup f /owned
COPY --chown=hutchbuilder d /owned-dir/
COPY --chown=1000:1500 --chmod=0640 f /numeric
EOF
        run_hutch build -t chown:1 "$CTX"
        run_hutch run --rm --network none chown:1 stat -c '%u:%g %a %n' /owned /owned-dir/g /numeric
        [ "$output" = "$(printf '4321:4322 644 /owned\n4321:4321 644 /owned-dir/g\n1000:1500 640 /numeric')" ] ||
                die "chown/chmod: $output"

        printf 'FROM bb:1\nCOPY --chown=nosuchuser f /x\n' >"$CTX/Dockerfile"
        run_hutch 125 build "$CTX"
        [[ "$stderr" == *nosuchuser* ]] || die "unknown user: $stderr"
        assert_no_containers
}

@test "build: FROM scratch, -f elsewhere and from standard input, image build" {
        echo only >"$CTX/only.txt"
        printf 'FROM scratch\nCOPY only.txt /\n' >"$BATS_TEST_TMPDIR/Other.dockerfile"
        run_hutch build -f "$BATS_TEST_TMPDIR/Other.dockerfile" -t scr:1 "$CTX"
        run_hutch image save -o "$BATS_TEST_TMPDIR/scr.tar" scr:1
        tar -xOf "$BATS_TEST_TMPDIR/scr.tar" >/dev/null

        printf 'FROM bb:1\nCOPY only.txt /\nCMD ["cat", "/only.txt"]\n' >"$BATS_TEST_TMPDIR/stdin.dockerfile"
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/stdin.dockerfile" run_hutch image build -f - -t stdin:1 "$CTX"
        run_hutch run --rm --network none stdin:1
        [ "$output" = only ] || die "-f -: $output"
}

@test "build: an interrupted RUN leaves no container and keeps what was stored" {
        cat >"$CTX/Dockerfile" <<'EOF'
FROM bb:1
RUN echo first > /first
RUN echo started; sleep 60
EOF
        start_build_until_started "$CTX"
        local pid=$BUILD_PID
        kill -INT "$pid"
        local status=0
        wait "$pid" || status=$?
        [ "$status" -ne 0 ] || die "an interrupted build succeeded"
        assert_no_containers
        # the first step is stored and cached
        printf 'FROM bb:1\nRUN echo first > /first\n' >"$CTX/Dockerfile"
        run_hutch build "$CTX"
        [[ "$output" == *"Using cache"* ]] || die "the finished step was lost: $output"
}

@test "build: a build killed with SIGKILL leaves its step container only until the next build; a live build's is spared" {
        cat >"$CTX/Dockerfile" <<'EOF'
FROM bb:1
RUN echo started; sleep 2
EOF
        start_build_until_started "$CTX"
        local pid=$BUILD_PID _ name
        kill -KILL "$pid"
        wait "$pid" || true
        run_hutch ps -a --format '{{.Names}}'
        name=$output
        [[ "$name" =~ ^hutch-build-[0-9a-f]{12}-[0-9]+$ ]] || die "no step container left by the killed build: '$name'"
        # its monitor outlives the build: the step runs on to its end
        for _ in $(seq 1 100); do
                run_hutch inspect --format '{{.State.Status}}' "$name"
                [ "$output" = "exited" ] && break
                sleep 0.1
        done
        assert_equal "$output" "exited"

        # the lock of a build that still runs keeps its container, from
        # `container prune` and from other builds
        local live=hutch-build-0123456789ab-1
        run_hutch create --network none --name "$live" bb:1 true
        run_hutch create --network none --name hutch-build-mine bb:1 true
        flock -o "$HUTCH_RUNROOT/builds/0123456789ab.lock" sleep 60 &
        local holder=$!
        HUTCH_BG_PIDS+=("$holder")
        for _ in $(seq 1 100); do
                flock -n "$HUTCH_RUNROOT/builds/0123456789ab.lock" true || break
                sleep 0.1
        done
        printf 'FROM bb:1\nRUN echo next > /next\n' >"$CTX/Dockerfile"
        run_hutch build "$CTX"
        run_hutch ps -a --format '{{.Names}}'
        assert_not_match "$output" "$name" "the killed build's container is removed by the next build"
        assert_match "$output" "$live"
        assert_match "$output" "hutch-build-mine"
        run_hutch container prune
        run_hutch ps -a --format '{{.Names}}'
        assert_equal "$output" "$live" "container prune spares the live build's container, and only it"
        pkill -P "$holder" sleep # flock then ends, and the lock with it
        wait "$holder" || true
        run_hutch build "$CTX"
        assert_no_containers
        [ -z "$(ls -A "$HUTCH_RUNROOT/builds")" ] || die "locks left: $(ls -A "$HUTCH_RUNROOT/builds")"
}

@test "build: image prune -a during a build spares the images it uses and makes; after it, they go" {
        cat >"$CTX/Dockerfile" <<'EOF'
FROM bb:1
ENV A=1
RUN echo started; sleep 3
RUN echo after > /after
EOF
        start_build_until_started -t kept:1 "$CTX"
        local pid=$BUILD_PID env_id
        # the ENV step's image: no container uses it, and it has no name
        env_id=$(sed -n '/^STEP 2\/4: ENV A=1/{n;s/^ ---> //p}' "$BATS_TEST_TMPDIR/out")
        [[ "$env_id" =~ ^[0-9a-f]{12}$ ]] || die "no image for the ENV step: $(cat "$BATS_TEST_TMPDIR/out")"
        run_hutch image prune -a -f
        run_hutch image inspect --format '{{.Id}}' bb:1
        run_hutch image inspect --format '{{.Id}}' "$env_id"
        local status=0
        wait "$pid" || status=$?
        cat "$BATS_TEST_TMPDIR/out"
        assert_equal "$status" "0" "the build survives the prune"
        run_hutch run --rm --network none kept:1 cat /after
        assert_equal "$output" "after"
        # the build is over: nothing spares them now
        run_hutch image prune -f
        run_hutch 125 image inspect "$env_id"
        [ -z "$(ls -A "$HUTCH_RUNROOT/builds")" ] || die "locks left: $(ls -A "$HUTCH_RUNROOT/builds")"
}

@test "build: links planted in the image: --chown reads /etc/passwd inside it, WORKDIR is made inside it" {
        echo data >"$CTX/f"
        mkdir -p "$BATS_TEST_TMPDIR/hostdir"
        cat >"$CTX/Dockerfile" <<EOF
FROM bb:1
RUN ln -s $BATS_TEST_TMPDIR/hostdir /wd
WORKDIR /wd/sub
COPY f ./
RUN ls -d $BATS_TEST_TMPDIR/hostdir/sub/f
EOF
        run_hutch build "$CTX"
        [ ! -e "$BATS_TEST_TMPDIR/hostdir/sub" ] || die "WORKDIR or COPY wrote on the host"

        build_fails 125 "--chown" 'FROM bb:1\nRUN rm /etc/passwd && ln -s /dev/zero /etc/passwd\nCOPY --chown=tester f /f\n'
        assert_no_containers
}

@test "build: RUN --network, build --network none, HEALTHCHECK stored, COPY --link accepted" {
        echo x >"$CTX/x"
        cat >"$CTX/Dockerfile" <<'EOF'
FROM bb:1
RUN --network=none ip -o link | grep -vc ': lo:' > /links || true
HEALTHCHECK --interval=5s CMD true
COPY --link x /x
EOF
        run_hutch build --network none -t net:1 "$CTX"
        run_hutch image inspect net:1
        assert_equal "$(jq -c '.[0].Config.Healthcheck' <<<"$output")" '{"Test":["CMD-SHELL","true"],"Interval":5000000000}'
        run_hutch run --rm --network none net:1 cat /links /x
        [ "$output" = "$(printf '0\nx')" ] || die "RUN --network=none: $output"
        build_fails 125 "RUN --network: 'bridge'" 'FROM bb:1\nRUN --network=bridge true\n'
        build_fails 125 "line 2: RUN: unknown flag '--frobnicate'" 'FROM bb:1\nRUN --frobnicate true\n'
}

@test "build: with the copy storage driver too" {
        echo copied >"$CTX/f"
        printf 'FROM bb:1\nCOPY f /f\nRUN cat /f > /g && rm /etc/os-release\n' >"$CTX/Dockerfile"
        run_hutch --storage-driver copy build -t drv:1 "$CTX"
        run_hutch --storage-driver copy run --rm --network none drv:1 sh -c 'cat /g; ls /etc/os-release 2>&1 | grep -c "No such"'
        [ "$output" = "$(printf 'copied\n1')" ] || die "copy driver: $output"
        assert_no_containers
}

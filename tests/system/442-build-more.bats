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
        IMAGE_TAR="$BATS_FILE_TMPDIR/rootfs.tar"
        if [ ! -e "$IMAGE_TAR" ]; then
                tar -C "$ROOTFS" -cf "$IMAGE_TAR" .
        fi
        run_hutch import --change 'CMD=["sh","-c","echo from-base"]' "$IMAGE_TAR" bb:1
        CTX="$BATS_TEST_TMPDIR/ctx"
        mkdir -p "$CTX"
}

teardown() {
        if [ -n "${HTTP_PID:-}" ]; then
                kill "$HTTP_PID" 2>/dev/null || true
                wait "$HTTP_PID" 2>/dev/null || true
        fi
        basic_teardown
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
        printf 'FROM bb:1\nONBUILD\n' >"$CTX/Dockerfile"
        run_hutch 125 build "$CTX"
        [[ "$stderr" == *"line 2: ONBUILD requires an instruction"* ]] || die "empty ONBUILD: $stderr"
        printf 'FROM bb:1\nONBUILD NOPE x\n' >"$CTX/Dockerfile"
        run_hutch 125 build "$CTX"
        [[ "$stderr" == *"line 2: unknown instruction: NOPE"* ]] || die "unknown trigger: $stderr"

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

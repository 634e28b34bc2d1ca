#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # Dockerfiles and jq programs hold these
# Image configs keep every member through commit, build, save, load and
# push: Healthcheck, Shell, OnBuild, StopTimeout and keys no one knows; and
# `hutch build` stores HEALTHCHECK and SHELL as Docker does (and runs, then
# drops, the base's OnBuild, as Docker does).

load helpers

sha() { sha256sum "$1" | cut -d' ' -f1; }

# The base image's config: what a Docker-built image may carry.
CONFIG_BODY='"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh","-c","echo base"],"Domainname":"example.org","ArgsEscaped":true,"OnBuild":["RUN echo child"],"StopTimeout":42,"MacAddress":"02:42:ac:11:00:02","Healthcheck":{"Test":["CMD-SHELL","test -e /etc/passwd"],"Interval":30000000000,"Timeout":3000000000,"Retries":3},"Shell":["/bin/echo","via-image-shell"],"x-vendor":{"n":123,"l":[true,null,1.5]}'

# kept JQ_PATH: the members that must survive, as one line.
kept() {
        jq -c "$1"' | [.Healthcheck, .Shell, .OnBuild, .StopTimeout, .Domainname, .MacAddress, .ArgsEscaped, ."x-vendor"]'
}
KEPT='[{"Test":["CMD-SHELL","test -e /etc/passwd"],"Interval":30000000000,"Timeout":3000000000,"Retries":3},["/bin/echo","via-image-shell"],["RUN echo child"],42,"example.org","02:42:ac:11:00:02",true,{"n":123,"l":[true,null,1.5]}]'

setup() {
        basic_setup
        local dir="$BATS_TEST_TMPDIR/arch" id c
        mkdir -p "$dir"
        tar -C "$ROOTFS" -cf "$dir/layer.tar" .
        id=$(sha "$dir/layer.tar")
        mkdir "$dir/$id"
        mv "$dir/layer.tar" "$dir/$id/layer.tar"
        cat >"$dir/config.json" <<EOF
{"architecture":"amd64","os":"linux","os.version":"1.0","comment":"made by hand","x-top":{"k":"v"},"created":"2024-01-01T00:00:00Z","config":{$CONFIG_BODY},"rootfs":{"type":"layers","diff_ids":["sha256:$id"]}}
EOF
        c=$(sha "$dir/config.json")
        mv "$dir/config.json" "$dir/$c.json"
        echo "[{\"Config\":\"$c.json\",\"RepoTags\":[\"kept:1\"],\"Layers\":[\"$id/layer.tar\"]}]" >"$dir/manifest.json"
        tar -C "$dir" -cf "$BATS_TEST_TMPDIR/kept.tar" manifest.json "$c.json" "$id"
        rm -rf "$dir"
        run_hutch load -i "$BATS_TEST_TMPDIR/kept.tar"
        CTX="$BATS_TEST_TMPDIR/ctx"
        mkdir -p "$CTX"
}


# saved_config IMAGE: the config document `hutch save` writes for IMAGE.
saved_config() {
        local t="$BATS_TEST_TMPDIR/saved.tar"
        rm -f "$t"
        run_hutch save -o "$t" "$1" >&2
        tar -xOf "$t" "$(tar -xOf "$t" manifest.json | jq -r '.[0].Config')"
}

@test "config: a loaded image shows Healthcheck, Shell and the members hutch does not model" {
        run_hutch image inspect kept:1
        assert_equal "$(kept '.[0].Config' <<<"$output")" "$KEPT"
        run_hutch image inspect --format '{{.Config.StopTimeout}} {{.Config.Shell}}' kept:1
        assert_equal "$output" '42 ["/bin/echo","via-image-shell"]'
}

@test "config: commit keeps every member of the image's config; save, load and push too" {
        run_hutch run --network none --name c1 kept:1 sh -c 'echo x > /new'
        run_hutch commit -m msg c1 kept:2
        run_hutch image inspect kept:2
        assert_equal "$(kept '.[0].Config' <<<"$output")" "$KEPT"
        # the run's command replaced Cmd: the modelled fields still change
        assert_equal "$(jq -c '.[0].Config.Cmd' <<<"$output")" '["sh","-c","echo x > /new"]'
        local cfg
        cfg=$(saved_config kept:2)
        assert_equal "$(kept '.config' <<<"$cfg")" "$KEPT"
        assert_equal "$(jq -c '[."os.version", .comment, ."x-top", (.rootfs.diff_ids | length)]' <<<"$cfg")" \
                '["1.0","made by hand",{"k":"v"},2]'

        # load into another store: the same image ID, the same members
        run_hutch images --no-trunc -q kept:2
        local id=$output
        local root=$HUTCH_ROOT
        HUTCH_ROOT="$BATS_TEST_TMPDIR/root2"
        run_hutch load -i "$BATS_TEST_TMPDIR/saved.tar"
        run_hutch images --no-trunc -q kept:2
        assert_equal "$output" "$id" "the same image ID after save and load"
        run_hutch image inspect kept:2
        assert_equal "$(kept '.[0].Config' <<<"$output")" "$KEPT"
        "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" unshare rm -rf "$HUTCH_ROOT" </dev/null
        HUTCH_ROOT=$root

        # push to an OCI layout: the config blob is the same document
        run_hutch push kept:2 "oci:$BATS_TEST_TMPDIR/layout:2"
        local l="$BATS_TEST_TMPDIR/layout" m c
        m=$(jq -r '.manifests[0].digest' "$l/index.json")
        c=$(jq -r '.config.digest' "$l/blobs/sha256/${m#sha256:}")
        assert_equal "$(kept '.config' <"$l/blobs/sha256/${c#sha256:}")" "$KEPT"
        assert_equal "$(jq -c '."x-top"' <"$l/blobs/sha256/${c#sha256:}")" '{"k":"v"}'
}

@test "config: build FROM an image keeps its members; its SHELL runs RUN and CMD" {
        cat >"$CTX/Dockerfile" <<'EOF'
FROM kept:1
RUN hello from run
LABEL a=b
CMD shell form
EOF
        run_hutch build -t built:1 "$CTX"
        [[ "$output" == *"via-image-shell hello from run"* ]] || die "the image's Shell did not run RUN: $output"
        # the base's ONBUILD trigger ran (with the image's Shell), and is not passed on
        [[ "$output" == *"via-image-shell echo child"* ]] || die "the ONBUILD trigger did not run: $output"
        run_hutch image inspect built:1
        assert_equal "$(kept '.[0].Config' <<<"$output")" "${KEPT/'["RUN echo child"]'/null}"
        assert_equal "$(jq -c '.[0].Config | [.Cmd, .Labels]' <<<"$output")" \
                '[["/bin/echo","via-image-shell","shell form"],{"a":"b"}]'
        assert_equal "$(saved_config built:1 | jq -c '[."os.version", .comment, ."x-top"]')" \
                '["1.0","made by hand",{"k":"v"}]'
}

@test "config: HEALTHCHECK (shell and exec forms, NONE) and SHELL are stored as Docker stores them" {
        cat >"$CTX/Dockerfile" <<'EOF'
FROM kept:1
SHELL ["/bin/sh", "-ec"]
HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1.5s --retries=4 \
  CMD wget -q -O- http://localhost/ || exit 1
CMD echo hi
RUN echo "shell is $0 $-"
EOF
        run_hutch build -t hc:1 "$CTX"
        [[ "$output" == *"shell is /bin/sh "*e* ]] || die "SHELL not used by RUN: $output"
        run_hutch image inspect hc:1
        assert_equal "$(jq -c '.[0].Config.Healthcheck' <<<"$output")" \
                '{"Test":["CMD-SHELL","wget -q -O- http://localhost/ || exit 1"],"Interval":90000000000,"Timeout":500000000,"StartPeriod":2000000000,"StartInterval":1500000000,"Retries":4}'
        assert_equal "$(jq -c '.[0].Config | [.Shell, .Cmd]' <<<"$output")" '[["/bin/sh","-ec"],["/bin/sh","-ec","echo hi"]]'
        assert_equal "$(saved_config hc:1 | jq -c '.config.Shell')" '["/bin/sh","-ec"]'

        # a build FROM that image runs RUN with the stored shell
        printf 'FROM hc:1\nRUN echo "again $-"\nHEALTHCHECK CMD ["/bin/check", "a b"]\n' >"$CTX/Dockerfile"
        run_hutch build -t hc:2 "$CTX"
        [[ "$output" == *"again "*e* ]] || die "the stored SHELL not used FROM the image: $output"
        run_hutch image inspect hc:2
        assert_equal "$(jq -c '.[0].Config | [.Healthcheck, .Shell]' <<<"$output")" \
                '[{"Test":["CMD","/bin/check","a b"]},["/bin/sh","-ec"]]'

        printf 'FROM hc:1\nHEALTHCHECK NONE\n' >"$CTX/Dockerfile"
        run_hutch build -t hc:3 "$CTX"
        run_hutch image inspect hc:3
        assert_equal "$(jq -c '.[0].Config.Healthcheck' <<<"$output")" '{"Test":["NONE"]}'
        assert_equal "$(saved_config hc:3 | jq -c '.config.Healthcheck')" '{"Test":["NONE"]}'
}

@test "config: bad HEALTHCHECK options are errors naming the line" {
        local bad
        for bad in '--interval=5x' '--timeout=-1s' '--start-period=10us' '--retries=-1' '--retries=two' \
                '--start-interval=99999999999h' '--frequency=1s'; do
                printf 'FROM kept:1\nLABEL a=b\nHEALTHCHECK %s CMD true\n' "$bad" >"$CTX/Dockerfile"
                run_hutch 125 build "$CTX"
                [[ "${stderr_lines[-1]}" == "Error: line 3: HEALTHCHECK"* ]] || die "$bad: $stderr"
        done
        printf 'FROM kept:1\nHEALTHCHECK --interval=5x CMD true\n' >"$CTX/Dockerfile"
        run_hutch 125 build "$CTX"
        assert_equal "${stderr_lines[-1]}" "Error: line 2: HEALTHCHECK --interval: '5x' is not a duration (such as 30s, 1m30s or 500ms)"
        printf 'FROM kept:1\nHEALTHCHECK CMD\n' >"$CTX/Dockerfile"
        run_hutch 125 build "$CTX"
        [[ "$stderr" == *"line 2: HEALTHCHECK"* ]] || die "no command: $stderr"
}

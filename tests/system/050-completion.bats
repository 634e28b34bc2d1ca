#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2016 # the child shells expand these
# `hutch completion bash|zsh|fish`: the scripts are driven as the shells
# drive them, against containers, images and volumes made here.

load helpers

setup() {
        basic_setup
        import_busybox_image
        SCRIPT="$BATS_TEST_TMPDIR/hutch.bash"
        "$HUTCH" completion bash >"$SCRIPT"
        # the command line prefix of every completion: this test's store
        H="$HUTCH --root $HUTCH_ROOT --runroot $HUTCH_RUNROOT"
        # no files where the completions run, unless a test makes some
        WORK="$BATS_TEST_TMPDIR/work"
        mkdir -p "$WORK"
}


# complete_bash LINE: what bash offers for LINE (the cursor at its end), one
# per line, sorted, in $output; the completion function is driven as bash
# drives it (COMP_WORDS split at COMP_WORDBREAKS, COMP_CWORD, COMP_LINE,
# COMP_POINT).
complete_bash() {
        local out
        out=$(cd "$WORK" && bash -c '
                source "$1" || exit 1
                COMP_LINE=$2
                COMP_POINT=${#2}
                # bash splits at blanks and at the break characters = and :
                read -ra COMP_WORDS <<<"$(sed -E "s/([=:])/ \1 /g" <<<"$2")"
                [[ $2 == *" " ]] && COMP_WORDS+=("")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                _hutch hutch "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || exit 1
                printf "%s\n" "${COMPREPLY[@]}"' _ "$SCRIPT" "$1" 2>&1) || die "completing '$1': $out"
        output=$(grep -v '^$' <<<"$out" | LC_ALL=C sort)
}

# expect_bash LINE WORD...: bash offers exactly WORD... for LINE.
expect_bash() {
        local line=$1
        shift
        complete_bash "$line" || return 1
        assert_equal "$output" "$(if [ $# -gt 0 ]; then printf '%s\n' "$@" | LC_ALL=C sort; fi)" "completing '$line'"
}

# The subcommands a `--help` lists (its Commands section).
help_commands() {
        "$HUTCH" "$@" --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }' | LC_ALL=C sort
}

@test "completion: bash: commands and subcommands from the command table, options of the command typed" {
        # every command --help lists, and nothing else
        local all
        all=$(help_commands)
        assert_match "$all" "completion"
        complete_bash "hutch "
        assert_equal "$output" "$all"
        expect_bash "hutch st" start stats stop
        local -a subs
        mapfile -t subs < <(help_commands image)
        expect_bash "hutch image " "${subs[@]}"
        mapfile -t subs < <(help_commands volume)
        expect_bash "hutch volume " "${subs[@]}"
        expect_bash "hutch system pr" prune
        expect_bash "hutch container r" rm rename restart run
        # options: the command's own, the globals before a command
        expect_bash "hutch run --net" --net --network
        expect_bash "hutch rm -" --force -f --volumes -v --help -h
        expect_bash "hutch --ro" --root
        expect_bash "hutch image rm --f" --force
        expect_bash "hutch completion " bash fish zsh
        expect_bash "hutch completion bash " # one shell only
}

@test "completion: bash: fixed option values, as the parsers accept them" {
        expect_bash "hutch run --restart " always no on-failure unless-stopped
        expect_bash "hutch create --pull n" never newer
        expect_bash "hutch run --network " container: host none slirp
        expect_bash "hutch run --network=sl" slirp
        expect_bash "hutch --log-level " debug error info trace warn
        expect_bash "hutch --storage-driver " copy fuse-overlayfs overlay
        expect_bash "hutch ps --format " json table
        expect_bash "hutch save --format " docker-archive oci-archive
        expect_bash "hutch inspect --type " container image
        # each value the completion offers is one the parser takes
        local v
        for v in always no on-failure unless-stopped; do
                run_hutch create --network none --restart "$v" bb:1 true
        done
        for v in debug error info trace warn; do
                run_hutch --log-level "$v" version
        done
        run_hutch ps --format json
        run_hutch ps --format table
        # an option whose argument is free text offers nothing
        expect_bash "hutch run --name "
        expect_bash "hutch run -w "
}

@test "completion: bash: files for file arguments" {
        touch "$WORK/env.list" "$WORK/image.tar"
        mkdir "$WORK/data"
        expect_bash "hutch run --env-file " data env.list image.tar
        expect_bash "hutch run -v d" data
        expect_bash "hutch run --volume=i" image.tar
        expect_bash "hutch load -i " data env.list image.tar
        expect_bash "hutch import im" image.tar
        expect_bash "hutch save -o e" env.list
}

@test "completion: bash: containers (running ones where only those make sense), images, volumes of --root's store" {
        run_hutch run -d --network none --name runner bb:1 sleep 1000
        run_hutch create --network none --name idle bb:1 true
        run_hutch volume create vol1
        run_hutch volume create vol2
        run_hutch images --format '{{.Repository}}:{{.Tag}}'
        local image=$output
        assert_match "$image" "bb:1$"

        expect_bash "$H stop " runner
        expect_bash "$H kill " runner
        expect_bash "$H exec " runner
        expect_bash "$H exec runner " # the command inside: not ours to know
        expect_bash "$H top " runner
        expect_bash "$H container stop " runner
        expect_bash "$H rm " idle runner
        expect_bash "$H start " idle runner
        expect_bash "$H logs " idle runner
        expect_bash "$H diff i" idle
        expect_bash "$H commit " idle runner
        expect_bash "$H container rm r" runner
        expect_bash "$H cp " idle: runner:
        expect_bash "$H inspect " idle runner "$image"
        expect_bash "$H rmi " "$image"
        expect_bash "$H image rm " "$image"
        expect_bash "$H image inspect " "$image"
        expect_bash "$H history " "$image"
        expect_bash "$H tag " "$image"
        expect_bash "$H run " "$image"
        expect_bash "$H run --rm -it " "$image"
        expect_bash "$H run $image " # the command inside
        expect_bash "$H create --name x " "$image"
        expect_bash "$H volume rm " vol1 vol2
        expect_bash "$H volume inspect vol" vol1 vol2
        expect_bash "$H volume create "
        # --root=DIR, and a store that is not this one
        expect_bash "$HUTCH --root=$HUTCH_ROOT --runroot=$HUTCH_RUNROOT rm " idle runner
        expect_bash "$HUTCH --root $BATS_TEST_TMPDIR/other --runroot $HUTCH_RUNROOT-other rm "
        expect_bash "$HUTCH --root $BATS_TEST_TMPDIR/other rmi "

        run_hutch stop -t 1 runner
        expect_bash "$H stop "
        expect_bash "$H rm " idle runner
}

@test "completion: the bash script passes shellcheck and bash -n" {
        bash -n "$SCRIPT"
        shellcheck "$SCRIPT"
}

@test "completion: zsh: the script loads under compinit and completes from the tables and the store" {
        run_hutch run -d --network none --name runner bb:1 sleep 1000
        "$HUTCH" completion zsh >"$BATS_TEST_TMPDIR/_hutch"
        # compadd is replaced by one that prints what it is given (zsh itself
        # filters by the prefix typed); words/CURRENT as the completion
        # system sets them
        local out
        out=$(cd "$WORK" && zsh -f -c '
                autoload -U compinit && compinit -u -D || exit 1
                source "$1" || exit 1
                [[ ${_comps[hutch]} == _hutch ]] || { echo "not registered: ${_comps[hutch]}"; exit 1; }
                compadd() {
                        while [[ $1 == -* ]]; do
                                [[ $1 == -- ]] && { shift; break; }
                                [[ $1 == -S ]] && shift
                                shift
                        done
                        print -l -- "$@"
                }
                shift
                words=("$@")
                CURRENT=$#
                _hutch' _ "$BATS_TEST_TMPDIR/_hutch" "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" stop "" 2>&1)
        assert_equal "$out" "runner"
        out=$(zsh -f -c '
                autoload -U compinit && compinit -u -D || exit 1
                source "$1" || exit 1
                compadd() { shift; print -l -- "$@"; }
                words=(hutch run --restart "")
                CURRENT=4
                _hutch' _ "$BATS_TEST_TMPDIR/_hutch" 2>&1)
        assert_equal "$(LC_ALL=C sort <<<"$out")" "$(printf '%s\n' always no on-failure unless-stopped)"
        out=$(zsh -f -c '
                autoload -U compinit && compinit -u -D || exit 1
                source "$1" || exit 1
                compadd() { shift; print -l -- "$@"; }
                words=(hutch image "")
                CURRENT=3
                _hutch' _ "$BATS_TEST_TMPDIR/_hutch" 2>&1)
        assert_equal "$(LC_ALL=C sort <<<"$out")" "$(help_commands image)"
}

@test "completion: fish: the script parses and completes from the tables and the store" {
        run_hutch run -d --network none --name runner bb:1 sleep 1000
        run_hutch create --network none --name idle bb:1 true
        "$HUTCH" completion fish >"$BATS_TEST_TMPDIR/hutch.fish"
        fish -n "$BATS_TEST_TMPDIR/hutch.fish"
        local out
        out=$(cd "$WORK" && fish --no-config -c 'source $argv[1]; or exit 1; complete -C $argv[2]' \
                "$BATS_TEST_TMPDIR/hutch.fish" "hutch st" 2>&1)
        assert_equal "$out" "$(printf 'start\nstats\nstop')"
        out=$(cd "$WORK" && fish --no-config -c 'source $argv[1]; or exit 1; complete -C $argv[2]' \
                "$BATS_TEST_TMPDIR/hutch.fish" "$H stop " 2>&1)
        assert_equal "$out" "runner"
        out=$(cd "$WORK" && fish --no-config -c 'source $argv[1]; or exit 1; complete -C $argv[2]' \
                "$BATS_TEST_TMPDIR/hutch.fish" "$H rm " 2>&1)
        assert_equal "$out" "$(printf 'idle\nrunner')"
        out=$(cd "$WORK" && fish --no-config -c 'source $argv[1]; or exit 1; complete -C $argv[2]' \
                "$BATS_TEST_TMPDIR/hutch.fish" "hutch run --restart=" 2>&1)
        assert_equal "$out" "$(printf '%s\n' --restart=always --restart=no --restart=on-failure --restart=unless-stopped)"
}

@test "completion: usage errors and --help" {
        run_hutch 125 completion
        assert_error_message "needs one shell: bash, zsh or fish"
        run_hutch 125 completion tcsh
        assert_error_message "unknown shell 'tcsh' \(bash, zsh or fish\)"
        run_hutch 125 completion bash zsh
        assert_error_message "needs one shell"
        run_hutch completion --help
        assert_match "$output" "Usage:"
        assert_match "$output" "hutch completion bash\|zsh\|fish"
        assert_match "$output" "source <\(hutch completion bash\)"
}

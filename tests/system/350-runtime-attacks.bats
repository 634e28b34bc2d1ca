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
        IMAGE_TAR="$BATS_FILE_TMPDIR/rootfs.tar"
        if [ ! -e "$IMAGE_TAR" ]; then
                tar -C "$ROOTFS" -cf "$IMAGE_TAR" .
        fi
        run_hutch import "$IMAGE_TAR" bb:1
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

@test "attacks: a container cannot rewrite a user-owned hutch through /proc/PID/exe (CVE-2019-5736)" {
        # the rootless case: hutch owned by the user, who is root in the container
        local h="$BATS_TEST_TMPDIR/bin/hutch"
        mkdir -p "$BATS_TEST_TMPDIR/bin"
        cp "$HUTCH" "$h"
        [ ! -e "$(dirname "$HUTCH")/hutch-init" ] || cp "$(dirname "$HUTCH")/hutch-init" "$BATS_TEST_TMPDIR/bin/"
        chmod 0755 "$h"
        local before
        before=$(sha256sum <"$h")
        HUTCH=$h run_hutch run -d --network none --name evil bb:1 sh -c '
                printf "#!/proc/self/exe\n" > /bin/evil-sh; chmod +x /bin/evil-sh
                while :; do
                        for p in /proc/[0-9]*; do
                                [ "$p" = "/proc/$$" ] && continue
                                { echo overwritten >> "$p/exe"; } 2>/dev/null && echo "WROTE $p" >> /tmp/wrote
                        done
                done'
        sleep 0.5
        for _ in 1 2 3 4 5; do
                HUTCH=$h run_hutch '?' exec evil /bin/evil-sh
                HUTCH=$h run_hutch '?' exec evil true
        done
        HUTCH=$h run_hutch '?' exec evil cat /tmp/wrote
        assert_not_match "$output" "WROTE"
        HUTCH=$h run_hutch rm -f evil
        assert_equal "$(sha256sum <"$h")" "$before" "hutch's binary is unchanged"
}

@test "attacks: host-side commands never run or load the image's nsenter or NSS modules (CVE-2019-14271)" {
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
        for d in lib lib64 lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu; do
                mkdir -p "$img/$d"
                rm -f "$img/$d/libnss_files.so.2"
                printf 'not a library\n' >"$img/$d/libnss_files.so.2"
        done
        tar -C "$img" -cf "$BATS_TEST_TMPDIR/evil.tar" .
        run_hutch import "$BATS_TEST_TMPDIR/evil.tar" evil:1
        run_hutch run -d --network none --name nss -u tester evil:1 sleep 1000
        run_hutch exec -u tester nss id -u
        assert_equal "$output" "1000"
        run_hutch top nss
        run_hutch cp nss:/etc/passwd "$BATS_TEST_TMPDIR/passwd-copy"
        run_hutch cp "$BATS_TEST_TMPDIR/passwd-copy" nss:/tmp/
        run_hutch inspect nss
        run_hutch rm -f nss
        [ ! -e "$marker" ] || die "a host-side command ran the image's nsenter"
}

#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2030,SC2031 # bats runs each test in a subshell
# shellcheck disable=SC2016 # the container's shell expands these
# Security defaults: capabilities, no_new_privs, seccomp (through every
# system call entry point), masked and read-only paths, mount flags,
# devices, the PID namespace, and root filesystems with symlinked
# /proc, /sys, /dev.  Items of shared/security-checklist.md section 4 are
# named in the test titles (#N).
#
# The checks run tests/helpers/hutch-probe (static) inside the container: it
# makes raw system calls and prints what the kernel answered ("keyctl: EPERM").

load helpers

HUTCH_PROBE=${HUTCH_PROBE:-$(dirname "$HUTCH")/tests/helpers/hutch-probe}

# Podman's 11: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
# NET_BIND_SERVICE SYS_CHROOT SETFCAP.
DEFAULT_CAPS=00000000800405fb
CAP_NET_RAW_BIT=13
CAP_CHOWN_BIT=0

setup_file() {
        basic_setup_file || return 1
        if [ ! -x "$HUTCH_PROBE" ]; then
                die "hutch-probe not found at '$HUTCH_PROBE' (make check builds it; or set HUTCH_PROBE)"
                return 1
        fi
        cp "$HUTCH_PROBE" "$ROOTFS/bin/hutch-probe"
}

# probe [HUTCH RUN OPTIONS...] -- PROBE ARGS...: runs the probe in a fresh
# container and checks that hutch succeeded.
probe() {
        local -a opts=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do
                opts+=("$1")
                shift
        done
        shift
        run_hutch run --rm "${opts[@]}" --rootfs "$ROOTFS" /bin/hutch-probe "$@"
}

# status_field NAME: the value of NAME in the probe's "status" output.
status_field() {
        awk -v k="$1:" '$1 == k { print $2 }' <<<"$output"
}

# assert_line LINE: LINE is one of the lines of $output.
assert_line() {
        local want=$1 line
        for line in "${lines[@]}"; do
                [ "$line" = "$want" ] && return 0
        done
        die "no line '$want' in the output" "output: $output"
}

hexcaps() {
        printf '%016x' "$1"
}

all_caps() {
        local last
        last=$(cat /proc/sys/kernel/cap_last_cap)
        hexcaps $(((1 << (last + 1)) - 1))
}

require_x86_64() {
        [ "$(uname -m)" = x86_64 ] || skip "the i386 and x32 entry points exist only on x86_64"
}

# ---- capabilities and no_new_privs -------------------------------------

@test "security #1: root in the container has Podman's 11 capabilities, none inheritable or ambient" {
        probe -- status
        assert_equal "$(status_field CapEff)" "$DEFAULT_CAPS" "CapEff"
        assert_equal "$(status_field CapPrm)" "$DEFAULT_CAPS" "CapPrm"
        assert_equal "$(status_field CapBnd)" "$DEFAULT_CAPS" "CapBnd"
        assert_equal "$(status_field CapInh)" 0000000000000000 "CapInh"
        assert_equal "$(status_field CapAmb)" 0000000000000000 "CapAmb"
}

@test "security #1: a non-root container user has no effective or permitted capabilities" {
        require_subids
        probe --user 1000:1000 -- status
        assert_equal "$(status_field CapEff)" 0000000000000000 "CapEff"
        assert_equal "$(status_field CapPrm)" 0000000000000000 "CapPrm"
        assert_equal "$(status_field CapInh)" 0000000000000000 "CapInh"
        assert_equal "$(status_field CapAmb)" 0000000000000000 "CapAmb"
        assert_equal "$(status_field CapBnd)" "$DEFAULT_CAPS" "the bounding set stays the default"
}

@test "security: --cap-add, --cap-drop and ALL" {
        probe --cap-add NET_RAW --cap-drop CAP_CHOWN -- status
        assert_equal "$(status_field CapEff)" \
                "$(hexcaps $(((0x$DEFAULT_CAPS | (1 << CAP_NET_RAW_BIT)) & ~(1 << CAP_CHOWN_BIT))))" "CapEff"
        assert_equal "$(status_field CapBnd)" "$(status_field CapEff)" "CapBnd follows"

        probe --cap-drop ALL -- status
        assert_equal "$(status_field CapEff)" 0000000000000000 "--cap-drop ALL"
        assert_equal "$(status_field CapBnd)" 0000000000000000 "--cap-drop ALL empties the bounding set"

        probe --cap-drop all --cap-add chown -- status
        assert_equal "$(status_field CapEff)" 0000000000000001 "--cap-drop ALL --cap-add CHOWN"

        run_hutch 125 run --rm --cap-add CAP_TELEPORT --rootfs "$ROOTFS" true
        assert_error_message "CAP_TELEPORT"
        run_hutch 125 run --rm --cap-add CHOWN --cap-drop CHOWN --rootfs "$ROOTFS" true
        assert_error_message "CHOWN"
}

@test "security: --privileged: every capability the user namespace holds, no seccomp filter, no masks" {
        # A new user namespace starts with a full bounding set: every
        # capability the kernel knows, over what that namespace owns.
        probe --privileged -- status
        assert_equal "$(status_field CapEff)" "$(all_caps)" "CapEff"
        assert_equal "$(status_field CapBnd)" "$(all_caps)" "CapBnd"
        assert_equal "$(status_field Seccomp)" 0 "no seccomp filter"
        probe --privileged -- stat /proc/keys
        assert_equal "$output" "/proc/keys: file" "/proc/keys is not masked"
        # Still only the user's own rights on the host: the user namespace.
        run_hutch run --rm --privileged --rootfs "$ROOTFS" cat /proc/self/uid_map
        assert_match "$output" "^ *0 +$(id -u) +1" "container root is the user"
}

@test "security: --privileged still honours --cap-drop and an explicit seccomp=FILE" {
        local prof=$BATS_TEST_TMPDIR/profile.json
        echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]}' \
                >"$prof"
        probe --privileged --cap-drop SYS_ADMIN -- status
        assert_equal "$(status_field CapEff)" "$(hexcaps $((0x$(all_caps) & ~(1 << 21))))" "CapEff without SYS_ADMIN"
        probe --privileged --security-opt "seccomp=$prof" -- syscall getpid
        assert_equal "$output" "getpid: EPERM"
}

@test "security #2: no_new_privs is on by default; no-new-privileges=false turns it off" {
        probe -- status
        assert_equal "$(status_field NoNewPrivs)" 1 "default"
        probe --security-opt no-new-privileges=false -- status
        assert_equal "$(status_field NoNewPrivs)" 0 "no-new-privileges=false"
        assert_equal "$(status_field Seccomp)" 2 "the filter still loads without no_new_privs"
        probe --security-opt no-new-privileges -- status
        assert_equal "$(status_field NoNewPrivs)" 1 "no-new-privileges"
}

# ---- seccomp ----------------------------------------------------------------

@test "security #2: a seccomp filter is loaded by default; seccomp=unconfined removes it" {
        probe -- status
        assert_equal "$(status_field Seccomp)" 2 "filter mode"
        probe --security-opt seccomp=unconfined -- status
        assert_equal "$(status_field Seccomp)" 0 "seccomp=unconfined"
}

@test "security #3: namespace creation is refused, clone3 gives ENOSYS, fork and threads work" {
        probe -- syscall unshare-user unshare-net clone-newuser setns clone3 unshare-files clone-plain
        assert_line "unshare-user: EPERM"
        assert_line "unshare-net: EPERM"
        assert_line "clone-newuser: EPERM"
        assert_line "setns: EPERM"
        assert_line "clone3: ENOSYS"
        assert_line "unshare-files: OK"
        assert_line "clone-plain: OK"
        probe -- fork
        assert_equal "$output" "fork: OK"
        probe -- thread
        assert_equal "$output" "thread: OK"
        # Programs that unshare fail cleanly.
        run_hutch '?' run --rm --rootfs "$ROOTFS" unshare -U true
        assert "$status" -ne 0 "busybox unshare -U fails"
}

DANGEROUS="keyctl add_key request_key bpf userfaultfd perf_event_open io_uring_setup kexec_load init_module
finit_module delete_module open_by_handle_at"

@test "security #4: dangerous system calls are refused with EPERM" {
        local c
        # shellcheck disable=SC2086
        probe -- syscall $DANGEROUS kexec_file_load personality-addr-no-randomize personality-query getpid
        for c in $DANGEROUS kexec_file_load; do
                assert_line "$c: EPERM"
        done
        assert_not_match "$output" "personality-addr-no-randomize: OK" "personality(ADDR_NO_RANDOMIZE) is refused"
        assert_line "personality-query: OK"
        assert_line "getpid: OK"
}

@test "security #5: the same calls through the i386 entry point (int \$0x80) are refused" {
        require_x86_64
        local c
        # shellcheck disable=SC2086
        probe -- syscall --abi i386 $DANGEROUS unshare-user clone-newuser personality-addr-no-randomize getpid
        for c in $DANGEROUS unshare-user clone-newuser; do
                assert_line "$c: EPERM"
        done
        assert_not_match "$output" "personality-addr-no-randomize: OK"
        assert_line "getpid: OK"
}

@test "security #5: the same calls with x32 numbers are refused" {
        require_x86_64
        local c
        # shellcheck disable=SC2086
        probe -- syscall --abi x32 $DANGEROUS kexec_file_load unshare-user setns
        for c in $DANGEROUS kexec_file_load unshare-user setns; do
                assert_line "$c: EPERM"
        done
}

@test "security #6: unknown system call numbers give ENOSYS" {
        probe -- nr 1000
        assert_equal "$output" "1000: ENOSYS"
        probe -- nr 4095
        assert_equal "$output" "4095: ENOSYS"
        if [ "$(uname -m)" = x86_64 ]; then
                probe -- nr --abi i386 1000
                assert_equal "$output" "1000: ENOSYS"
        fi
}

@test "security: socket(AF_ALG) and socket(AF_VSOCK) are refused, AF_UNIX works" {
        probe -- syscall socket-alg socket-vsock socket-unix
        assert_line "socket-alg: EPERM"
        assert_line "socket-vsock: EPERM"
        assert_line "socket-unix: OK"
}

@test "security: without a filter the probe sees the calls go through (the checks above can fail)" {
        probe --security-opt seccomp=unconfined -- syscall keyctl personality-addr-no-randomize clone3
        assert_line "keyctl: OK"
        assert_line "personality-addr-no-randomize: OK"
        assert_line "clone3: OK"
}

@test "security: seccomp=FILE applies that profile; a broken profile is a clear error" {
        local prof=$BATS_TEST_TMPDIR/profile.json
        cat >"$prof" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
EOF
        probe --security-opt "seccomp=$prof" -- syscall getpid keyctl
        assert_line "getpid: EACCES"
        assert_line "keyctl: OK"

        echo '{"defaultAction": "SCMP_ACT_SOMETIMES"}' >"$prof"
        run_hutch 125 run --rm --security-opt "seccomp=$prof" --rootfs "$ROOTFS" true
        assert_error_message "SCMP_ACT_SOMETIMES"
        run_hutch 125 run --rm --security-opt "seccomp=$BATS_TEST_TMPDIR/missing.json" --rootfs "$ROOTFS" true
        assert_error_message "missing.json"
}

@test "security: label= and apparmor= give a clear error; label=disable and apparmor=unconfined are accepted" {
        run_hutch run --rm --security-opt label=disable --security-opt apparmor=unconfined --rootfs "$ROOTFS" true
        run_hutch 125 run --rm --security-opt label=type:container_t --rootfs "$ROOTFS" true
        assert_error_message "label=type:container_t"
        run_hutch 125 run --rm --security-opt apparmor=docker-default --rootfs "$ROOTFS" true
        assert_error_message "apparmor=docker-default"
        run_hutch 125 run --rm --security-opt frobnicate=1 --rootfs "$ROOTFS" true
        assert_error_message "frobnicate"
}

# ---- kernel file systems ------------------------------------------------------

@test "security #8: masked files are /dev/null and read empty; masked directories are empty and read-only" {
        local f n=0
        for f in /proc/kcore /proc/keys /proc/timer_list; do
                [ -e "$f" ] || continue
                n=$((n + 1))
                probe -- stat "$f"
                assert_equal "$output" "$f: char 1:3" "$f is masked by /dev/null"
                probe -- read "$f"
                assert_equal "$output" "$f: 0 bytes" "$f reads empty"
        done
        assert "$n" -gt 0 "at least one masked file exists on this host"
        for f in /proc/acpi /sys/firmware; do
                [ -d "$f" ] || continue
                probe -- ls "$f"
                assert_equal "$output" "$f: 0 entries" "$f is hidden"
                probe -- create "$f/x"
                assert_equal "$output" "$f/x: EROFS" "$f is read-only"
        done
}

@test "security: --security-opt mask= and unmask= change the masked paths" {
        probe --security-opt unmask=/proc/keys -- stat /proc/keys /proc/timer_list
        assert_equal "$output" "/proc/keys: file
/proc/timer_list: char 1:3" "unmask=/proc/keys"
        probe --security-opt mask=/proc/cpuinfo -- read /proc/cpuinfo
        assert_equal "$output" "/proc/cpuinfo: 0 bytes" "mask=/proc/cpuinfo"
        probe --security-opt unmask=ALL -- stat /proc/keys /proc/timer_list
        assert_equal "$output" "/proc/keys: file
/proc/timer_list: file" "unmask=ALL"
        # Network sysctls are writable with CAP_NET_ADMIN over the
        # container's network namespace; only the read-only mount is left.
        probe --cap-add NET_ADMIN --security-opt unmask=ALL -- write /proc/sys/net/ipv4/ip_forward
        assert_equal "$output" "/proc/sys/net/ipv4/ip_forward: OK" "unmask=ALL makes /proc/sys writable"
        run_hutch 125 run --rm --security-opt mask=relative/path --rootfs "$ROOTFS" true
        assert_error_message "relative/path"
}

@test "security #9: core_pattern and sysrq-trigger are read-only; /proc/sys cannot be remounted read-write" {
        # core_pattern belongs to the host (EACCES before the mount is looked
        # at); the network sysctls are writable with CAP_NET_ADMIN over the
        # container's network namespace, so only the read-only mount stops
        # that write.
        probe -- write /proc/sys/kernel/core_pattern
        assert_match "$output" "^/proc/sys/kernel/core_pattern: (EROFS|EACCES)$"
        probe --cap-add NET_ADMIN -- write /proc/sys/net/ipv4/ip_forward
        assert_equal "$output" "/proc/sys/net/ipv4/ip_forward: EROFS"
        if [ -e /proc/sysrq-trigger ]; then
                probe -- write /proc/sysrq-trigger
                assert_match "$output" "^/proc/sysrq-trigger: (EROFS|EACCES)$"
        fi
        probe -- remount-rw /proc/sys
        assert_equal "$output" "remount-rw: EPERM"
        # Even with the seccomp filter off, the read-only mount is locked.
        probe --security-opt seccomp=unconfined -- remount-rw /proc/sys
        assert_equal "$output" "remount-rw: EPERM"
}

@test "security #10: nothing under /sys/fs/cgroup is writable" {
        probe -- create /sys/fs/cgroup/hutch-test
        assert_match "$output" "^/sys/fs/cgroup/hutch-test: (EROFS|ENOENT)$"
        run_hutch '?' run --rm --rootfs "$ROOTFS" mkdir /sys/fs/cgroup/hutch-test
        assert "$status" -ne 0 "mkdir under /sys/fs/cgroup fails"
        probe -- write /sys/fs/cgroup/cgroup.procs
        assert_match "$output" "^/sys/fs/cgroup/cgroup.procs: (EROFS|EACCES|ENOENT)$"
}

# mount_opts MOUNTINFO MOUNTPOINT: the per-mount and super-block options.
mount_opts() {
        awk -v m="$2" '$5 == m { o = $6; for (i = 7; i <= NF; i++) if ($i == "-") { o = o "," $(i + 3); break } } END { print o }' <<<"$1"
}

assert_opts() {
        local info=$1 mnt=$2 opts flag
        shift 2
        opts=$(mount_opts "$info" "$mnt")
        [ -n "$opts" ] || {
                die "$mnt is not mounted in the container" "mountinfo: $info"
                return 1
        }
        for flag in "$@"; do
                assert "$opts" =~ "(^|,)$flag(,|$)" "$mnt has $flag" || return 1
        done
}

@test "security #11: mount flags of /proc, /sys, /dev, /dev/pts, /dev/shm, /dev/mqueue; no exec from /dev/shm" {
        local info
        run_hutch run --rm --rootfs "$ROOTFS" cat /proc/self/mountinfo
        info=$output
        assert_opts "$info" /proc nosuid nodev noexec
        assert_opts "$info" /sys ro nosuid nodev noexec
        assert_opts "$info" /dev nosuid
        assert_opts "$info" /dev/pts nosuid noexec
        assert_opts "$info" /dev/shm nosuid nodev noexec
        assert_opts "$info" /dev/mqueue nosuid nodev noexec
        if [ -n "$(mount_opts "$info" /sys/fs/cgroup)" ]; then
                assert_opts "$info" /sys/fs/cgroup ro nosuid nodev noexec
        fi
        run_hutch run --rm --rootfs "$ROOTFS" sh -c \
                'cp /bin/hutch-probe /dev/shm/p && chmod 755 /dev/shm/p && /bin/hutch-probe exec /dev/shm/p status'
        assert_equal "$output" "exec: EACCES"
}

@test "security #12: /dev holds only the standard devices, none of them block devices; mknod fails" {
        local entry name
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'cd /dev && for f in * .[!.]*; do if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi; done'
        for name in "${lines[@]}"; do
                case "$name" in
                null | zero | full | random | urandom | tty | console | ptmx | pts | shm | mqueue | fd | stdin | stdout | stderr | core) ;;
                *) die "unexpected /dev entry '$name'" "all: $output" ;;
                esac
        done
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'ls /dev | while read -r f; do /bin/hutch-probe stat "/dev/$f"; done'
        assert_not_match "$output" "block" "no block devices"
        for entry in "null: char 1:3" "zero: char 1:5" "full: char 1:7" "random: char 1:8" "urandom: char 1:9" "tty: char 5:0"; do
                assert_line "/dev/$entry"
        done
        probe -- mknod /tmp/null
        assert_equal "$output" "mknod: EPERM"
}

# ---- processes ----------------------------------------------------------------

@test "security #15: kill(-1, SIGKILL) in the container spares host processes; host PIDs are invisible" {
        sleep 300 &
        local victim=$!
        HUTCH_BG_PIDS+=("$victim")
        probe -- kill-all
        kill -0 "$victim" || die "the host process $victim was killed from the container"
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'echo /proc/[0-9]*'
        assert_equal "$output" "/proc/1" "only the container's own PID 1 is visible"
        kill "$victim"
}

@test "security #16: the host user's keyrings are out of reach" {
        probe -- syscall keyctl add_key request_key
        assert_line "keyctl: EPERM"
        assert_line "add_key: EPERM"
        assert_line "request_key: EPERM"
        probe -- read /proc/keys
        assert_equal "$output" "/proc/keys: 0 bytes"
        # Even without the filter, the container has keyrings of its own,
        # also when hutch runs in a real session keyring (as after a login
        # with pam_keyinit): the probe joins one, then runs hutch in it.
        local both host inside
        hutch_cmd run --rm --security-opt seccomp=unconfined --rootfs "$ROOTFS" /bin/hutch-probe keyrings
        both=$("$HUTCH_PROBE" with-session sh -c \
                '"$0" keyrings; echo ---; "$@"' "$HUTCH_PROBE" "${HUTCH_CMD[@]}")
        echo "$both"
        host=$(sed '/^---$/,$d' <<<"$both")
        inside=$(sed '1,/^---$/d' <<<"$both")
        assert_match "$host" "session: [0-9a-f]+" "the host side has a session keyring"
        assert_match "$inside" "session: [0-9a-f]+" "keyctl works without the filter"
        assert "$(grep session <<<"$inside")" != "$(grep session <<<"$host")" "a session keyring of its own"
        assert "$(grep user <<<"$inside")" != "$(grep user <<<"$host")" "a user keyring of its own"
}

# ---- root filesystems with symlinks ---------------------------------------------

@test "security #17: a rootfs whose /proc, /sys or /dev is a symlink is refused; the outside stays untouched" {
        local d rootfs outside
        for d in proc sys dev; do
                rootfs=$BATS_TEST_TMPDIR/rootfs-$d
                outside=$BATS_TEST_TMPDIR/outside-$d
                mkdir -p "$outside"
                cp -a "$ROOTFS" "$rootfs"
                rm -rf "${rootfs:?}/$d"
                # Absolute and relative escapes: inside the root both stay inside.
                ln -s "$outside" "$rootfs/$d"
                run_hutch 125 run --rm --rootfs "$rootfs" true
                assert_error_message "$d"
                assert_equal "$(find "$outside" -mindepth 1 | wc -l)" 0 "nothing appeared in $outside"
                rm -f "$rootfs/$d"
                ln -s "../../../../../../../../../..$outside" "$rootfs/$d"
                run_hutch 125 run --rm --rootfs "$rootfs" true
                assert_equal "$(find "$outside" -mindepth 1 | wc -l)" 0 "nothing appeared in $outside"
        done
}

@test "security #17: a rootfs /dev/null symlink does not redirect anything" {
        local rootfs=$BATS_TEST_TMPDIR/rootfs-null marker=$BATS_TEST_TMPDIR/marker
        echo untouched >"$marker"
        cp -a "$ROOTFS" "$rootfs"
        mkdir -p "$rootfs/dev"
        rm -f "$rootfs/dev/null"
        ln -s "$marker" "$rootfs/dev/null"
        run_hutch '?' run --rm --rootfs "$rootfs" /bin/hutch-probe stat /dev/null /proc/keys
        if [ "$status" -eq 0 ]; then
                assert_line "/dev/null: char 1:3"
                assert_line "/proc/keys: char 1:3"
        else
                assert_equal "$status" 125 "refused as a setup error"
        fi
        assert_equal "$(cat "$marker")" untouched "the marker is untouched"
        assert_equal "$(stat -c %F "$marker")" "regular file"
}

@test "security #7: the CVE-2022-0492 release_agent write fails, with the default filter and with --privileged" {
        probe --network none -- release-agent
        assert_line "unshare: EPERM"
        # Without a filter and with CAP_SYS_ADMIN the probe gets as far as the
        # kernel lets it: its own user, mount and cgroup namespaces.
        probe --privileged --network none -- release-agent
        assert_line "unshare: OK"
        assert_not_match "$output" "release_agent: OK" "release_agent was written"
}

@test "security #20: /etc/passwd or /etc/group a symlink to /dev/zero gives a bounded error" {
        local f rootfs
        for f in passwd group; do
                rootfs=$BATS_TEST_TMPDIR/rootfs-$f
                cp -a "$ROOTFS" "$rootfs"
                rm -f "$rootfs/etc/$f"
                ln -s /dev/zero "$rootfs/etc/$f"
                HUTCH_TEST_TIMEOUT=20 run_hutch 125 run --rm --network none -u 1000 --rootfs "$rootfs" true
                assert_error_message "/etc/$f"
        done
}

@test "security #19: a --workdir or volume destination through a symlink stays inside the root" {
        local rootfs=$BATS_TEST_TMPDIR/rootfs-links outside=$BATS_TEST_TMPDIR/outside vol=$BATS_TEST_TMPDIR/vol
        mkdir -p "$outside" "$vol"
        echo data >"$vol/f"
        cp -a "$ROOTFS" "$rootfs"
        ln -s "$outside" "$rootfs/abs"
        ln -s "../../../../../../../../..$outside" "$rootfs/rel"
        for l in abs rel; do
                run_hutch '?' run --rm --network none -w "/$l/work" --rootfs "$rootfs" sh -c 'pwd; ls -d /'"$l"'/work'
                [ "$status" -eq 0 ] || [ "$status" -eq 126 ] || [ "$status" -eq 125 ] ||
                        die "-w /$l/work: exit status $status"
                run_hutch '?' run --rm --network none -v "$vol:/$l/mnt" --rootfs "$rootfs" cat "/$l/mnt/f"
                [ "$status" -ne 0 ] || assert_equal "$output" data
                run_hutch '?' run --rm --network none --tmpfs "/$l/tmp" --rootfs "$rootfs" true
        done
        assert_equal "$(find "$outside" -mindepth 1 | wc -l)" 0 "nothing appeared in $outside"
}

@test "security: label= and apparmor= name what this host lacks" {
        if [ ! -e /sys/fs/selinux/enforce ]; then
                run_hutch 125 run --rm --network none --security-opt label=level:s0 --rootfs "$ROOTFS" true
                assert_error_message "this host does not run SELinux"
        fi
        if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" != Y ]; then
                run_hutch 125 run --rm --network none --security-opt apparmor=my-profile --rootfs "$ROOTFS" true
                assert_error_message "this host does not run AppArmor"
        fi
}

@test "security #10: /sys and every mount under it are read-only in each network mode (CVE-2023-25809)" {
        local net info
        for net in none host slirp; do
                run_hutch run --rm --network "$net" --rootfs "$ROOTFS" cat /proc/self/mountinfo
                info=$output
                assert_match "$info" " /sys " "--network $net: /sys is mounted"
                # every mount at or below /sys: "ro" in the per-mount options
                run awk '$5 ~ "^/sys(/|$)" && ("," $6 ",") !~ /,ro,/ { print $5, $6 }' <<<"$info"
                assert_equal "$output" "" "--network $net: a writable mount under /sys"
                probe --network "$net" -- create /sys/fs/cgroup/hutch-test
                assert_match "$output" "^/sys/fs/cgroup/hutch-test: (EROFS|ENOENT)$"
        done
}

@test "security #24: a bound host nosuid/noexec mount keeps those flags, even with --privileged" {
        local dir=${HUTCH_TEST_NOSUID_DIR:-} d opts
        if [ -z "$dir" ]; then
                for d in /dev/shm "/run/user/$(id -u)" /dev/mqueue /tmp /var/tmp /run; do
                        opts=$(awk -v m="$d" '$5 == m { o = $6 } END { print o }' /proc/self/mountinfo)
                        case ",$opts," in
                        *,nosuid,* | *,noexec,*)
                                if [ -r "$d" ] && [ -x "$d" ]; then
                                        dir=$d
                                        break
                                fi
                                ;;
                        esac
                done
        fi
        [ -n "$dir" ] || skip "no readable nosuid or noexec mount on this host (set HUTCH_TEST_NOSUID_DIR)"
        opts=$(findmnt -no OPTIONS -T "$dir")
        run_hutch run --rm --privileged --network none -v "$dir:/mnt/h" --rootfs "$ROOTFS" \
                sh -c 'awk '"'"'$5 == "/mnt/h" { print $6 }'"'"' /proc/self/mountinfo; /bin/hutch-probe remount-rw /mnt/h'
        local f
        for f in nosuid noexec nodev; do
                if [[ ",$opts," == *",$f,"* ]]; then
                        assert_match ",${lines[0]}," ",$f," "$f of $dir is kept"
                fi
        done
        assert_equal "${lines[1]}" "remount-rw: EPERM" "the host's flags are locked"
}

@test "security (section 1): /proc/bus, fs, irq, sys and sysrq-trigger are read-only mounts; /dev/pts is a new instance with ptmxmode 0666" {
        local info p
        run_hutch run --rm --network none --rootfs "$ROOTFS" cat /proc/self/mountinfo
        info=$output
        for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
                [ -e "$p" ] || continue
                assert_opts "$info" "$p" ro
        done
        assert_opts "$info" /dev/pts ptmxmode=666 mode=620
        run_hutch run --rm --network none --rootfs "$ROOTFS" stat -c '%a %t:%T' /dev/pts/ptmx
        assert_equal "$output" "666 5:2"
}

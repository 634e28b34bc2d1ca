#!/bin/bash
# setup-test-user.sh (as root): prepares this machine for hutch's system tests.
#
#  - user 'hutchtest' (uid 2000 when free) with a home, a shell and its own
#    subordinate UID and GID range of 65536 IDs (200000 when free) in
#    /etc/subuid and /etc/subgid;
#  - user 'hutchnosub' (uid 2001 when free) WITHOUT any subordinate range
#    (the single-ID fallback tests);
#  - /dev/fuse and /dev/net/tun mode 0666, as distributions ship them;
#  - unprivileged user namespaces enabled where a sysctl can turn them off;
#  - each user's ~/.config/containers/containers.conf for podman (runc,
#    cgroupfs), used by the benchmark's comparison, and /run/user/UID.
#
# Idempotent: running it again changes nothing.  Prints the users' ranges.
set -euo pipefail

TEST_USER=${HUTCH_TEST_USER:-hutchtest}
NOSUB_USER=${HUTCH_TEST_NOSUB_USER:-hutchnosub}
RANGE_COUNT=65536

if [ "$(id -u)" -ne 0 ]; then
        echo "$0: must run as root: it creates the users $TEST_USER and $NOSUB_USER, writes /etc/subuid and" \
                "/etc/subgid and changes the mode of /dev/fuse and /dev/net/tun" >&2
        exit 1
fi

# add_user NAME UID: creates NAME (with UID when that is free) unless it exists.
add_user() {
        local name=$1 uid=$2
        if id "$name" >/dev/null 2>&1; then
                return 0
        fi
        local -a uidopt=()
        if ! getent passwd "$uid" >/dev/null && ! getent group "$uid" >/dev/null; then
                uidopt=(-u "$uid" -g "$uid")
                groupadd -g "$uid" "$name"
        fi
        # No automatic subordinate ranges: this script writes them itself.
        useradd -m -s /bin/bash "${uidopt[@]}" -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$name"
}

add_user "$TEST_USER" 2000
add_user "$NOSUB_USER" 2001

# drop_ranges FILE NAME: removes NAME's lines (by name or uid) from FILE.
drop_ranges() {
        local file=$1 name=$2 uid
        uid=$(id -u "$name")
        [ -f "$file" ] || return 0
        awk -F: -v n="$name" -v u="$uid" '$1 != n && $1 != u' "$file" >"$file.hutch-tmp"
        chmod --reference="$file" "$file.hutch-tmp"
        mv "$file.hutch-tmp" "$file"
}

# free_base FILE...: the first multiple of 65536 from 200000 on whose range
# overlaps no other entry of the FILEs.
free_base() {
        local base=200000
        while awk -F: -v b="$base" -v c="$RANGE_COUNT" '
                NF >= 3 && $2 + 0 < b + c && b < $2 + $3 { found = 1 }
                END { exit !found }' "$@"; do
                base=$((base + RANGE_COUNT))
        done
        echo "$base"
}

# ensure_range NAME: NAME has exactly one range, the same in both files.
ensure_range() {
        local name=$1 have_u have_g
        touch /etc/subuid /etc/subgid
        have_u=$(awk -F: -v n="$name" '$1 == n { print $2 ":" $3 }' /etc/subuid)
        have_g=$(awk -F: -v n="$name" '$1 == n { print $2 ":" $3 }' /etc/subgid)
        if [ -n "$have_u" ] && [ "$have_u" = "$have_g" ] && [ "$(wc -w <<<"$have_u")" -eq 1 ] &&
                [ "${have_u#*:}" = "$RANGE_COUNT" ]; then
                return 0
        fi
        drop_ranges /etc/subuid "$name"
        drop_ranges /etc/subgid "$name"
        local base
        base=$(free_base /etc/subuid /etc/subgid)
        echo "$name:$base:$RANGE_COUNT" >>/etc/subuid
        echo "$name:$base:$RANGE_COUNT" >>/etc/subgid
}

ensure_range "$TEST_USER"
drop_ranges /etc/subuid "$NOSUB_USER"
drop_ranges /etc/subgid "$NOSUB_USER"

# Devices: the tests expect what distributions ship (crw-rw-rw-).
if [ ! -e /dev/fuse ]; then
        mknod -m 0666 /dev/fuse c 10 229 2>/dev/null || echo "$0: warning: no /dev/fuse and cannot create it" >&2
fi
if [ ! -e /dev/net/tun ]; then
        mkdir -p /dev/net
        mknod -m 0666 /dev/net/tun c 10 200 2>/dev/null || echo "$0: warning: no /dev/net/tun and cannot create it" >&2
fi
for dev in /dev/fuse /dev/net/tun; do
        if [ -c "$dev" ] && [ "$(stat -c %a "$dev")" = 600 ]; then
                chmod 0666 "$dev"
        fi
done

# Unprivileged user namespaces (Debian's sysctl; Ubuntu's AppArmor knob).
for knob in kernel/unprivileged_userns_clone kernel/apparmor_restrict_unprivileged_userns; do
        f=/proc/sys/$knob
        [ -w "$f" ] || continue
        case "$knob" in
        *apparmor*) want=0 ;;
        *) want=1 ;;
        esac
        if [ "$(cat "$f")" != "$want" ]; then
                echo "$want" >"$f"
        fi
done
if [ -w /proc/sys/user/max_user_namespaces ] && [ "$(cat /proc/sys/user/max_user_namespaces)" -lt 1000 ]; then
        echo 15000 >/proc/sys/user/max_user_namespaces
fi

# Per-user configuration and run-time directory.
for user in "$TEST_USER" "$NOSUB_USER"; do
        home=$(getent passwd "$user" | cut -d: -f6)
        uid=$(id -u "$user")
        gid=$(id -g "$user")
        conf=$home/.config/containers/containers.conf
        want=$'# Written by hutch tests/setup-test-user.sh for the podman comparison.\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
        if [ ! -f "$conf" ] || [ "$(cat "$conf")"$'\n' != "$want" ]; then
                install -d -o "$uid" -g "$gid" -m 0755 "$home/.config" "$home/.config/containers"
                printf '%s' "$want" >"$conf"
                chown "$uid:$gid" "$conf"
        fi
        if [ -d /run/user ] || install -d -m 0755 /run/user; then
                install -d -o "$uid" -g "$gid" -m 0700 "/run/user/$uid"
        fi
done

echo "$TEST_USER: uid $(id -u "$TEST_USER"), subuid $(grep "^$TEST_USER:" /etc/subuid), subgid $(grep "^$TEST_USER:" /etc/subgid)"
echo "$NOSUB_USER: uid $(id -u "$NOSUB_USER"), no subordinate ranges"

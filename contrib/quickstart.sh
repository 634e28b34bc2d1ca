#!/bin/bash
# contrib/quickstart.sh: from a fresh Debian (12) machine to a running
# rootless container, in one command:
#
#   1. installs the build and run-time dependencies (apt-get);
#   2. builds hutch (as you, in build-quickstart/) and installs it in /usr/local;
#   3. gives you subordinate UIDs/GIDs if you have none (usermod --add-subuids);
#   4. makes a small root filesystem from Debian's busybox-static;
#   5. runs a container from it, as you (not root):
#        hutch run --rm --rootfs DIR sh -c 'echo hello from $(hostname); id'
#
# Run it as root or with sudo; with sudo the container runs as the user who
# called sudo, as root otherwise.
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
prefix=${PREFIX:-/usr/local}

say() {
        if [ -t 1 ]; then
                printf '\n\033[1m==> %s\033[0m\n' "$*"
        else
                printf '\n==> %s\n' "$*"
        fi
}

if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
                echo "quickstart needs root to install packages and hutch: re-running with sudo"
                exec sudo "$0" "$@"
        fi
        echo "$0: run this as root (or install sudo): it installs packages with apt-get and hutch in $prefix" >&2
        exit 1
fi

user=root
if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] && id "$SUDO_USER" >/dev/null 2>&1; then
        user=$SUDO_USER
fi
home=$(getent passwd "$user" | cut -d: -f6)
uid=$(id -u "$user")

# as_user CMD...: runs CMD as $user with a sane environment.
as_user() {
        if [ "$user" = root ]; then
                "$@"
                return
        fi
        local -a env=(HOME="$home" USER="$user" LOGNAME="$user" LANG=C.UTF-8
                PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
        if [ -d "/run/user/$uid" ]; then
                env+=(XDG_RUNTIME_DIR="/run/user/$uid")
        fi
        runuser -u "$user" -- env -i "${env[@]}" "$@"
}

say "installing dependencies"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
        build-essential autoconf automake libtool pkg-config \
        libseccomp-dev libcap-dev libslirp-dev libglib2.0-dev libyajl-dev libcurl4-openssl-dev \
        libarchive-dev libssl-dev libsubid-dev \
        uidmap fuse-overlayfs busybox-static

say "building hutch (as $user)"
build=$srcdir/build-quickstart
if [ "$user" != root ] && [ "$(stat -c %u "$srcdir")" != "$uid" ]; then
        # The checkout is not the user's: build as root.
        user_build=no
else
        user_build=yes
fi
build_cmds="cd '$srcdir' && { [ -x configure ] || ./autogen.sh; } && mkdir -p '$build' && cd '$build' &&
        { [ -f Makefile ] || ../configure --prefix='$prefix' --disable-tests; } && make -j$(nproc)"
if [ "$user_build" = yes ]; then
        as_user bash -c "$build_cmds"
else
        bash -c "$build_cmds"
fi

say "installing hutch in $prefix"
make -C "$build" install
hutch=$prefix/bin/hutch

if [ "$user" != root ]; then
        touch /etc/subuid /etc/subgid
        # The first 65536 IDs from 100000 on that neither file hands out yet,
        # the same for UIDs and GIDs.
        start=100000
        while awk -F: -v b="$start" 'NF >= 3 && $2 + 0 < b + 65536 && b < $2 + $3 { f = 1 } END { exit !f }' \
                /etc/subuid /etc/subgid; do
                start=$((start + 65536))
        done
        for kind in uid gid; do
                if ! grep -qE "^($user|$uid):" "/etc/sub$kind"; then
                        say "giving $user subordinate ${kind^^}s $start-$((start + 65535))"
                        usermod "--add-sub${kind}s" "$start-$((start + 65535))" "$user"
                fi
        done
fi

# Distributions ship these 0666; some minimal machines leave them 0600,
# which keeps fuse-overlayfs and user-mode networking from users.
for dev in /dev/net/tun /dev/fuse; do
        if [ -c "$dev" ] && [ "$(stat -c %a "$dev")" = 600 ]; then
                say "making $dev usable by users (mode 0666, as distributions ship it)"
                chmod 0666 "$dev"
        fi
done

say "what this machine allows (hutch info)"
as_user "$hutch" info

say "making a busybox root filesystem"
rootfs=$(as_user mktemp -d /tmp/hutch-quickstart.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
as_user "$srcdir/contrib/mkrootfs-busybox.sh" "$rootfs/rootfs"

say "running a container as $user"
# shellcheck disable=SC2016 # expanded in the container
cmd=(sh -c 'echo hello from $(hostname); id')
echo "\$ hutch run --rm --rootfs $rootfs/rootfs sh -c 'echo hello from \$(hostname); id'"
status=0
as_user "$hutch" run --rm --rootfs "$rootfs/rootfs" "${cmd[@]}" || status=$?
if [ "$status" -eq 0 ]; then
        say "done: hutch is installed as $hutch; try: hutch run --rm --rootfs DIR sh"
else
        echo "the container failed (status $status); 'hutch info' above says what this machine allows" >&2
fi
exit "$status"

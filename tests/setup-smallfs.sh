#!/bin/bash
# setup-smallfs.sh (as root) up|down USER [DIR]: a small filesystem for the
# disk-full tests.
#
#   up    mounts a tmpfs of $HUTCH_TEST_SMALLFS_SIZE (default 40M), mode 0700,
#         owned by USER, at DIR (default /var/tmp/hutch-smallfs-USER) and
#         prints DIR; a tmpfs already there is replaced by an empty one.
#   down  unmounts it and removes DIR.
#
# Idempotent.  tests/run-tests.sh passes DIR to the system tests as
# $HUTCH_TEST_SMALLFS; the tests that need it skip when that is unset.
set -euo pipefail

if [ $# -lt 2 ] || { [ "$1" != up ] && [ "$1" != down ]; }; then
        echo "usage: $0 up|down USER [DIR]" >&2
        exit 2
fi
action=$1 user=$2
dir=${3:-/var/tmp/hutch-smallfs-$user}
size=${HUTCH_TEST_SMALLFS_SIZE:-40M}

if [ "$(id -u)" -ne 0 ]; then
        echo "$0: must run as root (it mounts a tmpfs)" >&2
        exit 1
fi

# Whatever a previous run left: unmounted, even when still busy.
while mountpoint -q "$dir" 2>/dev/null; do
        umount "$dir" 2>/dev/null || umount -l "$dir"
done
if [ "$action" = down ]; then
        rmdir "$dir" 2>/dev/null || true
        exit 0
fi
uid=$(id -u "$user")
gid=$(id -g "$user")
install -d -m 0755 "$dir"
mount -t tmpfs -o "size=$size,mode=0700,uid=$uid,gid=$gid,nosuid,nodev" hutch-smallfs "$dir"
echo "$dir"

#!/bin/bash
# setup-cgroup.sh (as root): delegates cgroups to a test user, as systemd
# does with Delegate=yes, for the pause/unpause tests.
#
#   up USER         makes hutch-test-USER in the cgroup v2 hierarchy and in the
#                   cgroup v1 freezer hierarchy (where each exists), owned by
#                   USER; prints the v2 one (or nothing)
#   exec USER CMD   runs CMD (as root: it is meant to be runuser ...) inside
#                   those cgroups, so that USER's processes start in a
#                   cgroup they may write
#   down USER       kills what is left in them and removes them
#
# Idempotent.  On a machine without cgroups (or without the right to make
# them) "up" prints nothing and "exec" just runs CMD: the tests that need a
# delegated cgroup then skip.
set -euo pipefail

if [ $# -lt 2 ]; then
        echo "usage: $0 up|down USER | exec USER CMD..." >&2
        exit 2
fi
action=$1 user=$2
shift 2
if [ "$(id -u)" -ne 0 ]; then
        echo "$0: must run as root (it creates cgroups)" >&2
        exit 1
fi

v2=
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
        v2=/sys/fs/cgroup
elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        v2=/sys/fs/cgroup/unified
fi
v1=
if [ "$(stat -f -c %T /sys/fs/cgroup/freezer 2>/dev/null)" = cgroupfs ]; then
        v1=/sys/fs/cgroup/freezer
fi
dirs=()
for h in "$v2" "$v1"; do
        [ -n "$h" ] && dirs+=("$h/hutch-test-$user")
done

case "$action" in
up)
        for d in "${dirs[@]}"; do
                if mkdir -p "$d" 2>/dev/null && chown -R "$user:" "$d"; then
                        if [ "${d%/hutch-test-*}" = "$v2" ]; then echo "$d"; fi
                else
                        echo "$0: cannot create '$d': no delegated cgroup there" >&2
                fi
        done
        ;;
exec)
        [ "${1:-}" = -- ] && shift
        for d in "${dirs[@]}"; do
                if [ -w "$d/cgroup.procs" ]; then
                        echo $$ >"$d/cgroup.procs" 2>/dev/null || echo "$0: cannot join '$d'" >&2
                fi
        done
        exec "$@"
        ;;
down)
        for d in "${dirs[@]}"; do
                [ -d "$d" ] || continue
                if [ -e "$d/cgroup.kill" ]; then
                        echo 1 >"$d/cgroup.kill" 2>/dev/null || true
                fi
                if [ -e "$d/freezer.state" ]; then
                        # thawed first: a frozen task dies only once thawed
                        find "$d" -name freezer.state -exec sh -c 'for f; do echo THAWED >"$f"; done' _ {} + 2>/dev/null || true
                        find "$d" -name tasks -exec cat {} + 2>/dev/null | while read -r p; do
                                kill -KILL "$p" 2>/dev/null || true
                        done
                fi
                sleep 0.2
                # children first; a cgroup goes with rmdir once empty
                find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
        done
        ;;
*)
        echo "usage: $0 up|down USER | exec USER CMD..." >&2
        exit 2
        ;;
esac

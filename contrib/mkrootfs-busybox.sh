#!/bin/sh
# mkrootfs-busybox.sh DIR: make a small root filesystem in DIR from Debian's
# busybox-static (package 'busybox-static'), good enough to run a shell, the
# usual tools, nc, httpd and wget in a container:
#
#   DIR/bin/busybox and a symlink per applet in DIR/bin
#   DIR/etc/passwd  root (0), daemon (1), tester (1000, home /home/tester), nobody
#   DIR/etc/group   root, daemon, testers (1000, member tester),
#                   extra (1500, member tester: a supplementary group), nogroup
#   DIR/tmp (1777), DIR/root (0700), DIR/home/tester, DIR/proc, DIR/sys, DIR/dev, ...
#
# Runs as any user; everything is owned by the user who runs it (inside a
# rootless container that is root).  Set BUSYBOX to use another static
# busybox binary.  DIR may exist; files this script writes are replaced.
set -eu

usage() {
        echo "usage: $0 DIR" >&2
        exit 2
}

[ $# -eq 1 ] || usage
case "$1" in
-h | --help) usage ;;
esac
dir=$1
busybox=${BUSYBOX:-/bin/busybox}

if [ ! -x "$busybox" ]; then
        echo "$0: $busybox not found: install the Debian package 'busybox-static' (apt-get install busybox-static)" >&2
        exit 1
fi
# A dynamically linked busybox would need the host's libc inside the rootfs.
if command -v readelf >/dev/null 2>&1 && readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
        echo "$0: $busybox is dynamically linked: install the Debian package 'busybox-static' (apt-get install busybox-static)" >&2
        exit 1
fi

umask 022
mkdir -p "$dir"
cd "$dir"
mkdir -p bin sbin usr/bin usr/sbin etc home/tester root tmp var/tmp run proc sys dev
chmod 1777 tmp var/tmp
chmod 0700 root

cp "$busybox" bin/busybox.tmp
chmod 0755 bin/busybox.tmp
mv -f bin/busybox.tmp bin/busybox

# One symlink per applet, all in /bin (on every PATH).
"$busybox" --list | while read -r applet; do
        case "$applet" in
        busybox | '' | */*) continue ;;
        esac
        ln -sfn busybox "bin/$applet"
done
for applet in sh ls id cat echo sleep touch stat mkdir env pwd hostname kill ps grep wc true false printf test \
        readlink nc httpd wget; do
        if [ ! -L "bin/$applet" ]; then
                echo "$0: $busybox has no '$applet' applet" >&2
                exit 1
        fi
done

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
tester:x:1000:1000:tester:/home/tester:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >etc/group <<'EOF'
root:x:0:
daemon:x:1:
testers:x:1000:tester
extra:x:1500:tester
nogroup:x:65534:
EOF
cat >etc/os-release <<'EOF'
NAME="hutch busybox rootfs"
ID=busybox
PRETTY_NAME="hutch busybox rootfs (made by contrib/mkrootfs-busybox.sh)"
EOF
printf 'busybox\n' >etc/hostname
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >etc/hosts
: >etc/resolv.conf
chmod 0644 etc/passwd etc/group etc/os-release etc/hostname etc/hosts etc/resolv.conf

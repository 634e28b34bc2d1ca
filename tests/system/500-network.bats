#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2030,SC2031 # bats runs each test in a subshell
# shellcheck disable=SC2016 # the container's shell expands these
# Networking: the default slirp network (tap0, 10.0.2.0/24, DNS through
# 10.0.2.3, host loopback refused unless asked for), published ports (TCP and
# UDP, ranges, several at once), the generated /etc files, --network none and
# host, and every kind of bad option.  Traffic goes only to 127.0.0.1/::1 or
# to the container itself; test servers on the host are small Python scripts,
# the UDP server in the container a static helper compiled here.

load helpers

setup_file() {
        basic_setup_file || return 1
        export NETHELP="$BATS_FILE_TMPDIR/nethelp"
        mkdir -p "$NETHELP"
        # A UDP echo server for the container: busybox has none.
        cat >"$NETHELP/udpecho.c" <<'EOF'
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
/* udpecho PORT PREFIX: answers each datagram with PREFIX + the datagram. */
int main(int argc, char **argv)
{
        int fd = socket(AF_INET6, SOCK_DGRAM, 0), zero = 0;
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((unsigned short) atoi(argv[1])) };
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (argc < 3 || fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0)
                return 1;
        for (;;) {
                char buf[2048], out[4096];
                struct sockaddr_storage from;
                socklen_t len = sizeof(from);
                ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *) &from, &len);
                if (n < 0)
                        continue;
                buf[n] = 0;
                int m = snprintf(out, sizeof(out), "%s%s", argv[2], buf);
                sendto(fd, out, (size_t) m, 0, (struct sockaddr *) &from, len);
        }
}
EOF
        if command -v cc >/dev/null 2>&1; then
                cc -static -O2 -o "$ROOTFS/bin/udpecho" "$NETHELP/udpecho.c" 2>/dev/null || rm -f "$ROOTFS/bin/udpecho"
        fi
        # Host-side helpers.
        cat >"$NETHELP/net.py" <<'EOF'
import socket, struct, sys, time

def tcp_get(host, port, tries=100):
    """Sends an HTTP GET and prints the body; retries while the server starts."""
    for _ in range(tries):
        try:
            c = socket.create_connection((host, port), timeout=5)
            c.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                b = c.recv(65536)
                if not b:
                    break
                data += b
            c.close()
            if data:
                print(data.split(b"\r\n\r\n", 1)[1].decode(), end="")
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("no answer from %s:%d" % (host, port))

def udp_ask(host, port, msg, tries=50):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    for _ in range(tries):
        s.sendto(msg.encode(), (host, port))
        try:
            print(s.recvfrom(4096)[0].decode())
            return
        except socket.timeout:
            pass
    sys.exit("no UDP answer from %s:%d" % (host, port))

def hold(port):
    """Keeps a TCP and a UDP socket bound on 127.0.0.1:port until killed."""
    t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", port)); t.listen(5)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", port))
    print("ready", flush=True)
    time.sleep(3600)

def http(port, body):
    """A tiny HTTP server on 127.0.0.1:port answering body to everything."""
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(5); c.recv(4096)
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body.encode()))
        except OSError:
            pass
        c.close()

def dns(port):
    """A test resolver on 127.0.0.1:port: A records are 192.0.2.77 (TEST-NET-1),
    names starting with "nx" do not exist."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    print("ready", flush=True)
    while True:
        q, a = s.recvfrom(4096)
        if len(q) < 17:
            continue
        qid = struct.unpack("!H", q[:2])[0]
        i, labels = 12, []
        while i < len(q) and q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode(errors="replace")); i += 1 + q[i]
        qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
        question = q[12:i + 5]
        name = ".".join(labels)
        if name.startswith("nx"):
            s.sendto(struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question, a)
        elif qtype != 1:
            s.sendto(struct.pack("!HHHHHH", qid, 0x8180, 1, 0, 0, 0) + question, a)
        else:
            ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("192.0.2.77")
            s.sendto(struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + ans, a)

def slam(port):
    """On 127.0.0.1:port, hangs up on every connection: a reset at once, or
    a close after reading a little (the rest unread), in turn."""
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(64)
    print("ready", flush=True)
    n = 0
    while True:
        c, _ = s.accept()
        n += 1
        if n % 2:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            try:
                c.recv(100000); time.sleep(0.05)
            except OSError:
                pass
        c.close()

def flood(host, port, n):
    """Opens n connections at once, sends garbage, closes them all."""
    socks = []
    for _ in range(n):
        try:
            c = socket.socket(); c.setblocking(False)
            c.connect_ex((host, port)); socks.append(c)
        except OSError:
            pass
    time.sleep(0.5)
    for c in socks:
        try:
            c.send(b"x" * 1000)
        except OSError:
            pass
        c.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(5000):
        u.sendto(b"y" * (i % 1400), (host, port))
    print(len(socks))

def sink(port):
    """On 127.0.0.1:port, reads one connection to its end; prints the md5 and
    length of what came."""
    import hashlib
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(1)
    print("ready", flush=True)
    c, _ = s.accept()
    h, n = hashlib.md5(), 0
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(h.hexdigest(), n, flush=True)

def http_yes(port, line, n):
    """On 127.0.0.1:port, answers one HTTP request with the first n bytes of
    `yes line`."""
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(1)
    print("ready", flush=True)
    c, _ = s.accept()
    c.recv(4096)
    unit = (line + "\n").encode()
    data = (unit * (n // len(unit) + 1))[:n]
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % n + data)
    c.close()

def bulk(host, port, webport, gets):
    """Streams data to host:port until gets HTTP GETs of webport, made one
    after another meanwhile (one try each), have all been answered, then 64
    MiB more; hangs up and prints the md5 of what was sent and how the GETs
    went."""
    import hashlib, os, threading
    h, done, got = hashlib.md5(), threading.Event(), []
    def getter():
        for _ in range(gets):
            try:
                g = socket.create_connection((host, webport), timeout=10)
                g.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
                data = b""
                while True:
                    b = g.recv(65536)
                    if not b:
                        break
                    data += b
                g.close()
                got.append(data.split(b"\r\n\r\n", 1)[-1].strip() == b"still-here")
            except OSError as e:
                got.append(False)
        done.set()
    c = socket.create_connection((host, port), timeout=30)
    threading.Thread(target=getter, daemon=True).start()
    seed, i, extra = os.urandom(1 << 20), 0, 64
    while extra > 0:
        chunk = struct.pack("Q", i) + seed[8:]
        c.sendall(chunk)
        h.update(chunk)
        i += 1
        if done.is_set():
            extra -= 1
    c.shutdown(socket.SHUT_WR)
    while c.recv(65536):
        pass
    print(h.hexdigest(), "gets: %d of %d answered" % (got.count(True), gets))

def drain(host, port):
    """Reads host:port to its end; prints the md5 and length of what came."""
    import hashlib
    h, n = hashlib.md5(), 0
    c = socket.create_connection((host, port), timeout=30)
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(h.hexdigest(), n)

def yes_md5(line, n):
    """The md5 and length of the first n bytes of `yes line`."""
    import hashlib
    unit = (line + "\n").encode()
    data = (unit * (n // len(unit) + 1))[:n]
    print(hashlib.md5(data).hexdigest(), n)

r = globals()[sys.argv[1]](*[int(a) if a.isdigit() else a for a in sys.argv[2:]])
if r is not None:
    print(r)
EOF
}

setup() {
        basic_setup || return 1
        require_cmd python3
        case "$BATS_TEST_DESCRIPTION" in
        *"[nosub]"*) ;;
        *)
                if [ ! -w /dev/net/tun ] || [ ! -r /dev/net/tun ]; then
                        skip "/dev/net/tun is not usable by $(id -un)"
                fi
                ;;
        esac
        NETPIDS=()
}

teardown() {
        local p
        for p in "${NETPIDS[@]}"; do
                kill "$p" 2>/dev/null || true
        done
        # detached containers (the --network container: tests)
        if [ -d "${HUTCH_ROOT:-/nonexistent}/containers" ]; then
                "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" ps -aq 2>/dev/null | while read -r p; do
                        "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" rm -f "$p" >/dev/null 2>&1 3>&-
                done
        fi
        basic_teardown
}

net() {
        python3 "$NETHELP/net.py" "$@"
}

# start_py OUT FUNCTION ARGS...: a background helper, waited for until ready.
start_py() {
        local out=$1
        shift
        python3 "$NETHELP/net.py" "$@" >"$out" 2>&1 3>&- &
        NETPIDS+=("$!")
        wait_for_file_content "$out" '^ready$' 10
}

# The container's PID 1 ignores SIGTERM (it has no handler), so containers that
# serve wait for a stop file in their /www volume: stop_container WWWDIR.
WAIT_STOP='while [ ! -e /www/stop ]; do sleep 0.1; done'
stop_container() {
        touch "$1/stop"
        wait_hutch_bg
        assert_equal "$status" 0 "hutch exits cleanly"
}

require_udpecho() {
        [ -x "$ROOTFS/bin/udpecho" ] || skip "no C compiler with static libc to build the UDP helper"
}

@test "network: the default is slirp: tap0 10.0.2.100/24, MTU 65520, route via 10.0.2.2, DNS 10.0.2.3" {
        run_hutch run --rm --rootfs "$ROOTFS" sh -c 'ip -4 addr show tap0; ip route; cat /etc/resolv.conf; ip link show lo'
        assert_match "$output" "tap0: <[^>]*UP[^>]*> mtu 65520"
        assert_match "$output" "inet 10.0.2.100/24"
        assert_match "$output" "default via 10.0.2.2 dev tap0"
        assert_match "$output" "nameserver 10.0.2.3"
        assert_match "$output" "lo: <LOOPBACK,UP"
}

@test "network: slirp options mtu and cidr" {
        run_hutch run --rm --rootfs "$ROOTFS" --network slirp:mtu=1500,cidr=10.99.0.0/24,enable_ipv6=false \
                sh -c 'ip -4 addr show tap0; ip route; cat /etc/resolv.conf'
        assert_match "$output" "mtu 1500"
        assert_match "$output" "inet 10.99.0.100/24"
        assert_match "$output" "default via 10.99.0.2"
        assert_match "$output" "nameserver 10.99.0.3"
}

@test "network: IPv6 on fd00::/64 where the host has IPv6, none with enable_ipv6=false" {
        awk '$4 == "00" && $6 != "lo" { found = 1 } END { exit !found }' /proc/net/if_inet6 2>/dev/null ||
                skip "the host has no global IPv6 address"
        run_hutch run --rm --rootfs "$ROOTFS" sh -c \
                'for i in $(seq 50); do ip -6 addr show tap0 | grep -q "inet6 fd00::" && break; sleep 0.1; done
                 ip -6 addr show tap0; ip -6 route'
        assert_match "$output" "inet6 fd00::[0-9a-f:]+/64 scope global"
        assert_match "$output" "default via fe80::2 dev tap0"
        run_hutch run --rm --rootfs "$ROOTFS" --network slirp:enable_ipv6=false sh -c \
                'sleep 1; ip -6 addr show tap0; ip -6 route'
        assert_not_match "$output" "fd00::"
}

@test "network: -p publishes a TCP server of the container on the host" {
        local port out="$BATS_TEST_TMPDIR/out" www="$BATS_TEST_TMPDIR/www"
        port=$(free_ports 2)
        mkdir -p "$www"
        echo "hello from the container" >"$www/index.html"
        start_hutch_bg "$out" run --rm --rootfs "$ROOTFS" -v "$www:/www:ro" -p "127.0.0.1:$port:80" -p "$((port + 1)):80" \
                sh -c "httpd -p 80 -h /www; $WAIT_STOP"
        run net tcp_get 127.0.0.1 "$port"
        assert_equal "$status" 0 "$output"
        assert_equal "$output" "hello from the container"
        run net tcp_get 127.0.0.1 "$((port + 1))"
        assert_equal "$output" "hello from the container" "no address: every address"
        if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
                run net tcp_get ::1 "$((port + 1))"
                assert_equal "$output" "hello from the container" "no address: IPv6 too"
                run net tcp_get ::1 "$port" 2
                assert "$status" -ne 0 "127.0.0.1:PORT is not published on ::1"
        fi
        stop_container "$www"
}

@test "network: several ports and ranges, TCP and UDP" {
        require_udpecho
        local base out="$BATS_TEST_TMPDIR/out" www="$BATS_TEST_TMPDIR/www"
        base=$(free_ports 6)
        mkdir -p "$www"
        echo "web" >"$www/index.html"
        start_hutch_bg "$out" run --rm --rootfs "$ROOTFS" -v "$www:/www:ro" \
                -p "127.0.0.1:$base-$((base + 1)):8001-8002" \
                -p "$((base + 2)):53/udp" \
                -p "127.0.0.1:$((base + 3))-$((base + 4)):7001-7002/udp" \
                -p "$((base + 5)):9000/tcp,udp" \
                sh -c 'httpd -p 8001 -h /www; httpd -p 8002 -h /www; httpd -p 9000 -h /www
                       udpecho 53 dns- & udpecho 7001 a- & udpecho 7002 b- & udpecho 9000 u9- &
                       '"$WAIT_STOP"
        run net tcp_get 127.0.0.1 "$base"
        assert_equal "$output" web
        run net tcp_get 127.0.0.1 "$((base + 1))"
        assert_equal "$output" web
        run net tcp_get 127.0.0.1 "$((base + 5))"
        assert_equal "$output" web
        run net udp_ask 127.0.0.1 "$((base + 2))" x
        assert_equal "$output" dns-x
        run net udp_ask 127.0.0.1 "$((base + 3))" y
        assert_equal "$output" a-y
        run net udp_ask 127.0.0.1 "$((base + 4))" z
        assert_equal "$output" b-z
        run net udp_ask 127.0.0.1 "$((base + 5))" w
        assert_equal "$output" u9-w
        stop_container "$www"
}

@test "network: the container reaches the host's 127.0.0.1 through 10.0.2.2 only with allow_host_loopback" {
        local port
        port=$(free_ports 1)
        start_py "$BATS_TEST_TMPDIR/http" http "$port" host-loopback-secret
        run_hutch '?' run --rm --rootfs "$ROOTFS" sh -c \
                "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 10.0.2.2 $port"
        assert "$status" -ne 0 "connecting to 10.0.2.2 fails by default"
        assert_not_match "$output" secret
        run_hutch run --rm --rootfs "$ROOTFS" --network slirp:allow_host_loopback=true sh -c \
                "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 10.0.2.2 $port; grep host.containers.internal /etc/hosts"
        assert_match "$output" host-loopback-secret
        assert_match "$output" "10.0.2.2[[:space:]]+host.containers.internal"
}

@test "network: names resolve through 10.0.2.3, answered by the chosen upstream (dns_upstream)" {
        local port
        port=$(free_ports 1)
        start_py "$BATS_TEST_TMPDIR/dns" dns "$port"
        run_hutch '?' run --rm --rootfs "$ROOTFS" --network "slirp:dns_upstream=127.0.0.1:$port" sh -c \
                'nslookup web.example; echo; nslookup nxhost.example; echo status=$?'
        assert_match "$output" "Server:[[:space:]]+10.0.2.3"
        assert_match "$output" "Address:? 192.0.2.77"
        assert_match "$output" "nxhost.example: NXDOMAIN"
        # Host loopback stays refused for everything else.
        run_hutch '?' run --rm --rootfs "$ROOTFS" --network "slirp:dns_upstream=127.0.0.1:$port" sh -c \
                "nc -w 2 10.0.2.2 $port </dev/null"
        assert "$status" -ne 0
}

@test "network: /etc/hosts, /etc/resolv.conf and /etc/hostname are generated, the image's files untouched" {
        local before
        before=$(cat "$ROOTFS/etc/hosts" "$ROOTFS/etc/resolv.conf" "$ROOTFS/etc/hostname" 2>/dev/null | sha256sum)
        run_hutch run --rm --rootfs "$ROOTFS" --hostname box --name web --add-host db.internal:10.1.2.3 \
                --add-host v6host:fd00::10 --dns 192.0.2.53 --dns 2001:db8::53 --dns-search corp.example \
                --dns-search lab.example --dns-option ndots:3 \
                sh -c 'cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hostname; hostname'
        local hosts resolv rest
        hosts=${output%%---*}
        rest=${output#*---}
        resolv=${rest%%---*}
        assert_match "$hosts" "127.0.0.1[[:space:]]+localhost"
        assert_match "$hosts" "::1[[:space:]]+localhost"
        assert_match "$hosts" "10.1.2.3[[:space:]]+db.internal"
        assert_match "$hosts" "fd00::10[[:space:]]+v6host"
        assert_match "$hosts" "10.0.2.100[[:space:]]+box web"
        assert_match "$hosts" "host.containers.internal"
        assert_equal "$(echo "$resolv" | grep -v '^$')" "search corp.example lab.example
nameserver 192.0.2.53
nameserver 2001:db8::53
options ndots:3"
        assert_match "$output" "box
box$"
        assert_equal "$(cat "$ROOTFS/etc/hosts" "$ROOTFS/etc/resolv.conf" "$ROOTFS/etc/hostname" 2>/dev/null | sha256sum)" \
                "$before" "the rootfs keeps its own files"
        run_hutch run --rm --rootfs "$ROOTFS" --dns-search . cat /etc/resolv.conf
        assert_not_match "$output" search
}

@test "network: --network none has only loopback" {
        run_hutch run --rm --rootfs "$ROOTFS" --network none sh -c 'ls /sys/class/net; ip -o link | wc -l; cat /etc/hosts'
        assert_equal "${lines[0]}" lo
        assert_equal "${lines[1]}" 1
        assert_match "$output" "127.0.0.1[[:space:]]+localhost"
        run_hutch '?' run --rm --rootfs "$ROOTFS" --network none nc -w 2 10.0.2.2 80
        assert "$status" -ne 0
}

@test "network: --network host shares the host's interfaces and loopback" {
        local port
        port=$(free_ports 1)
        start_py "$BATS_TEST_TMPDIR/http" http "$port" on-the-host
        run_hutch run --rm --rootfs "$ROOTFS" --network host sh -c \
                "ls /sys/class/net | sort; printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 127.0.0.1 $port"
        assert_match "$output" "$(find /sys/class/net -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | head -1)"
        assert_match "$output" on-the-host
        assert_not_match "$output" tap0
}

@test "network: a host port in use is an error before the container starts" {
        local port
        port=$(free_ports 1)
        start_py "$BATS_TEST_TMPDIR/hold" hold "$port"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -p "127.0.0.1:$port:80" echo ran
        assert_error_message "127.0.0.1:$port/tcp.*already in use"
        assert_not_match "$output" ran
        run_hutch 125 run --rm --rootfs "$ROOTFS" -p "127.0.0.1:$port:53/udp" echo ran
        assert_error_message "127.0.0.1:$port/udp.*already in use"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -p "$port:80" echo ran
        assert_error_message "already in use"
        assert_not_match "$output" ran
}

@test "network: a privileged host port is a clear error" {
        local start
        start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)
        [ "$start" -gt 80 ] || skip "this host lets everyone bind port 80"
        run_hutch 125 run --rm --rootfs "$ROOTFS" -p 127.0.0.1:80:80 echo ran
        assert_error_message "ports below $start are privileged"
        assert_not_match "$output" ran
}

@test "network: bad specs and options are errors (exit 125) before the container starts" {
        local spec
        for spec in 0 65536 80/sctp 80/ abc 1.2.3:8080:80 ::1:8080:80 "[::1]:80" 9000-9001:80-82 90-80 \
                "65535-65536:80-81" 1:2:3:4; do
                run_hutch 125 run --rm --rootfs "$ROOTFS" -p "$spec" echo ran
                assert_error_message "publish spec '"
                assert_match "$stderr" "'$(printf '%s' "$spec" | sed 's/[].[*]/\\&/g')'" "the message quotes the spec"
                assert_not_match "$output" ran
        done
        for spec in bogus container:x "slirp:mtu=100" "slirp:mtu=x" "slirp:cidr=10.0.2.1/24" "slirp:cidr=10.0.0.0/30" \
                "slirp:enable_ipv6=maybe" "slirp:nope=1" "slirp:dns_upstream=nowhere"; do
                run_hutch 125 run --rm --rootfs "$ROOTFS" --network "$spec" echo ran
                assert_error_message "network|slirp option"
                assert_not_match "$output" ran
        done
        run_hutch 125 run --rm --rootfs "$ROOTFS" --dns 1.2.3 echo ran
        assert_error_message "--dns '1.2.3' is not an IP address"
        run_hutch 125 run --rm --rootfs "$ROOTFS" --dns-search "a b" echo ran
        assert_error_message "--dns-search 'a b'"
        run_hutch 125 run --rm --rootfs "$ROOTFS" --dns-option "a b" echo ran
        assert_error_message "--dns-option 'a b'"
        run_hutch 125 run --rm --rootfs "$ROOTFS" --add-host nocolon echo ran
        assert_error_message "--add-host 'nocolon'"
        run_hutch 125 run --rm --rootfs "$ROOTFS" --add-host name:not-an-ip echo ran
        assert_error_message "not an IP address"
        run_hutch 125 run --rm --rootfs "$ROOTFS" --network none -p 8080:80 echo ran
        assert_error_message "only be published with the slirp network"
        run_hutch 125 run --rm --rootfs "$ROOTFS" --network host -p 8080:80 echo ran
        assert_error_message "only be published with the slirp network"
        run_hutch 125 run --rm --rootfs "$ROOTFS" --expose 80:80 echo ran
        assert_error_message "--expose '80:80'"
}

@test "network: -P publishes every --expose port on a free host port" {
        require_cmd ss
        local out="$BATS_TEST_TMPDIR/out" www="$BATS_TEST_TMPDIR/www"
        mkdir -p "$www"
        start_hutch_bg "$out" run --rm --rootfs "$ROOTFS" -v "$www:/www" --expose 8080 --expose 9000-9001/udp -P \
                sh -c "echo up; $WAIT_STOP"
        wait_for_file_content "$out" '^up$'
        # The ports are the monitor's listening sockets.
        local ports
        ports=$(ss -Htlnp 2>/dev/null | grep -c "pid=$HUTCH_PID,")
        assert "$ports" -eq 1 "the monitor listens on one TCP port"
        ports=$(ss -Hulnp 2>/dev/null | grep -c "pid=$HUTCH_PID,")
        assert "$ports" -eq 2 "and on two UDP ports"
        local pf
        pf=$(find "$HUTCH_RUNROOT" -name ports -type f | head -1)
        [ -n "$pf" ] || die "no ports file in the container's state directory"
        assert_match "$(cat "$pf")" "^8080/tcp -> (0\.0\.0\.0|\[::\]):[0-9]+"
        assert_match "$(cat "$pf")" "9001/udp -> "
        stop_container "$www"
}

@test "network: a flood of connections and datagrams does not stop the monitor" {
        local port out="$BATS_TEST_TMPDIR/out" www="$BATS_TEST_TMPDIR/www"
        port=$(free_ports 1)
        mkdir -p "$www"
        echo still-here >"$www/index.html"
        start_hutch_bg "$out" run --rm --rootfs "$ROOTFS" -v "$www:/www:ro" -p "127.0.0.1:$port:80" \
                -p "127.0.0.1:$port:80/udp" sh -c "httpd -p 80 -h /www; $WAIT_STOP"
        run net tcp_get 127.0.0.1 "$port"
        assert_equal "$output" still-here
        run net flood 127.0.0.1 "$port" 500
        assert_equal "$status" 0 "$output"
        run net tcp_get 127.0.0.1 "$port"
        assert_equal "$output" still-here "the server is still reachable after the flood"
        kill -0 "$HUTCH_PID" || die "the monitor died"
        stop_container "$www"
}

@test "network: bulk streams through -p arrive whole both ways and leave the relay to other connections" {
        local port out="$BATS_TEST_TMPDIR/out" www="$BATS_TEST_TMPDIR/www" expected
        port=$(free_ports 3)
        mkdir -p "$www"
        echo still-here >"$www/index.html"
        # The sinks listen before httpd starts: httpd answering means both are there.
        start_hutch_bg "$out" run --rm --rootfs "$ROOTFS" -v "$www:/www" -p "127.0.0.1:$port-$((port + 2)):80-82" \
                sh -c "nc -l -p 81 -e sh -c 'md5sum >/www/sum.tmp; mv /www/sum.tmp /www/sum' &
                       nc -l -p 82 -e sh -c 'yes 0123456789abcdef | head -c 300000000' &
                       until netstat -ltn | grep -q ':81 ' && netstat -ltn | grep -q ':82 '; do sleep 0.1; done
                       httpd -p 80 -h /www; $WAIT_STOP"
        run net tcp_get 127.0.0.1 "$port"
        assert_equal "$output" still-here
        # Host -> container: an endless stream while 20 GETs go through the
        # same relay one after another; the stream ends after they all did.
        run net bulk 127.0.0.1 "$((port + 1))" "$port" 20
        assert_equal "$status" 0 "$output"
        assert_match "$output" "gets: 20 of 20 answered"
        wait_for_file_content "$www/sum" '^[0-9a-f]{32} ' 60
        assert_equal "$(cut -d' ' -f1 "$www/sum")" "${output%% *}" "the container got every byte, in order"
        # Container -> host.
        expected=$(net yes_md5 0123456789abcdef 300000000)
        run net drain 127.0.0.1 "$((port + 2))"
        assert_equal "$status" 0 "$output"
        assert_equal "$output" "$expected" "the host got every byte, in order"
        kill -0 "$HUTCH_PID" || die "the monitor died"
        stop_container "$www"
}

@test "network: streams through slirp arrive whole both ways (container <-> host through 10.0.2.2)" {
        local port out="$BATS_TEST_TMPDIR/out" www="$BATS_TEST_TMPDIR/www" expected
        port=$(free_ports 2)
        mkdir -p "$www"
        start_py "$BATS_TEST_TMPDIR/sink" sink "$port"
        start_py "$BATS_TEST_TMPDIR/source" http_yes "$((port + 1))" 0123456789abcdef 100000000
        start_hutch_bg "$out" run --rm --rootfs "$ROOTFS" -v "$www:/www" --network slirp:allow_host_loopback=true \
                sh -c "yes 0123456789abcdef | head -c 200000000 | nc 10.0.2.2 $port
                       wget -q -O - http://10.0.2.2:$((port + 1))/ | md5sum >/www/sum.tmp; mv /www/sum.tmp /www/sum
                       $WAIT_STOP"
        expected=$(net yes_md5 0123456789abcdef 200000000)
        wait_for_file_content "$BATS_TEST_TMPDIR/sink" '^[0-9a-f]{32} ' 60
        assert_equal "$(tail -n 1 "$BATS_TEST_TMPDIR/sink")" "$expected" "the host got every byte, in order"
        expected=$(net yes_md5 0123456789abcdef 100000000)
        wait_for_file_content "$www/sum" '^[0-9a-f]{32} ' 60
        assert_equal "$(cut -d' ' -f1 "$www/sum")" "${expected%% *}" "the container got every byte, in order"
        stop_container "$www"
}

@test "network: the container's TCP uses reno: its links (the tap to slirp, lo) have no queue to manage" {
        run_hutch run --rm --rootfs "$ROOTFS" cat /proc/sys/net/ipv4/tcp_congestion_control
        assert_equal "$output" reno
}

@test "network: host peers that hang up on the container do not kill the monitor" {
        local port
        port=$(free_ports 1)
        start_py "$BATS_TEST_TMPDIR/slam" slam "$port"
        run_hutch run --rm --rootfs "$ROOTFS" --network slirp:allow_host_loopback=true sh -c \
                "for i in 1 2 3 4 5 6 7 8 9 10; do head -c 4000000 /dev/zero | nc 10.0.2.2 $port; done 2>/dev/null; echo alive"
        assert_equal "$output" alive
}

@test "[nosub] network: an unusable /dev/net/tun names the fix" {
        if [ -r /dev/net/tun ] && [ -w /dev/net/tun ]; then
                skip "/dev/net/tun is usable here"
        fi
        run_hutch 125 run --rm --rootfs "$ROOTFS" echo ran
        assert_error_message "chmod 0666 /dev/net/tun"
        assert_not_match "$output" ran
        run_hutch run --rm --rootfs "$ROOTFS" --network none echo ran
        assert_equal "$output" ran "--network none needs no tun device"
}

# ---- --network container: ----

# import_bb: the busybox rootfs as image bb:net, for kept (detached) containers.
import_bb() {
        local tar="$BATS_FILE_TMPDIR/rootfs.tar"
        [ -e "$tar" ] || tar -C "$ROOTFS" -cf "$tar" .
        run_hutch import "$tar" bb:net
}

# The client's loop: the server in the other container may still be starting.
FETCH='for i in $(seq 100); do wget -q -O - http://127.0.0.1:8080/index.html && exit 0; sleep 0.1; done; exit 1'

@test "network: container:NAME shares a running container's network: localhost, its /etc files, inspect" {
        import_bb
        local www="$BATS_TEST_TMPDIR/www" web
        mkdir -p "$www"
        echo "hello over localhost" >"$www/index.html"
        # A serves on its loopback only: nobody outside its namespace reaches it
        run_hutch run -d --name web -v "$www:/www:ro" bb:net httpd -f -p 127.0.0.1:8080 -h /www
        web=$output
        run_hutch run --rm --network container:web bb:net sh -c "$FETCH"
        assert_equal "$output" "hello over localhost"
        run_hutch '?' run --rm bb:net sh -c 'wget -q -T 2 -O - http://127.0.0.1:8080/index.html'
        assert "$status" -ne 0 "a container with its own network does not see it"

        # A's /etc/hosts, resolv.conf and host name, and A's interfaces
        run_hutch exec web sh -c 'cat /etc/hosts /etc/resolv.conf; hostname'
        local a_files=$output
        run_hutch run --rm --network container:web bb:net sh -c \
                'cat /etc/hosts /etc/resolv.conf; hostname; echo ---; ls /sys/class/net; ip -4 addr show tap0'
        assert_equal "${output%%---*}" "$a_files"$'\n'
        assert_match "$a_files" "${web:0:12}"
        assert_match "$output" "inet 10.0.2.100/24"
        assert_match "$output" "tap0"

        # the other namespaces are its own: PID 1 is its own command
        run_hutch run --rm --network container:web bb:net sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; ps -o comm | grep -c httpd || true'
        assert_match "$output" "^sh -c"
        assert_match "${lines[-1]}" "^0$" "A's processes are not visible"

        # joined by a unique ID prefix; recorded, and shown by inspect, as container:<ID>
        run_hutch create --name joiner --network "container:${web:0:12}" bb:net sh -c "$FETCH"
        run_hutch inspect --format '{{.HostConfig.NetworkMode}}' joiner
        assert_equal "$output" "container:$web"
        run_hutch start -a joiner
        assert_equal "$output" "hello over localhost"
        run_hutch inspect --format '{{.HostConfig.NetworkMode}}' web
        assert_equal "$output" "slirp"

        # renaming the target does not lose it
        run_hutch rename web web2
        run_hutch start -a joiner
        assert_equal "$output" "hello over localhost"

        # the target stopped: a clear error, and the joiner stays as it was
        run_hutch kill web2
        run_hutch wait web2
        run_hutch 125 start -a joiner
        assert_error_message "cannot join the network of container 'web2': it is not running"
        # the target gone: so is the network it names
        run_hutch rm web2
        run_hutch 125 start -a joiner
        assert_error_message "container:$web: no such container"
        run_hutch rm joiner
}

@test "network: a container:-joined container outlives the one whose network it shares" {
        import_bb
        run_hutch run -d --name owner bb:net sleep 1000
        run_hutch run -d --name guest --network container:owner bb:net sleep 1000
        run_hutch exec guest cat /sys/class/net/tap0/carrier
        assert_equal "$output" "1" "owner's slirp is behind tap0"
        run_hutch kill owner
        run_hutch wait owner
        # As in Docker: still running, with what the namespace has left:
        # loopback, and owner's tap0 (persistent, see netns/tap.c) with no
        # one behind it.
        run_hutch exec guest sh -c 'for i in $(seq 50); do [ "$(cat /sys/class/net/tap0/carrier)" = 0 ] && break
                                    sleep 0.1; done; cat /sys/class/net/tap0/carrier /sys/class/net/lo/operstate'
        assert_equal "${lines[0]}" "0" "nothing behind tap0 any more"
        run_hutch ps --format json
        assert_equal "$(jq -r '.[].Names[0]' <<<"$output")" "guest"
        run_hutch rm -f guest
}

@test "network: container: of a container that itself joined one, and of one with the host's network" {
        import_bb
        run_hutch run -d --name a bb:net httpd -f -p 127.0.0.1:8080 -h /etc
        local a=$output
        run_hutch run -d --name b --net=container:a bb:net sleep 1000
        run_hutch inspect --format '{{.HostConfig.NetworkMode}}' b
        assert_equal "$output" "container:$a" "--net=NAME is recorded by ID too"
        run_hutch run --rm --network container:b bb:net sh -c \
                'for i in $(seq 100); do wget -q -O - http://127.0.0.1:8080/hostname && exit 0; sleep 0.1; done; exit 1'
        assert_equal "$output" "${a:0:12}" "the chain ends at a's network"
        run_hutch exec b sh -c 'wget -q -O - http://127.0.0.1:8080/hostname'
        assert_equal "$output" "${a:0:12}" "exec joins b, and so a's network"
        if [ -r /dev/fuse ] && [ -w /dev/fuse ] && command -v fuse-overlayfs >/dev/null; then
                # the monitor mounts fuse-overlayfs through the new container's pidfd
                run_hutch --storage-driver fuse-overlayfs run --rm --network container:a bb:net sh -c \
                        'touch /new && wget -q -O - http://127.0.0.1:8080/hostname'
                assert_equal "$output" "${a:0:12}"
        fi

        run_hutch run -d --name h --network host bb:net sleep 1000
        run_hutch run --rm --network container:h bb:net ls /sys/class/net
        assert_equal "$output" "$(find /sys/class/net -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)" \
                "the host's interfaces"
        run_hutch rm -f a b h
}

@test "network: container: bad specs, conflicting options, a stopped target, other ID maps are errors (exit 125)" {
        import_bb
        run_hutch run -d --name web bb:net sleep 1000
        local spec opt
        for spec in "container:" "container:nosuch" "container:../web" "container:web/x"; do
                run_hutch 125 run --rm --network "$spec" bb:net echo ran
                assert_error_message "--network container:"
                assert_not_match "$output" ran
        done
        for opt in "-p 8080:80" "-P" "--dns 192.0.2.53" "--dns-search corp.example" "--dns-option ndots:2" \
                "--add-host db:10.1.2.3" "--hostname box"; do
                # shellcheck disable=SC2086 # opt is split on purpose
                run_hutch 125 run --rm --network container:web $opt bb:net echo ran
                assert_error_message "conflicting options: .*network mode"
                assert_match "$stderr" "See 'hutch run --help'"
                assert_not_match "$output" ran
                # shellcheck disable=SC2086
                run_hutch 125 create --network=container:web $opt bb:net echo ran
                assert_error_message "conflicting options"
        done
        run_hutch create --name idle bb:net true
        run_hutch 125 run --rm --network container:idle bb:net echo ran
        assert_error_message "cannot join the network of container 'idle': it is not running"
        run_hutch 125 run -d --network container:idle bb:net echo ran
        assert_error_message "cannot join the network of container 'idle': it is not running"
        # without newuidmap this container would get a single-ID map, web has the full one
        HUTCH_NEWUIDMAP=/nonexistent run_hutch 125 run --rm --network container:web bb:net echo ran
        assert_error_message "containers that share a network must share their ID maps"
        assert_not_match "$output" ran
        # nothing refused was kept
        run_hutch ps -a --format json
        assert_equal "$(jq -r '[.[].Names[0]] | sort | join(",")' <<<"$output")" "idle,web"
        run_hutch rm -f web idle
}

# ---- the monitor's own restrictions (issue #5) ----

# monitor_status PID FIELD: a field of /proc/PID/status.
monitor_status() {
        awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

@test "network: the monitor runs with no_new_privs and its own seccomp filter; network, logs, stop, exit status work" {
        import_bb
        local www="$BATS_TEST_TMPDIR/www" port dns pid mon
        mkdir -p "$www"
        echo "served by a restricted monitor" >"$www/index.html"
        port=$(free_ports 2)
        dns=$((port + 1))
        start_py "$BATS_TEST_TMPDIR/dns" dns "$dns"
        run_hutch run -d --name mon --network "slirp:dns_upstream=127.0.0.1:$dns" -p "127.0.0.1:$port:80" \
                -v "$www:/www:ro" bb:net \
                sh -c 'echo started; exec httpd -f -p 80 -h /www'
        run_hutch inspect --format '{{.State.Pid}}' mon
        pid=$output
        mon=$(awk '{ print $4 }' "/proc/$pid/stat")
        assert_equal "$(cat "/proc/$mon/comm")" "hutch" "the container's parent is its monitor"
        assert_equal "$(monitor_status "$mon" NoNewPrivs)" 1
        assert_equal "$(monitor_status "$mon" Seccomp)" 2
        # slirp, the port forwarder and its helper (forked before) still serve
        run net tcp_get 127.0.0.1 "$port"
        assert_equal "$status" 0 "$output"
        assert_equal "$output" "served by a restricted monitor"
        # slirp answers the container (DNS through 10.0.2.3 to our upstream)
        run_hutch exec mon nslookup web.example
        assert_match "$output" "Address:? 192.0.2.77"
        run_hutch logs mon
        assert_equal "$output" "started"
        # stop: SIGTERM is ignored by PID 1 without a handler, then SIGKILL
        run_hutch stop -t 1 mon
        run_hutch inspect --format '{{.State.Status}} {{.State.ExitCode}}' mon
        assert_equal "$output" "exited 137"
        for _ in $(seq 50); do [ -e "/proc/$mon" ] || break; sleep 0.1; done
        [ ! -e "/proc/$mon" ] || [ "$(awk '{ print $3 }' "/proc/$mon/stat")" = Z ] || die "the monitor did not exit"
        # it runs again as it did (`start` makes a new, restricted monitor)
        run_hutch start mon
        run net tcp_get 127.0.0.1 "$port"
        assert_equal "$output" "served by a restricted monitor"
        run_hutch rm -f mon

        # the foreground monitor (hutch itself) too, with --rm: nothing kept, nothing to remove
        local out="$BATS_TEST_TMPDIR/fg"
        start_hutch_bg "$out" run --rm -v "$www:/www" bb:net sh -c "echo up; $WAIT_STOP"
        wait_for_file_content "$out" '^up$'
        assert_equal "$(monitor_status "$HUTCH_PID" NoNewPrivs)" 1
        assert_equal "$(monitor_status "$HUTCH_PID" Seccomp)" 2
        stop_container "$www"
        run_hutch ps -aq
        assert_equal "$output" ""
}

@test "network: a monitor that will run newuidmap again (--rm, --restart) is not restricted, and does its job" {
        import_bb
        local pid mon
        run_hutch run -d --rm --name gone bb:net sleep 1000
        run_hutch inspect --format '{{.State.Pid}}' gone
        pid=$output
        mon=$(awk '{ print $4 }' "/proc/$pid/stat")
        assert_equal "$(monitor_status "$mon" NoNewPrivs)" 0
        assert_equal "$(monitor_status "$mon" Seccomp)" 0
        run_hutch kill gone
        for _ in $(seq 100); do
                run_hutch ps -aq
                [ -z "$output" ] && break
                sleep 0.1
        done
        assert_equal "$output" "" "--rm removed the container (in the storage user namespace)"

        run_hutch run -d --restart on-failure:1 --name again bb:net sh -c 'echo ran; sleep 1; exit 3'
        run_hutch inspect --format '{{.State.Pid}}' again
        mon=$(awk '{ print $4 }' "/proc/$output/stat")
        assert_equal "$(monitor_status "$mon" NoNewPrivs)" 0
        for _ in $(seq 100); do
                run_hutch logs again
                [ "$(grep -c ran <<<"$output")" = 2 ] && break
                sleep 0.1
        done
        assert_equal "$(grep -c ran <<<"$output")" 2 "restarted once through 'hutch start', which needs newuidmap"
        run_hutch rm -f again
}

/* Unit tests for netns/: the parsers and file generators, and, with real
 * sockets, libslirp on the event loop (ARP, the DNS relay) and the TCP port
 * forwarder into a network namespace of a forked child. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/loop.h"
#include "lib/strv.h"
#include "netns/netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct netns_publish publish_ok(const char *spec)
{
        struct netns_publish p;
        struct hutch_error *err = NULL;
        int r = netns_publish_parse(spec, &p, &err);
        if (r < 0)
                fail_msg("'%s': %s", spec, err->msg);
        return p;
}

static void publish_bad(const char *spec, const char *needle)
{
        struct netns_publish p;
        struct hutch_error *err = NULL;
        int r = netns_publish_parse(spec, &p, &err);
        if (r >= 0)
                fail_msg("'%s' was accepted", spec);
        assert_non_null(err);
        if (needle && strstr(err->msg, needle) == NULL)
                fail_msg("'%s': message '%s' lacks '%s'", spec, err->msg, needle);
        hutch_error_free(err);
}

static void test_publish_forms(void **state)
{
        struct netns_publish p;
        char buf[64];
        (void) state;

        p = publish_ok("80");
        assert_int_equal(p.family, AF_UNSPEC);
        assert_int_equal(p.host_port, 0);
        assert_int_equal(p.container_port, 80);
        assert_int_equal(p.count, 1);
        assert_int_equal(p.protocols, NETNS_PROTO_TCP);

        p = publish_ok("8080:80/udp");
        assert_int_equal(p.host_port, 8080);
        assert_int_equal(p.container_port, 80);
        assert_int_equal(p.protocols, NETNS_PROTO_UDP);

        p = publish_ok("127.0.0.1:8080:80/tcp,udp");
        assert_int_equal(p.family, AF_INET);
        assert_int_equal(ntohl(p.host_addr.s_addr), 0x7f000001);
        assert_int_equal(p.protocols, NETNS_PROTO_TCP | NETNS_PROTO_UDP);
        assert_string_equal(netns_publish_host_str(&p, 8080, buf, sizeof(buf)), "127.0.0.1:8080");

        p = publish_ok("127.0.0.1::80");
        assert_int_equal(p.family, AF_INET);
        assert_int_equal(p.host_port, 0);

        p = publish_ok("[::1]:8080:80");
        assert_int_equal(p.family, AF_INET6);
        assert_true(IN6_IS_ADDR_LOOPBACK(&p.host_addr6));
        assert_string_equal(netns_publish_host_str(&p, 8080, buf, sizeof(buf)), "[::1]:8080");

        p = publish_ok("[::]::53/udp");
        assert_int_equal(p.family, AF_INET6);
        assert_int_equal(p.host_port, 0);

        p = publish_ok("9000-9004:8000-8004");
        assert_int_equal(p.host_port, 9000);
        assert_int_equal(p.container_port, 8000);
        assert_int_equal(p.count, 5);

        p = publish_ok("8000-8002");
        assert_int_equal(p.host_port, 0);
        assert_int_equal(p.count, 3);

        p = publish_ok("0:80");
        assert_int_equal(p.host_port, 0);
        p = publish_ok("65535:65535");
        assert_int_equal(p.host_port, 65535);
        assert_string_equal(netns_publish_host_str(&p, 1, buf, sizeof(buf)), "0.0.0.0:1");
}

static void test_publish_bad(void **state)
{
        (void) state;
        publish_bad("", NULL);
        publish_bad("0", "container port");
        publish_bad("65536", "container port");
        publish_bad("80/sctp", "protocol");
        publish_bad("80/", "protocol");
        publish_bad("80/tcp,", "protocol");
        publish_bad("abc", "container port");
        publish_bad("-1", "container port");
        publish_bad("80:", "container port");
        publish_bad("8080:80:90", "not an IP");
        publish_bad("1.2.3:8080:80", "not an IP");
        publish_bad("::1:8080:80", "brackets");
        publish_bad("[::1]8080:80", "IPv6");
        publish_bad("[1.2.3.4]:80:80", "IPv6");
        publish_bad("[::1]:80", "IPv6");
        publish_bad("9000-9001:80-82", "range");
        publish_bad("90-80", "container port");
        publish_bad("65535-65535:80-81", NULL);
        publish_bad("65535-65536:80-81", "host port");
        publish_bad("1:2:3:4", NULL);
        publish_bad("80 ", "container port");
        publish_bad(" 80", "container port");
        publish_bad("+80", "container port");
        publish_bad("1-", "container port");
        publish_bad("99999999999999999999", "container port");
}

static void test_publish_colon_host(void **state)
{
        (void) state;
        /* ":80": an empty host port with no IP is rejected (docker too). */
        struct netns_publish p;
        struct hutch_error *err = NULL;
        int r = netns_publish_parse(":80", &p, &err);
        if (r == 0)
                assert_int_equal(p.host_port, 0);
        hutch_error_free(err);
}

static void test_expose(void **state)
{
        struct netns_publish p;
        struct hutch_error *err = NULL;
        (void) state;

        assert_int_equal(netns_expose_parse("80", &p, &err), 0);
        assert_int_equal(p.container_port, 80);
        assert_int_equal(netns_expose_parse("5000-5009/udp", &p, &err), 0);
        assert_int_equal(p.count, 10);
        assert_int_equal(p.protocols, NETNS_PROTO_UDP);
        assert_true(netns_expose_parse("80:80", &p, &err) < 0);
        hutch_error_clear(&err);
        assert_true(netns_expose_parse("x/tcp", &p, &err) < 0);
        hutch_error_free(err);
}

static void test_slirp_options(void **state)
{
        struct netns_slirp_options o;
        enum netns_mode mode;
        struct hutch_error *err = NULL;
        char a[INET_ADDRSTRLEN];
        (void) state;

        assert_int_equal(netns_mode_parse(NULL, &mode, &o, &err), 0);
        assert_int_equal(mode, NETNS_MODE_SLIRP);
        assert_int_equal(o.mtu, 65520);
        assert_false(o.allow_host_loopback);
        assert_true(o.enable_ipv6);
        assert_string_equal(inet_ntop(AF_INET, &o.guest, a, sizeof(a)), "10.0.2.100");
        assert_string_equal(inet_ntop(AF_INET, &o.gateway, a, sizeof(a)), "10.0.2.2");
        assert_string_equal(inet_ntop(AF_INET, &o.dns, a, sizeof(a)), "10.0.2.3");

        assert_int_equal(netns_mode_parse("none", &mode, &o, &err), 0);
        assert_int_equal(mode, NETNS_MODE_NONE);
        assert_int_equal(netns_mode_parse("host", &mode, &o, &err), 0);
        assert_int_equal(mode, NETNS_MODE_HOST);

        assert_int_equal(netns_mode_parse("slirp:mtu=1500,allow_host_loopback=true,cidr=10.5.0.0/16,enable_ipv6=false,"
                                          "dns_upstream=127.0.0.1:5353",
                                          &mode, &o, &err),
                         0);
        assert_int_equal(o.mtu, 1500);
        assert_true(o.allow_host_loopback);
        assert_false(o.enable_ipv6);
        assert_int_equal(o.prefix_len, 16);
        assert_string_equal(inet_ntop(AF_INET, &o.guest, a, sizeof(a)), "10.5.0.100");
        assert_string_equal(inet_ntop(AF_INET, &o.gateway, a, sizeof(a)), "10.5.0.2");
        assert_true(o.has_dns_upstream);
        assert_int_equal(o.dns_upstream.ss_family, AF_INET);
        assert_int_equal(ntohs(((struct sockaddr_in *) &o.dns_upstream)->sin_port), 5353);

        assert_int_equal(netns_mode_parse("slirp4netns:dns_upstream=[::1]:53", &mode, &o, &err), 0);
        assert_int_equal(o.dns_upstream.ss_family, AF_INET6);
        assert_int_equal(netns_mode_parse("slirp:dns_upstream=9.9.9.9", &mode, &o, &err), 0);
        assert_int_equal(ntohs(((struct sockaddr_in *) &o.dns_upstream)->sin_port), 53);

        static const char *const bad[] = {
                "slirp:mtu=100",
                "slirp:mtu=70000",
                "slirp:mtu=x",
                "slirp:cidr=10.0.2.0",
                "slirp:cidr=10.0.2.1/24",
                "slirp:cidr=10.0.0.0/26",
                "slirp:cidr=foo/24",
                "slirp:cidr=10.0.0.0/4",
                "slirp:enable_ipv6=maybe",
                "slirp:bogus=1",
                "slirp:mtu",
                "slirp:dns_upstream=nope",
                "slirp:dns_upstream=1.2.3.4:0",
                "bridge",
                "container:abc",
                "slirp:allow_host_loopback=",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                if (netns_mode_parse(bad[i], &mode, &o, &err) >= 0)
                        fail_msg("'%s' was accepted", bad[i]);
                assert_non_null(err);
                hutch_error_clear(&err);
        }
}

static void test_names(void **state)
{
        struct hutch_error *err = NULL;
        char *name = NULL, *ip = NULL;
        (void) state;

        assert_true(netns_hostname_valid("web"));
        assert_true(netns_hostname_valid("a-b.example.com"));
        assert_false(netns_hostname_valid(""));
        assert_false(netns_hostname_valid("-a"));
        assert_false(netns_hostname_valid("a..b"));
        assert_false(netns_hostname_valid("a b"));
        assert_false(netns_hostname_valid("a\nb"));
        assert_false(netns_hostname_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));

        assert_int_equal(netns_dns_server_check("1.1.1.1", &err), 0);
        assert_int_equal(netns_dns_server_check("fd00::3", &err), 0);
        assert_true(netns_dns_server_check("1.1.1", &err) < 0);
        hutch_error_clear(&err);
        assert_int_equal(netns_dns_search_check("example.com", &err), 0);
        assert_int_equal(netns_dns_search_check(".", &err), 0);
        assert_true(netns_dns_search_check("bad domain", &err) < 0);
        hutch_error_clear(&err);
        assert_true(netns_dns_search_check("", &err) < 0);
        hutch_error_clear(&err);
        assert_int_equal(netns_dns_option_check("ndots:2", &err), 0);
        assert_true(netns_dns_option_check("a b", &err) < 0);
        hutch_error_clear(&err);
        assert_true(netns_dns_option_check("a\nnameserver 1.2.3.4", &err) < 0);
        hutch_error_clear(&err);

        assert_int_equal(netns_add_host_parse("db:10.0.0.5", &name, &ip, &err), 0);
        assert_string_equal(name, "db");
        assert_string_equal(ip, "10.0.0.5");
        free(name);
        free(ip);
        assert_int_equal(netns_add_host_parse("v6:[fd00::1]", &name, &ip, &err), 0);
        assert_string_equal(ip, "fd00::1");
        free(name);
        free(ip);
        assert_int_equal(netns_add_host_parse("v6b:fd00::1", &name, &ip, &err), 0);
        assert_string_equal(ip, "fd00::1");
        free(name);
        free(ip);
        assert_int_equal(netns_add_host_parse("gw=host-gateway", &name, &ip, &err), 0);
        assert_string_equal(ip, "host-gateway");
        free(name);
        free(ip);
        static const char *const bad[] = { "db", "db:", ":1.2.3.4", "d b:1.2.3.4", "db:1.2.3.4.5", "db:localhost" };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                if (netns_add_host_parse(bad[i], &name, &ip, &err) >= 0)
                        fail_msg("'%s' was accepted", bad[i]);
                hutch_error_clear(&err);
        }
}

static void test_hosts(void **state)
{
        struct hutch_error *err = NULL;
        char *add[] = { "db:10.1.1.1", "gw:host-gateway", NULL };
        struct netns_hosts_params p = {
                .container_ip = "10.0.2.100",
                .hostname = "box",
                .name = "web",
                .host_ip = "10.0.2.2",
                .add_host = add,
        };
        (void) state;

        _cleanup_free_ char *t = netns_hosts_format(&p, &err);
        assert_non_null(t);
        assert_non_null(strstr(t, "127.0.0.1\tlocalhost"));
        assert_non_null(strstr(t, "::1\tlocalhost"));
        assert_non_null(strstr(t, "10.1.1.1\tdb\n"));
        assert_non_null(strstr(t, "10.0.2.2\tgw\n"));
        assert_non_null(strstr(t, "10.0.2.100\tbox web\n"));
        assert_non_null(strstr(t, "10.0.2.2\thost.containers.internal host.docker.internal\n"));
        /* --add-host comes before the container's own names. */
        assert_true(strstr(t, "db\n") < strstr(t, "box web"));

        p.name = "box";
        p.base = "1.2.3.4 hostbox"; /* no trailing newline */
        p.add_host = NULL;
        _cleanup_free_ char *t2 = netns_hosts_format(&p, &err);
        assert_non_null(t2);
        assert_null(strstr(t2, "localhost"));
        assert_non_null(strstr(t2, "1.2.3.4 hostbox\n10.0.2.100\tbox\n"));

        p.host_ip = NULL;
        p.add_host = add;
        assert_null(netns_hosts_format(&p, &err));
        assert_non_null(err);
        hutch_error_free(err);
}

static void test_resolv(void **state)
{
        const char *base = "# comment\nnameserver 127.0.0.53\nnameserver 1.1.1.1 # x\nsearch a.example b.example\n"
                           "options edns0 trust-ad\n";
        char *dns[] = { "9.9.9.9", "fd00::9", NULL };
        char *search[] = { "corp.example", NULL };
        char *opts[] = { "ndots:3", NULL };
        char *none[] = { ".", NULL };
        (void) state;

        _cleanup_free_ char *t1 = netns_resolv_conf_format(base, NULL, NULL, NULL, "10.0.2.3");
        assert_string_equal(t1, "search a.example b.example\nnameserver 10.0.2.3\noptions edns0 trust-ad\n");
        _cleanup_free_ char *t2 = netns_resolv_conf_format(base, NULL, NULL, NULL, NULL);
        assert_string_equal(t2, "search a.example b.example\nnameserver 127.0.0.53\nnameserver 1.1.1.1\n"
                                "options edns0 trust-ad\n");
        _cleanup_free_ char *t3 = netns_resolv_conf_format(base, dns, search, opts, "10.0.2.3");
        assert_string_equal(t3, "search corp.example\nnameserver 9.9.9.9\nnameserver fd00::9\noptions ndots:3\n");
        _cleanup_free_ char *t4 = netns_resolv_conf_format(base, NULL, none, NULL, "10.0.2.3");
        assert_string_equal(t4, "nameserver 10.0.2.3\noptions edns0 trust-ad\n");
        _cleanup_free_ char *t5 = netns_resolv_conf_format(NULL, NULL, NULL, NULL, NULL);
        assert_string_equal(t5, "");
        _cleanup_free_ char *t6 = netns_resolv_conf_format("domain x.example\n", NULL, NULL, NULL, "10.0.2.3");
        assert_string_equal(t6, "search x.example\nnameserver 10.0.2.3\n");
}

static void test_sockaddr(void **state)
{
        struct sockaddr_storage ss;
        socklen_t len;
        (void) state;

        assert_int_equal(netns_sockaddr_parse("127.0.0.1", 53, &ss, &len), 0);
        assert_int_equal(ntohs(((struct sockaddr_in *) &ss)->sin_port), 53);
        assert_int_equal(len, sizeof(struct sockaddr_in));
        assert_int_equal(netns_sockaddr_parse("127.0.0.1:5353", 53, &ss, &len), 0);
        assert_int_equal(ntohs(((struct sockaddr_in *) &ss)->sin_port), 5353);
        assert_int_equal(netns_sockaddr_parse("::1", 53, &ss, &len), 0);
        assert_int_equal(ss.ss_family, AF_INET6);
        assert_int_equal(netns_sockaddr_parse("[::1]:99", 53, &ss, &len), 0);
        assert_int_equal(ntohs(((struct sockaddr_in6 *) &ss)->sin6_port), 99);
        assert_true(netns_sockaddr_parse("[::1", 53, &ss, &len) < 0);
        assert_true(netns_sockaddr_parse("1.2.3.4:", 53, &ss, &len) < 0);
        assert_true(netns_sockaddr_parse("1.2.3.4:65536", 53, &ss, &len) < 0);
        assert_true(netns_sockaddr_parse("[1.2.3.4]:5", 53, &ss, &len) < 0);
        assert_true(netns_sockaddr_parse("", 53, &ss, &len) < 0);
}

/* ---- with real sockets ---- */

static int on_timeout(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        (void) fd;
        (void) events;
        (void) data;
        hutch_loop_quit(loop, -ETIMEDOUT);
        return 0;
}

static int add_timeout(struct hutch_loop *loop, int ms)
{
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
        struct itimerspec its = { .it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L } };
        assert_true(fd >= 0);
        assert_int_equal(timerfd_settime(fd, 0, &its, NULL), 0);
        assert_int_equal(hutch_loop_add(loop, fd, EPOLLIN, on_timeout, NULL), 0);
        return fd;
}

struct frame_wait {
        uint8_t buf[2048];
        ssize_t len;
        uint16_t ethertype;
};

static int on_frame(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct frame_wait *w = data;
        (void) events;
        ssize_t n = recv(fd, w->buf, sizeof(w->buf), MSG_DONTWAIT);
        if (n >= 14 && (w->buf[12] << 8 | w->buf[13]) == w->ethertype) {
                w->len = n;
                hutch_loop_quit(loop, 0);
        }
        return 0;
}

static const uint8_t guest_mac[6] = { 0x02, 0, 0, 0, 0, 0x64 };

static size_t arp_request(uint8_t *f, const char *target)
{
        struct in_addr src, dst;
        (void) inet_pton(AF_INET, "10.0.2.100", &src);
        (void) inet_pton(AF_INET, target, &dst);
        memset(f, 0xff, 6);
        memcpy(f + 6, guest_mac, 6);
        f[12] = 0x08;
        f[13] = 0x06;
        uint8_t *a = f + 14;
        a[0] = 0, a[1] = 1, a[2] = 0x08, a[3] = 0, a[4] = 6, a[5] = 4, a[6] = 0, a[7] = 1;
        memcpy(a + 8, guest_mac, 6);
        memcpy(a + 14, &src, 4);
        memset(a + 18, 0, 6);
        memcpy(a + 24, &dst, 4);
        return 14 + 28;
}

static void test_slirp_arp_and_dns_relay(void **state)
{
        struct hutch_error *err = NULL;
        struct netns_slirp_options o;
        struct netns_slirp *s = NULL;
        int sv[2];
        (void) state;

        /* The upstream resolver: a UDP socket on the loopback. */
        _cleanup_close_ int up = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in ua = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t ualen = sizeof(ua);
        assert_int_equal(bind(up, (struct sockaddr *) &ua, sizeof(ua)), 0);
        assert_int_equal(getsockname(up, (struct sockaddr *) &ua, &ualen), 0);

        netns_slirp_options_init(&o);
        o.has_dns_upstream = true;
        memcpy(&o.dns_upstream, &ua, sizeof(ua));
        o.dns_upstream_len = sizeof(ua);

        /* A datagram socketpair stands in for the tap: one frame per message. */
        assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(netns_slirp_new(&o, sv[0], &s, &err), 0);
        struct hutch_loop *loop = hutch_loop_new();
        assert_int_equal(netns_slirp_attach(s, loop, &err), 0);
        _cleanup_close_ int tfd = add_timeout(loop, 3000);

        /* ARP for the gateway: slirp answers with its own MAC. */
        struct frame_wait w = { .ethertype = 0x0806 };
        uint8_t f[256];
        size_t n = arp_request(f, "10.0.2.2");
        assert_int_equal(hutch_loop_add(loop, sv[1], EPOLLIN, on_frame, &w), 0);
        assert_int_equal(send(sv[1], f, n, 0), (ssize_t) n);
        assert_int_equal(hutch_loop_run(loop), 0);
        assert_int_equal(w.buf[14 + 7], 2); /* ARP reply */
        assert_memory_equal(w.buf, guest_mac, 6);

        /* A DNS query to 10.0.2.3:53 is relayed to the upstream with a new
         * ID, and the answer comes back from 10.0.2.3:53 with the old one. */
        uint8_t q[14 + 20 + 8 + 16];
        memset(q, 0, sizeof(q));
        memcpy(q, w.buf + 6, 6); /* to slirp's MAC */
        memcpy(q + 6, guest_mac, 6);
        q[12] = 0x08;
        uint8_t *ip = q + 14, *udp = q + 34, *dns = q + 42;
        ip[0] = 0x45;
        ip[3] = 20 + 8 + 16;
        ip[8] = 64;
        ip[9] = 17;
        (void) inet_pton(AF_INET, "10.0.2.100", ip + 12);
        (void) inet_pton(AF_INET, "10.0.2.3", ip + 16);
        udp[0] = 0x9c, udp[1] = 0x40; /* 40000 */
        udp[3] = 53;
        udp[5] = 8 + 16;
        dns[0] = 0xab, dns[1] = 0xcd; /* ID */
        memcpy(dns + 2, "question-bytes", 14);
        assert_int_equal(send(sv[1], q, sizeof(q), 0), (ssize_t) sizeof(q));
        /* Run the loop until the relay has sent the query upstream. */
        uint8_t got[64];
        struct sockaddr_in from;
        socklen_t fromlen = sizeof(from);
        ssize_t gn = -1;
        for (int i = 0; i < 100 && gn < 0; i++) {
                _cleanup_close_ int t2 = add_timeout(loop, 10);
                (void) hutch_loop_run(loop);
                (void) hutch_loop_remove(loop, t2);
                gn = recvfrom(up, got, sizeof(got), MSG_DONTWAIT, (struct sockaddr *) &from, &fromlen);
        }
        assert_int_equal(gn, 16);
        assert_memory_equal(got + 2, "question-bytes", 14);
        /* Answer with the relay's ID. */
        memcpy(got + 2, "answer-bytes!!", 14);
        assert_int_equal(sendto(up, got, 16, 0, (struct sockaddr *) &from, fromlen), 16);
        w = (struct frame_wait){ .ethertype = 0x0800 };
        assert_int_equal(hutch_loop_run(loop), 0);
        assert_int_equal(w.len, 14 + 20 + 8 + 16);
        assert_memory_equal(w.buf, guest_mac, 6);
        assert_memory_equal(w.buf + 14 + 12, ip + 16, 4); /* from 10.0.2.3 */
        assert_memory_equal(w.buf + 14 + 16, ip + 12, 4); /* to the guest */
        assert_int_equal(w.buf[34] << 8 | w.buf[35], 53);
        assert_int_equal(w.buf[36] << 8 | w.buf[37], 40000);
        assert_int_equal(w.buf[42], 0xab);
        assert_int_equal(w.buf[43], 0xcd);
        assert_memory_equal(w.buf + 44, "answer-bytes!!", 14);

        /* An answer nobody asked for is dropped. */
        assert_int_equal(sendto(up, got, 16, 0, (struct sockaddr *) &from, fromlen), 16);

        /* A flood of garbage frames does not break it. */
        int sent = 0;
        for (int round = 0; round < 20; round++) {
                for (int i = 0; i < 200; i++) {
                        uint8_t junk[64];
                        for (size_t k = 0; k < sizeof(junk); k++)
                                junk[k] = (uint8_t) (i * 31 + k * 7 + round);
                        if (i % 3 == 0)
                                memcpy(junk, q, sizeof(junk) < sizeof(q) ? sizeof(junk) : sizeof(q));
                        sent += send(sv[1], junk, (size_t) (i % 64), MSG_DONTWAIT) >= 0;
                }
                _cleanup_close_ int t2 = add_timeout(loop, 5);
                (void) hutch_loop_run(loop);
                (void) hutch_loop_remove(loop, t2);
        }
        assert_true(sent > 1000);
        w = (struct frame_wait){ .ethertype = 0x0806 };
        n = arp_request(f, "10.0.2.3");
        assert_int_equal(send(sv[1], f, n, 0), (ssize_t) n);
        assert_int_equal(hutch_loop_run(loop), 0);
        assert_int_equal(w.buf[14 + 7], 2);

        (void) hutch_loop_remove(loop, sv[1]);
        s = netns_slirp_free(s);
        (void) hutch_loop_remove(loop, tfd);
        loop = hutch_loop_free(loop);
        (void) close(sv[1]);
}

static void test_port_in_use(void **state)
{
        struct hutch_error *err = NULL;
        struct netns_portfwd *f = netns_portfwd_new();
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        (void) state;

        int port = netns_portfwd_listen(f, (struct sockaddr *) &a, sizeof(a), 80, false, &err);
        assert_true(port > 0);
        a.sin_port = htons((uint16_t) port);
        assert_true(netns_portfwd_listen(f, (struct sockaddr *) &a, sizeof(a), 80, false, &err) < 0);
        assert_int_equal(err->errnum, EADDRINUSE);
        assert_non_null(strstr(err->msg, "already in use"));
        assert_non_null(strstr(err->msg, "127.0.0.1:"));
        hutch_error_clear(&err);

        _cleanup_close_ int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        a.sin_port = 0;
        assert_int_equal(bind(u, (struct sockaddr *) &a, sizeof(a)), 0);
        socklen_t len = sizeof(a);
        assert_int_equal(getsockname(u, (struct sockaddr *) &a, &len), 0);
        assert_true(netns_portfwd_listen(f, (struct sockaddr *) &a, sizeof(a), 53, true, &err) < 0);
        assert_non_null(strstr(err->msg, "/udp"));
        hutch_error_clear(&err);
        a.sin_port = 0;
        assert_true(netns_portfwd_listen(f, (struct sockaddr *) &a, sizeof(a), 53, true, &err) > 0);
        assert_int_equal(netns_portfwd_count(f), 2);
        f = netns_portfwd_free(f);
}

/* A child in new user and network namespaces runs an echo server on
 * 127.0.0.1:7777 there; the forwarder publishes it on a host port. */
static pid_t spawn_echo_ns(int *ret_ready)
{
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                (void) close(p[0]);
                /* Die with the test, and take every helper along. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0 || netns_loopback_up() < 0)
                        _exit(1);
                int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                struct sockaddr_in a = { .sin_family = AF_INET,
                                         .sin_port = htons(7777),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                if (l < 0 || bind(l, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(l, 16) < 0)
                        _exit(1);
                int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (u < 0 || bind(u, (struct sockaddr *) &a, sizeof(a)) < 0)
                        _exit(1);
                if (fork() == 0) {
                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                        /* UDP: answer "echo:" + the datagram. */
                        for (;;) {
                                char buf[2048];
                                struct sockaddr_storage from;
                                socklen_t flen = sizeof(from);
                                ssize_t n = recvfrom(u, buf + 5, sizeof(buf) - 5, 0, (struct sockaddr *) &from, &flen);
                                if (n < 0)
                                        _exit(1);
                                memcpy(buf, "echo:", 5);
                                (void) sendto(u, buf, (size_t) n + 5, 0, (struct sockaddr *) &from, flen);
                        }
                }
                (void) !write(p[1], "R", 1);
                for (;;) {
                        int c = accept(l, NULL, NULL);
                        if (c < 0)
                                _exit(1);
                        if (fork() == 0) {
                                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                                char buf[65536];
                                ssize_t n;
                                while ((n = read(c, buf, sizeof(buf))) > 0)
                                        if (write(c, buf, (size_t) n) != n)
                                                break;
                                _exit(0);
                        }
                        (void) close(c);
                }
        }
        (void) close(p[1]);
        *ret_ready = p[0];
        return pid;
}

struct echo_client {
        int fd;
        size_t sent, got, total;
        uint8_t *out;
        bool bad;
};

static int on_client(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct echo_client *c = data;
        uint8_t buf[65536];

        if ((events & EPOLLOUT) && c->sent < c->total) {
                ssize_t n = send(fd, c->out + c->sent, c->total - c->sent, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n > 0)
                        c->sent += (size_t) n;
                if (c->sent == c->total)
                        (void) hutch_loop_modify(loop, fd, EPOLLIN);
        }
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN)) {
                        c->bad = true;
                        hutch_loop_quit(loop, -EPIPE);
                        return 0;
                }
                if (n > 0) {
                        if (memcmp(buf, c->out + c->got, (size_t) n) != 0)
                                c->bad = true;
                        c->got += (size_t) n;
                }
                if (c->got == c->total)
                        hutch_loop_quit(loop, 0);
        }
        return 0;
}

static void test_portfwd_relay(void **state)
{
        struct hutch_error *err = NULL;
        int ready;
        char c;
        (void) state;

        pid_t pid = spawn_echo_ns(&ready);
        if (read(ready, &c, 1) != 1) {
                (void) close(ready);
                (void) waitpid(pid, NULL, 0);
                skip(); /* no unprivileged user namespaces here */
        }
        (void) close(ready);

        char path[64];
        (void) snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) pid);
        _cleanup_close_ int userns = open(path, O_RDONLY | O_CLOEXEC);
        (void) snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) pid);
        _cleanup_close_ int netns = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(userns >= 0 && netns >= 0);

        struct netns_portfwd *f = netns_portfwd_new();
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int port = netns_portfwd_listen(f, (struct sockaddr *) &a, sizeof(a), 7777, false, &err);
        assert_true(port > 0);
        assert_int_equal(netns_portfwd_set_target(f, userns, netns, &err), 0);
        struct hutch_loop *loop = hutch_loop_new();
        assert_int_equal(netns_portfwd_attach(f, loop, &err), 0);
        _cleanup_close_ int tfd = add_timeout(loop, 10000);

        /* 8 MiB through the relay and back, checked byte by byte. */
        struct echo_client ec = { .total = 8 << 20 };
        ec.out = malloc(ec.total);
        for (size_t i = 0; i < ec.total; i++)
                ec.out[i] = (uint8_t) (i * 2654435761u >> 13);
        ec.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        a.sin_port = htons((uint16_t) port);
        int r = connect(ec.fd, (struct sockaddr *) &a, sizeof(a));
        assert_true(r == 0 || errno == EINPROGRESS);
        assert_int_equal(hutch_loop_add(loop, ec.fd, EPOLLIN | EPOLLOUT, on_client, &ec), 0);
        assert_int_equal(hutch_loop_run(loop), 0);
        assert_false(ec.bad);
        assert_int_equal(ec.got, ec.total);
        (void) hutch_loop_remove(loop, ec.fd);
        (void) close(ec.fd);

        /* A port nobody listens on inside: the client sees the connection
         * closed, the monitor goes on. */
        struct netns_portfwd *f2 = netns_portfwd_new();
        a.sin_port = 0;
        int port2 = netns_portfwd_listen(f2, (struct sockaddr *) &a, sizeof(a), 7778, false, &err);
        assert_true(port2 > 0);
        assert_int_equal(netns_portfwd_set_target(f2, userns, netns, &err), 0);
        assert_int_equal(netns_portfwd_attach(f2, loop, &err), 0);
        struct echo_client ec2 = { .total = 4, .out = (uint8_t *) "ping" };
        ec2.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        a.sin_port = htons((uint16_t) port2);
        r = connect(ec2.fd, (struct sockaddr *) &a, sizeof(a));
        assert_true(r == 0 || errno == EINPROGRESS);
        assert_int_equal(hutch_loop_add(loop, ec2.fd, EPOLLIN | EPOLLOUT, on_client, &ec2), 0);
        assert_int_equal(hutch_loop_run(loop), -EPIPE);
        (void) hutch_loop_remove(loop, ec2.fd);
        (void) close(ec2.fd);

        /* Many connections at once, all echoed. */
        enum { N = 100 };
        struct echo_client many[N];
        for (int i = 0; i < N; i++) {
                many[i] = (struct echo_client){ .total = 1000, .out = ec.out + i };
                many[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                a.sin_port = htons((uint16_t) port);
                r = connect(many[i].fd, (struct sockaddr *) &a, sizeof(a));
                assert_true(r == 0 || errno == EINPROGRESS);
                assert_int_equal(hutch_loop_add(loop, many[i].fd, EPOLLIN | EPOLLOUT, on_client, &many[i]), 0);
        }
        for (int done = 0; done < N;) {
                assert_int_equal(hutch_loop_run(loop), 0);
                done = 0;
                for (int i = 0; i < N; i++) {
                        assert_false(many[i].bad);
                        done += many[i].got == many[i].total;
                }
        }
        for (int i = 0; i < N; i++) {
                (void) hutch_loop_remove(loop, many[i].fd);
                (void) close(many[i].fd);
        }

        /* UDP: three clients, each gets its own answers. */
        struct netns_portfwd *f3 = netns_portfwd_new();
        a.sin_port = 0;
        int uport = netns_portfwd_listen(f3, (struct sockaddr *) &a, sizeof(a), 7777, true, &err);
        assert_true(uport > 0);
        assert_int_equal(netns_portfwd_set_target(f3, userns, netns, &err), 0);
        assert_int_equal(netns_portfwd_attach(f3, loop, &err), 0);
        a.sin_port = htons((uint16_t) uport);
        int uc[3];
        for (int i = 0; i < 3; i++) {
                uc[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                assert_int_equal(connect(uc[i], (struct sockaddr *) &a, sizeof(a)), 0);
        }
        for (int round = 0; round < 2; round++)
                for (int i = 0; i < 3; i++) {
                        char msg[16], got[64];
                        int len = snprintf(msg, sizeof(msg), "c%d-r%d", i, round);
                        assert_int_equal(send(uc[i], msg, (size_t) len, 0), len);
                        ssize_t gn = -1;
                        for (int k = 0; k < 200 && gn < 0; k++) {
                                _cleanup_close_ int t2 = add_timeout(loop, 10);
                                (void) hutch_loop_run(loop);
                                (void) hutch_loop_remove(loop, t2);
                                gn = recv(uc[i], got, sizeof(got) - 1, MSG_DONTWAIT);
                        }
                        assert_true(gn > 0);
                        got[gn] = '\0';
                        char want[32];
                        (void) snprintf(want, sizeof(want), "echo:%s", msg);
                        assert_string_equal(got, want);
                }
        for (int i = 0; i < 3; i++)
                (void) close(uc[i]);

        f = netns_portfwd_free(f);
        f2 = netns_portfwd_free(f2);
        f3 = netns_portfwd_free(f3);
        (void) hutch_loop_remove(loop, tfd);
        loop = hutch_loop_free(loop);
        free(ec.out);
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_publish_forms),
                cmocka_unit_test(test_publish_bad),
                cmocka_unit_test(test_publish_colon_host),
                cmocka_unit_test(test_expose),
                cmocka_unit_test(test_slirp_options),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_hosts),
                cmocka_unit_test(test_resolv),
                cmocka_unit_test(test_sockaddr),
                cmocka_unit_test(test_slirp_arp_and_dns_relay),
                cmocka_unit_test(test_port_in_use),
                cmocka_unit_test(test_portfwd_relay),
        };
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests_name("netns", tests, NULL, NULL);
}

/* netns/: networking for the container's network namespace.
 *
 * The pieces, and where they run:
 *   config.c   pure parsers (--network slirp:OPTS, -p, --expose, --add-host,
 *              --dns...) and the generators of /etc/hosts, /etc/resolv.conf
 *              and /etc/hostname.  No system calls; unit tested and fuzzed.
 *   tap.c      in the container's child, before pivot_root: "lo" up, the tap
 *              device, its address, MTU and default route.  Leaf code: returns
 *              -errno, never allocates.
 *   slirp.c    in the monitor: libslirp on the monitor's event loop for the
 *              tap fd the child passed back, and an optional DNS relay to a
 *              chosen upstream resolver.
 *   portfwd.c  in the monitor: published ports.  TCP relayed with splice
 *              between a host listener and a connection opened inside the
 *              container's network namespace, UDP per client flow (sockets
 *              made there by a small helper process that joined the
 *              container's user and network namespaces and does nothing
 *              else).
 */
#ifndef HUTCH_NETNS_H
#define HUTCH_NETNS_H

#include "lib/error.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct hutch_loop;

/* Brings up "lo" in the current network namespace (runs in the child);
 * returns -errno. */
int netns_loopback_up(void);

/* ---- configuration (netns/config.c) ---- */

#define NETNS_DEFAULT_MTU 65520
#define NETNS_MTU_MIN     1280  /* IPv6's minimum; smaller links break too much */
#define NETNS_MTU_MAX     65521 /* libslirp's IF_MTU_MAX */
#define NETNS_TAP_NAME    "tap0"

struct netns_slirp_options {
        unsigned int mtu;
        bool allow_host_loopback;
        bool enable_ipv6;        /* when the host has IPv6 too */
        struct in_addr network;  /* 10.0.2.0 */
        unsigned int prefix_len; /* 24 */
        struct in_addr gateway;  /* network + 2: the host, as slirp shows it */
        struct in_addr dns;      /* network + 3 */
        struct in_addr guest;    /* network + 100: the container */
        bool has_dns_upstream;   /* relay DNS to dns_upstream, not the host's resolver */
        struct sockaddr_storage dns_upstream;
        socklen_t dns_upstream_len;
};

/* Fills the defaults (10.0.2.0/24, MTU 65520, IPv6 on, host loopback off). */
void netns_slirp_options_init(struct netns_slirp_options *o);
/* Parses "key=value,..." (mtu, allow_host_loopback, cidr, enable_ipv6,
 * dns_upstream=IP[:PORT] or [IPv6]:PORT) over the current values of *o. */
int netns_slirp_options_parse(const char *s, struct netns_slirp_options *o, struct hutch_error **err);

enum netns_mode {
        NETNS_MODE_SLIRP = 0,
        NETNS_MODE_NONE,
        NETNS_MODE_HOST,
};

/* Parses a --network value: NULL or "" (slirp), "slirp[:OPTS]",
 * "slirp4netns[:OPTS]", "none", "host".  *ret_opts is filled for slirp. */
int netns_mode_parse(const char *s, enum netns_mode *ret_mode, struct netns_slirp_options *ret_opts,
                     struct hutch_error **err);

enum {
        NETNS_PROTO_TCP = 1 << 0,
        NETNS_PROTO_UDP = 1 << 1,
};

/* One -p spec: [ip:][hostPort:]containerPort[/tcp|/udp|/tcp,udp], where
 * ports may be ranges "a-b" of equal length on both sides. */
struct netns_publish {
        int family;                 /* AF_INET, AF_INET6, or AF_UNSPEC (any address, both) */
        struct in6_addr host_addr6; /* when AF_INET6 */
        struct in_addr host_addr;   /* when AF_INET */
        uint16_t host_port;         /* first host port; 0: a free one each */
        uint16_t container_port;    /* first container port */
        uint16_t count;             /* ports in the range, >= 1 */
        unsigned protocols;         /* NETNS_PROTO_* */
};

int netns_publish_parse(const char *spec, struct netns_publish *ret, struct hutch_error **err);
/* --expose PORT[-PORT][/PROTO]: a publish with no host side. */
int netns_expose_parse(const char *spec, struct netns_publish *ret, struct hutch_error **err);
/* Formats the host side of a mapping ("127.0.0.1:8080", "[::1]:80",
 * "0.0.0.0:80") into buf. */
const char *netns_publish_host_str(const struct netns_publish *p, uint16_t port, char *buf, size_t size);

/* Checks one value of each option; the error names the value. */
bool netns_hostname_valid(const char *s);
int netns_dns_server_check(const char *s, struct hutch_error **err);
int netns_dns_search_check(const char *s, struct hutch_error **err);
int netns_dns_option_check(const char *s, struct hutch_error **err);
/* --add-host NAME:IP (IPv6 may be bare or in brackets; "host-gateway" is
 * the host's address); *ret_name and *ret_ip are malloc'd. */
int netns_add_host_parse(const char *spec, char **ret_name, char **ret_ip, struct hutch_error **err);

struct netns_hosts_params {
        const char *base;         /* host's /etc/hosts text to start from (host network), or NULL */
        const char *container_ip; /* address of the container's names, or NULL */
        const char *hostname;     /* may be NULL */
        const char *name;         /* the container's name, may be NULL */
        const char *host_ip;      /* host.containers.internal, or NULL */
        char *const *add_host;    /* "NAME:IP" specs, already checked */
};
/* Returns the text of /etc/hosts (malloc'd). */
char *netns_hosts_format(const struct netns_hosts_params *p, struct hutch_error **err);

/* Returns the text of /etc/resolv.conf (malloc'd).  base is the host's
 * resolv.conf (or NULL); nameservers are dns if any, else default_server if
 * set, else base's; search and options are the given ones, else base's.
 * A search list of just "." means none. */
char *netns_resolv_conf_format(const char *base, char *const *dns, char *const *search, char *const *options,
                               const char *default_server);

/* Parses "IP", "IP:PORT" or "[IPv6]:PORT" (default_port when none). */
int netns_sockaddr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *ret, socklen_t *ret_len);

/* ---- the tap device (netns/tap.c), in the container's child ---- */

struct netns_tap_config {
        unsigned int mtu;
        struct in_addr address;
        unsigned int prefix_len;
        struct in_addr gateway;
        bool enable_ipv6;
};

/* Creates and configures the tap device in the current network namespace
 * and returns its fd (nonblocking, close-on-exec) or -errno; *ret_step names
 * the step that failed.  Async-signal-safe. */
int netns_tap_setup(const struct netns_tap_config *c, const char **ret_step);

/* ---- libslirp on the monitor's loop (netns/slirp.c) ---- */

struct netns_slirp;

/* Takes ownership of tapfd (also on failure). */
int netns_slirp_new(const struct netns_slirp_options *o, int tapfd, struct netns_slirp **ret, struct hutch_error **err);
/* Registers the tap fd, slirp's sockets and timers on the loop (uses the
 * loop's prepare callback). */
int netns_slirp_attach(struct netns_slirp *s, struct hutch_loop *loop, struct hutch_error **err);
struct netns_slirp *netns_slirp_free(struct netns_slirp *s);

/* ---- published ports (netns/portfwd.c) ---- */

struct netns_portfwd;

struct netns_portfwd *netns_portfwd_new(void);
/* Opens (binds, and listens on for TCP) the host side of a published port
 * now, so that a port in use is an error before the container starts.
 * Port 0 picks a free one; returns the port bound. */
int netns_portfwd_listen(struct netns_portfwd *f, const struct sockaddr *host, socklen_t host_len,
                         uint16_t container_port, bool udp, struct hutch_error **err);
/* Starts the helper that makes sockets in the container's network
 * namespace: userns_fd and netns_fd are the container's (kept open). */
int netns_portfwd_set_target(struct netns_portfwd *f, int userns_fd, int netns_fd, struct hutch_error **err);
int netns_portfwd_attach(struct netns_portfwd *f, struct hutch_loop *loop, struct hutch_error **err);
size_t netns_portfwd_count(const struct netns_portfwd *f);
struct netns_portfwd *netns_portfwd_free(struct netns_portfwd *f);

/* An error for a failed bind of a published port ("in use", "privileged"). */
int netns_bind_error(int errnum, const struct sockaddr *host, const char *proto, struct hutch_error **err);

#endif

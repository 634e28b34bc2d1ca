/* Network configuration: pure parsers of the user's options and the
 * generators of the files the container sees.  Nothing here touches the
 * system, so all of it is unit tested and fuzzed. */
#include "config.h"

#include "netns/netns.h"

#include "lib/cleanup.h"
#include "lib/parse.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- a small growable text buffer ---- */

struct sbuf {
        char *s;
        size_t len, cap;
};

static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->s = xrealloc(b->s, b->cap);
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void sbuf_puts(struct sbuf *b, const char *s)
{
        sbuf_add(b, s, strlen(s));
}

static void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *s = xvasprintf(fmt, ap);
        va_end(ap);
        sbuf_puts(b, s);
}

static char *sbuf_steal(struct sbuf *b)
{
        if (b->s == NULL)
                return xstrdup("");
        return steal_ptr(&b->s);
}

/* ---- slirp options ---- */

void netns_slirp_options_init(struct netns_slirp_options *o)
{
        memset(o, 0, sizeof(*o));
        o->mtu = NETNS_DEFAULT_MTU;
        o->enable_ipv6 = true;
        o->allow_host_loopback = false;
        o->network.s_addr = htonl(0x0a000200); /* 10.0.2.0 */
        o->prefix_len = 24;
        o->gateway.s_addr = htonl(0x0a000202);
        o->dns.s_addr = htonl(0x0a000203);
        o->guest.s_addr = htonl(0x0a000264);
}

int netns_sockaddr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *ret, socklen_t *ret_len)
{
        char host[INET6_ADDRSTRLEN + 1];
        const char *port = NULL;
        unsigned int p = default_port;

        if (s == NULL || *s == '\0')
                return -EINVAL;
        if (*s == '[') {
                const char *end = strchr(s, ']');
                if (end == NULL || (size_t) (end - s - 1) >= sizeof(host))
                        return -EINVAL;
                memcpy(host, s + 1, (size_t) (end - s - 1));
                host[end - s - 1] = '\0';
                if (end[1] == ':')
                        port = end + 2;
                else if (end[1] != '\0')
                        return -EINVAL;
        } else {
                const char *colon = strchr(s, ':');
                if (colon && strchr(colon + 1, ':') == NULL) {
                        if ((size_t) (colon - s) >= sizeof(host))
                                return -EINVAL;
                        memcpy(host, s, (size_t) (colon - s));
                        host[colon - s] = '\0';
                        port = colon + 1;
                } else {
                        if (strlen(s) >= sizeof(host))
                                return -EINVAL;
                        strcpy(host, s);
                }
        }
        if (port && (hutch_parse_uint(port, 65535, &p) < 0 || p == 0))
                return -EINVAL;

        memset(ret, 0, sizeof(*ret));
        struct sockaddr_in *sin = (struct sockaddr_in *) ret;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ret;
        if (*s != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
                sin->sin_family = AF_INET;
                sin->sin_port = htons((uint16_t) p);
                *ret_len = sizeof(*sin);
                return 0;
        }
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons((uint16_t) p);
                *ret_len = sizeof(*sin6);
                return 0;
        }
        return -EINVAL;
}

static int parse_cidr(const char *v, struct netns_slirp_options *o, struct hutch_error **err)
{
        char addr[INET_ADDRSTRLEN];
        const char *slash = strchr(v, '/');
        struct in_addr a;
        unsigned int len;

        if (slash == NULL || (size_t) (slash - v) >= sizeof(addr))
                return hutch_error_set(err, EINVAL,
                                       "slirp option cidr='%s': expected ADDRESS/PREFIX such as 10.0.2.0/24", v);
        memcpy(addr, v, (size_t) (slash - v));
        addr[slash - v] = '\0';
        if (inet_pton(AF_INET, addr, &a) != 1)
                return hutch_error_set(err, EINVAL, "slirp option cidr='%s': '%s' is not an IPv4 address", v, addr);
        /* The container is network + 100, so at most a /25. */
        if (hutch_parse_uint(slash + 1, 25, &len) < 0 || len < 8)
                return hutch_error_set(err, EINVAL, "slirp option cidr='%s': the prefix length must be 8 to 25", v);
        uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
        uint32_t net = ntohl(a.s_addr);
        if (net & ~mask)
                return hutch_error_set(err, EINVAL,
                                       "slirp option cidr='%s': host bits are set (did you mean %u.%u.%u.%u/%u?)", v,
                                       (net & mask) >> 24, ((net & mask) >> 16) & 0xff, ((net & mask) >> 8) & 0xff,
                                       (net & mask) & 0xff, len);
        o->network.s_addr = htonl(net);
        o->prefix_len = len;
        o->gateway.s_addr = htonl(net + 2);
        o->dns.s_addr = htonl(net + 3);
        o->guest.s_addr = htonl(net + 100);
        return 0;
}

int netns_slirp_options_parse(const char *s, struct netns_slirp_options *o, struct hutch_error **err)
{
        _cleanup_strv_ char **items = NULL;

        if (s == NULL)
                return 0;
        items = hutch_strv_split(s, ",");
        for (char **it = items; it && *it; it++) {
                char *eq = strchr(*it, '=');
                if (eq == NULL)
                        return hutch_error_set(err, EINVAL, "slirp option '%s': expected KEY=VALUE", *it);
                *eq = '\0';
                const char *k = *it, *v = eq + 1;
                if (STREQ(k, "mtu")) {
                        unsigned int mtu;
                        if (hutch_parse_uint(v, NETNS_MTU_MAX, &mtu) < 0 || mtu < NETNS_MTU_MIN)
                                return hutch_error_set(err, EINVAL,
                                                       "slirp option mtu='%s': expected a number from %d to %d", v,
                                                       NETNS_MTU_MIN, NETNS_MTU_MAX);
                        o->mtu = mtu;
                } else if (STREQ(k, "allow_host_loopback")) {
                        if (hutch_parse_bool(v, &o->allow_host_loopback) < 0)
                                return hutch_error_set(err, EINVAL,
                                                       "slirp option allow_host_loopback='%s': expected true or false",
                                                       v);
                } else if (STREQ(k, "enable_ipv6")) {
                        if (hutch_parse_bool(v, &o->enable_ipv6) < 0)
                                return hutch_error_set(err, EINVAL,
                                                       "slirp option enable_ipv6='%s': expected true or false", v);
                } else if (STREQ(k, "cidr")) {
                        int r = parse_cidr(v, o, err);
                        if (r < 0)
                                return r;
                } else if (STREQ(k, "dns_upstream")) {
                        if (netns_sockaddr_parse(v, 53, &o->dns_upstream, &o->dns_upstream_len) < 0)
                                return hutch_error_set(
                                        err, EINVAL,
                                        "slirp option dns_upstream='%s': expected IP, IP:PORT or [IPv6]:PORT", v);
                        o->has_dns_upstream = true;
                } else {
                        return hutch_error_set(
                                err, EINVAL,
                                "unknown slirp option '%s' (known: mtu, allow_host_loopback, cidr, enable_ipv6, "
                                "dns_upstream)",
                                k);
                }
        }
        return 0;
}

int netns_mode_parse(const char *s, enum netns_mode *ret_mode, struct netns_slirp_options *ret_opts,
                     struct hutch_error **err)
{
        netns_slirp_options_init(ret_opts);
        if (s == NULL || *s == '\0' || STREQ(s, "slirp") || STREQ(s, "slirp4netns") || STREQ(s, "private")) {
                *ret_mode = NETNS_MODE_SLIRP;
                return 0;
        }
        if (STREQ(s, "none")) {
                *ret_mode = NETNS_MODE_NONE;
                return 0;
        }
        if (STREQ(s, "host")) {
                *ret_mode = NETNS_MODE_HOST;
                return 0;
        }
        const char *opts = NULL;
        if (strncmp(s, "slirp:", 6) == 0)
                opts = s + 6;
        else if (strncmp(s, "slirp4netns:", 12) == 0)
                opts = s + 12;
        if (opts) {
                int r = netns_slirp_options_parse(opts, ret_opts, err);
                if (r < 0)
                        return hutch_error_prefix(err, "--network '%s'", s);
                *ret_mode = NETNS_MODE_SLIRP;
                return 0;
        }
        if (strncmp(s, "container:", 10) == 0 || strncmp(s, "ns:", 3) == 0)
                return hutch_error_set(err, ENOTSUP, "--network '%s' is not supported yet", s);
        return hutch_error_set(err, EINVAL, "unknown network mode '%s' (use slirp[:OPTIONS], none or host)", s);
}

/* ---- published ports ---- */

/* "80" or "8000-8010" into [*first, *first + *count). */
static int parse_port_range(const char *s, bool allow_zero, uint16_t *first, uint16_t *count)
{
        char buf[16];
        unsigned int a, b;
        const char *dash;

        if (strlen(s) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, s);
        dash = strchr(s, '-');
        if (dash) {
                buf[dash - s] = '\0';
                if (hutch_parse_uint(buf, 65535, &a) < 0 || hutch_parse_uint(buf + (dash - s) + 1, 65535, &b) < 0)
                        return -EINVAL;
                if (a == 0 || b < a)
                        return -EINVAL;
        } else {
                if (hutch_parse_uint(buf, 65535, &a) < 0)
                        return -EINVAL;
                if (a == 0 && !allow_zero)
                        return -EINVAL;
                b = a;
        }
        *first = (uint16_t) a;
        *count = (uint16_t) (b - a + 1);
        return 0;
}

static int parse_protocols(const char *s, unsigned *ret)
{
        _cleanup_strv_ char **v = NULL;
        unsigned p = 0;

        if (*s == '\0')
                return -EINVAL;
        v = hutch_strv_split(s, ",");
        for (char **it = v; it && *it; it++) {
                if (STREQ(*it, "tcp"))
                        p |= NETNS_PROTO_TCP;
                else if (STREQ(*it, "udp"))
                        p |= NETNS_PROTO_UDP;
                else
                        return -EINVAL;
        }
        if (p == 0 || s[strlen(s) - 1] == ',' || *s == ',')
                return -EINVAL;
        *ret = p;
        return 0;
}

/* Splits off "/proto"; returns the protocols or < 0. */
static int split_protocol(char *spec, unsigned *ret)
{
        char *slash = strrchr(spec, '/');
        if (slash == NULL) {
                *ret = NETNS_PROTO_TCP;
                return 0;
        }
        *slash = '\0';
        return parse_protocols(slash + 1, ret);
}

int netns_publish_parse(const char *spec, struct netns_publish *ret, struct hutch_error **err)
{
        _cleanup_free_ char *s = NULL;
        struct netns_publish p = { .family = AF_UNSPEC };
        char *ip = NULL, *host = NULL, *ctr = NULL;

        if (spec == NULL || *spec == '\0' || strlen(spec) > 128)
                return hutch_error_set(err, EINVAL, "invalid publish spec '%s'", spec ? spec : "");
        s = xstrdup(spec);
        if (split_protocol(s, &p.protocols) < 0)
                return hutch_error_set(err, EINVAL, "publish spec '%s': the protocol must be tcp, udp or tcp,udp",
                                       spec);

        if (*s == '[') {
                char *end = strchr(s, ']');
                if (end == NULL || end[1] != ':')
                        return hutch_error_set(err, EINVAL, "publish spec '%s': expected [IPv6]:HOSTPORT:CONTAINERPORT",
                                               spec);
                *end = '\0';
                ip = s + 1;
                host = end + 2;
                char *colon = strchr(host, ':');
                if (colon == NULL)
                        return hutch_error_set(err, EINVAL, "publish spec '%s': expected [IPv6]:HOSTPORT:CONTAINERPORT",
                                               spec);
                *colon = '\0';
                ctr = colon + 1;
                if (inet_pton(AF_INET6, ip, &p.host_addr6) != 1)
                        return hutch_error_set(err, EINVAL, "publish spec '%s': '%s' is not an IPv6 address", spec, ip);
                p.family = AF_INET6;
        } else {
                char *c1 = strchr(s, ':');
                char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2 && strchr(c2 + 1, ':'))
                        return hutch_error_set(err, EINVAL,
                                               "publish spec '%s': too many ':' (write an IPv6 address in brackets, "
                                               "[::1]:8080:80)",
                                               spec);
                if (c2) {
                        *c1 = *c2 = '\0';
                        ip = s;
                        host = c1 + 1;
                        ctr = c2 + 1;
                } else if (c1) {
                        *c1 = '\0';
                        host = s;
                        ctr = c1 + 1;
                } else {
                        ctr = s;
                }
                if (ip) {
                        if (inet_pton(AF_INET, ip, &p.host_addr) == 1)
                                p.family = AF_INET;
                        else if (inet_pton(AF_INET6, ip, &p.host_addr6) == 1)
                                p.family = AF_INET6;
                        else
                                return hutch_error_set(err, EINVAL, "publish spec '%s': '%s' is not an IP address",
                                                       spec, ip);
                }
        }

        if (parse_port_range(ctr, false, &p.container_port, &p.count) < 0)
                return hutch_error_set(err, EINVAL,
                                       "publish spec '%s': container port '%s' must be a port (1-65535) or a range",
                                       spec, ctr);
        if (host && *host) {
                uint16_t hcount;
                if (parse_port_range(host, true, &p.host_port, &hcount) < 0)
                        return hutch_error_set(err, EINVAL,
                                               "publish spec '%s': host port '%s' must be a port (0-65535) or a range",
                                               spec, host);
                if (p.host_port == 0 && p.count > 1)
                        hcount = p.count;
                if (hcount != p.count)
                        return hutch_error_set(err, EINVAL,
                                               "publish spec '%s': the host range has %u ports, the container range %u",
                                               spec, hcount, p.count);
                if (p.host_port && (unsigned) p.host_port + p.count - 1 > 65535)
                        return hutch_error_set(err, EINVAL, "publish spec '%s': host port range past 65535", spec);
        }
        *ret = p;
        return 0;
}

int netns_expose_parse(const char *spec, struct netns_publish *ret, struct hutch_error **err)
{
        _cleanup_free_ char *s = NULL;
        struct netns_publish p = { .family = AF_UNSPEC };

        if (spec == NULL || strlen(spec) > 32)
                return hutch_error_set(err, EINVAL, "invalid --expose '%s'", spec ? spec : "");
        s = xstrdup(spec);
        if (split_protocol(s, &p.protocols) < 0)
                return hutch_error_set(err, EINVAL, "--expose '%s': the protocol must be tcp, udp or tcp,udp", spec);
        if (parse_port_range(s, false, &p.container_port, &p.count) < 0)
                return hutch_error_set(err, EINVAL, "--expose '%s': expected PORT[-PORT][/PROTOCOL]", spec);
        *ret = p;
        return 0;
}

const char *netns_publish_host_str(const struct netns_publish *p, uint16_t port, char *buf, size_t size)
{
        char a[INET6_ADDRSTRLEN] = "0.0.0.0";

        if (p->family == AF_INET6) {
                (void) inet_ntop(AF_INET6, &p->host_addr6, a, sizeof(a));
                (void) snprintf(buf, size, "[%s]:%u", a, port);
        } else {
                if (p->family == AF_INET)
                        (void) inet_ntop(AF_INET, &p->host_addr, a, sizeof(a));
                (void) snprintf(buf, size, "%s:%u", a, port);
        }
        return buf;
}

/* ---- names and DNS ---- */

bool netns_hostname_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0, label = 0;

        if (n == 0 || n > 64 || *s == '.' || *s == '-' || s[n - 1] == '.' || s[n - 1] == '-')
                return false;
        for (const char *p = s; *p; p++) {
                if (*p == '.') {
                        if (label == 0 || p[-1] == '-' || p[1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                      *p == '_'))
                        return false;
                if (++label > 63)
                        return false;
        }
        return true;
}

static bool ip_valid(const char *s)
{
        struct in6_addr a;
        return s && (inet_pton(AF_INET, s, &a) == 1 || inet_pton(AF_INET6, s, &a) == 1);
}

int netns_dns_server_check(const char *s, struct hutch_error **err)
{
        if (!ip_valid(s))
                return hutch_error_set(err, EINVAL, "--dns '%s' is not an IP address", s ? s : "");
        return 0;
}

int netns_dns_search_check(const char *s, struct hutch_error **err)
{
        static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
        size_t n = s ? strlen(s) : 0;

        if (n == 1 && *s == '.')
                return 0; /* no search domains */
        if (n == 0 || n > 253 || strspn(s, ok) != n || *s == '.' || *s == '-' || strstr(s, ".."))
                return hutch_error_set(err, EINVAL, "--dns-search '%s' is not a domain name", s ? s : "");
        return 0;
}

int netns_dns_option_check(const char *s, struct hutch_error **err)
{
        if (s == NULL || *s == '\0' || strlen(s) > 64 || strpbrk(s, " \t\r\n#;"))
                return hutch_error_set(err, EINVAL, "--dns-option '%s' must be one word such as ndots:2", s ? s : "");
        return 0;
}

int netns_add_host_parse(const char *spec, char **ret_name, char **ret_ip, struct hutch_error **err)
{
        const char *sep;
        _cleanup_free_ char *name = NULL, *ip = NULL;

        if (spec == NULL)
                return hutch_error_set(err, EINVAL, "invalid --add-host");
        sep = strpbrk(spec, ":=");
        if (sep == NULL || strlen(spec) > 320)
                return hutch_error_set(err, EINVAL, "--add-host '%s': expected NAME:IP", spec);
        name = xstrndup(spec, (size_t) (sep - spec));
        ip = xstrdup(sep + 1);
        size_t n = strlen(ip);
        if (n > 2 && ip[0] == '[' && ip[n - 1] == ']') {
                memmove(ip, ip + 1, n - 2);
                ip[n - 2] = '\0';
        }
        if (!netns_hostname_valid(name))
                return hutch_error_set(err, EINVAL, "--add-host '%s': '%s' is not a valid host name", spec, name);
        if (!STREQ(ip, "host-gateway") && !ip_valid(ip))
                return hutch_error_set(err, EINVAL, "--add-host '%s': '%s' is not an IP address", spec, ip);
        *ret_name = steal_ptr(&name);
        *ret_ip = steal_ptr(&ip);
        return 0;
}

char *netns_hosts_format(const struct netns_hosts_params *p, struct hutch_error **err)
{
        struct sbuf b = { 0 };

        if (p->base) {
                sbuf_puts(&b, p->base);
                if (b.len && b.s[b.len - 1] != '\n')
                        sbuf_puts(&b, "\n");
        } else {
                sbuf_puts(&b, "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n"
                              "::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n");
        }
        for (char *const *h = p->add_host; h && *h; h++) {
                _cleanup_free_ char *name = NULL, *ip = NULL;
                if (netns_add_host_parse(*h, &name, &ip, err) < 0) {
                        free(b.s);
                        return NULL;
                }
                if (STREQ(ip, "host-gateway")) {
                        if (p->host_ip == NULL) {
                                free(b.s);
                                (void) hutch_error_set(err, EINVAL,
                                                       "--add-host '%s': this network has no host gateway address", *h);
                                return NULL;
                        }
                        sbuf_printf(&b, "%s\t%s\n", p->host_ip, name);
                } else {
                        sbuf_printf(&b, "%s\t%s\n", ip, name);
                }
        }
        if (p->container_ip && (p->hostname || p->name)) {
                sbuf_printf(&b, "%s\t", p->container_ip);
                if (p->hostname)
                        sbuf_puts(&b, p->hostname);
                if (p->name && !(p->hostname && STREQ(p->name, p->hostname)))
                        sbuf_printf(&b, "%s%s", p->hostname ? " " : "", p->name);
                sbuf_puts(&b, "\n");
        }
        if (p->host_ip)
                sbuf_printf(&b, "%s\thost.containers.internal host.docker.internal\n", p->host_ip);
        return sbuf_steal(&b);
}

/* Appends the words after the keyword of every matching line of base. */
static void resolv_collect(const char *base, const char *key, char ***ret)
{
        _cleanup_strv_ char **lines = NULL;

        if (base == NULL)
                return;
        lines = hutch_strv_split(base, "\n");
        for (char **l = lines; l && *l; l++) {
                _cleanup_strv_ char **w = hutch_strv_split(*l, " \t\r");
                if (w == NULL || w[0] == NULL || w[0][0] == '#' || w[0][0] == ';')
                        continue;
                bool match = STREQ(w[0], key) || (STREQ(key, "search") && STREQ(w[0], "domain"));
                if (!match)
                        continue;
                /* The last search or domain line wins, as in glibc. */
                if (STREQ(key, "search"))
                        *ret = hutch_strv_free(*ret);
                for (char **x = w + 1; *x && (*x)[0] != '#' && (*x)[0] != ';'; x++)
                        hutch_strv_append(ret, *x);
        }
}

char *netns_resolv_conf_format(const char *base, char *const *dns, char *const *search, char *const *options,
                               const char *default_server)
{
        struct sbuf b = { 0 };
        _cleanup_strv_ char **servers = NULL, **srch = NULL, **opts = NULL;

        if (dns && *dns)
                servers = hutch_strv_copy(dns);
        else if (default_server)
                hutch_strv_append(&servers, default_server);
        else
                resolv_collect(base, "nameserver", &servers);
        if (search && *search)
                srch = hutch_strv_copy(search);
        else
                resolv_collect(base, "search", &srch);
        if (options && *options)
                opts = hutch_strv_copy(options);
        else
                resolv_collect(base, "options", &opts);

        /* "." means no search domain. */
        size_t n_search = 0;
        for (char **s = srch; s && *s; s++)
                n_search += !STREQ(*s, ".");
        if (n_search > 0) {
                sbuf_puts(&b, "search");
                for (char **s = srch; *s; s++)
                        if (!STREQ(*s, "."))
                                sbuf_printf(&b, " %s", *s);
                sbuf_puts(&b, "\n");
        }
        for (char **s = servers; s && *s; s++)
                sbuf_printf(&b, "nameserver %s\n", *s);
        if (opts && opts[0]) {
                sbuf_puts(&b, "options");
                for (char **s = opts; *s; s++)
                        sbuf_printf(&b, " %s", *s);
                sbuf_puts(&b, "\n");
        }
        return sbuf_steal(&b);
}

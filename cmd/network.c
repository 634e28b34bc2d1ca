/* Networking for `hutch run`: turns the user's options into netns/ objects
 * and runtime/ settings, and runs the hooks that carry the tap device from
 * the container's child to the monitor.
 *
 * Hook protocol over the runtime's SOCK_SEQPACKET pair (slirp mode):
 *   1. C (container child, in its new user and network namespaces, before
 *      pivot_root): "lo" up, makes and configures the tap device.
 *   2. C -> P: struct net_status {errno, failed step}; then, on success, the
 *      tap fd (SCM_RIGHTS).
 *   3. P (parent, future monitor): keeps the tap fd; when TCP ports are
 *      published, forks the socket helper into the child's user and network
 *      namespaces (netns/portfwd.c).
 *
 * --network container:ID has no hooks: runtime/ makes the container inside
 * the other one's user and network namespaces (runtime_config.join_*), and
 * the monitor runs no slirp or forwarders of its own; the other container's
 * monitor serves the namespace for as long as that container runs.
 */
#include "config.h"

#include "cmd/network.h"

#include "cmd/cmd.h"
#include "cmd/paths.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "netns/netns.h"
#include "runtime/runtime.h"
#include "storage/containers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct net_mapping {
        unsigned proto; /* one NETNS_PROTO_* */
        struct sockaddr_storage host;
        socklen_t host_len;
        uint16_t container_port;
};

struct cmd_network {
        enum netns_mode mode;
        struct netns_slirp_options slirp_opts;
        struct netns_tap_config tap;
        struct net_mapping *maps;
        size_t n_maps;
        size_t n_fwd;
        struct netns_portfwd *fwd;
        struct netns_slirp *slirp;
        int tapfd;
        char **owned;   /* strings of the bind mounts added to cfg->mounts */
        bool join;      /* --network container: */
        int join_pidfd; /* that container's init */
};

struct net_status {
        int32_t errnum;
        char step[96];
};

/* ---- hooks ---- */

static int hook_child_none(void *ctx, int sock)
{
        (void) ctx;
        (void) sock;
        return netns_loopback_up();
}

static int hook_parent_none(void *ctx, pid_t pid, int pidfd, int sock, struct hutch_error **err)
{
        (void) ctx;
        (void) pid;
        (void) pidfd;
        (void) sock;
        (void) err;
        return 0;
}

/* In the container's child: leaf code, no allocation. */
static int hook_child_slirp(void *ctx, int sock)
{
        struct cmd_network *net = ctx;
        struct net_status st;
        const char *step = "bring up lo";
        int fd = -1, r;

        memset(&st, 0, sizeof(st));
        r = netns_loopback_up();
        if (r >= 0)
                r = fd = netns_tap_setup(&net->tap, &step);
        if (r < 0) {
                st.errnum = -r;
                (void) snprintf(st.step, sizeof(st.step), "%s", step);
        }
        if (send(sock, &st, sizeof(st), MSG_NOSIGNAL) != (ssize_t) sizeof(st)) {
                r = -errno;
                if (fd >= 0)
                        (void) close(fd);
                return r;
        }
        if (fd < 0)
                return r;
        r = hutch_send_fd(sock, fd);
        (void) close(fd);
        return r < 0 ? r : 0;
}

static int tap_error(const struct net_status *st, struct hutch_error **err)
{
        int e = st->errnum;

        if (strstr(st->step, "/dev/net/tun")) {
                if (e == EACCES || e == EPERM)
                        return hutch_error_set(err, e,
                                               "cannot open /dev/net/tun for the slirp network: it must be usable by "
                                               "everyone, as distributions ship it; fix it with 'sudo chmod 0666 "
                                               "/dev/net/tun', or use --network none or host");
                if (e == ENOENT || e == ENODEV || e == ENXIO)
                        return hutch_error_set(
                                err, e,
                                "cannot open /dev/net/tun for the slirp network: the tun driver is "
                                "missing; load it with 'sudo modprobe tun', or use --network none or host");
        }
        return hutch_error_set(err, e, "cannot %s in the container's network namespace", st->step);
}

static int open_ns(pid_t pid, const char *ns, struct hutch_error **err)
{
        char path[64];
        (void) snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int) pid, ns);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return hutch_error_set(err, errno, "cannot open %s", path);
        return fd;
}

static int hook_parent_slirp(void *ctx, pid_t pid, int pidfd, int sock, struct hutch_error **err)
{
        struct cmd_network *net = ctx;
        struct net_status st;
        ssize_t n;
        (void) pidfd;

        do
                n = recv(sock, &st, sizeof(st), 0);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t) sizeof(st))
                return hutch_error_set(err, n < 0 ? errno : EPIPE, "no network status from the container");
        st.step[sizeof(st.step) - 1] = '\0';
        if (st.errnum != 0)
                return tap_error(&st, err);
        int fd = hutch_recv_fd(sock);
        if (fd < 0)
                return hutch_error_set(err, -fd, "cannot receive the tap device from the container");
        net->tapfd = fd;

        if (net->n_fwd > 0) {
                _cleanup_close_ int userns = open_ns(pid, "user", err);
                if (userns < 0)
                        return userns;
                _cleanup_close_ int netns = open_ns(pid, "net", err);
                if (netns < 0)
                        return netns;
                if (netns_portfwd_set_target(net->fwd, userns, netns, err) < 0)
                        return hutch_error_value(*err);
        }
        return 0;
}

/* ---- published ports ---- */

static bool ipv6_sockets_work(void)
{
        int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        (void) close(fd);
        return true;
}

static void host_sockaddr(const struct netns_publish *p, unsigned proto, uint16_t port, struct sockaddr_storage *ss,
                          socklen_t *len)
{
        memset(ss, 0, sizeof(*ss));
        int family = p->family;
        /* No address: every address, both families where the host has
         * IPv6 (a dual-stack socket). */
        (void) proto;
        if (family == AF_UNSPEC)
                family = ipv6_sockets_work() ? AF_INET6 : AF_INET;
        if (family == AF_INET6) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons(port);
                s6->sin6_addr = p->family == AF_INET6 ? p->host_addr6 : in6addr_any;
                *len = sizeof(*s6);
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
                s4->sin_family = AF_INET;
                s4->sin_port = htons(port);
                s4->sin_addr.s_addr = p->family == AF_INET ? p->host_addr.s_addr : htonl(INADDR_ANY);
                *len = sizeof(*s4);
        }
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
        if (ss->ss_family == AF_INET6)
                ((struct sockaddr_in6 *) ss)->sin6_port = htons(port);
        else
                ((struct sockaddr_in *) ss)->sin_port = htons(port);
}

static int add_mappings(struct cmd_network *net, const struct netns_publish *p, const char *spec,
                        struct hutch_error **err)
{
        for (unsigned proto = NETNS_PROTO_TCP; proto <= NETNS_PROTO_UDP; proto <<= 1) {
                if (!(p->protocols & proto))
                        continue;
                for (unsigned i = 0; i < p->count; i++) {
                        struct net_mapping m = { .proto = proto, .container_port = (uint16_t) (p->container_port + i) };
                        uint16_t hp = p->host_port ? (uint16_t) (p->host_port + i) : 0;
                        int port;

                        host_sockaddr(p, proto, hp, &m.host, &m.host_len);
                        for (size_t j = 0; j < net->n_maps && hp != 0; j++)
                                if (net->maps[j].proto == proto && net->maps[j].host_len == m.host_len &&
                                    memcmp(&net->maps[j].host, &m.host, m.host_len) == 0)
                                        return hutch_error_set(err, EINVAL,
                                                               "publish spec '%s': host port %u/%s is published twice",
                                                               spec, hp, proto == NETNS_PROTO_TCP ? "tcp" : "udp");
                        port = netns_portfwd_listen(net->fwd, (struct sockaddr *) &m.host, m.host_len, m.container_port,
                                                    proto == NETNS_PROTO_UDP, err);
                        if (port < 0)
                                return hutch_error_prefix(err, "publish spec '%s'", spec);
                        set_port(&m.host, (uint16_t) port);
                        net->maps = xreallocarray(net->maps, net->n_maps + 1, sizeof(*net->maps));
                        net->maps[net->n_maps++] = m;
                        net->n_fwd++;
                }
        }
        return 0;
}

static int prepare_ports(struct cmd_network *net, const struct cmd_network_options *o, struct hutch_error **err)
{
        bool any = (o->publish && *o->publish) || (o->publish_all && o->expose && *o->expose);

        for (char **e = o->expose; e && *e; e++) {
                struct netns_publish p;
                if (netns_expose_parse(*e, &p, err) < 0)
                        return hutch_error_value(*err);
        }
        if (!any)
                return 0;
        if (net->mode != NETNS_MODE_SLIRP)
                return hutch_error_set(err, EINVAL,
                                       "ports can only be published with the slirp network, not with "
                                       "--network %s",
                                       net->mode == NETNS_MODE_HOST ? "host (the container uses the host's ports "
                                                                      "directly)"
                                                                    : "none");
        /* Parse everything first so a bad spec fails before any bind. */
        size_t n = hutch_strv_length(o->publish);
        _cleanup_free_ struct netns_publish *specs = xcalloc(n + 1, sizeof(*specs));
        for (size_t i = 0; i < n; i++)
                if (netns_publish_parse(o->publish[i], &specs[i], err) < 0)
                        return hutch_error_value(*err);
        for (size_t i = 0; i < n; i++)
                if (add_mappings(net, &specs[i], o->publish[i], err) < 0)
                        return hutch_error_value(*err);
        if (o->publish_all)
                for (char **e = o->expose; e && *e; e++) {
                        struct netns_publish p;
                        (void) netns_expose_parse(*e, &p, err);
                        if (add_mappings(net, &p, *e, err) < 0)
                                return hutch_error_value(*err);
                }
        return 0;
}

/* ---- generated files ---- */

static char *host_ipv4(void)
{
        struct ifaddrs *ifa = NULL;
        char buf[INET_ADDRSTRLEN];
        char *r = NULL;

        if (getifaddrs(&ifa) < 0)
                return NULL;
        for (struct ifaddrs *i = ifa; i && !r; i = i->ifa_next)
                if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !(i->ifa_flags & IFF_LOOPBACK) &&
                    (i->ifa_flags & IFF_UP) &&
                    inet_ntop(AF_INET, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, buf, sizeof(buf)))
                        r = xstrdup(buf);
        freeifaddrs(ifa);
        return r;
}

/* The strings stay ours (freed by cmd_network_free); cfg->mounts only
 * points at them. */
static void add_bind(struct cmd_network *net, struct runtime_config *cfg, const char *name, const char *dest)
{
        struct runtime_mount m = {
                .kind = RUNTIME_MOUNT_BIND,
                .source = xasprintf("%s/%s", cfg->state_dir, name),
                .destination = xstrdup(dest),
                .readonly = false,
        };
        hutch_strv_push(&net->owned, m.source);
        hutch_strv_push(&net->owned, m.destination);
        cfg->mounts = xreallocarray(cfg->mounts, cfg->n_mounts + 1, sizeof(*cfg->mounts));
        cfg->mounts[cfg->n_mounts++] = m;
}

/* The state directory is private (0700), fresh and gone with the container
 * (on a tmpfs as a rule): a plain write, no fsync/rename, which would cost
 * milliseconds on every start for nothing. */
static int write_state_file(int dfd, const char *name, const char *text, size_t len, struct hutch_error **err)
{
        _cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return hutch_error_set(err, errno, "cannot create '%s' in the container's state directory", name);
        int r = hutch_write_all(fd, text, len);
        if (r < 0)
                return hutch_error_set(err, -r, "cannot write '%s' in the container's state directory", name);
        return 0;
}

static int write_files(struct cmd_network *net, const struct cmd_network_options *o, struct runtime_config *cfg,
                       struct hutch_error **err)
{
        _cleanup_free_ char *host_resolv = NULL, *host_hosts = NULL, *hosts = NULL, *resolv = NULL, *gw = NULL;
        _cleanup_close_ int dfd = -1;
        const char *hostname = o->hostname ? o->hostname : cfg->hostname;
        char guest[INET_ADDRSTRLEN];

        if (cfg->state_dir == NULL)
                return hutch_error_set(err, EINVAL, "no state directory for the network files");
        dfd = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return hutch_error_set(err, errno, "cannot open '%s'", cfg->state_dir);

        if (hutch_read_file_at(AT_FDCWD, "/etc/resolv.conf", 64 * 1024, &host_resolv, NULL, err) < 0)
                hutch_error_clear(err); /* no resolver configured: fine */

        struct netns_hosts_params hp = { .hostname = hostname, .name = o->name, .add_host = o->add_host };
        switch (net->mode) {
        case NETNS_MODE_SLIRP:
                (void) inet_ntop(AF_INET, &net->slirp_opts.guest, guest, sizeof(guest));
                hp.container_ip = guest;
                if (net->slirp_opts.allow_host_loopback) {
                        gw = xmalloc(INET_ADDRSTRLEN);
                        (void) inet_ntop(AF_INET, &net->slirp_opts.gateway, gw, INET_ADDRSTRLEN);
                } else {
                        gw = host_ipv4();
                }
                hp.host_ip = gw;
                break;
        case NETNS_MODE_HOST:
                if (hutch_read_file_at(AT_FDCWD, "/etc/hosts", 1024 * 1024, &host_hosts, NULL, err) < 0)
                        hutch_error_clear(err);
                hp.base = host_hosts;
                hp.host_ip = "127.0.0.1";
                break;
        case NETNS_MODE_NONE: hp.container_ip = "127.0.1.1"; break;
        }
        hosts = netns_hosts_format(&hp, err);
        if (hosts == NULL)
                return hutch_error_value(*err);

        char dns[INET_ADDRSTRLEN];
        (void) inet_ntop(AF_INET, &net->slirp_opts.dns, dns, sizeof(dns));
        resolv = netns_resolv_conf_format(host_resolv, o->dns, o->dns_search, o->dns_option,
                                          net->mode == NETNS_MODE_SLIRP ? dns : NULL);

        if (write_state_file(dfd, "hosts", hosts, strlen(hosts), err) < 0 ||
            write_state_file(dfd, "resolv.conf", resolv, strlen(resolv), err) < 0)
                return hutch_error_value(*err);
        /* The published ports, as `docker port` prints them, for `hutch port`. */
        if (net->n_maps > 0) {
                char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);
                if (f == NULL)
                        return hutch_error_set(err, errno, "open_memstream");
                cmd_network_print_ports(net, f);
                (void) fclose(f);
                int r = write_state_file(dfd, "ports", text, len, err);
                free(text);
                if (r < 0)
                        return r;
        }
        add_bind(net, cfg, "hosts", "/etc/hosts");
        add_bind(net, cfg, "resolv.conf", "/etc/resolv.conf");
        if (hostname) {
                _cleanup_free_ char *text = xasprintf("%s\n", hostname);
                if (write_state_file(dfd, "hostname", text, strlen(text), err) < 0)
                        return hutch_error_value(*err);
                add_bind(net, cfg, "hostname", "/etc/hostname");
        }
        return 0;
}

/* ---- --network container: ---- */

#define CONTAINER_PREFIX "container:"

static const char *join_target(const char *network)
{
        if (network && strncmp(network, CONTAINER_PREFIX, strlen(CONTAINER_PREFIX)) == 0)
                return network + strlen(CONTAINER_PREFIX);
        return NULL;
}

static int lookup_target(const char *root, const char *target, char id[STORAGE_CONTAINER_ID_LEN + 1],
                         struct hutch_error **err)
{
        struct hutch_error *e = NULL;

        if (*target == '\0')
                return hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0,
                                              "--network container: needs the name or ID of a container");
        if (storage_container_lookup(root, target, id, &e) == 0)
                return 0;
        if (strstr(e->msg, "ambiguous")) {
                hutch_error_free(e);
                return hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0,
                                              "--network container:%s: the ID prefix is ambiguous", target);
        }
        hutch_error_free(e);
        return hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0,
                                      "--network container:%s: no such container (see 'hutch ps -a')", target);
}

int cmd_network_check(const struct cmd_command *cmd, const struct cmd_network_options *o, const char *self_id,
                      char **ret_network, struct hutch_error **err)
{
        const char *target = join_target(o->network);
        char id[STORAGE_CONTAINER_ID_LEN + 1];

        *ret_network = NULL;
        if (target == NULL)
                return 0;
        /* Docker's words: these would configure a network this container
         * does not own. */
        if ((o->publish && *o->publish) || o->publish_all)
                return cmd_usage_error(cmd, err,
                                       "conflicting options: port publishing and the container type network mode");
        if ((o->dns && *o->dns) || (o->dns_search && *o->dns_search) || (o->dns_option && *o->dns_option))
                return cmd_usage_error(cmd, err, "conflicting options: dns and the network mode");
        if (o->add_host && *o->add_host)
                return cmd_usage_error(cmd, err, "conflicting options: custom host-to-IP mapping and the network mode");
        if (o->hostname)
                return cmd_usage_error(cmd, err, "conflicting options: hostname and the network mode");

        _cleanup_free_ char *root = cmd_storage_root();
        if (lookup_target(root, target, id, err) < 0)
                return -1;
        if (self_id && STREQ(id, self_id))
                return hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0,
                                              "--network container:%s: a container cannot join its own network",
                                              target);
        *ret_network = xasprintf(CONTAINER_PREFIX "%s", id);
        return 0;
}

void cmd_network_record_args(char **args, char *const *argv, const char *optval, const char *network)
{
        if (network == NULL || optval == NULL)
                return;
        for (size_t i = 0; args[i] && argv[i]; i++) {
                uintptr_t start = (uintptr_t) argv[i], at = (uintptr_t) optval;
                if (at < start || at > start + strlen(argv[i]))
                        continue;
                /* "--network=container:NAME" keeps its "--network=" */
                char *s = xasprintf("%.*s%s", (int) (at - start), argv[i], network);
                free(args[i]);
                args[i] = s;
                return;
        }
}

static bool same_netns_as_ours(pid_t pid)
{
        char path[64];
        struct stat a, b;

        (void) snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) pid);
        return stat(path, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}

/* The other container's hosts, resolv.conf and hostname, as Docker shares
 * them: hard links in our state directory (both live under the run root),
 * so both containers see one file, and it outlives the other's directory. */
static int share_files(struct cmd_network *net, struct runtime_config *cfg, const char *id, const char *name,
                       struct hutch_error **err)
{
        static const char *const files[][2] = { { "hosts", "/etc/hosts" },
                                                { "resolv.conf", "/etc/resolv.conf" },
                                                { "hostname", "/etc/hostname" } };
        _cleanup_free_ char *runroot = cmd_run_root();
        _cleanup_free_ char *dir = xasprintf("%s/%s", runroot, id);
        _cleanup_close_ int src = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int dst = -1;

        if (src < 0)
                return hutch_error_set(err, errno, "container '%s' has no run directory '%s'", name, dir);
        dst = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dst < 0)
                return hutch_error_set(err, errno, "cannot open '%s'", cfg->state_dir);
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                if (linkat(src, files[i][0], dst, files[i][0], 0) < 0)
                        return hutch_error_set(err, errno, "cannot share %s of container '%s'", files[i][1], name);
                add_bind(net, cfg, files[i][0], files[i][1]);
        }
        /* Its host name too (Docker's rule), in our own UTS namespace. */
        _cleanup_free_ char *hn = NULL;
        if (hutch_read_file_at(dst, "hostname", 4096, &hn, NULL, NULL) == 0) {
                hn[strcspn(hn, "\n")] = '\0';
                if (netns_hostname_valid(hn)) {
                        free(cfg->hostname);
                        cfg->hostname = xstrdup(hn);
                }
        }
        return 0;
}

static int prepare_join(struct cmd_network *net, const char *target, struct runtime_config *cfg,
                        struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        struct storage_container rec = { 0 };
        char id[STORAGE_CONTAINER_ID_LEN + 1];
        int r;

        if (cfg->state_dir == NULL)
                return hutch_error_set(err, EINVAL, "no state directory for the network files");
        r = lookup_target(root, target, id, err);
        if (r < 0)
                return r;
        r = storage_container_load(root, id, &rec, err);
        if (r < 0)
                return hutch_error_prefix(err, "--network container:%s", target);
        net->join_pidfd = rec.status == STORAGE_CONTAINER_RUNNING ? hutch_pidfd_open(rec.pid) : -1;
        /* checked once the pidfd is held: a reused PID is never joined */
        if (net->join_pidfd < 0 || !storage_container_pid_alive(rec.pid, rec.pid_start)) {
                r = hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0,
                                           "cannot join the network of container '%s': it is not running", rec.name);
                goto out;
        }
        r = share_files(net, cfg, id, rec.name, err);
        if (r < 0)
                goto out;
        cfg->namespaces &= ~CLONE_NEWNET;
        cfg->join_pidfd = net->join_pidfd;
        cfg->join_ns = CLONE_NEWUSER | CLONE_NEWNET;
        if (same_netns_as_ours(rec.pid)) {
                /* It has --network host: so has this one, and the host's
                 * namespace is not the other user namespace's to hand on. */
                cfg->join_ns = CLONE_NEWUSER;
                cfg->share_host_sys = true;
        }
        cfg->hooks = (struct runtime_hooks){ 0 };
        net->join = true;
        r = 0;
out:
        storage_container_clear(&rec);
        return r;
}

/* ---- public ---- */

static int check_options(const struct cmd_network_options *o, struct hutch_error **err)
{
        for (char **s = o->dns; s && *s; s++)
                if (netns_dns_server_check(*s, err) < 0)
                        return hutch_error_value(*err);
        for (char **s = o->dns_search; s && *s; s++)
                if (netns_dns_search_check(*s, err) < 0)
                        return hutch_error_value(*err);
        for (char **s = o->dns_option; s && *s; s++)
                if (netns_dns_option_check(*s, err) < 0)
                        return hutch_error_value(*err);
        for (char **s = o->add_host; s && *s; s++) {
                _cleanup_free_ char *name = NULL, *ip = NULL;
                if (netns_add_host_parse(*s, &name, &ip, err) < 0)
                        return hutch_error_value(*err);
        }
        if (o->hostname && !netns_hostname_valid(o->hostname))
                return hutch_error_set(err, EINVAL, "invalid hostname '%s'", o->hostname);
        return 0;
}

int cmd_network_prepare(const struct cmd_network_options *o, struct runtime_config *cfg, struct cmd_network **ret,
                        struct hutch_error **err)
{
        struct cmd_network *net = xzalloc(sizeof(*net));
        int r;

        net->tapfd = -1;
        net->join_pidfd = -1;
        net->fwd = netns_portfwd_new();
        const char *target = join_target(o->network);
        if (target) {
                /* cmd_network_check refused the options that conflict */
                r = prepare_join(net, target, cfg, err);
                if (r < 0) {
                        cmd_network_free(net);
                        return r;
                }
                *ret = net;
                return 0;
        }
        r = netns_mode_parse(o->network, &net->mode, &net->slirp_opts, err);
        if (r >= 0)
                r = check_options(o, err);
        if (r >= 0)
                r = prepare_ports(net, o, err);
        if (r >= 0)
                r = write_files(net, o, cfg, err);
        if (r < 0) {
                cmd_network_free(net);
                return r;
        }

        net->tap = (struct netns_tap_config){
                .mtu = net->slirp_opts.mtu,
                .address = net->slirp_opts.guest,
                .prefix_len = net->slirp_opts.prefix_len,
                .gateway = net->slirp_opts.gateway,
                .enable_ipv6 = net->slirp_opts.enable_ipv6,
        };
        switch (net->mode) {
        case NETNS_MODE_SLIRP:
                cfg->namespaces |= CLONE_NEWNET;
                cfg->hooks = (struct runtime_hooks){ hook_child_slirp, hook_parent_slirp, net };
                break;
        case NETNS_MODE_NONE:
                cfg->namespaces |= CLONE_NEWNET;
                cfg->hooks = (struct runtime_hooks){ hook_child_none, hook_parent_none, net };
                break;
        case NETNS_MODE_HOST:
                cfg->namespaces &= ~CLONE_NEWNET;
                cfg->share_host_sys = true;
                break;
        }
        *ret = net;
        return 0;
}

int cmd_network_attach(struct cmd_network *net, struct hutch_loop *loop, struct hutch_error **err)
{
        if (net == NULL || net->join || net->mode != NETNS_MODE_SLIRP)
                return 0;
        if (net->tapfd < 0)
                return hutch_error_set(err, EINVAL, "the container's network was not set up");
        /* libslirp writes to host sockets without MSG_NOSIGNAL, and splice(2)
         * has no such flag: a peer that goes away must be an EPIPE for the
         * monitor, never a fatal SIGPIPE.  The container is already running,
         * so it does not inherit this. */
        (void) signal(SIGPIPE, SIG_IGN);
        int fd = steal_fd(&net->tapfd);
        if (netns_slirp_new(&net->slirp_opts, fd, &net->slirp, err) < 0)
                return hutch_error_prefix(err, "slirp network");
        if (netns_slirp_attach(net->slirp, loop, err) < 0)
                return hutch_error_value(*err);
        if (netns_portfwd_attach(net->fwd, loop, err) < 0)
                return hutch_error_value(*err);
        return 0;
}

void cmd_network_print_ports(const struct cmd_network *net, FILE *out)
{
        for (size_t i = 0; net && i < net->n_maps; i++) {
                const struct net_mapping *m = &net->maps[i];
                char a[INET6_ADDRSTRLEN] = "?";
                unsigned port;
                if (m->host.ss_family == AF_INET6) {
                        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) &m->host;
                        (void) inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
                        port = ntohs(s6->sin6_port);
                        fprintf(out, "%u/%s -> [%s]:%u\n", m->container_port,
                                m->proto == NETNS_PROTO_TCP ? "tcp" : "udp", a, port);
                } else {
                        const struct sockaddr_in *s4 = (const struct sockaddr_in *) &m->host;
                        (void) inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
                        port = ntohs(s4->sin_port);
                        fprintf(out, "%u/%s -> %s:%u\n", m->container_port, m->proto == NETNS_PROTO_TCP ? "tcp" : "udp",
                                a, port);
                }
        }
}

struct cmd_network *cmd_network_free(struct cmd_network *net)
{
        if (net == NULL)
                return NULL;
        net->slirp = netns_slirp_free(net->slirp);
        net->fwd = netns_portfwd_free(net->fwd);
        if (net->tapfd >= 0)
                (void) close(net->tapfd);
        if (net->join_pidfd >= 0)
                (void) close(net->join_pidfd);
        free(net->maps);
        hutch_strv_free(net->owned);
        free(net);
        return NULL;
}

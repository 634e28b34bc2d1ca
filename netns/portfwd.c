/* Published ports, relayed by the monitor, never through the slirp stack.
 *
 * TCP: the monitor accepts on a host listener, opens a connection to
 * 127.0.0.1:PORT inside the container's network namespace and relays bytes
 * between the two with splice(2) through a pipe per direction.
 *
 * UDP: one host socket per port; each client address gets a "flow", a UDP
 * socket inside the container's namespace connected to 127.0.0.1:PORT, and
 * answers go back to that client.  (libslirp's own UDP forwarding cannot
 * answer clients on the host's loopback once host loopback is refused to
 * the container, which is our default.)  Flows idle for a minute, or the
 * least recently used one when a port has too many, are closed.
 *
 * A socket belongs to the network namespace it was created in, and only
 * creating it needs the namespace.  Entering the container's network
 * namespace needs CAP_SYS_ADMIN in its user namespace, which the monitor
 * only gets by joining that user namespace, and a process that has done so
 * cannot come back.  So a small helper process, forked once, joins the
 * container's user and network namespaces, drops every capability and fd
 * it does not need, and then only answers "a TCP socket, please" with an
 * fd over a socketpair.  The monitor connects and relays; the helper never
 * sees data.  It dies with the monitor (PDEATHSIG) or when the socketpair
 * closes, and is not dumpable, so nothing in the container can reach it.
 *
 * Bounds: a cap on connections (6 fds each) derived from RLIMIT_NOFILE, a
 * fixed accept budget per wake-up, pipes of fixed size, a budget of bytes
 * per connection and wake-up, nonblocking fds everywhere; the only blocking
 * call is the helper's reply, with a timeout. */
#include "config.h"

#include "netns/netns.h"

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/proc.h"
#include "lib/xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PIPE_SIZE        (256 * 1024)
#define PUMP_BUDGET      (4 * PIPE_SIZE) /* bytes per half and wake-up */
#define ACCEPT_BUDGET    64
#define MAX_CONNS        4096
#define UDP_FLOWS_MAX    128 /* per published port */
#define UDP_FLOW_IDLE_MS 60000
#define UDP_BUDGET       64 /* datagrams per wake-up and direction */

struct netns_portfwd;

struct udp_flow;

struct listener {
        struct netns_portfwd *f;
        int fd;
        uint16_t container_port;
        bool udp;
        bool registered;
        struct udp_flow *flows;
        size_t n_flows;
};

struct udp_flow {
        struct listener *l;
        int fd; /* in the container's namespace, connected to 127.0.0.1:port */
        struct sockaddr_storage client;
        socklen_t client_len;
        int64_t last_ms;
        struct udp_flow *prev, *next;
};

struct half {
        int from, to;
        int pipe[2];
        size_t in_pipe;
        size_t cap; /* pipe size */
        bool eof;   /* read end of file from `from` */
        bool done;  /* eof, drained and `to` shut down for writing */
};

struct conn {
        struct netns_portfwd *f;
        int host_fd, ctr_fd;
        bool connecting;
        uint32_t host_ev, ctr_ev;
        struct half h2c, c2h;
        struct conn *prev, *next;
        /* loop callback data: which end fired */
        struct conn_end {
                struct conn *c;
                bool host;
        } host_end, ctr_end;
};

struct netns_portfwd {
        struct listener **ls;
        size_t n_ls;
        int helper_sock;
        pid_t helper_pid;
        struct hutch_loop *loop;
        struct conn *conns;
        size_t n_conns, max_conns;
        size_t pipe_size;
        uint8_t *dgram; /* one datagram buffer for the UDP relay */
};

struct netns_portfwd *netns_portfwd_new(void)
{
        struct netns_portfwd *f = xzalloc(sizeof(*f));
        f->helper_sock = -1;
        f->helper_pid = -1;
        f->max_conns = 256;
        f->pipe_size = PIPE_SIZE;
        f->dgram = xmalloc(65536);
        return f;
}

size_t netns_portfwd_count(const struct netns_portfwd *f)
{
        return f ? f->n_ls : 0;
}

/* ---- binding ---- */

int netns_bind_error(int errnum, const struct sockaddr *host, const char *proto, struct hutch_error **err)
{
        char a[INET6_ADDRSTRLEN] = "?";
        unsigned port;

        if (host->sa_family == AF_INET6) {
                (void) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) host)->sin6_addr, a, sizeof(a));
                port = ntohs(((const struct sockaddr_in6 *) host)->sin6_port);
        } else {
                (void) inet_ntop(AF_INET, &((const struct sockaddr_in *) host)->sin_addr, a, sizeof(a));
                port = ntohs(((const struct sockaddr_in *) host)->sin_port);
        }
        char where[INET6_ADDRSTRLEN + 32];
        if (host->sa_family == AF_INET6)
                (void) snprintf(where, sizeof(where), "[%s]:%u/%s", a, port, proto);
        else
                (void) snprintf(where, sizeof(where), "%s:%u/%s", a, port, proto);
        if (errnum == EADDRINUSE)
                return hutch_error_set(err, errnum, "cannot publish %s: the host port is already in use", where);
        if (errnum == EACCES) {
                unsigned start = 1024;
                _cleanup_fclose_ FILE *fp = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
                if (fp && fscanf(fp, "%u", &start) != 1)
                        start = 1024;
                return hutch_error_set(err, errnum,
                                       "cannot publish %s: ports below %u are privileged on this host (pick a higher "
                                       "host port, or lower net.ipv4.ip_unprivileged_port_start)",
                                       where, start);
        }
        if (errnum == EADDRNOTAVAIL)
                return hutch_error_set(err, errnum, "cannot publish %s: the host has no such address", where);
        return hutch_error_set(err, errnum, "cannot publish %s", where);
}

static uint16_t sockaddr_port(const struct sockaddr *sa)
{
        if (sa->sa_family == AF_INET6)
                return ntohs(((const struct sockaddr_in6 *) sa)->sin6_port);
        return ntohs(((const struct sockaddr_in *) sa)->sin_port);
}

static int bound_socket(const struct sockaddr *host, socklen_t host_len, int type, struct hutch_error **err)
{
        _cleanup_close_ int fd = socket(host->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1, zero = 0;

        if (fd < 0)
                return hutch_error_set(err, errno, "cannot open a socket for a published port");
        if (type == SOCK_STREAM)
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (host->sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *) host)->sin6_addr))
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (bind(fd, host, host_len) < 0)
                return netns_bind_error(errno, host, type == SOCK_STREAM ? "tcp" : "udp", err);
        return steal_fd(&fd);
}

static int local_port(int fd)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return -errno;
        return sockaddr_port((struct sockaddr *) &ss);
}

int netns_portfwd_listen(struct netns_portfwd *f, const struct sockaddr *host, socklen_t host_len,
                         uint16_t container_port, bool udp, struct hutch_error **err)
{
        _cleanup_close_ int fd = bound_socket(host, host_len, udp ? SOCK_DGRAM : SOCK_STREAM, err);
        if (fd < 0)
                return fd;
        if (!udp && listen(fd, 512) < 0)
                return netns_bind_error(errno, host, "tcp", err);
        int port = local_port(fd);
        if (port < 0)
                return hutch_error_set(err, -port, "getsockname");
        struct listener *l = xzalloc(sizeof(*l));
        l->f = f;
        l->fd = steal_fd(&fd);
        l->container_port = container_port;
        l->udp = udp;
        f->ls = xreallocarray(f->ls, f->n_ls + 1, sizeof(*f->ls));
        f->ls[f->n_ls++] = l;
        return port;
}

/* ---- the socket helper ---- */

static _Noreturn void helper_main(int sock, int userns_fd, int netns_fd)
{
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct data[2];

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void) prctl(PR_SET_DUMPABLE, 0);
        if (setns(userns_fd, CLONE_NEWUSER) < 0 || setns(netns_fd, CLONE_NEWNET) < 0) {
                char c = 'E';
                (void) !write(sock, &c, 1);
                _exit(1);
        }
        /* Keep only the socketpair end, as fd 3. */
        if (sock != 3) {
                if (dup3(sock, 3, O_CLOEXEC) < 0)
                        _exit(1);
                sock = 3;
        }
        (void) hutch_close_fds_from(4);
        memset(data, 0, sizeof(data));
        (void) syscall(SYS_capset, &hdr, data);
        (void) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        {
                char c = 'R'; /* ready */
                if (write(sock, &c, 1) != 1)
                        _exit(1);
        }
        for (;;) {
                unsigned char req;
                ssize_t n = read(sock, &req, 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        _exit(0);
                int type = req == 'u' ? SOCK_DGRAM : SOCK_STREAM;
                int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                        char c = 'E';
                        (void) !write(sock, &c, 1);
                        continue;
                }
                (void) hutch_send_fd(sock, fd);
                (void) close(fd);
        }
}

int netns_portfwd_set_target(struct netns_portfwd *f, int userns_fd, int netns_fd, struct hutch_error **err)
{
        int sv[2];
        char c;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return hutch_error_set(err, errno, "socketpair");
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                (void) close(sv[0]);
                (void) close(sv[1]);
                return hutch_error_set(err, e, "cannot fork the port forwarding helper");
        }
        if (pid == 0) {
                (void) close(sv[0]);
                helper_main(sv[1], userns_fd, netns_fd);
        }
        (void) close(sv[1]);
        f->helper_sock = sv[0];
        f->helper_pid = pid;
        struct timeval tv = { .tv_sec = 5 };
        (void) setsockopt(f->helper_sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        ssize_t n;
        do
                n = read(f->helper_sock, &c, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1 || c != 'R')
                return hutch_error_set(err, n < 0 ? errno : EPERM,
                                       "the port forwarding helper could not join the container's network namespace");
        return 0;
}

/* A TCP ('t') or UDP ('u') socket in the container's network namespace. */
static int helper_socket(struct netns_portfwd *f, char req)
{
        if (f->helper_sock < 0)
                return -ENOTCONN;
        if (send(f->helper_sock, &req, 1, MSG_NOSIGNAL) != 1)
                return -errno;
        return hutch_recv_fd(f->helper_sock);
}

/* ---- relaying ---- */

static void conn_free(struct conn *c)
{
        struct netns_portfwd *f = c->f;

        if (f->loop) {
                (void) hutch_loop_remove(f->loop, c->host_fd);
                if (c->ctr_fd >= 0)
                        (void) hutch_loop_remove(f->loop, c->ctr_fd);
        }
        (void) close(c->host_fd);
        if (c->ctr_fd >= 0)
                (void) close(c->ctr_fd);
        for (int i = 0; i < 2; i++) {
                if (c->h2c.pipe[i] >= 0)
                        (void) close(c->h2c.pipe[i]);
                if (c->c2h.pipe[i] >= 0)
                        (void) close(c->c2h.pipe[i]);
        }
        if (c->prev)
                c->prev->next = c->next;
        else
                f->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        f->n_conns--;
        free(c);
}

/* Moves what it can, up to PUMP_BUDGET bytes; returns < 0 on a fatal error
 * of either socket.  The budget keeps one busy connection from holding the
 * loop while both its peers keep up: what is left is still readable or
 * writable, and the level-triggered loop comes back to it after the others. */
static int pump(struct half *h)
{
        size_t cap = h->cap, moved = 0;

        while (moved < PUMP_BUDGET) {
                bool progress = false;
                if (!h->eof && h->in_pipe < cap) {
                        ssize_t n = splice(h->from, NULL, h->pipe[1], NULL, cap - h->in_pipe,
                                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n > 0) {
                                h->in_pipe += (size_t) n;
                                progress = true;
                        } else if (n == 0) {
                                h->eof = true;
                        } else if (errno != EAGAIN && errno != EINTR) {
                                return -errno;
                        }
                }
                if (h->in_pipe > 0) {
                        ssize_t n =
                                splice(h->pipe[0], NULL, h->to, NULL, h->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                        if (n > 0) {
                                h->in_pipe -= (size_t) n;
                                moved += (size_t) n;
                                progress = true;
                        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                                return -errno;
                        }
                }
                if (h->eof && h->in_pipe == 0 && !h->done) {
                        (void) shutdown(h->to, SHUT_WR);
                        h->done = true;
                }
                if (!progress)
                        return 0;
        }
        return 0;
}

/* With nothing more to move right now: data waiting means `to` is full,
 * an empty pipe means `from` is empty. */
static void half_interest(const struct half *h, uint32_t *from_ev, uint32_t *to_ev)
{
        if (h->done)
                return;
        if (h->in_pipe > 0)
                *to_ev |= EPOLLOUT;
        else if (!h->eof)
                *from_ev |= EPOLLIN;
}

static int conn_update(struct conn *c)
{
        uint32_t hev = 0, cev = 0;

        half_interest(&c->h2c, &hev, &cev);
        half_interest(&c->c2h, &cev, &hev);
        if (hev != c->host_ev) {
                if (hutch_loop_modify(c->f->loop, c->host_fd, hev) < 0)
                        return -1;
                c->host_ev = hev;
        }
        if (cev != c->ctr_ev) {
                if (hutch_loop_modify(c->f->loop, c->ctr_fd, cev) < 0)
                        return -1;
                c->ctr_ev = cev;
        }
        return 0;
}

/* Congestion control has nothing to do on a loopback path (no queue, no
 * loss) yet costs: BBR, a common default, paces every send with a timer,
 * which made up most of the relay's CPU time.  Reno does the least and is
 * always in net.ipv4.tcp_allowed_congestion_control.  The container side is
 * always loopback (inside the container); the host side only when the client
 * is on this host, a remote one keeps the host's choice. */
static void loopback_congestion_control(int fd)
{
        static const char reno[] = "reno";
        (void) setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, reno, sizeof(reno) - 1);
}

static bool peer_is_loopback(int fd)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        if (getpeername(fd, (struct sockaddr *) &ss, &len) < 0)
                return false;
        if (ss.ss_family == AF_INET)
                return (ntohl(((struct sockaddr_in *) &ss)->sin_addr.s_addr) >> 24) == 127;
        if (ss.ss_family == AF_INET6) {
                const struct in6_addr *a = &((struct sockaddr_in6 *) &ss)->sin6_addr;
                return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
        }
        return false;
}

static int conn_start_relay(struct conn *c)
{
        int one = 1;

        if (pipe2(c->h2c.pipe, O_NONBLOCK | O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(c->c2h.pipe, O_NONBLOCK | O_CLOEXEC) < 0)
                return -errno;
        /* Bigger pipes move more per splice; the pipe-max-size and the
         * per-user pipe quota may refuse, then the default 64 KiB stays. */
        struct half *hs[] = { &c->h2c, &c->c2h };
        for (size_t i = 0; i < ARRAY_SIZE(hs); i++) {
                int sz = -1;
                if (c->f->pipe_size > 65536)
                        sz = fcntl(hs[i]->pipe[1], F_SETPIPE_SZ, (int) c->f->pipe_size);
                if (sz < 0) {
                        c->f->pipe_size = 65536; /* refused once: don't ask again */
                        sz = fcntl(hs[i]->pipe[1], F_GETPIPE_SZ);
                }
                hs[i]->cap = sz > 0 ? (size_t) sz : 65536;
        }
        (void) setsockopt(c->ctr_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void) setsockopt(c->host_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (peer_is_loopback(c->host_fd))
                loopback_congestion_control(c->host_fd);
        c->connecting = false;
        return 0;
}

static int on_conn(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct conn_end *e = data;
        struct conn *c = e->c;
        (void) loop;
        (void) fd;

        if (c->connecting) {
                if (e->host) {
                        /* The client hung up before the container answered. */
                        if (events & (EPOLLHUP | EPOLLERR))
                                conn_free(c);
                        return 0;
                }
                int soerr = 0;
                socklen_t len = sizeof(soerr);
                if (getsockopt(c->ctr_fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
                        soerr = errno;
                if (soerr != 0) {
                        log_debug_errno(soerr, "published port: connecting into the container");
                        conn_free(c);
                        return 0;
                }
                if (conn_start_relay(c) < 0) {
                        conn_free(c);
                        return 0;
                }
        }
        if (pump(&c->h2c) < 0 || pump(&c->c2h) < 0 || (c->h2c.done && c->c2h.done)) {
                conn_free(c);
                return 0;
        }
        if (conn_update(c) < 0)
                conn_free(c);
        return 0;
}

static void conn_new(struct netns_portfwd *f, int host_fd, uint16_t port)
{
        struct sockaddr_in to = { .sin_family = AF_INET,
                                  .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int ctr_fd = helper_socket(f, 't');

        if (ctr_fd < 0) {
                log_debug_errno(-ctr_fd, "published port: no socket from the helper");
                (void) close(host_fd);
                return;
        }
        struct conn *c = xzalloc(sizeof(*c));
        c->f = f;
        c->host_fd = host_fd;
        c->ctr_fd = ctr_fd;
        c->h2c = (struct half){ .from = host_fd, .to = ctr_fd, .pipe = { -1, -1 } };
        c->c2h = (struct half){ .from = ctr_fd, .to = host_fd, .pipe = { -1, -1 } };
        c->host_end = (struct conn_end){ .c = c, .host = true };
        c->ctr_end = (struct conn_end){ .c = c, .host = false };
        c->next = f->conns;
        if (f->conns)
                f->conns->prev = c;
        f->conns = c;
        f->n_conns++;

        loopback_congestion_control(ctr_fd);
        int r = connect(ctr_fd, (struct sockaddr *) &to, sizeof(to));
        if (r < 0 && errno != EINPROGRESS) {
                log_debug_errno(errno, "published port: connecting into the container");
                c->ctr_fd = -1;
                (void) close(ctr_fd);
                conn_free(c);
                return;
        }
        c->connecting = true;
        /* Watch the host side for hang-ups only until connected. */
        c->host_ev = 0;
        c->ctr_ev = EPOLLOUT;
        /* On failure conn_free's removal of an unregistered fd is a no-op. */
        if (hutch_loop_add(f->loop, host_fd, 0, on_conn, &c->host_end) < 0 ||
            hutch_loop_add(f->loop, ctr_fd, EPOLLOUT, on_conn, &c->ctr_end) < 0)
                conn_free(c);
}

static int on_accept(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct listener *l = data;
        struct netns_portfwd *f = l->f;
        (void) loop;
        (void) events;

        for (int i = 0; i < ACCEPT_BUDGET; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        break; /* EAGAIN, or EMFILE: retried on the next wake-up */
                }
                if (f->n_conns >= f->max_conns) {
                        log_debug("published port %u: %zu connections, refusing more", l->container_port, f->n_conns);
                        (void) close(cfd);
                        continue;
                }
                conn_new(f, cfd, l->container_port);
        }
        return 0;
}

/* ---- UDP ---- */

static int64_t now_ms(void)
{
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void flow_free(struct udp_flow *fl)
{
        struct listener *l = fl->l;

        if (l->f->loop)
                (void) hutch_loop_remove(l->f->loop, fl->fd);
        (void) close(fl->fd);
        if (fl->prev)
                fl->prev->next = fl->next;
        else
                l->flows = fl->next;
        if (fl->next)
                fl->next->prev = fl->prev;
        l->n_flows--;
        free(fl);
}

/* Answers from the container go back to the flow's client. */
static int on_flow(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct udp_flow *fl = data;
        struct netns_portfwd *f = fl->l->f;
        (void) loop;
        (void) events;

        for (int i = 0; i < UDP_BUDGET; i++) {
                ssize_t n = recv(fd, f->dgram, 65536, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                /* ICMP port unreachable and the like: the
                                 * next datagram will tell again. */
                                log_trace("published udp port %u: %s", fl->l->container_port, strerror(errno));
                        break;
                }
                fl->last_ms = now_ms();
                (void) sendto(fl->l->fd, f->dgram, (size_t) n, MSG_DONTWAIT | MSG_NOSIGNAL,
                              (struct sockaddr *) &fl->client, fl->client_len);
        }
        return 0;
}

static struct udp_flow *flow_get(struct listener *l, const struct sockaddr_storage *client, socklen_t len)
{
        struct netns_portfwd *f = l->f;
        struct udp_flow *lru = NULL;
        int64_t now = now_ms();

        for (struct udp_flow *fl = l->flows, *next; fl; fl = next) {
                next = fl->next;
                if (fl->client_len == len && memcmp(&fl->client, client, len) == 0) {
                        fl->last_ms = now;
                        return fl;
                }
                if (now - fl->last_ms > UDP_FLOW_IDLE_MS) {
                        flow_free(fl);
                        continue;
                }
                if (lru == NULL || fl->last_ms < lru->last_ms)
                        lru = fl;
        }
        if (l->n_flows >= UDP_FLOWS_MAX && lru)
                flow_free(lru);

        struct sockaddr_in to = { .sin_family = AF_INET,
                                  .sin_port = htons(l->container_port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = helper_socket(f, 'u');
        if (fd < 0) {
                log_debug_errno(-fd, "published udp port: no socket from the helper");
                return NULL;
        }
        if (connect(fd, (struct sockaddr *) &to, sizeof(to)) < 0) {
                (void) close(fd);
                return NULL;
        }
        struct udp_flow *fl = xzalloc(sizeof(*fl));
        fl->l = l;
        fl->fd = fd;
        memcpy(&fl->client, client, len);
        fl->client_len = len;
        fl->last_ms = now;
        if (hutch_loop_add(f->loop, fd, EPOLLIN, on_flow, fl) < 0) {
                (void) close(fd);
                free(fl);
                return NULL;
        }
        fl->next = l->flows;
        if (l->flows)
                l->flows->prev = fl;
        l->flows = fl;
        l->n_flows++;
        return fl;
}

static int on_udp(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct listener *l = data;
        struct netns_portfwd *f = l->f;
        (void) loop;
        (void) events;

        for (int i = 0; i < UDP_BUDGET; i++) {
                struct sockaddr_storage from;
                socklen_t len = sizeof(from);
                ssize_t n = recvfrom(fd, f->dgram, 65536, MSG_DONTWAIT, (struct sockaddr *) &from, &len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                struct udp_flow *fl = flow_get(l, &from, len);
                if (fl == NULL)
                        continue;
                (void) send(fl->fd, f->dgram, (size_t) n, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        return 0;
}

int netns_portfwd_attach(struct netns_portfwd *f, struct hutch_loop *loop, struct hutch_error **err)
{
        struct rlimit rl;

        /* Each connection holds 6 fds: raise our soft limit to the hard one
         * (the container is already running with its own limits). */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                if (rl.rlim_cur < rl.rlim_max) {
                        rl.rlim_cur = rl.rlim_max;
                        (void) setrlimit(RLIMIT_NOFILE, &rl);
                }
                rlim_t usable = rl.rlim_cur > 128 ? (rl.rlim_cur - 64) / 6 : 8;
                f->max_conns = usable > MAX_CONNS ? MAX_CONNS : (size_t) usable;
        }
        f->loop = loop;
        for (size_t i = 0; i < f->n_ls; i++) {
                int r = hutch_loop_add(loop, f->ls[i]->fd, EPOLLIN, f->ls[i]->udp ? on_udp : on_accept, f->ls[i]);
                if (r < 0)
                        return hutch_error_set(err, -r, "cannot watch a published port");
                f->ls[i]->registered = true;
        }
        return 0;
}

struct netns_portfwd *netns_portfwd_free(struct netns_portfwd *f)
{
        if (f == NULL)
                return NULL;
        while (f->conns)
                conn_free(f->conns);
        for (size_t i = 0; i < f->n_ls; i++) {
                while (f->ls[i]->flows)
                        flow_free(f->ls[i]->flows);
                if (f->ls[i]->registered && f->loop)
                        (void) hutch_loop_remove(f->loop, f->ls[i]->fd);
                (void) close(f->ls[i]->fd);
                free(f->ls[i]);
        }
        free(f->ls);
        free(f->dgram);
        if (f->helper_sock >= 0)
                (void) close(f->helper_sock);
        if (f->helper_pid > 0) {
                (void) kill(f->helper_pid, SIGKILL);
                (void) waitpid(f->helper_pid, NULL, 0);
        }
        free(f);
        return NULL;
}

/* libslirp on the monitor's event loop.
 *
 * libslirp is written for a poll() loop: before sleeping the application
 * asks it which fds to watch (slirp_pollfds_fill), after waking it reports
 * what happened (slirp_pollfds_poll).  We keep slirp's sockets in an epoll
 * set of their own, nested in the monitor's loop as one fd, and do both
 * halves in the loop's prepare callback (poll the previous round, then fill
 * the next), syncing the nested set with what slirp asked for.  The tap fd
 * sits on the monitor's loop directly.
 *
 * While a batch of frames from the tap is fed to slirp, the pure ACKs it
 * answers with are held back and only the last one per connection is
 * written when the batch ends (see ack_hold): libslirp acknowledges every
 * segment, and each ACK written to the tap makes the container's kernel, in
 * our process, process it and send more, segment by segment.
 *
 * Bounds: one tap read buffer; a fixed budget of frames per wake-up so a
 * flood from the container cannot starve the loop; frames that can't be
 * written are dropped (TCP retransmits); a fixed table of held ACKs; a fixed
 * table of DNS queries in flight. */
#include "config.h"

#include "netns/netns.h"

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libslirp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define TAP_BUDGET     256          /* frames read from the tap per wake-up */
#define FRAME_MAX      (65536 + 64) /* MTU 65521 + ethernet header */
#define DNS_INFLIGHT   128
#define DNS_TIMEOUT_MS 10000
#define REG_FLAG       0x80000000u /* fd is in the nested epoll set */
#define ACKS_HELD      16          /* connections whose ACK a batch may hold */
#define ACK_FRAME_MAX  128         /* ethernet + IPv4 + TCP, options included */

struct slirp_timer {
        SlirpTimerCb cb;
        void *cb_opaque;
        int64_t expire_ms; /* -1: not armed */
        struct slirp_timer *next;
};

struct poll_entry {
        int fd;
        uint32_t events; /* epoll events */
};

struct held_ack {
        uint8_t key[12]; /* addresses and ports */
        uint32_t ack;
        size_t len;
        uint8_t frame[ACK_FRAME_MAX];
};

struct dns_query {
        bool used;
        uint16_t our_id, guest_id;
        uint16_t guest_port;
        struct in_addr guest_ip;
        uint8_t guest_mac[6], our_mac[6];
        int64_t expires_ms;
};

struct netns_slirp {
        Slirp *slirp;
        struct netns_slirp_options opts;
        int tapfd;
        int epfd;
        struct hutch_loop *loop;
        bool filled;
        bool nested_ready; /* the nested epoll set fired since the last poll */

        struct poll_entry *round;
        size_t n_round, cap_round;
        uint32_t *reg;     /* per fd: REG_FLAG | epoll events */
        uint32_t *revents; /* per fd: SLIRP_POLL_* from the last wait */
        uint32_t *seen;    /* per fd: round counter it was last asked for */
        size_t n_fds;
        uint32_t round_no;

        struct slirp_timer *timers;
        uint8_t *frame;

        int dns_fd;
        struct dns_query dns[DNS_INFLIGHT];
        uint64_t stat_dropped;

        bool batching; /* in on_tap: hold pure ACKs */
        size_t n_held;
        struct held_ack held[ACKS_HELD];
};

static int64_t now_ms(void)
{
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- per-fd tables ---- */

static void fds_grow(struct netns_slirp *s, int fd)
{
        if ((size_t) fd < s->n_fds)
                return;
        size_t n = (size_t) fd + 64;
        s->reg = xreallocarray(s->reg, n, sizeof(*s->reg));
        s->revents = xreallocarray(s->revents, n, sizeof(*s->revents));
        s->seen = xreallocarray(s->seen, n, sizeof(*s->seen));
        memset(s->reg + s->n_fds, 0, (n - s->n_fds) * sizeof(*s->reg));
        memset(s->revents + s->n_fds, 0, (n - s->n_fds) * sizeof(*s->revents));
        memset(s->seen + s->n_fds, 0, (n - s->n_fds) * sizeof(*s->seen));
        s->n_fds = n;
}

/* ---- libslirp callbacks ---- */

static void tap_write(struct netns_slirp *s, const void *buf, size_t len)
{
        if (write(s->tapfd, buf, len) < 0)
                s->stat_dropped++; /* full or gone: drop, as a congested link would */
}

static uint32_t get32(const uint8_t *p)
{
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* An IPv4 TCP segment with only the ACK flag and no data: fills its
 * connection's key and acknowledgement number. */
static bool pure_ack(const uint8_t *f, size_t len, uint8_t key[12], uint32_t *ret_ack)
{
        if (len < 14 + 20 + 20 || len > ACK_FRAME_MAX || f[12] != 0x08 || f[13] != 0x00)
                return false;
        const uint8_t *ip = f + 14;
        size_t ihl = (size_t) (ip[0] & 0x0f) * 4;
        size_t iplen = (size_t) ip[2] << 8 | ip[3];
        if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 || iplen > len - 14 || iplen < ihl + 20)
                return false;
        if ((ip[6] & 0x3f) != 0 || ip[7] != 0) /* a fragment */
                return false;
        const uint8_t *tcp = ip + ihl;
        size_t thl = (size_t) (tcp[12] >> 4) * 4;
        if (thl < 20 || ihl + thl != iplen || tcp[13] != 0x10)
                return false;
        memcpy(key, ip + 12, 8);
        memcpy(key + 8, tcp, 4);
        *ret_ack = get32(tcp + 8);
        return true;
}

static void acks_flush(struct netns_slirp *s)
{
        for (size_t i = 0; i < s->n_held; i++)
                tap_write(s, s->held[i].frame, s->held[i].len);
        s->n_held = 0;
}

/* Holds a pure ACK until the batch ends, in place of an older one of the
 * same connection that it acknowledges beyond.  One acknowledging no more
 * (a duplicate: the peer counts those for fast retransmit, or a window
 * update) sends the held one first, keeping both.  Any other frame sends
 * every held ACK first, so the container sees frames in slirp's order. */
static bool ack_hold(struct netns_slirp *s, const void *buf, size_t len)
{
        uint8_t key[12];
        uint32_t ack;

        if (!pure_ack(buf, len, key, &ack)) {
                acks_flush(s);
                return false;
        }
        struct held_ack *h = NULL;
        for (size_t i = 0; i < s->n_held; i++)
                if (memcmp(s->held[i].key, key, sizeof(key)) == 0) {
                        h = &s->held[i];
                        break;
                }
        if (h != NULL && (int32_t) (ack - h->ack) <= 0)
                tap_write(s, h->frame, h->len);
        if (h == NULL) {
                if (s->n_held == ACKS_HELD)
                        acks_flush(s);
                h = &s->held[s->n_held++];
                memcpy(h->key, key, sizeof(key));
        }
        h->ack = ack;
        h->len = len;
        memcpy(h->frame, buf, len);
        return true;
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
        struct netns_slirp *s = opaque;

        if (s->batching && ack_hold(s, buf, len))
                return (ssize_t) len;
        tap_write(s, buf, len);
        return (ssize_t) len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
        (void) opaque;
        log_debug("slirp: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
        struct timespec ts;
        (void) opaque;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
        struct netns_slirp *s = opaque;
        struct slirp_timer *t = xzalloc(sizeof(*t));
        t->cb = cb;
        t->cb_opaque = cb_opaque;
        t->expire_ms = -1;
        t->next = s->timers;
        s->timers = t;
        return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
        struct netns_slirp *s = opaque;
        for (struct slirp_timer **pp = &s->timers; *pp; pp = &(*pp)->next)
                if (*pp == timer) {
                        *pp = (*pp)->next;
                        free(timer);
                        return;
                }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
        (void) opaque;
        ((struct slirp_timer *) timer)->expire_ms = expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque)
{
        (void) fd;
        (void) opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
        struct netns_slirp *s = opaque;
        /* Called before slirp closes fd: forget it, so a new fd with the
         * same number starts clean. */
        if (fd >= 0 && (size_t) fd < s->n_fds && (s->reg[fd] & REG_FLAG)) {
                (void) epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
                s->reg[fd] = 0;
                s->revents[fd] = 0;
        }
}

static void cb_notify(void *opaque)
{
        (void) opaque; /* we fill before every wait anyway */
}

static const SlirpCb slirp_callbacks = {
        .send_packet = cb_send_packet,
        .guest_error = cb_guest_error,
        .clock_get_ns = cb_clock_get_ns,
        .timer_new = cb_timer_new,
        .timer_free = cb_timer_free,
        .timer_mod = cb_timer_mod,
        .register_poll_fd = cb_register_poll_fd,
        .unregister_poll_fd = cb_unregister_poll_fd,
        .notify = cb_notify,
};

/* ---- fill/poll ---- */

static int cb_add_poll(int fd, int events, void *opaque)
{
        struct netns_slirp *s = opaque;
        uint32_t ev = 0;

        if (events & SLIRP_POLL_IN)
                ev |= EPOLLIN;
        if (events & SLIRP_POLL_OUT)
                ev |= EPOLLOUT;
        if (events & SLIRP_POLL_PRI)
                ev |= EPOLLPRI;
        if (s->n_round == s->cap_round) {
                s->cap_round = s->cap_round ? s->cap_round * 2 : 32;
                s->round = xreallocarray(s->round, s->cap_round, sizeof(*s->round));
        }
        s->round[s->n_round] = (struct poll_entry){ .fd = fd, .events = ev };
        return (int) s->n_round++;
}

static int cb_get_revents(int idx, void *opaque)
{
        struct netns_slirp *s = opaque;
        if (idx < 0 || (size_t) idx >= s->n_round)
                return 0;
        int fd = s->round[idx].fd;
        if (fd < 0 || (size_t) fd >= s->n_fds)
                return 0;
        /* Only what slirp asked about this round (plus errors), as poll(). */
        uint32_t asked = SLIRP_POLL_ERR | SLIRP_POLL_HUP;
        if (s->round[idx].events & EPOLLIN)
                asked |= SLIRP_POLL_IN;
        if (s->round[idx].events & EPOLLOUT)
                asked |= SLIRP_POLL_OUT;
        if (s->round[idx].events & EPOLLPRI)
                asked |= SLIRP_POLL_PRI;
        return (int) (s->revents[fd] & asked);
}

static void sync_epoll(struct netns_slirp *s)
{
        s->round_no++;
        for (size_t i = 0; i < s->n_round; i++) {
                int fd = s->round[i].fd;
                if (fd < 0)
                        continue;
                fds_grow(s, fd);
                s->seen[fd] = s->round_no;
                uint32_t want = REG_FLAG | s->round[i].events;
                if (s->reg[fd] == want)
                        continue;
                struct epoll_event ev = { .events = s->round[i].events, .data.fd = fd };
                int op = (s->reg[fd] & REG_FLAG) ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
                int r = epoll_ctl(s->epfd, op, fd, &ev);
                if (r < 0 && errno == ENOENT)
                        r = epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
                else if (r < 0 && errno == EEXIST)
                        r = epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev);
                s->reg[fd] = r < 0 ? 0 : want;
        }
        /* Sockets slirp did not ask about this round: stop watching them. */
        for (size_t fd = 0; fd < s->n_fds; fd++)
                if ((s->reg[fd] & REG_FLAG) && s->seen[fd] != s->round_no && (s->reg[fd] & ~REG_FLAG) != 0) {
                        struct epoll_event ev = { .events = 0, .data.fd = (int) fd };
                        if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, (int) fd, &ev) < 0)
                                s->reg[fd] = 0;
                        else
                                s->reg[fd] = REG_FLAG;
                }
}

static void collect_revents(struct netns_slirp *s)
{
        struct epoll_event evs[128];
        int n = epoll_wait(s->epfd, evs, (int) ARRAY_SIZE(evs), 0);

        for (int i = 0; i < n; i++) {
                int fd = evs[i].data.fd;
                if (fd < 0 || (size_t) fd >= s->n_fds)
                        continue;
                uint32_t r = 0;
                if (evs[i].events & EPOLLIN)
                        r |= SLIRP_POLL_IN;
                if (evs[i].events & EPOLLOUT)
                        r |= SLIRP_POLL_OUT;
                if (evs[i].events & EPOLLPRI)
                        r |= SLIRP_POLL_PRI;
                if (evs[i].events & EPOLLERR)
                        r |= SLIRP_POLL_ERR;
                if (evs[i].events & EPOLLHUP)
                        r |= SLIRP_POLL_HUP;
                s->revents[fd] = r;
        }
}

static void clear_revents(struct netns_slirp *s)
{
        for (size_t i = 0; i < s->n_round; i++) {
                int fd = s->round[i].fd;
                if (fd >= 0 && (size_t) fd < s->n_fds)
                        s->revents[fd] = 0;
        }
}

static int64_t run_timers(struct netns_slirp *s)
{
        int64_t now = now_ms(), next = -1;
        bool again = true;

        /* A callback may re-arm or free timers: restart the walk after each. */
        while (again) {
                again = false;
                for (struct slirp_timer *t = s->timers; t; t = t->next)
                        if (t->expire_ms >= 0 && t->expire_ms <= now) {
                                t->expire_ms = -1;
                                t->cb(t->cb_opaque);
                                again = true;
                                break;
                        }
        }
        for (struct slirp_timer *t = s->timers; t; t = t->next)
                if (t->expire_ms >= 0 && (next < 0 || t->expire_ms < next))
                        next = t->expire_ms;
        return next < 0 ? -1 : next - now;
}

static void on_prepare(struct hutch_loop *loop, int *timeout_ms, void *data)
{
        struct netns_slirp *s = data;
        uint32_t t = UINT32_MAX;
        (void) loop;

        if (s->filled) {
                if (s->nested_ready)
                        collect_revents(s);
                s->nested_ready = false;
                slirp_pollfds_poll(s->slirp, 0, cb_get_revents, s);
                clear_revents(s);
        }
        int64_t tt = run_timers(s);

        s->n_round = 0;
        slirp_pollfds_fill(s->slirp, &t, cb_add_poll, s);
        s->filled = true;
        sync_epoll(s);

        if (tt >= 0 && (uint64_t) tt < t)
                t = (uint32_t) tt;
        if (*timeout_ms < 0 || (int64_t) t < *timeout_ms)
                *timeout_ms = t > INT32_MAX ? INT32_MAX : (int) t;
}

static int on_nested(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct netns_slirp *s = data;
        (void) loop;
        (void) fd;
        (void) events;
        s->nested_ready = true; /* collected in on_prepare, which runs right after */
        return 0;
}

/* ---- DNS relay to a chosen upstream resolver ---- */

static uint16_t get16(const uint8_t *p)
{
        return (uint16_t) (p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
        uint32_t sum = 0;
        for (size_t i = 0; i + 1 < len; i += 2)
                sum += get16(p + i);
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}

/* Returns true when the frame is a UDP query to the virtual DNS address and
 * was taken over (relayed or dropped). */
static bool dns_intercept(struct netns_slirp *s, const uint8_t *f, size_t len)
{
        if (len < 14 + 20 + 8 || get16(f + 12) != 0x0800)
                return false;
        const uint8_t *ip = f + 14;
        size_t ihl = (size_t) (ip[0] & 0x0f) * 4;
        if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 17 || memcmp(ip + 16, &s->opts.dns, 4) != 0)
                return false;
        if (len < 14 + ihl + 8)
                return false;
        const uint8_t *udp = ip + ihl;
        if (get16(udp + 2) != 53)
                return false;
        /* From here on the frame is ours: relay it or drop it. */
        if ((get16(ip + 6) & 0x3fff) != 0) /* fragments: drop */
                return true;
        size_t iplen = get16(ip + 2);
        if (iplen > len - 14 || iplen < ihl + 8)
                return true;
        size_t ulen = get16(udp + 4);
        if (ulen < 8 + 12 || ulen > iplen - ihl)
                return true;
        const uint8_t *q = udp + 8;
        size_t qlen = ulen - 8;

        int64_t now = now_ms();
        struct dns_query *slot = NULL;
        for (size_t i = 0; i < DNS_INFLIGHT; i++) {
                struct dns_query *d = &s->dns[i];
                if (!d->used || d->expires_ms < now) {
                        slot = d;
                        break;
                }
                if (slot == NULL || d->expires_ms < slot->expires_ms)
                        slot = d; /* full: reuse the oldest */
        }
        uint16_t id;
        if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
                id = (uint16_t) (now ^ (int64_t) (slot - s->dns) * 7919);

        uint8_t buf[65536];
        memcpy(buf, q, qlen);
        put16(buf, id);
        if (send(s->dns_fd, buf, qlen, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
                log_debug_errno(errno, "dns relay: send");
                return true;
        }
        *slot = (struct dns_query){
                .used = true,
                .our_id = id,
                .guest_id = get16(q),
                .guest_port = get16(udp),
                .expires_ms = now + DNS_TIMEOUT_MS,
        };
        memcpy(&slot->guest_ip, ip + 12, 4);
        memcpy(slot->guest_mac, f + 6, 6);
        memcpy(slot->our_mac, f, 6);
        return true;
}

static int on_dns(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct netns_slirp *s = data;
        uint8_t *frame = s->frame; /* FRAME_MAX holds headers + 64 KiB */
        (void) loop;
        (void) events;

        for (int budget = 0; budget < 64; budget++) {
                uint8_t *payload = frame + 14 + 20 + 8;
                ssize_t n = recv(fd, payload, 65536, MSG_DONTWAIT);
                if (n < 0)
                        break;
                if (n < 12)
                        continue;
                struct dns_query *d = NULL;
                for (size_t i = 0; i < DNS_INFLIGHT; i++)
                        if (s->dns[i].used && s->dns[i].our_id == get16(payload)) {
                                d = &s->dns[i];
                                break;
                        }
                if (d == NULL || (size_t) n + 28 > s->opts.mtu)
                        continue;
                d->used = false;
                put16(payload, d->guest_id);

                uint8_t *eth = frame, *ip = frame + 14, *udp = frame + 34;
                memcpy(eth, d->guest_mac, 6);
                memcpy(eth + 6, d->our_mac, 6);
                put16(eth + 12, 0x0800);
                memset(ip, 0, 20);
                ip[0] = 0x45;
                put16(ip + 2, (uint16_t) (20 + 8 + n));
                ip[8] = 64;
                ip[9] = 17;
                memcpy(ip + 12, &s->opts.dns, 4);
                memcpy(ip + 16, &d->guest_ip, 4);
                put16(ip + 10, ip_checksum(ip, 20));
                put16(udp, 53);
                put16(udp + 2, d->guest_port);
                put16(udp + 4, (uint16_t) (8 + n));
                put16(udp + 6, 0); /* no checksum: allowed over IPv4 */
                (void) cb_send_packet(frame, (size_t) (14 + 28 + n), s);
        }
        return 0;
}

static int dns_relay_open(struct netns_slirp *s, struct hutch_error **err)
{
        _cleanup_close_ int fd = socket(s->opts.dns_upstream.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return hutch_error_set(err, errno, "cannot open the DNS relay socket");
        if (connect(fd, (struct sockaddr *) &s->opts.dns_upstream, s->opts.dns_upstream_len) < 0)
                return hutch_error_set(err, errno, "cannot reach the DNS upstream");
        s->dns_fd = steal_fd(&fd);
        return 0;
}

/* ---- the tap ---- */

static int on_tap(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct netns_slirp *s = data;

        if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
                /* The device went away with the namespace: stop watching it
                 * rather than spin until the monitor notices the exit. */
                (void) hutch_loop_remove(loop, fd);
                return 0;
        }
        s->batching = true;
        for (int i = 0; i < TAP_BUDGET; i++) {
                ssize_t n = read(fd, s->frame, FRAME_MAX);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        /* Drained.  The ACKs written now let the container
                         * send more, right away and in our process: read on
                         * while the budget lasts. */
                        if (s->n_held == 0)
                                break;
                        acks_flush(s);
                        continue;
                }
                if (s->dns_fd >= 0 && dns_intercept(s, s->frame, (size_t) n))
                        continue;
                slirp_input(s->slirp, s->frame, (int) n);
        }
        acks_flush(s);
        s->batching = false;
        return 0;
}

/* ---- public ---- */

static bool host_has_ipv6(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/net/if_inet6", "re");
        char line[256];

        if (f == NULL)
                return false;
        /* "addr ifindex prefixlen scope flags name": a global (scope 00)
         * address other than ::1. */
        while (fgets(line, sizeof(line), f)) {
                char addr[40], name[32];
                unsigned idx, plen, scope, flags;
                if (sscanf(line, "%39s %x %x %x %x %31s", addr, &idx, &plen, &scope, &flags, name) != 6)
                        continue;
                if (scope == 0 && !STREQ(name, "lo"))
                        return true;
        }
        return false;
}

int netns_slirp_new(const struct netns_slirp_options *o, int tapfd, struct netns_slirp **ret, struct hutch_error **err)
{
        struct netns_slirp *s = xzalloc(sizeof(*s));
        SlirpConfig cfg;
        uint32_t mask = htonl(0xffffffffu << (32 - o->prefix_len));

        s->opts = *o;
        s->tapfd = tapfd;
        s->dns_fd = -1;
        s->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epfd < 0) {
                int e = errno;
                netns_slirp_free(s);
                return hutch_error_set(err, e, "epoll_create1");
        }
        s->frame = xmalloc(FRAME_MAX);
        (void) fcntl(tapfd, F_SETFL, fcntl(tapfd, F_GETFL) | O_NONBLOCK);

        memset(&cfg, 0, sizeof(cfg));
        cfg.version = SLIRP_CONFIG_VERSION_MAX < 4 ? SLIRP_CONFIG_VERSION_MAX : 4;
        cfg.restricted = 0;
        cfg.in_enabled = true;
        cfg.vnetwork = o->network;
        cfg.vnetmask.s_addr = mask;
        cfg.vhost = o->gateway;
        cfg.vdhcp_start = o->guest;
        cfg.vnameserver = o->dns;
        cfg.in6_enabled = o->enable_ipv6 && host_has_ipv6();
        (void) inet_pton(AF_INET6, "fd00::", &cfg.vprefix_addr6);
        cfg.vprefix_len = 64;
        (void) inet_pton(AF_INET6, "fd00::2", &cfg.vhost6);
        (void) inet_pton(AF_INET6, "fd00::3", &cfg.vnameserver6);
        cfg.if_mtu = o->mtu;
        cfg.if_mru = o->mtu;
        cfg.disable_host_loopback = !o->allow_host_loopback;
        cfg.enable_emu = false;
        s->slirp = slirp_new(&cfg, &slirp_callbacks, s);
        if (s->slirp == NULL) {
                netns_slirp_free(s);
                return hutch_error_set(err, EINVAL, "libslirp refused the network configuration");
        }
        if (o->has_dns_upstream && dns_relay_open(s, err) < 0) {
                netns_slirp_free(s);
                return hutch_error_value(*err);
        }
        log_debug("slirp %s: mtu %u, ipv6 %s, host loopback %s", slirp_version_string(), o->mtu,
                  cfg.in6_enabled ? "on" : "off", o->allow_host_loopback ? "allowed" : "refused");
        *ret = s;
        return 0;
}

int netns_slirp_attach(struct netns_slirp *s, struct hutch_loop *loop, struct hutch_error **err)
{
        int r;

        r = hutch_loop_add(loop, s->tapfd, EPOLLIN, on_tap, s);
        if (r < 0)
                return hutch_error_set(err, -r, "cannot watch the tap device");
        r = hutch_loop_add(loop, s->epfd, EPOLLIN, on_nested, s);
        if (r < 0) {
                (void) hutch_loop_remove(loop, s->tapfd);
                return hutch_error_set(err, -r, "cannot watch slirp's sockets");
        }
        if (s->dns_fd >= 0) {
                r = hutch_loop_add(loop, s->dns_fd, EPOLLIN, on_dns, s);
                if (r < 0) {
                        (void) hutch_loop_remove(loop, s->tapfd);
                        (void) hutch_loop_remove(loop, s->epfd);
                        return hutch_error_set(err, -r, "cannot watch the DNS relay");
                }
        }
        hutch_loop_set_prepare(loop, on_prepare, s);
        s->loop = loop;
        return 0;
}

struct netns_slirp *netns_slirp_free(struct netns_slirp *s)
{
        if (s == NULL)
                return NULL;
        if (s->loop) {
                (void) hutch_loop_remove(s->loop, s->tapfd);
                (void) hutch_loop_remove(s->loop, s->epfd);
                if (s->dns_fd >= 0)
                        (void) hutch_loop_remove(s->loop, s->dns_fd);
                hutch_loop_set_prepare(s->loop, NULL, NULL);
        }
        if (s->slirp)
                slirp_cleanup(s->slirp);
        while (s->timers) {
                struct slirp_timer *t = s->timers;
                s->timers = t->next;
                free(t);
        }
        if (s->tapfd >= 0)
                (void) close(s->tapfd);
        if (s->epfd >= 0)
                (void) close(s->epfd);
        if (s->dns_fd >= 0)
                (void) close(s->dns_fd);
        free(s->round);
        free(s->reg);
        free(s->revents);
        free(s->seen);
        free(s->frame);
        free(s);
        return NULL;
}

/* The monitor's side of `hutch attach`: a unix socket in the container's
 * run-time directory, clients that get its output and send input, window
 * sizes and signals.  Everything is bounded: MAX_CLIENTS clients, each
 * with at most CLIENT_QUEUE_MAX bytes of output waiting (a client that
 * falls further behind is dropped: the monitor never blocks on it and the
 * log is written as before), and INPUT_QUEUE_MAX bytes of input waiting
 * for the container (clients are not read meanwhile). */
#include "config.h"

#include "cmd/attach.h"
#include "cmd/run.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xalloc.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS      8
#define CLIENT_QUEUE_MAX (1u << 20)
#define INPUT_QUEUE_MAX  (256u << 10)
#define FINISH_WAIT_MS   2000

struct queue {
        uint8_t *data;
        size_t start, end, cap;
};

struct client {
        struct cmd_attach_server *s;
        int fd;
        struct queue out;
        uint8_t *in; /* one frame at most */
        size_t in_len;
        uint32_t events; /* what the loop watches */
};

struct cmd_attach_server {
        struct hutch_loop *loop;
        int dirfd, listen_fd;
        struct runtime_container *container;
        int tty_master;
        int input_fd; /* the pty master (a dup: the loop watches the original) or the stdin pipe */
        bool interactive, input_eof, input_watched;
        struct queue input;
        struct client *clients[MAX_CLIENTS];
};

static size_t queue_len(const struct queue *q)
{
        return q->end - q->start;
}

static void queue_push(struct queue *q, const void *data, size_t n)
{
        if (q->start > 0 && q->end + n > q->cap) {
                memmove(q->data, q->data + q->start, queue_len(q));
                q->end -= q->start;
                q->start = 0;
        }
        if (q->end + n > q->cap) {
                size_t cap = q->cap ? q->cap : 4096;
                while (cap < q->end + n)
                        cap *= 2;
                q->data = xrealloc(q->data, cap);
                q->cap = cap;
        }
        memcpy(q->data + q->end, data, n);
        q->end += n;
}

static void queue_pop(struct queue *q, size_t n)
{
        q->start += n;
        if (q->start == q->end)
                q->start = q->end = 0;
}

static void queue_free(struct queue *q)
{
        free(q->data);
        *q = (struct queue){ 0 };
}

static void queue_frame(struct queue *q, enum cmd_attach_type type, const void *payload, size_t n)
{
        uint8_t hdr[CMD_ATTACH_HEADER_LEN];
        cmd_attach_frame_header(hdr, type, n);
        queue_push(q, hdr, sizeof(hdr));
        if (n)
                queue_push(q, payload, n);
}

static void client_drop(struct client *c)
{
        struct cmd_attach_server *s = c->s;
        for (int i = 0; i < MAX_CLIENTS; i++)
                if (s->clients[i] == c)
                        s->clients[i] = NULL;
        (void) hutch_loop_remove(s->loop, c->fd);
        (void) close(c->fd);
        queue_free(&c->out);
        free(c->in);
        free(c);
}

static void client_watch(struct client *c)
{
        uint32_t ev = 0;
        if (queue_len(&c->s->input) + CMD_ATTACH_MAX_PAYLOAD <= INPUT_QUEUE_MAX)
                ev |= EPOLLIN;
        if (queue_len(&c->out) > 0)
                ev |= EPOLLOUT;
        if (ev != c->events && hutch_loop_modify(c->s->loop, c->fd, ev) == 0)
                c->events = ev;
}

/* Returns false when the client is gone. */
static bool client_flush(struct client *c)
{
        while (queue_len(&c->out) > 0) {
                ssize_t n = send(c->fd, c->out.data + c->out.start, queue_len(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                        queue_pop(&c->out, (size_t) n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                client_drop(c);
                return false;
        }
        client_watch(c);
        return true;
}

static void client_send(struct client *c, enum cmd_attach_type type, const void *data, size_t n)
{
        if (queue_len(&c->out) + CMD_ATTACH_HEADER_LEN + n > CLIENT_QUEUE_MAX) {
                log_debug("attach: a client fell %zu bytes behind, dropping it", queue_len(&c->out));
                client_drop(c);
                return;
        }
        queue_frame(&c->out, type, data, n);
        (void) client_flush(c);
}

static void resume_clients(struct cmd_attach_server *s)
{
        for (int i = 0; i < MAX_CLIENTS; i++)
                if (s->clients[i])
                        client_watch(s->clients[i]);
}

static int on_input_writable(struct hutch_loop *loop, int fd, uint32_t events, void *data);

static void input_close(struct cmd_attach_server *s)
{
        if (s->input_watched)
                (void) hutch_loop_remove(s->loop, s->input_fd);
        s->input_watched = false;
        if (s->input_fd >= 0)
                (void) close(s->input_fd);
        s->input_fd = -1;
        queue_free(&s->input);
}

/* Writes queued input to the container as far as it takes it. */
static void input_flush(struct cmd_attach_server *s)
{
        while (s->input_fd >= 0 && queue_len(&s->input) > 0) {
                ssize_t n = write(s->input_fd, s->input.data + s->input.start, queue_len(&s->input));
                if (n > 0) {
                        queue_pop(&s->input, (size_t) n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                /* the container closed its stdin (EPIPE) or its terminal (EIO) */
                input_close(s);
        }
        if (s->input_fd >= 0 && queue_len(&s->input) == 0 && s->input_eof && s->tty_master < 0)
                input_close(s); /* the container reads EOF */
        if (s->input_fd >= 0) {
                bool want = queue_len(&s->input) > 0;
                if (want && !s->input_watched)
                        s->input_watched = hutch_loop_add(s->loop, s->input_fd, EPOLLOUT, on_input_writable, s) == 0;
                else if (!want && s->input_watched) {
                        (void) hutch_loop_remove(s->loop, s->input_fd);
                        s->input_watched = false;
                }
        }
        resume_clients(s);
}

static int on_input_writable(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        (void) loop;
        (void) fd;
        (void) events;
        input_flush(data);
        return 0;
}

static bool allowed_signal(int sig)
{
        for (size_t i = 0; i < ARRAY_SIZE(cmd_run_forwarded_signals); i++)
                if (cmd_run_forwarded_signals[i] == sig)
                        return true;
        return false;
}

static void handle_frame(struct cmd_attach_server *s, const struct cmd_attach_frame *f)
{
        switch (f->type) {
        case CMD_ATTACH_STDIN:
                if (s->interactive && s->input_fd >= 0 && !s->input_eof)
                        queue_push(&s->input, f->payload, f->len);
                break;
        case CMD_ATTACH_EOF:
                if (!s->interactive || s->input_fd < 0)
                        break;
                if (s->tty_master >= 0) {
                        /* the terminal's EOF character, as a user would type it */
                        struct termios tio;
                        if (tcgetattr(s->tty_master, &tio) == 0)
                                queue_push(&s->input, &tio.c_cc[VEOF], 1);
                } else {
                        s->input_eof = true;
                }
                break;
        case CMD_ATTACH_RESIZE: {
                struct winsize ws = { .ws_row = (unsigned short) (f->payload[0] << 8 | f->payload[1]),
                                      .ws_col = (unsigned short) (f->payload[2] << 8 | f->payload[3]) };
                if (s->tty_master >= 0 && ws.ws_row > 0 && ws.ws_col > 0)
                        (void) ioctl(s->tty_master, TIOCSWINSZ, &ws);
                break;
        }
        case CMD_ATTACH_SIGNAL:
                if (allowed_signal(f->payload[0])) {
                        log_debug("attach: forwarding signal %d to the container", f->payload[0]);
                        (void) runtime_container_signal(s->container, f->payload[0]);
                }
                break;
        default: break; /* a monitor's frame from a client: ignored */
        }
}

static int on_client(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct client *c = data;
        struct cmd_attach_server *s = c->s;
        (void) loop;
        (void) fd;

        if (events & EPOLLOUT && !client_flush(c))
                return 0;
        if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;
        if (!(c->events & EPOLLIN) && !(events & (EPOLLHUP | EPOLLERR)))
                return 0; /* input is full: read later */
        ssize_t n = recv(c->fd, c->in + c->in_len, CMD_ATTACH_HEADER_LEN + CMD_ATTACH_MAX_PAYLOAD - c->in_len,
                         MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                client_drop(c);
                return 0;
        }
        c->in_len += (size_t) n;
        size_t off = 0;
        for (;;) {
                struct cmd_attach_frame f;
                int k = cmd_attach_frame_parse(c->in + off, c->in_len - off, &f);
                if (k < 0) {
                        log_debug("attach: a client sent a malformed frame, dropping it");
                        client_drop(c);
                        return 0;
                }
                if (k == 0)
                        break;
                handle_frame(s, &f);
                off += (size_t) k;
        }
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
        input_flush(s);
        return 0;
}

/* Takes the connected cfd as a client and greets it; false (cfd still the
 * caller's) when every slot is taken. */
static bool client_add(struct cmd_attach_server *s, int cfd)
{
        int slot = -1;
        for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
                if (s->clients[i] == NULL)
                        slot = i;
        if (slot < 0)
                return false;
        struct client *c = xzalloc(sizeof(*c));
        c->s = s;
        c->fd = cfd;
        c->in = xmalloc(CMD_ATTACH_HEADER_LEN + CMD_ATTACH_MAX_PAYLOAD);
        if (hutch_loop_add(s->loop, cfd, EPOLLIN, on_client, c) < 0) {
                (void) close(cfd);
                free(c->in);
                free(c);
                return true;
        }
        c->events = EPOLLIN;
        s->clients[slot] = c;
        uint8_t hello[2] = { s->tty_master >= 0, s->interactive && s->input_fd >= 0 };
        queue_frame(&c->out, CMD_ATTACH_HELLO, hello, sizeof(hello));
        if (client_flush(c))
                client_watch(c);
        return true;
}

static int on_listen(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct cmd_attach_server *s = data;
        (void) events;

        for (;;) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0)
                        return 0; /* EAGAIN, or a peer that went away */
                struct ucred cred;
                socklen_t len = sizeof(cred);
                /* the directory is 0700 already; still, only our own user */
                if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != geteuid()) {
                        (void) close(cfd);
                        continue;
                }
                if (!client_add(s, cfd)) {
                        uint8_t msg[CMD_ATTACH_HEADER_LEN + 64];
                        int m = snprintf((char *) msg + CMD_ATTACH_HEADER_LEN, 64,
                                         "too many clients attached (at most %d)", MAX_CLIENTS);
                        cmd_attach_frame_header(msg, CMD_ATTACH_ERROR, (size_t) m);
                        (void) send(cfd, msg, CMD_ATTACH_HEADER_LEN + (size_t) m, MSG_NOSIGNAL | MSG_DONTWAIT);
                        (void) close(cfd);
                }
        }
}

int cmd_attach_server_start(struct hutch_loop *loop, const struct cmd_attach_server_config *cfg,
                            struct cmd_attach_server **ret, struct hutch_error **err)
{
        struct cmd_attach_server *s = xzalloc(sizeof(*s));
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        s->loop = loop;
        s->container = cfg->container;
        s->tty_master = cfg->tty_master;
        s->interactive = cfg->interactive;
        s->input_fd = -1;
        s->listen_fd = -1;
        s->dirfd = -1;
        if (cfg->stdin_fd >= 0)
                s->input_fd = cfg->stdin_fd;
        else if (cfg->tty_master >= 0 && cfg->interactive)
                s->input_fd = fcntl(cfg->tty_master, F_DUPFD_CLOEXEC, 3);
        if (s->input_fd >= 0)
                (void) fcntl(s->input_fd, F_SETFL, fcntl(s->input_fd, F_GETFL) | O_NONBLOCK);
        /* a pipe whose reader is gone must be an EPIPE, not the monitor's
         * death; the container, already running, does not inherit this */
        (void) signal(SIGPIPE, SIG_IGN);

        s->dirfd = open(cfg->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0) {
                r = hutch_error_set(err, errno, "open '%s'", cfg->state_dir);
                goto fail;
        }
        /* through /proc: sun_path holds 107 bytes, a run-time path may not fit */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", s->dirfd, CMD_ATTACH_SOCKET_NAME);
        s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->listen_fd < 0) {
                r = hutch_error_set(err, errno, "create the attach socket");
                goto fail;
        }
        (void) unlinkat(s->dirfd, CMD_ATTACH_SOCKET_NAME, 0);
        mode_t old = umask(0177);
        r = bind(s->listen_fd, (struct sockaddr *) &sa, sizeof(sa));
        int e = errno;
        umask(old);
        if (r < 0 || listen(s->listen_fd, MAX_CLIENTS) < 0) {
                r = hutch_error_set(err, r < 0 ? e : errno, "listen on the attach socket in '%s'", cfg->state_dir);
                goto fail;
        }
        if (hutch_loop_add(loop, s->listen_fd, EPOLLIN, on_listen, s) < 0) {
                r = hutch_error_set(err, errno, "watch the attach socket");
                goto fail;
        }
        if (cfg->first_client >= 0) {
                (void) fcntl(cfg->first_client, F_SETFL, fcntl(cfg->first_client, F_GETFL) | O_NONBLOCK);
                (void) client_add(s, cfg->first_client); /* the first of MAX_CLIENTS slots: always free */
        }
        *ret = s;
        return 0;
fail:
        if (cfg->first_client >= 0)
                (void) close(cfg->first_client);
        (void) cmd_attach_server_free(s);
        return r;
}

void cmd_attach_server_output(struct cmd_attach_server *s, int stream, const char *buf, size_t n)
{
        if (s == NULL)
                return;
        enum cmd_attach_type type = stream == 2 ? CMD_ATTACH_STDERR : CMD_ATTACH_STDOUT;
        for (size_t off = 0; off < n; off += CMD_ATTACH_MAX_PAYLOAD) {
                size_t k = n - off < CMD_ATTACH_MAX_PAYLOAD ? n - off : CMD_ATTACH_MAX_PAYLOAD;
                for (int i = 0; i < MAX_CLIENTS; i++)
                        if (s->clients[i])
                                client_send(s->clients[i], type, buf + off, k);
        }
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cmd_attach_server_finish(struct cmd_attach_server *s, int exit_code)
{
        if (s == NULL)
                return;
        uint8_t code[4] = { (uint8_t) ((uint32_t) exit_code >> 24), (uint8_t) ((uint32_t) exit_code >> 16),
                            (uint8_t) ((uint32_t) exit_code >> 8), (uint8_t) exit_code };
        for (int i = 0; i < MAX_CLIENTS; i++)
                if (s->clients[i])
                        client_send(s->clients[i], CMD_ATTACH_EXIT, code, sizeof(code));
        /* The loop is over: give slow clients a moment of their own. */
        int64_t deadline = now_ms() + FINISH_WAIT_MS;
        for (;;) {
                struct pollfd pfd[MAX_CLIENTS];
                struct client *who[MAX_CLIENTS];
                nfds_t n = 0;
                for (int i = 0; i < MAX_CLIENTS; i++)
                        if (s->clients[i] && queue_len(&s->clients[i]->out) > 0) {
                                pfd[n] = (struct pollfd){ .fd = s->clients[i]->fd, .events = POLLOUT };
                                who[n++] = s->clients[i];
                        }
                int64_t left = deadline - now_ms();
                if (n == 0 || left <= 0)
                        break;
                if (poll(pfd, n, (int) left) < 0 && errno != EINTR)
                        break;
                for (nfds_t i = 0; i < n; i++)
                        if (pfd[i].revents)
                                (void) client_flush(who[i]);
        }
        for (int i = 0; i < MAX_CLIENTS; i++)
                if (s->clients[i])
                        client_drop(s->clients[i]);
        if (s->dirfd >= 0)
                (void) unlinkat(s->dirfd, CMD_ATTACH_SOCKET_NAME, 0);
}

struct cmd_attach_server *cmd_attach_server_free(struct cmd_attach_server *s)
{
        if (s == NULL)
                return NULL;
        for (int i = 0; i < MAX_CLIENTS; i++)
                if (s->clients[i])
                        client_drop(s->clients[i]);
        input_close(s);
        if (s->listen_fd >= 0) {
                (void) hutch_loop_remove(s->loop, s->listen_fd);
                (void) close(s->listen_fd);
        }
        if (s->dirfd >= 0)
                (void) close(s->dirfd);
        free(s);
        return NULL;
}

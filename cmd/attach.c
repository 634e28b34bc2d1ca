/* hutch attach: the user's terminal (or stdio) joined to a running
 * container through its monitor's attach socket (cmd/attach-server.c).
 * Detach keys leave the container running; its exit ends the attach with
 * its exit code. */
#include "config.h"

#include "cmd/attach.h"
#include "cmd/paths.h"
#include "cmd/run.h"
#include "cmd/tty.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/parse.h"
#include "lib/xalloc.h"
#include "storage/containers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

enum { OPT_DETACH_KEYS = 0x100, OPT_NO_STDIN, OPT_SIG_PROXY };

const struct cmd_option cmd_attach_options[] = {
        { "detach-keys", 0, required_argument, "KEYS",
          "keys that detach and leave the container running (default ctrl-p,ctrl-q; '' for none)", OPT_DETACH_KEYS },
        { "no-stdin", 0, no_argument, NULL, "do not send input to the container", OPT_NO_STDIN },
        { "sig-proxy", 0, optional_argument, "BOOL",
          "forward the signals attach receives to the container (default true; without a terminal only)",
          OPT_SIG_PROXY },
        { 0 },
};

int cmd_detach_keys_check(const struct cmd_command *cmd, const char *spec, struct hutch_error **err)
{
        uint8_t keys[CMD_DETACH_KEYS_MAX];
        size_t n;
        struct hutch_error *e = NULL;

        if (cmd_detach_keys_parse(spec, keys, &n, &e) < 0) {
                _cleanup_free_ char *msg = xstrdup(e->msg);
                hutch_error_free(e);
                return cmd_usage_error(cmd, err, "%s", msg);
        }
        return 0;
}

enum { END_NONE, END_EXIT, END_DETACH, END_LOST, END_ERROR, END_SIGNAL };

struct client {
        int sock;
        bool tty, use_stdin, proxy;
        struct cmd_detach_state detach;
        uint8_t in[CMD_ATTACH_HEADER_LEN + CMD_ATTACH_MAX_PAYLOAD];
        size_t in_len;
        int end, exit_code, signo;
        char *error;
};

static void send_frame(struct client *c, enum cmd_attach_type type, const void *data, size_t n)
{
        uint8_t hdr[CMD_ATTACH_HEADER_LEN];
        cmd_attach_frame_header(hdr, type, n);
        /* blocking: the monitor reads us as fast as the container takes input */
        if (send(c->sock, hdr, sizeof(hdr), MSG_NOSIGNAL) != (ssize_t) sizeof(hdr))
                return; /* gone: the socket's EOF tells */
        for (size_t off = 0; off < n;) {
                ssize_t k = send(c->sock, (const uint8_t *) data + off, n - off, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return;
                off += (size_t) k;
        }
}

static void send_size(struct client *c)
{
        struct winsize ws;
        if (!c->tty || (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0))
                return;
        uint8_t p[4] = { (uint8_t) (ws.ws_row >> 8), (uint8_t) ws.ws_row, (uint8_t) (ws.ws_col >> 8),
                         (uint8_t) ws.ws_col };
        send_frame(c, CMD_ATTACH_RESIZE, p, sizeof(p));
}

/* Handles the frames in c->in; false once the session is over. */
static bool handle_frames(struct client *c)
{
        size_t off = 0;
        bool go_on = true;

        while (go_on) {
                struct cmd_attach_frame f;
                int k = cmd_attach_frame_parse(c->in + off, c->in_len - off, &f);
                if (k < 0) {
                        c->end = END_ERROR;
                        c->error = xstrdup("the container's monitor sent a malformed message");
                        return false;
                }
                if (k == 0)
                        break;
                off += (size_t) k;
                switch (f.type) {
                case CMD_ATTACH_STDOUT: (void) hutch_write_all(STDOUT_FILENO, f.payload, f.len); break;
                case CMD_ATTACH_STDERR: (void) hutch_write_all(STDERR_FILENO, f.payload, f.len); break;
                case CMD_ATTACH_EXIT:
                        c->end = END_EXIT;
                        c->exit_code = (int) ((uint32_t) f.payload[0] << 24 | (uint32_t) f.payload[1] << 16 |
                                              (uint32_t) f.payload[2] << 8 | f.payload[3]);
                        go_on = false;
                        break;
                case CMD_ATTACH_ERROR:
                        c->end = END_ERROR;
                        c->error = xstrndup((const char *) f.payload, f.len);
                        go_on = false;
                        break;
                default: break;
                }
        }
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
        return go_on;
}

static int on_sock(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct client *c = data;
        (void) events;
        ssize_t n = recv(fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                c->end = END_LOST;
                hutch_loop_quit(loop, 0);
                return 0;
        }
        c->in_len += (size_t) n;
        if (!handle_frames(c))
                hutch_loop_quit(loop, 0);
        return 0;
}

static int on_stdin(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct client *c = data;
        uint8_t buf[4096], out[sizeof(buf) + CMD_DETACH_KEYS_MAX];
        bool detach = false;
        (void) events;
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                (void) hutch_loop_remove(loop, fd);
                send_frame(c, CMD_ATTACH_EOF, NULL, 0);
                return 0;
        }
        size_t o = cmd_detach_feed(&c->detach, buf, (size_t) n, out, &detach);
        if (o > 0)
                send_frame(c, CMD_ATTACH_STDIN, out, o);
        if (detach) {
                c->end = END_DETACH;
                hutch_loop_quit(loop, 0);
        }
        return 0;
}

static int on_signal(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct client *c = data;
        struct signalfd_siginfo si;
        (void) events;

        while (read(fd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                if (si.ssi_signo == SIGWINCH) {
                        send_size(c);
                } else if (c->proxy) {
                        uint8_t sig = (uint8_t) si.ssi_signo;
                        send_frame(c, CMD_ATTACH_SIGNAL, &sig, 1);
                } else {
                        c->end = END_SIGNAL;
                        c->signo = (int) si.ssi_signo;
                        hutch_loop_quit(loop, 0);
                }
        }
        return 0;
}

/* stdin that epoll refuses (a regular file, /dev/null) to its end. */
static void send_file(struct client *c)
{
        uint8_t buf[CMD_ATTACH_MAX_PAYLOAD];
        for (;;) {
                ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                send_frame(c, CMD_ATTACH_STDIN, buf, (size_t) n);
        }
        send_frame(c, CMD_ATTACH_EOF, NULL, 0);
}

/* Connects to the attach socket in the container's run-time directory. */
static int connect_monitor(const char *id, const char *name, struct hutch_error **err)
{
        _cleanup_free_ char *runroot = cmd_run_root();
        _cleanup_free_ char *dir = xasprintf("%s/%s", runroot, id);
        _cleanup_close_ int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (dirfd < 0)
                return hutch_error_set(err, errno, "container '%s' has no run-time directory '%s'", name, dir);
        /* through /proc: sun_path holds 107 bytes, a run-time path may not fit */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd, CMD_ATTACH_SOCKET_NAME);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return hutch_error_set(err, errno, "socket");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                (void) close(fd);
                if (e == ENOENT || e == ECONNREFUSED)
                        return hutch_error_set(err, e,
                                               "container '%s' cannot be attached to: it runs in the foreground "
                                               "of another hutch (only a detached container's monitor serves "
                                               "attach)",
                                               name);
                return hutch_error_set(err, e, "connect to the monitor of container '%s'", name);
        }
        return fd;
}

int cmd_attach_container(const char *id, const char *name, const struct cmd_attach_options *o, struct hutch_error **err)
{
        int sock = connect_monitor(id, name, err);
        if (sock < 0)
                return sock;
        return cmd_attach_connected(sock, name, o, err);
}

int cmd_attach_connected(int sock, const char *name, const struct cmd_attach_options *o, struct hutch_error **err)
{
        struct client c = { .sock = sock, .end = END_NONE };
        struct hutch_loop *loop = NULL;
        struct termios saved;
        bool raw = false, blocked = false;
        sigset_t oldmask;
        _cleanup_close_ int sfd = -1;
        int r;

        r = cmd_detach_keys_parse(o->detach_keys ? o->detach_keys : CMD_DETACH_KEYS_DEFAULT, c.detach.keys,
                                  &c.detach.n_keys, err);
        if (r < 0)
                goto out;
        /* the first frame says what the container has */
        struct cmd_attach_frame hello = { 0 };
        while ((r = cmd_attach_frame_parse(c.in, c.in_len, &hello)) == 0) {
                ssize_t n = recv(c.sock, c.in + c.in_len, sizeof(c.in) - c.in_len, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                c.in_len += (size_t) n;
        }
        if (r > 0 && hello.type == CMD_ATTACH_ERROR) {
                r = hutch_error_set(err, 0, "container '%s': %.*s", name, (int) hello.len,
                                    (const char *) hello.payload);
                goto out;
        }
        if (r <= 0 || hello.type != CMD_ATTACH_HELLO) {
                r = hutch_error_set(err, EPROTO,
                                    "the monitor of container '%s' ended without answering (see 'hutch ps -a' "
                                    "and 'hutch logs %s')",
                                    name, name);
                goto out;
        }
        c.tty = hello.payload[0] != 0;
        c.use_stdin = hello.payload[1] != 0 && !o->no_stdin;
        memmove(c.in, c.in + r, c.in_len - (size_t) r);
        c.in_len -= (size_t) r;
        r = 0;
        c.proxy = o->sig_proxy && (!c.tty || o->sig_proxy_tty);

        sfd = cmd_run_signalfd(&oldmask, err);
        if (sfd < 0) {
                r = sfd;
                goto out;
        }
        blocked = true;
        loop = hutch_loop_new();
        if (loop == NULL) {
                r = hutch_error_set(err, errno, "create the event loop");
                goto out;
        }
        if (hutch_loop_add(loop, c.sock, EPOLLIN, on_sock, &c) < 0 ||
            hutch_loop_add(loop, sfd, EPOLLIN, on_signal, &c) < 0) {
                r = hutch_error_set(err, errno, "watch the attach socket");
                goto out;
        }
        if (c.use_stdin && hutch_loop_add(loop, STDIN_FILENO, EPOLLIN, on_stdin, &c) < 0) {
                /* /dev/null or a regular file: epoll can't watch it, but it
                 * never blocks either: send it all, then its end */
                send_file(&c);
        }
        if (c.tty && c.use_stdin)
                raw = cmd_tty_raw_begin(STDIN_FILENO, &saved);
        send_size(&c);
        /* frames that came with the hello */
        if (!handle_frames(&c))
                hutch_loop_quit(loop, 0);
        else
                r = hutch_loop_run(loop);
        if (raw)
                cmd_tty_raw_end(STDIN_FILENO, &saved);
        if (r < 0) {
                r = hutch_error_set(err, -r, "attach to container '%s'", name);
                goto out;
        }
        switch (c.end) {
        case END_EXIT: r = c.exit_code; break;
        case END_DETACH:
                if (!o->quiet_detach && raw)
                        (void) hutch_write_all(STDOUT_FILENO, "\r\n", 2);
                r = 0;
                break;
        case END_SIGNAL: r = 128 + c.signo; break;
        case END_ERROR:
                r = hutch_error_set(err, 0, "container '%s': %s", name, c.error ? c.error : "attach failed");
                break;
        default:
                r = hutch_error_set(err, 0,
                                    "lost the connection to the monitor of container '%s' (the container may "
                                    "still run: see 'hutch ps')",
                                    name);
                break;
        }
out:
        loop = hutch_loop_free(loop);
        if (blocked)
                sigprocmask(SIG_SETMASK, &oldmask, NULL);
        if (c.sock >= 0)
                (void) close(c.sock);
        free(c.error);
        return r;
}

int cmd_attach(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        struct cmd_attach_options o = { .sig_proxy = true };
        struct storage_container rec = { 0 };
        char *optval = NULL;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: return -1;
                case OPT_DETACH_KEYS:
                        if (cmd_detach_keys_check(cmd, optval, err) < 0)
                                return -1;
                        o.detach_keys = optval;
                        break;
                case OPT_NO_STDIN: o.no_stdin = true; break;
                case OPT_SIG_PROXY:
                        if (optval && hutch_parse_bool(optval, &o.sig_proxy) < 0)
                                return cmd_usage_error(cmd, err, "invalid --sig-proxy '%s' (true or false)", optval);
                        if (optval == NULL)
                                o.sig_proxy = true;
                        break;
                }
        }
        if (optind + 1 != argc)
                return cmd_usage_error(cmd, err, "'%s' needs exactly one CONTAINER", cmd->full_name);
        const char *name = argv[optind];
        r = storage_container_find(root, name, &rec, err);
        if (r < 0)
                return r;
        bool running = rec.status == STORAGE_CONTAINER_RUNNING && storage_container_pid_alive(rec.pid, rec.pid_start);
        if (!running)
                r = hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0,
                                           "container '%s' is not running: you cannot attach to a stopped "
                                           "container, start it first",
                                           name);
        else
                r = cmd_attach_container(rec.id, name, &o, err);
        storage_container_clear(&rec);
        return r;
}

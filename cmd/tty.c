#include "config.h"

#include "cmd/attach-proto.h"
#include "cmd/ctrlog.h"
#include "cmd/tty.h"
#include "lib/fs.h"
#include "lib/loop.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <string.h>
#include <unistd.h>

struct cmd_tty {
        struct hutch_loop *loop;
        int master;
        struct cmd_log_writer *log;
        bool echo; /* to our stdout: the foreground */
        bool raw;
        struct termios saved;
        void (*tee)(void *data, int stream, const char *buf, size_t n);
        void *tee_data;
        struct cmd_detach_state detach; /* n_keys 0: input is never a detach */
        bool detached;
};

static void copy_out(struct cmd_tty *t, const char *buf, size_t n)
{
        if (t->log)
                cmd_log_writer_add(t->log, 1, buf, n);
        if (t->echo)
                (void) hutch_write_all(STDOUT_FILENO, buf, n);
        if (t->tee)
                t->tee(t->tee_data, 1, buf, n);
}

static int on_master(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct cmd_tty *t = data;
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n > 0)
                copy_out(t, buf, (size_t) n);
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                (void) hutch_loop_remove(loop, fd); /* EIO: every peer closed */
        return 0;
}

static int on_stdin(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct cmd_tty *t = data;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n > 0 && t->detach.n_keys > 0) {
                uint8_t out[sizeof(buf) + CMD_DETACH_KEYS_MAX];
                size_t o = cmd_detach_feed(&t->detach, (const uint8_t *) buf, (size_t) n, out, &t->detached);
                (void) hutch_write_all(t->master, out, o);
                if (t->detached)
                        hutch_loop_quit(loop, 0);
        } else if (n > 0) {
                (void) hutch_write_all(t->master, buf, (size_t) n);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                (void) hutch_loop_remove(loop, fd);
                /* end of input: the terminal's EOF character, as a user would type it */
                struct termios tio;
                if (tcgetattr(t->master, &tio) == 0)
                        (void) hutch_write_all(t->master, &tio.c_cc[VEOF], 1);
        }
        return 0;
}

bool cmd_tty_raw_begin(int fd, struct termios *saved)
{
        struct termios raw;

        if (!isatty(fd) || tcgetattr(fd, saved) < 0)
                return false;
        raw = *saved;
        /* output too, as Docker's and Podman's clients: the container's
         * terminal has made its newlines \r\n already */
        cfmakeraw(&raw);
        return tcsetattr(fd, TCSADRAIN, &raw) == 0;
}

void cmd_tty_raw_end(int fd, const struct termios *saved)
{
        (void) tcsetattr(fd, TCSADRAIN, saved);
}

void cmd_tty_set_tee(struct cmd_tty *t, void (*fn)(void *data, int stream, const char *buf, size_t n), void *data)
{
        t->tee = fn;
        t->tee_data = data;
}

void cmd_tty_set_detach_keys(struct cmd_tty *t, const uint8_t *keys, size_t n)
{
        t->detach = (struct cmd_detach_state){ .n_keys = n };
        memcpy(t->detach.keys, keys, n);
}

bool cmd_tty_detached(const struct cmd_tty *t)
{
        return t && t->detached;
}

void cmd_tty_resize(struct cmd_tty *t)
{
        struct winsize ws;
        if (t && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                (void) ioctl(t->master, TIOCSWINSZ, &ws);
}

int cmd_tty_attach(struct hutch_loop *loop, int master, bool forward_stdin, struct cmd_log_writer *log,
                   struct cmd_tty **ret, struct hutch_error **err)
{
        struct cmd_tty *t = xzalloc(sizeof(*t));

        t->loop = loop;
        t->master = master;
        t->log = log;
        t->echo = log == NULL;
        (void) fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
        if (hutch_loop_add(loop, master, EPOLLIN, on_master, t) < 0) {
                free(t);
                return hutch_error_set(err, errno, "watch the container's terminal");
        }
        if (!log && isatty(STDIN_FILENO)) {
                t->raw = cmd_tty_raw_begin(STDIN_FILENO, &t->saved);
                cmd_tty_resize(t);
        }
        if (forward_stdin && !log && hutch_loop_add(loop, STDIN_FILENO, EPOLLIN, on_stdin, t) < 0) {
                /* stdin from /dev/null or a regular file: epoll can't watch it */
                (void) 0;
        }
        *ret = t;
        return 0;
}

void cmd_tty_set_log(struct cmd_tty *t, struct cmd_log_writer *log)
{
        t->log = log;
}

void cmd_tty_drain(struct cmd_tty *t)
{
        char buf[65536];
        ssize_t n;

        if (t == NULL)
                return;
        while ((n = read(t->master, buf, sizeof(buf))) > 0)
                copy_out(t, buf, (size_t) n);
}

struct cmd_tty *cmd_tty_free(struct cmd_tty *t)
{
        if (t == NULL)
                return NULL;
        if (t->raw)
                cmd_tty_raw_end(STDIN_FILENO, &t->saved);
        free(t);
        return NULL;
}

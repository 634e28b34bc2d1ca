/* The monitor of an OCI container (see cmd/oci.h): makes the container,
 * then serves its control socket until the container exits. */
#include "config.h"

#include "cmd/oci.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/proc.h"
#include "lib/xalloc.h"
#include "runtime/seccomp.h"

#include "cmd/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CTL_NAME    "ctl"
#define MAX_CLIENTS 16
#define REQUEST_MAX 64

const char *cmd_oci_status_name(enum oci_status s)
{
        switch (s) {
        case OCI_CREATING: return "creating";
        case OCI_CREATED: return "created";
        case OCI_RUNNING: return "running";
        case OCI_STOPPED: return "stopped";
        }
        return "unknown";
}

/* ---- the control socket ----
 * ROOT/ID/ctl can be longer than sun_path (IDs run to 255 bytes): the
 * monitor binds it relative to the directory, clients connect through an
 * O_PATH fd of the socket file. */

static int ctl_listen(int dirfd)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = CTL_NAME };
        _cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int r = 0;

        if (fd < 0 || cwd < 0)
                return -errno;
        if (fchdir(dirfd) < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, MAX_CLIENTS) < 0)
                r = -errno;
        (void) fchdir(cwd);
        if (r < 0) {
                (void) close(fd);
                return r;
        }
        return fd;
}

int cmd_oci_request(const char *dir, const char *request, char *reply, size_t size, struct hutch_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/" CTL_NAME, dir);
        _cleanup_close_ int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        ssize_t n;

        if (pfd < 0)
                return errno == ENOENT ? -ENOENT : hutch_error_set(err, errno, "open '%s'", path);
        if (fstat(pfd, &st) < 0 || !S_ISSOCK(st.st_mode))
                return hutch_error_set(err, EINVAL, "'%s' is not a socket", path);
        hutch_fd_path(pfd, sa.sun_path, sizeof(sa.sun_path));
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return hutch_error_set(err, errno, "socket");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                if (errno == ECONNREFUSED || errno == ENOENT)
                        return -ECONNREFUSED;
                return hutch_error_set(err, errno, "connect to the container's monitor");
        }
        if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0)
                return hutch_error_set(err, errno, "talk to the container's monitor");
        do
                n = recv(fd, reply, size - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return hutch_error_set(err, errno, "read the container monitor's reply");
        if (n == 0)
                return -ECONNREFUSED; /* it exited meanwhile */
        reply[n] = '\0';
        return 0;
}

enum oci_status cmd_oci_status(const char *dir, pid_t *ret_pid)
{
        char reply[64];
        struct hutch_error *e = NULL;
        int r = cmd_oci_request(dir, "state", reply, sizeof(reply), &e);

        *ret_pid = 0;
        hutch_error_free(e);
        if (r == 0) {
                long pid = 0;
                if (sscanf(reply, "created %ld", &pid) == 1) {
                        *ret_pid = (pid_t) pid;
                        return OCI_CREATED;
                }
                if (sscanf(reply, "running %ld", &pid) == 1) {
                        *ret_pid = (pid_t) pid;
                        return OCI_RUNNING;
                }
                return OCI_STOPPED;
        }
        /* no monitor: creating while the lock is held and nothing is
         * recorded yet, else stopped (exited, or its monitor was killed) */
        _cleanup_free_ char *lock = xasprintf("%s/lock", dir);
        _cleanup_free_ char *state = xasprintf("%s/state.json", dir);
        _cleanup_close_ int fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && access(state, F_OK) < 0)
                return OCI_CREATING;
        return OCI_STOPPED;
}

/* ---- the monitor ---- */

struct monitor {
        const struct oci_monitor_args *a;
        struct runtime_container *c;
        int dirfd;
        int start_w; /* write end of the start pipe; -1 once started */
        int clients[MAX_CLIENTS];
        bool waiting[MAX_CLIENTS];
        size_t n_clients;
};

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(int fd, const char *fmt, ...)
{
        char buf[256];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n > 0)
                (void) send(fd, buf, strnlen(buf, sizeof(buf)), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void drop_client(struct monitor *m, size_t i)
{
        (void) close(m->clients[i]);
        m->clients[i] = m->clients[m->n_clients - 1];
        m->waiting[i] = m->waiting[m->n_clients - 1];
        m->n_clients--;
}

/* Returns true when the client stays (it waits for the exit). */
static bool serve(struct monitor *m, int fd)
{
        char req[REQUEST_MAX + 1];
        ssize_t n = recv(fd, req, REQUEST_MAX, MSG_DONTWAIT);
        int sig;

        if (n <= 0)
                return false;
        req[n] = '\0';
        if (STREQ(req, "state")) {
                reply(fd, "%s %ld", m->start_w >= 0 ? "created" : "running", (long) runtime_container_pid(m->c));
        } else if (STREQ(req, "start")) {
                if (m->start_w < 0) {
                        reply(fd, "err the container was started already");
                        return false;
                }
                int r = hutch_write_all(m->start_w, "s", 1);
                (void) close(m->start_w);
                m->start_w = -1;
                if (r < 0)
                        reply(fd, "err start the container: %s", strerror(-r));
                else
                        reply(fd, "ok");
        } else if (sscanf(req, "kill %d", &sig) == 1 && sig > 0 && sig < NSIG) {
                int r = runtime_container_signal(m->c, sig);
                if (r < 0)
                        reply(fd, "err signal the container: %s", strerror(-r));
                else
                        reply(fd, "ok");
        } else if (STREQ(req, "wait")) {
                return true;
        } else {
                reply(fd, "err unknown request");
        }
        return false;
}

static void on_listen(struct monitor *m, int lfd)
{
        for (;;) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                        return;
                if (m->n_clients >= MAX_CLIENTS) {
                        reply(fd, "err busy");
                        (void) close(fd);
                        continue;
                }
                m->clients[m->n_clients] = fd;
                m->waiting[m->n_clients] = false;
                m->n_clients++;
        }
}

static int write_state(const struct oci_monitor_args *a, int dirfd, pid_t pid, struct hutch_error **err)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        char created[64];
        struct tm tm;
        time_t now = time(NULL);

        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "id", a->id);
        hutch_json_gen_kv_string(g, "bundle", a->bundle);
        hutch_json_gen_kv_int(g, "pid", pid);
        hutch_json_gen_kv_string(g, "created", created);
        hutch_json_gen_string(g, "annotations");
        yajl_gen_map_open(g);
        for (char **p = a->spec->annotations; p && p[0] && p[1]; p += 2)
                hutch_json_gen_kv_string(g, p[0], p[1]);
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);
        size_t len = 0;
        _cleanup_free_ char *text = hutch_json_gen_steal(g, &len);
        yajl_gen_free(g);
        return hutch_write_file_atomic(dirfd, "state.json", text, len, 0600, err);
}

/* What the container inherits from its monitor: rlimits, umask and the
 * OOM score (the runtime's config has no place for them). */
static int apply_inherited(const struct runtime_spec *s, struct hutch_error **err)
{
        for (size_t i = 0; i < s->n_rlimits; i++) {
                struct rlimit rl = { .rlim_cur = s->rlimits[i].soft, .rlim_max = s->rlimits[i].hard };
                if (setrlimit(s->rlimits[i].resource, &rl) < 0)
                        return hutch_error_set(err, errno,
                                               "'process.rlimits': set resource %d to %llu/%llu (raising a hard limit "
                                               "needs privilege)",
                                               s->rlimits[i].resource, (unsigned long long) rl.rlim_cur,
                                               (unsigned long long) rl.rlim_max);
        }
        if (s->has_oom_score_adj) {
                char v[16];
                int n = snprintf(v, sizeof(v), "%d", s->oom_score_adj);
                _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || hutch_write_all(fd, v, (size_t) n) < 0)
                        return hutch_error_set(err, errno,
                                               "'process.oomScoreAdj': set %d (lowering it needs privilege)",
                                               s->oom_score_adj);
        }
        if (s->has_umask)
                (void) umask((mode_t) s->umask);
        return 0;
}

static __attribute__((noreturn)) void monitor_main(const struct oci_monitor_args *a, int ready)
{
        struct hutch_error *err = NULL;
        struct monitor m = { .a = a, .start_w = -1 };
        int start[2] = { -1, -1 };
        int lfd, exit_code;
        char buf[64];

        (void) setsid();
        const int keep[] = { ready, a->lock_fd, a->console_fd };
        /* it lives as long as its container: nothing inherited from
         * whoever ran `create` (a pipe the caller waits to see closed) may */
        hutch_close_fds_except(keep, ARRAY_SIZE(keep));
        m.dirfd = open(a->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (m.dirfd < 0) {
                hutch_report_error(ready, EXIT_HUTCH_FAILED, "open the state directory");
                _exit(EXIT_HUTCH_FAILED);
        }
        lfd = ctl_listen(m.dirfd);
        if (lfd < 0) {
                hutch_error_set(&err, -lfd, "listen on the control socket in '%s'", a->dir);
                goto fail;
        }
        if (pipe2(start, O_CLOEXEC) < 0) {
                hutch_error_set(&err, errno, "pipe");
                goto fail;
        }
        a->cfg->wait_start = true;
        a->cfg->start_fd = start[0];
        if (apply_inherited(a->spec, &err) < 0)
                goto fail;
        if (runtime_container_start(a->cfg, &m.c, &err) < 0)
                goto fail;
        (void) close(start[0]);
        m.start_w = start[1];

        int pty = runtime_container_pty(m.c);
        if (pty >= 0 && a->console_fd >= 0) {
                if (a->spec->has_console_size) {
                        struct winsize ws = { .ws_row = a->spec->console_height, .ws_col = a->spec->console_width };
                        (void) ioctl(pty, TIOCSWINSZ, &ws);
                }
                int r = hutch_send_fd(a->console_fd, pty);
                /* the receiver owns the terminal now: keep no copy (its
                 * closing must hang the container up), but keep the fd
                 * number valid for runtime_container_free */
                int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (devnull >= 0) {
                        (void) dup3(devnull, pty, O_CLOEXEC);
                        (void) close(devnull);
                }
                if (r < 0) {
                        hutch_error_set(&err, -r, "send the terminal to the console socket");
                        goto fail_running;
                }
        }
        if (a->console_fd >= 0)
                (void) close(a->console_fd);
        if (write_state(a, m.dirfd, runtime_container_pid(m.c), &err) < 0)
                goto fail_running;

        /* From here the monitor only signals, waits and writes a file. */
        {
                _cleanup_free_ char *cache = cmd_cache_dir();
                struct hutch_error *e = NULL;
                if (runtime_seccomp_restrict_self(cache, &e) < 0) {
                        log_debug("%s: the monitor runs without its own seccomp filter", e->msg);
                        hutch_error_free(e);
                }
        }
        snprintf(buf, sizeof(buf), "%ld", (long) runtime_container_pid(m.c));
        hutch_report_ok(ready, buf);
        (void) close(ready);
        {
                /* the container has our stdio now; we need none */
                int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                for (int i = 0; i < 3 && devnull >= 0; i++)
                        (void) dup2(devnull, i);
                if (devnull > 2)
                        (void) close(devnull);
        }
        (void) hutch_release_inherited_memory();

        for (;;) {
                struct pollfd p[MAX_CLIENTS + 2];
                p[0] = (struct pollfd){ .fd = runtime_container_pidfd(m.c), .events = POLLIN };
                p[1] = (struct pollfd){ .fd = lfd, .events = POLLIN };
                for (size_t i = 0; i < m.n_clients; i++)
                        p[2 + i] = (struct pollfd){ .fd = m.clients[i], .events = POLLIN };
                size_t n = 2 + m.n_clients;
                if (poll(p, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents)
                        break;
                /* clients first: the array changes when a new one arrives */
                for (size_t i = n - 2; i-- > 0;) {
                        if (!p[2 + i].revents)
                                continue;
                        if (m.waiting[i] || !serve(&m, m.clients[i]))
                                drop_client(&m, i);
                        else
                                m.waiting[i] = true;
                }
                if (p[1].revents)
                        on_listen(&m, lfd);
        }
        exit_code = runtime_container_reap(m.c, &err);
        if (exit_code < 0)
                exit_code = EXIT_HUTCH_FAILED;
        snprintf(buf, sizeof(buf), "%d\n", exit_code);
        hutch_error_clear(&err);
        (void) hutch_write_file_atomic(m.dirfd, "exit", buf, strlen(buf), 0600, NULL);
        /* the socket goes first: `state` answers stopped from now on */
        (void) unlinkat(m.dirfd, CTL_NAME, 0);
        for (size_t i = 0; i < m.n_clients; i++)
                if (m.waiting[i])
                        reply(m.clients[i], "exit %d", exit_code);
        _exit(0);

fail_running:
        (void) runtime_container_signal(m.c, SIGKILL);
        (void) runtime_container_reap(m.c, NULL);
fail:
        hutch_report_error(ready, err && err->exit_status ? err->exit_status : EXIT_HUTCH_FAILED,
                           err && err->msg ? err->msg : "the container monitor failed");
        _exit(EXIT_HUTCH_FAILED);
}

pid_t cmd_oci_monitor_spawn(const struct oci_monitor_args *a, struct hutch_error **err)
{
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return hutch_error_set(err, errno, "pipe");
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                int e = errno;
                (void) close(p[0]);
                (void) close(p[1]);
                return hutch_error_set(err, e, "fork the container monitor");
        }
        if (pid == 0) {
                (void) close(p[0]);
                monitor_main(a, p[1]);
        }
        (void) close(p[1]);
        /* the container, waiting to start, still holds a copy of the write end */
        char pid_text[32];
        int r = hutch_report_read(p[0], pid_text, sizeof(pid_text), EXIT_HUTCH_FAILED,
                                  "the container monitor exited before the container was created", err);
        (void) close(p[0]);
        long cpid = 0;
        if (r == 0 && sscanf(pid_text, "%ld", &cpid) == 1 && cpid > 0)
                return (pid_t) cpid;
        if (r == 0)
                hutch_error_set(err, 0, "the container monitor reported no container");
        /* it exits right after a failure: reap it, no zombie behind us */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return -1;
}

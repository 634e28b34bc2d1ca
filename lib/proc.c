#include "config.h"

#include "cleanup.h"
#include "fs.h"
#include "parse.h"
#include "proc.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int hutch_close_fds_from(int first)
{
        if (syscall(SYS_close_range, (unsigned) first, ~0U, 0) == 0)
                return 0;
        /* Old kernel: walk the fd table.  getdents on a raw fd avoids malloc. */
        int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                for (int fd = first; fd < 65536; fd++)
                        (void) close(fd);
                return 0;
        }
        char buf[4096];
        for (;;) {
                long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
                if (n <= 0)
                        break;
                for (long off = 0; off < n;) {
                        struct {
                                unsigned long long ino;
                                long long off;
                                unsigned short reclen;
                                unsigned char type;
                                char name[];
                        } *de = (void *) (buf + off);
                        int fd = 0;
                        const char *p = de->name;
                        if (*p >= '0' && *p <= '9') {
                                while (*p >= '0' && *p <= '9')
                                        fd = fd * 10 + (*p++ - '0');
                                if (fd >= first && fd != dfd)
                                        (void) close(fd);
                        }
                        off += de->reclen;
                }
        }
        (void) close(dfd);
        return 0;
}

int hutch_send_fd(int sock, int fd)
{
        char data = 'F';
        struct iovec iov = { .iov_base = &data, .iov_len = 1 };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = u.buf,
                .msg_controllen = sizeof(u.buf),
        };
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

        memset(u.buf, 0, sizeof(u.buf));
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
        for (;;) {
                if (sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

int hutch_recv_fd(int sock)
{
        char data;
        struct iovec iov = { .iov_base = &data, .iov_len = 1 };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = u.buf,
                .msg_controllen = sizeof(u.buf),
        };
        ssize_t n;

        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ECONNRESET;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
                        return fd;
                }
        return -EBADMSG;
}

int hutch_pidfd_open(pid_t pid)
{
        long fd = syscall(SYS_pidfd_open, pid, 0);
        return fd < 0 ? -errno : (int) fd;
}

int hutch_pidfd_send_signal(int pidfd, int sig)
{
        return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

void hutch_child_report_send(int fd, int errnum, int exit_status, const char *fmt, ...)
{
        struct hutch_child_report rep;
        va_list ap;

        memset(&rep, 0, sizeof(rep));
        rep.errnum = errnum < 0 ? -errnum : errnum;
        rep.exit_status = exit_status;
        va_start(ap, fmt);
        vsnprintf(rep.msg, sizeof(rep.msg), fmt, ap);
        va_end(ap);
        (void) hutch_write_all(fd, &rep, sizeof(rep));
}

int hutch_child_report_recv(int fd, struct hutch_child_report *ret)
{
        ssize_t n = hutch_read_full(fd, ret, sizeof(*ret));
        if (n < 0)
                return (int) n;
        if (n == 0)
                return 0;
        if ((size_t) n != sizeof(*ret))
                return -EBADMSG;
        ret->msg[sizeof(ret->msg) - 1] = '\0';
        return 1;
}

int hutch_wait_status_to_exit(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 125;
}

struct spawned {
        pid_t pid;
        int out;
};

/* Starts argv with stdin from /dev/null and stdout/stderr into a pipe. */
static int spawn_captured(char *const argv[], struct spawned *ret, struct hutch_error **err)
{
        int pipefd[2];
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return hutch_error_set(err, errno, "pipe");
        pid = fork();
        if (pid < 0) {
                int e = errno;
                (void) close(pipefd[0]);
                (void) close(pipefd[1]);
                return hutch_error_set(err, e, "fork");
        }
        if (pid == 0) {
                int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (devnull >= 0)
                        (void) dup2(devnull, STDIN_FILENO);
                (void) dup2(pipefd[1], STDOUT_FILENO);
                (void) dup2(pipefd[1], STDERR_FILENO);
                hutch_close_fds_from(3);
                execv(argv[0], argv);
                dprintf(STDERR_FILENO, "exec %s: %s", argv[0], strerror(errno));
                _exit(127);
        }
        (void) close(pipefd[1]);
        ret->pid = pid;
        ret->out = pipefd[0];
        return 0;
}

/* Collects what it printed (bounded) and its status; 0 when it succeeded. */
static int finish_captured(char *const argv[], struct spawned *s, struct hutch_error **err)
{
        char out[512];
        ssize_t n, len = 0;
        int status;

        while ((n = read(s->out, out + len, sizeof(out) - 1 - (size_t) len)) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                len += n;
                if ((size_t) len >= sizeof(out) - 1) {
                        char sink[4096]; /* keep draining so the child never blocks */
                        while (read(s->out, sink, sizeof(sink)) > 0)
                                ;
                        break;
                }
        }
        out[len] = '\0';
        while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
                out[--len] = '\0';
        (void) close(s->out);
        while (waitpid(s->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return hutch_error_set(err, errno, "wait for '%s'", argv[0]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        return hutch_error_set(err, 0, "'%s' failed (%s %d)%s%s", argv[0], WIFEXITED(status) ? "exit status" : "signal",
                               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), len ? ": " : "", out);
}

int hutch_run_wait(char *const argv[], struct hutch_error **err)
{
        struct spawned s;
        int r = spawn_captured(argv, &s, err);
        return r < 0 ? r : finish_captured(argv, &s, err);
}

int hutch_run_wait_both(char *const a[], char *const b[], struct hutch_error **err)
{
        struct spawned sa, sb;
        int r = spawn_captured(a, &sa, err);
        if (r < 0)
                return r;
        if (spawn_captured(b, &sb, err) < 0) {
                (void) finish_captured(a, &sa, NULL);
                return -1;
        }
        /* both are waited for, whatever the first one did */
        int ra = finish_captured(a, &sa, err);
        int rb = finish_captured(b, &sb, err);
        return ra < 0 ? ra : rb;
}

/* Closes each fd >= 3 of ours that close_it() picks. */
static void close_fds_if(bool (*close_it)(int fd, const int *keep, size_t n_keep), const int *keep, size_t n_keep)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;

        if (d == NULL)
                return;
        while ((de = readdir(d)) != NULL) {
                int fd;
                if (hutch_parse_int(de->d_name, 3, INT_MAX, &fd) == 0 && fd != dirfd(d) && close_it(fd, keep, n_keep))
                        (void) close(fd);
        }
        closedir(d);
}

static bool inherited(int fd, const int *keep, size_t n_keep)
{
        (void) keep;
        (void) n_keep;
        int flags = fcntl(fd, F_GETFD);
        return flags >= 0 && !(flags & FD_CLOEXEC);
}

static bool not_kept(int fd, const int *keep, size_t n_keep)
{
        for (size_t i = 0; i < n_keep; i++)
                if (keep[i] == fd)
                        return false;
        return true;
}

void hutch_close_inherited_fds(void)
{
        close_fds_if(inherited, NULL, 0);
}

void hutch_close_fds_except(const int *keep, size_t n_keep)
{
        close_fds_if(not_kept, keep, n_keep);
}

void hutch_report_ok(int fd, const char *data)
{
        char buf[600];
        int n = snprintf(buf, sizeof(buf), "OK%s%s", data ? " " : "", data ? data : "");
        if (n > 0)
                (void) hutch_write_all(fd, buf, strnlen(buf, sizeof(buf)));
}

void hutch_report_error(int fd, int exit_status, const char *msg)
{
        char buf[600];
        int n = snprintf(buf, sizeof(buf), "ERR %d %s", exit_status, msg);
        if (n > 0)
                (void) hutch_write_all(fd, buf, strnlen(buf, sizeof(buf)));
}

int hutch_report_read(int fd, char *data, size_t size, int none_status, const char *none, struct hutch_error **err)
{
        char buf[1024];
        ssize_t n;

        do
                n = read(fd, buf, sizeof(buf) - 1);
        while (n < 0 && errno == EINTR);
        buf[n > 0 ? n : 0] = '\0';
        if (strncmp(buf, "OK", 2) == 0 && (buf[2] == '\0' || buf[2] == ' ')) {
                if (data && size > 0)
                        snprintf(data, size, "%s", buf[2] ? buf + 3 : "");
                return 0;
        }
        int status = none_status;
        const char *msg = none;
        if (strncmp(buf, "ERR ", 4) == 0) {
                char *end = NULL;
                long v = strtol(buf + 4, &end, 10);
                if (end && *end == ' ') {
                        status = (int) v;
                        msg = end + 1;
                }
        }
        return hutch_error_set_status(err, status, 0, "%s", msg);
}

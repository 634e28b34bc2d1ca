/* Process and fd-passing helpers.  Functions marked async-signal-safe may be
 * called between fork/clone and exec. */
#ifndef HUTCH_PROC_H
#define HUTCH_PROC_H

#include "error.h"

#include <stdint.h>
#include <sys/types.h>

/* A forked monitor's word to the command that forked it, over a pipe: one
 * write of "OK[ DATA]" once its container runs, or "ERR STATUS MESSAGE"
 * when it could not start it. */
void hutch_report_ok(int fd, const char *data);
void hutch_report_error(int fd, int exit_status, const char *msg);
/* Reads that word with one read (a copy of the write end may stay open
 * elsewhere): 0 with what followed "OK " in data (size bytes, "" when
 * nothing; data may be NULL), or < 0 with err set from the ERR (its exit
 * status kept) or to none (with none_status) when the writer closed
 * without a word. */
int hutch_report_read(int fd, char *data, size_t size, int none_status, const char *none, struct hutch_error **err);
/* Closes the fds >= 3 a long-lived process of ours inherited from whoever
 * started hutch: every fd of ours is close-on-exec, so one without the
 * flag came from outside.  A monitor holding, say, the write end of its
 * caller's output pipe would keep that reader waiting for an end. */
void hutch_close_inherited_fds(void);
/* Closes every fd >= 3 but those of keep (a process that knows all it needs). */
void hutch_close_fds_except(const int *keep, size_t n_keep);
/* Closes every fd >= first (async-signal-safe). */
int hutch_close_fds_from(int first);
/* Sends/receives one fd over a unix socket with SCM_RIGHTS. */
int hutch_send_fd(int sock, int fd);
int hutch_recv_fd(int sock);

int hutch_pidfd_open(pid_t pid);
int hutch_pidfd_send_signal(int pidfd, int sig);

/* A report a pre-exec child sends its parent: what failed and which exit
 * status the CLI should show.  Fixed size so one write carries it. */
struct hutch_child_report {
        int32_t errnum;
        int32_t exit_status; /* 125, 126, 127 */
        char msg[480];
};
/* Fills and writes a report (async-signal-safe; vsnprintf is, for %s/%d). */
void hutch_child_report_send(int fd, int errnum, int exit_status, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Reads a report: 0 when the peer closed without one (success), 1 when a
 * report arrived, -errno on a read error. */
int hutch_child_report_recv(int fd, struct hutch_child_report *ret);

/* Runs argv (argv[0] an absolute path) with stdin from /dev/null and stdout
 * to stderr, waits, and returns its exit status, or sets err. Captures up to
 * a few hundred bytes of its stderr into the error message. */
int hutch_run_wait(char *const argv[], struct hutch_error **err);

/* Runs two programs at once (as hutch_run_wait) and waits for both. */
int hutch_run_wait_both(char *const a[], char *const b[], struct hutch_error **err);

/* Converts a wait status into Docker-style exit codes (128+n for signals). */
int hutch_wait_status_to_exit(int status);

#endif

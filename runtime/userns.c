/* Running work of our own inside a user namespace with the container map. */
#include "config.h"

#include "lib/fs.h"
#include "lib/proc.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

int runtime_userns_run(const struct runtime_idmap *uidmap, const struct runtime_idmap *gidmap, const char *newuidmap,
                       const char *newgidmap, bool with_mountns, int (*fn)(void *data), void *data,
                       struct hutch_error **err)
{
        int to_child[2], to_parent[2];
        char c = 0;
        pid_t pid;
        int status, r;

        if (pipe2(to_child, O_CLOEXEC) < 0)
                return hutch_error_set(err, errno, "pipe");
        if (pipe2(to_parent, O_CLOEXEC) < 0) {
                r = errno;
                (void) close(to_child[0]);
                (void) close(to_child[1]);
                return hutch_error_set(err, r, "pipe");
        }
        pid = fork();
        if (pid < 0) {
                r = errno;
                (void) close(to_child[0]);
                (void) close(to_child[1]);
                (void) close(to_parent[0]);
                (void) close(to_parent[1]);
                return hutch_error_set(err, r, "fork");
        }
        if (pid == 0) {
                (void) close(to_child[1]);
                (void) close(to_parent[0]);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare(CLONE_NEWUSER | (with_mountns ? CLONE_NEWNS : 0)) < 0)
                        _exit(125);
                c = 'U';
                if (write(to_parent[1], &c, 1) != 1)
                        _exit(125);
                /* wait until the parent has written our maps */
                if (read(to_child[0], &c, 1) != 1 || c != 'M')
                        _exit(125);
                (void) close(to_child[0]);
                (void) close(to_parent[1]);
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                        _exit(125);
                (void) setgroups(0, NULL);
                r = fn(data);
                _exit(r < 0 ? 125 : r);
        }
        (void) close(to_child[0]);
        (void) close(to_parent[1]);
        r = 0;
        if (read(to_parent[0], &c, 1) != 1 || c != 'U') {
                r = hutch_error_set(err, EPERM,
                                    "create a user namespace (are unprivileged user namespaces enabled? see "
                                    "'hutch info')");
        } else if (runtime_userns_write_maps(pid, uidmap, gidmap, newuidmap, newgidmap, err) < 0) {
                r = hutch_error_prefix(err, "write the ID maps");
        } else {
                c = 'M';
                if (write(to_child[1], &c, 1) != 1)
                        r = hutch_error_set(err, errno, "start the user namespace");
        }
        (void) close(to_child[1]);
        (void) close(to_parent[0]);
        if (r < 0)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return r < 0 ? r : hutch_error_set(err, errno, "wait");
        if (r < 0)
                return r;
        return hutch_wait_status_to_exit(status);
}

/* Feature probes for `hutch info` and the automatic overlay choice. */
#include "config.h"

#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runtime/mounts.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Forks, unshares a user (+ mount) namespace mapping only ourselves, and
 * runs fn there; true when fn returned 0. */
static bool in_own_userns(int flags, int (*fn)(void *), void *data)
{
        uid_t uid = getuid();
        gid_t gid = getgid();
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return false;
        if (pid == 0) {
                char buf[64];
                int fd;
                if (unshare(CLONE_NEWUSER | flags) < 0)
                        _exit(1);
                fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        (void) !write(fd, "deny", 4);
                        close(fd);
                }
                snprintf(buf, sizeof(buf), "0 %u 1", (unsigned) uid);
                fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, buf, strlen(buf)) < 0)
                        _exit(1);
                close(fd);
                snprintf(buf, sizeof(buf), "0 %u 1", (unsigned) gid);
                fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, buf, strlen(buf)) < 0)
                        _exit(1);
                close(fd);
                _exit(fn ? (fn(data) == 0 ? 0 : 1) : 0);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return false;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool runtime_probe_userns(void)
{
        return in_own_userns(0, NULL, NULL);
}

struct overlay_probe {
        const char *lower;
        const char *scratch;
};

static int try_overlay(void *data)
{
        struct overlay_probe *p = data;
        char upper[4096], work[4096], merged[4096];
        char *el, *eu, *ew, *opts;
        int r;

        if (mount("tmpfs", p->scratch, "tmpfs", 0, "mode=0700") < 0)
                return -1;
        snprintf(upper, sizeof(upper), "%s/u", p->scratch);
        snprintf(work, sizeof(work), "%s/w", p->scratch);
        snprintf(merged, sizeof(merged), "%s/m", p->scratch);
        if (mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0 || mkdir(merged, 0755) < 0)
                return -1;
        el = runtime_overlay_escape(p->lower);
        eu = runtime_overlay_escape(upper);
        ew = runtime_overlay_escape(work);
        opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s,userxattr", el, eu, ew);
        r = mount("overlay", merged, "overlay", 0, opts);
        free(el);
        free(eu);
        free(ew);
        free(opts);
        return r;
}

bool runtime_probe_kernel_overlay(const char *lowerdir, const char *scratch_dir)
{
        struct overlay_probe p = { lowerdir, scratch_dir };
        return in_own_userns(CLONE_NEWNS, try_overlay, &p);
}

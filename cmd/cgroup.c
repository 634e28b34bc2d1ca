#include "config.h"

#include "cmd/cgroup.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/parse.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define DELEGATION_HINT                                                                                \
        "(systemd delegates one to each user's session manager: run hutch from a login session, with " \
        "'Delegate=yes' for user@.service if your distribution does not set it)"

bool cmd_limits_set(const struct cmd_limits *l)
{
        return l->memory || l->cpu_quota || l->pids;
}

int cmd_parse_cpus(const char *s, uint64_t *ret_quota)
{
        /* up to 3 decimals: "2", "0.5", "1.25" */
        const char *dot = strchr(s, '.');
        char whole[16] = "", frac[4] = "000";
        uint64_t w, f;
        size_t wl = dot ? (size_t) (dot - s) : strlen(s);

        if (wl == 0 || wl >= sizeof(whole))
                return -EINVAL;
        memcpy(whole, s, wl);
        if (dot) {
                size_t fl = strlen(dot + 1);
                if (fl == 0 || fl > 3)
                        return -EINVAL;
                memcpy(frac, dot + 1, fl);
        }
        if (hutch_parse_u64(whole, 4096, &w) < 0 || hutch_parse_u64(frac, 999, &f) < 0)
                return -EINVAL;
        uint64_t quota = w * 100000 + f * 100;
        if (quota < 1000)
                return -ERANGE; /* the kernel's minimum is 1 ms per period */
        *ret_quota = quota;
        return 0;
}

static char *own_cgroup(void)
{
        _cleanup_free_ char *buf = NULL;
        struct hutch_error *e = NULL;
        if (hutch_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 16, &buf, NULL, &e) < 0) {
                hutch_error_free(e);
                return NULL;
        }
        for (char *line = buf, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (strncmp(line, "0::", 3) == 0)
                        return xstrdup(line + 3);
        }
        return NULL;
}

int cmd_cgroup_prepare(const struct cmd_limits *l, char **ret_dir, struct hutch_error **err)
{
        struct statfs sf;
        _cleanup_free_ char *own = NULL, *dir = NULL, *controllers = NULL, *path = NULL;
        struct hutch_error *e = NULL;

        if (statfs("/sys/fs/cgroup", &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC) {
                bool hybrid = statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
                return hutch_error_set(err, 0,
                                       "resource limits need cgroup v2, and this machine uses cgroup %s: a rootless "
                                       "container cannot be limited here (boot with "
                                       "'systemd.unified_cgroup_hierarchy=1' to switch to cgroup v2)",
                                       hybrid ? "v1/v2 hybrid" : "v1");
        }
        own = own_cgroup();
        if (own == NULL)
                return hutch_error_set(err, 0, "resource limits: cannot tell which cgroup hutch runs in");
        dir = xasprintf("/sys/fs/cgroup%s", STREQ(own, "/") ? "" : own);
        if (access(dir, W_OK) < 0)
                return hutch_error_set(err, 0,
                                       "resource limits need a cgroup delegated to you, and '%s' is not "
                                       "writable by you " DELEGATION_HINT,
                                       dir);
        path = xasprintf("%s/cgroup.controllers", dir);
        if (hutch_read_file_at(AT_FDCWD, path, 4096, &controllers, NULL, &e) < 0) {
                hutch_error_free(e);
                return hutch_error_set(err, 0, "resource limits: cannot read '%s'", path);
        }
        static const struct {
                const char *name;
                int which;
        } need[] = { { "memory", 0 }, { "cpu", 1 }, { "pids", 2 } };
        for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
                bool wanted = (need[i].which == 0 && l->memory) || (need[i].which == 1 && l->cpu_quota) ||
                              (need[i].which == 2 && l->pids);
                if (wanted && !strstr(controllers, need[i].name))
                        return hutch_error_set(
                                err, 0,
                                "resource limits: the '%s' controller is not delegated to '%s' " DELEGATION_HINT,
                                need[i].name, dir);
        }
        *ret_dir = steal_ptr(&dir);
        return 0;
}

static int write_file(const char *dir, const char *name, const char *value, struct hutch_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        int r;
        if (fd < 0)
                return hutch_error_set(err, errno, "open '%s'", path);
        r = hutch_write_all(fd, value, strlen(value));
        if (r < 0)
                return hutch_error_set(err, -r, "write '%s' to '%s'", value, path);
        return 0;
}

int cmd_cgroup_apply(const char *dir, const char *id, const struct cmd_limits *l, pid_t pid, struct hutch_error **err)
{
        _cleanup_free_ char *sub = xasprintf("%s/hutch-%.12s", dir, id);
        char buf[64];

        /* controllers must be enabled for children before they can be set */
        (void) write_file(dir, "cgroup.subtree_control", "+memory +cpu +pids", NULL);
        if (mkdir(sub, 0755) < 0 && errno != EEXIST)
                return hutch_error_set(err, errno, "create cgroup '%s'", sub);
        if (l->memory) {
                snprintf(buf, sizeof(buf), "%llu", (unsigned long long) l->memory);
                if (write_file(sub, "memory.max", buf, err) < 0)
                        return -1;
        }
        if (l->cpu_quota) {
                snprintf(buf, sizeof(buf), "%llu 100000", (unsigned long long) l->cpu_quota);
                if (write_file(sub, "cpu.max", buf, err) < 0)
                        return -1;
        }
        if (l->pids) {
                if (l->pids < 0)
                        snprintf(buf, sizeof(buf), "max");
                else
                        snprintf(buf, sizeof(buf), "%lld", (long long) l->pids);
                if (write_file(sub, "pids.max", buf, err) < 0)
                        return -1;
        }
        snprintf(buf, sizeof(buf), "%d", (int) pid);
        return write_file(sub, "cgroup.procs", buf, err);
}

#include "config.h"

#include "cmd/cgroup.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/parse.h"
#include "lib/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
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

/* ---- the freezer: pause and unpause ---- */

#define FREEZER_V1_MOUNT "/sys/fs/cgroup/freezer"
/* How long a freeze may take before we give up (a task stuck in the kernel). */
#define FREEZE_TIMEOUT_MS 10000
/* Leftover cgroups younger than this may belong to a container being
 * created right now: left for a later sweep. */
#define SWEEP_MIN_AGE_SECS 60

static bool is_fs(const char *path, long magic)
{
        struct statfs sf;
        return statfs(path, &sf) == 0 && (long) sf.f_type == magic;
}

/* Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup (unified) or
 * /sys/fs/cgroup/unified (hybrid); NULL without one. */
static const char *v2_mount(void)
{
        if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
                return "/sys/fs/cgroup";
        if (is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
                return "/sys/fs/cgroup/unified";
        return NULL;
}

/* The cgroup paths of pid (0: ourselves) in the v2 hierarchy and in the v1
 * freezer hierarchy, from /proc/PID/cgroup. */
static void proc_cgroups(pid_t pid, char **ret_v2, char **ret_v1)
{
        _cleanup_free_ char *buf = NULL, *file = NULL;
        struct hutch_error *e = NULL;

        *ret_v2 = *ret_v1 = NULL;
        file = pid > 0 ? xasprintf("/proc/%d/cgroup", (int) pid) : xstrdup("/proc/self/cgroup");
        if (hutch_read_file_at(AT_FDCWD, file, 1 << 16, &buf, NULL, &e) < 0) {
                hutch_error_free(e);
                return;
        }
        for (char *line = buf, *next; line && *line; line = next) {
                char *c1, *c2;
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                c1 = strchr(line, ':');
                c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2 == NULL || c2[1] != '/')
                        continue;
                *c2 = '\0';
                if (STREQ(line, "0:")) { /* "0::/path" */
                        if (*ret_v2 == NULL)
                                *ret_v2 = xstrdup(c2 + 1);
                        continue;
                }
                /* "N:ctrl,ctrl:/path" */
                _cleanup_strv_ char **ctrls = hutch_strv_split(c1 + 1, ",");
                if (*ret_v1 == NULL && hutch_strv_contains(ctrls, "freezer"))
                        *ret_v1 = xstrdup(c2 + 1);
        }
}

static char *join_cgroup(const char *mount, const char *path)
{
        return xasprintf("%s%s", mount, STREQ(path, "/") ? "" : path);
}

static char *own_name(const char *id)
{
        return xasprintf("hutch-%.12s", id);
}

static bool writable_cgroup(const char *dir)
{
        _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
        return access(dir, W_OK) == 0 && access(procs, W_OK) == 0;
}

/* Our own cgroup in each hierarchy, where we may make the container's. */
static char *base_v2(void)
{
        _cleanup_free_ char *v2 = NULL, *v1 = NULL;
        const char *mount = v2_mount();

        proc_cgroups(0, &v2, &v1);
        return mount && v2 ? join_cgroup(mount, v2) : NULL;
}

static char *base_v1(void)
{
        _cleanup_free_ char *v2 = NULL, *v1 = NULL;

        if (!is_fs(FREEZER_V1_MOUNT, CGROUP_SUPER_MAGIC))
                return NULL;
        proc_cgroups(0, &v2, &v1);
        return v1 ? join_cgroup(FREEZER_V1_MOUNT, v1) : NULL;
}

/* Removes the empty hutch-* cgroups that containers left (a cgroup is
 * removed only once it is empty: rmdir refuses the others). */
static void sweep(const char *base)
{
        _cleanup_dir_ DIR *d = opendir(base);
        struct dirent *de;
        time_t now = time(NULL);

        while (d && (de = readdir(d)) != NULL) {
                struct stat st;
                if (strncmp(de->d_name, "hutch-", 6) != 0 || fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
                    !S_ISDIR(st.st_mode) || now - st.st_mtime < SWEEP_MIN_AGE_SECS)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == 0)
                        log_debug("removed the empty cgroup '%s/%s'", base, de->d_name);
        }
}

static int place(const char *base, const char *id, pid_t pid)
{
        _cleanup_free_ char *name = own_name(id);
        _cleanup_free_ char *sub = xasprintf("%s/%s", base, name);
        char buf[32];
        struct hutch_error *e = NULL;

        sweep(base);
        if (mkdir(sub, 0755) < 0 && errno != EEXIST) {
                log_debug_errno(errno, "create cgroup '%s'", sub);
                return -1;
        }
        snprintf(buf, sizeof(buf), "%d", (int) pid);
        if (write_file(sub, "cgroup.procs", buf, &e) < 0) {
                log_debug("%s", e->msg);
                hutch_error_free(e);
                (void) rmdir(sub);
                return -1;
        }
        log_debug("container %.12s runs in cgroup '%s'", id, sub);
        return 0;
}

void cmd_cgroup_own(const char *id, pid_t pid)
{
        _cleanup_free_ char *v2 = base_v2(), *v1 = NULL;

        if (v2 && writable_cgroup(v2) && place(v2, id, pid) == 0)
                return;
        v1 = base_v1();
        if (v1 && writable_cgroup(v1) && place(v1, id, pid) == 0)
                return;
        log_debug("container %.12s has no cgroup of its own: it cannot be paused", id);
}

/* The container's own cgroup directory in each hierarchy (NULL when it has
 * none there): the one named hutch-<id> that its init is in. */
static void container_cgroups(pid_t container_pid, const char *id, char **ret_v2, char **ret_v1)
{
        _cleanup_free_ char *v2 = NULL, *v1 = NULL, *name = own_name(id);
        const char *mount = v2_mount(), *slash;

        *ret_v2 = *ret_v1 = NULL;
        proc_cgroups(container_pid, &v2, &v1);
        if (v2 && mount && (slash = strrchr(v2, '/')) && STREQ(slash + 1, name))
                *ret_v2 = join_cgroup(mount, v2);
        if (v1 && is_fs(FREEZER_V1_MOUNT, CGROUP_SUPER_MAGIC) && (slash = strrchr(v1, '/')) && STREQ(slash + 1, name))
                *ret_v1 = join_cgroup(FREEZER_V1_MOUNT, v1);
}

char *cmd_cgroup_v2_dir(pid_t container_pid, const char *id)
{
        _cleanup_free_ char *v2 = NULL, *v1 = NULL;

        container_cgroups(container_pid, id, &v2, &v1);
        return steal_ptr(&v2);
}

void cmd_cgroup_join(pid_t container_pid, const char *id, pid_t pid)
{
        _cleanup_free_ char *v2 = NULL, *v1 = NULL;
        char buf[32];

        container_cgroups(container_pid, id, &v2, &v1);
        snprintf(buf, sizeof(buf), "%d", (int) pid);
        if (v2)
                (void) write_file(v2, "cgroup.procs", buf, NULL);
        if (v1)
                (void) write_file(v1, "cgroup.procs", buf, NULL);
}

static char *read_value(const char *dir, const char *name)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        char *buf = NULL;
        struct hutch_error *e = NULL;
        size_t len = 0;

        if (hutch_read_file_at(AT_FDCWD, path, 4096, &buf, &len, &e) < 0) {
                hutch_error_free(e);
                return NULL;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
                buf[--len] = '\0';
        return buf;
}

/* "frozen 1" in cgroup.events: every task of the cgroup is frozen. */
static bool v2_frozen(const char *dir)
{
        _cleanup_free_ char *events = read_value(dir, "cgroup.events");
        const char *p = events ? strstr(events, "frozen ") : NULL;
        return p && p[7] == '1';
}

int cmd_cgroup_paused(pid_t container_pid, const char *id)
{
        _cleanup_free_ char *v2 = NULL, *v1 = NULL, *val = NULL;

        container_cgroups(container_pid, id, &v2, &v1);
        if (v2) {
                val = read_value(v2, "cgroup.freeze");
                return val && STREQ(val, "1");
        }
        if (v1) {
                val = read_value(v1, "freezer.state");
                return val && !STREQ(val, "THAWED");
        }
        return 0;
}

/* Why a container has no cgroup of its own, and how to give it one. */
static int no_freezer_error(const char *name, pid_t container_pid, struct hutch_error **err)
{
        _cleanup_free_ char *v2 = base_v2(), *v1 = base_v1(), *cur2 = NULL, *cur1 = NULL, *why = NULL;
        const char *mount = v2_mount();

        if ((v2 && writable_cgroup(v2)) || (v1 && writable_cgroup(v1)))
                return hutch_error_set(err, 0,
                                       "cannot pause container '%s': it was started without a cgroup of its own; "
                                       "restart it ('hutch restart %s') to give it one",
                                       name, name);
        proc_cgroups(container_pid, &cur2, &cur1);
        if (mount == NULL)
                why = xstrdup("this machine has no cgroup v2 hierarchy");
        else
                why = xasprintf("your cgroup '%s' is not writable by you", v2 ? v2 : mount);
        if (v1) {
                char *both = xasprintf("%s (nor is your cgroup v1 freezer cgroup '%s')", why, v1);
                free(why);
                why = both;
        }
        return hutch_error_set(err, 0,
                               "cannot pause container '%s': it has no cgroup of its own to freeze (it runs in "
                               "'%s'); hutch gives a container one only when it starts in a cgroup delegated to you, "
                               "and %s: start hutch in a delegated cgroup, e.g. with 'systemd-run --user --scope -p "
                               "Delegate=yes hutch run ...', or ask your administrator to delegate one",
                               name,
                               cur2   ? cur2
                               : cur1 ? cur1
                                      : "?",
                               why);
}

static void sleep_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int cmd_cgroup_freeze(pid_t container_pid, const char *id, const char *name, bool freeze, struct hutch_error **err)
{
        _cleanup_free_ char *v2 = NULL, *v1 = NULL;
        struct hutch_error *e = NULL;

        container_cgroups(container_pid, id, &v2, &v1);
        if (v2) {
                if (write_file(v2, "cgroup.freeze", freeze ? "1" : "0", err) < 0)
                        return hutch_error_prefix(err, "%s container '%s'", freeze ? "pause" : "unpause", name);
                for (int waited = 0; freeze && !v2_frozen(v2); waited += 10) {
                        if (waited >= FREEZE_TIMEOUT_MS) {
                                (void) write_file(v2, "cgroup.freeze", "0", NULL);
                                return hutch_error_set(err, ETIMEDOUT,
                                                       "pause container '%s': its processes did not freeze within "
                                                       "%d s",
                                                       name, FREEZE_TIMEOUT_MS / 1000);
                        }
                        sleep_ms(10);
                }
                return 0;
        }
        if (v1) {
                if (write_file(v1, "freezer.state", freeze ? "FROZEN" : "THAWED", err) < 0)
                        return hutch_error_prefix(err, "%s container '%s'", freeze ? "pause" : "unpause", name);
                for (int waited = 0; freeze; waited += 10) {
                        _cleanup_free_ char *state = read_value(v1, "freezer.state");
                        if (state && STREQ(state, "FROZEN"))
                                break;
                        if (waited >= FREEZE_TIMEOUT_MS) {
                                (void) write_file(v1, "freezer.state", "THAWED", NULL);
                                return hutch_error_set(err, ETIMEDOUT,
                                                       "pause container '%s': its processes did not freeze within "
                                                       "%d s",
                                                       name, FREEZE_TIMEOUT_MS / 1000);
                        }
                        sleep_ms(10);
                        /* FREEZING: tasks forked meanwhile need another go */
                        (void) write_file(v1, "freezer.state", "FROZEN", &e);
                        e = hutch_error_free(e);
                }
                return 0;
        }
        return no_freezer_error(name, container_pid, err);
}

void cmd_cgroup_forget(const char *id)
{
        _cleanup_free_ char *v2 = base_v2(), *v1 = base_v1(), *name = own_name(id);

        for (int i = 0; i < 2; i++) {
                const char *base = i == 0 ? v2 : v1;
                if (base) {
                        _cleanup_free_ char *sub = xasprintf("%s/%s", base, name);
                        (void) rmdir(sub);
                }
        }
}

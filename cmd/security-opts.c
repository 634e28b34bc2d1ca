#include "config.h"

#include "cmd/security-opts.h"

#include "cmd/parse-opts.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/parse.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <string.h>
#include <unistd.h>

/* Podman's defaults (containers/common pkg/config), which are Docker's with
 * /proc/asound moved to the read-only list and /sys/fs/selinux masked. */
static const char *const default_masked[] = {
        "/proc/acpi",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/proc/interrupts",
        "/sys/firmware",
        "/sys/fs/selinux",
        "/sys/devices/virtual/powercap",
        NULL,
};
static const char *const default_readonly[] = {
        "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

char **cmd_security_default_masked(void)
{
        char **v = hutch_strv_copy((char *const *) default_masked);
        glob_t g;

        /* The container sees the host's CPUs, so expand on the host. */
        if (glob("/sys/devices/system/cpu/cpu*/thermal_throttle", GLOB_NOSORT, NULL, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; i++)
                        hutch_strv_append(&v, g.gl_pathv[i]);
                globfree(&g);
        }
        return v;
}

char **cmd_security_default_readonly(void)
{
        return hutch_strv_copy((char *const *) default_readonly);
}

bool cmd_security_host_selinux(void)
{
        return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

bool cmd_security_host_apparmor(void)
{
        char buf[4] = { 0 };
        _cleanup_close_ int fd = open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return false;
        return read(fd, buf, sizeof(buf) - 1) > 0 && buf[0] == 'Y';
}

void cmd_security_clear(struct runtime_security *sec)
{
        sec->masked_paths = hutch_strv_free(sec->masked_paths);
        sec->readonly_paths = hutch_strv_free(sec->readonly_paths);
        (void) runtime_seccomp_free((struct sock_fprog *) sec->seccomp);
        memset(sec, 0, sizeof(*sec));
}

enum seccomp_choice { SECCOMP_DEFAULT, SECCOMP_UNCONFINED, SECCOMP_FILE };

struct parsed_opts {
        int no_new_privs; /* -1: not given */
        enum seccomp_choice seccomp;
        const char *seccomp_file;
        bool systempaths_unconfined;
        char **mask;   /* cleaned absolute paths */
        char **unmask; /* patterns, or "ALL" */
};

/* Splits "key=value" or Docker's older "key:value"; value NULL without
 * either. */
static char *split_opt(const char *opt, const char **ret_value)
{
        size_t k = strcspn(opt, "=:");

        *ret_value = opt[k] ? opt + k + 1 : NULL;
        return xstrndup(opt, k);
}

static int parse_paths(const char *opt, const char *value, bool patterns, char ***list, struct hutch_error **err)
{
        _cleanup_strv_ char **parts = NULL;

        if (!value || !*value)
                return hutch_error_set(err, EINVAL, "--security-opt '%s': expected a colon-separated list of paths",
                                       opt);
        parts = hutch_strv_split(value, ":");
        for (size_t i = 0; parts[i]; i++) {
                char *clean = NULL;

                if (patterns && STREQ(parts[i], "ALL")) {
                        hutch_strv_append(list, "ALL");
                        continue;
                }
                if (cmd_clean_container_path(parts[i], &clean, err) < 0)
                        return hutch_error_prefix(err, "--security-opt '%s'", opt);
                hutch_strv_push(list, clean);
        }
        return 0;
}

static int parse_one(const char *opt, struct parsed_opts *p, struct hutch_error **err)
{
        const char *value;
        _cleanup_free_ char *key = split_opt(opt, &value);
        bool b;

        if (STREQ(key, "no-new-privileges")) {
                if (!value) {
                        p->no_new_privs = 1;
                        return 0;
                }
                if (hutch_parse_bool(value, &b) < 0)
                        return hutch_error_set(err, EINVAL, "--security-opt '%s': expected true or false", opt);
                p->no_new_privs = b;
                return 0;
        }
        if (STREQ(key, "seccomp")) {
                if (!value || !*value)
                        return hutch_error_set(err, EINVAL,
                                               "--security-opt '%s': expected seccomp=unconfined or seccomp=FILE", opt);
                if (STREQ(value, "unconfined")) {
                        p->seccomp = SECCOMP_UNCONFINED;
                        p->seccomp_file = NULL;
                } else {
                        p->seccomp = SECCOMP_FILE;
                        p->seccomp_file = value;
                }
                return 0;
        }
        if (STREQ(key, "mask"))
                return parse_paths(opt, value, false, &p->mask, err);
        if (STREQ(key, "unmask"))
                return parse_paths(opt, value, true, &p->unmask, err);
        if (STREQ(key, "systempaths")) {
                if (!value || !STREQ(value, "unconfined"))
                        return hutch_error_set(err, EINVAL, "--security-opt '%s': only systempaths=unconfined exists",
                                               opt);
                p->systempaths_unconfined = true;
                return 0;
        }
        if (STREQ(key, "label")) {
                if (value && STREQ(value, "disable"))
                        return 0;
                if (!cmd_security_host_selinux())
                        return hutch_error_set(err, ENOTSUP,
                                               "--security-opt '%s': this host does not run SELinux, so there is no "
                                               "label to set (label=disable is accepted)",
                                               opt);
                return hutch_error_set(err, ENOTSUP,
                                       "--security-opt '%s': SELinux labels are not supported by hutch yet "
                                       "(label=disable is accepted)",
                                       opt);
        }
        if (STREQ(key, "apparmor")) {
                if (value && STREQ(value, "unconfined"))
                        return 0;
                if (!cmd_security_host_apparmor())
                        return hutch_error_set(err, ENOTSUP,
                                               "--security-opt '%s': this host does not run AppArmor, so there is no "
                                               "profile to apply (apparmor=unconfined is accepted)",
                                               opt);
                return hutch_error_set(err, ENOTSUP,
                                       "--security-opt '%s': AppArmor profiles are not supported by hutch yet "
                                       "(apparmor=unconfined is accepted)",
                                       opt);
        }
        return hutch_error_set(err, EINVAL,
                               "unknown --security-opt '%s' (known: no-new-privileges, seccomp, mask, unmask, "
                               "systempaths, label, apparmor)",
                               opt);
}

static void remove_matching(char **list, const char *pattern)
{
        size_t w = 0;

        for (size_t r = 0; list && list[r]; r++) {
                if (STREQ(pattern, "ALL") || STREQ(pattern, list[r]) || fnmatch(pattern, list[r], FNM_PATHNAME) == 0) {
                        free(list[r]);
                        continue;
                }
                list[w++] = list[r];
        }
        if (list)
                list[w] = NULL;
}

static int load_seccomp(const struct parsed_opts *p, bool privileged, uint64_t caps, const char *cache_dir,
                        struct sock_fprog **ret, struct hutch_error **err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        *ret = NULL;
        if (p->seccomp == SECCOMP_UNCONFINED)
                return 0;
        if (p->seccomp == SECCOMP_DEFAULT) {
                if (privileged)
                        return 0;
                return runtime_seccomp_default(caps, cache_dir, ret, err);
        }
        r = hutch_read_file_at(AT_FDCWD, p->seccomp_file, RUNTIME_SECCOMP_PROFILE_MAX, &text, &len, err);
        if (r < 0)
                return hutch_error_prefix(err, "seccomp profile");
        r = runtime_seccomp_compile_cached(text, len, caps, cache_dir, ret, err);
        if (r < 0)
                return hutch_error_prefix(err, "seccomp profile '%s'", p->seccomp_file);
        return 0;
}

int cmd_security_configure(struct runtime_security *sec, bool privileged, char **cap_add, char **cap_drop,
                           char **security_opts, const char *cache_dir, struct hutch_error **err)
{
        struct parsed_opts p = { .no_new_privs = -1, .seccomp = SECCOMP_DEFAULT };
        _cleanup_strv_ char **mask = NULL, **unmask = NULL, **masked = NULL, **readonly = NULL;
        struct sock_fprog *prog = NULL;
        uint64_t caps;
        int r;

        for (size_t i = 0; security_opts && security_opts[i]; i++) {
                r = parse_one(security_opts[i], &p, err);
                mask = p.mask;
                unmask = p.unmask;
                if (r < 0)
                        return r;
        }

        caps = privileged ? runtime_caps_all() : runtime_caps_default();
        r = runtime_caps_adjust(&caps, cap_add, cap_drop, err);
        if (r < 0)
                return r;

        if (privileged || p.systempaths_unconfined) {
                masked = xcalloc(1, sizeof(char *));
                readonly = xcalloc(1, sizeof(char *));
        } else {
                masked = cmd_security_default_masked();
                readonly = cmd_security_default_readonly();
        }
        for (size_t i = 0; mask && mask[i]; i++)
                if (!hutch_strv_contains(masked, mask[i]))
                        hutch_strv_append(&masked, mask[i]);
        for (size_t i = 0; unmask && unmask[i]; i++) {
                remove_matching(masked, unmask[i]);
                remove_matching(readonly, unmask[i]);
        }

        r = load_seccomp(&p, privileged, caps, cache_dir, &prog, err);
        if (r < 0)
                return r;

        memset(sec, 0, sizeof(*sec));
        sec->privileged = privileged;
        sec->caps = caps;
        sec->no_new_privs = p.no_new_privs != 0;
        sec->seccomp = prog;
        sec->masked_paths = steal_ptr(&masked);
        sec->readonly_paths = steal_ptr(&readonly);
        return 0;
}

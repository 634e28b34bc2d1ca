/* config.json of an OCI bundle -> struct runtime_spec.  See spec.h for the
 * rules; docs/oci-runtime.md lists what is supported, refused and ignored. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/parse.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#define MAX_ITEMS 4096 /* entries of any one list (env, mounts, rlimits, ...) */

/* ---- small typed accessors; each error names the field ---- */

static bool is_empty(yajl_val v)
{
        if (v == NULL || YAJL_IS_NULL(v))
                return true;
        if (YAJL_IS_OBJECT(v))
                return v->u.object.len == 0;
        if (YAJL_IS_ARRAY(v))
                return v->u.array.len == 0;
        if (YAJL_IS_STRING(v))
                return v->u.string[0] == '\0';
        return false;
}

/* Members of obj not in known[] go to *ignored as "where.key". */
static int check_object(yajl_val obj, const char *where, const char *const *known, struct runtime_spec *s,
                        struct hutch_error **err)
{
        if (!YAJL_IS_OBJECT(obj))
                return hutch_error_set(err, EINVAL, "'%s' must be an object", where);
        for (size_t i = 0; i < obj->u.object.len; i++) {
                const char *k = obj->u.object.keys[i];
                bool found = false;
                for (size_t j = 0; known[j] && !found; j++)
                        found = STREQ(known[j], k);
                if (!found && hutch_strv_length(s->ignored) < 64)
                        hutch_strv_push(&s->ignored, *where ? xasprintf("%s.%s", where, k) : xstrdup(k));
        }
        return 0;
}

static int get_string(yajl_val obj, const char *key, const char *where, bool required, const char **ret,
                      struct hutch_error **err)
{
        yajl_val v = hutch_json_get(obj, key);
        *ret = NULL;
        if (v == NULL || YAJL_IS_NULL(v)) {
                if (required)
                        return hutch_error_set(err, EINVAL, "'%s.%s' is required", where, key);
                return 0;
        }
        if (!YAJL_IS_STRING(v))
                return hutch_error_set(err, EINVAL, "'%s.%s' must be a string", where, key);
        *ret = v->u.string;
        return 0;
}

static int get_bool(yajl_val obj, const char *key, const char *where, bool *ret, struct hutch_error **err)
{
        yajl_val v = hutch_json_get(obj, key);
        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
                return hutch_error_set(err, EINVAL, "'%s.%s' must be true or false", where, key);
        *ret = YAJL_IS_TRUE(v);
        return 0;
}

/* A non-negative integer up to max; *present false when missing. */
static int get_uint(yajl_val obj, const char *key, const char *where, uint64_t max, bool *present, uint64_t *ret,
                    struct hutch_error **err)
{
        yajl_val v = hutch_json_get(obj, key);
        *present = false;
        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_NUMBER(v) || v->u.number.r == NULL || hutch_parse_u64(v->u.number.r, max, ret) < 0)
                return hutch_error_set(err, EINVAL, "'%s.%s' must be an integer from 0 to %llu", where, key,
                                       (unsigned long long) max);
        *present = true;
        return 0;
}

/* An array of strings (NULL or missing: *ret stays NULL). */
static int get_strv(yajl_val obj, const char *key, const char *where, char ***ret, struct hutch_error **err)
{
        yajl_val v = hutch_json_get(obj, key);
        _cleanup_strv_ char **out = NULL;

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_ARRAY(v) || v->u.array.len > MAX_ITEMS)
                return hutch_error_set(err, EINVAL, "'%s.%s' must be an array of strings (at most %d)", where, key,
                                       MAX_ITEMS);
        out = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < v->u.array.len; i++) {
                yajl_val e = v->u.array.values[i];
                if (!YAJL_IS_STRING(e))
                        return hutch_error_set(err, EINVAL, "'%s.%s[%zu]' must be a string", where, key, i);
                hutch_strv_append(&out, e->u.string);
        }
        *ret = steal_ptr(&out);
        return 0;
}

/* A field of the spec hutch cannot honour: an error unless empty. */
static int refuse(yajl_val obj, const char *key, const char *where, const char *why, struct hutch_error **err)
{
        if (is_empty(hutch_json_get(obj, key)))
                return 0;
        return hutch_error_set(err, EOPNOTSUPP, "'%s.%s' is not supported by hutch%s%s", where, key, why ? ": " : "",
                               why ? why : "");
}

/* ---- process ---- */

static const struct {
        const char *name;
        int resource;
} rlimit_names[] = {
        { "RLIMIT_AS", RLIMIT_AS },
        { "RLIMIT_CORE", RLIMIT_CORE },
        { "RLIMIT_CPU", RLIMIT_CPU },
        { "RLIMIT_DATA", RLIMIT_DATA },
        { "RLIMIT_FSIZE", RLIMIT_FSIZE },
        { "RLIMIT_LOCKS", RLIMIT_LOCKS },
        { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
        { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
        { "RLIMIT_NICE", RLIMIT_NICE },
        { "RLIMIT_NOFILE", RLIMIT_NOFILE },
        { "RLIMIT_NPROC", RLIMIT_NPROC },
        { "RLIMIT_RSS", RLIMIT_RSS },
        { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
        { "RLIMIT_RTTIME", RLIMIT_RTTIME },
        { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
        { "RLIMIT_STACK", RLIMIT_STACK },
};

static int parse_rlimits(yajl_val v, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "type", "soft", "hard", NULL };

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_ARRAY(v) || v->u.array.len > ARRAY_SIZE(rlimit_names))
                return hutch_error_set(err, EINVAL, "'process.rlimits' must be an array of at most %zu entries",
                                       ARRAY_SIZE(rlimit_names));
        s->rlimits = xcalloc(v->u.array.len + 1, sizeof(*s->rlimits));
        for (size_t i = 0; i < v->u.array.len; i++) {
                yajl_val e = v->u.array.values[i];
                struct runtime_spec_rlimit *rl = &s->rlimits[s->n_rlimits];
                const char *type;
                bool have_soft, have_hard;
                int res = -1;

                if (check_object(e, "process.rlimits[]", known, s, err) < 0 ||
                    get_string(e, "type", "process.rlimits[]", true, &type, err) < 0 ||
                    get_uint(e, "soft", "process.rlimits[]", UINT64_MAX, &have_soft, &rl->soft, err) < 0 ||
                    get_uint(e, "hard", "process.rlimits[]", UINT64_MAX, &have_hard, &rl->hard, err) < 0)
                        return -1;
                for (size_t k = 0; k < ARRAY_SIZE(rlimit_names); k++)
                        if (STREQ(rlimit_names[k].name, type))
                                res = rlimit_names[k].resource;
                if (res < 0)
                        return hutch_error_set(err, EINVAL, "'process.rlimits': unknown type '%s'", type);
                if (!have_soft || !have_hard)
                        return hutch_error_set(err, EINVAL, "'process.rlimits' %s: 'soft' and 'hard' are required",
                                               type);
                if (rl->soft > rl->hard)
                        return hutch_error_set(err, EINVAL, "'process.rlimits' %s: soft limit above the hard one",
                                               type);
                for (size_t k = 0; k < s->n_rlimits; k++)
                        if (s->rlimits[k].resource == res)
                                return hutch_error_set(err, EINVAL, "'process.rlimits': %s given twice", type);
                rl->resource = res;
                s->n_rlimits++;
        }
        return 0;
}

static int caps_set(yajl_val caps, const char *key, uint64_t *ret, bool *present, struct hutch_error **err)
{
        _cleanup_strv_ char **names = NULL;
        uint64_t mask = 0;

        *present = false;
        if (get_strv(caps, key, "process.capabilities", &names, err) < 0)
                return -1;
        if (names == NULL)
                return 0;
        for (size_t i = 0; names[i]; i++) {
                int c = runtime_caps_from_name(names[i]);
                if (c < 0 || c >= 64)
                        return hutch_error_set(err, EINVAL, "'process.capabilities.%s': unknown capability '%s'", key,
                                               names[i]);
                mask |= 1ULL << c;
        }
        *present = true;
        *ret = mask;
        return 0;
}

/* hutch gives root of the container one set as bounding, permitted and
 * effective (and a non-root user none, as Docker does); inheritable and
 * ambient stay empty.  A config that asks for anything else is refused. */
static int parse_caps(yajl_val v, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "bounding", "effective", "inheritable", "permitted", "ambient", NULL };
        uint64_t sets[5] = { 0 };
        bool have[5];

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (check_object(v, "process.capabilities", known, s, err) < 0)
                return -1;
        for (int i = 0; i < 5; i++)
                if (caps_set(v, known[i], &sets[i], &have[i], err) < 0)
                        return -1;
        if (sets[2] || sets[4])
                return hutch_error_set(err, EOPNOTSUPP,
                                       "'process.capabilities.%s' is not supported by hutch: inheritable and ambient "
                                       "capabilities stay empty",
                                       sets[2] ? "inheritable" : "ambient");
        if ((have[1] && sets[1] != sets[0]) || (have[3] && sets[3] != sets[0]))
                return hutch_error_set(err, EOPNOTSUPP,
                                       "'process.capabilities.%s' differs from 'bounding': hutch gives the container "
                                       "one set as bounding, effective and permitted",
                                       have[1] && sets[1] != sets[0] ? "effective" : "permitted");
        s->has_caps = true;
        s->caps = sets[0];
        return 0;
}

static int parse_user(yajl_val v, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "uid", "gid", "umask", "additionalGids", "username", NULL };
        const char *w = "process.user";
        bool have;
        uint64_t n;

        if (v == NULL || YAJL_IS_NULL(v))
                return hutch_error_set(err, EINVAL, "'process.user' is required");
        if (check_object(v, w, known, s, err) < 0 || refuse(v, "username", w, "it is for Windows", err) < 0)
                return -1;
        if (get_uint(v, "uid", w, UINT32_MAX - 1, &have, &n, err) < 0)
                return -1;
        if (!have)
                return hutch_error_set(err, EINVAL, "'process.user.uid' is required");
        s->uid = (uint32_t) n;
        if (get_uint(v, "gid", w, UINT32_MAX - 1, &have, &n, err) < 0)
                return -1;
        if (!have)
                return hutch_error_set(err, EINVAL, "'process.user.gid' is required");
        s->gid = (uint32_t) n;
        if (get_uint(v, "umask", w, 0777, &s->has_umask, &n, err) < 0)
                return -1;
        s->umask = (uint32_t) n;
        yajl_val g = hutch_json_get(v, "additionalGids");
        if (g && !YAJL_IS_NULL(g)) {
                if (!YAJL_IS_ARRAY(g) || g->u.array.len > 64)
                        return hutch_error_set(err, EINVAL,
                                               "'process.user.additionalGids' must be an array of at "
                                               "most 64 group IDs");
                s->additional_gids = xcalloc(g->u.array.len + 1, sizeof(gid_t));
                for (size_t i = 0; i < g->u.array.len; i++) {
                        yajl_val e = g->u.array.values[i];
                        if (!YAJL_IS_NUMBER(e) || e->u.number.r == NULL ||
                            hutch_parse_u64(e->u.number.r, UINT32_MAX - 1, &n) < 0)
                                return hutch_error_set(err, EINVAL,
                                                       "'process.user.additionalGids[%zu]' must be a group ID", i);
                        s->additional_gids[s->n_additional_gids++] = (gid_t) n;
                }
        }
        return 0;
}

static int parse_process(yajl_val p, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "terminal",
                                             "consoleSize",
                                             "cwd",
                                             "env",
                                             "args",
                                             "commandLine",
                                             "rlimits",
                                             "apparmorProfile",
                                             "capabilities",
                                             "noNewPrivileges",
                                             "oomScoreAdj",
                                             "selinuxLabel",
                                             "user",
                                             "scheduler",
                                             "ioPriority",
                                             "execCPUAffinity",
                                             NULL };
        static const char *const console_known[] = { "height", "width", NULL };
        const char *w = "process", *cwd;

        if (p == NULL || YAJL_IS_NULL(p))
                return 0;
        if (check_object(p, w, known, s, err) < 0)
                return -1;
        if (refuse(p, "commandLine", w, "it is for Windows", err) < 0 ||
            refuse(p, "apparmorProfile", w, "hutch applies no AppArmor profile", err) < 0 ||
            refuse(p, "selinuxLabel", w, "hutch applies no SELinux label", err) < 0 ||
            refuse(p, "scheduler", w, NULL, err) < 0 || refuse(p, "ioPriority", w, NULL, err) < 0 ||
            refuse(p, "execCPUAffinity", w, NULL, err) < 0)
                return -1;
        s->has_process = true;
        if (get_bool(p, "terminal", w, &s->terminal, err) < 0 || get_strv(p, "args", w, &s->args, err) < 0 ||
            get_strv(p, "env", w, &s->env, err) < 0 || get_string(p, "cwd", w, true, &cwd, err) < 0)
                return -1;
        if (s->args == NULL || s->args[0] == NULL || s->args[0][0] == '\0')
                return hutch_error_set(err, EINVAL, "'process.args' must name the program to run");
        if (cwd[0] != '/')
                return hutch_error_set(err, EINVAL, "'process.cwd' must be an absolute path, not '%s'", cwd);
        s->cwd = xstrdup(cwd);
        for (size_t i = 0; s->env && s->env[i]; i++)
                if (strchr(s->env[i], '=') == NULL || s->env[i][0] == '=')
                        return hutch_error_set(err, EINVAL, "'process.env[%zu]' must be KEY=VALUE, not '%s'", i,
                                               s->env[i]);
        yajl_val cs = hutch_json_get(p, "consoleSize");
        if (cs && !YAJL_IS_NULL(cs)) {
                bool hh, hw;
                uint64_t h, wd;
                if (check_object(cs, "process.consoleSize", console_known, s, err) < 0 ||
                    get_uint(cs, "height", "process.consoleSize", UINT16_MAX, &hh, &h, err) < 0 ||
                    get_uint(cs, "width", "process.consoleSize", UINT16_MAX, &hw, &wd, err) < 0)
                        return -1;
                s->console_height = (uint16_t) h;
                s->console_width = (uint16_t) wd;
                s->has_console_size = hh && hw;
        }
        if (get_bool(p, "noNewPrivileges", w, &s->no_new_privileges, err) < 0)
                return -1;
        yajl_val oom = hutch_json_get(p, "oomScoreAdj");
        if (oom && !YAJL_IS_NULL(oom)) {
                int64_t v;
                if (!YAJL_IS_INTEGER(oom) || (v = YAJL_GET_INTEGER(oom)) < -1000 || v > 1000)
                        return hutch_error_set(err, EINVAL,
                                               "'process.oomScoreAdj' must be an integer from -1000 to "
                                               "1000");
                s->has_oom_score_adj = true;
                s->oom_score_adj = (int) v;
        }
        if (parse_user(hutch_json_get(p, "user"), s, err) < 0 ||
            parse_caps(hutch_json_get(p, "capabilities"), s, err) < 0)
                return -1;
        return parse_rlimits(hutch_json_get(p, "rlimits"), s, err);
}

/* ---- mounts ---- */

/* What hutch mounts itself, always: an entry for one of these is accepted
 * when its type is one hutch would use there. */
static const struct {
        const char *destination;
        const char *types[3];
        unsigned long flags; /* what runtime/mounts.c gives it: a config may ask for no more */
} builtin_mounts[] = {
        { "/proc", { "proc" }, MS_NOSUID | MS_NODEV | MS_NOEXEC },
        { "/dev", { "tmpfs" }, MS_NOSUID },
        { "/dev/pts", { "devpts" }, MS_NOSUID | MS_NOEXEC },
        /* /dev/shm is not among them: a tmpfs or bind there (a pod's
         * shared one) is mounted over hutch's own */
        { "/dev/mqueue", { "mqueue" }, MS_NOSUID | MS_NODEV | MS_NOEXEC },
        { "/sys", { "sysfs", "bind" }, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC },
        { "/sys/fs/cgroup", { "cgroup", "cgroup2", "bind" }, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC },
};

static const char *const tmpfs_data_keys[] = { "size", "mode", "nr_inodes", "nr_blocks", "uid", "gid", NULL };

/* Options that need no action: hutch's binds are private and recursive,
 * access times are the kernel's default. */
static const char *const harmless_options[] = { "rw",       "suid",     "dev",        "exec",        "private",
                                                "rprivate", "relatime", "norelatime", "strictatime", "nostrictatime",
                                                "noatime",  "atime",    "nodiratime", "diratime",    "newinstance",
                                                "sync",     "async",    NULL };

static int parse_mount(yajl_val e, size_t idx, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "destination", "type",        "source", "options",
                                             "uidMappings", "gidMappings", NULL };
        const char *dest, *type, *source;
        _cleanup_strv_ char **opts = NULL, **data = NULL;
        char where[48];
        bool bind = false, readonly = false;
        unsigned long flags = 0;

        snprintf(where, sizeof(where), "mounts[%zu]", idx);
        if (check_object(e, where, known, s, err) < 0 || get_string(e, "destination", where, true, &dest, err) < 0 ||
            get_string(e, "type", where, false, &type, err) < 0 ||
            get_string(e, "source", where, false, &source, err) < 0 || get_strv(e, "options", where, &opts, err) < 0 ||
            refuse(e, "uidMappings", where, "no idmapped mounts", err) < 0 ||
            refuse(e, "gidMappings", where, "no idmapped mounts", err) < 0)
                return -1;
        if (dest[0] != '/')
                return hutch_error_set(err, EINVAL, "'%s.destination' must be an absolute path, not '%s'", where, dest);
        for (size_t i = 0; opts && opts[i]; i++) {
                const char *o = opts[i];
                bool harmless = false;
                for (size_t k = 0; harmless_options[k] && !harmless; k++)
                        harmless = STREQ(harmless_options[k], o);
                if (harmless)
                        continue;
                if (STREQ(o, "bind") || STREQ(o, "rbind"))
                        bind = true;
                else if (STREQ(o, "ro"))
                        readonly = true;
                else if (STREQ(o, "nosuid"))
                        flags |= MS_NOSUID;
                else if (STREQ(o, "nodev"))
                        flags |= MS_NODEV;
                else if (STREQ(o, "noexec"))
                        flags |= MS_NOEXEC;
                else if (strchr(o, '=')) {
                        bool ok = false;
                        for (size_t k = 0; tmpfs_data_keys[k] && !ok; k++)
                                ok = strncmp(o, tmpfs_data_keys[k], strlen(tmpfs_data_keys[k])) == 0 &&
                                     o[strlen(tmpfs_data_keys[k])] == '=';
                        /* devpts's own, for the /dev/pts hutch makes */
                        ok |= strncmp(o, "ptmxmode=", 9) == 0;
                        if (!ok || strchr(o, ','))
                                return hutch_error_set(err, EOPNOTSUPP, "'%s.options': '%s' is not supported by hutch",
                                                       where, o);
                        hutch_strv_append(&data, o);
                } else
                        return hutch_error_set(err, EOPNOTSUPP, "'%s.options': '%s' is not supported by hutch", where,
                                               o);
        }
        if (type && STREQ(type, "bind"))
                bind = true;
        for (size_t k = 0; k < ARRAY_SIZE(builtin_mounts); k++) {
                if (!STREQ(builtin_mounts[k].destination, dest))
                        continue;
                const char *t = bind ? "bind" : type ? type : "";
                bool same_type = false;
                for (size_t j = 0; j < 3 && builtin_mounts[k].types[j]; j++)
                        same_type |= STREQ(builtin_mounts[k].types[j], t);
                if (!same_type)
                        return hutch_error_set(err, EOPNOTSUPP,
                                               "'%s': hutch mounts %s itself and cannot mount type '%s' there", where,
                                               dest, t);
                unsigned long more = (flags | (readonly ? MS_RDONLY : 0)) & ~builtin_mounts[k].flags;
                if (more)
                        return hutch_error_set(err, EOPNOTSUPP, "'%s': hutch mounts %s itself, without '%s'", where,
                                               dest,
                                               more & MS_RDONLY   ? "ro"
                                               : more & MS_NOEXEC ? "noexec"
                                               : more & MS_NODEV  ? "nodev"
                                                                  : "nosuid");
                return 0; /* hutch's own mount stands for it */
        }
        struct runtime_mount m = { .destination = xstrdup(dest), .readonly = readonly, .flags = flags };
        if (bind) {
                if (source == NULL || source[0] == '\0') {
                        free(m.destination);
                        return hutch_error_set(err, EINVAL, "'%s.source' is required for a bind mount", where);
                }
                if (data) {
                        free(m.destination);
                        return hutch_error_set(err, EOPNOTSUPP, "'%s.options': '%s' is not supported on a bind mount",
                                               where, data[0]);
                }
                m.kind = RUNTIME_MOUNT_BIND;
                m.source = xstrdup(source);
        } else if (type && STREQ(type, "tmpfs")) {
                for (size_t i = 0; data && data[i]; i++)
                        if (strncmp(data[i], "ptmxmode=", 9) == 0) {
                                free(m.destination);
                                return hutch_error_set(err, EOPNOTSUPP, "'%s.options': '%s' is not a tmpfs option",
                                                       where, data[i]);
                        }
                m.kind = RUNTIME_MOUNT_TMPFS;
                m.options = data ? hutch_strv_join(data, ",") : NULL;
        } else {
                free(m.destination);
                return hutch_error_set(err, EOPNOTSUPP,
                                       "'%s': mount type '%s' at '%s' is not supported by hutch (bind mounts and tmpfs "
                                       "are)",
                                       where, type ? type : "", dest);
        }
        s->mounts = xreallocarray(s->mounts, s->n_mounts + 1, sizeof(*s->mounts));
        s->mounts[s->n_mounts++] = m;
        return 0;
}

/* ---- linux ---- */

static const struct {
        const char *name;
        int flag;
} ns_types[] = {
        { "pid", CLONE_NEWPID },  { "network", CLONE_NEWNET }, { "ipc", CLONE_NEWIPC },       { "uts", CLONE_NEWUTS },
        { "mount", CLONE_NEWNS }, { "user", CLONE_NEWUSER },   { "cgroup", CLONE_NEWCGROUP },
};

static int parse_namespaces(yajl_val v, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "type", "path", NULL };
        int seen = 0;

        if (v == NULL || YAJL_IS_NULL(v) || !YAJL_IS_ARRAY(v) || v->u.array.len > 16)
                return hutch_error_set(err, EINVAL,
                                       "'linux.namespaces' must be an array naming at least the user and "
                                       "mount namespaces");
        for (size_t i = 0; i < v->u.array.len; i++) {
                yajl_val e = v->u.array.values[i];
                const char *type, *path;
                int flag = 0;
                if (check_object(e, "linux.namespaces[]", known, s, err) < 0 ||
                    get_string(e, "type", "linux.namespaces[]", true, &type, err) < 0 ||
                    get_string(e, "path", "linux.namespaces[]", false, &path, err) < 0)
                        return -1;
                for (size_t k = 0; k < ARRAY_SIZE(ns_types); k++)
                        if (STREQ(ns_types[k].name, type))
                                flag = ns_types[k].flag;
                if (flag == 0)
                        return hutch_error_set(err, EOPNOTSUPP,
                                               "'linux.namespaces': type '%s' is not supported by "
                                               "hutch",
                                               type);
                if (path && path[0])
                        return hutch_error_set(err, EOPNOTSUPP,
                                               "'linux.namespaces': joining the %s namespace at '%s' is not supported "
                                               "by hutch (every namespace is new)",
                                               type, path);
                if (seen & flag)
                        return hutch_error_set(err, EINVAL, "'linux.namespaces': '%s' given twice", type);
                seen |= flag;
        }
        if (!(seen & CLONE_NEWUSER))
                return hutch_error_set(err, EOPNOTSUPP,
                                       "'linux.namespaces' must include a user namespace: hutch runs "
                                       "containers rootless ('hutch oci spec' writes such a config)");
        if (!(seen & CLONE_NEWNS))
                return hutch_error_set(err, EOPNOTSUPP, "'linux.namespaces' must include a mount namespace");
        s->namespaces = seen & ~(CLONE_NEWUSER | CLONE_NEWNS);
        return 0;
}

static int parse_idmap(yajl_val v, const char *key, struct runtime_idmap *map, bool *present, struct runtime_spec *s,
                       struct hutch_error **err)
{
        static const char *const known[] = { "containerID", "hostID", "size", NULL };
        char where[40];

        snprintf(where, sizeof(where), "linux.%s[]", key);
        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_ARRAY(v) || v->u.array.len == 0 || v->u.array.len > RUNTIME_IDMAP_MAX)
                return hutch_error_set(err, EINVAL, "'linux.%s' must be an array of 1 to %d mappings", key,
                                       RUNTIME_IDMAP_MAX);
        memset(map, 0, sizeof(*map));
        for (size_t i = 0; i < v->u.array.len; i++) {
                yajl_val e = v->u.array.values[i];
                uint64_t c, h, n;
                bool hc, hh, hn;
                if (check_object(e, where, known, s, err) < 0 ||
                    get_uint(e, "containerID", where, UINT32_MAX - 1, &hc, &c, err) < 0 ||
                    get_uint(e, "hostID", where, UINT32_MAX - 1, &hh, &h, err) < 0 ||
                    get_uint(e, "size", where, UINT32_MAX, &hn, &n, err) < 0)
                        return -1;
                if (!hc || !hh || !hn || n == 0 || c + n > (uint64_t) UINT32_MAX || h + n > (uint64_t) UINT32_MAX)
                        return hutch_error_set(err, EINVAL,
                                               "'linux.%s[%zu]' needs containerID, hostID and a size above 0 that "
                                               "stay below 2^32",
                                               key, i);
                map->e[map->n++] = (struct runtime_idmap_entry){ (uint32_t) c, (uint32_t) h, (uint32_t) n };
        }
        *present = true;
        return 0;
}

/* Only the devices hutch makes, and host devices it can bind: same node
 * type and numbers at the same path on the host. */
static int parse_devices(yajl_val v, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "type", "path", "major", "minor", "fileMode", "uid", "gid", NULL };
        static const char *const standard[] = { "/dev/null",    "/dev/zero", "/dev/full", "/dev/random",
                                                "/dev/urandom", "/dev/tty",  NULL };

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_ARRAY(v) || v->u.array.len > 256)
                return hutch_error_set(err, EINVAL, "'linux.devices' must be an array of at most 256 devices");
        for (size_t i = 0; i < v->u.array.len; i++) {
                yajl_val e = v->u.array.values[i];
                const char *type, *path;
                bool hmaj, hmin, d;
                uint64_t major, minor, dummy;
                if (check_object(e, "linux.devices[]", known, s, err) < 0 ||
                    get_string(e, "type", "linux.devices[]", true, &type, err) < 0 ||
                    get_string(e, "path", "linux.devices[]", true, &path, err) < 0 ||
                    get_uint(e, "major", "linux.devices[]", UINT32_MAX, &hmaj, &major, err) < 0 ||
                    get_uint(e, "minor", "linux.devices[]", UINT32_MAX, &hmin, &minor, err) < 0 ||
                    get_uint(e, "fileMode", "linux.devices[]", 07777, &d, &dummy, err) < 0 ||
                    get_uint(e, "uid", "linux.devices[]", UINT32_MAX, &d, &dummy, err) < 0 ||
                    get_uint(e, "gid", "linux.devices[]", UINT32_MAX, &d, &dummy, err) < 0)
                        return -1;
                if (strncmp(path, "/dev/", 5) != 0 || strstr(path, "/../") || strchr(path + 5, '/'))
                        return hutch_error_set(err, EOPNOTSUPP,
                                               "'linux.devices': '%s' is not supported by hutch (only nodes directly "
                                               "in /dev)",
                                               path);
                if (!STREQ(type, "c") && !STREQ(type, "b") && !STREQ(type, "u") && !STREQ(type, "p"))
                        return hutch_error_set(err, EOPNOTSUPP, "'linux.devices': type '%s' of '%s' is not supported",
                                               type, path);
                bool std = false;
                for (size_t k = 0; standard[k] && !std; k++)
                        std = STREQ(standard[k], path);
                if (std)
                        continue; /* hutch binds it from the host anyway */
                if (hmaj != hmin)
                        return hutch_error_set(err, EINVAL, "'linux.devices': '%s' needs both major and minor", path);
                s->devices = xreallocarray(s->devices, s->n_devices + 1, sizeof(*s->devices));
                s->devices[s->n_devices++] = (struct runtime_spec_device){ .path = xstrdup(path),
                                                                           .type = type[0],
                                                                           .has_numbers = hmaj,
                                                                           .major = (uint32_t) major,
                                                                           .minor = (uint32_t) minor };
        }
        return 0;
}

static int parse_seccomp(yajl_val v, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "defaultAction", "defaultErrnoRet",  "architectures", "flags",
                                             "listenerPath",  "listenerMetadata", "syscalls",      NULL };
        const char *w = "linux.seccomp";

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (check_object(v, w, known, s, err) < 0 ||
            refuse(v, "listenerPath", w, "no seccomp notification agent", err) < 0 ||
            refuse(v, "listenerMetadata", w, NULL, err) < 0 ||
            refuse(v, "flags", w, "the filter is loaded with the kernel's default flags", err) < 0)
                return -1;
        /* The same schema as a Docker profile: re-emit and let runtime/seccomp.c judge it. */
        yajl_gen g = yajl_gen_alloc(NULL);
        hutch_json_gen_value(g, v);
        size_t len = 0;
        _cleanup_free_ char *text = hutch_json_gen_steal(g, &len);
        yajl_gen_free(g);
        if (runtime_seccomp_check(text, len, err) < 0)
                return hutch_error_prefix(err, "'linux.seccomp'");
        s->seccomp_json = steal_ptr(&text);
        s->seccomp_len = len;
        return 0;
}

static int parse_resources(yajl_val v, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "devices",        "memory",  "cpu",  "pids",    "blockIO",
                                             "hugepageLimits", "network", "rdma", "unified", NULL };

        if (v == NULL || YAJL_IS_NULL(v))
                return 0;
        if (check_object(v, "linux.resources", known, s, err) < 0)
                return -1;
        for (size_t i = 1; known[i]; i++)
                if (refuse(v, known[i], "linux.resources", "hutch makes no cgroup for an OCI container", err) < 0)
                        return -1;
        /* devices: a device cgroup's rules; without one only the devices
         * hutch binds exist, which is what the usual deny-all rule asks. */
        yajl_val d = hutch_json_get(v, "devices");
        if (d && !YAJL_IS_NULL(d) && !YAJL_IS_ARRAY(d))
                return hutch_error_set(err, EINVAL, "'linux.resources.devices' must be an array");
        return 0;
}

static int parse_linux(yajl_val l, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "namespaces",        "uidMappings",  "gidMappings",   "timeOffsets",
                                             "devices",           "cgroupsPath",  "rdmaResources", "resources",
                                             "unified",           "intelRdt",     "sysctl",        "seccomp",
                                             "rootfsPropagation", "maskedPaths",  "readonlyPaths", "mountLabel",
                                             "personality",       "memoryPolicy", "netDevices",    NULL };
        const char *w = "linux", *prop, *cg;

        if (l == NULL || YAJL_IS_NULL(l))
                return hutch_error_set(err, EINVAL, "'linux' is required (with its user and mount namespaces)");
        if (check_object(l, w, known, s, err) < 0)
                return -1;
        if (refuse(l, "timeOffsets", w, NULL, err) < 0 || refuse(l, "intelRdt", w, NULL, err) < 0 ||
            refuse(l, "sysctl", w, NULL, err) < 0 ||
            refuse(l, "mountLabel", w, "hutch applies no SELinux label", err) < 0 ||
            refuse(l, "personality", w, NULL, err) < 0 || refuse(l, "memoryPolicy", w, NULL, err) < 0 ||
            refuse(l, "netDevices", w, NULL, err) < 0 || refuse(l, "rdmaResources", w, NULL, err) < 0 ||
            refuse(l, "unified", w, NULL, err) < 0)
                return -1;
        if (get_string(l, "cgroupsPath", w, false, &cg, err) < 0)
                return -1; /* accepted and unused: no cgroup is made (docs/oci-runtime.md) */
        if (get_string(l, "rootfsPropagation", w, false, &prop, err) < 0)
                return -1;
        if (prop && prop[0] && !STREQ(prop, "private") && !STREQ(prop, "rprivate"))
                return hutch_error_set(err, EOPNOTSUPP,
                                       "'linux.rootfsPropagation' '%s' is not supported by hutch (its mounts are "
                                       "private)",
                                       prop);
        if (parse_namespaces(hutch_json_get(l, "namespaces"), s, err) < 0 ||
            parse_idmap(hutch_json_get(l, "uidMappings"), "uidMappings", &s->uidmap, &s->has_uidmap, s, err) < 0 ||
            parse_idmap(hutch_json_get(l, "gidMappings"), "gidMappings", &s->gidmap, &s->has_gidmap, s, err) < 0 ||
            parse_devices(hutch_json_get(l, "devices"), s, err) < 0 ||
            parse_resources(hutch_json_get(l, "resources"), s, err) < 0 ||
            parse_seccomp(hutch_json_get(l, "seccomp"), s, err) < 0 ||
            get_strv(l, "maskedPaths", w, &s->masked_paths, err) < 0 ||
            get_strv(l, "readonlyPaths", w, &s->readonly_paths, err) < 0)
                return -1;
        if (s->has_uidmap != s->has_gidmap)
                return hutch_error_set(err, EINVAL, "'linux.uidMappings' and 'linux.gidMappings' go together");
        s->has_masked_paths = s->masked_paths != NULL;
        s->has_readonly_paths = s->readonly_paths != NULL;
        for (char **v = s->masked_paths; v && *v; v++)
                if ((*v)[0] != '/')
                        return hutch_error_set(err, EINVAL, "'linux.maskedPaths': '%s' is not absolute", *v);
        for (char **v = s->readonly_paths; v && *v; v++)
                if ((*v)[0] != '/')
                        return hutch_error_set(err, EINVAL, "'linux.readonlyPaths': '%s' is not absolute", *v);
        return 0;
}

static int parse_hooks(yajl_val h, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = {
                "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", NULL
        };

        if (h == NULL || YAJL_IS_NULL(h))
                return 0;
        if (check_object(h, "hooks", known, s, err) < 0)
                return -1;
        for (size_t i = 0; known[i]; i++)
                if (refuse(h, known[i], "hooks", "hutch runs no hooks", err) < 0)
                        return -1;
        return 0;
}

static int parse_annotations(yajl_val a, struct runtime_spec *s, struct hutch_error **err)
{
        if (a == NULL || YAJL_IS_NULL(a))
                return 0;
        if (!YAJL_IS_OBJECT(a) || a->u.object.len > MAX_ITEMS)
                return hutch_error_set(err, EINVAL, "'annotations' must be an object of strings");
        s->annotations = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < a->u.object.len; i++) {
                yajl_val v = a->u.object.values[i];
                if (!YAJL_IS_STRING(v))
                        return hutch_error_set(err, EINVAL, "'annotations.%s' must be a string", a->u.object.keys[i]);
                hutch_strv_append(&s->annotations, a->u.object.keys[i]);
                hutch_strv_append(&s->annotations, v->u.string);
        }
        return 0;
}

static int parse_root(yajl_val root, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "path", "readonly", NULL };
        const char *path;

        if (root == NULL || YAJL_IS_NULL(root))
                return hutch_error_set(err, EINVAL, "'root' is required (root.path names the root filesystem)");
        if (check_object(root, "root", known, s, err) < 0 || get_string(root, "path", "root", true, &path, err) < 0 ||
            get_bool(root, "readonly", "root", &s->root_readonly, err) < 0)
                return -1;
        if (path[0] == '\0')
                return hutch_error_set(err, EINVAL, "'root.path' is empty");
        s->root_path = xstrdup(path);
        return 0;
}

static int parse_document(yajl_val doc, struct runtime_spec *s, struct hutch_error **err)
{
        static const char *const known[] = { "ociVersion", "root",        "process",     "hostname",
                                             "domainname", "mounts",      "hooks",       "annotations",
                                             "linux",      "solaris",     "windows",     "vm",
                                             "zos",        "uidMappings", "gidMappings", NULL };
        const char *version, *hostname;

        if (!YAJL_IS_OBJECT(doc))
                return hutch_error_set(err, EINVAL, "the document must be a JSON object");
        if (check_object(doc, "", known, s, err) < 0)
                return -1;
        if (get_string(doc, "ociVersion", "config", true, &version, err) < 0)
                return -1;
        /* 1.x: the versions whose meaning this parser knows */
        if (strncmp(version, "1.", 2) != 0 && !STREQ(version, "1"))
                return hutch_error_set(err, EOPNOTSUPP, "ociVersion '%s' is not supported (1.x is)", version);
        s->oci_version = xstrdup(version);
        if (refuse(doc, "solaris", "config", NULL, err) < 0 || refuse(doc, "windows", "config", NULL, err) < 0 ||
            refuse(doc, "vm", "config", NULL, err) < 0 || refuse(doc, "zos", "config", NULL, err) < 0 ||
            refuse(doc, "domainname", "config", NULL, err) < 0 ||
            refuse(doc, "uidMappings", "config", "they belong in 'linux'", err) < 0 ||
            refuse(doc, "gidMappings", "config", "they belong in 'linux'", err) < 0)
                return -1;
        if (parse_root(hutch_json_get(doc, "root"), s, err) < 0 ||
            parse_process(hutch_json_get(doc, "process"), s, err) < 0)
                return -1;
        if (get_string(doc, "hostname", "config", false, &hostname, err) < 0)
                return -1;
        if (hostname && hostname[0]) {
                if (strlen(hostname) > 64)
                        return hutch_error_set(err, EINVAL, "'hostname' is longer than 64 bytes");
                s->hostname = xstrdup(hostname);
        }
        if (parse_linux(hutch_json_get(doc, "linux"), s, err) < 0 ||
            parse_hooks(hutch_json_get(doc, "hooks"), s, err) < 0 ||
            parse_annotations(hutch_json_get(doc, "annotations"), s, err) < 0)
                return -1;
        if (s->hostname && !(s->namespaces & CLONE_NEWUTS))
                return hutch_error_set(err, EINVAL, "'hostname' needs a new uts namespace in 'linux.namespaces'");
        yajl_val mounts = hutch_json_get(doc, "mounts");
        if (mounts && !YAJL_IS_NULL(mounts)) {
                if (!YAJL_IS_ARRAY(mounts) || mounts->u.array.len > 1024)
                        return hutch_error_set(err, EINVAL, "'mounts' must be an array of at most 1024 mounts");
                for (size_t i = 0; i < mounts->u.array.len; i++)
                        if (parse_mount(mounts->u.array.values[i], i, s, err) < 0)
                                return -1;
        }
        return 0;
}

int runtime_spec_parse(const char *buf, size_t len, struct runtime_spec *ret, struct hutch_error **err)
{
        struct runtime_spec s = { 0 };
        yajl_val doc;
        int r;

        if (len > RUNTIME_SPEC_MAX)
                return hutch_error_set(err, EFBIG, "config.json is larger than %u bytes", RUNTIME_SPEC_MAX);
        doc = hutch_json_parse(buf, len, err);
        if (doc == NULL)
                return -1;
        r = parse_document(doc, &s, err);
        yajl_tree_free(doc);
        if (r < 0) {
                runtime_spec_clear(&s);
                return r;
        }
        *ret = s;
        return 0;
}

void runtime_spec_clear(struct runtime_spec *s)
{
        free(s->oci_version);
        free(s->root_path);
        hutch_strv_free(s->args);
        hutch_strv_free(s->env);
        free(s->cwd);
        free(s->additional_gids);
        free(s->rlimits);
        free(s->hostname);
        for (size_t i = 0; i < s->n_mounts; i++) {
                free(s->mounts[i].source);
                free(s->mounts[i].destination);
                free(s->mounts[i].options);
        }
        free(s->mounts);
        for (size_t i = 0; i < s->n_devices; i++)
                free(s->devices[i].path);
        free(s->devices);
        hutch_strv_free(s->masked_paths);
        hutch_strv_free(s->readonly_paths);
        free(s->seccomp_json);
        hutch_strv_free(s->annotations);
        hutch_strv_free(s->ignored);
        memset(s, 0, sizeof(*s));
}

int runtime_spec_check_id(const char *id, struct hutch_error **err)
{
        size_t n = strlen(id);

        if (n == 0 || n > 255 || STREQ(id, ".") || STREQ(id, ".."))
                return hutch_error_set(err, 0, "invalid container ID '%.64s': 1 to 255 characters, not '.' or '..'",
                                       id);
        for (size_t i = 0; i < n; i++) {
                char c = id[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '+' || c == '-' || c == '.'))
                        return hutch_error_set(err, 0,
                                               "invalid container ID '%.64s': only letters, digits, '_', '+', '-' "
                                               "and '.' are allowed",
                                               id);
        }
        return 0;
}

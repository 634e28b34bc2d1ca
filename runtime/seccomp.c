/* seccomp: profiles in the JSON schema Docker and Podman use, compiled to
 * classic BPF with libseccomp in the parent and loaded by the child.
 *
 * Schema (everything but defaultAction optional):
 *   defaultAction      SCMP_ACT_* for calls no rule matches
 *   defaultErrnoRet    errno for an SCMP_ACT_ERRNO default (EPERM if absent)
 *   archMap            [{architecture, subArchitectures}]: the entry of the
 *                      native architecture names the others to cover
 *   architectures      the older flat list, used when there is no archMap
 *   syscalls           [{names | name, action, errnoRet, args, includes,
 *                        excludes, comment}]
 *     args             [{index, value, valueTwo, op}]: ANDed, except that
 *                      several conditions on one argument are ORed (one
 *                      rule each), as Docker does
 *     includes         {caps, arches, minKernel}: the rule applies only when
 *                      every listed capability is held, the architecture is
 *                      listed and the kernel is at least minKernel
 *     excludes         the rule is dropped when any listed capability is
 *                      held, the architecture is listed, or the kernel is at
 *                      least minKernel
 * Unlike Docker, "arches" is checked against each architecture the filter
 * covers (a call entering through int $0x80 is an x86 call), not only the
 * native one.  So a rule can be limited to one entry point.
 *
 * Each architecture is compiled in its own libseccomp context and the
 * contexts are merged, so that per-architecture rules stay exact.
 *
 * The compiled program is cached in a file whose name is a hash of the key
 * (profile text, capabilities, hutch, libseccomp and kernel versions); the
 * file holds the whole key and is only used when it matches byte for byte,
 * so a hash collision can cost a compile but never load a wrong filter. */
#include "config.h"

#include "runtime/seccomp.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/xalloc.h"
#include "runtime/caps.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

extern const char hutch_seccomp_default_json[];
extern const size_t hutch_seccomp_default_json_len;

#define MAX_RULES             4096
#define MAX_NAMES             65536 /* over all rules */
#define MAX_ARGS              64    /* conditions on one argument are ORed, so may exceed 6 */
#define MAX_ARCHES            16
#define MAX_FILTER_ARGS_INDEX 5
#define MAX_ERRNO             4095
#define CACHE_MAGIC           "HSCB"
#define CACHE_FORMAT          2

struct kernel_version {
        unsigned major, minor;
};

struct arch_list {
        uint32_t a[MAX_ARCHES];
        size_t n;
        bool set; /* the member was present */
};

struct filter_cond {
        bool set;
        uint64_t caps;    /* capabilities named (only known ones) */
        bool unknown_cap; /* a name we do not know: never held */
        struct arch_list arches;
        bool has_min_kernel;
        struct kernel_version min_kernel;
};

struct rule {
        const char **names; /* point into the parsed tree */
        size_t n_names;
        uint32_t action;
        struct scmp_arg_cmp args[MAX_ARGS];
        size_t n_args;
        struct filter_cond includes, excludes;
};

struct profile {
        yajl_val tree;
        uint32_t default_action;
        struct arch_list arches;
        struct rule *rules;
        size_t n_rules;
};

static void profile_clear(struct profile *p)
{
        for (size_t i = 0; i < p->n_rules; i++)
                free(p->rules[i].names);
        free(p->rules);
        if (p->tree)
                yajl_tree_free(p->tree);
        memset(p, 0, sizeof(*p));
}

/* ---- parsing ---- */

static int parse_action(const char *s, bool has_errno, int64_t errno_ret, uint32_t *ret, struct hutch_error **err)
{
        uint32_t ret_errno = has_errno ? (uint32_t) errno_ret : EPERM;

        if (has_errno && (errno_ret < 0 || errno_ret > MAX_ERRNO))
                return hutch_error_set(err, EINVAL, "errnoRet %" PRId64 " out of range (0-%d)", errno_ret, MAX_ERRNO);
        if (STREQ(s, "SCMP_ACT_ALLOW"))
                *ret = SCMP_ACT_ALLOW;
        else if (STREQ(s, "SCMP_ACT_ERRNO"))
                *ret = SCMP_ACT_ERRNO(ret_errno);
        else if (STREQ(s, "SCMP_ACT_KILL") || STREQ(s, "SCMP_ACT_KILL_THREAD"))
                *ret = SCMP_ACT_KILL_THREAD;
        else if (STREQ(s, "SCMP_ACT_KILL_PROCESS"))
                *ret = SCMP_ACT_KILL_PROCESS;
        else if (STREQ(s, "SCMP_ACT_TRAP"))
                *ret = SCMP_ACT_TRAP;
        else if (STREQ(s, "SCMP_ACT_TRACE"))
                *ret = SCMP_ACT_TRACE(ret_errno);
        else if (STREQ(s, "SCMP_ACT_LOG"))
                *ret = SCMP_ACT_LOG;
        else if (STREQ(s, "SCMP_ACT_NOTIFY"))
                return hutch_error_set(err, ENOTSUP, "action 'SCMP_ACT_NOTIFY' is not supported (no listener)");
        else
                return hutch_error_set(err, EINVAL, "unknown action '%s'", s);
        return 0;
}

static int parse_op(const char *s, enum scmp_compare *ret)
{
        static const struct {
                const char *name;
                enum scmp_compare op;
        } ops[] = {
                { "SCMP_CMP_NE", SCMP_CMP_NE },
                { "SCMP_CMP_LT", SCMP_CMP_LT },
                { "SCMP_CMP_LE", SCMP_CMP_LE },
                { "SCMP_CMP_EQ", SCMP_CMP_EQ },
                { "SCMP_CMP_GE", SCMP_CMP_GE },
                { "SCMP_CMP_GT", SCMP_CMP_GT },
                { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
        };
        for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
                if (STREQ(s, ops[i].name)) {
                        *ret = ops[i].op;
                        return 0;
                }
        return -EINVAL;
}

/* A JSON number that must be a non-negative integer up to UINT64_MAX (yajl
 * only holds signed 64-bit integers, so parse its text). */
static int get_u64(yajl_val v, uint64_t *ret)
{
        if (!v || !YAJL_IS_NUMBER(v) || !v->u.number.r)
                return -EINVAL;
        return hutch_parse_u64(v->u.number.r, UINT64_MAX, ret);
}

static int get_int_member(yajl_val obj, const char *key, bool *ret_has, int64_t *ret, struct hutch_error **err)
{
        yajl_val v = hutch_json_get(obj, key);

        *ret_has = false;
        if (!v || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_INTEGER(v))
                return hutch_error_set(err, EINVAL, "'%s' must be an integer", key);
        *ret = YAJL_GET_INTEGER(v);
        *ret_has = true;
        return 0;
}

/* "SCMP_ARCH_X86_64" (the seccomp spelling) -> libseccomp token, 0 when
 * libseccomp does not know it. */
static uint32_t arch_from_scmp_name(const char *s)
{
        char buf[32];
        size_t i;

        if (strncmp(s, "SCMP_ARCH_", 10) != 0)
                return 0;
        s += 10;
        for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
                buf[i] = (char) tolower((unsigned char) s[i]);
        if (s[i])
                return 0;
        buf[i] = '\0';
        return seccomp_arch_resolve_name(buf);
}

/* Go/OCI spelling used in includes/excludes ("amd64", "x86", "arm64") or
 * libseccomp's own ("x86_64", "aarch64"); 0 when unknown. */
static uint32_t arch_from_short_name(const char *s)
{
        static const struct {
                const char *name;
                const char *scmp;
        } alias[] = {
                { "amd64", "x86_64" },
                { "386", "x86" },
                { "i386", "x86" },
                { "arm64", "aarch64" },
                { "mipsle", "mipsel" },
                { "mips64le", "mipsel64" },
                { "mips64len32", "mipsel64n32" },
        };
        for (size_t i = 0; i < ARRAY_SIZE(alias); i++)
                if (STREQ(s, alias[i].name))
                        return seccomp_arch_resolve_name(alias[i].scmp);
        return seccomp_arch_resolve_name(s);
}

static void arch_list_add(struct arch_list *l, uint32_t a)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->a[i] == a)
                        return;
        if (l->n < MAX_ARCHES)
                l->a[l->n++] = a;
}

static bool arch_list_has(const struct arch_list *l, uint32_t a)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->a[i] == a)
                        return true;
        return false;
}

static int parse_kernel_version(const char *s, struct kernel_version *ret)
{
        unsigned major = 0, minor = 0;
        int n = 0;

        if (sscanf(s, "%u.%u%n", &major, &minor, &n) != 2 || n <= 0)
                return -EINVAL;
        ret->major = major;
        ret->minor = minor;
        return 0;
}

static bool kernel_at_least(const struct kernel_version *running, const struct kernel_version *want)
{
        if (running->major != want->major)
                return running->major > want->major;
        return running->minor >= want->minor;
}

static int parse_filter(yajl_val v, const char *what, struct filter_cond *ret, struct hutch_error **err)
{
        yajl_val caps, arches, mk;

        memset(ret, 0, sizeof(*ret));
        if (!v || YAJL_IS_NULL(v))
                return 0;
        if (!YAJL_IS_OBJECT(v))
                return hutch_error_set(err, EINVAL, "'%s' must be an object", what);
        ret->set = true;

        caps = hutch_json_get(v, "caps");
        if (caps && !YAJL_IS_NULL(caps)) {
                if (!YAJL_IS_ARRAY(caps))
                        return hutch_error_set(err, EINVAL, "'%s.caps' must be an array", what);
                for (size_t i = 0; i < caps->u.array.len; i++) {
                        yajl_val c = caps->u.array.values[i];
                        int n;

                        if (!YAJL_IS_STRING(c))
                                return hutch_error_set(err, EINVAL, "'%s.caps' must hold strings", what);
                        n = runtime_caps_from_name(YAJL_GET_STRING(c));
                        if (n >= 0 && n < 64)
                                ret->caps |= 1ULL << n;
                        else
                                ret->unknown_cap = true;
                }
        }

        arches = hutch_json_get(v, "arches");
        if (arches && !YAJL_IS_NULL(arches)) {
                if (!YAJL_IS_ARRAY(arches))
                        return hutch_error_set(err, EINVAL, "'%s.arches' must be an array", what);
                ret->arches.set = true;
                for (size_t i = 0; i < arches->u.array.len; i++) {
                        yajl_val a = arches->u.array.values[i];
                        uint32_t tok;

                        if (!YAJL_IS_STRING(a))
                                return hutch_error_set(err, EINVAL, "'%s.arches' must hold strings", what);
                        tok = arch_from_short_name(YAJL_GET_STRING(a));
                        if (tok == 0)
                                tok = arch_from_scmp_name(YAJL_GET_STRING(a));
                        if (tok != 0)
                                arch_list_add(&ret->arches, tok);
                }
        }

        mk = hutch_json_get(v, "minKernel");
        if (mk && !YAJL_IS_NULL(mk)) {
                if (!YAJL_IS_STRING(mk) || parse_kernel_version(YAJL_GET_STRING(mk), &ret->min_kernel) < 0)
                        return hutch_error_set(err, EINVAL, "'%s.minKernel' must be a version like \"4.8\"", what);
                ret->has_min_kernel = true;
        }
        return 0;
}

static int parse_args(yajl_val args, struct rule *r, struct hutch_error **err)
{
        if (!args || YAJL_IS_NULL(args))
                return 0;
        if (!YAJL_IS_ARRAY(args))
                return hutch_error_set(err, EINVAL, "'args' must be an array");
        if (args->u.array.len > MAX_ARGS)
                return hutch_error_set(err, EINVAL, "more than %d argument conditions", MAX_ARGS);
        for (size_t i = 0; i < args->u.array.len; i++) {
                yajl_val a = args->u.array.values[i], v2;
                uint64_t index, value, value_two = 0;
                enum scmp_compare op;
                const char *ops;

                if (!YAJL_IS_OBJECT(a))
                        return hutch_error_set(err, EINVAL, "argument condition %zu is not an object", i);
                if (get_u64(hutch_json_get(a, "index"), &index) < 0 || index > MAX_FILTER_ARGS_INDEX)
                        return hutch_error_set(err, EINVAL, "argument condition %zu: 'index' must be 0-%d", i,
                                               MAX_FILTER_ARGS_INDEX);
                if (get_u64(hutch_json_get(a, "value"), &value) < 0)
                        return hutch_error_set(err, EINVAL,
                                               "argument condition %zu: 'value' must be an integer 0-2^64-1", i);
                v2 = hutch_json_get(a, "valueTwo");
                if (v2 && !YAJL_IS_NULL(v2) && get_u64(v2, &value_two) < 0)
                        return hutch_error_set(err, EINVAL,
                                               "argument condition %zu: 'valueTwo' must be an integer 0-2^64-1", i);
                ops = hutch_json_get_string(a, "op");
                if (!ops || parse_op(ops, &op) < 0)
                        return hutch_error_set(err, EINVAL, "argument condition %zu: unknown 'op' '%s'", i,
                                               ops ? ops : "(missing)");
                r->args[r->n_args++] = (struct scmp_arg_cmp){
                        .arg = (unsigned) index, .op = op, .datum_a = value, .datum_b = value_two
                };
        }
        return 0;
}

static int parse_rule(yajl_val s, size_t *total_names, struct rule *r, struct hutch_error **err)
{
        yajl_val names = hutch_json_get(s, "names"), name = hutch_json_get(s, "name");
        const char *action;
        int64_t errno_ret = 0;
        bool has_errno;
        int ret;

        if (!YAJL_IS_OBJECT(s))
                return hutch_error_set(err, EINVAL, "not an object");
        if (names && !YAJL_IS_NULL(names)) {
                if (!YAJL_IS_ARRAY(names))
                        return hutch_error_set(err, EINVAL, "'names' must be an array");
                if (*total_names + names->u.array.len > MAX_NAMES)
                        return hutch_error_set(err, E2BIG, "more than %d syscall names", MAX_NAMES);
                r->names = xcalloc(names->u.array.len + 1, sizeof(*r->names));
                for (size_t i = 0; i < names->u.array.len; i++) {
                        yajl_val n = names->u.array.values[i];
                        if (!YAJL_IS_STRING(n) || !*YAJL_GET_STRING(n))
                                return hutch_error_set(err, EINVAL, "'names' must hold non-empty strings");
                        r->names[r->n_names++] = YAJL_GET_STRING(n);
                }
        }
        if (name && !YAJL_IS_NULL(name)) {
                if (!YAJL_IS_STRING(name) || !*YAJL_GET_STRING(name))
                        return hutch_error_set(err, EINVAL, "'name' must be a non-empty string");
                r->names = xreallocarray(r->names, r->n_names + 2, sizeof(*r->names));
                r->names[r->n_names++] = YAJL_GET_STRING(name);
        }
        if (r->n_names == 0)
                return hutch_error_set(err, EINVAL, "no 'names'");
        *total_names += r->n_names;

        action = hutch_json_get_string(s, "action");
        if (!action)
                return hutch_error_set(err, EINVAL, "missing 'action'");
        ret = get_int_member(s, "errnoRet", &has_errno, &errno_ret, err);
        if (ret < 0)
                return ret;
        ret = parse_action(action, has_errno, errno_ret, &r->action, err);
        if (ret < 0)
                return ret;
        ret = parse_args(hutch_json_get(s, "args"), r, err);
        if (ret < 0)
                return ret;
        ret = parse_filter(hutch_json_get(s, "includes"), "includes", &r->includes, err);
        if (ret < 0)
                return ret;
        return parse_filter(hutch_json_get(s, "excludes"), "excludes", &r->excludes, err);
}

static int parse_arches(yajl_val root, struct arch_list *ret, struct hutch_error **err)
{
        yajl_val map = hutch_json_get(root, "archMap"), flat = hutch_json_get(root, "architectures");
        uint32_t native = seccomp_arch_native();

        memset(ret, 0, sizeof(*ret));
        arch_list_add(ret, native);
        if (map && !YAJL_IS_NULL(map)) {
                if (!YAJL_IS_ARRAY(map))
                        return hutch_error_set(err, EINVAL, "'archMap' must be an array");
                for (size_t i = 0; i < map->u.array.len; i++) {
                        yajl_val e = map->u.array.values[i], subs;
                        const char *a;

                        if (!YAJL_IS_OBJECT(e))
                                return hutch_error_set(err, EINVAL, "'archMap' entry %zu is not an object", i);
                        a = hutch_json_get_string(e, "architecture");
                        if (!a)
                                return hutch_error_set(err, EINVAL, "'archMap' entry %zu has no 'architecture'", i);
                        subs = hutch_json_get(e, "subArchitectures");
                        if (subs && !YAJL_IS_NULL(subs) && !YAJL_IS_ARRAY(subs))
                                return hutch_error_set(err, EINVAL,
                                                       "'archMap' entry '%s': 'subArchitectures' must be an array", a);
                        for (size_t j = 0; subs && YAJL_IS_ARRAY(subs) && j < subs->u.array.len; j++)
                                if (!YAJL_IS_STRING(subs->u.array.values[j]))
                                        return hutch_error_set(
                                                err, EINVAL,
                                                "'archMap' entry '%s': 'subArchitectures' must hold strings", a);
                        if (arch_from_scmp_name(a) != native)
                                continue;
                        for (size_t j = 0; subs && YAJL_IS_ARRAY(subs) && j < subs->u.array.len; j++) {
                                const char *sa = YAJL_GET_STRING(subs->u.array.values[j]);
                                uint32_t tok = arch_from_scmp_name(sa);
                                if (tok == 0)
                                        return hutch_error_set(err, EINVAL, "unknown architecture '%s'", sa);
                                arch_list_add(ret, tok);
                        }
                }
                return 0;
        }
        if (flat && !YAJL_IS_NULL(flat)) {
                if (!YAJL_IS_ARRAY(flat))
                        return hutch_error_set(err, EINVAL, "'architectures' must be an array");
                for (size_t i = 0; i < flat->u.array.len; i++) {
                        yajl_val e = flat->u.array.values[i];
                        uint32_t tok;

                        if (!YAJL_IS_STRING(e))
                                return hutch_error_set(err, EINVAL, "'architectures' must hold strings");
                        tok = arch_from_scmp_name(YAJL_GET_STRING(e));
                        if (tok == 0)
                                return hutch_error_set(err, EINVAL, "unknown architecture '%s'", YAJL_GET_STRING(e));
                        arch_list_add(ret, tok);
                }
        }
        return 0;
}

static int profile_parse(const char *json, size_t len, struct profile *p, struct hutch_error **err)
{
        yajl_val syscalls;
        const char *def;
        int64_t def_errno = 0;
        bool has_def_errno;
        size_t total_names = 0;
        int r;

        memset(p, 0, sizeof(*p));
        if (len > RUNTIME_SECCOMP_PROFILE_MAX)
                return hutch_error_set(err, EFBIG, "profile larger than %d bytes", RUNTIME_SECCOMP_PROFILE_MAX);
        p->tree = hutch_json_parse(json, len, err);
        if (!p->tree)
                return -EINVAL;
        if (!YAJL_IS_OBJECT(p->tree))
                return hutch_error_set(err, EINVAL, "profile is not a JSON object");

        def = hutch_json_get_string(p->tree, "defaultAction");
        if (!def)
                return hutch_error_set(err, EINVAL, "missing 'defaultAction'");
        r = get_int_member(p->tree, "defaultErrnoRet", &has_def_errno, &def_errno, err);
        if (r < 0)
                return r;
        r = parse_action(def, has_def_errno, def_errno, &p->default_action, err);
        if (r < 0)
                return hutch_error_prefix(err, "defaultAction");
        r = parse_arches(p->tree, &p->arches, err);
        if (r < 0)
                return r;

        syscalls = hutch_json_get(p->tree, "syscalls");
        if (!syscalls || YAJL_IS_NULL(syscalls))
                return 0;
        if (!YAJL_IS_ARRAY(syscalls))
                return hutch_error_set(err, EINVAL, "'syscalls' must be an array");
        if (syscalls->u.array.len > MAX_RULES)
                return hutch_error_set(err, E2BIG, "more than %d entries in 'syscalls'", MAX_RULES);
        p->rules = xcalloc(syscalls->u.array.len + 1, sizeof(*p->rules));
        for (size_t i = 0; i < syscalls->u.array.len; i++) {
                r = parse_rule(syscalls->u.array.values[i], &total_names, &p->rules[p->n_rules++], err);
                if (r < 0)
                        return hutch_error_prefix(err, "syscalls[%zu]", i);
        }
        return 0;
}

int runtime_seccomp_check(const char *json, size_t len, struct hutch_error **err)
{
        struct profile p;
        int r = profile_parse(json, len, &p, err);

        profile_clear(&p);
        return r;
}

/* ---- compiling ---- */

static void running_kernel(struct kernel_version *ret)
{
        struct utsname u;

        ret->major = ret->minor = 0;
        if (uname(&u) == 0)
                (void) parse_kernel_version(u.release, ret);
}

static bool rule_applies(const struct rule *r, uint32_t arch, uint64_t caps, const struct kernel_version *kv)
{
        const struct filter_cond *inc = &r->includes, *exc = &r->excludes;

        if (inc->set) {
                if (inc->unknown_cap || (inc->caps & caps) != inc->caps)
                        return false;
                if (inc->arches.set && !arch_list_has(&inc->arches, arch))
                        return false;
                if (inc->has_min_kernel && !kernel_at_least(kv, &inc->min_kernel))
                        return false;
        }
        if (exc->set) {
                if (exc->caps & caps)
                        return false;
                if (exc->arches.set && arch_list_has(&exc->arches, arch))
                        return false;
                if (exc->has_min_kernel && kernel_at_least(kv, &exc->min_kernel))
                        return false;
        }
        return true;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t arch, const struct rule *r, const char *name,
                    struct hutch_error **err)
{
        bool repeated = false;
        int nr, arch_nr, ret = 0;

        nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) {
                log_trace("seccomp: syscall '%s' unknown to libseccomp, skipped", name);
                return 0;
        }
        /* Not a call of this architecture at all (libseccomp's pseudo
         * numbers start at -10000; -100..-199 are multiplexed calls such
         * as socket through socketcall, which must stay). */
        arch_nr = seccomp_syscall_resolve_name_arch(arch, name);
        if (arch_nr == __NR_SCMP_ERROR || arch_nr <= -10000)
                return 0;

        for (size_t i = 0; i < r->n_args; i++)
                for (size_t j = i + 1; j < r->n_args; j++)
                        if (r->args[i].arg == r->args[j].arg)
                                repeated = true;

        if (repeated) {
                for (size_t i = 0; i < r->n_args && ret == 0; i++)
                        ret = seccomp_rule_add_array(ctx, r->action, nr, 1, &r->args[i]);
        } else
                ret = seccomp_rule_add_array(ctx, r->action, nr, (unsigned) r->n_args, r->n_args ? r->args : NULL);
        if (ret == -EEXIST)
                return hutch_error_set(err, EINVAL, "syscall '%s': rule conflicts with an earlier one", name);
        if (ret < 0)
                return hutch_error_set(err, -ret, "syscall '%s': cannot add rule", name);
        return 0;
}

static int arch_ctx_new(const struct profile *p, uint32_t arch, uint64_t caps, const struct kernel_version *kv,
                        scmp_filter_ctx *ret, struct hutch_error **err)
{
        scmp_filter_ctx ctx = seccomp_init(p->default_action);
        int r;

        if (!ctx)
                return hutch_error_set(err, ENOMEM, "seccomp_init failed");
        if (arch != seccomp_arch_native()) {
                r = seccomp_arch_add(ctx, arch);
                if (r == 0)
                        r = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);
                if (r < 0) {
                        seccomp_release(ctx);
                        return hutch_error_set(err, -r, "cannot build a filter for architecture %#x", arch);
                }
        }
        /* no_new_privs is the caller's business (runtime_seccomp_load). */
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        /* A binary tree over the syscall numbers: the default profile has
         * hundreds of rules and is run on every system call. */
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

        for (size_t i = 0; i < p->n_rules; i++) {
                const struct rule *rl = &p->rules[i];

                if (rl->action == p->default_action || !rule_applies(rl, arch, caps, kv))
                        continue;
                for (size_t j = 0; j < rl->n_names; j++) {
                        r = add_rule(ctx, arch, rl, rl->names[j], err);
                        if (r < 0) {
                                seccomp_release(ctx);
                                return hutch_error_prefix(err, "syscalls[%zu]", i);
                        }
                }
        }
        *ret = ctx;
        return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog **ret, struct hutch_error **err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        struct sock_fprog *prog;
        int r;

        fd = memfd_create("hutch-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return hutch_error_set(err, errno, "memfd_create");
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return hutch_error_set(err, -r, "export the seccomp filter");
        if (lseek(fd, 0, SEEK_SET) < 0)
                return hutch_error_set(err, errno, "lseek");
        r = hutch_read_fd_alloc(fd, (BPF_MAXINSNS + 1) * sizeof(struct sock_filter), &buf, &len);
        if (r == -EFBIG || len > BPF_MAXINSNS * sizeof(struct sock_filter))
                return hutch_error_set(err, E2BIG, "the compiled filter exceeds the kernel's limit of %d instructions",
                                       BPF_MAXINSNS);
        if (r < 0)
                return hutch_error_set(err, -r, "read the compiled seccomp filter");
        if (len == 0 || len % sizeof(struct sock_filter) != 0)
                return hutch_error_set(err, EINVAL, "libseccomp produced a malformed filter (%zu bytes)", len);

        prog = xzalloc(sizeof(*prog));
        prog->len = (unsigned short) (len / sizeof(struct sock_filter));
        prog->filter = xmalloc(len);
        memcpy(prog->filter, buf, len);
        *ret = prog;
        return 0;
}

static int compile_with_kernel(const char *json, size_t len, uint64_t caps, const struct kernel_version *kv,
                               struct sock_fprog **ret, struct hutch_error **err)
{
        struct profile p;
        scmp_filter_ctx main_ctx = NULL;
        int r;

        r = profile_parse(json, len, &p, err);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < p.arches.n; i++) {
                scmp_filter_ctx ctx = NULL;

                r = arch_ctx_new(&p, p.arches.a[i], caps, kv, &ctx, err);
                if (r < 0)
                        goto out;
                if (!main_ctx) {
                        main_ctx = ctx;
                        continue;
                }
                r = seccomp_merge(main_ctx, ctx);
                if (r < 0) {
                        seccomp_release(ctx);
                        r = hutch_error_set(err, -r, "merge the seccomp filters of each architecture");
                        goto out;
                }
        }
        r = export_bpf(main_ctx, ret, err);
out:
        if (main_ctx)
                seccomp_release(main_ctx);
        profile_clear(&p);
        return r;
}

int runtime_seccomp_compile(const char *json, size_t len, uint64_t caps, struct sock_fprog **ret,
                            struct hutch_error **err)
{
        struct kernel_version kv;

        running_kernel(&kv);
        return compile_with_kernel(json, len, caps, &kv, ret, err);
}

/* ---- the cache ---- */

struct cache_header {
        char magic[4];
        uint32_t format;
        uint32_t key_len;
        uint32_t n_insns;
        uint64_t check; /* FNV-1a over everything after the header */
};

static uint64_t fnv1a64(const char *a, size_t alen, const char *b, size_t blen)
{
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < alen; i++)
                h = (h ^ (unsigned char) a[i]) * 0x100000001b3ULL;
        for (size_t i = 0; i < blen; i++)
                h = (h ^ (unsigned char) b[i]) * 0x100000001b3ULL;
        return h;
}

static char *cache_key_header(uint64_t caps)
{
        const struct scmp_version *v = seccomp_version();
        struct utsname u;

        if (uname(&u) < 0)
                memset(&u, 0, sizeof(u));
        return xasprintf("hutch %s\nlibseccomp %u.%u.%u\nkernel %s\nnative %#x\ncaps %016" PRIx64 "\n", PACKAGE_VERSION,
                         v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0, u.release, seccomp_arch_native(), caps);
}

char *runtime_seccomp_cache_name(const char *json, size_t len, uint64_t caps)
{
        _cleanup_free_ char *hdr = cache_key_header(caps);

        return xasprintf("seccomp-%016" PRIx64 ".bpf", fnv1a64(hdr, strlen(hdr), json, len));
}

/* Returns 1 and *ret on a hit, 0 on a miss (missing, stale or damaged). */
static int cache_read(int dirfd, const char *name, const char *hdr, const char *json, size_t len,
                      struct sock_fprog **ret)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t hdr_len = strlen(hdr), key_len = hdr_len + len, got = 0, want;
        struct cache_header h;
        struct sock_fprog *prog;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return 0;
        if (hutch_read_fd_alloc(fd, sizeof(h) + key_len + BPF_MAXINSNS * sizeof(struct sock_filter) + 1, &buf, &got) <
            0)
                return 0;
        if (got < sizeof(h))
                return 0;
        memcpy(&h, buf, sizeof(h));
        if (memcmp(h.magic, CACHE_MAGIC, 4) != 0 || h.format != CACHE_FORMAT || h.key_len != key_len ||
            h.n_insns == 0 || h.n_insns > BPF_MAXINSNS)
                return 0;
        want = sizeof(h) + key_len + (size_t) h.n_insns * sizeof(struct sock_filter);
        if (got != want)
                return 0;
        if (memcmp(buf + sizeof(h), hdr, hdr_len) != 0 || memcmp(buf + sizeof(h) + hdr_len, json, len) != 0)
                return 0;
        /* A damaged program must not be loaded as if it were ours. */
        if (h.check != fnv1a64(buf + sizeof(h), got - sizeof(h), NULL, 0))
                return 0;

        prog = xzalloc(sizeof(*prog));
        prog->len = (unsigned short) h.n_insns;
        prog->filter = xmalloc((size_t) h.n_insns * sizeof(struct sock_filter));
        memcpy(prog->filter, buf + sizeof(h) + key_len, (size_t) h.n_insns * sizeof(struct sock_filter));
        *ret = prog;
        return 1;
}

static int cache_write(int dirfd, const char *name, const char *hdr, const char *json, size_t len,
                       const struct sock_fprog *prog, struct hutch_error **err)
{
        size_t hdr_len = strlen(hdr), key_len = hdr_len + len;
        size_t insns = (size_t) prog->len * sizeof(struct sock_filter);
        size_t total = sizeof(struct cache_header) + key_len + insns;
        _cleanup_free_ char *buf = NULL;
        struct cache_header h;

        if (key_len > UINT32_MAX)
                return hutch_error_set(err, EFBIG, "profile too large to cache");
        memcpy(h.magic, CACHE_MAGIC, 4);
        h.format = CACHE_FORMAT;
        h.key_len = (uint32_t) key_len;
        h.n_insns = prog->len;
        buf = xmalloc(total);
        memcpy(buf, &h, sizeof(h));
        memcpy(buf + sizeof(h), hdr, hdr_len);
        memcpy(buf + sizeof(h) + hdr_len, json, len);
        memcpy(buf + sizeof(h) + key_len, prog->filter, insns);
        h.check = fnv1a64(buf + sizeof(h), total - sizeof(h), NULL, 0);
        memcpy(buf, &h, sizeof(h));
        return hutch_write_file_atomic(dirfd, name, buf, total, 0600, err);
}

/* Removes cache files (and temporary files a crash left) not written for
 * CACHE_MAX_AGE: entries for old versions, kernels or profiles.  A live
 * entry removed this way costs one compile. */
#define CACHE_MAX_AGE (30 * 24 * 3600)
static void cache_prune(int dirfd, const char *keep)
{
        _cleanup_dir_ DIR *d = NULL;
        struct dirent *de;
        int fd = dup(dirfd);
        time_t now = time(NULL);

        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return;
        }
        while ((de = readdir(d))) {
                const char *n = de->d_name;
                size_t len = strlen(n);
                struct stat st;

                bool entry = strncmp(n, "seccomp-", 8) == 0 && len > 4 && STREQ(n + len - 4, ".bpf");
                bool leftover = strncmp(n, ".tmp-seccomp-", 13) == 0;

                if (STREQ(n, keep) || (!entry && !leftover))
                        continue;
                if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (now - st.st_mtime > CACHE_MAX_AGE)
                        (void) unlinkat(dirfd, n, 0);
        }
}

int runtime_seccomp_compile_cached(const char *json, size_t len, uint64_t caps, const char *cache_dir,
                                   struct sock_fprog **ret, struct hutch_error **err)
{
        _cleanup_free_ char *hdr = NULL, *name = NULL;
        _cleanup_close_ int dirfd = -1;
        struct sock_fprog *prog = NULL;
        struct hutch_error *werr = NULL;
        int r;

        if (!cache_dir)
                return runtime_seccomp_compile(json, len, caps, ret, err);

        hdr = cache_key_header(caps);
        name = xasprintf("seccomp-%016" PRIx64 ".bpf", fnv1a64(hdr, strlen(hdr), json, len));
        r = hutch_mkdir_p(cache_dir, 0700);
        if (r >= 0)
                dirfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                log_debug("seccomp: cache directory '%s' unusable, compiling without it", cache_dir);
                return runtime_seccomp_compile(json, len, caps, ret, err);
        }
        if (cache_read(dirfd, name, hdr, json, len, &prog) > 0) {
                log_trace("seccomp: cache hit '%s/%s'", cache_dir, name);
                *ret = prog;
                return 0;
        }
        r = runtime_seccomp_compile(json, len, caps, &prog, err);
        if (r < 0)
                return r;
        if (cache_write(dirfd, name, hdr, json, len, prog, &werr) < 0) {
                log_debug("seccomp: cannot write cache '%s/%s': %s, ignoring", cache_dir, name, werr->msg);
                hutch_error_clear(&werr);
        } else
                cache_prune(dirfd, name);
        *ret = prog;
        return 0;
}

const char *runtime_seccomp_default_json(size_t *ret_len)
{
        if (ret_len)
                *ret_len = hutch_seccomp_default_json_len;
        return hutch_seccomp_default_json;
}

int runtime_seccomp_default(uint64_t caps, const char *cache_dir, struct sock_fprog **ret, struct hutch_error **err)
{
        int r = runtime_seccomp_compile_cached(hutch_seccomp_default_json, hutch_seccomp_default_json_len, caps,
                                               cache_dir, ret, err);
        if (r < 0)
                return hutch_error_prefix(err, "default seccomp profile");
        return 0;
}

/* ---- in the child ---- */

int runtime_seccomp_load(const struct sock_fprog *prog)
{
        if (!prog)
                return 0;
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) == 0)
                return 0;
        if (errno != ENOSYS)
                return -errno;
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) < 0)
                return -errno;
        return 0;
}

struct sock_fprog *runtime_seccomp_free(struct sock_fprog *prog)
{
        if (prog) {
                free(prog->filter);
                free(prog);
        }
        return NULL;
}

/* ---- the monitor's own filter ---- */

/* A deny-list: the monitor relays bytes, writes logs and records, and waits;
 * none of these is ever its business once the container runs, and each is
 * a way for a compromised monitor (libslirp parses the container's packets)
 * to reach further into the kernel or the user's other processes.  EPERM,
 * as for a missing privilege.  clone only without namespace flags (one
 * condition per flag: conditions on one argument are ORed); clone3's flags
 * are out of the filter's reach, so it is ENOSYS and libc falls back. */
#if defined(__SANITIZE_ADDRESS__)
#define MONITOR_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MONITOR_UNDER_ASAN 1
#endif
#endif

static const char monitor_profile[] =
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"archMap\":["
        "{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]},"
        "{\"architecture\":\"SCMP_ARCH_AARCH64\",\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],"
        "\"syscalls\":["
        "{\"names\":[\"mount\",\"umount\",\"umount2\",\"pivot_root\",\"chroot\",\"open_tree\",\"move_mount\","
        "\"fsopen\",\"fsconfig\",\"fsmount\",\"fspick\",\"mount_setattr\",\"unshare\",\"setns\","
#if !defined(MONITOR_UNDER_ASAN)
        /* LeakSanitizer stops the world with ptrace at exit */
        "\"ptrace\","
#endif
        "\"process_vm_readv\",\"process_vm_writev\",\"pidfd_getfd\",\"kcmp\",\"bpf\",\"perf_event_open\","
        "\"userfaultfd\",\"keyctl\",\"add_key\",\"request_key\",\"kexec_load\",\"kexec_file_load\","
        "\"init_module\",\"finit_module\",\"delete_module\",\"open_by_handle_at\",\"name_to_handle_at\","
        "\"io_uring_setup\",\"io_uring_enter\",\"io_uring_register\",\"swapon\",\"swapoff\",\"reboot\",\"acct\","
        "\"quotactl\",\"quotactl_fd\",\"syslog\",\"iopl\",\"ioperm\",\"settimeofday\",\"clock_settime\","
        "\"clock_adjtime\",\"adjtimex\",\"lookup_dcookie\",\"fanotify_init\",\"seccomp\",\"uselib\",\"vm86\","
        "\"vm86old\",\"nfsservctl\"],"
        "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1},"
        "{\"names\":[\"clone3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38},"
        "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,"
        "\"excludes\":{\"arches\":[\"s390\",\"s390x\"]},\"args\":["
        "{\"index\":0,\"value\":268435456,\"valueTwo\":268435456,\"op\":\"SCMP_CMP_MASKED_EQ\"},"
        "{\"index\":0,\"value\":131072,\"valueTwo\":131072,\"op\":\"SCMP_CMP_MASKED_EQ\"},"
        "{\"index\":0,\"value\":536870912,\"valueTwo\":536870912,\"op\":\"SCMP_CMP_MASKED_EQ\"},"
        "{\"index\":0,\"value\":67108864,\"valueTwo\":67108864,\"op\":\"SCMP_CMP_MASKED_EQ\"},"
        "{\"index\":0,\"value\":1073741824,\"valueTwo\":1073741824,\"op\":\"SCMP_CMP_MASKED_EQ\"},"
        "{\"index\":0,\"value\":33554432,\"valueTwo\":33554432,\"op\":\"SCMP_CMP_MASKED_EQ\"},"
        "{\"index\":0,\"value\":134217728,\"valueTwo\":134217728,\"op\":\"SCMP_CMP_MASKED_EQ\"},"
        "{\"index\":0,\"value\":128,\"valueTwo\":128,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}"
        "]}";

const char *runtime_seccomp_monitor_json(size_t *ret_len)
{
        if (ret_len)
                *ret_len = sizeof(monitor_profile) - 1;
        return monitor_profile;
}

int runtime_seccomp_restrict_self(const char *cache_dir, struct hutch_error **err)
{
        struct sock_fprog *prog = NULL;
        int r;

        r = runtime_seccomp_compile_cached(monitor_profile, sizeof(monitor_profile) - 1, 0, cache_dir, &prog, err);
        if (r < 0)
                return hutch_error_prefix(err, "the monitor's seccomp filter");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                r = hutch_error_set(err, errno, "set no_new_privs on the monitor");
                goto out;
        }
        r = runtime_seccomp_load(prog);
        if (r < 0)
                r = hutch_error_set(err, -r, "load the monitor's seccomp filter");
out:
        runtime_seccomp_free(prog);
        return r < 0 ? r : 0;
}

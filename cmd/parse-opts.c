#include "config.h"

#include "cmd/parse-opts.h"
#include "lib/cleanup.h"
#include "lib/strv.h"
#include "lib/parse.h"
#include "lib/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static bool valid_env_name(const char *s, size_t len)
{
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (s[i] == '\0' || s[i] == '=' || isspace((unsigned char) s[i]))
                        return false;
        return true;
}

void cmd_env_set(char ***env, const char *entry)
{
        const char *eq = strchr(entry, '=');
        size_t klen = eq ? (size_t) (eq - entry) : strlen(entry);

        for (size_t i = 0; *env && (*env)[i]; i++)
                if (strncmp((*env)[i], entry, klen) == 0 && (*env)[i][klen] == '=') {
                        free((*env)[i]);
                        (*env)[i] = xstrdup(entry);
                        return;
                }
        hutch_strv_append(env, entry);
}

int cmd_parse_env_arg(const char *arg, char *(*lookup_env)(const char *), char ***env, struct hutch_error **err)
{
        const char *eq = strchr(arg, '=');
        size_t klen = eq ? (size_t) (eq - arg) : strlen(arg);

        if (!valid_env_name(arg, klen))
                return hutch_error_set(err, EINVAL, "invalid environment variable '%s'", arg);
        if (eq) {
                cmd_env_set(env, arg);
                return 0;
        }
        const char *v = lookup_env ? lookup_env(arg) : NULL;
        if (v) {
                _cleanup_free_ char *e = xasprintf("%s=%s", arg, v);
                cmd_env_set(env, e);
        }
        return 0;
}

int cmd_parse_env_file(const char *text, const char *name, char *(*lookup_env)(const char *), char ***env,
                       struct hutch_error **err)
{
        const char *line = text;
        unsigned lineno = 0;

        while (line && *line) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t) (end - line) : strlen(line);
                _cleanup_free_ char *l = xstrndup(line, len);
                char *s = l;
                lineno++;
                line = end ? end + 1 : NULL;

                if (len > 0 && s[len - 1] == '\r')
                        s[--len] = '\0';
                while (*s == ' ' || *s == '\t')
                        s++;
                if (*s == '\0' || *s == '#')
                        continue;
                char *eq = strchr(s, '=');
                if (eq == NULL) {
                        /* trailing blanks after a bare name are not part of it */
                        size_t n = strlen(s);
                        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                                s[--n] = '\0';
                }
                if (cmd_parse_env_arg(s, lookup_env, env, NULL) < 0)
                        return hutch_error_set(err, EINVAL, "%s:%u: invalid environment variable '%s'", name, lineno,
                                               s);
        }
        return 0;
}

int cmd_clean_container_path(const char *path, char **ret, struct hutch_error **err)
{
        _cleanup_strv_ char **parts = NULL;
        _cleanup_strv_ char **out = NULL;

        if (path == NULL || path[0] != '/')
                return hutch_error_set(err, EINVAL, "container path '%s' is not absolute", path ? path : "");
        if (strlen(path) >= 4096)
                return hutch_error_set(err, ENAMETOOLONG, "container path too long");
        parts = hutch_strv_split(path, "/");
        out = xcalloc(1, sizeof(char *));
        for (size_t i = 0; parts[i]; i++) {
                if (STREQ(parts[i], "."))
                        continue;
                if (STREQ(parts[i], "..")) {
                        size_t n = hutch_strv_length(out);
                        if (n == 0)
                                return hutch_error_set(err, EINVAL, "container path '%s' climbs above '/'", path);
                        free(out[n - 1]);
                        out[n - 1] = NULL;
                        continue;
                }
                hutch_strv_append(&out, parts[i]);
        }
        _cleanup_free_ char *joined = hutch_strv_join(out, "/");
        *ret = xasprintf("/%s", joined);
        return 0;
}

int cmd_parse_volume(const char *spec, struct cmd_volume *ret, struct hutch_error **err)
{
        _cleanup_strv_ char **f = NULL;
        struct cmd_volume v = { 0 };
        size_t n;

        if (spec == NULL || *spec == '\0')
                return hutch_error_set(err, EINVAL, "invalid volume '': expected SRC:DST[:OPTIONS]");
        /* Split on ':' keeping empty fields so "a::b" is caught. */
        f = xcalloc(1, sizeof(char *));
        for (const char *p = spec;;) {
                size_t k = strcspn(p, ":");
                hutch_strv_push(&f, xstrndup(p, k));
                if (p[k] == '\0')
                        break;
                p += k + 1;
        }
        n = hutch_strv_length(f);
        if (n < 2 || n > 3)
                return hutch_error_set(err, EINVAL, "invalid volume '%s': expected SRC:DST[:OPTIONS]", spec);
        if (f[0][0] == '\0' || f[1][0] == '\0')
                return hutch_error_set(err, EINVAL, "invalid volume '%s': empty source or destination", spec);
        if (f[0][0] != '/') {
                if (!cmd_volume_name_valid(f[0]))
                        return hutch_error_set(err, EINVAL,
                                               "invalid volume '%s': '%s' is neither an absolute host path nor a "
                                               "volume name",
                                               spec, f[0]);
                v.kind = CMD_VOLUME_NAMED;
        }
        if (n == 3) {
                _cleanup_strv_ char **opts = hutch_strv_split(f[2], ",");
                if (opts[0] == NULL)
                        return hutch_error_set(err, EINVAL, "invalid volume '%s': empty options", spec);
                bool seen_mode = false;
                for (size_t i = 0; opts[i]; i++) {
                        if (STREQ(opts[i], "ro") || STREQ(opts[i], "rw")) {
                                if (seen_mode)
                                        return hutch_error_set(err, EINVAL, "invalid volume '%s': ro and rw given",
                                                               spec);
                                seen_mode = true;
                                v.readonly = STREQ(opts[i], "ro");
                        } else if (STREQ(opts[i], "z") || STREQ(opts[i], "Z")) {
                                /* SELinux relabelling: nothing to do without SELinux */
                        } else if (STREQ(opts[i], "U")) {
                                v.chown = true;
                        } else {
                                return hutch_error_set(err, EINVAL, "invalid volume '%s': unknown option '%s'", spec,
                                                       opts[i]);
                        }
                }
        }
        if (cmd_clean_container_path(f[1], &v.destination, err) < 0)
                return hutch_error_prefix(err, "invalid volume '%s'", spec);
        if (STREQ(v.destination, "/")) {
                free(v.destination);
                return hutch_error_set(err, EINVAL, "invalid volume '%s': cannot mount over '/'", spec);
        }
        v.source = xstrdup(f[0]);
        *ret = v;
        return 0;
}

void cmd_volume_clear(struct cmd_volume *v)
{
        free(v->source);
        free(v->destination);
        free(v->options);
        memset(v, 0, sizeof(*v));
}

bool cmd_volume_name_valid(const char *name)
{
        size_t n = 0;
        if (name == NULL || !isalnum((unsigned char) name[0]))
                return false;
        for (; name[n]; n++)
                if (!isalnum((unsigned char) name[n]) && !strchr("_.-", name[n]))
                        return false;
        return n <= 128;
}

/* tmpfs options we pass to the kernel: size, mode, nr_inodes, and the
 * flag-like ones we turn into mount flags ourselves are refused. */
static int check_tmpfs_options(const char *opts, const char *spec, struct hutch_error **err)
{
        _cleanup_strv_ char **o = hutch_strv_split(opts, ",");
        for (size_t i = 0; o[i]; i++) {
                if (strncmp(o[i], "size=", 5) == 0 || strncmp(o[i], "mode=", 5) == 0 ||
                    strncmp(o[i], "nr_inodes=", 10) == 0 || strncmp(o[i], "uid=", 4) == 0 ||
                    strncmp(o[i], "gid=", 4) == 0)
                        continue;
                return hutch_error_set(err, EINVAL, "invalid tmpfs '%s': unsupported option '%s'", spec, o[i]);
        }
        return 0;
}

int cmd_parse_tmpfs(const char *spec, struct cmd_volume *ret, struct hutch_error **err)
{
        struct cmd_volume v = { .kind = CMD_VOLUME_TMPFS };
        const char *colon = strchr(spec, ':');
        _cleanup_free_ char *path = colon ? xstrndup(spec, (size_t) (colon - spec)) : xstrdup(spec);

        if (colon && check_tmpfs_options(colon + 1, spec, err) < 0)
                return -1;
        if (cmd_clean_container_path(path, &v.destination, err) < 0)
                return hutch_error_prefix(err, "invalid --tmpfs '%s'", spec);
        if (STREQ(v.destination, "/")) {
                free(v.destination);
                return hutch_error_set(err, EINVAL, "invalid --tmpfs '%s': cannot mount over '/'", spec);
        }
        v.options = xstrdup(colon && colon[1] ? colon + 1 : "mode=1777");
        *ret = v;
        return 0;
}

int cmd_parse_mount(const char *spec, struct cmd_volume *ret, struct hutch_error **err)
{
        _cleanup_strv_ char **kv = hutch_strv_split(spec, ",");
        _cleanup_free_ char *type = NULL, *source = NULL, *target = NULL, *size = NULL, *mode = NULL;
        struct cmd_volume v = { 0 };

        for (size_t i = 0; kv[i]; i++) {
                char *eq = strchr(kv[i], '=');
                const char *key = kv[i], *val = eq ? eq + 1 : NULL;
                if (eq)
                        *eq = '\0';
                char **slot = NULL;
                if (STREQ(key, "type"))
                        slot = &type;
                else if (STREQ(key, "source") || STREQ(key, "src"))
                        slot = &source;
                else if (STREQ(key, "target") || STREQ(key, "dst") || STREQ(key, "destination"))
                        slot = &target;
                else if (STREQ(key, "tmpfs-size"))
                        slot = &size;
                else if (STREQ(key, "tmpfs-mode"))
                        slot = &mode;
                else if (STREQ(key, "readonly") || STREQ(key, "ro")) {
                        bool b = true;
                        if (val && hutch_parse_bool(val, &b) < 0)
                                return hutch_error_set(err, EINVAL, "invalid --mount '%s': bad %s value", spec, key);
                        v.readonly = b;
                        continue;
                } else if (STREQ(key, "U") || STREQ(key, "chown")) {
                        bool b = true;
                        if (val && hutch_parse_bool(val, &b) < 0)
                                return hutch_error_set(err, EINVAL, "invalid --mount '%s': bad %s value", spec, key);
                        v.chown = b;
                        continue;
                } else if (STREQ(key, "rw") || STREQ(key, "z") || STREQ(key, "Z") || STREQ(key, "bind-propagation")) {
                        continue;
                } else {
                        return hutch_error_set(err, EINVAL, "invalid --mount '%s': unknown option '%s'", spec, key);
                }
                if (val == NULL || *val == '\0' || *slot)
                        return hutch_error_set(err, EINVAL, "invalid --mount '%s': '%s' needs one value", spec, key);
                *slot = xstrdup(val);
        }
        if (type == NULL || target == NULL)
                return hutch_error_set(err, EINVAL, "invalid --mount '%s': type= and target= are required", spec);
        if (cmd_clean_container_path(target, &v.destination, err) < 0)
                return hutch_error_prefix(err, "invalid --mount '%s'", spec);
        if (STREQ(type, "tmpfs")) {
                v.kind = CMD_VOLUME_TMPFS;
                if (source) {
                        cmd_volume_clear(&v);
                        return hutch_error_set(err, EINVAL, "invalid --mount '%s': tmpfs takes no source", spec);
                }
                if (v.chown) {
                        cmd_volume_clear(&v);
                        return hutch_error_set(err, EINVAL, "invalid --mount '%s': U is for bind and volume mounts",
                                               spec);
                }
                v.options = xasprintf("mode=%s%s%s", mode ? mode : "1777", size ? ",size=" : "", size ? size : "");
        } else if (STREQ(type, "bind") || STREQ(type, "volume")) {
                bool bind = STREQ(type, "bind");
                if (source == NULL || (bind && source[0] != '/') || (!bind && !cmd_volume_name_valid(source))) {
                        cmd_volume_clear(&v);
                        return hutch_error_set(err, EINVAL, "invalid --mount '%s': %s", spec,
                                               bind ? "bind needs an absolute source=" : "volume needs a source= name");
                }
                v.kind = bind ? CMD_VOLUME_BIND : CMD_VOLUME_NAMED;
                v.source = steal_ptr(&source);
        } else {
                cmd_volume_clear(&v);
                return hutch_error_set(err, EINVAL, "invalid --mount '%s': type '%s' (bind, volume or tmpfs)", spec,
                                       type);
        }
        if (STREQ(v.destination, "/")) {
                cmd_volume_clear(&v);
                return hutch_error_set(err, EINVAL, "invalid --mount '%s': cannot mount over '/'", spec);
        }
        *ret = v;
        return 0;
}

int cmd_parse_device(const char *spec, struct cmd_volume *ret, struct hutch_error **err)
{
        _cleanup_strv_ char **f = NULL;
        struct cmd_volume v = { .kind = CMD_VOLUME_BIND };
        const char *perms = "rwm";
        size_t n;

        f = xcalloc(1, sizeof(char *));
        for (const char *p = spec;;) {
                size_t k = strcspn(p, ":");
                hutch_strv_push(&f, xstrndup(p, k));
                if (p[k] == '\0')
                        break;
                p += k + 1;
        }
        n = hutch_strv_length(f);
        if (n > 3 || f[0][0] != '/')
                return hutch_error_set(err, 0, "invalid --device '%s': expected /dev/HOST[:/dev/CONTAINER][:rwm]",
                                       spec);
        const char *dst = f[0];
        if (n >= 2) {
                if (f[1][0] == '/')
                        dst = f[1];
                else if (n == 2)
                        perms = f[1];
                else
                        return hutch_error_set(err, 0, "invalid --device '%s': the container path must be absolute",
                                               spec);
        }
        if (n == 3)
                perms = f[2];
        if (*perms == '\0' || strspn(perms, "rwm") != strlen(perms))
                return hutch_error_set(err, 0, "invalid --device '%s': permissions are a mix of r, w and m", spec);
        if (cmd_clean_container_path(dst, &v.destination, err) < 0)
                return hutch_error_prefix(err, "invalid --device '%s'", spec);
        v.source = xstrdup(f[0]);
        /* Docker enforces rwm with the devices cgroup, which a rootless
         * container has no say in; a read-only bind does not stop writes to
         * a device either.  Access is what the node's own mode allows. */
        *ret = v;
        return 0;
}

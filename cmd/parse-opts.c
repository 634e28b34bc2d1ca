#include "config.h"

#include "cmd/parse-opts.h"
#include "lib/cleanup.h"
#include "lib/strv.h"
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
        if (f[0][0] != '/')
                return hutch_error_set(err, EINVAL,
                                       "invalid volume '%s': source '%s' must be an absolute host path "
                                       "(named volumes are not supported yet)",
                                       spec, f[0]);
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
        v->source = v->destination = NULL;
}

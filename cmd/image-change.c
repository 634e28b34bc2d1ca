/* --change INSTRUCTION for `hutch import` and `hutch commit`: the
 * Dockerfile instructions that only set the image config. */
#include "config.h"

#include "cmd/image-change.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ["a", "b"] or a shell command line (run with /bin/sh -c). */
static int parse_command(const char *v, char ***ret, struct hutch_error **err)
{
        while (*v == ' ')
                v++;
        if (*v == '[') {
                yajl_val j = hutch_json_parse(v, strlen(v), err);
                char **l = xcalloc(1, sizeof(char *));
                if (j == NULL) {
                        free(l);
                        return -EINVAL;
                }
                if (!YAJL_IS_ARRAY(j)) {
                        yajl_tree_free(j);
                        free(l);
                        return hutch_error_set(err, 0, "not a JSON list of strings: %s", v);
                }
                for (size_t i = 0; i < j->u.array.len; i++) {
                        if (!YAJL_IS_STRING(j->u.array.values[i])) {
                                yajl_tree_free(j);
                                hutch_strv_free(l);
                                return hutch_error_set(err, 0, "not a JSON list of strings: %s", v);
                        }
                        hutch_strv_append(&l, j->u.array.values[i]->u.string);
                }
                yajl_tree_free(j);
                *ret = l;
                return 0;
        }
        *ret = NULL;
        hutch_strv_append(ret, "/bin/sh");
        hutch_strv_append(ret, "-c");
        hutch_strv_append(ret, v);
        return 0;
}

int cmd_image_change_apply(struct storage_image_config *c, const char *change, struct hutch_error **err)
{
        size_t kl = strcspn(change, "= ");
        _cleanup_free_ char *key = xstrndup(change, kl);
        const char *v = change[kl] ? change + kl + 1 : NULL;

        for (char *p = key; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char) (*p - 'a' + 'A');
        if (v == NULL || *v == '\0')
                return hutch_error_set(err, 0, "invalid --change '%s': expected INSTRUCTION=VALUE", change);
        if (STREQ(key, "CMD")) {
                hutch_strv_free(c->cmd);
                c->has_cmd = true;
                return parse_command(v, &c->cmd, err);
        }
        if (STREQ(key, "ENTRYPOINT")) {
                hutch_strv_free(c->entrypoint);
                c->has_entrypoint = true;
                return parse_command(v, &c->entrypoint, err);
        }
        if (STREQ(key, "ENV")) {
                const char *sep = strpbrk(v, "= ");
                if (sep == NULL || sep == v)
                        return hutch_error_set(err, 0, "invalid --change '%s': ENV NAME=VALUE", change);
                _cleanup_free_ char *name = xstrndup(v, (size_t) (sep - v));
                _cleanup_free_ char *prefix = xasprintf("%s=", name);
                for (char **e = c->env; e && *e; e++)
                        if (strncmp(*e, prefix, strlen(prefix)) == 0) {
                                free(*e);
                                *e = xasprintf("%s%s", prefix, sep + 1);
                                return 0;
                        }
                hutch_strv_push(&c->env, xasprintf("%s%s", prefix, sep + 1));
                return 0;
        }
        if (STREQ(key, "WORKDIR")) {
                if (*v != '/')
                        return hutch_error_set(err, 0, "invalid --change '%s': WORKDIR must be absolute", change);
                free(c->working_dir);
                c->working_dir = xstrdup(v);
                return 0;
        }
        if (STREQ(key, "USER")) {
                free(c->user);
                c->user = xstrdup(v);
                return 0;
        }
        if (STREQ(key, "STOPSIGNAL")) {
                free(c->stop_signal);
                c->stop_signal = xstrdup(v);
                return 0;
        }
        if (STREQ(key, "EXPOSE") || STREQ(key, "VOLUME")) {
                _cleanup_strv_ char **parts = hutch_strv_split(v, " ");
                for (char **p = parts; p && *p; p++) {
                        if (STREQ(key, "VOLUME")) {
                                if (**p != '/')
                                        return hutch_error_set(err, 0, "invalid --change '%s': VOLUME must be absolute",
                                                               change);
                                hutch_strv_append(&c->volumes, *p);
                                continue;
                        }
                        unsigned long port;
                        char *end;
                        errno = 0;
                        port = strtoul(*p, &end, 10);
                        if (errno || end == *p || port == 0 || port > 65535 ||
                            (*end && !STREQ(end, "/tcp") && !STREQ(end, "/udp") && !STREQ(end, "/sctp")))
                                return hutch_error_set(err, 0, "invalid --change '%s': EXPOSE PORT[/tcp|/udp]", change);
                        hutch_strv_push(&c->exposed_ports, xasprintf("%lu%s", port, *end ? end : "/tcp"));
                }
                return 0;
        }
        if (STREQ(key, "LABEL")) {
                const char *eq = strchr(v, '=');
                if (eq == NULL || eq == v)
                        return hutch_error_set(err, 0, "invalid --change '%s': LABEL KEY=VALUE", change);
                hutch_strv_append(&c->labels, v);
                return 0;
        }
        return hutch_error_set(err, 0,
                               "invalid --change '%s': unknown instruction '%s' (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
                               "STOPSIGNAL, USER, VOLUME, WORKDIR)",
                               change, key);
}

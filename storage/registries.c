/* registries.conf (see registries.h). */
#include "config.h"

#include "storage/registries.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/toml.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

struct registries_conf *registries_conf_new(void)
{
        return xzalloc(sizeof(struct registries_conf));
}

static void entry_clear(struct registries_entry *e)
{
        free(e->prefix);
        free(e->location);
        for (size_t i = 0; i < e->n_mirrors; i++)
                free(e->mirrors[i].location);
        free(e->mirrors);
        memset(e, 0, sizeof(*e));
}

struct registries_conf *registries_conf_free(struct registries_conf *c)
{
        if (c == NULL)
                return NULL;
        hutch_strv_free(c->search);
        hutch_strv_free(c->alias_names);
        hutch_strv_free(c->alias_targets);
        for (size_t i = 0; i < c->n; i++)
                entry_clear(&c->v[i]);
        free(c->v);
        free(c);
        return NULL;
}

/* A registry "host[:port]" or "host[:port]/path": no scheme, no tag. */
static bool location_valid(const char *s, bool wildcard)
{
        size_t n = strlen(s);

        if (n == 0 || n > 255 || s[0] == '/' || s[n - 1] == '/' || strstr(s, "://") || strstr(s, "//"))
                return false;
        if (wildcard && strncmp(s, "*.", 2) == 0)
                s += 2;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f || strchr("@\\\"'*?#", *p))
                        return false;
        return true;
}

static int get_string(const struct toml_value *t, const char *key, const char *source, char **ret,
                      struct hutch_error **err)
{
        const struct toml_value *v = toml_get(t, key);

        *ret = NULL;
        if (v == NULL)
                return 0;
        if (v->type != TOML_STRING)
                return hutch_error_set(err, 0, "%s: '%s' must be a string", source, key);
        *ret = xstrdup(v->s);
        return 1;
}

static int get_bool(const struct toml_value *t, const char *key, const char *source, bool *ret,
                    struct hutch_error **err)
{
        const struct toml_value *v = toml_get(t, key);

        if (v == NULL)
                return 0;
        if (v->type != TOML_BOOL)
                return hutch_error_set(err, 0, "%s: '%s' must be true or false", source, key);
        *ret = v->b;
        return 1;
}

static int parse_entry(const struct toml_value *t, const char *source, struct registries_entry *e,
                       struct hutch_error **err)
{
        const struct toml_value *m;
        int r;

        if (t->type != TOML_TABLE)
                return hutch_error_set(err, 0, "%s: [[registry]] must be tables", source);
        if ((r = get_string(t, "prefix", source, &e->prefix, err)) < 0 ||
            (r = get_string(t, "location", source, &e->location, err)) < 0 ||
            (r = get_bool(t, "insecure", source, &e->insecure, err)) < 0 ||
            (r = get_bool(t, "blocked", source, &e->blocked, err)) < 0)
                return r;
        if (e->location && *e->location == '\0') {
                free(e->location);
                e->location = NULL;
        }
        if (e->prefix == NULL && e->location == NULL)
                return hutch_error_set(err, 0, "%s: a [[registry]] needs a prefix or a location", source);
        if (e->prefix == NULL)
                e->prefix = xstrdup(e->location);
        if (!location_valid(e->prefix, true) || (e->location && !location_valid(e->location, false)))
                return hutch_error_set(err, 0, "%s: invalid [[registry]] prefix or location '%s'", source,
                                       e->location ? e->location : e->prefix);
        if (strncmp(e->prefix, "*.", 2) == 0 && e->location)
                return hutch_error_set(err, 0, "%s: a wildcard prefix '%s' cannot have a location", source, e->prefix);
        m = toml_get(t, "mirror");
        if (m == NULL)
                return 0;
        if (m->type != TOML_ARRAY)
                return hutch_error_set(err, 0, "%s: 'mirror' must be an array of tables", source);
        e->mirrors = xcalloc(m->n ? m->n : 1, sizeof(*e->mirrors));
        for (size_t i = 0; i < m->n; i++) {
                struct registries_mirror *mm = &e->mirrors[e->n_mirrors];
                if (m->values[i]->type != TOML_TABLE)
                        return hutch_error_set(err, 0, "%s: 'mirror' must be an array of tables", source);
                if ((r = get_string(m->values[i], "location", source, &mm->location, err)) < 0)
                        return r;
                e->n_mirrors++;
                if (mm->location == NULL || !location_valid(mm->location, false))
                        return hutch_error_set(err, 0, "%s: invalid mirror location", source);
                if ((r = get_bool(m->values[i], "insecure", source, &mm->insecure, err)) < 0)
                        return r;
        }
        return 0;
}

static int string_list(const struct toml_value *v, const char *key, const char *source, char ***ret,
                       struct hutch_error **err)
{
        char **l = xcalloc(1, sizeof(char *));

        if (v->type != TOML_ARRAY) {
                free(l);
                return hutch_error_set(err, 0, "%s: '%s' must be an array of strings", source, key);
        }
        for (size_t i = 0; i < v->n; i++) {
                if (v->values[i]->type != TOML_STRING || !location_valid(v->values[i]->s, false)) {
                        hutch_strv_free(l);
                        return hutch_error_set(err, 0, "%s: '%s' must be an array of registries", source, key);
                }
                hutch_strv_append(&l, v->values[i]->s);
        }
        *ret = l;
        return 0;
}

int registries_conf_parse(struct registries_conf *c, const char *buf, size_t len, const char *source,
                          struct hutch_error **err)
{
        _cleanup_(toml_free_cleanup) struct toml_value *doc = NULL;
        const struct toml_value *v;
        int r;

        r = toml_parse(buf, len, &doc, err);
        if (r < 0)
                return hutch_error_prefix(err, "%s", source);
        if (toml_get(doc, "registries"))
                return hutch_error_set(err, 0, "%s: the version 1 format ([registries.search]) is not supported",
                                       source);
        v = toml_get(doc, "unqualified-search-registries");
        if (v) {
                char **l = NULL;
                r = string_list(v, "unqualified-search-registries", source, &l, err);
                if (r < 0)
                        return r;
                hutch_strv_free(c->search);
                c->search = l;
                c->search_set = true;
        }
        v = toml_get(doc, "aliases");
        if (v) {
                if (v->type != TOML_TABLE)
                        return hutch_error_set(err, 0, "%s: [aliases] must be a table", source);
                for (size_t i = 0; i < v->n; i++) {
                        const struct toml_value *t = v->values[i];
                        bool replaced = false;
                        if (t->type != TOML_STRING || !location_valid(t->s, false) || strchr(t->s, '/') == NULL)
                                return hutch_error_set(err, 0, "%s: alias '%s' must name an image with its registry",
                                                       source, v->keys[i]);
                        for (size_t k = 0; c->alias_names && c->alias_names[k]; k++)
                                if (STREQ(c->alias_names[k], v->keys[i])) {
                                        free(c->alias_targets[k]);
                                        c->alias_targets[k] = xstrdup(t->s);
                                        replaced = true;
                                }
                        if (!replaced) {
                                hutch_strv_append(&c->alias_names, v->keys[i]);
                                hutch_strv_append(&c->alias_targets, t->s);
                        }
                }
        }
        v = toml_get(doc, "registry");
        if (v) {
                if (v->type != TOML_ARRAY)
                        return hutch_error_set(err, 0, "%s: 'registry' must be an array of tables", source);
                for (size_t i = 0; i < v->n; i++) {
                        struct registries_entry e = { 0 };
                        size_t k;
                        r = parse_entry(v->values[i], source, &e, err);
                        if (r < 0) {
                                entry_clear(&e);
                                return r;
                        }
                        for (k = 0; k < c->n; k++)
                                if (STREQ(c->v[k].prefix, e.prefix))
                                        break;
                        if (k == c->n) {
                                c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
                                c->n++;
                        } else {
                                entry_clear(&c->v[k]);
                        }
                        c->v[k] = e;
                }
        }
        return 0;
}

static int load_file(struct registries_conf *c, const char *path, bool must_exist, struct hutch_error **err)
{
        _cleanup_free_ char *buf = NULL;
        struct hutch_error *e = NULL;
        size_t len = 0;
        int r;

        r = hutch_read_file_at(AT_FDCWD, path, TOML_MAX_BYTES, &buf, &len, &e);
        if (r < 0) {
                if (!must_exist && e && e->errnum == ENOENT) {
                        hutch_error_free(e);
                        return 0;
                }
                *err = e;
                return hutch_error_prefix(err, "registries configuration '%s'", path);
        }
        return registries_conf_parse(c, buf, len, path, err);
}

static int compare(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int load_dir(struct registries_conf *c, const char *dir, struct hutch_error **err)
{
        _cleanup_dir_ DIR *d = opendir(dir);
        _cleanup_strv_ char **names = NULL;
        struct dirent *de;
        size_t n;
        int r;

        if (d == NULL)
                return 0;
        while ((de = readdir(d)) != NULL) {
                size_t l = strlen(de->d_name);
                if (de->d_name[0] != '.' && l > 5 && STREQ(de->d_name + l - 5, ".conf"))
                        hutch_strv_push(&names, xasprintf("%s/%s", dir, de->d_name));
        }
        n = hutch_strv_length(names);
        if (n)
                qsort(names, n, sizeof(char *), compare);
        for (size_t i = 0; i < n; i++) {
                r = load_file(c, names[i], false, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int registries_conf_load(struct registries_conf **ret, struct hutch_error **err)
{
        struct registries_conf *c = registries_conf_new();
        const char *env = getenv("CONTAINERS_REGISTRIES_CONF");
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        _cleanup_free_ char *user = NULL, *user_d = NULL;
        int r;

        if (env && *env) {
                r = load_file(c, env, true, err);
                goto out;
        }
        if (xdg && *xdg == '/')
                user = xasprintf("%s/containers/registries.conf", xdg);
        else if (home && *home == '/')
                user = xasprintf("%s/.config/containers/registries.conf", home);
        if (user && access(user, F_OK) == 0)
                r = load_file(c, user, true, err);
        else
                r = load_file(c, "/etc/containers/registries.conf", false, err);
        if (r < 0)
                goto out;
        r = load_dir(c, "/etc/containers/registries.conf.d", err);
        if (r < 0 || user == NULL)
                goto out;
        user_d = xasprintf("%s.d", user);
        r = load_dir(c, user_d, err);
out:
        if (r < 0) {
                registries_conf_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

/* Does prefix match name ("host/path") on a component boundary? */
static size_t prefix_match(const char *prefix, const char *name)
{
        size_t n = strlen(prefix);

        if (strncmp(prefix, "*.", 2) == 0) {
                size_t hl = strcspn(name, "/"), sl = n - 1; /* ".example.com" */
                if (hl > sl && strncmp(name + hl - sl, prefix + 1, sl) == 0)
                        return 1; /* weaker than any exact prefix */
                return 0;
        }
        if (strncmp(prefix, name, n) != 0 || (name[n] != '\0' && name[n] != '/'))
                return 0;
        return n + 1;
}

static const struct registries_entry *find_best(const struct registries_conf *c, const char *name)
{
        const struct registries_entry *best = NULL;
        size_t best_len = 0;

        for (size_t i = 0; c && i < c->n; i++) {
                size_t l = prefix_match(c->v[i].prefix, name);
                if (l > best_len) {
                        best = &c->v[i];
                        best_len = l;
                }
        }
        return best;
}

const struct registries_entry *registries_conf_find(const struct registries_conf *c, const char *host,
                                                    const char *repository)
{
        _cleanup_free_ char *name = repository ? xasprintf("%s/%s", host, repository) : xstrdup(host);
        const struct registries_entry *e = find_best(c, name);
        size_t hl = strlen(host);

        if (e)
                return e;
        /* an endpoint: a location or a mirror on this host */
        for (size_t i = 0; c && i < c->n; i++) {
                const struct registries_entry *x = &c->v[i];
                if (x->location && strncmp(x->location, host, hl) == 0 &&
                    (x->location[hl] == '\0' || x->location[hl] == '/'))
                        return x;
                for (size_t k = 0; k < x->n_mirrors; k++) {
                        const char *m = x->mirrors[k].location;
                        if (strncmp(m, host, hl) == 0 && (m[hl] == '\0' || m[hl] == '/'))
                                return x->mirrors[k].insecure ? x : NULL;
                }
        }
        return NULL;
}

static char *with_tag(const char *name, const struct storage_reference *ref)
{
        if (ref->digest)
                return xasprintf("%s@%s", name, ref->digest);
        return xasprintf("%s:%s", name, ref->tag ? ref->tag : "latest");
}

int registries_conf_resolve(const struct registries_conf *c, const char *input, const struct storage_reference *ref,
                            char ***ret, struct hutch_error **err)
{
        char **l = NULL;

        if (!ref->short_name) {
                _cleanup_free_ char *repo = storage_reference_repository(ref);
                hutch_strv_push(&l, with_tag(repo, ref));
                *ret = l;
                return 0;
        }
        for (size_t i = 0; c->alias_names && c->alias_names[i]; i++)
                if (STREQ(c->alias_names[i], ref->path)) {
                        hutch_strv_push(&l, with_tag(c->alias_targets[i], ref));
                        *ret = l;
                        return 0;
                }
        for (char **s = c->search; s && *s; s++) {
                bool library = STREQ(*s, "docker.io") && strchr(ref->path, '/') == NULL;
                _cleanup_free_ char *name = xasprintf("%s/%s%s", *s, library ? "library/" : "", ref->path);
                hutch_strv_push(&l, with_tag(name, ref));
        }
        if (l == NULL)
                return hutch_error_set_status(err, 0, ENOENT,
                                              "short-name \"%s\" did not resolve to an alias and no "
                                              "unqualified-search registries are defined in registries.conf",
                                              input);
        *ret = l;
        return 0;
}

int registries_conf_endpoints(const struct registries_conf *c, const struct storage_reference *ref, char ***ret,
                              struct hutch_error **err)
{
        _cleanup_free_ char *name = storage_reference_repository(ref);
        const struct registries_entry *e = find_best(c, name);
        size_t pl;
        char **l = NULL;

        if (e == NULL) {
                hutch_strv_append(&l, name);
                *ret = l;
                return 0;
        }
        if (e->blocked)
                return hutch_error_set(err, 0, "registry %s is blocked in registries.conf", e->prefix);
        pl = strncmp(e->prefix, "*.", 2) == 0 ? 0 : strlen(e->prefix);
        for (size_t i = 0; pl && i < e->n_mirrors; i++)
                hutch_strv_push(&l, xasprintf("%s%s", e->mirrors[i].location, name + pl));
        if (pl == 0 || e->location == NULL)
                hutch_strv_append(&l, name);
        else
                hutch_strv_push(&l, xasprintf("%s%s", e->location, name + pl));
        *ret = l;
        return 0;
}

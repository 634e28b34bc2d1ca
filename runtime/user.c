/* Resolves --user against the container's own /etc/passwd and /etc/group.
 * We parse the files ourselves: NSS would load libraries from the image. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/parse.h"
#include "lib/xalloc.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <string.h>

#define USER_FIELD_MAX 4096

struct entry {
        char *f[7];
        size_t n;
        char buf[USER_FIELD_MAX];
};

/* Splits the next non-empty, non-comment line into ':' fields; returns the
 * position after it or NULL at the end. */
static const char *next_entry(const char *p, struct entry *e)
{
        while (p && *p) {
                const char *end = strchr(p, '\n');
                size_t len = end ? (size_t) (end - p) : strlen(p);
                const char *next = end ? end + 1 : p + len;
                if (len == 0 || p[0] == '#' || len >= sizeof(e->buf)) {
                        p = next;
                        continue;
                }
                memcpy(e->buf, p, len);
                e->buf[len] = '\0';
                e->n = 0;
                char *s = e->buf;
                while (e->n < 7) {
                        e->f[e->n++] = s;
                        s = strchr(s, ':');
                        if (s == NULL)
                                break;
                        *s++ = '\0';
                }
                return next;
        }
        return NULL;
}

static bool parse_id(const char *s, uint32_t *ret)
{
        unsigned int v;
        if (hutch_parse_uint(s, UINT32_MAX - 1, &v) < 0)
                return false;
        *ret = v;
        return true;
}

static void add_group(struct runtime_user *u, gid_t g)
{
        for (size_t i = 0; i < u->n_groups; i++)
                if (u->groups[i] == g)
                        return;
        u->groups = xreallocarray(u->groups, u->n_groups + 1, sizeof(gid_t));
        u->groups[u->n_groups++] = g;
}

int runtime_user_resolve(const char *spec, const char *passwd, const char *group, struct runtime_user *ret,
                         struct hutch_error **err)
{
        struct runtime_user u = { 0 };
        _cleanup_free_ char *user_part = NULL;
        const char *group_part = NULL;
        _cleanup_free_ struct entry *e = xmalloc(sizeof(*e));
        char *username = NULL;
        bool found = false;
        uint32_t id;

        if (spec == NULL || *spec == '\0')
                spec = "0";
        const char *colon = strchr(spec, ':');
        user_part = colon ? xstrndup(spec, (size_t) (colon - spec)) : xstrdup(spec);
        if (colon) {
                group_part = colon + 1;
                if (*group_part == '\0' || strchr(group_part, ':'))
                        return hutch_error_set(err, EINVAL, "invalid user spec '%s': expected USER[:GROUP]", spec);
        }
        if (*user_part == '\0')
                return hutch_error_set(err, EINVAL, "invalid user spec '%s': empty user", spec);

        bool numeric = parse_id(user_part, &id);
        if (!numeric && (strchr(user_part, '/') || strlen(user_part) > 256))
                return hutch_error_set(err, EINVAL, "invalid user name '%s'", user_part);

        for (const char *p = passwd; (p = next_entry(p, e)) != NULL;) {
                uint32_t puid, pgid;
                if (e->n < 7 || !parse_id(e->f[2], &puid) || !parse_id(e->f[3], &pgid))
                        continue;
                if ((numeric && puid == id) || (!numeric && STREQ(e->f[0], user_part))) {
                        u.uid = puid;
                        u.gid = pgid;
                        u.home = xstrdup(e->f[5][0] ? e->f[5] : "/");
                        username = xstrdup(e->f[0]);
                        found = true;
                        break;
                }
        }
        if (!found) {
                if (!numeric) {
                        runtime_user_clear(&u);
                        return hutch_error_set(err, 0,
                                               "unable to find user '%s': no matching entries in the container's "
                                               "/etc/passwd",
                                               user_part);
                }
                u.uid = id;
                u.gid = 0;
                u.home = xstrdup("/");
        }

        if (group_part) {
                uint32_t gid;
                bool gnum = parse_id(group_part, &gid), gfound = gnum;
                if (!gnum) {
                        for (const char *p = group; (p = next_entry(p, e)) != NULL;) {
                                uint32_t g;
                                if (e->n >= 3 && STREQ(e->f[0], group_part) && parse_id(e->f[2], &g)) {
                                        gid = g;
                                        gfound = true;
                                        break;
                                }
                        }
                }
                if (!gfound) {
                        free(username);
                        runtime_user_clear(&u);
                        return hutch_error_set(err, 0,
                                               "unable to find group '%s': no matching entries in the container's "
                                               "/etc/group",
                                               group_part);
                }
                u.gid = gid;
        }

        /* The primary group is always among the groups (CVE-2022-2989);
         * with an explicit group Docker gives no others. */
        add_group(&u, u.gid);
        if (username && !group_part) {
                for (const char *p = group; (p = next_entry(p, e)) != NULL;) {
                        uint32_t g;
                        if (e->n < 4 || !parse_id(e->f[2], &g))
                                continue;
                        for (char *m = e->f[3], *save = NULL, *tok; (tok = strtok_r(m, ",", &save)); m = NULL)
                                if (STREQ(tok, username))
                                        add_group(&u, g);
                }
        }
        free(username);
        *ret = u;
        return 0;
}

void runtime_user_clear(struct runtime_user *u)
{
        free(u->groups);
        free(u->home);
        memset(u, 0, sizeof(*u));
}

/* The pure parts of --userns=keep-id (see keepid.h): unit tested. */
#include "config.h"

#include "cmd/keepid.h"
#include "lib/cleanup.h"
#include "lib/parse.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int cmd_userns_mode_parse(const char *s, struct cmd_keepid *ret, struct hutch_error **err)
{
        struct cmd_keepid k = { 0 };

        if (s == NULL || *s == '\0' || STREQ(s, "host")) {
                *ret = k;
                return 0;
        }
        if (strncmp(s, "keep-id", 7) != 0 || (s[7] != '\0' && s[7] != ':'))
                return hutch_error_set(err, EINVAL, "unknown --userns mode '%s' (host or keep-id[:uid=N,gid=N])", s);
        k.on = true;
        if (s[7] == ':') {
                _cleanup_strv_ char **opts = hutch_strv_split(s + 8, ",");
                size_t len = strlen(s + 8);
                if (opts[0] == NULL || strstr(s + 8, ",,") || s[8] == ',' || s[8 + len - 1] == ',')
                        return hutch_error_set(err, EINVAL, "invalid --userns '%s': empty keep-id options", s);
                for (size_t i = 0; opts[i]; i++) {
                        bool is_uid = strncmp(opts[i], "uid=", 4) == 0, is_gid = strncmp(opts[i], "gid=", 4) == 0;
                        unsigned v;
                        if ((!is_uid && !is_gid) || hutch_parse_uint(opts[i] + 4, UINT32_MAX - 1, &v) < 0)
                                return hutch_error_set(err, EINVAL,
                                                       "invalid --userns '%s': '%s' (keep-id takes uid=N and gid=N)", s,
                                                       opts[i]);
                        if (is_uid) {
                                k.uid = v;
                                k.uid_set = true;
                        } else {
                                k.gid = v;
                                k.gid_set = true;
                        }
                }
        }
        *ret = k;
        return 0;
}

/* Appends container IDs [ctr, ctr+count) -> the subordinate IDs from
 * position off of the ranges laid end to end. */
static void map_subids(struct runtime_idmap *m, uint32_t ctr, const struct runtime_subid_range *r, size_t n,
                       uint64_t off, uint64_t count)
{
        for (size_t i = 0; i < n && count > 0 && m->n < RUNTIME_IDMAP_MAX; i++) {
                if (off >= r[i].count) {
                        off -= r[i].count;
                        continue;
                }
                uint64_t take = r[i].count - off;
                if (take > count)
                        take = count;
                m->e[m->n++] = (struct runtime_idmap_entry){ ctr, (uint32_t) (r[i].start + off), (uint32_t) take };
                ctr += (uint32_t) take;
                count -= take;
                off = 0;
        }
}

uint64_t cmd_subid_total(const struct runtime_subid_range *r, size_t n)
{
        uint64_t t = 0;
        for (size_t i = 0; i < n; i++)
                t += r[i].count;
        /* container IDs end at 2^32-2 */
        return t > UINT32_MAX - 2 ? UINT32_MAX - 2 : t;
}

int cmd_keepid_build_map(const char *what, unsigned long host, uint32_t inside, const struct runtime_subid_range *r,
                         size_t n, struct runtime_idmap *ret, struct hutch_error **err)
{
        uint64_t total = cmd_subid_total(r, n);

        if (inside > total)
                return hutch_error_set(err, EINVAL,
                                       "--userns=keep-id: %s %u is beyond the %llu subordinate %ss: the IDs below it "
                                       "must all be mapped (choose %s=N with N <= %llu)",
                                       what, inside, (unsigned long long) total, what, what,
                                       (unsigned long long) total);
        memset(ret, 0, sizeof(*ret));
        map_subids(ret, 0, r, n, 0, inside);
        ret->e[ret->n++] = (struct runtime_idmap_entry){ inside, (uint32_t) host, 1 };
        map_subids(ret, inside + 1, r, n, inside, total - inside);
        return 0;
}

char *cmd_keepid_fuse_mapping(uint32_t u, uint32_t total)
{
        /* fuse-overlayfs reads each triple as "ID on disk (as its
         * namespace sees it):ID it shows:count": the user (U here) shows
         * as 0, 0..U-1 as 1..U, U+1.. stay */
        char *s = xasprintf("%u:0:1", u);
        if (u > 0) {
                char *t = xasprintf("%s:0:1:%u", s, u);
                free(s);
                s = t;
        }
        if (total > u) {
                char *t = xasprintf("%s:%u:%u:%u", s, u + 1, u + 1, total - u);
                free(s);
                s = t;
        }
        return s;
}

/* True when an entry of the colon-separated file has field 2 == id. */
bool cmd_keepid_has_id(const char *text, uint32_t id)
{
        char want[16];
        int n = snprintf(want, sizeof(want), "%u", id);
        for (const char *line = text; line && *line;) {
                const char *end = strchr(line, '\n');
                const char *c1 = memchr(line, ':', end ? (size_t) (end - line) : strlen(line));
                const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2 && (!end || c2 < end)) {
                        const char *f = c2 + 1;
                        size_t len = strcspn(f, ":\n");
                        if (len == (size_t) n && strncmp(f, want, len) == 0)
                                return true;
                }
                line = end ? end + 1 : NULL;
        }
        return false;
}

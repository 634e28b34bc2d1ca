#include "config.h"

#include "cmd/paths.h"
#include "cmd/userns.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *find_helper(const char *name, const char *env)
{
        const char *o = getenv(env);
        if (o)
                return hutch_is_executable(o) ? xstrdup(o) : NULL;
        char *p = hutch_find_in_path(name, getenv("PATH"));
        if (p == NULL)
                p = hutch_find_in_path(name, "/usr/bin:/bin:/usr/sbin:/sbin");
        return p;
}

int cmd_userns_load(struct cmd_userns *ret, struct hutch_error **err)
{
        struct cmd_userns u = { 0 };
        int r;

        u.uid = getuid();
        u.gid = getgid();
        u.user = cmd_user_name();
        r = runtime_subid_lookup(RUNTIME_SUBUID, u.user, u.uid, &u.uid_ranges, &u.n_uid_ranges, &u.uid_source, err);
        if (r == 0)
                r = runtime_subid_lookup(RUNTIME_SUBGID, u.user, u.gid, &u.gid_ranges, &u.n_gid_ranges, &u.gid_source,
                                         err);
        if (r < 0) {
                cmd_userns_clear(&u);
                return r;
        }
        u.newuidmap = find_helper("newuidmap", "HUTCH_NEWUIDMAP");
        u.newgidmap = find_helper("newgidmap", "HUTCH_NEWGIDMAP");

        if (u.uid == 0) {
                /* Real root needs no helpers, but maps the same way. */
                u.full = u.n_uid_ranges > 0 && u.n_gid_ranges > 0 && u.newuidmap && u.newgidmap;
        } else if (u.n_uid_ranges == 0 || u.n_gid_ranges == 0) {
                u.fallback_reason = xasprintf(
                        "no subordinate %s for user '%s' (%s): only root is mapped in the container; to fix, run "
                        "'sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s'",
                        u.n_uid_ranges == 0 ? "UIDs" : "GIDs", u.user ? u.user : "?",
                        u.n_uid_ranges == 0 ? u.uid_source : u.gid_source, u.user ? u.user : "$USER");
        } else if (u.newuidmap == NULL || u.newgidmap == NULL) {
                u.fallback_reason = xstrdup("newuidmap/newgidmap not found: only root is mapped in the container; "
                                            "to fix, install them ('sudo apt-get install uidmap')");
        } else {
                u.full = true;
        }
        if (u.uid == 0 && !u.full) {
                /* Real root may write any map itself: an identity map of
                 * the first 65536 IDs keeps image ownership meaningful. */
                struct runtime_subid_range id_range = { 1, 65535 };
                runtime_idmap_build(0, &id_range, 1, &u.uidmap);
                runtime_idmap_build(0, &id_range, 1, &u.gidmap);
        } else if (u.full) {
                runtime_idmap_build(u.uid, u.uid_ranges, u.n_uid_ranges, &u.uidmap);
                runtime_idmap_build(u.gid, u.gid_ranges, u.n_gid_ranges, &u.gidmap);
        } else {
                runtime_idmap_build(u.uid, NULL, 0, &u.uidmap);
                runtime_idmap_build(u.gid, NULL, 0, &u.gidmap);
        }
        *ret = u;
        return 0;
}

void cmd_userns_clear(struct cmd_userns *u)
{
        free(u->user);
        free(u->uid_ranges);
        free(u->gid_ranges);
        free(u->newuidmap);
        free(u->newgidmap);
        free(u->fallback_reason);
        memset(u, 0, sizeof(*u));
}

void cmd_userns_warn(const struct cmd_userns *u)
{
        static bool warned;
        if (u->fallback_reason && !warned) {
                warned = true;
                log_warn("%s", u->fallback_reason);
        }
}

void cmd_userns_apply(const struct cmd_userns *u, struct runtime_config *cfg)
{
        cfg->uidmap = u->uidmap;
        cfg->gidmap = u->gidmap;
        cfg->use_map_helpers = u->full;
        cfg->newuidmap = u->newuidmap;
        cfg->newgidmap = u->newgidmap;
}

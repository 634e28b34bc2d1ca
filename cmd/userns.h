/* The user namespace every container (and storage work) runs in. */
#ifndef HUTCH_CMD_USERNS_H
#define HUTCH_CMD_USERNS_H

#include "lib/error.h"
#include "runtime/runtime.h"

struct cmd_userns {
        char *user;
        unsigned long uid, gid;
        struct runtime_subid_range *uid_ranges, *gid_ranges;
        size_t n_uid_ranges, n_gid_ranges;
        const char *uid_source, *gid_source;
        char *newuidmap, *newgidmap; /* NULL when not installed */
        struct runtime_idmap uidmap, gidmap;
        bool full;             /* subordinate IDs mapped through the helpers */
        char *fallback_reason; /* why we fell back to a single-ID map */
};

/* Works out the ID maps for this user.  A missing range or helper is not an
 * error: the maps fall back to the user's own IDs and fallback_reason says
 * why (and how to fix it). */
int cmd_userns_load(struct cmd_userns *ret, struct hutch_error **err);
void cmd_userns_clear(struct cmd_userns *u);
/* Prints the fallback warning once per process. */
void cmd_userns_warn(const struct cmd_userns *u);
/* Copies the maps into a runtime config. */
void cmd_userns_apply(const struct cmd_userns *u, struct runtime_config *cfg);

#endif

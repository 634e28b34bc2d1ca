/* Where hutch keeps things for this user. */
#ifndef HUTCH_CMD_PATHS_H
#define HUTCH_CMD_PATHS_H

#include "lib/error.h"

/* Storage root: --root, else $XDG_DATA_HOME/hutch, else ~/.local/share/hutch. */
char *cmd_storage_root(void);
/* Run-time root: --runroot, else $XDG_RUNTIME_DIR/hutch when that is ours,
 * else /tmp/hutch-run-UID. */
char *cmd_run_root(void);
/* Cache: $XDG_CACHE_HOME/hutch, else ~/.cache/hutch (compiled seccomp
 * filters; safe to delete at any time). */
char *cmd_cache_dir(void);
/* Creates dir (and parents) and checks it is a directory owned by us with
 * mode 0700 (fixing the mode when we own it). */
int cmd_ensure_private_dir(const char *dir, struct hutch_error **err);
/* Makes dir, a container's run-time directory, and returns the lock its
 * monitor holds while the container runs.  A directory whose lock nobody
 * holds was left by a hutch killed before it could remove it: replaced.
 * EBUSY when another hutch holds it (the container is starting or runs). */
int cmd_state_dir_make(const char *dir, int *ret_lock, struct hutch_error **err);
/* Reads ~/.config/hutch/hutch.conf (or $HUTCH_CONFIG): [storage] root,
 * runroot and driver, used where no option gave them. */
int cmd_load_config(struct hutch_error **err);
/* The user's login name (for subordinate IDs); NULL when unknown. */
char *cmd_user_name(void);

#endif

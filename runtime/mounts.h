/* Mounts inside the container's mount namespace.  Everything here runs in
 * the container's child between clone and exec, as root of its user
 * namespace; targets are always resolved inside the new root. */
#ifndef HUTCH_RUNTIME_MOUNTS_H
#define HUTCH_RUNTIME_MOUNTS_H

#include "runtime/runtime.h"

/* Asks the parent for a fuse-overlayfs mount of the root and attaches it
 * at merged; returns -errno.  The fuse-overlayfs daemon must live outside
 * our mount namespace: pivot_root would move its root (and /proc) under
 * it.  So the parent runs it in a mount namespace of its own and hands us
 * a clone of the mount (open_tree), which we move into place. */
typedef int (*runtime_fuse_request_fn)(void *ctx, const char *merged);

/* Mounts the container's root at <state_dir>/mnt/root, on a tmpfs private
 * to the container's mount namespace (holding the throw-away upper layer),
 * and returns its path (malloc'd).  The rest of state_dir stays visible:
 * cmd/ puts generated files (hosts, resolv.conf) there. */
int runtime_mounts_root(const struct runtime_config *cfg, runtime_fuse_request_fn fuse, void *fuse_ctx, char **ret_root,
                        struct hutch_error **err);
/* /proc, /dev, /sys, the configured mounts, masked and read-only paths. */
int runtime_mounts_container(const struct runtime_config *cfg, const char *root, struct hutch_error **err);
/* pivot_root into root and detach the old one; remount / read-only when
 * asked. */
int runtime_mounts_pivot(const struct runtime_config *cfg, const char *root, struct hutch_error **err);

/* Mounts a kernel overlay of lowerdirs (topmost first) on target: a view of
 * a stopped container's files (hutch export, cp).  Read-only when upper is
 * NULL (then at least two lowerdirs), else writable into upper with work as
 * its workdir.  Call it in a mount namespace of one's own, as root of the
 * user namespace. */
int runtime_mount_overlay_at(char *const *lowerdirs, const char *upper, const char *work, const char *target,
                             struct hutch_error **err);

/* Escapes ',' ':' and '\' for an overlay option value. */
char *runtime_overlay_escape(const char *path);

#endif

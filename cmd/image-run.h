/* What `hutch run IMAGE` needs from the store.
 *
 *   struct cmd_image_run img = { 0 };
 *   if (cmd_image_run_resolve("app:latest", &img, err) < 0) ...
 *   cfg.rootfs.lowerdirs = img.layers (topmost first), the container's
 *   command = img.entrypoint + (user args or img.cmd), img.env, ...
 *   ... run the container ...
 *   cmd_image_run_clear(&img);   (releases the store lock)
 *
 * While img is held, its layers cannot be removed: resolve() keeps a
 * shared lock on the store (an fd, close-on-exec) that `rmi` and `image
 * prune` need exclusively before they delete layers.  Keep img until the
 * container has exited and its overlay is unmounted.
 *
 * The layer directories hold files owned by container IDs (subordinate IDs
 * on the host): mount them as overlay lower layers inside the container's
 * user namespace with the same ID map as the storage user namespace.
 * Whiteouts are 0:0 character devices and opaque directories carry
 * "user.overlay.opaque" (mount with "userxattr"); where mknod was refused
 * they are ".wh." files (fuse-overlayfs reads those). */
#ifndef HUTCH_CMD_IMAGE_RUN_H
#define HUTCH_CMD_IMAGE_RUN_H

#include "lib/error.h"

#include <stdbool.h>

struct cmd_image_run {
        char *id;      /* 64 hex digits */
        char *name;    /* the stored name the reference matched, or NULL (found by ID) */
        char **layers; /* absolute paths of the layer trees, TOPMOST FIRST (as overlay lowerdir wants) */
        /* From the image config; NULL when the image does not set them. */
        char **entrypoint; /* NULL, or a (possibly empty) list */
        char **cmd;
        char **env;           /* "KEY=VALUE" */
        char *working_dir;    /* absolute, or NULL */
        char *user;           /* "uid", "name", "uid:gid", ... or NULL */
        char *stop_signal;    /* "SIGTERM", "15", ... or NULL */
        char **exposed_ports; /* "80/tcp" */
        char **volumes;       /* absolute paths */
        int lock_fd;          /* shared store lock, closed by cmd_image_run_clear() */
};

/* Resolves ref (name, name:tag, localhost/x:y, ID or unique ID prefix,
 * name@sha256:...) in the store and fills ret.  An unknown image is an
 * error with exit status 125, the message "image 'REF' not known ..." and
 * -ENOENT as the result (run then pulls it).
 * A layer missing from the store is an error ("run 'hutch rmi' and load the
 * image again"). */
int cmd_image_run_resolve(const char *ref, struct cmd_image_run *ret, struct hutch_error **err);
void cmd_image_run_clear(struct cmd_image_run *img);

/* The argv the container runs: Entrypoint followed by args when args is
 * non-empty, else by Cmd (Docker's rules).  NULL when both are empty. */
char **cmd_image_run_argv(const struct cmd_image_run *img, char *const *args);

#endif

/* --userns=keep-id and the ownership work around it (:U volumes).
 *
 * keep-id maps the user's own UID and GID to the same numbers inside (or
 * to uid=/gid=), as Podman does: container 0..U-1 -> the first U
 * subordinate IDs, U -> the user, U+1.. -> the rest of the subordinate IDs.
 *
 * Image layers stay stored for the default map (container 0 = the user),
 * so under keep-id the root filesystem is fuse-overlayfs with uidmapping=
 * and gidmapping= that turn the stored owners back into the image's: the
 * kernel cannot do it rootless (an idmapped mount needs CAP_SYS_ADMIN over
 * the filesystem's superblock, overlayfs refuses MOUNT_ATTR_IDMAP), and a
 * chowned copy of every layer per map costs a full copy on first run. */
#ifndef HUTCH_CMD_KEEPID_H
#define HUTCH_CMD_KEEPID_H

#include "cmd/parse-opts.h"
#include "cmd/userns.h"
#include "lib/error.h"
#include "runtime/runtime.h"

#include <stdbool.h>
#include <stdint.h>

struct cmd_keepid {
        bool on;
        bool uid_set, gid_set;
        uint32_t uid, gid; /* the user's IDs inside (the host's unless set) */
};

/* Parses --userns: "host" or "" (the default map) or
 * "keep-id[:uid=N][,gid=N]". */
int cmd_userns_mode_parse(const char *s, struct cmd_keepid *ret, struct hutch_error **err);

/* Number of subordinate IDs in the ranges (at most 2^32-3). */
uint64_t cmd_subid_total(const struct runtime_subid_range *r, size_t n);
/* The keep-id map for one kind (what: "uid" or "gid"): inside 0..N-1 ->
 * the first N subordinate IDs, N (inside) -> host, the rest after it. */
int cmd_keepid_build_map(const char *what, unsigned long host, uint32_t inside, const struct runtime_subid_range *r,
                         size_t n, struct runtime_idmap *ret, struct hutch_error **err);
/* True when a passwd or group text has an entry with that ID (field 3). */
bool cmd_keepid_has_id(const char *text, uint32_t id);

/* Replaces the maps of cfg (and u) by the keep-id maps and sets the
 * fuse-overlayfs mappings of cfg->rootfs; needs subordinate IDs. */
int cmd_keepid_apply(struct cmd_userns *u, struct cmd_keepid *k, struct runtime_config *cfg, struct hutch_error **err);

/* The "ondisk:shown:size:..." fuse-overlayfs mapping that shows files stored
 * under the default map with their owners under the keep-id map: inside ID
 * 0 is on disk the user (U in the keep-id namespace), 1..U are 0..U-1 there,
 * and the rest are the same.  total is the number of subordinate IDs. */
char *cmd_keepid_fuse_mapping(uint32_t u, uint32_t total);

/* When the image (upper, then layers topmost first) has no /etc/passwd
 * entry for k->uid, or no /etc/group entry for k->gid, writes one (the
 * image's file plus a line) into state_dir and appends a bind mount of it
 * to *vols. */
int cmd_keepid_passwd(const struct cmd_keepid *k, const char *state_dir, const char *upper, char *const *layers,
                      struct cmd_volume **vols, size_t *n_vols, struct hutch_error **err);

/* Reads path (relative, e.g. "etc/passwd") as the container would see it
 * from its upper dir (may be NULL) and layers (topmost first), following
 * no symlink out of a layer.  *ret is NULL when there is none. */
int cmd_image_file_read(const char *upper, char *const *layers, const char *path, char **ret, struct hutch_error **err);

/* :U: chowns source (recursively, never following symlinks) to the
 * container IDs uid:gid of cfg's maps, in the storage user namespace. */
int cmd_volume_chown(const char *source, uint32_t uid, uint32_t gid, const struct runtime_config *cfg,
                     struct hutch_error **err);

/* Makes the root filesystem fuse-overlayfs (for its mappings), or says
 * why it cannot be (driver: --storage-driver, NULL when not given). */
int cmd_keepid_rootfs(struct runtime_rootfs *rootfs, const char *driver, struct hutch_error **err);

/* :U on any of vols (sources are host paths by now): resolves cfg->user
 * against the container's files and chowns those sources to it. */
int cmd_volumes_chown(const struct cmd_volume *vols, size_t n, const struct runtime_config *cfg,
                      struct hutch_error **err);

#endif

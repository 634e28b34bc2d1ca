/* What a container changed in its image (hutch diff, hutch commit).
 *
 * The container's own layer is read as it lies on disk:
 *
 *  - overlay and fuse-overlayfs: the upper directory holds what changed.
 *    Whiteouts are 0:0 character devices or ".wh.NAME" files (what
 *    fuse-overlayfs leaves where mknod is refused); a directory is opaque
 *    when its "user.overlay.opaque", "trusted.overlay.opaque" or
 *    "user.fuseoverlayfs.opaque" xattr is "y" or it holds ".wh..wh..opq";
 *  - copy: the upper directory holds the whole tree, compared entry by
 *    entry (type, mode, owner, content, link target) with the image.
 *
 * The image's layers are read the way the runtime stacks them (topmost
 * first; the unpacker's whiteouts and opaque directories applied).  Both
 * forms give the same changes: A (added), C (changed: its metadata or
 * content, or, for a directory, something below it) and D (deleted: only
 * the topmost deleted path, not what was below it).
 *
 * Nothing is ever followed through a symlink.  Run it where the layers'
 * owners are mapped (the storage user namespace) so that owners come out
 * as the container sees them. */
#ifndef HUTCH_STORAGE_DIFF_H
#define HUTCH_STORAGE_DIFF_H

#include "lib/error.h"
#include "storage/export.h"

#include <stdbool.h>
#include <stddef.h>

enum storage_change_kind {
        STORAGE_CHANGE_ADD = 'A',
        STORAGE_CHANGE_MODIFY = 'C',
        STORAGE_CHANGE_DELETE = 'D',
};

struct storage_change {
        char *path;   /* "/etc/passwd" */
        char kind;    /* enum storage_change_kind */
        bool opaque;  /* a directory whose lower contents are all hidden (C) */
        bool covered; /* a deletion an opaque directory above already makes (D) */
};

struct storage_changes {
        struct storage_change *v;
        size_t n;
};

struct storage_diff_source {
        int upper_fd;         /* the container's own layer */
        const int *lower_fds; /* the image's layer trees, topmost first */
        size_t n_lower;
        bool full_copy; /* upper_fd holds the whole tree (the copy driver) */
};

/* Computes the changes, sorted by path as Docker sorts them.  When layer is
 * not NULL they are also written to it as an OCI image layer: changed and
 * added entries as they are in the container, deletions as ".wh.NAME",
 * opaque directories with "DIR/.wh..wh..opq". */
int storage_diff(const struct storage_diff_source *src, struct storage_tar_writer *layer, struct storage_changes *ret,
                 struct hutch_error **err);
void storage_changes_clear(struct storage_changes *c);

/* The name a whiteout file in an upper directory hides (".wh.NAME" gives
 * NAME), or NULL when name is no such whiteout (".wh..wh..opq", the opaque
 * marker, is not one either). */
const char *storage_whiteout_target(const char *name);
/* The OCI layer entry that deletes path ("/a/b" gives "a/.wh.b"). */
char *storage_whiteout_entry(const char *path);
/* The OCI layer entry that makes directory path opaque ("/a" gives
 * "a/.wh..wh..opq"). */
char *storage_opaque_entry(const char *path);

#endif

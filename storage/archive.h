/* Image archives: docker-archive (manifest.json + configs + layer tars, as
 * `docker save` and `podman save` write them) and oci-archive (an OCI
 * image layout: oci-layout + index.json + blobs/sha256/...), each plain or
 * gzip-compressed, read in one streaming pass with libarchive; writing both
 * for `save`; and `import` of a plain root filesystem tarball.
 *
 * Loading never trusts the archive: every blob is hashed while it is
 * staged, manifests and configs are parsed strictly, blob digests and sizes
 * must match their descriptors and layer diff IDs the config.  Nothing
 * reaches blobs/, layers/ or the records before the whole image checked out;
 * on failure what was staged is removed (or, if we are killed, by the next
 * command).  Layers already in the store are reused, not unpacked again. */
#ifndef HUTCH_STORAGE_ARCHIVE_H
#define HUTCH_STORAGE_ARCHIVE_H

#include "lib/error.h"
#include "storage/images.h"
#include "storage/manifest.h"
#include "storage/store.h"
#include "storage/unpack.h"

enum storage_archive_format {
        STORAGE_ARCHIVE_DOCKER = 1,
        STORAGE_ARCHIVE_OCI,
};

/* Caps on the archive itself (members; JSON documents are capped by the
 * manifest limits). */
#define STORAGE_ARCHIVE_MAX_MEMBERS 4096

/* Loads every image in the archive read from fd.  uopts may be NULL (the
 * defaults).  *ret_loaded gets copies of the records stored (names as
 * stored). */
int storage_archive_load(struct storage_store *s, int fd, const struct storage_unpack_options *uopts,
                         struct storage_images *ret_loaded, struct hutch_error **err);

struct storage_save_item {
        const struct storage_image *image;
        const char *name; /* normalized name to record in the archive, or NULL */
};

/* Writes the images to out_fd as one archive. */
int storage_archive_save(struct storage_store *s, const struct storage_save_item *items, size_t n,
                         enum storage_archive_format format, int out_fd, struct hutch_error **err);

/* What a save reports about each blob it copies (archive-save.c). */
enum storage_save_state {
        STORAGE_SAVE_START,
        STORAGE_SAVE_BYTES,
        STORAGE_SAVE_DONE,
        STORAGE_SAVE_SKIPPED, /* the layout has it already */
};
struct storage_save_progress {
        void (*fn)(void *data, const char *digest, uint64_t total, uint64_t done, enum storage_save_state state);
        void *data;
};

/* storage_archive_save() telling prog (may be NULL) about each blob. */
int storage_archive_write(struct storage_store *s, const struct storage_save_item *items, size_t n,
                          enum storage_archive_format format, int out_fd, const struct storage_save_progress *prog,
                          struct hutch_error **err);

/* Adds one image to the OCI image layout directory path, under the tag
 * item->name (an org.opencontainers.image.ref.name annotation; NULL: none).
 * A missing (or empty) directory is made whole under a temporary name and
 * renamed into place; in an existing layout, blobs it has are kept, new
 * ones land under temporary names, and index.json (keeping the other
 * images, an image of the same tag giving way) is replaced last. */
int storage_layout_save(struct storage_store *s, const struct storage_save_item *item, const char *path,
                        const struct storage_save_progress *prog, struct hutch_error **err);

/* Loads one image from the OCI image layout directory path: the one tagged
 * tag, or the only one when tag is NULL.  Every blob is hashed while it is
 * copied into the store; names is what to record (may be NULL). */
int storage_layout_load(struct storage_store *s, const char *path, const char *tag, const char *name,
                        const struct storage_unpack_options *uopts, struct storage_images *ret_loaded,
                        struct hutch_error **err);

/* Imports a root filesystem tarball (plain, gzip or zstd) read from fd as a
 * one-layer image with the settings in cfg (its diff_ids are ignored);
 * name is a normalized name or NULL.  *ret gets the record. */
int storage_archive_import(struct storage_store *s, int fd, const struct storage_image_config *cfg, const char *name,
                           const struct storage_unpack_options *uopts, struct storage_image *ret,
                           struct hutch_error **err);

/* dir: as containers/image writes it: manifest.json, version, and the
 * config and layer blobs named by their hex digests.  Save: like
 * storage_layout_save(), but a directory that has a version file is
 * replaced whole (as skopeo does).  Load: one image, name recorded (or
 * none), every blob hashed as it is copied in. */
int storage_dir_save(struct storage_store *s, const struct storage_image *img, const char *path,
                     const struct storage_save_progress *prog, struct hutch_error **err);
int storage_dir_load(struct storage_store *s, const char *path, const char *name,
                     const struct storage_unpack_options *uopts, struct storage_images *ret_loaded,
                     struct hutch_error **err);

#endif

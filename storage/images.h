/* Image records: images/images.json, one document replaced atomically.
 *
 * An image is identified by its config digest (the ID, 64 hex shown as 12)
 * and points at its manifest blob; it has any number of names
 * ("localhost/app:latest"), each name on one image at most.  Its layers are
 * listed bottom first with their chain IDs (layers/<chain-hex>/), diff IDs
 * and blobs, so that `save` and the garbage collector need no other file.
 *
 * Readers read the file without a lock (it is replaced by rename); writers
 * take storage_store_lock_records(), read, change and write. */
#ifndef HUTCH_STORAGE_IMAGES_H
#define HUTCH_STORAGE_IMAGES_H

#include "lib/error.h"
#include "storage/digest.h"
#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORAGE_IMAGES_MAX_BYTES (64u << 20)

struct storage_image_layer {
        char chain_id[STORAGE_DIGEST_BUFSIZE];
        char diff_id[STORAGE_DIGEST_BUFSIZE];
        char blob[STORAGE_DIGEST_BUFSIZE];
        char *media_type;
        int64_t blob_size;
        int64_t size; /* uncompressed */
};

struct storage_image {
        char id[STORAGE_DIGEST_HEX_LEN + 1];
        char config[STORAGE_DIGEST_BUFSIZE];   /* "sha256:" + id */
        char manifest[STORAGE_DIGEST_BUFSIZE]; /* manifest digest */
        int64_t config_size, manifest_size;
        char **names;
        char *created;  /* from the config, or NULL */
        int64_t loaded; /* seconds since the epoch the record was made */
        struct storage_image_layer *layers;
        size_t n_layers;
};

struct storage_images {
        struct storage_image *v;
        size_t n;
};

/* Reads the records (none yet is an empty list). */
int storage_images_read(struct storage_store *s, struct storage_images *ret, struct hutch_error **err);
/* Parses the records document; a damaged one returns -EUCLEAN. */
int storage_images_parse(const char *buf, size_t len, struct storage_images *ret, struct hutch_error **err);
/* What can be kept of a damaged records document: every whole, valid
 * record (before the cut, when it was cut short).  The names the lost
 * records had, as far as the text still shows them, go to
 * *ret_lost_names.  Returns 0 when the document was not damaged, else how
 * many records were lost (at least 1; a cut loses an unknown number). */
size_t storage_images_salvage(const char *buf, size_t len, struct storage_images *ret, char ***ret_lost_names);
/* Replaces the records (hold storage_store_lock_records()). */
int storage_images_write(struct storage_store *s, const struct storage_images *imgs, struct hutch_error **err);
void storage_images_clear(struct storage_images *imgs);
void storage_image_clear(struct storage_image *img);
void storage_image_copy(const struct storage_image *src, struct storage_image *dst);
int64_t storage_image_size(const struct storage_image *img);

/* Finds an image by ID (full, "sha256:"-prefixed, or a unique prefix of at
 * least 3 hex digits), by name (a short name matches any registry's
 * repository ending in it, when that is unique) or by name@digest.
 * Returns the index, or -ENOENT / -EINVAL with *err set. */
int storage_images_find(const struct storage_images *imgs, const char *ref, struct hutch_error **err);
/* The name of img that ref (which found it) stands for: the stored name it
 * matched, or img's first name for a name@digest; NULL when ref is an ID
 * or img has no name. */
const char *storage_images_matched_name(const struct storage_image *img, const char *ref);
/* The index of the image with this ID, or -1. */
int storage_images_find_id(const struct storage_images *imgs, const char *id);

/* Moves name (normalized) to image idx, taking it off any other image. */
void storage_images_set_name(struct storage_images *imgs, size_t idx, const char *name);
/* Takes name off image idx; false when it did not have it. */
bool storage_images_drop_name(struct storage_images *imgs, size_t idx, const char *name);
/* Adds a record, or merges its names into the record with the same ID;
 * returns its index. */
size_t storage_images_add(struct storage_images *imgs, const struct storage_image *img);
/* Adds imgs[0..n) to the store's image records under the records lock
 * (read, storage_images_add each, write): how every command records the
 * images it made, last. */
int storage_images_record(struct storage_store *s, const struct storage_image *imgs, size_t n,
                          struct hutch_error **err);
void storage_images_delete(struct storage_images *imgs, size_t idx);

/* Whether a record uses the blob of that hex digest (as its config,
 * manifest or a layer). */
bool storage_images_use_blob(const struct storage_images *imgs, const char *hex);
/* Whether a record uses the layer tree of that chain ID (hex). */
bool storage_images_use_layer(const struct storage_images *imgs, const char *hex);

/* Removes layers and blobs that no record references, and leftovers.
 * Takes the exclusive lock without waiting: when another command uses the
 * store it does nothing and returns 0 (a later command collects).  Run it
 * where the layers' owners are mapped.  Returns the number of layers
 * removed. */
int storage_images_gc(struct storage_store *s, struct hutch_error **err);

#endif

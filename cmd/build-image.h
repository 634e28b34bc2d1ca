/* `hutch build`'s images and cache in the store (cmd/build-image.c).
 *
 * The build cache: ROOT/build-cache/<key hex> holds the ID of the image a
 * step made, where the key hashes the parent image, the instruction after
 * substitution, the build arguments in effect and, for COPY/ADD, the
 * sources' names, metadata and content.  An entry whose image is gone is
 * ignored and removed; `rmi` and `image prune` remove the entries of the
 * images they removed (cmd_build_cache_prune).  ROOT/build-cache/p-<id>
 * names the image a step made id from. */
#ifndef HUTCH_CMD_BUILD_IMAGE_H
#define HUTCH_CMD_BUILD_IMAGE_H

#include "lib/error.h"
#include "storage/digest.h"

#include <stdbool.h>

struct storage_store;
struct storage_image_config;
struct storage_images;

/* The config of a stored image. */
int build_image_config_load(struct storage_store *s, const char *id, struct storage_image_config **ret,
                            struct hutch_error **err);
/* A new image with id's layers and the config cfg (its diff_ids must be
 * id's), a history entry created_by (empty_layer) appended; created_by
 * NULL appends none (a change no instruction made: OnBuild cleared). */
int build_image_derive(struct storage_store *s, const char *id, struct storage_image_config *cfg,
                       const char *created_by, char ret_id[STORAGE_DIGEST_HEX_LEN + 1], struct hutch_error **err);
/* The base of FROM scratch: an image of one empty layer. */
int build_image_scratch(char ret_id[STORAGE_DIGEST_HEX_LEN + 1], struct hutch_error **err);
/* Gives names (normalized REPOSITORY:TAG) to image id. */
int build_image_tag(struct storage_store *s, const char *id, char *const *names, struct hutch_error **err);
bool build_image_exists(struct storage_store *s, const char *id);

int build_cache_get(struct storage_store *s, const char *key_hex, char ret_id[STORAGE_DIGEST_HEX_LEN + 1]);
/* Records that key made id from parent (for `images`: an unnamed image
 * that is the parent of a stored one is an intermediate image). */
void build_cache_put(struct storage_store *s, const char *key_hex, const char *id, const char *parent);
/* The IDs of images that are a build step's parent of a stored image. */
char **build_cache_parents(struct storage_store *s, const struct storage_images *imgs);
/* Drops the entries whose image is gone (called by rmi and image prune). */
void cmd_build_cache_prune(struct storage_store *s);

#endif

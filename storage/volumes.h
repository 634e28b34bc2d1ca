/* Named volumes: ROOT/volumes/<name>/_data (the data, owned through the
 * container's ID map) and volume.json beside it. */
#ifndef HUTCH_STORAGE_VOLUMES_H
#define HUTCH_STORAGE_VOLUMES_H

#include "lib/error.h"

#include <stdbool.h>
#include <stdint.h>

/* Creates the volume unless it exists; *ret_created says which. */
int storage_volume_create(const char *root, const char *name, bool *ret_created, struct hutch_error **err);
bool storage_volume_exists(const char *root, const char *name);
char *storage_volume_path(const char *root, const char *name);      /* volumes/<name> */
char *storage_volume_data_path(const char *root, const char *name); /* volumes/<name>/_data */
/* Names of every volume, sorted. */
int storage_volume_list(const char *root, char ***ret_names, struct hutch_error **err);
/* Unix seconds the volume was created (0 when unknown). */
int64_t storage_volume_created(const char *root, const char *name);

#endif

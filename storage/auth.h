/* Registry credentials in the files Podman and Docker use:
 *
 *   --authfile FILE, else $REGISTRY_AUTH_FILE, else
 *   $XDG_RUNTIME_DIR/containers/auth.json (written by login), then read
 *   also ~/.config/containers/auth.json and ~/.docker/config.json.
 *
 * Each is {"auths": {"KEY": {"auth": base64("user:password")}}} where KEY
 * is a registry ("quay.io"), a repository below one ("quay.io/org/app"; the
 * longest match wins) or Docker's legacy "https://index.docker.io/v1/".
 * Other members of the files are kept when login and logout rewrite them;
 * the files are written 0600 and replaced atomically. */
#ifndef HUTCH_STORAGE_AUTH_H
#define HUTCH_STORAGE_AUTH_H

#include "lib/error.h"

#include <stdbool.h>

#define REGISTRY_AUTH_MAX_BYTES (1u << 20)

/* The file login writes to (authfile when given). */
char *registry_auth_file(const char *authfile);

/* Finds credentials for host/repository (repository may be NULL).  Returns
 * 1 with *ret_user and *ret_password set, 0 when there are none, or < 0
 * with *err set (an unreadable or malformed file). */
int registry_auth_lookup(const char *authfile, const char *host, const char *repository, char **ret_user,
                         char **ret_password, struct hutch_error **err);

/* Records credentials for key (a registry or repository) in file. */
int registry_auth_store(const char *file, const char *key, const char *user, const char *password,
                        struct hutch_error **err);

/* Removes the credentials for key (NULL: all of them).  Returns 1 when
 * something was removed, 0 when there was nothing. */
int registry_auth_remove(const char *file, const char *key, struct hutch_error **err);

/* base64("user:password") -> user, password; -EINVAL when malformed. */
int registry_auth_decode(const char *b64, char **ret_user, char **ret_password);

#endif

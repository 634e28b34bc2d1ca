/* ADD's URL sources (cmd/build-url.c).
 *
 * Each URL is downloaded by the registry client's HTTP code
 * (registry_url_fetch: TLS with the system CAs and certs.d, proxies from
 * the environment) into a private directory below the store's tmp/, at
 * most BUILD_URL_MAX_BYTES, then written into the image by the COPY tar
 * stream (cmd/build-copy.c) as a regular file of mode 0600, never
 * extracted, whatever it holds: Docker's rules. */
#ifndef HUTCH_CMD_BUILD_URL_H
#define HUTCH_CMD_BUILD_URL_H

#include "lib/error.h"
#include "storage/digest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* HUTCH_BUILD_URL_MAX_BYTES (for tests) lowers it. */
#define BUILD_URL_MAX_BYTES (4ull << 30)

struct storage_store;

struct build_copy_url {
        char *url;
        char *file; /* its download below the set's dirfd */
        char *name; /* the URL's last path segment, or NULL when it has none */
        char digest[STORAGE_DIGEST_BUFSIZE];
};

struct build_url_set {
        int dirfd; /* -1 until something is downloaded */
        char *dir; /* its path */
        struct build_copy_url *v;
        size_t n;
};

/* Downloads url into the set (a directory in the store's tmp/ on the first
 * call); checksum ("sha256:HEX" or NULL) must match the content. */
int build_url_download(struct build_url_set *set, struct storage_store *s, const char *store_root, const char *url,
                       const char *checksum, struct hutch_error **err);
/* Removes the downloads. */
void build_url_set_clear(struct build_url_set *set);

#endif

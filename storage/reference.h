/* Image references, parsed as Docker and Podman do:
 *
 *   [DOMAIN/]PATH[:TAG][@sha256:HEX]
 *
 * DOMAIN is the first component when it holds a '.' or a ':' or is
 * "localhost" (host, host:port, [v6]:port); a name without one is a short
 * name and gets the domain "localhost" (local images, as Podman names
 * them).  PATH components are lowercase alphanumerics separated by '.',
 * '_', "__" or runs of '-'; TAG is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; the
 * digest is "sha256:" + 64 lowercase hex digits.  A missing tag is
 * "latest" unless a digest is given.  Anything else is refused: uppercase
 * in the path, empty components, a name longer than 255 bytes, a 64-hex
 * repository name (it would read as an image ID), control characters. */
#ifndef HUTCH_STORAGE_REFERENCE_H
#define HUTCH_STORAGE_REFERENCE_H

#include "lib/error.h"

#include <stdbool.h>

#define STORAGE_REFERENCE_MAX_NAME       255
#define STORAGE_REFERENCE_MAX_TAG        128
#define STORAGE_REFERENCE_DEFAULT_DOMAIN "localhost"

struct storage_reference {
        char *domain;    /* "localhost", "quay.io", "host:5000" */
        char *path;      /* "library/busybox" */
        char *tag;       /* NULL only when a digest was given without a tag */
        char *digest;    /* "sha256:<hex>" or NULL */
        bool short_name; /* the input named no domain */
};

/* Parses s into ret (fields malloc'd).  Returns 0 or -EINVAL with *err set. */
int storage_reference_parse(const char *s, struct storage_reference *ret, struct hutch_error **err);
void storage_reference_clear(struct storage_reference *r);

/* "domain/path" (no tag, no digest). */
char *storage_reference_repository(const struct storage_reference *r);
/* "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest". */
char *storage_reference_format(const struct storage_reference *r);

/* True when s is a valid tag. */
bool storage_reference_tag_valid(const char *s);

/* Splits a stored, normalized name "domain/path:tag" into the repository
 * and the tag (both malloc'd); a name without a tag gets "<none>". */
void storage_reference_split(const char *name, char **ret_repo, char **ret_tag);

#endif

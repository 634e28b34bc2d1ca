/* Where `pull` reads an image from and `push` writes it to, named as
 * Podman and skopeo name them:
 *
 *   docker://REF or REF          a registry
 *   oci:PATH[:TAG]               an OCI image layout directory
 *   oci-archive:PATH[:TAG]       a tar of one
 *   docker-archive:PATH[:NAME:TAG]  a `docker save` tarball
 *   dir:PATH                     containers/image's directory of blobs
 *
 * PATH ends at its first ':' (as in containers/image), but for dir:. */
#ifndef HUTCH_CMD_TRANSPORT_H
#define HUTCH_CMD_TRANSPORT_H

#include "lib/error.h"

enum cmd_transport {
        CMD_TRANSPORT_REGISTRY = 0,
        CMD_TRANSPORT_OCI,
        CMD_TRANSPORT_OCI_ARCHIVE,
        CMD_TRANSPORT_DOCKER_ARCHIVE,
        CMD_TRANSPORT_DIR,
};

struct cmd_image_location {
        enum cmd_transport transport;
        char *path; /* the layout or archive */
        char *ref;  /* registry: the reference; oci*: the tag; docker-archive: NAME:TAG; or NULL */
};

/* Parses s; 0, or < 0 with *err set (unknown or unsupported transport, no
 * PATH, a bad tag). */
int cmd_image_location_parse(const char *s, struct cmd_image_location *ret, struct hutch_error **err);
void cmd_image_location_clear(struct cmd_image_location *l);

#endif

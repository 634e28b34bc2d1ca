/* Image manifests, indexes and configs: OCI image-spec v1 and Docker
 * schema 2.  Every document is untrusted: sizes are capped, every field we
 * read is type-checked, digests are validated, unknown media types and
 * documents that could be read as both a manifest and an index are
 * refused (CVE-2021-41190), and duplicate keys in the objects we read are
 * an error (two parsers must never see two different documents). */
#ifndef HUTCH_STORAGE_MANIFEST_H
#define HUTCH_STORAGE_MANIFEST_H

#include "lib/error.h"
#include "storage/digest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORAGE_MANIFEST_MAX_BYTES  (4u << 20) /* manifests and indexes */
#define STORAGE_CONFIG_MAX_BYTES    (8u << 20) /* image configs */
#define STORAGE_MANIFEST_MAX_LAYERS 1024
#define STORAGE_INDEX_MAX_MANIFESTS 4096

#define STORAGE_MEDIA_OCI_MANIFEST      "application/vnd.oci.image.manifest.v1+json"
#define STORAGE_MEDIA_OCI_INDEX         "application/vnd.oci.image.index.v1+json"
#define STORAGE_MEDIA_OCI_CONFIG        "application/vnd.oci.image.config.v1+json"
#define STORAGE_MEDIA_OCI_LAYER         "application/vnd.oci.image.layer.v1.tar"
#define STORAGE_MEDIA_OCI_LAYER_GZIP    "application/vnd.oci.image.layer.v1.tar+gzip"
#define STORAGE_MEDIA_OCI_LAYER_ZSTD    "application/vnd.oci.image.layer.v1.tar+zstd"
#define STORAGE_MEDIA_DOCKER_MANIFEST   "application/vnd.docker.distribution.manifest.v2+json"
#define STORAGE_MEDIA_DOCKER_LIST       "application/vnd.docker.distribution.manifest.list.v2+json"
#define STORAGE_MEDIA_DOCKER_CONFIG     "application/vnd.docker.container.image.v1+json"
#define STORAGE_MEDIA_DOCKER_LAYER      "application/vnd.docker.image.rootfs.diff.tar"
#define STORAGE_MEDIA_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

#define STORAGE_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

struct storage_descriptor {
        char *media_type;
        char digest[STORAGE_DIGEST_BUFSIZE];
        int64_t size;
        char *ref_name;    /* annotation org.opencontainers.image.ref.name, or NULL */
        char *platform_os; /* index entries: platform, or NULL */
        char *platform_arch;
        char *platform_variant;
};

enum storage_manifest_kind {
        STORAGE_MANIFEST_OCI = 1,
        STORAGE_MANIFEST_DOCKER_V2S2,
};

struct storage_manifest {
        enum storage_manifest_kind kind;
        struct storage_descriptor config;
        struct storage_descriptor *layers;
        size_t n_layers;
};

struct storage_index {
        struct storage_descriptor *manifests;
        size_t n_manifests;
};

/* One entry of an image config's "history" (what made each layer). */
struct storage_history {
        char *created, *created_by, *author, *comment; /* each may be NULL */
        bool empty_layer;
};

#define STORAGE_CONFIG_MAX_HISTORY (4 * STORAGE_MANIFEST_MAX_LAYERS)

/* config.Healthcheck, Docker's shape: the durations are nanoseconds, 0 is
 * "unset" (the runtime's default), as Docker leaves them out. */
struct storage_healthcheck {
        char **test; /* ["CMD", args...], ["CMD-SHELL", line], ["NONE"]; NULL: not given */
        int64_t interval, timeout, start_period, start_interval;
        int64_t retries;
};

struct yajl_val_s;
struct yajl_gen_t;

/* The members hutch models are the fields below; every other member of the
 * document and of its "config" object (StopTimeout, comment,
 * os.version, vendor keys...) is kept as parsed and written back by
 * storage_config_generate, so that commit and build lose nothing. */
struct storage_image_config {
        char *architecture, *os, *variant;
        char *created; /* RFC 3339 text as found, or NULL */
        char *author;
        /* from "config"; NULL when unset */
        char **entrypoint, **cmd, **env;
        bool has_entrypoint, has_cmd; /* present (possibly as an empty list) */
        char *working_dir, *user, *stop_signal;
        char **exposed_ports; /* "80/tcp" */
        char **volumes;
        char **labels;                           /* "key=value" */
        struct storage_healthcheck *healthcheck; /* NULL when unset */
        char **shell;                            /* Shell; NULL when unset */
        char **on_build;                         /* OnBuild triggers ("RUN x"); NULL when unset */
        /* rootfs */
        char **diff_ids;
        size_t n_diff_ids;
        /* "history", oldest first (none: n_history 0) */
        struct storage_history *history;
        size_t n_history;
        /* the parsed document (NULL for a config made from nothing): its
         * members that are not modelled above are written back as they were */
        struct yajl_val_s *kept;
};

/* Parses an image manifest.  media_type is the type the referrer gave
 * (descriptor or HTTP Content-Type) or NULL; it must agree with the
 * document's own mediaType. */
int storage_manifest_parse(const char *buf, size_t len, const char *media_type, struct storage_manifest **ret,
                           struct hutch_error **err);
struct storage_manifest *storage_manifest_free(struct storage_manifest *m);

/* Parses an OCI image index or a Docker manifest list. */
int storage_index_parse(const char *buf, size_t len, const char *media_type, struct storage_index **ret,
                        struct hutch_error **err);
struct storage_index *storage_index_free(struct storage_index *idx);

/* Parses an image config (OCI or Docker; the same JSON). */
int storage_config_parse(const char *buf, size_t len, struct storage_image_config **ret, struct hutch_error **err);
struct storage_image_config *storage_image_config_free(struct storage_image_config *c);

/* Writes the members of the document's "config" object that the struct
 * does not model (each a key and its value, in the document's order), e.g.
 * for `image inspect`.  g is a yajl_gen inside an open map. */
void storage_config_gen_kept_config(const struct storage_image_config *c, struct yajl_gen_t *g);
/* Writes "Healthcheck": {...} in Docker's shape (g inside an open map). */
void storage_config_gen_healthcheck(struct yajl_gen_t *g, const struct storage_healthcheck *h);
/* Replaces c's health check with a copy of h (NULL: none). */
void storage_config_set_healthcheck(struct storage_image_config *c, const struct storage_healthcheck *h);

/* Now, as the "created" of configs and history entries: RFC 3339 in UTC
 * with nanoseconds, as Docker writes it. */
char *storage_now_rfc3339(void);

/* Appends a history entry (the strings are copied; each may be NULL). */
void storage_config_add_history(struct storage_image_config *c, const char *created, const char *created_by,
                                const char *author, const char *comment, bool empty_layer);

#include "lib/cleanup.h"
DEFINE_CLEANUP(struct storage_manifest *, storage_manifest_free)
DEFINE_CLEANUP(struct storage_index *, storage_index_free)
DEFINE_CLEANUP(struct storage_image_config *, storage_image_config_free)

/* True for the layer media types we can unpack. */
bool storage_media_type_is_layer(const char *media_type);

/* chain IDs: chain[0] = diff_ids[0], chain[i] = sha256(chain[i-1] + " " + diff_ids[i]). */
void storage_chain_ids(char *const *diff_ids, size_t n, char (*ret)[STORAGE_DIGEST_BUFSIZE]);

/* Generates an OCI image manifest for a config and layers (descriptors:
 * media_type, digest and size are used). */
char *storage_manifest_generate(const struct storage_descriptor *config, const struct storage_descriptor *layers,
                                size_t n_layers, size_t *ret_len);
/* Generates an image config from c (diff_ids and all).  created may be NULL.
 * Its history is c's; with none, one entry "hutch import" when created is
 * set. */
char *storage_config_generate(const struct storage_image_config *c, size_t *ret_len);
/* The media type of a manifest document (after storage_manifest_parse). */
const char *storage_manifest_media_type(const struct storage_manifest *m);
/* The Go architecture name of this machine ("amd64", "arm64", ...). */
const char *storage_host_arch(void);

#endif

/* registries.conf (version 2), as containers-registries.conf(5) describes:
 *
 *   CONTAINERS_REGISTRIES_CONF=FILE, else ~/.config/containers/registries.conf
 *   when it exists, else /etc/containers/registries.conf; then the drop-ins
 *   /etc/containers/registries.conf.d/NAME.conf and
 *   ~/.config/containers/registries.conf.d/NAME.conf in name order (with
 *   CONTAINERS_REGISTRIES_CONF set, none), each one overriding what it sets:
 *
 *     unqualified-search-registries = ["quay.io", "docker.io"]
 *     [aliases]
 *       "app" = "quay.io/org/app"
 *     [[registry]]
 *       prefix = "example.com/foo"      (default: location; "*.example.com" too)
 *       location = "internal.example.com:5000/bar"
 *       insecure = false
 *       blocked = false
 *       [[registry.mirror]]
 *         location = "mirror.example.com/bar"
 *         insecure = true
 *
 * Other keys (short-name-mode, credential-helpers, ...) are accepted and
 * ignored; the version 1 format is refused. */
#ifndef HUTCH_STORAGE_REGISTRIES_H
#define HUTCH_STORAGE_REGISTRIES_H

#include "lib/error.h"
#include "storage/reference.h"

#include <stdbool.h>
#include <stddef.h>

struct registries_mirror {
        char *location;
        bool insecure;
};

struct registries_entry {
        char *prefix;
        char *location; /* NULL: the prefix itself */
        bool insecure, blocked;
        struct registries_mirror *mirrors;
        size_t n_mirrors;
};

struct registries_conf {
        char **search; /* unqualified-search-registries */
        bool search_set;
        char **alias_names, **alias_targets;
        struct registries_entry *v;
        size_t n;
};

/* Reads the files above.  Missing files are fine; malformed ones are errors. */
int registries_conf_load(struct registries_conf **ret, struct hutch_error **err);
/* Merges one document into c (source names it in errors). */
int registries_conf_parse(struct registries_conf *c, const char *buf, size_t len, const char *source,
                          struct hutch_error **err);
struct registries_conf *registries_conf_new(void);
struct registries_conf *registries_conf_free(struct registries_conf *c);

/* The [[registry]] entry whose prefix matches host[/repository] best (or
 * whose location or a mirror's is host), or NULL. */
const struct registries_entry *registries_conf_find(const struct registries_conf *c, const char *host,
                                                    const char *repository);

/* The fully qualified names to try for input (already parsed in ref): an
 * alias, or one per search registry for a short name ("docker.io" gets
 * "library/" for one-component names), else the name itself. */
int registries_conf_resolve(const struct registries_conf *c, const char *input, const struct storage_reference *ref,
                            char ***ret, struct hutch_error **err);

/* Where to fetch the repository "host/path" of a qualified name from:
 * "host/path" strings, mirrors first, then the location (the prefix
 * replaced).  A blocked registry is an error. */
int registries_conf_endpoints(const struct registries_conf *c, const struct storage_reference *ref, char ***ret,
                              struct hutch_error **err);

#endif

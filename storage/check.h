/* Checking the store for damage and repairing it (`hutch system check`).
 *
 * What the store's own crash safety cannot prevent is damage from outside:
 * a disk that flips bits, a file someone deleted or truncated, a records
 * file cut short.  storage_check() walks everything a command would trust:
 *
 *  - the image records (images/images.json): unreadable ones are salvaged,
 *    keeping every complete, valid record;
 *  - every image: its manifest, config and layer blobs exist with their
 *    recorded sizes and (unless quick) still hash to their names, the
 *    manifest names the recorded config and layer blobs, the config's diff
 *    IDs and their chain IDs are the recorded ones, and each layer tree
 *    (layers/<chain-hex>, complete by construction once it has that name)
 *    is there;
 *  - every blob (unless quick): its content hashes to its name;
 *  - container records: readable, and their image present and whole;
 *  - leftovers of killed commands (tmp/, ".tmp-" names, a container
 *    directory without a record), but only when nobody else uses the store:
 *    otherwise they may be another command's work in progress.
 *
 * With repair, damaged images are removed (their names are reported so the
 * user can pull them again), corrupt blobs and leftovers too, and then the
 * layers and blobs no record uses.  An image a container was made from is
 * left alone unless force, which removes its stopped containers with it;
 * running containers are never touched.  Intact images are never changed.
 *
 * Run it where the layers' owners are mapped (the storage user namespace). */
#ifndef HUTCH_STORAGE_CHECK_H
#define HUTCH_STORAGE_CHECK_H

#include "lib/error.h"
#include "storage/images.h"
#include "storage/store.h"

#include <stdbool.h>
#include <stddef.h>

enum storage_check_kind {
        STORAGE_CHECK_RECORDS = 0, /* images/images.json unreadable */
        STORAGE_CHECK_IMAGE,       /* an image is missing a part, or a part is corrupt */
        STORAGE_CHECK_BLOB,        /* a blob does not hash to its name */
        STORAGE_CHECK_CONTAINER,   /* unreadable record, or its image is damaged or gone */
        STORAGE_CHECK_LEFTOVER,    /* left by a killed command */
};

struct storage_check_problem {
        enum storage_check_kind kind;
        char *what; /* "image localhost/app:1 (0123456789ab)", "blob sha256:...", "tmp/pull-Ab12Cd" */
        char *why;
        bool repaired;
};

struct storage_check_options {
        bool quick;  /* sizes only: no hashing */
        bool repair; /* remove what is damaged */
        bool force;  /* with repair: also the stopped containers of damaged images */
};

struct storage_check_report {
        struct storage_check_problem *v;
        size_t n;
        char **removed;                           /* names (or IDs) of the images removed: to pull again */
        size_t images, blobs, layers, containers; /* how many were checked */
        size_t unused_layers, unused_blobs;       /* no record uses them (left for prune) */
        bool busy; /* another command used the store: leftovers unchecked, unused layers kept */
};

int storage_check(struct storage_store *s, const struct storage_check_options *opts, struct storage_check_report *ret,
                  struct hutch_error **err);
void storage_check_report_clear(struct storage_check_report *r);
/* Problems found that are not repaired. */
size_t storage_check_report_unrepaired(const struct storage_check_report *r);

#endif

/* Fuzzes the image records parser and the salvage of a damaged records
 * file (what `hutch system check --repair` keeps).  Invariants: what parses
 * whole needs no salvage and salvage keeps all of it; salvage never keeps
 * more records than a whole parse of the same bytes could, and every kept
 * record is valid (its ID is its config's hex). */
#include "config.h"

#include "lib/error.h"
#include "lib/strv.h"
#include "storage/images.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *) data;
        struct storage_images whole = { 0 }, kept = { 0 };
        struct hutch_error *err = NULL;
        char **lost = NULL;
        size_t dropped;
        bool parsed;

        if (size > (64u << 10)) /* the salvage retries each cut: keep runs fast */
                return 0;
        parsed = storage_images_parse(buf, size, &whole, &err) == 0;
        hutch_error_clear(&err);
        dropped = storage_images_salvage(buf, size, &kept, &lost);
        if (parsed && (dropped != 0 || kept.n != whole.n))
                abort();
        if (!parsed && dropped == 0)
                abort();
        for (size_t i = 0; i < kept.n; i++)
                if (strcmp(storage_digest_hex(kept.v[i].config), kept.v[i].id) != 0 || kept.v[i].names == NULL)
                        abort();
        storage_images_clear(&whole);
        storage_images_clear(&kept);
        hutch_strv_free(lost);
        return 0;
}

/* Fuzzes image reference parsing: whatever is accepted formats to a name
 * that parses again to the same reference (a fixed point), stays within
 * the length limits and holds no control characters or spaces. */
#include "config.h"

#include "lib/error.h"
#include "storage/digest.h"
#include "storage/reference.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct storage_reference *a, const struct storage_reference *b)
{
        if (strcmp(a->domain, b->domain) != 0 || strcmp(a->path, b->path) != 0)
                abort();
        if ((a->tag == NULL) != (b->tag == NULL) || (a->tag && strcmp(a->tag, b->tag) != 0))
                abort();
        if ((a->digest == NULL) != (b->digest == NULL) || (a->digest && strcmp(a->digest, b->digest) != 0))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct storage_reference r = { 0 }, again = { 0 };
        struct hutch_error *err = NULL;
        char *s, *fmt, *repo = NULL, *tag = NULL;

        if (size > 2048)
                return 0;
        s = malloc(size + 1);
        if (s == NULL)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (storage_reference_parse(s, &r, &err) < 0) {
                if (err == NULL || err->msg == NULL)
                        abort();
                hutch_error_free(err);
                free(s);
                return 0;
        }
        if (err != NULL || r.domain == NULL || r.path == NULL || (r.tag == NULL && r.digest == NULL))
                abort();
        if (strlen(r.domain) + 1 + strlen(r.path) > STORAGE_REFERENCE_MAX_NAME)
                abort();
        if (r.digest && !storage_digest_valid(r.digest))
                abort();
        if (r.tag && !storage_reference_tag_valid(r.tag))
                abort();
        fmt = storage_reference_format(&r);
        for (const char *p = fmt; *p; p++)
                if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f)
                        abort();
        if (strstr(r.path, "..") != NULL || strstr(r.path, "//") != NULL || r.path[0] == '/')
                abort(); /* no path tricks survive in a repository name */
        if (storage_reference_parse(fmt, &again, &err) < 0)
                abort();
        check_same(&r, &again);
        if (again.short_name)
                abort(); /* the formatted name always carries its domain */
        if (r.digest == NULL) {
                storage_reference_split(fmt, &repo, &tag);
                if (strcmp(tag, r.tag) != 0)
                        abort();
                free(repo);
                free(tag);
        }
        free(fmt);
        storage_reference_clear(&r);
        storage_reference_clear(&again);
        free(s);
        return 0;
}

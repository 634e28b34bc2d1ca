/* Fuzzes the manifest, index and image config parsers with the same bytes.
 * Invariants: a document is never both a manifest and an index; what is
 * accepted has valid digests, non-negative sizes and known layer media
 * types; an accepted config regenerates to a config that parses again with
 * the same settings (health check and shell too), and generating that again
 * gives the same bytes: the members hutch does not model are kept as they
 * were, and the modelled ones are not doubled by them. */
#include "config.h"

#include "lib/error.h"
#include "storage/manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool strv_equal(char **a, char **b)
{
        for (; a && *a && b && *b; a++, b++)
                if (strcmp(*a, *b) != 0)
                        return false;
        return (a == NULL || *a == NULL) && (b == NULL || *b == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *) data;
        struct storage_manifest *m = NULL;
        struct storage_index *idx = NULL;
        struct storage_image_config *c = NULL, *c2 = NULL;
        struct hutch_error *err = NULL;
        bool is_manifest, is_index;

        is_manifest = storage_manifest_parse(buf, size, NULL, &m, &err) == 0;
        hutch_error_clear(&err);
        is_index = storage_index_parse(buf, size, NULL, &idx, &err) == 0;
        hutch_error_clear(&err);
        if (is_manifest && is_index)
                abort();
        if (is_manifest) {
                if (!storage_digest_valid(m->config.digest) || m->config.size < 0)
                        abort();
                for (size_t i = 0; i < m->n_layers; i++)
                        if (!storage_digest_valid(m->layers[i].digest) || m->layers[i].size < 0 ||
                            !storage_media_type_is_layer(m->layers[i].media_type))
                                abort();
                /* the type it claims is the type it must be served as */
                struct storage_manifest *m2 = NULL;
                if (storage_manifest_parse(buf, size, storage_manifest_media_type(m), &m2, &err) < 0)
                        abort();
                storage_manifest_free(m2);
                storage_manifest_free(m);
        }
        if (is_index) {
                for (size_t i = 0; i < idx->n_manifests; i++)
                        if (!storage_digest_valid(idx->manifests[i].digest) || idx->manifests[i].size < 0)
                                abort();
                storage_index_free(idx);
        }
        if (storage_config_parse(buf, size, &c, &err) == 0) {
                size_t len;
                char *gen = storage_config_generate(c, &len);
                if (storage_config_parse(gen, len, &c2, &err) < 0)
                        abort();
                if (c2->n_diff_ids != c->n_diff_ids || !strv_equal(c->diff_ids, c2->diff_ids) ||
                    !strv_equal(c->cmd, c2->cmd) || !strv_equal(c->entrypoint, c2->entrypoint) ||
                    !strv_equal(c->env, c2->env) || !strv_equal(c->labels, c2->labels) ||
                    !strv_equal(c->shell, c2->shell) || (c->healthcheck == NULL) != (c2->healthcheck == NULL))
                        abort();
                if (c->healthcheck && (!strv_equal(c->healthcheck->test, c2->healthcheck->test) ||
                                       c->healthcheck->interval != c2->healthcheck->interval ||
                                       c->healthcheck->timeout != c2->healthcheck->timeout ||
                                       c->healthcheck->start_period != c2->healthcheck->start_period ||
                                       c->healthcheck->start_interval != c2->healthcheck->start_interval ||
                                       c->healthcheck->retries != c2->healthcheck->retries))
                        abort();
                /* with no history, generate makes one entry ("hutch import") */
                if (c2->n_history != (c->n_history || !c->created ? c->n_history : 1))
                        abort();
                size_t len2;
                char *gen2 = storage_config_generate(c2, &len2);
                if (len2 != len || memcmp(gen, gen2, len) != 0)
                        abort();
                free(gen2);
                for (char **e = c->env; e && *e; e++)
                        if (strchr(*e, '=') == NULL)
                                abort();
                storage_image_config_free(c2);
                free(gen);
                storage_image_config_free(c);
        }
        hutch_error_clear(&err);
        return 0;
}

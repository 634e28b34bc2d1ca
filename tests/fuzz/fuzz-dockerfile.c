/* Fuzzes the Dockerfile parser and the word expansion (cmd/dockerfile.c):
 * the input is parsed as a Dockerfile, then every instruction's text is
 * expanded the way the build driver does, with a small environment; as
 * an ONBUILD trigger read from an image's config (one NUL-free string);
 * and as a .dockerignore, matched against a few paths. */
#include "config.h"

#include "cmd/dockerfile.h"
#include "cmd/dockerignore.h"
#include "lib/error.h"
#include "lib/strv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *const env[] = { "A=a", "EMPTY=", "SP=x y", "LONG=0123456789abcdef", NULL };

static void expand_all(const struct df_instruction *in, char escape)
{
        struct hutch_error *err = NULL;
        char *w = NULL;
        char **words = NULL;

        if (dockerfile_expand_words(in->rest, env, escape, &words, &err) == 0)
                hutch_strv_free(words);
        hutch_error_clear(&err);
        for (size_t k = 0; in->args && in->args[k]; k++) {
                if (dockerfile_expand_word(in->args[k], env, escape, &w, &err) == 0) {
                        if (strlen(w) > DOCKERFILE_MAX_EXPANSION)
                                abort();
                        free(w);
                }
                hutch_error_clear(&err);
        }
        if (in->sub)
                expand_all(in->sub, escape);
        /* HEALTHCHECK's durations: a flag's value, as build reads it */
        for (size_t k = 0; in->flags && in->flags[k]; k++) {
                const char *eq = strchr(in->flags[k], '=');
                int64_t ns;
                if (eq && dockerfile_parse_duration(eq + 1, &ns) == 0 && eq[1] != '-' && ns < 0)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct dockerfile *df = NULL;
        struct hutch_error *err = NULL;

        struct dockerignore *di = NULL;
        if (dockerignore_parse((const char *) data, size, &di, &err) == 0) {
                static const char *const paths[] = { "a", "a/b/c.txt", "docs/x.md", ".git/HEAD", "." };
                for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++)
                        (void) dockerignore_excluded(di, paths[k]);
                dockerignore_free(di);
        }
        hutch_error_clear(&err);

        if (!memchr(data, '\0', size)) {
                char *text = strndup((const char *) data, size);
                struct df_instruction *trig = NULL;
                if (text && dockerfile_parse_trigger(text, 1, '\\', &trig, &err) == 0) {
                        if (!trig || trig->kind == DF_ONBUILD || trig->kind == DF_FROM || trig->kind == DF_MAINTAINER)
                                abort();
                        expand_all(trig, '\\');
                        dockerfile_instruction_free(trig);
                } else if (text && (!err || trig)) {
                        abort();
                }
                hutch_error_clear(&err);
                free(text);
        }

        if (dockerfile_parse((const char *) data, size, &df, &err) < 0) {
                if (!err || !err->msg || df)
                        abort();
                hutch_error_free(err);
                return 0;
        }
        if (df->n_stages == 0 || !df->stages[0].from)
                abort();
        for (size_t i = 0; i < df->n_meta_args; i++)
                expand_all(&df->meta_args[i], df->escape);
        for (size_t s = 0; s < df->n_stages; s++) {
                expand_all(df->stages[s].from, df->escape);
                for (size_t i = 0; i < df->stages[s].n_instrs; i++)
                        expand_all(&df->stages[s].instrs[i], df->escape);
        }
        dockerfile_free(df);
        return 0;
}

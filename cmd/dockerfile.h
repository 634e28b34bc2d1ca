/* Dockerfile parser (classic-builder syntax) and Docker's word expansion.
 *
 * Pure: works on a buffer, does no I/O.  dockerfile_parse() splits the text
 * into stages of instructions, joins continuation lines, reads the parser
 * directives and checks each instruction's shape (arguments present, JSON
 * where JSON is required).  Variable substitution is not done here: its
 * values depend on the build state, so the driver calls
 * dockerfile_expand_word()/dockerfile_expand_words() with the ARG and ENV
 * values in effect at that step.
 *
 * Limits (hostile input gets an error, never unbounded work): the file at
 * most DOCKERFILE_MAX_SIZE bytes, a logical line (continuations joined) at
 * most DOCKERFILE_MAX_LINE bytes, at most DOCKERFILE_MAX_INSTRUCTIONS
 * instructions, an expansion result at most DOCKERFILE_MAX_EXPANSION bytes
 * and DOCKERFILE_MAX_REFERENCES variable references; the driver keeps a
 * stage's ARGs and ENVs under DOCKERFILE_MAX_VARIABLES, so a lookup scan is
 * bounded too.  Every pass is linear in its input. */
#ifndef HUTCH_CMD_DOCKERFILE_H
#define HUTCH_CMD_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define DOCKERFILE_MAX_SIZE         (4u << 20)
#define DOCKERFILE_MAX_LINE         (256u << 10)
#define DOCKERFILE_MAX_INSTRUCTIONS 4096u
#define DOCKERFILE_MAX_EXPANSION    (1u << 20)
#define DOCKERFILE_MAX_REFERENCES   (1u << 14) /* "$X" in one expansion */
#define DOCKERFILE_MAX_VARIABLES    4096u      /* ARGs and ENVs of a stage (the driver's limit) */

enum df_kind {
        DF_ADD,
        DF_ARG,
        DF_CMD,
        DF_COPY,
        DF_ENTRYPOINT,
        DF_ENV,
        DF_EXPOSE,
        DF_FROM,
        DF_HEALTHCHECK,
        DF_LABEL,
        DF_MAINTAINER,
        DF_ONBUILD,
        DF_RUN,
        DF_SHELL,
        DF_STOPSIGNAL,
        DF_USER,
        DF_VOLUME,
        DF_WORKDIR,
};

struct df_instruction {
        enum df_kind kind;
        unsigned line;  /* line of the keyword */
        char *keyword;  /* upper case, e.g. "COPY" */
        char *original; /* the logical line as written, continuations joined */
        char **flags;   /* leading "--name=value" / "--name" flags, as written */
        char *rest;     /* the text after keyword and flags, trimmed */
        bool json;      /* rest was a JSON array of strings: args holds them */
        /* The arguments before expansion:
         * - json: the array's strings;
         * - ENV, LABEL: key, value, key, value, ... (raw: quotes kept, expand each
         *   value with dockerfile_expand_word, keys too);
         * - ARG: one "name" or "name=raw default" entry per declared name;
         * - other shell forms: args is NULL, use rest. */
        char **args;
        /* ONBUILD: the trigger instruction, parsed (never ONBUILD, FROM or MAINTAINER). */
        struct df_instruction *sub;
};

struct df_stage {
        unsigned line; /* the FROM line */
        struct df_instruction *from;
        char *name; /* "AS name" lower-cased, or NULL */
        struct df_instruction *instrs;
        size_t n_instrs;
};

struct dockerfile {
        char escape; /* '\\' or '`' */
        /* ARG instructions before the first FROM (their values may be used in FROM). */
        struct df_instruction *meta_args;
        size_t n_meta_args;
        struct df_stage *stages;
        size_t n_stages;
};

int dockerfile_parse(const char *buf, size_t len, struct dockerfile **ret, struct hutch_error **err);
struct dockerfile *dockerfile_free(struct dockerfile *df);

/* Parses one ONBUILD trigger as an image's config stores it ("RUN make"):
 * a single instruction on one line, under ONBUILD's rules (never ONBUILD,
 * FROM or MAINTAINER).  line is the line errors name (the stage's FROM).
 * Untrusted (any image may carry triggers): bounded like a Dockerfile line. */
int dockerfile_parse_trigger(const char *text, unsigned line, char escape, struct df_instruction **ret,
                             struct hutch_error **err);
struct df_instruction *dockerfile_instruction_free(struct df_instruction *in);

/* Looks up a flag ("--from=x" → "x"; "--link" → ""); NULL when absent.  Flags
 * not in `known` (NULL-terminated names without "--") are reported by
 * dockerfile_check_flags. */
const char *dockerfile_flag(const struct df_instruction *in, const char *name);
int dockerfile_check_flags(const struct df_instruction *in, const char *const *known, struct hutch_error **err);

/* Docker's shell-lexer expansion of one word: quote removal ('...' literal,
 * "..." with the escape char escaping $ " and itself), the escape char
 * outside quotes, $VAR, ${VAR}, ${VAR:-w}, ${VAR-w}, ${VAR:+w}, ${VAR+w},
 * ${VAR:?msg}, ${VAR?msg}.  env holds "NAME=value" entries; the last
 * entry of a name wins.  Never splits. */
int dockerfile_expand_word(const char *word, char *const *env, char escape, char **ret, struct hutch_error **err);
/* The same over a text, split into words at unquoted white space (results of
 * unquoted expansions are split too, as Docker's ProcessWords does). */
int dockerfile_expand_words(const char *text, char *const *env, char escape, char ***ret, struct hutch_error **err);

/* ADD's URL sources: is s an http:// or https:// URL, and the name its file
 * gets in a directory (the last path segment, no query or fragment; NULL
 * when there is none, as in "https://host/"). */
bool dockerfile_is_url(const char *s);
char *dockerfile_url_file_name(const char *url);

/* Does the instruction get variable substitution (before its own ARG/ENV)? */
bool dockerfile_kind_expands(enum df_kind kind);
const char *dockerfile_kind_name(enum df_kind kind);

/* Splits a JSON array of strings ("[\"a\", \"b\"]"); returns 0 and the
 * strings, -1 (no error set) when text is not such an array.  Used for
 * exec forms. */
int dockerfile_parse_json_array(const char *text, char ***ret);

/* A duration as Go's time.ParseDuration reads it (HEALTHCHECK's flags):
 * "0", or numbers with an optional fraction, each with a unit (ns, us,
 * µs, ms, s, m, h), e.g. "1m30s", "1.5s", "500ms"; an optional sign.
 * Returns 0 and nanoseconds, -EINVAL or -ERANGE (over ~292 years). */
int dockerfile_parse_duration(const char *s, int64_t *ret_ns);

#endif

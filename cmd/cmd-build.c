/* hutch build: a Dockerfile (cmd/dockerfile.c) run step by step, as
 * Docker's classic builder does.  Each step makes an image:
 *
 *  - RUN runs its command in a container of the current image exactly as
 *    `hutch run` would (cmd_run_container: the same runtime, user
 *    namespace, security defaults and networking), then commits what it
 *    changed as a layer (cmd_commit_container);
 *  - COPY/ADD create a container (not started), write the sources into its
 *    files mounted in the storage user namespace (the layer unpacker, which
 *    keeps every path inside the root; the sources are read below the
 *    context without following a link: cmd/build-copy.c), and commit;
 *  - WORKDIR does the same to create its directory;
 *  - the other instructions change only the config: a new image with the
 *    same layers (cmd/build-image.c), history marked empty_layer;
 *  - a base image's ONBUILD triggers run right after FROM (run_triggers),
 *    and ADD's URL sources are downloaded first (cmd/build-url.c).
 *
 * Every step's container is removed, on failure and Ctrl-C too.  A step
 * whose key (the parent image, the instruction after substitution, the
 * build arguments in effect, the COPY sources' digest) was built before is
 * taken from the cache (cmd/build-image.h). */
#include "config.h"

#include "cmd/build-container.h"
#include "cmd/build-copy.h"
#include "cmd/build-image.h"
#include "cmd/build-url.h"
#include "cmd/build.h"
#include "cmd/cmd-storage.h"
#include "cmd/commit.h"
#include "cmd/dockerfile.h"
#include "cmd/dockerignore.h"
#include "cmd/image-run.h"
#include "cmd/paths.h"
#include "cmd/run.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/parse.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/manifest.h"
#include "storage/reference.h"
#include "storage/store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
        OPT_BUILD_ARG = 0x100,
        OPT_TARGET,
        OPT_NO_CACHE,
        OPT_NETWORK,
};

const struct cmd_option cmd_build_options[] = {
        { "tag", 't', required_argument, "NAME", "name the image REPOSITORY[:TAG] (repeatable)", 't' },
        { "file", 'f', required_argument, "FILE", "the Dockerfile (default CONTEXT/Dockerfile; '-': standard input)",
          'f' },
        { "build-arg", 0, required_argument, "K=V", "set a build argument (K alone: from the environment)",
          OPT_BUILD_ARG },
        { "target", 0, required_argument, "STAGE", "build up to this stage", OPT_TARGET },
        { "no-cache", 0, no_argument, NULL, "do not use the build cache", OPT_NO_CACHE },
        { "quiet", 'q', no_argument, NULL, "print only the image ID", 'q' },
        { "network", 0, required_argument, "MODE", "networking of RUN steps (as run --network)", OPT_NETWORK },
        { 0 },
};

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
        interrupted = sig;
}

struct stage {
        char *name; /* lower-cased, or NULL */
        char id[STORAGE_DIGEST_HEX_LEN + 1];
        bool scratch; /* FROM scratch and no image made yet */
        struct storage_image_config *cfg;
        char **args;  /* "K=V" of the ARGs in effect */
        char **shell; /* SHELL */
        bool cmd_set; /* CMD set in this stage */
        char *base;   /* FROM's image, expanded (for messages) */
};

struct build {
        const struct cmd_command *cmd;
        char *root;
        struct storage_store *s;
        struct dockerfile *df;
        struct dockerignore *ignore;
        int ctx_fd;
        char *network;
        char **build_args; /* "K=V" */
        bool *arg_used;
        char **meta; /* the ARGs before FROM: "K=V" */
        bool no_cache, quiet;
        struct stage *stages;
        size_t n_stages;
        unsigned step, steps;
        struct build_steps bs; /* the step containers */
};

/* ---- small helpers ---- */

static void out(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct build *b, const char *fmt, ...)
{
        va_list ap;
        if (b->quiet)
                return;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fflush(stdout);
}

static void env_set(char ***env, const char *k, const char *v)
{
        size_t n = strlen(k);
        for (size_t i = 0; *env && (*env)[i]; i++)
                if (strncmp((*env)[i], k, n) == 0 && (*env)[i][n] == '=') {
                        free((*env)[i]);
                        (*env)[i] = xasprintf("%s=%s", k, v);
                        return;
                }
        hutch_strv_push(env, xasprintf("%s=%s", k, v));
}

static const char *env_get(char *const *env, const char *k)
{
        size_t n = strlen(k);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], k, n) == 0 && env[i][n] == '=')
                        return env[i] + n + 1;
        return NULL;
}

/* What substitution sees: the ARGs, then ENV (which wins). */
static char **expand_env(const struct stage *st)
{
        char **env = hutch_strv_copy(st->args);
        for (size_t i = 0; st->cfg && st->cfg->env && st->cfg->env[i]; i++)
                hutch_strv_append(&env, st->cfg->env[i]);
        return env;
}

static const char *build_arg(struct build *b, const char *k)
{
        size_t n = strlen(k);
        for (size_t i = 0; b->build_args && b->build_args[i]; i++)
                if (strncmp(b->build_args[i], k, n) == 0 && b->build_args[i][n] == '=') {
                        b->arg_used[i] = true;
                        return b->build_args[i] + n + 1;
                }
        return NULL;
}

static void strv_add_unique(char ***v, const char *s)
{
        if (!hutch_strv_contains(*v, s))
                hutch_strv_append(v, s);
}

static char *json_quote_argv(char *const *argv)
{
        size_t cap = 16;
        char *s = xmalloc(cap);
        size_t n = 0;
#define PUT(c)                                     \
        do {                                       \
                if (n + 2 >= cap)                  \
                        s = xrealloc(s, cap *= 2); \
                s[n++] = (c);                      \
        } while (0)
        PUT('[');
        for (size_t i = 0; argv && argv[i]; i++) {
                if (i)
                        PUT(',');
                PUT('"');
                for (const char *p = argv[i]; *p; p++) {
                        if (*p == '"' || *p == '\\')
                                PUT('\\');
                        PUT(*p);
                }
                PUT('"');
        }
        PUT(']');
        s[n] = '\0';
#undef PUT
        return s;
}

/* ---- the cache key ---- */

static void step_key(const struct stage *st, const char *text, const char *extra, char ret_hex[65])
{
        struct storage_sha256 *h = storage_sha256_new();
        char digest[STORAGE_DIGEST_BUFSIZE];
        const char *parent = st->scratch ? "scratch" : st->id;

        storage_sha256_update(h, "hutch-build-1", 14);
        storage_sha256_update(h, parent, strlen(parent) + 1);
        storage_sha256_update(h, text, strlen(text) + 1);
        for (size_t i = 0; st->args && st->args[i]; i++)
                storage_sha256_update(h, st->args[i], strlen(st->args[i]) + 1);
        storage_sha256_update(h, "\n", 1);
        for (size_t i = 0; st->shell && st->shell[i]; i++)
                storage_sha256_update(h, st->shell[i], strlen(st->shell[i]) + 1);
        if (extra)
                storage_sha256_update(h, extra, strlen(extra) + 1);
        storage_sha256_final_hex(h, digest);
        storage_sha256_free(h);
        memcpy(ret_hex, storage_digest_hex(digest), 65);
}

/* Notes image id in the build's lock, then checks that it is still
 * recorded, under the records' lock: a prune that read the lock before the
 * note has finished by then, and one that reads it after spares the image. */
static int hold_image(struct build *b, const char *id, struct hutch_error **err)
{
        if (build_lock_note_image(&b->bs, id, err) < 0)
                return -1;
        _cleanup_close_ int lock = storage_store_lock_records(b->s, err);
        if (lock < 0)
                return -1;
        if (!build_image_exists(b->s, id))
                return hutch_error_set(err, ENOENT, "image %.12s was removed during the build", id);
        return 0;
}

static int stage_load(struct build *b, struct stage *st, const char *id, struct hutch_error **err)
{
        struct storage_image_config *cfg = NULL;
        if (hold_image(b, id, err) < 0 || build_image_config_load(b->s, id, &cfg, err) < 0)
                return -1;
        storage_image_config_free(st->cfg);
        st->cfg = cfg;
        memcpy(st->id, id, sizeof(st->id));
        st->scratch = false;
        return 0;
}

/* Looks the step up in the cache; 1 (and the stage moved on) on a hit. */
static int cache_hit(struct build *b, struct stage *st, const char *key, struct hutch_error **err)
{
        char id[STORAGE_DIGEST_HEX_LEN + 1];
        if (b->no_cache || build_cache_get(b->s, key, id) < 0)
                return 0;
        if (stage_load(b, st, id, err) < 0) {
                hutch_error_clear(err);
                return 0;
        }
        out(b, " ---> Using cache\n ---> %.12s\n", id);
        return 1;
}

static int materialize(struct stage *st, struct build *b, struct hutch_error **err)
{
        char id[STORAGE_DIGEST_HEX_LEN + 1];
        if (!st->scratch)
                return 0;
        if (build_image_scratch(id, err) < 0)
                return -1;
        return stage_load(b, st, id, err);
}

static int commit_step(struct build *b, struct stage *st, const char *created_by, const char *key,
                       struct hutch_error **err)
{
        struct cmd_commit_options o = { .created_by = created_by, .keep_image_config = true };
        char id[STORAGE_DIGEST_HEX_LEN + 1];

        if (cmd_commit_container(b->root, b->bs.container, &o, id, err) < 0)
                return -1;
        build_container_drop(&b->bs);
        build_cache_put(b->s, key, id, st->id);
        if (stage_load(b, st, id, err) < 0)
                return -1;
        out(b, " ---> %.12s\n", id);
        return 0;
}

/* ---- config steps ---- */

static int config_step(struct build *b, struct stage *st, const char *text, const char *key, struct hutch_error **err)
{
        char id[STORAGE_DIGEST_HEX_LEN + 1];
        _cleanup_free_ char *by = xasprintf("/bin/sh -c #(nop) %s", text);

        if (materialize(st, b, err) < 0)
                return -1;
        if (build_image_derive(b->s, st->id, st->cfg, by, id, err) < 0)
                return -1;
        build_cache_put(b->s, key, id, st->id);
        if (stage_load(b, st, id, err) < 0)
                return -1;
        out(b, " ---> %.12s\n", id);
        return 0;
}

static void label_set(struct storage_image_config *c, const char *k, const char *v)
{
        env_set(&c->labels, k, v);
}

/* ENV, LABEL: expanded pairs; ret_text gets "K=V K2=V2" (quoted as needed). */
static int expand_pairs(struct build *b, struct stage *st, const struct df_instruction *in, char ***ret_pairs,
                        struct hutch_error **err)
{
        _cleanup_strv_ char **env = expand_env(st);
        char **pairs = NULL;
        for (size_t i = 0; in->args && in->args[i] && in->args[i + 1]; i += 2) {
                char *k = NULL, *v = NULL;
                if (dockerfile_expand_word(in->args[i], env, b->df->escape, &k, err) < 0 ||
                    dockerfile_expand_word(in->args[i + 1], env, b->df->escape, &v, err) < 0) {
                        free(k);
                        hutch_strv_free(pairs);
                        return hutch_error_prefix(err, "line %u: %s", in->line, in->keyword);
                }
                if (!*k) {
                        free(k);
                        free(v);
                        hutch_strv_free(pairs);
                        return hutch_error_set(err, EINVAL, "line %u: %s names can not be blank", in->line,
                                               in->keyword);
                }
                /* ENV A=2 B=$A gives B the value A had before the
                 * instruction, as Docker's does */
                hutch_strv_push(&pairs, k);
                hutch_strv_push(&pairs, v);
        }
        *ret_pairs = pairs;
        return 0;
}

static char *pairs_text(const char *kw, char *const *pairs)
{
        char *t = xstrdup(kw);
        for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2) {
                char *n = xasprintf("%s %s=%s", t, pairs[i], pairs[i + 1]);
                free(t);
                t = n;
        }
        return t;
}

/* rel (absolute, or relative to base) as a clean absolute path in the image. */
static char *join_path(const char *base, const char *rel)
{
        _cleanup_free_ char *j = rel[0] == '/' ? xstrdup(rel) : xasprintf("%s/%s", base && *base ? base : "/", rel);
        _cleanup_free_ char *clean = dockerignore_clean_path(j, NULL);
        return STREQ(clean, ".") ? xstrdup("/") : xasprintf("/%s", clean);
}

/* HEALTHCHECK's flags and command, as Docker stores them. */
static int parse_healthcheck(const struct df_instruction *in, struct storage_healthcheck *h, struct hutch_error **err)
{
        static const char *const known[] = { "interval", "timeout", "start-period", "start-interval", "retries", NULL };
        static const struct {
                const char *flag;
                size_t off;
        } durations[] = {
                { "interval", offsetof(struct storage_healthcheck, interval) },
                { "timeout", offsetof(struct storage_healthcheck, timeout) },
                { "start-period", offsetof(struct storage_healthcheck, start_period) },
                { "start-interval", offsetof(struct storage_healthcheck, start_interval) },
        };
        const struct df_instruction *sub = in->sub;

        if (dockerfile_check_flags(in, known, err) < 0)
                return -1;
        if (sub == NULL) { /* NONE (flags are ignored, as Docker does) */
                hutch_strv_append(&h->test, "NONE");
                return 0;
        }
        if (sub->json ? !sub->args[0] : !*sub->rest)
                return hutch_error_set(err, 0, "line %u: HEALTHCHECK CMD: the command is missing", in->line);
        if (sub->json) {
                hutch_strv_append(&h->test, "CMD");
                for (size_t i = 0; sub->args[i]; i++)
                        hutch_strv_append(&h->test, sub->args[i]);
        } else {
                hutch_strv_append(&h->test, "CMD-SHELL");
                hutch_strv_append(&h->test, sub->rest);
        }
        for (size_t i = 0; i < ARRAY_SIZE(durations); i++) {
                const char *v = dockerfile_flag(in, durations[i].flag);
                int64_t ns = 0;
                if (v == NULL || !*v)
                        continue;
                int r = dockerfile_parse_duration(v, &ns);
                if (r < 0)
                        return hutch_error_set(
                                err, 0, "line %u: HEALTHCHECK --%s: '%s' %s", in->line, durations[i].flag, v,
                                r == -ERANGE ? "is too long" : "is not a duration (such as 30s, 1m30s or 500ms)");
                if (ns < 0)
                        return hutch_error_set(err, 0, "line %u: HEALTHCHECK --%s: '%s' cannot be negative", in->line,
                                               durations[i].flag, v);
                if (ns != 0 && ns < 1000000)
                        return hutch_error_set(err, 0, "line %u: HEALTHCHECK --%s: '%s' cannot be less than 1ms",
                                               in->line, durations[i].flag, v);
                *(int64_t *) ((char *) h + durations[i].off) = ns;
        }
        const char *v = dockerfile_flag(in, "retries");
        if (v && *v) {
                int n;
                if (hutch_parse_int(v, INT32_MIN, INT32_MAX, &n) < 0)
                        return hutch_error_set(err, 0, "line %u: HEALTHCHECK --retries: '%s' is not a number", in->line,
                                               v);
                if (n < 0)
                        return hutch_error_set(err, 0, "line %u: HEALTHCHECK --retries cannot be negative", in->line);
                h->retries = n;
        }
        return 0;
}

static int do_config(struct build *b, struct stage *st, const struct df_instruction *in, struct hutch_error **err)
{
        _cleanup_strv_ char **env = expand_env(st);
        _cleanup_strv_ char **pairs = NULL, **words = NULL;
        _cleanup_free_ char *text = NULL, *value = NULL;
        char key[65];
        char esc = b->df->escape;
        struct storage_image_config *c;
        struct storage_healthcheck hc = { 0 };
        _cleanup_strv_ char **hc_test = NULL;
        int r;

        switch (in->kind) {
        case DF_ENV:
        case DF_LABEL:
                if (expand_pairs(b, st, in, &pairs, err) < 0)
                        return -1;
                text = pairs_text(in->keyword, pairs);
                break;
        case DF_EXPOSE:
        case DF_VOLUME:
                if (in->json) {
                        for (size_t i = 0; in->args[i]; i++) {
                                char *w = NULL;
                                if (dockerfile_expand_word(in->args[i], env, esc, &w, err) < 0)
                                        return hutch_error_prefix(err, "line %u: %s", in->line, in->keyword);
                                hutch_strv_push(&words, w);
                        }
                } else if (dockerfile_expand_words(in->rest, env, esc, &words, err) < 0) {
                        return hutch_error_prefix(err, "line %u: %s", in->line, in->keyword);
                }
                for (size_t i = 0; words[i]; i++) {
                        if (!*words[i])
                                return hutch_error_set(err, EINVAL, "line %u: %s: an empty value", in->line,
                                                       in->keyword);
                        if (in->kind == DF_EXPOSE) {
                                char *w = words[i];
                                const char *slash = strchr(w, '/');
                                size_t digits = strspn(w, "0123456789-");
                                if (digits == 0 || (slash ? (size_t) (slash - w) != digits : w[digits] != '\0') ||
                                    (slash && !STREQ(slash, "/tcp") && !STREQ(slash, "/udp") && !STREQ(slash, "/sctp")))
                                        return hutch_error_set(err, EINVAL, "line %u: EXPOSE: invalid port '%s'",
                                                               in->line, w);
                                if (!slash) {
                                        words[i] = xasprintf("%s/tcp", w);
                                        free(w);
                                }
                        }
                }
                {
                        _cleanup_free_ char *j = hutch_strv_join(words, " ");
                        text = xasprintf("%s %s", in->keyword, j);
                }
                break;
        case DF_USER:
        case DF_WORKDIR:
        case DF_STOPSIGNAL:
        case DF_MAINTAINER:
                if (in->kind == DF_MAINTAINER)
                        value = xstrdup(in->rest);
                else if (dockerfile_expand_word(in->rest, env, esc, &value, err) < 0)
                        return hutch_error_prefix(err, "line %u: %s", in->line, in->keyword);
                if (in->kind == DF_WORKDIR) {
                        char *abs = join_path(st->cfg ? st->cfg->working_dir : NULL, value);
                        free(value);
                        value = abs;
                }
                text = xasprintf("%s %s", in->keyword, value);
                break;
        case DF_CMD:
        case DF_ENTRYPOINT:
                if (in->json) {
                        words = hutch_strv_copy(in->args);
                } else {
                        words = hutch_strv_copy(st->shell);
                        hutch_strv_append(&words, in->rest);
                }
                {
                        _cleanup_free_ char *j = json_quote_argv(words);
                        text = xasprintf("%s %s", in->keyword, j);
                }
                break;
        case DF_SHELL: {
                _cleanup_free_ char *j = json_quote_argv(in->args);
                text = xasprintf("SHELL %s", j);
                break;
        }
        case DF_HEALTHCHECK:
                r = parse_healthcheck(in, &hc, err);
                hc_test = hc.test;
                if (r < 0)
                        return -1;
                text = xstrdup(in->original);
                break;
        case DF_ONBUILD:
                /* stored as written, never expanded: it runs in the child's build */
                text = xasprintf("ONBUILD %s", in->sub->original);
                break;
        default: return hutch_error_set(err, EINVAL, "line %u: %s is not a config instruction", in->line, in->keyword);
        }

        step_key(st, text, NULL, key);
        if (cache_hit(b, st, key, err))
                return 0;
        if (materialize(st, b, err) < 0)
                return -1;
        c = st->cfg;
        switch (in->kind) {
        case DF_ENV:
                for (size_t i = 0; pairs[i]; i += 2)
                        env_set(&c->env, pairs[i], pairs[i + 1]);
                if (hutch_strv_length(c->env) > DOCKERFILE_MAX_VARIABLES)
                        return hutch_error_set(err, E2BIG, "line %u: more than %u ENV variables", in->line,
                                               DOCKERFILE_MAX_VARIABLES);
                break;
        case DF_LABEL:
                for (size_t i = 0; pairs[i]; i += 2)
                        label_set(c, pairs[i], pairs[i + 1]);
                break;
        case DF_EXPOSE:
                for (size_t i = 0; words[i]; i++)
                        strv_add_unique(&c->exposed_ports, words[i]);
                break;
        case DF_VOLUME:
                for (size_t i = 0; words[i]; i++)
                        strv_add_unique(&c->volumes, words[i]);
                break;
        case DF_USER:
                free(c->user);
                c->user = steal_ptr(&value);
                break;
        case DF_STOPSIGNAL:
                free(c->stop_signal);
                c->stop_signal = steal_ptr(&value);
                break;
        case DF_MAINTAINER:
                free(c->author);
                c->author = steal_ptr(&value);
                break;
        case DF_WORKDIR:
                free(c->working_dir);
                c->working_dir = steal_ptr(&value);
                break;
        case DF_CMD:
                hutch_strv_free(c->cmd);
                c->cmd = steal_ptr(&words);
                c->has_cmd = true;
                st->cmd_set = true;
                break;
        case DF_ENTRYPOINT:
                hutch_strv_free(c->entrypoint);
                c->entrypoint = steal_ptr(&words);
                c->has_entrypoint = true;
                if (!st->cmd_set) {
                        /* Docker: ENTRYPOINT drops a CMD the base image had */
                        c->cmd = hutch_strv_free(c->cmd);
                        c->has_cmd = false;
                }
                break;
        case DF_SHELL:
                hutch_strv_free(c->shell);
                c->shell = hutch_strv_copy(in->args);
                break;
        case DF_HEALTHCHECK: storage_config_set_healthcheck(c, &hc); break;
        case DF_ONBUILD:
                if (hutch_strv_length(c->on_build) >= DOCKERFILE_MAX_INSTRUCTIONS)
                        return hutch_error_set(err, E2BIG, "line %u: more than %u ONBUILD triggers", in->line,
                                               DOCKERFILE_MAX_INSTRUCTIONS);
                hutch_strv_append(&c->on_build, in->sub->original);
                break;
        default: break;
        }
        return config_step(b, st, text, key, err);
}

/* ---- RUN ---- */

static int do_run(struct build *b, struct stage *st, const struct df_instruction *in, struct hutch_error **err)
{
        static const char *const known[] = { "network", "mount", "security", NULL };
        _cleanup_strv_ char **argv = NULL, **cmdv = NULL;
        _cleanup_free_ char *by = NULL, *network = NULL;
        char key[65];
        int r;

        if (dockerfile_check_flags(in, known, err) < 0)
                return -1;
        if (dockerfile_flag(in, "mount"))
                return hutch_error_set(err, ENOTSUP,
                                       "line %u: RUN --mount is not supported: hutch build never mounts a path the "
                                       "build resolves on the host",
                                       in->line);
        if (dockerfile_flag(in, "security"))
                return hutch_error_set(err, ENOTSUP, "line %u: RUN --security is not supported", in->line);
        const char *net = dockerfile_flag(in, "network");
        if (net && !STREQ(net, "default") && !STREQ(net, "none") && !STREQ(net, "host"))
                return hutch_error_set(err, EINVAL, "line %u: RUN --network: '%s' is not default, none or host",
                                       in->line, net);
        network = xstrdup(net && !STREQ(net, "default") ? net : b->network ? b->network : "");

        if (in->json) {
                cmdv = hutch_strv_copy(in->args);
        } else {
                cmdv = hutch_strv_copy(st->shell);
                hutch_strv_append(&cmdv, in->rest);
        }
        by = hutch_strv_join(cmdv, " ");
        {
                _cleanup_free_ char *extra = xasprintf("network=%s", network);
                step_key(st, by, extra, key);
        }
        if (cache_hit(b, st, key, err))
                return 0;
        if (materialize(st, b, err) < 0)
                return -1;

        b->bs.container = build_container_name(&b->bs);
        hutch_strv_append(&argv, "run");
        hutch_strv_append(&argv, "--name");
        hutch_strv_append(&argv, b->bs.container);
        if (*network) {
                hutch_strv_append(&argv, "--network");
                hutch_strv_append(&argv, network);
        }
        /* the ARGs reach RUN's environment, below ENV of the same name */
        for (size_t i = 0; st->args && st->args[i]; i++) {
                size_t n = strcspn(st->args[i], "=");
                _cleanup_free_ char *k = xstrndup(st->args[i], n);
                if (!env_get(st->cfg->env, k)) {
                        hutch_strv_append(&argv, "-e");
                        hutch_strv_append(&argv, st->args[i]);
                }
        }
        hutch_strv_append(&argv, "--entrypoint");
        hutch_strv_append(&argv, cmdv[0]);
        hutch_strv_append(&argv, st->id);
        for (size_t i = 1; cmdv[i]; i++)
                hutch_strv_append(&argv, cmdv[i]);
        out(b, " ---> Running in %s\n", b->bs.container);

        r = build_container_run(&b->bs, argv, CMD_RUN_FOREGROUND, false, err);
        if (r < 0)
                return hutch_error_prefix(err, "line %u: RUN", in->line);
        if (interrupted)
                return hutch_error_set(err, EINTR, "interrupted");
        if (r != 0) {
                _cleanup_free_ char *shown = in->json ? json_quote_argv(cmdv) : xstrdup(by);
                return hutch_error_set_status(
                        err, 1, 0, "building at STEP \"RUN %s\": the command '%s' returned a non-zero code: %d",
                        in->rest, shown, r);
        }
        return commit_step(b, st, by, key, err);
}

/* ---- COPY, ADD ---- */

static int stage_index(struct build *b, const char *name, size_t before)
{
        char *end;
        long n = strtol(name, &end, 10);
        if (*name && !*end && n >= 0 && (size_t) n < before)
                return (int) n;
        for (size_t i = 0; i < before; i++)
                if (b->stages[i].name && strcasecmp(b->stages[i].name, name) == 0)
                        return (int) i;
        return -1;
}

/* An image by name or ID, pulled when it is not here, and held for the
 * rest of the build. */
static int image_resolve(struct build *b, const char *ref, char ret_id[STORAGE_DIGEST_HEX_LEN + 1], char ***ret_layers,
                         struct hutch_error **err)
{
        struct cmd_image_run img = { 0 };
        int r = cmd_image_run_resolve(ref, &img, err);
        if (r == -ENOENT) {
                hutch_error_clear(err);
                r = cmd_run_pull_image(ref, err);
                if (r == 0)
                        r = cmd_image_run_resolve(ref, &img, err);
        }
        if (r < 0)
                return r;
        memcpy(ret_id, img.id, STORAGE_DIGEST_HEX_LEN + 1);
        if (ret_layers)
                *ret_layers = steal_ptr(&img.layers);
        cmd_image_run_clear(&img);
        return hold_image(b, ret_id, err);
}

/* A download that fails is the build's failure (exit 1, as a failing RUN). */
static int url_download(struct build *b, struct build_url_set *urls, const struct df_instruction *in, const char *url,
                        const char *checksum, struct hutch_error **err)
{
        if (build_url_download(urls, b->s, b->root, url, checksum, err) == 0)
                return 0;
        hutch_error_prefix(err, "line %u: ADD", in->line);
        if (*err)
                (*err)->exit_status = 1;
        return -1;
}

static int do_copy(struct build *b, struct stage *st, size_t stage_idx, const struct df_instruction *in,
                   struct hutch_error **err)
{
        static const char *const copy_flags[] = { "from", "chown", "chmod", "link", NULL };
        static const char *const add_flags[] = { "chown", "chmod", "link", "checksum", NULL };
        _cleanup_(build_url_set_clear) struct build_url_set urls = { .dirfd = -1 };
        _cleanup_free_ char *checksum = NULL;
        _cleanup_strv_ char **words = NULL, **env = expand_env(st), **from_layers = NULL;
        _cleanup_free_ char *dest = NULL, *text = NULL, *chown = NULL, *extra = NULL;
        struct build_files_job j = { 0 };
        char key[65];
        char from_id[STORAGE_DIGEST_HEX_LEN + 1] = "";
        bool add = in->kind == DF_ADD;

        if (dockerfile_check_flags(in, add ? add_flags : copy_flags, err) < 0)
                return -1;
        if (in->json) {
                for (size_t i = 0; in->args[i]; i++) {
                        char *w = NULL;
                        if (dockerfile_expand_word(in->args[i], env, b->df->escape, &w, err) < 0)
                                return hutch_error_prefix(err, "line %u: %s", in->line, in->keyword);
                        hutch_strv_push(&words, w);
                }
        } else if (dockerfile_expand_words(in->rest, env, b->df->escape, &words, err) < 0) {
                return hutch_error_prefix(err, "line %u: %s", in->line, in->keyword);
        }
        size_t n = hutch_strv_length(words);
        if (n < 2)
                return hutch_error_set(err, EINVAL, "line %u: %s requires at least two arguments", in->line,
                                       in->keyword);
        const char *raw_dest = words[n - 1];
        size_t dl = strlen(raw_dest);
        bool slash = (dl > 0 && raw_dest[dl - 1] == '/') || STREQ(raw_dest, ".") ||
                     (dl >= 2 && STREQ(raw_dest + dl - 2, "/."));
        dest = join_path(st->cfg ? st->cfg->working_dir : NULL, raw_dest);
        free(words[n - 1]);
        words[n - 1] = NULL;

        const char *v = dockerfile_flag(in, "chown");
        if (v) {
                char *c = NULL;
                if (dockerfile_expand_word(v, env, b->df->escape, &c, err) < 0)
                        return hutch_error_prefix(err, "line %u: --chown", in->line);
                chown = c;
        }
        v = dockerfile_flag(in, "chmod");
        if (v) {
                char *end;
                unsigned long m = strtoul(v, &end, 8);
                if (!*v || *end || m > 07777)
                        return hutch_error_set(err, EINVAL, "line %u: --chmod: '%s' is not an octal mode", in->line, v);
                j.bc.set_mode = true;
                j.bc.mode = (mode_t) m;
        }
        size_t n_url = 0;
        for (size_t i = 0; words[i]; i++)
                n_url += dockerfile_is_url(words[i]);
        if (n_url && !add)
                return hutch_error_set(err, EINVAL, "line %u: COPY failed: source can't be a URL (use ADD)", in->line);
        v = add ? dockerfile_flag(in, "checksum") : NULL;
        if (v) {
                if (dockerfile_expand_word(v, env, b->df->escape, &checksum, err) < 0)
                        return hutch_error_prefix(err, "line %u: --checksum", in->line);
                if (n_url != 1 || n != 2)
                        return hutch_error_set(err, EINVAL, "line %u: ADD --checksum needs exactly one URL source",
                                               in->line);
                if (!storage_digest_valid(checksum))
                        return hutch_error_set(err, EINVAL,
                                               "line %u: ADD --checksum=%s: expected sha256: and 64 hex digits",
                                               in->line, checksum);
        }
        const char *from = dockerfile_flag(in, "from");
        if (from) {
                char *f = NULL;
                if (dockerfile_expand_word(from, env, b->df->escape, &f, err) < 0)
                        return hutch_error_prefix(err, "line %u: --from", in->line);
                _cleanup_free_ char *fs = f;
                int k = stage_index(b, f, stage_idx);
                const char *ref = f;
                if (k >= 0 && b->stages[k].scratch)
                        return hutch_error_set(err, EINVAL, "line %u: COPY --from=%s: that stage has no files",
                                               in->line, f);
                if (k >= 0)
                        ref = b->stages[k].id;
                if (image_resolve(b, ref, from_id, &from_layers, err) < 0)
                        return hutch_error_prefix(err, "line %u: COPY --from=%s", in->line, f);
                if (!from_layers || !from_layers[0])
                        return hutch_error_set(err, EINVAL, "line %u: COPY --from=%s: the image has no layers",
                                               in->line, f);
        }

        j.bc.what = in->keyword;
        j.bc.ignore = from ? NULL : b->ignore;
        j.bc.sources = words;
        j.bc.dest = dest;
        j.bc.dest_slash = slash;
        j.bc.dest_is_dir = slash;
        j.bc.add = add;
        j.chown = chown;
        j.from_layers = from_layers;
        j.bc.urls = &urls;

        {
                _cleanup_free_ char *srcs = hutch_strv_join(words, " ");
                text = xasprintf("%s%s%s%s%s%s%s%s %s %s", in->keyword, from ? " --from=" : "", from ? from_id : "",
                                 chown ? " --chown=" : "", chown ? chown : "", j.bc.set_mode ? " --chmod" : "",
                                 checksum ? " --checksum=" : "", checksum ? checksum : "", srcs, dest);
        }
        /* URLs: downloaded each build and keyed on their content (as
         * Docker does), unless --checksum names the content already */
        for (size_t i = 0; words[i] && !checksum; i++)
                if (dockerfile_is_url(words[i]) && url_download(b, &urls, in, words[i], NULL, err) < 0)
                        return -1;
        if (checksum) {
                extra = xasprintf("checksum=%s mode=%o", checksum, (unsigned) j.bc.mode);
        } else if (!from) {
                /* the sources' digest, for the key: read here, as ourselves */
                char digest[STORAGE_DIGEST_BUFSIZE];
                j.bc.src_root = b->ctx_fd;
                if (build_copy_write(&j.bc, -1, digest, NULL, err) < 0)
                        return hutch_error_prefix(err, "line %u", in->line);
                extra = xasprintf("%s mode=%o", digest, (unsigned) j.bc.mode);
        } else {
                extra = xasprintf("from=%s mode=%o", from_id, (unsigned) j.bc.mode);
        }
        step_key(st, text, extra, key);
        if (cache_hit(b, st, key, err))
                return 0;
        if (checksum && url_download(b, &urls, in, words[0], checksum, err) < 0)
                return -1;
        if (materialize(st, b, err) < 0 || build_container_files(&b->bs, st->id, &j, err) < 0)
                return hutch_error_prefix(err, "line %u: %s", in->line, in->keyword);
        _cleanup_free_ char *by = xasprintf("/bin/sh -c #(nop) %s %s", in->keyword, text + strlen(in->keyword) + 1);
        return commit_step(b, st, by, key, err);
}

/* WORKDIR: the config, and the directory made in the image (as Docker
 * does), in one step. */
static int do_workdir(struct build *b, struct stage *st, const struct df_instruction *in, struct hutch_error **err)
{
        _cleanup_strv_ char **env = expand_env(st);
        _cleanup_free_ char *value = NULL, *dir = NULL, *text = NULL, *by = NULL;
        char key[65];

        if (dockerfile_expand_word(in->rest, env, b->df->escape, &value, err) < 0)
                return hutch_error_prefix(err, "line %u: WORKDIR", in->line);
        if (!*value)
                return hutch_error_set(err, EINVAL, "line %u: WORKDIR: an empty path", in->line);
        dir = join_path(st->cfg ? st->cfg->working_dir : NULL, value);
        text = xasprintf("WORKDIR %s", dir);
        step_key(st, text, NULL, key);
        if (cache_hit(b, st, key, err))
                return 0;
        struct build_files_job j = { .mkdir = dir };
        if (materialize(st, b, err) < 0 || build_container_files(&b->bs, st->id, &j, err) < 0)
                return hutch_error_prefix(err, "line %u: WORKDIR", in->line);
        char *changes[] = { text, NULL };
        struct cmd_commit_options o = { .created_by = by = xasprintf("/bin/sh -c #(nop) %s", text),
                                        .changes = changes,
                                        .keep_image_config = true };
        char id[STORAGE_DIGEST_HEX_LEN + 1];
        if (cmd_commit_container(b->root, b->bs.container, &o, id, err) < 0)
                return -1;
        build_container_drop(&b->bs);
        build_cache_put(b->s, key, id, st->id);
        if (stage_load(b, st, id, err) < 0)
                return -1;
        out(b, " ---> %.12s\n", id);
        return 0;
}

/* ---- ARG and FROM ---- */

static int do_arg(struct build *b, char ***args, char *const *env, const struct df_instruction *in, bool meta,
                  struct hutch_error **err)
{
        for (size_t i = 0; in->args && in->args[i]; i++) {
                const char *w = in->args[i];
                size_t n = strcspn(w, "=");
                _cleanup_free_ char *k = xstrndup(w, n);
                _cleanup_free_ char *def = NULL;
                /* env NULL: *args itself (before FROM), copied as env_set reallocates it */
                _cleanup_strv_ char **envc = hutch_strv_copy(env ? env : *args);
                const char *given = build_arg(b, k);
                if (w[n] == '=' && dockerfile_expand_word(w + n + 1, envc, b->df->escape, &def, err) < 0)
                        return hutch_error_prefix(err, "line %u: ARG", in->line);
                const char *v = given ? given : def;
                if (!v && !meta)
                        v = env_get(b->meta, k); /* ARG NAME in a stage takes the value from before FROM */
                if (v)
                        env_set(args, k, v);
                if (hutch_strv_length(*args) > DOCKERFILE_MAX_VARIABLES)
                        return hutch_error_set(err, E2BIG, "line %u: more than %u ARGs", in->line,
                                               DOCKERFILE_MAX_VARIABLES);
        }
        return 0;
}

static int do_from(struct build *b, size_t idx, struct hutch_error **err)
{
        const struct df_stage *ds = &b->df->stages[idx];
        struct stage *st = &b->stages[idx];
        const struct df_instruction *in = ds->from;
        _cleanup_free_ char *image = NULL;
        static const char *const known[] = { "platform", NULL };

        if (dockerfile_check_flags(in, known, err) < 0)
                return -1;
        const char *plat = dockerfile_flag(in, "platform");
        if (plat) {
                _cleanup_free_ char *p = NULL, *want = xasprintf("linux/%s", storage_host_arch());
                if (dockerfile_expand_word(plat, b->meta, b->df->escape, &p, err) < 0)
                        return hutch_error_prefix(err, "line %u: FROM --platform", in->line);
                if (strncmp(p, want, strlen(want)) != 0)
                        return hutch_error_set(err, ENOTSUP, "line %u: FROM --platform=%s: only %s can be built here",
                                               in->line, p, want);
        }
        if (dockerfile_expand_word(in->args[0], b->meta, b->df->escape, &image, err) < 0)
                return hutch_error_prefix(err, "line %u: FROM", in->line);
        if (!*image)
                return hutch_error_set(err, EINVAL, "line %u: FROM: the image name is empty", in->line);
        st->name = ds->name ? xstrdup(ds->name) : NULL;
        st->base = xstrdup(image);
        st->shell = hutch_strv_split("/bin/sh -c", " ");
        int k = -1;
        for (size_t i = 0; i < idx; i++)
                if (b->stages[i].name && STREQ(b->stages[i].name, image))
                        k = (int) i;
        if (k >= 0) {
                struct stage *src = &b->stages[k];
                if (src->scratch) {
                        st->scratch = true;
                        st->cfg = xzalloc(sizeof(*st->cfg));
                } else if (stage_load(b, st, src->id, err) < 0) {
                        return -1;
                }
                hutch_strv_free(st->shell);
                st->shell = hutch_strv_copy(src->shell);
        } else if (strcasecmp(image, "scratch") == 0) {
                st->scratch = true;
                st->cfg = xzalloc(sizeof(*st->cfg));
        } else {
                char id[STORAGE_DIGEST_HEX_LEN + 1];
                if (image_resolve(b, image, id, NULL, err) < 0 || stage_load(b, st, id, err) < 0)
                        return hutch_error_prefix(err, "line %u: FROM %s", in->line, image);
                if (st->cfg->shell && st->cfg->shell[0]) { /* the image's SHELL */
                        hutch_strv_free(st->shell);
                        st->shell = hutch_strv_copy(st->cfg->shell);
                }
        }
        if (st->scratch)
                out(b, " ---> scratch\n");
        else
                out(b, " ---> %.12s\n", st->id);
        return 0;
}

/* ---- the whole build ---- */

static int run_instruction(struct build *b, struct stage *st, size_t idx, const struct df_instruction *in,
                           struct hutch_error **err)
{
        int r = 0;

        switch (in->kind) {
        case DF_ARG: {
                _cleanup_strv_ char **env = expand_env(st);
                r = do_arg(b, &st->args, env, in, false, err);
                break;
        }
        case DF_RUN: r = do_run(b, st, in, err); break;
        case DF_COPY:
        case DF_ADD: r = do_copy(b, st, idx, in, err); break;
        case DF_WORKDIR: r = do_workdir(b, st, in, err); break;
        case DF_SHELL:
                /* stored in the image's config, and used by this stage's later steps */
                r = do_config(b, st, in, err);
                if (r == 0) {
                        hutch_strv_free(st->shell);
                        st->shell = hutch_strv_copy(in->args);
                }
                break;
        case DF_FROM: break;
        default: r = do_config(b, st, in, err); break;
        }
        return r;
}

/* The base image's ONBUILD triggers run right after FROM, in order, as if
 * written there (Docker's classic builder).  The stage starts from an image
 * of the base's layers with OnBuild cleared, so only the stage's own ONBUILD
 * instructions reach its image, and a grandchild runs nothing.  Every
 * trigger is parsed before any runs. */
static int run_triggers(struct build *b, size_t idx, const char *image, struct hutch_error **err)
{
        struct stage *st = &b->stages[idx];
        const struct df_instruction *from = b->df->stages[idx].from;
        _cleanup_strv_ char **triggers = NULL;
        _cleanup_free_ char *joined = NULL, *text = NULL;
        struct df_instruction **ins = NULL;
        size_t n;
        char key[65], id[STORAGE_DIGEST_HEX_LEN + 1];
        int r = -1;

        if (st->scratch || !st->cfg || !st->cfg->on_build)
                return 0;
        triggers = steal_ptr(&st->cfg->on_build);
        n = hutch_strv_length(triggers);
        if (n > DOCKERFILE_MAX_INSTRUCTIONS)
                return hutch_error_set(err, E2BIG, "line %u: %s has more than %u ONBUILD triggers", from->line, image,
                                       DOCKERFILE_MAX_INSTRUCTIONS);
        ins = xcalloc(n + 1, sizeof(*ins));
        for (size_t i = 0; i < n; i++)
                if (dockerfile_parse_trigger(triggers[i], from->line, b->df->escape, &ins[i], err) < 0) {
                        hutch_error_prefix(err, "%s: ONBUILD trigger %zu ('%.200s')", image, i + 1, triggers[i]);
                        goto out;
                }

        joined = hutch_strv_join(triggers, "\n");
        text = xasprintf("(OnBuild cleared after)\n%s", joined);
        step_key(st, text, NULL, key);
        if (!cache_hit(b, st, key, err)) {
                if (build_image_derive(b->s, st->id, st->cfg, NULL, id, err) < 0)
                        goto out;
                build_cache_put(b->s, key, id, st->id);
                if (stage_load(b, st, id, err) < 0)
                        goto out;
        }

        out(b, "# Executing %zu build trigger%s\n", n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++) {
                if (interrupted) {
                        r = hutch_error_set(err, EINTR, "interrupted");
                        goto out;
                }
                out(b, "ONBUILD %s\n", ins[i]->original);
                if (run_instruction(b, st, idx, ins[i], err) < 0) {
                        hutch_error_prefix(err, "%s: ONBUILD trigger %zu ('%.200s')", image, i + 1, triggers[i]);
                        goto out;
                }
        }
        r = 0;
out:
        for (size_t i = 0; i < n; i++)
                dockerfile_instruction_free(ins[i]);
        free(ins);
        return r;
}

static int run_stage(struct build *b, size_t idx, struct hutch_error **err)
{
        const struct df_stage *ds = &b->df->stages[idx];
        struct stage *st = &b->stages[idx];

        b->step++;
        out(b, "STEP %u/%u: %s\n", b->step, b->steps, ds->from->original);
        if (do_from(b, idx, err) < 0)
                return -1;
        if (run_triggers(b, idx, st->base, err) < 0)
                return -1;
        for (size_t i = 0; i < ds->n_instrs; i++) {
                const struct df_instruction *in = &ds->instrs[i];
                if (interrupted)
                        return hutch_error_set(err, EINTR, "interrupted");
                b->step++;
                out(b, "STEP %u/%u: %s\n", b->step, b->steps, in->original);
                if (run_instruction(b, st, idx, in, err) < 0)
                        return -1;
        }
        return 0;
}

static int read_all_fd(int fd, const char *what, char **ret, size_t *len, struct hutch_error **err)
{
        int r = hutch_read_fd_alloc(fd, DOCKERFILE_MAX_SIZE, ret, len);
        if (r == -EFBIG)
                return hutch_error_set(err, E2BIG, "%s is larger than %u bytes", what, DOCKERFILE_MAX_SIZE);
        if (r < 0)
                return hutch_error_set(err, -r, "read %s", what);
        return 0;
}

static int load_inputs(struct build *b, const char *context, const char *file, struct hutch_error **err)
{
        _cleanup_free_ char *buf = NULL, *ignore = NULL;
        size_t len = 0;
        struct stat st;

        b->ctx_fd = open(context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (b->ctx_fd < 0)
                return hutch_error_set(err, errno, "build context '%s'", context);
        if (fstat(b->ctx_fd, &st) < 0)
                return hutch_error_set(err, errno, "build context '%s'", context);

        if (file && STREQ(file, "-")) {
                if (read_all_fd(STDIN_FILENO, "the Dockerfile on standard input", &buf, &len, err) < 0)
                        return -1;
        } else {
                _cleanup_close_ int fd = -1;
                const char *shown = file ? file : "Dockerfile";
                if (file) {
                        fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                } else {
                        fd = openat(b->ctx_fd, "Dockerfile", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                        if (fd < 0 && errno == ENOENT)
                                fd = openat(b->ctx_fd, "Containerfile", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                }
                if (fd < 0)
                        return hutch_error_set(err, errno, "the Dockerfile '%s%s%s'", file ? "" : context,
                                               file ? "" : "/", shown);
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                        return hutch_error_set(err, EINVAL, "the Dockerfile '%s' is not a regular file", shown);
                (void) fcntl(fd, F_SETFL, 0);
                if (read_all_fd(fd, "the Dockerfile", &buf, &len, err) < 0)
                        return -1;
        }
        if (dockerfile_parse(buf, len, &b->df, err) < 0)
                return hutch_error_prefix(err, "Dockerfile");

        _cleanup_close_ int ifd = openat(b->ctx_fd, ".dockerignore", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (ifd >= 0) {
                size_t ilen;
                if (fstat(ifd, &st) < 0 || !S_ISREG(st.st_mode))
                        return hutch_error_set(err, EINVAL, ".dockerignore is not a regular file");
                int r = hutch_read_fd_alloc(ifd, 1u << 20, &ignore, &ilen);
                if (r < 0)
                        return hutch_error_set(err, -r, "read .dockerignore");
                if (dockerignore_parse(ignore, ilen, &b->ignore, err) < 0)
                        return -1;
        }
        return 0;
}

static int parse_tag(const char *raw, char **ret, struct hutch_error **err)
{
        struct storage_reference ref = { 0 };
        if (storage_reference_parse(raw, &ref, err) < 0)
                return hutch_error_prefix(err, "tag '%s'", raw);
        if (ref.digest) {
                storage_reference_clear(&ref);
                return hutch_error_set(err, EINVAL, "tag '%s': a name cannot carry a digest", raw);
        }
        *ret = storage_reference_format(&ref);
        storage_reference_clear(&ref);
        return 0;
}

static void build_clear(struct build *b)
{
        build_container_drop(&b->bs);
        for (size_t i = 0; i < b->n_stages; i++) {
                free(b->stages[i].name);
                free(b->stages[i].base);
                storage_image_config_free(b->stages[i].cfg);
                hutch_strv_free(b->stages[i].args);
                hutch_strv_free(b->stages[i].shell);
        }
        free(b->stages);
        dockerfile_free(b->df);
        dockerignore_free(b->ignore);
        if (b->ctx_fd >= 0)
                (void) close(b->ctx_fd);
        hutch_strv_free(b->build_args);
        hutch_strv_free(b->meta);
        free(b->arg_used);
        free(b->network);
        storage_store_free(b->s);
        free(b->root);
}

int cmd_build(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct build b = { .cmd = cmd, .ctx_fd = -1, .bs.lock_fd = -1 };
        _cleanup_strv_ char **tags = NULL;
        _cleanup_free_ char *target = NULL, *file = NULL;
        struct sigaction sa = { .sa_handler = on_interrupt }, old[3];
        static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
        char *optval = NULL;
        int c, r = -1;
        size_t last;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                switch (c) {
                case 't': {
                        char *t = NULL;
                        if (parse_tag(optval, &t, err) < 0)
                                goto out;
                        hutch_strv_push(&tags, t);
                        break;
                }
                case 'f':
                        free(file);
                        file = xstrdup(optval);
                        break;
                case OPT_BUILD_ARG: {
                        size_t n = strcspn(optval, "=");
                        if (n == 0) {
                                r = cmd_usage_error(cmd, err, "--build-arg '%s': expected KEY=VALUE", optval);
                                goto out;
                        }
                        _cleanup_free_ char *k = xstrndup(optval, n);
                        const char *v = optval[n] == '=' ? optval + n + 1 : getenv(k);
                        if (v)
                                env_set(&b.build_args, k, v);
                        break;
                }
                case OPT_TARGET:
                        free(target);
                        target = xstrdup(optval);
                        break;
                case OPT_NO_CACHE: b.no_cache = true; break;
                case 'q': b.quiet = true; break;
                case OPT_NETWORK:
                        free(b.network);
                        b.network = xstrdup(optval);
                        break;
                }
        }
        if (argc - optind != 1) {
                r = cmd_usage_error(cmd, err, "'%s' needs exactly one CONTEXT directory", cmd->full_name);
                goto out;
        }
        b.arg_used = xcalloc(hutch_strv_length(b.build_args) + 1, sizeof(bool));
        r = load_inputs(&b, argv[optind], file, err);
        if (r < 0)
                goto out;
        b.bs.ctx_fd = b.ctx_fd;
        b.bs.quiet = b.quiet;
        b.bs.interrupted = &interrupted;
        last = b.df->n_stages - 1;
        if (target) {
                last = SIZE_MAX;
                for (size_t i = 0; i < b.df->n_stages; i++)
                        if (b.df->stages[i].name && strcasecmp(b.df->stages[i].name, target) == 0)
                                last = i;
                if (last == SIZE_MAX) {
                        r = hutch_error_set(err, EINVAL, "target stage '%s' could not be found", target);
                        goto out;
                }
        }
        b.root = cmd_storage_root();
        b.bs.root = b.root;
        r = cmd_storage_open(STORAGE_STORE_WRITE, &b.s, err);
        if (r < 0)
                goto out;
        r = build_lock_take(&b.bs, err);
        if (r < 0)
                goto out;
        build_reap_stale(&b.bs);
        {
                /* BuildKit's automatic platform ARGs (FROM --platform=$BUILDPLATFORM) */
                _cleanup_free_ char *plat = xasprintf("linux/%s", storage_host_arch());
                static const char *const names[] = { "BUILDPLATFORM", "TARGETPLATFORM" };
                for (size_t i = 0; i < 2; i++)
                        env_set(&b.meta, names[i], plat);
                env_set(&b.meta, "BUILDOS", "linux");
                env_set(&b.meta, "TARGETOS", "linux");
                env_set(&b.meta, "BUILDARCH", storage_host_arch());
                env_set(&b.meta, "TARGETARCH", storage_host_arch());
        }
        for (size_t i = 0; i < b.df->n_meta_args; i++) {
                r = do_arg(&b, &b.meta, NULL, &b.df->meta_args[i], true, err);
                if (r < 0)
                        goto out;
        }
        for (size_t i = 0; i <= last; i++)
                b.steps += 1 + (unsigned) b.df->stages[i].n_instrs;
        b.stages = xcalloc(last + 1, sizeof(*b.stages));
        b.n_stages = last + 1;

        for (int k = 0; k < 3; k++)
                (void) sigaction(sigs[k], &sa, &old[k]);
        for (size_t i = 0; i <= last && r >= 0; i++)
                r = run_stage(&b, i, err);
        if (r >= 0 && b.stages[last].scratch)
                r = materialize(&b.stages[last], &b, err);
        if (r >= 0 && interrupted)
                r = hutch_error_set(err, EINTR, "interrupted");
        build_container_drop(&b.bs);
        for (int k = 0; k < 3; k++)
                (void) sigaction(sigs[k], &old[k], NULL);
        if (r < 0)
                goto out;

        for (size_t i = 0; b.build_args && b.build_args[i]; i++)
                if (!b.arg_used[i]) {
                        size_t n = strcspn(b.build_args[i], "=");
                        fprintf(stderr, "[Warning] one or more build args were not consumed: [%.*s]\n", (int) n,
                                b.build_args[i]);
                }
        const char *id = b.stages[last].id;
        if (tags) {
                r = build_image_tag(b.s, id, tags, err);
                if (r < 0)
                        goto out;
        }
        if (b.quiet) {
                printf("%s\n", id);
        } else {
                printf("Successfully built %.12s\n", id);
                for (size_t i = 0; tags && tags[i]; i++)
                        printf("Successfully tagged %s\n", tags[i]);
                printf("%s\n", id);
        }
        r = 0;
out:
        build_lock_release(&b.bs);
        build_clear(&b);
        return r;
}

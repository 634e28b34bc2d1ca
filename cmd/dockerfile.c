/* Dockerfile parser and Docker's shell-lexer word expansion; see dockerfile.h. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cleanup.h"
#include "dockerfile.h"
#include "strv.h"
#include "xalloc.h"

/* ---- small growable buffers (hutch_strv_push is linear per push) ---- */

struct sbuf {
        char *p;
        size_t n, cap;
};

static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
        if (b->n + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 64;
                while (cap < b->n + n + 1)
                        cap *= 2;
                b->p = xrealloc(b->p, cap);
                b->cap = cap;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = '\0';
}

static void sbuf_addc(struct sbuf *b, char c)
{
        sbuf_add(b, &c, 1);
}

static char *sbuf_steal(struct sbuf *b)
{
        char *r = b->p ? b->p : xstrdup("");
        b->p = NULL;
        b->n = b->cap = 0;
        return r;
}

struct svec {
        char **v;
        size_t n, cap;
};

static void svec_push(struct svec *s, char *str)
{
        if (s->n + 2 > s->cap) {
                s->cap = s->cap ? s->cap * 2 : 8;
                s->v = xreallocarray(s->v, s->cap, sizeof(char *));
        }
        s->v[s->n++] = str;
        s->v[s->n] = NULL;
}

static char **svec_steal(struct svec *s)
{
        char **r = s->v;
        if (!r)
                r = xzalloc(sizeof(char *));
        s->v = NULL;
        s->n = s->cap = 0;
        return r;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* The length of the first word, with the same notion of blank that
 * parse_instruction() splits the keyword by (so "FROM\fx" is FROM). */
static size_t first_word_length(const char *s)
{
        size_t n = 0;
        while (s[n] && !is_blank(s[n]))
                n++;
        return n;
}

/* ---- instruction table ---- */

static const struct {
        const char *name;
        enum df_kind kind;
} kinds[] = {
        { "ADD", DF_ADD },
        { "ARG", DF_ARG },
        { "CMD", DF_CMD },
        { "COPY", DF_COPY },
        { "ENTRYPOINT", DF_ENTRYPOINT },
        { "ENV", DF_ENV },
        { "EXPOSE", DF_EXPOSE },
        { "FROM", DF_FROM },
        { "HEALTHCHECK", DF_HEALTHCHECK },
        { "LABEL", DF_LABEL },
        { "MAINTAINER", DF_MAINTAINER },
        { "ONBUILD", DF_ONBUILD },
        { "RUN", DF_RUN },
        { "SHELL", DF_SHELL },
        { "STOPSIGNAL", DF_STOPSIGNAL },
        { "USER", DF_USER },
        { "VOLUME", DF_VOLUME },
        { "WORKDIR", DF_WORKDIR },
};

const char *dockerfile_kind_name(enum df_kind kind)
{
        for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
                if (kinds[i].kind == kind)
                        return kinds[i].name;
        return "?";
}

bool dockerfile_kind_expands(enum df_kind kind)
{
        switch (kind) {
        case DF_ADD:
        case DF_COPY:
        case DF_ENV:
        case DF_EXPOSE:
        case DF_FROM:
        case DF_LABEL:
        case DF_STOPSIGNAL:
        case DF_USER:
        case DF_VOLUME:
        case DF_WORKDIR:
        case DF_ARG: return true;
        default: return false;
        }
}

/* ---- JSON arrays of strings (exec forms) ---- */

static void put_utf8(struct sbuf *b, uint32_t cp)
{
        char u[4];
        if (cp < 0x80) {
                sbuf_addc(b, (char) cp);
        } else if (cp < 0x800) {
                u[0] = (char) (0xc0 | (cp >> 6));
                u[1] = (char) (0x80 | (cp & 0x3f));
                sbuf_add(b, u, 2);
        } else if (cp < 0x10000) {
                u[0] = (char) (0xe0 | (cp >> 12));
                u[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
                u[2] = (char) (0x80 | (cp & 0x3f));
                sbuf_add(b, u, 3);
        } else {
                u[0] = (char) (0xf0 | (cp >> 18));
                u[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
                u[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
                u[3] = (char) (0x80 | (cp & 0x3f));
                sbuf_add(b, u, 4);
        }
}

static int hex4(const char *s, uint32_t *ret)
{
        uint32_t v = 0;
        for (int i = 0; i < 4; i++) {
                char c = s[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (uint32_t) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (uint32_t) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (uint32_t) (c - 'A' + 10);
                else
                        return -1;
        }
        *ret = v;
        return 0;
}

int dockerfile_parse_json_array(const char *text, char ***ret)
{
        const char *p = text;
        struct svec out = { 0 };
        struct sbuf cur = { 0 };

        while (is_blank(*p))
                p++;
        if (*p++ != '[')
                return -1;
        while (is_blank(*p))
                p++;
        if (*p == ']') {
                p++;
                goto end;
        }
        for (;;) {
                while (is_blank(*p))
                        p++;
                if (*p++ != '"')
                        goto fail;
                for (;;) {
                        unsigned char c = (unsigned char) *p;
                        if (c == '\0' || c < 0x20)
                                goto fail;
                        p++;
                        if (c == '"')
                                break;
                        if (c != '\\') {
                                sbuf_addc(&cur, (char) c);
                                continue;
                        }
                        c = (unsigned char) *p++;
                        switch (c) {
                        case '"':
                        case '\\':
                        case '/': sbuf_addc(&cur, (char) c); break;
                        case 'b': sbuf_addc(&cur, '\b'); break;
                        case 'f': sbuf_addc(&cur, '\f'); break;
                        case 'n': sbuf_addc(&cur, '\n'); break;
                        case 'r': sbuf_addc(&cur, '\r'); break;
                        case 't': sbuf_addc(&cur, '\t'); break;
                        case 'u': {
                                uint32_t cp, lo;
                                if (hex4(p, &cp) < 0)
                                        goto fail;
                                p += 4;
                                if (cp >= 0xd800 && cp < 0xdc00 && p[0] == '\\' && p[1] == 'u' &&
                                    hex4(p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                        p += 6;
                                } else if (cp >= 0xd800 && cp < 0xe000) {
                                        cp = 0xfffd;
                                }
                                if (cp == 0)
                                        goto fail; /* cannot live in a C string */
                                put_utf8(&cur, cp);
                                break;
                        }
                        default: goto fail;
                        }
                }
                svec_push(&out, sbuf_steal(&cur));
                while (is_blank(*p))
                        p++;
                if (*p == ',') {
                        p++;
                        continue;
                }
                if (*p == ']') {
                        p++;
                        break;
                }
                goto fail;
        }
end:
        while (is_blank(*p))
                p++;
        if (*p != '\0')
                goto fail;
        *ret = svec_steal(&out);
        return 0;
fail:
        free(cur.p);
        hutch_strv_free(out.v);
        return -1;
}

/* ---- raw word splitting (quotes and escapes kept, for ENV/LABEL/ARG) ---- */

static char **split_raw_words(const char *s, char escape)
{
        struct svec out = { 0 };
        const char *p = s;

        for (;;) {
                while (is_blank(*p))
                        p++;
                if (!*p)
                        break;
                const char *start = p;
                char quote = 0;
                while (*p) {
                        if (quote) {
                                if (*p == escape && quote == '"' && p[1])
                                        p++;
                                else if (*p == quote)
                                        quote = 0;
                        } else if (*p == escape && p[1]) {
                                p++;
                        } else if (*p == '\'' || *p == '"') {
                                quote = *p;
                        } else if (is_blank(*p)) {
                                break;
                        }
                        p++;
                }
                svec_push(&out, xstrndup(start, (size_t) (p - start)));
        }
        return svec_steal(&out);
}

/* ---- expansion (Docker's shell lexer) ---- */

#define MAX_NESTING 32

struct lexer {
        const char *s;
        size_t i;
        char esc;
        char *const *env;
        bool split;
        struct sbuf word;
        bool have_word;
        struct svec words;
        size_t total;
        unsigned refs; /* variable references: each is a scan of env */
        int depth;
        struct hutch_error **err;
};

static int lex_put(struct lexer *lx, struct sbuf *out, const char *s, size_t n, bool splittable)
{
        lx->total += n;
        if (lx->total > DOCKERFILE_MAX_EXPANSION)
                return hutch_error_set(lx->err, E2BIG, "expansion is longer than %u bytes", DOCKERFILE_MAX_EXPANSION);
        if (out) {
                sbuf_add(out, s, n);
                return 0;
        }
        for (size_t k = 0; k < n; k++) {
                if (lx->split && splittable && is_blank(s[k])) {
                        if (lx->have_word)
                                svec_push(&lx->words, sbuf_steal(&lx->word));
                        lx->have_word = false;
                        continue;
                }
                sbuf_addc(&lx->word, s[k]);
                lx->have_word = true;
        }
        return 0;
}

static const char *env_lookup(char *const *env, const char *name, size_t len)
{
        const char *found = NULL;
        for (size_t k = 0; env && env[k]; k++)
                if (strncmp(env[k], name, len) == 0 && env[k][len] == '=')
                        found = env[k] + len + 1;
        return found;
}

static int lex_until(struct lexer *lx, struct sbuf *out, char stop);

static int lex_dollar(struct lexer *lx, struct sbuf *out, bool quoted)
{
        const char *s = lx->s;
        size_t start;

        /* s[lx->i] is just past '$' */
        if (++lx->refs > DOCKERFILE_MAX_REFERENCES)
                return hutch_error_set(lx->err, E2BIG, "more than %u variable references", DOCKERFILE_MAX_REFERENCES);
        if (s[lx->i] != '{') {
                start = lx->i;
                if (isdigit((unsigned char) s[lx->i]))
                        lx->i++;
                else
                        while (isalnum((unsigned char) s[lx->i]) || s[lx->i] == '_')
                                lx->i++;
                if (lx->i == start)
                        return lex_put(lx, out, "$", 1, false);
                const char *v = env_lookup(lx->env, s + start, lx->i - start);
                return v ? lex_put(lx, out, v, strlen(v), !quoted) : 0;
        }

        lx->i++;
        start = lx->i;
        while (isalnum((unsigned char) s[lx->i]) || s[lx->i] == '_')
                lx->i++;
        size_t name_len = lx->i - start;
        if (name_len == 0)
                return hutch_error_set(lx->err, EINVAL, "bad substitution '${%.*s'", 16, s + start);
        const char *v = env_lookup(lx->env, s + start, name_len);
        char c = s[lx->i];
        if (c == '}') {
                lx->i++;
                return v ? lex_put(lx, out, v, strlen(v), !quoted) : 0;
        }
        bool colon = false;
        if (c == ':') {
                colon = true;
                c = s[++lx->i];
        }
        if (c != '-' && c != '+' && c != '?') {
                if (c == '\0')
                        return hutch_error_set(lx->err, EINVAL, "missing '}' in '${%.*s'", (int) name_len, s + start);
                return hutch_error_set(lx->err, EINVAL, "unsupported modifier '%c' in '${%.*s...}'", c, (int) name_len,
                                       s + start);
        }
        lx->i++;
        if (++lx->depth > MAX_NESTING)
                return hutch_error_set(lx->err, EINVAL, "substitutions nested deeper than %d", MAX_NESTING);
        struct sbuf w = { 0 };
        int r = lex_until(lx, &w, '}');
        lx->depth--;
        if (r < 0) {
                free(w.p);
                return r;
        }
        if (lx->s[lx->i] != '}') {
                free(w.p);
                return hutch_error_set(lx->err, EINVAL, "missing '}' in '${%.*s'", (int) name_len, s + start);
        }
        lx->i++;
        bool set = v && (!colon || *v);
        const char *w_s = w.p ? w.p : "";
        switch (c) {
        case '-': r = set ? lex_put(lx, out, v, strlen(v), !quoted) : lex_put(lx, out, w_s, w.n, !quoted); break;
        case '+': r = set ? lex_put(lx, out, w_s, w.n, !quoted) : 0; break;
        default: /* '?' */
                if (set)
                        r = lex_put(lx, out, v, strlen(v), !quoted);
                else
                        r = hutch_error_set(lx->err, EINVAL, "%.*s: %s", (int) name_len, s + start,
                                            w.n ? w_s : "is not allowed to be unset");
                break;
        }
        free(w.p);
        return r;
}

/* Reads up to an unquoted `stop` (or the end when stop is 0), expanding into
 * out (or into the word list when out is NULL). */
static int lex_until(struct lexer *lx, struct sbuf *out, char stop)
{
        const char *s = lx->s;
        int r;

        while (s[lx->i] && !(stop && s[lx->i] == stop)) {
                char c = s[lx->i++];
                if (c == '\'') {
                        size_t start = lx->i;
                        while (s[lx->i] && s[lx->i] != '\'')
                                lx->i++;
                        if (!s[lx->i])
                                return hutch_error_set(lx->err, EINVAL,
                                                       "unexpected end of text looking for matching '");
                        if (!out)
                                lx->have_word = true;
                        r = lex_put(lx, out, s + start, lx->i - start, false);
                        lx->i++;
                } else if (c == '"') {
                        if (!out)
                                lx->have_word = true;
                        for (;;) {
                                c = s[lx->i];
                                if (!c)
                                        return hutch_error_set(lx->err, EINVAL,
                                                               "unexpected end of text looking for matching \"");
                                lx->i++;
                                if (c == '"')
                                        break;
                                if (c == '$') {
                                        r = lex_dollar(lx, out, true);
                                } else {
                                        if (c == lx->esc && (s[lx->i] == '"' || s[lx->i] == '$' || s[lx->i] == lx->esc))
                                                c = s[lx->i++];
                                        r = lex_put(lx, out, &c, 1, false);
                                }
                                if (r < 0)
                                        return r;
                        }
                        r = 0;
                } else if (c == '$') {
                        r = lex_dollar(lx, out, false);
                } else if (c == lx->esc) {
                        c = s[lx->i];
                        if (!c)
                                break; /* a trailing escape is dropped */
                        lx->i++;
                        r = lex_put(lx, out, &c, 1, false);
                } else {
                        r = lex_put(lx, out, &c, 1, true);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int dockerfile_expand_word(const char *word, char *const *env, char escape, char **ret, struct hutch_error **err)
{
        struct lexer lx = { .s = word, .esc = escape, .env = env, .err = err };
        struct sbuf out = { 0 };
        int r = lex_until(&lx, &out, 0);
        if (r < 0) {
                free(out.p);
                return r;
        }
        *ret = sbuf_steal(&out);
        return 0;
}

int dockerfile_expand_words(const char *text, char *const *env, char escape, char ***ret, struct hutch_error **err)
{
        struct lexer lx = { .s = text, .esc = escape, .env = env, .split = true, .err = err };
        int r = lex_until(&lx, NULL, 0);
        if (r < 0) {
                free(lx.word.p);
                hutch_strv_free(lx.words.v);
                return r;
        }
        if (lx.have_word)
                svec_push(&lx.words, sbuf_steal(&lx.word));
        free(lx.word.p);
        *ret = svec_steal(&lx.words);
        return 0;
}

/* ---- instructions ---- */

static void instruction_clear(struct df_instruction *in)
{
        free(in->keyword);
        free(in->original);
        free(in->rest);
        hutch_strv_free(in->flags);
        hutch_strv_free(in->args);
        if (in->sub) {
                instruction_clear(in->sub);
                free(in->sub);
        }
        memset(in, 0, sizeof(*in));
}

const char *dockerfile_flag(const struct df_instruction *in, const char *name)
{
        size_t n = strlen(name);
        const char *found = NULL;
        for (size_t k = 0; in->flags && in->flags[k]; k++) {
                const char *f = in->flags[k] + 2;
                if (strncmp(f, name, n) == 0 && (f[n] == '=' || f[n] == '\0'))
                        found = f[n] == '=' ? f + n + 1 : "";
        }
        return found;
}

int dockerfile_check_flags(const struct df_instruction *in, const char *const *known, struct hutch_error **err)
{
        for (size_t k = 0; in->flags && in->flags[k]; k++) {
                const char *f = in->flags[k] + 2;
                size_t n = strcspn(f, "=");
                bool ok = false;
                for (size_t j = 0; known && known[j]; j++)
                        if (strlen(known[j]) == n && strncmp(known[j], f, n) == 0)
                                ok = true;
                if (!ok)
                        return hutch_error_set(err, EINVAL, "line %u: %s: unknown flag '--%.*s'", in->line, in->keyword,
                                               (int) n, f);
        }
        return 0;
}

static bool takes_flags(enum df_kind kind)
{
        return kind == DF_ADD || kind == DF_COPY || kind == DF_FROM || kind == DF_RUN || kind == DF_HEALTHCHECK;
}

/* A heredoc opener "<<EOF", "<<-EOF", "<<'EOF'" at the start of a word. */
static bool has_heredoc(const char *s)
{
        for (const char *p = strstr(s, "<<"); p; p = strstr(p + 2, "<<")) {
                if (p != s && !is_blank(p[-1]))
                        continue;
                const char *q = p + 2;
                if (*q == '-')
                        q++;
                if (*q == '"' || *q == '\'')
                        q++;
                if (isalpha((unsigned char) *q) || *q == '_')
                        return true;
        }
        return false;
}

static int parse_name_values(struct df_instruction *in, char escape, struct hutch_error **err)
{
        _cleanup_strv_ char **words = split_raw_words(in->rest, escape);
        struct svec out = { 0 };

        if (!words[0])
                return hutch_error_set(err, EINVAL, "line %u: %s requires at least one argument", in->line,
                                       in->keyword);
        if (!strchr(words[0], '=')) {
                /* legacy "ENV name value with spaces" */
                if (!words[1])
                        return hutch_error_set(err, EINVAL,
                                               "line %u: %s must have two arguments (%s name value or name=value)",
                                               in->line, in->keyword, in->keyword);
                const char *p = in->rest + strlen(words[0]);
                while (is_blank(*p))
                        p++;
                svec_push(&out, xstrdup(words[0]));
                svec_push(&out, xstrdup(p));
                in->args = svec_steal(&out);
                return 0;
        }
        for (size_t k = 0; words[k]; k++) {
                char *eq = strchr(words[k], '=');
                if (!eq || eq == words[k]) {
                        hutch_strv_free(out.v);
                        return hutch_error_set(err, EINVAL, "line %u: %s: can't find '=' in '%s' (must be name=value)",
                                               in->line, in->keyword, words[k]);
                }
                svec_push(&out, xstrndup(words[k], (size_t) (eq - words[k])));
                svec_push(&out, xstrdup(eq + 1));
        }
        in->args = svec_steal(&out);
        return 0;
}

static bool valid_stage_name(const char *s)
{
        if (!islower((unsigned char) s[0]))
                return false;
        for (const char *p = s; *p; p++)
                if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p) && *p != '-' && *p != '_' && *p != '.')
                        return false;
        return true;
}

static int parse_instruction(const char *text, unsigned line, char escape, bool nested, struct df_instruction *in,
                             struct hutch_error **err);

static int parse_args(struct df_instruction *in, char escape, struct hutch_error **err)
{
        const char *k = in->keyword;

        switch (in->kind) {
        case DF_RUN:
        case DF_CMD:
        case DF_ENTRYPOINT:
                if (dockerfile_parse_json_array(in->rest, &in->args) == 0) {
                        in->json = true;
                        if (in->kind == DF_RUN && !in->args[0])
                                return hutch_error_set(err, EINVAL, "line %u: RUN requires at least one argument",
                                                       in->line);
                        return 0;
                }
                if (!*in->rest && in->kind == DF_RUN)
                        return hutch_error_set(err, EINVAL, "line %u: RUN requires at least one argument", in->line);
                if (in->kind == DF_RUN && has_heredoc(in->rest))
                        return hutch_error_set(err, ENOTSUP, "line %u: heredocs (<<EOF) in RUN are not supported",
                                               in->line);
                return 0;
        case DF_SHELL:
                if (dockerfile_parse_json_array(in->rest, &in->args) < 0)
                        return hutch_error_set(err, EINVAL, "line %u: SHELL requires the arguments to be in JSON form",
                                               in->line);
                in->json = true;
                if (!in->args[0])
                        return hutch_error_set(err, EINVAL, "line %u: SHELL requires at least one argument", in->line);
                return 0;
        case DF_ENV:
        case DF_LABEL: return parse_name_values(in, escape, err);
        case DF_ARG: {
                _cleanup_strv_ char **words = split_raw_words(in->rest, escape);
                if (!words[0])
                        return hutch_error_set(err, EINVAL, "line %u: ARG requires at least one argument", in->line);
                for (size_t j = 0; words[j]; j++) {
                        size_t n = strcspn(words[j], "=");
                        if (n == 0)
                                return hutch_error_set(err, EINVAL, "line %u: ARG: a name is missing in '%s'", in->line,
                                                       words[j]);
                }
                in->args = steal_ptr(&words);
                return 0;
        }
        case DF_FROM: {
                _cleanup_strv_ char **words = split_raw_words(in->rest, escape);
                size_t n = hutch_strv_length(words);
                if (n != 1 && !(n == 3 && strcasecmp(words[1], "as") == 0))
                        return hutch_error_set(err, EINVAL,
                                               "line %u: FROM requires either one or three arguments (IMAGE [AS NAME])",
                                               in->line);
                in->args = steal_ptr(&words);
                if (n == 3) {
                        for (char *p = in->args[2]; *p; p++)
                                *p = (char) tolower((unsigned char) *p);
                        if (!valid_stage_name(in->args[2]))
                                return hutch_error_set(
                                        err, EINVAL,
                                        "line %u: invalid stage name '%s' (letters, digits, '-', '_', '.', "
                                        "starting with a letter)",
                                        in->line, in->args[2]);
                }
                return 0;
        }
        case DF_COPY:
        case DF_ADD: {
                if (has_heredoc(in->rest))
                        return hutch_error_set(err, ENOTSUP, "line %u: heredocs (<<EOF) in %s are not supported",
                                               in->line, k);
                if (dockerfile_parse_json_array(in->rest, &in->args) == 0)
                        in->json = true;
                _cleanup_strv_ char **words = in->json ? NULL : split_raw_words(in->rest, escape);
                if (hutch_strv_length(in->json ? in->args : words) < 2)
                        return hutch_error_set(err, EINVAL,
                                               "line %u: %s requires at least two arguments (SOURCE... DEST)", in->line,
                                               k);
                return 0;
        }
        case DF_VOLUME:
                if (dockerfile_parse_json_array(in->rest, &in->args) == 0)
                        in->json = true;
                if (in->json ? !in->args[0] : !*in->rest)
                        return hutch_error_set(err, EINVAL, "line %u: VOLUME requires at least one argument", in->line);
                return 0;
        case DF_EXPOSE:
        case DF_USER:
        case DF_WORKDIR:
        case DF_STOPSIGNAL:
        case DF_MAINTAINER:
                if (!*in->rest)
                        return hutch_error_set(err, EINVAL, "line %u: %s requires an argument", in->line, k);
                return 0;
        case DF_HEALTHCHECK: {
                if (strcasecmp(in->rest, "NONE") == 0)
                        return 0;
                size_t n = first_word_length(in->rest);
                if (n != 3 || strncasecmp(in->rest, "CMD", 3) != 0)
                        return hutch_error_set(err, EINVAL, "line %u: HEALTHCHECK requires NONE or CMD COMMAND",
                                               in->line);
                in->sub = xzalloc(sizeof(*in->sub));
                return parse_instruction(in->rest, in->line, escape, true, in->sub, err);
        }
        case DF_ONBUILD: {
                if (!*in->rest)
                        return hutch_error_set(err, EINVAL, "line %u: ONBUILD requires an instruction", in->line);
                size_t n = first_word_length(in->rest);
                if ((n == 7 && strncasecmp(in->rest, "ONBUILD", 7) == 0) ||
                    (n == 4 && strncasecmp(in->rest, "FROM", 4) == 0) ||
                    (n == 10 && strncasecmp(in->rest, "MAINTAINER", 10) == 0))
                        return hutch_error_set(err, EINVAL, "line %u: %.*s isn't allowed as an ONBUILD trigger",
                                               in->line, (int) n, in->rest);
                in->sub = xzalloc(sizeof(*in->sub));
                return parse_instruction(in->rest, in->line, escape, true, in->sub, err);
        }
        }
        return 0;
}

static int parse_instruction(const char *text, unsigned line, char escape, bool nested, struct df_instruction *in,
                             struct hutch_error **err)
{
        const char *p = text;
        while (is_blank(*p))
                p++;
        size_t n = first_word_length(p);

        in->line = line;
        in->original = xstrdup(p);
        in->keyword = xstrndup(p, n);
        for (char *c = in->keyword; *c; c++)
                *c = (char) toupper((unsigned char) *c);
        bool found = false;
        for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
                if (STREQ(kinds[k].name, in->keyword)) {
                        in->kind = kinds[k].kind;
                        found = true;
                }
        if (!found)
                return hutch_error_set(err, EINVAL, "line %u: unknown instruction: %.*s", line, n > 64 ? 64 : (int) n,
                                       p);
        (void) nested;

        p += n;
        while (is_blank(*p))
                p++;
        struct svec flags = { 0 };
        if (takes_flags(in->kind)) {
                while (p[0] == '-' && p[1] == '-') {
                        const char *start = p;
                        char quote = 0;
                        while (*p && (quote || !is_blank(*p))) {
                                if (quote && *p == quote)
                                        quote = 0;
                                else if (!quote && (*p == '"' || *p == '\''))
                                        quote = *p;
                                p++;
                        }
                        if (p - start == 2) {
                                hutch_strv_free(flags.v);
                                return hutch_error_set(err, EINVAL, "line %u: %s: a flag name is missing after '--'",
                                                       line, in->keyword);
                        }
                        svec_push(&flags, xstrndup(start, (size_t) (p - start)));
                        while (is_blank(*p))
                                p++;
                }
        }
        in->flags = flags.v;
        size_t len = strlen(p);
        while (len > 0 && is_blank(p[len - 1]))
                len--;
        in->rest = xstrndup(p, len);
        return parse_args(in, escape, err);
}

/* ---- ADD's URL sources ---- */

bool dockerfile_is_url(const char *s)
{
        return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

char *dockerfile_url_file_name(const char *url)
{
        const char *p = strstr(url, "://");
        p = p ? p + 3 : url;
        size_t end = strcspn(p, "?#");
        const char *path = memchr(p, '/', end);
        if (!path)
                return NULL;
        size_t n = end - (size_t) (path - p);
        while (n > 0 && path[n - 1] == '/')
                n--;
        const char *last = path;
        for (size_t i = 0; i < n; i++)
                if (path[i] == '/')
                        last = path + i + 1;
        size_t len = n - (size_t) (last - path);
        if (len == 0 || (len == 1 && last[0] == '.') || (len == 2 && last[0] == '.' && last[1] == '.'))
                return NULL;
        return xstrndup(last, len);
}

/* ---- ONBUILD triggers from an image's config ---- */

int dockerfile_parse_trigger(const char *text, unsigned line, char escape, struct df_instruction **ret,
                             struct hutch_error **err)
{
        struct df_instruction tmp = { 0 };

        if (strlen(text) > DOCKERFILE_MAX_LINE)
                return hutch_error_set(err, E2BIG, "line %u: the ONBUILD trigger is longer than %u bytes", line,
                                       DOCKERFILE_MAX_LINE);
        /* a trigger is one instruction on one line (Docker: "should be a single expression") */
        if (strpbrk(text, "\n\r"))
                return hutch_error_set(err, EINVAL, "line %u: the ONBUILD trigger is not a single instruction", line);
        _cleanup_free_ char *full = xasprintf("ONBUILD %s", text);
        if (parse_instruction(full, line, escape, true, &tmp, err) < 0) {
                instruction_clear(&tmp);
                return -1;
        }
        *ret = steal_ptr(&tmp.sub);
        instruction_clear(&tmp);
        return 0;
}

struct df_instruction *dockerfile_instruction_free(struct df_instruction *in)
{
        if (in) {
                instruction_clear(in);
                free(in);
        }
        return NULL;
}

/* ---- the file ---- */

struct dockerfile *dockerfile_free(struct dockerfile *df)
{
        if (!df)
                return NULL;
        for (size_t i = 0; i < df->n_meta_args; i++)
                instruction_clear(&df->meta_args[i]);
        free(df->meta_args);
        for (size_t s = 0; s < df->n_stages; s++) {
                struct df_stage *st = &df->stages[s];
                instruction_clear(st->from);
                free(st->from);
                for (size_t i = 0; i < st->n_instrs; i++)
                        instruction_clear(&st->instrs[i]);
                free(st->instrs);
        }
        free(df->stages);
        free(df);
        return NULL;
}
DEFINE_CLEANUP(struct dockerfile *, dockerfile_free)

/* Directives: "# key=value" lines at the very top; the first other line ends them. */
static int parse_directive(const char *line, size_t len, struct dockerfile *df, bool *seen_escape, unsigned lineno,
                           struct hutch_error **err)
{
        size_t i = 0;
        while (i < len && is_blank(line[i]))
                i++;
        if (i >= len || line[i] != '#')
                return 0;
        i++;
        while (i < len && is_blank(line[i]))
                i++;
        size_t ks = i;
        while (i < len && (isalnum((unsigned char) line[i]) || line[i] == '_'))
                i++;
        size_t kl = i - ks;
        while (i < len && is_blank(line[i]))
                i++;
        if (kl == 0 || i >= len || line[i] != '=')
                return 0;
        i++;
        while (i < len && is_blank(line[i]))
                i++;
        size_t ve = len;
        while (ve > i && is_blank(line[ve - 1]))
                ve--;
        if (kl == 6 && strncasecmp(line + ks, "escape", 6) == 0) {
                if (*seen_escape)
                        return hutch_error_set(err, EINVAL, "line %u: only one escape parser directive can be used",
                                               lineno);
                if (ve - i != 1 || (line[i] != '\\' && line[i] != '`'))
                        return hutch_error_set(err, EINVAL,
                                               "line %u: invalid escape token '%.*s' does not match ` or \\", lineno,
                                               (int) (ve - i > 8 ? 8 : ve - i), line + i);
                df->escape = line[i];
                *seen_escape = true;
                return 1;
        }
        if ((kl == 6 && strncasecmp(line + ks, "syntax", 6) == 0) ||
            (kl == 5 && strncasecmp(line + ks, "check", 5) == 0))
                return 1; /* known, and nothing for us to do */
        return 0;         /* an unknown one is a comment, and ends the directives (as Docker's) */
}

/* Does the physical line end with the escape char (trailing blanks allowed)?
 * Returns the length without it, or -1. */
static ssize_t continuation(const char *line, size_t len, char escape)
{
        size_t e = len;
        while (e > 0 && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r'))
                e--;
        if (e > 0 && line[e - 1] == escape)
                return (ssize_t) (e - 1);
        return -1;
}

static bool blank_line(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!is_blank(s[i]))
                        return false;
        return true;
}

static bool comment_line(const char *s, size_t n)
{
        size_t i = 0;
        while (i < n && is_blank(s[i]))
                i++;
        return i < n && s[i] == '#';
}

static int add_instruction(struct dockerfile *df, struct df_instruction *in, size_t *count, struct hutch_error **err)
{
        if (++*count > DOCKERFILE_MAX_INSTRUCTIONS) {
                int r = hutch_error_set(err, E2BIG, "line %u: more than %u instructions", in->line,
                                        DOCKERFILE_MAX_INSTRUCTIONS);
                instruction_clear(in);
                return r;
        }
        if (in->kind == DF_FROM) {
                df->stages = xreallocarray(df->stages, df->n_stages + 1, sizeof(*df->stages));
                struct df_stage *st = &df->stages[df->n_stages++];
                memset(st, 0, sizeof(*st));
                st->line = in->line;
                st->from = xmalloc(sizeof(*in));
                *st->from = *in;
                if (hutch_strv_length(in->args) == 3) {
                        st->name = in->args[2];
                        for (size_t s = 0; s + 1 < df->n_stages; s++)
                                if (df->stages[s].name && STREQ(df->stages[s].name, st->name))
                                        return hutch_error_set(err, EINVAL, "line %u: duplicate stage name '%s'",
                                                               in->line, st->name);
                }
                return 0;
        }
        if (df->n_stages == 0) {
                if (in->kind != DF_ARG) {
                        int r = hutch_error_set(
                                err, EINVAL,
                                "line %u: %s before the first FROM (a Dockerfile must begin with FROM, after "
                                "optional ARGs)",
                                in->line, in->keyword);
                        instruction_clear(in);
                        return r;
                }
                df->meta_args = xreallocarray(df->meta_args, df->n_meta_args + 1, sizeof(*in));
                df->meta_args[df->n_meta_args++] = *in;
                return 0;
        }
        struct df_stage *st = &df->stages[df->n_stages - 1];
        st->instrs = xreallocarray(st->instrs, st->n_instrs + 1, sizeof(*in));
        st->instrs[st->n_instrs++] = *in;
        return 0;
}

int dockerfile_parse(const char *buf, size_t len, struct dockerfile **ret, struct hutch_error **err)
{
        _cleanup_(dockerfile_free_cleanup) struct dockerfile *df = xzalloc(sizeof(*df));
        struct sbuf logical = { 0 };
        bool in_directives = true, seen_escape = false, continuing = false;
        unsigned lineno = 0, start_line = 0;
        size_t count = 0;
        int r = 0;

        df->escape = '\\';
        if (len > DOCKERFILE_MAX_SIZE)
                return hutch_error_set(err, E2BIG, "the Dockerfile is larger than %u bytes", DOCKERFILE_MAX_SIZE);
        if (memchr(buf, '\0', len))
                return hutch_error_set(err, EINVAL, "the Dockerfile contains a NUL byte");
        /* a UTF-8 byte order mark */
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
                buf += 3;
                len -= 3;
        }

        for (size_t pos = 0; pos < len || continuing;) {
                const char *line = buf + pos;
                size_t n = 0;
                bool eof = pos >= len;
                if (!eof) {
                        const char *nl = memchr(line, '\n', len - pos);
                        n = nl ? (size_t) (nl - line) : len - pos;
                        pos += n + (nl ? 1 : 0);
                        lineno++;
                }
                if (!eof && in_directives) {
                        r = parse_directive(line, n, df, &seen_escape, lineno, err);
                        if (r < 0)
                                goto out;
                        if (r > 0)
                                continue;
                        in_directives = false;
                }
                if (!eof) {
                        if (comment_line(line, n))
                                continue;
                        if (blank_line(line, n)) {
                                /* an empty continuation line is skipped (Docker warns) */
                                continue;
                        }
                        ssize_t c = continuation(line, n, df->escape);
                        if (!continuing)
                                start_line = lineno;
                        sbuf_add(&logical, line, c >= 0 ? (size_t) c : n);
                        if (logical.n > DOCKERFILE_MAX_LINE) {
                                r = hutch_error_set(err, E2BIG, "line %u: instruction is longer than %u bytes",
                                                    start_line, DOCKERFILE_MAX_LINE);
                                goto out;
                        }
                        if (c >= 0) {
                                continuing = true;
                                if (pos < len)
                                        continue;
                        }
                }
                continuing = false;
                if (!logical.p || blank_line(logical.p, logical.n)) {
                        logical.n = 0;
                        continue;
                }
                struct df_instruction in = { 0 };
                /* strip a CR left by CRLF line ends */
                for (size_t i = 0; i < logical.n; i++)
                        if (logical.p[i] == '\r')
                                logical.p[i] = ' ';
                r = parse_instruction(logical.p, start_line, df->escape, false, &in, err);
                logical.n = 0;
                logical.p[0] = '\0';
                if (r < 0) {
                        instruction_clear(&in);
                        goto out;
                }
                r = add_instruction(df, &in, &count, err);
                if (r < 0)
                        goto out;
        }
        if (df->n_stages == 0) {
                r = hutch_error_set(err, EINVAL, "the Dockerfile has no FROM instruction");
                goto out;
        }
        *ret = steal_ptr(&df);
        r = 0;
out:
        free(logical.p);
        return r;
}

int dockerfile_parse_duration(const char *s, int64_t *ret_ns)
{
        static const struct {
                const char *name;
                uint64_t ns;
        } units[] = {
                { "ns", 1 },
                { "us", 1000 },
                { "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
                { "\xce\xbcs", 1000 }, /* U+03BC Greek mu */
                { "ms", 1000000 },
                { "s", 1000000000ULL },
                { "m", 60ULL * 1000000000ULL },
                { "h", 3600ULL * 1000000000ULL },
        };
        bool neg = false;
        uint64_t total = 0;

        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        if (STREQ(s, "0")) {
                *ret_ns = 0;
                return 0;
        }
        if (*s == '\0')
                return -EINVAL;
        while (*s) {
                uint64_t whole = 0, frac = 0, scale = 1;
                bool digits = false;
                while (*s >= '0' && *s <= '9') {
                        if (whole > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        whole = whole * 10 + (uint64_t) (*s++ - '0');
                        digits = true;
                }
                if (*s == '.') {
                        s++;
                        while (*s >= '0' && *s <= '9') {
                                /* digits past what a uint64 holds cannot change the result */
                                if (scale <= UINT64_MAX / 10 / 10) {
                                        frac = frac * 10 + (uint64_t) (*s - '0');
                                        scale *= 10;
                                }
                                s++;
                                digits = true;
                        }
                }
                if (!digits)
                        return -EINVAL;
                size_t n = 0;
                uint64_t unit = 0;
                for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
                        size_t l = strlen(units[i].name);
                        /* the longest match: "ms" before "m" */
                        if (l > n && strncmp(s, units[i].name, l) == 0) {
                                n = l;
                                unit = units[i].ns;
                        }
                }
                if (n == 0)
                        return -EINVAL; /* a number without its unit */
                s += n;
                if (whole > (uint64_t) INT64_MAX / unit)
                        return -ERANGE;
                uint64_t v = whole * unit;
                if (frac)
                        v += (uint64_t) ((double) frac * ((double) unit / (double) scale));
                if (v > (uint64_t) INT64_MAX || total > (uint64_t) INT64_MAX - v)
                        return -ERANGE;
                total += v;
        }
        *ret_ns = neg ? -(int64_t) total : (int64_t) total;
        return 0;
}

/* .dockerignore patterns; see dockerignore.h. */
#include <limits.h>
#include <string.h>

#include "cleanup.h"
#include "dockerignore.h"
#include "xalloc.h"

enum tok_kind {
        T_LIT,
        T_ONE,       /* ? */
        T_STAR,      /* * */
        T_DSTAR_END, /* ** at the end: anything */
        T_DSTAR_DIR, /* ** before more: any number of directories */
        T_CLASS,
};

struct tok {
        enum tok_kind kind;
        char c;
        bool negated;
        char *set; /* T_CLASS: pairs lo,hi */
        size_t n_set;
};

struct pattern {
        struct tok *toks;
        size_t n;
        bool exception;
};

struct dockerignore {
        struct pattern *v;
        size_t n;
        bool exceptions;
};

static void pattern_clear(struct pattern *p)
{
        for (size_t i = 0; i < p->n; i++)
                free(p->toks[i].set);
        free(p->toks);
        p->toks = NULL;
        p->n = 0;
}

static void push_tok(struct pattern *p, struct tok t)
{
        p->toks = xreallocarray(p->toks, p->n + 1, sizeof(*p->toks));
        p->toks[p->n++] = t;
}

/* Compiles s; false for a malformed pattern (an unterminated class). */
static bool compile(const char *s, struct pattern *p)
{
        for (size_t i = 0; s[i];) {
                char c = s[i++];
                if (c == '*') {
                        if (s[i] == '*') {
                                i++;
                                if (s[i] == '/')
                                        i++;
                                push_tok(p, (struct tok){ .kind = s[i] ? T_DSTAR_DIR : T_DSTAR_END });
                        } else {
                                push_tok(p, (struct tok){ .kind = T_STAR });
                        }
                } else if (c == '?') {
                        push_tok(p, (struct tok){ .kind = T_ONE });
                } else if (c == '\\') {
                        if (!s[i])
                                return false;
                        push_tok(p, (struct tok){ .kind = T_LIT, .c = s[i++] });
                } else if (c == '[') {
                        struct tok t = { .kind = T_CLASS };
                        if (s[i] == '^') {
                                t.negated = true;
                                i++;
                        }
                        bool first = true;
                        for (;;) {
                                char lo = s[i];
                                if (!lo) {
                                        free(t.set);
                                        return false;
                                }
                                if (lo == ']' && !first) {
                                        i++;
                                        break;
                                }
                                first = false;
                                i++;
                                if (lo == '\\') {
                                        lo = s[i];
                                        if (!lo) {
                                                free(t.set);
                                                return false;
                                        }
                                        i++;
                                }
                                char hi = lo;
                                if (s[i] == '-' && s[i + 1] && s[i + 1] != ']') {
                                        hi = s[i + 1];
                                        i += 2;
                                        if (hi == '\\') {
                                                hi = s[i];
                                                if (!hi) {
                                                        free(t.set);
                                                        return false;
                                                }
                                                i++;
                                        }
                                }
                                t.set = xrealloc(t.set, t.n_set * 2 + 2);
                                t.set[t.n_set * 2] = lo;
                                t.set[t.n_set * 2 + 1] = hi;
                                t.n_set++;
                        }
                        push_tok(p, t);
                } else {
                        push_tok(p, (struct tok){ .kind = T_LIT, .c = c });
                }
        }
        return true;
}

static bool class_has(const struct tok *t, char c)
{
        bool in = false;
        for (size_t k = 0; k < t->n_set && !in; k++)
                in = (unsigned char) c >= (unsigned char) t->set[2 * k] &&
                     (unsigned char) c <= (unsigned char) t->set[2 * k + 1];
        return in != t->negated;
}

/* A DP over path positions: reach[i] says the pattern so far can end
 * having consumed path[0..i). */
static bool pattern_matches(const struct pattern *p, const char *path)
{
        size_t n = strlen(path);
        _cleanup_free_ bool *cur = xcalloc(n + 1, sizeof(bool));
        _cleanup_free_ bool *next = xcalloc(n + 1, sizeof(bool));
        cur[0] = true;

        for (size_t t = 0; t < p->n; t++) {
                const struct tok *k = &p->toks[t];
                bool any = false, run = false;
                memset(next, 0, n + 1);
                for (size_t i = 0; i <= n; i++) {
                        switch (k->kind) {
                        case T_LIT:
                                if (i < n && cur[i] && path[i] == k->c)
                                        next[i + 1] = true;
                                break;
                        case T_ONE:
                                if (i < n && cur[i] && path[i] != '/')
                                        next[i + 1] = true;
                                break;
                        case T_CLASS:
                                if (i < n && cur[i] && class_has(k, path[i]))
                                        next[i + 1] = true;
                                break;
                        case T_STAR:
                                if (i > 0 && path[i - 1] == '/')
                                        run = false;
                                run = run || cur[i];
                                next[i] = run;
                                break;
                        case T_DSTAR_END:
                                any = any || cur[i];
                                next[i] = any;
                                break;
                        case T_DSTAR_DIR:
                                next[i] = cur[i] || (any && i > 0 && path[i - 1] == '/');
                                any = any || cur[i];
                                break;
                        }
                }
                bool *tmp = cur;
                cur = next;
                next = tmp;
        }
        return cur[n];
}

char *dockerignore_clean_path(const char *path, bool *ret_above)
{
        size_t n = strlen(path);
        char *out = xmalloc(n + 2);
        size_t o = 0;
        bool above = false;

        for (size_t i = 0; i < n;) {
                while (i < n && path[i] == '/')
                        i++;
                size_t s = i;
                while (i < n && path[i] != '/')
                        i++;
                size_t len = i - s;
                if (len == 0 || (len == 1 && path[s] == '.'))
                        continue;
                if (len == 2 && path[s] == '.' && path[s + 1] == '.') {
                        if (o == 0) {
                                above = true;
                                continue;
                        }
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                        continue;
                }
                if (o > 0)
                        out[o++] = '/';
                memcpy(out + o, path + s, len);
                o += len;
        }
        if (o == 0)
                out[o++] = '.';
        out[o] = '\0';
        if (ret_above)
                *ret_above = above;
        return out;
}

bool dockerignore_pattern_match(const char *pattern, const char *path)
{
        struct pattern p = { 0 };
        bool ok = compile(pattern, &p) && pattern_matches(&p, path);
        pattern_clear(&p);
        return ok;
}

int dockerignore_parse(const char *buf, size_t len, struct dockerignore **ret, struct hutch_error **err)
{
        struct dockerignore *di = xzalloc(sizeof(*di));
        unsigned lineno = 0;

        for (size_t pos = 0; pos < len;) {
                const char *line = buf + pos;
                const char *nl = memchr(line, '\n', len - pos);
                size_t n = nl ? (size_t) (nl - line) : len - pos;
                pos += n + (nl ? 1 : 0);
                lineno++;
                while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
                        n--;
                while (n > 0 && (*line == ' ' || *line == '\t')) {
                        line++;
                        n--;
                }
                if (n == 0 || line[0] == '#')
                        continue;
                bool exception = false;
                if (line[0] == '!') {
                        exception = true;
                        line++;
                        n--;
                        while (n > 0 && (*line == ' ' || *line == '\t')) {
                                line++;
                                n--;
                        }
                        if (n == 0) {
                                dockerignore_free(di);
                                return hutch_error_set(
                                        err, EINVAL, ".dockerignore line %u: illegal exclusion pattern: \"!\"", lineno);
                        }
                }
                if (n >= PATH_MAX || memchr(line, '\0', n)) {
                        dockerignore_free(di);
                        return hutch_error_set(err, EINVAL, ".dockerignore line %u: invalid pattern", lineno);
                }
                if (di->n >= DOCKERIGNORE_MAX_PATTERNS) {
                        dockerignore_free(di);
                        return hutch_error_set(err, E2BIG, ".dockerignore has more than %u patterns",
                                               DOCKERIGNORE_MAX_PATTERNS);
                }
                _cleanup_free_ char *raw = xstrndup(line, n);
                _cleanup_free_ char *clean = dockerignore_clean_path(raw, NULL);
                struct pattern p = { .exception = exception };
                if (!compile(clean, &p)) {
                        pattern_clear(&p);
                        dockerignore_free(di);
                        return hutch_error_set(err, EINVAL, ".dockerignore line %u: syntax error in pattern '%s'",
                                               lineno, raw);
                }
                di->v = xreallocarray(di->v, di->n + 1, sizeof(*di->v));
                di->v[di->n++] = p;
                di->exceptions = di->exceptions || exception;
        }
        *ret = di;
        return 0;
}

struct dockerignore *dockerignore_free(struct dockerignore *di)
{
        if (!di)
                return NULL;
        for (size_t i = 0; i < di->n; i++)
                pattern_clear(&di->v[i]);
        free(di->v);
        free(di);
        return NULL;
}

bool dockerignore_has_exceptions(const struct dockerignore *di)
{
        return di && di->exceptions;
}

bool dockerignore_excluded(const struct dockerignore *di, const char *path)
{
        bool matched = false;

        if (!di)
                return false;
        _cleanup_free_ char *prefix = xstrdup(path);
        for (size_t k = 0; k < di->n; k++) {
                const struct pattern *p = &di->v[k];
                if (p->exception != matched)
                        continue;
                bool m = pattern_matches(p, path);
                /* or one of the parent directories */
                for (char *s = strchr(prefix, '/'); !m && s; s = strchr(s + 1, '/')) {
                        *s = '\0';
                        m = pattern_matches(p, prefix);
                        *s = '/';
                }
                if (m)
                        matched = !p->exception;
        }
        return matched;
}

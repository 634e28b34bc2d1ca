/* A strict parser for the TOML subset of toml.h. */
#include "config.h"

#include "storage/toml.h"

#include "lib/cleanup.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <string.h>

struct parser {
        const char *p, *end;
        unsigned line;
        size_t entries;
        struct hutch_error **err;
};

#define FAIL(ps, ...) toml_fail(ps, __VA_ARGS__)

static int __attribute__((format(printf, 2, 3))) toml_fail(struct parser *ps, const char *fmt, ...)
{
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        (void) hutch_error_set(ps->err, 0, "line %u: %s", ps->line, msg);
        return -EINVAL;
}

static struct toml_value *value_new(enum toml_type t)
{
        struct toml_value *v = xzalloc(sizeof(*v));
        v->type = t;
        return v;
}

struct toml_value *toml_free(struct toml_value *v)
{
        if (v == NULL)
                return NULL;
        for (size_t i = 0; i < v->n; i++) {
                if (v->keys)
                        free(v->keys[i]);
                toml_free(v->values[i]);
        }
        free(v->keys);
        free(v->values);
        free(v->s);
        free(v);
        return NULL;
}

const struct toml_value *toml_get(const struct toml_value *t, const char *key)
{
        if (t == NULL || t->type != TOML_TABLE)
                return NULL;
        for (size_t i = 0; i < t->n; i++)
                if (STREQ(t->keys[i], key))
                        return t->values[i];
        return NULL;
}

static struct toml_value *table_get(struct toml_value *t, const char *key)
{
        return (struct toml_value *) toml_get(t, key);
}

static int count(struct parser *ps)
{
        if (++ps->entries > TOML_MAX_ENTRIES)
                return FAIL(ps, "too many entries");
        return 0;
}

static int table_add(struct parser *ps, struct toml_value *t, char *key, struct toml_value *v)
{
        if (count(ps) < 0)
                return -EINVAL;
        t->keys = xreallocarray(t->keys, t->n + 1, sizeof(char *));
        t->values = xreallocarray(t->values, t->n + 1, sizeof(*t->values));
        t->keys[t->n] = key;
        t->values[t->n] = v;
        t->n++;
        return 0;
}

static int array_add(struct parser *ps, struct toml_value *a, struct toml_value *v)
{
        if (count(ps) < 0)
                return -EINVAL;
        a->values = xreallocarray(a->values, a->n + 1, sizeof(*a->values));
        a->values[a->n++] = v;
        return 0;
}

/* ---- lexing ---- */

static void skip_ws(struct parser *ps)
{
        while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
                ps->p++;
}

static int skip_comment(struct parser *ps)
{
        if (ps->p < ps->end && *ps->p == '#') {
                while (ps->p < ps->end && *ps->p != '\n') {
                        unsigned char c = (unsigned char) *ps->p;
                        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
                                return FAIL(ps, "control character in a comment");
                        ps->p++;
                }
        }
        return 0;
}

/* Skips whitespace, comments and newlines (inside arrays). */
static int skip_ws_nl(struct parser *ps)
{
        for (;;) {
                skip_ws(ps);
                if (skip_comment(ps) < 0)
                        return -EINVAL;
                if (ps->p < ps->end && *ps->p == '\n') {
                        ps->p++;
                        ps->line++;
                        continue;
                }
                if (ps->p + 1 < ps->end && ps->p[0] == '\r' && ps->p[1] == '\n') {
                        ps->p += 2;
                        ps->line++;
                        continue;
                }
                return 0;
        }
}

/* After a key/value or a header: only a comment may follow on the line. */
static int end_of_line(struct parser *ps)
{
        skip_ws(ps);
        if (skip_comment(ps) < 0)
                return -EINVAL;
        if (ps->p >= ps->end)
                return 0;
        if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
                ps->p++;
        if (*ps->p != '\n')
                return FAIL(ps, "unexpected '%c' after a value", *ps->p);
        ps->p++;
        ps->line++;
        return 0;
}

static void put_utf8(char *buf, size_t *n, uint32_t c)
{
        if (c < 0x80) {
                buf[(*n)++] = (char) c;
        } else if (c < 0x800) {
                buf[(*n)++] = (char) (0xc0 | (c >> 6));
                buf[(*n)++] = (char) (0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
                buf[(*n)++] = (char) (0xe0 | (c >> 12));
                buf[(*n)++] = (char) (0x80 | ((c >> 6) & 0x3f));
                buf[(*n)++] = (char) (0x80 | (c & 0x3f));
        } else {
                buf[(*n)++] = (char) (0xf0 | (c >> 18));
                buf[(*n)++] = (char) (0x80 | ((c >> 12) & 0x3f));
                buf[(*n)++] = (char) (0x80 | ((c >> 6) & 0x3f));
                buf[(*n)++] = (char) (0x80 | (c & 0x3f));
        }
}

static int parse_string(struct parser *ps, char **ret)
{
        char q = *ps->p;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;

        if (ps->p + 2 < ps->end && ps->p[1] == q && ps->p[2] == q)
                return FAIL(ps, "multi-line strings are not supported");
        ps->p++;
        buf = xmalloc(TOML_MAX_STRING + 8);
        for (;;) {
                unsigned char c;
                if (ps->p >= ps->end || *ps->p == '\n' || *ps->p == '\r')
                        return FAIL(ps, "unterminated string");
                c = (unsigned char) *ps->p++;
                if (c == (unsigned char) q)
                        break;
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return FAIL(ps, "control character in a string");
                if (n >= TOML_MAX_STRING)
                        return FAIL(ps, "string longer than %u bytes", TOML_MAX_STRING);
                if (c != '\\' || q == '\'') {
                        buf[n++] = (char) c;
                        continue;
                }
                if (ps->p >= ps->end)
                        return FAIL(ps, "unterminated string");
                c = (unsigned char) *ps->p++;
                switch (c) {
                case '"': buf[n++] = '"'; break;
                case '\\': buf[n++] = '\\'; break;
                case 'b': buf[n++] = '\b'; break;
                case 't': buf[n++] = '\t'; break;
                case 'n': buf[n++] = '\n'; break;
                case 'f': buf[n++] = '\f'; break;
                case 'r': buf[n++] = '\r'; break;
                case 'u':
                case 'U': {
                        int digits = c == 'u' ? 4 : 8;
                        uint32_t cp = 0;
                        for (int i = 0; i < digits; i++) {
                                char h = ps->p < ps->end ? *ps->p++ : '\0';
                                int d = h >= '0' && h <= '9'   ? h - '0'
                                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                               : -1;
                                if (d < 0)
                                        return FAIL(ps, "invalid \\%c escape", c);
                                cp = cp << 4 | (uint32_t) d;
                        }
                        if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                                return FAIL(ps, "invalid Unicode escape");
                        put_utf8(buf, &n, cp);
                        break;
                }
                default: return FAIL(ps, "invalid escape '\\%c'", c);
                }
        }
        buf[n] = '\0';
        *ret = xstrndup(buf, n);
        return 0;
}

static bool bare_key_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int parse_key_part(struct parser *ps, char **ret)
{
        const char *s = ps->p;

        skip_ws(ps);
        if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\''))
                return parse_string(ps, ret);
        s = ps->p;
        while (ps->p < ps->end && bare_key_char(*ps->p))
                ps->p++;
        if (ps->p == s)
                return FAIL(ps, "expected a key");
        if ((size_t) (ps->p - s) > 1024)
                return FAIL(ps, "key too long");
        *ret = xstrndup(s, (size_t) (ps->p - s));
        return 0;
}

/* a.b."c" -> a list of parts */
static int parse_key(struct parser *ps, char ***ret)
{
        char **parts = NULL;
        size_t n = 0;

        for (;;) {
                char *k = NULL;
                if (parse_key_part(ps, &k) < 0) {
                        for (size_t i = 0; i < n; i++)
                                free(parts[i]);
                        free(parts);
                        return -EINVAL;
                }
                parts = xreallocarray(parts, n + 2, sizeof(char *));
                parts[n++] = k;
                parts[n] = NULL;
                skip_ws(ps);
                if (ps->p < ps->end && *ps->p == '.' && n < TOML_MAX_DEPTH) {
                        ps->p++;
                        continue;
                }
                break;
        }
        *ret = parts;
        return 0;
}

static int parse_value(struct parser *ps, unsigned depth, struct toml_value **ret);

static int assign(struct parser *ps, struct toml_value *t, unsigned depth);

static int parse_array(struct parser *ps, unsigned depth, struct toml_value **ret)
{
        struct toml_value *a = value_new(TOML_ARRAY);

        ps->p++; /* [ */
        for (;;) {
                struct toml_value *v = NULL;
                if (skip_ws_nl(ps) < 0)
                        goto fail;
                if (ps->p < ps->end && *ps->p == ']') {
                        ps->p++;
                        break;
                }
                if (parse_value(ps, depth + 1, &v) < 0)
                        goto fail;
                if (array_add(ps, a, v) < 0) {
                        toml_free(v);
                        goto fail;
                }
                if (skip_ws_nl(ps) < 0)
                        goto fail;
                if (ps->p < ps->end && *ps->p == ',') {
                        ps->p++;
                        continue;
                }
                if (ps->p < ps->end && *ps->p == ']') {
                        ps->p++;
                        break;
                }
                FAIL(ps, "expected ',' or ']' in an array");
                goto fail;
        }
        a->frozen = true;
        *ret = a;
        return 0;
fail:
        toml_free(a);
        return -EINVAL;
}

static int parse_inline_table(struct parser *ps, unsigned depth, struct toml_value **ret)
{
        struct toml_value *t = value_new(TOML_TABLE);

        ps->p++; /* { */
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == '}') {
                ps->p++;
        } else {
                for (;;) {
                        if (assign(ps, t, depth + 1) < 0)
                                goto fail;
                        skip_ws(ps);
                        if (ps->p < ps->end && *ps->p == ',') {
                                ps->p++;
                                continue;
                        }
                        if (ps->p < ps->end && *ps->p == '}') {
                                ps->p++;
                                break;
                        }
                        FAIL(ps, "expected ',' or '}' in an inline table");
                        goto fail;
                }
        }
        t->defined = t->frozen = true;
        *ret = t;
        return 0;
fail:
        toml_free(t);
        return -EINVAL;
}

static int parse_int(struct parser *ps, struct toml_value **ret)
{
        const char *s = ps->p;
        bool neg = false, prev_digit = false;
        uint64_t v = 0, limit;
        size_t digits = 0;

        if (*ps->p == '+' || *ps->p == '-') {
                neg = *ps->p == '-';
                ps->p++;
        }
        limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
        if (ps->p + 1 < ps->end && ps->p[0] == '0' && bare_key_char(ps->p[1]) && ps->p[1] != '_')
                return FAIL(ps, "leading zeros, hexadecimal, octal and binary numbers are not supported");
        while (ps->p < ps->end && ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '_')) {
                if (*ps->p == '_') {
                        if (!prev_digit || ps->p + 1 >= ps->end || ps->p[1] < '0' || ps->p[1] > '9')
                                return FAIL(ps, "misplaced '_' in a number");
                        prev_digit = false;
                        ps->p++;
                        continue;
                }
                if (v > (limit - (uint64_t) (*ps->p - '0')) / 10)
                        return FAIL(ps, "integer out of range");
                v = v * 10 + (uint64_t) (*ps->p - '0');
                prev_digit = true;
                digits++;
                ps->p++;
        }
        if (digits == 0)
                return FAIL(ps, "invalid value '%.*s'", (int) (ps->p - s + 1), s);
        if (ps->p < ps->end && (bare_key_char(*ps->p) || *ps->p == '.' || *ps->p == ':' || *ps->p == '+'))
                return FAIL(ps, "floats, dates and times are not supported");
        *ret = value_new(TOML_INT);
        (*ret)->i = neg ? (int64_t) (0 - v) : (int64_t) v;
        return 0;
}

static bool match_word(struct parser *ps, const char *w)
{
        size_t n = strlen(w);

        if ((size_t) (ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
                return false;
        if (ps->p + n < ps->end && bare_key_char(ps->p[n]))
                return false;
        ps->p += n;
        return true;
}

static int parse_value(struct parser *ps, unsigned depth, struct toml_value **ret)
{
        char c;

        if (depth > TOML_MAX_DEPTH)
                return FAIL(ps, "nested too deeply");
        skip_ws(ps);
        if (ps->p >= ps->end)
                return FAIL(ps, "expected a value");
        c = *ps->p;
        if (c == '"' || c == '\'') {
                char *s = NULL;
                if (parse_string(ps, &s) < 0)
                        return -EINVAL;
                *ret = value_new(TOML_STRING);
                (*ret)->s = s;
                return 0;
        }
        if (c == '[')
                return parse_array(ps, depth, ret);
        if (c == '{')
                return parse_inline_table(ps, depth, ret);
        if (match_word(ps, "true") || match_word(ps, "false")) {
                *ret = value_new(TOML_BOOL);
                (*ret)->b = ps->p[-1] == 'e' && ps->p[-2] == 'u';
                return 0;
        }
        if (c == '+' || c == '-' || (c >= '0' && c <= '9'))
                return parse_int(ps, ret);
        return FAIL(ps, "invalid value");
}

/* Walks parts[0..n-1] from t for a dotted key, making implied tables. */
static int walk_dotted(struct parser *ps, struct toml_value *t, char **parts, size_t n, struct toml_value **ret)
{
        for (size_t i = 0; i < n; i++) {
                struct toml_value *next = table_get(t, parts[i]);
                if (next == NULL) {
                        next = value_new(TOML_TABLE);
                        next->defined = true;
                        if (table_add(ps, t, xstrdup(parts[i]), next) < 0) {
                                toml_free(next);
                                return -EINVAL;
                        }
                } else if (next->type != TOML_TABLE || next->frozen) {
                        return FAIL(ps, "key '%s' is already defined", parts[i]);
                }
                t = next;
        }
        *ret = t;
        return 0;
}

static int assign(struct parser *ps, struct toml_value *t, unsigned depth)
{
        _cleanup_strv_ char **parts = NULL;
        struct toml_value *v = NULL, *dst = NULL;
        size_t n;

        if (parse_key(ps, &parts) < 0)
                return -EINVAL;
        n = 0;
        while (parts[n])
                n++;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '=')
                return FAIL(ps, "expected '=' after key '%s'", parts[0]);
        ps->p++;
        if (walk_dotted(ps, t, parts, n - 1, &dst) < 0)
                return -EINVAL;
        if (table_get(dst, parts[n - 1]))
                return FAIL(ps, "duplicate key '%s'", parts[n - 1]);
        if (parse_value(ps, depth, &v) < 0)
                return -EINVAL;
        if (table_add(ps, dst, parts[n - 1], v) < 0) {
                toml_free(v);
                return -EINVAL;
        }
        parts[n - 1] = NULL; /* now the table's */
        return 0;
}

/* [a.b] or [[a.b]] */
static int parse_header(struct parser *ps, struct toml_value *root, struct toml_value **ret)
{
        _cleanup_strv_ char **parts = NULL;
        bool array = ps->p + 1 < ps->end && ps->p[1] == '[';
        struct toml_value *t = root, *last;
        size_t n = 0;

        ps->p += array ? 2 : 1;
        if (parse_key(ps, &parts) < 0)
                return -EINVAL;
        skip_ws(ps);
        if (array) {
                if (ps->end - ps->p < 2 || ps->p[0] != ']' || ps->p[1] != ']')
                        return FAIL(ps, "expected ']]'");
                ps->p += 2;
        } else {
                if (ps->p >= ps->end || *ps->p != ']')
                        return FAIL(ps, "expected ']'");
                ps->p++;
        }
        while (parts[n])
                n++;
        for (size_t i = 0; i + 1 < n; i++) {
                struct toml_value *next = table_get(t, parts[i]);
                if (next == NULL) {
                        next = value_new(TOML_TABLE);
                        if (table_add(ps, t, xstrdup(parts[i]), next) < 0) {
                                toml_free(next);
                                return -EINVAL;
                        }
                } else if (next->type == TOML_ARRAY && next->table_array) {
                        next = next->values[next->n - 1];
                } else if (next->type != TOML_TABLE || next->frozen) {
                        return FAIL(ps, "'%s' is not a table", parts[i]);
                }
                t = next;
        }
        last = table_get(t, parts[n - 1]);
        if (array) {
                struct toml_value *elem = value_new(TOML_TABLE);
                elem->defined = true;
                if (last == NULL) {
                        last = value_new(TOML_ARRAY);
                        last->table_array = true;
                        if (table_add(ps, t, xstrdup(parts[n - 1]), last) < 0) {
                                toml_free(last);
                                toml_free(elem);
                                return -EINVAL;
                        }
                } else if (last->type != TOML_ARRAY || !last->table_array) {
                        toml_free(elem);
                        return FAIL(ps, "'%s' is already defined and not an array of tables", parts[n - 1]);
                }
                if (array_add(ps, last, elem) < 0) {
                        toml_free(elem);
                        return -EINVAL;
                }
                *ret = elem;
                return 0;
        }
        if (last == NULL) {
                last = value_new(TOML_TABLE);
                if (table_add(ps, t, xstrdup(parts[n - 1]), last) < 0) {
                        toml_free(last);
                        return -EINVAL;
                }
        } else if (last->type != TOML_TABLE || last->defined || last->frozen) {
                return FAIL(ps, "table '%s' is defined twice", parts[n - 1]);
        }
        last->defined = true;
        *ret = last;
        return 0;
}

int toml_parse(const char *buf, size_t len, struct toml_value **ret, struct hutch_error **err)
{
        struct parser ps = { .p = buf, .end = buf + len, .line = 1, .err = err };
        struct toml_value *root, *cur;

        if (len > TOML_MAX_BYTES)
                return hutch_error_set(err, EFBIG, "TOML document larger than %u bytes", TOML_MAX_BYTES);
        if (memchr(buf, '\0', len))
                return hutch_error_set(err, 0, "NUL byte in a TOML document");
        root = cur = value_new(TOML_TABLE);
        root->defined = true;
        /* a UTF-8 byte order mark */
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
                ps.p += 3;
        for (;;) {
                if (skip_ws_nl(&ps) < 0)
                        goto fail;
                if (ps.p >= ps.end)
                        break;
                if (*ps.p == '[') {
                        if (parse_header(&ps, root, &cur) < 0)
                                goto fail;
                } else if (assign(&ps, cur, 1) < 0) {
                        goto fail;
                }
                if (end_of_line(&ps) < 0)
                        goto fail;
        }
        *ret = root;
        return 0;
fail:
        toml_free(root);
        return -EINVAL;
}

#include "config.h"

#include "cmd/template.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <string.h>

struct out {
        char *buf;
        size_t len, size;
};

static void put(struct out *o, const char *s, size_t n)
{
        if (o->len + n + 1 > o->size) {
                o->size = (o->len + n + 1) * 2;
                o->buf = xrealloc(o->buf, o->size);
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        o->buf[o->len] = '\0';
}

static void put_json(struct out *o, yajl_val v)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        const unsigned char *buf;
        size_t len;
        hutch_json_gen_value(g, v);
        yajl_gen_get_buf(g, &buf, &len);
        put(o, (const char *) buf, len);
        yajl_gen_free(g);
}

static void put_text(struct out *o, yajl_val v)
{
        if (v == NULL) {
                put(o, "<no value>", 10);
        } else if (YAJL_IS_STRING(v)) {
                put(o, v->u.string, strlen(v->u.string));
        } else if (YAJL_IS_NUMBER(v)) {
                put(o, v->u.number.r, strlen(v->u.number.r));
        } else if (YAJL_IS_TRUE(v)) {
                put(o, "true", 4);
        } else if (YAJL_IS_FALSE(v)) {
                put(o, "false", 5);
        } else if (YAJL_IS_NULL(v)) {
                put(o, "<nil>", 5);
        } else {
                put_json(o, v);
        }
}

/* Resolves ".A.B" from doc; *p advances past it.  Returns false on a
 * syntax error. */
static bool resolve_path(const char **p, yajl_val doc, yajl_val *ret)
{
        const char *s = *p;
        yajl_val v = doc;

        if (*s != '.')
                return false;
        s++;
        while (isalnum((unsigned char) *s) || *s == '_') {
                const char *start = s;
                while (isalnum((unsigned char) *s) || *s == '_')
                        s++;
                _cleanup_free_ char *key = xstrndup(start, (size_t) (s - start));
                v = v ? hutch_json_get(v, key) : NULL;
                if (*s != '.')
                        break;
                s++;
        }
        *p = s;
        *ret = v;
        return true;
}

static const char *skip_space(const char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

char *cmd_template_render(const char *tmpl, yajl_val doc, struct hutch_error **err)
{
        struct out o = { 0 };
        const char *p = tmpl;

        put(&o, "", 0);
        while (*p) {
                if (p[0] == '\\' && (p[1] == 'n' || p[1] == 't')) {
                        put(&o, p[1] == 'n' ? "\n" : "\t", 1);
                        p += 2;
                        continue;
                }
                if (p[0] != '{' || p[1] != '{') {
                        put(&o, p, 1);
                        p++;
                        continue;
                }
                const char *end = strstr(p + 2, "}}");
                if (end == NULL) {
                        free(o.buf);
                        hutch_error_set(err, 0, "invalid --format template: unclosed '{{'");
                        return NULL;
                }
                _cleanup_free_ char *action = xstrndup(p + 2, (size_t) (end - (p + 2)));
                const char *a = skip_space(action);
                yajl_val v = NULL;
                bool as_json = false, ok = false;

                if (strncmp(a, "json ", 5) == 0) {
                        as_json = true;
                        a = skip_space(a + 5);
                }
                if (strncmp(a, "index ", 6) == 0) {
                        a = skip_space(a + 6);
                        if (resolve_path(&a, doc, &v)) {
                                a = skip_space(a);
                                if (*a == '"') {
                                        const char *q = strchr(a + 1, '"');
                                        if (q) {
                                                _cleanup_free_ char *key = xstrndup(a + 1, (size_t) (q - a - 1));
                                                v = v ? hutch_json_get(v, key) : NULL;
                                                a = q + 1;
                                                ok = true;
                                        }
                                }
                        }
                } else {
                        ok = resolve_path(&a, doc, &v);
                }
                if (!ok || *skip_space(a) != '\0') {
                        hutch_error_set(err, 0, "invalid --format template: unsupported action '{{%s}}'", action);
                        free(o.buf);
                        return NULL;
                }
                if (as_json)
                        put_json(&o, v);
                else
                        put_text(&o, v);
                p = end + 2;
        }
        return o.buf;
}

char *cmd_template_header(const char *tmpl, const char *const *renames)
{
        struct out o = { 0 };

        put(&o, "", 0);
        for (const char *p = tmpl; *p;) {
                const char *open = strstr(p, "{{");
                const char *close = open ? strstr(open, "}}") : NULL;
                if (open == NULL || close == NULL) {
                        open = p + strlen(p);
                        close = NULL;
                }
                for (; p < open; p++) {
                        if (p[0] == '\\' && p[1] == 't') {
                                put(&o, "\t", 1);
                                p++;
                        } else if (p[0] == '\\' && p[1] == 'n') {
                                put(&o, "\n", 1);
                                p++;
                        } else {
                                put(&o, p, 1);
                        }
                }
                if (close == NULL)
                        break;
                /* the last .Field path element of the action names it */
                const char *field = NULL;
                size_t flen = 0;
                for (const char *q = open + 2; q < close; q++)
                        if (*q == '.') {
                                field = q + 1;
                                flen = 0;
                                while (field + flen < close &&
                                       (isalnum((unsigned char) field[flen]) || field[flen] == '_'))
                                        flen++;
                        }
                bool renamed = false;
                for (size_t i = 0; field && renames && renames[i]; i += 2)
                        if (strlen(renames[i]) == flen && strncmp(renames[i], field, flen) == 0) {
                                put(&o, renames[i + 1], strlen(renames[i + 1]));
                                renamed = true;
                                break;
                        }
                for (size_t i = 0; field && !renamed && i < flen; i++) {
                        char c = field[i];
                        if (i > 0 && isupper((unsigned char) c) && islower((unsigned char) field[i - 1]))
                                put(&o, " ", 1);
                        c = (char) toupper((unsigned char) c);
                        put(&o, &c, 1);
                }
                p = close + 2;
        }
        return o.buf;
}

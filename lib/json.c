#include "config.h"

#include "json.h"
#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* yajl's tree code recurses, so a hostile document could exhaust the stack:
 * measure the depth before handing it over. */
static int json_depth_ok(const char *buf, size_t len)
{
        int depth = 0;
        bool in_string = false, escaped = false;

        for (size_t i = 0; i < len; i++) {
                char c = buf[i];
                if (in_string) {
                        if (escaped)
                                escaped = false;
                        else if (c == '\\')
                                escaped = true;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"')
                        in_string = true;
                else if (c == '{' || c == '[') {
                        if (++depth > HUTCH_JSON_MAX_DEPTH)
                                return 0;
                } else if (c == '}' || c == ']')
                        depth--;
        }
        return 1;
}

yajl_val hutch_json_parse(const char *buf, size_t len, struct hutch_error **err)
{
        char errbuf[256];
        char *copy;
        yajl_val v;

        if (memchr(buf, '\0', len) != NULL) {
                hutch_error_set(err, EINVAL, "invalid JSON: NUL byte in document");
                return NULL;
        }
        if (!json_depth_ok(buf, len)) {
                hutch_error_set(err, EINVAL, "invalid JSON: nested deeper than %d levels", HUTCH_JSON_MAX_DEPTH);
                return NULL;
        }
        copy = xstrndup(buf, len);
        errbuf[0] = '\0';
        v = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
        free(copy);
        if (v == NULL) {
                char *nl = strchr(errbuf, '\n');
                if (nl)
                        *nl = '\0';
                hutch_error_set(err, EINVAL, "invalid JSON: %s", errbuf[0] ? errbuf : "parse error");
        }
        return v;
}

yajl_val hutch_json_get(yajl_val obj, const char *key)
{
        if (obj == NULL || !YAJL_IS_OBJECT(obj))
                return NULL;
        for (size_t i = 0; i < obj->u.object.len; i++)
                if (strcmp(obj->u.object.keys[i], key) == 0)
                        return obj->u.object.values[i];
        return NULL;
}

const char *hutch_json_get_string(yajl_val obj, const char *key)
{
        yajl_val v = hutch_json_get(obj, key);
        return v && YAJL_IS_STRING(v) ? v->u.string : NULL;
}

yajl_val hutch_json_get_object(yajl_val obj, const char *key)
{
        yajl_val v = hutch_json_get(obj, key);
        return v && YAJL_IS_OBJECT(v) ? v : NULL;
}

yajl_val hutch_json_get_array(yajl_val obj, const char *key)
{
        yajl_val v = hutch_json_get(obj, key);
        return v && YAJL_IS_ARRAY(v) ? v : NULL;
}

int hutch_json_get_int(yajl_val obj, const char *key, int64_t *ret)
{
        yajl_val v = hutch_json_get(obj, key);
        if (v == NULL)
                return -ENOENT;
        if (!YAJL_IS_INTEGER(v))
                return -EINVAL;
        *ret = YAJL_GET_INTEGER(v);
        return 0;
}

int hutch_json_get_bool(yajl_val obj, const char *key, bool *ret)
{
        yajl_val v = hutch_json_get(obj, key);
        if (v == NULL)
                return -ENOENT;
        if (YAJL_IS_TRUE(v))
                *ret = true;
        else if (YAJL_IS_FALSE(v))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

void hutch_json_gen_string(yajl_gen g, const char *s)
{
        yajl_gen_string(g, (const unsigned char *) s, strlen(s));
}

void hutch_json_gen_kv_string(yajl_gen g, const char *key, const char *value)
{
        hutch_json_gen_string(g, key);
        if (value)
                hutch_json_gen_string(g, value);
        else
                yajl_gen_null(g);
}

void hutch_json_gen_kv_int(yajl_gen g, const char *key, long long value)
{
        hutch_json_gen_string(g, key);
        yajl_gen_integer(g, value);
}

void hutch_json_gen_kv_bool(yajl_gen g, const char *key, bool value)
{
        hutch_json_gen_string(g, key);
        yajl_gen_bool(g, value);
}

void hutch_json_gen_value(yajl_gen g, yajl_val v)
{
        if (v == NULL || YAJL_IS_NULL(v)) {
                yajl_gen_null(g);
        } else if (YAJL_IS_STRING(v)) {
                hutch_json_gen_string(g, v->u.string);
        } else if (YAJL_IS_NUMBER(v)) {
                yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
        } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
                yajl_gen_bool(g, YAJL_IS_TRUE(v));
        } else if (YAJL_IS_OBJECT(v)) {
                yajl_gen_map_open(g);
                for (size_t i = 0; i < v->u.object.len; i++) {
                        hutch_json_gen_string(g, v->u.object.keys[i]);
                        hutch_json_gen_value(g, v->u.object.values[i]);
                }
                yajl_gen_map_close(g);
        } else if (YAJL_IS_ARRAY(v)) {
                yajl_gen_array_open(g);
                for (size_t i = 0; i < v->u.array.len; i++)
                        hutch_json_gen_value(g, v->u.array.values[i]);
                yajl_gen_array_close(g);
        } else {
                yajl_gen_null(g);
        }
}

char *hutch_json_gen_steal(yajl_gen g, size_t *ret_len)
{
        const unsigned char *buf;
        size_t len;

        yajl_gen_get_buf(g, &buf, &len);
        if (ret_len)
                *ret_len = len;
        return xstrndup((const char *) buf, len);
}

void hutch_json_gen_print(yajl_gen g, FILE *out)
{
        const unsigned char *buf;
        size_t len;

        yajl_gen_get_buf(g, &buf, &len);
        fwrite(buf, 1, len, out);
        if (len == 0 || buf[len - 1] != '\n')
                fputc('\n', out);
}

/* A thin layer over yajl: bounded parsing of untrusted documents and small
 * accessors, plus generator shortcuts. */
#ifndef HUTCH_JSON_H
#define HUTCH_JSON_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define HUTCH_JSON_MAX_DEPTH 64

/* Parses buf (len bytes, need not be NUL-terminated); refuses documents
 * nested deeper than HUTCH_JSON_MAX_DEPTH. */
yajl_val hutch_json_parse(const char *buf, size_t len, struct hutch_error **err);

/* Member access; NULL when missing or of another type. */
yajl_val hutch_json_get(yajl_val obj, const char *key);
const char *hutch_json_get_string(yajl_val obj, const char *key);
yajl_val hutch_json_get_object(yajl_val obj, const char *key);
yajl_val hutch_json_get_array(yajl_val obj, const char *key);
/* Returns 0 and sets *ret for an integer member, -ENOENT or -EINVAL. */
int hutch_json_get_int(yajl_val obj, const char *key, int64_t *ret);
int hutch_json_get_bool(yajl_val obj, const char *key, bool *ret);

void hutch_json_gen_string(yajl_gen g, const char *s);
void hutch_json_gen_kv_string(yajl_gen g, const char *key, const char *value); /* NULL value → null */
void hutch_json_gen_kv_int(yajl_gen g, const char *key, long long value);
void hutch_json_gen_kv_bool(yajl_gen g, const char *key, bool value);
/* Re-emits a parsed value (NULL → null), e.g. to keep members of a file
 * hutch rewrites that it does not itself understand. */
void hutch_json_gen_value(yajl_gen g, yajl_val v);
/* Writes the generated text to out, ending with a newline. */
void hutch_json_gen_print(yajl_gen g, FILE *out);
/* Returns a malloc'd copy of the generated text. */
char *hutch_json_gen_steal(yajl_gen g, size_t *ret_len);

#endif

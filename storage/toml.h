/* A small, strict parser for the TOML that containers' configuration files
 * (registries.conf v2) use:
 *
 *   - comments, blank lines, key = value with bare, "basic" and 'literal'
 *     keys, dotted keys;
 *   - [table] and [a.b] headers, arrays of tables [[registry]] and nested
 *     ones [[registry.mirror]] (they attach to the last element);
 *   - values: basic strings with escapes (\" \\ \b \t \n \f \r \uXXXX
 *     \UXXXXXXXX), literal strings, true/false, decimal integers (with '_'
 *     between digits, within int64), arrays (over several lines, trailing
 *     comma, comments) and inline tables.
 *
 * Everything else (multi-line strings, floats, dates, hex/octal numbers)
 * is refused with the line number, as are duplicate keys, redefined tables,
 * control characters, invalid UTF-8 escapes and NUL bytes.  Input, strings,
 * nesting and entry counts are capped. */
#ifndef HUTCH_STORAGE_TOML_H
#define HUTCH_STORAGE_TOML_H

#include "lib/cleanup.h"
#include "lib/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOML_MAX_BYTES   (4u << 20)
#define TOML_MAX_DEPTH   32
#define TOML_MAX_STRING  (64u << 10)
#define TOML_MAX_ENTRIES 65536 /* keys and array elements, in total */

enum toml_type {
        TOML_TABLE = 1,
        TOML_ARRAY,
        TOML_STRING,
        TOML_BOOL,
        TOML_INT,
};

struct toml_value {
        enum toml_type type;
        /* tables */
        char **keys;
        struct toml_value **values;
        size_t n;
        /* arrays use values and n */
        char *s;
        bool b;
        int64_t i;
        /* parser state */
        bool defined;     /* a table given by a header or a key (not only implied) */
        bool table_array; /* an array made by [[...]] */
        bool frozen;      /* inline tables and arrays: closed */
};

int toml_parse(const char *buf, size_t len, struct toml_value **ret, struct hutch_error **err);
struct toml_value *toml_free(struct toml_value *v);
DEFINE_CLEANUP(struct toml_value *, toml_free)

/* Member of a table, or NULL. */
const struct toml_value *toml_get(const struct toml_value *table, const char *key);

#endif

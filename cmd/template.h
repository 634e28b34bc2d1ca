/* A documented subset of Go template syntax for --format, over a JSON
 * document (what `inspect` prints):
 *   {{.Field.Sub}}         a member (scalars print as text, objects and
 *                          arrays as compact JSON)
 *   {{json .Field}}        the member as JSON
 *   {{index .Map "key"}}   a member whose name is not an identifier
 *   {{.}}                  the whole document
 * Everything outside {{ }} is copied; "\n" and "\t" in the template become
 * newline and tab.  Unknown members print "<no value>", as Go does. */
#ifndef HUTCH_CMD_TEMPLATE_H
#define HUTCH_CMD_TEMPLATE_H

#include "lib/error.h"

#include <yajl/yajl_tree.h>

/* Returns the rendered text (malloc'd), or NULL with *err set for a
 * malformed template. */
char *cmd_template_render(const char *tmpl, yajl_val doc, struct hutch_error **err);

#endif

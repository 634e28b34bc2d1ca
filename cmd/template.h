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

/* The header line of a "table TEMPLATE" format, as Docker prints it: each
 * {{.Field}} (or {{json .Field}}) becomes the field's name in capitals,
 * words split at case changes ("RunningFor" -> "RUNNING FOR"), unless
 * renames (NULL-terminated pairs "Field", "HEADER") names it otherwise;
 * the text between actions stays ("\t" becomes a tab). */
char *cmd_template_header(const char *tmpl, const char *const *renames);

#endif

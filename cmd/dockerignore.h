/* .dockerignore: Docker's pattern rules (moby/patternmatcher), pure.
 *
 * One pattern a line; '#' lines are comments; blanks trimmed; a leading
 * '!' makes an exception (the file is kept); patterns are cleaned like
 * paths ("./a//b/" is "a/b", a leading "/" is dropped).  '*' matches any
 * run of characters but '/', '?' one character but '/', "[...]" a class
 * ("[^...]" negated, ranges), '\' escapes, "**" any number of directories
 * (also none).  A path is excluded when the last pattern that matches it,
 * or one of its parent directories, is not an exception.
 *
 * Bounds: at most DOCKERIGNORE_MAX_PATTERNS patterns of at most
 * PATH_MAX bytes; matching is O(pattern x path) per pattern (no
 * backtracking blow-up). */
#ifndef HUTCH_CMD_DOCKERIGNORE_H
#define HUTCH_CMD_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define DOCKERIGNORE_MAX_PATTERNS 10000u

struct dockerignore;

int dockerignore_parse(const char *buf, size_t len, struct dockerignore **ret, struct hutch_error **err);
struct dockerignore *dockerignore_free(struct dockerignore *di);

/* path: relative to the context, cleaned ("a/b", no leading "/"). */
bool dockerignore_excluded(const struct dockerignore *di, const char *path);
/* Whether there are exceptions: an excluded directory must still be walked. */
bool dockerignore_has_exceptions(const struct dockerignore *di);
/* Does the glob pattern match name (one component or a path), with the rules above? */
bool dockerignore_pattern_match(const char *pattern, const char *path);

/* Cleans a path lexically as Go's filepath.Clean, then drops a leading
 * "/": "./a//b/../c/" is "a/c", "" and "/" are ".".  *ret_above is set
 * when ".." went above the start ("../x" is "x" with *ret_above). */
char *dockerignore_clean_path(const char *path, bool *ret_above);

#endif

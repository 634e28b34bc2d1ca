/* NULL-terminated string vectors. */
#ifndef HUTCH_STRV_H
#define HUTCH_STRV_H

#include <stdbool.h>
#include <stddef.h>

size_t hutch_strv_length(char *const *v);
char **hutch_strv_free(char **v);
/* Appends a copy of s; *v may be NULL. */
void hutch_strv_append(char ***v, const char *s);
/* Appends s itself (takes ownership). */
void hutch_strv_push(char ***v, char *s);
char **hutch_strv_copy(char *const *v);
char *hutch_strv_join(char *const *v, const char *sep);
bool hutch_strv_contains(char *const *v, const char *s);
/* Splits on any of the separator characters, dropping empty fields. */
char **hutch_strv_split(const char *s, const char *seps);

#endif

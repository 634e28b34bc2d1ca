/* Checked number and size parsing for untrusted strings. */
#ifndef HUTCH_PARSE_H
#define HUTCH_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Parses a whole decimal string into [0, max]; -EINVAL on junk, -ERANGE
 * when out of range.  No sign, no spaces, no empty string. */
int hutch_parse_u64(const char *s, uint64_t max, uint64_t *ret);
int hutch_parse_uint(const char *s, unsigned int max, unsigned int *ret);
int hutch_parse_int(const char *s, int min, int max, int *ret);
/* "512", "64k", "10m", "2g" (powers of 1024, b/k/m/g/t, case-insensitive). */
int hutch_parse_size(const char *s, uint64_t *ret);
/* "true/false/1/0/yes/no/on/off". */
int hutch_parse_bool(const char *s, bool *ret);
/* Signal name ("TERM", "SIGTERM", "sigkill") or number; -EINVAL when unknown. */
int hutch_parse_signal(const char *s, int *ret);
const char *hutch_signal_name(int sig);

#endif

/* Errors that travel up to cmd/ with context added on the way.
 *
 * A function that can fail takes `struct hutch_error **err` as its last
 * parameter.  On failure it sets *err and returns a negative value; callers
 * either add context with hutch_error_prefix() and pass it on, or handle it
 * and call hutch_error_clear().  Only cmd/ prints an error. */
#ifndef HUTCH_ERROR_H
#define HUTCH_ERROR_H

#include <stdarg.h>

struct hutch_error {
        int errnum;      /* errno value, 0 when not a system error */
        int exit_status; /* exit status cmd/ should use, 0 = default (125) */
        char *msg;
};

/* Sets *err (if err is not NULL and *err is unset) and returns -errnum, or -1
 * when errnum is 0.  A system error's strerror is appended to the message. */
int hutch_error_set(struct hutch_error **err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int hutch_error_setv(struct hutch_error **err, int errnum, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

/* Like hutch_error_set() but records the exit status the CLI should use. */
int hutch_error_set_status(struct hutch_error **err, int exit_status, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Prepends "context: " to the message; returns the error's negative value. */
int hutch_error_prefix(struct hutch_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns the negative value an error stands for (-errnum or -1). */
int hutch_error_value(const struct hutch_error *e);

void hutch_error_clear(struct hutch_error **err);
struct hutch_error *hutch_error_free(struct hutch_error *e);

#endif

#include "config.h"

#include "error.h"
#include "xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hutch_error_value(const struct hutch_error *e)
{
        if (e == NULL || e->errnum <= 0)
                return -1;
        return -e->errnum;
}

int hutch_error_setv(struct hutch_error **err, int errnum, const char *fmt, va_list ap)
{
        struct hutch_error *e;
        char *msg;

        if (errnum < 0)
                errnum = -errnum;
        if (err == NULL)
                return errnum > 0 ? -errnum : -1;
        if (*err != NULL) /* the first error is the real one */
                return hutch_error_value(*err);

        msg = xvasprintf(fmt, ap);
        if (errnum > 0) {
                char *full = xasprintf("%s: %s", msg, strerror(errnum));
                free(msg);
                msg = full;
        }
        e = xzalloc(sizeof(*e));
        e->errnum = errnum;
        e->msg = msg;
        *err = e;
        return errnum > 0 ? -errnum : -1;
}

int hutch_error_set(struct hutch_error **err, int errnum, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = hutch_error_setv(err, errnum, fmt, ap);
        va_end(ap);
        return r;
}

int hutch_error_set_status(struct hutch_error **err, int exit_status, int errnum, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = hutch_error_setv(err, errnum, fmt, ap);
        va_end(ap);
        if (err != NULL && *err != NULL && (*err)->exit_status == 0)
                (*err)->exit_status = exit_status;
        return r;
}

int hutch_error_prefix(struct hutch_error **err, const char *fmt, ...)
{
        va_list ap;
        char *prefix, *msg;

        if (err == NULL || *err == NULL)
                return -1;
        va_start(ap, fmt);
        prefix = xvasprintf(fmt, ap);
        va_end(ap);
        msg = xasprintf("%s: %s", prefix, (*err)->msg);
        free(prefix);
        free((*err)->msg);
        (*err)->msg = msg;
        return hutch_error_value(*err);
}

struct hutch_error *hutch_error_free(struct hutch_error *e)
{
        if (e != NULL) {
                free(e->msg);
                free(e);
        }
        return NULL;
}

void hutch_error_clear(struct hutch_error **err)
{
        if (err != NULL)
                *err = hutch_error_free(*err);
}

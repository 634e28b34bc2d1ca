#include "config.h"

#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void __attribute__((noreturn)) oom(void)
{
        static const char msg[] = "hutch: out of memory\n";
        (void) !write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
}

void *xmalloc(size_t size)
{
        void *p = malloc(size ? size : 1);
        if (p == NULL)
                oom();
        return p;
}

void *xzalloc(size_t size)
{
        return xcalloc(1, size);
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (p == NULL)
                oom();
        return p;
}

void *xrealloc(void *p, size_t size)
{
        p = realloc(p, size ? size : 1);
        if (p == NULL)
                oom();
        return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
        if (size != 0 && n > (size_t) -1 / size)
                oom();
        return xrealloc(p, n * size);
}

char *xstrdup(const char *s)
{
        char *p = strdup(s);
        if (p == NULL)
                oom();
        return p;
}

char *xstrndup(const char *s, size_t n)
{
        char *p = strndup(s, n);
        if (p == NULL)
                oom();
        return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
        char *p = NULL;
        if (vasprintf(&p, fmt, ap) < 0)
                oom();
        return p;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *p;

        va_start(ap, fmt);
        p = xvasprintf(fmt, ap);
        va_end(ap);
        return p;
}

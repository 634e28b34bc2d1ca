#include "config.h"

#include "cleanup.h"
#include "strv.h"
#include "xalloc.h"

#include <string.h>

size_t hutch_strv_length(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

char **hutch_strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
        return NULL;
}

void hutch_strv_freep(char ***p)
{
        *p = hutch_strv_free(*p);
}

void hutch_strv_push(char ***v, char *s)
{
        size_t n = hutch_strv_length(*v);
        *v = xreallocarray(*v, n + 2, sizeof(char *));
        (*v)[n] = s;
        (*v)[n + 1] = NULL;
}

void hutch_strv_append(char ***v, const char *s)
{
        hutch_strv_push(v, xstrdup(s));
}

char **hutch_strv_copy(char *const *v)
{
        size_t n = hutch_strv_length(v);
        char **r = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(v[i]);
        return r;
}

char *hutch_strv_join(char *const *v, const char *sep)
{
        size_t len = 1, seplen = strlen(sep);
        char *r, *p;

        for (size_t i = 0; v && v[i]; i++)
                len += strlen(v[i]) + seplen;
        r = p = xmalloc(len);
        *p = '\0';
        for (size_t i = 0; v && v[i]; i++) {
                if (i > 0)
                        p = stpcpy(p, sep);
                p = stpcpy(p, v[i]);
        }
        return r;
}

bool hutch_strv_contains(char *const *v, const char *s)
{
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

char **hutch_strv_split(const char *s, const char *seps)
{
        char **r = xcalloc(1, sizeof(char *));
        const char *p = s;

        while (*p) {
                size_t n = strcspn(p, seps);
                if (n > 0)
                        hutch_strv_push(&r, xstrndup(p, n));
                p += n;
                if (*p)
                        p++;
        }
        return r;
}

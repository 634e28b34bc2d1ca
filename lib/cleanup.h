/* Scope-bound cleanup through __attribute__((cleanup)).  Initialise every
 * annotated variable where it is declared (NULL, -1), and hand ownership
 * on with steal_ptr()/steal_fd().  Do not use in code that shares memory
 * with its parent (CLONE_VM). */
#ifndef HUTCH_CLEANUP_H
#define HUTCH_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define DEFINE_CLEANUP(type, fn)                 \
        static inline void fn##_cleanup(type *p) \
        {                                        \
                if (*p)                          \
                        (void) fn(*p);           \
        }

static inline void hutch_freep(void *p)
{
        free(*(void **) p);
}

static inline void hutch_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}

static inline void hutch_fclosep(FILE **f)
{
        if (*f)
                (void) fclose(*f);
}

static inline void hutch_closedirp(DIR **d)
{
        if (*d)
                (void) closedir(*d);
}

void hutch_strv_freep(char ***p);

#define _cleanup_(fn)    __attribute__((cleanup(fn)))
#define _cleanup_free_   _cleanup_(hutch_freep)
#define _cleanup_close_  _cleanup_(hutch_closep)
#define _cleanup_fclose_ _cleanup_(hutch_fclosep)
#define _cleanup_dir_    _cleanup_(hutch_closedirp)
#define _cleanup_strv_   _cleanup_(hutch_strv_freep)

static inline void *steal_ptr_impl(void **p)
{
        void *r = *p;
        *p = NULL;
        return r;
}
#define steal_ptr(pp) steal_ptr_impl((void **) (pp))

static inline int steal_fd(int *fd)
{
        int r = *fd;
        *fd = -1;
        return r;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STREQ(a, b)   (strcmp((a), (b)) == 0)

#endif

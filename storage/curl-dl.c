/* libcurl, loaded when a registry is first used.
 *
 * libcurl brings some thirty libraries with it (TLS, Kerberos, LDAP, SSH,
 * IDN...); linked into hutch, loading them cost every command several
 * milliseconds and the container monitor megabytes of memory, though
 * only pull and login need them.  These definitions stand in for
 * libcurl's entry points the registry code calls, and forward to the real
 * library, opened with dlopen() on first use.  Without libcurl, the calls
 * fail as libcurl's own do on an error.
 *
 * A libcurl function the registry code starts to use must be added here:
 * the link fails with "undefined reference to curl_..." until it is. */
#include "config.h"

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>

/* The variadic entry points take one argument: a long, a pointer, a
 * function pointer or a curl_off_t, all passed alike on the 64-bit ABIs
 * we build for. */
_Static_assert(sizeof(void *) == sizeof(curl_off_t) && sizeof(void *) == sizeof(long),
               "curl-dl.c forwards variadic arguments as one pointer-sized value");

static void *curl_symbol(const char *name)
{
        static void *lib;
        if (lib == NULL)
                lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        return lib ? dlsym(lib, name) : NULL;
}

#define LOAD(fn, name)                                          \
        do {                                                    \
                if ((fn) == NULL)                               \
                        *(void **) (&(fn)) = curl_symbol(name); \
        } while (0)

CURLcode curl_global_init(long flags)
{
        static CURLcode (*fn)(long);
        LOAD(fn, "curl_global_init");
        return fn ? fn(flags) : CURLE_FAILED_INIT;
}

CURL *curl_easy_init(void)
{
        static CURL *(*fn)(void);
        LOAD(fn, "curl_easy_init");
        return fn ? fn() : NULL;
}

void curl_easy_cleanup(CURL *curl)
{
        static void (*fn)(CURL *);
        LOAD(fn, "curl_easy_cleanup");
        if (fn)
                fn(curl);
}

time_t curl_getdate(const char *datestring, const time_t *now)
{
        static time_t (*fn)(const char *, const time_t *);
        LOAD(fn, "curl_getdate");
        return fn ? fn(datestring, now) : -1;
}

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
        static CURLcode (*fn)(CURL *, CURLoption, ...);
        va_list ap;
        void *arg;

        LOAD(fn, "curl_easy_setopt");
        va_start(ap, option);
        arg = va_arg(ap, void *);
        va_end(ap);
        return fn ? fn(curl, option, arg) : CURLE_FAILED_INIT;
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
        static CURLcode (*fn)(CURL *, CURLINFO, ...);
        va_list ap;
        void *arg;

        LOAD(fn, "curl_easy_getinfo");
        va_start(ap, info);
        arg = va_arg(ap, void *);
        va_end(ap);
        return fn ? fn(curl, info, arg) : CURLE_FAILED_INIT;
}

CURLcode curl_easy_perform(CURL *curl)
{
        static CURLcode (*fn)(CURL *);
        LOAD(fn, "curl_easy_perform");
        return fn ? fn(curl) : CURLE_FAILED_INIT;
}

const char *curl_easy_strerror(CURLcode code)
{
        static const char *(*fn)(CURLcode);
        LOAD(fn, "curl_easy_strerror");
        return fn ? fn(code) : "libcurl (libcurl.so.4) could not be loaded: install the Debian package 'libcurl4'";
}

char *curl_easy_escape(CURL *curl, const char *string, int length)
{
        static char *(*fn)(CURL *, const char *, int);
        LOAD(fn, "curl_easy_escape");
        return fn ? fn(curl, string, length) : NULL;
}

void curl_free(void *p)
{
        static void (*fn)(void *);
        LOAD(fn, "curl_free");
        if (fn)
                fn(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data)
{
        static struct curl_slist *(*fn)(struct curl_slist *, const char *);
        LOAD(fn, "curl_slist_append");
        return fn ? fn(list, data) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
        static void (*fn)(struct curl_slist *);
        LOAD(fn, "curl_slist_free_all");
        if (fn)
                fn(list);
}

CURLU *curl_url(void)
{
        static CURLU *(*fn)(void);
        LOAD(fn, "curl_url");
        return fn ? fn() : NULL;
}

void curl_url_cleanup(CURLU *handle)
{
        static void (*fn)(CURLU *);
        LOAD(fn, "curl_url_cleanup");
        if (fn)
                fn(handle);
}

CURLUcode curl_url_get(CURLU *handle, CURLUPart what, char **part, unsigned int flags)
{
        static CURLUcode (*fn)(CURLU *, CURLUPart, char **, unsigned int);
        LOAD(fn, "curl_url_get");
        return fn ? fn(handle, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

CURLUcode curl_url_set(CURLU *handle, CURLUPart what, const char *part, unsigned int flags)
{
        static CURLUcode (*fn)(CURLU *, CURLUPart, const char *, unsigned int);
        LOAD(fn, "curl_url_set");
        return fn ? fn(handle, what, part, flags) : CURLUE_OUT_OF_MEMORY;
}

CURLSH *curl_share_init(void)
{
        static CURLSH *(*fn)(void);
        LOAD(fn, "curl_share_init");
        return fn ? fn() : NULL;
}

CURLSHcode curl_share_setopt(CURLSH *share, CURLSHoption option, ...)
{
        static CURLSHcode (*fn)(CURLSH *, CURLSHoption, ...);
        va_list ap;
        void *arg;

        LOAD(fn, "curl_share_setopt");
        va_start(ap, option);
        arg = va_arg(ap, void *);
        va_end(ap);
        return fn ? fn(share, option, arg) : CURLSHE_NOT_BUILT_IN;
}

CURLSHcode curl_share_cleanup(CURLSH *share)
{
        static CURLSHcode (*fn)(CURLSH *);
        LOAD(fn, "curl_share_cleanup");
        return fn ? fn(share) : CURLSHE_INVALID;
}

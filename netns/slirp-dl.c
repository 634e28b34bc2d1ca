/* libslirp, loaded when a container first gets the slirp network.
 *
 * libslirp brings GLib, PCRE2 and libm with it; linked into hutch, every
 * command (ps, exec, inspect...) paid for loading and relocating them and
 * for GLib's constructors, and every monitor of a container without
 * networking held their pages.  These definitions stand in for the
 * libslirp entry points netns/slirp.c calls and forward to the real
 * library, opened with dlopen() on first use.
 *
 * A libslirp function netns/ starts to use must be added here: the link
 * fails with "undefined reference to slirp_..." until it is. */
#include "config.h"

#include "lib/log.h"

#include <dlfcn.h>
#include <slirp/libslirp.h>
#include <stddef.h>

static void *slirp_symbol(const char *name)
{
        static void *lib;
        static bool reported;
        if (lib == NULL) {
                lib = dlopen("libslirp.so.0", RTLD_NOW | RTLD_LOCAL);
                if (lib == NULL && !reported) {
                        log_error("cannot load libslirp.so.0 (%s): install libslirp0, or use --network none or host",
                                  dlerror());
                        reported = true;
                }
        }
        return lib ? dlsym(lib, name) : NULL;
}

#define LOAD(fn, name)                                           \
        do {                                                     \
                if ((fn) == NULL)                                \
                        *(void **) (&(fn)) = slirp_symbol(name); \
        } while (0)

Slirp *slirp_new(const SlirpConfig *cfg, const SlirpCb *callbacks, void *opaque)
{
        static Slirp *(*fn)(const SlirpConfig *, const SlirpCb *, void *);
        LOAD(fn, "slirp_new");
        return fn ? fn(cfg, callbacks, opaque) : NULL;
}

void slirp_cleanup(Slirp *slirp)
{
        static void (*fn)(Slirp *);
        LOAD(fn, "slirp_cleanup");
        if (fn)
                fn(slirp);
}

void slirp_pollfds_fill(Slirp *slirp, uint32_t *timeout, SlirpAddPollCb add_poll, void *opaque)
{
        static void (*fn)(Slirp *, uint32_t *, SlirpAddPollCb, void *);
        LOAD(fn, "slirp_pollfds_fill");
        if (fn)
                fn(slirp, timeout, add_poll, opaque);
}

void slirp_pollfds_poll(Slirp *slirp, int select_error, SlirpGetREventsCb get_revents, void *opaque)
{
        static void (*fn)(Slirp *, int, SlirpGetREventsCb, void *);
        LOAD(fn, "slirp_pollfds_poll");
        if (fn)
                fn(slirp, select_error, get_revents, opaque);
}

void slirp_input(Slirp *slirp, const uint8_t *pkt, int pkt_len)
{
        static void (*fn)(Slirp *, const uint8_t *, int);
        LOAD(fn, "slirp_input");
        if (fn)
                fn(slirp, pkt, pkt_len);
}

const char *slirp_version_string(void)
{
        static const char *(*fn)(void);
        LOAD(fn, "slirp_version_string");
        return fn ? fn() : "(not loaded)";
}

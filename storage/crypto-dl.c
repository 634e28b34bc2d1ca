/* libcrypto, loaded when something is first hashed or base64-coded.
 *
 * Linked into hutch, OpenSSL's libcrypto costs every command its
 * relocations at start and each container monitor some 450 kB of memory
 * (its relocated tables are private to every process), though only the
 * commands that verify or write blobs and talk to registries need it.
 * These definitions stand in for the entry points the storage code calls
 * and forward to the real library, opened with dlopen() on first use.
 * Without libcrypto the calls fail as libcrypto's own do on an error, and
 * the callers report it.
 *
 * A libcrypto function the storage code starts to use must be added here:
 * the link fails with "undefined reference to EVP_..." until it is. */
#include "config.h"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <stddef.h>

static void *crypto_symbol(const char *name)
{
        static void *lib;
        if (lib == NULL)
                lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
        return lib ? dlsym(lib, name) : NULL;
}

#define LOAD(fn, name)                                            \
        do {                                                      \
                if ((fn) == NULL)                                 \
                        *(void **) (&(fn)) = crypto_symbol(name); \
        } while (0)

EVP_MD_CTX *EVP_MD_CTX_new(void)
{
        static EVP_MD_CTX *(*fn)(void);
        LOAD(fn, "EVP_MD_CTX_new");
        return fn ? fn() : NULL;
}

void EVP_MD_CTX_free(EVP_MD_CTX *ctx)
{
        static void (*fn)(EVP_MD_CTX *);
        LOAD(fn, "EVP_MD_CTX_free");
        if (fn)
                fn(ctx);
}

const EVP_MD *EVP_sha256(void)
{
        static const EVP_MD *(*fn)(void);
        LOAD(fn, "EVP_sha256");
        return fn ? fn() : NULL;
}

int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl)
{
        static int (*fn)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
        LOAD(fn, "EVP_DigestInit_ex");
        return fn ? fn(ctx, type, impl) : 0;
}

int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *data, size_t len)
{
        static int (*fn)(EVP_MD_CTX *, const void *, size_t);
        LOAD(fn, "EVP_DigestUpdate");
        return fn ? fn(ctx, data, len) : 0;
}

int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *len)
{
        static int (*fn)(EVP_MD_CTX *, unsigned char *, unsigned int *);
        LOAD(fn, "EVP_DigestFinal_ex");
        return fn ? fn(ctx, md, len) : 0;
}

int EVP_EncodeBlock(unsigned char *out, const unsigned char *in, int len)
{
        static int (*fn)(unsigned char *, const unsigned char *, int);
        LOAD(fn, "EVP_EncodeBlock");
        if (fn == NULL) {
                out[0] = '\0';
                return 0;
        }
        return fn(out, in, len);
}

int EVP_DecodeBlock(unsigned char *out, const unsigned char *in, int len)
{
        static int (*fn)(unsigned char *, const unsigned char *, int);
        LOAD(fn, "EVP_DecodeBlock");
        return fn ? fn(out, in, len) : -1;
}

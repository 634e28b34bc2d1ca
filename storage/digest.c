#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "storage/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct storage_sha256 {
        EVP_MD_CTX *ctx;
};

bool storage_digest_valid_n(const char *s, size_t len)
{
        const size_t plen = sizeof(STORAGE_DIGEST_PREFIX) - 1;

        if (s == NULL || len != plen + STORAGE_DIGEST_HEX_LEN)
                return false;
        if (memcmp(s, STORAGE_DIGEST_PREFIX, plen) != 0)
                return false;
        for (size_t i = plen; i < len; i++) {
                char c = s[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return false;
        }
        return true;
}

bool storage_digest_valid(const char *s)
{
        if (s == NULL)
                return false;
        /* strnlen: never read far past a digest-sized string. */
        return storage_digest_valid_n(s, strnlen(s, STORAGE_DIGEST_BUFSIZE));
}

const char *storage_digest_hex(const char *s)
{
        if (!storage_digest_valid(s))
                return NULL;
        return s + sizeof(STORAGE_DIGEST_PREFIX) - 1;
}

struct storage_sha256 *storage_sha256_new(void)
{
        struct storage_sha256 *h = calloc(1, sizeof(*h));

        if (h == NULL)
                abort();
        h->ctx = EVP_MD_CTX_new();
        if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
                abort();
        return h;
}

void storage_sha256_update(struct storage_sha256 *h, const void *buf, size_t len)
{
        if (len > 0 && EVP_DigestUpdate(h->ctx, buf, len) != 1)
                abort();
}

void storage_sha256_final_hex(struct storage_sha256 *h, char ret_digest[STORAGE_DIGEST_BUFSIZE])
{
        static const char hexdigits[] = "0123456789abcdef";
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        char *p;

        if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != STORAGE_DIGEST_HEX_LEN / 2)
                abort();
        memcpy(ret_digest, STORAGE_DIGEST_PREFIX, sizeof(STORAGE_DIGEST_PREFIX) - 1);
        p = ret_digest + sizeof(STORAGE_DIGEST_PREFIX) - 1;
        for (unsigned int i = 0; i < n; i++) {
                *p++ = hexdigits[md[i] >> 4];
                *p++ = hexdigits[md[i] & 0xf];
        }
        *p = '\0';
}

struct storage_sha256 *storage_sha256_free(struct storage_sha256 *h)
{
        if (h == NULL)
                return NULL;
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
}

DEFINE_CLEANUP(struct storage_sha256 *, storage_sha256_free)

void storage_digest_buffer(const void *buf, size_t len, char ret_digest[STORAGE_DIGEST_BUFSIZE])
{
        __attribute__((cleanup(storage_sha256_free_cleanup))) struct storage_sha256 *h = storage_sha256_new();

        storage_sha256_update(h, buf, len);
        storage_sha256_final_hex(h, ret_digest);
}

int storage_digest_fd(int fd, char ret_digest[STORAGE_DIGEST_BUFSIZE], struct hutch_error **err)
{
        __attribute__((cleanup(storage_sha256_free_cleanup))) struct storage_sha256 *h = storage_sha256_new();
        _cleanup_free_ char *buf = NULL;
        const size_t bufsize = 256 * 1024;

        buf = malloc(bufsize);
        if (buf == NULL)
                abort();
        for (;;) {
                ssize_t n = read(fd, buf, bufsize);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return hutch_error_set(err, errno, "read for digest");
                }
                if (n == 0)
                        break;
                storage_sha256_update(h, buf, (size_t) n);
        }
        storage_sha256_final_hex(h, ret_digest);
        return 0;
}

int storage_digest_file(int dirfd, const char *path, char ret_digest[STORAGE_DIGEST_BUFSIZE],
                        struct hutch_error **err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return hutch_error_set(err, errno, "open '%s'", path);
        if (fstat(fd, &st) < 0)
                return hutch_error_set(err, errno, "stat '%s'", path);
        if (!S_ISREG(st.st_mode))
                return hutch_error_set(err, EINVAL, "'%s' is not a regular file", path);
        r = storage_digest_fd(fd, ret_digest, err);
        if (r < 0)
                return hutch_error_prefix(err, "'%s'", path);
        return 0;
}

#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "storage/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct storage_sha256 {
        EVP_MD_CTX *ctx;
};

bool storage_digest_hex_valid_n(const char *s, size_t len)
{
        if (s == NULL || len != STORAGE_DIGEST_HEX_LEN)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return false;
        }
        return true;
}

bool storage_digest_valid_n(const char *s, size_t len)
{
        const size_t plen = sizeof(STORAGE_DIGEST_PREFIX) - 1;

        if (s == NULL || len != plen + STORAGE_DIGEST_HEX_LEN)
                return false;
        if (memcmp(s, STORAGE_DIGEST_PREFIX, plen) != 0)
                return false;
        return storage_digest_hex_valid_n(s + plen, len - plen);
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

/* ---- hashing in a worker thread ----
 *
 * A ring of ASYNC_SLOTS buffers: slots [head, head + count) are full and
 * wait for the worker; the producer fills slot (head + count) % ASYNC_SLOTS,
 * which is free whenever count < ASYNC_SLOTS, and publishes it when full. */
#define ASYNC_SLOTS     4
#define ASYNC_SLOT_SIZE (1024 * 1024)

struct storage_sha256_async {
        struct storage_sha256 *h;
        bool threaded, joined;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        unsigned char *slot[ASYNC_SLOTS];
        size_t slot_len[ASYNC_SLOTS];
        size_t head, count, fill_len;
        bool done;
};

static void *async_worker(void *data)
{
        struct storage_sha256_async *a = data;

        pthread_mutex_lock(&a->lock);
        for (;;) {
                while (a->count == 0 && !a->done)
                        pthread_cond_wait(&a->cond, &a->lock);
                if (a->count == 0)
                        break;
                size_t i = a->head;
                pthread_mutex_unlock(&a->lock);
                storage_sha256_update(a->h, a->slot[i], a->slot_len[i]);
                pthread_mutex_lock(&a->lock);
                a->head = (a->head + 1) % ASYNC_SLOTS;
                a->count--;
                pthread_cond_broadcast(&a->cond);
        }
        pthread_mutex_unlock(&a->lock);
        return NULL;
}

struct storage_sha256_async *storage_sha256_async_new(void)
{
        struct storage_sha256_async *a = calloc(1, sizeof(*a));

        if (a == NULL)
                abort();
        a->h = storage_sha256_new();
        for (size_t i = 0; i < ASYNC_SLOTS; i++) {
                a->slot[i] = malloc(ASYNC_SLOT_SIZE);
                if (a->slot[i] == NULL)
                        abort();
        }
        pthread_mutex_init(&a->lock, NULL);
        pthread_cond_init(&a->cond, NULL);
        a->threaded = pthread_create(&a->thread, NULL, async_worker, a) == 0;
        return a;
}

/* Hands the slot being filled to the worker; called with the lock held. */
static void async_publish(struct storage_sha256_async *a)
{
        size_t i = (a->head + a->count) % ASYNC_SLOTS;

        a->slot_len[i] = a->fill_len;
        a->fill_len = 0;
        a->count++;
        pthread_cond_broadcast(&a->cond);
}

void storage_sha256_async_update(struct storage_sha256_async *a, const void *buf, size_t len)
{
        const unsigned char *p = buf;

        if (!a->threaded) {
                storage_sha256_update(a->h, buf, len);
                return;
        }
        pthread_mutex_lock(&a->lock);
        while (len > 0) {
                while (a->count == ASYNC_SLOTS)
                        pthread_cond_wait(&a->cond, &a->lock);
                size_t i = (a->head + a->count) % ASYNC_SLOTS;
                size_t n = ASYNC_SLOT_SIZE - a->fill_len < len ? ASYNC_SLOT_SIZE - a->fill_len : len;
                /* The worker never touches the slot being filled. */
                pthread_mutex_unlock(&a->lock);
                memcpy(a->slot[i] + a->fill_len, p, n);
                pthread_mutex_lock(&a->lock);
                a->fill_len += n;
                p += n;
                len -= n;
                if (a->fill_len == ASYNC_SLOT_SIZE)
                        async_publish(a);
        }
        pthread_mutex_unlock(&a->lock);
}

void *storage_sha256_async_buffer(struct storage_sha256_async *a, size_t *ret_size)
{
        size_t i = 0;

        *ret_size = ASYNC_SLOT_SIZE;
        if (!a->threaded)
                return a->slot[0];
        pthread_mutex_lock(&a->lock);
        if (a->fill_len > 0) /* bytes copied in by update() go first */
                async_publish(a);
        while (a->count == ASYNC_SLOTS)
                pthread_cond_wait(&a->cond, &a->lock);
        i = (a->head + a->count) % ASYNC_SLOTS;
        pthread_mutex_unlock(&a->lock);
        return a->slot[i];
}

void storage_sha256_async_commit(struct storage_sha256_async *a, size_t len)
{
        if (len == 0)
                return;
        if (!a->threaded) {
                storage_sha256_update(a->h, a->slot[0], len);
                return;
        }
        pthread_mutex_lock(&a->lock);
        /* The slot buffer() returned: nothing else was filled meanwhile. */
        a->fill_len = len;
        async_publish(a);
        pthread_mutex_unlock(&a->lock);
}

static void async_join(struct storage_sha256_async *a)
{
        if (!a->threaded || a->joined)
                return;
        pthread_mutex_lock(&a->lock);
        while (a->fill_len > 0 && a->count == ASYNC_SLOTS)
                pthread_cond_wait(&a->cond, &a->lock);
        if (a->fill_len > 0)
                async_publish(a);
        a->done = true;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->thread, NULL);
        a->joined = true;
}

void storage_sha256_async_final_hex(struct storage_sha256_async *a, char ret_digest[STORAGE_DIGEST_BUFSIZE])
{
        async_join(a);
        storage_sha256_final_hex(a->h, ret_digest);
}

struct storage_sha256_async *storage_sha256_async_free(struct storage_sha256_async *a)
{
        if (a == NULL)
                return NULL;
        async_join(a);
        pthread_mutex_destroy(&a->lock);
        pthread_cond_destroy(&a->cond);
        for (size_t i = 0; i < ASYNC_SLOTS; i++)
                free(a->slot[i]);
        storage_sha256_free(a->h);
        free(a);
        return NULL;
}

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

int storage_digest_file(int dirfd, const char *path, char ret_digest[STORAGE_DIGEST_BUFSIZE], struct hutch_error **err)
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

/* Content-addressed blobs: blobs/sha256/<hex>, verified while they stream
 * in and linked in under their final name only once complete and synced. */
#include "config.h"

#include "lib/fs.h"
#include "lib/xalloc.h"
#include "storage/store.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct storage_blob_writer {
        struct storage_store *store;
        int fd;
        char *tmp_name; /* named temporary file in tmp/ when O_TMPFILE is unsupported */
        struct storage_sha256 *hash;
        uint64_t size;
        char expected[STORAGE_DIGEST_BUFSIZE];
        char digest[STORAGE_DIGEST_BUFSIZE];
        bool finished, committed, bad;
};

int storage_blob_writer_new(struct storage_store *s, const char *expected_digest, struct storage_blob_writer **ret,
                            struct hutch_error **err)
{
        struct storage_blob_writer *w;
        int fd;

        if (expected_digest && !storage_digest_valid(expected_digest))
                return hutch_error_set(err, 0, "invalid digest '%.80s'", expected_digest);
        w = xzalloc(sizeof(*w));
        w->store = s;
        fd = openat(s->tmp_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
                /* No O_TMPFILE here: a named file the next cleanup removes if we die. */
                for (int i = 0; i < 100 && fd < 0; i++) {
                        free(w->tmp_name);
                        w->tmp_name = xasprintf("blob-%d-%d-%ld", (int) getpid(), i, (long) random());
                        fd = openat(s->tmp_fd, w->tmp_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                        if (fd < 0 && errno != EEXIST)
                                break;
                }
        }
        if (fd < 0) {
                int e = errno;
                free(w->tmp_name);
                free(w);
                return hutch_error_set(err, e, "create a file in '%s/tmp'", s->root);
        }
        w->fd = fd;
        w->hash = storage_sha256_new();
        if (expected_digest)
                memcpy(w->expected, expected_digest, STORAGE_DIGEST_BUFSIZE);
        *ret = w;
        return 0;
}

int storage_blob_writer_write(struct storage_blob_writer *w, const void *buf, size_t len, struct hutch_error **err)
{
        int r;

        if (w->finished)
                return hutch_error_set(err, 0, "blob already finished");
        if (w->size + len > STORAGE_BLOB_MAX_BYTES)
                return hutch_error_set(err, 0, "blob larger than %llu bytes",
                                       (unsigned long long) STORAGE_BLOB_MAX_BYTES);
        r = hutch_write_all(w->fd, buf, len);
        if (r < 0)
                return hutch_error_set(err, -r, "write to '%s/tmp'", w->store->root);
        storage_sha256_update(w->hash, buf, len);
        w->size += len;
        return 0;
}

int storage_blob_writer_finish(struct storage_blob_writer *w, struct hutch_error **err)
{
        if (w->finished)
                return 0;
        storage_sha256_final_hex(w->hash, w->digest);
        w->hash = storage_sha256_free(w->hash);
        w->finished = true;
        if (w->expected[0] && !STREQ(w->expected, w->digest)) {
                w->bad = true;
                return hutch_error_set(err, 0, "digest mismatch: expected %s, got %s", w->expected, w->digest);
        }
        return 0;
}

const char *storage_blob_writer_digest(const struct storage_blob_writer *w)
{
        return w->finished ? w->digest : NULL;
}

uint64_t storage_blob_writer_size(const struct storage_blob_writer *w)
{
        return w->size;
}

int storage_blob_writer_reopen(struct storage_blob_writer *w, struct hutch_error **err)
{
        char path[64];
        int fd;

        /* A fresh open file description: its own offset, read-only. */
        fd = open(hutch_fd_path(w->fd, path, sizeof(path)), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return hutch_error_set(err, errno, "reopen a staged blob");
        return fd;
}

int storage_blob_writer_commit(struct storage_blob_writer *w, struct hutch_error **err)
{
        struct storage_store *s = w->store;
        const char *hex;
        char path[64];
        int r;

        if (!w->finished) {
                r = storage_blob_writer_finish(w, err);
                if (r < 0)
                        return r;
        }
        if (w->bad)
                return hutch_error_set(err, 0, "refusing to store blob %s: it did not verify", w->digest);
        if (w->committed)
                return 0;
        hex = storage_digest_hex(w->digest);
        if (faccessat(s->blobs_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                w->committed = true;
                return 0;
        }
        if (fsync(w->fd) < 0)
                return hutch_error_set(err, errno, "sync blob %s", w->digest);
        if (w->tmp_name) {
                r = renameat(s->tmp_fd, w->tmp_name, s->blobs_fd, hex);
                if (r == 0) {
                        free(w->tmp_name);
                        w->tmp_name = NULL;
                }
        } else {
                r = linkat(AT_FDCWD, hutch_fd_path(w->fd, path, sizeof(path)), s->blobs_fd, hex, AT_SYMLINK_FOLLOW);
                if (r < 0 && errno == EEXIST)
                        r = 0; /* another command stored the same content first */
        }
        if (r < 0)
                return hutch_error_set(err, errno, "store blob %s", w->digest);
        w->committed = true;
        return 0;
}

struct storage_blob_writer *storage_blob_writer_free(struct storage_blob_writer *w)
{
        if (w == NULL)
                return NULL;
        if (w->tmp_name)
                (void) unlinkat(w->store->tmp_fd, w->tmp_name, 0);
        hutch_closep(&w->fd);
        storage_sha256_free(w->hash);
        free(w->tmp_name);
        free(w);
        return NULL;
}

int storage_blob_put(struct storage_store *s, const void *buf, size_t len, char ret_digest[STORAGE_DIGEST_BUFSIZE],
                     struct hutch_error **err)
{
        _cleanup_(storage_blob_writer_free_cleanup) struct storage_blob_writer *w = NULL;
        int r;

        r = storage_blob_writer_new(s, NULL, &w, err);
        if (r < 0)
                return r;
        r = storage_blob_writer_write(w, buf, len, err);
        if (r < 0)
                return r;
        r = storage_blob_writer_commit(w, err);
        if (r < 0)
                return r;
        memcpy(ret_digest, w->digest, STORAGE_DIGEST_BUFSIZE);
        return 0;
}

bool storage_blob_exists(struct storage_store *s, const char *digest)
{
        const char *hex = storage_digest_hex(digest);
        struct stat st;

        return hex && fstatat(s->blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int storage_blob_open(struct storage_store *s, const char *digest, uint64_t *ret_size, struct hutch_error **err)
{
        const char *hex = storage_digest_hex(digest);
        struct stat st;
        int fd;

        if (hex == NULL)
                return hutch_error_set(err, 0, "invalid digest '%.80s'", digest ? digest : "");
        fd = openat(s->blobs_fd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return hutch_error_set(err, errno, "blob %s", digest);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                (void) close(fd);
                return hutch_error_set(err, 0, "blob %s is not a regular file", digest);
        }
        if (ret_size)
                *ret_size = (uint64_t) st.st_size;
        return fd;
}

int storage_blob_read(struct storage_store *s, const char *digest, size_t max, char **ret_buf, size_t *ret_len,
                      struct hutch_error **err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        char got[STORAGE_DIGEST_BUFSIZE];
        uint64_t size;
        size_t len;
        int r;

        fd = storage_blob_open(s, digest, &size, err);
        if (fd < 0)
                return fd;
        if (size > max)
                return hutch_error_set(err, 0, "blob %s is larger than %zu bytes", digest, max);
        r = hutch_read_fd_alloc(fd, max, &buf, &len);
        if (r < 0)
                return hutch_error_set(err, -r, "read blob %s", digest);
        storage_digest_buffer(buf, len, got);
        if (!STREQ(got, digest))
                return hutch_error_set(err, 0, "blob %s is corrupt (its content hashes to %s)", digest, got);
        *ret_buf = steal_ptr(&buf);
        *ret_len = len;
        return 0;
}

int storage_blob_read_stored(struct storage_store *s, const char *digest, uint64_t size, size_t max, char **ret_buf,
                             size_t *ret_len, struct hutch_error **err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        uint64_t have;
        size_t len;
        int r;

        fd = storage_blob_open(s, digest, &have, err);
        if (fd < 0)
                return fd;
        if (have > max)
                return hutch_error_set(err, 0, "blob %s is larger than %zu bytes", digest, max);
        r = hutch_read_fd_alloc(fd, max, &buf, &len);
        if (r < 0)
                return hutch_error_set(err, -r, "read blob %s", digest);
        if (len != size)
                return hutch_error_set(err, 0, "blob %s is corrupt (%zu bytes, %" PRIu64 " recorded)", digest, len,
                                       size);
        *ret_buf = steal_ptr(&buf);
        *ret_len = len;
        return 0;
}

int storage_blob_remove(struct storage_store *s, const char *digest)
{
        const char *hex = storage_digest_hex(digest);

        if (hex == NULL)
                return -EINVAL;
        if (unlinkat(s->blobs_fd, hex, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* ADD's URL sources; see build-url.h. */
#include "config.h"

#include "cmd/build-url.h"
#include "cmd/dockerfile.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "storage/registry.h"
#include "storage/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sink {
        int fd;
        uint64_t n, max;
        const char *url;
};

static int sink_write(void *data, const void *buf, size_t len, struct hutch_error **err)
{
        struct sink *k = data;
        if (k->n + len > k->max)
                return hutch_error_set(err, EFBIG, "%s: the file is larger than %llu bytes", k->url,
                                       (unsigned long long) k->max);
        int r = hutch_write_all(k->fd, buf, len);
        if (r < 0)
                return hutch_error_set(err, -r, "%s: write the download", k->url);
        k->n += len;
        return 0;
}

static uint64_t max_bytes(void)
{
        const char *e = getenv("HUTCH_BUILD_URL_MAX_BYTES");
        char *end;
        unsigned long long v = e ? strtoull(e, &end, 10) : 0;
        return e && *e && !*end && v > 0 && v < BUILD_URL_MAX_BYTES ? v : BUILD_URL_MAX_BYTES;
}

int build_url_download(struct build_url_set *set, struct storage_store *s, const char *store_root, const char *url,
                       const char *checksum, struct hutch_error **err)
{
        if (set->dirfd < 0) {
                _cleanup_free_ char *rel = NULL;
                if (storage_store_mkdtemp(s, "build-url", &rel, err) < 0)
                        return -1;
                set->dir = xasprintf("%s/%s", store_root, rel);
                set->dirfd = open(set->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (set->dirfd < 0)
                        return hutch_error_set(err, errno, "open '%s'", set->dir);
        }
        _cleanup_free_ char *file = xasprintf("%zu", set->n);
        _cleanup_close_ int fd = openat(set->dirfd, file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return hutch_error_set(err, errno, "create a file for '%s'", url);
        struct sink k = { .fd = fd, .max = max_bytes(), .url = url };
        char digest[STORAGE_DIGEST_BUFSIZE];
        int64_t mtime;
        if (registry_url_fetch(url, sink_write, &k, digest, &mtime, err) < 0)
                return -1;
        if (checksum && !STREQ(checksum, digest))
                return hutch_error_set(err, EBADMSG, "%s: checksum mismatch: expected %s, got %s", url, checksum,
                                       digest);
        if (mtime >= 0) {
                /* Docker's: the file's time is the server's Last-Modified */
                struct timespec ts[2] = { { .tv_sec = (time_t) mtime }, { .tv_sec = (time_t) mtime } };
                if (futimens(fd, ts) < 0)
                        return hutch_error_set(err, errno, "%s: set the file's time", url);
        }
        set->v = xreallocarray(set->v, set->n + 1, sizeof(*set->v));
        struct build_copy_url *u = &set->v[set->n++];
        u->url = xstrdup(url);
        u->file = steal_ptr(&file);
        u->name = dockerfile_url_file_name(url);
        memcpy(u->digest, digest, sizeof(digest));
        return 0;
}

void build_url_set_clear(struct build_url_set *set)
{
        for (size_t i = 0; i < set->n; i++) {
                free(set->v[i].url);
                free(set->v[i].file);
                free(set->v[i].name);
        }
        free(set->v);
        if (set->dirfd >= 0)
                (void) close(set->dirfd);
        if (set->dir)
                (void) hutch_rm_rf_at(AT_FDCWD, set->dir);
        free(set->dir);
        *set = (struct build_url_set){ .dirfd = -1 };
}

/* Opening, locking and cleaning the store (see store.h). */
#include "config.h"

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/store.h"
#include "storage/unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_subdir(int dirfd, const char *root, const char *name, struct hutch_error **err)
{
        int fd;

        if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
                return hutch_error_set(err, errno, "create '%s/%s'", root, name);
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return hutch_error_set(err, errno, "open '%s/%s'", root, name);
        return fd;
}

static int flock_retry(int fd, int op)
{
        while (flock(fd, op) < 0) {
                if (errno != EINTR)
                        return -errno;
        }
        return 0;
}

int storage_store_open(const char *root, enum storage_store_mode mode, struct storage_store **ret,
                       struct hutch_error **err)
{
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        _cleanup_close_ int blobs = -1;
        struct stat st;
        int r;

        if (root == NULL || root[0] != '/')
                return hutch_error_set(err, EINVAL, "storage root '%s' is not an absolute path", root ? root : "");
        s = xzalloc(sizeof(*s));
        s->lock_fd = s->tmp_fd = s->blobs_fd = s->layers_fd = s->images_fd = -1;
        s->root = xstrdup(root);
        s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->root_fd < 0)
                return hutch_error_set(err, errno, "open storage root '%s'", root);
        if (fstat(s->root_fd, &st) < 0)
                return hutch_error_set(err, errno, "stat '%s'", root);
        if ((st.st_mode & 0077) != 0)
                return hutch_error_set(err, EPERM, "storage root '%s' is accessible by other users (mode %04o)", root,
                                       (unsigned) (st.st_mode & 07777));
        s->lock_fd = openat(s->root_fd, "storage.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (s->lock_fd < 0)
                return hutch_error_set(err, errno, "open '%s/storage.lock'", root);
        if (mode == STORAGE_STORE_EXCLUSIVE) {
                r = flock_retry(s->lock_fd, LOCK_EX);
                s->exclusive = r == 0;
        } else if (mode == STORAGE_STORE_WRITE) {
                /* Nobody else here: a good moment to tidy up. */
                r = flock_retry(s->lock_fd, LOCK_EX | LOCK_NB);
                if (r == 0)
                        s->exclusive = true;
                else if (r == -EWOULDBLOCK)
                        r = flock_retry(s->lock_fd, LOCK_SH);
        } else {
                r = flock_retry(s->lock_fd, LOCK_SH);
        }
        if (r < 0)
                return hutch_error_set(err, -r, "lock '%s/storage.lock'", root);

        s->tmp_fd = open_subdir(s->root_fd, root, "tmp", err);
        if (s->tmp_fd < 0)
                return s->tmp_fd;
        blobs = open_subdir(s->root_fd, root, "blobs", err);
        if (blobs < 0)
                return blobs;
        s->blobs_fd = open_subdir(blobs, root, "sha256", err);
        if (s->blobs_fd < 0)
                return hutch_error_prefix(err, "blobs");
        s->layers_fd = open_subdir(s->root_fd, root, "layers", err);
        if (s->layers_fd < 0)
                return s->layers_fd;
        s->images_fd = open_subdir(s->root_fd, root, "images", err);
        if (s->images_fd < 0)
                return s->images_fd;
        r = open_subdir(s->root_fd, root, "containers", err);
        if (r < 0)
                return r;
        (void) close(r);

        if (s->exclusive) {
                storage_store_clean_leftovers(s);
                if (mode == STORAGE_STORE_WRITE) {
                        r = flock_retry(s->lock_fd, LOCK_SH);
                        if (r < 0)
                                return hutch_error_set(err, -r, "lock '%s/storage.lock'", root);
                        s->exclusive = false;
                }
        }
        *ret = steal_ptr(&s);
        return 0;
}

struct storage_store *storage_store_free(struct storage_store *s)
{
        if (s == NULL)
                return NULL;
        hutch_closep(&s->tmp_fd);
        hutch_closep(&s->blobs_fd);
        hutch_closep(&s->layers_fd);
        hutch_closep(&s->images_fd);
        hutch_closep(&s->root_fd);
        hutch_closep(&s->lock_fd); /* drops the lock */
        free(s->root);
        free(s);
        return NULL;
}

int storage_store_lock_exclusive(struct storage_store *s, bool wait, struct hutch_error **err)
{
        int r;

        if (s->exclusive)
                return 1;
        r = flock_retry(s->lock_fd, LOCK_EX | (wait ? 0 : LOCK_NB));
        if (r == 0) {
                s->exclusive = true;
                return 1;
        }
        if (r == -EWOULDBLOCK) {
                /* flock drops the old lock before it tries: take it back. */
                r = flock_retry(s->lock_fd, LOCK_SH);
                if (r == 0)
                        return 0;
        }
        return hutch_error_set(err, -r, "lock '%s/storage.lock'", s->root);
}

/* Calls fn for each entry of dirfd is_leftover accepts (all with NULL). */
static void walk_leftovers(int dirfd, const char *dir, bool (*is_leftover)(const char *name),
                           void (*fn)(int dirfd, const char *dir, const char *name, void *data), void *data)
{
        _cleanup_dir_ DIR *d = NULL;
        struct dirent *de;
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (d == NULL) {
                (void) close(fd);
                return;
        }
        while ((de = readdir(d)) != NULL) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                if (is_leftover && !is_leftover(de->d_name))
                        continue;
                fn(dirfd, dir, de->d_name, data);
        }
}

static bool tmp_name(const char *name)
{
        return strncmp(name, ".tmp-", 5) == 0 || storage_layer_tmp_name_is(name);
}

static bool not_digest_hex(const char *name)
{
        size_t n = strlen(name);

        if (n != STORAGE_DIGEST_HEX_LEN)
                return true;
        for (size_t i = 0; i < n; i++)
                if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
                        return true;
        return false;
}

void storage_store_list_leftovers(struct storage_store *s,
                                  void (*fn)(int dirfd, const char *dir, const char *name, void *data), void *data)
{
        /* the one definition of a leftover: clean_leftovers removes these */
        walk_leftovers(s->tmp_fd, "tmp", NULL, fn, data);
        walk_leftovers(s->layers_fd, "layers", tmp_name, fn, data);
        walk_leftovers(s->blobs_fd, "blobs/sha256", not_digest_hex, fn, data);
        walk_leftovers(s->images_fd, "images", tmp_name, fn, data);
}

static void remove_leftover(int dirfd, const char *dir, const char *name, void *data)
{
        int r;

        (void) data;
        log_debug("removing leftover '%s/%s'", dir, name);
        r = hutch_rm_rf_at(dirfd, name);
        if (r < 0)
                log_debug_errno(-r, "remove leftover '%s/%s'", dir, name);
}

void storage_store_clean_leftovers(struct storage_store *s)
{
        if (!s->exclusive)
                return;
        storage_store_list_leftovers(s, remove_leftover, NULL);
}

int storage_store_lock_records(struct storage_store *s, struct hutch_error **err)
{
        _cleanup_close_ int fd = openat(s->images_fd, "images.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        int r;

        if (fd < 0)
                return hutch_error_set(err, errno, "open '%s/images/images.lock'", s->root);
        r = flock_retry(fd, LOCK_EX);
        if (r < 0)
                return hutch_error_set(err, -r, "lock '%s/images/images.lock'", s->root);
        return steal_fd(&fd);
}

int storage_store_mkdtemp(struct storage_store *s, const char *prefix, char **ret_rel, struct hutch_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/tmp/%s-XXXXXX", s->root, prefix);

        if (mkdtemp(path) == NULL)
                return hutch_error_set(err, errno, "create a directory in '%s/tmp'", s->root);
        *ret_rel = xstrdup(path + strlen(s->root) + 1);
        return 0;
}

char *storage_store_path(const struct storage_store *s, const char *rel)
{
        return xasprintf("%s/%s", s->root, rel);
}

char *storage_store_layer_path(const struct storage_store *s, const char *chain_id)
{
        const char *hex = storage_digest_hex(chain_id);
        return xasprintf("%s/layers/%s", s->root, hex ? hex : "invalid");
}

bool storage_store_layer_exists(const struct storage_store *s, const char *chain_id)
{
        const char *hex = storage_digest_hex(chain_id);
        struct stat st;

        return hex && fstatat(s->layers_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

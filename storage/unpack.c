/* Streaming layer unpacker: libarchive reads, our own writer creates.
 *
 * Data path, single-threaded and pull-driven, with no temporary tarball:
 *
 *   in_fd --read()--> [raw reader: gzip/zstd/none filter, "raw" format]
 *          (sha256 of the input = blob digest)
 *   raw data blocks --> [tar reader, fed through a read callback]
 *          (sha256 of the uncompressed tar = diff ID)
 *   entries --> our writer, below rootfd only.
 *
 * Path safety.  An entry name is cleaned lexically first ("." dropped,
 * ".." clamped at the root, leading "/" ignored).  Its parent directory is
 * then resolved with hutch_open_in_root() (openat2 RESOLVE_IN_ROOT, so
 * symlinks inside the layer are followed but can never leave it); missing
 * parents are created one component at a time with mkdirat() on an
 * already-resolved directory fd.  The leaf is only ever touched with *at()
 * calls relative to that parent fd and never followed (O_NOFOLLOW,
 * AT_SYMLINK_NOFOLLOW, linkat without AT_SYMLINK_FOLLOW, mkdirat, mknodat,
 * symlinkat), so an existing symlink at the leaf is replaced, not written
 * through.  Whiteouts resolve their parent without following any symlink.
 * Nothing else writes to the destination while we run (it is a fresh
 * directory in the user's 0700 store), so the resolved fds stay valid.
 *
 * Directory modes and times are applied at the end: a read-only directory
 * must stay writable while its children are created, and creating children
 * changes its mtime. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WH_PREFIX            ".wh."
#define WH_PREFIX_LEN        4
#define WH_META_PREFIX       ".wh..wh."
#define WH_OPAQUE            ".wh..wh..opq"
#define OVERRIDE_XATTR       "user.containers.override_stat"
#define DEFAULT_OPAQUE_XATTR "user.overlay.opaque"

struct dir_meta {
        char *path; /* cleaned, relative to the root; "." for the root */
        dev_t dev;
        ino_t ino;
        mode_t mode;
        struct timespec times[2];
};

struct unpack_ctx {
        /* limits */
        uint64_t max_bytes, max_entries;
        size_t max_path, max_xattr_bytes;
        enum storage_whiteout_format whiteouts;
        const char *opaque_xattr;
        bool no_chown;
        bool any_compression;
        bool set_owner;
        uint32_t owner_uid, owner_gid;

        int in_fd, rootfd;
        struct archive *raw, *tar;
        struct storage_sha256_async *in_hash, *tar_hash;
        bool in_eof, raw_eof;
        uint64_t apparent_bytes;
        struct hutch_error *cb_err; /* failure inside a libarchive callback */

        /* last resolved parent directory */
        char *cache_path;
        int cache_fd;
        bool cache_nosym;
        bool cache_stale; /* something was removed or replaced since */

        struct dir_meta *dirs;
        size_t n_dirs, cap_dirs, dir_bytes;

        struct storage_unpack_result res;
};

/* ---- input side ---- */

static la_ssize_t in_read_cb(struct archive *a, void *data, const void **ret_buf)
{
        struct unpack_ctx *c = data;
        ssize_t n;

        if (c->in_eof)
                return 0;
        /* Read straight into the hasher's buffer: no copy, and libarchive may
         * keep reading it until our next call, which buffer() allows. */
        size_t bufsize;
        unsigned char *buf = storage_sha256_async_buffer(c->in_hash, &bufsize);
        for (;;) {
                n = read(c->in_fd, buf, bufsize);
                if (n >= 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
                        break;
                if (errno != EINTR) {
                        /* A non-blocking pipe or socket: wait for data. */
                        struct pollfd pfd = { .fd = c->in_fd, .events = POLLIN };
                        (void) poll(&pfd, 1, -1);
                }
        }
        if (n < 0) {
                int e = errno;
                (void) hutch_error_set(&c->cb_err, e, "read layer");
                archive_set_error(a, e, "read layer");
                return -1;
        }
        if (n == 0) {
                c->in_eof = true;
                return 0;
        }
        c->res.compressed_size += (uint64_t) n;
        if (c->res.compressed_size > c->max_bytes) {
                (void) hutch_error_set(&c->cb_err, EFBIG, "layer is larger than the limit of %" PRIu64 " bytes",
                                       c->max_bytes);
                archive_set_error(a, EFBIG, "layer too large");
                return -1;
        }
        storage_sha256_async_commit(c->in_hash, (size_t) n);
        *ret_buf = buf;
        return n;
}

/* Next block of uncompressed tar bytes; 0 at the end, < 0 with c->cb_err set. */
static la_ssize_t next_tar_block(struct unpack_ctx *c, const void **ret_buf)
{
        const void *buf;
        size_t size;
        la_int64_t offset;

        while (!c->raw_eof) {
                int r = archive_read_data_block(c->raw, &buf, &size, &offset);
                if (r == ARCHIVE_EOF) {
                        c->raw_eof = true;
                        break;
                }
                if (r < ARCHIVE_WARN) {
                        if (c->cb_err == NULL) {
                                const char *msg = archive_error_string(c->raw);
                                (void) hutch_error_set(&c->cb_err, 0, "decompress layer: %s",
                                                       msg ? msg : "unknown error");
                        }
                        return -1;
                }
                if (size == 0)
                        continue;
                c->res.uncompressed_size += size;
                if (c->res.uncompressed_size > c->max_bytes) {
                        (void) hutch_error_set(&c->cb_err, EFBIG,
                                               "uncompressed layer is larger than the limit of %" PRIu64
                                               " bytes (decompression bomb?)",
                                               c->max_bytes);
                        return -1;
                }
                /* Uncompressed input: the same bytes, hashed once (diff ID = digest). */
                if (c->res.compression != STORAGE_COMPRESSION_NONE)
                        storage_sha256_async_update(c->tar_hash, buf, size);
                *ret_buf = buf;
                return (la_ssize_t) size;
        }
        return 0;
}

static la_ssize_t tar_read_cb(struct archive *a, void *data, const void **ret_buf)
{
        struct unpack_ctx *c = data;
        la_ssize_t n = next_tar_block(c, ret_buf);

        if (n < 0)
                archive_set_error(a, EIO, "%s", c->cb_err ? c->cb_err->msg : "read error");
        return n;
}

/* Consumes what the tar reader left (padding, junk after the end blocks)
 * and what the decompressor left of in_fd, so that both digests cover
 * everything and the caps still apply. */
static int drain_input(struct unpack_ctx *c)
{
        const void *buf;
        la_ssize_t n;

        while ((n = next_tar_block(c, &buf)) > 0)
                ;
        if (n < 0)
                return -1;
        while (!c->in_eof) {
                if (in_read_cb(c->raw, c, &buf) < 0)
                        return -1;
        }
        return 0;
}

/* The error of a failed libarchive call on the tar reader. */
static int tar_error(struct unpack_ctx *c, struct hutch_error **err)
{
        if (c->cb_err != NULL) {
                int r = hutch_error_value(c->cb_err);
                if (err != NULL && *err == NULL)
                        *err = steal_ptr(&c->cb_err);
                return r;
        }
        const char *msg = archive_error_string(c->tar);
        return hutch_error_set(err, 0, "invalid layer tar: %s", msg ? msg : "unknown error");
}

/* ---- paths ---- */

/* Cleans an archive path into components joined by '/': "" is the root.
 * ".." never climbs above the root.  Returns NULL for a name that holds a
 * whiteout prefix in a directory component. */
static char *clean_path(const char *name)
{
        size_t len = strlen(name);
        char *out = xmalloc(len + 1);
        size_t o = 0;
        const char *p = name;

        while (*p) {
                const char *s = p;
                while (*p && *p != '/')
                        p++;
                size_t n = (size_t) (p - s);
                if (*p == '/')
                        p++;
                if (n == 0 || (n == 1 && s[0] == '.'))
                        continue;
                if (n == 2 && s[0] == '.' && s[1] == '.') {
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--; /* the '/' before the dropped component */
                        continue;
                }
                if (o > 0)
                        out[o++] = '/';
                memcpy(out + o, s, n);
                o += n;
        }
        out[o] = '\0';
        return out;
}

static void split_path(char *path, const char **ret_parent, const char **ret_base)
{
        char *slash = strrchr(path, '/');

        if (slash == NULL) {
                *ret_parent = "";
                *ret_base = path;
        } else {
                *slash = '\0';
                *ret_parent = path;
                *ret_base = slash + 1;
        }
}

static void cache_drop(struct unpack_ctx *c)
{
        if (c->cache_fd >= 0)
                (void) close(c->cache_fd);
        c->cache_fd = -1;
        free(c->cache_path);
        c->cache_path = NULL;
}

/* Marks the cached parent as stale without closing it: the fd may be in
 * use by the caller.  Any removal or symlink creation may change what a
 * path resolves to. */
static void cache_invalidate(struct unpack_ctx *c)
{
        c->cache_stale = true;
}

static int open_in_root_retry(int rootfd, const char *path, int flags)
{
        int fd;

        /* openat2 returns EAGAIN when a rename raced with ".." resolution. */
        for (int i = 0; i < 16; i++) {
                fd = hutch_open_in_root(rootfd, path, flags, 0);
                if (fd != -EAGAIN)
                        break;
        }
        return fd;
}

/* Walks path component by component, never following a symlink, and
 * creates missing directories.  Returns an O_PATH directory fd or -errno. */
static int walk_nofollow(int rootfd, const char *path, bool create)
{
        _cleanup_free_ char *buf = xstrdup(path);
        char *save = NULL;
        int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);

        if (cur < 0)
                return -errno;
        for (char *comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 && errno == ENOENT && create) {
                        if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
                                int e = errno;
                                (void) close(cur);
                                return -e;
                        }
                        fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }
                int e = errno;
                (void) close(cur);
                if (fd < 0)
                        return e == ELOOP ? -ENOTDIR : -e;
                cur = fd;
        }
        return cur;
}

/* Resolves (following symlinks inside the root) and creates the directory
 * path.  Returns an O_PATH directory fd or -errno. */
static int resolve_mkdir_p(int rootfd, const char *path)
{
        int fd = open_in_root_retry(rootfd, path, O_PATH | O_DIRECTORY);
        if (fd != -ENOENT)
                return fd;

        /* Some component is missing: find it from the top and create it in
         * its resolved parent. */
        _cleanup_free_ char *buf = xstrdup(path);
        int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return -errno;
        for (char *p = buf;;) {
                char *slash = strchr(p, '/');
                if (slash)
                        *slash = '\0';
                const char *comp = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
                fd = open_in_root_retry(rootfd, buf, O_PATH | O_DIRECTORY);
                if (fd == -ENOENT) {
                        if (mkdirat(cur, comp, 0755) < 0) {
                                int e = errno;
                                (void) close(cur);
                                /* EEXIST: a dangling symlink is in the way. */
                                return e == EEXIST ? -ENOTDIR : -e;
                        }
                        fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0)
                                fd = -errno;
                }
                (void) close(cur);
                if (fd < 0)
                        return fd;
                cur = fd;
                if (slash == NULL)
                        return cur;
                *slash = '/';
                p = slash + 1;
        }
}

/* A borrowed fd for the parent directory (valid until the next call or
 * cache_drop()); the root when parent is "". */
static int get_parent(struct unpack_ctx *c, const char *parent, bool nosym, struct hutch_error **err)
{
        int fd;

        if (parent[0] == '\0')
                return c->rootfd;
        if (c->cache_path && !c->cache_stale && STREQ(c->cache_path, parent) && (c->cache_nosym || !nosym))
                return c->cache_fd;
        cache_drop(c);
        c->cache_stale = false;
        fd = nosym ? walk_nofollow(c->rootfd, parent, true) : resolve_mkdir_p(c->rootfd, parent);
        if (fd < 0)
                return hutch_error_set(err, -fd, "resolve parent directory '%s'%s", parent,
                                       nosym && fd == -ENOTDIR ? " (symlinks are not allowed here)" : "");
        c->cache_fd = fd;
        c->cache_path = xstrdup(parent);
        c->cache_nosym = nosym;
        return fd;
}

/* Removes whatever is at name (a directory recursively, never following symlinks). */
static int remove_leaf(struct unpack_ctx *c, int pfd, const char *name, struct hutch_error **err)
{
        int r;

        cache_invalidate(c);
        if (unlinkat(pfd, name, 0) == 0 || errno == ENOENT)
                return 0;
        r = hutch_rm_rf_at(pfd, name);
        if (r < 0)
                return hutch_error_set(err, -r, "remove existing '%s'", name);
        return 0;
}

/* ---- metadata ---- */

static const char *proc_path(char *buf, size_t size, int pfd, const char *name)
{
        snprintf(buf, size, "/proc/self/fd/%d/%s", pfd, name);
        return buf;
}

/* fd >= 0: set on it; otherwise on pfd/name without following it. */
static int set_xattr(int fd, int pfd, const char *name, const char *key, const void *value, size_t size)
{
        char path[PATH_MAX + 32];
        int r;

        if (fd >= 0)
                r = fsetxattr(fd, key, value, size, 0);
        else
                r = lsetxattr(proc_path(path, sizeof(path), pfd, name), key, value, size, 0);
        return r < 0 ? -errno : 0;
}

static bool xattr_is_reserved(const char *key)
{
        static const char *const prefixes[] = {
                "trusted.overlay.",    "user.overlay.",          "user.containers.",
                "user.fuseoverlayfs.", "trusted.fuseoverlayfs.",
        };
        for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
                if (strncmp(key, prefixes[i], strlen(prefixes[i])) == 0)
                        return true;
        return false;
}

static bool xattr_error_fatal(int e)
{
        return e == ENOSPC || e == EDQUOT || e == EIO;
}

static int apply_xattrs(struct unpack_ctx *c, struct archive_entry *entry, int fd, int pfd, const char *name,
                        struct hutch_error **err)
{
        const char *key;
        const void *value;
        size_t size, total = 0;

        if (archive_entry_xattr_reset(entry) == 0)
                return 0;
        while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK) {
                if (key == NULL || key[0] == '\0')
                        continue;
                total += strlen(key) + size;
                if (total > c->max_xattr_bytes)
                        return hutch_error_set(err, E2BIG, "extended attributes larger than %zu bytes",
                                               c->max_xattr_bytes);
                if (xattr_is_reserved(key)) {
                        log_debug("dropping reserved xattr '%s' of '%s'", key, name);
                        c->res.xattrs_dropped++;
                        continue;
                }
                int r = set_xattr(fd, pfd, name, key, value, size);
                if (r < 0) {
                        if (xattr_error_fatal(-r))
                                return hutch_error_set(err, -r, "set xattr '%s'", key);
                        log_debug_errno(-r, "cannot set xattr '%s' on '%s', ignoring", key, name);
                        c->res.xattrs_failed++;
                }
        }
        return 0;
}

static int check_id(la_int64_t id)
{
        return id >= 0 && id < (la_int64_t) UINT32_MAX ? 0 : -EINVAL;
}

/* Owner via fd (if >= 0) or pfd/name; an owner that cannot be set is
 * recorded in the override xattr instead. */
static int apply_owner(struct unpack_ctx *c, struct archive_entry *entry, int fd, int pfd, const char *name,
                       bool is_link, struct hutch_error **err)
{
        la_int64_t uid = archive_entry_uid(entry), gid = archive_entry_gid(entry);
        char value[64];
        int r;

        if (check_id(uid) < 0 || check_id(gid) < 0)
                return hutch_error_set(err, EINVAL, "invalid owner %" PRId64 ":%" PRId64, (int64_t) uid, (int64_t) gid);
        if (c->set_owner) {
                uid = c->owner_uid;
                gid = c->owner_gid;
        }
        if (!c->no_chown) {
                if (fd >= 0)
                        r = fchown(fd, (uid_t) uid, (gid_t) gid);
                else
                        r = fchownat(pfd, name, (uid_t) uid, (gid_t) gid, AT_SYMLINK_NOFOLLOW);
                if (r == 0)
                        return 0;
                if (errno != EINVAL && errno != EPERM)
                        return hutch_error_set(err, errno, "chown to %" PRId64 ":%" PRId64, (int64_t) uid,
                                               (int64_t) gid);
        }
        c->res.owner_overrides++;
        if (is_link) {
                /* user.* xattrs are not allowed on symlinks. */
                c->res.xattrs_failed++;
                return 0;
        }
        snprintf(value, sizeof(value), "%u:%u:0%o", (unsigned) uid, (unsigned) gid,
                 (unsigned) (archive_entry_perm(entry) & 07777));
        r = set_xattr(fd, pfd, name, OVERRIDE_XATTR, value, strlen(value));
        if (r < 0) {
                if (xattr_error_fatal(-r))
                        return hutch_error_set(err, -r, "set xattr '%s'", OVERRIDE_XATTR);
                log_debug_errno(-r, "cannot record owner of '%s', ignoring", name);
                c->res.xattrs_failed++;
        }
        return 0;
}

static void entry_times(struct archive_entry *entry, struct timespec times[2])
{
        times[1].tv_sec = archive_entry_mtime(entry);
        times[1].tv_nsec = archive_entry_mtime_is_set(entry) ? archive_entry_mtime_nsec(entry) : 0;
        if (archive_entry_atime_is_set(entry)) {
                times[0].tv_sec = archive_entry_atime(entry);
                times[0].tv_nsec = archive_entry_atime_nsec(entry);
        } else {
                times[0] = times[1];
        }
        for (int i = 0; i < 2; i++)
                if (times[i].tv_nsec < 0 || times[i].tv_nsec >= 1000000000)
                        times[i].tv_nsec = 0;
}

/* ---- entries ---- */

static int write_file_data(struct unpack_ctx *c, struct archive_entry *entry, int fd, struct hutch_error **err)
{
        la_int64_t size = archive_entry_size(entry);
        uint64_t end = 0;

        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t offset;
                int r = archive_read_data_block(c->tar, &buf, &len, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return tar_error(c, err);
                if (offset < 0 || (uint64_t) offset + len > (uint64_t) size)
                        return hutch_error_set(err, EINVAL, "data beyond the entry's size");
                const char *p = buf;
                uint64_t off = (uint64_t) offset;
                while (len > 0) {
                        ssize_t n = pwrite(fd, p, len, (off_t) off);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                return hutch_error_set(err, errno, "write");
                        }
                        p += n;
                        off += (uint64_t) n;
                        len -= (size_t) n;
                }
                if (off > end)
                        end = off;
        }
        /* Holes at the end of a sparse file. */
        if ((uint64_t) size > end && ftruncate(fd, (off_t) size) < 0)
                return hutch_error_set(err, errno, "truncate");
        return 0;
}

static int unpack_regular(struct unpack_ctx *c, struct archive_entry *entry, int pfd, const char *base,
                          struct hutch_error **err)
{
        _cleanup_close_ int fd = -1;
        struct timespec times[2];
        int r;

        fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0 && errno == EEXIST) {
                r = remove_leaf(c, pfd, base, err);
                if (r < 0)
                        return r;
                fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        }
        if (fd < 0)
                return hutch_error_set(err, errno, "create file");
        r = write_file_data(c, entry, fd, err);
        if (r < 0)
                return r;
        r = apply_owner(c, entry, fd, pfd, base, false, err);
        if (r < 0)
                return r;
        if (fchmod(fd, archive_entry_perm(entry) & 07777) < 0)
                return hutch_error_set(err, errno, "chmod");
        /* After chown and the data: both clear security.capability. */
        r = apply_xattrs(c, entry, fd, pfd, base, err);
        if (r < 0)
                return r;
        entry_times(entry, times);
        if (futimens(fd, times) < 0)
                return hutch_error_set(err, errno, "set times");
        return 0;
}

/* Bounds the memory of the deferred directory list (entries * path length
 * could otherwise reach gigabytes). */
#define MAX_DIR_BYTES (256u << 20)

static int defer_dir(struct unpack_ctx *c, const char *path, const struct stat *st, struct archive_entry *entry,
                     struct hutch_error **err)
{
        c->dir_bytes += sizeof(struct dir_meta) + strlen(path) + 1;
        if (c->dir_bytes > MAX_DIR_BYTES)
                return hutch_error_set(err, EFBIG, "too many directories in the layer");
        if (c->n_dirs == c->cap_dirs) {
                c->cap_dirs = c->cap_dirs ? c->cap_dirs * 2 : 64;
                c->dirs = xreallocarray(c->dirs, c->cap_dirs, sizeof(*c->dirs));
        }
        struct dir_meta *d = &c->dirs[c->n_dirs++];
        d->path = xstrdup(path[0] ? path : ".");
        d->dev = st->st_dev;
        d->ino = st->st_ino;
        d->mode = archive_entry_perm(entry) & 07777;
        entry_times(entry, d->times);
        return 0;
}

static int unpack_opaque(struct unpack_ctx *c, int pfd, struct hutch_error **err);

static int unpack_dir(struct unpack_ctx *c, struct archive_entry *entry, const char *path, int pfd, const char *base,
                      struct hutch_error **err)
{
        _cleanup_close_ int fd = -1;
        bool was_whiteout = false;
        struct stat st;
        int r;

        if (mkdirat(pfd, base, 0700) < 0) {
                if (errno != EEXIST)
                        return hutch_error_set(err, errno, "create directory");
                if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return hutch_error_set(err, errno, "stat");
                if (!S_ISDIR(st.st_mode)) {
                        /* A whiteout of this layer, then the directory: lower
                         * layers' contents stay hidden, so it is opaque. */
                        was_whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
                        r = remove_leaf(c, pfd, base, err);
                        if (r < 0)
                                return r;
                        if (mkdirat(pfd, base, 0700) < 0)
                                return hutch_error_set(err, errno, "create directory");
                }
        }
        fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return hutch_error_set(err, errno, "open directory");
        if (fstat(fd, &st) < 0)
                return hutch_error_set(err, errno, "stat");
        if (was_whiteout) {
                r = unpack_opaque(c, fd, err);
                if (r < 0)
                        return r;
        }
        r = apply_owner(c, entry, fd, pfd, base, false, err);
        if (r < 0)
                return r;
        r = apply_xattrs(c, entry, fd, pfd, base, err);
        if (r < 0)
                return r;
        return defer_dir(c, path, &st, entry, err);
}

static int unpack_root(struct unpack_ctx *c, struct archive_entry *entry, struct hutch_error **err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (archive_entry_filetype(entry) != AE_IFDIR)
                return hutch_error_set(err, EINVAL, "the layer root must be a directory");
        /* dest_dirfd may be O_PATH; xattrs need a real fd. */
        fd = openat(c->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return hutch_error_set(err, errno, "open the layer root");
        r = apply_owner(c, entry, fd, -1, ".", false, err);
        if (r < 0)
                return r;
        r = apply_xattrs(c, entry, fd, -1, ".", err);
        if (r < 0)
                return r;
        return defer_dir(c, "", &st, entry, err);
}

static int unpack_symlink(struct unpack_ctx *c, struct archive_entry *entry, int pfd, const char *base,
                          struct hutch_error **err)
{
        const char *target = archive_entry_symlink(entry);
        struct timespec times[2];
        int r;

        if (target == NULL)
                target = archive_entry_symlink_utf8(entry);
        if (target == NULL || target[0] == '\0')
                return hutch_error_set(err, EINVAL, "symlink without a target");
        if (strlen(target) > c->max_path)
                return hutch_error_set(err, ENAMETOOLONG, "symlink target longer than %zu bytes", c->max_path);
        cache_invalidate(c);
        if (symlinkat(target, pfd, base) < 0) {
                if (errno != EEXIST)
                        return hutch_error_set(err, errno, "create symlink");
                r = remove_leaf(c, pfd, base, err);
                if (r < 0)
                        return r;
                if (symlinkat(target, pfd, base) < 0)
                        return hutch_error_set(err, errno, "create symlink");
        }
        r = apply_owner(c, entry, -1, pfd, base, true, err);
        if (r < 0)
                return r;
        r = apply_xattrs(c, entry, -1, pfd, base, err);
        if (r < 0)
                return r;
        entry_times(entry, times);
        if (utimensat(pfd, base, times, AT_SYMLINK_NOFOLLOW) < 0)
                return hutch_error_set(err, errno, "set times");
        return 0;
}

static int unpack_hardlink(struct unpack_ctx *c, const char *linkname, const char *path, int pfd, const char *base,
                           struct hutch_error **err)
{
        _cleanup_free_ char *target = NULL;
        _cleanup_close_ int tpfd = -1;
        const char *tparent, *tbase;
        int r;

        if (strlen(linkname) > c->max_path)
                return hutch_error_set(err, ENAMETOOLONG, "hardlink target longer than %zu bytes", c->max_path);
        target = clean_path(linkname);
        if (target[0] == '\0')
                return hutch_error_set(err, EINVAL, "hardlink to the layer root");
        if (STREQ(target, path))
                return 0; /* a link to itself */
        split_path(target, &tparent, &tbase);
        tpfd = open_in_root_retry(c->rootfd, tparent[0] ? tparent : ".", O_PATH | O_DIRECTORY);
        if (tpfd < 0)
                return hutch_error_set(err, -tpfd, "resolve hardlink target '%s'", linkname);
        /* Flags 0: a symlink target is linked as the symlink itself. */
        if (linkat(tpfd, tbase, pfd, base, 0) < 0) {
                if (errno != EEXIST)
                        return hutch_error_set(err, errno, "hardlink to '%s'", linkname);
                r = remove_leaf(c, pfd, base, err);
                if (r < 0)
                        return r;
                if (linkat(tpfd, tbase, pfd, base, 0) < 0)
                        return hutch_error_set(err, errno, "hardlink to '%s'", linkname);
        }
        return 0;
}

static int unpack_fifo(struct unpack_ctx *c, struct archive_entry *entry, int pfd, const char *base,
                       struct hutch_error **err)
{
        char path[PATH_MAX + 32];
        struct timespec times[2];
        int r;

        if (mknodat(pfd, base, S_IFIFO | 0600, 0) < 0) {
                if (errno != EEXIST)
                        return hutch_error_set(err, errno, "create fifo");
                r = remove_leaf(c, pfd, base, err);
                if (r < 0)
                        return r;
                if (mknodat(pfd, base, S_IFIFO | 0600, 0) < 0)
                        return hutch_error_set(err, errno, "create fifo");
        }
        r = apply_owner(c, entry, -1, pfd, base, false, err);
        if (r < 0)
                return r;
        /* Never through a symlink (the leaf is the fifo just made anyway). */
        if (fchmodat(pfd, base, archive_entry_perm(entry) & 07777, AT_SYMLINK_NOFOLLOW) < 0) {
                struct stat st;
                if (errno != ENOTSUP && errno != EOPNOTSUPP)
                        return hutch_error_set(err, errno, "chmod");
                /* An old libc without fchmodat(AT_SYMLINK_NOFOLLOW). */
                if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISFIFO(st.st_mode))
                        return hutch_error_set(err, EINVAL, "chmod: not a fifo");
                if (chmod(proc_path(path, sizeof(path), pfd, base), archive_entry_perm(entry) & 07777) < 0)
                        return hutch_error_set(err, errno, "chmod");
        }
        r = apply_xattrs(c, entry, -1, pfd, base, err);
        if (r < 0)
                return r;
        entry_times(entry, times);
        if (utimensat(pfd, base, times, AT_SYMLINK_NOFOLLOW) < 0)
                return hutch_error_set(err, errno, "set times");
        return 0;
}

/* An empty regular file, for the ".wh." fallback formats. */
static int create_marker(int pfd, const char *name, struct hutch_error **err)
{
        int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);

        if (fd < 0)
                return hutch_error_set(err, errno, "create whiteout marker '%s'", name);
        (void) close(fd);
        return 0;
}

static int unpack_opaque(struct unpack_ctx *c, int pfd, struct hutch_error **err)
{
        _cleanup_close_ int dfd = -1;
        int r;

        c->res.whiteouts++;
        if (c->whiteouts == STORAGE_WHITEOUT_OVERLAY) {
                dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return hutch_error_set(err, errno, "open directory");
                r = set_xattr(dfd, -1, NULL, c->opaque_xattr, "y", 1);
                if (r == 0)
                        return 0;
                if (xattr_error_fatal(-r) || (r != -EPERM && r != -ENOTSUP && r != -EOPNOTSUPP))
                        return hutch_error_set(err, -r, "set '%s'", c->opaque_xattr);
                log_debug_errno(-r, "cannot set '%s', keeping '%s'", c->opaque_xattr, WH_OPAQUE);
                c->res.whiteout_fallbacks++;
        }
        return create_marker(pfd, WH_OPAQUE, err);
}

static int unpack_whiteout(struct unpack_ctx *c, const char *parent, const char *base, struct hutch_error **err)
{
        const char *victim = base + WH_PREFIX_LEN;
        int pfd;

        if (victim[0] == '\0' || STREQ(victim, ".") || STREQ(victim, ".."))
                return hutch_error_set(err, EINVAL, "malformed whiteout '%s'", base);
        pfd = get_parent(c, parent, true, err);
        if (pfd < 0)
                return pfd;
        if (STREQ(base, WH_OPAQUE))
                return unpack_opaque(c, pfd, err);
        if (STREQ(base, WH_META_PREFIX))
                return hutch_error_set(err, EINVAL, "malformed whiteout '%s'", base);
        if (strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0) {
                /* Other aufs metadata (.wh..wh.plnk, ...): never a deletion. */
                log_debug("skipping aufs metadata '%s'", base);
                return 0;
        }
        c->res.whiteouts++;
        if (c->whiteouts == STORAGE_WHITEOUT_OVERLAY) {
                struct stat st;
                /* A whiteout hides lower layers only, never an entry of this
                 * same layer (OCI image spec): keep such an entry, and make a
                 * directory opaque so lower contents stay hidden.  Nothing is
                 * ever deleted for a whiteout. */
                if (fstatat(pfd, victim, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                        if (!S_ISDIR(st.st_mode))
                                return 0;
                        _cleanup_close_ int dfd = openat(pfd, victim, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dfd < 0)
                                return hutch_error_set(err, errno, "open '%s'", victim);
                        c->res.whiteouts--;
                        return unpack_opaque(c, dfd, err);
                }
                if (errno != ENOENT)
                        return hutch_error_set(err, errno, "stat '%s'", victim);
                if (mknodat(pfd, victim, S_IFCHR | 0000, makedev(0, 0)) == 0)
                        return 0;
                if (errno != EPERM)
                        return hutch_error_set(err, errno, "create whiteout '%s'", victim);
                log_debug_errno(errno, "cannot create whiteout device, keeping '%s'", base);
                c->res.whiteout_fallbacks++;
        }
        return create_marker(pfd, base, err);
}

static const char *entry_name(struct archive_entry *entry)
{
        const char *name = archive_entry_pathname(entry);

        return name ? name : archive_entry_pathname_utf8(entry);
}

/* 0: no directory of path (before base) has a whiteout name; 1: one is aufs
 * metadata (".wh..wh.plnk/..."), skipped; -1: one is a whiteout used as a
 * directory, an error. */
static int whiteout_in_dirs(const char *path, const char *base)
{
        int r = 0;

        for (const char *p = path; p < base; p++) {
                if ((p != path && p[-1] != '/') || strncmp(p, WH_PREFIX, WH_PREFIX_LEN) != 0)
                        continue;
                if (strncmp(p, WH_META_PREFIX, strlen(WH_META_PREFIX)) != 0)
                        return -1;
                r = 1;
        }
        return r;
}

static int unpack_entry(struct unpack_ctx *c, struct archive_entry *entry, const char *name, struct hutch_error **err)
{
        _cleanup_free_ char *path = NULL, *parent_buf = NULL;
        const char *parent, *base, *hardlink;
        mode_t type;
        int pfd;

        if (strlen(name) > c->max_path)
                return hutch_error_set(err, ENAMETOOLONG, "name longer than %zu bytes", c->max_path);
        path = clean_path(name);
        hardlink = archive_entry_hardlink(entry);
        if (hardlink == NULL)
                hardlink = archive_entry_hardlink_utf8(entry);
        if (path[0] == '\0') {
                if (hardlink != NULL)
                        return hutch_error_set(err, EINVAL, "the layer root must be a directory");
                return unpack_root(c, entry, err);
        }
        parent_buf = xstrdup(path);
        split_path(parent_buf, &parent, &base);
        int wh = whiteout_in_dirs(path, path + (base - parent_buf));
        if (wh < 0)
                return hutch_error_set(err, EINVAL, "whiteout name used as a directory");
        if (wh > 0) {
                log_debug("skipping aufs metadata '%s'", name);
                return 0;
        }

        type = archive_entry_filetype(entry);
        if (strncmp(base, WH_PREFIX, WH_PREFIX_LEN) == 0) {
                return unpack_whiteout(c, parent, base, err);
        }

        if (type != AE_IFDIR && archive_entry_size_is_set(entry)) {
                la_int64_t size = archive_entry_size(entry);
                if (size < 0)
                        return hutch_error_set(err, EINVAL, "negative size");
                c->apparent_bytes += (uint64_t) size;
                if ((uint64_t) size > c->max_bytes || c->apparent_bytes > c->max_bytes)
                        return hutch_error_set(err, EFBIG,
                                               "files in the layer are larger than the limit of %" PRIu64 " bytes",
                                               c->max_bytes);
        }

        if (hardlink == NULL && (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK)) {
                c->res.devices_skipped++;
                log_debug("skipping device or socket '%s'", name);
                return 0;
        }
        if (hardlink == NULL && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFIFO)
                return hutch_error_set(err, EINVAL, "unsupported entry type 0%o", (unsigned) type);

        pfd = get_parent(c, parent, false, err);
        if (pfd < 0)
                return pfd;
        if (hardlink != NULL)
                return unpack_hardlink(c, hardlink, path, pfd, base, err);
        switch (type) {
        case AE_IFREG: return unpack_regular(c, entry, pfd, base, err);
        case AE_IFDIR: return unpack_dir(c, entry, path, pfd, base, err);
        case AE_IFLNK: return unpack_symlink(c, entry, pfd, base, err);
        default: return unpack_fifo(c, entry, pfd, base, err);
        }
}

static int apply_dir_meta(struct unpack_ctx *c, struct hutch_error **err)
{
        char proc[64];

        cache_drop(c);
        for (size_t i = 0; i < c->n_dirs; i++) {
                struct dir_meta *d = &c->dirs[i];
                _cleanup_close_ int fd = -1;
                struct stat st;

                fd = STREQ(d->path, ".") ? fcntl(c->rootfd, F_DUPFD_CLOEXEC, 3)
                                         : open_in_root_retry(c->rootfd, d->path, O_PATH | O_DIRECTORY | O_NOFOLLOW);
                if (fd < 0) {
                        /* Replaced or removed by a later entry. */
                        log_debug("directory '%s' is gone, not setting its metadata", d->path);
                        fd = -1;
                        continue;
                }
                if (fstat(fd, &st) < 0)
                        return hutch_error_set(err, errno, "stat '%s'", d->path);
                if (st.st_dev != d->dev || st.st_ino != d->ino || !S_ISDIR(st.st_mode))
                        continue;
                hutch_fd_path(fd, proc, sizeof(proc));
                if (chmod(proc, d->mode) < 0)
                        return hutch_error_set(err, errno, "chmod '%s'", d->path);
                if (utimensat(AT_FDCWD, proc, d->times, 0) < 0)
                        return hutch_error_set(err, errno, "set times of '%s'", d->path);
        }
        return 0;
}

static void ctx_free(struct unpack_ctx *c)
{
        if (c->tar)
                archive_read_free(c->tar);
        if (c->raw)
                archive_read_free(c->raw);
        storage_sha256_async_free(c->in_hash);
        storage_sha256_async_free(c->tar_hash);
        hutch_error_free(c->cb_err);
        cache_drop(c);
        for (size_t i = 0; i < c->n_dirs; i++)
                free(c->dirs[i].path);
        free(c->dirs);
}

static int open_readers(struct unpack_ctx *c, struct hutch_error **err)
{
        struct archive_entry *entry;
        int r;

        c->raw = archive_read_new();
        c->tar = archive_read_new();
        if (c->raw == NULL || c->tar == NULL)
                abort();
        /* Only built-in decompressors: ARCHIVE_WARN means libarchive would
         * run an external program, which we never want. */
        if (archive_read_support_filter_gzip(c->raw) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(c->raw) != ARCHIVE_OK)
                return hutch_error_set(err, ENOTSUP, "libarchive lacks built-in gzip or zstd support");
        if (c->any_compression && (archive_read_support_filter_xz(c->raw) != ARCHIVE_OK ||
                                   archive_read_support_filter_bzip2(c->raw) != ARCHIVE_OK))
                return hutch_error_set(err, ENOTSUP, "libarchive lacks built-in xz or bzip2 support");
        if (archive_read_support_format_raw(c->raw) != ARCHIVE_OK ||
            archive_read_support_format_tar(c->tar) != ARCHIVE_OK)
                return hutch_error_set(err, ENOTSUP, "libarchive lacks raw or tar support");

        r = archive_read_open(c->raw, c, NULL, in_read_cb, NULL);
        if (r == ARCHIVE_OK)
                r = archive_read_next_header(c->raw, &entry);
        if (r < ARCHIVE_WARN) {
                if (c->cb_err != NULL) {
                        r = hutch_error_value(c->cb_err);
                        if (err != NULL && *err == NULL)
                                *err = steal_ptr(&c->cb_err);
                        return r;
                }
                const char *msg = archive_error_string(c->raw);
                return hutch_error_set(err, 0, "read layer: %s", msg ? msg : "empty or unreadable input");
        }
        if (archive_filter_count(c->raw) > 2)
                return hutch_error_set(err, ENOTSUP, "nested compression in a layer");
        switch (archive_filter_code(c->raw, 0)) {
        case ARCHIVE_FILTER_GZIP: c->res.compression = STORAGE_COMPRESSION_GZIP; break;
        case ARCHIVE_FILTER_ZSTD: c->res.compression = STORAGE_COMPRESSION_ZSTD; break;
        case ARCHIVE_FILTER_NONE: c->res.compression = STORAGE_COMPRESSION_NONE; break;
        case ARCHIVE_FILTER_XZ:
        case ARCHIVE_FILTER_BZIP2:
                if (!c->any_compression)
                        return hutch_error_set(err, ENOTSUP, "unsupported layer compression '%s'",
                                               archive_filter_name(c->raw, 0));
                c->res.compression = STORAGE_COMPRESSION_UNKNOWN;
                break;
        default:
                return hutch_error_set(err, ENOTSUP, "unsupported layer compression '%s'",
                                       archive_filter_name(c->raw, 0));
        }

        r = archive_read_open(c->tar, c, NULL, tar_read_cb, NULL);
        if (r != ARCHIVE_OK)
                return tar_error(c, err);
        return 0;
}

static int unpack_all(struct unpack_ctx *c, struct hutch_error **err)
{
        struct archive_entry *entry;
        int r;

        r = open_readers(c, err);
        if (r < 0)
                return r;
        for (;;) {
                r = archive_read_next_header(c->tar, &entry);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return tar_error(c, err);
                const char *name = entry_name(entry);
                if (r == ARCHIVE_WARN)
                        log_debug("layer entry '%s': %s", name ? name : "?", archive_error_string(c->tar));
                if (++c->res.entries > c->max_entries)
                        return hutch_error_set(err, EFBIG, "layer has more than %" PRIu64 " entries", c->max_entries);
                if (name == NULL)
                        return hutch_error_set(err, EINVAL, "layer entry without a name");
                r = unpack_entry(c, entry, name, err);
                if (r < 0)
                        return hutch_error_prefix(err, "layer entry '%.*s'", 1024, name);
        }
        if (drain_input(c) < 0)
                return tar_error(c, err);
        /* The caller warns once, with the layer's name, from res.devices_skipped. */
        if (c->res.devices_skipped > 0)
                log_debug("skipped %" PRIu64 " device nodes or sockets", c->res.devices_skipped);
        return apply_dir_meta(c, err);
}

int storage_layer_unpack(int in_fd, int dest_dirfd, const struct storage_unpack_options *opts,
                         struct storage_unpack_result *ret, struct hutch_error **err)
{
        static const struct storage_unpack_options defaults;
        struct unpack_ctx c = { .in_fd = in_fd, .rootfd = dest_dirfd, .cache_fd = -1 };
        int r;

        if (opts == NULL)
                opts = &defaults;
        if (opts->expected_digest != NULL && !storage_digest_valid(opts->expected_digest))
                return hutch_error_set(err, EINVAL, "invalid expected digest '%.80s'", opts->expected_digest);
        c.max_bytes = opts->max_bytes ? opts->max_bytes : STORAGE_UNPACK_DEFAULT_MAX_BYTES;
        c.max_entries = opts->max_entries ? opts->max_entries : STORAGE_UNPACK_DEFAULT_MAX_ENTRIES;
        c.max_path = opts->max_path ? opts->max_path : STORAGE_UNPACK_DEFAULT_MAX_PATH;
        c.max_xattr_bytes = opts->max_xattr_bytes ? opts->max_xattr_bytes : STORAGE_UNPACK_DEFAULT_MAX_XATTR_BYTES;
        c.whiteouts = opts->whiteouts;
        c.opaque_xattr = opts->opaque_xattr ? opts->opaque_xattr : DEFAULT_OPAQUE_XATTR;
        c.no_chown = opts->no_chown;
        c.any_compression = opts->any_compression;
        c.set_owner = opts->set_owner;
        c.owner_uid = opts->owner_uid;
        c.owner_gid = opts->owner_gid;
        c.in_hash = storage_sha256_async_new();
        c.tar_hash = storage_sha256_async_new();

        r = unpack_all(&c, err);
        if (r == 0) {
                storage_sha256_async_final_hex(c.in_hash, c.res.digest);
                if (c.res.compression == STORAGE_COMPRESSION_NONE)
                        memcpy(c.res.diff_id, c.res.digest, sizeof(c.res.diff_id));
                else
                        storage_sha256_async_final_hex(c.tar_hash, c.res.diff_id);
                if (opts->expected_digest != NULL && !STREQ(opts->expected_digest, c.res.digest))
                        r = hutch_error_set(err, EBADMSG, "layer digest mismatch: expected '%s', got '%s'",
                                            opts->expected_digest, c.res.digest);
        }
        if (r == 0 && ret != NULL)
                *ret = c.res;
        ctx_free(&c);
        return r;
}

bool storage_layer_tmp_name_is(const char *name)
{
        const char *p = strstr(name, ".tmp-");

        if (p == NULL)
                return false;
        /* The last ".tmp-" followed by mkdtemp's six characters. */
        for (const char *q; (q = strstr(p + 1, ".tmp-")) != NULL;)
                p = q;
        return strlen(p + 5) == 6 && strchr(p + 5, '/') == NULL;
}

int storage_layer_unpack_dir(int in_fd, const char *final_path, const struct storage_unpack_options *opts,
                             struct storage_unpack_result *ret, struct hutch_error **err)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = final_path ? strlen(final_path) : 0;
        int r;

        if (len == 0 || final_path[len - 1] == '/')
                return hutch_error_set(err, EINVAL, "invalid layer directory '%s'", final_path ? final_path : "");
        if (faccessat(AT_FDCWD, final_path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return hutch_error_set(err, EEXIST, "layer directory '%s' exists", final_path);
        tmp = xasprintf("%s.tmp-XXXXXX", final_path);
        if (mkdtemp(tmp) == NULL)
                return hutch_error_set(err, errno, "create '%s'", tmp);
        fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fchmod(fd, 0755) < 0) {
                r = hutch_error_set(err, errno, "open '%s'", tmp);
                goto undo;
        }
        r = storage_layer_unpack(in_fd, fd, opts, ret, err);
        if (r < 0) {
                hutch_error_prefix(err, "unpack into '%s'", tmp);
                goto undo;
        }
        if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, final_path, 1 /* RENAME_NOREPLACE */) < 0) {
                if (errno == EINVAL || errno == ENOSYS) {
                        /* No RENAME_NOREPLACE here: rename() still refuses a non-empty target. */
                        if (rename(tmp, final_path) == 0)
                                return 0;
                }
                r = hutch_error_set(err, errno, "rename into '%s'", final_path);
                goto undo;
        }
        return 0;
undo:
        (void) hutch_rm_rf_at(AT_FDCWD, tmp);
        return r;
}

const char *storage_compression_name(enum storage_compression c)
{
        switch (c) {
        case STORAGE_COMPRESSION_NONE: return "none";
        case STORAGE_COMPRESSION_GZIP: return "gzip";
        case STORAGE_COMPRESSION_ZSTD: return "zstd";
        default: return "unknown";
        }
}

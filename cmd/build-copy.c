/* COPY/ADD sources as a tar stream; see build-copy.h. */
#include "config.h"

#include "cmd/build-copy.h"
#include "cmd/build-url.h"
#include "cmd/dockerfile.h"
#include "cmd/dockerignore.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH   256
#define MAX_ENTRIES (1u << 20)

struct tarw {
        const struct build_copy *c;
        int fd; /* < 0: hash only */
        struct storage_sha256 *h;
        unsigned entries;
        struct hutch_error **err;
        char **archives;
};

static int out(struct tarw *w, const void *buf, size_t n)
{
        if (w->fd < 0)
                return 0;
        int r = hutch_write_all(w->fd, buf, n);
        if (r < 0)
                return hutch_error_set(w->err, -r, "write the %s stream", w->c->what);
        return 0;
}

static void octal(char *field, size_t len, unsigned long long v)
{
        /* len includes the terminating NUL; callers keep v within len - 1 digits */
        char tmp[32];
        int n = snprintf(tmp, sizeof(tmp), "%0*llo", (int) len - 1, v);
        if (n < 0 || (size_t) n != len - 1)
                memset(tmp, '0', len - 1);
        memcpy(field, tmp, len - 1);
        field[len - 1] = '\0';
}

static void pax_record(char **buf, size_t *len, const char *key, const char *value)
{
        size_t body = strlen(key) + strlen(value) + 3; /* ' ' '=' '\n' */
        size_t total = body + 1;
        for (;;) {
                char digits[32];
                size_t d = (size_t) snprintf(digits, sizeof(digits), "%zu", total);
                if (d + body == total)
                        break;
                total = d + body;
        }
        *buf = xrealloc(*buf, *len + total + 1);
        snprintf(*buf + *len, total + 1, "%zu %s=%s\n", total, key, value);
        *len += total;
}

static void header_fill(char h[512], const char *name, char type, mode_t mode, uid_t uid, gid_t gid,
                        unsigned long long size, time_t mtime, const char *link)
{
        memset(h, 0, 512);
        snprintf(h, 100, "%s", name);
        octal(h + 100, 8, mode & 07777);
        octal(h + 108, 8, uid > 07777777 ? 0 : uid);
        octal(h + 116, 8, gid > 07777777 ? 0 : gid);
        octal(h + 124, 12, size > 077777777777ULL ? 0 : size);
        octal(h + 136, 12, mtime < 0 ? 0 : (unsigned long long) mtime);
        h[156] = type;
        if (link)
                snprintf(h + 157, 100, "%s", link);
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (int i = 0; i < 512; i++)
                sum += (unsigned char) h[i];
        snprintf(h + 148, 8, "%06o", sum);
        h[155] = ' ';
}

static int write_header(struct tarw *w, const char *name, char type, mode_t mode, uid_t uid, gid_t gid,
                        unsigned long long size, time_t mtime, const char *link)
{
        char h[512];
        _cleanup_free_ char *pax = NULL;
        size_t pax_len = 0;
        char num[32];

        if (strlen(name) > 99)
                pax_record(&pax, &pax_len, "path", name);
        if (link && strlen(link) > 99)
                pax_record(&pax, &pax_len, "linkpath", link);
        if (size > 077777777777ULL) {
                snprintf(num, sizeof(num), "%llu", size);
                pax_record(&pax, &pax_len, "size", num);
        }
        if (uid > 07777777) {
                snprintf(num, sizeof(num), "%u", (unsigned) uid);
                pax_record(&pax, &pax_len, "uid", num);
        }
        if (gid > 07777777) {
                snprintf(num, sizeof(num), "%u", (unsigned) gid);
                pax_record(&pax, &pax_len, "gid", num);
        }
        if (pax_len) {
                header_fill(h, "././@PaxHeader", 'x', 0644, 0, 0, pax_len, 0, NULL);
                if (out(w, h, 512) < 0 || out(w, pax, pax_len) < 0)
                        return -1;
                size_t pad = (512 - pax_len % 512) % 512;
                static const char zeros[512];
                if (out(w, zeros, pad) < 0)
                        return -1;
        }
        header_fill(h, name, type, mode, uid, gid, size, mtime, link);
        return out(w, h, 512);
}

/* One entry: its header, and for a regular file its content (read from
 * dirfd/name without following a link). */
static int emit(struct tarw *w, int dirfd, const char *name, const struct stat *st, const char *tar_name)
{
        const struct build_copy *c = w->c;
        char type;
        char link[PATH_MAX];
        const char *linkp = NULL;
        unsigned long long size = 0;
        mode_t mode = st->st_mode & 07777;

        if (++w->entries > MAX_ENTRIES)
                return hutch_error_set(w->err, E2BIG, "%s: more than %u files", c->what, MAX_ENTRIES);
        if (S_ISREG(st->st_mode)) {
                type = '0';
                size = (unsigned long long) st->st_size;
        } else if (S_ISDIR(st->st_mode)) {
                type = '5';
        } else if (S_ISLNK(st->st_mode)) {
                type = '2';
                ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);
                if (n < 0)
                        return hutch_error_set(w->err, errno, "%s: read the link '%s'", c->what, tar_name);
                link[n] = '\0';
                linkp = link;
                mode = 0777;
        } else {
                return 0; /* devices, FIFOs and sockets are not copied */
        }
        if (c->set_mode && type != '2')
                mode = c->mode;
        uid_t uid = c->set_owner ? c->uid : 0;
        gid_t gid = c->set_owner ? c->gid : 0;
        _cleanup_free_ char *tname = type == '5' ? xasprintf("%s/", tar_name) : xstrdup(tar_name);

        /* the cache digest: names, type, mode, owner, size, link and content, not times */
        char meta[128];
        int m = snprintf(meta, sizeof(meta), "%c %o %u %u %llu", type, (unsigned) mode, (unsigned) uid, (unsigned) gid,
                         size);
        storage_sha256_update(w->h, tname, strlen(tname) + 1);
        storage_sha256_update(w->h, meta, (size_t) m + 1);
        if (linkp)
                storage_sha256_update(w->h, linkp, strlen(linkp) + 1);

        if (write_header(w, tname, type, mode, uid, gid, size, st->st_mtime, linkp) < 0)
                return -1;
        if (type != '0')
                return 0;

        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return hutch_error_set(w->err, errno, "%s: open '%s'", c->what, tar_name);
        struct stat now;
        if (fstat(fd, &now) < 0 || !S_ISREG(now.st_mode))
                return hutch_error_set(w->err, EIO, "%s: '%s' changed while it was read", c->what, tar_name);
        _cleanup_free_ char *buf = xmalloc(1 << 16);
        unsigned long long left = size;
        while (left > 0) {
                ssize_t n = read(fd, buf, left < (1 << 16) ? (size_t) left : (1 << 16));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hutch_error_set(w->err, errno, "%s: read '%s'", c->what, tar_name);
                if (n == 0)
                        return hutch_error_set(w->err, EIO, "%s: '%s' shrank while it was read", c->what, tar_name);
                storage_sha256_update(w->h, buf, (size_t) n);
                if (out(w, buf, (size_t) n) < 0)
                        return -1;
                left -= (unsigned long long) n;
        }
        size_t pad = (512 - size % 512) % 512;
        memset(buf, 0, 512);
        return out(w, buf, pad);
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names in a directory, sorted (the stream and its digest must not
 * depend on the filesystem's order). */
static char **list_dir(int dirfd, struct hutch_error **err, const char *what)
{
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                hutch_error_set(err, errno, "%s: open a directory", what);
                return NULL;
        }
        DIR *d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                hutch_error_set(err, errno, "%s: read a directory", what);
                return NULL;
        }
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                if (n + 2 > cap) {
                        cap = cap ? cap * 2 : 16;
                        names = xreallocarray(names, cap, sizeof(char *));
                }
                names[n++] = xstrdup(de->d_name);
        }
        (void) closedir(d);
        if (!names)
                names = xzalloc(sizeof(char *));
        names[n] = NULL;
        qsort(names, n, sizeof(char *), cmp_names);
        return names;
}

static char *join(const char *a, const char *b)
{
        if (STREQ(a, "."))
                return xstrdup(b);
        if (a[0] == '\0' || STREQ(a, "/"))
                return xasprintf("%s%s", a, b);
        return xasprintf("%s/%s", a, b);
}

/* The tar name of dest/rel: no leading "/" (the unpacker adds the root). */
static char *tar_path(const char *dest, const char *rel)
{
        while (*dest == '/')
                dest++;
        if (!rel)
                return xstrdup(*dest ? dest : ".");
        return *dest ? xasprintf("%s/%s", dest, rel) : xstrdup(rel);
}

static bool excluded(const struct tarw *w, const char *rel)
{
        return w->c->ignore && dockerignore_excluded(w->c->ignore, rel);
}

/* The contents of directory dirfd (src_rel in the source root) as
 * dest_rel/... in the tar. */
static int walk(struct tarw *w, int dirfd, const char *src_rel, const char *dest_rel, int depth)
{
        if (depth > MAX_DEPTH)
                return hutch_error_set(w->err, ELOOP, "%s: '%s' is nested deeper than %d directories", w->c->what,
                                       src_rel, MAX_DEPTH);
        _cleanup_strv_ char **names = list_dir(dirfd, w->err, w->c->what);
        if (!names)
                return -1;
        for (size_t i = 0; names[i]; i++) {
                struct stat st;
                if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return hutch_error_set(w->err, errno, "%s: stat '%s/%s'", w->c->what, src_rel, names[i]);
                }
                _cleanup_free_ char *rel = join(src_rel, names[i]);
                _cleanup_free_ char *dst = dest_rel ? join(dest_rel, names[i]) : xstrdup(names[i]);
                _cleanup_free_ char *tname = tar_path(w->c->dest, dst);
                bool skip = excluded(w, rel);
                if (skip && !(S_ISDIR(st.st_mode) && dockerignore_has_exceptions(w->c->ignore)))
                        continue;
                if (!skip && emit(w, dirfd, names[i], &st, tname) < 0)
                        return -1;
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub =
                                openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                return hutch_error_set(w->err, errno, "%s: open '%s'", w->c->what, rel);
                        if (walk(w, sub, rel, dst, depth + 1) < 0)
                                return -1;
                }
        }
        return 0;
}

static bool has_wildcard(const char *s)
{
        return strpbrk(s, "*?[") != NULL;
}

/* Expands one cleaned source with wildcards, component by component. */
static void glob_expand(struct tarw *w, int dirfd, const char *prefix, const char *rest, char ***ret)
{
        const char *slash = strchr(rest, '/');
        _cleanup_free_ char *comp = slash ? xstrndup(rest, (size_t) (slash - rest)) : xstrdup(rest);
        const char *next = slash ? slash + 1 : NULL;

        if (!has_wildcard(comp)) {
                _cleanup_free_ char *path = join(prefix, comp);
                if (!next) {
                        struct stat st;
                        if (fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && !excluded(w, path))
                                hutch_strv_append(ret, path);
                        return;
                }
                _cleanup_close_ int sub = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0)
                        glob_expand(w, sub, path, next, ret);
                return;
        }
        struct hutch_error *e = NULL;
        _cleanup_strv_ char **names = list_dir(dirfd, &e, w->c->what);
        hutch_error_free(e);
        for (size_t i = 0; names && names[i]; i++) {
                if (fnmatch(comp, names[i], FNM_PATHNAME) != 0)
                        continue;
                _cleanup_free_ char *path = join(prefix, names[i]);
                if (excluded(w, path))
                        continue;
                if (!next) {
                        hutch_strv_append(ret, path);
                        continue;
                }
                _cleanup_close_ int sub = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0)
                        glob_expand(w, sub, path, next, ret);
        }
}

bool build_copy_is_archive(int fd, const char *name)
{
        unsigned char h[512];
        ssize_t n = pread(fd, h, sizeof(h), 0);
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        bool tar_name = strstr(base, ".tar") || strstr(base, ".tgz") || strstr(base, ".tbz") || strstr(base, ".txz") ||
                        strstr(base, ".tzst");

        if (n >= 262 && memcmp(h + 257, "ustar", 5) == 0)
                return true;
        /* compressed: Docker looks inside; we trust a tar-like name */
        if (n < 6 || !tar_name)
                return false;
        return (h[0] == 0x1f && h[1] == 0x8b) || (h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) ||
               (memcmp(h,
                       "\xfd"
                       "7zXZ",
                       5) == 0 &&
                h[5] == 0) ||
               memcmp(h, "BZh", 3) == 0;
}

/* Adds one ADD archive to the digest (its bytes), returns 0. */
static int hash_archive(struct tarw *w, int fd, const char *rel)
{
        char buf[1 << 14];
        storage_sha256_update(w->h, "archive:", 8);
        storage_sha256_update(w->h, rel, strlen(rel) + 1);
        for (off_t off = 0;;) {
                ssize_t n = pread(fd, buf, sizeof(buf), off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return hutch_error_set(w->err, errno, "ADD: read '%s'", rel);
                if (n == 0)
                        return 0;
                storage_sha256_update(w->h, buf, (size_t) n);
                off += n;
        }
}

static int copy_one(struct tarw *w, const char *rel, bool many)
{
        const struct build_copy *c = w->c;
        const char *slash = strrchr(rel, '/');
        _cleanup_free_ char *parent = STREQ(rel, ".") ? NULL
                                      : slash         ? xstrndup(rel, (size_t) (slash - rel))
                                                      : xstrdup(".");
        const char *base = slash ? slash + 1 : rel;
        struct stat st;

        if (!parent) { /* the root itself: its contents */
                _cleanup_close_ int d = openat(c->src_root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (d < 0)
                        return hutch_error_set(w->err, errno, "%s: open the source root", c->what);
                return walk(w, d, ".", NULL, 0);
        }
        _cleanup_close_ int pfd = hutch_open_in_root(c->src_root, parent, O_RDONLY | O_DIRECTORY, 0);
        if (pfd < 0 || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || excluded(w, rel))
                return hutch_error_set(w->err, ENOENT,
                                       "%s failed: file not found in build context or excluded by .dockerignore: "
                                       "'%s'",
                                       c->what, rel);
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int d = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (d < 0)
                        return hutch_error_set(w->err, errno, "%s: open '%s'", c->what, rel);
                return walk(w, d, rel, NULL, 0);
        }
        if (c->add && S_ISREG(st.st_mode)) {
                _cleanup_close_ int fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
                if (fd >= 0 && build_copy_is_archive(fd, base)) {
                        hutch_strv_append(&w->archives, rel);
                        return hash_archive(w, fd, rel);
                }
        }
        _cleanup_free_ char *tname = c->dest_is_dir || many ? tar_path(c->dest, base) : tar_path(c->dest, NULL);
        return emit(w, pfd, base, &st, tname);
}

/* A downloaded URL source: a regular file of mode 0600 (Docker's), named
 * after the URL's last path segment in a directory destination. */
static int copy_url(struct tarw *w, const char *url, bool many)
{
        const struct build_copy *c = w->c;
        const struct build_copy_url *u = NULL;
        for (size_t i = 0; c->urls && i < c->urls->n && !u; i++)
                if (STREQ(c->urls->v[i].url, url))
                        u = &c->urls->v[i];
        if (!u)
                return hutch_error_set(w->err, ENOENT, "%s: '%s' was not downloaded", c->what, url);
        bool in_dir = c->dest_is_dir || many;
        if (in_dir && !u->name)
                return hutch_error_set(w->err, EINVAL,
                                       "%s: cannot determine a file name from the URL '%s': name the destination file",
                                       c->what, url);
        struct stat st;
        if (fstatat(c->urls->dirfd, u->file, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return hutch_error_set(w->err, errno, "%s: the download of '%s'", c->what, url);
        st.st_mode = S_IFREG | 0600;
        _cleanup_free_ char *tname = in_dir ? tar_path(c->dest, u->name) : tar_path(c->dest, NULL);
        return emit(w, c->urls->dirfd, u->file, &st, tname);
}

int build_copy_write(const struct build_copy *c, int out_fd, char ret_digest[STORAGE_DIGEST_BUFSIZE],
                     char ***ret_archives, struct hutch_error **err)
{
        struct tarw w = { .c = c, .fd = out_fd, .err = err };
        _cleanup_strv_ char **resolved = NULL;
        bool wild = false;
        int r = 0;

        for (size_t i = 0; c->sources[i]; i++) {
                const char *s = c->sources[i];
                if (dockerfile_is_url(s)) {
                        if (!c->add)
                                return hutch_error_set(err, EINVAL, "%s failed: source can't be a URL ('%s')", c->what,
                                                       s);
                        hutch_strv_append(&resolved, s); /* no cleaned path starts so: "//" is collapsed */
                        continue;
                }
                bool above;
                _cleanup_free_ char *clean = dockerignore_clean_path(s, &above);
                if (above)
                        return hutch_error_set(err, EPERM, "%s failed: forbidden path outside the build context: %s",
                                               c->what, s);
                if (has_wildcard(clean)) {
                        wild = true;
                        size_t before = hutch_strv_length(resolved);
                        _cleanup_close_ int root = openat(c->src_root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (root >= 0)
                                glob_expand(&w, root, ".", clean, &resolved);
                        if (hutch_strv_length(resolved) == before)
                                return hutch_error_set(err, ENOENT, "%s failed: no source files were specified ('%s')",
                                                       c->what, s);
                } else {
                        hutch_strv_append(&resolved, clean);
                }
        }
        size_t n = hutch_strv_length(resolved);
        if ((n > 1 || wild) && !c->dest_slash && !c->dest_is_dir && n != 1)
                return hutch_error_set(err, EINVAL,
                                       "When using %s with more than one source file, the destination must be a "
                                       "directory and end with a /",
                                       c->what);
        w.h = storage_sha256_new();
        for (size_t i = 0; resolved && resolved[i] && r == 0; i++)
                r = dockerfile_is_url(resolved[i]) ? copy_url(&w, resolved[i], n > 1)
                                                   : copy_one(&w, resolved[i], n > 1);
        if (r == 0) {
                static const char zeros[1024];
                r = out(&w, zeros, sizeof(zeros));
        }
        if (r == 0) {
                storage_sha256_final_hex(w.h, ret_digest);
                if (ret_archives)
                        *ret_archives = steal_ptr(&w.archives);
        }
        storage_sha256_free(w.h);
        hutch_strv_free(w.archives);
        return r < 0 ? r : 0;
}

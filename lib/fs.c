#include "config.h"

#include "cleanup.h"
#include "fs.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef HAVE_LINUX_OPENAT2_H
#include <linux/openat2.h>
#endif

#ifndef RESOLVE_IN_ROOT
struct open_how {
        unsigned long long flags, mode, resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT       0x10
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

int hutch_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

ssize_t hutch_read_full(int fd, void *buf, size_t len)
{
        size_t done = 0;
        while (done < len) {
                ssize_t n = read(fd, (char *) buf + done, len - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

int hutch_read_fd_alloc(int fd, size_t max, char **ret_buf, size_t *ret_len)
{
        size_t size = 4096, len = 0;
        char *buf = xmalloc(size + 1);

        for (;;) {
                if (len == size) {
                        if (size >= max) {
                                free(buf);
                                return -EFBIG;
                        }
                        size = size * 2 > max ? max : size * 2;
                        buf = xrealloc(buf, size + 1);
                }
                ssize_t n = read(fd, buf + len, size - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = errno;
                        free(buf);
                        return -e;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max) {
                        free(buf);
                        return -EFBIG;
                }
        }
        buf[len] = '\0';
        *ret_buf = buf;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int hutch_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len,
                       struct hutch_error **err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return hutch_error_set(err, errno, "open '%s'", path);
        if (fstat(fd, &st) < 0)
                return hutch_error_set(err, errno, "stat '%s'", path);
        if (!S_ISREG(st.st_mode))
                return hutch_error_set(err, EINVAL, "'%s' is not a regular file", path);
        if ((size_t) st.st_size > max)
                return hutch_error_set(err, EFBIG, "'%s' is larger than %zu bytes", path, max);
        r = hutch_read_fd_alloc(fd, max, ret_buf, ret_len);
        if (r < 0)
                return hutch_error_set(err, -r, "read '%s'", path);
        return 0;
}

int hutch_write_file_atomic(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                            struct hutch_error **err)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        const char *slash = strrchr(name, '/');
        int r;

        if (slash)
                tmp = xasprintf("%.*s/.tmp-%s.%d", (int) (slash - name), name, slash + 1, (int) getpid());
        else
                tmp = xasprintf(".tmp-%s.%d", name, (int) getpid());
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return hutch_error_set(err, errno, "create '%s'", tmp);
        r = hutch_write_all(fd, buf, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dirfd, tmp, 0);
                return hutch_error_set(err, -r, "write '%s'", name);
        }
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                r = errno;
                (void) unlinkat(dirfd, tmp, 0);
                return hutch_error_set(err, r, "rename into '%s'", name);
        }
        return 0;
}

int hutch_mkdir_p(const char *path, mode_t mode)
{
        char buf[PATH_MAX];
        size_t len = strlen(path);

        if (len == 0 || len >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, len + 1);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(buf, mode) < 0) {
                struct stat st;
                if (errno != EEXIST)
                        return -errno;
                if (stat(buf, &st) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
        }
        return 0;
}

static int rm_rf_children(int dfd)
{
        DIR *d;
        struct dirent *de;
        int r = 0;

        d = fdopendir(dfd);
        if (d == NULL) {
                r = -errno;
                (void) close(dfd);
                return r;
        }
        while ((de = readdir(d)) != NULL) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                int q = hutch_rm_rf_at(dirfd(d), de->d_name);
                if (q < 0 && r == 0)
                        r = q;
        }
        (void) closedir(d);
        return r;
}

int hutch_rm_rf_at(int dirfd, const char *name)
{
        int fd, r;

        if (unlinkat(dirfd, name, 0) == 0)
                return 0;
        if (errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return -errno;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return -errno;
        }
        /* A directory we may not list (0000) is still ours to remove. */
        (void) fchmod(fd, 0700);
        r = rm_rf_children(fd);
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return r < 0 ? r : -errno;
        return r;
}

static bool openat2_disabled;

void hutch_fs_disable_openat2(bool disable)
{
        openat2_disabled = disable;
}

/* Component-by-component walk for kernels without openat2.  Symlinks are
 * resolved by hand against rootfd, so ".." and absolute targets stay inside. */
static int walk_in_root(int rootfd, const char *path, int flags, mode_t mode, int depth)
{
        char buf[PATH_MAX];
        char *save = NULL, *comp, *next;
        int cur, r;

        if (depth > 40)
                return -ELOOP;
        if (strlen(path) >= sizeof(buf))
                return -ENAMETOOLONG;
        strcpy(buf, path);

        cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return -errno;

        /* Track the directory stack as paths relative to root, so that ".."
         * can be clamped at the root. */
        char rel[PATH_MAX] = "";
        comp = strtok_r(buf, "/", &save);
        while (comp != NULL) {
                next = strtok_r(NULL, "/", &save);
                bool last = next == NULL;

                if (STREQ(comp, ".")) {
                        comp = next;
                        if (last)
                                goto open_last_dot;
                        continue;
                }
                if (STREQ(comp, "..")) {
                        char *s = strrchr(rel, '/');
                        if (s)
                                *s = '\0';
                        else
                                rel[0] = '\0';
                        (void) close(cur);
                        cur = rel[0] ? openat(rootfd, rel + 1, O_PATH | O_DIRECTORY | O_CLOEXEC)
                                     : openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (cur < 0)
                                return -errno;
                        comp = next;
                        if (last)
                                goto open_last_dot;
                        continue;
                }

                struct stat st;
                if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX], rest[PATH_MAX];
                        ssize_t n = readlinkat(cur, comp, target, sizeof(target) - 1);
                        if (n < 0) {
                                r = -errno;
                                (void) close(cur);
                                return r;
                        }
                        target[n] = '\0';
                        if (last && (flags & O_NOFOLLOW)) {
                                (void) close(cur);
                                return -ELOOP;
                        }
                        /* Splice the target in place of the link and restart. */
                        int len;
                        if (target[0] == '/')
                                len = snprintf(rest, sizeof(rest), "%s", target);
                        else
                                len = snprintf(rest, sizeof(rest), "%s/%s", rel, target);
                        for (char *p = next; p; p = strtok_r(NULL, "/", &save)) {
                                if (len < 0 || (size_t) len >= sizeof(rest))
                                        break;
                                len += snprintf(rest + len, sizeof(rest) - (size_t) len, "/%s", p);
                        }
                        (void) close(cur);
                        if (len < 0 || (size_t) len >= sizeof(rest))
                                return -ENAMETOOLONG;
                        return walk_in_root(rootfd, rest, flags, mode, depth + 1);
                }

                if (last) {
                        r = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
                        r = r < 0 ? -errno : r;
                        (void) close(cur);
                        return r;
                }
                int nfd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0) {
                        r = -errno;
                        (void) close(cur);
                        return r;
                }
                (void) close(cur);
                cur = nfd;
                size_t l = strlen(rel);
                if (l + strlen(comp) + 2 > sizeof(rel)) {
                        (void) close(cur);
                        return -ENAMETOOLONG;
                }
                rel[l] = '/';
                strcpy(rel + l + 1, comp);
                comp = next;
        }
open_last_dot:
        r = openat(cur, ".", flags | O_CLOEXEC, mode);
        r = r < 0 ? -errno : r;
        (void) close(cur);
        return r;
}

int hutch_open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
        if (!openat2_disabled) {
                struct open_how how = {
                        .flags = (unsigned long long) (flags | O_CLOEXEC),
                        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
                };
                long fd;
                /* EAGAIN: a rename anywhere on the system raced with a ".."
                 * of the lookup; the kernel asks us to try again (and after
                 * a few tries the walk below does the same job). */
                for (int tries = 0;; tries++) {
                        fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
                        if (fd >= 0 || errno != EAGAIN || tries == 16)
                                break;
                }
                if (fd >= 0)
                        return (int) fd;
                if (errno != ENOSYS && errno != EPERM && errno != EAGAIN)
                        return -errno;
                /* ENOSYS: old kernel; EPERM: a seccomp filter that refuses it. */
        }
        while (*path == '/')
                path++;
        if (*path == '\0')
                path = ".";
        return walk_in_root(rootfd, path, flags, mode, 0);
}

/* depth counts the links followed to missing directories (ELOOP at 40,
 * as the kernel's own limit). */
static int mkdir_p_in_root(int rootfd, const char *path, mode_t mode, int depth)
{
        char buf[PATH_MAX];
        int fd;

        if (strlen(path) >= sizeof(buf))
                return -ENAMETOOLONG;
        strcpy(buf, path);
        for (char *p = buf + 1;; p++) {
                bool end = *p == '\0';
                if (*p != '/' && !end)
                        continue;
                char saved = *p;
                *p = '\0';
                fd = hutch_open_in_root(rootfd, buf, O_PATH | O_DIRECTORY, 0);
                if (fd == -ENOENT) {
                        /* Create the last component in its (resolved) parent. */
                        char *slash = strrchr(buf, '/');
                        int pfd;
                        if (slash == NULL || slash == buf) {
                                pfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
                                if (pfd < 0)
                                        pfd = -errno;
                        } else {
                                *slash = '\0';
                                pfd = hutch_open_in_root(rootfd, buf, O_PATH | O_DIRECTORY, 0);
                                *slash = '/';
                        }
                        if (pfd < 0)
                                return pfd;
                        const char *leaf = slash ? slash + 1 : buf;
                        char target[PATH_MAX];
                        ssize_t n = -1;
                        if (mkdirat(pfd, leaf, mode) < 0) {
                                int e = errno;
                                if (e == EEXIST)
                                        n = readlinkat(pfd, leaf, target, sizeof(target) - 1);
                                if (e != EEXIST || n < 0) {
                                        (void) close(pfd);
                                        return e == EEXIST ? -ENOENT : -e;
                                }
                        }
                        (void) close(pfd);
                        if (n >= 0) {
                                /* A link to nothing: make its target, inside
                                 * the root as every lookup here (Docker
                                 * creates a WORKDIR behind a dangling link). */
                                target[n] = '\0';
                                char next[PATH_MAX];
                                int len = target[0] == '/' ? snprintf(next, sizeof(next), "%s", target)
                                                           : snprintf(next, sizeof(next), "%.*s/%s",
                                                                      (int) (slash ? slash - buf : 0), buf, target);
                                if (depth >= 40)
                                        return -ELOOP;
                                if (len < 0 || (size_t) len >= sizeof(next))
                                        return -ENAMETOOLONG;
                                fd = mkdir_p_in_root(rootfd, next[0] ? next : "/", mode, depth + 1);
                                if (fd < 0)
                                        return fd;
                                (void) close(fd);
                        }
                        fd = hutch_open_in_root(rootfd, buf, O_PATH | O_DIRECTORY, 0);
                }
                if (fd < 0)
                        return fd;
                *p = saved;
                if (end)
                        return fd;
                (void) close(fd);
        }
}

int hutch_mkdir_p_in_root(int rootfd, const char *path, mode_t mode)
{
        return mkdir_p_in_root(rootfd, path, mode, 0);
}

const char *hutch_fd_path(int fd, char *buf, size_t size)
{
        snprintf(buf, size, "/proc/self/fd/%d", fd);
        return buf;
}

bool hutch_is_executable(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *hutch_find_in_path(const char *name, const char *path)
{
        if (strchr(name, '/'))
                return hutch_is_executable(name) ? xstrdup(name) : NULL;
        if (path == NULL)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        const char *p = path;
        while (*p) {
                size_t n = strcspn(p, ":");
                if (n > 0) {
                        char *cand = xasprintf("%.*s/%s", (int) n, p, name);
                        if (hutch_is_executable(cand))
                                return cand;
                        free(cand);
                }
                p += n;
                if (*p)
                        p++;
        }
        return NULL;
}

/* ---- copying trees ---- */

static int copy_tree(int srcfd, int dstfd, unsigned flags, int depth);

/* With HUTCH_COPY_REPLACE, what is at dstdir/dname gives way to a
 * non-directory; a directory is merged into.  A directory never replaces a
 * file nor a file a directory (ENOTDIR, EISDIR), as `cp` and `docker cp`. */
static int make_room(int dstdir, const char *dname, bool for_dir, unsigned flags)
{
        struct stat dst;

        if (!(flags & HUTCH_COPY_REPLACE) || fstatat(dstdir, dname, &dst, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        if (S_ISDIR(dst.st_mode))
                return for_dir ? 0 : -EISDIR;
        if (for_dir)
                return -ENOTDIR;
        return unlinkat(dstdir, dname, 0) < 0 ? -errno : 0;
}

static int copy_entry(int srcdir, const char *name, int dstdir, const char *dname, unsigned flags, int depth)
{
        bool owners = flags & HUTCH_COPY_OWNERS;
        struct stat st;
        int r = 0;

        if (fstatat(srcdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        r = make_room(dstdir, dname, S_ISDIR(st.st_mode), flags);
        if (r < 0)
                return r;
        if (S_ISDIR(st.st_mode)) {
                if (mkdirat(dstdir, dname, st.st_mode & 07777) < 0 && errno != EEXIST)
                        return -errno;
                int s = openat(srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int d = openat(dstdir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s >= 0 && d >= 0)
                        r = copy_tree(s, d, flags, depth + 1);
                else
                        r = -errno;
                if (s >= 0)
                        (void) close(s);
                if (d >= 0) {
                        if (owners)
                                (void) fchownat(d, "", st.st_uid, st.st_gid, AT_EMPTY_PATH);
                        (void) fchmod(d, st.st_mode & 07777);
                        (void) close(d);
                }
                return r;
        }
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(srcdir, name, target, sizeof(target) - 1);
                if (n < 0)
                        return -errno;
                target[n] = '\0';
                if (symlinkat(target, dstdir, dname) < 0)
                        return -errno;
                if (owners)
                        (void) fchownat(dstdir, dname, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
                return 0;
        }
        if (S_ISREG(st.st_mode)) {
                int s = openat(srcdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0)
                        return -errno;
                int d = openat(dstdir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (d < 0) {
                        r = -errno;
                        (void) close(s);
                        return r;
                }
                off_t left = st.st_size;
                while (left > 0) {
                        ssize_t n = copy_file_range(s, NULL, d, NULL, (size_t) left, 0);
                        if (n <= 0) {
                                char buf[65536];
                                n = read(s, buf, sizeof(buf));
                                if (n <= 0 || hutch_write_all(d, buf, (size_t) n) < 0) {
                                        r = n < 0 ? -errno : -EIO;
                                        break;
                                }
                        }
                        left -= n;
                }
                if (owners)
                        (void) fchown(d, st.st_uid, st.st_gid);
                (void) fchmod(d, st.st_mode & 07777);
                (void) close(s);
                (void) close(d);
                return r;
        }
        /* FIFOs and sockets are recreated; device nodes can't be made here. */
        if (S_ISFIFO(st.st_mode) && mkfifoat(dstdir, dname, st.st_mode & 07777) == 0)
                if (owners)
                        (void) fchownat(dstdir, dname, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        return 0;
}

static int copy_tree(int srcfd, int dstfd, unsigned flags, int depth)
{
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > 256)
                return -ELOOP;
        int dup_fd = fcntl(srcfd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return -errno;
        d = fdopendir(dup_fd);
        if (d == NULL) {
                r = -errno;
                (void) close(dup_fd);
                return r;
        }
        while ((de = readdir(d)) != NULL && r == 0) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                r = copy_entry(srcfd, de->d_name, dstfd, de->d_name, flags, depth);
        }
        (void) closedir(d);
        return r;
}

int hutch_copy_tree(int srcfd, int dstfd, unsigned flags)
{
        return copy_tree(srcfd, dstfd, flags, 0);
}

int hutch_copy_entry(int srcdir, const char *name, int dstdir, const char *dstname, unsigned flags)
{
        return copy_entry(srcdir, name, dstdir, dstname, flags, 0);
}

char *hutch_random_hex(size_t n_bytes)
{
        unsigned char *raw = xmalloc(n_bytes ? n_bytes : 1);
        char *hex = xmalloc(2 * n_bytes + 1);
        size_t got = 0;

        while (got < n_bytes) {
                ssize_t n = getrandom(raw + got, n_bytes - got, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        /* never reached on a kernel hutch runs on; still, never a fixed name */
        for (size_t i = got; i < n_bytes; i++)
                raw[i] = (unsigned char) (rand() ^ getpid() ^ (int) i);
        for (size_t i = 0; i < n_bytes; i++)
                snprintf(hex + 2 * i, 3, "%02x", raw[i]);
        hex[2 * n_bytes] = '\0';
        free(raw);
        return hex;
}

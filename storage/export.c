#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "storage/export.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/xattr.h>
#include <sys/stat.h>
#include <unistd.h>

struct seen {
        dev_t dev;
        ino_t ino;
        char *path;
};

struct export
{
        struct archive *a;
        struct seen *links;
        size_t n_links;
        bool caps; /* keep security.capability (image layers) */
        ssize_t (*sink)(void *data, const void *buf, size_t len);
        void *sink_data;
};

static const char *first_path(struct export *x, const struct stat *st)
{
        for (size_t i = 0; i < x->n_links; i++)
                if (x->links[i].dev == st->st_dev && x->links[i].ino == st->st_ino)
                        return x->links[i].path;
        return NULL;
}

static int write_entry(struct export *x, int dirfd, const char *name, const char *path, int depth,
                       struct hutch_error **err);

static int write_dir(struct export *x, int dfd, const char *prefix, int depth, struct hutch_error **err)
{
        int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        int r = 0;

        if (d == NULL) {
                if (fd >= 0)
                        (void) close(fd);
                return hutch_error_set(err, errno, "read directory '%s'", prefix);
        }
        while (r == 0 && (de = readdir(d)) != NULL) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *path = xasprintf("%s%s", prefix, de->d_name);
                r = write_entry(x, dfd, de->d_name, path, depth + 1, err);
        }
        (void) closedir(d);
        return r;
}

/* Writes the entry dirfd/name as path (no recursion); *st gets its stat. */
static int write_one(struct export *x, int dirfd, const char *name, const char *path, struct stat *st_out,
                     struct hutch_error **err)
{
        struct archive_entry *e;
        struct stat st;
        int r = 0;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return hutch_error_set(err, errno, "stat '%s'", path);
        *st_out = st;
        if (S_ISCHR(st.st_mode) && st.st_rdev == 0)
                return 0; /* an overlay whiteout: the file is not there */
        if (S_ISSOCK(st.st_mode) || S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))
                return 0;

        e = archive_entry_new();
        archive_entry_copy_stat(e, &st);
        _cleanup_free_ char *tarpath = S_ISDIR(st.st_mode) ? xasprintf("%s/", path) : xstrdup(path);
        archive_entry_set_pathname(e, tarpath);
        const char *linkto = NULL;
        if (S_ISREG(st.st_mode) && st.st_nlink > 1 && (linkto = first_path(x, &st)) != NULL) {
                archive_entry_set_hardlink(e, linkto);
                archive_entry_set_size(e, 0);
        } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
                x->links = xreallocarray(x->links, x->n_links + 1, sizeof(*x->links));
                x->links[x->n_links++] = (struct seen){ st.st_dev, st.st_ino, xstrdup(path) };
        }
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
                if (n < 0) {
                        archive_entry_free(e);
                        return hutch_error_set(err, errno, "read link '%s'", path);
                }
                target[n] = '\0';
                archive_entry_set_symlink(e, target);
        }
        if (x->caps && S_ISREG(st.st_mode) && linkto == NULL) {
                char cap[256];
                _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", dirfd, name);
                ssize_t n = lgetxattr(p, "security.capability", cap, sizeof(cap));
                if (n > 0)
                        archive_entry_xattr_add_entry(e, "security.capability", cap, (size_t) n);
        }
        if (archive_write_header(x->a, e) != ARCHIVE_OK) {
                r = hutch_error_set(err, archive_errno(x->a), "write '%s': %s", path, archive_error_string(x->a));
                archive_entry_free(e);
                return r;
        }
        archive_entry_free(e);
        if (S_ISREG(st.st_mode) && linkto == NULL) {
                _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                char buf[65536];
                ssize_t n;
                if (fd < 0)
                        return hutch_error_set(err, errno, "open '%s'", path);
                while ((n = read(fd, buf, sizeof(buf))) > 0)
                        if (archive_write_data(x->a, buf, (size_t) n) < 0)
                                return hutch_error_set(err, archive_errno(x->a), "write '%s': %s", path,
                                                       archive_error_string(x->a));
                if (n < 0)
                        return hutch_error_set(err, errno, "read '%s'", path);
        }
        return 0;
}

static int write_entry(struct export *x, int dirfd, const char *name, const char *path, int depth,
                       struct hutch_error **err)
{
        struct stat st;
        int r;

        if (depth > 4096)
                return hutch_error_set(err, ELOOP, "'%s' is nested too deeply", path);
        r = write_one(x, dirfd, name, path, &st, err);
        if (r < 0 || !S_ISDIR(st.st_mode))
                return r;
        _cleanup_close_ int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
                return hutch_error_set(err, errno, "open '%s'", path);
        _cleanup_free_ char *prefix = xasprintf("%s/", path);
        return write_dir(x, sub, prefix, depth, err);
}

static la_ssize_t sink_write(struct archive *a, void *data, const void *buf, size_t len)
{
        struct export *x = data;

        (void) a;
        return x->sink(x->sink_data, buf, len);
}

/* Writes to out_fd, or through x->sink when it is set. */
static int export_start(struct export *x, int out_fd, struct hutch_error **err)
{
        int r;

        x->a = archive_write_new();
        if (x->a == NULL)
                return hutch_error_set(err, ENOMEM, "libarchive could not be loaded (install 'libarchive13')");
        if (archive_write_set_format_pax_restricted(x->a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(x->a, 1) != ARCHIVE_OK ||
            (x->sink ? archive_write_open2(x->a, x, NULL, sink_write, NULL, NULL)
                     : archive_write_open_fd(x->a, out_fd)) != ARCHIVE_OK) {
                r = hutch_error_set(err, archive_errno(x->a), "start the archive: %s", archive_error_string(x->a));
                archive_write_free(x->a);
                x->a = NULL;
                return r;
        }
        return 0;
}

static int export_finish(struct export *x, int r, struct hutch_error **err)
{
        if (x->a && r == 0 && archive_write_close(x->a) != ARCHIVE_OK)
                r = hutch_error_set(err, archive_errno(x->a), "finish the archive: %s", archive_error_string(x->a));
        if (x->a)
                archive_write_free(x->a);
        x->a = NULL;
        for (size_t i = 0; i < x->n_links; i++)
                free(x->links[i].path);
        free(x->links);
        x->links = NULL;
        x->n_links = 0;
        return r;
}

int storage_export_tree(int dirfd, const char *name, int out_fd, struct hutch_error **err)
{
        struct export x = { 0 };
        int r;

        r = export_start(&x, out_fd, err);
        if (r < 0)
                return r;
        r = name ? write_entry(&x, dirfd, name, name, 0, err) : write_dir(&x, dirfd, "", 0, err);
        return export_finish(&x, r, err);
}

struct storage_tar_writer {
        struct export x;
};

int storage_tar_writer_new(int out_fd, ssize_t (*sink)(void *data, const void *buf, size_t len), void *sink_data,
                           struct storage_tar_writer **ret, struct hutch_error **err)
{
        struct storage_tar_writer *w = xzalloc(sizeof(*w));
        int r;

        w->x.caps = true;
        w->x.sink = sink;
        w->x.sink_data = sink_data;
        r = export_start(&w->x, out_fd, err);
        if (r < 0) {
                free(w);
                return r;
        }
        *ret = w;
        return 0;
}

int storage_tar_writer_add(struct storage_tar_writer *w, int dirfd, const char *name, const char *path,
                           struct hutch_error **err)
{
        struct stat st;

        return write_one(&w->x, dirfd, name, path, &st, err);
}

int storage_tar_writer_add_empty(struct storage_tar_writer *w, const char *path, struct hutch_error **err)
{
        struct archive_entry *e = archive_entry_new();
        int r = 0;

        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0);
        archive_entry_set_size(e, 0);
        archive_entry_set_mtime(e, 0, 0);
        if (archive_write_header(w->x.a, e) != ARCHIVE_OK)
                r = hutch_error_set(err, archive_errno(w->x.a), "write '%s': %s", path, archive_error_string(w->x.a));
        archive_entry_free(e);
        return r;
}

int storage_tar_writer_finish(struct storage_tar_writer *w, struct hutch_error **err)
{
        return export_finish(&w->x, 0, err);
}

struct storage_tar_writer *storage_tar_writer_free(struct storage_tar_writer *w)
{
        if (w == NULL)
                return NULL;
        (void) export_finish(&w->x, -1, NULL);
        free(w);
        return NULL;
}

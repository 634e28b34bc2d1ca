/* A container's changes against its image (see diff.h). */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/diff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_DEPTH 4096
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

const char *storage_whiteout_target(const char *name)
{
        if (strncmp(name, WH_PREFIX, strlen(WH_PREFIX)) != 0 || STREQ(name, WH_OPAQUE))
                return NULL;
        name += strlen(WH_PREFIX);
        if (*name == '\0' || STREQ(name, ".") || STREQ(name, ".."))
                return NULL;
        return name;
}

static char *entry_in_dir(const char *path, const char *leaf_prefix, bool own_name)
{
        const char *slash = strrchr(path, '/');
        const char *dir = path, *base = slash ? slash + 1 : path;
        size_t dlen = slash ? (size_t) (slash - path) : 0;

        while (*dir == '/' && dlen > 0) {
                dir++;
                dlen--;
        }
        if (own_name) /* path is the directory itself */
                return *path == '/' && path[1] == '\0' ? xstrdup(leaf_prefix)
                                                       : xasprintf("%s/%s", path + strspn(path, "/"), leaf_prefix);
        if (dlen == 0)
                return xasprintf("%s%s", leaf_prefix, base);
        return xasprintf("%.*s/%s%s", (int) dlen, dir, leaf_prefix, base);
}

char *storage_whiteout_entry(const char *path)
{
        return entry_in_dir(path, WH_PREFIX, false);
}

char *storage_opaque_entry(const char *path)
{
        return entry_in_dir(path, WH_OPAQUE, true);
}

void storage_changes_clear(struct storage_changes *c)
{
        for (size_t i = 0; i < c->n; i++)
                free(c->v[i].path);
        free(c->v);
        *c = (struct storage_changes){ 0 };
}

static void push(struct storage_changes *c, char *path, char kind)
{
        c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
        c->v[c->n++] = (struct storage_change){ .path = path, .kind = kind };
}

static void pop(struct storage_changes *c)
{
        free(c->v[--c->n].path);
}

static bool whiteout_dev(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == 0;
}

static bool opaque_xattr(int fd)
{
        static const char *const names[] = { "user.overlay.opaque", "trusted.overlay.opaque",
                                             "user.fuseoverlayfs.opaque" };
        char v[4];

        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                ssize_t n = fgetxattr(fd, names[i], v, sizeof(v));
                if (n == 1 && v[0] == 'y')
                        return true;
        }
        return false;
}

static bool dir_opaque(int fd)
{
        return opaque_xattr(fd) || faccessat(fd, WH_OPAQUE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* A directory as the image's layers show it: the layers' directories of
 * that path, topmost first, down to the first opaque one. */
struct view {
        int *fds;
        size_t n;
};

static void view_clear(struct view *v)
{
        for (size_t i = 0; i < v->n; i++)
                (void) close(v->fds[i]);
        free(v->fds);
        *v = (struct view){ 0 };
}

static bool has_whiteout_file(int dirfd, const char *name)
{
        _cleanup_free_ char *wh = xasprintf(WH_PREFIX "%s", name);
        return faccessat(dirfd, wh, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Whether name is visible in v; *ret_st and *ret_layer tell where. */
static bool view_find(const struct view *v, const char *name, struct stat *ret_st, size_t *ret_layer)
{
        for (size_t i = 0; i < v->n; i++) {
                if (fstatat(v->fds[i], name, ret_st, AT_SYMLINK_NOFOLLOW) == 0) {
                        if (whiteout_dev(ret_st))
                                return false;
                        *ret_layer = i;
                        return true;
                }
                if (has_whiteout_file(v->fds[i], name))
                        return false;
        }
        return false;
}

static int view_child(const struct view *v, const char *name, size_t from, struct view *ret)
{
        struct view c = { 0 };

        for (size_t i = from; i < v->n; i++) {
                struct stat st;
                if (fstatat(v->fds[i], name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (has_whiteout_file(v->fds[i], name))
                                break;
                        continue;
                }
                if (!S_ISDIR(st.st_mode))
                        break;
                int fd = openat(v->fds[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        int e = -errno;
                        view_clear(&c);
                        return e;
                }
                c.fds = xreallocarray(c.fds, c.n + 1, sizeof(int));
                c.fds[c.n++] = fd;
                if (dir_opaque(fd))
                        break;
        }
        *ret = c;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names of a directory, sorted (whiteouts and markers left out). */
static int list_dir(int dirfd, bool skip_whiteouts, char ***ret)
{
        int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        char **l = xcalloc(1, sizeof(char *));
        size_t n = 0;
        struct dirent *de;

        if (d == NULL) {
                int e = -errno;
                if (fd >= 0)
                        (void) close(fd);
                free(l);
                return e;
        }
        rewinddir(d); /* the fd may have been read before: the offset is shared */
        while ((de = readdir(d)) != NULL) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                if (skip_whiteouts && strncmp(de->d_name, WH_PREFIX, strlen(WH_PREFIX)) == 0)
                        continue;
                l = xreallocarray(l, n + 2, sizeof(char *));
                l[n++] = xstrdup(de->d_name);
                l[n] = NULL;
        }
        (void) closedir(d);
        qsort(l, n, sizeof(char *), cmp_str);
        *ret = l;
        return 0;
}

static bool strv_sorted_has(char **l, size_t n, const char *name)
{
        return bsearch(&name, l, n, sizeof(char *), cmp_str) != NULL;
}

/* The names visible in v, sorted. */
static int view_names(const struct view *v, char ***ret)
{
        char **all = xcalloc(1, sizeof(char *));
        size_t n = 0;
        int r;

        for (size_t i = 0; i < v->n; i++) {
                _cleanup_strv_ char **l = NULL;
                r = list_dir(v->fds[i], true, &l);
                if (r < 0) {
                        hutch_strv_free(all);
                        return r;
                }
                for (char **p = l; *p; p++) {
                        struct stat st;
                        size_t layer;
                        if (strv_sorted_has(all, n, *p) || !view_find(v, *p, &st, &layer))
                                continue;
                        all = xreallocarray(all, n + 2, sizeof(char *));
                        all[n++] = xstrdup(*p);
                        all[n] = NULL;
                        qsort(all, n, sizeof(char *), cmp_str);
                }
        }
        *ret = all;
        return 0;
}

static bool same_meta(const struct stat *a, const struct stat *b)
{
        return a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid;
}

static bool same_content(int adir, int bdir, const char *name, const struct stat *a, const struct stat *b)
{
        if (S_ISLNK(a->st_mode)) {
                char x[4096], y[4096];
                ssize_t n = readlinkat(adir, name, x, sizeof(x)), m = readlinkat(bdir, name, y, sizeof(y));
                return n >= 0 && n == m && memcmp(x, y, (size_t) n) == 0;
        }
        if (!S_ISREG(a->st_mode))
                return true;
        if (a->st_size != b->st_size)
                return false;
        _cleanup_close_ int fa = openat(adir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int fb = openat(bdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fa < 0 || fb < 0)
                return false;
        for (;;) {
                char x[65536], y[65536];
                ssize_t n = read(fa, x, sizeof(x));
                if (n <= 0)
                        return n == 0 && read(fb, y, 1) == 0;
                ssize_t m = 0;
                while (m < n) {
                        ssize_t k = read(fb, y + m, (size_t) (n - m));
                        if (k <= 0)
                                return false;
                        m += k;
                }
                if (memcmp(x, y, (size_t) n) != 0)
                        return false;
        }
}

struct walk {
        const struct storage_diff_source *src;
        struct storage_changes *out;
};

static char *join(const char *dir, const char *name)
{
        return xasprintf("%s/%s", dir, name);
}

/* Mount points the runtime makes where the image has none, empty: not the
 * container's doing (Docker keeps them in a layer of its own), so neither
 * listed nor committed. */
static bool runtime_target(const char *path, int dirfd, const char *name, const struct stat *st)
{
        static const char *const targets[] = { "/dev",       "/proc",         "/sys",
                                               "/etc/hosts", "/etc/hostname", "/etc/resolv.conf" };

        for (size_t i = 0; i < ARRAY_SIZE(targets); i++) {
                if (!STREQ(path, targets[i]))
                        continue;
                if (S_ISREG(st->st_mode))
                        return st->st_size == 0;
                if (!S_ISDIR(st->st_mode))
                        return false;
                _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_strv_ char **l = NULL;
                /* fuse-overlayfs marks the directories it makes opaque */
                return fd >= 0 && list_dir(fd, true, &l) == 0 && l[0] == NULL;
        }
        return false;
}

static int walk_added(struct walk *w, int dirfd, const char *path, int depth, struct hutch_error **err);

/* An entry the image does not have (child: its path, taken over). */
static int add_entry(struct walk *w, int dirfd, char *child, const char *name, const struct stat *st, int depth,
                     struct hutch_error **err)
{
        size_t at = w->out->n;
        int r;

        if (runtime_target(child, dirfd, name, st)) {
                free(child);
                return 0;
        }
        push(w->out, child, STORAGE_CHANGE_ADD);
        if (!S_ISDIR(st->st_mode))
                return 0;
        _cleanup_close_ int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
                return hutch_error_set(err, errno, "open '%s'", child);
        r = walk_added(w, sub, child, depth + 1, err);
        if (r < 0)
                return r;
        /* a directory made only to hold mount points (/etc for /etc/hosts):
         * not empty, yet nothing below it was added */
        if (w->out->n == at + 1) {
                _cleanup_strv_ char **l = NULL;
                if (list_dir(sub, true, &l) == 0 && l[0] != NULL)
                        pop(w->out);
        }
        return 0;
}

/* Everything below an added directory is added. */
static int walk_added(struct walk *w, int dirfd, const char *path, int depth, struct hutch_error **err)
{
        _cleanup_strv_ char **names = NULL;
        int r;

        if (depth > MAX_DEPTH)
                return hutch_error_set(err, ELOOP, "'%s' is nested too deeply", path);
        r = list_dir(dirfd, false, &names);
        if (r < 0)
                return hutch_error_set(err, -r, "read directory '%s'", path);
        for (char **p = names; *p; p++) {
                struct stat st;
                if (STREQ(*p, WH_OPAQUE) || fstatat(dirfd, *p, &st, AT_SYMLINK_NOFOLLOW) < 0 || whiteout_dev(&st) ||
                    (!w->src->full_copy && S_ISREG(st.st_mode) && storage_whiteout_target(*p)))
                        continue;
                r = add_entry(w, dirfd, join(path, *p), *p, &st, depth, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int walk_dir(struct walk *w, int dirfd, const char *path, const struct view *lower, bool opaque, int depth,
                    struct hutch_error **err);

/* One upper entry that is not a whiteout. */
static int walk_entry(struct walk *w, int dirfd, const char *path, const char *name, const struct stat *st,
                      const struct view *lower, int depth, struct hutch_error **err)
{
        struct stat lst;
        size_t layer;
        bool in_lower = view_find(lower, name, &lst, &layer);
        char *child = join(path, name);
        int r;

        if (!in_lower)
                return add_entry(w, dirfd, child, name, st, depth, err);
        if (!S_ISDIR(st->st_mode) || !S_ISDIR(lst.st_mode)) {
                /* in the copy driver's tree an unchanged entry is there too */
                if (w->src->full_copy && same_meta(st, &lst) &&
                    same_content(dirfd, lower->fds[layer], name, st, &lst)) {
                        free(child);
                        return 0;
                }
                push(w->out, child, STORAGE_CHANGE_MODIFY);
                if (!S_ISDIR(st->st_mode))
                        return 0;
                /* a directory where the image has a file: all of it is new */
                _cleanup_close_ int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return hutch_error_set(err, errno, "open '%s'", child);
                return walk_added(w, sub, child, depth + 1, err);
        }
        /* a directory in both: changed when its metadata or what is below it is */
        _cleanup_close_ int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
                r = hutch_error_set(err, errno, "open '%s'", child);
                free(child);
                return r;
        }
        struct view cv = { 0 };
        r = view_child(lower, name, layer, &cv);
        if (r < 0) {
                r = hutch_error_set(err, -r, "open the image's '%s'", child);
                free(child);
                return r;
        }
        bool op = !w->src->full_copy && dir_opaque(sub);
        size_t at = w->out->n;
        push(w->out, child, STORAGE_CHANGE_MODIFY);
        w->out->v[at].opaque = op;
        r = walk_dir(w, sub, child, &cv, op, depth + 1, err);
        view_clear(&cv);
        if (r < 0)
                return r;
        if (!op && w->out->n == at + 1 && same_meta(st, &lst))
                pop(w->out);
        return 0;
}

static int walk_dir(struct walk *w, int dirfd, const char *path, const struct view *lower, bool opaque, int depth,
                    struct hutch_error **err)
{
        _cleanup_strv_ char **names = NULL;
        _cleanup_strv_ char **lnames = NULL;
        size_t n_names;
        int r;

        if (depth > MAX_DEPTH)
                return hutch_error_set(err, ELOOP, "'%s' is nested too deeply", path);
        r = list_dir(dirfd, false, &names);
        if (r < 0)
                return hutch_error_set(err, -r, "read directory '%s'", *path ? path : "/");
        n_names = hutch_strv_length(names);
        for (char **p = names; *p; p++) {
                struct stat st, lst;
                size_t layer;
                const char *target;
                if (STREQ(*p, WH_OPAQUE))
                        continue;
                if (fstatat(dirfd, *p, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return hutch_error_set(err, errno, "stat '%s/%s'", path, *p);
                if (!w->src->full_copy) {
                        target = whiteout_dev(&st) ? *p : S_ISREG(st.st_mode) ? storage_whiteout_target(*p) : NULL;
                        if (target) {
                                /* only what the image has is deleted */
                                if (!opaque && view_find(lower, target, &lst, &layer))
                                        push(w->out, join(path, target), STORAGE_CHANGE_DELETE);
                                continue;
                        }
                }
                r = walk_entry(w, dirfd, path, *p, &st, lower, depth, err);
                if (r < 0)
                        return r;
        }
        /* What the image has here and the container no longer: with the copy
         * driver, whatever is missing; with overlay, what an opaque directory
         * hides (its whiteout is the opaque marker). */
        if (!w->src->full_copy && !opaque)
                return 0;
        r = view_names(lower, &lnames);
        if (r < 0)
                return hutch_error_set(err, -r, "read the image's '%s'", *path ? path : "/");
        for (char **p = lnames; *p; p++) {
                struct stat st;
                if (strv_sorted_has(names, n_names, *p) &&
                    (w->src->full_copy || (fstatat(dirfd, *p, &st, AT_SYMLINK_NOFOLLOW) == 0 && !whiteout_dev(&st))))
                        continue;
                push(w->out, join(path, *p), STORAGE_CHANGE_DELETE);
                w->out->v[w->out->n - 1].covered = opaque;
        }
        return 0;
}

/* Opens the parent directory of path ("/a/b/c": a/b) below root, never
 * following a symlink; *ret_name points at the last component. */
static int open_parent(int root, const char *path, const char **ret_name, struct hutch_error **err)
{
        const char *slash = strrchr(path, '/');
        _cleanup_free_ char *dir = xstrndup(path, (size_t) (slash - path));
        int fd = fcntl(root, F_DUPFD_CLOEXEC, 3);
        char *save = NULL;

        if (fd < 0)
                return hutch_error_set(err, errno, "dup");
        for (char *c = strtok_r(dir, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                (void) close(fd);
                if (next < 0)
                        return hutch_error_set(err, errno, "open '%s'", path);
                fd = next;
        }
        *ret_name = slash + 1;
        return fd;
}

static int write_layer(const struct storage_diff_source *src, const struct storage_changes *c,
                       struct storage_tar_writer *tar, struct hutch_error **err)
{
        int r = 0;

        for (size_t i = 0; i < c->n && r >= 0; i++) {
                const struct storage_change *x = &c->v[i];
                if (x->kind == STORAGE_CHANGE_DELETE) {
                        if (x->covered)
                                continue;
                        _cleanup_free_ char *wh = storage_whiteout_entry(x->path);
                        r = storage_tar_writer_add_empty(tar, wh, err);
                        continue;
                }
                const char *name = NULL;
                _cleanup_close_ int pfd = open_parent(src->upper_fd, x->path, &name, err);
                if (pfd < 0)
                        return pfd;
                r = storage_tar_writer_add(tar, pfd, name, x->path + 1, err);
                if (r >= 0 && x->opaque) {
                        _cleanup_free_ char *op = storage_opaque_entry(x->path);
                        r = storage_tar_writer_add_empty(tar, op, err);
                }
        }
        return r;
}

static int cmp_change(const void *a, const void *b)
{
        return strcmp(((const struct storage_change *) a)->path, ((const struct storage_change *) b)->path);
}

int storage_diff(const struct storage_diff_source *src, struct storage_tar_writer *layer, struct storage_changes *ret,
                 struct hutch_error **err)
{
        struct storage_changes out = { 0 };
        struct walk w = { .src = src, .out = &out };
        struct view lower = { 0 };
        int r = 0;

        /* the root as the image's layers have it, down to an opaque one */
        for (size_t i = 0; i < src->n_lower && r == 0; i++) {
                int fd = fcntl(src->lower_fds[i], F_DUPFD_CLOEXEC, 3);
                if (fd < 0) {
                        r = hutch_error_set(err, errno, "dup");
                        break;
                }
                lower.fds = xreallocarray(lower.fds, lower.n + 1, sizeof(int));
                lower.fds[lower.n++] = fd;
                if (dir_opaque(fd))
                        break;
        }
        if (r == 0)
                r = walk_dir(&w, src->upper_fd, "", &lower, false, 0, err);
        view_clear(&lower);
        /* the walk lists parents before children: the order a layer needs */
        if (r == 0 && layer)
                r = write_layer(src, &out, layer, err);
        if (r < 0) {
                storage_changes_clear(&out);
                return r;
        }
        if (out.n > 1)
                qsort(out.v, out.n, sizeof(*out.v), cmp_change);
        *ret = out;
        return 0;
}

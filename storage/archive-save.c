/* Saving images: docker-archive and oci-archive streams (`save`, `push
 * docker-archive:`/`oci-archive:`) and OCI image layout directories (`push
 * oci:`), through one writer: save_oci() and save_docker() emit members,
 * and a sink puts them in a tar stream or files of a directory. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/archive-int.h"
#include "storage/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define IO_BLOCK STORAGE_ARCHIVE_IO_BLOCK

/* Where members go: a tar stream (a), or files below a directory (dir_fd). */
struct sink {
        struct archive *a;
        int dir_fd;
        const struct storage_save_progress *prog;
};

static void report(const struct sink *k, const char *digest, uint64_t total, uint64_t done,
                   enum storage_save_state state)
{
        if (k->prog && k->prog->fn)
                k->prog->fn(k->prog->data, digest, total, done, state);
}

static int write_header(struct archive *a, const char *name, uint64_t size, struct hutch_error **err)
{
        struct archive_entry *e = archive_entry_new();
        int r = 0;

        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t) size);
        archive_entry_set_mtime(e, 0, 0);
        if (archive_write_header(a, e) != ARCHIVE_OK)
                r = storage_archive_fail(a, err, "write the archive");
        archive_entry_free(e);
        return r;
}

static int write_dir(struct sink *k, const char *name, struct hutch_error **err)
{
        struct archive_entry *e;
        int r = 0;

        if (k->a == NULL) {
                _cleanup_free_ char *d = xstrndup(name, strlen(name) - (name[strlen(name) - 1] == '/'));
                struct stat st;
                if (mkdirat(k->dir_fd, d, 0755) < 0 && errno != EEXIST)
                        return hutch_error_set(err, errno, "create '%s'", d);
                if (fstatat(k->dir_fd, d, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        return hutch_error_set(err, ENOTDIR, "'%s' in the layout is not a directory", d);
                return 0;
        }
        e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_mtime(e, 0, 0);
        if (archive_write_header(k->a, e) != ARCHIVE_OK)
                r = storage_archive_fail(k->a, err, "write the archive");
        archive_entry_free(e);
        return r;
}

static int write_buf(struct sink *k, const char *name, const void *buf, size_t len, struct hutch_error **err)
{
        int r;

        if (k->a == NULL)
                return hutch_write_file_atomic(k->dir_fd, name, buf, len, 0644, err);
        r = write_header(k->a, name, len, err);
        if (r < 0)
                return r;
        if (len && archive_write_data(k->a, buf, len) != (la_ssize_t) len)
                return storage_archive_fail(k->a, err, "write the archive");
        return 0;
}

/* A blob of the store as member name, checked against its digest as it is
 * copied.  In a directory, a blob already there (content-addressed, same
 * size) is kept; a new one is written under a temporary name and renamed. */
static int write_blob(struct sink *k, struct storage_store *s, const char *name, const char *digest,
                      struct hutch_error **err)
{
        _cleanup_close_ int fd = -1, out = -1;
        _cleanup_free_ char *buf = xmalloc(IO_BLOCK), *tmp = NULL;
        struct storage_sha256 *h;
        char got[STORAGE_DIGEST_BUFSIZE];
        uint64_t size, done = 0;
        struct stat st;
        int r = 0;

        fd = storage_blob_open(s, digest, &size, err);
        if (fd < 0)
                return fd;
        if (k->a == NULL) {
                if (fstatat(k->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
                    (uint64_t) st.st_size == size) {
                        report(k, digest, size, size, STORAGE_SAVE_SKIPPED);
                        return 0;
                }
                tmp = xasprintf("%s.tmp-%d", name, (int) getpid());
                out = openat(k->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (out < 0)
                        return hutch_error_set(err, errno, "create '%s'", tmp);
        } else {
                r = write_header(k->a, name, size, err);
                if (r < 0)
                        return r;
        }
        report(k, digest, size, 0, STORAGE_SAVE_START);
        h = storage_sha256_new();
        while (r == 0 && done < size) {
                ssize_t n = hutch_read_full(fd, buf, size - done < IO_BLOCK ? size - done : IO_BLOCK);
                if (n <= 0) {
                        r = hutch_error_set(err, n < 0 ? (int) -n : EIO, "read blob %s", digest);
                        break;
                }
                storage_sha256_update(h, buf, (size_t) n);
                if (k->a == NULL) {
                        int w = hutch_write_all(out, buf, (size_t) n);
                        if (w < 0)
                                r = hutch_error_set(err, -w, "write '%s'", name);
                } else if (archive_write_data(k->a, buf, (size_t) n) != n) {
                        r = storage_archive_fail(k->a, err, "write the archive");
                }
                done += (uint64_t) n;
                if (r == 0)
                        report(k, digest, size, done, STORAGE_SAVE_BYTES);
        }
        storage_sha256_final_hex(h, got);
        storage_sha256_free(h);
        if (r == 0 && !STREQ(got, digest))
                r = hutch_error_set(err, 0, "blob %s in the store is corrupt", digest);
        if (r == 0 && out >= 0 && fsync(out) < 0)
                r = hutch_error_set(err, errno, "write '%s'", name);
        if (r == 0 && out >= 0 && renameat(k->dir_fd, tmp, k->dir_fd, name) < 0)
                r = hutch_error_set(err, errno, "rename into '%s'", name);
        if (r < 0 && out >= 0)
                (void) unlinkat(k->dir_fd, tmp, 0);
        if (r == 0)
                report(k, digest, size, size, STORAGE_SAVE_DONE);
        return r;
}

static bool seen(char ***set, const char *s)
{
        if (hutch_strv_contains(*set, s))
                return true;
        hutch_strv_append(set, s);
        return false;
}

static int save_docker(struct sink *k, struct storage_store *s, const struct storage_save_item *items, size_t n,
                       struct hutch_error **err)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        _cleanup_strv_ char **written = NULL, **ids = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = 0;

        yajl_gen_array_open(g);
        for (size_t i = 0; i < n; i++) {
                const struct storage_image *img = items[i].image;
                _cleanup_free_ char *cname = xasprintf("%s.json", img->id);
                if (seen(&ids, img->id))
                        continue;
                for (size_t j = 0; r == 0 && j < img->n_layers; j++) {
                        _cleanup_free_ char *lname = xasprintf("%s.tar", storage_digest_hex(img->layers[j].blob));
                        if (!seen(&written, lname))
                                r = write_blob(k, s, lname, img->layers[j].blob, err);
                }
                if (r == 0)
                        r = write_blob(k, s, cname, img->config, err);
                if (r < 0)
                        goto out;
                yajl_gen_map_open(g);
                hutch_json_gen_kv_string(g, "Config", cname);
                hutch_json_gen_string(g, "RepoTags");
                yajl_gen_array_open(g);
                for (size_t m = 0; m < n; m++)
                        if (items[m].image == img && items[m].name)
                                hutch_json_gen_string(g, items[m].name);
                yajl_gen_array_close(g);
                hutch_json_gen_string(g, "Layers");
                yajl_gen_array_open(g);
                for (size_t j = 0; j < img->n_layers; j++) {
                        _cleanup_free_ char *lname = xasprintf("%s.tar", storage_digest_hex(img->layers[j].blob));
                        hutch_json_gen_string(g, lname);
                }
                yajl_gen_array_close(g);
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        text = hutch_json_gen_steal(g, &len);
        r = write_buf(k, "manifest.json", text, len, err);
out:
        yajl_gen_free(g);
        return r;
}

/* Whether the directory open at fd holds nothing (an unreadable one counts
 * as not empty: it is not ours to fill). */
static bool dir_is_empty(int fd)
{
        _cleanup_dir_ DIR *d = fdopendir(fcntl(fd, F_DUPFD_CLOEXEC, 3));
        struct dirent *de;

        if (d == NULL)
                return false;
        while ((de = readdir(d)) != NULL)
                if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, ".."))
                        return false;
        return true;
}

/* Whether an entry of an existing index gives way to the image written
 * now: the same tag, or (untagged) the same manifest without a tag. */
static bool replaced(yajl_val entry, const struct storage_save_item *items, size_t n)
{
        yajl_val ann = hutch_json_get_object(entry, "annotations");
        const char *ref = ann ? hutch_json_get_string(ann, STORAGE_ANNOTATION_REF_NAME) : NULL;
        const char *digest = hutch_json_get_string(entry, "digest");

        for (size_t i = 0; i < n; i++) {
                if (items[i].name ? ref && STREQ(ref, items[i].name)
                                  : ref == NULL && digest && STREQ(digest, items[i].image->manifest))
                        return true;
        }
        return false;
}

static int save_oci(struct sink *k, struct storage_store *s, const struct storage_save_item *items, size_t n,
                    yajl_val keep, struct hutch_error **err)
{
        static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        yajl_gen g = yajl_gen_alloc(NULL);
        _cleanup_strv_ char **written = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = write_buf(k, "oci-layout", layout, strlen(layout), err);
        if (r == 0)
                r = write_dir(k, "blobs/", err);
        if (r == 0)
                r = write_dir(k, "blobs/sha256/", err);
        if (r < 0)
                goto out;
        yajl_gen_map_open(g);
        hutch_json_gen_kv_int(g, "schemaVersion", 2);
        hutch_json_gen_kv_string(g, "mediaType", STORAGE_MEDIA_OCI_INDEX);
        hutch_json_gen_string(g, "manifests");
        yajl_gen_array_open(g);
        for (size_t i = 0; keep && YAJL_IS_ARRAY(keep) && i < keep->u.array.len; i++)
                if (!replaced(keep->u.array.values[i], items, n))
                        hutch_json_gen_value(g, keep->u.array.values[i]);
        for (size_t i = 0; i < n; i++) {
                const struct storage_image *img = items[i].image;
                _cleanup_(storage_manifest_free_cleanup) struct storage_manifest *man = NULL;
                _cleanup_free_ char *mbuf = NULL;
                size_t mlen;

                r = storage_blob_read(s, img->manifest, STORAGE_MANIFEST_MAX_BYTES, &mbuf, &mlen, err);
                if (r < 0)
                        goto out;
                r = storage_manifest_parse(mbuf, mlen, NULL, &man, err);
                if (r < 0)
                        goto out;
                /* layers first, the manifest last: a reader never finds a
                 * manifest whose blobs are missing */
                for (size_t j = 0; j < img->n_layers + 2; j++) {
                        const char *d = j < img->n_layers    ? img->layers[j].blob
                                        : j == img->n_layers ? img->config
                                                             : img->manifest;
                        _cleanup_free_ char *bn = xasprintf("blobs/sha256/%s", storage_digest_hex(d));
                        if (seen(&written, bn))
                                continue;
                        r = write_blob(k, s, bn, d, err);
                        if (r < 0)
                                goto out;
                }
                yajl_gen_map_open(g);
                hutch_json_gen_kv_string(g, "mediaType", storage_manifest_media_type(man));
                hutch_json_gen_kv_string(g, "digest", img->manifest);
                hutch_json_gen_kv_int(g, "size", (long long) mlen);
                if (items[i].name) {
                        hutch_json_gen_string(g, "annotations");
                        yajl_gen_map_open(g);
                        hutch_json_gen_kv_string(g, STORAGE_ANNOTATION_REF_NAME, items[i].name);
                        yajl_gen_map_close(g);
                }
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
        text = hutch_json_gen_steal(g, &len);
        r = write_buf(k, "index.json", text, len, err);
out:
        yajl_gen_free(g);
        return r;
}

int storage_archive_write(struct storage_store *s, const struct storage_save_item *items, size_t n,
                          enum storage_archive_format format, int out_fd, const struct storage_save_progress *prog,
                          struct hutch_error **err)
{
        struct sink k = { .a = archive_write_new(), .dir_fd = -1, .prog = prog };
        int r;

        if (archive_write_set_format_pax_restricted(k.a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(k.a, 1) != ARCHIVE_OK ||
            archive_write_open_fd(k.a, out_fd) != ARCHIVE_OK) {
                r = storage_archive_fail(k.a, err, "write the archive");
                archive_write_free(k.a);
                return r;
        }
        r = format == STORAGE_ARCHIVE_OCI ? save_oci(&k, s, items, n, NULL, err) : save_docker(&k, s, items, n, err);
        if (r == 0 && archive_write_close(k.a) != ARCHIVE_OK)
                r = storage_archive_fail(k.a, err, "write the archive");
        archive_write_free(k.a);
        return r;
}

int storage_archive_save(struct storage_store *s, const struct storage_save_item *items, size_t n,
                         enum storage_archive_format format, int out_fd, struct hutch_error **err)
{
        return storage_archive_write(s, items, n, format, out_fd, NULL, err);
}

/* ---- OCI image layout directories ---- */

static int layout_update(struct storage_store *s, const struct storage_save_item *item, int dir_fd, const char *path,
                         const struct storage_save_progress *prog, struct hutch_error **err)
{
        struct sink k = { .dir_fd = dir_fd, .prog = prog };
        _cleanup_free_ char *buf = NULL;
        yajl_val root = NULL, v;
        const char *ver;
        size_t len;
        int r;

        r = hutch_read_file_at(dir_fd, "oci-layout", STORAGE_MANIFEST_MAX_BYTES, &buf, &len, err);
        if (r < 0)
                return hutch_error_prefix(err, "'%s' is not an OCI image layout", path);
        v = hutch_json_parse(buf, len, err);
        ver = v ? hutch_json_get_string(v, "imageLayoutVersion") : NULL;
        r = ver && STREQ(ver, "1.0.0") ? 0 : -EINVAL;
        yajl_tree_free(v);
        if (r < 0) {
                hutch_error_clear(err);
                return hutch_error_set(err, 0, "%s/oci-layout: not an OCI image layout 1.0.0", path);
        }
        free(buf);
        buf = NULL;
        r = hutch_read_file_at(dir_fd, "index.json", STORAGE_MANIFEST_MAX_BYTES, &buf, &len, err);
        if (r < 0)
                return hutch_error_prefix(err, "%s", path);
        root = hutch_json_parse(buf, len, err);
        if (root == NULL || !YAJL_IS_OBJECT(root) ||
            (hutch_json_get(root, "manifests") && !hutch_json_get_array(root, "manifests"))) {
                yajl_tree_free(root);
                hutch_error_clear(err);
                return hutch_error_set(err, 0, "%s/index.json: not an image index", path);
        }
        r = save_oci(&k, s, item, 1, hutch_json_get_array(root, "manifests"), err);
        yajl_tree_free(root);
        return r;
}

int storage_layout_save(struct storage_store *s, const struct storage_save_item *item, const char *path_in,
                        const struct storage_save_progress *prog, struct hutch_error **err)
{
        _cleanup_free_ char *tmp = NULL, *path = xstrdup(path_in);
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t len = strlen(path);
        int r;

        while (len > 1 && path[len - 1] == '/') /* "lay/": the temporary name is beside it */
                path[--len] = '\0';
        if (stat(path, &st) == 0) {
                if (!S_ISDIR(st.st_mode))
                        return hutch_error_set(err, 0, "'%s' exists and is not a directory", path);
                fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return hutch_error_set(err, errno, "open '%s'", path);
                if (faccessat(fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                        return layout_update(s, item, fd, path, prog, err);
                /* an empty directory: filled as a new layout below */
                if (!dir_is_empty(fd))
                        return hutch_error_set(
                                err, 0, "'%s' is not empty and not an OCI image layout (no oci-layout file)", path);
                (void) close(steal_fd(&fd));
        } else if (errno != ENOENT) {
                return hutch_error_set(err, errno, "'%s'", path);
        }
        /* A new layout appears whole or not at all. */
        tmp = xasprintf("%s.tmp-XXXXXX", path);
        if (mkdtemp(tmp) == NULL)
                return hutch_error_set(err, errno, "create '%s'", path);
        {
                mode_t um = umask(0);
                umask(um);
                (void) chmod(tmp, 0755 & ~um);
        }
        fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = hutch_error_set(err, errno, "open '%s'", tmp);
        } else {
                struct sink k = { .dir_fd = fd, .prog = prog };
                r = save_oci(&k, s, item, 1, NULL, err);
                if (r == 0 && syncfs(fd) < 0)
                        r = hutch_error_set(err, errno, "write '%s'", path);
                if (r == 0 && rename(tmp, path) < 0)
                        r = hutch_error_set(err, errno, "rename to '%s'", path);
        }
        if (r < 0)
                (void) hutch_rm_rf_at(AT_FDCWD, tmp);
        return r;
}

/* ---- dir: ---- */

static int dir_fill(struct sink *k, struct storage_store *s, const struct storage_image *img, struct hutch_error **err)
{
        static const char version[] = "Directory Transport Version: 1.1\n";
        _cleanup_free_ char *mbuf = NULL;
        size_t mlen;
        int r = 0;

        for (size_t j = 0; j <= img->n_layers && r == 0; j++) {
                const char *d = j < img->n_layers ? img->layers[j].blob : img->config;
                r = write_blob(k, s, storage_digest_hex(d), d, err);
        }
        if (r == 0)
                r = storage_blob_read(s, img->manifest, STORAGE_MANIFEST_MAX_BYTES, &mbuf, &mlen, err);
        if (r == 0)
                r = write_buf(k, "manifest.json", mbuf, mlen, err);
        if (r == 0)
                r = write_buf(k, "version", version, strlen(version), err);
        return r;
}

int storage_dir_save(struct storage_store *s, const struct storage_image *img, const char *path_in,
                     const struct storage_save_progress *prog, struct hutch_error **err)
{
        _cleanup_free_ char *tmp = NULL, *path = xstrdup(path_in);
        _cleanup_close_ int fd = -1;
        size_t len = strlen(path);
        bool replace = false;
        struct stat st;
        mode_t um;
        int r;

        while (len > 1 && path[len - 1] == '/')
                path[--len] = '\0';
        if (stat(path, &st) == 0) {
                if (!S_ISDIR(st.st_mode))
                        return hutch_error_set(err, 0, "'%s' exists and is not a directory", path);
                fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return hutch_error_set(err, errno, "open '%s'", path);
                replace = faccessat(fd, "version", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
                if (!replace && !dir_is_empty(fd))
                        return hutch_error_set(err, 0, "'%s' is not empty and not an image directory (no version file)",
                                               path);
                (void) close(steal_fd(&fd));
        } else if (errno != ENOENT) {
                return hutch_error_set(err, errno, "'%s'", path);
        }
        tmp = xasprintf("%s.tmp-XXXXXX", path);
        if (mkdtemp(tmp) == NULL)
                return hutch_error_set(err, errno, "create '%s'", path);
        um = umask(0);
        umask(um);
        (void) chmod(tmp, 0755 & ~um);
        fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = hutch_error_set(err, errno, "open '%s'", tmp);
        } else {
                struct sink k = { .dir_fd = fd, .prog = prog };
                r = dir_fill(&k, s, img, err);
                if (r == 0 && syncfs(fd) < 0)
                        r = hutch_error_set(err, errno, "write '%s'", path);
        }
        /* an image directory already there is swapped for the new one whole */
        if (r == 0 && replace && syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, 2 /* RENAME_EXCHANGE */) < 0)
                r = hutch_error_set(err, errno, "replace '%s'", path);
        else if (r == 0 && !replace && rename(tmp, path) < 0)
                r = hutch_error_set(err, errno, "rename to '%s'", path);
        if (r < 0 || replace)
                (void) hutch_rm_rf_at(AT_FDCWD, tmp);
        return r;
}

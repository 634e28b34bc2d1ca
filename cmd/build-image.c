/* `hutch build`'s images and cache; see build-image.h. */
#include "config.h"

#include "cmd/build-image.h"
#include "cmd/cmd-storage.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/archive.h"
#include "storage/images.h"
#include "storage/manifest.h"
#include "storage/reference.h"
#include "storage/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CACHE_DIR "build-cache"

static int find_record(struct storage_store *s, const char *id, struct storage_images *imgs, struct hutch_error **err)
{
        int r = storage_images_read(s, imgs, err);
        if (r < 0)
                return r;
        int k = storage_images_find_id(imgs, id);
        if (k < 0)
                return hutch_error_set(err, ENOENT, "image %.12s is no longer in the store", id);
        return k;
}

bool build_image_exists(struct storage_store *s, const char *id)
{
        struct storage_images imgs = { 0 };
        struct hutch_error *e = NULL;
        int k = find_record(s, id, &imgs, &e);
        hutch_error_free(e);
        storage_images_clear(&imgs);
        return k >= 0;
}

int build_image_config_load(struct storage_store *s, const char *id, struct storage_image_config **ret,
                            struct hutch_error **err)
{
        struct storage_images imgs = { 0 };
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int k = find_record(s, id, &imgs, err);

        if (k >= 0 && storage_blob_read(s, imgs.v[k].config, STORAGE_CONFIG_MAX_BYTES, &buf, &len, err) >= 0 &&
            storage_config_parse(buf, len, ret, err) >= 0)
                k = 0;
        else if (k >= 0)
                k = hutch_error_prefix(err, "the config of image %.12s", id);
        storage_images_clear(&imgs);
        return k;
}

/* OCI media types for the layers of our OCI manifest (same bytes). */
static const char *oci_layer_type(const char *t)
{
        if (t == NULL || STREQ(t, STORAGE_MEDIA_DOCKER_LAYER_GZIP))
                return STORAGE_MEDIA_OCI_LAYER_GZIP;
        if (STREQ(t, STORAGE_MEDIA_DOCKER_LAYER))
                return STORAGE_MEDIA_OCI_LAYER;
        return t;
}

int build_image_derive(struct storage_store *s, const char *id, struct storage_image_config *cfg,
                       const char *created_by, char ret_id[STORAGE_DIGEST_HEX_LEN + 1], struct hutch_error **err)
{
        struct storage_images imgs = { 0 };
        struct storage_image img = { 0 };
        struct storage_descriptor cdesc = { 0 };
        _cleanup_free_ struct storage_descriptor *descs = NULL;
        _cleanup_free_ char *created = storage_now_rfc3339(), *config = NULL, *manifest = NULL;
        size_t clen, mlen;
        int r, k;

        k = find_record(s, id, &imgs, err);
        if (k < 0) {
                r = k;
                goto out;
        }
        const struct storage_image *base = &imgs.v[k];
        free(cfg->created);
        cfg->created = xstrdup(created);
        if (created_by)
                storage_config_add_history(cfg, created, created_by, NULL, NULL, true);
        config = storage_config_generate(cfg, &clen);
        r = storage_blob_put(s, config, clen, cdesc.digest, err);
        if (r < 0)
                goto out;
        cdesc.media_type = (char *) STORAGE_MEDIA_OCI_CONFIG;
        cdesc.size = (int64_t) clen;
        descs = xcalloc(base->n_layers + 1, sizeof(*descs));
        for (size_t i = 0; i < base->n_layers; i++) {
                descs[i].media_type = (char *) oci_layer_type(base->layers[i].media_type);
                memcpy(descs[i].digest, base->layers[i].blob, STORAGE_DIGEST_BUFSIZE);
                descs[i].size = base->layers[i].blob_size;
        }
        manifest = storage_manifest_generate(&cdesc, descs, base->n_layers, &mlen);
        r = storage_blob_put(s, manifest, mlen, img.manifest, err);
        if (r < 0)
                goto out;
        memcpy(img.config, cdesc.digest, STORAGE_DIGEST_BUFSIZE);
        memcpy(img.id, storage_digest_hex(cdesc.digest), sizeof(img.id));
        img.config_size = (int64_t) clen;
        img.manifest_size = (int64_t) mlen;
        img.names = xcalloc(1, sizeof(char *));
        img.loaded = (int64_t) time(NULL);
        img.created = xstrdup(created);
        img.layers = xcalloc(base->n_layers + 1, sizeof(*img.layers));
        for (size_t i = 0; i < base->n_layers; i++) {
                img.layers[i] = base->layers[i];
                img.layers[i].media_type = xstrdup(descs[i].media_type);
        }
        img.n_layers = base->n_layers;
        r = storage_images_record(s, &img, 1, err);
        if (r >= 0)
                memcpy(ret_id, img.id, STORAGE_DIGEST_HEX_LEN + 1);
out:
        storage_image_clear(&img);
        storage_images_clear(&imgs);
        return r;
}

struct scratch_result {
        int status;
        char id[STORAGE_DIGEST_HEX_LEN + 1];
        char msg[512];
};

struct scratch_job {
        int fd;
        struct scratch_result *res;
};

static int scratch_in_userns(void *p)
{
        struct scratch_job *j = p;
        struct hutch_error *err = NULL;
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *cfg = xzalloc(sizeof(*cfg));
        struct storage_image img = { 0 };
        int r;

        cfg->os = xstrdup("linux");
        cfg->architecture = xstrdup(storage_host_arch());
        r = cmd_storage_open(STORAGE_STORE_WRITE, &s, &err);
        if (r >= 0)
                r = storage_archive_import(s, j->fd, cfg, NULL, NULL, &img, &err);
        if (r < 0) {
                snprintf(j->res->msg, sizeof(j->res->msg), "%s", err && err->msg ? err->msg : "failed");
                hutch_error_free(err);
                return 125;
        }
        memcpy(j->res->id, img.id, sizeof(j->res->id));
        j->res->status = 0;
        storage_image_clear(&img);
        return 0;
}

int build_image_scratch(char ret_id[STORAGE_DIGEST_HEX_LEN + 1], struct hutch_error **err)
{
        static const char empty_tar[1024];
        int p[2];
        int r;

        struct scratch_result *res =
                mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (res == MAP_FAILED)
                return hutch_error_set(err, errno, "mmap");
        *res = (struct scratch_result){ .status = EIO };
        if (pipe2(p, O_CLOEXEC) < 0) {
                (void) munmap(res, sizeof(*res));
                return hutch_error_set(err, errno, "pipe");
        }
        /* 1 KiB fits in a pipe: no writer process needed */
        r = hutch_write_all(p[1], empty_tar, sizeof(empty_tar));
        (void) close(p[1]);
        if (r < 0) {
                (void) close(p[0]);
                (void) munmap(res, sizeof(*res));
                return hutch_error_set(err, -r, "pipe");
        }
        struct scratch_job j = { .fd = p[0], .res = res };
        r = cmd_storage_in_userns(scratch_in_userns, &j, false, err);
        (void) close(p[0]);
        if (r >= 0 && res->status != 0)
                r = hutch_error_set(err, 0, "FROM scratch: %s", res->msg[0] ? res->msg : "the empty base failed");
        else if (r == 0)
                memcpy(ret_id, res->id, STORAGE_DIGEST_HEX_LEN + 1);
        (void) munmap(res, sizeof(*res));
        return r;
}

int build_image_tag(struct storage_store *s, const char *id, char *const *names, struct hutch_error **err)
{
        _cleanup_close_ int lock = storage_store_lock_records(s, err);
        struct storage_images imgs = { 0 };
        int r;

        if (lock < 0)
                return lock;
        r = storage_images_read(s, &imgs, err);
        if (r < 0)
                return r;
        int k = storage_images_find_id(&imgs, id);
        if (k < 0) {
                storage_images_clear(&imgs);
                return hutch_error_set(err, ENOENT, "image %.12s is no longer in the store", id);
        }
        for (size_t i = 0; names && names[i]; i++)
                storage_images_set_name(&imgs, (size_t) k, names[i]);
        r = storage_images_write(s, &imgs, err);
        storage_images_clear(&imgs);
        return r;
}

static int cache_dir(struct storage_store *s, bool create)
{
        if (create && mkdirat(s->root_fd, CACHE_DIR, 0700) < 0 && errno != EEXIST)
                return -errno;
        int fd = openat(s->root_fd, CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int build_cache_get(struct storage_store *s, const char *key_hex, char ret_id[STORAGE_DIGEST_HEX_LEN + 1])
{
        _cleanup_close_ int dir = cache_dir(s, false);
        _cleanup_free_ char *buf = NULL;
        size_t len;
        struct hutch_error *e = NULL;

        if (dir < 0)
                return -ENOENT;
        if (hutch_read_file_at(dir, key_hex, 256, &buf, &len, &e) < 0) {
                hutch_error_free(e);
                return -ENOENT;
        }
        while (len > 0 && buf[len - 1] == '\n')
                len--;
        if (!storage_digest_hex_valid_n(buf, len) || (buf[len] = '\0', !build_image_exists(s, buf))) {
                /* its image was removed: the entry is stale */
                (void) unlinkat(dir, key_hex, 0);
                return -ENOENT;
        }
        memcpy(ret_id, buf, STORAGE_DIGEST_HEX_LEN + 1);
        return 0;
}

void build_cache_put(struct storage_store *s, const char *key_hex, const char *id, const char *parent)
{
        _cleanup_close_ int dir = cache_dir(s, true);
        _cleanup_free_ char *line = xasprintf("%s\n", id), *pline = xasprintf("%s\n", parent);
        _cleanup_free_ char *pname = xasprintf("p-%s", id);
        struct hutch_error *e = NULL;

        /* only a cache: on failure the next build redoes the step */
        if (dir < 0 || hutch_write_file_atomic(dir, key_hex, line, strlen(line), 0600, &e) < 0)
                hutch_error_free(e);
        else if (storage_digest_hex_valid_n(parent, strlen(parent)) &&
                 hutch_write_file_atomic(dir, pname, pline, strlen(pline), 0600, &e) < 0)
                hutch_error_free(e);
}

char **build_cache_parents(struct storage_store *s, const struct storage_images *imgs)
{
        int dir = cache_dir(s, false);
        char **out = NULL;

        if (dir < 0)
                return NULL;
        DIR *d = fdopendir(dir);
        if (!d) {
                (void) close(dir);
                return NULL;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                _cleanup_free_ char *buf = NULL;
                struct hutch_error *e = NULL;
                size_t len;
                if (strncmp(de->d_name, "p-", 2) != 0 || storage_images_find_id(imgs, de->d_name + 2) < 0)
                        continue;
                if (hutch_read_file_at(dirfd(d), de->d_name, 256, &buf, &len, &e) < 0) {
                        hutch_error_free(e);
                        continue;
                }
                while (len > 0 && buf[len - 1] == '\n')
                        buf[--len] = '\0';
                if (storage_digest_hex_valid_n(buf, len))
                        hutch_strv_append(&out, buf);
        }
        (void) closedir(d);
        return out;
}

void cmd_build_cache_prune(struct storage_store *s)
{
        int dir = cache_dir(s, false);
        struct storage_images imgs = { 0 };
        struct hutch_error *e = NULL;

        if (dir < 0)
                return;
        DIR *d = fdopendir(dir);
        if (!d) {
                (void) close(dir);
                return;
        }
        if (storage_images_read(s, &imgs, &e) < 0) {
                hutch_error_free(e);
                (void) closedir(d);
                return;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                struct stat st;
                /* a write a killed build left (hutch_write_file_atomic's
                 * ".tmp-" name): old enough to be nobody's any more */
                if (strncmp(de->d_name, ".tmp-", 5) == 0 &&
                    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < time(NULL) - 3600)
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *buf = NULL;
                size_t len;
                bool stale = true;
                if (hutch_read_file_at(dirfd(d), de->d_name, 256, &buf, &len, &e) == 0) {
                        while (len > 0 && buf[len - 1] == '\n')
                                buf[--len] = '\0';
                        stale = !storage_digest_hex_valid_n(buf, len) || storage_images_find_id(&imgs, buf) < 0;
                        /* p-<child>: stale once the child is gone */
                        if (strncmp(de->d_name, "p-", 2) == 0)
                                stale = stale || storage_images_find_id(&imgs, de->d_name + 2) < 0;
                }
                hutch_error_clear(&e);
                if (stale)
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        storage_images_clear(&imgs);
        (void) closedir(d);
}

/* Image records (see images.h). */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/reference.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORDS "images.json"

void storage_image_clear(struct storage_image *img)
{
        hutch_strv_free(img->names);
        free(img->created);
        for (size_t i = 0; i < img->n_layers; i++)
                free(img->layers[i].media_type);
        free(img->layers);
        *img = (struct storage_image){ 0 };
}

void storage_images_clear(struct storage_images *imgs)
{
        for (size_t i = 0; i < imgs->n; i++)
                storage_image_clear(&imgs->v[i]);
        free(imgs->v);
        *imgs = (struct storage_images){ 0 };
}

void storage_image_copy(const struct storage_image *src, struct storage_image *dst)
{
        *dst = *src;
        dst->names = hutch_strv_copy(src->names);
        if (dst->names == NULL)
                dst->names = xcalloc(1, sizeof(char *));
        dst->created = src->created ? xstrdup(src->created) : NULL;
        dst->layers = xcalloc(src->n_layers ? src->n_layers : 1, sizeof(*dst->layers));
        for (size_t i = 0; i < src->n_layers; i++) {
                dst->layers[i] = src->layers[i];
                dst->layers[i].media_type = xstrdup(src->layers[i].media_type);
        }
}

int64_t storage_image_size(const struct storage_image *img)
{
        int64_t sum = 0;
        for (size_t i = 0; i < img->n_layers; i++)
                sum += img->layers[i].size;
        return sum;
}

static bool hex_only(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static int copy_digest(yajl_val obj, const char *key, char ret[STORAGE_DIGEST_BUFSIZE])
{
        const char *s = hutch_json_get_string(obj, key);
        if (s == NULL || !storage_digest_valid(s))
                return -EINVAL;
        memcpy(ret, s, STORAGE_DIGEST_BUFSIZE);
        return 0;
}

static int parse_record(yajl_val v, struct storage_image *img)
{
        const char *id = hutch_json_get_string(v, "id");
        const char *created = hutch_json_get_string(v, "created");
        yajl_val names = hutch_json_get_array(v, "names"), layers = hutch_json_get_array(v, "layers");

        if (id == NULL || strlen(id) != STORAGE_DIGEST_HEX_LEN || !hex_only(id, STORAGE_DIGEST_HEX_LEN) || !names ||
            !layers || layers->u.array.len > 4096)
                return -EINVAL;
        memcpy(img->id, id, sizeof(img->id));
        if (copy_digest(v, "config", img->config) < 0 || copy_digest(v, "manifest", img->manifest) < 0 ||
            !STREQ(storage_digest_hex(img->config), img->id))
                return -EINVAL;
        if (hutch_json_get_int(v, "config_size", &img->config_size) < 0 ||
            hutch_json_get_int(v, "manifest_size", &img->manifest_size) < 0 ||
            hutch_json_get_int(v, "loaded", &img->loaded) < 0)
                return -EINVAL;
        img->created = created ? xstrdup(created) : NULL;
        img->names = xcalloc(names->u.array.len + 1, sizeof(char *));
        for (size_t i = 0; i < names->u.array.len; i++) {
                yajl_val n = names->u.array.values[i];
                if (!YAJL_IS_STRING(n))
                        return -EINVAL;
                img->names[i] = xstrdup(n->u.string);
        }
        img->layers = xcalloc(layers->u.array.len ? layers->u.array.len : 1, sizeof(*img->layers));
        for (size_t i = 0; i < layers->u.array.len; i++) {
                yajl_val l = layers->u.array.values[i];
                struct storage_image_layer *L = &img->layers[i];
                const char *mt = hutch_json_get_string(l, "media_type");
                if (copy_digest(l, "chain_id", L->chain_id) < 0 || copy_digest(l, "diff_id", L->diff_id) < 0 ||
                    copy_digest(l, "blob", L->blob) < 0 || mt == NULL ||
                    hutch_json_get_int(l, "blob_size", &L->blob_size) < 0 ||
                    hutch_json_get_int(l, "size", &L->size) < 0)
                        return -EINVAL;
                L->media_type = xstrdup(mt);
                img->n_layers++;
        }
        return 0;
}

/* The records in root's "images" list; with salvage, invalid records are
 * skipped (and counted in *ret_dropped) instead of failing the whole list. */
static int parse_list(yajl_val root, bool salvage, struct storage_images *ret, size_t *ret_dropped)
{
        yajl_val list = hutch_json_get_array(root, "images");
        struct storage_images imgs = { 0 };
        size_t dropped = 0;

        if (list == NULL)
                return -EINVAL;
        imgs.v = xcalloc(list->u.array.len ? list->u.array.len : 1, sizeof(*imgs.v));
        for (size_t i = 0; i < list->u.array.len; i++) {
                if (parse_record(list->u.array.values[i], &imgs.v[imgs.n]) < 0) {
                        storage_image_clear(&imgs.v[imgs.n]);
                        if (!salvage) {
                                storage_images_clear(&imgs);
                                return -(int) i - 2; /* which record: -2 is the first */
                        }
                        dropped++;
                        continue;
                }
                imgs.n++;
        }
        *ret = imgs;
        if (ret_dropped)
                *ret_dropped = dropped;
        return 0;
}

int storage_images_parse(const char *buf, size_t len, struct storage_images *ret, struct hutch_error **err)
{
        yajl_val root = hutch_json_parse(buf, len, err);
        int r;

        if (root == NULL)
                return -EUCLEAN;
        r = parse_list(root, false, ret, NULL);
        yajl_tree_free(root);
        if (r == -EINVAL)
                hutch_error_set(err, 0, "no 'images' list");
        else if (r < 0)
                hutch_error_set(err, 0, "record %d is invalid", -r - 2);
        return r < 0 ? -EUCLEAN : 0;
}

/* The names listed in the text from p on ("names": [ "a", "b" ]): what
 * can still be told of records the parser could not keep. */
static void scan_names(const char *p, const char *end, char ***ret)
{
        static const char key[] = "\"names\"";

        while ((p = memmem(p, (size_t) (end - p), key, sizeof(key) - 1)) != NULL) {
                p += sizeof(key) - 1;
                while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == ':' || *p == '\r'))
                        p++;
                if (p >= end || *p != '[')
                        continue;
                for (p++; p < end && *p != ']';) {
                        const char *q;
                        if (*p != '"') {
                                p++;
                                continue;
                        }
                        q = ++p;
                        while (q < end && *q != '"' && *q != '\\' && *q > ' ' && (unsigned char) *q < 0x7f)
                                q++;
                        if (q < end && *q == '"' && q > p && q - p < 512) {
                                _cleanup_free_ char *name = xstrndup(p, (size_t) (q - p));
                                if (!hutch_strv_contains(*ret, name))
                                        hutch_strv_append(ret, name);
                        }
                        p = q < end ? q + 1 : end;
                }
        }
}

size_t storage_images_salvage(const char *buf, size_t len, struct storage_images *ret, char ***ret_lost_names)
{
        static const char close_list[] = "]}";
        _cleanup_free_ char *text = xmalloc(len + sizeof(close_list));
        struct storage_images imgs = { 0 };
        size_t dropped = 0, cut = 0;
        yajl_val root;
        int attempts = 0;

        /* Whole but with bad records: keep the good ones. */
        root = hutch_json_parse(buf, len, NULL);
        if (root) {
                if (parse_list(root, true, &imgs, &dropped) == 0 && dropped == 0) {
                        /* nothing to salvage: it parses */
                        yajl_tree_free(root);
                        *ret = imgs;
                        return 0;
                }
                yajl_tree_free(root);
                if (imgs.v == NULL)
                        goto nothing;
                *ret = imgs;
                /* names of the dropped records cannot be told apart from the kept ones' */
                return dropped;
        }
        /* Cut short (a full disk, a crash of the filesystem, someone's
         * truncate): the records written before the cut are whole.  Close
         * the list after each "}" from the end until the text parses. */
        memcpy(text, buf, len);
        for (size_t i = len; i > 0 && attempts < 4096; i--) {
                if (buf[i - 1] != '}')
                        continue;
                attempts++;
                memcpy(text + i, close_list, sizeof(close_list));
                root = hutch_json_parse(text, i + sizeof(close_list) - 1, NULL);
                if (root == NULL)
                        continue;
                if (parse_list(root, true, &imgs, &dropped) == 0) {
                        yajl_tree_free(root);
                        cut = i;
                        break;
                }
                yajl_tree_free(root);
        }
nothing:
        if (imgs.v == NULL)
                imgs.v = xcalloc(1, sizeof(*imgs.v));
        scan_names(buf + cut, buf + len, ret_lost_names);
        /* names the kept records still have are not lost */
        for (size_t i = 0; i < imgs.n && *ret_lost_names; i++)
                for (char **n = imgs.v[i].names; *n; n++)
                        while (hutch_strv_contains(*ret_lost_names, *n)) {
                                char **v = *ret_lost_names;
                                size_t k = 0;
                                while (!STREQ(v[k], *n))
                                        k++;
                                free(v[k]);
                                memmove(v + k, v + k + 1, (hutch_strv_length(v) - k) * sizeof(char *));
                        }
        *ret = imgs;
        return dropped + 1;
}

int storage_images_read(struct storage_store *s, struct storage_images *ret, struct hutch_error **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        if (faccessat(s->images_fd, RECORDS, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                *ret = (struct storage_images){ 0 }; /* no image yet */
                return 0;
        }
        r = hutch_read_file_at(s->images_fd, RECORDS, STORAGE_IMAGES_MAX_BYTES, &buf, &len, err);
        if (r < 0)
                return hutch_error_prefix(err, "image records");
        r = storage_images_parse(buf, len, ret, err);
        if (r < 0)
                return hutch_error_prefix(err,
                                          "image records '%s/images/%s' are damaged ('hutch system check --repair' "
                                          "keeps what is whole)",
                                          s->root, RECORDS);
        return 0;
}

int storage_images_write(struct storage_store *s, const struct storage_images *imgs, struct hutch_error **err)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_map_open(g);
        hutch_json_gen_string(g, "images");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < imgs->n; i++) {
                const struct storage_image *img = &imgs->v[i];
                yajl_gen_map_open(g);
                hutch_json_gen_kv_string(g, "id", img->id);
                hutch_json_gen_kv_string(g, "config", img->config);
                hutch_json_gen_kv_int(g, "config_size", img->config_size);
                hutch_json_gen_kv_string(g, "manifest", img->manifest);
                hutch_json_gen_kv_int(g, "manifest_size", img->manifest_size);
                hutch_json_gen_string(g, "names");
                yajl_gen_array_open(g);
                for (char **n = img->names; n && *n; n++)
                        hutch_json_gen_string(g, *n);
                yajl_gen_array_close(g);
                hutch_json_gen_kv_string(g, "created", img->created);
                hutch_json_gen_kv_int(g, "loaded", img->loaded);
                hutch_json_gen_string(g, "layers");
                yajl_gen_array_open(g);
                for (size_t j = 0; j < img->n_layers; j++) {
                        const struct storage_image_layer *L = &img->layers[j];
                        yajl_gen_map_open(g);
                        hutch_json_gen_kv_string(g, "chain_id", L->chain_id);
                        hutch_json_gen_kv_string(g, "diff_id", L->diff_id);
                        hutch_json_gen_kv_string(g, "blob", L->blob);
                        hutch_json_gen_kv_string(g, "media_type", L->media_type);
                        hutch_json_gen_kv_int(g, "blob_size", L->blob_size);
                        hutch_json_gen_kv_int(g, "size", L->size);
                        yajl_gen_map_close(g);
                }
                yajl_gen_array_close(g);
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
        text = hutch_json_gen_steal(g, &len);
        yajl_gen_free(g);
        r = hutch_write_file_atomic(s->images_fd, RECORDS, text, len, 0600, err);
        if (r < 0)
                return hutch_error_prefix(err, "image records");
        return 0;
}

int storage_images_find_id(const struct storage_images *imgs, const char *id)
{
        for (size_t i = 0; i < imgs->n; i++)
                if (STREQ(imgs->v[i].id, id))
                        return (int) i;
        return -1;
}

/* -ENOENT: no ID starts so; -EEXIST: several do. */
static int find_id_prefix(const struct storage_images *imgs, const char *hex, size_t n)
{
        int found = -ENOENT;

        for (size_t i = 0; i < imgs->n; i++)
                if (strncmp(imgs->v[i].id, hex, n) == 0) {
                        if (found >= 0)
                                return -EEXIST;
                        found = (int) i;
                }
        return found;
}

/* "domain/path:tag" matches a short "path:tag" when its path is path or
 * ends in "/path". */
static bool short_name_matches(const char *stored, const char *path, const char *tag)
{
        _cleanup_free_ char *repo = NULL, *stag = NULL;
        const char *slash;
        size_t rl, pl = strlen(path);

        storage_reference_split(stored, &repo, &stag);
        if (!STREQ(stag, tag))
                return false;
        slash = strchr(repo, '/');
        if (slash == NULL)
                return false;
        rl = strlen(slash + 1);
        return (rl == pl && STREQ(slash + 1, path)) ||
               (rl > pl && repo[strlen(repo) - pl - 1] == '/' && STREQ(repo + strlen(repo) - pl, path));
}

int storage_images_find(const struct storage_images *imgs, const char *ref, struct hutch_error **err)
{
        struct storage_reference r = { 0 };
        _cleanup_free_ char *full = NULL, *repo = NULL;
        size_t n = ref ? strlen(ref) : 0;
        int found = -1, k;

        if (n == 0)
                return hutch_error_set(err, 0, "empty image name");
        if (strncmp(ref, "sha256:", 7) == 0 && n > 7 && n <= 7 + STORAGE_DIGEST_HEX_LEN && hex_only(ref + 7, n - 7)) {
                k = find_id_prefix(imgs, ref + 7, n - 7);
                if (k == -EEXIST)
                        return hutch_error_set(err, 0, "image ID '%s' is ambiguous: give more digits", ref);
                if (k < 0) {
                        hutch_error_set(err, 0, "image '%s' not known", ref);
                        return -ENOENT;
                }
                return k;
        }
        if (n >= 3 && n <= STORAGE_DIGEST_HEX_LEN && hex_only(ref, n)) {
                k = find_id_prefix(imgs, ref, n);
                if (k == -EEXIST)
                        return hutch_error_set(err, 0, "image ID '%s' is ambiguous: give more digits", ref);
                if (k >= 0)
                        return k;
        }
        if (storage_reference_parse(ref, &r, err) < 0)
                return -EINVAL;
        repo = storage_reference_repository(&r);
        if (r.tag)
                full = xasprintf("%s:%s", repo, r.tag);
        for (size_t i = 0; i < imgs->n && found < 0; i++) {
                const struct storage_image *img = &imgs->v[i];
                if (r.digest && !STREQ(img->manifest, r.digest))
                        continue;
                for (char **nm = img->names; nm && *nm; nm++) {
                        _cleanup_free_ char *nrepo = NULL, *ntag = NULL;
                        storage_reference_split(*nm, &nrepo, &ntag);
                        if ((full && STREQ(*nm, full)) || (r.digest && r.tag == NULL && STREQ(nrepo, repo))) {
                                found = (int) i;
                                break;
                        }
                }
        }
        if (found < 0 && r.short_name && r.tag) {
                for (size_t i = 0; i < imgs->n; i++) {
                        const struct storage_image *img = &imgs->v[i];
                        if (r.digest && !STREQ(img->manifest, r.digest))
                                continue;
                        for (char **nm = img->names; nm && *nm; nm++)
                                if (short_name_matches(*nm, r.path, r.tag)) {
                                        if (found >= 0 && found != (int) i) {
                                                storage_reference_clear(&r);
                                                return hutch_error_set(
                                                        err, EINVAL,
                                                        "image name '%s' is ambiguous: it matches '%s' and '%s'; give "
                                                        "the full name",
                                                        ref, imgs->v[found].names[0], *nm);
                                        }
                                        found = (int) i;
                                }
                }
        }
        storage_reference_clear(&r);
        if (found < 0) {
                hutch_error_set(err, 0, "image '%s' not known", ref);
                return -ENOENT;
        }
        return found;
}

const char *storage_images_matched_name(const struct storage_image *img, const char *ref)
{
        struct storage_reference r = { 0 };
        struct hutch_error *e = NULL;
        const char *found = NULL;
        size_t n = strlen(ref);

        if (strncmp(ref, "sha256:", 7) == 0 ||
            (n >= 3 && n <= STORAGE_DIGEST_HEX_LEN && hex_only(ref, n) && strncmp(img->id, ref, n) == 0))
                return NULL;
        if (storage_reference_parse(ref, &r, &e) < 0) {
                hutch_error_free(e);
                return NULL;
        }
        if (r.digest) {
                storage_reference_clear(&r);
                return NULL;
        }
        if (r.tag) {
                _cleanup_free_ char *full = xasprintf("%s/%s:%s", r.domain, r.path, r.tag);
                for (char **nm = img->names; nm && *nm && !found; nm++)
                        if (STREQ(*nm, full))
                                found = *nm;
                for (char **nm = img->names; nm && *nm && !found && r.short_name; nm++)
                        if (short_name_matches(*nm, r.path, r.tag))
                                found = *nm;
        }
        storage_reference_clear(&r);
        if (found == NULL && img->names)
                found = img->names[0];
        return found;
}

void storage_images_set_name(struct storage_images *imgs, size_t idx, const char *name)
{
        for (size_t i = 0; i < imgs->n; i++)
                if (i != idx)
                        (void) storage_images_drop_name(imgs, i, name);
        if (!hutch_strv_contains(imgs->v[idx].names, name))
                hutch_strv_append(&imgs->v[idx].names, name);
}

bool storage_images_drop_name(struct storage_images *imgs, size_t idx, const char *name)
{
        char **v = imgs->v[idx].names;
        size_t n = hutch_strv_length(v);

        for (size_t i = 0; i < n; i++)
                if (STREQ(v[i], name)) {
                        free(v[i]);
                        memmove(v + i, v + i + 1, (n - i) * sizeof(char *));
                        return true;
                }
        return false;
}

size_t storage_images_add(struct storage_images *imgs, const struct storage_image *img)
{
        int k = storage_images_find_id(imgs, img->id);
        size_t idx;

        if (k < 0) {
                imgs->v = xreallocarray(imgs->v, imgs->n + 1, sizeof(*imgs->v));
                storage_image_copy(img, &imgs->v[imgs->n]);
                /* names are moved below, so that they leave other images */
                hutch_strv_free(imgs->v[imgs->n].names);
                imgs->v[imgs->n].names = xcalloc(1, sizeof(char *));
                idx = imgs->n++;
        } else {
                idx = (size_t) k;
        }
        for (char **n = img->names; n && *n; n++)
                storage_images_set_name(imgs, idx, *n);
        return idx;
}

void storage_images_delete(struct storage_images *imgs, size_t idx)
{
        storage_image_clear(&imgs->v[idx]);
        memmove(imgs->v + idx, imgs->v + idx + 1, (imgs->n - idx - 1) * sizeof(*imgs->v));
        imgs->n--;
}

bool storage_images_use_layer(const struct storage_images *imgs, const char *hex)
{
        for (size_t i = 0; i < imgs->n; i++)
                for (size_t j = 0; j < imgs->v[i].n_layers; j++)
                        if (STREQ(storage_digest_hex(imgs->v[i].layers[j].chain_id), hex))
                                return true;
        return false;
}

bool storage_images_use_blob(const struct storage_images *imgs, const char *hex)
{
        for (size_t i = 0; i < imgs->n; i++) {
                const struct storage_image *img = &imgs->v[i];
                if (STREQ(img->id, hex) || STREQ(storage_digest_hex(img->manifest), hex))
                        return true;
                for (size_t j = 0; j < img->n_layers; j++)
                        if (STREQ(storage_digest_hex(img->layers[j].blob), hex))
                                return true;
        }
        return false;
}

static int sweep(int dirfd, const struct storage_images *imgs,
                 bool (*keep)(const struct storage_images *, const char *), const char *what, struct hutch_error **err)
{
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_dir_ DIR *d = NULL;
        struct dirent *de;
        int removed = 0, r;

        if (fd < 0 || (d = fdopendir(fd)) == NULL) {
                r = errno;
                if (fd >= 0)
                        (void) close(fd);
                return hutch_error_set(err, r, "list %s", what);
        }
        while ((de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.' || keep(imgs, de->d_name))
                        continue;
                log_debug("removing unused %s '%s'", what, de->d_name);
                if (de->d_type == DT_DIR) {
                        /* Out of sight first: a removal cut short must never
                         * leave a half-empty tree under a layer's name. */
                        _cleanup_free_ char *tmp =
                                xasprintf("%s.tmp-gc%04x", de->d_name, (unsigned) (random() & 0xffff));
                        if (renameat(dirfd, de->d_name, dirfd, tmp) < 0) {
                                if (errno == ENOENT)
                                        continue; /* seen again after we renamed it */
                                return hutch_error_set(err, errno, "remove %s '%s'", what, de->d_name);
                        }
                        r = hutch_rm_rf_at(dirfd, tmp);
                } else {
                        r = hutch_rm_rf_at(dirfd, de->d_name);
                }
                if (r < 0)
                        return hutch_error_set(err, -r, "remove %s '%s'", what, de->d_name);
                removed++;
        }
        return removed;
}

int storage_images_gc(struct storage_store *s, struct hutch_error **err)
{
        struct storage_images imgs = { 0 };
        _cleanup_close_ int lock = -1;
        int r, removed;

        r = storage_store_lock_exclusive(s, false, err);
        if (r <= 0)
                return r;
        storage_store_clean_leftovers(s);
        lock = storage_store_lock_records(s, err);
        if (lock < 0)
                return lock;
        r = storage_images_read(s, &imgs, err);
        if (r < 0)
                return r;
        removed = sweep(s->layers_fd, &imgs, storage_images_use_layer, "layer", err);
        if (removed >= 0)
                r = sweep(s->blobs_fd, &imgs, storage_images_use_blob, "blob", err);
        storage_images_clear(&imgs);
        if (removed < 0)
                return removed;
        if (r < 0)
                return r;
        return removed;
}

int storage_images_record(struct storage_store *s, const struct storage_image *imgs, size_t n, struct hutch_error **err)
{
        _cleanup_close_ int lock = storage_store_lock_records(s, err);
        struct storage_images cur = { 0 };
        int r;

        if (lock < 0)
                return lock;
        r = storage_images_read(s, &cur, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                (void) storage_images_add(&cur, &imgs[i]);
        r = storage_images_write(s, &cur, err);
        storage_images_clear(&cur);
        return r;
}

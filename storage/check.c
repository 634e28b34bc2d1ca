/* Checking and repairing the store (see check.h). */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/check.h"
#include "storage/containers.h"
#include "storage/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORDS "images.json"

/* What hashing a blob found (full checks only), once per blob. */
struct blob_hash {
        char hex[STORAGE_DIGEST_HEX_LEN + 1];
        char got[STORAGE_DIGEST_BUFSIZE]; /* "" when it could not be read */
};

struct check {
        struct storage_store *s;
        const struct storage_check_options *o;
        struct storage_check_report *rep;
        struct blob_hash *hashes;
        size_t n_hashes;
};

static struct storage_check_problem *add_problem(struct storage_check_report *rep, enum storage_check_kind kind,
                                                 char *what, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static struct storage_check_problem *add_problem(struct storage_check_report *rep, enum storage_check_kind kind,
                                                 char *what, const char *fmt, ...)
{
        struct storage_check_problem *p;
        va_list ap;

        rep->v = xreallocarray(rep->v, rep->n + 1, sizeof(*rep->v));
        p = &rep->v[rep->n++];
        *p = (struct storage_check_problem){ .kind = kind, .what = what };
        va_start(ap, fmt);
        if (vasprintf(&p->why, fmt, ap) < 0)
                abort();
        va_end(ap);
        return p;
}

void storage_check_report_clear(struct storage_check_report *r)
{
        for (size_t i = 0; i < r->n; i++) {
                free(r->v[i].what);
                free(r->v[i].why);
        }
        free(r->v);
        hutch_strv_free(r->removed);
        *r = (struct storage_check_report){ 0 };
}

size_t storage_check_report_unrepaired(const struct storage_check_report *r)
{
        size_t n = 0;
        for (size_t i = 0; i < r->n; i++)
                n += !r->v[i].repaired;
        return n;
}

static char *image_label(const struct storage_image *img)
{
        return xasprintf("image %s (%.12s)", img->names && img->names[0] ? img->names[0] : "<none>", img->id);
}

static const struct blob_hash *hash_blob(struct check *c, const char *hex)
{
        struct hutch_error *e = NULL;
        struct blob_hash *h;

        for (size_t i = 0; i < c->n_hashes; i++)
                if (STREQ(c->hashes[i].hex, hex))
                        return &c->hashes[i];
        c->hashes = xreallocarray(c->hashes, c->n_hashes + 1, sizeof(*c->hashes));
        h = &c->hashes[c->n_hashes++];
        *h = (struct blob_hash){ 0 };
        snprintf(h->hex, sizeof(h->hex), "%s", hex);
        if (storage_digest_file(c->s->blobs_fd, hex, h->got, &e) < 0) {
                log_debug("hash blob '%s': %s", hex, e->msg);
                hutch_error_free(e);
                h->got[0] = '\0';
        }
        return h;
}

/* Why the blob digest (recorded with size, -1: unknown) cannot be trusted,
 * or NULL. */
static char *blob_damage(struct check *c, const char *digest, int64_t size)
{
        const char *hex = storage_digest_hex(digest);
        struct stat st;

        if (hex == NULL)
                return xasprintf("invalid digest");
        if (fstatat(c->s->blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return xasprintf("missing (%s)", strerror(errno));
        if (!S_ISREG(st.st_mode))
                return xasprintf("not a regular file");
        if (size >= 0 && st.st_size != size)
                return xasprintf("%lld bytes, %lld recorded", (long long) st.st_size, (long long) size);
        if (!c->o->quick) {
                const struct blob_hash *h = hash_blob(c, hex);
                if (h->got[0] == '\0')
                        return xasprintf("unreadable");
                if (!STREQ(h->got, digest))
                        return xasprintf("corrupt: its content hashes to %s", h->got);
        }
        return NULL;
}

/* Full checks: the manifest and config say what the record says. */
static char *references_damage(struct check *c, const struct storage_image *img)
{
        _cleanup_(storage_manifest_free_cleanup) struct storage_manifest *m = NULL;
        _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *cfg = NULL;
        _cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
        _cleanup_free_ char(*chain)[STORAGE_DIGEST_BUFSIZE] = NULL;
        struct hutch_error *e = NULL;
        size_t mlen, clen;
        char *why = NULL;

        if (storage_blob_read(c->s, img->manifest, STORAGE_MANIFEST_MAX_BYTES, &mbuf, &mlen, &e) < 0 ||
            storage_manifest_parse(mbuf, mlen, NULL, &m, &e) < 0) {
                why = xasprintf("manifest %s: %s", img->manifest, e->msg);
                hutch_error_free(e);
                return why;
        }
        if (!STREQ(m->config.digest, img->config))
                return xasprintf("its manifest names config %s, not %s", m->config.digest, img->config);
        if (m->n_layers != img->n_layers)
                return xasprintf("its manifest lists %zu layers, its record %zu", m->n_layers, img->n_layers);
        for (size_t i = 0; i < m->n_layers; i++)
                if (!STREQ(m->layers[i].digest, img->layers[i].blob))
                        return xasprintf("its manifest names layer blob %s, its record %s", m->layers[i].digest,
                                         img->layers[i].blob);
        if (storage_blob_read(c->s, img->config, STORAGE_CONFIG_MAX_BYTES, &cbuf, &clen, &e) < 0 ||
            storage_config_parse(cbuf, clen, &cfg, &e) < 0) {
                why = xasprintf("config %s: %s", img->config, e->msg);
                hutch_error_free(e);
                return why;
        }
        if (cfg->n_diff_ids != img->n_layers)
                return xasprintf("its config lists %zu layers, its record %zu", cfg->n_diff_ids, img->n_layers);
        chain = xcalloc(img->n_layers ? img->n_layers : 1, sizeof(*chain));
        storage_chain_ids(cfg->diff_ids, cfg->n_diff_ids, chain);
        for (size_t i = 0; i < img->n_layers; i++)
                if (!STREQ(cfg->diff_ids[i], img->layers[i].diff_id) || !STREQ(chain[i], img->layers[i].chain_id))
                        return xasprintf("its config gives layer %zu diff ID %s, its record %s", i + 1,
                                         cfg->diff_ids[i], img->layers[i].diff_id);
        return NULL;
}

/* Why img cannot be trusted, or NULL. */
static char *image_damage(struct check *c, const struct storage_image *img)
{
        char *why;

        why = blob_damage(c, img->manifest, img->manifest_size);
        if (why) {
                char *full = xasprintf("manifest %s: %s", img->manifest, why);
                free(why);
                return full;
        }
        why = blob_damage(c, img->config, img->config_size);
        if (why) {
                char *full = xasprintf("config %s: %s", img->config, why);
                free(why);
                return full;
        }
        for (size_t i = 0; i < img->n_layers; i++) {
                const struct storage_image_layer *L = &img->layers[i];
                why = blob_damage(c, L->blob, L->blob_size);
                if (why) {
                        char *full = xasprintf("layer blob %s: %s", L->blob, why);
                        free(why);
                        return full;
                }
                if (!storage_store_layer_exists(c->s, L->chain_id))
                        return xasprintf("layer %s: its tree 'layers/%s' is missing", L->chain_id,
                                         storage_digest_hex(L->chain_id));
        }
        return c->o->quick ? NULL : references_damage(c, img);
}

static bool hex_name(const char *name)
{
        size_t n = strlen(name);

        if (n != STORAGE_DIGEST_HEX_LEN)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
                        return false;
        return true;
}

/* The digest-named entries of dirfd. */
static char **list_hex(int dirfd)
{
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_dir_ DIR *d = NULL;
        struct dirent *de;
        char **v = NULL;

        if (fd < 0 || (d = fdopendir(fd)) == NULL) {
                if (fd >= 0)
                        (void) close(fd);
                return xcalloc(1, sizeof(char *));
        }
        while ((de = readdir(d)) != NULL)
                if (hex_name(de->d_name))
                        hutch_strv_append(&v, de->d_name);
        return v ? v : xcalloc(1, sizeof(char *));
}

/* ---- the records file ---- */

/* Reads the records, salvaging a damaged file.  *ret_damaged is set when
 * they must be written back. */
static int read_records(struct check *c, struct storage_images *ret, bool *ret_damaged, struct hutch_error **err)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_strv_ char **lost = NULL;
        struct hutch_error *e = NULL;
        size_t len = 0, dropped;
        int r;

        *ret_damaged = false;
        if (faccessat(c->s->images_fd, RECORDS, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                *ret = (struct storage_images){ 0 };
                return 0;
        }
        r = hutch_read_file_at(c->s->images_fd, RECORDS, STORAGE_IMAGES_MAX_BYTES, &buf, &len, err);
        if (r < 0)
                return hutch_error_prefix(err, "image records");
        if (storage_images_parse(buf, len, ret, &e) == 0)
                return 0;
        dropped = storage_images_salvage(buf, len, ret, &lost);
        *ret_damaged = true;
        add_problem(c->rep, STORAGE_CHECK_RECORDS, xstrdup("image records 'images/" RECORDS "'"),
                    "%s: %zu whole record%s kept, %s lost", e->msg, ret->n, ret->n == 1 ? "" : "s",
                    dropped > 1 ? "some" : "the rest");
        hutch_error_free(e);
        for (char **n = lost; n && *n; n++)
                hutch_strv_append(&c->rep->removed, *n);
        return 0;
}

/* ---- leftovers ---- */

static void note_leftover(int dirfd, const char *dir, const char *name, void *data)
{
        struct check *c = data;

        (void) dirfd;
        add_problem(c->rep, STORAGE_CHECK_LEFTOVER, xasprintf("%s/%s", dir, name), "left by an interrupted command");
}

/* ---- containers ---- */

struct ctr {
        char id[STORAGE_CONTAINER_ID_LEN + 1];
        struct storage_container rec;
        bool readable, running, remove;
        size_t problem; /* index in the report, or SIZE_MAX */
};

static void ctrs_free(struct ctr *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (v[i].readable)
                        storage_container_clear(&v[i].rec);
        free(v);
}

static char *ctr_label(const struct ctr *k)
{
        return xasprintf("container %s (%.12s)", k->readable && k->rec.name ? k->rec.name : "?", k->id);
}

static int load_containers(struct check *c, struct ctr **ret, size_t *ret_n)
{
        _cleanup_free_ char *dir = xasprintf("%s/containers", c->s->root);
        _cleanup_dir_ DIR *d = opendir(dir);
        struct ctr *v = NULL;
        struct dirent *de;
        size_t n = 0;

        while (d && (de = readdir(d)) != NULL) {
                struct hutch_error *e = NULL;
                struct ctr *k;
                if (!storage_container_id_valid(de->d_name))
                        continue;
                v = xreallocarray(v, n + 1, sizeof(*v));
                k = &v[n++];
                *k = (struct ctr){ .problem = SIZE_MAX };
                memcpy(k->id, de->d_name, sizeof(k->id)); /* valid: 64 hex digits */
                if (storage_container_load(c->s->root, k->id, &k->rec, &e) == 0) {
                        k->readable = true;
                        k->running = k->rec.status == STORAGE_CONTAINER_RUNNING &&
                                     storage_container_pid_alive(k->rec.pid, k->rec.pid_start);
                } else if (e->errnum == ENOENT) {
                        /* made but never recorded: storage_container_create was cut short */
                        k->problem = c->rep->n;
                        add_problem(c->rep, STORAGE_CHECK_LEFTOVER, xasprintf("containers/%s", k->id),
                                    "a container directory without a record, left by an interrupted command");
                        k->remove = true;
                } else {
                        k->problem = c->rep->n;
                        add_problem(c->rep, STORAGE_CHECK_CONTAINER, ctr_label(k), "its record is unreadable: %s",
                                    e->msg);
                        k->remove = c->o->force;
                }
                hutch_error_free(e);
        }
        c->rep->containers = n;
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- the whole check ---- */

struct damaged {
        size_t problem; /* index in the report */
        bool keep;      /* a container that stays uses it */
};

static void remove_blob(struct check *c, const char *hex)
{
        if (unlinkat(c->s->blobs_fd, hex, 0) < 0 && errno != ENOENT)
                log_debug_errno(errno, "remove blob '%s'", hex);
}

int storage_check(struct storage_store *s, const struct storage_check_options *opts, struct storage_check_report *ret,
                  struct hutch_error **err)
{
        struct storage_check_report rep = { 0 };
        struct check c = { .s = s, .o = opts, .rep = &rep };
        struct storage_images imgs = { 0 };
        _cleanup_close_ int ctr_lock = -1, rec_lock = -1;
        _cleanup_strv_ char **blobs = NULL, **layers = NULL;
        struct damaged *dmg = NULL;
        struct ctr *ctrs = NULL;
        size_t n_ctrs = 0;
        bool records_damaged = false, exclusive, changed;
        int r;

        /* Leftovers are only leftovers when nobody is working: never wait
         * for the lock, as a running container holds it shared. */
        r = storage_store_lock_exclusive(s, false, err);
        if (r < 0)
                return r;
        exclusive = r > 0;
        rep.busy = !exclusive;
        ctr_lock = storage_containers_lock(s->root, err);
        if (ctr_lock < 0)
                return ctr_lock;
        rec_lock = storage_store_lock_records(s, err);
        if (rec_lock < 0)
                return rec_lock;
        r = read_records(&c, &imgs, &records_damaged, err);
        if (r < 0)
                return r;
        if (exclusive)
                storage_store_list_leftovers(s, note_leftover, &c);

        /* blobs no record uses: only their content can be wrong */
        blobs = list_hex(s->blobs_fd);
        rep.blobs = hutch_strv_length(blobs);
        for (char **b = blobs; *b && !opts->quick; b++) {
                _cleanup_free_ char *digest = xasprintf("sha256:%s", *b);
                const struct blob_hash *h;
                if (storage_images_use_blob(&imgs, *b))
                        continue;
                h = hash_blob(&c, *b);
                if (!STREQ(h->got, digest))
                        add_problem(&rep, STORAGE_CHECK_BLOB, xasprintf("blob %s", digest), "%s",
                                    h->got[0] ? "corrupt: its content hashes to another digest" : "unreadable");
        }
        layers = list_hex(s->layers_fd);
        rep.layers = hutch_strv_length(layers);

        rep.images = imgs.n;
        dmg = xcalloc(imgs.n ? imgs.n : 1, sizeof(*dmg));
        for (size_t i = 0; i < imgs.n; i++) {
                char *why = image_damage(&c, &imgs.v[i]);
                dmg[i].problem = SIZE_MAX;
                if (why == NULL)
                        continue;
                dmg[i].problem = rep.n;
                add_problem(&rep, STORAGE_CHECK_IMAGE, image_label(&imgs.v[i]), "%s", why);
                free(why);
        }

        r = load_containers(&c, &ctrs, &n_ctrs);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n_ctrs; i++) {
                struct ctr *k = &ctrs[i];
                int idx;
                if (!k->readable || k->rec.image_id == NULL)
                        continue;
                idx = storage_images_find_id(&imgs, k->rec.image_id);
                if (idx >= 0 && dmg[idx].problem == SIZE_MAX)
                        continue;
                k->problem = rep.n;
                if (idx < 0)
                        add_problem(&rep, STORAGE_CHECK_CONTAINER, ctr_label(k), "its image %.12s is gone",
                                    k->rec.image_id);
                else
                        add_problem(&rep, STORAGE_CHECK_CONTAINER, ctr_label(k), "its image %.12s is damaged",
                                    k->rec.image_id);
                k->remove = opts->force && !k->running;
                if (idx >= 0 && !k->remove)
                        dmg[idx].keep = true;
        }
        if (!opts->repair)
                goto count;

        /* ---- repair ---- */
        for (size_t i = 0; i < n_ctrs; i++) {
                struct ctr *k = &ctrs[i];
                _cleanup_free_ char *rel = NULL;
                if (k->problem == SIZE_MAX)
                        continue;
                if (!k->remove) {
                        char *why = rep.v[k->problem].why;
                        rep.v[k->problem].why = xasprintf(
                                "%s (%s)", why, k->running ? "it is running: stop it first" : "--force removes it");
                        free(why);
                        continue;
                }
                rel = xasprintf("containers/%s", k->id);
                r = hutch_rm_rf_at(s->root_fd, rel);
                if (r < 0) {
                        r = hutch_error_set(err, -r, "remove '%s/%s'", s->root, rel);
                        goto out;
                }
                rep.v[k->problem].repaired = true;
        }
        changed = records_damaged;
        for (size_t i = imgs.n; i > 0; i--) {
                struct damaged *d = &dmg[i - 1];
                struct storage_image *img = &imgs.v[i - 1];
                if (d->problem == SIZE_MAX)
                        continue;
                if (d->keep) {
                        char *why = rep.v[d->problem].why;
                        rep.v[d->problem].why = xasprintf("%s (a container uses it: --force removes both)", why);
                        free(why);
                        continue;
                }
                if (img->names[0] == NULL)
                        hutch_strv_append(&rep.removed, img->id);
                for (char **n = img->names; *n; n++)
                        hutch_strv_append(&rep.removed, *n);
                rep.v[d->problem].repaired = true;
                storage_images_delete(&imgs, i - 1);
                changed = true;
        }
        if (changed) {
                r = storage_images_write(s, &imgs, err);
                if (r < 0)
                        goto out;
        }
        for (size_t i = 0; i < rep.n; i++)
                if (rep.v[i].kind == STORAGE_CHECK_RECORDS)
                        rep.v[i].repaired = true;
        /* a corrupt blob would be taken for the real one by the next pull */
        for (size_t i = 0; i < c.n_hashes; i++) {
                _cleanup_free_ char *digest = xasprintf("sha256:%s", c.hashes[i].hex);
                if (!STREQ(c.hashes[i].got, digest) && !storage_images_use_blob(&imgs, c.hashes[i].hex))
                        remove_blob(&c, c.hashes[i].hex);
        }
        for (size_t i = 0; i < rep.n; i++)
                if (rep.v[i].kind == STORAGE_CHECK_BLOB)
                        rep.v[i].repaired = true;
        if (exclusive) {
                storage_store_clean_leftovers(s);
                for (size_t i = 0; i < rep.n; i++)
                        if (rep.v[i].kind == STORAGE_CHECK_LEFTOVER)
                                rep.v[i].repaired = true;
                /* the collector takes the records lock itself */
                hutch_closep(&rec_lock);
                r = storage_images_gc(s, err);
                if (r < 0)
                        goto out;
                hutch_strv_free(layers);
                hutch_strv_free(blobs);
                layers = list_hex(s->layers_fd);
                blobs = list_hex(s->blobs_fd);
        }
count:
        for (char **l = layers; *l; l++)
                rep.unused_layers += !storage_images_use_layer(&imgs, *l);
        for (char **b = blobs; *b; b++)
                rep.unused_blobs += !storage_images_use_blob(&imgs, *b);
        r = 0;
        *ret = rep;
        rep = (struct storage_check_report){ 0 };
out:
        storage_check_report_clear(&rep);
        ctrs_free(ctrs, n_ctrs);
        free(dmg);
        free(c.hashes);
        storage_images_clear(&imgs);
        return r;
}

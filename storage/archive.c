/* docker-archive and oci-archive: load, save; and import (see archive.h). */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/archive-int.h"
#include "storage/archive.h"
#include "storage/reference.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define IO_BLOCK      STORAGE_ARCHIVE_IO_BLOCK
#define MAX_LINK_HOPS 8

/* ---- staging the members of an archive ---- */

struct member {
        char *name;                    /* normalized path inside the archive */
        char *link;                    /* hard or symbolic link: the normalized target */
        struct storage_blob_writer *w; /* content, hashed */
        char *data;                    /* small metadata files, kept in memory */
        size_t len;
};

struct load_ctx {
        struct storage_store *s;
        struct storage_unpack_options uopts;
        struct member *m;
        size_t n;
        char *tmp_rel; /* tmp/load-XXXXXX */
        unsigned seq;
        /* Verified but not yet in the store: moved in by commit_staged()
         * once every image of the archive checked out. */
        char **pending_layers; /* "rel\nchain-hex" */
        struct storage_blob_writer **pending_blobs;
        size_t n_pending_blobs;
        char **pending_manifests; /* manifest documents to store as blobs */
        size_t *pending_manifest_lens;
        /* An image layout directory instead of an archive: its files are
         * staged as they are looked for. */
        bool from_dir;
        bool flat; /* dir: blobs named by their hex digest beside manifest.json */
        int dir_fd;
        /* Only the image tagged select_tag (or the only one when NULL),
         * recorded as record_name (NULL: by ID), not by its annotation. */
        bool select;
        const char *select_tag, *record_name;
};

static void load_ctx_clear(struct load_ctx *c)
{
        for (size_t i = 0; i < c->n; i++) {
                free(c->m[i].name);
                free(c->m[i].link);
                storage_blob_writer_free(c->m[i].w);
                free(c->m[i].data);
        }
        free(c->m);
        hutch_strv_free(c->pending_layers);
        free(c->pending_blobs);
        for (char **m = c->pending_manifests; m && *m; m++)
                free(*m);
        free(c->pending_manifests);
        free(c->pending_manifest_lens);
        if (c->from_dir && c->dir_fd >= 0)
                (void) close(c->dir_fd);
        if (c->tmp_rel) {
                int r = hutch_rm_rf_at(c->s->root_fd, c->tmp_rel);
                if (r < 0)
                        log_debug_errno(-r, "remove '%s'", c->tmp_rel);
                free(c->tmp_rel);
        }
        *c = (struct load_ctx){ 0 };
}

/* "./a//b/./c" -> "a/b/c"; relative to base's directory when base is
 * given (symlink targets).  NULL for names that leave the archive root or
 * are empty. */
static char *normalize_name(const char *base, const char *name)
{
        _cleanup_strv_ char **parts = NULL;
        _cleanup_strv_ char **in = NULL;
        char **out = NULL;
        char *joined;

        if (name == NULL || strlen(name) > 4096)
                return NULL;
        if (base && name[0] != '/') {
                const char *slash = strrchr(base, '/');
                _cleanup_free_ char *dir = slash ? xstrndup(base, (size_t) (slash - base)) : xstrdup("");
                _cleanup_free_ char *full = xasprintf("%s/%s", dir, name);
                in = hutch_strv_split(full, "/");
        } else {
                in = hutch_strv_split(name, "/");
        }
        for (char **p = in; p && *p; p++) {
                if (STREQ(*p, "."))
                        continue;
                if (STREQ(*p, "..")) {
                        size_t n = hutch_strv_length(out);
                        if (n == 0) {
                                hutch_strv_free(out);
                                return NULL;
                        }
                        free(out[n - 1]);
                        out[n - 1] = NULL;
                        continue;
                }
                hutch_strv_append(&out, *p);
        }
        parts = out;
        if (hutch_strv_length(parts) == 0)
                return NULL;
        joined = hutch_strv_join(parts, "/");
        return joined;
}

static bool is_metadata_name(const char *name)
{
        return STREQ(name, "manifest.json") || STREQ(name, "index.json") || STREQ(name, "oci-layout") ||
               STREQ(name, "repositories");
}

static struct member *stage_from_dir(struct load_ctx *c, const char *name);

static struct member *find_member(struct load_ctx *c, const char *name)
{
        for (int hop = 0; hop < MAX_LINK_HOPS && name; hop++) {
                struct member *m = NULL;
                for (size_t i = 0; i < c->n; i++)
                        if (STREQ(c->m[i].name, name)) {
                                m = &c->m[i];
                                break;
                        }
                if (m == NULL && c->from_dir)
                        m = stage_from_dir(c, name);
                if (m == NULL)
                        return NULL;
                if (m->link == NULL)
                        return m;
                name = m->link;
        }
        return NULL;
}

int storage_archive_fail(struct archive *a, struct hutch_error **err, const char *what)
{
        const char *msg = archive_error_string(a);
        int e = archive_errno(a);

        /* libarchive's format and misc errors are not system errors */
        if (e == EILSEQ || e == EINVAL || e < 0)
                e = 0;
        return hutch_error_set(err, e, "%s: %s", what, msg ? msg : "corrupt or truncated archive");
}

static void raise_nofile(void)
{
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static int stage_members(struct load_ctx *c, int fd, struct hutch_error **err)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        int r = 0;

        raise_nofile();
        if (archive_read_support_filter_gzip(a) != ARCHIVE_OK || archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
            archive_read_support_filter_xz(a) != ARCHIVE_OK || archive_read_support_format_tar(a) != ARCHIVE_OK) {
                r = storage_archive_fail(a, err, "set up the archive reader");
                goto out;
        }
        if (archive_read_open_fd(a, fd, IO_BLOCK) != ARCHIVE_OK) {
                r = storage_archive_fail(a, err, "read the archive");
                goto out;
        }
        for (;;) {
                _cleanup_free_ char *name = NULL, *link = NULL;
                const char *hl, *sl;
                struct member *m;
                mode_t type;

                r = archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF) {
                        r = 0;
                        break;
                }
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                        r = storage_archive_fail(a, err, "read the archive");
                        goto out;
                }
                r = 0;
                type = archive_entry_filetype(e);
                name = normalize_name(NULL, archive_entry_pathname(e));
                if (name == NULL || type == AE_IFDIR)
                        continue;
                hl = archive_entry_hardlink(e);
                sl = type == AE_IFLNK ? archive_entry_symlink(e) : NULL;
                if (hl)
                        link = normalize_name(NULL, hl);
                else if (sl)
                        link = normalize_name(name, sl);
                if ((hl || sl) && link == NULL)
                        continue; /* a link out of the archive: never followed */
                if (!link && type != AE_IFREG)
                        continue;
                if (find_member(c, name) != NULL || c->n >= STORAGE_ARCHIVE_MAX_MEMBERS) {
                        r = hutch_error_set(err, 0,
                                            c->n >= STORAGE_ARCHIVE_MAX_MEMBERS ? "the archive has too many files"
                                                                                : "the archive has '%s' twice",
                                            name);
                        goto out;
                }
                c->m = xreallocarray(c->m, c->n + 1, sizeof(*c->m));
                m = &c->m[c->n++];
                *m = (struct member){ .name = steal_ptr(&name), .link = steal_ptr(&link) };
                if (m->link)
                        continue;
                if (is_metadata_name(m->name)) {
                        if (archive_entry_size(e) > (la_int64_t) STORAGE_MANIFEST_MAX_BYTES) {
                                r = hutch_error_set(err, 0, "'%s' in the archive is larger than %u bytes", m->name,
                                                    STORAGE_MANIFEST_MAX_BYTES);
                                goto out;
                        }
                        m->data = xmalloc(STORAGE_MANIFEST_MAX_BYTES + 1);
                }
                if (!m->data) {
                        r = storage_blob_writer_new(c->s, NULL, &m->w, err);
                        if (r < 0)
                                goto out;
                }
                for (;;) {
                        const void *buf;
                        size_t len;
                        la_int64_t off;
                        int k = archive_read_data_block(a, &buf, &len, &off);
                        if (k == ARCHIVE_EOF)
                                break;
                        if (k != ARCHIVE_OK && k != ARCHIVE_WARN) {
                                r = storage_archive_fail(a, err, "read the archive");
                                goto out;
                        }
                        if (m->data) {
                                if (m->len + len > STORAGE_MANIFEST_MAX_BYTES) {
                                        r = hutch_error_set(err, 0, "'%s' in the archive is too large", m->name);
                                        goto out;
                                }
                                memcpy(m->data + m->len, buf, len);
                                m->len += len;
                        } else {
                                r = storage_blob_writer_write(m->w, buf, len, err);
                                if (r < 0) {
                                        hutch_error_prefix(err, "stage '%.200s' of the archive", m->name);
                                        goto out;
                                }
                        }
                }
                if (m->w) {
                        r = storage_blob_writer_finish(m->w, err);
                        if (r < 0)
                                goto out;
                }
        }
        if (c->n == 0)
                r = hutch_error_set(err, 0, "the archive is empty");
out:
        if (r < 0)
                hutch_error_prefix(err, "load");
        archive_read_free(a);
        return r;
}

/* Copies file name of the layout directory into a member, hashing a blob
 * on the way.  NULL when the layout has no such file or it cannot be read
 * (the caller says what is missing); only the files a layout has. */
static struct member *stage_from_dir(struct load_ctx *c, const char *name)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct hutch_error *err = NULL;
        struct member m = { 0 };
        struct stat st;
        bool meta = c->flat ? STREQ(name, "manifest.json") : STREQ(name, "oci-layout") || STREQ(name, "index.json");
        int r = 0;

        if (!meta && c->flat) {
                _cleanup_free_ char *d = xasprintf("sha256:%s", name);
                if (!storage_digest_valid(d))
                        return NULL;
        } else if (!meta) {
                _cleanup_free_ char *d = xasprintf("sha256:%s", name + (strncmp(name, "blobs/sha256/", 13) ? 0 : 13));
                if (strncmp(name, "blobs/sha256/", 13) != 0 || !storage_digest_valid(d))
                        return NULL;
        }
        if (c->n >= STORAGE_ARCHIVE_MAX_MEMBERS)
                return NULL;
        fd = openat(c->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                log_debug("layout: %s: %s", name, fd < 0 ? strerror(errno) : "not a regular file");
                return NULL;
        }
        m.name = xstrdup(name);
        if (meta) {
                size_t len = 0;
                r = hutch_read_fd_alloc(fd, STORAGE_MANIFEST_MAX_BYTES, &buf, &len);
                if (r < 0) {
                        log_debug_errno(-r, "layout: %s", name);
                        free(m.name);
                        return NULL;
                }
                m.data = steal_ptr(&buf);
                m.len = len;
        } else {
                buf = xmalloc(IO_BLOCK);
                r = storage_blob_writer_new(c->s, NULL, &m.w, &err);
                for (;;) {
                        ssize_t n = r < 0 ? 0 : hutch_read_full(fd, buf, IO_BLOCK);
                        if (n < 0)
                                r = hutch_error_set(&err, (int) -n, "read '%s'", name);
                        if (n <= 0)
                                break;
                        r = storage_blob_writer_write(m.w, buf, (size_t) n, &err);
                }
                if (r >= 0)
                        r = storage_blob_writer_finish(m.w, &err);
                if (r < 0) {
                        log_debug("layout: %s", err ? err->msg : name);
                        hutch_error_free(err);
                        storage_blob_writer_free(m.w);
                        free(m.name);
                        return NULL;
                }
        }
        /* c->m has room for them all (storage_layout_load): members found
         * earlier must not move */
        c->m[c->n] = m;
        return &c->m[c->n++];
}

/* The bytes of a member (at most max). */
static int member_bytes(struct member *m, size_t max, char **ret, size_t *ret_len, struct hutch_error **err)
{
        _cleanup_close_ int fd = -1;
        int r;

        if (m->data) {
                if (m->len > max)
                        return hutch_error_set(err, 0, "'%s' is too large", m->name);
                *ret = xstrndup(m->data, m->len);
                *ret_len = m->len;
                return 0;
        }
        if (storage_blob_writer_size(m->w) > max)
                return hutch_error_set(err, 0, "'%s' in the archive is larger than %zu bytes", m->name, max);
        fd = storage_blob_writer_reopen(m->w, err);
        if (fd < 0)
                return fd;
        r = hutch_read_fd_alloc(fd, max, ret, ret_len);
        if (r < 0)
                return hutch_error_set(err, -r, "read '%s'", m->name);
        return 0;
}

static const char *member_digest(const struct member *m)
{
        return m->w ? storage_blob_writer_digest(m->w) : NULL;
}

/* ---- layers ---- */

static enum storage_compression sniff_compression(struct storage_blob_writer *w)
{
        _cleanup_close_ int fd = storage_blob_writer_reopen(w, NULL);
        unsigned char b[4] = { 0 };

        if (fd < 0 || hutch_read_full(fd, b, sizeof(b)) < 4)
                return STORAGE_COMPRESSION_NONE;
        if (b[0] == 0x1f && b[1] == 0x8b)
                return STORAGE_COMPRESSION_GZIP;
        if (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
                return STORAGE_COMPRESSION_ZSTD;
        return STORAGE_COMPRESSION_NONE;
}

static const char *layer_media_type(enum storage_compression c)
{
        switch (c) {
        case STORAGE_COMPRESSION_GZIP: return STORAGE_MEDIA_OCI_LAYER_GZIP;
        case STORAGE_COMPRESSION_ZSTD: return STORAGE_MEDIA_OCI_LAYER_ZSTD;
        default: return STORAGE_MEDIA_OCI_LAYER;
        }
}

/* sha256 and size of a blob's uncompressed stream (its diff ID). */
static int hash_uncompressed(int fd, char ret_digest[STORAGE_DIGEST_BUFSIZE], uint64_t *ret_size,
                             struct hutch_error **err)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        struct storage_sha256 *h = storage_sha256_new();
        uint64_t size = 0;
        int r = 0;

        if (archive_read_support_filter_gzip(a) != ARCHIVE_OK || archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
            archive_read_support_format_raw(a) != ARCHIVE_OK || archive_read_open_fd(a, fd, IO_BLOCK) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK) {
                /* an empty blob is an empty stream */
                if (archive_errno(a) != 0 || archive_error_string(a) != NULL)
                        r = storage_archive_fail(a, err, "read a layer");
                goto out;
        }
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;
                int k = archive_read_data_block(a, &buf, &len, &off);
                if (k == ARCHIVE_EOF)
                        break;
                if (k != ARCHIVE_OK && k != ARCHIVE_WARN) {
                        r = storage_archive_fail(a, err, "read a layer");
                        goto out;
                }
                storage_sha256_update(h, buf, len);
                size += len;
                if (size > STORAGE_UNPACK_DEFAULT_MAX_BYTES) {
                        r = hutch_error_set(err, 0, "layer larger than its cap");
                        goto out;
                }
        }
        storage_sha256_final_hex(h, ret_digest);
        *ret_size = size;
out:
        storage_sha256_free(h);
        archive_read_free(a);
        return r;
}

static bool layer_pending(struct load_ctx *c, const char *chain_id)
{
        const char *hex = storage_digest_hex(chain_id);

        for (char **p = c->pending_layers; p && *p; p++) {
                const char *nl = strchr(*p, '\n');
                if (nl && STREQ(nl + 1, hex))
                        return true;
        }
        return false;
}

/* Moves what every image of the archive needs into the store: layers into
 * layers/, blobs into blobs/.  Only called once all of them verified. */
static int commit_staged(struct load_ctx *c, struct storage_images *loaded, struct hutch_error **err)
{
        struct storage_store *s = c->s;
        int r;

        /* The unpacked trees reach the disk before any record names them
         * (one syncfs: far cheaper than an fsync per file). */
        if (c->pending_layers && syncfs(s->root_fd) < 0)
                return hutch_error_set(err, errno, "sync the store");
        for (char **p = c->pending_layers; p && *p; p++) {
                char *nl = strchr(*p, '\n');
                *nl = '\0';
                if (syscall(SYS_renameat2, s->root_fd, *p, s->layers_fd, nl + 1, 1 /* RENAME_NOREPLACE */) < 0) {
                        if (errno != EEXIST && errno != ENOTEMPTY)
                                return hutch_error_set(err, errno, "store layer %s", nl + 1);
                        /* another command unpacked the same layer meanwhile */
                        (void) hutch_rm_rf_at(s->root_fd, *p);
                }
                *nl = '\n';
        }
        for (size_t i = 0; i < c->n_pending_blobs; i++) {
                r = storage_blob_writer_commit(c->pending_blobs[i], err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; c->pending_manifests && c->pending_manifests[i]; i++) {
                char d[STORAGE_DIGEST_BUFSIZE];
                r = storage_blob_put(s, c->pending_manifests[i], c->pending_manifest_lens[i], d, err);
                if (r < 0)
                        return r;
                if (i < loaded->n && !STREQ(d, loaded->v[i].manifest))
                        return hutch_error_set(err, 0, "internal error: manifest digest changed");
        }
        /* the new names in layers/ and blobs/ too */
        if (fsync(s->layers_fd) < 0 || fsync(s->blobs_fd) < 0)
                return hutch_error_set(err, errno, "sync the store");
        return 0;
}

static void pend_blob(struct load_ctx *c, struct storage_blob_writer *w)
{
        c->pending_blobs = xreallocarray(c->pending_blobs, c->n_pending_blobs + 1, sizeof(*c->pending_blobs));
        c->pending_blobs[c->n_pending_blobs++] = w;
}

/* Checks that the staged blob w, for a layer the store (or this load)
 * already has, is that layer: its uncompressed stream hashes to diff_id. */
static int verify_existing_layer(struct storage_blob_writer *w, const char *diff_id, int64_t *ret_size,
                                 struct hutch_error **err)
{
        _cleanup_close_ int fd = storage_blob_writer_reopen(w, err);
        char got[STORAGE_DIGEST_BUFSIZE];
        uint64_t size = 0;
        int r;

        if (fd < 0)
                return fd;
        r = hash_uncompressed(fd, got, &size, err);
        if (r < 0)
                return r;
        if (!STREQ(got, diff_id))
                return hutch_error_set(err, 0, "layer %s: content does not match diff ID %s (it is %s)",
                                       storage_blob_writer_digest(w), diff_id, got);
        *ret_size = (int64_t) size;
        return 0;
}

/* Layers to unpack, shared by a few threads: unpacking is mostly system
 * calls, and separate trees need no coordination. */
struct unpack_job {
        int fd;
        char *rel, *abs;
        struct storage_unpack_options o;
        struct storage_unpack_result res;
        struct hutch_error *err;
        int r;
};

struct unpack_queue {
        struct unpack_job *jobs;
        size_t n, next;
        bool failed;
        pthread_mutex_t lock;
};

#define MAX_UNPACK_THREADS 4

static void *unpack_worker(void *p)
{
        struct unpack_queue *q = p;

        for (;;) {
                struct unpack_job *j;
                pthread_mutex_lock(&q->lock);
                j = !q->failed && q->next < q->n ? &q->jobs[q->next++] : NULL;
                pthread_mutex_unlock(&q->lock);
                if (j == NULL)
                        return NULL;
                j->r = storage_layer_unpack_dir(j->fd, j->abs, &j->o, &j->res, &j->err);
                if (j->r < 0) {
                        pthread_mutex_lock(&q->lock);
                        q->failed = true; /* no point starting more */
                        pthread_mutex_unlock(&q->lock);
                }
        }
}

static void run_unpack_jobs(struct unpack_job *jobs, size_t n)
{
        struct unpack_queue q = { .jobs = jobs, .n = n };
        pthread_t threads[MAX_UNPACK_THREADS];
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        size_t want = n, started = 0;

        if (cpus < 1)
                cpus = 1;
        if (want > (size_t) cpus)
                want = (size_t) cpus;
        if (want > MAX_UNPACK_THREADS)
                want = MAX_UNPACK_THREADS;
        pthread_mutex_init(&q.lock, NULL);
        for (size_t i = 1; i < want; i++)
                if (pthread_create(&threads[started], NULL, unpack_worker, &q) == 0)
                        started++;
        (void) unpack_worker(&q);
        for (size_t i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        pthread_mutex_destroy(&q.lock);
        for (size_t i = 0; i < n; i++)
                if (jobs[i].r == 0 && jobs[i].err == NULL && q.failed && jobs[i].res.digest[0] == '\0')
                        jobs[i].r = 1; /* not started */
}

/* Makes the image's layers that neither the store nor this load has yet
 * (unpacked into tmp/, moved in by commit_staged), and checks the others'
 * blobs against their diff IDs.  ret_sizes gets the uncompressed sizes. */
static int install_layers(struct load_ctx *c, struct member **layers, char **diff_ids,
                          char (*chain)[STORAGE_DIGEST_BUFSIZE], size_t n, int64_t *ret_sizes, struct hutch_error **err)
{
        _cleanup_free_ struct unpack_job *jobs = xcalloc(n ? n : 1, sizeof(*jobs));
        _cleanup_free_ ssize_t *job_of = xcalloc(n ? n : 1, sizeof(*job_of));
        size_t nj = 0;
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                struct storage_blob_writer *w = layers[i]->w;
                job_of[i] = -1;
                if (storage_store_layer_exists(c->s, chain[i]) || layer_pending(c, chain[i])) {
                        r = verify_existing_layer(w, diff_ids[i], &ret_sizes[i], err);
                        if (r < 0)
                                goto out;
                        continue;
                }
                struct unpack_job *j = &jobs[nj];
                j->fd = storage_blob_writer_reopen(w, err);
                if (j->fd < 0) {
                        r = j->fd;
                        goto out;
                }
                j->rel = xasprintf("%s/layer-%u", c->tmp_rel, c->seq++);
                j->abs = storage_store_path(c->s, j->rel);
                j->o = c->uopts;
                j->o.expected_digest = storage_blob_writer_digest(w);
                job_of[i] = (ssize_t) nj++;
        }
        run_unpack_jobs(jobs, nj);
        for (size_t i = 0; i < n && r == 0; i++) {
                struct unpack_job *j;
                if (job_of[i] < 0)
                        continue;
                j = &jobs[job_of[i]];
                if (j->r < 0) {
                        hutch_error_prefix(&j->err, "layer %s", j->o.expected_digest);
                        *err = steal_ptr(&j->err);
                        r = j->r;
                } else if (j->r > 0) {
                        continue; /* skipped after another layer failed */
                } else if (!STREQ(j->res.diff_id, diff_ids[i])) {
                        r = hutch_error_set(err, 0, "layer %s: content does not match diff ID %s (it is %s)",
                                            j->o.expected_digest, diff_ids[i], j->res.diff_id);
                } else {
                        if (j->res.devices_skipped)
                                log_warn("layer %s: %llu device nodes skipped (containers cannot create them)",
                                         j->o.expected_digest, (unsigned long long) j->res.devices_skipped);
                        hutch_strv_push(&c->pending_layers, xasprintf("%s\n%s", j->rel, storage_digest_hex(chain[i])));
                        ret_sizes[i] = (int64_t) j->res.uncompressed_size;
                }
        }
        /* a failure's error may sit in a later job than the first reported */
        for (size_t k = 0; k < nj && r == 0; k++)
                if (jobs[k].r < 0) {
                        *err = steal_ptr(&jobs[k].err);
                        r = jobs[k].r;
                }
out:
        for (size_t k = 0; k < nj; k++) {
                hutch_closep(&jobs[k].fd);
                free(jobs[k].rel);
                free(jobs[k].abs);
                hutch_error_free(jobs[k].err);
        }
        return r;
}

/* Checks and stores one image whose manifest, config and layers are staged. */
static int install_image(struct load_ctx *c, const char *manifest, size_t manifest_len, struct member *config,
                         struct member **layers, const char *const *layer_types, size_t n, char **names,
                         struct storage_image *ret, struct hutch_error **err)
{
        _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *cfg = NULL;
        _cleanup_free_ char *cbuf = NULL;
        _cleanup_free_ char(*chain)[STORAGE_DIGEST_BUFSIZE] = NULL;
        _cleanup_free_ int64_t *sizes = NULL;
        struct storage_image img = { 0 };
        size_t clen = 0;
        int r;

        r = member_bytes(config, STORAGE_CONFIG_MAX_BYTES, &cbuf, &clen, err);
        if (r < 0)
                return r;
        if (member_digest(config) == NULL)
                return hutch_error_set(err, 0, "image config '%s' has a reserved name", config->name);
        r = storage_config_parse(cbuf, clen, &cfg, err);
        if (r < 0)
                return r;
        if (cfg->n_diff_ids != n)
                return hutch_error_set(err, 0, "the image config lists %zu layers but the manifest %zu",
                                       cfg->n_diff_ids, n);
        chain = xcalloc(n ? n : 1, sizeof(*chain));
        storage_chain_ids(cfg->diff_ids, n, chain);

        memcpy(img.config, member_digest(config), STORAGE_DIGEST_BUFSIZE);
        memcpy(img.id, storage_digest_hex(img.config), sizeof(img.id));
        img.config_size = (int64_t) storage_blob_writer_size(config->w);
        img.created = cfg->created ? xstrdup(cfg->created) : NULL;
        img.loaded = (int64_t) time(NULL);
        img.names = hutch_strv_copy(names);
        if (img.names == NULL)
                img.names = xcalloc(1, sizeof(char *));
        img.layers = xcalloc(n ? n : 1, sizeof(*img.layers));
        sizes = xcalloc(n ? n : 1, sizeof(*sizes));
        r = install_layers(c, layers, cfg->diff_ids, chain, n, sizes, err);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < n; i++) {
                struct storage_image_layer *L = &img.layers[i];
                L->size = sizes[i];
                memcpy(L->chain_id, chain[i], STORAGE_DIGEST_BUFSIZE);
                memcpy(L->diff_id, cfg->diff_ids[i], STORAGE_DIGEST_BUFSIZE);
                memcpy(L->blob, member_digest(layers[i]), STORAGE_DIGEST_BUFSIZE);
                L->media_type = xstrdup(layer_types[i]);
                L->blob_size = (int64_t) storage_blob_writer_size(layers[i]->w);
                img.n_layers++;
        }
        for (size_t i = 0; i < n; i++)
                pend_blob(c, layers[i]->w);
        pend_blob(c, config->w);
        {
                size_t k = hutch_strv_length(c->pending_manifests);
                c->pending_manifests = xreallocarray(c->pending_manifests, k + 2, sizeof(char *));
                c->pending_manifests[k] = xstrndup(manifest, manifest_len);
                c->pending_manifests[k + 1] = NULL;
                c->pending_manifest_lens = xreallocarray(c->pending_manifest_lens, k + 1, sizeof(size_t));
                c->pending_manifest_lens[k] = manifest_len;
        }
        storage_digest_buffer(manifest, manifest_len, img.manifest);
        img.manifest_size = (int64_t) manifest_len;
        *ret = img;
        return 0;
fail:
        storage_image_clear(&img);
        return r;
}

/* Records the images (names move to them from other images). */
static int commit_records(struct storage_store *s, struct storage_images *loaded, struct hutch_error **err)
{
        return storage_images_record(s, loaded->v, loaded->n, err);
}

static void images_push(struct storage_images *imgs, struct storage_image *img)
{
        imgs->v = xreallocarray(imgs->v, imgs->n + 1, sizeof(*imgs->v));
        imgs->v[imgs->n++] = *img;
        *img = (struct storage_image){ 0 };
}

/* A name from an archive: normalized, or an error. */
static int archive_name(const char *raw, char ***names, struct hutch_error **err)
{
        struct storage_reference ref = { 0 };

        if (storage_reference_parse(raw, &ref, err) < 0)
                return hutch_error_prefix(err, "image name in the archive");
        if (ref.digest || ref.tag == NULL) {
                storage_reference_clear(&ref);
                return hutch_error_set(err, 0, "image name '%.200s' in the archive is not NAME:TAG", raw);
        }
        hutch_strv_push(names, storage_reference_format(&ref));
        storage_reference_clear(&ref);
        return 0;
}

/* ---- docker-archive ---- */

static int load_docker(struct load_ctx *c, struct member *mj, struct storage_images *out, struct hutch_error **err)
{
        yajl_val root = NULL;
        int r = 0;

        root = hutch_json_parse(mj->data, mj->len, err);
        if (root == NULL)
                return hutch_error_prefix(err, "manifest.json");
        if (!YAJL_IS_ARRAY(root) || root->u.array.len == 0) {
                r = hutch_error_set(err, 0, "manifest.json: not a list of images");
                goto out;
        }
        for (size_t i = 0; i < root->u.array.len; i++) {
                yajl_val e = root->u.array.values[i], tags, layers;
                const char *config_name = hutch_json_get_string(e, "Config");
                _cleanup_strv_ char **names = NULL;
                _cleanup_free_ struct member **lm = NULL;
                _cleanup_free_ const char **types = NULL;
                _cleanup_free_ struct storage_descriptor *descs = NULL;
                _cleanup_free_ char *manifest = NULL, *cname = NULL;
                struct storage_descriptor cdesc = { 0 };
                struct storage_image img = { 0 };
                struct member *cm;
                size_t mlen, n;

                if (!YAJL_IS_OBJECT(e) || config_name == NULL) {
                        r = hutch_error_set(err, 0, "manifest.json: entry %zu has no 'Config'", i);
                        goto out;
                }
                tags = hutch_json_get(e, "RepoTags");
                layers = hutch_json_get(e, "Layers");
                if ((tags && !YAJL_IS_NULL(tags) && !YAJL_IS_ARRAY(tags)) || layers == NULL || !YAJL_IS_ARRAY(layers) ||
                    layers->u.array.len > STORAGE_MANIFEST_MAX_LAYERS) {
                        r = hutch_error_set(err, 0, "manifest.json: entry %zu: bad 'RepoTags' or 'Layers'", i);
                        goto out;
                }
                for (size_t j = 0; tags && YAJL_IS_ARRAY(tags) && j < tags->u.array.len; j++) {
                        yajl_val t = tags->u.array.values[j];
                        if (!YAJL_IS_STRING(t)) {
                                r = hutch_error_set(err, 0, "manifest.json: a RepoTag is not a string");
                                goto out;
                        }
                        r = archive_name(t->u.string, &names, err);
                        if (r < 0)
                                goto out;
                }
                cname = normalize_name(NULL, config_name);
                cm = cname ? find_member(c, cname) : NULL;
                if (cm == NULL || cm->w == NULL) {
                        r = hutch_error_set(err, 0, "manifest.json: config '%.200s' is not in the archive",
                                            config_name);
                        goto out;
                }
                n = layers->u.array.len;
                lm = xcalloc(n + 1, sizeof(*lm));
                types = xcalloc(n + 1, sizeof(*types));
                descs = xcalloc(n + 1, sizeof(*descs));
                for (size_t j = 0; j < n; j++) {
                        yajl_val l = layers->u.array.values[j];
                        _cleanup_free_ char *ln = YAJL_IS_STRING(l) ? normalize_name(NULL, l->u.string) : NULL;
                        lm[j] = ln ? find_member(c, ln) : NULL;
                        if (lm[j] == NULL || lm[j]->w == NULL) {
                                r = hutch_error_set(err, 0, "manifest.json: layer %zu is not in the archive", j);
                                goto out;
                        }
                        types[j] = layer_media_type(sniff_compression(lm[j]->w));
                        descs[j].media_type = (char *) types[j];
                        memcpy(descs[j].digest, member_digest(lm[j]), STORAGE_DIGEST_BUFSIZE);
                        descs[j].size = (int64_t) storage_blob_writer_size(lm[j]->w);
                }
                cdesc.media_type = (char *) STORAGE_MEDIA_OCI_CONFIG;
                memcpy(cdesc.digest, member_digest(cm), STORAGE_DIGEST_BUFSIZE);
                cdesc.size = (int64_t) storage_blob_writer_size(cm->w);
                manifest = storage_manifest_generate(&cdesc, descs, n, &mlen);
                r = install_image(c, manifest, mlen, cm, lm, types, n, names, &img, err);
                if (r < 0) {
                        hutch_error_prefix(err, "image %zu of manifest.json", i + 1);
                        goto out;
                }
                images_push(out, &img);
        }
out:
        yajl_tree_free(root);
        return r;
}

/* ---- oci-archive ---- */

static struct member *find_blob(struct load_ctx *c, const struct storage_descriptor *d, struct hutch_error **err)
{
        _cleanup_free_ char *name = xasprintf("blobs/sha256/%s", storage_digest_hex(d->digest));
        struct member *m = find_member(c, name);

        if (m == NULL || m->w == NULL) {
                hutch_error_set(err, 0, "blob %s is not in the archive", d->digest);
                return NULL;
        }
        if (!STREQ(member_digest(m), d->digest)) {
                hutch_error_set(err, 0, "blob %s in the archive has the wrong content (it hashes to %s)", d->digest,
                                member_digest(m));
                return NULL;
        }
        if ((uint64_t) d->size != storage_blob_writer_size(m->w)) {
                hutch_error_set(err, 0, "blob %s in the archive has %llu bytes, not %lld", d->digest,
                                (unsigned long long) storage_blob_writer_size(m->w), (long long) d->size);
                return NULL;
        }
        return m;
}

static int load_oci_manifest(struct load_ctx *c, const struct storage_descriptor *d, const char *name,
                             struct storage_images *out, struct hutch_error **err)
{
        _cleanup_(storage_manifest_free_cleanup) struct storage_manifest *man = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ struct member **lm = NULL;
        _cleanup_free_ const char **types = NULL;
        _cleanup_strv_ char **names = NULL;
        struct storage_image img = { 0 };
        struct member *mm, *cm;
        size_t len;
        int r;

        if (name) {
                r = archive_name(name, &names, err);
                if (r < 0)
                        return r;
        }
        mm = find_blob(c, d, err);
        if (mm == NULL)
                return -ENOENT;
        r = member_bytes(mm, STORAGE_MANIFEST_MAX_BYTES, &buf, &len, err);
        if (r < 0)
                return r;
        r = storage_manifest_parse(buf, len, d->media_type, &man, err);
        if (r < 0)
                return r;
        cm = find_blob(c, &man->config, err);
        if (cm == NULL)
                return -ENOENT;
        lm = xcalloc(man->n_layers + 1, sizeof(*lm));
        types = xcalloc(man->n_layers + 1, sizeof(*types));
        for (size_t i = 0; i < man->n_layers; i++) {
                lm[i] = find_blob(c, &man->layers[i], err);
                if (lm[i] == NULL)
                        return -ENOENT;
                types[i] = man->layers[i].media_type;
        }
        r = install_image(c, buf, len, cm, lm, types, man->n_layers, names, &img, err);
        if (r < 0)
                return r;
        images_push(out, &img);
        return 0;
}

static int load_oci(struct load_ctx *c, struct member *layout, struct member *index, struct storage_images *out,
                    struct hutch_error **err)
{
        _cleanup_(storage_index_free_cleanup) struct storage_index *idx = NULL;
        yajl_val v;
        const char *ver;
        int r;

        v = hutch_json_parse(layout->data, layout->len, err);
        if (v == NULL)
                return hutch_error_prefix(err, "oci-layout");
        ver = hutch_json_get_string(v, "imageLayoutVersion");
        r = ver && STREQ(ver, "1.0.0") ? 0 : hutch_error_set(err, 0, "oci-layout: imageLayoutVersion is not 1.0.0");
        yajl_tree_free(v);
        if (r < 0)
                return r;
        r = storage_index_parse(index->data, index->len, NULL, &idx, err);
        if (r < 0)
                return hutch_error_prefix(err, "index.json");
        if (idx->n_manifests == 0)
                return hutch_error_set(err, 0, "index.json lists no image");
        size_t first = 0, last = idx->n_manifests;
        if (c->select) {
                size_t found = 0, k = 0;
                for (size_t i = 0; i < idx->n_manifests; i++) {
                        const char *ref = idx->manifests[i].ref_name;
                        if (c->select_tag == NULL || (ref && STREQ(ref, c->select_tag))) {
                                found++;
                                k = i;
                        }
                }
                if (found == 0)
                        return hutch_error_set(err, 0, "no image tagged '%s' in index.json", c->select_tag);
                if (found > 1)
                        return hutch_error_set(err, 0, "%zu images %s in index.json: name one with :TAG", found,
                                               c->select_tag ? "have that tag" : "");
                first = k;
                last = k + 1;
        }
        for (size_t i = first; i < last; i++) {
                const struct storage_descriptor *d = &idx->manifests[i];
                const char *name = c->select ? c->record_name : d->ref_name;
                if (STREQ(d->media_type, STORAGE_MEDIA_OCI_INDEX) || STREQ(d->media_type, STORAGE_MEDIA_DOCKER_LIST)) {
                        /* a multi-platform image: take this machine's */
                        _cleanup_(storage_index_free_cleanup) struct storage_index *sub = NULL;
                        _cleanup_free_ char *buf = NULL;
                        const struct storage_descriptor *pick = NULL;
                        struct member *m = find_blob(c, d, err);
                        size_t len;
                        if (m == NULL)
                                return -ENOENT;
                        r = member_bytes(m, STORAGE_MANIFEST_MAX_BYTES, &buf, &len, err);
                        if (r < 0)
                                return r;
                        r = storage_index_parse(buf, len, d->media_type, &sub, err);
                        if (r < 0)
                                return r;
                        for (size_t j = 0; j < sub->n_manifests && !pick; j++) {
                                const struct storage_descriptor *s = &sub->manifests[j];
                                if (s->platform_os && STREQ(s->platform_os, "linux") && s->platform_arch &&
                                    STREQ(s->platform_arch, storage_host_arch()))
                                        pick = s;
                        }
                        if (pick == NULL)
                                return hutch_error_set(err, 0, "index %s has no image for linux/%s", d->digest,
                                                       storage_host_arch());
                        r = load_oci_manifest(c, pick, name, out, err);
                } else {
                        r = load_oci_manifest(c, d, name, out, err);
                }
                if (r < 0)
                        return hutch_error_prefix(err, "image %s", d->digest);
        }
        return 0;
}

int storage_archive_load(struct storage_store *s, int fd, const struct storage_unpack_options *uopts,
                         struct storage_images *ret_loaded, struct hutch_error **err)
{
        struct load_ctx c = { .s = s };
        struct storage_images loaded = { 0 };
        struct member *mj, *layout, *index;
        int r;

        if (uopts)
                c.uopts = *uopts;
        r = storage_store_mkdtemp(s, "load", &c.tmp_rel, err);
        if (r < 0)
                return r;
        r = stage_members(&c, fd, err);
        if (r < 0)
                goto out;
        mj = find_member(&c, "manifest.json");
        layout = find_member(&c, "oci-layout");
        index = find_member(&c, "index.json");
        if (mj && mj->data)
                r = load_docker(&c, mj, &loaded, err);
        else if (layout && layout->data && index && index->data)
                r = load_oci(&c, layout, index, &loaded, err);
        else
                r = hutch_error_set(err, 0,
                                    "not a docker-archive or oci-archive: no manifest.json, or no oci-layout and "
                                    "index.json");
        if (r < 0)
                goto out;
        r = commit_staged(&c, &loaded, err);
        if (r < 0)
                goto out;
        r = commit_records(s, &loaded, err);
        if (r < 0)
                goto out;
        *ret_loaded = loaded;
        loaded = (struct storage_images){ 0 };
out:
        storage_images_clear(&loaded);
        load_ctx_clear(&c);
        return r;
}

/* ---- import ---- */

int storage_archive_import(struct storage_store *s, int fd, const struct storage_image_config *cfg, const char *name,
                           const struct storage_unpack_options *uopts, struct storage_image *ret,
                           struct hutch_error **err)
{
        struct load_ctx c = { .s = s };
        _cleanup_free_ char *buf = xmalloc(IO_BLOCK), *config = NULL, *manifest = NULL;
        _cleanup_free_ char *created = storage_now_rfc3339();
        struct storage_image_config gen;
        struct storage_images loaded = { 0 };
        struct storage_descriptor cdesc = { 0 }, ldesc = { 0 };
        struct storage_blob_writer *w = NULL;
        struct member m = { 0 };
        struct member *lm[1];
        const char *types[1];
        char *diff_ids[2] = { NULL, NULL };
        char diff_id[STORAGE_DIGEST_BUFSIZE], chain[1][STORAGE_DIGEST_BUFSIZE];
        _cleanup_strv_ char **names = NULL;
        struct storage_image img = { 0 };
        size_t clen, mlen;
        uint64_t usize = 0;
        int r;

        if (uopts)
                c.uopts = *uopts;
        r = storage_store_mkdtemp(s, "import", &c.tmp_rel, err);
        if (r < 0)
                return r;
        r = storage_blob_writer_new(s, NULL, &w, err);
        if (r < 0)
                goto out;
        c.m = xzalloc(sizeof(*c.m));
        c.m[0] = (struct member){ .name = xstrdup("layer"), .w = w };
        c.n = 1;
        for (;;) {
                ssize_t n = read(fd, buf, IO_BLOCK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = hutch_error_set(err, errno, "read the tarball");
                        goto out;
                }
                if (n == 0)
                        break;
                r = storage_blob_writer_write(w, buf, (size_t) n, err);
                if (r < 0)
                        goto out;
        }
        r = storage_blob_writer_finish(w, err);
        if (r < 0)
                goto out;
        {
                _cleanup_close_ int rfd = storage_blob_writer_reopen(w, err);
                if (rfd < 0) {
                        r = rfd;
                        goto out;
                }
                r = hash_uncompressed(rfd, diff_id, &usize, err);
                if (r < 0)
                        goto out;
        }
        /* The config: the caller's settings and our layer. */
        gen = *cfg;
        diff_ids[0] = diff_id;
        gen.diff_ids = diff_ids;
        gen.n_diff_ids = 1;
        gen.created = created;
        config = storage_config_generate(&gen, &clen);
        m = (struct member){ .name = xstrdup("config") };
        r = storage_blob_writer_new(s, NULL, &m.w, err);
        if (r < 0)
                goto out_m;
        r = storage_blob_writer_write(m.w, config, clen, err);
        if (r >= 0)
                r = storage_blob_writer_finish(m.w, err);
        if (r < 0)
                goto out_m;
        types[0] = layer_media_type(sniff_compression(w));
        ldesc.media_type = (char *) types[0];
        memcpy(ldesc.digest, storage_blob_writer_digest(w), STORAGE_DIGEST_BUFSIZE);
        ldesc.size = (int64_t) storage_blob_writer_size(w);
        cdesc.media_type = (char *) STORAGE_MEDIA_OCI_CONFIG;
        memcpy(cdesc.digest, storage_blob_writer_digest(m.w), STORAGE_DIGEST_BUFSIZE);
        cdesc.size = (int64_t) clen;
        manifest = storage_manifest_generate(&cdesc, &ldesc, 1, &mlen);
        if (name)
                hutch_strv_append(&names, name);
        lm[0] = &c.m[0];
        storage_chain_ids(diff_ids, 1, chain);
        r = install_image(&c, manifest, mlen, &m, lm, types, 1, names, &img, err);
        if (r < 0)
                goto out_m;
        images_push(&loaded, &img);
        r = commit_staged(&c, &loaded, err);
        if (r < 0)
                goto out_m;
        r = commit_records(s, &loaded, err);
        if (r < 0)
                goto out_m;
        storage_image_copy(&loaded.v[0], ret);
out_m:
        free(m.name);
        storage_blob_writer_free(m.w);
out:
        storage_images_clear(&loaded);
        load_ctx_clear(&c);
        return r;
}

/* ---- OCI image layout directories ---- */

int storage_layout_load(struct storage_store *s, const char *path, const char *tag, const char *name,
                        const struct storage_unpack_options *uopts, struct storage_images *ret_loaded,
                        struct hutch_error **err)
{
        struct load_ctx c = { .s = s, .from_dir = true, .select = true, .select_tag = tag, .record_name = name };
        struct storage_images loaded = { 0 };
        struct member *layout, *index;
        int r;

        if (uopts)
                c.uopts = *uopts;
        c.m = xcalloc(STORAGE_ARCHIVE_MAX_MEMBERS, sizeof(*c.m));
        c.dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c.dir_fd < 0) {
                r = hutch_error_set(err, errno, "OCI layout '%s'", path);
                goto out;
        }
        r = storage_store_mkdtemp(s, "load", &c.tmp_rel, err);
        if (r < 0)
                goto out;
        layout = find_member(&c, "oci-layout");
        index = find_member(&c, "index.json");
        if (layout == NULL || index == NULL) {
                r = hutch_error_set(err, 0, "'%s' is not an OCI image layout (no %s)", path,
                                    layout ? "index.json" : "oci-layout");
                goto out;
        }
        r = load_oci(&c, layout, index, &loaded, err);
        if (r >= 0)
                r = commit_staged(&c, &loaded, err);
        if (r >= 0)
                r = commit_records(s, &loaded, err);
        if (r < 0) {
                hutch_error_prefix(err, "OCI layout '%s'", path);
                goto out;
        }
        *ret_loaded = loaded;
        loaded = (struct storage_images){ 0 };
out:
        storage_images_clear(&loaded);
        load_ctx_clear(&c);
        return r;
}

/* ---- dir: (containers/image's directory transport) ---- */

int storage_dir_load(struct storage_store *s, const char *path, const char *name,
                     const struct storage_unpack_options *uopts, struct storage_images *ret_loaded,
                     struct hutch_error **err)
{
        struct load_ctx c = { .s = s, .from_dir = true, .flat = true };
        _cleanup_(storage_manifest_free_cleanup) struct storage_manifest *man = NULL;
        _cleanup_free_ struct member **lm = NULL;
        _cleanup_free_ const char **types = NULL;
        _cleanup_strv_ char **names = NULL;
        struct storage_images loaded = { 0 };
        struct storage_image img = { 0 };
        struct member *mm, *cm = NULL;
        int r;

        if (uopts)
                c.uopts = *uopts;
        c.m = xcalloc(STORAGE_ARCHIVE_MAX_MEMBERS, sizeof(*c.m));
        c.dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c.dir_fd < 0) {
                r = hutch_error_set(err, errno, "directory '%s'", path);
                goto out;
        }
        r = storage_store_mkdtemp(s, "load", &c.tmp_rel, err);
        if (r < 0)
                goto out;
        mm = find_member(&c, "manifest.json");
        if (mm == NULL) {
                r = hutch_error_set(err, 0, "'%s' has no manifest.json", path);
                goto out;
        }
        r = storage_manifest_parse(mm->data, mm->len, NULL, &man, err);
        if (r < 0) {
                hutch_error_prefix(err, "manifest.json");
                goto out;
        }
        lm = xcalloc(man->n_layers + 1, sizeof(*lm));
        types = xcalloc(man->n_layers + 1, sizeof(*types));
        for (size_t i = 0; i <= man->n_layers && r >= 0; i++) {
                const struct storage_descriptor *d = i < man->n_layers ? &man->layers[i] : &man->config;
                struct member *m = find_member(&c, storage_digest_hex(d->digest));
                if (m == NULL || m->w == NULL)
                        r = hutch_error_set(err, 0, "blob %s is not in the directory", d->digest);
                else if (!STREQ(member_digest(m), d->digest))
                        r = hutch_error_set(err, 0, "blob %s in the directory has the wrong content (it hashes to %s)",
                                            d->digest, member_digest(m));
                else if ((uint64_t) d->size != storage_blob_writer_size(m->w))
                        r = hutch_error_set(err, 0, "blob %s in the directory has %llu bytes, not %lld", d->digest,
                                            (unsigned long long) storage_blob_writer_size(m->w), (long long) d->size);
                if (r < 0)
                        break;
                if (i < man->n_layers) {
                        lm[i] = m;
                        types[i] = d->media_type;
                }
                cm = m;
        }
        if (r < 0)
                goto out;
        if (name)
                hutch_strv_append(&names, name);
        r = install_image(&c, mm->data, mm->len, cm, lm, types, man->n_layers, names, &img, err);
        if (r >= 0) {
                images_push(&loaded, &img);
                r = commit_staged(&c, &loaded, err);
        }
        if (r >= 0)
                r = commit_records(s, &loaded, err);
        if (r < 0)
                goto out;
        *ret_loaded = loaded;
        loaded = (struct storage_images){ 0 };
out:
        if (r < 0)
                hutch_error_prefix(err, "dir '%s'", path);
        storage_images_clear(&loaded);
        load_ctx_clear(&c);
        return r;
}

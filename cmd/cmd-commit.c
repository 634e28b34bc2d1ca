/* hutch commit, hutch diff and hutch history: a container's changes, and
 * images made of them.
 *
 * Both read the container's own layer from inside the storage user
 * namespace (cmd_storage_in_userns), where its files have the owners the
 * container sees.  A running container is read as it is: there is no
 * freezer to pause it with (Docker pauses it by default), so a file it
 * writes meanwhile may be caught half-written. */
#include "config.h"

#include "cmd/cmd-storage.h"
#include "cmd/commit.h"
#include "cmd/image-change.h"
#include "cmd/parse-opts.h"
#include "cmd/paths.h"
#include "cmd/run.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/diff.h"
#include "storage/images.h"
#include "storage/manifest.h"
#include "storage/reference.h"
#include "storage/unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The container's layer and its image's layers, opened. */
struct sources {
        int upper_fd;
        int *lower_fds;
        size_t n_lower;
        bool full_copy;
};

static void sources_clear(struct sources *s)
{
        if (s->upper_fd >= 0)
                (void) close(s->upper_fd);
        for (size_t i = 0; i < s->n_lower; i++)
                (void) close(s->lower_fds[i]);
        free(s->lower_fds);
        *s = (struct sources){ .upper_fd = -1 };
}

static int sources_open(struct storage_store *s, const char *root, const struct storage_container *ct,
                        const struct storage_image *img, struct sources *ret, struct hutch_error **err)
{
        _cleanup_free_ char *upper = storage_container_path(root, ct->id, "upper");
        _cleanup_free_ char *copied = storage_container_path(root, ct->id, "copied");
        struct sources x = { .upper_fd = -1 };

        x.upper_fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (x.upper_fd < 0)
                return hutch_error_set(err, errno, "open the layer of container '%s'", ct->name);
        /* the copy driver (chosen or fallen back to) marks its whole-tree copy */
        x.full_copy = access(copied, F_OK) == 0;
        x.lower_fds = xcalloc(img->n_layers + 1, sizeof(int));
        for (size_t i = img->n_layers; i-- > 0;) {
                _cleanup_free_ char *p = storage_store_layer_path(s, img->layers[i].chain_id);
                int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        int e = errno;
                        sources_clear(&x);
                        return hutch_error_set(err, e, "open layer %s of image %.12s", img->layers[i].chain_id,
                                               img->id);
                }
                x.lower_fds[x.n_lower++] = fd;
        }
        *ret = x;
        return 0;
}

/* The container's image, as the records hold it now. */
static int find_image(struct storage_store *s, const struct storage_container *ct, struct storage_images *imgs,
                      struct storage_image **ret, struct hutch_error **err)
{
        int r, k;

        if (ct->image_id == NULL)
                return hutch_error_set(err, 0, "container '%s' runs a --rootfs directory, not an image", ct->name);
        r = storage_images_read(s, imgs, err);
        if (r < 0)
                return r;
        k = storage_images_find_id(imgs, ct->image_id);
        if (k < 0)
                return hutch_error_set(err, ENOENT,
                                       "the image of container '%s' (%.12s, '%s') was removed: its changes have no "
                                       "base to apply to",
                                       ct->name, ct->image_id, ct->image ? ct->image : "");
        *ret = &imgs->v[k];
        return 0;
}

/* ---- diff ---- */

enum { OPT_FORMAT = 0x100, OPT_CHANGE = 'c', OPT_MESSAGE = 'm', OPT_AUTHOR = 'a', OPT_QUIET = 'q', OPT_NOTRUNC };

const struct cmd_option cmd_diff_options[] = {
        { "format", 0, required_argument, "FORMAT", "json: {\"changed\": [...], \"added\": [...], \"deleted\": [...]}",
          OPT_FORMAT },
        { 0 },
};

struct diff_job {
        const char *root;
        struct storage_container ct;
        bool json;
};

/* Prints g's document (freeing g) on a line of its own. */
static void print_json(yajl_gen g)
{
        size_t len;
        _cleanup_free_ char *text = hutch_json_gen_steal(g, &len);
        yajl_gen_free(g);
        fwrite(text, 1, len, stdout);
        if (len == 0 || text[len - 1] != '\n')
                putchar('\n');
}

static void print_changes_json(const struct storage_changes *c)
{
        static const struct {
                const char *key;
                char kind;
        } groups[] = { { "changed", STORAGE_CHANGE_MODIFY },
                       { "added", STORAGE_CHANGE_ADD },
                       { "deleted", STORAGE_CHANGE_DELETE } };
        yajl_gen g = yajl_gen_alloc(NULL);

        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_map_open(g);
        for (size_t k = 0; k < ARRAY_SIZE(groups); k++) {
                bool any = false;
                for (size_t i = 0; i < c->n && !any; i++)
                        any = c->v[i].kind == groups[k].kind;
                if (!any)
                        continue;
                hutch_json_gen_string(g, groups[k].key);
                yajl_gen_array_open(g);
                for (size_t i = 0; i < c->n; i++)
                        if (c->v[i].kind == groups[k].kind)
                                hutch_json_gen_string(g, c->v[i].path);
                yajl_gen_array_close(g);
        }
        yajl_gen_map_close(g);
        print_json(g);
}

static int diff_in_userns(void *p)
{
        struct diff_job *j = p;
        struct hutch_error *err = NULL;
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        struct storage_images imgs = { 0 };
        struct storage_image *img = NULL;
        struct sources src = { .upper_fd = -1 };
        struct storage_changes ch = { 0 };
        int r;

        r = storage_store_open(j->root, STORAGE_STORE_READ, &s, &err);
        if (r >= 0)
                r = find_image(s, &j->ct, &imgs, &img, &err);
        if (r >= 0)
                r = sources_open(s, j->root, &j->ct, img, &src, &err);
        if (r >= 0) {
                struct storage_diff_source ds = { src.upper_fd, src.lower_fds, src.n_lower, src.full_copy };
                r = storage_diff(&ds, NULL, &ch, &err);
        }
        sources_clear(&src);
        storage_images_clear(&imgs);
        if (r < 0) {
                hutch_error_prefix(&err, "diff");
                return cmd_storage_report(err);
        }
        if (j->json)
                print_changes_json(&ch);
        else
                for (size_t i = 0; i < ch.n; i++)
                        printf("%c %s\n", ch.v[i].kind, ch.v[i].path);
        storage_changes_clear(&ch);
        return 0;
}

int cmd_diff(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        struct diff_job j = { .root = root };
        char *optval = NULL;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_FORMAT) {
                        if (!STREQ(optval, "json"))
                                return cmd_usage_error(cmd, err, "unknown --format '%s' (json)", optval);
                        j.json = true;
                }
        }
        if (optind + 1 != argc)
                return cmd_usage_error(cmd, err, "'%s' needs exactly one CONTAINER", cmd->full_name);
        r = storage_container_find(root, argv[optind], &j.ct, err);
        if (r < 0)
                return r;
        r = cmd_storage_in_userns(diff_in_userns, &j, false, err);
        storage_container_clear(&j.ct);
        return r;
}

/* ---- commit ---- */

/* What the child in the user namespace hands back (shared memory). */
struct commit_result {
        int status; /* 0: done; else an errno */
        char id[STORAGE_DIGEST_HEX_LEN + 1];
        char msg[4096];
};

struct commit_job {
        const char *root;
        const struct storage_container *ct;
        const struct cmd_commit_options *o;
        const char *name; /* normalized, or NULL */
        struct commit_result *res;
};

/* OCI media types for the layers of our OCI manifest (same bytes). */
static const char *oci_layer_type(const char *t)
{
        if (t == NULL || STREQ(t, STORAGE_MEDIA_DOCKER_LAYER_GZIP))
                return STORAGE_MEDIA_OCI_LAYER_GZIP;
        if (STREQ(t, STORAGE_MEDIA_DOCKER_LAYER))
                return STORAGE_MEDIA_OCI_LAYER;
        return t;
}

/* The tar streams into the blob writer, which hashes it: no staging copy. */
struct blob_sink {
        struct storage_blob_writer *w;
        struct hutch_error *err;
};

static ssize_t sink_write(void *data, const void *buf, size_t len)
{
        struct blob_sink *k = data;
        int r = storage_blob_writer_write(k->w, buf, len, &k->err);

        if (r < 0) {
                errno = -r;
                return -1;
        }
        return (ssize_t) len;
}

/* Writes the container's changes as a layer tar into a new blob writer. */
static int write_layer_blob(struct storage_store *s, const struct sources *src, struct storage_blob_writer **ret,
                            struct hutch_error **err)
{
        _cleanup_(storage_tar_writer_free_cleanup) struct storage_tar_writer *tar = NULL;
        _cleanup_(storage_blob_writer_free_cleanup) struct storage_blob_writer *w = NULL;
        struct storage_changes ch = { 0 };
        struct storage_diff_source ds = { src->upper_fd, src->lower_fds, src->n_lower, src->full_copy };
        struct blob_sink k = { 0 };
        int r;

        r = storage_blob_writer_new(s, NULL, &w, err);
        if (r < 0)
                return r;
        k.w = w;
        r = storage_tar_writer_new(-1, sink_write, &k, &tar, err);
        if (r >= 0)
                r = storage_diff(&ds, tar, &ch, err);
        storage_changes_clear(&ch);
        if (r >= 0)
                r = storage_tar_writer_finish(tar, err);
        /* before w: an unfinished archive writes its end on the way out */
        tar = storage_tar_writer_free(tar);
        if (r < 0 && k.err && err) {
                /* the store's own error (a full disk) says more than libarchive's */
                hutch_error_free(*err);
                *err = steal_ptr(&k.err);
        }
        hutch_error_free(k.err);
        if (r >= 0)
                r = storage_blob_writer_finish(w, err);
        if (r >= 0)
                *ret = steal_ptr(&w);
        return r;
}

/* The new config: the image's, changed, with the layer and history added. */
/* What `run` gave the container over its image, as Docker's commit keeps
 * it: the command (with --entrypoint, the command alone), -e, -u, -w. */
static void apply_run_settings(struct storage_image_config *cfg, const struct storage_container *ct)
{
        struct run_args ra = { 0 };
        struct hutch_error *e = NULL;

        if (cmd_run_container_args(ct, &ra, &e) < 0) {
                hutch_error_free(e); /* an old record: the image's config as it is */
                cmd_run_args_clear(&ra);
                return;
        }
        if (ra.entrypoint) {
                /* --entrypoint '' leaves none */
                hutch_strv_free(cfg->entrypoint);
                cfg->entrypoint = NULL;
                cfg->has_entrypoint = *ra.entrypoint != '\0';
                if (cfg->has_entrypoint) {
                        cfg->entrypoint = xcalloc(2, sizeof(char *));
                        cfg->entrypoint[0] = xstrdup(ra.entrypoint);
                }
                hutch_strv_free(cfg->cmd);
                cfg->cmd = hutch_strv_copy(ra.args);
                cfg->has_cmd = ra.args != NULL;
        } else if (ra.args && ra.args[0]) {
                hutch_strv_free(cfg->cmd);
                cfg->cmd = hutch_strv_copy(ra.args);
                cfg->has_cmd = true;
        }
        for (size_t i = 0; ra.env && ra.env[i]; i++)
                if (strchr(ra.env[i], '='))
                        cmd_env_set(&cfg->env, ra.env[i]);
        if (ra.user) {
                free(cfg->user);
                cfg->user = xstrdup(ra.user);
        }
        if (ra.workdir) {
                free(cfg->working_dir);
                cfg->working_dir = xstrdup(ra.workdir);
        }
        cmd_run_args_clear(&ra);
}

static char *make_config(struct storage_store *s, const struct storage_image *img, const struct storage_container *ct,
                         const struct cmd_commit_options *o, const char *diff_id, size_t *ret_len,
                         struct hutch_error **err)
{
        _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *cfg = NULL;
        _cleanup_free_ char *buf = NULL, *created = storage_now_rfc3339(), *by = NULL;
        size_t len;

        if (storage_blob_read(s, img->config, STORAGE_CONFIG_MAX_BYTES, &buf, &len, err) < 0 ||
            storage_config_parse(buf, len, &cfg, err) < 0) {
                hutch_error_prefix(err, "the config of image %.12s", img->id);
                return NULL;
        }
        if (!o->keep_image_config)
                apply_run_settings(cfg, ct);
        for (char **c = o->changes; c && *c; c++)
                if (cmd_image_change_apply(cfg, *c, err) < 0)
                        return NULL;
        free(cfg->created);
        cfg->created = xstrdup(created);
        if (o->author) {
                free(cfg->author);
                cfg->author = xstrdup(o->author);
        }
        cfg->diff_ids = xreallocarray(cfg->diff_ids, cfg->n_diff_ids + 2, sizeof(char *));
        cfg->diff_ids[cfg->n_diff_ids++] = xstrdup(diff_id);
        cfg->diff_ids[cfg->n_diff_ids] = NULL;
        if (o->created_by)
                by = xstrdup(o->created_by);
        else if (ct->command && ct->command[0])
                by = hutch_strv_join(ct->command, " ");
        else
                by = xstrdup("hutch commit");
        storage_config_add_history(cfg, created, by, o->author, o->message, false);
        return storage_config_generate(cfg, ret_len);
}

static int commit_image(struct commit_job *j, char ret_id[STORAGE_DIGEST_HEX_LEN + 1], struct hutch_error **err)
{
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        _cleanup_(storage_blob_writer_free_cleanup) struct storage_blob_writer *w = NULL;
        _cleanup_free_ char *config = NULL, *manifest = NULL, *layer_path = NULL;
        _cleanup_free_ struct storage_descriptor *descs = NULL;
        _cleanup_free_ char(*chain)[STORAGE_DIGEST_BUFSIZE] = NULL;
        _cleanup_free_ char **diff_ids = NULL;
        struct storage_images imgs = { 0 };
        struct storage_image *base = NULL, img = { 0 };
        struct storage_descriptor cdesc = { 0 };
        struct sources src = { .upper_fd = -1 };
        char layer_digest[STORAGE_DIGEST_BUFSIZE];
        size_t clen, mlen, n;
        int r;

        r = storage_store_open(j->root, STORAGE_STORE_WRITE, &s, err);
        if (r < 0)
                return r;
        r = find_image(s, j->ct, &imgs, &base, err);
        if (r >= 0)
                r = sources_open(s, j->root, j->ct, base, &src, err);
        if (r >= 0)
                r = write_layer_blob(s, &src, &w, err);
        sources_clear(&src);
        if (r < 0)
                goto out;
        /* uncompressed: the blob is the diff */
        memcpy(layer_digest, storage_blob_writer_digest(w), sizeof(layer_digest));
        n = base->n_layers + 1;
        diff_ids = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < base->n_layers; i++)
                diff_ids[i] = base->layers[i].diff_id;
        diff_ids[n - 1] = layer_digest;
        chain = xcalloc(n, sizeof(*chain));
        storage_chain_ids(diff_ids, n, chain);

        /* blob, layer tree, config, manifest, and the record last: until the
         * record names them a killed commit leaves only what gc collects */
        r = storage_blob_writer_commit(w, err);
        if (r < 0)
                goto out;
        layer_path = storage_store_layer_path(s, chain[n - 1]);
        if (!storage_store_layer_exists(s, chain[n - 1])) {
                struct storage_unpack_result res;
                _cleanup_close_ int fd = storage_blob_writer_reopen(w, err);
                if (fd < 0) {
                        r = fd;
                        goto out;
                }
                r = storage_layer_unpack_dir(fd, layer_path, NULL, &res, err);
                if (r == -EEXIST) {
                        hutch_error_clear(err);
                        r = 0;
                } else if (r >= 0 && !STREQ(res.diff_id, layer_digest)) {
                        r = hutch_error_set(err, 0, "the new layer reads back as %s, not %s", res.diff_id,
                                            layer_digest);
                }
                if (r < 0)
                        goto out;
        }
        config = make_config(s, base, j->ct, j->o, layer_digest, &clen, err);
        if (config == NULL) {
                r = -EINVAL;
                goto out;
        }
        r = storage_blob_put(s, config, clen, cdesc.digest, err);
        if (r < 0)
                goto out;
        cdesc.media_type = (char *) STORAGE_MEDIA_OCI_CONFIG;
        cdesc.size = (int64_t) clen;
        descs = xcalloc(n, sizeof(*descs));
        for (size_t i = 0; i < base->n_layers; i++) {
                descs[i].media_type = (char *) oci_layer_type(base->layers[i].media_type);
                memcpy(descs[i].digest, base->layers[i].blob, STORAGE_DIGEST_BUFSIZE);
                descs[i].size = base->layers[i].blob_size;
        }
        descs[n - 1].media_type = (char *) STORAGE_MEDIA_OCI_LAYER;
        memcpy(descs[n - 1].digest, layer_digest, STORAGE_DIGEST_BUFSIZE);
        descs[n - 1].size = (int64_t) storage_blob_writer_size(w);
        manifest = storage_manifest_generate(&cdesc, descs, n, &mlen);
        r = storage_blob_put(s, manifest, mlen, img.manifest, err);
        if (r < 0)
                goto out;

        memcpy(img.config, cdesc.digest, STORAGE_DIGEST_BUFSIZE);
        memcpy(img.id, storage_digest_hex(cdesc.digest), sizeof(img.id));
        img.config_size = (int64_t) clen;
        img.manifest_size = (int64_t) mlen;
        img.names = xcalloc(2, sizeof(char *));
        if (j->name)
                img.names[0] = xstrdup(j->name);
        img.loaded = (int64_t) time(NULL);
        {
                _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *pc = NULL;
                if (storage_config_parse(config, clen, &pc, err) < 0) {
                        r = -EINVAL;
                        goto out;
                }
                img.created = pc->created ? xstrdup(pc->created) : NULL;
        }
        img.layers = xcalloc(n, sizeof(*img.layers));
        for (size_t i = 0; i < n; i++) {
                struct storage_image_layer *L = &img.layers[i];
                if (i < base->n_layers) {
                        *L = base->layers[i];
                        L->media_type = xstrdup(descs[i].media_type);
                } else {
                        memcpy(L->chain_id, chain[i], STORAGE_DIGEST_BUFSIZE);
                        memcpy(L->diff_id, layer_digest, STORAGE_DIGEST_BUFSIZE);
                        memcpy(L->blob, layer_digest, STORAGE_DIGEST_BUFSIZE);
                        L->media_type = xstrdup(STORAGE_MEDIA_OCI_LAYER);
                        L->blob_size = (int64_t) storage_blob_writer_size(w);
                        L->size = L->blob_size;
                }
                img.n_layers++;
        }
        r = storage_images_record(s, &img, 1, err);
        if (r < 0)
                goto out;
        memcpy(ret_id, img.id, STORAGE_DIGEST_HEX_LEN + 1);
out:
        if (r < 0) {
                /* what this commit stored before it failed (a blob, a layer
                 * tree) is named by no record: collect it now when no other
                 * command uses the store, else a later command does */
                struct hutch_error *e = NULL;
                if (storage_images_gc(s, &e) < 0)
                        hutch_error_free(e);
        }
        storage_image_clear(&img);
        storage_images_clear(&imgs);
        return r;
}

static int commit_in_userns(void *p)
{
        struct commit_job *j = p;
        struct hutch_error *err = NULL;
        int r;

        r = commit_image(j, j->res->id, &err);
        if (r < 0) {
                j->res->status = err && err->errnum ? err->errnum : EIO;
                (void) snprintf(j->res->msg, sizeof(j->res->msg), "%s", err && err->msg ? err->msg : "failed");
                hutch_error_free(err);
                return EXIT_HUTCH_FAILED;
        }
        j->res->status = 0;
        return 0;
}

/* A REPOSITORY[:TAG] for the new image, normalized. */
static int commit_name(const char *raw, char **ret, struct hutch_error **err)
{
        struct storage_reference ref = { 0 };

        if (storage_reference_parse(raw, &ref, err) < 0)
                return hutch_error_prefix(err, "image name");
        if (ref.digest) {
                storage_reference_clear(&ref);
                return hutch_error_set(err, 0, "an image name cannot carry a digest: '%s'", raw);
        }
        *ret = storage_reference_format(&ref);
        storage_reference_clear(&ref);
        return 0;
}

int cmd_commit_container(const char *store_root, const char *container_id, const struct cmd_commit_options *o,
                         char ret_image_id[65], struct hutch_error **err)
{
        _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *probe = xzalloc(sizeof(*probe));
        _cleanup_free_ char *name = NULL;
        struct storage_container ct = { 0 };
        struct commit_result *res;
        struct commit_job j;
        int r;

        /* refuse bad input before touching anything */
        if (o->name && commit_name(o->name, &name, err) < 0)
                return -EINVAL;
        for (char **c = o->changes; c && *c; c++)
                if (cmd_image_change_apply(probe, *c, err) < 0)
                        return -EINVAL;
        r = storage_container_find(store_root, container_id, &ct, err);
        if (r < 0)
                return r;
        res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (res == MAP_FAILED) {
                storage_container_clear(&ct);
                return hutch_error_set(err, errno, "mmap");
        }
        *res = (struct commit_result){ .status = EIO };
        j = (struct commit_job){ .root = store_root, .ct = &ct, .o = o, .name = name, .res = res };
        r = cmd_storage_in_userns(commit_in_userns, &j, false, err);
        if (r >= 0 && res->status != 0)
                r = hutch_error_set(err, 0, "%s", res->msg[0] ? res->msg : "the commit failed");
        else if (r > 0)
                r = hutch_error_set(err, 0, "the commit failed (status %d)", r);
        else if (r == 0)
                memcpy(ret_image_id, res->id, STORAGE_DIGEST_HEX_LEN + 1);
        if (r < 0)
                hutch_error_prefix(err, "commit '%s'", ct.name);
        (void) munmap(res, sizeof(*res));
        storage_container_clear(&ct);
        return r;
}

const struct cmd_option cmd_commit_options[] = {
        { "change", 'c', required_argument, "INSTRUCTION",
          "apply CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR (as INSTR=VALUE or "
          "\"INSTR VALUE\")",
          OPT_CHANGE },
        { "message", 'm', required_argument, "TEXT", "the commit message (the history entry's comment)", OPT_MESSAGE },
        { "author", 'a', required_argument, "AUTHOR", "the image's author (\"Name <email>\")", OPT_AUTHOR },
        { "quiet", 'q', no_argument, NULL, "print only the image ID (the default output too)", OPT_QUIET },
        { "pause", 'p', optional_argument, "BOOL", "ignored: a running container is read as it is, not paused", 'p' },
        { 0 },
};

int cmd_commit(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        _cleanup_strv_ char **changes = NULL;
        struct cmd_commit_options o = { 0 };
        char id[STORAGE_DIGEST_HEX_LEN + 1];
        char *optval = NULL;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_CHANGE)
                        hutch_strv_append(&changes, optval);
                else if (c == OPT_MESSAGE)
                        o.message = optval;
                else if (c == OPT_AUTHOR)
                        o.author = optval;
        }
        if (optind >= argc || argc - optind > 2)
                return cmd_usage_error(cmd, err, "'%s' needs a CONTAINER and an optional REPOSITORY[:TAG]",
                                       cmd->full_name);
        o.changes = changes;
        o.name = argc - optind == 2 ? argv[optind + 1] : NULL;
        r = cmd_commit_container(root, argv[optind], &o, id, err);
        if (r < 0)
                return r;
        printf("%s\n", id);
        return 0;
}

/* ---- history ---- */

const struct cmd_option cmd_history_options[] = {
        { "no-trunc", 0, no_argument, NULL, "do not shorten CREATED BY", OPT_NOTRUNC },
        { "format", 0, required_argument, "FORMAT", "json: the config's history entries as they are", OPT_FORMAT },
        { "quiet", 'q', no_argument, NULL, "print only the creation times", OPT_QUIET },
        { 0 },
};

int cmd_history(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *cfg = NULL;
        _cleanup_free_ char *buf = NULL;
        struct storage_images imgs = { 0 };
        bool no_trunc = false, json = false, quiet = false;
        char *optval = NULL;
        size_t len;
        int c, r, k;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_NOTRUNC)
                        no_trunc = true;
                else if (c == OPT_QUIET)
                        quiet = true;
                else if (c == OPT_FORMAT) {
                        if (!STREQ(optval, "json"))
                                return cmd_usage_error(cmd, err, "unknown --format '%s' (json)", optval);
                        json = true;
                }
        }
        if (optind + 1 != argc)
                return cmd_usage_error(cmd, err, "'%s' needs exactly one IMAGE", cmd->full_name);
        r = cmd_storage_open(STORAGE_STORE_READ, &s, err);
        if (r < 0)
                return r;
        r = storage_images_read(s, &imgs, err);
        if (r < 0)
                return r;
        k = storage_images_find(&imgs, argv[optind], err);
        if (k >= 0)
                r = storage_blob_read(s, imgs.v[k].config, STORAGE_CONFIG_MAX_BYTES, &buf, &len, err);
        if (k >= 0 && r >= 0)
                r = storage_config_parse(buf, len, &cfg, err);
        storage_images_clear(&imgs);
        if (k < 0)
                return k;
        if (r < 0)
                return r;
        if (json) {
                yajl_gen g = yajl_gen_alloc(NULL);
                yajl_gen_config(g, yajl_gen_beautify, 1);
                yajl_gen_array_open(g);
                for (size_t i = cfg->n_history; i-- > 0;) {
                        const struct storage_history *h = &cfg->history[i];
                        yajl_gen_map_open(g);
                        hutch_json_gen_kv_string(g, "created", h->created ? h->created : "");
                        hutch_json_gen_kv_string(g, "created_by", h->created_by ? h->created_by : "");
                        hutch_json_gen_kv_string(g, "author", h->author ? h->author : "");
                        hutch_json_gen_kv_string(g, "comment", h->comment ? h->comment : "");
                        hutch_json_gen_string(g, "empty_layer");
                        yajl_gen_bool(g, h->empty_layer);
                        yajl_gen_map_close(g);
                }
                yajl_gen_array_close(g);
                print_json(g);
                return 0;
        }
        if (!quiet)
                printf("%-32s  %-45s  %s\n", "CREATED", "CREATED BY", "COMMENT");
        /* newest first, as docker history lists them */
        for (size_t i = cfg->n_history; i-- > 0;) {
                const struct storage_history *h = &cfg->history[i];
                const char *by = h->created_by ? h->created_by : "";
                if (quiet) {
                        printf("%s\n", h->created ? h->created : "<missing>");
                        continue;
                }
                if (!no_trunc && strlen(by) > 45)
                        printf("%-32s  %.42s...  %s\n", h->created ? h->created : "<missing>", by,
                               h->comment ? h->comment : "");
                else
                        printf("%-32s  %-45s  %s\n", h->created ? h->created : "<missing>", by,
                               h->comment ? h->comment : "");
        }
        return 0;
}

/* hutch pull, login, logout.
 *
 * A pull runs in the storage user namespace: the manifest (choosing the
 * host's platform from an index), the config, then the layers, several at
 * a time, each streamed from the registry through its sha256 check into
 * the blob store and, through a pipe, into the unpacker: no temporary
 * tarball.  Each layer goes into layers/ as soon as its digest and diff ID
 * checked out, so an interrupted pull resumes with the layers it finished;
 * the image record is written last. */
#include "config.h"

#include "cmd/cmd-pull.h"
#include "cmd/cmd-storage.h"
#include "cmd/progress.h"
#include "cmd/transport.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/archive.h"
#include "storage/auth.h"
#include "storage/images.h"
#include "storage/manifest.h"
#include "storage/reference.h"
#include "storage/registries.h"
#include "storage/registry.h"
#include "storage/unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PULL_MAX_PARALLEL 6

enum {
        OPT_QUIET = 'q',
        OPT_CREDS = 0x100,
        OPT_AUTHFILE,
        OPT_TLS_VERIFY,
        OPT_CERT_DIR,
        OPT_PLATFORM,
        OPT_ARCH,
        OPT_OS,
        OPT_VARIANT,
        OPT_USERNAME = 'u',
        OPT_PASSWORD = 'p',
        OPT_PASSWORD_STDIN,
        OPT_ALL,
};

const struct cmd_option cmd_pull_options[] = {
        { "quiet", 'q', no_argument, NULL, "print only the image ID", OPT_QUIET },
        { "creds", 0, required_argument, "USER[:PASS]", "credentials for the registry", OPT_CREDS },
        { "authfile", 0, required_argument, "FILE", "credentials file (default: as podman)", OPT_AUTHFILE },
        { "tls-verify", 0, optional_argument, "BOOL", "check the registry's TLS certificate (default: true)",
          OPT_TLS_VERIFY },
        { "cert-dir", 0, required_argument, "DIR", "CA certificates (*.crt) and client certificates", OPT_CERT_DIR },
        { "platform", 0, required_argument, "OS/ARCH[/VARIANT]", "platform to choose from a multi-arch image",
          OPT_PLATFORM },
        { "arch", 0, required_argument, "ARCH", "architecture to choose (default: this machine's)", OPT_ARCH },
        { "os", 0, required_argument, "OS", "operating system to choose (default: linux)", OPT_OS },
        { "variant", 0, required_argument, "VARIANT", "architecture variant to choose", OPT_VARIANT },
        { 0 },
};

/* ---- options shared by pull, push and login ---- */

void cmd_net_opts_clear(struct cmd_net_opts *n)
{
        free(n->user);
        if (n->password)
                explicit_bzero(n->password, strlen(n->password));
        free(n->password);
}

int cmd_parse_tls_verify(const struct cmd_command *cmd, const char *v, struct cmd_net_opts *n, struct hutch_error **err)
{
        bool b = true;

        if (v && hutch_parse_bool(v, &b) < 0)
                return cmd_usage_error(cmd, err, "invalid --tls-verify '%s' (true or false)", v);
        n->tls_verify = b;
        n->tls_verify_set = true;
        return 0;
}

/* The registry a name is pulled from (or pushed to), after registries.conf. */
int cmd_registry_client(const char *host, const struct cmd_net_opts *n, const char *repository,
                        const struct registries_conf *conf, bool push, struct registry_client **ret,
                        struct hutch_error **err)
{
        struct registry_options o = { .tls_verify = n->tls_verify, .cert_dir = n->cert_dir, .push = push };
        _cleanup_free_ char *user = NULL, *pass = NULL;
        const struct registries_entry *e = conf ? registries_conf_find(conf, host, repository) : NULL;
        int r;

        if (e && e->insecure && !n->tls_verify_set) {
                o.tls_verify = false;
        }
        if (n->user) {
                o.username = n->user;
                o.password = n->password ? n->password : "";
        } else {
                r = registry_auth_lookup(n->authfile, host, repository, &user, &pass, err);
                if (r < 0)
                        return r;
                o.username = user;
                o.password = pass;
        }
        r = registry_client_new(host, &o, ret, err);
        if (pass)
                explicit_bzero(pass, strlen(pass));
        return r;
}

/* ---- platform ---- */

struct platform {
        const char *os, *arch, *variant;
};

static int choose_manifest(const struct storage_index *idx, const struct platform *p, const char **ret_digest,
                           struct hutch_error **err)
{
        int best = -1, best_score = -1;

        for (size_t i = 0; i < idx->n_manifests; i++) {
                const struct storage_descriptor *d = &idx->manifests[i];
                int score = 1;
                if (d->platform_os == NULL || d->platform_arch == NULL)
                        continue;
                if (!STREQ(d->platform_os, p->os) || !STREQ(d->platform_arch, p->arch))
                        continue;
                if (p->variant) {
                        if (d->platform_variant == NULL || !STREQ(d->platform_variant, p->variant))
                                continue;
                        score = 2;
                } else if (d->platform_variant == NULL) {
                        score = 2;
                }
                if (score > best_score) {
                        best = (int) i;
                        best_score = score;
                }
        }
        if (best < 0)
                return hutch_error_set(err, 0, "no image for platform %s/%s%s%s in the manifest list", p->os, p->arch,
                                       p->variant ? "/" : "", p->variant ? p->variant : "");
        *ret_digest = idx->manifests[best].digest;
        return 0;
}

/* ---- layers ---- */

struct layer_job {
        struct registry_client *client;
        const char *repository;
        struct storage_store *store;
        const struct storage_descriptor *desc;
        const char *diff_id, *chain_id;
        const char *tmp_rel;
        size_t index;
        bool unpack; /* false: the layer is there, only its blob is missing */
        struct progress *prog;
        size_t line;
        uint64_t done;
        /* results */
        int r;
        struct hutch_error *err;
        int64_t size;
        /* the download side */
        struct storage_blob_writer *w;
        int pipe_fd;
};

static int layer_write(void *data, const void *buf, size_t len, struct hutch_error **err)
{
        struct layer_job *j = data;
        int r;

        r = storage_blob_writer_write(j->w, buf, len, err);
        if (r < 0)
                return r;
        j->done += len;
        progress_set(j->prog, j->line, j->done);
        if (j->pipe_fd >= 0 && hutch_write_all(j->pipe_fd, buf, len) < 0) {
                /* the unpacker stopped (its error is the one to report) */
                (void) close(j->pipe_fd);
                j->pipe_fd = -1;
        }
        return 0;
}

struct unpack_thread {
        int fd;
        const char *path;
        struct storage_unpack_options o;
        struct storage_unpack_result res;
        int r;
        struct hutch_error *err;
};

static void *unpack_main(void *p)
{
        struct unpack_thread *u = p;

        u->r = storage_layer_unpack_dir(u->fd, u->path, &u->o, &u->res, &u->err);
        (void) close(u->fd);
        return NULL;
}

static void *layer_main(void *p)
{
        struct layer_job *j = p;
        struct storage_store *s = j->store;
        struct unpack_thread u = { .fd = -1 };
        _cleanup_free_ char *rel = NULL, *abs = NULL;
        const char *digest = j->desc->digest;
        pthread_t th;
        bool started = false;
        int fds[2] = { -1, -1 };
        int r;

        j->pipe_fd = -1;
        j->line = progress_add(j->prog, "blob", digest, j->desc->size);
        r = storage_blob_writer_new(s, digest, &j->w, &j->err);
        if (r < 0)
                goto out;
        if (j->unpack) {
                if (pipe2(fds, O_CLOEXEC) < 0) {
                        r = hutch_error_set(&j->err, errno, "pipe");
                        goto out;
                }
                (void) fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
                rel = xasprintf("%s/layer-%zu", j->tmp_rel, j->index);
                abs = storage_store_path(s, rel);
                u.fd = fds[0];
                u.path = abs;
                u.o.expected_digest = digest;
                if (pthread_create(&th, NULL, unpack_main, &u) != 0) {
                        (void) close(fds[0]);
                        (void) close(fds[1]);
                        r = hutch_error_set(&j->err, EAGAIN, "thread");
                        goto out;
                }
                started = true;
                j->pipe_fd = fds[1];
        }
        r = registry_blob_fetch(j->client, j->repository, digest, j->desc->size, layer_write, j, &j->err);
        if (j->pipe_fd >= 0)
                (void) close(j->pipe_fd);
        j->pipe_fd = -1;
        if (started) {
                pthread_join(th, NULL);
                if (r >= 0 && u.r < 0) {
                        r = u.r;
                        j->err = steal_ptr(&u.err);
                        hutch_error_prefix(&j->err, "layer %s", digest);
                }
                hutch_error_free(u.err);
        }
        if (r < 0)
                goto out;
        r = storage_blob_writer_finish(j->w, &j->err);
        if (r < 0)
                goto out;
        if (j->unpack) {
                if (!STREQ(u.res.diff_id, j->diff_id)) {
                        r = hutch_error_set(&j->err, EBADMSG, "layer %s: content does not match diff ID %s (it is %s)",
                                            digest, j->diff_id, u.res.diff_id);
                        goto out;
                }
                if (u.res.devices_skipped)
                        log_warn("layer %s: %llu device nodes skipped (containers cannot create them)", digest,
                                 (unsigned long long) u.res.devices_skipped);
                j->size = (int64_t) u.res.uncompressed_size;
                /* verified: into layers/ now, so that a later pull resumes */
                if (syscall(SYS_renameat2, s->root_fd, rel, s->layers_fd, storage_digest_hex(j->chain_id),
                            1 /* RENAME_NOREPLACE */) < 0) {
                        if (errno != EEXIST && errno != ENOTEMPTY) {
                                r = hutch_error_set(&j->err, errno, "store layer %s", j->chain_id);
                                goto out;
                        }
                        (void) hutch_rm_rf_at(s->root_fd, rel);
                }
        }
        r = storage_blob_writer_commit(j->w, &j->err);
        if (r >= 0)
                progress_done(j->prog, j->line, "done");
out:
        j->w = storage_blob_writer_free(j->w);
        j->r = r;
        return NULL;
}

/* Workers take the next job until none is left (or one failed): a slow
 * layer holds up only its own worker, not a batch. */
struct job_queue {
        struct layer_job *jobs;
        size_t n, next;
        bool failed;
};

static void *worker_main(void *p)
{
        struct job_queue *q = p;

        for (;;) {
                size_t i = __atomic_fetch_add(&q->next, 1, __ATOMIC_RELAXED);
                if (i >= q->n || __atomic_load_n(&q->failed, __ATOMIC_RELAXED))
                        break;
                layer_main(&q->jobs[i]);
                if (q->jobs[i].r < 0)
                        __atomic_store_n(&q->failed, true, __ATOMIC_RELAXED);
        }
        return NULL;
}

/* Runs the jobs on at most PULL_MAX_PARALLEL threads, each job streaming
 * its own blob (the registry client shares connections between them). */
static int run_layer_jobs(struct layer_job *jobs, size_t n, struct hutch_error **err)
{
        struct job_queue q = { .jobs = jobs, .n = n };
        pthread_t th[PULL_MAX_PARALLEL];
        size_t k = n < PULL_MAX_PARALLEL ? n : PULL_MAX_PARALLEL, made = 0;

        for (size_t i = 0; i < n; i++)
                jobs[i].r = 1; /* not run */
        for (size_t i = 0; i < k; i++)
                if (pthread_create(&th[made], NULL, worker_main, &q) == 0)
                        made++;
        if (made == 0)
                worker_main(&q);
        for (size_t i = 0; i < made; i++)
                pthread_join(th[i], NULL);
        for (size_t i = 0; i < n; i++)
                if (jobs[i].r < 0) {
                        *err = steal_ptr(&jobs[i].err);
                        return jobs[i].r;
                }
        return 0;
}

/* ---- pull ---- */

struct pull_job {
        const char *input;
        struct cmd_image_location loc;
        struct cmd_net_opts net;
        struct platform platform;
        bool quiet;
        struct progress *prog;
};

/* The size of a layer some record already has. */
static int64_t known_layer_size(const struct storage_images *imgs, const char *chain_id)
{
        for (size_t i = 0; i < imgs->n; i++)
                for (size_t k = 0; k < imgs->v[i].n_layers; k++)
                        if (STREQ(imgs->v[i].layers[k].chain_id, chain_id))
                                return imgs->v[i].layers[k].size;
        return 0;
}

/* Pulls ref (the name to record) from endpoint ("host/path": the registry
 * itself or a mirror). */
static int pull_one(struct pull_job *pj, const struct storage_reference *ref, const char *endpoint,
                    const struct registries_conf *conf, struct storage_image *ret_img, struct hutch_error **err)
{
        _cleanup_free_ char *host = xstrndup(endpoint, strcspn(endpoint, "/"));
        const char *path = endpoint + strlen(host) + (endpoint[strlen(host)] == '/');
        _cleanup_(registry_client_free_cleanup) struct registry_client *client = NULL;
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        _cleanup_(storage_manifest_free_cleanup) struct storage_manifest *m = NULL;
        _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *cfg = NULL;
        _cleanup_free_ char *mbuf = NULL, *mtype = NULL, *cbuf = NULL, *tmp_rel = NULL, *name = NULL;
        _cleanup_free_ char(*chain)[STORAGE_DIGEST_BUFSIZE] = NULL;
        _cleanup_free_ struct layer_job *jobs = NULL;
        struct storage_images imgs = { 0 };
        struct storage_image img = { 0 };
        char mdigest[STORAGE_DIGEST_BUFSIZE], cdigest[STORAGE_DIGEST_BUFSIZE];
        const char *reference = ref->digest ? ref->digest : ref->tag;
        size_t mlen = 0, clen = 0, n_jobs = 0;
        int r;

        r = cmd_registry_client(host, &pj->net, path, conf, false, &client, err);
        if (r < 0)
                return r;
        r = registry_manifest_get(client, path, reference, &mbuf, &mlen, &mtype, mdigest, err);
        if (r < 0)
                return r;
        /* an index or a manifest list: choose our platform's manifest */
        if (mtype ? STREQ(mtype, STORAGE_MEDIA_OCI_INDEX) || STREQ(mtype, STORAGE_MEDIA_DOCKER_LIST)
                  : strstr(mbuf, "\"manifests\"") != NULL) {
                _cleanup_(storage_index_free_cleanup) struct storage_index *idx = NULL;
                _cleanup_free_ char *chosen = NULL;
                const char *d = NULL;
                r = storage_index_parse(mbuf, mlen, mtype, &idx, err);
                if (r < 0)
                        return hutch_error_prefix(err, "%s", pj->input);
                r = choose_manifest(idx, &pj->platform, &d, err);
                if (r < 0)
                        return hutch_error_prefix(err, "%s", pj->input);
                chosen = xstrdup(d);
                free(mbuf);
                free(mtype);
                mbuf = mtype = NULL;
                r = registry_manifest_get(client, path, chosen, &mbuf, &mlen, &mtype, mdigest, err);
                if (r < 0)
                        return r;
        }
        r = storage_manifest_parse(mbuf, mlen, mtype, &m, err);
        if (r < 0)
                return hutch_error_prefix(err, "%s", pj->input);
        for (size_t i = 0; i < m->n_layers; i++)
                if (!storage_media_type_is_layer(m->layers[i].media_type))
                        return hutch_error_set(err, 0, "%s: layer %s has an unsupported media type '%s'", pj->input,
                                               m->layers[i].digest, m->layers[i].media_type);
        if (m->config.size < 0 || m->config.size > (int64_t) STORAGE_CONFIG_MAX_BYTES)
                return hutch_error_set(err, 0, "%s: image config too large", pj->input);
        r = registry_blob_get(client, path, m->config.digest, STORAGE_CONFIG_MAX_BYTES, &cbuf, &clen, err);
        if (r < 0)
                return r;
        if ((int64_t) clen != m->config.size)
                return hutch_error_set(err, 0, "%s: the config has %zu bytes, its descriptor says %lld", pj->input,
                                       clen, (long long) m->config.size);
        r = storage_config_parse(cbuf, clen, &cfg, err);
        if (r < 0)
                return hutch_error_prefix(err, "%s: config", pj->input);
        if (cfg->n_diff_ids != m->n_layers)
                return hutch_error_set(err, 0, "%s: the image config lists %zu layers but the manifest %zu", pj->input,
                                       cfg->n_diff_ids, m->n_layers);
        chain = xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*chain));
        storage_chain_ids(cfg->diff_ids, m->n_layers, chain);

        r = cmd_storage_open(STORAGE_STORE_WRITE, &s, err);
        if (r < 0)
                return r;
        r = storage_images_read(s, &imgs, err);
        if (r < 0)
                return r;
        r = storage_store_mkdtemp(s, "pull", &tmp_rel, err);
        if (r < 0)
                goto out;
        jobs = xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*jobs));
        img.layers = xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*img.layers));
        for (size_t i = 0; i < m->n_layers; i++) {
                struct storage_image_layer *L = &img.layers[i];
                bool have_layer = storage_store_layer_exists(s, chain[i]);
                bool have_blob = storage_blob_exists(s, m->layers[i].digest);

                memcpy(L->chain_id, chain[i], STORAGE_DIGEST_BUFSIZE);
                memcpy(L->diff_id, cfg->diff_ids[i], STORAGE_DIGEST_BUFSIZE);
                memcpy(L->blob, m->layers[i].digest, STORAGE_DIGEST_BUFSIZE);
                L->media_type = xstrdup(m->layers[i].media_type);
                L->blob_size = m->layers[i].size;
                L->size = known_layer_size(&imgs, chain[i]);
                img.n_layers++;
                if (have_layer && have_blob) {
                        progress_done(pj->prog, progress_add(pj->prog, "blob", m->layers[i].digest, L->blob_size),
                                      "skipped: already exists");
                        continue;
                }
                jobs[n_jobs] = (struct layer_job){
                        .client = client,
                        .repository = path,
                        .store = s,
                        .desc = &m->layers[i],
                        .diff_id = cfg->diff_ids[i],
                        .chain_id = chain[i],
                        .tmp_rel = tmp_rel,
                        .index = i,
                        .unpack = !have_layer,
                        .prog = pj->prog,
                        .pipe_fd = -1,
                };
                n_jobs++;
        }
        r = run_layer_jobs(jobs, n_jobs, err);
        for (size_t i = 0; i < n_jobs; i++) {
                if (jobs[i].unpack && jobs[i].r == 0)
                        img.layers[jobs[i].index].size = jobs[i].size;
                hutch_error_free(jobs[i].err);
        }
        if (r < 0) {
                hutch_error_prefix(err, "%s", pj->input);
                goto out;
        }
        r = storage_blob_put(s, cbuf, clen, cdigest, err);
        if (r >= 0 && !STREQ(cdigest, m->config.digest))
                r = hutch_error_set(err, EBADMSG, "%s: config digest mismatch", pj->input);
        if (r >= 0) {
                char d[STORAGE_DIGEST_BUFSIZE];
                r = storage_blob_put(s, mbuf, mlen, d, err);
        }
        if (r < 0)
                goto out;
        progress_done(pj->prog, progress_add(pj->prog, "config", cdigest, (int64_t) clen), "done");
        progress_message(pj->prog, "Writing manifest to image destination");

        memcpy(img.config, cdigest, STORAGE_DIGEST_BUFSIZE);
        memcpy(img.id, storage_digest_hex(cdigest), sizeof(img.id));
        memcpy(img.manifest, mdigest, STORAGE_DIGEST_BUFSIZE);
        img.config_size = (int64_t) clen;
        img.manifest_size = (int64_t) mlen;
        img.created = cfg->created ? xstrdup(cfg->created) : NULL;
        img.loaded = (int64_t) time(NULL);
        img.names = xcalloc(2, sizeof(char *));
        {
                struct storage_reference named = *ref;
                named.digest = NULL;
                if (ref->tag)
                        name = storage_reference_format(&named);
                else
                        name = storage_reference_repository(&named);
        }
        img.names[0] = xstrdup(name);
        r = storage_images_record(s, &img, 1, err);
        if (r >= 0)
                storage_image_copy(&img, ret_img);
out:
        if (tmp_rel)
                (void) hutch_rm_rf_at(s->root_fd, tmp_rel);
        storage_image_clear(&img);
        storage_images_clear(&imgs);
        return r;
}

/* pull oci:, oci-archive:, docker-archive: and dir:: the load code, which
 * checks every digest while it copies the blobs in. */
static int pull_local(struct pull_job *pj, struct hutch_error **err)
{
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        _cleanup_free_ char *name = NULL;
        struct storage_images loaded = { 0 };
        const struct cmd_image_location *l = &pj->loc;
        int r;

        if (l->transport == CMD_TRANSPORT_OCI && l->ref) {
                /* named by its tag, as podman does */
                struct storage_reference ref = { 0 };
                if (storage_reference_parse(l->ref, &ref, NULL) == 0 && ref.digest == NULL)
                        name = storage_reference_format(&ref);
                storage_reference_clear(&ref);
        } else if (l->ref) {
                return hutch_error_set(err, 0, "'%s': choosing an image of an archive is not supported: give %s:PATH",
                                       pj->input,
                                       l->transport == CMD_TRANSPORT_OCI_ARCHIVE ? "oci-archive" : "docker-archive");
        }
        r = cmd_storage_open(STORAGE_STORE_WRITE, &s, err);
        if (r < 0)
                return r;
        if (l->transport == CMD_TRANSPORT_OCI) {
                r = storage_layout_load(s, l->path, l->ref, name, NULL, &loaded, err);
        } else if (l->transport == CMD_TRANSPORT_DIR) {
                r = storage_dir_load(s, l->path, NULL, NULL, &loaded, err); /* by ID, as podman */
        } else {
                _cleanup_close_ int fd = open(l->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                struct stat st;
                if (fd < 0)
                        return hutch_error_set(err, errno, "open archive '%s'", l->path);
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                        return hutch_error_set(err, 0, "archive '%s' is not a regular file", l->path);
                r = storage_archive_load(s, fd, NULL, &loaded, err);
                if (r < 0)
                        hutch_error_prefix(err, "archive '%s'", l->path);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < loaded.n; i++) {
                const struct storage_image *img = &loaded.v[i];
                for (size_t k = 0; k < img->n_layers; k++)
                        progress_done(pj->prog,
                                      progress_add(pj->prog, "blob", img->layers[k].blob, img->layers[k].blob_size),
                                      "done");
                progress_done(pj->prog, progress_add(pj->prog, "config", img->config, img->config_size), "done");
        }
        progress_message(pj->prog, "Writing manifest to image destination");
        for (size_t i = 0; i < loaded.n; i++)
                printf("%s\n", loaded.v[i].id);
        storage_images_clear(&loaded);
        return 0;
}

static int pull_in_userns(void *p)
{
        struct pull_job *pj = p;
        struct hutch_error *err = NULL;
        struct storage_reference ref = { 0 };
        struct registries_conf *conf = NULL;
        _cleanup_strv_ char **candidates = NULL;
        struct storage_image img = { 0 };
        int r;

        (void) signal(SIGPIPE, SIG_IGN);
        pj->prog = progress_new(pj->quiet, -1);
        if (pj->loc.transport != CMD_TRANSPORT_REGISTRY) {
                r = pull_local(pj, &err);
                pj->prog = progress_free(pj->prog);
                return r < 0 ? cmd_storage_report(err) : 0;
        }
        pj->input = pj->loc.ref;
        r = registries_conf_load(&conf, &err);
        if (r < 0)
                return cmd_storage_report(err);
        r = storage_reference_parse(pj->input, &ref, &err);
        if (r < 0)
                goto fail;
        r = registries_conf_resolve(conf, pj->input, &ref, &candidates, &err);
        if (r < 0)
                goto fail;
        for (char **c = candidates; *c; c++) {
                struct storage_reference cref = { 0 };
                struct hutch_error *e = NULL;

                _cleanup_strv_ char **endpoints = NULL;

                r = storage_reference_parse(*c, &cref, &err);
                if (r < 0)
                        goto fail;
                progress_message(pj->prog, "Trying to pull %s...", *c);
                r = registries_conf_endpoints(conf, &cref, &endpoints, &e);
                for (char **ep = endpoints; r >= 0 && ep && *ep; ep++) {
                        r = pull_one(pj, &cref, *ep, conf, &img, &e);
                        if (r >= 0 || ep[1] == NULL)
                                break;
                        log_info("%s: %s", *ep, e->msg);
                        hutch_error_clear(&e);
                        r = 0; /* the next endpoint */
                }
                storage_reference_clear(&cref);
                if (r >= 0)
                        break;
                if (c[1] == NULL || (e && e->errnum != ENOENT)) {
                        err = e;
                        goto fail;
                }
                progress_message(pj->prog, "  %s", e->msg);
                hutch_error_free(e);
        }
        pj->prog = progress_free(pj->prog);
        printf("%s\n", img.id);
        storage_image_clear(&img);
        storage_reference_clear(&ref);
        registries_conf_free(conf);
        return 0;
fail:
        pj->prog = progress_free(pj->prog);
        storage_reference_clear(&ref);
        registries_conf_free(conf);
        return cmd_storage_report(err);
}

int cmd_parse_creds(const char *v, struct cmd_net_opts *n, struct hutch_error **err)
{
        const char *colon = strchr(v, ':');

        if (*v == '\0' || colon == v)
                return hutch_error_set(err, 0, "invalid --creds: expected USER[:PASSWORD]");
        free(n->user);
        free(n->password);
        n->user = colon ? xstrndup(v, (size_t) (colon - v)) : xstrdup(v);
        n->password = colon ? xstrdup(colon + 1) : NULL;
        return 0;
}

static int parse_platform(const struct cmd_command *cmd, const char *v, struct platform *p, struct hutch_error **err)
{
        static char buf[256];
        char *a, *b;

        if (strlen(v) >= sizeof(buf))
                return cmd_usage_error(cmd, err, "invalid --platform '%s'", v);
        strcpy(buf, v);
        a = strchr(buf, '/');
        if (a == NULL || a == buf || a[1] == '\0')
                return cmd_usage_error(cmd, err, "invalid --platform '%s' (OS/ARCH[/VARIANT])", v);
        *a++ = '\0';
        b = strchr(a, '/');
        if (b) {
                *b++ = '\0';
                if (*b == '\0' || strchr(b, '/'))
                        return cmd_usage_error(cmd, err, "invalid --platform '%s' (OS/ARCH[/VARIANT])", v);
                p->variant = b;
        }
        p->os = buf;
        p->arch = a;
        return 0;
}

int cmd_pull(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct pull_job pj = { .net.tls_verify = true, .platform = { "linux", storage_host_arch(), NULL } };
        char *optval = NULL;
        int c, r = 0;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: r = -1; goto out;
                case OPT_QUIET: pj.quiet = true; break;
                case OPT_CREDS: r = cmd_parse_creds(optval, &pj.net, err); break;
                case OPT_AUTHFILE: pj.net.authfile = optval; break;
                case OPT_TLS_VERIFY: r = cmd_parse_tls_verify(cmd, optval, &pj.net, err); break;
                case OPT_CERT_DIR: pj.net.cert_dir = optval; break;
                case OPT_PLATFORM: r = parse_platform(cmd, optval, &pj.platform, err); break;
                case OPT_ARCH: pj.platform.arch = optval; break;
                case OPT_OS: pj.platform.os = optval; break;
                case OPT_VARIANT: pj.platform.variant = optval; break;
                }
                if (r < 0)
                        goto out;
        }
        if (argc - optind != 1) {
                r = cmd_usage_error(cmd, err, "'%s' needs exactly one IMAGE", cmd->full_name);
                goto out;
        }
        pj.input = argv[optind];
        r = cmd_image_location_parse(pj.input, &pj.loc, err);
        if (r < 0)
                goto out;
        r = cmd_storage_in_userns(pull_in_userns, &pj, false, err);
out:
        cmd_image_location_clear(&pj.loc);
        cmd_net_opts_clear(&pj.net);
        return r;
}

/* ---- login / logout ---- */

const struct cmd_option cmd_login_options[] = {
        { "username", 'u', required_argument, "USER", "user name", OPT_USERNAME },
        { "password", 'p', required_argument, "PASSWORD", "password (visible to other users: prefer --password-stdin)",
          OPT_PASSWORD },
        { "password-stdin", 0, no_argument, NULL, "read the password from standard input", OPT_PASSWORD_STDIN },
        { "authfile", 0, required_argument, "FILE", "credentials file (default: as podman)", OPT_AUTHFILE },
        { "tls-verify", 0, optional_argument, "BOOL", "check the registry's TLS certificate (default: true)",
          OPT_TLS_VERIFY },
        { "cert-dir", 0, required_argument, "DIR", "CA certificates (*.crt) and client certificates", OPT_CERT_DIR },
        { 0 },
};

const struct cmd_option cmd_logout_options[] = {
        { "all", 'a', no_argument, NULL, "remove the credentials of every registry", OPT_ALL },
        { "authfile", 0, required_argument, "FILE", "credentials file (default: as podman)", OPT_AUTHFILE },
        { 0 },
};

/* "quay.io", "quay.io/org/repo" or "https://quay.io/v1/" -> key */
static int registry_key(const char *arg, char **ret, struct hutch_error **err)
{
        const char *p = arg;
        size_t n;

        if (strncmp(p, "https://", 8) == 0)
                p += 8;
        else if (strncmp(p, "http://", 7) == 0)
                p += 7;
        n = strlen(p);
        while (n > 0 && p[n - 1] == '/')
                n--;
        if (p != arg) /* a URL names a registry only */
                n = strcspn(p, "/");
        if (n == 0 || n > 255)
                return hutch_error_set(err, 0, "invalid registry '%s'", arg);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) p[i] <= ' ' || strchr("@?#\\\"", p[i]))
                        return hutch_error_set(err, 0, "invalid registry '%s'", arg);
        *ret = xstrndup(p, n);
        if (STREQ(*ret, "index.docker.io") || STREQ(*ret, "registry-1.docker.io")) {
                free(*ret);
                *ret = xstrdup("docker.io");
        }
        return 0;
}

static char *read_line(FILE *f, bool echo)
{
        struct termios old, noecho;
        bool restore = false;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        if (!echo && isatty(fileno(f)) && tcgetattr(fileno(f), &old) == 0) {
                noecho = old;
                noecho.c_lflag &= ~(tcflag_t) ECHO;
                restore = tcsetattr(fileno(f), TCSAFLUSH, &noecho) == 0;
        }
        n = getline(&line, &cap, f);
        if (restore) {
                (void) tcsetattr(fileno(f), TCSAFLUSH, &old);
                fputc('\n', stderr);
        }
        if (n < 0) {
                free(line);
                return NULL;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
        return line;
}

int cmd_login(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct cmd_net_opts n = { .tls_verify = true };
        _cleanup_(registry_client_free_cleanup) struct registry_client *client = NULL;
        _cleanup_free_ char *key = NULL, *host = NULL, *file = NULL;
        bool from_stdin = false;
        char *optval = NULL;
        int c, r = 0;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: r = -1; goto out;
                case OPT_USERNAME:
                        free(n.user);
                        n.user = xstrdup(optval);
                        break;
                case OPT_PASSWORD:
                        free(n.password);
                        n.password = xstrdup(optval);
                        break;
                case OPT_PASSWORD_STDIN: from_stdin = true; break;
                case OPT_AUTHFILE: n.authfile = optval; break;
                case OPT_TLS_VERIFY: r = cmd_parse_tls_verify(cmd, optval, &n, err); break;
                case OPT_CERT_DIR: n.cert_dir = optval; break;
                }
                if (r < 0)
                        goto out;
        }
        if (argc - optind != 1) {
                r = cmd_usage_error(cmd, err, "'%s' needs exactly one REGISTRY", cmd->full_name);
                goto out;
        }
        if (from_stdin && n.password) {
                r = cmd_usage_error(cmd, err, "--password and --password-stdin are mutually exclusive");
                goto out;
        }
        r = registry_key(argv[optind], &key, err);
        if (r < 0)
                goto out;
        host = xstrndup(key, strcspn(key, "/"));
        if (n.user == NULL) {
                if (!isatty(STDIN_FILENO) || from_stdin) {
                        r = hutch_error_set(err, 0, "no user name given (use -u USER)");
                        goto out;
                }
                fprintf(stderr, "Username: ");
                n.user = read_line(stdin, true);
                if (n.user == NULL || *n.user == '\0') {
                        r = hutch_error_set(err, 0, "no user name given");
                        goto out;
                }
        }
        if (n.password == NULL) {
                if (!from_stdin && !isatty(STDIN_FILENO)) {
                        r = hutch_error_set(err, 0, "no password given (use --password-stdin)");
                        goto out;
                }
                if (!from_stdin)
                        fprintf(stderr, "Password: ");
                n.password = read_line(stdin, from_stdin);
                if (n.password == NULL) {
                        r = hutch_error_set(err, 0, "no password given");
                        goto out;
                }
        }
        {
                struct registry_options o = {
                        .tls_verify = n.tls_verify, .cert_dir = n.cert_dir, .username = n.user, .password = n.password
                };
                struct registries_conf *conf = NULL;
                const struct registries_entry *e;
                r = registries_conf_load(&conf, err);
                if (r < 0)
                        goto out;
                e = registries_conf_find(conf, host, NULL);
                if (e && e->insecure && !n.tls_verify_set)
                        o.tls_verify = false;
                registries_conf_free(conf);
                r = registry_client_new(host, &o, &client, err);
        }
        if (r >= 0)
                r = registry_client_check(client, NULL, err);
        if (r < 0)
                goto out;
        file = registry_auth_file(n.authfile);
        r = registry_auth_store(file, key, n.user, n.password, err);
        if (r < 0)
                goto out;
        printf("Login Succeeded!\n");
out:
        cmd_net_opts_clear(&n);
        return r < 0 ? r : 0;
}

int cmd_logout(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *key = NULL, *file = NULL;
        const char *authfile = NULL;
        bool all = false;
        char *optval = NULL;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_ALL)
                        all = true;
                else if (c == OPT_AUTHFILE)
                        authfile = optval;
        }
        if (all ? argc != optind : argc - optind != 1)
                return cmd_usage_error(cmd, err, all ? "'%s --all' takes no REGISTRY" : "'%s' needs one REGISTRY",
                                       cmd->full_name);
        if (!all) {
                r = registry_key(argv[optind], &key, err);
                if (r < 0)
                        return r;
        }
        file = registry_auth_file(authfile);
        r = registry_auth_remove(file, key, err);
        if (r < 0)
                return r;
        if (all) {
                printf("Removed login credentials for all registries\n");
                return 0;
        }
        if (r == 0)
                return hutch_error_set(err, 0, "not logged into %s", key);
        printf("Removed login credentials for %s\n", key);
        return 0;
}

/* ---- manifest inspect ---- */

const struct cmd_option cmd_manifest_inspect_options[] = {
        { "creds", 0, required_argument, "USER[:PASS]", "credentials for the registry", OPT_CREDS },
        { "authfile", 0, required_argument, "FILE", "credentials file (default: as podman)", OPT_AUTHFILE },
        { "tls-verify", 0, optional_argument, "BOOL", "check the registry's TLS certificate (default: true)",
          OPT_TLS_VERIFY },
        { "cert-dir", 0, required_argument, "DIR", "CA certificates (*.crt) and client certificates", OPT_CERT_DIR },
        { 0 },
};

/* Prints a remote manifest (or index) as the registry serves it. */
int cmd_manifest_inspect(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct cmd_net_opts net = { .tls_verify = true };
        struct registries_conf *conf = NULL;
        _cleanup_strv_ char **candidates = NULL;
        struct storage_reference ref = { 0 };
        char *optval = NULL;
        int c, r = 0;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: r = -1; goto out;
                case OPT_CREDS: r = cmd_parse_creds(optval, &net, err); break;
                case OPT_AUTHFILE: net.authfile = optval; break;
                case OPT_TLS_VERIFY: r = cmd_parse_tls_verify(cmd, optval, &net, err); break;
                case OPT_CERT_DIR: net.cert_dir = optval; break;
                }
                if (r < 0)
                        goto out;
        }
        if (argc - optind != 1) {
                r = cmd_usage_error(cmd, err, "'%s' needs exactly one IMAGE reference", cmd->full_name);
                goto out;
        }
        r = registries_conf_load(&conf, err);
        if (r == 0)
                r = storage_reference_parse(argv[optind], &ref, err);
        if (r == 0)
                r = registries_conf_resolve(conf, argv[optind], &ref, &candidates, err);
        for (char **cand = candidates; r == 0 && cand && *cand; cand++) {
                struct storage_reference cref = { 0 };
                _cleanup_strv_ char **endpoints = NULL;
                struct hutch_error *e = NULL;
                bool done = false;

                if (storage_reference_parse(*cand, &cref, &e) == 0 &&
                    registries_conf_endpoints(conf, &cref, &endpoints, &e) == 0) {
                        for (char **ep = endpoints; ep && *ep && !done; ep++) {
                                _cleanup_free_ char *host = xstrndup(*ep, strcspn(*ep, "/"));
                                const char *path = *ep + strlen(host) + ((*ep)[strlen(host)] == '/');
                                _cleanup_(registry_client_free_cleanup) struct registry_client *client = NULL;
                                _cleanup_free_ char *buf = NULL, *mtype = NULL;
                                char digest[STORAGE_DIGEST_BUFSIZE];
                                size_t len = 0;
                                hutch_error_clear(&e);
                                if (cmd_registry_client(host, &net, path, conf, false, &client, &e) == 0 &&
                                    registry_manifest_get(client, path, cref.digest ? cref.digest : cref.tag, &buf,
                                                          &len, &mtype, digest, &e) == 0) {
                                        fwrite(buf, 1, len, stdout);
                                        if (len == 0 || buf[len - 1] != '\n')
                                                fputc('\n', stdout);
                                        done = true;
                                }
                        }
                }
                storage_reference_clear(&cref);
                if (done) {
                        hutch_error_free(e);
                        goto out;
                }
                if (cand[1] == NULL) {
                        *err = e ? e : *err;
                        r = e ? hutch_error_value(e)
                              : hutch_error_set(err, ENOENT, "no manifest for '%s'", argv[optind]);
                        break;
                }
                hutch_error_free(e);
        }
out:
        storage_reference_clear(&ref);
        registries_conf_free(conf);
        cmd_net_opts_clear(&net);
        return r;
}

const struct cmd_command cmd_manifest_subcommands[] = {
        { "inspect", "[OPTIONS] REF", "Show a registry's manifest or index of an image", cmd_manifest_inspect,
          cmd_manifest_inspect_options, NULL, NULL },
        { 0 },
};

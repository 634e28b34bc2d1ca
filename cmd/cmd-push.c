/* hutch push: an image of the store to a registry (docker://), an OCI
 * image layout directory (oci:), an archive (oci-archive:,
 * docker-archive:) or a directory of blobs (dir:).  The archives and layouts are written by
 * storage/archive-save.c, the writer of `hutch save`, under temporary names
 * renamed into place at the end: a failed push leaves no half-written
 * destination. */
#include "config.h"

#include "cmd/cmd-pull.h"
#include "cmd/cmd-storage.h"
#include "cmd/progress.h"
#include "cmd/transport.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "storage/archive.h"
#include "storage/images.h"
#include "storage/manifest.h"
#include "storage/reference.h"
#include "storage/registries.h"
#include "storage/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
        OPT_QUIET = 'q',
        OPT_CREDS = 0x100,
        OPT_AUTHFILE,
        OPT_TLS_VERIFY,
        OPT_CERT_DIR,
};

const struct cmd_option cmd_push_options[] = {
        { "quiet", 'q', no_argument, NULL, "print nothing but errors", OPT_QUIET },
        { "creds", 0, required_argument, "USER[:PASS]", "credentials for the registry", OPT_CREDS },
        { "authfile", 0, required_argument, "FILE", "credentials file (default: as podman)", OPT_AUTHFILE },
        { "tls-verify", 0, optional_argument, "BOOL", "check the registry's TLS certificate (default: true)",
          OPT_TLS_VERIFY },
        { "cert-dir", 0, required_argument, "DIR", "CA certificates (*.crt) and client certificates", OPT_CERT_DIR },
        { 0 },
};

/* ---- to a registry ---- */

struct upload_line {
        struct progress *prog;
        size_t line;
};

static void on_upload(void *data, uint64_t done)
{
        struct upload_line *u = data;

        progress_set(u->prog, u->line, done);
}

static int push_blob(struct registry_client *client, struct storage_store *s, const char *repo, const char *digest,
                     const char *what, struct progress *prog, struct hutch_error **err)
{
        _cleanup_close_ int fd = -1;
        struct upload_line u = { .prog = prog };
        uint64_t size = 0;
        int r;

        r = registry_blob_exists(client, repo, digest, err);
        if (r < 0)
                return r;
        if (r > 0) {
                /* the registry has it: the store need not */
                progress_done(prog, progress_add(prog, what, digest, -1), "skipped: already exists");
                return 0;
        }
        fd = storage_blob_open(s, digest, &size, err);
        if (fd < 0)
                return hutch_error_prefix(err, "blob %s", digest);
        u.line = progress_add(prog, what, digest, (int64_t) size);
        r = registry_blob_upload(client, repo, digest, fd, size, on_upload, &u, err);
        if (r >= 0)
                progress_done(prog, u.line, "done");
        return r;
}

static int push_registry(struct storage_store *s, const struct storage_image *img, const char *dest_s,
                         const struct cmd_net_opts *n, struct progress *prog, struct hutch_error **err)
{
        _cleanup_(registry_client_free_cleanup) struct registry_client *client = NULL;
        _cleanup_(storage_manifest_free_cleanup) struct storage_manifest *m = NULL;
        _cleanup_free_ char *mbuf = NULL;
        struct storage_reference dest = { 0 };
        struct registries_conf *conf = NULL;
        const struct registries_entry *e;
        size_t mlen = 0;
        int r;

        r = storage_reference_parse(dest_s, &dest, err);
        if (r < 0)
                goto out;
        if (dest.short_name || STREQ(dest.domain, "localhost")) {
                r = hutch_error_set(err, 0, "'%s' names no registry: push to HOST[:PORT]/NAME[:TAG]", dest_s);
                goto out;
        }
        r = storage_blob_read(s, img->manifest, STORAGE_MANIFEST_MAX_BYTES, &mbuf, &mlen, err);
        if (r < 0)
                goto out;
        r = storage_manifest_parse(mbuf, mlen, NULL, &m, err);
        if (r < 0)
                goto out;
        r = registries_conf_load(&conf, err);
        if (r < 0)
                goto out;
        e = registries_conf_find(conf, dest.domain, dest.path);
        if (e && e->blocked) {
                r = hutch_error_set(err, 0, "registry %s is blocked in registries.conf", dest.domain);
                goto out;
        }
        r = cmd_registry_client(dest.domain, n, dest.path, conf, true, &client, err);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < m->n_layers; i++) {
                r = push_blob(client, s, dest.path, m->layers[i].digest, "blob", prog, err);
                if (r < 0)
                        goto out;
        }
        r = push_blob(client, s, dest.path, m->config.digest, "config", prog, err);
        if (r < 0)
                goto out;
        progress_message(prog, "Writing manifest to image destination");
        r = registry_manifest_put(client, dest.path, dest.tag ? dest.tag : dest.digest, mbuf, mlen,
                                  storage_manifest_media_type(m), err);
        if (r >= 0 && dest.digest && !STREQ(dest.digest, img->manifest))
                r = hutch_error_set(err, 0, "the image's manifest is %s, not %s", img->manifest, dest.digest);
out:
        registries_conf_free(conf);
        storage_reference_clear(&dest);
        return r;
}

/* ---- to a layout or an archive ---- */

struct save_lines {
        struct progress *prog;
        const struct storage_image *img;
        size_t line;
        bool shown;
};

static void on_save(void *data, const char *digest, uint64_t total, uint64_t done, enum storage_save_state state)
{
        struct save_lines *c = data;
        const char *what = STREQ(digest, c->img->config) ? "config" : "blob";

        if (STREQ(digest, c->img->manifest))
                return; /* podman shows no line for the manifest either */
        switch (state) {
        case STORAGE_SAVE_START:
                c->line = progress_add(c->prog, what, digest, (int64_t) total);
                c->shown = true;
                break;
        case STORAGE_SAVE_BYTES:
                if (c->shown)
                        progress_set(c->prog, c->line, done);
                break;
        case STORAGE_SAVE_DONE:
                if (c->shown)
                        progress_done(c->prog, c->line, "done");
                c->shown = false;
                break;
        case STORAGE_SAVE_SKIPPED:
                progress_done(c->prog, progress_add(c->prog, what, digest, (int64_t) total), "skipped: already exists");
                break;
        }
}

/* An archive file: written under a temporary name beside it, renamed over
 * it at the end. */
static int push_archive(struct storage_store *s, const struct storage_save_item *item,
                        const struct cmd_image_location *l, const struct storage_save_progress *sp,
                        struct hutch_error **err)
{
        enum storage_archive_format format =
                l->transport == CMD_TRANSPORT_OCI_ARCHIVE ? STORAGE_ARCHIVE_OCI : STORAGE_ARCHIVE_DOCKER;
        _cleanup_free_ char *tmp = NULL;
        struct stat st;
        mode_t um;
        int fd, r;

        if (stat(l->path, &st) == 0) {
                if (S_ISDIR(st.st_mode))
                        return hutch_error_set(err, 0, "'%s' is a directory", l->path);
                /* as podman (containers/image): an oci-archive is replaced, a
                 * docker-archive is never added to */
                if (format == STORAGE_ARCHIVE_DOCKER && S_ISREG(st.st_mode) && st.st_size > 0)
                        return hutch_error_set(err, 0,
                                               "'%s' exists: docker-archive does not modify existing archives (remove "
                                               "it first)",
                                               l->path);
                if (!S_ISREG(st.st_mode))
                        return hutch_error_set(err, 0, "'%s' exists and is not a regular file", l->path);
        }
        um = umask(0);
        umask(um);
        tmp = xasprintf("%s.tmp-XXXXXX", l->path);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return hutch_error_set(err, errno, "create '%s'", l->path);
        if (fchmod(fd, 0666 & ~um) < 0)
                r = hutch_error_set(err, errno, "create '%s'", l->path);
        else
                r = storage_archive_write(s, item, 1, format, fd, sp, err);
        if (r == 0 && fsync(fd) < 0)
                r = hutch_error_set(err, errno, "write '%s'", l->path);
        (void) close(fd);
        if (r == 0 && rename(tmp, l->path) < 0)
                r = hutch_error_set(err, errno, "rename to '%s'", l->path);
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static int push_local(struct storage_store *s, const struct storage_image *img, const char *matched,
                      const struct cmd_image_location *l, struct progress *prog, struct hutch_error **err)
{
        struct save_lines lines = { .prog = prog, .img = img };
        struct storage_save_progress sp = { .fn = on_save, .data = &lines };
        struct storage_save_item item = { .image = img };
        _cleanup_free_ char *name = NULL;
        int r;

        switch (l->transport) {
        case CMD_TRANSPORT_OCI:
                /* the tag as skopeo and podman write it: the ref.name annotation */
                item.name = l->ref;
                r = storage_layout_save(s, &item, l->path, &sp, err);
                break;
        case CMD_TRANSPORT_DIR: r = storage_dir_save(s, img, l->path, &sp, err); break;
        case CMD_TRANSPORT_OCI_ARCHIVE:
                item.name = l->ref ? l->ref : matched;
                r = push_archive(s, &item, l, &sp, err);
                break;
        default:
                if (l->ref) {
                        struct storage_reference ref = { 0 };
                        r = storage_reference_parse(l->ref, &ref, err);
                        if (r == 0 && (ref.digest || ref.tag == NULL))
                                r = hutch_error_set(err, 0, "'%s': docker-archive needs NAME:TAG, not a digest",
                                                    l->ref);
                        if (r == 0)
                                name = storage_reference_format(&ref);
                        storage_reference_clear(&ref);
                        if (r < 0)
                                return r;
                }
                item.name = name ? name : matched;
                r = push_archive(s, &item, l, &sp, err);
                break;
        }
        if (r >= 0)
                progress_message(prog, "Writing manifest to image destination");
        return r;
}

int cmd_push(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct cmd_net_opts n = { .tls_verify = true };
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        struct cmd_image_location loc = { 0 };
        struct storage_images imgs = { 0 };
        struct progress *prog = NULL;
        const struct storage_image *img;
        const char *dest_s, *matched;
        char *optval = NULL;
        bool quiet = false;
        int c, k, r = 0;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: r = -1; goto out;
                case OPT_QUIET: quiet = true; break;
                case OPT_CREDS: r = cmd_parse_creds(optval, &n, err); break;
                case OPT_AUTHFILE: n.authfile = optval; break;
                case OPT_TLS_VERIFY: r = cmd_parse_tls_verify(cmd, optval, &n, err); break;
                case OPT_CERT_DIR: n.cert_dir = optval; break;
                }
                if (r < 0)
                        goto out;
        }
        if (argc - optind < 1 || argc - optind > 2) {
                r = cmd_usage_error(cmd, err, "'%s' needs an IMAGE and an optional DESTINATION", cmd->full_name);
                goto out;
        }
        r = cmd_storage_open(STORAGE_STORE_READ, &s, err);
        if (r < 0)
                goto out;
        r = storage_images_read(s, &imgs, err);
        if (r < 0)
                goto out;
        k = storage_images_find(&imgs, argv[optind], err);
        if (k < 0) {
                r = k;
                goto out;
        }
        img = &imgs.v[k];
        matched = storage_images_matched_name(img, argv[optind]);
        dest_s = argc - optind == 2 ? argv[optind + 1] : matched;
        if (dest_s == NULL) {
                r = hutch_error_set(err, 0, "image '%s' has no name: give a DESTINATION", argv[optind]);
                goto out;
        }
        r = cmd_image_location_parse(dest_s, &loc, err);
        if (r < 0)
                goto out;
        prog = progress_new(quiet, -1);
        if (loc.transport == CMD_TRANSPORT_REGISTRY)
                r = push_registry(s, img, loc.ref, &n, prog, err);
        else
                r = push_local(s, img, matched, &loc, prog, err);
out:
        progress_free(prog);
        if (r < 0 && err && *err)
                hutch_error_prefix(err, "push");
        cmd_image_location_clear(&loc);
        storage_images_clear(&imgs);
        cmd_net_opts_clear(&n);
        return r < 0 ? r : 0;
}

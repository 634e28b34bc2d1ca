/* Resolving an image for `hutch run` (see image-run.h). */
#include "config.h"

#include "cmd/cmd-storage.h"
#include "cmd/image-run.h"
#include "lib/cleanup.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cmd_image_run_resolve(const char *ref, struct cmd_image_run *ret, struct hutch_error **err)
{
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *cfg = NULL;
        _cleanup_free_ char *buf = NULL;
        struct storage_images imgs = { 0 };
        struct cmd_image_run r = { .lock_fd = -1 };
        const struct storage_image *img;
        const char *name;
        size_t len;
        int k;

        k = cmd_storage_open(STORAGE_STORE_READ, &s, err);
        if (k < 0)
                return k;
        k = storage_images_read(s, &imgs, err);
        if (k < 0)
                return k;
        k = storage_images_find(&imgs, ref, err);
        if (k < 0) {
                storage_images_clear(&imgs);
                if (k == -ENOENT) {
                        /* -ENOENT tells `run` to pull it (whatever err's errno) */
                        (void) hutch_error_prefix(
                                err, "%s", "no such image (load it with 'hutch load -i FILE' or 'hutch import')");
                        return -ENOENT;
                }
                return k;
        }
        img = &imgs.v[k];
        k = storage_blob_read_stored(s, img->config, (uint64_t) img->config_size, STORAGE_CONFIG_MAX_BYTES, &buf, &len,
                                     err);
        if (k >= 0)
                k = storage_config_parse(buf, len, &cfg, err);
        if (k < 0) {
                storage_images_clear(&imgs);
                return hutch_error_prefix(err, "image '%s'", ref);
        }
        for (size_t i = img->n_layers; i > 0; i--) {
                if (!storage_store_layer_exists(s, img->layers[i - 1].chain_id)) {
                        k = hutch_error_set(err, 0,
                                            "image '%s': layer %s is missing from the store: remove the image with "
                                            "'hutch rmi' and load it again",
                                            ref, img->layers[i - 1].chain_id);
                        storage_images_clear(&imgs);
                        cmd_image_run_clear(&r);
                        return k;
                }
                hutch_strv_push(&r.layers, storage_store_layer_path(s, img->layers[i - 1].chain_id));
        }
        if (r.layers == NULL)
                r.layers = xcalloc(1, sizeof(char *));
        r.id = xstrdup(img->id);
        name = storage_images_matched_name(img, ref);
        r.name = name ? xstrdup(name) : NULL;
        r.entrypoint = steal_ptr(&cfg->entrypoint);
        if (r.entrypoint == NULL && cfg->has_entrypoint)
                r.entrypoint = xcalloc(1, sizeof(char *));
        r.cmd = steal_ptr(&cfg->cmd);
        if (r.cmd == NULL && cfg->has_cmd)
                r.cmd = xcalloc(1, sizeof(char *));
        r.env = steal_ptr(&cfg->env);
        r.working_dir = cfg->working_dir && *cfg->working_dir ? steal_ptr(&cfg->working_dir) : NULL;
        r.user = cfg->user && *cfg->user ? steal_ptr(&cfg->user) : NULL;
        r.stop_signal = cfg->stop_signal && *cfg->stop_signal ? steal_ptr(&cfg->stop_signal) : NULL;
        r.exposed_ports = steal_ptr(&cfg->exposed_ports);
        r.volumes = steal_ptr(&cfg->volumes);
        /* keep the shared lock: the layers stay while we run */
        r.lock_fd = steal_fd(&s->lock_fd);
        storage_images_clear(&imgs);
        *ret = r;
        return 0;
}

void cmd_image_run_clear(struct cmd_image_run *img)
{
        free(img->id);
        free(img->name);
        hutch_strv_free(img->layers);
        hutch_strv_free(img->entrypoint);
        hutch_strv_free(img->cmd);
        hutch_strv_free(img->env);
        free(img->working_dir);
        free(img->user);
        free(img->stop_signal);
        hutch_strv_free(img->exposed_ports);
        hutch_strv_free(img->volumes);
        hutch_closep(&img->lock_fd);
        *img = (struct cmd_image_run){ .lock_fd = -1 };
}

char **cmd_image_run_argv(const struct cmd_image_run *img, char *const *args)
{
        char **argv = NULL;

        for (char **e = img->entrypoint; e && *e; e++)
                hutch_strv_append(&argv, *e);
        if (args && args[0]) {
                for (char *const *a = args; *a; a++)
                        hutch_strv_append(&argv, *a);
        } else {
                for (char **c = img->cmd; c && *c; c++)
                        hutch_strv_append(&argv, *c);
        }
        return argv;
}

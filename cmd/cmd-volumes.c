/* hutch volume create|ls|inspect|rm|prune. */
#include "config.h"

#include "cmd/cmd-containers.h"
#include "cmd/cmd-storage.h"
#include "cmd/parse-opts.h"
#include "cmd/paths.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int no_options(const struct cmd_command *cmd, int argc, char **argv, bool *flag, char **format,
                      struct hutch_error **err)
{
        char *optval = NULL;
        int c;
        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 1;
                if (c == -3)
                        return -1;
                if ((c == 'f' || c == 'q') && flag)
                        *flag = true;
                if (c == 0x100 && format)
                        *format = optval;
        }
        return 0;
}

static const struct cmd_option create_options[] = { { 0 } };

static int volume_create(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root(), *name = NULL;
        bool created = false;
        int r = no_options(cmd, argc, argv, NULL, NULL, err);
        if (r != 0)
                return r < 0 ? r : 0;
        if (argc - optind > 1)
                return cmd_usage_error(cmd, err, "'%s' takes at most one NAME", cmd->full_name);
        name = optind < argc ? xstrdup(argv[optind]) : hutch_random_hex(32);
        if (!cmd_volume_name_valid(name))
                return hutch_error_set(err, 0, "invalid volume name '%s'", name);
        r = cmd_ensure_private_dir(root, err);
        if (r == 0)
                r = storage_volume_create(root, name, &created, err);
        if (r < 0)
                return r;
        if (!created && optind < argc)
                return hutch_error_set(err, 0, "volume '%s' already exists", name);
        printf("%s\n", name);
        return 0;
}

static const struct cmd_option ls_options[] = {
        { "quiet", 'q', no_argument, NULL, "show only names", 'q' },
        { "format", 0, required_argument, "FORMAT", "json or table", 0x100 },
        { 0 },
};

static void gen_volume(yajl_gen g, const char *root, const char *name)
{
        _cleanup_free_ char *path = storage_volume_data_path(root, name);
        char when[64];
        time_t t = (time_t) storage_volume_created(root, name);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "Name", name);
        hutch_json_gen_kv_string(g, "Driver", "local");
        hutch_json_gen_kv_string(g, "Mountpoint", path);
        hutch_json_gen_kv_string(g, "CreatedAt", when);
        hutch_json_gen_kv_string(g, "Scope", "local");
        yajl_gen_map_close(g);
}

static void print_gen(yajl_gen g)
{
        hutch_json_gen_print(g, stdout);
}

static int volume_ls(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        _cleanup_strv_ char **names = NULL;
        char *format = NULL;
        bool quiet = false;
        int r = no_options(cmd, argc, argv, &quiet, &format, err);
        if (r != 0)
                return r < 0 ? r : 0;
        if (format && !STREQ(format, "json") && !STREQ(format, "table"))
                return cmd_usage_error(cmd, err, "unknown --format '%s' (json or table)", format);
        r = storage_volume_list(root, &names, err);
        if (r < 0)
                return r;
        if (format && STREQ(format, "json")) {
                yajl_gen g = yajl_gen_alloc(NULL);
                yajl_gen_config(g, yajl_gen_beautify, 1);
                yajl_gen_array_open(g);
                for (size_t i = 0; names[i]; i++)
                        gen_volume(g, root, names[i]);
                yajl_gen_array_close(g);
                print_gen(g);
                yajl_gen_free(g);
                return 0;
        }
        if (!quiet)
                printf("%-10s %s\n", "DRIVER", "VOLUME NAME");
        for (size_t i = 0; names[i]; i++)
                printf(quiet ? "%.0s%s\n" : "%-10s %s\n", "local", names[i]);
        return 0;
}

static int volume_inspect(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        int status = 0;
        int r = no_options(cmd, argc, argv, NULL, NULL, err);
        if (r != 0)
                return r < 0 ? r : 0;
        if (optind >= argc)
                return cmd_usage_error(cmd, err, "'%s' needs a NAME", cmd->full_name);
        yajl_gen g = yajl_gen_alloc(NULL);
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_array_open(g);
        for (int i = optind; i < argc; i++) {
                if (!cmd_volume_name_valid(argv[i]) || !storage_volume_exists(root, argv[i])) {
                        fprintf(stderr, "Error: no such volume '%s'\n", argv[i]);
                        status = EXIT_HUTCH_FAILED;
                        continue;
                }
                gen_volume(g, root, argv[i]);
        }
        yajl_gen_array_close(g);
        print_gen(g);
        yajl_gen_free(g);
        return status;
}

struct rm_job {
        const char *dir;
};

static int rm_volume_in_userns(void *data)
{
        struct rm_job *j = data;
        int r = hutch_rm_rf_at(AT_FDCWD, j->dir);
        if (r < 0) {
                fprintf(stderr, "Error: remove '%s': %s\n", j->dir, strerror(-r));
                return EXIT_HUTCH_FAILED;
        }
        return 0;
}

/* The container that uses the volume, if any (NULL when none). */
static char *volume_user(const char *root, const char *name)
{
        struct storage_container *list = NULL;
        struct hutch_error *e = NULL;
        char *who = NULL;
        size_t n = 0;

        if (storage_container_list(root, &list, &n, &e) < 0) {
                hutch_error_free(e);
                return NULL;
        }
        for (size_t i = 0; i < n && !who; i++)
                if (cmd_container_uses_volume(&list[i], name))
                        who = xstrdup(list[i].name);
        storage_container_list_free(list, n);
        return who;
}

static int remove_volume(const char *root, const char *name, bool force, struct hutch_error **err)
{
        _cleanup_free_ char *who = NULL, *dir = NULL;

        if (!cmd_volume_name_valid(name) || !storage_volume_exists(root, name))
                return hutch_error_set(err, 0, "no such volume '%s'", name);
        who = volume_user(root, name);
        if (who && !force)
                return hutch_error_set(err, 0, "volume '%s' is used by container '%s': remove it first, or use -f",
                                       name, who);
        dir = storage_volume_path(root, name);
        struct rm_job j = { dir };
        /* its files belong to container IDs: remove them as their owner */
        int r = cmd_storage_in_userns(rm_volume_in_userns, &j, false, err);
        if (r > 0)
                return hutch_error_set(err, 0, "could not remove volume '%s'", name);
        return r;
}

static const struct cmd_option rm_options[] = {
        { "force", 'f', no_argument, NULL, "remove even when a container uses it", 'f' },
        { 0 },
};

static int volume_rm(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        bool force = false;
        int status = 0;
        int r = no_options(cmd, argc, argv, &force, NULL, err);
        if (r != 0)
                return r < 0 ? r : 0;
        if (optind >= argc)
                return cmd_usage_error(cmd, err, "'%s' needs a NAME", cmd->full_name);
        for (int i = optind; i < argc; i++) {
                struct hutch_error *e = NULL;
                if (remove_volume(root, argv[i], force, &e) < 0) {
                        fprintf(stderr, "Error: %s\n", e->msg);
                        hutch_error_free(e);
                        status = EXIT_HUTCH_FAILED;
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return status;
}

const struct cmd_option cmd_volume_prune_options[] = {
        { "force", 'f', no_argument, NULL, "do not ask (hutch never asks)", 'f' },
        { 0 },
};

int cmd_volume_prune(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        _cleanup_strv_ char **names = NULL;
        int status = 0;
        int r = no_options(cmd, argc, argv, NULL, NULL, err);
        if (r != 0)
                return r < 0 ? r : 0;
        r = storage_volume_list(root, &names, err);
        if (r < 0)
                return r;
        for (size_t i = 0; names[i]; i++) {
                _cleanup_free_ char *who = volume_user(root, names[i]);
                struct hutch_error *e = NULL;
                if (who)
                        continue;
                if (remove_volume(root, names[i], false, &e) < 0) {
                        fprintf(stderr, "Error: %s\n", e->msg);
                        hutch_error_free(e);
                        status = EXIT_HUTCH_FAILED;
                        continue;
                }
                printf("%s\n", names[i]);
        }
        return status;
}

const struct cmd_command cmd_volume_subcommands[] = {
        { "create", "[NAME]", "Create a volume", volume_create, create_options, NULL, NULL },
        { "ls", "[OPTIONS]", "List volumes", volume_ls, ls_options, NULL, NULL },
        { "list", "[OPTIONS]", "List volumes", volume_ls, ls_options, NULL, NULL },
        { "inspect", "NAME...", "Show volumes as JSON", volume_inspect, create_options, NULL, NULL },
        { "rm", "[OPTIONS] NAME...", "Remove volumes", volume_rm, rm_options, NULL, NULL },
        { "prune", "[OPTIONS]", "Remove every volume no container uses", cmd_volume_prune, cmd_volume_prune_options,
          NULL, NULL },
        { 0 },
};

/* ---- the image's VOLUMEs: anonymous volumes of a container ---- */

int cmd_anon_volumes_plan(char *const *image_volumes, const struct cmd_volume *vols, size_t n, char ***ret,
                          struct hutch_error **err)
{
        char **plan = xcalloc(1, sizeof(char *));

        for (size_t i = 0; image_volumes && image_volumes[i]; i++) {
                _cleanup_free_ char *dest = NULL, *name = NULL;
                bool taken = false;
                /* untrusted: confined to the container's root (CVE-2022-23648) */
                if (cmd_clean_container_path(image_volumes[i], &dest, err) < 0 || STREQ(dest, "/")) {
                        hutch_strv_free(plan);
                        if (dest)
                                return hutch_error_set(err, EINVAL, "the image's VOLUME '/' cannot be a volume");
                        return hutch_error_prefix(err, "the image's VOLUME");
                }
                /* a mount of the user's at that path wins */
                for (size_t k = 0; k < n && !taken; k++)
                        taken = STREQ(vols[k].destination, dest);
                for (size_t k = 0; plan[k] && !taken; k++)
                        taken = STREQ(strchr(plan[k], ':') + 1, dest);
                if (taken)
                        continue;
                name = hutch_random_hex(32);
                hutch_strv_push(&plan, xasprintf("%s:%s", name, dest));
        }
        *ret = plan;
        return 0;
}

void cmd_anon_volumes_add(char *const *anon, struct cmd_volume **vols, size_t *n)
{
        for (size_t i = 0; anon && anon[i]; i++) {
                struct cmd_volume v = { .kind = CMD_VOLUME_NAMED };
                if (!storage_container_anon_volume_split(anon[i], &v.source, &v.destination))
                        continue;
                *vols = xreallocarray(*vols, *n + 1, sizeof(**vols));
                (*vols)[(*n)++] = v;
        }
}

int cmd_anon_volumes_remove(const char *root, char *const *anon, struct hutch_error **err)
{
        int r = 0;
        for (size_t i = 0; anon && anon[i]; i++) {
                _cleanup_free_ char *name = NULL;
                if (!storage_container_anon_volume_split(anon[i], &name, NULL) || !storage_volume_exists(root, name))
                        continue;
                struct hutch_error *e = NULL;
                if (remove_volume(root, name, true, &e) < 0) {
                        if (r == 0 && err)
                                *err = e;
                        else
                                hutch_error_free(e);
                        r = -1;
                }
        }
        return r;
}

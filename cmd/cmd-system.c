/* hutch system df, system check, system prune, system reset. */
#include "config.h"

#include "cmd/cmd-containers.h"
#include "cmd/cmd-storage.h"
#include "cmd/paths.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/proc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/check.h"
#include "storage/containers.h"
#include "storage/volumes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes on disk below dirfd/name (hardlinks counted once per walk). */
static uint64_t disk_usage(int parent, const char *name, int depth)
{
        struct stat st;
        uint64_t total = 0;

        if (depth > 512 || fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        total = (uint64_t) st.st_blocks * 512;
        if (!S_ISDIR(st.st_mode))
                return st.st_nlink > 1 ? total / st.st_nlink : total;
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        if (d == NULL) {
                if (fd >= 0)
                        (void) close(fd);
                return total;
        }
        while ((de = readdir(d)) != NULL)
                if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, ".."))
                        total += disk_usage(dirfd(d), de->d_name, depth + 1);
        (void) closedir(d);
        return total;
}

static void human_size(uint64_t b, char *buf, size_t size)
{
        static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
        double v = (double) b;
        size_t u = 0;
        while (v >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
                v /= 1000;
                u++;
        }
        snprintf(buf, size, u ? "%.2f %s" : "%.0f %s", v, units[u]);
}

struct df_job {
        const char *root;
};

static uint64_t count_entries(const char *path)
{
        _cleanup_dir_ DIR *d = opendir(path);
        struct dirent *de;
        uint64_t n = 0;
        while (d && (de = readdir(d)) != NULL)
                n += de->d_name[0] != '.' && !strstr(de->d_name, ".lock");
        return n;
}

/* In the storage user namespace: every file is readable there. */
static int df_in_userns(void *data)
{
        struct df_job *j = data;
        static const struct {
                const char *type, *dir;
        } parts[] = { { "Layers", "layers" },
                      { "Blobs", "blobs/sha256" },
                      { "Containers", "containers" },
                      { "Volumes", "volumes" } };
        _cleanup_close_ int rootfd = open(j->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char size[32];

        printf("%-12s %-8s %s\n", "TYPE", "TOTAL", "SIZE");
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", j->root, parts[i].dir);
                uint64_t bytes = rootfd >= 0 ? disk_usage(rootfd, parts[i].dir, 0) : 0;
                human_size(bytes, size, sizeof(size));
                printf("%-12s %-8llu %s\n", parts[i].type, (unsigned long long) count_entries(path), size);
        }
        fflush(stdout);
        return 0;
}

static const struct cmd_option cmd_system_df_options[] = { { 0 } };

static int cmd_system_df(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        int c;

        c = cmd_getopt_none(cmd, argc, argv, err);
        if (c != 0)
                return c < 0 ? -1 : 0;
        if (optind < argc)
                return cmd_usage_error(cmd, err, "'%s' accepts no arguments", cmd->full_name);
        struct df_job j = { root };
        return cmd_storage_in_userns(df_in_userns, &j, false, err);
}

static const struct cmd_option cmd_system_reset_options[] = {
        { "force", 'f', no_argument, NULL, "really remove every image, container and volume", 'f' },
        { 0 },
};

struct reset_job {
        const char *root;
};

static int reset_in_userns(void *data)
{
        struct reset_job *j = data;
        _cleanup_dir_ DIR *d = opendir(j->root);
        struct dirent *de;
        int status = 0;

        while (d && (de = readdir(d)) != NULL) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                int r = hutch_rm_rf_at(dirfd(d), de->d_name);
                if (r < 0) {
                        fprintf(stderr, "Error: remove '%s/%s': %s\n", j->root, de->d_name, strerror(-r));
                        status = EXIT_HUTCH_FAILED;
                }
        }
        return status;
}

static int cmd_system_reset(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        struct storage_container *list = NULL;
        char *optval = NULL;
        bool force = false;
        size_t n = 0;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == 'f')
                        force = true;
        }
        if (optind < argc)
                return cmd_usage_error(cmd, err, "'%s' accepts no arguments", cmd->full_name);
        if (!force)
                return cmd_usage_error(
                        cmd, err, "this removes every image, container and volume in '%s': run it with --force", root);
        if (access(root, F_OK) < 0)
                return 0;
        /* containers first: their monitors must not write records back */
        if (storage_container_list(root, &list, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (list[i].status != STORAGE_CONTAINER_RUNNING)
                        continue;
                _cleanup_close_ int pidfd = hutch_pidfd_open(list[i].pid);
                if (pidfd >= 0 && storage_container_pid_alive(list[i].pid, list[i].pid_start)) {
                        (void) hutch_pidfd_send_signal(pidfd, SIGKILL);
                        for (int k = 0; k < 300 && storage_container_pid_alive(list[i].pid, list[i].pid_start); k++)
                                usleep(10000);
                }
        }
        storage_container_list_free(list, n);
        usleep(100000); /* their monitors record the exit and leave */
        struct reset_job j = { root };
        r = cmd_storage_in_userns(reset_in_userns, &j, false, err);
        return r;
}

/* ---- system check ---- */

enum { OPT_CHECK_REPAIR = 'r', OPT_CHECK_QUICK = 'q', OPT_CHECK_FORCE = 'f' };

static const struct cmd_option cmd_system_check_options[] = {
        { "repair", 'r', no_argument, NULL, "remove damaged images, corrupt blobs and leftovers of killed commands",
          OPT_CHECK_REPAIR },
        { "quick", 'q', no_argument, NULL, "check sizes only, do not hash the blobs", OPT_CHECK_QUICK },
        { "force", 'f', no_argument, NULL, "with --repair: also remove the stopped containers of damaged images",
          OPT_CHECK_FORCE },
        { 0 },
};

static const char *const problem_fixed[] = {
        [STORAGE_CHECK_RECORDS] = "rewritten with the whole records",
        [STORAGE_CHECK_IMAGE] = "removed",
        [STORAGE_CHECK_BLOB] = "removed",
        [STORAGE_CHECK_CONTAINER] = "removed",
        [STORAGE_CHECK_LEFTOVER] = "removed",
};

static int check_in_userns(void *data)
{
        const struct storage_check_options *o = data;
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        struct storage_check_report rep = { 0 };
        struct hutch_error *err = NULL;
        size_t left, fixed;

        if (cmd_storage_open(STORAGE_STORE_READ, &s, &err) < 0 || storage_check(s, o, &rep, &err) < 0)
                return cmd_storage_report(err);
        for (size_t i = 0; i < rep.n; i++) {
                const struct storage_check_problem *p = &rep.v[i];
                if (p->repaired)
                        printf("%s: %s: %s\n", p->what, p->why, problem_fixed[p->kind]);
                else
                        printf("%s: %s\n", p->what, p->why);
        }
        left = storage_check_report_unrepaired(&rep);
        fixed = rep.n - left;
        if (rep.removed) {
                printf("%s\n", o->repair ? "Images removed (pull or load them again):"
                                         : "Images whose records are lost (pull or load them again):");
                for (char **n = rep.removed; *n; n++)
                        printf("  %s\n", *n);
        }
        if (rep.n == 0)
                printf("No problems found: %zu image%s, %zu layer%s, %zu blob%s and %zu container%s checked%s.\n",
                       rep.images, rep.images == 1 ? "" : "s", rep.layers, rep.layers == 1 ? "" : "s", rep.blobs,
                       rep.blobs == 1 ? "" : "s", rep.containers, rep.containers == 1 ? "" : "s",
                       o->quick ? " (sizes only)" : "");
        else if (fixed)
                printf("Repaired %zu problem%s.\n", fixed, fixed == 1 ? "" : "s");
        if (rep.unused_layers || rep.unused_blobs)
                printf("%zu layer%s and %zu blob%s no image uses: 'hutch image prune' removes them.\n",
                       rep.unused_layers, rep.unused_layers == 1 ? "" : "s", rep.unused_blobs,
                       rep.unused_blobs == 1 ? "" : "s");
        fflush(stdout);
        if (rep.busy)
                fprintf(stderr, "hutch: the store is in use (a command or a running container): files of commands "
                                "in progress were not checked\n");
        if (left && !o->repair)
                fprintf(stderr,
                        "Error: %zu problem%s found in the store: 'hutch system check --repair' removes what "
                        "is damaged\n",
                        left, left == 1 ? "" : "s");
        else if (left)
                fprintf(stderr, "Error: %zu problem%s could not be repaired (see above)\n", left, left == 1 ? "" : "s");
        storage_check_report_clear(&rep);
        return left ? EXIT_HUTCH_FAILED : 0;
}

static int cmd_system_check(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct storage_check_options o = { 0 };
        char *optval = NULL;
        int c;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: return -1;
                case OPT_CHECK_REPAIR: o.repair = true; break;
                case OPT_CHECK_QUICK: o.quick = true; break;
                case OPT_CHECK_FORCE: o.force = true; break;
                }
        }
        if (optind < argc)
                return cmd_usage_error(cmd, err, "'%s' accepts no arguments", cmd->full_name);
        if (o.force && !o.repair)
                return cmd_usage_error(cmd, err, "--force only applies with --repair");
        return cmd_storage_in_userns(check_in_userns, &o, false, err);
}

/* ---- system prune ---- */

enum { OPT_PRUNE_ALL = 'a', OPT_PRUNE_FORCE = 'f', OPT_PRUNE_VOLUMES = 0x100 };

static const struct cmd_option system_prune_options[] = {
        { "all", 'a', no_argument, NULL, "remove every unused image, not only those without a name", OPT_PRUNE_ALL },
        { "force", 'f', no_argument, NULL, "do not ask for confirmation (hutch never asks)", OPT_PRUNE_FORCE },
        { "volumes", 0, no_argument, NULL, "remove the volumes no container uses too", OPT_PRUNE_VOLUMES },
        { 0 },
};

/* The prunes of containers, volumes and images, in that order (what the
 * removed containers used is unused afterwards), as `docker system prune`. */
static int cmd_system_prune(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        const struct cmd_command containers = {
                "prune", "", "", cmd_container_prune, cmd_container_prune_options, NULL, "hutch container prune"
        };
        const struct cmd_command volumes = {
                "prune", "", "", cmd_volume_prune, cmd_volume_prune_options, NULL, "hutch volume prune"
        };
        const struct cmd_command images = {
                "prune", "", "", cmd_image_prune, cmd_image_prune_options, NULL, "hutch image prune"
        };
        bool all = false, with_volumes = false;
        char *optval = NULL;
        int c, r, status = 0;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: return -1;
                case OPT_PRUNE_ALL: all = true; break;
                case OPT_PRUNE_VOLUMES: with_volumes = true; break;
                }
        }
        if (optind < argc)
                return cmd_usage_error(cmd, err, "'%s' accepts no arguments", cmd->full_name);

        char *none[] = { (char *) "prune", NULL }, *with_all[] = { (char *) "prune", (char *) "--all", NULL };
        printf("Deleted Containers:\n");
        fflush(stdout);
        optind = 0; /* getopt afresh for each argv */
        r = cmd_container_prune(&containers, 1, none, err);
        if (r < 0)
                return r;
        status = status ? status : r;
        if (with_volumes) {
                printf("\nDeleted Volumes:\n");
                fflush(stdout);
                optind = 0;
                r = cmd_volume_prune(&volumes, 1, none, err);
                if (r < 0)
                        return r;
                status = status ? status : r;
        }
        printf("\nDeleted Images:\n");
        fflush(stdout);
        optind = 0;
        r = cmd_image_prune(&images, all ? 2 : 1, all ? with_all : none, err);
        if (r < 0)
                return r;
        return status ? status : r;
}

const struct cmd_command cmd_system_subcommands[] = {
        { "check", "[OPTIONS]", "Check the store for damage (--repair removes it)", cmd_system_check,
          cmd_system_check_options, NULL, NULL },
        { "df", "", "Show the disk space the store uses", cmd_system_df, cmd_system_df_options, NULL, NULL },
        { "prune", "[OPTIONS]", "Remove stopped containers, unused images (and volumes with --volumes)",
          cmd_system_prune, system_prune_options, NULL, NULL },
        { "reset", "--force", "Remove every image, container and volume", cmd_system_reset, cmd_system_reset_options,
          NULL, NULL },
        { 0 },
};

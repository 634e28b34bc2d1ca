/* hutch load, save, import, unshare; and the storage helpers of cmd/. */
#include "config.h"

#include "cmd/cmd-storage.h"
#include "cmd/image-change.h"
#include "cmd/paths.h"
#include "cmd/userns.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runtime/runtime.h"
#include "storage/archive.h"
#include "storage/images.h"
#include "storage/reference.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- shared helpers ---- */

int cmd_storage_open(enum storage_store_mode mode, struct storage_store **ret, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        int r;

        r = cmd_ensure_private_dir(root, err);
        if (r < 0)
                return hutch_error_prefix(err, "storage root");
        return storage_store_open(root, mode, ret, err);
}

int cmd_storage_report(struct hutch_error *err)
{
        int status = err && err->exit_status ? err->exit_status : EXIT_HUTCH_FAILED;

        fflush(stdout);
        fprintf(stderr, "Error: %s\n", err && err->msg ? err->msg : "unknown failure");
        fflush(stderr);
        hutch_error_free(err);
        return status;
}

struct trampoline {
        int (*fn)(void *data);
        void *data;
};

static int run_trampoline(void *p)
{
        struct trampoline *t = p;
        int r = t->fn(t->data);

        /* the child leaves with _exit(): stdio is not flushed for us */
        fflush(stdout);
        fflush(stderr);
        return r;
}

int cmd_storage_in_userns(int (*fn)(void *data), void *data, bool with_mountns, struct hutch_error **err)
{
        struct cmd_userns uns = { 0 };
        struct trampoline t = { fn, data };
        _cleanup_free_ char *root = cmd_storage_root();
        int r;

        /* made here, as ourselves, so its owner is checked against our UID */
        r = cmd_ensure_private_dir(root, err);
        if (r < 0)
                return hutch_error_prefix(err, "storage root");
        r = cmd_userns_load(&uns, err);
        if (r < 0)
                return r;
        cmd_userns_warn(&uns);
        fflush(stdout);
        fflush(stderr);
        r = runtime_userns_run(&uns.uidmap, &uns.gidmap, uns.full ? uns.newuidmap : NULL,
                               uns.full ? uns.newgidmap : NULL, with_mountns, run_trampoline, &t, err);
        cmd_userns_clear(&uns);
        return r;
}

static int open_input(const char *path, const char *what, struct hutch_error **err)
{
        struct stat st;
        int fd;

        if (path == NULL || STREQ(path, "-")) {
                if (isatty(STDIN_FILENO))
                        return hutch_error_set(err, 0, "no %s given and standard input is a terminal", what);
                fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return hutch_error_set(err, errno, "standard input");
                return fd;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return hutch_error_set(err, errno, "open %s '%s'", what, path);
        if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
                (void) close(fd);
                return hutch_error_set(err, 0, "%s '%s' is a directory", what, path);
        }
        return fd;
}

/* ---- load ---- */

enum { OPT_INPUT = 'i', OPT_QUIET = 'q', OPT_OUTPUT = 'o', OPT_FORMAT = 0x100, OPT_CHANGE = 'c', OPT_MESSAGE = 'm' };

const struct cmd_option cmd_load_options[] = {
        { "input", 'i', required_argument, "FILE", "read the archive from FILE (default: standard input)", OPT_INPUT },
        { "quiet", 'q', no_argument, NULL, "print nothing but errors", OPT_QUIET },
        { 0 },
};

struct load_job {
        int fd;
        bool quiet;
};

static int load_in_userns(void *p)
{
        struct load_job *j = p;
        struct hutch_error *err = NULL;
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        struct storage_images loaded = { 0 };
        int r;

        r = cmd_storage_open(STORAGE_STORE_WRITE, &s, &err);
        if (r >= 0)
                r = storage_archive_load(s, j->fd, NULL, &loaded, &err);
        if (r < 0)
                return cmd_storage_report(err);
        for (size_t i = 0; i < loaded.n; i++) {
                if (j->quiet)
                        continue;
                if (loaded.v[i].names[0] == NULL)
                        printf("Loaded image: sha256:%s\n", loaded.v[i].id);
                for (char **n = loaded.v[i].names; *n; n++)
                        printf("Loaded image: %s\n", *n);
        }
        storage_images_clear(&loaded);
        return 0;
}

int cmd_load(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct load_job j = { .fd = -1 };
        const char *input = NULL;
        char *optval = NULL;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_INPUT)
                        input = optval;
                else if (c == OPT_QUIET)
                        j.quiet = true;
        }
        if (optind < argc)
                return cmd_usage_error(cmd, err, "'%s' takes no arguments (use -i FILE)", cmd->full_name);
        j.fd = open_input(input, "archive", err);
        if (j.fd < 0)
                return hutch_error_prefix(err, "load");
        r = cmd_storage_in_userns(load_in_userns, &j, false, err);
        (void) close(j.fd);
        return r;
}

/* ---- save ---- */

const struct cmd_option cmd_save_options[] = {
        { "output", 'o', required_argument, "FILE", "write the archive to FILE (default: standard output)",
          OPT_OUTPUT },
        { "format", 0, required_argument, "FORMAT", "docker-archive (default) or oci-archive", OPT_FORMAT },
        { "quiet", 'q', no_argument, NULL, "print nothing but errors", OPT_QUIET },
        { 0 },
};

int cmd_save(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        struct storage_images imgs = { 0 };
        _cleanup_free_ struct storage_save_item *items = NULL;
        _cleanup_free_ char *tmp = NULL;
        enum storage_archive_format format = STORAGE_ARCHIVE_DOCKER;
        const char *output = NULL;
        char *optval = NULL;
        int c, r, fd = -1;
        size_t n;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_OUTPUT) {
                        output = optval;
                } else if (c == OPT_FORMAT) {
                        if (STREQ(optval, "docker-archive"))
                                format = STORAGE_ARCHIVE_DOCKER;
                        else if (STREQ(optval, "oci-archive"))
                                format = STORAGE_ARCHIVE_OCI;
                        else
                                return cmd_usage_error(cmd, err,
                                                       "unknown --format '%s' (docker-archive or oci-archive)", optval);
                }
        }
        if (optind >= argc)
                return cmd_usage_error(cmd, err, "'%s' needs at least one image", cmd->full_name);
        if (output == NULL && isatty(STDOUT_FILENO))
                return cmd_usage_error(cmd, err, "refusing to write an archive to a terminal: use -o FILE");
        r = cmd_storage_open(STORAGE_STORE_READ, &s, err);
        if (r < 0)
                return r;
        r = storage_images_read(s, &imgs, err);
        if (r < 0)
                return r;
        n = (size_t) (argc - optind);
        items = xcalloc(n, sizeof(*items));
        for (size_t i = 0; i < n; i++) {
                int k = storage_images_find(&imgs, argv[optind + (int) i], err);
                if (k < 0) {
                        storage_images_clear(&imgs);
                        return k;
                }
                items[i].image = &imgs.v[k];
                items[i].name = storage_images_matched_name(&imgs.v[k], argv[optind + (int) i]);
        }
        if (output) {
                mode_t um = umask(0);
                umask(um);
                tmp = xasprintf("%s.tmp-XXXXXX", output);
                fd = mkostemp(tmp, O_CLOEXEC);
                if (fd < 0 || fchmod(fd, 0666 & ~um) < 0) {
                        r = hutch_error_set(err, errno, "create '%s'", output);
                        goto out;
                }
        } else {
                fd = STDOUT_FILENO;
        }
        r = storage_archive_save(s, items, n, format, fd, err);
        if (r < 0 && output)
                hutch_error_prefix(err, "'%s'", output);
        if (r == 0 && output && fsync(fd) < 0)
                r = hutch_error_set(err, errno, "write '%s'", output);
        if (r == 0 && output && rename(tmp, output) < 0)
                r = hutch_error_set(err, errno, "rename to '%s'", output);
out:
        if (output && fd >= 0) {
                (void) close(fd);
                if (r < 0)
                        (void) unlink(tmp);
        }
        storage_images_clear(&imgs);
        if (r < 0)
                return hutch_error_prefix(err, "save");
        return 0;
}

/* ---- import ---- */

const struct cmd_option cmd_import_options[] = {
        { "change", 'c', required_argument, "INSTRUCTION",
          "apply CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR (as INSTR=VALUE or "
          "\"INSTR VALUE\")",
          OPT_CHANGE },
        { "message", 'm', required_argument, "TEXT", "ignored (for compatibility)", OPT_MESSAGE },
        { "quiet", 'q', no_argument, NULL, "print only the image ID", OPT_QUIET },
        { 0 },
};

struct import_job {
        int fd;
        bool quiet;
        const char *name;
        struct storage_image_config *cfg;
};

static int import_in_userns(void *p)
{
        struct import_job *j = p;
        struct hutch_error *err = NULL;
        _cleanup_(storage_store_free_cleanup) struct storage_store *s = NULL;
        struct storage_image img = { 0 };
        int r;

        r = cmd_storage_open(STORAGE_STORE_WRITE, &s, &err);
        if (r >= 0)
                r = storage_archive_import(s, j->fd, j->cfg, j->name, NULL, &img, &err);
        if (r < 0) {
                hutch_error_prefix(&err, "import");
                return cmd_storage_report(err);
        }
        printf("%s%s\n", j->quiet ? "" : "", img.id);
        storage_image_clear(&img);
        return 0;
}

int cmd_import(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_(storage_image_config_free_cleanup) struct storage_image_config *cfg = xzalloc(sizeof(*cfg));
        _cleanup_free_ char *name = NULL;
        struct import_job j = { .fd = -1 };
        char *optval = NULL;
        int c, r;

        /* as Podman does; ENV PATH=... replaces it */
        hutch_strv_append(&cfg->env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_CHANGE) {
                        r = cmd_image_change_apply(cfg, optval, err);
                        if (r < 0)
                                return r;
                } else if (c == OPT_QUIET) {
                        j.quiet = true;
                }
        }
        if (optind >= argc || argc - optind > 2)
                return cmd_usage_error(cmd, err, "'%s' needs a TARBALL and an optional NAME", cmd->full_name);
        if (strstr(argv[optind], "://"))
                return hutch_error_set(err, 0, "import from a URL is not supported: download '%s' first", argv[optind]);
        if (argc - optind == 2) {
                struct storage_reference ref = { 0 };
                if (storage_reference_parse(argv[optind + 1], &ref, err) < 0)
                        return -EINVAL;
                if (ref.digest) {
                        storage_reference_clear(&ref);
                        return hutch_error_set(err, 0, "an image name cannot carry a digest: '%s'", argv[optind + 1]);
                }
                name = storage_reference_format(&ref);
                storage_reference_clear(&ref);
        }
        j.fd = open_input(argv[optind], "tarball", err);
        if (j.fd < 0)
                return hutch_error_prefix(err, "import");
        j.name = name;
        j.cfg = cfg;
        r = cmd_storage_in_userns(import_in_userns, &j, false, err);
        (void) close(j.fd);
        return r;
}

/* ---- unshare ---- */

const struct cmd_option cmd_unshare_options[] = {
        { 0 },
};

struct unshare_job {
        char **argv;
        const char *root;
};

static int unshare_in_userns(void *p)
{
        struct unshare_job *j = p;
        const char *shell = getenv("SHELL");
        char *sh[] = { (char *) (shell && *shell == '/' ? shell : "/bin/sh"), NULL };
        char **argv = j->argv && j->argv[0] ? j->argv : sh;
        int e;

        (void) setenv("HUTCH_STORAGE_ROOT", j->root, 1);
        fflush(stdout);
        execvp(argv[0], argv);
        e = errno;
        fprintf(stderr, "Error: run '%s': %s\n", argv[0], strerror(e));
        return e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
}

int cmd_unshare(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        struct unshare_job j = { .argv = NULL, .root = root };
        char *optval = NULL;
        int c;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
        }
        j.argv = argv + optind;
        return cmd_storage_in_userns(unshare_in_userns, &j, true, err);
}

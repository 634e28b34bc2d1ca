/* hutch cp: copies between the host and a running container.
 *
 * The host side is opened first, as ourselves.  Then a child joins the
 * container's user and mount namespaces (not its pid namespace, so nothing
 * in the container can see or signal it) and resolves the container side
 * with openat2(RESOLVE_IN_ROOT) from the container's root: a symlink or
 * ".." in the container can never reach the host (CVE-2018-15664,
 * CVE-2019-14271).  Only our own code runs; nothing from the image. */
#include "config.h"

#include "cmd/cmd-containers.h"
#include "cmd/cmd-storage.h"
#include "cmd/image-run.h"
#include "cmd/paths.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/proc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runtime/mounts.h"
#include "storage/containers.h"
#include "storage/export.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const struct cmd_option cmd_cp_options[] = { { 0 } };

/* "name:/path" -> container reference and path; NULL for a host path. */
static char *split_container(const char *arg, const char **ret_path)
{
        const char *colon = strchr(arg, ':');
        if (colon == NULL || arg[0] == '/' || arg[0] == '.' || colon == arg)
                return NULL;
        *ret_path = colon + 1;
        return xstrndup(arg, (size_t) (colon - arg));
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s && s[1] ? s + 1 : s ? "." : path;
}

/* Copies srcdir/name as dstdir/dstname (a directory recursively). */
static int copy_one(int srcdir, const char *name, int dstdir, const char *dstname)
{
        struct stat st;
        /* an existing file is replaced; an existing directory is merged into */
        if (fstatat(dstdir, dstname, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
            unlinkat(dstdir, dstname, 0) < 0)
                return -errno;
        return hutch_copy_entry(srcdir, name, dstdir, dstname, false);
}

/* Opens the parent of path and sets *ret_name to its last component. */
static int open_parent_in_root(int rootfd, const char *path, char **ret_name)
{
        _cleanup_free_ char *copy = xstrdup(path);
        size_t n = strlen(copy);
        while (n > 1 && copy[n - 1] == '/')
                copy[--n] = '\0';
        char *slash = strrchr(copy, '/');
        const char *parent = slash == NULL ? "." : slash == copy ? "/" : (*slash = '\0', copy);
        const char *name = slash ? slash + 1 : copy;
        if (STREQ(name, "") || STREQ(name, ".") || STREQ(name, ".."))
                return -EINVAL;
        int fd = rootfd >= 0 ? hutch_open_in_root(rootfd, parent, O_RDONLY | O_DIRECTORY, 0)
                             : open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return fd < 0 && rootfd >= 0 ? fd : -errno;
        *ret_name = xstrdup(name);
        return fd;
}

struct cp_job {
        int pidfd;
        bool to_container;
        const char *ctr_path;
        int host_dir;    /* parent directory of the host side */
        char *host_name; /* its last component */
        bool host_is_dir;
};

static int cp_in_container(struct cp_job *j)
{
        _cleanup_close_ int rootfd = -1, cdir = -1;
        _cleanup_free_ char *cname = NULL;
        struct stat st;
        int r;

        /* nothing in the container may ptrace or open /proc of us */
        (void) prctl(PR_SET_DUMPABLE, 0);
        if (setns(j->pidfd, CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return -errno;
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return -errno;
        rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return -errno;

        if (!j->to_container) {
                cdir = open_parent_in_root(rootfd, j->ctr_path, &cname);
                if (cdir < 0)
                        return cdir;
                if (fstatat(cdir, cname, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (S_ISLNK(st.st_mode)) {
                        /* a link given by name is followed, inside the container */
                        _cleanup_close_ int t = hutch_open_in_root(rootfd, j->ctr_path, O_PATH, 0);
                        if (t < 0)
                                return t;
                }
                if (j->host_is_dir) {
                        return copy_one(cdir, cname, j->host_dir, cname);
                }
                return copy_one(cdir, cname, j->host_dir, j->host_name);
        }

        /* host -> container: into an existing directory, or as the path */
        _cleanup_close_ int target = hutch_open_in_root(rootfd, j->ctr_path, O_RDONLY | O_DIRECTORY, 0);
        if (target >= 0)
                return copy_one(j->host_dir, j->host_name, target, j->host_name);
        if (target != -ENOENT && target != -ENOTDIR)
                return target;
        cdir = open_parent_in_root(rootfd, j->ctr_path, &cname);
        if (cdir < 0)
                return cdir;
        r = copy_one(j->host_dir, j->host_name, cdir, cname);
        return r;
}

int cmd_cp(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        _cleanup_free_ char *src_ctr = NULL, *dst_ctr = NULL;
        struct storage_container ct = { 0 };
        char id[STORAGE_CONTAINER_ID_LEN + 1];
        const char *src_path = NULL, *dst_path = NULL;
        struct cp_job j = { .host_dir = -1 };
        int c, r, status;

        c = cmd_getopt_none(cmd, argc, argv, err);
        if (c != 0)
                return c < 0 ? -1 : 0;
        if (argc - optind != 2)
                return cmd_usage_error(cmd, err, "'%s' needs a SOURCE and a DESTINATION", cmd->full_name);
        src_ctr = split_container(argv[optind], &src_path);
        dst_ctr = split_container(argv[optind + 1], &dst_path);
        if ((src_ctr == NULL) == (dst_ctr == NULL))
                return cmd_usage_error(cmd, err, "exactly one of SOURCE and DESTINATION must be CONTAINER:PATH");
        j.to_container = dst_ctr != NULL;
        j.ctr_path = j.to_container ? dst_path : src_path;
        if (*j.ctr_path == '\0')
                j.ctr_path = "/";

        r = storage_container_lookup(root, j.to_container ? dst_ctr : src_ctr, id, err);
        if (r == 0)
                r = storage_container_load(root, id, &ct, err);
        if (r < 0)
                return r;
        _cleanup_close_ int pidfd = ct.status == STORAGE_CONTAINER_RUNNING ? hutch_pidfd_open(ct.pid) : -1;
        if (pidfd < 0 || !storage_container_pid_alive(ct.pid, ct.pid_start)) {
                hutch_error_set(err, 0, "container '%s' is not running (hutch cp needs a running container)", ct.name);
                storage_container_clear(&ct);
                return -1;
        }
        storage_container_clear(&ct);
        j.pidfd = pidfd;

        /* the host side, opened as ourselves before anything else */
        const char *host_path = j.to_container ? argv[optind] : argv[optind + 1];
        struct stat st;
        if (j.to_container) {
                if (lstat(host_path, &st) < 0)
                        return hutch_error_set(err, errno, "'%s'", host_path);
        } else if (stat(host_path, &st) == 0 && S_ISDIR(st.st_mode)) {
                j.host_is_dir = true;
                j.host_dir = open(host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                j.host_name = xstrdup(base_name(j.ctr_path));
        }
        if (j.host_dir < 0) {
                j.host_dir = open_parent_in_root(-1, host_path, &j.host_name);
                if (j.host_dir < 0)
                        return hutch_error_set(err, -j.host_dir, "'%s'", host_path);
        }

        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
                r = hutch_error_set(err, errno, "fork");
                goto out;
        }
        if (pid == 0) {
                r = cp_in_container(&j);
                if (r < 0) {
                        fprintf(stderr, "Error: copy '%s' %s container '%s': %s\n", j.ctr_path,
                                j.to_container ? "into" : "out of", argv[optind + (j.to_container ? 1 : 0)],
                                strerror(-r));
                        _exit(EXIT_HUTCH_FAILED);
                }
                _exit(0);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        r = hutch_error_set(err, errno, "wait");
                        goto out;
                }
        r = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_HUTCH_FAILED;
out:
        if (j.host_dir >= 0)
                (void) close(j.host_dir);
        free(j.host_name);
        return r;
}

/* ---- export ---- */

const struct cmd_option cmd_export_options[] = {
        { "output", 'o', required_argument, "FILE", "write the tar to FILE (default: standard output)", 'o' },
        { 0 },
};

struct export_job {
        char **lowerdirs; /* the container's layer, then the image's */
        const char *mnt;
        int out_fd;
};

static int export_in_userns(void *data)
{
        struct export_job *j = data;
        struct hutch_error *e = NULL;
        int r;

        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                fprintf(stderr, "Error: make the mount namespace private: %s\n", strerror(errno));
                return EXIT_HUTCH_FAILED;
        }
        r = runtime_mount_overlay_readonly(j->lowerdirs, j->mnt, &e);
        if (r == 0) {
                _cleanup_close_ int dfd = open(j->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = dfd < 0 ? hutch_error_set(&e, errno, "open '%s'", j->mnt) : storage_export_tree(dfd, j->out_fd, &e);
        }
        if (r < 0) {
                fprintf(stderr, "Error: export: %s\n", e->msg);
                hutch_error_free(e);
                return EXIT_HUTCH_FAILED;
        }
        return 0;
}

int cmd_export(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root(), *mnt = NULL, *upper = NULL;
        _cleanup_close_ int out = -1;
        struct storage_container ct = { 0 };
        struct cmd_image_run img = { 0 };
        char id[STORAGE_CONTAINER_ID_LEN + 1];
        const char *output = NULL;
        char *optval = NULL;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == 'o')
                        output = optval;
        }
        if (optind + 1 != argc)
                return cmd_usage_error(cmd, err, "'%s' needs exactly one CONTAINER", cmd->full_name);
        if (output == NULL && isatty(STDOUT_FILENO))
                return hutch_error_set(err, 0, "refusing to write a tar to a terminal: redirect it or use -o FILE");
        r = storage_container_lookup(root, argv[optind], id, err);
        if (r == 0)
                r = storage_container_load(root, id, &ct, err);
        if (r < 0)
                return r;
        r = cmd_image_run_resolve(ct.image_id ? ct.image_id : ct.image, &img, err);
        if (r < 0) {
                storage_container_clear(&ct);
                return hutch_error_prefix(err, "the image of container '%s'", argv[optind]);
        }
        storage_container_clear(&ct);

        out = output ? open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : dup(STDOUT_FILENO);
        if (out < 0) {
                r = hutch_error_set(err, errno, "open '%s'", output ? output : "standard output");
                goto done;
        }
        mnt = storage_container_path(root, id, "export-mnt");
        if (mkdir(mnt, 0700) < 0 && errno != EEXIST) {
                r = hutch_error_set(err, errno, "create '%s'", mnt);
                goto done;
        }
        upper = storage_container_path(root, id, "upper");
        char **lowers = NULL;
        hutch_strv_append(&lowers, upper);
        for (size_t i = 0; img.layers && img.layers[i]; i++)
                hutch_strv_append(&lowers, img.layers[i]);
        struct export_job j = { lowers, mnt, out };
        fflush(stdout);
        r = cmd_storage_in_userns(export_in_userns, &j, true, err);
        hutch_strv_free(lowers);
        (void) rmdir(mnt);
        if (r > 0 && output)
                (void) unlink(output); /* a half-written tar is worse than none */
done:
        cmd_image_run_clear(&img);
        return r;
}

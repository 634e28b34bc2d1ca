/* hutch cp and hutch export: a container's files, from the host.
 *
 * cp resolves the host side first, as ourselves.  Then a child opens a
 * running container's root through /proc/PID/root and joins its user
 * namespace only (not its mount namespace, so every library it might load
 * is the host's, nor its pid namespace, so nothing in the container can see
 * or signal it), or mounts a stopped one's files in a user and mount
 * namespace of its own, and resolves the container side with
 * openat2(RESOLVE_IN_ROOT) from the container's root: a symlink or ".." in
 * the container can never reach the host (CVE-2018-15664, CVE-2019-14271).
 * Only our own code runs; nothing from the image. */
#include "config.h"

#include "cmd/cmd-containers.h"
#include "cmd/cmd-storage.h"
#include "cmd/image-run.h"
#include "cmd/paths.h"
#include "cmd/run.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/proc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runtime/mounts.h"
#include "storage/containers.h"
#include "storage/export.h"
#include "storage/unpack.h"

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

/* ---- a stopped container's files ---- */

void cmd_container_files_clear(struct cmd_container_files *f)
{
        hutch_strv_free(f->layers);
        free(f->upper);
        free(f->work);
        *f = (struct cmd_container_files){ 0 };
}

int cmd_container_files_get(const char *root, const struct storage_container *ct, struct cmd_container_files *ret,
                            struct hutch_error **err)
{
        struct cmd_image_run img = { 0 };
        struct run_args a = { 0 };
        int r;

        r = cmd_run_container_args(ct, &a, err);
        if (r < 0)
                return r;
        bool keep_id = a.userns != NULL;
        cmd_run_args_clear(&a);
        if (keep_id)
                return hutch_error_set(err, 0,
                                       "container '%s' runs with --userns: its files are only reachable while it "
                                       "runs (start it, then copy)",
                                       ct->name);
        r = cmd_image_run_resolve(ct->image_id ? ct->image_id : ct->image, &img, err);
        if (r < 0)
                return hutch_error_prefix(err, "the image of container '%s'", ct->name);
        *ret = (struct cmd_container_files){ 0 };
        ret->layers = steal_ptr(&img.layers);
        cmd_image_run_clear(&img);
        ret->upper = storage_container_path(root, ct->id, "upper");
        ret->work = storage_container_path(root, ct->id, "work");
        _cleanup_free_ char *copied = storage_container_path(root, ct->id, "copied");
        ret->copied = access(copied, F_OK) == 0;
        return 0;
}

/* Mounts the files on mnt, writable or not; in a user and mount namespace
 * of our own (cmd_storage_in_userns). */
int cmd_container_files_mount(const struct cmd_container_files *f, const char *mnt, bool writable,
                              struct hutch_error **err)
{
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return hutch_error_set(err, errno, "make the mount namespace private");
        if (f->copied) {
                if (mount(f->upper, mnt, NULL, MS_BIND, NULL) < 0 ||
                    (!writable && mount(NULL, mnt, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0))
                        return hutch_error_set(err, errno, "mount '%s' on '%s'", f->upper, mnt);
                return 0;
        }
        if (writable)
                return runtime_mount_overlay_at(f->layers, f->upper, f->work, mnt, err);
        _cleanup_strv_ char **lowers = NULL;
        hutch_strv_append(&lowers, f->upper);
        for (size_t i = 0; f->layers && f->layers[i]; i++)
                hutch_strv_append(&lowers, f->layers[i]);
        return runtime_mount_overlay_at(lowers, NULL, NULL, mnt, err);
}

const struct cmd_option cmd_cp_options[] = {
        { "follow-link", 'L', no_argument, NULL,
          "follow a symbolic link in SRC (inside the container for CONTAINER:SRC)", 'L' },
        { "archive", 'a', no_argument, NULL, "keep the owners of the copied files (as far as the ID map allows)", 'a' },
        { "quiet", 'q', no_argument, NULL, "print nothing (hutch cp never does)", 'q' },
        { 0 },
};

/* "name:/path" -> container reference and path; NULL for a host path. */
static char *split_container(const char *arg, const char **ret_path)
{
        const char *colon = strchr(arg, ':');
        if (colon == NULL || arg[0] == '/' || arg[0] == '.' || colon == arg)
                return NULL;
        *ret_path = colon + 1;
        return xstrndup(arg, (size_t) (colon - arg));
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && STREQ(s + n - m, suffix);
}

/* Docker's rules for SRC: "DIR/." copies the directory's contents; a
 * trailing "/" asks for a directory.  path without them. */
struct cp_path {
        char *path;    /* without a trailing "/." or "/"; "/" for the root */
        bool contents; /* "DIR/." (or the root itself) */
        bool slash;    /* ended with "/" */
};

static void cp_path_parse(const char *arg, struct cp_path *ret)
{
        char *p = xstrdup(*arg ? arg : "/");
        size_t n = strlen(p);
        *ret = (struct cp_path){ 0 };
        if (n >= 2 && ends_with(p, "/.")) {
                ret->contents = true;
                p[n -= 2] = '\0';
        }
        while (n > 1 && p[n - 1] == '/') {
                ret->slash = true;
                p[--n] = '\0';
        }
        if (n == 0) /* "/." */
                strcpy(p, "/");
        if (STREQ(p, "/"))
                ret->contents = true;
        ret->path = p;
}

/* One side of a copy, resolved: the directory holding the entry and its
 * name; name NULL when the side is an existing directory (dir itself). */
struct cp_side {
        int dir;
        char *name;
        struct stat st; /* of the entry, when it exists */
        bool exists;
};

static void cp_side_clear(struct cp_side *s)
{
        if (s->dir >= 0)
                (void) close(s->dir);
        free(s->name);
        *s = (struct cp_side){ .dir = -1 };
}

/* Opens path (absolute or relative) with rootfd as the root (container
 * side: every lookup stays inside it) or as the host's (rootfd < 0). */
static int open_at(int rootfd, const char *path, int flags)
{
        if (rootfd >= 0)
                return hutch_open_in_root(rootfd, path, flags, 0);
        int fd = open(path, flags | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* Resolves p into its parent directory and last name.  A link at the end
 * is kept (copied as a link) unless follow, then its target is resolved,
 * inside rootfd too; -ELOOP after 40 links. */
static int cp_side_resolve(int rootfd, const struct cp_path *p, bool follow, struct cp_side *ret)
{
        _cleanup_free_ char *path = xstrdup(p->path);
        *ret = (struct cp_side){ .dir = -1 };

        for (int links = 0;; links++) {
                if (STREQ(path, "/")) {
                        ret->dir = open_at(rootfd, "/", O_RDONLY | O_DIRECTORY);
                        if (ret->dir < 0)
                                return ret->dir;
                        ret->exists = fstat(ret->dir, &ret->st) == 0;
                        return 0;
                }
                char *slash = strrchr(path, '/');
                const char *name = slash ? slash + 1 : path;
                _cleanup_free_ char *parent = slash == NULL   ? xstrdup(".")
                                              : slash == path ? xstrdup("/")
                                                              : xstrndup(path, (size_t) (slash - path));
                if (STREQ(name, ".") || STREQ(name, ".."))
                        return -EINVAL;
                int dir = open_at(rootfd, parent, O_RDONLY | O_DIRECTORY);
                if (dir < 0)
                        return dir;
                if (fstatat(dir, name, &ret->st, AT_SYMLINK_NOFOLLOW) < 0) {
                        int e = errno;
                        if (e != ENOENT) {
                                (void) close(dir);
                                return -e;
                        }
                        ret->dir = dir;
                        ret->name = xstrdup(name);
                        return 0;
                }
                if (!(follow && S_ISLNK(ret->st.st_mode))) {
                        ret->dir = dir;
                        ret->name = xstrdup(name);
                        ret->exists = true;
                        return 0;
                }
                char target[PATH_MAX];
                ssize_t n = readlinkat(dir, name, target, sizeof(target) - 1);
                (void) close(dir);
                if (n < 0)
                        return -errno;
                if (links == 40)
                        return -ELOOP;
                target[n] = '\0';
                char *next = target[0] == '/' ? xstrdup(target) : xasprintf("%s/%s", parent, target);
                free(path);
                path = next;
                size_t len = strlen(path);
                while (len > 1 && path[len - 1] == '/')
                        path[--len] = '\0';
        }
}

/* Turns a resolved destination that is an existing directory (or a link
 * to one, followed inside the root as the kernel would) into that
 * directory itself. */
static int cp_side_enter_dir(int rootfd, const struct cp_path *p, struct cp_side *s)
{
        int fd = open_at(rootfd, p->path, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd == -ENOTDIR || fd == -ENOENT ? 0 : fd;
        cp_side_clear(s);
        s->dir = fd;
        s->exists = fstat(fd, &s->st) == 0;
        return 0;
}

/* The copy, by Docker's rules (docker cp --help): a file goes into an
 * existing directory under its own name, or replaces a file, or becomes
 * the new DST (whose parent must exist; "DST/" must exist); a directory
 * goes into an existing directory under its name ("SRC/.": its contents),
 * or becomes the new DST, and never replaces a file. */
static int cp_apply(const struct cp_side *src, const struct cp_path *srcp, const struct cp_side *dst,
                    const struct cp_path *dstp, unsigned flags, const char **ret_why)
{
        bool src_dir = S_ISDIR(src->st.st_mode);

        *ret_why = NULL;
        if (!src->exists)
                return -ENOENT;
        if ((srcp->contents || srcp->slash) && !src_dir)
                return -ENOTDIR;
        if (dst->name == NULL) { /* an existing directory */
                if (src_dir && srcp->contents) {
                        _cleanup_close_ int from =
                                src->name ? openat(src->dir, src->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                                          : fcntl(src->dir, F_DUPFD_CLOEXEC, 3);
                        if (from < 0)
                                return -errno;
                        return hutch_copy_tree(from, dst->dir, flags);
                }
                return hutch_copy_entry(src->dir, src->name, dst->dir, src->name, flags);
        }
        if (dst->exists && src_dir) {
                *ret_why = "cannot copy a directory onto a file";
                return -ENOTDIR;
        }
        if (!dst->exists && dstp->slash && !src_dir) {
                *ret_why = "the destination directory must exist";
                return -ENOENT;
        }
        if (src_dir && src->name == NULL) { /* the root's contents, as a new directory */
                if (mkdirat(dst->dir, dst->name, 0755) < 0)
                        return -errno;
                _cleanup_close_ int to = openat(dst->dir, dst->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (to < 0)
                        return -errno;
                return hutch_copy_tree(src->dir, to, flags);
        }
        return hutch_copy_entry(src->dir, src->name, dst->dir, dst->name, flags);
}

struct cp_job {
        bool to_container, follow, to_stdout, from_stdin;
        unsigned flags;
        struct cp_path ctr, host;
        struct cp_side host_side; /* opened as ourselves, before any namespace */
        /* running: the container's init; else the files of the stopped one */
        int pidfd;
        pid_t pid;
        struct cmd_container_files files;
        const char *mnt;
        const char *desc; /* for errors: "copy 'X' into container 'Y'" */
};

static int cp_report(const struct cp_job *j, int r, const char *why)
{
        fprintf(stderr, "Error: %s: %s\n", j->desc, why ? why : strerror(-r));
        return EXIT_HUTCH_FAILED;
}

/* cp CONTAINER:SRC -: SRC as a tar on standard output, under its name
 * ("DIR/." and the root: what is in it), as docker cp writes it.  Returns
 * -errno, or an exit status once it reported the error itself. */
static int cp_to_stdout(const struct cp_job *j, const struct cp_side *src)
{
        struct hutch_error *e = NULL;
        _cleanup_close_ int contents = -1;

        if (!src->exists)
                return -ENOENT;
        if ((j->ctr.contents || j->ctr.slash) && !S_ISDIR(src->st.st_mode))
                return -ENOTDIR;
        if (j->ctr.contents && src->name) {
                contents = openat(src->dir, src->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (contents < 0)
                        return -errno;
        }
        if (storage_export_tree(contents >= 0 ? contents : src->dir, j->ctr.contents ? NULL : src->name, STDOUT_FILENO,
                                &e) < 0) {
                fprintf(stderr, "Error: %s: %s\n", j->desc, e->msg);
                hutch_error_free(e);
                return EXIT_HUTCH_FAILED; /* reported */
        }
        return 0;
}

/* cp - CONTAINER:DIR: the tar on standard input unpacked into DIR (which
 * must exist) by the layer unpacker, confined to DIR: no entry reaches
 * outside it whatever its names and links say; ".wh." entries stay files. */
static int cp_from_stdin(const struct cp_job *j, const struct cp_side *dst)
{
        struct storage_unpack_options opts = { .whiteouts = STORAGE_WHITEOUT_AUFS };
        struct hutch_error *e = NULL;

        if (dst->name != NULL) {
                fprintf(stderr, "Error: %s: '%s' %s in the container (a tar is unpacked into a directory)\n", j->desc,
                        j->ctr.path, dst->exists ? "is not a directory" : "does not exist");
                return EXIT_HUTCH_FAILED; /* reported */
        }
        if (storage_layer_unpack(STDIN_FILENO, dst->dir, &opts, NULL, &e) < 0) {
                fprintf(stderr, "Error: %s: %s\n", j->desc, e->msg);
                hutch_error_free(e);
                return EXIT_HUTCH_FAILED; /* reported */
        }
        return 0;
}

/* The container side, inside the container's root (rootfd), then the copy. */
static int cp_with_root(struct cp_job *j, int rootfd)
{
        struct cp_side cside = { .dir = -1 };
        const char *why = NULL;
        int r;

        if (j->to_container) {
                r = cp_side_resolve(rootfd, &j->ctr, false, &cside);
                if (r == 0 && cside.exists)
                        r = cp_side_enter_dir(rootfd, &j->ctr, &cside);
                if (r == 0 && j->from_stdin)
                        r = cp_from_stdin(j, &cside);
                else if (r == 0)
                        r = cp_apply(&j->host_side, &j->host, &cside, &j->ctr, j->flags, &why);
        } else {
                r = cp_side_resolve(rootfd, &j->ctr, j->follow, &cside);
                if (r == 0 && j->to_stdout)
                        r = cp_to_stdout(j, &cside);
                else if (r == 0)
                        r = cp_apply(&cside, &j->ctr, &j->host_side, &j->host, j->flags, &why);
        }
        cp_side_clear(&cside);
        return r < 0 ? cp_report(j, r, why) : r;
}

static int cp_in_running(struct cp_job *j)
{
        char proc_root[64];

        /* nothing in the container may ptrace or open /proc of us */
        (void) prctl(PR_SET_DUMPABLE, 0);
        /* The container's root (its mounts too) from the host's mount
         * namespace, where we stay: a library loaded from here on (NSS,
         * gconv, libarchive's own) is the host's, never one the image
         * planted (CVE-2019-14271).  Its user namespace gives us root's
         * rights over the container's files. */
        snprintf(proc_root, sizeof(proc_root), "/proc/%d/root", (int) j->pid);
        _cleanup_close_ int rootfd = open(proc_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return cp_report(j, -errno, NULL);
        /* still the container's init: the PID was not reused meanwhile */
        if (hutch_pidfd_send_signal(j->pidfd, 0) < 0)
                return cp_report(j, -ESRCH, "the container stopped");
        if (setns(j->pidfd, CLONE_NEWUSER) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return cp_report(j, -errno, NULL);
        return cp_with_root(j, rootfd);
}

static int cp_in_stopped(void *data)
{
        struct cp_job *j = data;
        struct hutch_error *e = NULL;

        if (cmd_container_files_mount(&j->files, j->mnt, j->to_container, &e) < 0) {
                fprintf(stderr, "Error: %s: %s\n", j->desc, e->msg);
                hutch_error_free(e);
                return EXIT_HUTCH_FAILED;
        }
        _cleanup_close_ int rootfd = open(j->mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return cp_report(j, -errno, NULL);
        return cp_with_root(j, rootfd);
}

int cmd_cp(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root(), *src_ctr = NULL, *dst_ctr = NULL, *desc = NULL;
        _cleanup_free_ char *state_dir = NULL, *mnt = NULL, *runroot = NULL;
        _cleanup_close_ int state_lock = -1;
        struct storage_container ct = { 0 };
        const char *src_path = NULL, *dst_path = NULL;
        struct cp_job j = { .pidfd = -1, .host_side = { .dir = -1 } };
        char *optval = NULL;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == 'L')
                        j.follow = true;
                else if (c == 'a')
                        j.flags |= HUTCH_COPY_OWNERS;
        }
        j.flags |= HUTCH_COPY_REPLACE;
        if (argc - optind != 2)
                return cmd_usage_error(cmd, err, "'%s' needs a SOURCE and a DESTINATION", cmd->full_name);
        src_ctr = split_container(argv[optind], &src_path);
        dst_ctr = split_container(argv[optind + 1], &dst_path);
        if ((src_ctr == NULL) == (dst_ctr == NULL))
                return cmd_usage_error(cmd, err, "exactly one of SOURCE and DESTINATION must be CONTAINER:PATH");
        j.from_stdin = STREQ(argv[optind], "-");
        if (j.from_stdin && isatty(STDIN_FILENO))
                return hutch_error_set(err, 0, "'-' reads a tar from standard input, which is a terminal");
        j.to_stdout = STREQ(argv[optind + 1], "-");
        if (j.to_stdout && isatty(STDOUT_FILENO))
                return hutch_error_set(err, 0, "refusing to write a tar to a terminal: redirect it");
        j.to_container = dst_ctr != NULL;
        cp_path_parse(j.to_container ? dst_path : src_path, &j.ctr);
        cp_path_parse(j.to_container ? argv[optind] : argv[optind + 1], &j.host);
        desc = xasprintf("copy '%s' %s container '%s'", j.to_container ? argv[optind] : src_path,
                         j.to_container ? "into" : "out of", j.to_container ? dst_ctr : src_ctr);
        j.desc = desc;

        r = storage_container_find(root, j.to_container ? dst_ctr : src_ctr, &ct, err);
        if (r < 0)
                goto out;
        if (ct.status == STORAGE_CONTAINER_RUNNING) {
                j.pidfd = hutch_pidfd_open(ct.pid);
                j.pid = ct.pid;
                if (j.pidfd >= 0 && !storage_container_pid_alive(ct.pid, ct.pid_start)) {
                        (void) close(j.pidfd);
                        j.pidfd = -1;
                }
        }

        /* the host side, resolved as ourselves before anything else */
        r = j.to_stdout || j.from_stdin ? 0 : cp_side_resolve(-1, &j.host, j.to_container && j.follow, &j.host_side);
        if (r == 0 && !j.to_container && !j.to_stdout && j.host_side.exists)
                r = cp_side_enter_dir(-1, &j.host, &j.host_side);
        if (r == 0 && j.to_container && !j.from_stdin && !j.host_side.exists)
                r = -ENOENT;
        if (r == 0 && j.to_container && !j.from_stdin && (j.host.contents || j.host.slash) &&
            !S_ISDIR(j.host_side.st.st_mode))
                r = -ENOTDIR;
        if (r < 0) {
                r = hutch_error_set(err, -r, "%s: '%s'", desc, j.to_container ? argv[optind] : argv[optind + 1]);
                goto out;
        }
        fflush(stdout);
        fflush(stderr);
        if (j.pidfd >= 0) {
                pid_t pid = fork();
                if (pid < 0) {
                        r = hutch_error_set(err, errno, "fork");
                        goto out;
                }
                if (pid == 0)
                        _exit(cp_in_running(&j));
                int status;
                while (waitpid(pid, &status, 0) < 0)
                        if (errno != EINTR) {
                                r = hutch_error_set(err, errno, "wait");
                                goto out;
                        }
                r = hutch_wait_status_to_exit(status);
                goto out;
        }

        /* A stopped container: its files in a mount of our own, the
         * container locked against a start meanwhile (cmd_state_dir_make). */
        r = cmd_container_files_get(root, &ct, &j.files, err);
        if (r < 0)
                goto out;
        runroot = cmd_run_root();
        r = cmd_ensure_private_dir(runroot, err);
        if (r < 0)
                goto out;
        state_dir = xasprintf("%s/%s", runroot, ct.id);
        r = cmd_state_dir_make(state_dir, &state_lock, err);
        if (r < 0) {
                hutch_error_prefix(err, "%s", desc);
                free(state_dir);
                state_dir = NULL;
                goto out;
        }
        mnt = xasprintf("%s/cp-mnt", state_dir);
        if (mkdir(mnt, 0700) < 0) {
                r = hutch_error_set(err, errno, "create '%s'", mnt);
                goto out;
        }
        j.mnt = mnt;
        r = cmd_storage_in_userns(cp_in_stopped, &j, true, err);
out:
        if (state_dir)
                (void) hutch_rm_rf_at(AT_FDCWD, state_dir);
        cmd_container_files_clear(&j.files);
        storage_container_clear(&ct);
        cp_side_clear(&j.host_side);
        if (j.pidfd >= 0)
                (void) close(j.pidfd);
        free(j.ctr.path);
        free(j.host.path);
        return r;
}

/* ---- export ---- */

const struct cmd_option cmd_export_options[] = {
        { "output", 'o', required_argument, "FILE", "write the tar to FILE (default: standard output)", 'o' },
        { 0 },
};

struct export_job {
        struct cmd_container_files files;
        const char *mnt;
        int out_fd;
};

static int export_in_userns(void *data)
{
        struct export_job *j = data;
        struct hutch_error *e = NULL;
        int r;

        r = cmd_container_files_mount(&j->files, j->mnt, false, &e);
        if (r == 0) {
                _cleanup_close_ int dfd = open(j->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = dfd < 0 ? hutch_error_set(&e, errno, "open '%s'", j->mnt)
                            : storage_export_tree(dfd, NULL, j->out_fd, &e);
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
        _cleanup_free_ char *root = cmd_storage_root(), *mnt = NULL;
        _cleanup_close_ int out = -1;
        struct storage_container ct = { 0 };
        struct export_job j = { .out_fd = -1 };
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
        r = storage_container_find(root, argv[optind], &ct, err);
        if (r == 0)
                r = cmd_container_files_get(root, &ct, &j.files, err);
        if (r == 0)
                mnt = storage_container_path(root, ct.id, "export-mnt");
        storage_container_clear(&ct);
        if (r < 0)
                goto done;

        out = output ? open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : dup(STDOUT_FILENO);
        if (out < 0) {
                r = hutch_error_set(err, errno, "open '%s'", output ? output : "standard output");
                goto done;
        }
        if (mkdir(mnt, 0700) < 0 && errno != EEXIST) {
                r = hutch_error_set(err, errno, "create '%s'", mnt);
                goto done;
        }
        j.mnt = mnt;
        j.out_fd = out;
        fflush(stdout);
        r = cmd_storage_in_userns(export_in_userns, &j, true, err);
        (void) rmdir(mnt);
        if (r > 0 && output)
                (void) unlink(output); /* a half-written tar is worse than none */
done:
        cmd_container_files_clear(&j.files);
        return r;
}

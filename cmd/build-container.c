/* The containers of `hutch build`'s steps; see build-container.h. */
#include "config.h"

#include "cmd/build-container.h"
#include "cmd/cmd-storage.h"
#include "cmd/paths.h"
#include "cmd/run.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runtime/mounts.h"
#include "runtime/runtime.h"
#include "storage/containers.h"
#include "storage/unpack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const struct cmd_command run_cmd = { "run", NULL, NULL, cmd_run, cmd_run_options, NULL, "hutch run" };

#define BUILD_PREFIX    "hutch-build-"
#define BUILD_TOKEN_LEN 12

static char *lock_dir(void)
{
        _cleanup_free_ char *runroot = cmd_run_root();
        return xasprintf("%s/builds", runroot);
}

/* The lock file: a header, then the images the build uses, a line each:
 *   hutch-build 1\nstart SECONDS\nimage ID\n...
 * made under a temporary name and renamed once locked, so a lock file
 * seen unheld belongs to a build that is gone. */
int build_lock_take(struct build_steps *b, struct hutch_error **err)
{
        _cleanup_free_ char *runroot = cmd_run_root();
        _cleanup_free_ char *dir = lock_dir();

        if (cmd_ensure_private_dir(runroot, err) < 0)
                return -1;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return hutch_error_set(err, errno, "create %s", dir);
        _cleanup_free_ char *token = hutch_random_hex(BUILD_TOKEN_LEN / 2);
        memcpy(b->token, token, BUILD_TOKEN_LEN + 1);
        b->lock_path = xasprintf("%s/%s.lock", dir, b->token);
        _cleanup_free_ char *tmp = xasprintf("%s/%s.new", dir, b->token);
        _cleanup_free_ char *head = xasprintf("hutch-build 1\nstart %lld\n", (long long) time(NULL));
        b->lock_fd = open(tmp, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (b->lock_fd < 0 || flock(b->lock_fd, LOCK_EX) < 0 || hutch_write_all(b->lock_fd, head, strlen(head)) < 0 ||
            rename(tmp, b->lock_path) < 0) {
                int e = errno;
                (void) unlink(tmp);
                if (b->lock_fd >= 0)
                        (void) close(b->lock_fd);
                b->lock_fd = -1;
                build_lock_release(b);
                return hutch_error_set(err, e, "create the build's lock");
        }
        return 0;
}

void build_lock_release(struct build_steps *b)
{
        /* unlinked first: a reaper that opened it before sees it unheld only
         * once our containers are gone */
        if (b->lock_path && b->lock_fd >= 0)
                (void) unlink(b->lock_path);
        if (b->lock_fd >= 0)
                (void) close(b->lock_fd);
        b->lock_fd = -1;
        free(b->lock_path);
        b->lock_path = NULL;
}

int build_lock_note_image(struct build_steps *b, const char *id, struct hutch_error **err)
{
        if (b->lock_fd < 0)
                return 0;
        _cleanup_free_ char *line = xasprintf("image %s\n", id);
        int r = hutch_write_all(b->lock_fd, line, strlen(line));
        return r < 0 ? hutch_error_set(err, -r, "note image %.12s in the build's lock", id) : 0;
}

void build_live_images(char ***ret_ids, int64_t *ret_oldest_start)
{
        _cleanup_free_ char *dir = lock_dir();
        _cleanup_dir_ DIR *d = opendir(dir);
        struct dirent *de;

        *ret_ids = NULL;
        *ret_oldest_start = INT64_MAX;
        while (d && (de = readdir(d)) != NULL) {
                size_t n = strlen(de->d_name);
                if (n != BUILD_TOKEN_LEN + 5 || strcmp(de->d_name + BUILD_TOKEN_LEN, ".lock") != 0)
                        continue;
                _cleanup_close_ int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                _cleanup_free_ char *buf = NULL;
                size_t len;
                if (fd < 0 || flock(fd, LOCK_SH | LOCK_NB) == 0)
                        continue; /* gone, or its build is */
                if (hutch_read_fd_alloc(fd, 16u << 20, &buf, &len) < 0)
                        continue;
                long long start;
                if (sscanf(buf, "hutch-build 1\nstart %lld\n", &start) == 1 && start < *ret_oldest_start)
                        *ret_oldest_start = start;
                for (char *line = strstr(buf, "\nimage "); line; line = strstr(line + 1, "\nimage ")) {
                        const char *id = line + 7;
                        if (storage_digest_hex_valid_n(id, STORAGE_DIGEST_HEX_LEN) &&
                            id[STORAGE_DIGEST_HEX_LEN] == '\n') {
                                _cleanup_free_ char *one = xstrndup(id, STORAGE_DIGEST_HEX_LEN);
                                if (!hutch_strv_contains(*ret_ids, one))
                                        hutch_strv_append(ret_ids, one);
                        }
                }
        }
}

char *build_container_name(struct build_steps *b)
{
        return xasprintf(BUILD_PREFIX "%s-%u", b->token, ++b->n_containers);
}

/* The token of a step container's name, or false for any other name
 * (a user's own "hutch-build-x" is never taken for one of ours). */
static bool name_token(const char *name, char token[BUILD_TOKEN_LEN + 1])
{
        if (strncmp(name, BUILD_PREFIX, strlen(BUILD_PREFIX)) != 0)
                return false;
        const char *t = name + strlen(BUILD_PREFIX);
        if (strspn(t, "0123456789abcdef") != BUILD_TOKEN_LEN || t[BUILD_TOKEN_LEN] != '-' ||
            strspn(t + BUILD_TOKEN_LEN + 1, "0123456789") == 0 ||
            t[BUILD_TOKEN_LEN + 1 + strspn(t + BUILD_TOKEN_LEN + 1, "0123456789")] != '\0')
                return false;
        memcpy(token, t, BUILD_TOKEN_LEN);
        token[BUILD_TOKEN_LEN] = '\0';
        return true;
}

/* 1: its build still holds the lock; 0: the build is gone (its lock
 * unheld or missing), and *ret_fd holds the lock (or -1) for the caller to
 * keep while it removes the container; -1: not a build's container. */
static int build_alive(const char *name, int *ret_fd)
{
        char token[BUILD_TOKEN_LEN + 1];
        *ret_fd = -1;
        if (!name || !name_token(name, token))
                return -1;
        _cleanup_free_ char *dir = lock_dir();
        _cleanup_free_ char *path = xasprintf("%s/%s.lock", dir, token);
        int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : 1; /* unreadable: not ours to judge */
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                (void) close(fd);
                return 1;
        }
        (void) unlink(path);
        *ret_fd = fd;
        return 0;
}

bool build_container_in_use(const char *name)
{
        int fd;
        if (build_alive(name, &fd) != 1) {
                if (fd >= 0)
                        (void) close(fd);
                return false;
        }
        return true;
}

void build_reap_stale(struct build_steps *b)
{
        struct storage_container *list = NULL;
        size_t n = 0;
        struct hutch_error *e = NULL;

        if (storage_container_list(b->root, &list, &n, &e) < 0) {
                hutch_error_free(e);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                int fd;
                if (build_alive(list[i].name, &fd) != 0)
                        continue;
                /* a step of a killed build may still run (its monitor outlived
                 * the build): it is left for a later build */
                if (list[i].status != STORAGE_CONTAINER_RUNNING ||
                    !storage_container_pid_alive(list[i].pid, list[i].pid_start)) {
                        if (cmd_container_remove(b->root, list[i].id, &e) < 0 ||
                            cmd_anon_volumes_remove(b->root, list[i].anon_volumes, &e) < 0)
                                hutch_error_clear(&e);
                        else
                                log_info("removed %s, the container of a build that was killed", list[i].name);
                }
                if (fd >= 0)
                        (void) close(fd);
        }
        storage_container_list_free(list, n);
}

/* Removes the step's container (and the anonymous volumes it got). */
void build_container_drop(struct build_steps *b)
{
        struct storage_container rec = { 0 };
        struct hutch_error *e = NULL;

        if (!b->container)
                return;
        if (storage_container_find(b->root, b->container, &rec, &e) == 0) {
                if (cmd_container_remove(b->root, rec.id, &e) < 0 ||
                    cmd_anon_volumes_remove(b->root, rec.anon_volumes, &e) < 0) {
                        fprintf(stderr, "Warning: remove the build container '%s': %s\n", b->container, e->msg);
                        hutch_error_clear(&e);
                }
        }
        hutch_error_free(e);
        storage_container_clear(&rec);
        free(b->container);
        b->container = NULL;
}

/* Runs `hutch run ARGS` (or create) in a child: the foreground monitor
 * restricts itself once the container runs (no_new_privs and a seccomp
 * filter against new user namespaces), which the build still needs.  The
 * container's output is ours; hide_stdout (and quiet) send it to
 * /dev/null.  Returns the container's exit status, or < 0 with err set. */
struct run_result {
        int failed;
        int exit_status;
        char msg[2048];
};

int build_container_run(struct build_steps *b, char **argv, enum cmd_run_mode mode, bool hide_stdout,
                        struct hutch_error **err)
{
        struct run_result *res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        int status, r;

        if (res == MAP_FAILED)
                return hutch_error_set(err, errno, "mmap");
        *res = (struct run_result){ 0 };
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
                (void) munmap(res, sizeof(*res));
                return hutch_error_set(err, errno, "fork");
        }
        if (pid == 0) {
                struct hutch_error *e = NULL;
                int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (nul >= 0) /* a step never reads the build's input (Docker's RUN has none) */
                        (void) dup2(nul, STDIN_FILENO);
                if (nul >= 0 && (hide_stdout || b->quiet))
                        (void) dup2(nul, STDOUT_FILENO);
                if (nul >= 0 && b->quiet)
                        (void) dup2(nul, STDERR_FILENO);
                for (size_t k = 0; k < 3; k++)
                        (void) signal(k == 0 ? SIGINT : k == 1 ? SIGTERM : SIGHUP, SIG_DFL);
                optind = 0; /* getopt starts over for run's arguments */
                r = cmd_run_container(&run_cmd, (int) hutch_strv_length(argv), argv, mode, NULL, &e);
                if (r < 0) {
                        res->failed = 1;
                        res->exit_status = e && e->exit_status ? e->exit_status : EXIT_HUTCH_FAILED;
                        snprintf(res->msg, sizeof(res->msg), "%s", e && e->msg ? e->msg : "failed");
                        hutch_error_free(e);
                }
                fflush(stdout);
                fflush(stderr);
                _exit(r < 0 ? EXIT_HUTCH_FAILED : r);
        }
        bool killed = false;
        for (;;) {
                pid_t w = waitpid(pid, &status, *b->interrupted ? WNOHANG : 0);
                if (w == pid)
                        break;
                if (w < 0 && errno != EINTR) {
                        (void) munmap(res, sizeof(*res));
                        return hutch_error_set(err, errno, "wait for the build container");
                }
                if (*b->interrupted && !killed && mode == CMD_RUN_FOREGROUND) {
                        /* Ctrl-C: the step's process may ignore SIGINT (a PID 1
                         * without a handler does), so it is killed, as Docker's
                         * builder kills a cancelled RUN */
                        struct storage_container rec = { 0 };
                        struct hutch_error *e = NULL;
                        if (storage_container_find(b->root, b->container, &rec, &e) == 0 && rec.pid > 0 &&
                            storage_container_pid_alive(rec.pid, rec.pid_start))
                                killed = kill(rec.pid, SIGKILL) == 0;
                        hutch_error_free(e);
                        storage_container_clear(&rec);
                }
                if (*b->interrupted && w == 0)
                        (void) usleep(100 * 1000);
        }
        if (res->failed)
                r = hutch_error_set_status(err, res->exit_status, 0, "%s", res->msg);
        else if (WIFSIGNALED(status))
                r = hutch_error_set(err, EINTR, "the build step was killed by signal %d", WTERMSIG(status));
        else
                r = WEXITSTATUS(status);
        (void) munmap(res, sizeof(*res));
        return r;
}

/* ---- COPY, ADD, WORKDIR's directory ---- */

static int read_root_file(int rootfd, const char *path, char **ret)
{
        _cleanup_close_ int fd = hutch_open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK, 0);
        struct stat st;
        size_t len;

        *ret = NULL;
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return -EINVAL; /* a device or FIFO planted as /etc/passwd */
        return hutch_read_fd_alloc(fd, 4u << 20, ret, &len);
}

/* --chown USER[:GROUP], names from the image's /etc/passwd and /etc/group;
 * a user alone gives its ID as the group too (Docker's rule). */
static int resolve_chown(int rootfd, const char *spec, uid_t *uid, gid_t *gid, struct hutch_error **err)
{
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        struct runtime_user u = { 0 };
        int r;

        r = read_root_file(rootfd, "/etc/passwd", &passwd);
        if (r >= 0)
                r = read_root_file(rootfd, "/etc/group", &group);
        if (r < 0)
                return hutch_error_set(err, -r, "--chown: read the image's /etc/passwd or /etc/group");
        if (runtime_user_resolve(spec, passwd, group, &u, err) < 0)
                return hutch_error_prefix(err, "--chown");
        *uid = u.uid;
        *gid = strchr(spec, ':') ? u.gid : (gid_t) u.uid;
        runtime_user_clear(&u);
        return 0;
}

static int copy_report_to(struct copy_result *res, struct hutch_error *e)
{
        if (res->status == 0) {
                res->status = EXIT_HUTCH_FAILED;
                snprintf(res->msg, sizeof(res->msg), "%s", e && e->msg ? e->msg : "failed");
        }
        hutch_error_free(e);
        return EXIT_HUTCH_FAILED;
}
#define copy_report(e) copy_report_to(j->res, (e))

static int copy_in_userns(void *p)
{
        struct build_files_job *j = p;
        struct hutch_error *e = NULL;
        _cleanup_close_ int from_fd = -1;
        _cleanup_strv_ char **archives = NULL;
        char digest[STORAGE_DIGEST_BUFSIZE];
        struct storage_unpack_options uo = { .whiteouts = STORAGE_WHITEOUT_AUFS };

        if (cmd_container_files_mount(&j->files, j->mnt, true, &e) < 0)
                return copy_report(e);
        _cleanup_close_ int rootfd = open(j->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return copy_report((hutch_error_set(&e, errno, "open the container's root"), e));
        if (j->mkdir) {
                int fd = hutch_mkdir_p_in_root(rootfd, j->mkdir, 0755);
                if (fd < 0)
                        return copy_report((hutch_error_set(&e, -fd, "WORKDIR: create '%s'", j->mkdir), e));
                (void) close(fd);
                return 0;
        }
        if (j->from_layers) {
                if (hutch_strv_length(j->from_layers) == 1) {
                        from_fd = open(j->from_layers[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                } else {
                        if (runtime_mount_overlay_at(j->from_layers, NULL, NULL, j->mnt_from, &e) < 0)
                                return copy_report(e);
                        from_fd = open(j->mnt_from, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                }
                if (from_fd < 0)
                        return copy_report((hutch_error_set(&e, errno, "open the --from image's files"), e));
                j->bc.src_root = from_fd;
        } else {
                j->bc.src_root = j->ctx_fd;
        }
        if (j->chown && resolve_chown(rootfd, j->chown, &j->bc.uid, &j->bc.gid, &e) < 0)
                return copy_report(e);
        j->bc.set_owner = j->chown != NULL;
        if (!j->bc.dest_is_dir) {
                int d = hutch_open_in_root(rootfd, j->bc.dest, O_RDONLY | O_DIRECTORY, 0);
                if (d >= 0) {
                        j->bc.dest_is_dir = true;
                        (void) close(d);
                }
        }

        /* the tar goes through a pipe from a writer child to the unpacker */
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return copy_report((hutch_error_set(&e, errno, "pipe"), e));
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0)
                return copy_report((hutch_error_set(&e, errno, "fork"), e));
        if (pid == 0) {
                (void) close(pfd[0]);
                (void) signal(SIGPIPE, SIG_IGN);
                int r = build_copy_write(&j->bc, pfd[1], digest, &archives, &e);
                (void) close(pfd[1]);
                if (r < 0)
                        _exit(copy_report(e));
                _exit(0);
        }
        (void) close(pfd[1]);
        int ur = storage_layer_unpack(pfd[0], rootfd, &uo, NULL, &e);
        (void) close(pfd[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        break;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                hutch_error_free(e);
                if (j->res->status == 0)
                        (void) copy_report((hutch_error_set(&e, 0, "the %s writer failed", j->bc.what), e));
                return EXIT_HUTCH_FAILED; /* the writer said why */
        }
        if (ur < 0)
                return copy_report(e);

        /* ADD: local archives unpacked into dest (the writer listed them) */
        if (j->bc.add) {
                char d2[STORAGE_DIGEST_BUFSIZE];
                if (build_copy_write(&j->bc, -1, d2, &archives, &e) < 0)
                        return copy_report(e);
                for (size_t i = 0; archives && archives[i]; i++) {
                        _cleanup_close_ int afd =
                                hutch_open_in_root(j->bc.src_root, archives[i], O_RDONLY | O_NOFOLLOW, 0);
                        int dfd = hutch_mkdir_p_in_root(rootfd, j->bc.dest, 0755);
                        _cleanup_close_ int dirfd =
                                dfd >= 0 ? openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
                        if (dfd >= 0)
                                (void) close(dfd);
                        if (afd < 0 || dirfd < 0)
                                return copy_report(
                                        (hutch_error_set(&e, afd < 0 ? -afd : errno, "ADD '%s'", archives[i]), e));
                        /* --chown applies to what the archive holds too (Docker's rule) */
                        struct storage_unpack_options ao = { .whiteouts = STORAGE_WHITEOUT_AUFS,
                                                             .any_compression = true,
                                                             .set_owner = j->bc.set_owner,
                                                             .owner_uid = j->bc.uid,
                                                             .owner_gid = j->bc.gid };
                        if (storage_layer_unpack(afd, dirfd, &ao, NULL, &e) < 0)
                                return copy_report((hutch_error_prefix(&e, "ADD '%s'", archives[i]), e));
                }
        }
        return 0;
}

int build_container_files(struct build_steps *b, const char *image_id, struct build_files_job *j,
                          struct hutch_error **err)
{
        _cleanup_strv_ char **argv = NULL;
        _cleanup_free_ char *runroot = cmd_run_root(), *state_dir = NULL, *mnt = NULL, *mnt_from = NULL;
        _cleanup_close_ int state_lock = -1;
        struct storage_container rec = { 0 };
        int r;

        b->container = build_container_name(b);
        hutch_strv_append(&argv, "create");
        hutch_strv_append(&argv, "--name");
        hutch_strv_append(&argv, b->container);
        hutch_strv_append(&argv, "--network");
        hutch_strv_append(&argv, "none");
        hutch_strv_append(&argv, "--entrypoint");
        hutch_strv_append(&argv, "/");
        hutch_strv_append(&argv, image_id);
        r = build_container_run(b, argv, CMD_RUN_CREATE, true, err);
        if (r != 0)
                return r < 0 ? r : hutch_error_set(err, 0, "create the build container (status %d)", r);
        r = storage_container_find(b->root, b->container, &rec, err);
        if (r < 0)
                return r;
        r = cmd_container_files_get(b->root, &rec, &j->files, err);
        if (r < 0)
                goto out;
        r = cmd_ensure_private_dir(runroot, err);
        if (r < 0)
                goto out;
        state_dir = xasprintf("%s/%s", runroot, rec.id);
        r = cmd_state_dir_make(state_dir, &state_lock, err);
        if (r < 0) {
                free(state_dir);
                state_dir = NULL;
                goto out;
        }
        mnt = xasprintf("%s/build-mnt", state_dir);
        mnt_from = xasprintf("%s/build-from", state_dir);
        if (mkdir(mnt, 0700) < 0 || mkdir(mnt_from, 0700) < 0) {
                r = hutch_error_set(err, errno, "create '%s'", mnt);
                goto out;
        }
        j->mnt = mnt;
        j->mnt_from = mnt_from;
        j->ctx_fd = b->ctx_fd;
        j->res = mmap(NULL, sizeof(*j->res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (j->res == MAP_FAILED) {
                j->res = NULL;
                r = hutch_error_set(err, errno, "mmap");
                goto out;
        }
        *j->res = (struct copy_result){ 0 };
        r = cmd_storage_in_userns(copy_in_userns, j, true, err);
        if (r > 0)
                r = hutch_error_set(err, 0, "%s", j->res->status ? j->res->msg : "the copy failed");
        (void) munmap(j->res, sizeof(*j->res));
        j->res = NULL;
out:
        if (state_dir)
                (void) hutch_rm_rf_at(AT_FDCWD, state_dir);
        cmd_container_files_clear(&j->files);
        storage_container_clear(&rec);
        return r < 0 ? r : 0;
}

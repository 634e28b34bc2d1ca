/* Creating the container: clone into new namespaces, the ID maps, and the
 * child's way from there to execve().  See the privilege model and the
 * synchronisation steps in runtime.h. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/sealed-exe.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runtime/caps.h"
#include "runtime/mounts.h"
#include "runtime/runtime.h"
#include "runtime/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <sys/mount.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

#define USER_FILE_MAX (8u << 20)
#define DEFAULT_PATH  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum sync_type {
        SYNC_MAPPED = 1, /* P->C: ID maps written */
        SYNC_FUSE,       /* C->P: mount fuse-overlayfs (text: options \0 merged) */
        SYNC_HOOKS,      /* C->P: run the parent hook now */
        SYNC_REPLY,      /* P->C: value = 0 or -errno */
        SYNC_REPORT,     /* C->P: setup failed (a hutch_child_report follows in text) */
        SYNC_PTY,        /* C->P: the terminal's master fd follows (SCM_RIGHTS) */
        SYNC_READY,      /* C->P: wait_start: ready to exec, waiting on start_fd */
};

struct sync_msg {
        uint32_t type;
        int32_t value;
        char text[2 * PATH_MAX];
};

struct runtime_container {
        pid_t pid;
        int pidfd;
        int pty;
        bool reaped;
        int exit_code;
};

static int sync_send(int fd, uint32_t type, int32_t value, const void *text, size_t len)
{
        struct sync_msg m = { .type = type, .value = value };
        if (len > sizeof(m.text))
                len = sizeof(m.text);
        if (text)
                memcpy(m.text, text, len);
        ssize_t n;
        do
                n = send(fd, &m, offsetof(struct sync_msg, text) + len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : 0;
}

/* Returns the bytes received (0 on EOF) or -errno. */
static ssize_t sync_recv(int fd, struct sync_msg *m)
{
        ssize_t n;
        memset(m, 0, sizeof(*m));
        do
                n = recv(fd, m, sizeof(*m), 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n > 0 && (size_t) n < offsetof(struct sync_msg, text))
                return -EBADMSG;
        return n;
}

/* ---- the child ---- */

struct child {
        const struct runtime_config *cfg;
        int sync;
        int hook_sock;
        bool init; /* the container's init (dies with the monitor), not an exec'd process */
};

static int child_fuse_request(void *ctx, const char *merged)
{
        struct child *c = ctx;
        struct sync_msg m;
        int r, fd;

        r = sync_send(c->sync, SYNC_FUSE, 0, NULL, 0);
        if (r < 0)
                return r;
        ssize_t n = sync_recv(c->sync, &m);
        if (n <= 0 || m.type != SYNC_REPLY)
                return n < 0 ? (int) n : -EPIPE;
        if (m.value < 0)
                return m.value;
        fd = hutch_recv_fd(c->sync);
        if (fd < 0)
                return fd;
        r = (int) syscall(SYS_move_mount, fd, "", AT_FDCWD, merged, MOVE_MOUNT_F_EMPTY_PATH);
        r = r < 0 ? -errno : 0;
        (void) close(fd);
        return r;
}

static __attribute__((noreturn)) void child_fail(struct child *c, int exit_status, struct hutch_error *e)
{
        struct hutch_child_report rep = { 0 };
        rep.errnum = e ? e->errnum : 0;
        rep.exit_status = exit_status;
        snprintf(rep.msg, sizeof(rep.msg), "%s", e && e->msg ? e->msg : "container setup failed");
        (void) sync_send(c->sync, SYNC_REPORT, exit_status, &rep, sizeof(rep));
        _exit(exit_status);
}

static const char *env_get(char **env, const char *key)
{
        size_t k = strlen(key);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, k) == 0 && env[i][k] == '=')
                        return env[i] + k + 1;
        return NULL;
}

/* Reads a file of the container's (we are inside its root now); a missing
 * file is NULL, anything but a bounded regular file is an error. */
static int read_container_file(const char *path, char **ret, struct hutch_error **err)
{
        struct hutch_error *e = NULL;
        if (hutch_read_file_at(AT_FDCWD, path, USER_FILE_MAX, ret, NULL, &e) < 0) {
                if (e->errnum == ENOENT) {
                        hutch_error_free(e);
                        *ret = NULL;
                        return 0;
                }
                if (err && *err == NULL) {
                        *err = e; /* its message once, with ours in front */
                        hutch_error_prefix(err, "the container's %s", path);
                } else {
                        hutch_error_free(e);
                }
                return -1;
        }
        return 0;
}

/* execvpe with Docker's distinction between 127 (not found) and 126. */
static __attribute__((noreturn)) void child_exec(struct child *c, char **args, char **env)
{
        struct hutch_error *e = NULL;
        const char *cmd = args[0];
        int saved = ENOENT;

        if (strchr(cmd, '/')) {
                execve(cmd, args, env);
                saved = errno;
        } else {
                const char *path = env_get(env, "PATH");
                if (path == NULL)
                        path = DEFAULT_PATH;
                bool eacces = false;
                for (const char *p = path; *p;) {
                        size_t n = strcspn(p, ":");
                        char full[PATH_MAX];
                        if (snprintf(full, sizeof(full), "%.*s/%s", (int) (n ? n : 1), n ? p : ".", cmd) <
                            (int) sizeof(full)) {
                                execve(full, args, env);
                                if (errno == EACCES)
                                        eacces = true;
                                else if (errno != ENOENT && errno != ENOTDIR) {
                                        saved = errno;
                                        break;
                                }
                        }
                        p += n;
                        if (*p)
                                p++;
                }
                if (saved == ENOENT && eacces)
                        saved = EACCES;
        }
        if (saved == ENOENT || saved == ENOTDIR) {
                hutch_error_set(&e, 0, "%s: executable file not found in $PATH: no such file or directory", cmd);
                child_fail(c, 127, e);
        }
        hutch_error_set(&e, saved, "%s: cannot execute", cmd);
        child_fail(c, 126, e);
}

static void reset_signals(void)
{
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t all;

        for (int s = 1; s < NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        (void) sigaction(s, &sa, NULL);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
}

static __attribute__((noreturn)) void child_process(struct child *c);

static __attribute__((noreturn)) void child_main(struct child *c)
{
        const struct runtime_config *cfg = c->cfg;
        struct hutch_error *err = NULL;
        _cleanup_free_ char *root = NULL;
        struct sync_msg m;
        int r;

        /* Die with the monitor; it would otherwise leave us orphaned. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        ssize_t n = sync_recv(c->sync, &m);
        if (n <= 0 || m.type != SYNC_MAPPED)
                _exit(EXIT_FAILURE); /* the parent died or gave up */

        if (cfg->redirect_stdio)
                for (int i = 0; i < 3; i++)
                        if (cfg->stdio[i] >= 0 && dup2(cfg->stdio[i], i) < 0) {
                                hutch_error_set(&err, errno, "set up the container's standard streams");
                                child_fail(c, 125, err);
                        }

        /* Drop the host's supplementary groups when the map lets us. */
        (void) setgroups(0, NULL);

        r = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        if (r < 0) {
                hutch_error_set(&err, errno, "make the mount namespace private");
                child_fail(c, 125, err);
        }
        if (runtime_mounts_root(cfg, child_fuse_request, c, &root, &err) < 0)
                child_fail(c, 125, err);
        if (runtime_mounts_container(cfg, root, &err) < 0)
                child_fail(c, 125, err);
        if (cfg->hooks.child_setup) {
                r = sync_send(c->sync, SYNC_HOOKS, 0, NULL, 0);
                if (r == 0)
                        r = cfg->hooks.child_setup(cfg->hooks.ctx, c->hook_sock);
                if (r == 0) {
                        n = sync_recv(c->sync, &m);
                        r = n <= 0 || m.type != SYNC_REPLY ? -EPIPE : m.value;
                }
                if (r < 0) {
                        hutch_error_set(&err, r, "set up the container's network");
                        child_fail(c, 125, err);
                }
        }
        if (c->hook_sock >= 0)
                (void) close(c->hook_sock);
        if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0) {
                hutch_error_set(&err, errno, "set hostname '%s'", cfg->hostname);
                child_fail(c, 125, err);
        }
        if (runtime_mounts_pivot(cfg, root, &err) < 0)
                child_fail(c, 125, err);
        child_process(c);
}

/* Inside the container from here on (its root, its namespaces): its files,
 * our code.  The user, environment, working directory, privileges, and
 * execve; shared by the container's init and `exec`. */

/* The container's init gets its terminal at /dev/console too, as the
 * runtime spec asks.  The peer is bound from its fd (open_tree), never by
 * a /dev/pts/N name that something could swap for a link
 * (CVE-2025-52565), onto a file we create with O_EXCL|O_NOFOLLOW in our
 * own /dev, or onto a file or device already there (a user's mount over
 * /dev): a link or anything else there is refused. */
static int bind_console(int peer, struct hutch_error **err)
{
        _cleanup_close_ int dev = open("/dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int target = -1, tree = -1;
        struct stat st;
        char from[64], to[64];

        if (dev < 0)
                return hutch_error_set(err, errno, "open the container's /dev");
        int f = openat(dev, "console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f < 0 && errno != EEXIST)
                return hutch_error_set(err, errno, "create /dev/console");
        if (f >= 0)
                (void) close(f);
        target = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (target < 0 || fstat(target, &st) < 0)
                return hutch_error_set(err, errno, "open /dev/console");
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
                return hutch_error_set(err, ELOOP, "/dev/console in the container is not a file: refusing it");
        tree = (int) syscall(SYS_open_tree, peer, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (tree >= 0) {
                if (syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
                    0)
                        return hutch_error_set(err, errno, "bind the terminal to /dev/console");
                return 0;
        }
        if (errno != ENOSYS)
                return hutch_error_set(err, errno, "bind the terminal to /dev/console");
        /* before Linux 5.2: the same fds, through their /proc/self/fd links */
        if (mount(hutch_fd_path(peer, from, sizeof(from)), hutch_fd_path(target, to, sizeof(to)), NULL, MS_BIND, NULL) <
            0)
                return hutch_error_set(err, errno, "bind the terminal to /dev/console");
        return 0;
}

/* A terminal from the container's own devpts instance: the master goes to
 * the monitor, the peer becomes our controlling terminal and stdio.
 * TIOCGPTPEER opens the peer through the master, so no /dev/pts/N path
 * (which the container could swap) is ever resolved. */
static void child_terminal(struct child *c)
{
        struct hutch_error *err = NULL;
        int master, peer, unlock = 0;

        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0) {
                hutch_error_set(&err, errno, "open the container's /dev/ptmx");
                child_fail(c, 125, err);
        }
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || (peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0) {
                hutch_error_set(&err, errno, "open the terminal");
                child_fail(c, 125, err);
        }
        /* only the init: an exec'd process leaves the container's /dev alone */
        if (c->init && bind_console(peer, &err) < 0)
                child_fail(c, 125, err);
        if (sync_send(c->sync, SYNC_PTY, 0, NULL, 0) < 0 || hutch_send_fd(c->sync, master) < 0) {
                hutch_error_set(&err, EPIPE, "hand the terminal to the monitor");
                child_fail(c, 125, err);
        }
        (void) close(master);
        if (setsid() < 0 || ioctl(peer, TIOCSCTTY, 0) < 0) {
                hutch_error_set(&err, errno, "make the terminal ours");
                child_fail(c, 125, err);
        }
        for (int i = 0; i < 3; i++)
                if (dup2(peer, i) < 0) {
                        hutch_error_set(&err, errno, "attach the terminal");
                        child_fail(c, 125, err);
                }
        if (peer > 2)
                (void) close(peer);
}

static __attribute__((noreturn)) void child_process(struct child *c)
{
        const struct runtime_config *cfg = c->cfg;
        struct hutch_error *err = NULL;
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        struct runtime_user user = { 0 };
        _cleanup_strv_ char **env = NULL;
        int r;

        if (cfg->terminal)
                child_terminal(c);
        if (read_container_file("/etc/passwd", &passwd, &err) < 0 ||
            read_container_file("/etc/group", &group, &err) < 0)
                child_fail(c, 125, err);
        if (runtime_user_resolve(cfg->user, passwd, group, &user, &err) < 0)
                child_fail(c, 125, err);
        for (size_t i = 0; i < cfg->n_extra_groups; i++) {
                bool have = false;
                for (size_t k = 0; k < user.n_groups; k++)
                        have |= user.groups[k] == cfg->extra_groups[i];
                if (have)
                        continue;
                user.groups = xreallocarray(user.groups, user.n_groups + 1, sizeof(gid_t));
                user.groups[user.n_groups++] = cfg->extra_groups[i];
        }

        env = hutch_strv_copy(cfg->env);
        if (env_get(env, "PATH") == NULL)
                hutch_strv_append(&env, "PATH=" DEFAULT_PATH);
        if (env_get(env, "HOSTNAME") == NULL && cfg->hostname) {
                char *h = xasprintf("HOSTNAME=%s", cfg->hostname);
                hutch_strv_push(&env, h);
        }
        if (env_get(env, "HOME") == NULL) {
                char *h = xasprintf("HOME=%s", user.home ? user.home : "/");
                hutch_strv_push(&env, h);
        }

        /* Everything of ours is close-on-exec from here; nothing reaches
         * the container but 0, 1, 2 (and no dirfd for /proc/self/fd/N
         * tricks: only the sync socket is still open). */
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
                for (int fd = 3; fd < 4096; fd++)
                        if (fd != c->sync)
                                (void) close(fd);
        }

        const char *cwd = cfg->cwd ? cfg->cwd : "/";
        if (cfg->cwd) {
                /* Docker creates a missing working directory. */
                _cleanup_close_ int rfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                int dfd = rfd >= 0 ? hutch_mkdir_p_in_root(rfd, cwd, 0755) : -errno;
                if (dfd < 0) {
                        hutch_error_set(&err, -dfd, "working directory '%s'", cwd);
                        child_fail(c, 126, err);
                }
                (void) close(dfd);
        }
        if (chdir(cwd) < 0) {
                hutch_error_set(&err, errno, "chdir to working directory '%s'", cwd);
                child_fail(c, 126, err);
        }
        char here[PATH_MAX];
        if (getcwd(here, sizeof(here)) == NULL || here[0] != '/') {
                /* "(unreachable)": a directory outside our root (CVE-2024-21626) */
                hutch_error_set(&err, EPERM, "working directory '%s' is outside the container", cwd);
                child_fail(c, 126, err);
        }

        /* A session keyring of our own: the host user's keys stay out of
         * reach (the seccomp filter refuses keyctl afterwards). */
        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS) {
                hutch_error_set(&err, errno,
                                "make a session keyring for the container (is the user's key quota full?)");
                child_fail(c, 125, err);
        }

        /* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN,
         * which we hold only until the capabilities are dropped: load it
         * first then (the profile allows what the rest needs). */
        bool seccomp_early = cfg->security.seccomp && !cfg->security.no_new_privs;
        if (seccomp_early) {
                r = runtime_seccomp_load(cfg->security.seccomp);
                if (r < 0) {
                        hutch_error_set(&err, r, "load the seccomp filter");
                        child_fail(c, 125, err);
                }
        }
        /* --privileged means every capability of the user namespace, less
         * what --cap-drop removed: the set is computed by the caller. */
        r = runtime_caps_drop_bounding(cfg->security.caps);
        if (r < 0) {
                hutch_error_set(&err, r, "drop capabilities");
                child_fail(c, 125, err);
        }
        if (user.n_groups > 0 && setgroups(user.n_groups, user.groups) < 0 && errno != EPERM) {
                hutch_error_set(&err, errno, "set supplementary groups");
                child_fail(c, 125, err);
        }
        if (setresgid(user.gid, user.gid, user.gid) < 0) {
                hutch_error_set(&err, errno, "switch to group %u (is it in the container's ID map?)",
                                (unsigned) user.gid);
                child_fail(c, 125, err);
        }
        if (setresuid(user.uid, user.uid, user.uid) < 0) {
                hutch_error_set(&err, errno, "switch to user %u (is it in the container's ID map?)",
                                (unsigned) user.uid);
                child_fail(c, 125, err);
        }
        if (c->init) {
                /* A change of IDs cleared the parent-death signal (the
                 * kernel does so on any change of the effective IDs): arm it
                 * again, or a container of another user would outlive a
                 * monitor killed now.  The monitor may have died in between:
                 * its end of the sync socket is closed then. */
                char b;
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (recv(c->sync, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
                        _exit(EXIT_FAILURE);
        }
        r = runtime_caps_apply(cfg->security.caps, user.uid == 0);
        if (r < 0) {
                hutch_error_set(&err, r, "set capabilities");
                child_fail(c, 125, err);
        }
        if (cfg->security.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                hutch_error_set(&err, errno, "set no_new_privs");
                child_fail(c, 125, err);
        }
        reset_signals();
        if (cfg->security.seccomp && !seccomp_early) {
                r = runtime_seccomp_load(cfg->security.seccomp);
                if (r < 0) {
                        hutch_error_set(&err, r, "load the seccomp filter");
                        child_fail(c, 125, err);
                }
        }
        if (cfg->wait_start) {
                /* OCI create: set up and ready; `start` sends the byte */
                char b;
                ssize_t n;
                if (sync_send(c->sync, SYNC_READY, 0, NULL, 0) < 0)
                        _exit(EXIT_FAILURE);
                do
                        n = read(cfg->start_fd, &b, 1);
                while (n < 0 && errno == EINTR);
                if (n != 1)
                        _exit(EXIT_FAILURE); /* deleted before it started */
                (void) close(cfg->start_fd);
        }
        child_exec(c, cfg->args, env);
}

/* ---- the parent ---- */

static pid_t clone_child(int flags, int *ret_pidfd)
{
        struct clone_args args = {
                .flags = (uint64_t) flags | CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                /* CLONE_PARENT takes the caller's (the kernel insists on 0) */
                .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD,
        };
        long pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid >= 0 || errno != ENOSYS)
                return (pid_t) pid;
        /* Kernels before 5.3: clone() without a pidfd, open one after. */
        pid = syscall(SYS_clone, (unsigned long) flags | SIGCHLD, NULL, NULL, NULL, 0);
        if (pid > 0)
                *ret_pidfd = hutch_pidfd_open((pid_t) pid);
        return (pid_t) pid;
}

/* The fuse-overlayfs helper, forked from the parent: joins the container's
 * user namespace, makes a mount namespace of its own (which never pivots,
 * so the daemon keeps its view of the host's files), mounts the overlay
 * there with a private tmpfs for the upper layer, and sends back a clone
 * of the mount.  Detaching its own copy leaves the container's mount the
 * only user: when the container's namespace goes, the daemon exits. */
static __attribute__((noreturn)) void fuse_helper(const struct runtime_config *cfg, int pidfd, int sock)
{
        _cleanup_strv_ char **lowers = NULL;
        _cleanup_free_ char *lower = NULL, *upper = NULL, *work = NULL, *merged = NULL, *opts = NULL;
        _cleanup_free_ char *eu = NULL, *ew = NULL;
        _cleanup_free_ char *stage = xasprintf("%s/mnt", cfg->state_dir);
        int status, fd;
        pid_t pid;

        if (setns(pidfd, CLONE_NEWUSER) < 0 || unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0) {
                log_error_errno(errno, "prepare the namespace for fuse-overlayfs");
                _exit(125);
        }
        /* As the namespace's root: our own UID may be another ID there
         * (--userns=keep-id), and exec would drop the capabilities the
         * daemon needs to mount. */
        (void) setgroups(0, NULL);
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
                log_error_errno(errno, "become root of the container's user namespace for fuse-overlayfs");
                _exit(125);
        }
        upper = xasprintf("%s/upper", stage);
        work = xasprintf("%s/work", stage);
        merged = xasprintf("%s/merged", stage);
        if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(merged, 0755) < 0)
                _exit(125);
        for (size_t i = 0; cfg->rootfs.lowerdirs[i]; i++)
                hutch_strv_push(&lowers, runtime_overlay_escape(cfg->rootfs.lowerdirs[i]));
        lower = hutch_strv_join(lowers, ":");
        eu = runtime_overlay_escape(cfg->rootfs.upperdir ? cfg->rootfs.upperdir : upper);
        ew = runtime_overlay_escape(cfg->rootfs.workdir ? cfg->rootfs.workdir : work);
        opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, eu, ew);
        if (cfg->rootfs.fuse_uidmapping && cfg->rootfs.fuse_gidmapping) {
                char *o = xasprintf("%s,uidmapping=%s,gidmapping=%s", opts, cfg->rootfs.fuse_uidmapping,
                                    cfg->rootfs.fuse_gidmapping);
                free(opts);
                opts = o;
        }

        /* It chats about ignored options: keep its output unless it fails. */
        int out[2];
        if (pipe2(out, O_CLOEXEC) < 0)
                _exit(125);
        pid = fork();
        if (pid < 0)
                _exit(125);
        if (pid == 0) {
                int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (devnull >= 0)
                        (void) dup2(devnull, STDIN_FILENO);
                (void) dup2(out[1], STDOUT_FILENO);
                (void) dup2(out[1], STDERR_FILENO);
                hutch_close_fds_from(3);
                execl(cfg->rootfs.fuse_overlayfs, "fuse-overlayfs", "-o", opts, merged, (char *) NULL);
                log_error_errno(errno, "exec '%s'", cfg->rootfs.fuse_overlayfs);
                _exit(127);
        }
        (void) close(out[1]);
        char msg[1024];
        ssize_t len = hutch_read_full(out[0], msg, sizeof(msg) - 1);
        (void) close(out[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        _exit(125);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (len > 0)
                        (void) hutch_write_all(STDERR_FILENO, msg, (size_t) len);
                _exit(125);
        }
        fd = (int) syscall(SYS_open_tree, AT_FDCWD, merged, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (fd < 0 || hutch_send_fd(sock, fd) < 0) {
                log_error_errno(errno, "hand over the fuse-overlayfs mount");
                (void) umount2(merged, MNT_DETACH);
                _exit(125);
        }
        (void) umount2(merged, MNT_DETACH);
        _exit(0);
}

/* Returns a mount fd for the child, or -errno. */
static int parent_fuse_mount(const struct runtime_config *cfg, int pidfd)
{
        int sp[2], status, fd;
        pid_t pid;

        if (cfg->rootfs.fuse_overlayfs == NULL)
                return -ENOENT;
        if (access("/dev/fuse", R_OK | W_OK) < 0)
                return -errno;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int e = errno;
                (void) close(sp[0]);
                (void) close(sp[1]);
                return -e;
        }
        if (pid == 0) {
                (void) close(sp[0]);
                fuse_helper(cfg, pidfd, sp[1]);
        }
        (void) close(sp[1]);
        fd = hutch_recv_fd(sp[0]);
        (void) close(sp[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        break;
        if (fd >= 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
                (void) close(fd);
                return -EIO;
        }
        return fd < 0 ? -EIO : fd;
}

static void kill_and_reap(pid_t pid, int pidfd)
{
        if (pidfd >= 0)
                (void) hutch_pidfd_send_signal(pidfd, SIGKILL);
        else
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

/* Mounts marked own_program whose file this user could change are bound
 * from a private copy in state_dir (see runtime_mount).  *ret is NULL when
 * none needed one, else a copy of cfg->mounts to free with
 * own_program_free(). */
static int own_program_copies(const struct runtime_config *cfg, struct runtime_mount **ret, struct hutch_error **err)
{
        *ret = NULL;
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct runtime_mount *m = &cfg->mounts[i];
                _cleanup_close_ int src = -1, dst = -1;
                struct stat st;
                int r;

                if (!m->own_program || m->kind != RUNTIME_MOUNT_BIND)
                        continue;
#ifdef HUTCH_NO_EXE_PROTECTION
                continue; /* only to see the system tests catch an exposed binary */
#endif
                src = open(m->source, O_RDONLY | O_CLOEXEC);
                if (src < 0 || fstat(src, &st) < 0)
                        return hutch_error_set(err, errno, "open '%s'", m->source);
                if (!hutch_file_user_writable(src))
                        continue;
                if (cfg->state_dir == NULL)
                        return hutch_error_set(err, EINVAL, "no state directory for a copy of '%s'", m->source);
                _cleanup_free_ char *copy = xasprintf("%s/program-%zu", cfg->state_dir, i);
                if (unlink(copy) < 0 && errno != ENOENT)
                        return hutch_error_set(err, errno, "remove '%s'", copy);
                dst = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0555);
                if (dst < 0)
                        return hutch_error_set(err, errno, "create '%s'", copy);
                r = hutch_copy_fd(dst, src, st.st_size);
                if (r < 0)
                        return hutch_error_set(err, -r, "copy '%s' to '%s'", m->source, copy);
                if (*ret == NULL) {
                        *ret = xreallocarray(NULL, cfg->n_mounts, sizeof(**ret));
                        memcpy(*ret, cfg->mounts, cfg->n_mounts * sizeof(**ret));
                }
                log_debug("'%s' is writable by this user: binding a private copy, '%s'", m->source, copy);
                (*ret)[i].source = steal_ptr(&copy);
        }
        return 0;
}

/* --network container: the helper H of the protocol in runtime.h.  Only the
 * process that joins the other container's user namespace could make
 * namespaces there, so H does, and CLONE_PARENT hands the container to P
 * (its monitor, which waits on its pidfd) rather than to H, which exits. */
static int check_joined_maps(const struct runtime_config *cfg, struct hutch_error **err)
{
        static const char *const files[2] = { "/proc/self/uid_map", "/proc/self/gid_map" };
        const struct runtime_idmap *want[2] = { &cfg->uidmap, &cfg->gidmap };

        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *text = NULL;
                struct runtime_idmap have;
                char a[RUNTIME_IDMAP_MAX * 40], b[RUNTIME_IDMAP_MAX * 40];

                /* Read from inside: the host IDs of the namespace we are in. */
                if (hutch_read_file_at(AT_FDCWD, files[i], 64 * 1024, &text, NULL, err) < 0)
                        return hutch_error_value(*err);
                if (runtime_idmap_parse_proc(text, &have) < 0)
                        return hutch_error_set(err, EINVAL, "cannot parse %s of the other container", files[i]);
                if (runtime_idmap_equal(&have, want[i]))
                        continue;
                runtime_idmap_format(&have, a, sizeof(a));
                runtime_idmap_format(want[i], b, sizeof(b));
                for (char *p = a; (p = strchr(p, '\n')) && p[1]; p++)
                        *p = ',';
                for (char *p = b; (p = strchr(p, '\n')) && p[1]; p++)
                        *p = ',';
                a[strcspn(a, "\n")] = b[strcspn(b, "\n")] = '\0';
                return hutch_error_set(err, 0,
                                       "its user namespace maps %s as '%s' but this container would map them as '%s': "
                                       "containers that share a network must share their ID maps (run both with the "
                                       "same subordinate IDs and newuidmap/newgidmap)",
                                       i == 0 ? "UIDs" : "GIDs", a, b);
        }
        return 0;
}

static __attribute__((noreturn)) void join_helper(const struct runtime_config *cfg, int sync, int hook_sock)
{
        struct child c = { .cfg = cfg, .sync = sync, .hook_sock = hook_sock, .init = true };
        struct hutch_error *e = NULL;
        int pidfd = -1;

        /* hutch inside the other container's user namespace: nothing there
         * may ptrace it or open its /proc files (as for exec). */
        (void) prctl(PR_SET_DUMPABLE, 0);
        if (setns(cfg->join_pidfd, cfg->join_ns) < 0) {
                hutch_error_set(&e, errno, "join the other container's user and network namespaces");
                child_fail(&c, 125, e);
        }
        if (check_joined_maps(cfg, &e) < 0)
                child_fail(&c, 125, e);
        pid_t pid =
                clone_child(CLONE_PARENT | CLONE_NEWNS | (cfg->namespaces & ~(CLONE_NEWUSER | CLONE_NEWNET)), &pidfd);
        if (pid < 0) {
                hutch_error_set(&e, errno, "create the container's namespaces in the other container's user namespace");
                child_fail(&c, 125, e);
        }
        if (pid == 0) {
                /* As any container's init until execve: the monitor's fuse
                 * helper joins it through its pidfd, which a non-dumpable
                 * target refuses (and its own pid namespace hides it). */
                (void) prctl(PR_SET_DUMPABLE, 1);
                child_main(&c);
        }
        (void) sync_send(sync, SYNC_REPLY, (int32_t) pid, NULL, 0);
        _exit(0);
}

/* P's side of H: returns the container's PID (our child) with its pidfd,
 * or -1 with *err set (nothing left running). */
static pid_t start_joined(const struct runtime_config *cfg, int sync[2], int hooks[2], int *ret_pidfd,
                          struct hutch_error **err)
{
        struct sync_msg m;
        int status;
        ssize_t n;

        pid_t helper = fork();
        if (helper < 0) {
                hutch_error_set(err, errno, "fork");
                return -1;
        }
        if (helper == 0) {
                (void) close(sync[0]);
                if (hooks[0] >= 0)
                        (void) close(hooks[0]);
                join_helper(cfg, sync[1], hooks[1]);
        }
        while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
                ;
        /* H is gone: what it said is queued.  Not blocking: a helper that
         * died before a word leaves the container (if any) waiting on
         * SYNC_MAPPED, and it exits when we close our end. */
        do {
                memset(&m, 0, sizeof(m));
                n = recv(sync[0], &m, sizeof(m), MSG_DONTWAIT);
        } while (n < 0 && errno == EINTR);
        if (n >= (ssize_t) offsetof(struct sync_msg, text) && m.type == SYNC_REPORT) {
                struct hutch_child_report rep;
                memcpy(&rep, m.text, sizeof(rep));
                rep.msg[sizeof(rep.msg) - 1] = '\0';
                hutch_error_set_status(err, rep.exit_status ? rep.exit_status : 125, 0, "%s", rep.msg);
                return -1;
        }
        if (n < (ssize_t) offsetof(struct sync_msg, text) || m.type != SYNC_REPLY || m.value <= 0) {
                hutch_error_set(err, EIO, "the helper that joins the other container's network failed (status %#x)",
                                (unsigned) status);
                return -1;
        }
        pid_t pid = (pid_t) m.value;
        /* Our child (CLONE_PARENT) and not reaped: the PID cannot be reused. */
        *ret_pidfd = hutch_pidfd_open(pid);
        return pid;
}

static void own_program_free(const struct runtime_config *cfg, struct runtime_mount *mounts)
{
        if (mounts == NULL)
                return;
        for (size_t i = 0; i < cfg->n_mounts; i++)
                if (mounts[i].source != cfg->mounts[i].source)
                        free(mounts[i].source);
        free(mounts);
}

static int container_start(const struct runtime_config *cfg, struct runtime_container **ret, struct hutch_error **err);

int runtime_container_start(const struct runtime_config *cfg, struct runtime_container **ret, struct hutch_error **err)
{
        struct runtime_mount *mounts = NULL;
        int r;

        if (own_program_copies(cfg, &mounts, err) < 0) {
                own_program_free(cfg, mounts);
                return -1;
        }
        if (mounts == NULL)
                return container_start(cfg, ret, err);
        struct runtime_config local = *cfg;
        local.mounts = mounts;
        r = container_start(&local, ret, err);
        own_program_free(cfg, mounts);
        return r;
}

static int container_start(const struct runtime_config *cfg, struct runtime_container **ret, struct hutch_error **err)
{
        int sync[2] = { -1, -1 }, hooks[2] = { -1, -1 };
        int pidfd = -1, pty = -1;
        pid_t pid;
        int r;

        if (cfg->args == NULL || cfg->args[0] == NULL)
                return hutch_error_set_status(err, 125, EINVAL, "no command given");
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
                return hutch_error_set(err, errno, "socketpair");
        if (cfg->hooks.child_setup && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, hooks) < 0) {
                r = errno;
                (void) close(sync[0]);
                (void) close(sync[1]);
                return hutch_error_set(err, r, "socketpair");
        }

        if (cfg->join_ns) {
                pid = start_joined(cfg, sync, hooks, &pidfd, err);
                if (pid < 0) {
                        (void) close(sync[0]);
                        (void) close(sync[1]);
                        if (hooks[0] >= 0) {
                                (void) close(hooks[0]);
                                (void) close(hooks[1]);
                        }
                        return -1;
                }
        } else {
                pid = clone_child(CLONE_NEWUSER | CLONE_NEWNS | cfg->namespaces, &pidfd);
        }
        if (pid < 0) {
                r = errno;
                (void) close(sync[0]);
                (void) close(sync[1]);
                if (hooks[0] >= 0) {
                        (void) close(hooks[0]);
                        (void) close(hooks[1]);
                }
                if (r == EPERM || r == ENOSPC || r == EINVAL)
                        return hutch_error_set(err, r,
                                               "create the container's namespaces (are unprivileged user namespaces "
                                               "enabled? see 'hutch info')");
                return hutch_error_set(err, r, "clone");
        }
        if (pid == 0) {
                struct child c = { .cfg = cfg, .sync = sync[1], .hook_sock = hooks[1], .init = true };
                (void) close(sync[0]);
                if (hooks[0] >= 0)
                        (void) close(hooks[0]);
                child_main(&c);
        }
        (void) close(sync[1]);
        if (hooks[1] >= 0)
                (void) close(hooks[1]);

        if (cfg->hooks.created && cfg->hooks.created(cfg->hooks.created_ctx, pid, err) < 0)
                goto fail;
        r = cfg->join_ns ? 0
                         : runtime_userns_write_maps(pid, &cfg->uidmap, &cfg->gidmap,
                                                     cfg->use_map_helpers ? cfg->newuidmap : NULL,
                                                     cfg->use_map_helpers ? cfg->newgidmap : NULL, err);
        if (r < 0) {
                hutch_error_prefix(err, "write the container's ID maps");
                goto fail;
        }
        r = sync_send(sync[0], SYNC_MAPPED, 0, NULL, 0);
        if (r < 0) {
                hutch_error_set(err, r, "start the container");
                goto fail;
        }

        for (;;) {
                struct sync_msg m;
                ssize_t n = sync_recv(sync[0], &m);
                if (n == 0 || (n > 0 && m.type == SYNC_READY))
                        break; /* close-on-exec: the command is running (or waits for start_fd) */
                if (n < 0) {
                        hutch_error_set(err, (int) -n, "wait for the container to start");
                        goto fail;
                }
                if (m.type == SYNC_FUSE) {
                        int fd = parent_fuse_mount(cfg, pidfd);
                        (void) sync_send(sync[0], SYNC_REPLY, fd < 0 ? fd : 0, NULL, 0);
                        if (fd >= 0) {
                                (void) hutch_send_fd(sync[0], fd);
                                (void) close(fd);
                        }
                } else if (m.type == SYNC_PTY) {
                        int fd = hutch_recv_fd(sync[0]);
                        if (fd >= 0) {
                                if (pty >= 0)
                                        (void) close(pty);
                                pty = fd;
                        }
                } else if (m.type == SYNC_HOOKS) {
                        int q = 0;
                        if (cfg->hooks.parent_setup)
                                q = cfg->hooks.parent_setup(cfg->hooks.ctx, pid, pidfd, hooks[0], err);
                        (void) sync_send(sync[0], SYNC_REPLY, q < 0 ? -EIO : 0, NULL, 0);
                        if (q < 0) {
                                hutch_error_prefix(err, "set up the container's network");
                                goto fail;
                        }
                } else if (m.type == SYNC_REPORT) {
                        struct hutch_child_report rep;
                        memcpy(&rep, m.text, sizeof(rep));
                        rep.msg[sizeof(rep.msg) - 1] = '\0';
                        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                        (void) close(sync[0]);
                        if (hooks[0] >= 0)
                                (void) close(hooks[0]);
                        if (pidfd >= 0)
                                (void) close(pidfd);
                        hutch_error_set_status(err, rep.exit_status ? rep.exit_status : 125, 0, "%s", rep.msg);
                        return -1;
                } else {
                        hutch_error_set(err, EBADMSG, "unexpected message %u from the container", m.type);
                        goto fail;
                }
        }
        (void) close(sync[0]);
        if (hooks[0] >= 0)
                (void) close(hooks[0]);

        struct runtime_container *c = xzalloc(sizeof(*c));
        c->pid = pid;
        c->pidfd = pidfd;
        c->pty = pty;
        *ret = c;
        return 0;

fail:
        if (pty >= 0)
                (void) close(pty);
        kill_and_reap(pid, pidfd);
        (void) close(sync[0]);
        if (hooks[0] >= 0)
                (void) close(hooks[0]);
        if (pidfd >= 0)
                (void) close(pidfd);
        return -1;
}

/* exec: a helper joins the container's namespaces through its pidfd and
 * forks the process that enters its pid namespace; we are its subreaper, so
 * it becomes our child when the helper exits. */
int runtime_container_exec(int container_pidfd, const struct runtime_config *cfg, struct runtime_container **ret,
                           struct hutch_error **err)
{
        int sync[2];
        pid_t helper, pid = -1;
        int status, pty = -1;

        if (cfg->args == NULL || cfg->args[0] == NULL)
                return hutch_error_set_status(err, 125, EINVAL, "no command given");
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return hutch_error_set(err, errno, "become a subreaper");
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
                return hutch_error_set(err, errno, "socketpair");
        helper = fork();
        if (helper < 0) {
                int e = errno;
                (void) close(sync[0]);
                (void) close(sync[1]);
                return hutch_error_set(err, e, "fork");
        }
        if (helper == 0) {
                struct child c = { .cfg = cfg, .sync = sync[1], .hook_sock = -1 };
                struct hutch_error *e = NULL;
                (void) close(sync[0]);
                /* Until execve this process is hutch inside the container's
                 * pid namespace: not dumpable, so nothing there can ptrace it
                 * or reach our binary through /proc/PID/exe (CVE-2019-5736,
                 * CVE-2016-9962).  execve resets it for the command. */
                (void) prctl(PR_SET_DUMPABLE, 0);
                if (setns(container_pidfd, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
                                                   CLONE_NEWNET | CLONE_NEWCGROUP) < 0) {
                        hutch_error_set(&e, errno, "join the container's namespaces");
                        child_fail(&c, 125, e);
                }
                pid_t child = fork();
                if (child < 0) {
                        hutch_error_set(&e, errno, "fork into the container");
                        child_fail(&c, 125, e);
                }
                if (child == 0) {
                        /* no PDEATHSIG: our parent, the helper, exits at once */
                        if (cfg->redirect_stdio)
                                for (int i = 0; i < 3; i++)
                                        if (cfg->stdio[i] >= 0)
                                                (void) dup2(cfg->stdio[i], i);
                        child_process(&c);
                }
                int32_t v = (int32_t) child;
                (void) sync_send(c.sync, SYNC_REPLY, v, NULL, 0);
                _exit(0);
        }
        (void) close(sync[1]);
        while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
                ;
        for (;;) {
                struct sync_msg m;
                ssize_t n = sync_recv(sync[0], &m);
                if (n == 0)
                        break; /* close-on-exec: the command runs */
                if (n < 0) {
                        hutch_error_set(err, (int) -n, "wait for the command to start");
                        break;
                }
                if (m.type == SYNC_REPLY) {
                        pid = (pid_t) m.value;
                } else if (m.type == SYNC_PTY) {
                        int fd = hutch_recv_fd(sync[0]);
                        if (fd >= 0) {
                                if (pty >= 0)
                                        (void) close(pty);
                                pty = fd;
                        }
                } else if (m.type == SYNC_REPORT) {
                        struct hutch_child_report rep;
                        memcpy(&rep, m.text, sizeof(rep));
                        rep.msg[sizeof(rep.msg) - 1] = '\0';
                        hutch_error_set_status(err, rep.exit_status ? rep.exit_status : 125, 0, "%s", rep.msg);
                }
        }
        (void) close(sync[0]);
        if (err && *err) {
                if (pty >= 0)
                        (void) close(pty);
                if (pid > 0)
                        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                return -1;
        }
        if (pid <= 0)
                return hutch_error_set(err, EIO, "the command did not start");
        struct runtime_container *c = xzalloc(sizeof(*c));
        c->pid = pid;
        c->pidfd = hutch_pidfd_open(pid);
        c->pty = pty;
        *ret = c;
        return 0;
}

pid_t runtime_container_pid(const struct runtime_container *c)
{
        return c->pid;
}

int runtime_container_pidfd(const struct runtime_container *c)
{
        return c->pidfd;
}

int runtime_container_pty(const struct runtime_container *c)
{
        return c->pty;
}

int runtime_container_signal(const struct runtime_container *c, int sig)
{
        if (c->reaped)
                return -ESRCH;
        if (c->pidfd >= 0)
                return hutch_pidfd_send_signal(c->pidfd, sig);
        return kill(c->pid, sig) < 0 ? -errno : 0;
}

int runtime_container_reap(struct runtime_container *c, struct hutch_error **err)
{
        int status;

        if (c->reaped)
                return c->exit_code;
        for (;;) {
                pid_t p = waitpid(c->pid, &status, 0);
                if (p == c->pid)
                        break;
                if (p < 0 && errno != EINTR)
                        return hutch_error_set(err, errno, "wait for the container");
        }
        c->reaped = true;
        c->exit_code = hutch_wait_status_to_exit(status);
        return c->exit_code;
}

struct runtime_container *runtime_container_free(struct runtime_container *c)
{
        if (c == NULL)
                return NULL;
        if (c->pidfd >= 0)
                (void) close(c->pidfd);
        if (c->pty >= 0)
                (void) close(c->pty);
        free(c);
        return NULL;
}

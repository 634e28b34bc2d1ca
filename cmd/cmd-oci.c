/* hutch oci COMMAND: the OCI runtime command line (runc's names and flags).
 * The state layout and the monitor are described in cmd/oci.h; what a
 * config.json may hold in runtime/spec.h and docs/oci-runtime.md. */
#include "config.h"

#include "cmd/oci.h"
#include "cmd/paths.h"
#include "cmd/userns.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/proc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "netns/netns.h"
#include "runtime/seccomp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char *arg_oci_root; /* --root */

static char *oci_root(void)
{
        if (arg_oci_root)
                return xstrdup(arg_oci_root);
        _cleanup_free_ char *run = cmd_run_root();
        return xasprintf("%s/oci", run);
}

/* ROOT/ID for an existing container; sets err when there is none. */
static char *container_dir(const char *id, struct hutch_error **err)
{
        _cleanup_free_ char *root = oci_root();
        struct stat st;

        if (runtime_spec_check_id(id, err) < 0)
                return NULL;
        char *dir = xasprintf("%s/%s", root, id);
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                free(dir);
                hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0, "container '%s' does not exist", id);
                return NULL;
        }
        return dir;
}

/* ---- config.json -> runtime_config ---- */

struct oci_config {
        struct runtime_spec spec;
        struct runtime_config cfg;
        struct cmd_userns uns;
        char *root;
        char *user;
        struct sock_fprog *seccomp;
};

static void oci_config_clear(struct oci_config *c)
{
        for (size_t i = 0; i < c->cfg.n_mounts; i++) {
                free(c->cfg.mounts[i].source);
                free(c->cfg.mounts[i].destination);
                free(c->cfg.mounts[i].options);
        }
        free(c->cfg.mounts);
        hutch_strv_free(c->cfg.rootfs.lowerdirs);
        free(c->cfg.state_dir);
        c->seccomp = runtime_seccomp_free(c->seccomp);
        free(c->root);
        free(c->user);
        cmd_userns_clear(&c->uns);
        runtime_spec_clear(&c->spec);
}

static int loopback_hook(void *ctx, int sock)
{
        (void) ctx;
        (void) sock;
        return netns_loopback_up();
}

static char *bundle_path(const char *bundle, const char *p)
{
        return p[0] == '/' ? xstrdup(p) : xasprintf("%s/%s", bundle, p);
}

static bool own_single_map(const struct runtime_idmap *m, uint32_t own)
{
        return m->n == 1 && m->e[0].size == 1 && m->e[0].host_id == own;
}

static int add_bind(struct runtime_config *cfg, char *source, const char *dest, bool readonly, unsigned long flags)
{
        cfg->mounts = xreallocarray(cfg->mounts, cfg->n_mounts + 1, sizeof(*cfg->mounts));
        cfg->mounts[cfg->n_mounts++] = (struct runtime_mount){ .kind = RUNTIME_MOUNT_BIND,
                                                               .source = source,
                                                               .destination = xstrdup(dest),
                                                               .readonly = readonly,
                                                               .flags = flags };
        return 0;
}

static int build_mounts(struct oci_config *c, const char *bundle, struct hutch_error **err)
{
        const struct runtime_spec *s = &c->spec;

        for (size_t i = 0; i < s->n_mounts; i++) {
                const struct runtime_mount *m = &s->mounts[i];
                if (m->kind == RUNTIME_MOUNT_TMPFS) {
                        c->cfg.mounts = xreallocarray(c->cfg.mounts, c->cfg.n_mounts + 1, sizeof(*c->cfg.mounts));
                        c->cfg.mounts[c->cfg.n_mounts++] =
                                (struct runtime_mount){ .kind = RUNTIME_MOUNT_TMPFS,
                                                        .destination = xstrdup(m->destination),
                                                        .readonly = m->readonly,
                                                        .flags = m->flags,
                                                        .options = m->options ? xstrdup(m->options) : NULL };
                        continue;
                }
                char *src = bundle_path(bundle, m->source);
                if (access(src, F_OK) < 0) {
                        int e = errno;
                        hutch_error_set(err, e, "'mounts': source '%s' of '%s'", src, m->destination);
                        free(src);
                        return -1;
                }
                add_bind(&c->cfg, src, m->destination, m->readonly, m->flags);
        }
        /* linux.devices: a user namespace cannot mknod; bind the host's node
         * when it is the same device */
        for (size_t i = 0; i < s->n_devices; i++) {
                const struct runtime_spec_device *d = &s->devices[i];
                struct stat st;
                bool ok = stat(d->path, &st) == 0 && ((d->type == 'b' && S_ISBLK(st.st_mode)) ||
                                                      (d->type != 'b' && d->type != 'p' && S_ISCHR(st.st_mode)) ||
                                                      (d->type == 'p' && S_ISFIFO(st.st_mode)));
                if (ok && d->has_numbers && d->type != 'p')
                        ok = major(st.st_rdev) == d->major && minor(st.st_rdev) == d->minor;
                if (!ok)
                        return hutch_error_set(err, EOPNOTSUPP,
                                               "'linux.devices': '%s' cannot be made: hutch binds devices from the "
                                               "host (a user namespace cannot create device nodes), and the host has "
                                               "no such device there",
                                               d->path);
                add_bind(&c->cfg, xstrdup(d->path), d->path, false, 0);
        }
        return 0;
}

static int build_idmaps(struct oci_config *c, struct hutch_error **err)
{
        const struct runtime_spec *s = &c->spec;

        if (cmd_userns_load(&c->uns, err) < 0)
                return -1;
        if (!s->has_uidmap) {
                /* hutch's own: 0 -> the user, 1.. -> the subordinate IDs */
                cmd_userns_warn(&c->uns);
                cmd_userns_apply(&c->uns, &c->cfg);
                return 0;
        }
        c->cfg.uidmap = s->uidmap;
        c->cfg.gidmap = s->gidmap;
        if (own_single_map(&s->uidmap, (uint32_t) getuid()) && own_single_map(&s->gidmap, (uint32_t) getgid()))
                return 0; /* written directly, setgroups denied */
        if (c->uns.newuidmap == NULL || c->uns.newgidmap == NULL)
                return hutch_error_set(err, ENOENT,
                                       "'linux.uidMappings' maps more than your own IDs, which takes newuidmap and "
                                       "newgidmap: install them (the uidmap package) or map only %u and %u",
                                       (unsigned) getuid(), (unsigned) getgid());
        c->cfg.use_map_helpers = true;
        c->cfg.newuidmap = c->uns.newuidmap;
        c->cfg.newgidmap = c->uns.newgidmap;
        return 0;
}

static int oci_config_load(const char *bundle, struct oci_config *c, struct hutch_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/config.json", bundle), *text = NULL;
        size_t len = 0;
        struct runtime_spec *s = &c->spec;
        struct stat st;

        if (hutch_read_file_at(AT_FDCWD, path, RUNTIME_SPEC_MAX, &text, &len, err) < 0)
                return hutch_error_prefix(err, "bundle '%s'", bundle);
        if (runtime_spec_parse(text, len, s, err) < 0)
                return hutch_error_prefix(err, "'%s'", path);
        for (char **p = s->ignored; p && *p; p++)
                log_warn("'%s': unknown field '%s', ignoring", path, *p);
        if (!s->has_process)
                return hutch_error_set(err, EINVAL, "'%s': 'process' is required to run the container", path);

        _cleanup_free_ char *root = bundle_path(bundle, s->root_path);
        char real[PATH_MAX];
        if (realpath(root, real) == NULL || stat(real, &st) < 0)
                return hutch_error_set(err, errno, "'%s': root.path '%s'", path, root);
        if (!S_ISDIR(st.st_mode))
                return hutch_error_set(err, 0, "'%s': root.path '%s' is not a directory", path, root);
        c->root = xstrdup(real);

        struct runtime_config *cfg = &c->cfg;
        cfg->args = s->args;
        cfg->env = s->env;
        cfg->cwd = s->cwd;
        c->user = xasprintf("%u:%u", s->uid, s->gid);
        cfg->user = c->user;
        cfg->extra_groups = s->additional_gids;
        cfg->n_extra_groups = s->n_additional_gids;
        cfg->hostname = s->hostname;
        cfg->terminal = s->terminal;
        cfg->rootfs.mode = RUNTIME_ROOTFS_BIND;
        hutch_strv_append(&cfg->rootfs.lowerdirs, c->root);
        cfg->rootfs.readonly = s->root_readonly;
        cfg->namespaces = s->namespaces;
        if (s->namespaces & CLONE_NEWNET)
                cfg->hooks.child_setup = loopback_hook;
        else
                cfg->share_host_sys = true;
        if (build_mounts(c, bundle, err) < 0 || build_idmaps(c, err) < 0)
                return hutch_error_prefix(err, "'%s'", path);

        /* OCI: no capabilities, seccomp, masked or read-only paths unless
         * the config names them */
        cfg->security.caps = s->has_caps ? s->caps : 0;
        cfg->security.no_new_privs = s->no_new_privileges;
        cfg->security.masked_paths = s->masked_paths;
        cfg->security.readonly_paths = s->readonly_paths;
        if (s->seccomp_json) {
                _cleanup_free_ char *cache = cmd_cache_dir();
                if (runtime_seccomp_compile_cached(s->seccomp_json, s->seccomp_len, cfg->security.caps, cache,
                                                   &c->seccomp, err) < 0)
                        return hutch_error_prefix(err, "'%s': linux.seccomp", path);
                cfg->security.seccomp = c->seccomp;
        }
        return 0;
}

/* ---- create ---- */

static int console_connect(const char *path, struct hutch_error **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int pfd = open(path, O_PATH | O_CLOEXEC);
        int fd;

        if (pfd < 0)
                return hutch_error_set(err, errno, "--console-socket '%s'", path);
        hutch_fd_path(pfd, sa.sun_path, sizeof(sa.sun_path));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return hutch_error_set(err, errno, "socket");
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                (void) close(fd);
                return hutch_error_set(err, e, "connect to --console-socket '%s'", path);
        }
        return fd;
}

static int write_pid_file(const char *path, pid_t pid, struct hutch_error **err)
{
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%ld", (long) pid);
        _cleanup_free_ char *abs = NULL;
        if (path[0] != '/') {
                char cwd[PATH_MAX];
                if (getcwd(cwd, sizeof(cwd)) == NULL)
                        return hutch_error_set(err, errno, "getcwd");
                abs = xasprintf("%s/%s", cwd, path);
                path = abs;
        }
        _cleanup_free_ char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        const char *name = slash + 1;
        *slash = '\0';
        _cleanup_close_ int dfd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return hutch_error_set(err, errno, "--pid-file directory '%s'", dir);
        return hutch_write_file_atomic(dfd, name, buf, (size_t) n, 0644, err);
}

struct create_args {
        const char *bundle;
        const char *pid_file;
        const char *console_socket;
        const char *id;
};

/* Makes ROOT/ID and its lock; EEXIST is the duplicate-ID error. */
static int make_state_dir(const char *id, char **ret_dir, int *ret_lock, struct hutch_error **err)
{
        _cleanup_free_ char *root = oci_root();
        _cleanup_free_ char *run = NULL;
        int r;

        if (arg_oci_root == NULL) {
                run = cmd_run_root();
                r = cmd_ensure_private_dir(run, err);
                if (r < 0)
                        return r;
        }
        r = cmd_ensure_private_dir(root, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = xasprintf("%s/%s", root, id);
        if (mkdir(dir, 0700) < 0) {
                if (errno == EEXIST)
                        return hutch_error_set(err, 0, "container '%s' already exists", id);
                return hutch_error_set(err, errno, "create '%s'", dir);
        }
        _cleanup_free_ char *lock = xasprintf("%s/lock", dir);
        int fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno;
                if (fd >= 0)
                        (void) close(fd);
                (void) hutch_rm_rf_at(AT_FDCWD, dir);
                return hutch_error_set(err, r, "lock '%s'", lock);
        }
        *ret_dir = steal_ptr(&dir);
        *ret_lock = fd;
        return 0;
}

static int oci_create(const struct create_args *ca, pid_t *ret_pid, char **ret_dir, struct hutch_error **err)
{
        struct oci_config c = { 0 };
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int lock = -1, console = -1;
        char bundle[PATH_MAX];
        pid_t pid;
        int r;

        if (runtime_spec_check_id(ca->id, err) < 0)
                return -1;
        if (realpath(ca->bundle ? ca->bundle : ".", bundle) == NULL)
                return hutch_error_set(err, errno, "bundle '%s'", ca->bundle ? ca->bundle : ".");
        r = oci_config_load(bundle, &c, err);
        if (r < 0)
                goto out;
        if (c.spec.terminal && ca->console_socket == NULL) {
                r = hutch_error_set(err, 0,
                                    "process.terminal is true: give --console-socket to receive the terminal (or "
                                    "set it to false)");
                goto out;
        }
        if (!c.spec.terminal && ca->console_socket) {
                r = hutch_error_set(err, 0, "--console-socket needs process.terminal true in config.json");
                goto out;
        }
        if (ca->console_socket) {
                console = console_connect(ca->console_socket, err);
                if (console < 0) {
                        r = -1;
                        goto out;
                }
        }
        r = make_state_dir(ca->id, &dir, &lock, err);
        if (r < 0)
                goto out;
        c.cfg.state_dir = xstrdup(dir);
        struct oci_monitor_args a = { .id = ca->id,
                                      .dir = dir,
                                      .bundle = bundle,
                                      .lock_fd = lock,
                                      .console_fd = console,
                                      .cfg = &c.cfg,
                                      .spec = &c.spec };
        pid = cmd_oci_monitor_spawn(&a, err);
        if (pid < 0) {
                r = -1;
                (void) hutch_rm_rf_at(AT_FDCWD, dir);
                goto out;
        }
        if (ca->pid_file && write_pid_file(ca->pid_file, pid, err) < 0) {
                char reply[64];
                (void) cmd_oci_request(dir, "kill 9", reply, sizeof(reply), NULL);
                (void) flock(lock, LOCK_EX); /* the monitor's copy goes when it exits */
                (void) hutch_rm_rf_at(AT_FDCWD, dir);
                r = -1;
                goto out;
        }
        *ret_pid = pid;
        if (ret_dir)
                *ret_dir = steal_ptr(&dir);
        r = 0;
out:
        oci_config_clear(&c);
        return r;
}

enum {
        OPT_BUNDLE = 0x100,
        OPT_PID_FILE,
        OPT_CONSOLE_SOCKET,
        OPT_DETACH,
        OPT_FORCE,
        OPT_ROOTLESS,
        OPT_QUIET,
        OPT_FORMAT,
        OPT_OCI_ROOT,
        OPT_IGNORED,
};

static const struct cmd_option create_options[] = {
        { "bundle", 'b', required_argument, "DIR", "the bundle: config.json and the root filesystem (default: .)",
          OPT_BUNDLE },
        { "pid-file", 0, required_argument, "FILE", "write the container's PID to FILE", OPT_PID_FILE },
        { "console-socket", 0, required_argument, "SOCK",
          "send the terminal's master fd to the unix socket SOCK (process.terminal)", OPT_CONSOLE_SOCKET },
        { "no-pivot", 0, no_argument, NULL, "accepted for runc compatibility (hutch always pivots)", OPT_IGNORED },
        { "no-new-keyring", 0, no_argument, NULL, "accepted for runc compatibility (a new keyring is always made)",
          OPT_IGNORED },
        { 0 },
};

static const struct cmd_option run_options[] = {
        { "bundle", 'b', required_argument, "DIR", "the bundle: config.json and the root filesystem (default: .)",
          OPT_BUNDLE },
        { "pid-file", 0, required_argument, "FILE", "write the container's PID to FILE", OPT_PID_FILE },
        { "console-socket", 0, required_argument, "SOCK",
          "send the terminal's master fd to the unix socket SOCK (process.terminal)", OPT_CONSOLE_SOCKET },
        { "detach", 'd', no_argument, NULL, "start the container and return; it stays until 'delete'", OPT_DETACH },
        { "no-pivot", 0, no_argument, NULL, "accepted for runc compatibility (hutch always pivots)", OPT_IGNORED },
        { "no-new-keyring", 0, no_argument, NULL, "accepted for runc compatibility (a new keyring is always made)",
          OPT_IGNORED },
        { 0 },
};

static int parse_create(const struct cmd_command *cmd, int argc, char **argv, struct create_args *ca, bool *detach,
                        struct hutch_error **err)
{
        char *optval = NULL;
        int c;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 1;
                case -3: return -1;
                case OPT_BUNDLE: ca->bundle = optval; break;
                case OPT_PID_FILE: ca->pid_file = optval; break;
                case OPT_CONSOLE_SOCKET: ca->console_socket = optval; break;
                case OPT_DETACH: *detach = true; break;
                case OPT_IGNORED: break;
                }
        }
        if (optind != argc - 1)
                return cmd_usage_error(cmd, err, "requires exactly one container ID");
        ca->id = argv[optind];
        return 0;
}

static int cmd_oci_create(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct create_args ca = { 0 };
        bool detach = false;
        pid_t pid;
        int r = parse_create(cmd, argc, argv, &ca, &detach, err);

        if (r != 0)
                return r > 0 ? 0 : r;
        return oci_create(&ca, &pid, NULL, err) < 0 ? -1 : 0;
}

/* ---- start, kill, state, delete ---- */

static int request_ok(const char *id, const char *dir, const char *req, struct hutch_error **err)
{
        char reply[300];
        int r = cmd_oci_request(dir, req, reply, sizeof(reply), err);

        if (r == -ECONNREFUSED || r == -ENOENT)
                return hutch_error_set(err, 0, "container '%s' is not running", id);
        if (r < 0)
                return r;
        if (strncmp(reply, "err ", 4) == 0)
                return hutch_error_set(err, 0, "container '%s': %s", id, reply + 4);
        return 0;
}

static int oci_start(const char *id, struct hutch_error **err)
{
        _cleanup_free_ char *dir = container_dir(id, err);
        pid_t pid;

        if (dir == NULL)
                return -1;
        enum oci_status st = cmd_oci_status(dir, &pid);
        if (st != OCI_CREATED)
                return hutch_error_set(err, 0, "container '%s' is %s, not created: it cannot be started", id,
                                       cmd_oci_status_name(st));
        return request_ok(id, dir, "start", err);
}

static int cmd_oci_start(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        int r = cmd_getopt_none(cmd, argc, argv, err);
        if (r != 0)
                return r > 0 ? 0 : r;
        if (optind != argc - 1)
                return cmd_usage_error(cmd, err, "requires exactly one container ID");
        return oci_start(argv[optind], err) < 0 ? -1 : 0;
}

static int oci_kill(const char *id, int sig, struct hutch_error **err)
{
        _cleanup_free_ char *dir = container_dir(id, err);
        char req[32];

        if (dir == NULL)
                return -1;
        snprintf(req, sizeof(req), "kill %d", sig);
        return request_ok(id, dir, req, err);
}

static const struct cmd_option kill_options[] = {
        { "all", 'a', no_argument, NULL, "refused: hutch signals the container's init (SIGKILL to it ends them all)",
          OPT_FORCE },
        { 0 },
};

static int cmd_oci_kill(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        char *optval = NULL;
        int c, sig = SIGTERM;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_FORCE)
                        return cmd_usage_error(cmd, err,
                                               "--all is not supported: hutch signals only the container's init "
                                               "(in a container with its own PID namespace, SIGKILL to its init ends "
                                               "all its processes)");
        }
        if (optind != argc - 1 && optind != argc - 2)
                return cmd_usage_error(cmd, err, "requires a container ID and optionally a SIGNAL");
        if (optind == argc - 2 && (hutch_parse_signal(argv[optind + 1], &sig) < 0 || sig <= 0 || sig >= NSIG))
                return cmd_usage_error(cmd, err, "invalid signal '%s'", argv[optind + 1]);
        return oci_kill(argv[optind], sig, err) < 0 ? -1 : 0;
}

/* state.json as the monitor wrote it; NULL when it is missing. */
static yajl_val read_state(const char *dir)
{
        _cleanup_free_ char *path = xasprintf("%s/state.json", dir), *text = NULL;
        size_t len = 0;
        struct hutch_error *e = NULL;

        if (hutch_read_file_at(AT_FDCWD, path, 1u << 20, &text, &len, &e) < 0) {
                hutch_error_free(e);
                return NULL;
        }
        yajl_val v = hutch_json_parse(text, len, &e);
        hutch_error_free(e);
        return v;
}

static void gen_state(yajl_gen g, const char *id, const char *dir)
{
        yajl_val st = read_state(dir);
        pid_t pid;
        enum oci_status s = cmd_oci_status(dir, &pid);

        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "ociVersion", OCI_STATE_VERSION);
        hutch_json_gen_kv_string(g, "id", id);
        hutch_json_gen_kv_string(g, "status", cmd_oci_status_name(s));
        hutch_json_gen_kv_int(g, "pid", (s == OCI_CREATED || s == OCI_RUNNING) ? pid : 0);
        hutch_json_gen_kv_string(g, "bundle", hutch_json_get_string(st, "bundle"));
        if (hutch_json_get_string(st, "created"))
                hutch_json_gen_kv_string(g, "created", hutch_json_get_string(st, "created"));
        yajl_val ann = hutch_json_get_object(st, "annotations");
        if (ann && ann->u.object.len > 0) {
                hutch_json_gen_string(g, "annotations");
                hutch_json_gen_value(g, ann);
        }
        yajl_gen_map_close(g);
        yajl_tree_free(st);
}

static int cmd_oci_state(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        int r = cmd_getopt_none(cmd, argc, argv, err);
        if (r != 0)
                return r > 0 ? 0 : r;
        if (optind != argc - 1)
                return cmd_usage_error(cmd, err, "requires exactly one container ID");
        const char *id = argv[optind];
        _cleanup_free_ char *dir = container_dir(id, err);
        if (dir == NULL)
                return -1;
        yajl_gen g = yajl_gen_alloc(NULL);
        yajl_gen_config(g, yajl_gen_beautify, 1);
        gen_state(g, id, dir);
        hutch_json_gen_print(g, stdout);
        yajl_gen_free(g);
        return 0;
}

/* Waits until the monitor is gone (its lock free), killing the container
 * first when kill is set; then removes dir. */
static int oci_delete(const char *id, const char *dir, bool kill, struct hutch_error **err)
{
        _cleanup_free_ char *lockp = xasprintf("%s/lock", dir);
        _cleanup_close_ int lock = open(lockp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        char reply[64];

        if (kill)
                (void) cmd_oci_request(dir, "kill 9", reply, sizeof(reply), NULL);
        if (lock >= 0) {
                /* the monitor exits right after the container; bounded
                 * anyway: a monitor stuck for 10 s is an error */
                int r = -1;
                for (int i = 0; i < 1000 && (r = flock(lock, LOCK_EX | LOCK_NB)) < 0; i++)
                        (void) poll(NULL, 0, 10);
                if (r < 0)
                        return hutch_error_set(err, EBUSY, "container '%s': its monitor did not exit", id);
        }
        int r = hutch_rm_rf_at(AT_FDCWD, dir);
        if (r < 0)
                return hutch_error_set(err, -r, "remove '%s'", dir);
        return 0;
}

static const struct cmd_option delete_options[] = {
        { "force", 'f', no_argument, NULL, "kill a running container first (SIGKILL)", OPT_FORCE },
        { 0 },
};

static int cmd_oci_delete(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        char *optval = NULL;
        bool force = false;
        int c;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_FORCE)
                        force = true;
        }
        if (optind != argc - 1)
                return cmd_usage_error(cmd, err, "requires exactly one container ID");
        const char *id = argv[optind];
        _cleanup_free_ char *dir = container_dir(id, err);
        if (dir == NULL)
                return -1;
        pid_t pid;
        enum oci_status st = cmd_oci_status(dir, &pid);
        /* as runc: a created container (its program never ran) goes
         * without --force; a running one needs it */
        if ((st == OCI_RUNNING || st == OCI_CREATING) && !force)
                return hutch_error_set(err, 0,
                                       "container '%s' is %s: stop it first ('hutch oci kill %s') or use --force", id,
                                       cmd_oci_status_name(st), id);
        return oci_delete(id, dir, st != OCI_STOPPED, err) < 0 ? -1 : 0;
}

/* ---- run ---- */

static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static int wait_exit(const char *id, const char *dir, struct hutch_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/ctl", dir);
        _cleanup_close_ int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        _cleanup_close_ int sfd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        sigset_t mask, old;
        char reply[64];

        if (pfd < 0 || fd < 0)
                return hutch_error_set(err, errno, "container '%s': open its control socket", id);
        hutch_fd_path(pfd, sa.sun_path, sizeof(sa.sun_path));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || send(fd, "wait", 4, MSG_NOSIGNAL) < 0)
                return hutch_error_set(err, errno, "container '%s': wait for it", id);
        /* forward what a foreground runtime forwards */
        sigemptyset(&mask);
        for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
                sigaddset(&mask, forwarded_signals[i]);
        (void) sigprocmask(SIG_BLOCK, &mask, &old);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        for (;;) {
                struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
                if (poll(p, sfd >= 0 ? 2 : 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[1].revents) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                                (void) oci_kill(id, (int) si.ssi_signo, NULL);
                }
                if (p[0].revents)
                        break;
        }
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        ssize_t n = recv(fd, reply, sizeof(reply) - 1, MSG_DONTWAIT);
        int code;
        if (n > 0) {
                reply[n] = '\0';
                if (sscanf(reply, "exit %d", &code) == 1)
                        return code;
        }
        /* no reply: the monitor died; what it recorded, if anything */
        _cleanup_free_ char *exitp = xasprintf("%s/exit", dir), *text = NULL;
        struct hutch_error *e = NULL;
        if (hutch_read_file_at(AT_FDCWD, exitp, 64, &text, NULL, &e) == 0 && sscanf(text, "%d", &code) == 1)
                return code;
        hutch_error_free(e);
        return hutch_error_set(err, EIO, "container '%s': its monitor exited without an exit status", id);
}

static int cmd_oci_run(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct create_args ca = { 0 };
        _cleanup_free_ char *dir = NULL;
        bool detach = false;
        pid_t pid;
        int r = parse_create(cmd, argc, argv, &ca, &detach, err);

        if (r != 0)
                return r > 0 ? 0 : r;
        if (oci_create(&ca, &pid, &dir, err) < 0)
                return -1;
        r = oci_start(ca.id, err);
        if (r < 0) {
                (void) oci_delete(ca.id, dir, true, NULL);
                return -1;
        }
        if (detach)
                return 0;
        int code = wait_exit(ca.id, dir, err);
        if (oci_delete(ca.id, dir, code < 0, code < 0 ? NULL : err) < 0)
                return -1;
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ; /* our monitor, which exited */
        return code;
}

/* ---- list ---- */

static const struct cmd_option list_options[] = {
        { "quiet", 'q', no_argument, NULL, "print only the IDs", OPT_QUIET },
        { "format", 'f', required_argument, "FORMAT", "table (default) or json", OPT_FORMAT },
        { 0 },
};

static int cmd_oci_list(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        char *optval = NULL;
        bool quiet = false, json = false;
        int c;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_QUIET)
                        quiet = true;
                if (c == OPT_FORMAT) {
                        if (!STREQ(optval, "table") && !STREQ(optval, "json"))
                                return cmd_usage_error(cmd, err, "invalid --format '%s' (table or json)", optval);
                        json = STREQ(optval, "json");
                }
        }
        if (optind != argc)
                return cmd_usage_error(cmd, err, "takes no arguments");
        _cleanup_free_ char *root = oci_root();
        _cleanup_dir_ DIR *d = opendir(root);
        _cleanup_strv_ char **ids = NULL;
        struct dirent *de;
        if (d == NULL && errno != ENOENT)
                return hutch_error_set(err, errno, "open '%s'", root);
        while (d && (de = readdir(d)) != NULL)
                if (de->d_name[0] != '.' && runtime_spec_check_id(de->d_name, NULL) == 0)
                        hutch_strv_append(&ids, de->d_name);
        /* sorted: stable output */
        size_t n = hutch_strv_length(ids);
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(ids[j - 1], ids[j]) > 0; j--) {
                        char *t = ids[j];
                        ids[j] = ids[j - 1];
                        ids[j - 1] = t;
                }
        yajl_gen g = NULL;
        if (json) {
                g = yajl_gen_alloc(NULL);
                yajl_gen_array_open(g);
        } else if (!quiet) {
                printf("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *dir = xasprintf("%s/%s", root, ids[i]);
                if (json) {
                        gen_state(g, ids[i], dir);
                        continue;
                }
                if (quiet) {
                        printf("%s\n", ids[i]);
                        continue;
                }
                pid_t pid;
                enum oci_status s = cmd_oci_status(dir, &pid);
                yajl_val st = read_state(dir);
                const char *bundle = hutch_json_get_string(st, "bundle"),
                           *created = hutch_json_get_string(st, "created");
                printf("%-20s %-8ld %-10s %-40s %s\n", ids[i],
                       (long) ((s == OCI_CREATED || s == OCI_RUNNING) ? pid : 0), cmd_oci_status_name(s),
                       bundle ? bundle : "", created ? created : "");
                yajl_tree_free(st);
        }
        if (json) {
                yajl_gen_array_close(g);
                hutch_json_gen_print(g, stdout);
                yajl_gen_free(g);
        }
        return 0;
}

/* ---- spec ---- */

static const char spec_template[] =
        "{\n"
        "  \"ociVersion\": \"1.2.0\",\n"
        "  \"process\": {\n"
        "    \"terminal\": false,\n"
        "    \"user\": { \"uid\": 0, \"gid\": 0 },\n"
        "    \"args\": [ \"sh\" ],\n"
        "    \"env\": [ \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\" ],\n"
        "    \"cwd\": \"/\",\n"
        "    \"capabilities\": {\n"
        "      \"bounding\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
        "      \"effective\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
        "      \"permitted\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ]\n"
        "    },\n"
        "    \"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024 } ],\n"
        "    \"noNewPrivileges\": true\n"
        "  },\n"
        "  \"root\": { \"path\": \"rootfs\", \"readonly\": true },\n"
        "  \"hostname\": \"hutch\",\n"
        "  \"mounts\": [\n"
        "    { \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\" },\n"
        "    { \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
        "      \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] },\n"
        "    { \"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
        "      \"options\": [ \"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\" ] },\n"
        "    { \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\",\n"
        "      \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\" ] },\n"
        "    { \"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\",\n"
        "      \"options\": [ \"nosuid\", \"noexec\", \"nodev\" ] },\n"
        "    { \"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\",\n"
        "      \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"ro\" ] }\n"
        "  ],\n"
        "  \"linux\": {\n"
        "    \"uidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n"
        "    \"gidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n"
        "    \"namespaces\": [\n"
        "      { \"type\": \"pid\" }, { \"type\": \"ipc\" }, { \"type\": \"uts\" }, { \"type\": \"mount\" },\n"
        "      { \"type\": \"user\" }, { \"type\": \"network\" }, { \"type\": \"cgroup\" }\n"
        "    ],\n"
        "    \"maskedPaths\": [\n"
        "      \"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\", \"/proc/latency_stats\",\n"
        "      \"/proc/timer_list\", \"/proc/timer_stats\", \"/proc/sched_debug\", \"/proc/scsi\",\n"
        "      \"/proc/interrupts\", \"/sys/firmware\", \"/sys/devices/virtual/powercap\"\n"
        "    ],\n"
        "    \"readonlyPaths\": [\n"
        "      \"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", \"/proc/sysrq-trigger\"\n"
        "    ]\n"
        "  }\n"
        "}\n";

static const struct cmd_option spec_options[] = {
        { "bundle", 'b', required_argument, "DIR", "write DIR/config.json (default: ./config.json)", OPT_BUNDLE },
        { "rootless", 0, no_argument, NULL, "accepted for runc compatibility (hutch's configs are always rootless)",
          OPT_ROOTLESS },
        { 0 },
};

static int cmd_oci_spec(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        char *optval = NULL;
        const char *bundle = ".";
        int c;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_BUNDLE)
                        bundle = optval;
        }
        if (optind != argc)
                return cmd_usage_error(cmd, err, "takes no arguments");
        _cleanup_close_ int dfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return hutch_error_set(err, errno, "bundle '%s'", bundle);
        if (faccessat(dfd, "config.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return hutch_error_set(err, 0, "'%s/config.json' exists: remove it first", bundle);
        _cleanup_free_ char *text = xasprintf(spec_template, (unsigned) getuid(), (unsigned) getgid());
        return hutch_write_file_atomic(dfd, "config.json", text, strlen(text), 0644, err) < 0 ? -1 : 0;
}

/* ---- the group ---- */

static const struct cmd_command oci_subcommands[] = {
        { "create", "[OPTIONS] ID", "Create a container from a bundle; its program waits for 'start'", cmd_oci_create,
          create_options, NULL, NULL },
        { "start", "ID", "Run the program of a created container", cmd_oci_start, NULL, NULL, NULL },
        { "state", "ID", "Print a container's state as JSON (runtime-spec)", cmd_oci_state, NULL, NULL, NULL },
        { "kill", "ID [SIGNAL]", "Send a signal (name or number, default TERM) to a container's process", cmd_oci_kill,
          kill_options, NULL, NULL },
        { "delete", "[--force] ID", "Remove a stopped (or created) container", cmd_oci_delete, delete_options, NULL,
          NULL },
        { "run", "[OPTIONS] ID", "Create and start a container; wait for it unless --detach", cmd_oci_run, run_options,
          NULL, NULL },
        { "list", "[OPTIONS]", "List containers", cmd_oci_list, list_options, NULL, NULL },
        { "spec", "[OPTIONS]", "Write a default rootless config.json", cmd_oci_spec, spec_options, NULL, NULL },
        { 0 },
};

const struct cmd_option cmd_oci_options[] = {
        { "root", 0, required_argument, "DIR", "state directory (default $XDG_RUNTIME_DIR/hutch/oci)", OPT_OCI_ROOT },
        { 0 },
};

int cmd_oci(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct cmd_command self = *cmd;
        char *optval = NULL;
        int c;

        self.subcommands = oci_subcommands;
        while ((c = cmd_getopt(&self, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_OCI_ROOT) {
                        if (optval[0] != '/')
                                return cmd_usage_error(&self, err, "--root must be an absolute path");
                        arg_oci_root = optval;
                }
        }
        if (optind >= argc) {
                cmd_print_help(&self, stderr);
                return EXIT_HUTCH_FAILED;
        }
        return cmd_dispatch(oci_subcommands, self.full_name ? self.full_name : "hutch oci", argc - optind,
                            argv + optind, err);
}

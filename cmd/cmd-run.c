/* hutch run: create a container and run it in the foreground, with hutch
 * itself as its monitor. */
#include "config.h"

#include "cmd/cmd.h"
#include "cmd/attach.h"
#include "cmd/network.h"
#include "cmd/cgroup.h"
#include "cmd/run.h"
#include "cmd/cmd-containers.h"
#include "cmd/cmd-storage.h"
#include "cmd/ctrlog.h"
#include "cmd/tty.h"
#include "cmd/image-run.h"
#include "cmd/keepid.h"
#include "cmd/parse-opts.h"
#include "cmd/security-opts.h"
#include "cmd/paths.h"
#include "cmd/userns.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "lib/proc.h"
#include "lib/sealed-exe.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "netns/netns.h"
#include "runtime/caps.h"
#include "runtime/runtime.h"
#include "runtime/seccomp.h"
#include "storage/containers.h"
#include "storage/volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
        OPT_ROOTFS = 0x100,
        OPT_ENV_FILE,
        OPT_ENTRYPOINT,
        OPT_RM,
        OPT_READ_ONLY,
        OPT_NETWORK,
        OPT_NAME,
        OPT_CAP_ADD,
        OPT_DETACH,
        OPT_INIT,
        OPT_MOUNT,
        OPT_DEVICE,
        OPT_PULL,
        OPT_MEMORY,
        OPT_RESTART,
        OPT_CPUS,
        OPT_PIDS_LIMIT,
        OPT_TMPFS,
        OPT_CAP_DROP,
        OPT_PRIVILEGED,
        OPT_SECURITY_OPT,
        OPT_USERNS,
        OPT_DETACH_KEYS,
        /* networking (cmd/network.c) */
        OPT_PUBLISH_ALL,
        OPT_EXPOSE,
        OPT_DNS,
        OPT_DNS_SEARCH,
        OPT_DNS_OPTION,
        OPT_ADD_HOST,
};

const struct cmd_option cmd_run_options[] = {
        { "rootfs", 0, required_argument, "DIR", "use DIR as the container's root filesystem (it is never modified)",
          OPT_ROOTFS },
        { "env", 'e', required_argument, "KEY[=VALUE]", "set an environment variable (KEY alone: the host's value)",
          'e' },
        { "env-file", 0, required_argument, "FILE", "read environment variables from FILE", OPT_ENV_FILE },
        { "workdir", 'w', required_argument, "DIR", "working directory inside the container", 'w' },
        { "user", 'u', required_argument, "USER[:GROUP]", "user and group (names or IDs) to run as", 'u' },
        { "userns", 0, required_argument, "MODE",
          "user namespace: host (the default: root is you) or keep-id[:uid=N,gid=N] (you are your own UID inside)",
          OPT_USERNS },
        { "hostname", 'h', required_argument, "NAME", "the container's host name", 'h' },
        { "entrypoint", 0, required_argument, "CMD", "override the command's entry point", OPT_ENTRYPOINT },
        { "volume", 'v', required_argument, "SRC:DST[:ro][:U]",
          "bind mount a host path, or mount a named volume (created on first use); U: chown it to the container's user",
          'v' },
        { "mount", 0, required_argument, "type=bind|volume|tmpfs,...",
          "attach a mount (Docker's --mount syntax; U chowns the source to the container's user)", OPT_MOUNT },
        { "tmpfs", 0, required_argument, "PATH[:OPTS]", "mount a tmpfs at PATH (size=, mode=)", OPT_TMPFS },
        { "pull", 0, required_argument, "POLICY", "pull the image: missing (default), always, newer or never",
          OPT_PULL },
        { "device", 0, required_argument, "HOST[:CTR][:rwm]", "add a host device to the container's /dev", OPT_DEVICE },
        { "restart", 0, required_argument, "POLICY",
          "restart a detached container: no, on-failure[:N], always or unless-stopped", OPT_RESTART },
        { "memory", 'm', required_argument, "SIZE", "memory limit (needs a delegated cgroup v2)", OPT_MEMORY },
        { "cpus", 0, required_argument, "N", "CPU limit, e.g. 1.5 (needs a delegated cgroup v2)", OPT_CPUS },
        { "pids-limit", 0, required_argument, "N", "process limit, -1 for none (needs a delegated cgroup v2)",
          OPT_PIDS_LIMIT },
        { "rm", 0, no_argument, NULL, "remove the container when it exits (--rootfs containers are never kept)",
          OPT_RM },
        { "read-only", 0, no_argument, NULL, "mount the root filesystem read-only", OPT_READ_ONLY },
        { "network", 0, required_argument, "MODE",
          "network mode: slirp[:OPTIONS] (the default; options mtu=N, allow_host_loopback=BOOL, cidr=A.B.C.D/N, "
          "enable_ipv6=BOOL, dns_upstream=IP[:PORT]), none (loopback only), host, or container:NAME|ID (share "
          "that running container's network, as in a pod)",
          OPT_NETWORK },
        { "net", 0, required_argument, "MODE", "alias of --network", OPT_NETWORK },
        { "name", 0, required_argument, "NAME", "name of the container", OPT_NAME },
        /* networking (cmd/network.c) */
        { "publish", 'p', required_argument, "[IP:][HOSTPORT:]PORT[/PROTO]",
          "publish a container port (or range) on the host", 'p' },
        { "publish-all", 'P', no_argument, NULL, "publish every --expose port on a free host port", OPT_PUBLISH_ALL },
        { "expose", 0, required_argument, "PORT[/PROTO]", "declare a port the container serves", OPT_EXPOSE },
        { "dns", 0, required_argument, "IP", "name server for the container's /etc/resolv.conf", OPT_DNS },
        { "dns-search", 0, required_argument, "DOMAIN", "search domain for /etc/resolv.conf ('.' for none)",
          OPT_DNS_SEARCH },
        { "dns-option", 0, required_argument, "OPT", "option line entry for /etc/resolv.conf", OPT_DNS_OPTION },
        { "add-host", 0, required_argument, "NAME:IP", "add a line to the container's /etc/hosts", OPT_ADD_HOST },
        { "interactive", 'i', no_argument, NULL, "keep stdin open (with -t: relay it to the terminal)", 'i' },
        { "tty", 't', no_argument, NULL, "give the container a pseudo-terminal", 't' },
        { "init", 0, no_argument, NULL, "run a small init as PID 1 that forwards signals and reaps zombies", OPT_INIT },
        { "detach", 'd', no_argument, NULL, "run in the background and print the container's ID", OPT_DETACH },
        { "detach-keys", 0, required_argument, "KEYS",
          "with -it (kept containers): keys that detach and leave the container running (default ctrl-p,ctrl-q; "
          "'' for none)",
          OPT_DETACH_KEYS },
        { "cap-add", 0, required_argument, "CAP", "add a capability (or ALL)", OPT_CAP_ADD },
        { "cap-drop", 0, required_argument, "CAP", "drop a capability (or ALL)", OPT_CAP_DROP },
        { "privileged", 0, no_argument, NULL,
          "every capability of the user namespace, no seccomp filter, no masked paths", OPT_PRIVILEGED },
        { "security-opt", 0, required_argument, "OPT",
          "seccomp=unconfined|FILE, no-new-privileges[=false], mask=PATHS, unmask=PATHS|ALL, label=, apparmor=",
          OPT_SECURITY_OPT },
        { 0 },
};

/* -v, --mount and --tmpfs, checked before anything starts. */
int cmd_run_parse_mounts(const struct run_args *a, struct cmd_volume **ret, size_t *ret_n, struct hutch_error **err)
{
        char **const lists[4] = { a->volumes, a->mount_specs, a->tmpfs_specs, a->device_specs };
        struct cmd_volume *vols = *ret;
        size_t n = *ret_n;
        int r = 0;

        for (int l = 0; l < 4 && r == 0; l++)
                for (size_t i = 0; lists[l] && lists[l][i] && r == 0; i++) {
                        vols = xreallocarray(vols, n + 1, sizeof(*vols));
                        memset(&vols[n], 0, sizeof(vols[n]));
                        r = l == 0   ? cmd_parse_volume(lists[l][i], &vols[n], err)
                            : l == 1 ? cmd_parse_mount(lists[l][i], &vols[n], err)
                            : l == 2 ? cmd_parse_tmpfs(lists[l][i], &vols[n], err)
                                     : cmd_parse_device(lists[l][i], &vols[n], err);
                        if (r < 0)
                                break;
                        n++;
                        struct stat st;
                        if (vols[n - 1].kind == CMD_VOLUME_BIND && stat(vols[n - 1].source, &st) < 0)
                                r = hutch_error_set(err, errno, "%s '%s'", l == 3 ? "device" : "volume source",
                                                    vols[n - 1].source);
                        else if (l == 3 && !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                                r = hutch_error_set(err, 0, "--device '%s' is not a device", vols[n - 1].source);
                }
        *ret = vols;
        *ret_n = n;
        return r;
}

char *cmd_run_host_getenv(const char *k)
{
        return getenv(k);
}

int cmd_run_parse_args(const struct cmd_command *cmd, int argc, char **argv, struct run_args *a,
                       struct hutch_error **err)
{
        char *optval = NULL;
        int c;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 1;
                case -3: return -1;
                case OPT_ROOTFS: a->rootfs = optval; break;
                case 'e':
                        if (cmd_parse_env_arg(optval, cmd_run_host_getenv, &a->env, err) < 0)
                                return -1;
                        break;
                case OPT_ENV_FILE: {
                        _cleanup_free_ char *text = NULL;
                        if (hutch_read_file_at(AT_FDCWD, optval, 1u << 20, &text, NULL, err) < 0)
                                return hutch_error_prefix(err, "--env-file");
                        if (cmd_parse_env_file(text, optval, cmd_run_host_getenv, &a->env, err) < 0)
                                return -1;
                        break;
                }
                case 'w':
                        if (optval[0] != '/')
                                return cmd_usage_error(cmd, err, "--workdir '%s' must be an absolute path", optval);
                        a->workdir = optval;
                        break;
                case 'u':
                        if (*optval == '\0')
                                return cmd_usage_error(cmd, err, "--user must not be empty");
                        a->user = optval;
                        break;
                case 'h':
                        if (*optval == '\0' || strlen(optval) > 64)
                                return cmd_usage_error(cmd, err, "invalid --hostname '%s'", optval);
                        a->hostname = optval;
                        break;
                case OPT_ENTRYPOINT: a->entrypoint = optval; break;
                case 'v': hutch_strv_append(&a->volumes, optval); break;
                case OPT_MOUNT: hutch_strv_append(&a->mount_specs, optval); break;
                case OPT_TMPFS: hutch_strv_append(&a->tmpfs_specs, optval); break;
                case OPT_DEVICE: hutch_strv_append(&a->device_specs, optval); break;
                case OPT_PULL:
                        if (!STREQ(optval, "missing") && !STREQ(optval, "always") && !STREQ(optval, "never") &&
                            !STREQ(optval, "newer"))
                                return cmd_usage_error(cmd, err, "invalid --pull '%s' (missing, always, newer, never)",
                                                       optval);
                        a->pull = optval;
                        break;
                case OPT_RESTART: {
                        const char *colon = strchr(optval, ':');
                        size_t n = colon ? (size_t) (colon - optval) : strlen(optval);
                        bool ok = (n == 2 && strncmp(optval, "no", 2) == 0 && !colon) ||
                                  (n == 6 && strncmp(optval, "always", 6) == 0 && !colon) ||
                                  (n == 14 && strncmp(optval, "unless-stopped", 14) == 0 && !colon) ||
                                  (n == 10 && strncmp(optval, "on-failure", 10) == 0 &&
                                   (!colon || hutch_parse_uint(colon + 1, 1u << 20, &a->restart_max) == 0));
                        if (!ok)
                                return cmd_usage_error(cmd, err,
                                                       "invalid --restart '%s' (no, on-failure[:N], always, "
                                                       "unless-stopped)",
                                                       optval);
                        a->restart = optval;
                        break;
                }
                case OPT_MEMORY:
                        if (hutch_parse_size(optval, &a->limits.memory) < 0 || a->limits.memory < (4u << 20))
                                return cmd_usage_error(cmd, err, "invalid --memory '%s' (at least 4m)", optval);
                        break;
                case OPT_CPUS:
                        if (cmd_parse_cpus(optval, &a->limits.cpu_quota) < 0)
                                return cmd_usage_error(cmd, err, "invalid --cpus '%s'", optval);
                        break;
                case OPT_PIDS_LIMIT: {
                        int v;
                        if (hutch_parse_int(optval, -1, 1 << 22, &v) < 0 || v == 0)
                                return cmd_usage_error(cmd, err, "invalid --pids-limit '%s'", optval);
                        a->limits.pids = v;
                        break;
                }
                case OPT_RM: a->rm = true; break;
                case 'i': a->interactive = true; break;
                case 't': a->tty = true; break;
                case OPT_DETACH: a->detach = true; break;
                case OPT_DETACH_KEYS:
                        if (cmd_detach_keys_check(cmd, optval, err) < 0)
                                return -1;
                        a->detach_keys = optval;
                        break;
                case OPT_INIT: a->init = true; break;
                case OPT_READ_ONLY: a->readonly = true; break;
                case OPT_NETWORK: /* checked by cmd_network_prepare */ a->network = optval; break;
                /* networking (cmd/network.c) */
                case 'p': hutch_strv_append(&a->net.publish, optval); break;
                case OPT_PUBLISH_ALL: a->net.publish_all = true; break;
                case OPT_EXPOSE: hutch_strv_append(&a->net.expose, optval); break;
                case OPT_DNS: hutch_strv_append(&a->net.dns, optval); break;
                case OPT_DNS_SEARCH: hutch_strv_append(&a->net.dns_search, optval); break;
                case OPT_DNS_OPTION: hutch_strv_append(&a->net.dns_option, optval); break;
                case OPT_ADD_HOST: hutch_strv_append(&a->net.add_host, optval); break;
                case OPT_NAME:
                        if (!storage_container_name_valid(optval))
                                return cmd_usage_error(cmd, err,
                                                       "invalid --name '%s': letters, digits, '_', '.' and '-', "
                                                       "starting with a letter or digit",
                                                       optval);
                        a->name = optval;
                        break;
                case OPT_CAP_ADD: hutch_strv_append(&a->cap_add, optval); break;
                case OPT_CAP_DROP: hutch_strv_append(&a->cap_drop, optval); break;
                case OPT_PRIVILEGED: a->privileged = true; break;
                case OPT_SECURITY_OPT: hutch_strv_append(&a->security_opts, optval); break;
                case OPT_USERNS: {
                        struct cmd_keepid k;
                        struct hutch_error *e = NULL;
                        if (cmd_userns_mode_parse(optval, &k, &e) < 0) {
                                _cleanup_free_ char *msg = xstrdup(e->msg);
                                hutch_error_free(e);
                                return cmd_usage_error(cmd, err, "%s", msg);
                        }
                        a->userns = optval;
                        break;
                }
                }
        }
        if (a->rootfs == NULL) {
                if (optind >= argc)
                        return cmd_usage_error(cmd, err, "requires an IMAGE or --rootfs DIR");
                a->image = argv[optind++];
        }
        for (int i = optind; i < argc; i++)
                hutch_strv_append(&a->args, argv[i]);
        return 0;
}

/* Docker's rules: --entrypoint replaces the image's Entrypoint and drops
 * its Cmd; arguments replace Cmd. */
static int build_command(const struct cmd_command *cmd, struct run_args *a, const struct cmd_image_run *img,
                         struct hutch_error **err)
{
        if (a->entrypoint) {
                if (*a->entrypoint)
                        hutch_strv_append(&a->command, a->entrypoint);
                for (size_t i = 0; a->args && a->args[i]; i++)
                        hutch_strv_append(&a->command, a->args[i]);
        } else if (img) {
                a->command = cmd_image_run_argv(img, a->args);
        } else {
                a->command = hutch_strv_copy(a->args);
        }
        if (a->command == NULL || a->command[0] == NULL)
                return img ? hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0,
                                                    "no command specified: image '%s' has no Entrypoint or Cmd",
                                                    a->image)
                           : cmd_usage_error(cmd, err, "no command specified");
        return 0;
}

static int loopback_hook(void *ctx, int sock)
{
        (void) ctx;
        (void) sock;
        return netns_loopback_up();
}

/* The container's output: into its log, to attached clients, and in the
 * foreground to our own stdout or stderr (until that is closed). */
static void deliver_output(struct monitor *m, int stream, const char *buf, size_t n)
{
        cmd_log_writer_add(m->log, stream, buf, n);
        cmd_attach_server_output(m->attach, stream, buf, n);
        if (m->echo[stream] && hutch_write_all(stream, buf, n) < 0)
                m->echo[stream] = false; /* EPIPE: `hutch run ... | head` */
}

static void drain_log(struct monitor *m, int stream)
{
        char buf[65536];
        for (;;) {
                ssize_t n = read(m->log_fds[stream], buf, sizeof(buf));
                if (n > 0) {
                        deliver_output(m, stream, buf, (size_t) n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                break;
        }
}

static int on_log(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct monitor *m = data;
        int stream = fd == m->log_fds[2] ? 2 : 1;
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n > 0)
                deliver_output(m, stream, buf, (size_t) n);
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                (void) hutch_loop_remove(loop, fd);
        return 0;
}

/* Becomes the detached monitor: a new session, no terminal, the container's
 * output into its log.  The parent learns over ready_fd whether the
 * container started ("OK") or why not.  Returns 0 in the monitor, 1 in the
 * parent once the container runs. */
static int detach_monitor(int *ready_fd, struct hutch_error **err)
{
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return hutch_error_set(err, errno, "pipe");
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                int e = errno;
                (void) close(p[0]);
                (void) close(p[1]);
                return hutch_error_set(err, e, "fork the container monitor");
        }
        if (pid == 0) {
                (void) close(p[0]);
                (void) setsid();
                int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (devnull >= 0) {
                        (void) dup2(devnull, STDIN_FILENO);
                        (void) dup2(devnull, STDOUT_FILENO);
                        (void) dup2(devnull, STDERR_FILENO);
                        (void) close(devnull);
                }
                hutch_close_inherited_fds();
                *ready_fd = p[1];
                return 0;
        }
        (void) close(p[1]);
        int r = hutch_report_read(p[0], NULL, 0, EXIT_HUTCH_FAILED,
                                  "the container monitor exited before the container started", err);
        (void) close(p[0]);
        return r < 0 ? r : 1;
}

static void tee_to_attach(void *data, int stream, const char *buf, size_t n)
{
        cmd_attach_server_output(data, stream, buf, n);
}

static int on_release_timer(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        (void) data;
        (void) events;
        (void) hutch_loop_remove(loop, fd);
        (void) hutch_release_inherited_memory();
        return 0;
}

int cmd_run_on_exit(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct monitor *m = data;
        struct hutch_error *e = NULL;
        int r = runtime_container_reap(m->container, &e);
        m->exit_code = r < 0 ? EXIT_HUTCH_FAILED : r;
        hutch_error_free(e);
        hutch_loop_quit(loop, 0);
        return 0;
}

int cmd_run_on_signal(struct hutch_loop *loop, int fd, uint32_t events, void *data)
{
        struct monitor *m = data;
        struct signalfd_siginfo si;

        while (read(fd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
                if (si.ssi_signo == SIGWINCH) {
                        cmd_tty_resize(m->tty);
                        continue;
                }
                log_debug("forwarding signal %u to the container", si.ssi_signo);
                (void) runtime_container_signal(m->container, (int) si.ssi_signo);
        }
        return 0;
}

const int cmd_run_forwarded_signals[6] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

int cmd_run_signalfd(sigset_t *oldmask, struct hutch_error **err)
{
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        for (size_t i = 0; i < ARRAY_SIZE(cmd_run_forwarded_signals); i++)
                sigaddset(&mask, cmd_run_forwarded_signals[i]);
        sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, oldmask);
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0) {
                int e = errno;
                sigprocmask(SIG_SETMASK, oldmask, NULL);
                return hutch_error_set(err, e, "signalfd");
        }
        return fd;
}

/* hutch-init: $HUTCH_INIT, beside our own binary (a build tree), or where
 * `make install` put it. */
static char *find_init(void)
{
        const char *e = getenv("HUTCH_INIT");
        char self[PATH_MAX];
        ssize_t n;

        if (e)
                return hutch_is_executable(e) ? xstrdup(e) : NULL;
        n = hutch_exe_path(self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = '\0';
                char *slash = strrchr(self, '/');
                if (slash) {
                        char *cand = xasprintf("%.*s/hutch-init", (int) (slash - self), self);
                        if (hutch_is_executable(cand))
                                return cand;
                        free(cand);
                }
        }
        return hutch_is_executable(HUTCH_INIT_PATH) ? xstrdup(HUTCH_INIT_PATH) : NULL;
}

/* `hutch pull REF` as a child (with our global options), its progress on
 * stderr: the registry client runs in the storage user namespace. */
int cmd_run_pull_image(const char *ref, struct hutch_error **err)
{
        char self[PATH_MAX];
        ssize_t n = hutch_exe_path(self, sizeof(self) - 1);
        _cleanup_free_ char *root = cmd_storage_root(), *runroot = cmd_run_root();
        char *argv[12];
        int k = 0, status;
        pid_t pid;

        if (n <= 0)
                return hutch_error_set(err, errno, "find hutch's own binary");
        self[n] = '\0';
        argv[k++] = "hutch";
        argv[k++] = "--root";
        argv[k++] = root;
        argv[k++] = "--runroot";
        argv[k++] = runroot;
        argv[k++] = "pull";
        argv[k++] = "-q";
        argv[k++] = (char *) ref;
        argv[k] = NULL;
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                return hutch_error_set(err, errno, "fork");
        if (pid == 0) {
                (void) dup2(STDERR_FILENO, STDOUT_FILENO); /* the image ID is not run's output */
                execv(self, argv);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return hutch_error_set(err, errno, "wait for the pull");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0,
                                              "image '%s' is not here and could not be pulled", ref);
        return 0;
}

struct cgroup_ctx {
        const char *dir, *id;
        const struct cmd_limits *limits;
};

static int cgroup_created(void *ctx, pid_t pid, struct hutch_error **err)
{
        struct cgroup_ctx *c = ctx;
        if (c->dir == NULL) {
                cmd_cgroup_own(c->id, pid); /* for pause: best effort */
                return 0;
        }
        return cmd_cgroup_apply(c->dir, c->id, c->limits, pid, err);
}

static char *absolute_dir(const char *path, const char *what, struct hutch_error **err)
{
        char buf[PATH_MAX];
        struct stat st;

        if (realpath(path, buf) == NULL) {
                hutch_error_set(err, errno, "%s '%s'", what, path);
                return NULL;
        }
        if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
                hutch_error_set(err, ENOTDIR, "%s '%s' is not a directory", what, path);
                return NULL;
        }
        return xstrdup(buf);
}

static int choose_rootfs_mode(struct runtime_rootfs *rootfs, struct hutch_error **err)
{
        const char *driver = arg_global.storage_driver;

        rootfs->fuse_overlayfs = hutch_find_in_path("fuse-overlayfs", getenv("PATH"));
        if (rootfs->fuse_overlayfs == NULL)
                rootfs->fuse_overlayfs = hutch_find_in_path("fuse-overlayfs", "/usr/bin:/bin:/usr/local/bin");
        if (driver == NULL || STREQ(driver, "overlay")) {
                rootfs->mode = RUNTIME_ROOTFS_OVERLAY;
                rootfs->fallback = driver == NULL;
        } else if (STREQ(driver, "fuse-overlayfs")) {
                if (rootfs->fuse_overlayfs == NULL)
                        return hutch_error_set(err, ENOENT,
                                               "fuse-overlayfs not found: install it ('sudo apt-get install "
                                               "fuse-overlayfs') or choose --storage-driver overlay or copy");
                if (access("/dev/fuse", R_OK | W_OK) < 0)
                        return hutch_error_set(err, 0,
                                               "/dev/fuse is not usable (%s), so fuse-overlayfs cannot run: make it "
                                               "accessible as distributions ship it ('sudo chmod 0666 /dev/fuse') or "
                                               "choose --storage-driver copy",
                                               strerror(errno));
                rootfs->mode = RUNTIME_ROOTFS_FUSE_OVERLAYFS;
        } else {
                rootfs->mode = RUNTIME_ROOTFS_COPY;
        }
        return 0;
}

/* --restart: whether the detached monitor should start the container
 * again after it exited with exit_code; counts the restart in its record. */
static bool should_restart(const char *root, const char *id, const char *policy, unsigned max, int exit_code)
{
        struct storage_container cur = { 0 };
        struct hutch_error *e = NULL;
        bool again = false;

        if (storage_container_load(root, id, &cur, &e) < 0) {
                hutch_error_free(e);
                return false; /* removed meanwhile */
        }
        if (cur.stop_requested)
                again = false; /* `hutch stop` or `kill` ends every policy */
        else if (strncmp(policy, "on-failure", 10) == 0)
                again = exit_code != 0 && (max == 0 || cur.restart_count < max);
        else
                again = STREQ(policy, "always") || STREQ(policy, "unless-stopped");
        if (again) {
                cur.restart_count++;
                if (storage_container_save(root, &cur, &e) < 0) {
                        hutch_error_free(e);
                        again = false;
                }
        }
        storage_container_clear(&cur);
        return again;
}

/* Replaces this (exiting) monitor by `hutch start ID`, which starts a new
 * monitor, after a delay that grows with the restarts (as Docker's). */
static void restart_container(const char *id)
{
        char self[PATH_MAX];
        ssize_t n = hutch_exe_path(self, sizeof(self) - 1);
        _cleanup_free_ char *root = cmd_storage_root(), *runroot = cmd_run_root();
        struct storage_container cur = { 0 };
        struct hutch_error *e = NULL;
        unsigned delay_ms = 100;

        if (n <= 0)
                return;
        self[n] = '\0';
        if (storage_container_load(root, id, &cur, &e) == 0) {
                for (unsigned i = 1; i < cur.restart_count && delay_ms < 10000; i++)
                        delay_ms *= 2;
                storage_container_clear(&cur);
        }
        hutch_error_free(e);
        e = NULL;
        usleep((delay_ms > 10000 ? 10000 : delay_ms) * 1000);
        /* stopped (or removed) while we waited: that ends the policy */
        if (storage_container_load(root, id, &cur, &e) < 0) {
                hutch_error_free(e);
                return;
        }
        bool stopped = cur.stop_requested;
        storage_container_clear(&cur);
        if (stopped)
                return;
        char *argv[12];
        int k = 0;
        argv[k++] = "hutch";
        argv[k++] = "--root";
        argv[k++] = root;
        argv[k++] = "--runroot";
        argv[k++] = runroot;
        if (arg_global.storage_driver) {
                argv[k++] = "--storage-driver";
                argv[k++] = arg_global.storage_driver;
        }
        argv[k++] = "start";
        argv[k++] = (char *) id;
        argv[k] = NULL;
        setenv("HUTCH_RESTARTING", "1", 1);
        execv(self, argv);
}

/* Records what a kept container is doing; a failure to write it is only
 * worth a warning (the container itself is fine). */
static void record_save(const char *root, const struct storage_container *rec)
{
        struct hutch_error *e = NULL;
        struct storage_container cur = { 0 };
        int r;

        /* Only the state is ours to change: the name may have been renamed
         * since we loaded it. */
        r = storage_container_load(root, rec->id, &cur, &e);
        if (r < 0 && e && e->errnum == ENOENT) {
                /* removed meanwhile (rm -f): nothing left to record into */
                hutch_error_free(e);
                return;
        }
        if (r == 0) {
                cur.status = rec->status;
                cur.exit_code = rec->exit_code;
                cur.pid = rec->pid;
                cur.pid_start = rec->pid_start;
                cur.started_at = rec->started_at;
                cur.finished_at = rec->finished_at;
                cur.restart_count = rec->restart_count;
                r = storage_container_save(root, &cur, &e);
                storage_container_clear(&cur);
        } else {
                hutch_error_clear(&e);
                r = storage_container_save(root, rec, &e);
        }
        if (r < 0) {
                log_warn("%s, ignoring", e->msg);
                hutch_error_free(e);
        }
}

int cmd_run(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        return cmd_run_container(cmd, argc, argv, CMD_RUN_FOREGROUND, NULL, err);
}

int cmd_run_container(const struct cmd_command *cmd, int argc, char **argv, enum cmd_run_mode mode,
                      const char *existing_id, struct hutch_error **err)
{
        _cleanup_free_ char *store_root = NULL;
        struct storage_container rec = { 0 };
        _cleanup_free_ char *init_path = NULL, *cgroup_dir = NULL;
        struct cgroup_ctx cgctx = { 0 };
        bool restart_after = false;
        bool keep = false, parent_of_monitor = false, record_new = false, start_tried = false;
        int ready_fd = -1, log_pipe[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
        /* -i without -t, and not our stdin: the monitor (or start -a) holds the write end */
        int stdin_pipe[2] = { -1, -1 };
        int attach_pair[2] = { -1, -1 }; /* attach_after: [0] ours, [1] the monitor's first client */
        struct cmd_attach_server *attach_srv = NULL;
        bool attach_after = false; /* run -it, or a restart policy: a detached monitor, then attach to it */
        struct cmd_log_writer *logw = NULL;
        struct run_args a = { 0 };
        struct runtime_config cfg = { 0 };
        struct cmd_userns uns = { 0 };
        struct runtime_container *container = NULL;
        struct hutch_loop *loop = NULL;
        struct cmd_network *net = NULL;
        struct cmd_image_run img = { 0 };
        bool have_img = false;
        _cleanup_free_ char *id = NULL, *runroot = NULL, *rootfs = NULL;
        _cleanup_free_ char *net_mode = NULL; /* networking: "container:<ID>" */
        _cleanup_close_ int sfd = -1, state_lock = -1, release_timer = -1, null_stdin = -1;
        struct cmd_volume *vols = NULL;
        size_t n_vols = 0;
        struct cmd_keepid keepid = { 0 };
        char keepid_user[32];
        char **anon = NULL; /* the image's VOLUMEs: "NAME:/dest" */
        sigset_t oldmask;
        bool blocked = false;
        int r, exit_code = EXIT_HUTCH_FAILED;

        r = cmd_run_parse_args(cmd, argc, argv, &a, err);
        if (r != 0)
                goto out;
        /* `start` decides how a recorded container runs, whatever `run` said */
        bool start_attached = mode == CMD_RUN_START_ATTACHED || mode == CMD_RUN_START_OUTPUT;
        if (start_attached)
                a.detach = false;
        else if (mode == CMD_RUN_START_DETACHED)
                a.detach = true;

        if (a.rootfs) {
                rootfs = absolute_dir(a.rootfs, "root filesystem", err);
                if (rootfs == NULL) {
                        r = -1;
                        goto out;
                }
        } else {
                bool pull_first = a.pull && (STREQ(a.pull, "always") || STREQ(a.pull, "newer"));
                if (pull_first) {
                        r = cmd_run_pull_image(a.image, err);
                        if (r < 0)
                                goto out;
                }
                r = cmd_image_run_resolve(a.image, &img, err);
                if (r == -ENOENT && !pull_first && !(a.pull && STREQ(a.pull, "never"))) {
                        /* not here yet: pull it, as Docker and Podman do
                         * (an image that is here but broken is an error) */
                        hutch_error_clear(err);
                        r = cmd_run_pull_image(a.image, err);
                        if (r == 0)
                                r = cmd_image_run_resolve(a.image, &img, err);
                }
                if (r < 0)
                        goto out;
                have_img = true;
                /* -P publishes the image's exposed ports too */
                for (size_t i = 0; img.exposed_ports && img.exposed_ports[i]; i++)
                        hutch_strv_append(&a.net.expose, img.exposed_ports[i]);
        }
        r = build_command(cmd, &a, have_img ? &img : NULL, err);
        if (r < 0)
                goto out;
        r = cmd_run_parse_mounts(&a, &vols, &n_vols, err);
        if (r < 0)
                goto out;
        if (have_img && !existing_id) {
                r = cmd_anon_volumes_plan(img.volumes, vols, n_vols, &anon, err);
                if (r < 0)
                        goto out;
        }
        if (cmd_limits_set(&a.limits)) {
                r = cmd_cgroup_prepare(&a.limits, &cgroup_dir, err);
                if (r < 0)
                        goto out;
        }

        r = cmd_userns_load(&uns, err);
        if (r < 0)
                goto out;
        cmd_userns_warn(&uns);
        cmd_userns_apply(&uns, &cfg);
        r = cmd_userns_mode_parse(a.userns, &keepid, err);
        if (r == 0 && keepid.on)
                r = cmd_keepid_apply(&uns, &keepid, &cfg, err);
        if (r < 0)
                goto out;

        id = existing_id ? xstrdup(existing_id) : hutch_random_hex(32);
        /* Containers of images are kept (as Docker does) unless --rm. */
        if (a.restart && !STREQ(a.restart, "no") && a.rm) {
                r = cmd_usage_error(cmd, err, "--restart and --rm cannot be used together");
                goto out;
        }
        if (a.detach && !have_img) {
                r = cmd_usage_error(cmd, err, "--detach needs an IMAGE: --rootfs containers are not kept");
                goto out;
        }
        /* networking (cmd/network.c): options that conflict with --network
         * container:, whose container is recorded by its ID */
        a.net.network = a.network;
        a.net.hostname = a.hostname;
        a.net.name = a.name;
        r = cmd_network_check(cmd, &a.net, id, &net_mode, err);
        if (r < 0)
                goto out;
        /* A container of an image run in the foreground with a terminal
         * (Docker's run -it, --rm too) or with a restart policy runs under a
         * detached monitor, and this process attaches to it: the detach keys
         * leave it running, and the monitor restarts it after we are gone.
         * Other runs, the benchmarked run --rm among them, keep the
         * one-process foreground path. */
        if (have_img && !a.detach && (mode == CMD_RUN_FOREGROUND || start_attached) &&
            ((a.interactive && a.tty) || (a.restart && !STREQ(a.restart, "no")))) {
                attach_after = true;
                a.detach = true;
        }
        keep = have_img && (!a.rm || a.detach || existing_id || mode == CMD_RUN_CREATE);
        if (keep) {
                store_root = cmd_storage_root();
                if (existing_id) {
                        r = storage_container_load(store_root, existing_id, &rec, err);
                        if (r < 0)
                                goto out;
                        anon = hutch_strv_copy(rec.anon_volumes);
                        if (rec.status == STORAGE_CONTAINER_RUNNING &&
                            storage_container_pid_alive(rec.pid, rec.pid_start)) {
                                r = hutch_error_set(err, EBUSY, "container '%s' is already running", rec.name);
                                goto out;
                        }
                        if (getenv("HUTCH_RESTARTING")) {
                                /* a --restart hand-over: a `stop` since then wins */
                                unsetenv("HUTCH_RESTARTING");
                                if (rec.stop_requested) {
                                        r = 0;
                                        exit_code = 0;
                                        goto out;
                                }
                        } else {
                                /* started by hand: the policy starts over, as Docker's, and an
                                 * earlier `stop` no longer holds it back */
                                rec.restart_count = 0;
                                if (rec.stop_requested)
                                        (void) storage_container_set_stop_requested(store_root, existing_id, false,
                                                                                    NULL);
                        }
                } else {
                        _cleanup_close_ int lock = -1;
                        memcpy(rec.id, id, STORAGE_CONTAINER_ID_LEN + 1);
                        rec.name = a.name ? xstrdup(a.name) : cmd_container_random_name(id);
                        rec.image = xstrdup(a.image);
                        rec.image_id = xstrdup(img.id);
                        rec.args = hutch_strv_copy(argv + 1);
                        cmd_network_record_args(rec.args, argv + 1, a.network, net_mode);
                        rec.command = hutch_strv_copy(a.command);
                        rec.created = (int64_t) time(NULL);
                        rec.status = STORAGE_CONTAINER_CREATED;
                        rec.exit_code = -1;
                        rec.auto_remove = a.rm;
                        rec.stop_signal = img.stop_signal ? xstrdup(img.stop_signal) : NULL;
                        rec.anon_volumes = anon && anon[0] ? hutch_strv_copy(anon) : NULL;
                        lock = storage_containers_lock(store_root, err);
                        if (lock < 0) {
                                r = lock;
                                goto out;
                        }
                        r = storage_container_create(store_root, &rec, err);
                        if (r < 0)
                                goto out;
                        record_new = true;
                }
                if (mode == CMD_RUN_CREATE) {
                        printf("%s\n", id);
                        r = 0;
                        exit_code = 0;
                        goto out;
                }
                cfg.rootfs.upperdir = storage_container_path(store_root, id, "upper");
                cfg.rootfs.workdir = storage_container_path(store_root, id, "work");
        }
        runroot = cmd_run_root();
        r = cmd_ensure_private_dir(runroot, err);
        if (r < 0)
                goto out;
        {
                /* kept, and locked, until the container is gone; never another's */
                _cleanup_free_ char *dir = xasprintf("%s/%s", runroot, id);
                r = cmd_state_dir_make(dir, &state_lock, err);
                if (r < 0)
                        goto out;
                cfg.state_dir = steal_ptr(&dir);
        }

        r = choose_rootfs_mode(&cfg.rootfs, err);
        if (r == 0 && keepid.on)
                r = cmd_keepid_rootfs(&cfg.rootfs, arg_global.storage_driver, err);
        if (r < 0)
                goto out;
        if (have_img)
                cfg.rootfs.lowerdirs = hutch_strv_copy(img.layers);
        else
                hutch_strv_append(&cfg.rootfs.lowerdirs, rootfs);
        cfg.rootfs.readonly = a.readonly;

        cfg.args = a.command;
        /* the image's environment, then ours, then the user's */
        if (have_img)
                cfg.env = hutch_strv_copy(img.env);
        cmd_env_set(&cfg.env, "container=hutch");
        for (size_t i = 0; a.env && a.env[i]; i++)
                cmd_env_set(&cfg.env, a.env[i]);
        cfg.cwd = a.workdir ? a.workdir : have_img ? img.working_dir : NULL;
        snprintf(keepid_user, sizeof(keepid_user), "%u:%u", keepid.uid, keepid.gid);
        /* keep-id: the user's own IDs, whatever the image's USER */
        cfg.user = a.user ? a.user : keepid.on ? keepid_user : have_img ? img.user : NULL;
        cfg.terminal = a.tty;
        cfg.hostname = a.hostname ? xstrdup(a.hostname) : xstrndup(id, 12);
        cfg.namespaces = CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
        if (a.network && STREQ(a.network, "host")) {
                cfg.share_host_sys = true;
        } else {
                cfg.namespaces |= CLONE_NEWNET;
                cfg.hooks.child_setup = loopback_hook;
        }
        cmd_anon_volumes_add(anon, &vols, &n_vols);
        if (keepid.on) {
                r = cmd_keepid_passwd(&keepid, cfg.state_dir, cfg.rootfs.upperdir, cfg.rootfs.lowerdirs, &vols, &n_vols,
                                      err);
                if (r < 0)
                        goto out;
        }
        cfg.mounts = xcalloc(n_vols + 1, sizeof(*cfg.mounts));
        for (size_t i = 0; i < n_vols; i++) {
                bool created = false;
                cfg.mounts[i].kind = vols[i].kind == CMD_VOLUME_TMPFS ? RUNTIME_MOUNT_TMPFS : RUNTIME_MOUNT_BIND;
                cfg.mounts[i].destination = vols[i].destination;
                cfg.mounts[i].readonly = vols[i].readonly;
                cfg.mounts[i].options = vols[i].options;
                cfg.mounts[i].source = vols[i].source;
                if (vols[i].kind == CMD_VOLUME_NAMED) {
                        if (store_root == NULL)
                                store_root = cmd_storage_root();
                        r = cmd_ensure_private_dir(store_root, err);
                        if (r == 0)
                                r = storage_volume_create(store_root, vols[i].source, &created, err);
                        if (r < 0)
                                goto out;
                        /* the path replaces the name (vols owns the strings) */
                        char *path = storage_volume_data_path(store_root, vols[i].source);
                        free(vols[i].source);
                        vols[i].source = path;
                        cfg.mounts[i].source = path;
                        cfg.mounts[i].seed = true;
                }
        }
        cfg.n_mounts = n_vols;
        r = cmd_volumes_chown(vols, n_vols, &cfg, err);
        if (r < 0)
                goto out;
        if (a.init) {
                init_path = find_init();
                if (init_path == NULL) {
                        r = hutch_error_set(err, ENOENT,
                                            "--init: hutch-init not found (set HUTCH_INIT or install hutch)");
                        goto out;
                }
                cfg.mounts = xreallocarray(cfg.mounts, cfg.n_mounts + 1, sizeof(*cfg.mounts));
                cfg.mounts[cfg.n_mounts++] = (struct runtime_mount){ .kind = RUNTIME_MOUNT_BIND,
                                                                     .source = init_path,
                                                                     .destination = (char *) "/run/hutch-init",
                                                                     .readonly = true,
                                                                     .own_program = true };
                hutch_strv_push(&a.command, NULL); /* room for one more */
                size_t n = hutch_strv_length(a.command);
                memmove(a.command + 1, a.command, (n + 1) * sizeof(char *));
                a.command[0] = xstrdup("/run/hutch-init");
                cfg.args = a.command;
        }

        /* ---- networking (cmd/network.c): checks every network option, opens
         * the published TCP ports, writes hosts/resolv.conf/hostname into
         * state_dir and adds their bind mounts, and sets cfg.namespaces
         * (CLONE_NEWNET), cfg.share_host_sys and cfg.hooks, replacing the
         * settings above. */
        if (net_mode)
                a.net.network = net_mode;
        r = cmd_network_prepare(&a.net, &cfg, &net, err);
        if (r < 0)
                goto out;
        /* ---- end of networking ---- */
        {
                _cleanup_free_ char *cache = cmd_cache_dir();
                r = cmd_security_configure(&cfg.security, a.privileged, a.cap_add, a.cap_drop, a.security_opts, cache,
                                           err);
                if (r < 0)
                        goto out;
        }

        if (attach_after && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, attach_pair) < 0) {
                r = hutch_error_set(err, errno, "socketpair");
                goto out;
        }
        if (a.detach) {
                r = detach_monitor(&ready_fd, err);
                if (r < 0)
                        goto out;
                /* each side keeps its own end of the pair */
                if (attach_pair[0] >= 0) {
                        (void) close(attach_pair[r == 1 ? 1 : 0]);
                        attach_pair[r == 1 ? 1 : 0] = -1;
                }
                if (r == 1) {
                        parent_of_monitor = true;
                        if (mode != CMD_RUN_START_DETACHED && !attach_after)
                                printf("%s\n", id);
                        exit_code = 0;
                        r = 0;
                        goto out;
                }
                _cleanup_free_ char *log_path = storage_container_path(store_root, id, "ctr.log");
                r = cmd_log_writer_open(log_path, 0, &logw, err);
                if (r < 0)
                        goto out;
                for (int i = 1; i <= 2; i++)
                        if (pipe2(log_pipe[i], O_CLOEXEC) < 0) {
                                r = hutch_error_set(err, errno, "pipe");
                                goto out;
                        }
                cfg.redirect_stdio = true;
                cfg.stdio[0] = -1; /* /dev/null, from detach_monitor */
                if (a.interactive && !a.tty && keep) {
                        /* `hutch attach` writes to it through the monitor */
                        if (pipe2(stdin_pipe, O_CLOEXEC) < 0) {
                                r = hutch_error_set(err, errno, "pipe");
                                goto out;
                        }
                        cfg.stdio[0] = stdin_pipe[0];
                }
                cfg.stdio[1] = log_pipe[1][1];
                cfg.stdio[2] = log_pipe[2][1];
        } else if (keep) {
                /* A kept container run in the foreground has a log too, as
                 * in Docker (`hutch logs` after `run` or `start -a`): its
                 * output passes through us, to the log and our stdout and
                 * stderr; stdin stays ours.  --rm runs keep the direct path. */
                _cleanup_free_ char *log_path = storage_container_path(store_root, id, "ctr.log");
                r = cmd_log_writer_open(log_path, 0, &logw, err);
                if (r < 0)
                        goto out;
                for (int i = 1; i <= 2 && !a.tty; i++) {
                        if (pipe2(log_pipe[i], O_CLOEXEC) < 0) {
                                r = hutch_error_set(err, errno, "pipe");
                                goto out;
                        }
                        cfg.redirect_stdio = true;
                        cfg.stdio[0] = -1; /* ours */
                        cfg.stdio[i] = log_pipe[i][1];
                }
                if (a.interactive && !a.tty && mode == CMD_RUN_START_OUTPUT) {
                        /* start -a without -i: its stdin stays open, as
                         * Docker's, but nothing of ours reaches it */
                        if (pipe2(stdin_pipe, O_CLOEXEC) < 0) {
                                r = hutch_error_set(err, errno, "pipe");
                                goto out;
                        }
                        cfg.stdio[0] = stdin_pipe[0];
                }
        }
        if (!a.detach && !a.interactive && !a.tty) {
                /* without -i the container reads nothing of ours (Docker's:
                 * `echo x | run IMAGE cat` prints nothing) */
                null_stdin = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null_stdin < 0) {
                        r = hutch_error_set(err, errno, "open /dev/null");
                        goto out;
                }
                if (!cfg.redirect_stdio)
                        cfg.stdio[1] = cfg.stdio[2] = -1; /* ours */
                cfg.redirect_stdio = true;
                cfg.stdio[0] = null_stdin;
        }

        sfd = cmd_run_signalfd(&oldmask, err);
        if (sfd < 0) {
                r = sfd;
                goto out;
        }
        blocked = true;

        cgctx = (struct cgroup_ctx){ cgroup_dir, id, &a.limits };
        cfg.hooks.created = cgroup_created;
        cfg.hooks.created_ctx = &cgctx;
        start_tried = true;
        r = runtime_container_start(&cfg, &container, err);
        if (r < 0)
                goto out;
        for (int i = 1; i <= 2; i++)
                if (log_pipe[i][1] >= 0) {
                        (void) close(log_pipe[i][1]);
                        log_pipe[i][1] = -1;
                }
        if (stdin_pipe[0] >= 0) {
                (void) close(stdin_pipe[0]);
                stdin_pipe[0] = -1;
        }
        if (keep) {
                rec.status = STORAGE_CONTAINER_RUNNING;
                rec.pid = runtime_container_pid(container);
                rec.pid_start = storage_process_start_time(rec.pid);
                rec.started_at = (int64_t) time(NULL);
                rec.exit_code = -1;
                record_save(store_root, &rec);
        }

        struct monitor m = { .container = container,
                             .exit_code = EXIT_HUTCH_FAILED,
                             .log = logw,
                             .log_fds = { -1, log_pipe[1][0], log_pipe[2][0] },
                             .echo = { false, !a.detach, !a.detach } };
        if (logw && !a.detach)
                (void) signal(SIGPIPE, SIG_IGN); /* after the start: the container gets the default */
        loop = hutch_loop_new();
        if (loop == NULL) {
                r = hutch_error_set(err, errno, "create the event loop");
                goto out;
        }
        if (hutch_loop_add(loop, runtime_container_pidfd(container), EPOLLIN, cmd_run_on_exit, &m) < 0 ||
            hutch_loop_add(loop, sfd, EPOLLIN, cmd_run_on_signal, &m) < 0) {
                r = hutch_error_set(err, errno, "watch the container");
                goto out;
        }
        if (runtime_container_pty(container) >= 0) {
                r = cmd_tty_attach(loop, runtime_container_pty(container), a.interactive, a.detach ? logw : NULL,
                                   &m.tty, err);
                if (r == 0 && !a.detach && logw)
                        cmd_tty_set_log(m.tty, logw);
                if (r < 0)
                        goto out;
        }
        for (int i = 1; i <= 2; i++)
                if (m.log_fds[i] >= 0) {
                        (void) fcntl(m.log_fds[i], F_SETFL, O_NONBLOCK);
                        if (hutch_loop_add(loop, m.log_fds[i], EPOLLIN, on_log, &m) < 0) {
                                r = hutch_error_set(err, errno, "watch the container's output");
                                goto out;
                        }
                }
        if (keep && a.detach) {
                struct cmd_attach_server_config acfg = { .state_dir = cfg.state_dir,
                                                         .container = container,
                                                         .tty_master = runtime_container_pty(container),
                                                         .stdin_fd = stdin_pipe[1],
                                                         .interactive = a.interactive,
                                                         .first_client = attach_pair[1] };
                struct hutch_error *e = NULL;
                stdin_pipe[1] = -1; /* the server's now */
                attach_pair[1] = -1;
                r = cmd_attach_server_start(loop, &acfg, &attach_srv, attach_after ? err : &e);
                if (r < 0 && attach_after)
                        goto out; /* run -it: nothing to attach to */
                if (r < 0) {
                        r = 0;
                        log_warn("%s: `hutch attach` will not work for this container, ignoring", e->msg);
                        hutch_error_free(e);
                } else {
                        m.attach = attach_srv;
                        if (m.tty)
                                cmd_tty_set_tee(m.tty, tee_to_attach, attach_srv);
                }
        }
        /* networking (cmd/network.c): slirp and the port forwarders run on this loop. */
        r = cmd_network_attach(net, loop, err);
        if (r < 0) {
                m.tty = cmd_tty_free(m.tty);
                goto out;
        }
        /* Issue #5: from here on the monitor only relays, logs and waits.
         * Not when it will still run newuidmap (--rm removes files of
         * subordinate IDs, the image's anonymous volumes too, --restart
         * execs `hutch start`): no_new_privs disarms that setuid helper.
         * See docs/security.md. */
        bool removes_later = (keep && rec.auto_remove) || (!keep && anon && anon[0]);
        bool restarts = keep && a.detach && a.restart && !STREQ(a.restart, "no");
        if (!removes_later && !restarts) {
                _cleanup_free_ char *cache = cmd_cache_dir();
                struct hutch_error *e = NULL;
                if (runtime_seccomp_restrict_self(cache, &e) < 0) {
                        if (e->errnum == ENOSYS || e->errnum == EINVAL)
                                log_debug("%s: the kernel has no seccomp filters", e->msg);
                        else
                                log_warn("%s, continuing without it", e->msg);
                        hutch_error_free(e);
                }
        }
        if (ready_fd >= 0) {
                hutch_report_ok(ready_fd, NULL);
                (void) close(ready_fd);
                ready_fd = -1;
                /* a detached monitor lives as long as its container: keep
                 * only the memory it will use */
                (void) hutch_release_inherited_memory();
        } else {
                /* in the foreground too, once the container has run a
                 * second: short runs (run --rm IMAGE true) never pay for it */
                release_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
                struct itimerspec once = { .it_value = { .tv_sec = 1 } };
                if (release_timer >= 0 && (timerfd_settime(release_timer, 0, &once, NULL) < 0 ||
                                           hutch_loop_add(loop, release_timer, EPOLLIN, on_release_timer, NULL) < 0)) {
                        (void) close(release_timer);
                        release_timer = -1;
                }
        }
        r = hutch_loop_run(loop);
        if (r < 0) {
                m.tty = cmd_tty_free(m.tty);
                hutch_error_set(err, -r, "monitor the container");
                goto out;
        }
        exit_code = m.exit_code;
        cmd_tty_drain(m.tty);
        m.tty = cmd_tty_free(m.tty);
        for (int i = 1; i <= 2; i++)
                if (m.log_fds[i] >= 0)
                        drain_log(&m, i);
        if (keep) {
                rec.status = STORAGE_CONTAINER_EXITED;
                rec.exit_code = exit_code;
                rec.pid = 0;
                rec.pid_start = 0;
                rec.finished_at = (int64_t) time(NULL);
                record_save(store_root, &rec);
        }
        r = 0;
        if (keep && a.detach && a.restart)
                restart_after = should_restart(store_root, id, a.restart, a.restart_max, exit_code);
        if (keep && rec.auto_remove) {
                /* --rm with -d or -it: the monitor removes the container itself */
                logw = cmd_log_writer_free(logw);
                r = cmd_container_remove(store_root, id, err);
                if (r == 0)
                        r = cmd_anon_volumes_remove(store_root, rec.anon_volumes, err);
        }
        /* After the record, or the removal: an attached client that sees the
         * exit finds the container as `ps` will show it (Docker's run --rm
         * returns once the container is gone). */
        cmd_attach_server_finish(attach_srv, exit_code);

out:
        if (r < 0 && record_new && !start_tried && mode != CMD_RUN_CREATE && !parent_of_monitor) {
                /* refused before it ran (a bad option): no container to keep */
                _cleanup_free_ char *dir = storage_container_path(store_root, id, NULL);
                (void) hutch_rm_rf_at(AT_FDCWD, dir);
                (void) cmd_anon_volumes_remove(store_root, anon, NULL);
        }
        if (!keep && anon && anon[0] && !parent_of_monitor) {
                /* --rm: the image's VOLUMEs go with the container (as Docker's) */
                _cleanup_free_ char *root = cmd_storage_root();
                struct hutch_error *e = NULL;
                if (cmd_anon_volumes_remove(root, anon, &e) < 0) {
                        log_warn("%s, ignoring", e->msg);
                        hutch_error_free(e);
                }
        }
        if (ready_fd >= 0) {
                /* the monitor failed before the container ran: tell the parent */
                hutch_report_error(ready_fd,
                                   err && *err && (*err)->exit_status ? (*err)->exit_status : EXIT_HUTCH_FAILED,
                                   err && *err ? (*err)->msg : "the container monitor failed");
                (void) close(ready_fd);
        }
        for (int i = 0; i < 3; i++)
                for (int k = 0; k < 2; k++)
                        if (log_pipe[i][k] >= 0)
                                (void) close(log_pipe[i][k]);
        logw = cmd_log_writer_free(logw);
        for (int k = 0; k < 2; k++)
                if (stdin_pipe[k] >= 0)
                        (void) close(stdin_pipe[k]);
        if (attach_pair[1] >= 0)
                (void) close(attach_pair[1]);
        if (attach_pair[0] >= 0 && !(attach_after && parent_of_monitor && r == 0)) {
                (void) close(attach_pair[0]);
                attach_pair[0] = -1;
        }
        attach_srv = cmd_attach_server_free(attach_srv); /* before the loop it is registered on */
        if (container && r < 0) {
                (void) runtime_container_signal(container, SIGKILL);
                (void) runtime_container_reap(container, NULL);
        }
        container = runtime_container_free(container);
        if (start_tried && id)
                cmd_cgroup_forget(id); /* the container's own cgroup, empty now */
        net = cmd_network_free(net);   /* networking: before the loop it is registered on */
        hutch_strv_free(a.net.publish);
        hutch_strv_free(a.net.expose);
        hutch_strv_free(a.net.dns);
        hutch_strv_free(a.net.dns_search);
        hutch_strv_free(a.net.dns_option);
        hutch_strv_free(a.net.add_host);
        loop = hutch_loop_free(loop);
        if (blocked)
                sigprocmask(SIG_SETMASK, &oldmask, NULL);
        if (cfg.state_dir && !parent_of_monitor)
                (void) hutch_rm_rf_at(AT_FDCWD, cfg.state_dir);
        for (size_t i = 0; i < n_vols; i++)
                cmd_volume_clear(&vols[i]);
        free(vols);
        free(cfg.mounts);
        free(cfg.state_dir);
        free(cfg.hostname);
        free(cfg.rootfs.fuse_overlayfs);
        free(cfg.rootfs.fuse_uidmapping);
        free(cfg.rootfs.fuse_gidmapping);
        hutch_strv_free(anon);
        hutch_strv_free(cfg.rootfs.lowerdirs);
        hutch_strv_free(cfg.env);
        cmd_security_clear(&cfg.security);
        hutch_strv_free(a.cap_add);
        hutch_strv_free(a.cap_drop);
        hutch_strv_free(a.security_opts);
        hutch_strv_free(a.env);
        hutch_strv_free(a.volumes);
        hutch_strv_free(a.mount_specs);
        hutch_strv_free(a.tmpfs_specs);
        hutch_strv_free(a.device_specs);
        hutch_strv_free(a.command);
        hutch_strv_free(a.args);
        storage_container_clear(&rec);
        free(cfg.rootfs.upperdir);
        free(cfg.rootfs.workdir);
        if (have_img)
                cmd_image_run_clear(&img);
        cmd_userns_clear(&uns);
        if (restart_after && id)
                restart_container(id); /* only returns when it could not */
        if (attach_after && parent_of_monitor && r == 0) {
                struct cmd_attach_options o = { .detach_keys = a.detach_keys,
                                                .no_stdin = mode == CMD_RUN_START_OUTPUT,
                                                .sig_proxy = true,
                                                .sig_proxy_tty = true };
                char name[13];
                snprintf(name, sizeof(name), "%.12s", id);
                return cmd_attach_connected(attach_pair[0], name, &o, err);
        }
        if (r > 0)
                return 0; /* --help */
        return r < 0 ? r : exit_code;
}

/* hutch exec, the configuration part of inspect, and which volumes a
 * container uses: commands on containers that run made, from their records. */
#include "config.h"

#include "cmd/cmd.h"
#include "cmd/network.h"
#include "cmd/cgroup.h"
#include "cmd/run.h"
#include "cmd/cmd-containers.h"
#include "cmd/cmd-storage.h"
#include "cmd/ctrlog.h"
#include "cmd/tty.h"
#include "cmd/attach-proto.h"
#include "cmd/attach.h"
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
#include "lib/parse.h"
#include "lib/proc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "netns/netns.h"
#include "runtime/caps.h"
#include "runtime/runtime.h"
#include "runtime/seccomp.h"
#include "storage/containers.h"
#include "storage/volumes.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- exec ---- */

enum { OPT_EXEC_ENV_FILE = 0x300, OPT_EXEC_PRIVILEGED, OPT_EXEC_DETACH_KEYS };

const struct cmd_option cmd_exec_options[] = {
        { "interactive", 'i', no_argument, NULL, "pass our stdin to the command (without -i it reads nothing)", 'i' },
        { "tty", 't', no_argument, NULL, "give the command a pseudo-terminal", 't' },
        { "detach", 'd', no_argument, NULL, "run the command in the background", 'd' },
        { "env", 'e', required_argument, "KEY[=VALUE]", "set an environment variable", 'e' },
        { "env-file", 0, required_argument, "FILE", "read environment variables from FILE", OPT_EXEC_ENV_FILE },
        { "workdir", 'w', required_argument, "DIR", "working directory inside the container", 'w' },
        { "user", 'u', required_argument, "USER[:GROUP]", "user and group to run as", 'u' },
        { "privileged", 0, no_argument, NULL, "every capability of the user namespace, no seccomp filter",
          OPT_EXEC_PRIVILEGED },
        { "detach-keys", 0, required_argument, "KEYS",
          "with -it: keys that detach and leave the command running (default ctrl-p,ctrl-q; '' for none)",
          OPT_EXEC_DETACH_KEYS },
        { 0 },
};

void cmd_run_args_clear(struct run_args *a)
{
        hutch_strv_free(a->env);
        hutch_strv_free(a->volumes);
        hutch_strv_free(a->mount_specs);
        hutch_strv_free(a->tmpfs_specs);
        hutch_strv_free(a->device_specs);
        hutch_strv_free(a->args);
        hutch_strv_free(a->command);
        hutch_strv_free(a->cap_add);
        hutch_strv_free(a->cap_drop);
        hutch_strv_free(a->security_opts);
        hutch_strv_free(a->net.publish);
        hutch_strv_free(a->net.expose);
        hutch_strv_free(a->net.dns);
        hutch_strv_free(a->net.dns_search);
        hutch_strv_free(a->net.dns_option);
        hutch_strv_free(a->net.add_host);
        memset(a, 0, sizeof(*a));
}

/* The container's own settings, from the `run` arguments it was made with. */
int cmd_run_container_args(const struct storage_container *rec, struct run_args *ret, struct hutch_error **err)
{
        size_t n = hutch_strv_length(rec->args);
        _cleanup_free_ char **argv = xcalloc(n + 2, sizeof(char *));
        const struct cmd_command run_cmd = { "run", NULL, "", NULL, cmd_run_options, NULL, "hutch run" };

        argv[0] = "run";
        for (size_t i = 0; i < n; i++)
                argv[i + 1] = rec->args[i];
        optind = 0;
        int r = cmd_run_parse_args(&run_cmd, (int) n + 1, argv, ret, err);
        return r > 0 ? hutch_error_set(err, EINVAL, "the container's record is unusable") : r;
}

/* The user detached from `exec -it`: the command runs on.  A child of
 * ours, in a session of its own, keeps the terminal's master open (its
 * output read and dropped, as nobody is attached) until the command
 * exits, so the command never sees a hangup; we return at once. */
static void leave_running(struct runtime_container *proc)
{
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid != 0)
                return; /* (a failed fork: the command gets a hangup, as before) */
        (void) setsid();
        hutch_close_inherited_fds();
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int i = 0; i < 3 && devnull >= 0; i++)
                (void) dup2(devnull, i);
        struct pollfd p[2] = { { .fd = runtime_container_pty(proc), .events = POLLIN },
                               { .fd = runtime_container_pidfd(proc), .events = POLLIN } };
        char buf[65536];
        while (poll(p, 2, -1) >= 0 || errno == EINTR) {
                if (p[1].revents)
                        break; /* the command exited */
                if (p[0].revents & POLLIN)
                        (void) read(p[0].fd, buf, sizeof(buf));
                else if (p[0].revents)
                        p[0].fd = -1; /* hung up: every peer closed */
        }
        _exit(0);
}

int cmd_exec(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        _cleanup_strv_ char **env = NULL, **args = NULL;
        struct storage_container rec = { 0 };
        struct run_args ra = { 0 };
        struct cmd_image_run img = { 0 };
        struct runtime_config cfg = { 0 };
        struct runtime_container *proc = NULL;
        struct hutch_loop *loop = NULL;
        _cleanup_close_ int pidfd = -1, sfd = -1, null_fd = -1;
        char *optval = NULL, *workdir = NULL, *user = NULL, *detach_keys = NULL;
        bool detach = false, privileged = false, have_img = false, blocked = false, tty = false, interactive = false;
        struct cmd_tty *term = NULL;
        sigset_t oldmask;
        int c, r, exit_code = EXIT_HUTCH_FAILED;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: return -1;
                case 'i': interactive = true; break;
                case 't': tty = true; break;
                case 'd': detach = true; break;
                case OPT_EXEC_DETACH_KEYS:
                        if (cmd_detach_keys_check(cmd, optval, err) < 0)
                                return -1;
                        detach_keys = optval;
                        break;
                case 'e':
                        if (cmd_parse_env_arg(optval, cmd_run_host_getenv, &env, err) < 0)
                                return -1;
                        break;
                case OPT_EXEC_ENV_FILE: {
                        _cleanup_free_ char *text = NULL;
                        if (hutch_read_file_at(AT_FDCWD, optval, 1u << 20, &text, NULL, err) < 0)
                                return hutch_error_prefix(err, "--env-file");
                        if (cmd_parse_env_file(text, optval, cmd_run_host_getenv, &env, err) < 0)
                                return -1;
                        break;
                }
                case 'w':
                        if (optval[0] != '/')
                                return cmd_usage_error(cmd, err, "--workdir '%s' must be an absolute path", optval);
                        workdir = optval;
                        break;
                case 'u': user = optval; break;
                case OPT_EXEC_PRIVILEGED: privileged = true; break;
                }
        }
        if (argc - optind < 2)
                return cmd_usage_error(cmd, err, "'%s' needs a CONTAINER and a COMMAND", cmd->full_name);
        const char *name = argv[optind];
        for (int i = optind + 1; i < argc; i++)
                hutch_strv_append(&args, argv[i]);

        r = storage_container_find(root, name, &rec, err);
        if (r < 0)
                goto out;
        pidfd = rec.status == STORAGE_CONTAINER_RUNNING ? hutch_pidfd_open(rec.pid) : -1;
        /* checked after the pidfd is held: a reused PID is never joined */
        if (pidfd < 0 || !storage_container_pid_alive(rec.pid, rec.pid_start)) {
                r = hutch_error_set(err, 0, "container '%s' is not running", rec.name);
                goto out;
        }
        if (cmd_cgroup_paused(rec.pid, rec.id) > 0) {
                r = hutch_error_set(err, 0, "container '%s' is paused: unpause it first ('hutch unpause %s')", rec.name,
                                    rec.name);
                goto out;
        }
        r = cmd_run_container_args(&rec, &ra, err);
        if (r < 0)
                goto out;
        if (ra.image && cmd_image_run_resolve(ra.image, &img, NULL) == 0)
                have_img = true;

        cfg.args = args;
        if (have_img)
                cfg.env = hutch_strv_copy(img.env);
        cmd_env_set(&cfg.env, "container=hutch");
        for (size_t i = 0; ra.env && ra.env[i]; i++)
                cmd_env_set(&cfg.env, ra.env[i]);
        for (size_t i = 0; env && env[i]; i++)
                cmd_env_set(&cfg.env, env[i]);
        cfg.cwd = workdir ? workdir : ra.workdir ? ra.workdir : have_img ? img.working_dir : NULL;
        /* keep-id: the user's own IDs, as the container's process */
        struct cmd_keepid keepid = { 0 };
        char keepid_user[32];
        if (ra.userns && cmd_userns_mode_parse(ra.userns, &keepid, NULL) == 0 && keepid.on) {
                struct cmd_userns uns = { 0 };
                r = cmd_userns_load(&uns, err);
                if (r < 0)
                        goto out;
                snprintf(keepid_user, sizeof(keepid_user), "%lu:%lu",
                         keepid.uid_set ? (unsigned long) keepid.uid : uns.uid,
                         keepid.gid_set ? (unsigned long) keepid.gid : uns.gid);
                cmd_userns_clear(&uns);
        }
        cfg.user = user ? user : ra.user ? ra.user : keepid.on ? keepid_user : have_img ? img.user : NULL;
        cfg.terminal = tty;
        if (!tty && (!interactive || detach)) {
                /* Docker's: without -i the command reads nothing of ours, and
                 * with -d it writes nothing to us either */
                null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null_fd < 0) {
                        r = hutch_error_set(err, errno, "open /dev/null");
                        goto out;
                }
                cfg.redirect_stdio = true;
                cfg.stdio[0] = null_fd;
                cfg.stdio[1] = cfg.stdio[2] = detach ? null_fd : -1;
        }
        {
                _cleanup_free_ char *cache = cmd_cache_dir();
                r = cmd_security_configure(&cfg.security, privileged || ra.privileged, ra.cap_add, ra.cap_drop,
                                           ra.security_opts, cache, err);
                if (r < 0)
                        goto out;
        }

        sfd = cmd_run_signalfd(&oldmask, err);
        if (sfd < 0) {
                r = sfd;
                goto out;
        }
        blocked = true;
        r = runtime_container_exec(pidfd, &cfg, &proc, err);
        if (r < 0)
                goto out;
        cmd_cgroup_join(rec.pid, rec.id, runtime_container_pid(proc)); /* frozen with it by pause */
        if (detach) {
                exit_code = 0;
                goto out;
        }
        struct monitor m = { .container = proc, .exit_code = EXIT_HUTCH_FAILED, .log_fds = { -1, -1, -1 } };
        loop = hutch_loop_new();
        if (loop == NULL || hutch_loop_add(loop, runtime_container_pidfd(proc), EPOLLIN, cmd_run_on_exit, &m) < 0 ||
            hutch_loop_add(loop, sfd, EPOLLIN, cmd_run_on_signal, &m) < 0) {
                r = hutch_error_set(err, errno, "watch the command");
                goto out;
        }
        if (runtime_container_pty(proc) >= 0) {
                r = cmd_tty_attach(loop, runtime_container_pty(proc), interactive, NULL, &term, err);
                if (r < 0)
                        goto out;
                m.tty = term;
                uint8_t keys[CMD_DETACH_KEYS_MAX];
                size_t n_keys = 0;
                if (interactive && cmd_detach_keys_parse(detach_keys ? detach_keys : CMD_DETACH_KEYS_DEFAULT, keys,
                                                         &n_keys, err) < 0) {
                        r = -1;
                        goto out;
                }
                cmd_tty_set_detach_keys(term, keys, n_keys);
        }
        r = hutch_loop_run(loop);
        if (r < 0) {
                hutch_error_set(err, -r, "wait for the command");
                goto out;
        }
        if (cmd_tty_detached(term)) {
                term = cmd_tty_free(term); /* the user's terminal back */
                fputc('\n', stderr);
                leave_running(proc);
                exit_code = 0;
                r = 0;
                goto out;
        }
        exit_code = m.exit_code;
        cmd_tty_drain(term);
        r = 0;
out:
        term = cmd_tty_free(term);
        proc = runtime_container_free(proc);
        loop = hutch_loop_free(loop);
        if (blocked)
                sigprocmask(SIG_SETMASK, &oldmask, NULL);
        cmd_security_clear(&cfg.security);
        hutch_strv_free(cfg.env);
        if (have_img)
                cmd_image_run_clear(&img);
        cmd_run_args_clear(&ra);
        storage_container_clear(&rec);
        return r < 0 ? r : exit_code;
}

/* ---- inspect ---- */

/* One of inspect's Mounts: a volume when name is set, else a bind. */
static void gen_mount(yajl_gen g, const char *name, const char *source, const char *dest, bool rw)
{
        _cleanup_free_ char *root = name ? cmd_storage_root() : NULL;
        _cleanup_free_ char *path = name ? storage_volume_data_path(root, name) : NULL;

        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "Type", name ? "volume" : "bind");
        if (name)
                hutch_json_gen_kv_string(g, "Name", name);
        hutch_json_gen_kv_string(g, "Source", name ? path : source);
        hutch_json_gen_kv_string(g, "Destination", dest);
        hutch_json_gen_kv_bool(g, "RW", rw);
        yajl_gen_map_close(g);
}

void cmd_run_gen_config(const struct storage_container *rec, yajl_gen g)
{
        struct run_args ra = { 0 };
        struct hutch_error *e = NULL;
        bool ok = cmd_run_container_args(rec, &ra, &e) == 0;

        hutch_error_free(e);
        hutch_json_gen_string(g, "Config");
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "Hostname", ok && ra.hostname ? ra.hostname : NULL);
        hutch_json_gen_kv_string(g, "User", ok ? ra.user : NULL);
        hutch_json_gen_kv_string(g, "WorkingDir", ok ? ra.workdir : NULL);
        hutch_json_gen_string(g, "Env");
        yajl_gen_array_open(g);
        for (size_t i = 0; ok && ra.env && ra.env[i]; i++)
                hutch_json_gen_string(g, ra.env[i]);
        yajl_gen_array_close(g);
        hutch_json_gen_string(g, "Cmd");
        yajl_gen_array_open(g);
        for (size_t i = 0; rec->command && rec->command[i]; i++)
                hutch_json_gen_string(g, rec->command[i]);
        yajl_gen_array_close(g);
        hutch_json_gen_kv_string(g, "Image", rec->image);
        hutch_json_gen_kv_string(g, "StopSignal", rec->stop_signal);
        yajl_gen_map_close(g);

        hutch_json_gen_string(g, "HostConfig");
        yajl_gen_map_open(g);
        hutch_json_gen_kv_bool(g, "AutoRemove", rec->auto_remove);
        hutch_json_gen_kv_bool(g, "Privileged", ok && ra.privileged);
        hutch_json_gen_kv_bool(g, "ReadonlyRootfs", ok && ra.readonly);
        hutch_json_gen_kv_string(g, "NetworkMode", ok && ra.network ? ra.network : "slirp");
        hutch_json_gen_kv_string(g, "UsernsMode", ok && ra.userns && !STREQ(ra.userns, "host") ? ra.userns : "");
        yajl_gen_map_close(g);

        hutch_json_gen_string(g, "Mounts");
        yajl_gen_array_open(g);
        for (size_t i = 0; ok && ra.volumes && ra.volumes[i]; i++) {
                struct cmd_volume v;
                struct hutch_error *ve = NULL;
                if (cmd_parse_volume(ra.volumes[i], &v, &ve) < 0) {
                        hutch_error_free(ve);
                        continue;
                }
                gen_mount(g, v.kind == CMD_VOLUME_NAMED ? v.source : NULL, v.source, v.destination, !v.readonly);
                cmd_volume_clear(&v);
        }
        for (size_t i = 0; rec->anon_volumes && rec->anon_volumes[i]; i++) {
                _cleanup_free_ char *name = NULL, *dest = NULL;
                if (storage_container_anon_volume_split(rec->anon_volumes[i], &name, &dest))
                        gen_mount(g, name, NULL, dest, true);
        }
        yajl_gen_array_close(g);

        /* published ports as given ("8080:80/tcp"), Docker's map shape */
        hutch_json_gen_string(g, "NetworkSettings");
        yajl_gen_map_open(g);
        hutch_json_gen_string(g, "Ports");
        yajl_gen_map_open(g);
        for (size_t i = 0; ok && ra.net.publish && ra.net.publish[i]; i++) {
                const char *spec = ra.net.publish[i];
                const char *last = strrchr(spec, ':');
                _cleanup_free_ char *ctr = xstrdup(last ? last + 1 : spec);
                _cleanup_free_ char *host = last ? xstrndup(spec, (size_t) (last - spec)) : xstrdup("");
                const char *hip = "", *hport = host;
                char *colon = strrchr(host, ':');
                if (colon) {
                        *colon = '\0';
                        hip = host;
                        hport = colon + 1;
                }
                if (strchr(ctr, '/') == NULL) {
                        char *t = xasprintf("%s/tcp", ctr);
                        free(ctr);
                        ctr = t;
                }
                hutch_json_gen_string(g, ctr);
                yajl_gen_array_open(g);
                yajl_gen_map_open(g);
                hutch_json_gen_kv_string(g, "HostIp", hip);
                hutch_json_gen_kv_string(g, "HostPort", hport);
                yajl_gen_map_close(g);
                yajl_gen_array_close(g);
        }
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);
        cmd_run_args_clear(&ra);
}

bool cmd_container_uses_volume(const struct storage_container *rec, const char *name)
{
        struct run_args ra = { 0 };
        struct hutch_error *e = NULL;
        struct cmd_volume *vols = NULL;
        size_t n = 0;
        bool used = false;

        if (cmd_run_container_args(rec, &ra, &e) == 0) {
                hutch_error_clear(&e);
                (void) cmd_run_parse_mounts(&ra, &vols, &n, &e);
                for (size_t i = 0; i < n; i++) {
                        used |= vols[i].kind == CMD_VOLUME_NAMED && STREQ(vols[i].source, name);
                        cmd_volume_clear(&vols[i]);
                }
                free(vols);
                for (size_t i = 0; rec->anon_volumes && rec->anon_volumes[i]; i++)
                        used |= strncmp(rec->anon_volumes[i], name, strlen(name)) == 0 &&
                                rec->anon_volumes[i][strlen(name)] == ':';
        }
        hutch_error_free(e);
        cmd_run_args_clear(&ra);
        return used;
}

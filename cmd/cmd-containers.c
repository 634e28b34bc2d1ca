/* hutch create, start, ps, rm. */
#include "config.h"

#include "cmd/build-container.h"
#include "cmd/cgroup.h"
#include "cmd/cmd-containers.h"
#include "cmd/attach.h"
#include "cmd/cmd-storage.h"
#include "cmd/ctrlog.h"
#include "cmd/template.h"
#include "cmd/paths.h"
#include "cmd/procstat.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/parse.h"
#include "lib/proc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "storage/containers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *cmd_container_random_name(const char *id)
{
        static const char *const adjectives[] = {
                "brave", "calm",   "clever", "eager", "fancy", "gentle", "happy", "jolly", "keen",  "lucid",
                "merry", "nimble", "proud",  "quiet", "rapid", "sharp",  "tidy",  "vivid", "witty", "zealous",
        };
        static const char *const nouns[] = {
                "badger", "beaver", "bunny", "ferret", "finch", "hare",  "heron", "lynx", "marten", "mole",
                "otter",  "owl",    "pika",  "puffin", "robin", "stoat", "swift", "vole", "wren",   "yak",
        };
        unsigned a = 0, b = 0;
        (void) sscanf(id, "%2x%2x", &a, &b);
        /* the ID's last digits make clashes of the short names unlikely */
        return xasprintf("%s_%s_%.4s", adjectives[a % ARRAY_SIZE(adjectives)], nouns[b % ARRAY_SIZE(nouns)], id + 60);
}

int cmd_create(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        return cmd_run_container(cmd, argc, argv, CMD_RUN_CREATE, NULL, err);
}

/* ---- start ---- */

enum { OPT_ATTACH = 'a', OPT_START_INTERACTIVE = 'i', OPT_START_DETACH_KEYS = 0x100 };

const struct cmd_option cmd_start_options[] = {
        { "attach", 'a', no_argument, NULL, "run in the foreground with the container's output (default: detached)",
          OPT_ATTACH },
        { "interactive", 'i', no_argument, NULL,
          "attach, with input: a container made with -i gets ours, one made with -it is attached to as by "
          "'hutch attach' (the detach keys leave it running); without -i it gets none",
          OPT_START_INTERACTIVE },
        { "detach-keys", 0, required_argument, "KEYS", "keys that detach (default ctrl-p,ctrl-q; '' for none)",
          OPT_START_DETACH_KEYS },
        { 0 },
};

int cmd_start(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        struct storage_container rec = { 0 };
        char *optval = NULL, *detach_keys = NULL;
        bool attach = false, input = false;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_ATTACH)
                        attach = true;
                if (c == OPT_START_INTERACTIVE)
                        attach = input = true; /* Docker's start -i attaches too */
                if (c == OPT_START_DETACH_KEYS) {
                        if (cmd_detach_keys_check(cmd, optval, err) < 0)
                                return -1;
                        detach_keys = optval;
                }
        }
        if (optind + 1 != argc)
                return cmd_usage_error(cmd, err, "'%s' needs exactly one CONTAINER", cmd->full_name);
        const char *name = argv[optind];
        r = storage_container_find(root, name, &rec, err);
        if (r < 0)
                return r;

        /* Run it again from its recorded `run` arguments. */
        size_t n = hutch_strv_length(rec.args);
        _cleanup_free_ char **run_argv = xcalloc(n + 4, sizeof(char *));
        size_t k = 0;
        run_argv[k++] = "start";
        if (detach_keys) {
                /* before the IMAGE, where run's options end */
                run_argv[k++] = "--detach-keys";
                run_argv[k++] = detach_keys;
        }
        for (size_t i = 0; i < n; i++)
                run_argv[k++] = rec.args[i];
        const struct cmd_command run_cmd = {
                "run", NULL, "Run a command in a new container", NULL, cmd_run_options, NULL, "hutch start"
        };
        optind = 0;
        enum cmd_run_mode mode = !attach ? CMD_RUN_START_DETACHED
                                 : input ? CMD_RUN_START_ATTACHED
                                         : CMD_RUN_START_OUTPUT;
        r = cmd_run_container(&run_cmd, (int) k, run_argv, mode, rec.id, err);
        if (r == 0 && !attach)
                printf("%s\n", name);
        storage_container_clear(&rec);
        return r;
}

/* ---- ps ---- */

enum { OPT_ALL = 'a', OPT_QUIET = 'q', OPT_FORMAT = 0x100, OPT_FILTER, OPT_NO_TRUNC, OPT_NOHEADING };

const struct cmd_option cmd_ps_options[] = {
        { "all", 'a', no_argument, NULL, "show every container (default: running ones)", OPT_ALL },
        { "quiet", 'q', no_argument, NULL, "show only IDs", OPT_QUIET },
        { "format", 0, required_argument, "FORMAT",
          "json, table, or a Go template over .ID .Names .Image .Command .CreatedAt .RunningFor .Status .State "
          ".Ports .ExitCode .Pid ('table TEMPLATE' adds a header)",
          OPT_FORMAT },
        { "filter", 'f', required_argument, "KEY=VALUE", "filter by name, id, status or ancestor", OPT_FILTER },
        { "no-trunc", 0, no_argument, NULL, "do not shorten IDs and commands", OPT_NO_TRUNC },
        { "noheading", 0, no_argument, NULL, "print no header line", OPT_NOHEADING },
        { 0 },
};

/* The published ports of a running container as Docker shows them,
 * "127.0.0.1:8080->80/tcp, ..." (the monitor writes "80/tcp ->
 * 127.0.0.1:8080" lines, read by `hutch port` too); "" for none. */
static char *ports_text(const char *runroot, const struct storage_container *ct)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        struct hutch_error *e = NULL;
        char *out = xstrdup("");

        if (ct->status != STORAGE_CONTAINER_RUNNING)
                return out;
        path = xasprintf("%s/%s/ports", runroot, ct->id);
        if (hutch_read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL, &e) < 0) {
                hutch_error_free(e);
                return out;
        }
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                char *arrow = strstr(line, " -> ");
                if (arrow == NULL)
                        continue;
                *arrow = '\0';
                char *joined = xasprintf("%s%s%s->%s", out, *out ? ", " : "", arrow + 4, line);
                free(out);
                out = joined;
        }
        return out;
}

/* "paused" for a running container whose processes are frozen. */
static const char *container_state_name(const struct storage_container *c)
{
        if (c->status == STORAGE_CONTAINER_RUNNING && cmd_cgroup_paused(c->pid, c->id) > 0)
                return "paused";
        return storage_container_status_name(c->status);
}

/* One --format TEMPLATE row: the fields Docker and Podman templates use. */
static int print_ps_row(const char *tmpl, const struct storage_container *ct, const char *status, const char *created,
                        const char *ports, bool no_trunc, struct hutch_error **err)
{
        _cleanup_free_ char *command = hutch_strv_join(ct->command, " "), *text = NULL, *out = NULL;
        yajl_gen g = yajl_gen_alloc(NULL);
        char when[64] = "";
        struct tm tm;
        time_t t = (time_t) ct->created;
        size_t len;

        if (localtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
        yajl_gen_map_open(g);
        char id[STORAGE_CONTAINER_ID_LEN + 1];
        snprintf(id, sizeof(id), "%.*s", no_trunc ? STORAGE_CONTAINER_ID_LEN : 12, ct->id);
        hutch_json_gen_kv_string(g, "ID", id);
        hutch_json_gen_kv_string(g, "Id", ct->id);
        hutch_json_gen_kv_string(g, "Names", ct->name);
        hutch_json_gen_kv_string(g, "Image", ct->image);
        hutch_json_gen_kv_string(g, "ImageID", ct->image_id);
        hutch_json_gen_kv_string(g, "Command", command ? command : "");
        hutch_json_gen_kv_int(g, "Created", ct->created);
        hutch_json_gen_kv_string(g, "CreatedAt", when);
        hutch_json_gen_kv_string(g, "RunningFor", created);
        hutch_json_gen_kv_string(g, "Status", status);
        hutch_json_gen_kv_string(g, "State", container_state_name(ct));
        hutch_json_gen_kv_string(g, "Ports", ports);
        hutch_json_gen_kv_int(g, "ExitCode", ct->exit_code);
        hutch_json_gen_kv_int(g, "Pid", ct->pid);
        yajl_gen_map_close(g);
        text = hutch_json_gen_steal(g, &len);
        yajl_gen_free(g);
        yajl_val doc = hutch_json_parse(text, len, err);
        if (doc == NULL)
                return -EINVAL;
        out = cmd_template_render(tmpl, doc, err);
        yajl_tree_free(doc);
        if (out == NULL)
                return -EINVAL;
        printf("%s\n", out);
        return 0;
}

/* A record that says running whose process is gone (monitor killed,
 * reboot) is exited, with an unknown status. */
static void refresh_state(struct storage_container *c)
{
        if (c->status == STORAGE_CONTAINER_RUNNING && !storage_container_pid_alive(c->pid, c->pid_start)) {
                c->status = STORAGE_CONTAINER_EXITED;
                c->exit_code = -1;
                c->pid = 0;
        }
}

static void human_duration(int64_t secs, char *buf, size_t size)
{
        if (secs < 1)
                snprintf(buf, size, "Less than a second");
        else if (secs < 60)
                snprintf(buf, size, "%lld second%s", (long long) secs, secs == 1 ? "" : "s");
        else if (secs < 3600)
                snprintf(buf, size, "%lld minute%s", (long long) secs / 60, secs / 60 == 1 ? "" : "s");
        else if (secs < 86400 * 2)
                snprintf(buf, size, "%lld hour%s", (long long) secs / 3600, secs / 3600 == 1 ? "" : "s");
        else
                snprintf(buf, size, "%lld days", (long long) secs / 86400);
}

static void status_text(const struct storage_container *c, int64_t now, char *buf, size_t size)
{
        char d[64];
        switch (c->status) {
        case STORAGE_CONTAINER_CREATED: snprintf(buf, size, "Created"); break;
        case STORAGE_CONTAINER_RUNNING:
                human_duration(now - c->started_at, d, sizeof(d));
                snprintf(buf, size, "Up %s%s", d, cmd_cgroup_paused(c->pid, c->id) > 0 ? " (Paused)" : "");
                break;
        case STORAGE_CONTAINER_EXITED:
                human_duration(now - (c->finished_at ? c->finished_at : now), d, sizeof(d));
                if (c->exit_code < 0)
                        snprintf(buf, size, "Exited (unknown)");
                else
                        snprintf(buf, size, "Exited (%d) %s ago", c->exit_code, d);
                break;
        }
}

static bool filter_match(const struct storage_container *c, char *const *filters)
{
        for (size_t i = 0; filters && filters[i]; i++) {
                const char *f = filters[i];
                const char *eq = strchr(f, '=');
                const char *v = eq + 1;
                if (strncmp(f, "name=", 5) == 0 && strstr(c->name, v) == NULL)
                        return false;
                if (strncmp(f, "id=", 3) == 0 && strncmp(c->id, v, strlen(v)) != 0)
                        return false;
                if (strncmp(f, "status=", 7) == 0 && !STREQ(container_state_name(c), v))
                        return false;
                if (strncmp(f, "ancestor=", 9) == 0 && !STREQ(c->image, v) &&
                    !(c->image_id && strncmp(c->image_id, v, strlen(v)) == 0))
                        return false;
        }
        return true;
}

int cmd_ps(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        _cleanup_strv_ char **filters = NULL;
        _cleanup_free_ char *runroot = cmd_run_root();
        struct storage_container *list = NULL;
        bool all = false, quiet = false, json = false, no_trunc = false, noheading = false;
        const char *tmpl = NULL;
        bool tmpl_header = false;
        char *optval = NULL;
        size_t n = 0;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: return -1;
                case OPT_ALL: all = true; break;
                case OPT_QUIET: quiet = true; break;
                case OPT_NO_TRUNC: no_trunc = true; break;
                case OPT_NOHEADING: noheading = true; break;
                case OPT_FORMAT:
                        json = STREQ(optval, "json");
                        tmpl = NULL;
                        tmpl_header = strncmp(optval, "table ", 6) == 0;
                        if (tmpl_header)
                                tmpl = optval + 6;
                        else if (!json && !STREQ(optval, "table"))
                                tmpl = optval;
                        if (tmpl && strstr(tmpl, "{{") == NULL)
                                return cmd_usage_error(cmd, err, "unknown --format '%s' (json, table or a template)",
                                                       optval);
                        break;
                case OPT_FILTER: {
                        static const char *const keys[] = { "name=", "id=", "status=", "ancestor=" };
                        bool ok = false;
                        for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                                ok |= strncmp(optval, keys[i], strlen(keys[i])) == 0;
                        if (!ok)
                                return cmd_usage_error(
                                        cmd, err, "invalid --filter '%s' (name=, id=, status=, ancestor=)", optval);
                        hutch_strv_append(&filters, optval);
                        break;
                }
                }
        }
        if (optind < argc)
                return cmd_usage_error(cmd, err, "'%s' accepts no arguments", cmd->full_name);
        r = storage_container_list(root, &list, &n, err);
        if (r < 0)
                return r;

        int64_t now = (int64_t) time(NULL);
        yajl_gen g = NULL;
        if (json) {
                g = yajl_gen_alloc(NULL);
                yajl_gen_config(g, yajl_gen_beautify, 1);
                yajl_gen_array_open(g);
        } else if (!quiet && !noheading && tmpl == NULL) {
                printf("%-14s %-24s %-22s %-24s %-32s %-24s %s\n", "CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                       "STATUS", "PORTS", "NAMES");
        } else if (!quiet && !noheading && tmpl_header) {
                static const char *const renames[] = { "ID", "CONTAINER ID", "RunningFor", "CREATED", NULL };
                _cleanup_free_ char *header = cmd_template_header(tmpl, renames);
                printf("%s\n", header);
        }
        for (size_t i = 0; i < n; i++) {
                struct storage_container *ct = &list[i];
                refresh_state(ct);
                if (!all && ct->status != STORAGE_CONTAINER_RUNNING && !filters)
                        continue;
                if (!filter_match(ct, filters))
                        continue;
                char status[96], created[64];
                status_text(ct, now, status, sizeof(status));
                if (json) {
                        yajl_gen_map_open(g);
                        hutch_json_gen_kv_string(g, "Id", ct->id);
                        hutch_json_gen_string(g, "Names");
                        yajl_gen_array_open(g);
                        hutch_json_gen_string(g, ct->name);
                        yajl_gen_array_close(g);
                        hutch_json_gen_kv_string(g, "Image", ct->image);
                        hutch_json_gen_kv_string(g, "ImageID", ct->image_id);
                        hutch_json_gen_string(g, "Command");
                        yajl_gen_array_open(g);
                        for (size_t k = 0; ct->command && ct->command[k]; k++)
                                hutch_json_gen_string(g, ct->command[k]);
                        yajl_gen_array_close(g);
                        hutch_json_gen_kv_int(g, "Created", ct->created);
                        hutch_json_gen_kv_string(g, "State", container_state_name(ct));
                        hutch_json_gen_kv_string(g, "Status", status);
                        hutch_json_gen_kv_int(g, "ExitCode", ct->exit_code);
                        hutch_json_gen_kv_int(g, "Pid", ct->pid);
                        hutch_json_gen_kv_int(g, "StartedAt", ct->started_at);
                        hutch_json_gen_kv_int(g, "FinishedAt", ct->finished_at);
                        yajl_gen_map_close(g);
                } else if (quiet) {
                        printf("%.*s\n", no_trunc ? STORAGE_CONTAINER_ID_LEN : 12, ct->id);
                } else {
                        _cleanup_free_ char *command = hutch_strv_join(ct->command, " ");
                        _cleanup_free_ char *ports = ports_text(runroot, ct);
                        human_duration(now - ct->created, created, sizeof(created));
                        strncat(created, " ago", sizeof(created) - strlen(created) - 1);
                        if (tmpl) {
                                r = print_ps_row(tmpl, ct, status, created, ports, no_trunc, err);
                                if (r < 0)
                                        break;
                                continue;
                        }
                        printf("%-14.12s %-24.24s %-22.22s %-24s %-32s %-24s %s\n", ct->id, ct->image, command, created,
                               status, ports, ct->name);
                }
        }
        if (json) {
                yajl_gen_array_close(g);
                hutch_json_gen_print(g, stdout);
                yajl_gen_free(g);
        }
        storage_container_list_free(list, n);
        return r < 0 ? r : 0;
}

/* ---- rm ---- */

enum { OPT_FORCE = 'f', OPT_VOLUMES = 'v' };

const struct cmd_option cmd_rm_options[] = {
        { "force", 'f', no_argument, NULL, "kill a running container first", OPT_FORCE },
        { "volumes", 'v', no_argument, NULL, "also remove the anonymous volumes of the image's VOLUMEs", OPT_VOLUMES },
        { 0 },
};

struct rm_ctx {
        const char *dir;
};

static int rm_in_userns(void *data)
{
        struct rm_ctx *ctx = data;
        int r = hutch_rm_rf_at(AT_FDCWD, ctx->dir);
        if (r < 0) {
                fprintf(stderr, "Error: remove '%s': %s\n", ctx->dir, strerror(-r));
                return 125;
        }
        return 0;
}

/* A paused container's processes take a signal only once thawed (cgroup
 * v1 freezes even SIGKILL): thawed right after it is sent, as Docker does. */
static void thaw_after_signal(const struct storage_container *c)
{
        if (cmd_cgroup_paused(c->pid, c->id) > 0)
                (void) cmd_cgroup_freeze(c->pid, c->id, c->name, false, NULL);
}

static int kill_container(const struct storage_container *c, struct hutch_error **err)
{
        _cleanup_close_ int pidfd = hutch_pidfd_open(c->pid);
        if (pidfd < 0)
                return 0; /* gone already */
        /* the PID is checked again through the pidfd we now hold: a reused
         * PID is never signalled */
        if (!storage_container_pid_alive(c->pid, c->pid_start))
                return 0;
        int r = hutch_pidfd_send_signal(pidfd, SIGKILL);
        if (r < 0 && r != -ESRCH)
                return hutch_error_set(err, -r, "kill container '%s'", c->name);
        thaw_after_signal(c);
        for (int i = 0; i < 500 && storage_container_pid_alive(c->pid, c->pid_start); i++)
                usleep(10000);
        return 0;
}

/* Waits (briefly) for the monitor to record the exit of a container just
 * killed: it drains the logs and writes the record into the directory
 * about to be removed.  A monitor that is gone never records; the wait is
 * bounded for it. */
static void wait_exit_recorded(const char *root, const char *id)
{
        for (int i = 0; i < 300; i++) {
                struct storage_container cur = { 0 };
                struct hutch_error *e = NULL;
                bool recorded =
                        storage_container_load(root, id, &cur, &e) < 0 || cur.status != STORAGE_CONTAINER_RUNNING;
                hutch_error_free(e);
                storage_container_clear(&cur);
                if (recorded)
                        return;
                usleep(10000);
        }
}

int cmd_container_remove(const char *store_root, const char *id, struct hutch_error **err)
{
        _cleanup_free_ char *dir = storage_container_path(store_root, id, NULL);
        struct rm_ctx ctx = { dir };
        int r = cmd_storage_in_userns(rm_in_userns, &ctx, false, err);
        cmd_cgroup_forget(id);
        if (r > 0)
                return hutch_error_set(err, 0, "could not remove container %.12s", id);
        return r;
}

int cmd_rm(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        char *optval = NULL;
        bool force = false, volumes = false;
        int c, status = 0;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_FORCE)
                        force = true;
                if (c == OPT_VOLUMES)
                        volumes = true;
        }
        if (optind >= argc)
                return cmd_usage_error(cmd, err, "'%s' needs at least one CONTAINER", cmd->full_name);
        for (int i = optind; i < argc; i++) {
                struct hutch_error *e = NULL;
                struct storage_container rec = { 0 };
                _cleanup_close_ int lock = -1;

                lock = storage_containers_lock(root, &e);
                if (lock >= 0 && storage_container_find(root, argv[i], &rec, &e) == 0) {
                        bool running = rec.status == STORAGE_CONTAINER_RUNNING &&
                                       storage_container_pid_alive(rec.pid, rec.pid_start);
                        if (running && !force)
                                hutch_error_set(&e, EBUSY,
                                                "container '%s' is running: stop it first, or use 'hutch rm -f'",
                                                rec.name);
                        else if (running) {
                                /* no --restart may bring it back meanwhile */
                                (void) storage_container_set_stop_requested(root, rec.id, true, NULL);
                                if (kill_container(&rec, &e) == 0)
                                        wait_exit_recorded(root, rec.id);
                        }
                }
                if (e == NULL)
                        (void) cmd_container_remove(root, rec.id, &e);
                if (e == NULL && volumes)
                        (void) cmd_anon_volumes_remove(root, rec.anon_volumes, &e);
                storage_container_clear(&rec);
                if (e) {
                        fprintf(stderr, "Error: %s\n", e->msg);
                        status = e->exit_status ? e->exit_status : EXIT_HUTCH_FAILED;
                        hutch_error_free(e);
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return status;
}

/* ---- stop, kill, wait, logs ---- */

/* Looks a container up and loads its record, with its state refreshed. */
static int find_container(const char *root, const char *name, struct storage_container *ret, struct hutch_error **err)
{
        int r = storage_container_find(root, name, ret, err);
        if (r < 0)
                return r;
        refresh_state(ret);
        return 0;
}

/* Sends sig to the container's init, never to a process that merely
 * reuses its PID. */
static int signal_container(const struct storage_container *c, int sig, bool stopping, struct hutch_error **err)
{
        _cleanup_close_ int pidfd = -1;
        int r;

        if (c->status != STORAGE_CONTAINER_RUNNING)
                return hutch_error_set(err, 0, "container '%s' is not running", c->name);
        pidfd = hutch_pidfd_open(c->pid);
        if (pidfd < 0 || !storage_container_pid_alive(c->pid, c->pid_start))
                return hutch_error_set(err, 0, "container '%s' is not running", c->name);
        r = hutch_pidfd_send_signal(pidfd, sig);
        if (r < 0)
                return hutch_error_set(err, -r, "signal container '%s'", c->name);
        if (sig == SIGKILL || stopping)
                thaw_after_signal(c);
        return 0;
}

/* Waits until the monitor has recorded the container's exit; returns its
 * exit code (-1 when unknown) or -ETIMEDOUT. */
static int wait_exited(const char *root, const char *id, int64_t timeout_ms)
{
        /* Between the container's end and its monitor's record there is a
         * moment when the record still says running: the monitor gets this
         * long to write the status before it counts as unknown (a monitor
         * that was killed never writes it). */
        const int64_t record_grace_ms = 3000;
        int64_t gone_for = 0;

        for (int64_t waited = 0; timeout_ms < 0 || waited <= timeout_ms; waited += 20) {
                struct storage_container c = { 0 };
                struct hutch_error *e = NULL;
                if (storage_container_load(root, id, &c, &e) < 0) {
                        hutch_error_free(e);
                        return -1; /* removed (--rm): its status is gone with it */
                }
                bool recorded_running = c.status == STORAGE_CONTAINER_RUNNING;
                refresh_state(&c);
                int code = c.exit_code;
                bool done = c.status != STORAGE_CONTAINER_RUNNING;
                storage_container_clear(&c);
                if (done && recorded_running && gone_for < record_grace_ms) {
                        done = false;
                        gone_for += 20;
                }
                if (done)
                        return code;
                usleep(20000);
        }
        return -ETIMEDOUT;
}

enum { OPT_TIME = 't', OPT_SIGNAL = 's' };

const struct cmd_option cmd_stop_options[] = {
        { "time", 't', required_argument, "SECONDS", "seconds to wait before killing the container (default 10)",
          OPT_TIME },
        { 0 },
};

int cmd_stop(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        unsigned int timeout = 10;
        char *optval = NULL;
        int c, status = 0;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_TIME && hutch_parse_uint(optval, 86400, &timeout) < 0)
                        return cmd_usage_error(cmd, err, "invalid --time '%s'", optval);
        }
        if (optind >= argc)
                return cmd_usage_error(cmd, err, "'%s' needs at least one CONTAINER", cmd->full_name);
        /* All of them get their stop signal first, then share the grace
         * period: stopping fifty containers takes -t seconds, not fifty. */
        int n = argc - optind;
        _cleanup_free_ struct storage_container *cts = xcalloc((size_t) n, sizeof(*cts));
        _cleanup_free_ struct hutch_error **errs = xcalloc((size_t) n, sizeof(*errs));
        for (int i = 0; i < n; i++) {
                int found = find_container(root, argv[optind + i], &cts[i], &errs[i]);
                /* also between two runs of --restart: no more restarts */
                if (found == 0)
                        (void) storage_container_set_stop_requested(root, cts[i].id, true, NULL);
                if (found == 0 && cts[i].status == STORAGE_CONTAINER_RUNNING) {
                        int sig = SIGTERM;
                        if (cts[i].stop_signal && hutch_parse_signal(cts[i].stop_signal, &sig) < 0)
                                sig = SIGTERM;
                        (void) signal_container(&cts[i], sig, true, &errs[i]);
                        hutch_error_clear(&errs[i]); /* it may have exited in between */
                }
        }
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < n; i++) {
                if (errs[i] == NULL && cts[i].status == STORAGE_CONTAINER_RUNNING) {
                        clock_gettime(CLOCK_MONOTONIC, &now);
                        int64_t spent = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
                        int64_t left = (int64_t) timeout * 1000 - spent;
                        if (wait_exited(root, cts[i].id, left > 0 ? left : 0) == -ETIMEDOUT) {
                                (void) signal_container(&cts[i], SIGKILL, true, &errs[i]);
                                hutch_error_clear(&errs[i]);
                                (void) wait_exited(root, cts[i].id, 10000);
                        }
                }
                storage_container_clear(&cts[i]);
                if (errs[i]) {
                        fprintf(stderr, "Error: %s\n", errs[i]->msg);
                        status = EXIT_HUTCH_FAILED;
                        errs[i] = hutch_error_free(errs[i]);
                        continue;
                }
                printf("%s\n", argv[optind + i]);
        }
        return status;
}

const struct cmd_option cmd_kill_options[] = {
        { "signal", 's', required_argument, "SIGNAL", "signal to send (default KILL)", OPT_SIGNAL },
        { 0 },
};

int cmd_kill(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        char *optval = NULL;
        int c, sig = SIGKILL, status = 0;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_SIGNAL && hutch_parse_signal(optval, &sig) < 0)
                        return cmd_usage_error(cmd, err, "invalid --signal '%s'", optval);
        }
        if (optind >= argc)
                return cmd_usage_error(cmd, err, "'%s' needs at least one CONTAINER", cmd->full_name);
        for (int i = optind; i < argc; i++) {
                struct storage_container ct = { 0 };
                struct hutch_error *e = NULL;
                if (find_container(root, argv[i], &ct, &e) == 0) {
                        if (sig == SIGKILL || sig == SIGTERM)
                                (void) storage_container_set_stop_requested(root, ct.id, true, NULL);
                        (void) signal_container(&ct, sig, false, &e);
                }
                storage_container_clear(&ct);
                if (e) {
                        fprintf(stderr, "Error: %s\n", e->msg);
                        status = EXIT_HUTCH_FAILED;
                        hutch_error_free(e);
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return status;
}

const struct cmd_option cmd_wait_options[] = { { 0 } };

int cmd_wait(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        int c, status = 0;

        c = cmd_getopt_none(cmd, argc, argv, err);
        if (c != 0)
                return c < 0 ? -1 : 0;
        if (optind >= argc)
                return cmd_usage_error(cmd, err, "'%s' needs at least one CONTAINER", cmd->full_name);
        for (int i = optind; i < argc; i++) {
                struct storage_container ct = { 0 };
                struct hutch_error *e = NULL;
                if (find_container(root, argv[i], &ct, &e) < 0) {
                        fprintf(stderr, "Error: %s\n", e->msg);
                        hutch_error_free(e);
                        status = EXIT_HUTCH_FAILED;
                        continue;
                }
                int code = wait_exited(root, ct.id, -1);
                storage_container_clear(&ct);
                printf("%d\n", code);
        }
        return status;
}

enum { OPT_FOLLOW = 'f', OPT_TAIL = 0x200, OPT_TIMESTAMPS, OPT_SINCE, OPT_UNTIL };

const struct cmd_option cmd_logs_options[] = {
        { "follow", 'f', no_argument, NULL, "keep printing output as the container writes it", OPT_FOLLOW },
        { "tail", 'n', required_argument, "N", "print only the last N lines", OPT_TAIL },
        { "timestamps", 't', no_argument, NULL, "show when each line was written", OPT_TIMESTAMPS },
        { "since", 0, required_argument, "TIME", "lines since TIME (10m, RFC 3339, unix seconds)", OPT_SINCE },
        { "until", 0, required_argument, "TIME", "lines until TIME", OPT_UNTIL },
        { 0 },
};

int cmd_logs(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root(), *path = NULL;
        struct cmd_log_read_options o = { .tail = -1 };
        struct storage_container ct = { 0 };
        struct timespec now;
        bool follow = false;
        char *optval = NULL;
        uint64_t offset = 0;
        int c, r;

        clock_gettime(CLOCK_REALTIME, &now);
        int64_t now_ns = (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: return 0;
                case -3: return -1;
                case OPT_FOLLOW: follow = true; break;
                case OPT_TIMESTAMPS: o.timestamps = true; break;
                case OPT_TAIL: {
                        unsigned int n;
                        if (STREQ(optval, "all"))
                                o.tail = -1;
                        else if (hutch_parse_uint(optval, 1u << 30, &n) == 0)
                                o.tail = (long) n;
                        else
                                return cmd_usage_error(cmd, err, "invalid --tail '%s'", optval);
                        break;
                }
                case OPT_SINCE:
                case OPT_UNTIL:
                        if (cmd_log_parse_time(optval, now_ns, c == OPT_SINCE ? &o.since_ns : &o.until_ns) < 0)
                                return cmd_usage_error(cmd, err, "invalid time '%s'", optval);
                        break;
                }
        }
        if (optind + 1 != argc)
                return cmd_usage_error(cmd, err, "'%s' needs exactly one CONTAINER", cmd->full_name);
        r = find_container(root, argv[optind], &ct, err);
        if (r < 0)
                return r;
        path = storage_container_path(root, ct.id, "ctr.log");
        r = cmd_log_print(path, &o, stdout, stderr, &offset, err);
        while (r == 0 && follow) {
                (void) cmd_log_follow_step(path, &o, stdout, stderr, &offset);
                struct storage_container now_ct = { 0 };
                struct hutch_error *e = NULL;
                if (storage_container_load(root, ct.id, &now_ct, &e) < 0) {
                        hutch_error_free(e);
                        break;
                }
                refresh_state(&now_ct);
                bool running = now_ct.status == STORAGE_CONTAINER_RUNNING;
                storage_container_clear(&now_ct);
                if (!running) {
                        (void) cmd_log_follow_step(path, &o, stdout, stderr, &offset);
                        break;
                }
                usleep(100000);
        }
        storage_container_clear(&ct);
        return r;
}

/* ---- inspect ---- */

enum { OPT_INSPECT_FORMAT = 'f', OPT_INSPECT_TYPE = 0x400 };

const struct cmd_option cmd_inspect_options[] = {
        { "format", 'f', required_argument, "TEMPLATE",
          "Go-template subset: {{.State.Status}}, {{json .Config}}, {{index .Map \"key\"}}", OPT_INSPECT_FORMAT },
        { "type", 0, required_argument, "TYPE", "container or image (default: whichever matches)", OPT_INSPECT_TYPE },
        { 0 },
};

static void rfc3339(int64_t t, char *buf, size_t size)
{
        struct tm tm;
        time_t tt = (time_t) t;
        if (t == 0) {
                snprintf(buf, size, "0001-01-01T00:00:00Z");
                return;
        }
        gmtime_r(&tt, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *container_json(const char *root, const struct storage_container *c, bool pretty)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        yajl_gen_config(g, yajl_gen_beautify, pretty ? 1 : 0);
        char when[64];
        char *out;

        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "Id", c->id);
        hutch_json_gen_kv_string(g, "Name", c->name);
        rfc3339(c->created, when, sizeof(when));
        hutch_json_gen_kv_string(g, "Created", when);
        hutch_json_gen_kv_string(g, "Path", c->command && c->command[0] ? c->command[0] : "");
        hutch_json_gen_string(g, "Args");
        yajl_gen_array_open(g);
        for (size_t i = 1; c->command && c->command[0] && c->command[i]; i++)
                hutch_json_gen_string(g, c->command[i]);
        yajl_gen_array_close(g);
        hutch_json_gen_kv_string(g, "Image", c->image_id);
        hutch_json_gen_kv_string(g, "ImageName", c->image);
        hutch_json_gen_string(g, "State");
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "Status", container_state_name(c));
        hutch_json_gen_kv_bool(g, "Running", c->status == STORAGE_CONTAINER_RUNNING);
        hutch_json_gen_kv_bool(g, "Paused", STREQ(container_state_name(c), "paused"));
        hutch_json_gen_kv_int(g, "Pid", c->pid);
        hutch_json_gen_kv_int(g, "ExitCode", c->exit_code);
        hutch_json_gen_kv_bool(g, "OOMKilled", false);
        rfc3339(c->started_at, when, sizeof(when));
        hutch_json_gen_kv_string(g, "StartedAt", when);
        rfc3339(c->finished_at, when, sizeof(when));
        hutch_json_gen_kv_string(g, "FinishedAt", when);
        yajl_gen_map_close(g);
        _cleanup_free_ char *logpath = storage_container_path(root, c->id, "ctr.log");
        hutch_json_gen_kv_string(g, "LogPath", logpath);
        hutch_json_gen_kv_int(g, "RestartCount", c->restart_count);
        cmd_run_gen_config(c, g);
        yajl_gen_map_close(g);
        out = hutch_json_gen_steal(g, NULL);
        yajl_gen_free(g);
        return out;
}

int cmd_inspect(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        const char *format = NULL, *type = NULL;
        char *optval = NULL;
        int c, status = 0;
        bool first = true;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_INSPECT_FORMAT)
                        format = optval;
                if (c == OPT_INSPECT_TYPE) {
                        if (!STREQ(optval, "container") && !STREQ(optval, "image"))
                                return cmd_usage_error(cmd, err, "invalid --type '%s' (container or image)", optval);
                        type = optval;
                }
        }
        if (optind >= argc)
                return cmd_usage_error(cmd, err, "'%s' needs at least one NAME", cmd->full_name);
        bool any_container = false;
        for (int i = optind; i < argc && !any_container; i++) {
                char id[STORAGE_CONTAINER_ID_LEN + 1];
                struct hutch_error *e = NULL;
                any_container = storage_container_lookup(root, argv[i], id, &e) == 0;
                hutch_error_free(e);
        }
        if ((type && STREQ(type, "image")) || (!type && !any_container)) {
                /* images: the image command does it, with the same --format */
                int n = argc - optind;
                _cleanup_free_ char **iargv = xcalloc((size_t) n + 4, sizeof(char *));
                int k = 0;
                iargv[k++] = "inspect";
                if (format) {
                        iargv[k++] = "--format";
                        iargv[k++] = (char *) format;
                }
                for (int i = optind; i < argc; i++)
                        iargv[k++] = argv[i];
                const struct cmd_command icmd = { "inspect", NULL,          "", NULL, cmd_image_inspect_options,
                                                  NULL,      cmd->full_name };
                optind = 0;
                return cmd_image_inspect(&icmd, k, iargv, err);
        }
        if (!format)
                printf("[\n");
        for (int i = optind; i < argc; i++) {
                struct storage_container ct = { 0 };
                struct hutch_error *e = NULL;
                if (find_container(root, argv[i], &ct, &e) < 0) {
                        fprintf(stderr, "Error: %s\n", e->msg);
                        hutch_error_free(e);
                        status = EXIT_HUTCH_FAILED;
                        continue;
                }
                _cleanup_free_ char *json = container_json(root, &ct, format == NULL);
                storage_container_clear(&ct);
                if (format) {
                        yajl_val doc = hutch_json_parse(json, strlen(json), &e);
                        char *text = doc ? cmd_template_render(format, doc, &e) : NULL;
                        yajl_tree_free(doc);
                        if (text == NULL) {
                                fprintf(stderr, "Error: %s\n", e ? e->msg : "template");
                                hutch_error_free(e);
                                return EXIT_HUTCH_FAILED;
                        }
                        printf("%s\n", text);
                        free(text);
                } else {
                        printf("%s%s", first ? "" : ",\n", json);
                        first = false;
                }
        }
        if (!format)
                printf("\n]\n");
        return status;
}

/* ---- rename, restart, container prune ---- */

const struct cmd_option cmd_rename_options[] = { { 0 } };

int cmd_rename(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        _cleanup_close_ int lock = -1;
        struct storage_container rec = { 0 }, *list = NULL;
        char id[STORAGE_CONTAINER_ID_LEN + 1];
        size_t n = 0;
        int c, r;

        c = cmd_getopt_none(cmd, argc, argv, err);
        if (c != 0)
                return c < 0 ? -1 : 0;
        if (argc - optind != 2)
                return cmd_usage_error(cmd, err, "'%s' needs a CONTAINER and a NEW_NAME", cmd->full_name);
        const char *new_name = argv[optind + 1];
        if (!storage_container_name_valid(new_name))
                return hutch_error_set(err, 0, "invalid container name '%s'", new_name);
        lock = storage_containers_lock(root, err);
        if (lock < 0)
                return lock;
        r = storage_container_lookup(root, argv[optind], id, err);
        if (r < 0)
                return r;
        r = storage_container_list(root, &list, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (STREQ(list[i].name, new_name) && !STREQ(list[i].id, id)) {
                        storage_container_list_free(list, n);
                        return hutch_error_set(err, 0, "the container name '%s' is already in use", new_name);
                }
        storage_container_list_free(list, n);
        r = storage_container_load(root, id, &rec, err);
        if (r == 0) {
                free(rec.name);
                rec.name = xstrdup(new_name);
                r = storage_container_save(root, &rec, err);
        }
        storage_container_clear(&rec);
        return r;
}

int cmd_restart(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        /* stop (same options), then start each one detached */
        int r = cmd_stop(cmd, argc, argv, err);
        if (r != 0)
                return r;
        for (int i = optind; i < argc; i++) {
                char *sargv[] = { "start", argv[i], NULL };
                const struct cmd_command scmd = { "start", NULL, "", NULL, cmd_start_options, NULL, "hutch restart" };
                optind = 0;
                r = cmd_start(&scmd, 2, sargv, err);
                if (r != 0)
                        return r;
        }
        return 0;
}

const struct cmd_option cmd_container_prune_options[] = {
        { "force", 'f', no_argument, NULL, "do not ask (hutch never asks)", 'f' },
        { 0 },
};

int cmd_container_prune(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        struct storage_container *list = NULL;
        size_t n = 0;
        int c, r, status = 0;

        c = cmd_getopt_none(cmd, argc, argv, err);
        if (c != 0)
                return c < 0 ? -1 : 0;
        if (optind < argc)
                return cmd_usage_error(cmd, err, "'%s' accepts no arguments", cmd->full_name);
        r = storage_container_list(root, &list, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct hutch_error *e = NULL;
                refresh_state(&list[i]);
                /* a build's step container between its create and its commit */
                if (list[i].status == STORAGE_CONTAINER_RUNNING || build_container_in_use(list[i].name))
                        continue;
                if (cmd_container_remove(root, list[i].id, &e) < 0) {
                        fprintf(stderr, "Error: %s\n", e->msg);
                        hutch_error_free(e);
                        status = EXIT_HUTCH_FAILED;
                        continue;
                }
                printf("%s\n", list[i].id);
        }
        storage_container_list_free(list, n);

        /* What a killed `create` or `rm` left: a container directory with no
         * record, older than a minute (so not one being created now). */
        _cleanup_free_ char *dir = xasprintf("%s/containers", root);
        _cleanup_dir_ DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                struct stat st;
                struct hutch_error *e = NULL;
                if (!storage_container_id_valid(de->d_name) || fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
                    st.st_mtime > time(NULL) - 60)
                        continue;
                _cleanup_free_ char *rec = xasprintf("%s/container.json", de->d_name);
                if (faccessat(dirfd(d), rec, F_OK, 0) == 0)
                        continue;
                if (cmd_container_remove(root, de->d_name, &e) < 0) {
                        fprintf(stderr, "Error: %s\n", e->msg);
                        hutch_error_free(e);
                        status = EXIT_HUTCH_FAILED;
                }
        }
        return status;
}

/* ---- top ---- */

const struct cmd_option cmd_top_options[] = { { 0 } };

/* The command line from /proc (never by running anything from the image). */
static void read_cmdline(int procfd, char *buf, size_t size)
{
        _cleanup_close_ int fd = openat(procfd, "cmdline", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? hutch_read_full(fd, buf, size - 1) : -1;
        if (n <= 0) {
                buf[0] = '\0';
                return;
        }
        for (ssize_t i = 0; i < n; i++)
                if (buf[i] == '\0')
                        buf[i] = ' ';
        buf[n] = '\0';
        while (n > 0 && buf[n - 1] == ' ')
                buf[--n] = '\0';
}

static void top_row(pid_t pid, int procfd, void *data)
{
        long hz = *(long *) data;
        struct cmd_procstat st;
        char cmdline[4096], when[32];
        uid_t uid;

        if (cmd_proc_read_stat(procfd, &st, &uid) < 0)
                return;
        read_cmdline(procfd, cmdline, sizeof(cmdline));
        unsigned long long ticks = st.utime + st.stime;
        unsigned long long secs = hz > 0 ? ticks / (unsigned long long) hz : 0;
        snprintf(when, sizeof(when), "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60, secs % 60);
        printf("%-10d %-10u %-10s %s\n", (int) pid, (unsigned) uid, when, cmdline[0] ? cmdline : st.comm);
}

int cmd_top(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        struct storage_container ct = { 0 };
        struct stat ns;
        int c, r;

        c = cmd_getopt_none(cmd, argc, argv, err);
        if (c != 0)
                return c < 0 ? -1 : 0;
        if (optind + 1 != argc)
                return cmd_usage_error(cmd, err, "'%s' needs exactly one CONTAINER", cmd->full_name);
        r = find_container(root, argv[optind], &ct, err);
        if (r < 0)
                return r;
        _cleanup_close_ int procfd =
                ct.status == STORAGE_CONTAINER_RUNNING ? cmd_proc_open(ct.pid, ct.pid_start, NULL) : -1;
        if (procfd < 0 || fstatat(procfd, "ns/pid", &ns, 0) < 0) {
                hutch_error_set(err, 0, "container '%s' is not running", ct.name);
                storage_container_clear(&ct);
                return -1;
        }
        storage_container_clear(&ct);

        long hz = sysconf(_SC_CLK_TCK);
        printf("%-10s %-10s %-10s %s\n", "PID", "HOSTUSER", "TIME", "COMMAND");
        cmd_pidns_each(&ns, top_row, &hz);
        return 0;
}

/* ---- port ---- */

const struct cmd_option cmd_port_options[] = { { 0 } };

int cmd_port(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root(), *runroot = cmd_run_root(), *path = NULL, *text = NULL;
        struct storage_container ct = { 0 };
        struct hutch_error *e = NULL;
        int c, r;

        c = cmd_getopt_none(cmd, argc, argv, err);
        if (c != 0)
                return c < 0 ? -1 : 0;
        if (argc - optind < 1 || argc - optind > 2)
                return cmd_usage_error(cmd, err, "'%s' needs a CONTAINER and optionally a PORT[/PROTO]",
                                       cmd->full_name);
        r = find_container(root, argv[optind], &ct, err);
        if (r < 0)
                return r;
        bool running = ct.status == STORAGE_CONTAINER_RUNNING;
        path = xasprintf("%s/%s/ports", runroot, ct.id);
        storage_container_clear(&ct);
        if (!running)
                return 0; /* published ports exist only while it runs */
        if (hutch_read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL, &e) < 0) {
                hutch_error_free(e);
                return 0; /* nothing published */
        }
        const char *want = optind + 1 < argc ? argv[optind + 1] : NULL;
        _cleanup_free_ char *want_full = want && !strchr(want, '/') ? xasprintf("%s/tcp", want) : NULL;
        bool any = false;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                /* "80/tcp -> 0.0.0.0:8080" */
                if (want) {
                        const char *arrow = strstr(line, " -> ");
                        size_t klen = arrow ? (size_t) (arrow - line) : 0;
                        const char *w = want_full ? want_full : want;
                        if (arrow == NULL || strlen(w) != klen || strncmp(line, w, klen) != 0)
                                continue;
                        printf("%s\n", arrow + 4);
                } else {
                        printf("%s\n", line);
                }
                any = true;
        }
        if (want && !any)
                return hutch_error_set(err, 0, "no public port '%s' published for '%s'", want, argv[optind]);
        return 0;
}

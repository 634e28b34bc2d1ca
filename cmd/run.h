/* What cmd-run.c shares with the commands that act on containers it made
 * (exec, inspect, volume): the parsed `run` options and the monitor's
 * event handlers.  Internal to cmd/. */
#ifndef HUTCH_CMD_RUN_H
#define HUTCH_CMD_RUN_H

#include "cmd/cgroup.h"
#include "cmd/cmd.h"
#include "cmd/network.h"
#include "cmd/parse-opts.h"
#include "lib/loop.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct storage_container;
struct runtime_container;
struct cmd_log_writer;
struct cmd_tty;
struct cmd_attach_server;

struct run_args {
        char *rootfs;
        char **env;
        char *workdir;
        char *user;
        char *hostname;
        char *entrypoint;
        char **volumes;
        char **mount_specs, **tmpfs_specs, **device_specs;
        char *pull; /* --pull policy; NULL = missing */
        struct cmd_limits limits;
        char *restart;        /* policy name; NULL = no */
        unsigned restart_max; /* on-failure:N */
        bool readonly;
        char *network;
        char *name;
        char *image; /* IMAGE when there is no --rootfs */
        char **args; /* what follows --rootfs DIR or IMAGE */
        char **command;
        char **cap_add, **cap_drop, **security_opts;
        bool privileged;
        bool rm;
        bool detach;
        bool tty, interactive;
        bool init;
        char *detach_keys;              /* --detach-keys: NULL (the default) */
        char *userns;                   /* --userns: NULL (the default map) or keep-id[:...] */
        struct cmd_network_options net; /* networking (cmd/network.c); strvs owned */
};

struct monitor {
        struct runtime_container *container;
        int exit_code;
        struct cmd_log_writer *log;       /* a kept container's: where its output goes */
        int log_fds[3];                   /* read ends of its stdout (1) and stderr (2) */
        bool echo[3];                     /* in the foreground: to our stdout and stderr too */
        struct cmd_tty *tty;              /* -t: the container's terminal */
        struct cmd_attach_server *attach; /* kept and detached: `hutch attach` clients */
};

int cmd_run_parse_args(const struct cmd_command *cmd, int argc, char **argv, struct run_args *a,
                       struct hutch_error **err);
void cmd_run_args_clear(struct run_args *a);
/* -v, --mount and --tmpfs of a, parsed and checked. */
int cmd_run_parse_mounts(const struct run_args *a, struct cmd_volume **ret, size_t *ret_n, struct hutch_error **err);
/* The `run` options a container was created with, from its record. */
int cmd_run_container_args(const struct storage_container *rec, struct run_args *ret, struct hutch_error **err);
char *cmd_run_host_getenv(const char *k);
/* `hutch pull -q REF` as a child (its progress on stderr), as run does for
 * an image that is not here; build's FROM too. */
int cmd_run_pull_image(const char *ref, struct hutch_error **err);

/* Monitor loop handlers: the container's pidfd, the signalfd. */
int cmd_run_on_exit(struct hutch_loop *loop, int fd, uint32_t events, void *data);
int cmd_run_on_signal(struct hutch_loop *loop, int fd, uint32_t events, void *data);
extern const int cmd_run_forwarded_signals[6];
/* Blocks the forwarded signals and SIGWINCH (saving the old mask in
 * *oldmask) and returns a signalfd for them, or sets err.  Called before
 * the child exists, so no signal is lost; the child unblocks them. */
int cmd_run_signalfd(sigset_t *oldmask, struct hutch_error **err);

#endif

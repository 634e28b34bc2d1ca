/* Networking for `hutch run`: joins netns/ (slirp, tap, port forwarding,
 * generated /etc files) to runtime/ (namespaces, mounts, hooks). */
#ifndef HUTCH_CMD_NETWORK_H
#define HUTCH_CMD_NETWORK_H

#include "lib/error.h"

#include <stdbool.h>
#include <stdio.h>

struct cmd_command;
struct hutch_loop;
struct runtime_config;
struct cmd_network;

struct cmd_network_options {
        const char *network; /* NULL = default slirp; "none", "host", "slirp[:opts]", "container:NAME|ID" */
        char **publish;      /* -p specs */
        bool publish_all;    /* -P: every --expose port on a free host port */
        char **expose;
        char **dns;
        char **dns_search;
        char **dns_option;
        char **add_host;
        const char *hostname;
        const char *name;
};

/* Before anything is created: the options that conflict with --network
 * container: (usage errors, as Docker's "conflicting options"), and the
 * container it names, which must exist.  *ret_network is then the mode as
 * the record keeps it, "container:<full ID>" (as Docker records it; freed
 * by the caller), else NULL.  self_id: the container being made or
 * started, which cannot join itself. */
int cmd_network_check(const struct cmd_command *cmd, const struct cmd_network_options *o, const char *self_id,
                      char **ret_network, struct hutch_error **err);
/* Replaces, in args (a copy of argv that the record keeps), the argument
 * holding optval (the --network value, pointing into argv) by the same
 * argument with network instead of optval.  Nothing when network is NULL. */
void cmd_network_record_args(char **args, char *const *argv, const char *optval, const char *network);

/* Validates every option (errors before the container starts, including a
 * host port in use), opens the TCP listeners, writes hosts, resolv.conf and
 * hostname into cfg->state_dir and appends their bind mounts to cfg->mounts,
 * and sets cfg->namespaces (CLONE_NEWNET), cfg->share_host_sys and
 * cfg->hooks.  With container:ID it holds that container's pidfd (it must
 * be running), shares its hosts, resolv.conf and hostname files, and sets
 * cfg->join_*.  *ret stays owned by the caller (cmd_network_free) and must
 * outlive the container start, whose hooks use it. */
int cmd_network_prepare(const struct cmd_network_options *o, struct runtime_config *cfg, struct cmd_network **ret,
                        struct hutch_error **err);
/* After the container started: registers slirp and the port forwarders on
 * the monitor's loop (slirp uses the loop's prepare callback). */
int cmd_network_attach(struct cmd_network *net, struct hutch_loop *loop, struct hutch_error **err);
/* Prints "80/tcp -> 0.0.0.0:8080" lines, as `docker port` does.
 * cmd_network_prepare also writes them to STATE_DIR/ports when any port
 * is published (for `hutch port`). */
void cmd_network_print_ports(const struct cmd_network *net, FILE *out);
struct cmd_network *cmd_network_free(struct cmd_network *net);

#endif

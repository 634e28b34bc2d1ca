/* hutch pull, login, logout (cmd-pull.c) and push (cmd-push.c). */
#ifndef HUTCH_CMD_PULL_H
#define HUTCH_CMD_PULL_H

#include "cmd/cmd.h"

#include <stdbool.h>

struct registries_conf;
struct registry_client;

/* Options shared by pull, push, login (cmd-pull.c). */
struct cmd_net_opts {
        const char *authfile;
        const char *cert_dir;
        bool tls_verify, tls_verify_set;
        char *user, *password;
};
void cmd_net_opts_clear(struct cmd_net_opts *n);
int cmd_parse_creds(const char *v, struct cmd_net_opts *n, struct hutch_error **err);
int cmd_parse_tls_verify(const struct cmd_command *cmd, const char *v, struct cmd_net_opts *n,
                         struct hutch_error **err);
/* A client for host (credentials from the options or the auth file;
 * registries.conf's insecure). */
int cmd_registry_client(const char *host, const struct cmd_net_opts *n, const char *repository,
                        const struct registries_conf *conf, bool push, struct registry_client **ret,
                        struct hutch_error **err);

int cmd_pull(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_login(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_logout(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_push(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);

extern const struct cmd_option cmd_pull_options[];
extern const struct cmd_option cmd_login_options[];
extern const struct cmd_option cmd_logout_options[];
extern const struct cmd_option cmd_push_options[];

/* For main.c's commands[] table. */
/* clang-format off */
int cmd_manifest_inspect(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_manifest_inspect_options[];
extern const struct cmd_command cmd_manifest_subcommands[];

#define CMD_PULL_COMMANDS                                                                                            \
        { "pull", "[OPTIONS] IMAGE|docker://REF|oci:PATH[:TAG]|oci-archive:PATH|docker-archive:PATH|dir:PATH",      \
          "Pull an image from a registry, an OCI layout or an archive", cmd_pull, cmd_pull_options, NULL, NULL },    \
        { "push",                                                                                                    \
          "[OPTIONS] IMAGE [docker://REF|oci:PATH[:TAG]|oci-archive:PATH[:TAG]|docker-archive:PATH[:NAME:TAG]|dir:PATH]", \
          "Push an image to a registry, an OCI layout or an archive", cmd_push, cmd_push_options, NULL, NULL },      \
        { "login", "[OPTIONS] REGISTRY", "Log in to a registry", cmd_login, cmd_login_options, NULL, NULL },         \
        { "logout", "[OPTIONS] REGISTRY", "Log out of a registry", cmd_logout, cmd_logout_options, NULL, NULL },     \
        { "manifest", "inspect REF", "Show a registry's manifest of an image", cmd_group, NULL,                    \
          cmd_manifest_subcommands, NULL }
/* clang-format on */

#endif

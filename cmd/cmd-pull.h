/* hutch pull, push, login, logout (cmd-pull.c). */
#ifndef HUTCH_CMD_PULL_H
#define HUTCH_CMD_PULL_H

#include "cmd/cmd.h"

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
        { "pull", "[OPTIONS] IMAGE", "Pull an image from a registry", cmd_pull, cmd_pull_options, NULL, NULL },      \
        { "push", "[OPTIONS] IMAGE [DESTINATION]", "Push an image to a registry", cmd_push, cmd_push_options, NULL,  \
          NULL },                                                                                                    \
        { "login", "[OPTIONS] REGISTRY", "Log in to a registry", cmd_login, cmd_login_options, NULL, NULL },         \
        { "logout", "[OPTIONS] REGISTRY", "Log out of a registry", cmd_logout, cmd_logout_options, NULL, NULL },     \
        { "manifest", "inspect REF", "Show a registry's manifest of an image", cmd_group, NULL,                    \
          cmd_manifest_subcommands, NULL }
/* clang-format on */

#endif

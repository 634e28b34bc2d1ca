/* hutch build (cmd/cmd-build.c): a Dockerfile, classic-builder semantics. */
#ifndef HUTCH_CMD_BUILD_H
#define HUTCH_CMD_BUILD_H

#include "cmd/cmd.h"

int cmd_build(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_build_options[];

/* clang-format off */
#define CMD_BUILD_COMMAND                                                                                     \
        { "build", "[OPTIONS] CONTEXT", "Build an image from a Dockerfile and a context directory", cmd_build, \
          cmd_build_options, NULL, NULL }
/* clang-format on */

#endif

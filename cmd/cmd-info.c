#include "config.h"

#include "cmd/cmd.h"

const struct cmd_option cmd_info_options[] = { { 0 } };

int cmd_info(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        (void) argc;
        (void) argv;
        return cmd_usage_error(cmd, err, "not implemented");
}

#include "config.h"

#include "cmd/cmd.h"
#include "lib/arch.h"
#include "lib/json.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

enum { OPT_FORMAT = 0x100 };

const struct cmd_option cmd_version_options[] = {
        { "format", 'f', required_argument, "FORMAT", "output format: json", OPT_FORMAT },
        { 0 },
};

int cmd_version(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        const char *format = NULL;
        char *optval = NULL;
        struct utsname u;
        int c;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_FORMAT)
                        format = optval;
        }
        if (optind < argc)
                return cmd_usage_error(cmd, err, "'%s' accepts no arguments", cmd->full_name);
        (void) uname(&u);
        if (format && strcmp(format, "json") == 0) {
                yajl_gen g = yajl_gen_alloc(NULL);
                yajl_gen_config(g, yajl_gen_beautify, 1);
                yajl_gen_map_open(g);
                hutch_json_gen_kv_string(g, "Version", PACKAGE_VERSION);
                hutch_json_gen_kv_string(g, "OsArch", "linux/" HUTCH_ARCH);
                hutch_json_gen_kv_string(g, "Kernel", u.release);
                yajl_gen_map_close(g);
                hutch_json_gen_print(g, stdout);
                yajl_gen_free(g);
        } else if (format) {
                return cmd_usage_error(cmd, err, "unknown --format '%s' (json)", format);
        } else {
                printf("Version:      %s\nOS/Arch:      linux/%s\nKernel:       %s\n", PACKAGE_VERSION, HUTCH_ARCH,
                       u.release);
        }
        return 0;
}

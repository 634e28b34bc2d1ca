#include "config.h"

#include "cmd/cmd.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define HELP_ID 0x10000

static size_t count_options(const struct cmd_option *o)
{
        size_t n = 0;
        while (o && o[n].long_name)
                n++;
        return n;
}

void cmd_print_help(const struct cmd_command *cmd, FILE *out)
{
        const char *name = cmd->full_name ? cmd->full_name : cmd->name;

        fprintf(out, "%s\n\nUsage:\n  %s %s\n", cmd->summary, name, cmd->usage ? cmd->usage : "[OPTIONS]");
        if (cmd->subcommands) {
                fprintf(out, "\nCommands:\n");
                for (const struct cmd_command *c = cmd->subcommands; c->name; c++)
                        if (c->summary)
                                fprintf(out, "  %-12s %s\n", c->name, c->summary);
        }
        fprintf(out, "\nOptions:\n");
        for (const struct cmd_option *o = cmd->options; o && o->long_name; o++) {
                char left[64];
                int n;
                if (o->short_name)
                        n = snprintf(left, sizeof(left), "-%c, --%s", o->short_name, o->long_name);
                else
                        n = snprintf(left, sizeof(left), "    --%s", o->long_name);
                if (o->has_arg != no_argument && n > 0 && (size_t) n < sizeof(left))
                        snprintf(left + n, sizeof(left) - (size_t) n, o->has_arg == optional_argument ? "[=%s]" : " %s",
                                 o->arg ? o->arg : "VALUE");
                fprintf(out, "  %-28s %s\n", left, o->help);
        }
        bool h_taken = false;
        for (const struct cmd_option *o = cmd->options; o && o->long_name; o++)
                h_taken |= o->short_name == 'h';
        fprintf(out, "  %-28s %s\n", h_taken ? "    --help" : "-h, --help", "show this help");
        if (cmd->subcommands)
                fprintf(out, "\nRun '%s COMMAND --help' for more information on a command.\n", name);
}

int cmd_usage_error(const struct cmd_command *cmd, struct hutch_error **err, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        return hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0, "%s\nSee '%s --help'.", msg,
                                      cmd->full_name ? cmd->full_name : cmd->name);
}

int cmd_getopt(const struct cmd_command *cmd, int argc, char **argv, char **ret_arg, struct hutch_error **err)
{
        size_t n = count_options(cmd->options);
        _cleanup_free_ struct option *longs = xcalloc(n + 2, sizeof(struct option));
        char shorts[256] = "+:";
        size_t sl = strlen(shorts);
        bool h_is_help = true;
        int c;

        for (size_t i = 0; i < n; i++) {
                const struct cmd_option *o = &cmd->options[i];
                if (o->short_name == 'h')
                        h_is_help = false; /* run -h is --hostname, as in Docker */
                longs[i].name = o->long_name;
                longs[i].has_arg = o->has_arg;
                longs[i].val = o->id ? o->id : o->short_name;
                if (o->short_name && sl + 3 < sizeof(shorts)) {
                        shorts[sl++] = (char) o->short_name;
                        if (o->has_arg == required_argument)
                                shorts[sl++] = ':';
                        else if (o->has_arg == optional_argument) {
                                shorts[sl++] = ':';
                                shorts[sl++] = ':';
                        }
                        shorts[sl] = '\0';
                }
        }
        longs[n].name = "help";
        longs[n].val = HELP_ID;
        if (h_is_help && sl + 1 < sizeof(shorts)) {
                shorts[sl++] = 'h';
                shorts[sl] = '\0';
        }

        opterr = 0;
        int longindex = -1;
        c = getopt_long(argc, argv, shorts, longs, &longindex);
        if (c == -1)
                return -1;
        if ((c == 'h' && h_is_help) || c == HELP_ID) {
                cmd_print_help(cmd, stdout);
                return -2;
        }
        if (c == '?' || c == ':') {
                const char *bad = argv[optind - 1];
                if (c == ':')
                        cmd_usage_error(cmd, err, "flag needs an argument: '%s'", bad);
                else if (optopt && optopt < 256 && (bad == NULL || bad[0] != '-' || bad[1] != '-'))
                        cmd_usage_error(cmd, err, "unknown shorthand flag: '%c' in '%s'", optopt, bad ? bad : "");
                else
                        cmd_usage_error(cmd, err, "unknown flag: '%s'", bad ? bad : "");
                return -3;
        }
        /* short options map to the option's id */
        for (size_t i = 0; i < n; i++)
                if (cmd->options[i].short_name == c && cmd->options[i].id) {
                        c = cmd->options[i].id;
                        break;
                }
        *ret_arg = optarg;
        return c;
}

static const struct cmd_command *find_command(const struct cmd_command *cmds, const char *name)
{
        for (const struct cmd_command *c = cmds; c->name; c++)
                if (strcmp(c->name, name) == 0)
                        return c;
        return NULL;
}

int cmd_dispatch(const struct cmd_command *cmds, const char *parent, int argc, char **argv, struct hutch_error **err)
{
        const struct cmd_command *c;

        if (argc < 1)
                return hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0, "missing command\nSee '%s --help'.", parent);
        c = find_command(cmds, argv[0]);
        if (c == NULL) {
                if (argv[0][0] == '-')
                        return hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0, "unknown flag: '%s'\nSee '%s --help'.",
                                                      argv[0], parent);
                return hutch_error_set_status(err, EXIT_HUTCH_FAILED, 0,
                                              "unrecognized command '%s %s'\nTry '%s --help' for a list of commands.",
                                              parent, argv[0], parent);
        }
        struct cmd_command named = *c;
        _cleanup_free_ char *full = xasprintf("%s %s", parent, c->name);
        named.full_name = full;
        optind = 0; /* full reinitialisation of getopt for this argv */
        return named.fn(&named, argc, argv, err);
}

int cmd_getopt_none(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        char *optval = NULL;
        int c = cmd_getopt(cmd, argc, argv, &optval, err);

        if (c == -2)
                return 1;
        if (c == -3)
                return -1;
        if (c != -1) /* an option the table has but the caller does not take */
                return cmd_usage_error(cmd, err, "unexpected option");
        return 0;
}

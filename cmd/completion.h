/* hutch completion bash|zsh|fish (cmd/cmd-completion.c): shell completion
 * scripts generated from the command and option tables themselves, so a
 * command or option added to a table is completed without further work.
 *
 * A script holds the tables as shell functions keyed by the command path
 * ("" for hutch itself, "image ls", ...): subcommands, options, the options
 * that take an argument, what each such argument is, and what each
 * positional argument is.  A "kind" says what to offer for an argument:
 *
 *   @none       nothing             @file       host files and directories
 *   @container  every container     @running    running containers
 *   @image      images              @volume     volumes
 *   @ctrimage   containers and images
 *   @cpsrc      CONTAINER: prefixes and host files (cp)
 *   =a,b,c      those words
 *
 * The lists of containers, images and volumes come from hutch itself at
 * completion time (ps/images/volume ls), with the --root, --runroot and
 * --storage-driver options of the command line being completed. */
#ifndef HUTCH_CMD_COMPLETION_H
#define HUTCH_CMD_COMPLETION_H

#include "cmd/cmd.h"

#include <stdio.h>

enum cmd_completion_shell {
        CMD_COMPLETION_BASH,
        CMD_COMPLETION_ZSH,
        CMD_COMPLETION_FISH,
};

/* The top of the command tree (main.c's "hutch" command), set by main(). */
extern const struct cmd_command *cmd_completion_root;

/* Parses "bash", "zsh" or "fish"; < 0 for anything else. */
int cmd_completion_parse_shell(const char *name, enum cmd_completion_shell *ret);

/* Writes the whole script for root's tree.  Returns 0, or < 0 when out
 * reports a write error. */
int cmd_completion_generate(FILE *out, const struct cmd_command *root, enum cmd_completion_shell shell);

/* The kinds of a command's positional arguments, space-separated, the last
 * one repeating ("@image @none"): from the table of exceptions, else from
 * the usage string's placeholders (CONTAINER, IMAGE, FILE, ...).  path is
 * the command path without "hutch ".  Returns a new string. */
char *cmd_completion_positional_kinds(const char *path, const char *usage);

/* The kind of an option's argument (path as above, long_name without
 * dashes, placeholder the option's arg): from the one table of value sets,
 * else from the placeholder (FILE, DIR, PATH: files), else "@none". */
const char *cmd_completion_option_kind(const char *path, const char *long_name, const char *placeholder);

int cmd_completion(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_completion_options[];

#endif

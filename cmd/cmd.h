/* The CLI: one file per command, a dispatch table, option tables that
 * drive both getopt_long and --help.  Only cmd/ prints errors and chooses
 * exit codes. */
#ifndef HUTCH_CMD_H
#define HUTCH_CMD_H

#include "lib/error.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/* Docker's exit codes for our own failures. */
#define EXIT_HUTCH_FAILED   125
#define EXIT_CANNOT_EXECUTE 126
#define EXIT_NOT_FOUND      127

struct cmd_option {
        const char *long_name;
        int short_name;  /* 0 when none */
        int has_arg;     /* no_argument / required_argument / optional_argument */
        const char *arg; /* placeholder shown in help, e.g. "DIR" */
        const char *help;
        int id; /* returned by cmd_getopt; short_name when 0 */
};

struct cmd_command;
/* Returns an exit status (>= 0), or < 0 with *err set. */
typedef int (*cmd_fn)(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);

struct cmd_command {
        const char *name;
        const char *usage; /* "[OPTIONS] IMAGE [COMMAND [ARG...]]" */
        const char *summary;
        cmd_fn fn;
        const struct cmd_option *options;      /* terminated by {0} */
        const struct cmd_command *subcommands; /* for "image", "system", ... */
        const char *full_name;                 /* "hutch image ls", filled for help */
};

/* Global options (hutch --root X COMMAND ...). */
struct cmd_global {
        char *root;           /* --root: storage directory */
        char *runroot;        /* --runroot: run-time state */
        char *storage_driver; /* --storage-driver: overlay | fuse-overlayfs | copy */
};
extern struct cmd_global arg_global;

/* getopt_long over a cmd_option table; stops at the first non-option so a
 * container command's own flags stay its own.  Returns the option id, -1 at
 * the end, or -2 after printing help (the caller returns 0), or sets *err
 * and returns -3 for an unknown flag or missing argument. */
int cmd_getopt(const struct cmd_command *cmd, int argc, char **argv, char **ret_arg, struct hutch_error **err);
/* For commands whose only option is --help: 1 after printing help (the
 * caller returns 0), -1 with *err set for a bad flag, 0 to go on. */
int cmd_getopt_none(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
void cmd_print_help(const struct cmd_command *cmd, FILE *out);
/* Sets an error for a usage problem, with a hint to --help (exit 125). */
int cmd_usage_error(const struct cmd_command *cmd, struct hutch_error **err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Dispatches argv[0] among cmds (subcommand groups recurse). */
int cmd_dispatch(const struct cmd_command *cmds, const char *parent, int argc, char **argv, struct hutch_error **err);

/* The commands. */
int cmd_run(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_info(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_version(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);

extern const struct cmd_option cmd_run_options[];
extern const struct cmd_option cmd_info_options[];
extern const struct cmd_option cmd_version_options[];

#endif

/* hutch: rootless, daemonless containers. */
#include "config.h"

#include "cmd/cmd.h"
#include "cmd/cmd-containers.h"
#include "cmd/attach.h"
#include "cmd/build.h"
#include "cmd/cmd-storage.h"
#include "cmd/commit.h"
#include "cmd/completion.h"
#include "cmd/oci.h"
#include "cmd/paths.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/sealed-exe.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cmd_global arg_global;

enum {
        OPT_LOG_LEVEL = 0x100,
        OPT_LOG_FORMAT,
        OPT_ROOT,
        OPT_RUNROOT,
        OPT_STORAGE_DRIVER,
        OPT_VERSION,
};

static const struct cmd_option global_options[] = {
        { "log-level", 0, required_argument, "LEVEL",
          "log messages at or above LEVEL (error, warn, info, debug, trace)", OPT_LOG_LEVEL },
        { "log-format", 0, required_argument, "FORMAT", "log format: text or json", OPT_LOG_FORMAT },
        { "verbose", 'v', no_argument, NULL, "more log output (repeat for more)", 'v' },
        { "root", 0, required_argument, "DIR", "storage root (default $XDG_DATA_HOME/hutch)", OPT_ROOT },
        { "runroot", 0, required_argument, "DIR", "run-time state (default $XDG_RUNTIME_DIR/hutch)", OPT_RUNROOT },
        { "storage-driver", 0, required_argument, "DRIVER", "overlay, fuse-overlayfs or copy (default: automatic)",
          OPT_STORAGE_DRIVER },
        { "version", 0, no_argument, NULL, "print the version and exit", OPT_VERSION },
        { 0 },
};

static int cmd_group(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);

static const struct cmd_command container_subcommands[] = {
        { "ls", "[OPTIONS]", "List containers", cmd_ps, cmd_ps_options, NULL, NULL },
        { "ps", "[OPTIONS]", "List containers", cmd_ps, cmd_ps_options, NULL, NULL },
        { "rm", "[OPTIONS] CONTAINER...", "Remove containers", cmd_rm, cmd_rm_options, NULL, NULL },
        { "create", "[OPTIONS] IMAGE [COMMAND [ARG...]]", "Create a container", cmd_create, cmd_run_options, NULL,
          NULL },
        { "start", "[-a] [-i] CONTAINER", "Start a container", cmd_start, cmd_start_options, NULL, NULL },
        { "attach", "[OPTIONS] CONTAINER", "Attach to a running container's input and output", cmd_attach,
          cmd_attach_options, NULL, NULL },
        { "exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Run a command in a running container", cmd_exec,
          cmd_exec_options, NULL, NULL },
        { "export", "[-o FILE] CONTAINER", "Write a container's files as a tar", cmd_export, cmd_export_options, NULL,
          NULL },
        { "cp", "[OPTIONS] CONTAINER:SRC DST | SRC CONTAINER:DST", "Copy files between a container and the host",
          cmd_cp, cmd_cp_options, NULL, NULL },
        { "diff", "[OPTIONS] CONTAINER", "List the files a container added (A), changed (C) and deleted (D)", cmd_diff,
          cmd_diff_options, NULL, NULL },
        { "commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
          "Make an image of a container's changes (a running one is read as it is, not paused)", cmd_commit,
          cmd_commit_options, NULL, NULL },
        { "port", "CONTAINER [PORT[/PROTO]]", "List a container's published ports", cmd_port, cmd_port_options, NULL,
          NULL },
        { "top", "CONTAINER", "Show a container's processes", cmd_top, cmd_top_options, NULL, NULL },
        { "stats", "[OPTIONS] [CONTAINER...]", "Show containers' resource use", cmd_stats, cmd_stats_options, NULL,
          NULL },
        { "rename", "CONTAINER NEW_NAME", "Rename a container", cmd_rename, cmd_rename_options, NULL, NULL },
        { "restart", "[OPTIONS] CONTAINER...", "Restart containers", cmd_restart, cmd_stop_options, NULL, NULL },
        { "prune", "[OPTIONS]", "Remove every stopped container", cmd_container_prune, cmd_container_prune_options,
          NULL, NULL },
        { "inspect", "[OPTIONS] CONTAINER...", "Show containers as JSON", cmd_inspect, cmd_inspect_options, NULL,
          NULL },
        { "stop", "[OPTIONS] CONTAINER...", "Stop containers", cmd_stop, cmd_stop_options, NULL, NULL },
        { "kill", "[OPTIONS] CONTAINER...", "Signal containers", cmd_kill, cmd_kill_options, NULL, NULL },
        { "pause", "CONTAINER...", "Freeze containers' processes", cmd_pause, cmd_pause_options, NULL, NULL },
        { "unpause", "CONTAINER...", "Thaw paused containers", cmd_unpause, cmd_pause_options, NULL, NULL },
        { "wait", "CONTAINER...", "Wait for containers", cmd_wait, cmd_wait_options, NULL, NULL },
        { "logs", "[OPTIONS] CONTAINER", "Print a container's output", cmd_logs, cmd_logs_options, NULL, NULL },
        { "run", "[OPTIONS] IMAGE|--rootfs DIR [COMMAND [ARG...]]", "Run a command in a new container", cmd_run,
          cmd_run_options, NULL, NULL },
        { 0 },
};

#include "cmd/cmd-pull.h"
static const struct cmd_command commands[] = {
        CMD_PULL_COMMANDS,
        CMD_BUILD_COMMAND,
        { "run", "[OPTIONS] IMAGE|--rootfs DIR [COMMAND [ARG...]]", "Run a command in a new container", cmd_run,
          cmd_run_options, NULL, NULL },
        { "create", "[OPTIONS] IMAGE [COMMAND [ARG...]]", "Create a container without starting it", cmd_create,
          cmd_run_options, NULL, NULL },
        { "start", "[-a] [-i] CONTAINER", "Start a created or exited container", cmd_start, cmd_start_options, NULL,
          NULL },
        { "attach", "[OPTIONS] CONTAINER", "Attach to a running container's input and output (detach: ctrl-p,ctrl-q)",
          cmd_attach, cmd_attach_options, NULL, NULL },
        { "ps", "[OPTIONS]", "List containers", cmd_ps, cmd_ps_options, NULL, NULL },
        { "rm", "[OPTIONS] CONTAINER...", "Remove containers", cmd_rm, cmd_rm_options, NULL, NULL },
        { "exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Run a command in a running container", cmd_exec,
          cmd_exec_options, NULL, NULL },
        { "export", "[-o FILE] CONTAINER", "Write a container's files as a tar", cmd_export, cmd_export_options, NULL,
          NULL },
        { "cp", "[OPTIONS] CONTAINER:SRC DST | SRC CONTAINER:DST", "Copy files between a container and the host",
          cmd_cp, cmd_cp_options, NULL, NULL },
        { "diff", "[OPTIONS] CONTAINER", "List the files a container added (A), changed (C) and deleted (D)", cmd_diff,
          cmd_diff_options, NULL, NULL },
        { "commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
          "Make an image of a container's changes (a running one is read as it is, not paused)", cmd_commit,
          cmd_commit_options, NULL, NULL },
        { "port", "CONTAINER [PORT[/PROTO]]", "List a container's published ports", cmd_port, cmd_port_options, NULL,
          NULL },
        { "top", "CONTAINER", "Show a container's processes", cmd_top, cmd_top_options, NULL, NULL },
        { "stats", "[OPTIONS] [CONTAINER...]",
          "Show containers' CPU, memory, network, block I/O and PIDs (from /proc where a container has no cgroup of "
          "its own: memory is then PSS)",
          cmd_stats, cmd_stats_options, NULL, NULL },
        { "rename", "CONTAINER NEW_NAME", "Rename a container", cmd_rename, cmd_rename_options, NULL, NULL },
        { "restart", "[OPTIONS] CONTAINER...", "Stop and start containers again", cmd_restart, cmd_stop_options, NULL,
          NULL },
        { "inspect", "[OPTIONS] NAME...", "Show containers or images as JSON", cmd_inspect, cmd_inspect_options, NULL,
          NULL },
        { "stop", "[OPTIONS] CONTAINER...", "Stop containers (StopSignal, then SIGKILL)", cmd_stop, cmd_stop_options,
          NULL, NULL },
        { "kill", "[OPTIONS] CONTAINER...", "Send a signal to containers", cmd_kill, cmd_kill_options, NULL, NULL },
        { "pause", "CONTAINER...", "Freeze every process of containers (the cgroup freezer)", cmd_pause,
          cmd_pause_options, NULL, NULL },
        { "unpause", "CONTAINER...", "Thaw paused containers", cmd_unpause, cmd_pause_options, NULL, NULL },
        { "wait", "CONTAINER...", "Wait for containers to exit and print their exit codes", cmd_wait, cmd_wait_options,
          NULL, NULL },
        { "logs", "[OPTIONS] CONTAINER", "Print a container's output", cmd_logs, cmd_logs_options, NULL, NULL },
        { "system", "COMMAND", "Manage the store (check, df, prune, reset)", cmd_group, NULL, cmd_system_subcommands,
          NULL },
        { "volume", "COMMAND", "Manage volumes (create, ls, inspect, rm, prune)", cmd_group, NULL,
          cmd_volume_subcommands, NULL },
        { "container", "COMMAND", "Manage containers (ls, rm, create, start)", cmd_group, NULL, container_subcommands,
          NULL },
        { "info", "[OPTIONS]", "Show what this machine allows before your first container", cmd_info, cmd_info_options,
          NULL, NULL },
        { "version", "[OPTIONS]", "Show the hutch version", cmd_version, cmd_version_options, NULL, NULL },
        { "images", "[OPTIONS] [REPOSITORY]", "List images", cmd_images, cmd_images_options, NULL, NULL },
        { "history", "[OPTIONS] IMAGE", "Show how an image's layers were made (newest first)", cmd_history,
          cmd_history_options, NULL, NULL },
        { "image", "COMMAND", "Manage images (ls, rm, tag, prune, inspect, load, save, import, history)", cmd_group,
          NULL, cmd_image_subcommands, NULL },
        { "load", "[OPTIONS]", "Load images from a docker-archive or oci-archive", cmd_load, cmd_load_options, NULL,
          NULL },
        { "save", "[OPTIONS] IMAGE...", "Save images to a docker-archive or oci-archive", cmd_save, cmd_save_options,
          NULL, NULL },
        { "import", "[OPTIONS] TARBALL [NAME]", "Make an image from a root filesystem tarball", cmd_import,
          cmd_import_options, NULL, NULL },
        { "tag", "IMAGE TARGET_NAME...", "Add names to an image", cmd_tag, cmd_tag_options, NULL, NULL },
        { "rmi", "[OPTIONS] IMAGE...", "Remove images", cmd_rmi, cmd_rmi_options, NULL, NULL },
        { "oci", "[--root DIR] COMMAND",
          "The OCI runtime command line (create, start, state, kill, delete, run, "
          "list, spec)",
          cmd_oci, cmd_oci_options, NULL, NULL },
        { "unshare", "[COMMAND [ARG...]]", "Run a command (default: a shell) in the storage user namespace",
          cmd_unshare, cmd_unshare_options, NULL, NULL },
        { "completion", "bash|zsh|fish", "Print a shell completion script", cmd_completion, cmd_completion_options,
          NULL, NULL },
        { 0 },
};

static const struct cmd_command top = {
        "hutch", "[OPTIONS] COMMAND [ARG...]", "hutch: rootless, daemonless containers", NULL, global_options, commands,
        "hutch",
};

static int __attribute__((unused))
cmd_group(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        if (argc < 2 || STREQ(argv[1], "--help") || STREQ(argv[1], "-h")) {
                cmd_print_help(cmd, stdout);
                return argc < 2 ? EXIT_HUTCH_FAILED : 0;
        }
        return cmd_dispatch(cmd->subcommands, cmd->full_name, argc - 1, argv + 1, err);
}

static int parse_globals(int argc, char **argv, struct hutch_error **err)
{
        enum hutch_log_level level = HUTCH_LOG_WARN;
        enum hutch_log_format format = HUTCH_LOG_TEXT;
        int verbose = 0;
        char *optval = NULL;
        int c;

        optind = 0;
        while ((c = cmd_getopt(&top, argc, argv, &optval, err)) != -1) {
                switch (c) {
                case -2: exit(0);
                case -3: return -1;
                case OPT_LOG_LEVEL:
                        if (hutch_log_parse_level(optval, &level) < 0)
                                return cmd_usage_error(&top, err, "invalid --log-level '%s'", optval);
                        break;
                case OPT_LOG_FORMAT:
                        if (hutch_log_parse_format(optval, &format) < 0)
                                return cmd_usage_error(&top, err, "invalid --log-format '%s' (text or json)", optval);
                        break;
                case 'v': verbose++; break;
                case OPT_ROOT: arg_global.root = optval; break;
                case OPT_RUNROOT: arg_global.runroot = optval; break;
                case OPT_STORAGE_DRIVER:
                        if (!STREQ(optval, "overlay") && !STREQ(optval, "fuse-overlayfs") && !STREQ(optval, "copy"))
                                return cmd_usage_error(
                                        &top, err, "invalid --storage-driver '%s' (overlay, fuse-overlayfs or copy)",
                                        optval);
                        arg_global.storage_driver = optval;
                        break;
                case OPT_VERSION: printf("hutch version %s\n", PACKAGE_VERSION); exit(0);
                }
        }
        if (verbose > 0) {
                enum hutch_log_level v = verbose == 1   ? HUTCH_LOG_INFO
                                         : verbose == 2 ? HUTCH_LOG_DEBUG
                                                        : HUTCH_LOG_TRACE;
                if (v > level)
                        level = v;
        }
        hutch_log_setup("hutch", level, format, STDERR_FILENO);
        return optind;
}

/* ---- our own binary (CVE-2019-5736) ----
 * The commands that make or join a container run from a sealed copy of
 * hutch when the user could change its binary: see lib/sealed-exe.h. */
static void run_sealed_if_entering_container(int argc, char **argv, char **full_argv)
{
        const char *c = argv[0];
        if (STREQ(c, "container") && argc > 1)
                c = argv[1];
        if (STREQ(c, "oci")) /* its create and run make a container: see cmd/oci.h */
                for (int i = 1; i < argc; i++)
                        if (STREQ(argv[i], "create") || STREQ(argv[i], "run")) {
                                c = "run";
                                break;
                        }
        if (!STREQ(c, "run") && !STREQ(c, "start") && !STREQ(c, "restart") && !STREQ(c, "exec"))
                return;
        int r = hutch_exe_reexec_sealed(full_argv);
        if (r < 0)
                log_warn_errno(-r, "cannot run from a sealed copy of hutch, whose binary this user can change (a "
                                   "container could reach it); install hutch read-only to avoid this, ignoring");
}

int main(int argc, char **argv)
{
        struct hutch_error *err = NULL;
        int first, r;

        /* We never need privilege; refuse to run with it by accident. */
        if (getuid() != geteuid() || getgid() != getegid()) {
                fprintf(stderr, "Error: hutch must not be installed setuid or setgid\n");
                return EXIT_HUTCH_FAILED;
        }
        hutch_log_setup("hutch", HUTCH_LOG_WARN, HUTCH_LOG_TEXT, STDERR_FILENO);
        cmd_completion_root = &top;

        first = parse_globals(argc, argv, &err);
        if (first >= 0 && first < argc)
                run_sealed_if_entering_container(argc - first, argv + first, argv);
        if (first >= 0 && cmd_load_config(&err) < 0)
                first = -1;
        if (first >= 0) {
                if (first >= argc) {
                        cmd_print_help(&top, stderr);
                        return EXIT_HUTCH_FAILED;
                }
                r = cmd_dispatch(commands, "hutch", argc - first, argv + first, &err);
        } else {
                r = -1;
        }
        if (r < 0) {
                int status = err && err->exit_status ? err->exit_status : EXIT_HUTCH_FAILED;
                fprintf(stderr, "Error: %s\n", err ? err->msg : "unknown failure");
                hutch_error_free(err);
                return status;
        }
        fflush(stdout);
        if (ferror(stdout)) {
                fprintf(stderr, "Error: writing output: %s\n", strerror(errno));
                return EXIT_HUTCH_FAILED;
        }
        return r;
}

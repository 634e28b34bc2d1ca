/* hutch pause, unpause: freeze and thaw a running container's processes
 * with the cgroup freezer (cmd/cgroup.c finds the container's cgroup). */
#include "config.h"

#include "cmd/cgroup.h"
#include "cmd/cmd-containers.h"
#include "cmd/paths.h"
#include "lib/cleanup.h"
#include "lib/proc.h"
#include "storage/containers.h"

#include <stdio.h>
#include <stdlib.h>

const struct cmd_option cmd_pause_options[] = { { 0 } };

/* The container's record, checked to be running: its init's PID is only
 * trusted while a pidfd for it is held and its start time still matches. */
static int find_running(const char *root, const char *name, struct storage_container *ret, int *ret_pidfd,
                        struct hutch_error **err)
{
        int pidfd, r;

        r = storage_container_find(root, name, ret, err);
        if (r < 0)
                return r;
        pidfd = ret->status == STORAGE_CONTAINER_RUNNING ? hutch_pidfd_open(ret->pid) : -1;
        if (pidfd < 0 || !storage_container_pid_alive(ret->pid, ret->pid_start)) {
                if (pidfd >= 0)
                        (void) close(pidfd);
                return hutch_error_set(err, 0, "container '%s' is not running", ret->name);
        }
        *ret_pidfd = pidfd;
        return 0;
}

static int pause_or_unpause(const struct cmd_command *cmd, int argc, char **argv, bool freeze, struct hutch_error **err)
{
        _cleanup_free_ char *root = cmd_storage_root();
        int c, status = 0;

        c = cmd_getopt_none(cmd, argc, argv, err);
        if (c != 0)
                return c < 0 ? -1 : 0;
        if (optind >= argc)
                return cmd_usage_error(cmd, err, "'%s' needs at least one CONTAINER", cmd->full_name);
        for (int i = optind; i < argc; i++) {
                struct storage_container ct = { 0 };
                struct hutch_error *e = NULL;
                _cleanup_close_ int pidfd = -1;

                if (find_running(root, argv[i], &ct, &pidfd, &e) == 0) {
                        int paused = cmd_cgroup_paused(ct.pid, ct.id);
                        if (freeze && paused > 0)
                                hutch_error_set(&e, 0, "container '%s' is already paused", ct.name);
                        else if (!freeze && paused == 0)
                                hutch_error_set(&e, 0, "container '%s' is not paused", ct.name);
                        else
                                (void) cmd_cgroup_freeze(ct.pid, ct.id, ct.name, freeze, &e);
                }
                storage_container_clear(&ct);
                if (e) {
                        fprintf(stderr, "Error: %s\n", e->msg);
                        status = EXIT_HUTCH_FAILED;
                        hutch_error_free(e);
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return status;
}

int cmd_pause(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        return pause_or_unpause(cmd, argc, argv, true, err);
}

int cmd_unpause(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        return pause_or_unpause(cmd, argc, argv, false, err);
}

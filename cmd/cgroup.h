/* Resource limits (--memory, --cpus, --pids-limit) through a cgroup v2
 * subtree delegated to the user.  Rootless processes can only limit
 * themselves where the system delegated a cgroup to them; elsewhere the
 * limits are refused with the reason and the fix, never dropped. */
#ifndef HUTCH_CMD_CGROUP_H
#define HUTCH_CMD_CGROUP_H

#include "lib/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cmd_limits {
        uint64_t memory;    /* bytes, 0: none */
        uint64_t cpu_quota; /* microseconds per 100000, 0: none */
        int64_t pids;       /* 0: none, -1: unlimited */
};

bool cmd_limits_set(const struct cmd_limits *l);
/* "1.5" CPUs -> quota per 100 ms period. */
int cmd_parse_cpus(const char *s, uint64_t *ret_quota);
/* Checks that limits can be applied here: cgroup v2, a delegated (writable)
 * cgroup of ours with the controllers.  Fills *ret_dir with the cgroup to
 * create the container's own below. */
int cmd_cgroup_prepare(const struct cmd_limits *l, char **ret_dir, struct hutch_error **err);
/* Creates <dir>/hutch-<id>, writes the limits and moves pid into it. */
int cmd_cgroup_apply(const char *dir, const char *id, const struct cmd_limits *l, pid_t pid, struct hutch_error **err);

/* Pause and unpause (the cgroup freezer).  A container can be frozen only
 * when it has a cgroup of its own: hutch-<id> below hutch's own cgroup v2
 * when the user may write that (a delegated subtree), else below its cgroup
 * v1 freezer cgroup when that is writable.  Best effort, from the created
 * hook: a container without one runs as before and cannot be paused. */
void cmd_cgroup_own(const char *id, pid_t pid);
/* Moves pid (a process exec'd into the container) into the container's
 * own cgroups, so that pause freezes it too.  Best effort. */
void cmd_cgroup_join(pid_t container_pid, const char *id, pid_t pid);
/* 1 when the container (its init is container_pid) is frozen, else 0. */
int cmd_cgroup_paused(pid_t container_pid, const char *id);
/* Freezes or thaws the container; the error says why it cannot and how to
 * enable it. */
int cmd_cgroup_freeze(pid_t container_pid, const char *id, const char *name, bool freeze, struct hutch_error **err);
/* The container's own cgroup v2 directory (the hutch-<id> its init is in),
 * where `stats` reads its usage; NULL when it has none. */
char *cmd_cgroup_v2_dir(pid_t container_pid, const char *id);
/* Removes the (empty) cgroups hutch made for the container. */
void cmd_cgroup_forget(const char *id);

#endif

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

#endif

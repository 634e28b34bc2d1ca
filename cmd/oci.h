/* hutch oci: the OCI runtime command line (runc's create/start/state/kill/
 * delete/run/list/spec), for engines that drive a runtime over a bundle.
 *
 * State of container ID lives in ROOT/ID/ (ROOT: --root, else the run root's
 * oci/; 0700):
 *   lock        flock'ed by the container's monitor for as long as it lives
 *   ctl         the monitor's control socket (SOCK_SEQPACKET, one request
 *               per connection: "state", "start", "kill N", "wait")
 *   state.json  written by the monitor once the container is created: id,
 *               bundle, pid, created, annotations
 *   exit        the exit code, written by the monitor when the container exited
 *   mnt/        where the runtime stages the root (inside the container's
 *               mount namespace only)
 *
 * The monitor is a hutch process outside the container that made it and
 * holds its pidfd: every signal goes through that pidfd, so a recycled PID
 * is never signalled; when the monitor is gone, so is the container (it dies
 * with its monitor through PR_SET_PDEATHSIG).  A created container waits,
 * fully set up, for one byte on a pipe whose write end only the monitor
 * holds: `start` asks the monitor to write it. */
#ifndef HUTCH_CMD_OCI_H
#define HUTCH_CMD_OCI_H

#include "cmd/cmd.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

#include <stdbool.h>
#include <sys/types.h>

/* The `hutch oci` group (cmd/cmd-oci.c). */
int cmd_oci(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_oci_options[];

#define OCI_STATE_VERSION "1.2.0" /* the runtime-spec version our state output follows */

enum oci_status { OCI_CREATING, OCI_CREATED, OCI_RUNNING, OCI_STOPPED };

const char *cmd_oci_status_name(enum oci_status s);

/* What the monitor needs besides the runtime config. */
struct oci_monitor_args {
        const char *id;
        const char *dir;    /* ROOT/ID, exists, locked by lock_fd */
        const char *bundle; /* absolute */
        int lock_fd;
        int console_fd; /* connected --console-socket, or -1 */
        struct runtime_config *cfg;
        const struct runtime_spec *spec;
};

/* Forks the monitor, which creates the container and leaves it waiting for
 * `start`; returns the container's PID once it is created, or sets err
 * (nothing is left running then; the caller removes dir). */
pid_t cmd_oci_monitor_spawn(const struct oci_monitor_args *a, struct hutch_error **err);

/* Sends one request to the monitor of the container in dir and reads the
 * reply (NUL-terminated) into reply.  -ECONNREFUSED or -ENOENT (err not
 * set) when no monitor listens: the container is stopped or gone. */
int cmd_oci_request(const char *dir, const char *request, char *reply, size_t size, struct hutch_error **err);

/* The status of the container in dir (which exists), and its PID when
 * created or running. */
enum oci_status cmd_oci_status(const char *dir, pid_t *ret_pid);

#endif

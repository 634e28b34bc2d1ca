/* The containers of `hutch build`'s steps (cmd/build-container.c). */
#ifndef HUTCH_CMD_BUILD_CONTAINER_H
#define HUTCH_CMD_BUILD_CONTAINER_H

#include "cmd/build-copy.h"
#include "cmd/cmd-containers.h"

#include <signal.h>
#include <stdbool.h>

struct build_steps {
        const char *root; /* the store */
        char *container;  /* the current step's container (a name), removed on any exit */
        char token[13];   /* the build's: its lock and its containers' names */
        int lock_fd;      /* builds/TOKEN.lock in the run directory, held while the build lives */
        char *lock_path;
        unsigned n_containers;
        bool quiet;
        int ctx_fd;                         /* the context directory */
        volatile sig_atomic_t *interrupted; /* set by the build's SIGINT handler */
};

/* Runs `hutch run ARGS` (FOREGROUND) or `create` in a child with
 * cmd_run_container(): the foreground monitor restricts itself once the
 * container runs (no_new_privs and a seccomp filter against new user
 * namespaces), which the build still needs.  The container's output is
 * ours; hide_stdout (and quiet) send it to /dev/null.  On an interrupt the
 * container's init is SIGKILLed.  Returns the container's exit status, or
 * < 0 with err set. */
int build_container_run(struct build_steps *b, char **argv, enum cmd_run_mode mode, bool hide_stdout,
                        struct hutch_error **err);
/* A build holds builds/TOKEN.lock in the run directory (flock) while it
 * lives, and its step containers are named hutch-build-TOKEN-N: a build
 * killed with SIGKILL (or by a reboot) leaves containers whose lock no one
 * holds, which the next build removes, and which `container prune` tells
 * apart from the containers of a build still running. */
int build_lock_take(struct build_steps *b, struct hutch_error **err);
void build_lock_release(struct build_steps *b);
/* Notes in the lock that the build uses image id (64 hex digits): `image
 * prune` and `system prune` spare it while the build runs. */
int build_lock_note_image(struct build_steps *b, const char *id, struct hutch_error **err);
/* What running builds use: the images they noted (ret_ids), and the start
 * of the oldest (INT64_MAX when none runs): an image recorded since may be
 * one of its steps, not noted yet. */
void build_live_images(char ***ret_ids, int64_t *ret_oldest_start);
/* Removes the containers of builds that are gone (quietly: a failure
 * leaves them for the next build). */
void build_reap_stale(struct build_steps *b);
/* Whether name is a step container of a build that still runs. */
bool build_container_in_use(const char *name);
/* The next step container's name, hutch-build-TOKEN-N. */
char *build_container_name(struct build_steps *b);
/* Removes the step's container and the anonymous volumes it got. */
void build_container_drop(struct build_steps *b);

/* What the storage user namespace child reports (shared memory). */
struct copy_result {
        int status;
        char msg[2048];
};

/* COPY/ADD (bc), or WORKDIR (mkdir), into a step container's files. */
struct build_files_job {
        struct build_copy bc;
        struct copy_result *res;
        struct cmd_container_files files;
        char **from_layers; /* COPY --from: the image's layers, topmost first */
        const char *chown;  /* --chown spec, resolved in the image */
        const char *mkdir;  /* WORKDIR: only create this directory */
        const char *mnt, *mnt_from;
        int ctx_fd;
};

/* Creates the step's container (b->container) from image_id and, in the
 * storage user namespace with its files mounted, writes j's files into it
 * (confined to its root by the layer unpacker). */
int build_container_files(struct build_steps *b, const char *image_id, struct build_files_job *j,
                          struct hutch_error **err);

#endif

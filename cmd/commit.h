/* hutch commit's core, for `hutch commit` and `hutch build`. */
#ifndef HUTCH_CMD_COMMIT_H
#define HUTCH_CMD_COMMIT_H

#include "cmd/cmd.h"
#include "lib/error.h"

struct cmd_commit_options {
        char **changes;         /* --change instructions (NULL-terminated), or NULL */
        const char *message;    /* the history entry's comment, or NULL */
        const char *author;     /* the config's and history entry's author, or NULL */
        const char *name;       /* REPOSITORY[:TAG] to give the image, or NULL (dangling) */
        const char *created_by; /* the history entry's created_by; NULL: the container's command */
        bool keep_image_config; /* build: the image's config as it is; else the container's `run`
                                 * settings go in first, as Docker's commit does */
};

/* Makes a new image of the container's image and one more layer holding
 * what the container changed (see storage/diff.h), with the image's config
 * updated as Docker's commit does: the container's command, --entrypoint,
 * -e, -u and -w (unless keep_image_config), then the --change
 * instructions; a history entry appended, created now.
 * A running container is read as it is (it is not paused).  On success
 * ret_image_id gets the new image's ID (64 hex digits).  Nothing stored
 * before is changed on failure; the new image's name is recorded last. */
int cmd_commit_container(const char *store_root, const char *container_id, const struct cmd_commit_options *o,
                         char ret_image_id[65], struct hutch_error **err);

int cmd_commit(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_diff(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_history(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_commit_options[];
extern const struct cmd_option cmd_diff_options[];
extern const struct cmd_option cmd_history_options[];

#endif

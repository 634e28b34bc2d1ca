/* The image commands (cmd-images.c, cmd-load.c) and the helpers they share. */
#ifndef HUTCH_CMD_STORAGE_H
#define HUTCH_CMD_STORAGE_H

#include "cmd/cmd.h"
#include "storage/store.h"

/* Makes the storage root (0700, ours) and opens the store in it. */
int cmd_storage_open(enum storage_store_mode mode, struct storage_store **ret, struct hutch_error **err);

/* Runs fn(data) as root of a user namespace with this user's container ID
 * map (the storage user namespace: files of container UIDs belong to the
 * subordinate IDs on the host), in a child process.  fn returns an exit
 * status and prints its own "Error: ..." line.  Returns fn's status, or
 * < 0 with *err set when the namespace could not be made. */
int cmd_storage_in_userns(int (*fn)(void *data), void *data, bool with_mountns, struct hutch_error **err);

/* Prints err as the top level does ("Error: ..."), frees it and returns the
 * exit status to use: for code running in the storage user namespace. */
int cmd_storage_report(struct hutch_error *err);

int cmd_images(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_tag(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_rmi(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_image_prune(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_image_inspect(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_load(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_save(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_import(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_unshare(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);

extern const struct cmd_option cmd_images_options[];
extern const struct cmd_option cmd_tag_options[];
extern const struct cmd_option cmd_rmi_options[];
extern const struct cmd_option cmd_image_prune_options[];
extern const struct cmd_option cmd_image_inspect_options[];
extern const struct cmd_option cmd_load_options[];
extern const struct cmd_option cmd_save_options[];
extern const struct cmd_option cmd_import_options[];
extern const struct cmd_option cmd_unshare_options[];

/* `hutch image ...` (ls, rm, tag, prune, inspect, load, save, import). */
extern const struct cmd_command cmd_image_subcommands[];

#endif

/* Container commands: create, start, ps, rm, and the run machinery they share. */
#ifndef HUTCH_CMD_CONTAINERS_H
#define HUTCH_CMD_CONTAINERS_H

#include "cmd/cmd.h"

enum cmd_run_mode {
        CMD_RUN_FOREGROUND = 0, /* run (or start -a): create if needed, run attached */
        CMD_RUN_CREATE,         /* create: record the container and print its ID */
        CMD_RUN_START_ATTACHED, /* start -ai: run a recorded container in the foreground */
        CMD_RUN_START_OUTPUT,   /* start -a: the same, its input not ours (Docker's: -i attaches stdin) */
        CMD_RUN_START_DETACHED, /* start: run a recorded container under a detached monitor */
};

/* The body of `hutch run`: argv[0] is the command name, the rest `run`'s
 * arguments.  existing_id runs a container created before (start -a). */
int cmd_run_container(const struct cmd_command *cmd, int argc, char **argv, enum cmd_run_mode mode,
                      const char *existing_id, struct hutch_error **err);

/* "adjective_noun" from the ID, as Docker names containers. */
char *cmd_container_random_name(const char *id);

/* Removes containers/<id>/ (its layer holds files of container IDs, so
 * this runs in the storage user namespace). */
int cmd_container_remove(const char *store_root, const char *id, struct hutch_error **err);

int cmd_exec(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_exec_options[];
struct storage_container;
/* Config, HostConfig, Mounts and NetworkSettings of `inspect` (yajl map
 * members), from the container's recorded `run` arguments. */
#include <yajl/yajl_gen.h>
void cmd_run_gen_config(const struct storage_container *rec, yajl_gen g);
bool cmd_container_uses_volume(const struct storage_container *rec, const char *name);
extern const struct cmd_command cmd_volume_subcommands[];
int cmd_volume_prune(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_volume_prune_options[];
/* The image's VOLUMEs: "NAME:/dest" with a new random NAME for each path
 * (cleaned, confined to the container) that no mount of vols covers. */
struct cmd_volume;
int cmd_anon_volumes_plan(char *const *image_volumes, const struct cmd_volume *vols, size_t n, char ***ret,
                          struct hutch_error **err);
/* Appends the anonymous volumes to vols as named volumes. */
void cmd_anon_volumes_add(char *const *anon, struct cmd_volume **vols, size_t *n);
/* Removes the anonymous volumes (missing ones are fine). */
int cmd_anon_volumes_remove(const char *root, char *const *anon, struct hutch_error **err);
int cmd_cp(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_cp_options[];
int cmd_port(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_port_options[];
extern const struct cmd_command cmd_system_subcommands[];
int cmd_export(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_export_options[];
int cmd_top(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_top_options[];
int cmd_stats(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_stats_options[];
int cmd_inspect(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_inspect_options[];
int cmd_rename(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_restart(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_container_prune(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_rename_options[];
extern const struct cmd_option cmd_container_prune_options[];
int cmd_stop(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_kill(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_wait(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_logs(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_stop_options[];
extern const struct cmd_option cmd_kill_options[];
extern const struct cmd_option cmd_wait_options[];
extern const struct cmd_option cmd_logs_options[];

int cmd_create(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
/* cmd-pause.c */
int cmd_pause(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_unpause(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_pause_options[];
int cmd_start(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_ps(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
int cmd_rm(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);

extern const struct cmd_option cmd_start_options[];
extern const struct cmd_option cmd_ps_options[];
extern const struct cmd_option cmd_rm_options[];

/* What a stopped container's root is made of: its own layer over the
 * image's, or (storage driver copy) one tree of its own (cmd-cp.c; also
 * used by build). */
struct storage_container;
struct cmd_container_files {
        char **layers; /* the image's, topmost first */
        char *upper, *work;
        bool copied; /* upper is the whole tree (--storage-driver copy) */
};
int cmd_container_files_get(const char *root, const struct storage_container *ct, struct cmd_container_files *ret,
                            struct hutch_error **err);
/* Mounts the files on mnt, writable or not; in a user and mount namespace
 * of our own (cmd_storage_in_userns). */
int cmd_container_files_mount(const struct cmd_container_files *f, const char *mnt, bool writable,
                              struct hutch_error **err);
void cmd_container_files_clear(struct cmd_container_files *f);

#endif

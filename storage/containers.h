/* Container records: ROOT/containers/<id>/container.json, plus the
 * container's own layer (upper/, work/) beside it.
 *
 * A record holds the arguments the container was created with (so `start`
 * runs it again exactly as `run` did) and its last known state.  Records
 * change under ROOT/containers/containers.lock (flock, exclusive) and are
 * replaced atomically; a command killed at any point leaves either the old
 * or the new record. */
#ifndef HUTCH_STORAGE_CONTAINERS_H
#define HUTCH_STORAGE_CONTAINERS_H

#include "lib/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define STORAGE_CONTAINER_ID_LEN 64

enum storage_container_status {
        STORAGE_CONTAINER_CREATED = 0,
        STORAGE_CONTAINER_RUNNING,
        STORAGE_CONTAINER_EXITED,
};

struct storage_container {
        char id[STORAGE_CONTAINER_ID_LEN + 1];
        char *name;
        char *image;     /* as the user named it, or "--rootfs DIR" */
        char *image_id;  /* NULL for --rootfs */
        char **args;     /* the `run` arguments after the image (options first) */
        char **command;  /* what runs, for display */
        int64_t created; /* unix seconds */
        enum storage_container_status status;
        int exit_code;      /* -1: unknown */
        pid_t pid;          /* host PID of the container's init while running */
        uint64_t pid_start; /* its start time (/proc/PID/stat field 22): PIDs get reused */
        int64_t started_at, finished_at;
        bool auto_remove;  /* --rm: the monitor removes it after exit */
        char *stop_signal; /* the image's StopSignal, or NULL */
        unsigned restart_count;
        bool stop_requested; /* stopped by `hutch stop`/`kill`: no restart */
        /* the image's VOLUMEs this container got, "NAME:/dest" (NAME: 64 hex
         * digits, a volume of the store); removed with it by `rm -v` and --rm */
        char **anon_volumes;
};

void storage_container_clear(struct storage_container *c);
const char *storage_container_status_name(enum storage_container_status s);

/* Valid container IDs are 64 lowercase hex digits; names match
 * [a-zA-Z0-9][a-zA-Z0-9_.-]* and are at most 128 bytes. */
bool storage_container_id_valid(const char *id);
bool storage_container_name_valid(const char *name);

/* Serialises and parses a record (untrusted on read: size and fields checked). */
char *storage_container_to_json(const struct storage_container *c);
int storage_container_from_json(const char *json, size_t len, struct storage_container *ret, struct hutch_error **err);

/* Takes the records lock of the store rooted at root; returns an fd. */
int storage_containers_lock(const char *root, struct hutch_error **err);
/* Creates containers/<id>/ with upper/ and work/ and the record; fails with
 * EEXIST when the name is taken.  Call with the records lock held. */
int storage_container_create(const char *root, const struct storage_container *c, struct hutch_error **err);
/* Replaces the record (the directory must exist). */
int storage_container_save(const char *root, const struct storage_container *c, struct hutch_error **err);
int storage_container_load(const char *root, const char *id, struct storage_container *ret, struct hutch_error **err);
/* All records (unreadable ones are skipped), newest first. */
int storage_container_list(const char *root, struct storage_container **ret, size_t *ret_n, struct hutch_error **err);
void storage_container_list_free(struct storage_container *list, size_t n);
/* Finds a container by exact name, full ID or unique ID prefix. */
int storage_container_lookup(const char *root, const char *name_or_id, char ret_id[STORAGE_CONTAINER_ID_LEN + 1],
                             struct hutch_error **err);
/* The same, and its record (clear it with storage_container_clear). */
int storage_container_find(const char *root, const char *name_or_id, struct storage_container *ret,
                           struct hutch_error **err);
/* Splits an anon_volumes entry; false when it is malformed. */
bool storage_container_anon_volume_split(const char *entry, char **ret_name, char **ret_dest);
/* Path of containers/<id>[/sub]. */
char *storage_container_path(const char *root, const char *id, const char *sub);

/* Marks a container stopped by the user (no --restart) or clears it. */
int storage_container_set_stop_requested(const char *root, const char *id, bool value, struct hutch_error **err);

/* True when pid is alive and is still the process started at pid_start. */
bool storage_container_pid_alive(pid_t pid, uint64_t pid_start);
/* Start time of pid from /proc (0 when gone). */
uint64_t storage_process_start_time(pid_t pid);

#endif

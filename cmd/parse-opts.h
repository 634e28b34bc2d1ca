/* Parsers for command-line formats (unit tested, fuzzed). */
#ifndef HUTCH_CMD_PARSE_OPTS_H
#define HUTCH_CMD_PARSE_OPTS_H

#include "lib/error.h"

#include <stdbool.h>
#include <stddef.h>

/* Parses an --env-file: KEY=VALUE lines, '#' comments, blank lines, and
 * bare KEY lines taking the value from lookup_env (the host's getenv;
 * skipped when unset).  Appends to *env. */
int cmd_parse_env_file(const char *text, const char *name, char *(*lookup_env)(const char *), char ***env,
                       struct hutch_error **err);
/* Applies one -e entry: "KEY=VALUE", or "KEY" taking the host's value. */
int cmd_parse_env_arg(const char *arg, char *(*lookup_env)(const char *), char ***env, struct hutch_error **err);
/* Sets KEY=VALUE in env, replacing an earlier KEY. */
void cmd_env_set(char ***env, const char *entry);

enum cmd_volume_kind { CMD_VOLUME_BIND = 0, CMD_VOLUME_NAMED, CMD_VOLUME_TMPFS };

struct cmd_volume {
        enum cmd_volume_kind kind;
        char *source;      /* absolute host path, or the volume's name */
        char *destination; /* absolute container path */
        bool readonly;
        char *options; /* tmpfs: "size=...,mode=..." */
        bool chown;    /* :U: the source becomes the container user's */
};
/* Parses -v SRC:DST[:OPTS] (OPTS: ro, rw, U; z, Z ignored).  SRC is a host
 * path (absolute) or a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*). */
int cmd_parse_volume(const char *spec, struct cmd_volume *ret, struct hutch_error **err);
/* Parses --mount type=bind|volume|tmpfs,source=...,target=...[,readonly]
 * [,U|chown=BOOL][,tmpfs-size=N][,tmpfs-mode=OCTAL] (src, dst, destination,
 * ro too). */
int cmd_parse_mount(const char *spec, struct cmd_volume *ret, struct hutch_error **err);
/* Parses --tmpfs /path[:size=64m,mode=1777,...]. */
int cmd_parse_tmpfs(const char *spec, struct cmd_volume *ret, struct hutch_error **err);
/* Parses --device /dev/HOST[:/dev/CONTAINER][:rwm] into a bind of the node
 * (rwm is checked, not enforced: see parse-opts.c); the caller checks it is
 * a device. */
int cmd_parse_device(const char *spec, struct cmd_volume *ret, struct hutch_error **err);
bool cmd_volume_name_valid(const char *name);
void cmd_volume_clear(struct cmd_volume *v);

/* Normalises an absolute container path: collapses //, ., and refuses ..
 * components that would climb above /.  Returns a malloc'd string. */
int cmd_clean_container_path(const char *path, char **ret, struct hutch_error **err);

#endif

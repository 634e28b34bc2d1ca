/* An OCI bundle's config.json (runtime-spec 1.x), parsed into what hutch
 * can run.  The document is untrusted: it is size- and depth-capped, every
 * field is type-checked, and a field of the spec that hutch cannot honour
 * (a namespace path, hooks, cgroup resources, idmapped mounts, ...) is an
 * error naming it, never silently dropped.  Members the spec does not
 * define are listed in `ignored` for the caller to warn about (the spec
 * tells runtimes to ignore them).  See docs/oci-runtime.md. */
#ifndef HUTCH_RUNTIME_SPEC_H
#define HUTCH_RUNTIME_SPEC_H

#include "lib/error.h"
#include "runtime/runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* config.json files larger than this are refused. */
#define RUNTIME_SPEC_MAX (2u * 1024 * 1024)

struct runtime_spec_rlimit {
        int resource; /* RLIMIT_* */
        uint64_t soft, hard;
};

/* A linux.devices entry hutch does not make itself: bound from the same
 * path on the host, which cmd/ checks to be the same kind of node with
 * the same numbers. */
struct runtime_spec_device {
        char *path;
        char type; /* 'c', 'b' or 'u' */
        bool has_numbers;
        uint32_t major, minor;
};

struct runtime_spec {
        char *oci_version;
        char *root_path; /* as written: absolute, or relative to the bundle */
        bool root_readonly;
        bool has_process;
        char **args, **env;
        char *cwd;
        uint32_t uid, gid;
        gid_t *additional_gids;
        size_t n_additional_gids;
        bool has_umask;
        uint32_t umask;
        bool has_oom_score_adj;
        int oom_score_adj;
        bool terminal;
        bool has_console_size; /* process.consoleSize: the terminal's initial size */
        uint16_t console_height, console_width;
        bool no_new_privileges;
        bool has_caps; /* process.capabilities given: caps is its set */
        uint64_t caps;
        struct runtime_spec_rlimit *rlimits;
        size_t n_rlimits;
        char *hostname;
        /* Mounts besides the ones hutch always makes (/proc, /dev, /dev/pts,
         * /dev/shm, /dev/mqueue, /sys, /sys/fs/cgroup).  Bind sources as
         * written (absolute, or relative to the bundle). */
        struct runtime_mount *mounts;
        size_t n_mounts;
        struct runtime_spec_device *devices;
        size_t n_devices;
        int namespaces; /* CLONE_NEW* besides CLONE_NEWUSER | CLONE_NEWNS, which are required */
        bool has_uidmap, has_gidmap;
        struct runtime_idmap uidmap, gidmap;
        bool has_masked_paths, has_readonly_paths;
        char **masked_paths, **readonly_paths;
        char *seccomp_json; /* linux.seccomp re-emitted (a profile runtime/seccomp.c reads); NULL: none */
        size_t seccomp_len;
        char **annotations; /* key, value, key, value, ..., NULL */
        char **ignored;     /* members outside the spec ("process.foo") */
};

/* Parses config.json text (len bytes).  On failure *ret is untouched. */
int runtime_spec_parse(const char *buf, size_t len, struct runtime_spec *ret, struct hutch_error **err);
void runtime_spec_clear(struct runtime_spec *s);

/* Checks an OCI container ID as runc does: 1 to 255 bytes of [A-Za-z0-9_+.-],
 * not "." or "..". */
int runtime_spec_check_id(const char *id, struct hutch_error **err);

#endif

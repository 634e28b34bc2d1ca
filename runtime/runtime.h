/* runtime/: turns a container description into a running process.
 *
 * Privilege model (rootless, nothing setuid of ours):
 *   - hutch runs as the user.  clone() makes the container init in new user,
 *     mount, pid, uts, ipc, net and cgroup namespaces; in its user namespace
 *     the child holds every capability, but only over resources that
 *     namespace owns.
 *   - The parent, still in the host user namespace, writes the child's
 *     uid_map/gid_map through the setuid helpers newuidmap/newgidmap (the
 *     only privileged step, done by shadow's audited binaries), or writes a
 *     single-ID map itself when there are no subordinate IDs.
 *   - The child mounts the root (overlay in its own user namespace), /proc,
 *     /dev, /sys and volumes, pivots into the root, drops capabilities to
 *     the container's set, sets no_new_privs and seccomp, and execs.
 *   - Nothing from the container image runs or is loaded before execve().
 *
 * Synchronisation between parent (P) and child (C) over a socketpair:
 *   1. P: clone; C blocks reading.  (With join_ns, a helper H forked by P
 *      joins the other container's user and network namespaces, checks
 *      their ID maps, clones C with CLONE_PARENT so that C is P's child,
 *      sends P C's PID (SYNC_REPLY) or what failed, and exits.)
 *   2. P: writes the ID maps (not with join_ns), sends SYNC_MAPPED.
 *   3. C: sets up mounts; asks P to mount fuse-overlayfs when needed.
 *   4. C: runs the child hook (network); P runs the parent hook.
 *   5. C: execve.  The socket is close-on-exec: EOF tells P the exec
 *      happened; a hutch_child_report tells it what failed instead.
 */
#ifndef HUTCH_RUNTIME_H
#define HUTCH_RUNTIME_H

#include "lib/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sock_fprog;

/* ---- ID maps (runtime/idmap.c) ---- */

#define RUNTIME_IDMAP_MAX 32

struct runtime_idmap_entry {
        uint32_t container_id;
        uint32_t host_id;
        uint32_t size;
};

struct runtime_idmap {
        struct runtime_idmap_entry e[RUNTIME_IDMAP_MAX];
        size_t n;
};

struct runtime_subid_range {
        unsigned long start;
        unsigned long count;
};

enum runtime_subid_kind { RUNTIME_SUBUID, RUNTIME_SUBGID };

/* Parses /etc/subuid-format text: "owner:start:count" lines where owner is
 * a name or a numeric ID; returns the ranges of (user, id) in file order.
 * Malformed lines are skipped (as shadow does); ranges that include id 0 or
 * the user's own id are refused with -EINVAL in *ret_bad_line. */
int runtime_subid_parse(const char *text, const char *user, unsigned long id, struct runtime_subid_range **ret_ranges,
                        size_t *ret_n, struct hutch_error **err);
/* Looks the ranges up through libsubid when built with it, else in
 * /etc/subuid or /etc/subgid.  *ret_source names where they came from. */
int runtime_subid_lookup(enum runtime_subid_kind kind, const char *user, unsigned long id,
                         struct runtime_subid_range **ret_ranges, size_t *ret_n, const char **ret_source,
                         struct hutch_error **err);
/* The default map: container 0 -> host_id, 1..N -> the ranges in order. */
void runtime_idmap_build(unsigned long host_id, const struct runtime_subid_range *ranges, size_t n,
                         struct runtime_idmap *ret);
/* Parses "ctr:host:size[,ctr:host:size...]" (podman's --uidmap syntax). */
int runtime_idmap_parse(const char *s, struct runtime_idmap *ret, struct hutch_error **err);
/* Formats for /proc/PID/uid_map ("0 1000 1\n..."). */
size_t runtime_idmap_format(const struct runtime_idmap *map, char *buf, size_t size);
/* Host ID of a container ID, -ERANGE when unmapped. */
int runtime_idmap_to_host(const struct runtime_idmap *map, uint32_t container_id, uint32_t *ret_host);
/* Number of container IDs the map covers, counting from 0 without gaps. */
uint32_t runtime_idmap_span(const struct runtime_idmap *map);
/* Parses the kernel's /proc/PID/uid_map text ("ctr host size" lines, any
 * spacing); -EINVAL when malformed or too long. */
int runtime_idmap_parse_proc(const char *text, struct runtime_idmap *ret);
/* Whether two maps map the same IDs the same way (extent order aside). */
bool runtime_idmap_equal(const struct runtime_idmap *a, const struct runtime_idmap *b);

/* Writes the maps of process pid with newuidmap/newgidmap (paths given),
 * or directly (single ID, setgroups denied) when helpers is false. */
int runtime_userns_write_maps(pid_t pid, const struct runtime_idmap *uidmap, const struct runtime_idmap *gidmap,
                              const char *newuidmap, const char *newgidmap, struct hutch_error **err);

/* ---- users (runtime/user.c) ---- */

struct runtime_user {
        uid_t uid;
        gid_t gid;
        gid_t *groups; /* supplementary groups */
        size_t n_groups;
        char *home; /* from passwd; NULL when unknown */
};

/* Resolves a --user spec ("name", "uid", "name:group", "uid:gid") against
 * the text of the container's /etc/passwd and /etc/group (either may be
 * NULL when the file is missing).  Numeric IDs need no entry. */
int runtime_user_resolve(const char *spec, const char *passwd, const char *group, struct runtime_user *ret,
                         struct hutch_error **err);
void runtime_user_clear(struct runtime_user *u);

/* ---- the container ---- */

enum runtime_rootfs_mode {
        RUNTIME_ROOTFS_OVERLAY = 0,    /* kernel overlayfs in the user namespace */
        RUNTIME_ROOTFS_FUSE_OVERLAYFS, /* fuse-overlayfs, mounted into the child's namespace */
        RUNTIME_ROOTFS_COPY,           /* a copy of the lower dirs (last resort) */
        RUNTIME_ROOTFS_BIND,           /* lowerdirs[0] itself, bound (an OCI bundle's root.path):
                                        * the container writes to it unless readonly */
};

struct runtime_rootfs {
        enum runtime_rootfs_mode mode;
        char **lowerdirs; /* topmost first */
        char *upperdir;   /* NULL: throw-away upper on a tmpfs */
        char *workdir;
        bool readonly;
        bool fallback;        /* overlay mode: try fuse-overlayfs, then a copy, when the kernel refuses */
        char *fuse_overlayfs; /* path of fuse-overlayfs for that mode */
        /* fuse-overlayfs uidmapping=/gidmapping= ("ctr:ondisk:size:..."), or
         * NULL: files are shown with other owners than the container's map
         * gives them (--userns=keep-id over layers stored for the default map) */
        char *fuse_uidmapping, *fuse_gidmapping;
};

enum runtime_mount_kind { RUNTIME_MOUNT_BIND, RUNTIME_MOUNT_TMPFS };

struct runtime_mount {
        enum runtime_mount_kind kind;
        char *source;      /* host path for binds */
        char *destination; /* absolute path in the container */
        bool readonly;
        unsigned long flags; /* more of MS_NOSUID, MS_NODEV, MS_NOEXEC (OCI mount options) */
        char *options;       /* tmpfs data ("size=64m,mode=1777") */
        bool seed;           /* an empty source directory first gets a copy of what the
                        * image has at destination (named volumes) */
        bool own_program;    /* a program of hutch's (hutch-init), bound read-only: when
                           * this user could change the file, a private copy in
                           * state_dir is bound instead, as root in the container
                           * (the user) could otherwise remount the bind writable
                           * and write the original */
};

struct runtime_security {
        bool privileged;
        uint64_t caps; /* bounding, permitted and effective for root */
        bool no_new_privs;
        const struct sock_fprog *seccomp; /* NULL: unconfined */
        char **masked_paths;
        char **readonly_paths;
};

/* Extension points that cmd/ fills to wire in other modules (networking)
 * without runtime/ knowing them.  sock is a connected SOCK_SEQPACKET
 * socketpair end, one per side, for the two hooks to talk over. */
struct runtime_hooks {
        /* In the child, after mounts, before pivot_root; returns -errno. */
        int (*child_setup)(void *ctx, int sock);
        /* In the parent, while the child runs child_setup. */
        int (*parent_setup)(void *ctx, pid_t pid, int pidfd, int sock, struct hutch_error **err);
        void *ctx;
        /* In the parent right after clone, before the ID maps: place the
         * process (cgroups) while nothing of the container has run. */
        int (*created)(void *ctx, pid_t pid, struct hutch_error **err);
        void *created_ctx;
};

struct runtime_config {
        char **args;         /* argv; args[0] searched in the container's PATH */
        char **env;          /* KEY=VALUE */
        char *cwd;           /* NULL: the user's home or "/" */
        char *user;          /* --user spec; NULL: root */
        gid_t *extra_groups; /* supplementary groups added to the user's (OCI additionalGids) */
        size_t n_extra_groups;
        char *hostname;
        struct runtime_rootfs rootfs;
        struct runtime_mount *mounts;
        size_t n_mounts;
        struct runtime_idmap uidmap, gidmap;
        bool use_map_helpers; /* newuidmap/newgidmap vs a single-ID map */
        char *newuidmap, *newgidmap;
        int namespaces;      /* CLONE_NEW* flags besides CLONE_NEWUSER */
        bool share_host_sys; /* rbind /sys instead of a new sysfs (host network) */
        /* Share the network of a running container (--network container:):
         * the container is made inside the user and network namespaces of
         * the process join_pidfd refers to (that container's init), with
         * mount, pid, uts, ipc and cgroup namespaces of its own.  Joining a
         * network namespace takes CAP_SYS_ADMIN in the user namespace that
         * owns it, hence the shared user namespace; its ID maps must equal
         * uidmap/gidmap (checked) and none are written.  CLONE_NEWNET must
         * not be in namespaces then. */
        int join_ns; /* 0, or CLONE_NEWUSER | CLONE_NEWNET (CLONE_NEWUSER alone:
                      * that container has the host's network, see share_host_sys) */
        int join_pidfd;
        char *state_dir; /* per-container run directory, 0700, exists */
        struct runtime_security security;
        struct runtime_hooks hooks;
        bool terminal;       /* a pseudo-terminal of the container's devpts as its stdio */
        bool redirect_stdio; /* give the container stdio[] instead of ours */
        int stdio[3];        /* fds for its 0, 1, 2 (close-on-exec in the caller) */
        /* OCI create: with wait_start, runtime_container_start returns once
         * the container is ready to exec (everything set up, privileges
         * dropped, seccomp loaded) and the container then blocks reading one
         * byte from start_fd (inherited, close-on-exec): a byte execs the
         * command, end of file makes it exit.  A failed exec after that is
         * only seen in its exit status (126, 127). */
        bool wait_start;
        int start_fd;
};

struct runtime_container;

/* Creates the container and returns once its command is running (or its
 * setup failed: *err then carries 125/126/127 in exit_status).  Signals the
 * caller wants to forward should be blocked before the call; the child
 * unblocks everything. */
int runtime_container_start(const struct runtime_config *cfg, struct runtime_container **ret, struct hutch_error **err);
/* Runs cfg->args inside the running container whose init container_pidfd
 * refers to (its namespaces, root and ID map), with cfg's user, env, cwd
 * and security; the mounts and namespaces of cfg are ignored.  The result
 * is waited for with runtime_container_reap() like a container. */
int runtime_container_exec(int container_pidfd, const struct runtime_config *cfg, struct runtime_container **ret,
                           struct hutch_error **err);
pid_t runtime_container_pid(const struct runtime_container *c);
int runtime_container_pidfd(const struct runtime_container *c);
/* The terminal's master side with cfg->terminal (owned by c), else -1. */
int runtime_container_pty(const struct runtime_container *c);
int runtime_container_signal(const struct runtime_container *c, int sig);
/* Reaps the container's init once its pidfd is readable; returns the
 * Docker-style exit code (128+n for a signal). */
int runtime_container_reap(struct runtime_container *c, struct hutch_error **err);
struct runtime_container *runtime_container_free(struct runtime_container *c);

/* Runs fn(data) in a child process inside a new user namespace (and a new
 * mount namespace when with_mountns) carrying the given maps, as root of
 * that namespace: storage work that must create files owned by container
 * IDs (unpacking layers, removing containers) and `hutch unshare`.
 * Returns fn's return value (>= 0 on success, an exit status), or < 0
 * with *err set when the namespace could not be made. */
int runtime_userns_run(const struct runtime_idmap *uidmap, const struct runtime_idmap *gidmap, const char *newuidmap,
                       const char *newgidmap, bool with_mountns, int (*fn)(void *data), void *data,
                       struct hutch_error **err);

/* Probes, for `hutch info` and the automatic overlay choice: forks a child in
 * a new user+mount namespace (single-ID map) and tries the mount. */
bool runtime_probe_userns(void);
bool runtime_probe_kernel_overlay(const char *lowerdir, const char *scratch_dir);

#endif

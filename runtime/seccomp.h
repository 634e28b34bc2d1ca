/* seccomp (libseccomp): profiles in the JSON schema Docker and Podman use,
 * compiled to BPF in the parent (and cached) so the child only loads it.
 *
 * Loading a filter needs no_new_privs or CAP_SYS_ADMIN.  With
 * no_new_privs on (the default), load it last, right before execve.  With
 * no_new_privs off, the container's capabilities usually lack CAP_SYS_ADMIN,
 * so load it right after runtime_caps_drop_bounding() and before switching
 * user (the default profile allows setgroups, setres[ug]id, capset, prctl
 * and execve, which the remaining steps need). */
#ifndef HUTCH_RUNTIME_SECCOMP_H
#define HUTCH_RUNTIME_SECCOMP_H

#include "lib/error.h"

#include <stddef.h>
#include <stdint.h>

struct sock_fprog;

/* Profiles larger than this are refused. */
#define RUNTIME_SECCOMP_PROFILE_MAX (4 * 1024 * 1024)

/* Compiles a profile (JSON text) for the given capability set; returns a
 * malloc'd program (free with runtime_seccomp_free). */
int runtime_seccomp_compile(const char *json, size_t len, uint64_t caps, struct sock_fprog **ret,
                            struct hutch_error **err);
/* The same through a cache of compiled programs in cache_dir (created 0700
 * when missing; NULL: no cache).  A damaged or stale cache file is
 * recompiled and replaced; failing to write the cache is not an error. */
int runtime_seccomp_compile_cached(const char *json, size_t len, uint64_t caps, const char *cache_dir,
                                   struct sock_fprog **ret, struct hutch_error **err);
/* The cache file name (no directory) runtime_seccomp_compile_cached uses. */
char *runtime_seccomp_cache_name(const char *json, size_t len, uint64_t caps);
/* Only parses and checks a profile (no libseccomp). */
int runtime_seccomp_check(const char *json, size_t len, struct hutch_error **err);
/* The built-in default profile (contrib/seccomp.json, compiled in), with a
 * cache keyed by the profile, caps and library versions under cache_dir
 * (NULL: no cache). */
int runtime_seccomp_default(uint64_t caps, const char *cache_dir, struct sock_fprog **ret, struct hutch_error **err);
const char *runtime_seccomp_default_json(size_t *ret_len);
/* In the child (see above for when): returns -errno.  NULL: does nothing. */
int runtime_seccomp_load(const struct sock_fprog *prog);
struct sock_fprog *runtime_seccomp_free(struct sock_fprog *prog);

/* For the container's monitor once the container runs: no_new_privs and a
 * small deny-list of its own (mounts, namespaces, ptrace, bpf, keys,
 * modules, kexec, perf, ...), compiled through the cache in cache_dir.
 * Irreversible, and inherited by every later child: a monitor that will
 * still run newuidmap (a setuid helper, which no_new_privs disarms) must
 * not call it. */
int runtime_seccomp_restrict_self(const char *cache_dir, struct hutch_error **err);
/* Its profile, in the JSON format of runtime_seccomp_compile. */
const char *runtime_seccomp_monitor_json(size_t *ret_len);

#endif

/* seccomp (libseccomp): profiles in the JSON schema Docker and Podman use,
 * compiled to BPF in the parent (and cached) so the child only loads it. */
#ifndef HUTCH_RUNTIME_SECCOMP_H
#define HUTCH_RUNTIME_SECCOMP_H

#include "lib/error.h"

#include <stddef.h>
#include <stdint.h>

struct sock_fprog;

/* Compiles a profile (JSON text) for the given capability set; returns a
 * malloc'd program (free with runtime_seccomp_free). */
int runtime_seccomp_compile(const char *json, size_t len, uint64_t caps, struct sock_fprog **ret,
                            struct hutch_error **err);
/* The built-in default profile (contrib/seccomp.json, compiled in), with a
 * cache keyed by the profile, caps and library versions under cache_dir
 * (NULL: no cache). */
int runtime_seccomp_default(uint64_t caps, const char *cache_dir, struct sock_fprog **ret, struct hutch_error **err);
const char *runtime_seccomp_default_json(size_t *ret_len);
/* In the child, last step before execve: returns -errno. */
int runtime_seccomp_load(const struct sock_fprog *prog);
struct sock_fprog *runtime_seccomp_free(struct sock_fprog *prog);

#endif

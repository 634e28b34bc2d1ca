/* Fuzzes the OCI config.json parser (runtime/spec.c): `hutch oci create`
 * reads it from a bundle another program wrote.  Checks the error contract
 * (an error set exactly when the parse fails, nothing left behind) and that
 * what parses is within the bounds the rest of hutch relies on. */
#include "config.h"

#include "lib/error.h"
#include "runtime/spec.h"

#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct hutch_error *err = NULL;
        struct runtime_spec s = { 0 };
        int r = runtime_spec_parse((const char *) data, size, &s, &err);

        if ((r < 0) != (err != NULL))
                abort();
        if (r < 0) {
                if (s.args || s.root_path || s.mounts)
                        abort(); /* *ret untouched on failure */
                hutch_error_free(err);
                return 0;
        }
        if (s.root_path == NULL || s.root_path[0] == '\0' || s.oci_version == NULL)
                abort();
        if (s.has_process && (s.args == NULL || s.args[0] == NULL || s.cwd == NULL || s.cwd[0] != '/'))
                abort();
        if (s.namespaces & (CLONE_NEWUSER | CLONE_NEWNS))
                abort();
        if (s.uidmap.n > RUNTIME_IDMAP_MAX || s.gidmap.n > RUNTIME_IDMAP_MAX || s.has_uidmap != s.has_gidmap)
                abort();
        for (size_t i = 0; i < s.n_mounts; i++)
                if (s.mounts[i].destination == NULL || s.mounts[i].destination[0] != '/' ||
                    (s.mounts[i].kind == RUNTIME_MOUNT_BIND && s.mounts[i].source == NULL))
                        abort();
        for (size_t i = 0; i < s.n_rlimits; i++)
                if (s.rlimits[i].soft > s.rlimits[i].hard)
                        abort();
        if (s.seccomp_json && strlen(s.seccomp_json) != s.seccomp_len)
                abort();
        runtime_spec_clear(&s);
        return 0;
}

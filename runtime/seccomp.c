/* seccomp.  (Placeholder until the security work lands.) */
#include "config.h"

#include "runtime/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>

extern const char hutch_seccomp_default_json[];
extern const size_t hutch_seccomp_default_json_len;

const char *runtime_seccomp_default_json(size_t *ret_len)
{
        if (ret_len)
                *ret_len = hutch_seccomp_default_json_len;
        return hutch_seccomp_default_json;
}

int runtime_seccomp_compile(const char *json, size_t len, uint64_t caps, struct sock_fprog **ret,
                            struct hutch_error **err)
{
        (void) json;
        (void) len;
        (void) caps;
        *ret = NULL;
        (void) err;
        return 0;
}

int runtime_seccomp_default(uint64_t caps, const char *cache_dir, struct sock_fprog **ret, struct hutch_error **err)
{
        (void) cache_dir;
        return runtime_seccomp_compile(hutch_seccomp_default_json, hutch_seccomp_default_json_len, caps, ret, err);
}

int runtime_seccomp_load(const struct sock_fprog *prog)
{
        (void) prog;
        return 0;
}

struct sock_fprog *runtime_seccomp_free(struct sock_fprog *prog)
{
        if (prog) {
                free(prog->filter);
                free(prog);
        }
        return NULL;
}

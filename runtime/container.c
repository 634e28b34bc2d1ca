#include "config.h"

#include "runtime/runtime.h"

#include <errno.h>

int runtime_container_start(const struct runtime_config *cfg, struct runtime_container **ret,
                            struct hutch_error **err)
{
        (void) cfg;
        (void) ret;
        return hutch_error_set(err, ENOSYS, "not implemented");
}

/* Fuzzes the seccomp profile parser and compiler (runtime/seccomp.c): a
 * profile comes from the user's --security-opt seccomp=FILE.  Checks that
 * the parse-only path and the compiler agree, and that whatever compiles is
 * a program the kernel would take. */
#include "config.h"

#include "lib/error.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"

#include <linux/filter.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct hutch_error *err = NULL;
        struct sock_fprog *prog = NULL;
        int checked, compiled;

        checked = runtime_seccomp_check((const char *) data, size, &err);
        if ((checked < 0) != (err != NULL))
                abort();
        hutch_error_clear(&err);

        compiled = runtime_seccomp_compile((const char *) data, size, runtime_caps_default(), &prog, &err);
        if ((compiled < 0) != (err != NULL) || (compiled < 0) != (prog == NULL))
                abort();
        /* The compiler parses first: what the checker refuses never compiles. */
        if (checked < 0 && compiled >= 0)
                abort();
        if (prog && (prog->len == 0 || prog->len > BPF_MAXINSNS || !prog->filter))
                abort();
        hutch_error_clear(&err);
        runtime_seccomp_free(prog);
        return 0;
}

/* Fuzzes --user resolution against /etc/passwd and /etc/group text taken
 * from an image (untrusted).  Input: spec \0 passwd \0 group. */
#include "config.h"

#include "lib/xalloc.h"
#include "runtime/runtime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct hutch_error *err = NULL;
        struct runtime_user u;
        char *buf = xmalloc(size + 3);
        memcpy(buf, data, size);
        buf[size] = buf[size + 1] = buf[size + 2] = '\0';

        const char *spec = buf;
        const char *passwd = spec + strlen(spec) + 1;
        const char *group = passwd + strlen(passwd) + 1;
        if (passwd > buf + size)
                passwd = "";
        if (group > buf + size)
                group = "";
        static const char *const specs[] = { NULL, "root", "1000", "tester:extra" };
        for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]) + 1; i++) {
                const char *s = i < sizeof(specs) / sizeof(specs[0]) ? specs[i] : spec;
                if (runtime_user_resolve(s, passwd, group, &u, &err) == 0)
                        runtime_user_clear(&u);
                hutch_error_clear(&err);
        }
        free(buf);
        return 0;
}

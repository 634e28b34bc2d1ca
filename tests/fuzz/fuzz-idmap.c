/* Fuzzes the /etc/subuid parser, the --uidmap parser and the parser of the
 * kernel's /proc/PID/uid_map text. */
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
        struct runtime_subid_range *r = NULL;
        struct runtime_idmap map;
        char buf[256];
        size_t n = 0;
        char *text = xstrndup((const char *) data, size);

        if (runtime_subid_parse(text, "alice", 1000, &r, &n, &err) == 0) {
                runtime_idmap_build(1000, r, n, &map);
                runtime_idmap_format(&map, buf, sizeof(buf));
                free(r);
        }
        hutch_error_clear(&err);
        if (runtime_idmap_parse(text, &map, &err) == 0) {
                uint32_t host;
                (void) runtime_idmap_to_host(&map, 1000, &host);
                (void) runtime_idmap_span(&map);
        }
        hutch_error_clear(&err);
        struct runtime_idmap proc;
        if (runtime_idmap_parse_proc(text, &proc) == 0) {
                if (!runtime_idmap_equal(&proc, &proc))
                        abort();
                runtime_idmap_format(&proc, buf, sizeof(buf));
        }
        free(text);
        return 0;
}

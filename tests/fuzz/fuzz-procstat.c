/* Fuzzes the parsers `hutch stats` and `hutch top` run over /proc and
 * cgroup files (cmd/procstat.c): a container's process chooses its own
 * comm, so /proc/PID/stat is not entirely the kernel's.  The first byte
 * chooses the parser; every result is checked for sanity. */
#include "config.h"

#include "cmd/procstat.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        uint8_t which = data[0];
        const char *buf = (const char *) data + 1;
        size--;

        switch (which % 5) {
        case 0: {
                struct cmd_procstat st;
                if (cmd_procstat_parse(buf, size, &st) == 0 && strlen(st.comm) >= sizeof(st.comm))
                        abort();
                break;
        }
        case 1: {
                uint64_t rx, tx;
                (void) cmd_netdev_parse(buf, size, &rx, &tx);
                break;
        }
        case 2: {
                static const char *const keys[] = { "Pss", "read_bytes", "MemTotal", "usage_usec", "inactive_file" };
                uint64_t v;
                int r = cmd_keyed_value(buf, size, keys[(which / 5) % 5], &v);
                if (r != 0 && r != -2 /* ENOENT */ && r != -22 /* EINVAL */)
                        abort();
                break;
        }
        case 3: {
                uint64_t rd, wr;
                cmd_iostat_parse(buf, size, &rd, &wr);
                break;
        }
        default: {
                uint64_t ns;
                (void) cmd_cpustat_parse(buf, size, 100, &ns);
                break;
        }
        }
        return 0;
}

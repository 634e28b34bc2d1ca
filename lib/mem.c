#include "config.h"

#include "mem.h"

#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* /proc/PID/pagemap (Documentation/admin-guide/mm/pagemap.rst): one 64-bit
 * entry per virtual page.  The flags stay readable without privileges. */
#define PAGEMAP_PRESENT             (UINT64_C(1) << 63)
#define PAGEMAP_FILE_OR_SHARED_ANON (UINT64_C(1) << 61)

struct run {
        uintptr_t start, end;
};

struct runs {
        struct run v[1024];
        size_t n;
};

static void add_run(struct runs *runs, uintptr_t start, uintptr_t end)
{
        if (runs->n < sizeof(runs->v) / sizeof(runs->v[0]))
                runs->v[runs->n++] = (struct run){ start, end };
}

/* Collects the runs of present pages in [start, end) that are still the
 * file's own (never copied on write). */
static void find_clean_file_pages(int pagemap, uintptr_t start, uintptr_t end, size_t page, struct runs *runs)
{
        uint64_t entries[512];
        uintptr_t run_start = 0;

        for (uintptr_t addr = start; addr < end;) {
                size_t want = (end - addr) / page;
                if (want > sizeof(entries) / sizeof(entries[0]))
                        want = sizeof(entries) / sizeof(entries[0]);
                ssize_t n = pread(pagemap, entries, want * sizeof(uint64_t), (off_t) (addr / page * sizeof(uint64_t)));
                if (n <= 0)
                        break;
                size_t got = (size_t) n / sizeof(uint64_t);
                for (size_t i = 0; i < got; i++, addr += page) {
                        bool clean = (entries[i] & PAGEMAP_PRESENT) && (entries[i] & PAGEMAP_FILE_OR_SHARED_ANON);
                        if (clean && run_start == 0)
                                run_start = addr;
                        if (!clean && run_start != 0) {
                                add_run(runs, run_start, addr);
                                run_start = 0;
                        }
                }
        }
        if (run_start != 0)
                add_run(runs, run_start, end);
}

size_t hutch_release_inherited_memory(void)
{
        static struct runs runs; /* no heap: the heap is trimmed first */
        _cleanup_fclose_ FILE *maps = NULL;
        _cleanup_close_ int pagemap = -1;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, dropped = 0;
        long page = sysconf(_SC_PAGESIZE);

        maps = fopen("/proc/self/maps", "re");
        pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (maps == NULL || pagemap < 0 || page <= 0)
                return 0;
        runs.n = 0;
        while (getline(&line, &cap, maps) > 0) {
                uintptr_t start, end;
                char perms[5];
                unsigned long inode;
                int path_at = 0;

                if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %*s %*s %lu %n", &start, &end, perms, &inode,
                           &path_at) < 4)
                        continue;
                /* Private, read-only, file-backed: text and read-only data.
                 * Writable mappings hold state; copied-on-write pages in the
                 * rest (relocated data made read-only) are skipped per page. */
                if (perms[1] == 'w' || perms[3] != 'p' || inode == 0 || line[path_at] != '/')
                        continue;
                find_clean_file_pages(pagemap, start, end, (size_t) page, &runs);
        }
        (void) malloc_trim(0);
        /* Last, with nothing in between: each page touched after this comes
         * back with its neighbours (the kernel's fault-around), so stdio and
         * the like must not run between the drops. */
        for (size_t i = 0; i < runs.n; i++)
                if (madvise((void *) runs.v[i].start, runs.v[i].end - runs.v[i].start, MADV_DONTNEED) == 0)
                        dropped += runs.v[i].end - runs.v[i].start;
        return dropped;
}

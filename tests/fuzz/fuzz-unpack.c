/* Fuzzes the layer unpacker: the input is a layer (any compression); it is
 * unpacked into a fresh directory that is then removed.  Caps are small so
 * that bombs end quickly. */
#include "config.h"

#include "lib/fs.h"
#include "storage/unpack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[] = "/tmp/fuzz-unpack-XXXXXX";

static void remove_base(void)
{
        (void) hutch_rm_rf_at(AT_FDCWD, base);
}

/* Entries of dir other than "." and "..". */
static int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (d == NULL)
                abort();
        while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static bool init;
        struct storage_unpack_options opts = {
                .max_bytes = 64 << 20,
                .max_entries = 10000,
        };
        struct storage_unpack_result res;
        struct hutch_error *err = NULL;

        if (!init) {
                if (mkdtemp(base) == NULL)
                        abort();
                atexit(remove_base);
                init = true;
        }
        if (mkdirat(AT_FDCWD, base, 0700) < 0 && errno != EEXIST)
                abort();
        char dest[sizeof(base) + 8];
        snprintf(dest, sizeof(dest), "%s/root", base);
        if (mkdir(dest, 0755) < 0)
                abort();
        int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* A memfd is a seekable fd like a file; the unpacker never seeks. */
        int in = memfd_create("layer", MFD_CLOEXEC);
        if (dfd < 0 || in < 0 || hutch_write_all(in, data, size) < 0 || lseek(in, 0, SEEK_SET) < 0)
                abort();
        (void) storage_layer_unpack(in, dfd, &opts, &res, &err);
        err = hutch_error_free(err);
        close(in);
        close(dfd);
        /* Nothing may appear next to the destination. */
        if (count_entries(base) != 1)
                abort();
        if (hutch_rm_rf_at(AT_FDCWD, dest) < 0)
                abort();
        if (rmdir(base) < 0)
                abort();
        return 0;
}

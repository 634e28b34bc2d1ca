/* Fuzzes the layer unpacker.  The input is either a layer as is (any
 * compression), or, when it starts with 'S', a script of entries that this
 * harness turns into a well-formed tar (so that the fuzzer spends its time on
 * the writer's path handling rather than on tar checksums):
 *
 *   S<type>|<name>|<target>\n...      type: f file, d dir, l symlink,
 *                                      h hardlink, p fifo, c char device
 *
 * Each layer is unpacked into BASE/root; BASE/sentinel/keep sits next to it
 * and must be untouched afterwards, and nothing else may appear in BASE.
 * Caps are small so that bombs end quickly.  Run with -dict=tests/fuzz/unpack.dict. */
#include "config.h"

#include "lib/fs.h"
#include "storage/unpack.h"

#include <archive.h>
#include <archive_entry.h>
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
static char root[64], sentinel[64], keep[80];

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

static void init(void)
{
        int fd;

        if (mkdtemp(base) == NULL)
                abort();
        atexit(remove_base);
        snprintf(root, sizeof(root), "%s/root", base);
        snprintf(sentinel, sizeof(sentinel), "%s/sentinel", base);
        snprintf(keep, sizeof(keep), "%s/keep", sentinel);
        if (mkdir(sentinel, 0755) < 0)
                abort();
        fd = open(keep, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, "keep", 4) != 4)
                abort();
        close(fd);
}

static void check_outside(void)
{
        struct stat st;
        char buf[8];
        int fd;

        if (count_entries(base) != 2 || count_entries(sentinel) != 1)
                abort();
        if (lstat(sentinel, &st) < 0 || (st.st_mode & 07777) != 0755)
                abort();
        if (lstat(keep, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_size != 4 ||
            (st.st_mode & 07777) != 0644)
                abort();
        fd = open(keep, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, buf, sizeof(buf)) != 4 || memcmp(buf, "keep", 4) != 0)
                abort();
        close(fd);
}

struct mem {
        unsigned char *p;
        size_t len, cap;
};

static la_ssize_t mem_write(struct archive *a, void *ud, const void *buf, size_t n)
{
        struct mem *m = ud;
        (void) a;
        if (m->len + n > m->cap) {
                m->cap = (m->len + n) * 2;
                m->p = realloc(m->p, m->cap);
                if (m->p == NULL)
                        abort();
        }
        memcpy(m->p + m->len, buf, n);
        m->len += n;
        return (la_ssize_t) n;
}

/* Turns the script into a tar in m; entries the writer refuses are dropped. */
static void build_script(const char *s, size_t len, struct mem *m)
{
        struct archive *a = archive_write_new();
        char *copy = malloc(len + 1), *save = NULL;

        if (a == NULL || copy == NULL)
                abort();
        memcpy(copy, s, len);
        copy[len] = '\0';
        archive_write_set_format_pax_restricted(a);
        archive_write_set_bytes_in_last_block(a, 1);
        if (archive_write_open(a, m, NULL, mem_write, NULL) != ARCHIVE_OK)
                abort();
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *name = strchr(line, '|');
                if (name == NULL || name == line)
                        continue;
                *name++ = '\0';
                char *target = strchr(name, '|');
                if (target)
                        *target++ = '\0';
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, name);
                archive_entry_set_perm(e, 0755);
                archive_entry_set_mtime(e, 1000, 0);
                size_t dlen = 0;
                switch (line[0]) {
                case 'd': archive_entry_set_filetype(e, AE_IFDIR); break;
                case 'l':
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, target ? target : "");
                        break;
                case 'h':
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, target ? target : "");
                        break;
                case 'p': archive_entry_set_filetype(e, AE_IFIFO); break;
                case 'c': archive_entry_set_filetype(e, AE_IFCHR); break;
                default:
                        archive_entry_set_filetype(e, AE_IFREG);
                        dlen = target ? strlen(target) : 0;
                        break;
                }
                archive_entry_set_size(e, (la_int64_t) dlen);
                if (archive_write_header(a, e) == ARCHIVE_OK && dlen)
                        (void) archive_write_data(a, target, dlen);
                archive_entry_free(e);
        }
        (void) archive_write_close(a);
        archive_write_free(a);
        free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static bool initialized;
        struct storage_unpack_options opts = {
                .max_bytes = 64 << 20,
                .max_entries = 10000,
        };
        struct storage_unpack_result res;
        struct hutch_error *err = NULL;
        struct mem m = { 0 };

        if (!initialized) {
                init();
                initialized = true;
        }
        if (mkdir(root, 0755) < 0)
                abort();
        int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* A memfd is a seekable fd like a file; the unpacker never seeks. */
        int in = memfd_create("layer", MFD_CLOEXEC);
        if (dfd < 0 || in < 0)
                abort();
        if (size > 0 && data[0] == 'S') {
                build_script((const char *) data + 1, size - 1, &m);
                data = m.p;
                size = m.len;
        }
        if ((size && hutch_write_all(in, data, size) < 0) || lseek(in, 0, SEEK_SET) < 0)
                abort();
        (void) storage_layer_unpack(in, dfd, &opts, &res, &err);
        err = hutch_error_free(err);
        free(m.p);
        close(in);
        close(dfd);
        check_outside();
        if (hutch_rm_rf_at(AT_FDCWD, root) < 0)
                abort();
        return 0;
}

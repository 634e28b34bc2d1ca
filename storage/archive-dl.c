/* libarchive, loaded when an archive or layer is first read or written.
 *
 * Linked into hutch, libarchive and what it brings (libxml2 and ICU,
 * liblzma, nettle, ...) cost every command milliseconds at start and the
 * container monitor memory, though only load, save, import and pulls use
 * it.  These definitions stand in for the entry points the storage code
 * calls and forward to the real library, opened with dlopen() on first
 * use.  A libarchive function the storage code starts to use must be added
 * here: the link fails with "undefined reference to archive_..." until it
 * is.  Generated from archive.h and archive_entry.h, then kept by hand. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

static void *archive_symbol(const char *name)
{
        static void *lib;
        if (lib == NULL)
                lib = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
        return lib ? dlsym(lib, name) : NULL;
}

#define LOAD(fn, name)                                             \
        do {                                                       \
                if ((fn) == NULL)                                  \
                        *(void **) (&(fn)) = archive_symbol(name); \
        } while (0)

/* The one variadic entry point: formatted here, passed on as "%s". */
void archive_set_error(struct archive *a, int error_number, const char *fmt, ...)
{
        static void (*fn)(struct archive *, int, const char *, ...);
        char msg[1024];
        va_list ap;

        LOAD(fn, "archive_set_error");
        if (fn == NULL)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        fn(a, error_number, "%s", msg);
}

time_t archive_entry_atime(struct archive_entry *a0)
{
        static time_t (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_atime");
        return fn ? fn(a0) : 0;
}

int archive_entry_atime_is_set(struct archive_entry *a0)
{
        static int (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_atime_is_set");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

long archive_entry_atime_nsec(struct archive_entry *a0)
{
        static long (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_atime_nsec");
        return fn ? fn(a0) : 0;
}

__LA_MODE_T archive_entry_filetype(struct archive_entry *a0)
{
        static __LA_MODE_T (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_filetype");
        return fn ? fn(a0) : 0;
}

void archive_entry_free(struct archive_entry *a0)
{
        static void (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_free");
        if (fn)
                fn(a0);
}

la_int64_t archive_entry_gid(struct archive_entry *a0)
{
        static la_int64_t (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_gid");
        return fn ? fn(a0) : 0;
}

const char *archive_entry_hardlink(struct archive_entry *a0)
{
        static const char *(*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_hardlink");
        return fn ? fn(a0) : NULL;
}

const char *archive_entry_hardlink_utf8(struct archive_entry *a0)
{
        static const char *(*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_hardlink_utf8");
        return fn ? fn(a0) : NULL;
}

time_t archive_entry_mtime(struct archive_entry *a0)
{
        static time_t (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_mtime");
        return fn ? fn(a0) : 0;
}

int archive_entry_mtime_is_set(struct archive_entry *a0)
{
        static int (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_mtime_is_set");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

long archive_entry_mtime_nsec(struct archive_entry *a0)
{
        static long (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_mtime_nsec");
        return fn ? fn(a0) : 0;
}

struct archive_entry *archive_entry_new(void)
{
        static struct archive_entry *(*fn)(void);
        LOAD(fn, "archive_entry_new");
        return fn ? fn() : NULL;
}

const char *archive_entry_pathname(struct archive_entry *a0)
{
        static const char *(*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_pathname");
        return fn ? fn(a0) : NULL;
}

const char *archive_entry_pathname_utf8(struct archive_entry *a0)
{
        static const char *(*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_pathname_utf8");
        return fn ? fn(a0) : NULL;
}

__LA_MODE_T archive_entry_perm(struct archive_entry *a0)
{
        static __LA_MODE_T (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_perm");
        return fn ? fn(a0) : 0;
}

void archive_entry_set_filetype(struct archive_entry *a0, unsigned int a1)
{
        static void (*fn)(struct archive_entry *, unsigned int);
        LOAD(fn, "archive_entry_set_filetype");
        if (fn)
                fn(a0, a1);
}

void archive_entry_set_mtime(struct archive_entry *a0, time_t a1, long a2)
{
        static void (*fn)(struct archive_entry *, time_t, long);
        LOAD(fn, "archive_entry_set_mtime");
        if (fn)
                fn(a0, a1, a2);
}

void archive_entry_set_pathname(struct archive_entry *a0, const char *a1)
{
        static void (*fn)(struct archive_entry *, const char *);
        LOAD(fn, "archive_entry_set_pathname");
        if (fn)
                fn(a0, a1);
}

void archive_entry_set_perm(struct archive_entry *a0, __LA_MODE_T a1)
{
        static void (*fn)(struct archive_entry *, __LA_MODE_T);
        LOAD(fn, "archive_entry_set_perm");
        if (fn)
                fn(a0, a1);
}

void archive_entry_set_size(struct archive_entry *a0, la_int64_t a1)
{
        static void (*fn)(struct archive_entry *, la_int64_t);
        LOAD(fn, "archive_entry_set_size");
        if (fn)
                fn(a0, a1);
}

la_int64_t archive_entry_size(struct archive_entry *a0)
{
        static la_int64_t (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_size");
        return fn ? fn(a0) : 0;
}

int archive_entry_size_is_set(struct archive_entry *a0)
{
        static int (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_size_is_set");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

const char *archive_entry_symlink(struct archive_entry *a0)
{
        static const char *(*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_symlink");
        return fn ? fn(a0) : NULL;
}

const char *archive_entry_symlink_utf8(struct archive_entry *a0)
{
        static const char *(*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_symlink_utf8");
        return fn ? fn(a0) : NULL;
}

la_int64_t archive_entry_uid(struct archive_entry *a0)
{
        static la_int64_t (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_uid");
        return fn ? fn(a0) : 0;
}

int archive_entry_xattr_next(struct archive_entry *a0, const char **a1, const void **a2, size_t *a3)
{
        static int (*fn)(struct archive_entry *, const char **, const void **, size_t *);
        LOAD(fn, "archive_entry_xattr_next");
        return fn ? fn(a0, a1, a2, a3) : ARCHIVE_FATAL;
}

void archive_entry_xattr_add_entry(struct archive_entry *a0, const char *a1, const void *a2, size_t a3)
{
        static void (*fn)(struct archive_entry *, const char *, const void *, size_t);
        LOAD(fn, "archive_entry_xattr_add_entry");
        if (fn)
                fn(a0, a1, a2, a3);
}

int archive_entry_xattr_reset(struct archive_entry *a0)
{
        static int (*fn)(struct archive_entry *);
        LOAD(fn, "archive_entry_xattr_reset");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

int archive_errno(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_errno");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

const char *archive_error_string(struct archive *a0)
{
        static const char *(*fn)(struct archive *);
        LOAD(fn, "archive_error_string");
        return fn ? fn(a0) : NULL;
}

int archive_filter_code(struct archive *a0, int a1)
{
        static int (*fn)(struct archive *, int);
        LOAD(fn, "archive_filter_code");
        return fn ? fn(a0, a1) : ARCHIVE_FATAL;
}

int archive_filter_count(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_filter_count");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

const char *archive_filter_name(struct archive *a0, int a1)
{
        static const char *(*fn)(struct archive *, int);
        LOAD(fn, "archive_filter_name");
        return fn ? fn(a0, a1) : NULL;
}

int archive_read_data_block(struct archive *a, const void **buff, size_t *size, la_int64_t *offset)
{
        static int (*fn)(struct archive * a, const void **buff, size_t *size, la_int64_t *offset);
        LOAD(fn, "archive_read_data_block");
        return fn ? fn(a, buff, size, offset) : ARCHIVE_FATAL;
}

int archive_read_free(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_read_free");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

struct archive *archive_read_new(void)
{
        static struct archive *(*fn)(void);
        LOAD(fn, "archive_read_new");
        return fn ? fn() : NULL;
}

int archive_read_next_header(struct archive *a0, struct archive_entry **a1)
{
        static int (*fn)(struct archive *, struct archive_entry **);
        LOAD(fn, "archive_read_next_header");
        return fn ? fn(a0, a1) : ARCHIVE_FATAL;
}

int archive_read_open(struct archive *a0, void *_client_data, archive_open_callback *a2, archive_read_callback *a3,
                      archive_close_callback *a4)
{
        static int (*fn)(struct archive *, void *_client_data, archive_open_callback *, archive_read_callback *,
                         archive_close_callback *);
        LOAD(fn, "archive_read_open");
        return fn ? fn(a0, _client_data, a2, a3, a4) : ARCHIVE_FATAL;
}

int archive_read_open_fd(struct archive *a0, int _fd, size_t _block_size)
{
        static int (*fn)(struct archive *, int _fd, size_t _block_size);
        LOAD(fn, "archive_read_open_fd");
        return fn ? fn(a0, _fd, _block_size) : ARCHIVE_FATAL;
}

int archive_read_support_filter_gzip(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_read_support_filter_gzip");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

int archive_read_support_filter_xz(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_read_support_filter_xz");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

int archive_read_support_filter_bzip2(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_read_support_filter_bzip2");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

int archive_read_support_filter_zstd(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_read_support_filter_zstd");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

int archive_read_support_format_raw(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_read_support_format_raw");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

int archive_read_support_format_tar(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_read_support_format_tar");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

int archive_write_close(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_write_close");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

la_ssize_t archive_write_data(struct archive *a0, const void *a1, size_t a2)
{
        static la_ssize_t (*fn)(struct archive *, const void *, size_t);
        LOAD(fn, "archive_write_data");
        return fn ? fn(a0, a1, a2) : 0;
}

int archive_write_free(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_write_free");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

int archive_write_header(struct archive *a0, struct archive_entry *a1)
{
        static int (*fn)(struct archive *, struct archive_entry *);
        LOAD(fn, "archive_write_header");
        return fn ? fn(a0, a1) : ARCHIVE_FATAL;
}

struct archive *archive_write_new(void)
{
        static struct archive *(*fn)(void);
        LOAD(fn, "archive_write_new");
        return fn ? fn() : NULL;
}

int archive_write_open2(struct archive *a0, void *a1, archive_open_callback *a2, archive_write_callback *a3,
                        archive_close_callback *a4, archive_free_callback *a5)
{
        static int (*fn)(struct archive *, void *, archive_open_callback *, archive_write_callback *,
                         archive_close_callback *, archive_free_callback *);
        LOAD(fn, "archive_write_open2");
        return fn ? fn(a0, a1, a2, a3, a4, a5) : ARCHIVE_FATAL;
}

int archive_write_open_fd(struct archive *a0, int _fd)
{
        static int (*fn)(struct archive *, int _fd);
        LOAD(fn, "archive_write_open_fd");
        return fn ? fn(a0, _fd) : ARCHIVE_FATAL;
}

int archive_write_set_bytes_in_last_block(struct archive *a0, int bytes_in_last_block)
{
        static int (*fn)(struct archive *, int bytes_in_last_block);
        LOAD(fn, "archive_write_set_bytes_in_last_block");
        return fn ? fn(a0, bytes_in_last_block) : ARCHIVE_FATAL;
}

int archive_write_set_format_pax_restricted(struct archive *a0)
{
        static int (*fn)(struct archive *);
        LOAD(fn, "archive_write_set_format_pax_restricted");
        return fn ? fn(a0) : ARCHIVE_FATAL;
}

void archive_entry_copy_stat(struct archive_entry *a0, const struct stat *a1)
{
        static void (*fn)(struct archive_entry *, const struct stat *);
        LOAD(fn, "archive_entry_copy_stat");
        if (fn)
                fn(a0, a1);
}

void archive_entry_set_symlink(struct archive_entry *a0, const char *a1)
{
        static void (*fn)(struct archive_entry *, const char *);
        LOAD(fn, "archive_entry_set_symlink");
        if (fn)
                fn(a0, a1);
}

void archive_entry_set_hardlink(struct archive_entry *a0, const char *a1)
{
        static void (*fn)(struct archive_entry *, const char *);
        LOAD(fn, "archive_entry_set_hardlink");
        if (fn)
                fn(a0, a1);
}

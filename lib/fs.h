/* Safe file helpers.  Leaf helpers return -errno and neither allocate nor
 * log unless their name says they do; every fd is opened O_CLOEXEC. */
#ifndef HUTCH_FS_H
#define HUTCH_FS_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes all of buf, retrying on EINTR and short writes. */
int hutch_write_all(int fd, const void *buf, size_t len);
/* Reads up to len bytes, retrying on EINTR and short reads; returns the
 * count (less than len only at end of file) or -errno. */
ssize_t hutch_read_full(int fd, void *buf, size_t len);
/* n_bytes random bytes (getrandom) as 2 * n_bytes lowercase hex digits:
 * container, volume and build names. */
char *hutch_random_hex(size_t n_bytes);

/* Reads a whole fd into a NUL-terminated buffer; -EFBIG past max bytes. */
int hutch_read_fd_alloc(int fd, size_t max, char **ret_buf, size_t *ret_len);
/* Reads a regular file (refusing devices and FIFOs) of at most max bytes. */
int hutch_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len,
                       struct hutch_error **err);

/* Writes a file under a temporary name, fsyncs it and renames it over name:
 * readers see the old or the new content, never a part. */
int hutch_write_file_atomic(int dirfd, const char *name, const void *buf, size_t len, mode_t mode,
                            struct hutch_error **err);

/* mkdir -p; existing directories are fine. */
int hutch_mkdir_p(const char *path, mode_t mode);
/* Removes name below dirfd recursively without following symlinks. */
int hutch_rm_rf_at(int dirfd, const char *name);

/* Opens path relative to rootfd, resolving every component (.., absolute
 * symlinks) as if rootfd were "/" so nothing outside it is ever reached:
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), or a component walk on
 * kernels without it.  Returns an fd or -errno. */
int hutch_open_in_root(int rootfd, const char *path, int flags, mode_t mode);
/* Creates the directories of path inside rootfd (as mkdir -p) and returns an
 * O_PATH|O_DIRECTORY fd for the last one, or -errno. */
int hutch_mkdir_p_in_root(int rootfd, const char *path, mode_t mode);
/* Forces the fallback walk in hutch_open_in_root (tests of the old-kernel path). */
void hutch_fs_disable_openat2(bool disable);

enum {
        HUTCH_COPY_OWNERS = 1 << 0,  /* keep owners too */
        HUTCH_COPY_REPLACE = 1 << 1, /* replace what is in the way (a file by a file; into a directory) */
};
/* Copies the contents of directory srcfd into dstfd (regular files,
 * directories, symlinks as links, FIFOs; never following a link), with
 * modes, and with owners with HUTCH_COPY_OWNERS.  Without
 * HUTCH_COPY_REPLACE an existing file is an error (EEXIST).  Returns -errno. */
int hutch_copy_tree(int srcfd, int dstfd, unsigned flags);
/* Copies the entry name of srcdir as dstdir/dstname the same way. */
int hutch_copy_entry(int srcdir, const char *name, int dstdir, const char *dstname, unsigned flags);

/* "/proc/self/fd/N" for fd into buf (at least 32 bytes). */
const char *hutch_fd_path(int fd, char *buf, size_t size);
/* True when path names an existing executable regular file. */
bool hutch_is_executable(const char *path);
/* Finds name in PATH-like search path; returns a malloc'd path or NULL. */
char *hutch_find_in_path(const char *name, const char *path);

#endif

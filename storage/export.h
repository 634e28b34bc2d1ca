/* Writing a directory tree as a tar stream (hutch export). */
#ifndef HUTCH_STORAGE_EXPORT_H
#define HUTCH_STORAGE_EXPORT_H

#include "lib/error.h"

#include <sys/types.h>

/* Writes the tree below dirfd (name NULL), or its entry name (a directory
 * with what is below it) under that name, to out_fd as a POSIX tar: owners,
 * modes, mtimes, symlinks and hardlinks kept; device nodes and sockets left
 * out; never following a symlink. */
int storage_export_tree(int dirfd, const char *name, int out_fd, struct hutch_error **err);

/* A tar stream written entry by entry (image layers: `hutch commit`):
 * the same entries as storage_export_tree() writes, plus the
 * security.capability xattr of regular files; a file hardlinked to one
 * written before becomes a hardlink entry. */
struct storage_tar_writer;
/* Writes to out_fd, or, when sink is not NULL, through sink(sink_data, ...)
 * (returning len, or -1 with errno set). */
int storage_tar_writer_new(int out_fd, ssize_t (*sink)(void *data, const void *buf, size_t len), void *sink_data,
                           struct storage_tar_writer **ret, struct hutch_error **err);
/* dirfd/name (never followed), stored as path (directories: "path/"); no
 * recursion.  Whiteouts, sockets and device nodes are left out. */
int storage_tar_writer_add(struct storage_tar_writer *w, int dirfd, const char *name, const char *path,
                           struct hutch_error **err);
/* An empty regular file (mode 0, owner 0:0): OCI whiteouts. */
int storage_tar_writer_add_empty(struct storage_tar_writer *w, const char *path, struct hutch_error **err);
/* Writes the end of the archive. */
int storage_tar_writer_finish(struct storage_tar_writer *w, struct hutch_error **err);
struct storage_tar_writer *storage_tar_writer_free(struct storage_tar_writer *w);

#include "lib/cleanup.h"
DEFINE_CLEANUP(struct storage_tar_writer *, storage_tar_writer_free)

#endif

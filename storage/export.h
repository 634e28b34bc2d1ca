/* Writing a directory tree as a tar stream (hutch export). */
#ifndef HUTCH_STORAGE_EXPORT_H
#define HUTCH_STORAGE_EXPORT_H

#include "lib/error.h"

/* Writes the tree below dirfd (name NULL), or its entry name (a directory
 * with what is below it) under that name, to out_fd as a POSIX tar: owners,
 * modes, mtimes, symlinks and hardlinks kept; device nodes and sockets left
 * out; never following a symlink. */
int storage_export_tree(int dirfd, const char *name, int out_fd, struct hutch_error **err);

#endif

/* Shared by archive.c (load) and archive-save.c (save): not for other modules. */
#ifndef HUTCH_STORAGE_ARCHIVE_INT_H
#define HUTCH_STORAGE_ARCHIVE_INT_H

#include "lib/error.h"

#include <archive.h>

#define STORAGE_ARCHIVE_IO_BLOCK (1u << 20)

/* Sets *err from libarchive's error; returns < 0. */
int storage_archive_fail(struct archive *a, struct hutch_error **err, const char *what);

#endif

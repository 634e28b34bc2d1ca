/* Progress of the blobs a pull or push copies, on standard error.
 *
 * On a terminal, one line per blob (its short digest, bytes done of the
 * total, the rate) redrawn in place at most ten times a second; the final
 * state stays on the screen.  Elsewhere, one plain line per blob when it is
 * done ("Copying blob sha256:0123456789ab done"), as podman prints.  Quiet:
 * nothing.  Safe to call from several threads. */
#ifndef HUTCH_CMD_PROGRESS_H
#define HUTCH_CMD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct progress;

/* tty: -1 to ask isatty(stderr) (and TERM != dumb), 0 or 1 to force. */
struct progress *progress_new(bool quiet, int tty);
struct progress *progress_free(struct progress *p);

/* A new line for "blob" or "config" digest of total bytes (< 0: unknown);
 * returns its index. */
size_t progress_add(struct progress *p, const char *what, const char *digest, int64_t total);
/* Bytes done so far of line i. */
void progress_set(struct progress *p, size_t i, uint64_t done);
/* Line i is finished: status "done" or "skipped: already exists". */
void progress_done(struct progress *p, size_t i, const char *status);
/* A message on its own line after the blobs so far (which stop moving). */
void progress_message(struct progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "12.3MiB" (exposed for tests). */
void progress_format_size(uint64_t n, char *buf, size_t len);

#endif

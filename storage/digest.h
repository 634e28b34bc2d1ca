/* Content digests: validation of untrusted digest strings and streaming
 * sha256 (OpenSSL EVP).  Only "sha256:" followed by exactly 64 lowercase
 * hex digits is a valid digest; anything else (other algorithms, uppercase,
 * "../", wrong length) is refused before it is used in a path or a URL. */
#ifndef HUTCH_STORAGE_DIGEST_H
#define HUTCH_STORAGE_DIGEST_H

#include "lib/error.h"

#include <stdbool.h>
#include <stddef.h>

#define STORAGE_DIGEST_PREFIX  "sha256:"
#define STORAGE_DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define STORAGE_DIGEST_BUFSIZE (sizeof(STORAGE_DIGEST_PREFIX) - 1 + STORAGE_DIGEST_HEX_LEN + 1)

/* True when s is exactly "sha256:" followed by 64 lowercase hex digits. */
bool storage_digest_valid(const char *s);
/* Same check on a buffer that is not NUL-terminated (an embedded NUL is invalid). */
bool storage_digest_valid_n(const char *s, size_t len);
/* True when s holds exactly len == 64 lowercase hex digits (an image ID). */
bool storage_digest_hex_valid_n(const char *s, size_t len);
/* The 64-digit hex part of a valid digest, or NULL when s is not valid. */
const char *storage_digest_hex(const char *s);

/* Streaming sha256.  new() aborts on OOM like xmalloc; final_hex() writes
 * "sha256:<hex>" and may be called once; free() accepts NULL and returns NULL. */
struct storage_sha256;
struct storage_sha256 *storage_sha256_new(void);
void storage_sha256_update(struct storage_sha256 *h, const void *buf, size_t len);
void storage_sha256_final_hex(struct storage_sha256 *h, char ret_digest[STORAGE_DIGEST_BUFSIZE]);
struct storage_sha256 *storage_sha256_free(struct storage_sha256 *h);

/* The same, computed by a worker thread so that hashing overlaps the
 * caller's work (decompressing, writing files).  update() copies the bytes
 * (it may wait while the worker is behind); final_hex() waits for the
 * worker.  Without threads it hashes inline.  free() accepts NULL and
 * returns NULL, and joins the worker if final_hex() was not called. */
struct storage_sha256_async;
struct storage_sha256_async *storage_sha256_async_new(void);
void storage_sha256_async_update(struct storage_sha256_async *h, const void *buf, size_t len);
void storage_sha256_async_final_hex(struct storage_sha256_async *h, char ret_digest[STORAGE_DIGEST_BUFSIZE]);
struct storage_sha256_async *storage_sha256_async_free(struct storage_sha256_async *h);
/* Zero-copy feeding: buffer() returns a buffer of *ret_size bytes to fill
 * (for example with read()), commit() hands the first len bytes of it to the
 * worker (len may be 0).  The buffer stays valid and unchanged until the
 * next buffer() call after that, so it can be lent to a reader meanwhile. */
void *storage_sha256_async_buffer(struct storage_sha256_async *h, size_t *ret_size);
void storage_sha256_async_commit(struct storage_sha256_async *h, size_t len);

/* "sha256:<hex>" of a whole buffer. */
void storage_digest_buffer(const void *buf, size_t len, char ret_digest[STORAGE_DIGEST_BUFSIZE]);
/* Hashes fd from its current position to end of file (pipes are fine). */
int storage_digest_fd(int fd, char ret_digest[STORAGE_DIGEST_BUFSIZE], struct hutch_error **err);
/* Hashes the regular file path below dirfd (symlinks are not followed). */
int storage_digest_file(int dirfd, const char *path, char ret_digest[STORAGE_DIGEST_BUFSIZE], struct hutch_error **err);

#endif

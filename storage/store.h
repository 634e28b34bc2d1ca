/* The image store on disk (see shared/design.md, "Storage"):
 *
 *   ROOT/                   mode 0700, made by cmd/ (cmd_ensure_private_dir)
 *     storage.lock          flock: shared by every command that reads or
 *                           adds, exclusive to remove layers and blobs
 *     blobs/sha256/<hex>    manifests, configs, layer blobs (verified)
 *     layers/<chain-hex>/   unpacked layer trees, shared between images
 *     images/images.json    image records (see images.h)
 *     images/images.lock    flock, exclusive while records change
 *     containers/<id>/
 *     tmp/                  staging: O_TMPFILE blobs, layers being unpacked
 *
 * Crash safety: nothing is visible under its final name before it is
 * complete (blobs are verified and fsynced before they are linked in,
 * layers are unpacked in tmp/ and renamed into layers/ once verified,
 * records are replaced atomically).  A command killed at any point leaves
 * at most files in tmp/, ".tmp-" names and unreferenced layers or blobs;
 * the next command that gets the exclusive lock without waiting removes
 * them (storage_store_open with STORAGE_STORE_WRITE).
 *
 * The kernel drops flock locks when a process dies, so a killed command
 * never blocks the next one. */
#ifndef HUTCH_STORAGE_STORE_H
#define HUTCH_STORAGE_STORE_H

#include "lib/cleanup.h"
#include "lib/error.h"
#include "storage/digest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct storage_store {
        char *root;  /* absolute path of the store */
        int root_fd; /* O_PATH|O_DIRECTORY */
        int lock_fd; /* storage.lock, holding a shared or exclusive flock */
        bool exclusive;
        int tmp_fd, blobs_fd, layers_fd, images_fd; /* the subdirectories */
};

enum storage_store_mode {
        STORAGE_STORE_READ = 0,  /* shared lock */
        STORAGE_STORE_WRITE,     /* shared lock; cleans leftovers when nobody else uses the store */
        STORAGE_STORE_EXCLUSIVE, /* exclusive lock, waiting for it; cleans leftovers */
};

/* Opens (creating its subdirectories) the store at root, which must exist,
 * and takes its lock.  Leftover cleaning needs to run where the layers'
 * owners are mapped (the storage user namespace). */
int storage_store_open(const char *root, enum storage_store_mode mode, struct storage_store **ret,
                       struct hutch_error **err);
struct storage_store *storage_store_free(struct storage_store *s);
DEFINE_CLEANUP(struct storage_store *, storage_store_free)

/* Converts the store lock.  With wait false, returns 0 (and keeps a shared
 * lock) when another command holds it; 1 when it was taken. */
int storage_store_lock_exclusive(struct storage_store *s, bool wait, struct hutch_error **err);
/* Removes what killed commands left behind (everything in tmp/, ".tmp-" names); needs
 * the exclusive lock. */
void storage_store_clean_leftovers(struct storage_store *s);
/* Calls fn for each of those leftovers (dir: "tmp", "layers", ... below
 * root; name: the entry in dirfd); meaningful only with the exclusive lock,
 * else they may be another command's work in progress. */
void storage_store_list_leftovers(struct storage_store *s,
                                  void (*fn)(int dirfd, const char *dir, const char *name, void *data), void *data);

/* Exclusive lock on the image records; returns an fd to close, or < 0. */
int storage_store_lock_records(struct storage_store *s, struct hutch_error **err);

/* Makes a fresh directory tmp/PREFIX-XXXXXX; returns its path below root
 * ("tmp/load-Ab12Cd") in *ret_rel. */
int storage_store_mkdtemp(struct storage_store *s, const char *prefix, char **ret_rel, struct hutch_error **err);
/* ROOT/rel */
char *storage_store_path(const struct storage_store *s, const char *rel);
/* ROOT/layers/<hex of chain id> */
char *storage_store_layer_path(const struct storage_store *s, const char *chain_id);
bool storage_store_layer_exists(const struct storage_store *s, const char *chain_id);

/* ---- blobs (storage/blobs.c) ---- */

#define STORAGE_BLOB_MAX_BYTES (UINT64_C(64) << 30)

/* A blob being written: an anonymous file in tmp/ (O_TMPFILE, or a named
 * temporary file where the filesystem has none), hashed while it streams. */
struct storage_blob_writer;

/* expected_digest may be NULL (the digest is learned at the end). */
int storage_blob_writer_new(struct storage_store *s, const char *expected_digest, struct storage_blob_writer **ret,
                            struct hutch_error **err);
int storage_blob_writer_write(struct storage_blob_writer *w, const void *buf, size_t len, struct hutch_error **err);
/* Ends the stream: computes the digest and checks it against the expected
 * one (-EBADMSG on a mismatch).  The data stays staged: not in blobs/ yet. */
int storage_blob_writer_finish(struct storage_blob_writer *w, struct hutch_error **err);
const char *storage_blob_writer_digest(const struct storage_blob_writer *w); /* after finish */
uint64_t storage_blob_writer_size(const struct storage_blob_writer *w);
/* A new fd reading the staged data from its start. */
int storage_blob_writer_reopen(struct storage_blob_writer *w, struct hutch_error **err);
/* fsyncs the staged data and links it in as blobs/sha256/<hex> (a blob
 * already there is kept: it has the same content). */
int storage_blob_writer_commit(struct storage_blob_writer *w, struct hutch_error **err);
/* Discards what was not committed; accepts NULL. */
struct storage_blob_writer *storage_blob_writer_free(struct storage_blob_writer *w);
DEFINE_CLEANUP(struct storage_blob_writer *, storage_blob_writer_free)

/* Stores a whole buffer as a blob; *ret_digest gets its digest. */
int storage_blob_put(struct storage_store *s, const void *buf, size_t len, char ret_digest[STORAGE_DIGEST_BUFSIZE],
                     struct hutch_error **err);
bool storage_blob_exists(struct storage_store *s, const char *digest);
/* Opens blobs/sha256/<hex> read-only; *ret_size gets its size (may be NULL). */
int storage_blob_open(struct storage_store *s, const char *digest, uint64_t *ret_size, struct hutch_error **err);
/* Reads a blob of at most max bytes and checks it still has its digest. */
int storage_blob_read(struct storage_store *s, const char *digest, size_t max, char **ret_buf, size_t *ret_len,
                      struct hutch_error **err);
/* Reads a blob the store verified when it wrote it, checking only that it
 * still has the size recorded beside its digest.  For `hutch run`, which
 * reads an image's config each time: hashing it would load libcrypto
 * (about 1 ms, and 400 kB of every monitor's private memory) to guard
 * against nothing a 0700 store needs guarding from.  Anything that hands a
 * blob on (save, push, inspect) uses storage_blob_read. */
int storage_blob_read_stored(struct storage_store *s, const char *digest, uint64_t size, size_t max, char **ret_buf,
                             size_t *ret_len, struct hutch_error **err);
int storage_blob_remove(struct storage_store *s, const char *digest);

#endif

/* Streaming, confined unpacking of image layers.
 *
 * storage_layer_unpack() reads one layer (a tar, plain or gzip- or
 * zstd-compressed, detected from its bytes) from an fd that may be a pipe,
 * and writes its entries below dest_dirfd with our own writer:
 *
 *  - every path is resolved inside dest_dirfd only (openat2 RESOLVE_IN_ROOT,
 *    or a component walk on old kernels): "..", absolute names, symlinked
 *    parents and hardlink targets can never reach outside it; the leaf itself
 *    is never followed (a symlink there is replaced, not written through);
 *  - OCI whiteouts become overlay whiteouts: ".wh.NAME" a 0:0 character
 *    device NAME (an empty ".wh.NAME" file when mknod is refused, as
 *    fuse-overlayfs reads), ".wh..wh..opq" the opaque xattr ("y") on its
 *    directory.  A whiteout hides lower layers only: an entry of the same
 *    layer is kept (a directory of that name is made opaque instead), so a
 *    whiteout never deletes anything.  A malformed whiteout (".wh.",
 *    ".wh..", ".wh...", ".wh..wh.", one used as a directory, or one below
 *    a symlink) is an error.  Other ".wh..wh.*" aufs metadata is skipped;
 *  - ownership, modes (setuid/setgid too), mtimes, xattrs and file
 *    capabilities are kept.  Run it inside a user namespace with the
 *    container's ID map to own files by container IDs.  An owner that cannot
 *    be set (EINVAL: not in the map; EPERM: no privilege) is recorded in the
 *    "user.containers.override_stat" xattr ("uid:gid:0mode", read by
 *    fuse-overlayfs) instead.  Overlay and override xattrs found in the
 *    archive (trusted.overlay.*, user.overlay.*, user.containers.*,
 *    user.fuseoverlayfs.*) are dropped;
 *  - FIFOs are created; device nodes and sockets are skipped and counted
 *    (the caller warns the user once, from devices_skipped);
 *  - sizes are capped (see the options), sparse files stay sparse but count
 *    by their apparent size, so bombs and huge sparse entries stop with an
 *    error; libarchive itself refuses pax/GNU special headers over 1 MiB.
 *    Only built-in decompressors are used, never an external program.
 *
 * Hashing runs in two worker threads, joined before returning; the caller
 * may fork afterwards.  Needs /proc mounted (xattrs on symlinks and FIFOs,
 * directory modes are set through /proc/self/fd).
 *
 * While streaming it computes the sha256 of the input as read (the blob
 * digest, checked against expected_digest when given) and of the
 * uncompressed tar (the diff ID).  The whole input is always consumed.
 *
 * CONTRACT: on failure dest_dirfd holds a partial tree that must not be
 * trusted.  Unpack into a fresh temporary directory and rename it into place
 * only on success; storage_layer_unpack_dir() does exactly that. */
#ifndef HUTCH_STORAGE_UNPACK_H
#define HUTCH_STORAGE_UNPACK_H

#include "lib/error.h"
#include "storage/digest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORAGE_UNPACK_DEFAULT_MAX_BYTES       (UINT64_C(64) << 30) /* 64 GiB */
#define STORAGE_UNPACK_DEFAULT_MAX_ENTRIES     (UINT64_C(4) << 20)  /* 4 Mi entries */
#define STORAGE_UNPACK_DEFAULT_MAX_PATH        4096
#define STORAGE_UNPACK_DEFAULT_MAX_XATTR_BYTES (1 << 20) /* per entry, names + values */

enum storage_compression {
        STORAGE_COMPRESSION_UNKNOWN = 0,
        STORAGE_COMPRESSION_NONE,
        STORAGE_COMPRESSION_GZIP,
        STORAGE_COMPRESSION_ZSTD,
};

enum storage_whiteout_format {
        /* 0:0 char devices + opaque xattr; falls back to ".wh." files per
         * entry when mknod or the xattr is refused. */
        STORAGE_WHITEOUT_OVERLAY = 0,
        /* Keep ".wh.NAME" and ".wh..wh..opq" as empty regular files (for
         * fuse-overlayfs or a later copy), after validating them. */
        STORAGE_WHITEOUT_AUFS,
};

struct storage_unpack_options {
        /* "sha256:<hex>" the input's bytes must hash to, or NULL. */
        const char *expected_digest;
        /* Caps on untrusted input; 0 picks the default. max_bytes bounds the
         * uncompressed tar stream, the sum of entries' apparent sizes and the
         * compressed input. */
        uint64_t max_bytes;
        uint64_t max_entries;
        size_t max_path;        /* entry names and link targets, in bytes */
        size_t max_xattr_bytes; /* per entry (also bounds PAX xattr records) */
        enum storage_whiteout_format whiteouts;
        /* Name of the opaque xattr: NULL = "user.overlay.opaque" (overlay
         * with userxattr, inside a user namespace); pass
         * "trusted.overlay.opaque" when real root mounts without userxattr. */
        const char *opaque_xattr;
        /* Never chown: files stay owned by the caller and every entry's
         * owner and mode go into user.containers.override_stat. */
        bool no_chown;
        /* Also read xz and bzip2 (libarchive's built-in readers): archives
         * a user names (build's ADD), never image layers. */
        bool any_compression;
        /* Every entry gets this owner instead of the archive's (build's
         * ADD --chown on an extracted archive, as Docker's). */
        bool set_owner;
        uint32_t owner_uid, owner_gid;
};

struct storage_unpack_result {
        char digest[STORAGE_DIGEST_BUFSIZE];  /* sha256 of the input as read */
        char diff_id[STORAGE_DIGEST_BUFSIZE]; /* sha256 of the uncompressed tar */
        enum storage_compression compression;
        uint64_t compressed_size;    /* bytes read from in_fd */
        uint64_t uncompressed_size;  /* bytes of the tar stream */
        uint64_t entries;            /* archive entries processed */
        uint64_t whiteouts;          /* whiteouts and opaque markers written */
        uint64_t whiteout_fallbacks; /* of those, written as ".wh." files */
        uint64_t devices_skipped;    /* device nodes and sockets skipped */
        uint64_t xattrs_dropped;     /* overlay/override xattrs stripped */
        uint64_t xattrs_failed;      /* xattrs the filesystem or kernel refused */
        uint64_t owner_overrides;    /* owners recorded in override_stat */
};

/* Unpacks the layer read from in_fd into dest_dirfd (see above).  ret may
 * be NULL; on success it is filled in.  Returns 0 or < 0 with *err set. */
int storage_layer_unpack(int in_fd, int dest_dirfd, const struct storage_unpack_options *opts,
                         struct storage_unpack_result *ret, struct hutch_error **err);

/* Unpacks into "FINAL_PATH.tmp-XXXXXX" (same parent, mode 0755) and renames
 * it to final_path only on success; on failure the temporary directory is
 * removed.  final_path must not exist: -EEXIST if it does (for example when
 * another process unpacked the same layer first).  A process killed midway
 * leaves only a ".tmp-" directory, which storage_layer_tmp_name_is() lets a
 * later command recognise and remove. */
int storage_layer_unpack_dir(int in_fd, const char *final_path, const struct storage_unpack_options *opts,
                             struct storage_unpack_result *ret, struct hutch_error **err);

/* True when name (a file name, not a path) is a temporary directory left by
 * storage_layer_unpack_dir(). */
bool storage_layer_tmp_name_is(const char *name);

const char *storage_compression_name(enum storage_compression c);

#endif

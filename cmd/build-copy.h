/* COPY and ADD of `hutch build`: the files a step puts in the image, as a
 * tar stream that the layer unpacker writes into the container's root
 * (confined there: cmd/cmd-build.c), and a digest of their names,
 * metadata and content for the build cache.
 *
 * Sources are read below src_root only: each path is cleaned ("..", a
 * leading "/": "../x" is an error), looked up with every component
 * resolved inside src_root (hutch_open_in_root), and nothing is followed
 * through a symlink: a link is copied as a link.  Wildcards match one
 * component each (Go's filepath.Match rules), .dockerignore'd files are
 * neither matched nor copied. */
#ifndef HUTCH_CMD_BUILD_COPY_H
#define HUTCH_CMD_BUILD_COPY_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"
#include "storage/digest.h"

struct dockerignore;
struct build_url_set;

struct build_copy {
        const char *what;                  /* "COPY" or "ADD", for messages */
        int src_root;                      /* directory fd: the context, or another image's root */
        const struct dockerignore *ignore; /* for the context, or NULL */
        char *const *sources;              /* expanded, relative to src_root */
        const char *dest;                  /* absolute path in the image */
        bool dest_slash;                   /* dest was written with a trailing '/' */
        bool dest_is_dir;                  /* dest_slash, or dest is a directory in the image */
        bool add;                          /* ADD: local tar archives are extracted into dest */
        bool set_owner;
        uid_t uid;
        gid_t gid;
        bool set_mode;
        mode_t mode;
        /* ADD: the URL sources' downloads (cmd/build-url.h), or NULL; a URL
         * source becomes a file of mode 0600, never extracted */
        const struct build_url_set *urls;
};

/* Writes the tar to out_fd (< 0: only computes the digest).  ADD's archive
 * sources are not in the tar: their paths (relative to src_root) are
 * returned in *ret_archives (may be NULL when not add) for the caller to
 * unpack into dest.  Errors name the source as Docker's do ("file not found
 * in build context or excluded by .dockerignore"). */
int build_copy_write(const struct build_copy *c, int out_fd, char ret_digest[STORAGE_DIGEST_BUFSIZE],
                     char ***ret_archives, struct hutch_error **err);

/* Is the file (an open regular file) an archive ADD extracts: a plain tar,
 * or a gzip, zstd, xz or bzip2 one with a tar-like name? */
bool build_copy_is_archive(int fd, const char *name);

#endif

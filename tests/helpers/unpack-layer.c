/* unpack-layer: unpacks one layer file (or stdin) with storage_layer_unpack,
 * for benchmarks and manual checks.
 *
 *   unpack-layer [-d DIGEST] [--dir] [-v] LAYER|- DEST
 *
 * DEST must be an existing directory, unless --dir is given: then DEST must
 * not exist and is created through storage_layer_unpack_dir().  Prints the
 * digest, diff ID and counters on success. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/log.h"
#include "storage/unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        struct storage_unpack_options opts = { 0 };
        struct storage_unpack_result res;
        struct hutch_error *err = NULL;
        bool as_dir = false;
        int i = 1, r;
        _cleanup_close_ int in = -1, dest = -1;

        hutch_log_setup("unpack-layer", HUTCH_LOG_WARN, HUTCH_LOG_TEXT, STDERR_FILENO);
        for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
                if (STREQ(argv[i], "-d") && i + 1 < argc)
                        opts.expected_digest = argv[++i];
                else if (STREQ(argv[i], "--dir"))
                        as_dir = true;
                else if (STREQ(argv[i], "-v"))
                        hutch_log_set_level(HUTCH_LOG_DEBUG);
                else
                        break;
        }
        if (argc - i != 2) {
                fprintf(stderr, "usage: unpack-layer [-d DIGEST] [--dir] [-v] LAYER|- DEST\n");
                return 2;
        }
        in = STREQ(argv[i], "-") ? dup(STDIN_FILENO) : open(argv[i], O_RDONLY | O_CLOEXEC);
        if (in < 0) {
                fprintf(stderr, "unpack-layer: open '%s': %s\n", argv[i], strerror(errno));
                return 1;
        }
        if (as_dir) {
                r = storage_layer_unpack_dir(in, argv[i + 1], &opts, &res, &err);
        } else {
                dest = open(argv[i + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dest < 0) {
                        fprintf(stderr, "unpack-layer: open '%s': %s\n", argv[i + 1], strerror(errno));
                        return 1;
                }
                r = storage_layer_unpack(in, dest, &opts, &res, &err);
        }
        if (r < 0) {
                fprintf(stderr, "unpack-layer: %s\n", err ? err->msg : "failed");
                hutch_error_free(err);
                return 1;
        }
        printf("digest %s\ndiff_id %s\ncompression %s\ncompressed %" PRIu64 "\nuncompressed %" PRIu64
               "\nentries %" PRIu64 "\nwhiteouts %" PRIu64 "\nwhiteout_fallbacks %" PRIu64 "\ndevices_skipped %" PRIu64
               "\nxattrs_dropped %" PRIu64 "\nxattrs_failed %" PRIu64 "\nowner_overrides %" PRIu64 "\n",
               res.digest, res.diff_id, storage_compression_name(res.compression), res.compressed_size,
               res.uncompressed_size, res.entries, res.whiteouts, res.whiteout_fallbacks, res.devices_skipped,
               res.xattrs_dropped, res.xattrs_failed, res.owner_overrides);
        return 0;
}

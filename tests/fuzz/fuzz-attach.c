/* Fuzzes the attach protocol (cmd/attach-proto.c): the frame parser that
 * both the monitor and `hutch attach` run over their peer's bytes, the
 * --detach-keys parser and the detach-key watcher over typed input.  The
 * first byte chooses; every result is checked for sanity. */
#include "config.h"

#include "cmd/attach-proto.h"
#include "lib/error.h"
#include "lib/xalloc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        uint8_t which = data[0];
        data++;
        size--;

        switch (which % 3) {
        case 0: {
                /* a stream of frames, as a peer would send it */
                size_t off = 0;
                for (;;) {
                        struct cmd_attach_frame f;
                        int k = cmd_attach_frame_parse(data + off, size - off, &f);
                        if (k <= 0)
                                break;
                        if ((size_t) k > size - off || f.len > CMD_ATTACH_MAX_PAYLOAD ||
                            f.payload != data + off + CMD_ATTACH_HEADER_LEN ||
                            (size_t) k != CMD_ATTACH_HEADER_LEN + f.len)
                                abort();
                        off += (size_t) k;
                }
                break;
        }
        case 1: {
                char *s = xstrndup((const char *) data, size);
                uint8_t keys[CMD_DETACH_KEYS_MAX];
                size_t n = 0;
                struct hutch_error *err = NULL;
                if (cmd_detach_keys_parse(s, keys, &n, &err) == 0) {
                        if (n > CMD_DETACH_KEYS_MAX || err != NULL)
                                abort();
                } else if (err == NULL) {
                        abort();
                }
                hutch_error_free(err);
                free(s);
                break;
        }
        default: {
                /* keys from the first bytes, then input fed in odd-sized pieces */
                if (size < 2)
                        return 0;
                struct cmd_detach_state st = { .n_keys = (size_t) (data[0] % 4) + 1 };
                memcpy(st.keys, data + 1, st.n_keys > size - 1 ? size - 1 : st.n_keys);
                size_t off = 1 + st.n_keys > size ? size : 1 + st.n_keys, total = 0;
                uint8_t out[64 + CMD_DETACH_KEYS_MAX];
                bool detach = false;
                while (off < size && !detach) {
                        size_t piece = (size_t) (data[off] % 64) + 1;
                        if (piece > size - off)
                                piece = size - off;
                        size_t o = cmd_detach_feed(&st, data + off, piece, out, &detach);
                        if (o > piece + CMD_DETACH_KEYS_MAX || st.matched >= st.n_keys)
                                abort();
                        total += o;
                        off += piece;
                }
                if (total > size)
                        abort();
                break;
        }
        }
        return 0;
}

/* The attach protocol between a detached container's monitor and `hutch
 * attach`, over the unix socket RUNROOT/<id>/attach, and the detach keys.
 *
 * Every message is a frame: a 1-byte type, a 4-byte big-endian payload
 * length, then the payload (at most CMD_ATTACH_MAX_PAYLOAD bytes).
 *
 *   monitor -> client
 *     HELLO   2 bytes: tty (0/1), stdin open (0/1); always the first frame
 *     STDOUT  output (a terminal's output is STDOUT)
 *     STDERR  output
 *     EXIT    4 bytes: the container's exit code (big-endian); then close
 *     ERROR   a message (no NUL); then close
 *   client -> monitor
 *     STDIN   input for the terminal or the container's stdin pipe
 *     EOF     the client's input ended
 *     RESIZE  4 bytes: rows, columns (2 bytes each, big-endian)
 *     SIGNAL  1 byte: a signal for the container (sig-proxy)
 *
 * Both sides treat the peer's frames as untrusted: a wrong length or an
 * unknown type ends the connection. */
#ifndef HUTCH_CMD_ATTACH_PROTO_H
#define HUTCH_CMD_ATTACH_PROTO_H

#include "lib/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMD_ATTACH_HEADER_LEN   5
#define CMD_ATTACH_MAX_PAYLOAD  32768
#define CMD_ATTACH_SOCKET_NAME  "attach"
#define CMD_DETACH_KEYS_MAX     16
#define CMD_DETACH_KEYS_DEFAULT "ctrl-p,ctrl-q"

enum cmd_attach_type {
        CMD_ATTACH_HELLO = 1,
        CMD_ATTACH_STDOUT = 2,
        CMD_ATTACH_STDERR = 3,
        CMD_ATTACH_EXIT = 4,
        CMD_ATTACH_ERROR = 5,
        CMD_ATTACH_STDIN = 16,
        CMD_ATTACH_EOF = 17,
        CMD_ATTACH_RESIZE = 18,
        CMD_ATTACH_SIGNAL = 19,
};

struct cmd_attach_frame {
        enum cmd_attach_type type;
        const uint8_t *payload; /* points into the parsed buffer */
        size_t len;
};

/* Parses the frame at the start of buf.  Returns the bytes it takes (> 0),
 * 0 when buf holds only part of it, or -EBADMSG for a frame no peer may
 * send (unknown type, too long, a fixed-size payload of the wrong size). */
int cmd_attach_frame_parse(const uint8_t *buf, size_t len, struct cmd_attach_frame *ret);
/* Writes the header of a frame of type with len bytes of payload into hdr. */
void cmd_attach_frame_header(uint8_t hdr[CMD_ATTACH_HEADER_LEN], enum cmd_attach_type type, size_t len);

/* Docker's --detach-keys: comma-separated keys, each a single character or
 * ctrl-X with X one of a-z @ [ \ ] ^ _ ; "" disables detaching.  Fills
 * ret_keys (CMD_DETACH_KEYS_MAX bytes) and *ret_n, or sets err. */
int cmd_detach_keys_parse(const char *spec, uint8_t *ret_keys, size_t *ret_n, struct hutch_error **err);

/* Watches the user's input for the detach sequence.  Bytes that might
 * start it are held back until the next keystroke decides. */
struct cmd_detach_state {
        uint8_t keys[CMD_DETACH_KEYS_MAX];
        size_t n_keys;
        size_t matched; /* how many keys of the sequence the input just typed */
};
/* Copies in to out (which has room for n + CMD_DETACH_KEYS_MAX bytes),
 * less what may be the detach sequence; returns the bytes in out.  Sets
 * *ret_detach once the whole sequence was typed (what follows it is
 * dropped). */
size_t cmd_detach_feed(struct cmd_detach_state *st, const uint8_t *in, size_t n, uint8_t *out, bool *ret_detach);

#endif

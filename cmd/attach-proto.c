#include "config.h"

#include "cmd/attach-proto.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

int cmd_attach_frame_parse(const uint8_t *buf, size_t len, struct cmd_attach_frame *ret)
{
        if (len < CMD_ATTACH_HEADER_LEN)
                return 0;
        uint32_t n = (uint32_t) buf[1] << 24 | (uint32_t) buf[2] << 16 | (uint32_t) buf[3] << 8 | buf[4];
        size_t want;

        switch (buf[0]) {
        case CMD_ATTACH_HELLO: want = 2; break;
        case CMD_ATTACH_EXIT:
        case CMD_ATTACH_RESIZE: want = 4; break;
        case CMD_ATTACH_SIGNAL: want = 1; break;
        case CMD_ATTACH_EOF: want = 0; break;
        case CMD_ATTACH_STDOUT:
        case CMD_ATTACH_STDERR:
        case CMD_ATTACH_ERROR:
        case CMD_ATTACH_STDIN: want = SIZE_MAX; break;
        default: return -EBADMSG;
        }
        if (n > CMD_ATTACH_MAX_PAYLOAD || (want != SIZE_MAX && n != want))
                return -EBADMSG;
        if (len - CMD_ATTACH_HEADER_LEN < n)
                return 0;
        ret->type = (enum cmd_attach_type) buf[0];
        ret->payload = buf + CMD_ATTACH_HEADER_LEN;
        ret->len = n;
        return (int) (CMD_ATTACH_HEADER_LEN + n);
}

void cmd_attach_frame_header(uint8_t hdr[CMD_ATTACH_HEADER_LEN], enum cmd_attach_type type, size_t len)
{
        hdr[0] = (uint8_t) type;
        hdr[1] = (uint8_t) (len >> 24);
        hdr[2] = (uint8_t) (len >> 16);
        hdr[3] = (uint8_t) (len >> 8);
        hdr[4] = (uint8_t) len;
}

/* The control code of ctrl-X, or -1. */
static int ctrl_code(char x)
{
        if (x >= 'a' && x <= 'z')
                return x - 'a' + 1;
        if (x >= 'A' && x <= 'Z')
                return x - 'A' + 1;
        const char *specials = "@[\\]^_";
        const char *p = x ? strchr(specials, x) : NULL;
        return p ? (int) (p - specials) + (p == specials ? 0 : 26) : -1;
}

int cmd_detach_keys_parse(const char *spec, uint8_t *ret_keys, size_t *ret_n, struct hutch_error **err)
{
        uint8_t keys[CMD_DETACH_KEYS_MAX];
        size_t n = 0;
        const char *p = spec;

        if (*spec == '\0') {
                *ret_n = 0; /* detaching is off */
                return 0;
        }
        for (;;) {
                const char *end = strchrnul(p, ',');
                size_t len = (size_t) (end - p);
                int code = -1;

                if (len == 1)
                        code = (unsigned char) p[0];
                else if (len == 6 && strncasecmp(p, "ctrl-", 5) == 0)
                        code = ctrl_code(p[5]);
                if (code < 0)
                        return hutch_error_set(err, 0,
                                               "invalid detach keys '%s': use single characters or ctrl-X (X one "
                                               "of a-z @ [ \\ ] ^ _), separated by commas",
                                               spec);
                if (n == CMD_DETACH_KEYS_MAX)
                        return hutch_error_set(err, 0, "invalid detach keys '%s': at most %d keys", spec,
                                               CMD_DETACH_KEYS_MAX);
                keys[n++] = (uint8_t) code;
                if (*end == '\0')
                        break;
                p = end + 1;
        }
        memcpy(ret_keys, keys, n);
        *ret_n = n;
        return 0;
}

static void feed_byte(struct cmd_detach_state *st, uint8_t c, uint8_t *out, size_t *o, bool *detach)
{
        for (;;) {
                if (c == st->keys[st->matched]) {
                        if (++st->matched == st->n_keys) {
                                st->matched = 0;
                                *detach = true;
                        }
                        return;
                }
                if (st->matched == 0) {
                        out[(*o)++] = c;
                        return;
                }
                /* The held keys were not the sequence after all: the first
                 * goes out, the rest may still start it (keys like a,a,b). */
                uint8_t again[CMD_DETACH_KEYS_MAX];
                size_t k = st->matched - 1;
                memcpy(again, st->keys + 1, k);
                out[(*o)++] = st->keys[0];
                st->matched = 0;
                for (size_t i = 0; i < k && !*detach; i++)
                        feed_byte(st, again[i], out, o, detach);
                if (*detach)
                        return;
        }
}

size_t cmd_detach_feed(struct cmd_detach_state *st, const uint8_t *in, size_t n, uint8_t *out, bool *ret_detach)
{
        size_t o = 0;
        bool detach = false;

        if (st->n_keys == 0) {
                memcpy(out, in, n);
                return n;
        }
        for (size_t i = 0; i < n && !detach; i++)
                feed_byte(st, in[i], out, &o, &detach);
        if (detach)
                *ret_detach = true;
        return o;
}

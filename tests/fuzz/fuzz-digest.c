/* Fuzzes digest validation and the streaming sha256 against the one-shot one. */
#include "config.h"

#include "storage/digest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        char a[STORAGE_DIGEST_BUFSIZE], b[STORAGE_DIGEST_BUFSIZE];

        if (s == NULL)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        bool valid = storage_digest_valid(s);
        bool valid_n = storage_digest_valid_n((const char *) data, size);
        /* A buffer with an embedded NUL is never valid; otherwise both agree. */
        if (memchr(data, '\0', size) == NULL && valid != valid_n)
                abort();
        if (valid_n && !valid)
                abort();
        const char *hex = storage_digest_hex(s);
        if ((hex != NULL) != valid || (hex && strlen(hex) != STORAGE_DIGEST_HEX_LEN))
                abort();
        if (valid && (strstr(s, "..") || strchr(s + 7, '/') || strlen(s) != 71))
                abort();

        /* Streamed in uneven pieces == one shot, and the result is valid. */
        struct storage_sha256 *h = storage_sha256_new();
        size_t off = 0, step = size ? (size_t) data[0] % 17 + 1 : 1;
        while (off < size) {
                size_t n = size - off < step ? size - off : step;
                storage_sha256_update(h, data + off, n);
                off += n;
        }
        storage_sha256_final_hex(h, a);
        storage_sha256_free(h);
        storage_digest_buffer(data, size, b);
        if (strcmp(a, b) != 0 || !storage_digest_valid(a))
                abort();
        free(s);
        return 0;
}

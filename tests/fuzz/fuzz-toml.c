/* libFuzzer target: the TOML parser and registries.conf on top of it.
 * Anything may be refused; nothing may crash, leak or read out of bounds. */
#include "config.h"

#include "lib/error.h"
#include "storage/registries.h"
#include "storage/toml.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct hutch_error *err = NULL;
        struct toml_value *v = NULL;
        struct registries_conf *c;

        if (toml_parse((const char *) data, size, &v, &err) == 0)
                toml_free(v);
        hutch_error_free(err);
        err = NULL;

        c = registries_conf_new();
        (void) registries_conf_parse(c, (const char *) data, size, "fuzz", &err);
        hutch_error_free(err);
        registries_conf_free(c);
        return 0;
}

/* Capabilities.  (Placeholder until the security work lands.) */
#include "config.h"

#include "runtime/caps.h"

#include <errno.h>
#include <linux/capability.h>

uint64_t runtime_caps_default(void)
{
        return (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER) | (1ULL << CAP_FSETID) |
               (1ULL << CAP_KILL) | (1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_SETFCAP) | (1ULL << CAP_SETGID) |
               (1ULL << CAP_SETPCAP) | (1ULL << CAP_SETUID) | (1ULL << CAP_SYS_CHROOT);
}

uint64_t runtime_caps_all(void)
{
        return (1ULL << (CAP_LAST_CAP + 1)) - 1;
}

int runtime_caps_from_name(const char *name)
{
        (void) name;
        return -EINVAL;
}

int runtime_caps_adjust(uint64_t *caps, char *const *add, char *const *drop, struct hutch_error **err)
{
        (void) caps;
        (void) add;
        (void) drop;
        (void) err;
        return 0;
}

int runtime_caps_drop_bounding(uint64_t caps)
{
        (void) caps;
        return 0;
}

int runtime_caps_apply(uint64_t caps, bool is_root)
{
        (void) caps;
        (void) is_root;
        return 0;
}

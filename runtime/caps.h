/* Capabilities (libcap).  Pure helpers are unit tested; runtime_caps_apply
 * runs in the child between clone and exec. */
#ifndef HUTCH_RUNTIME_CAPS_H
#define HUTCH_RUNTIME_CAPS_H

#include "lib/error.h"

#include <stdbool.h>
#include <stdint.h>

/* Podman's default set of 11. */
uint64_t runtime_caps_default(void);
/* Every capability the running kernel knows. */
uint64_t runtime_caps_all(void);
/* "CAP_CHOWN", "chown", "ALL" (returns -2 for ALL) -> capability number. */
int runtime_caps_from_name(const char *name);
/* Applies --cap-add/--cap-drop lists (names, "ALL") to a set. */
int runtime_caps_adjust(uint64_t *caps, char *const *add, char *const *drop, struct hutch_error **err);
/* In the child: drops the bounding set to caps (needs CAP_SETPCAP, so call
 * before switching user).  Returns -errno. */
int runtime_caps_drop_bounding(uint64_t caps);
/* In the child, after switching user: for uid 0 sets permitted and
 * effective to caps; always clears inheritable and ambient. */
int runtime_caps_apply(uint64_t caps, bool is_root);

#endif

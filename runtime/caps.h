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
#define RUNTIME_CAPS_ALL (-2)
/* "CAP_CHOWN", "chown", "ALL" (returns RUNTIME_CAPS_ALL) -> capability
 * number, case-insensitive; -EINVAL for anything else. */
int runtime_caps_from_name(const char *name);
/* Capability number -> "CHOWN" (no CAP_ prefix); NULL when unknown. */
const char *runtime_caps_to_name(int cap);
/* Applies --cap-add/--cap-drop lists (names, "ALL") to a set, as Docker
 * does: ALL in add means every capability except the dropped ones, ALL in
 * drop means only the added ones.  Naming one capability on both sides,
 * an unknown name or one the kernel does not know is an error. */
int runtime_caps_adjust(uint64_t *caps, char *const *add, char *const *drop, struct hutch_error **err);
/* In the child: drops the bounding set to caps (needs CAP_SETPCAP, so call
 * before switching user).  Returns -errno. */
int runtime_caps_drop_bounding(uint64_t caps);
/* In the child, after switching user: for uid 0 sets permitted and
 * effective to caps (limited to the bounding set); for anyone else empties
 * them; always clears inheritable and ambient.  Returns -errno. */
int runtime_caps_apply(uint64_t caps, bool is_root);

#endif

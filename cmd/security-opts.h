/* --cap-add, --cap-drop, --privileged and --security-opt -> the container's
 * runtime_security. */
#ifndef HUTCH_CMD_SECURITY_OPTS_H
#define HUTCH_CMD_SECURITY_OPTS_H

#include "lib/error.h"
#include "runtime/runtime.h"

#include <stdbool.h>

/* Fills *sec:
 *   caps            Podman's 11, adjusted by cap_add/cap_drop (names or ALL);
 *                   privileged: every capability the kernel knows
 *   no_new_privs    on; "no-new-privileges=false" turns it off
 *   seccomp         the default profile compiled for caps (cached under
 *                   cache_dir, NULL: no cache); "seccomp=unconfined": none;
 *                   "seccomp=FILE": that profile; privileged: none unless
 *                   a FILE is given
 *   masked_paths,   Podman's lists (privileged or "systempaths=unconfined":
 *   readonly_paths  none), plus "mask=/a:/b", minus "unmask=ALL|/a:/b"
 *                   (shell patterns such as "/proc/[a-z]*" allowed)
 * "label=" and "apparmor=" are refused with a clear message, except
 * "label=disable" and "apparmor=unconfined".  Options take KEY=VALUE (or
 * Docker's older KEY:VALUE).  On failure *sec is untouched. */
int cmd_security_configure(struct runtime_security *sec, bool privileged, char **cap_add, char **cap_drop,
                           char **security_opts, const char *cache_dir, struct hutch_error **err);
/* Frees what cmd_security_configure put in *sec and zeroes it. */
void cmd_security_clear(struct runtime_security *sec);

/* The default lists (NULL-terminated, malloc'd); the masked list has the
 * host's /sys/devices/system/cpu/cpu*\/thermal_throttle expanded. */
char **cmd_security_default_masked(void);
char **cmd_security_default_readonly(void);

/* Whether the host runs SELinux / AppArmor. */
bool cmd_security_host_selinux(void);
bool cmd_security_host_apparmor(void);

#endif

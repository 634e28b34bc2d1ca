/* Capabilities.
 *
 * The container's set is one 64-bit mask.  For a root container process it
 * becomes the bounding, permitted and effective sets; for any other user only
 * the bounding set (the kernel empties permitted and effective when the
 * user switch leaves uid 0, and we keep them empty).  Inheritable and ambient
 * are always empty: a non-empty inheritable set is how CVE-2022-29162 and its
 * siblings leaked capabilities into non-root processes across execve.
 *
 * The functions that run in the child (drop_bounding, apply) make raw
 * prctl/capset calls: no allocation, no libcap state, -errno on failure. */
#include "config.h"

#include "runtime/caps.h"

#include "lib/cleanup.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Names in capability(7) order, without the CAP_ prefix.  The index is the
 * capability number. */
static const char *const cap_names[] = {
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
};

uint64_t runtime_caps_default(void)
{
        return (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER) | (1ULL << CAP_FSETID) |
               (1ULL << CAP_KILL) | (1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_SETFCAP) | (1ULL << CAP_SETGID) |
               (1ULL << CAP_SETPCAP) | (1ULL << CAP_SETUID) | (1ULL << CAP_SYS_CHROOT);
}

/* The highest capability number the running kernel knows: PR_CAPBSET_READ
 * fails with EINVAL past it. */
static int kernel_last_cap(void)
{
        int last = -1;

        for (int c = 0; c < 64; c++) {
                if (prctl(PR_CAPBSET_READ, (unsigned long) c, 0, 0, 0) < 0)
                        break;
                last = c;
        }
        return last;
}

uint64_t runtime_caps_all(void)
{
        int last = kernel_last_cap();

        if (last < 0)
                last = CAP_LAST_CAP;
        if (last >= 63)
                return UINT64_MAX;
        return (1ULL << (last + 1)) - 1;
}

const char *runtime_caps_to_name(int cap)
{
        if (cap < 0 || (size_t) cap >= ARRAY_SIZE(cap_names))
                return NULL;
        return cap_names[cap];
}

int runtime_caps_from_name(const char *name)
{
        if (!name)
                return -EINVAL;
        if (strcasecmp(name, "ALL") == 0)
                return RUNTIME_CAPS_ALL;
        if (strncasecmp(name, "CAP_", 4) == 0)
                name += 4;
        for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
                if (strcasecmp(name, cap_names[i]) == 0)
                        return (int) i;
        return -EINVAL;
}

static bool list_has_all(char *const *list)
{
        for (size_t i = 0; list && list[i]; i++)
                if (runtime_caps_from_name(list[i]) == RUNTIME_CAPS_ALL)
                        return true;
        return false;
}

/* ORs the named capabilities of list into *ret, skipping ALL. */
static int list_to_mask(char *const *list, uint64_t known, const char *what, uint64_t *ret, struct hutch_error **err)
{
        uint64_t mask = 0;

        for (size_t i = 0; list && list[i]; i++) {
                int c = runtime_caps_from_name(list[i]);

                if (c == RUNTIME_CAPS_ALL)
                        continue;
                if (c < 0)
                        return hutch_error_set(err, EINVAL, "%s: unknown capability '%s'", what, list[i]);
                if (!(known & (1ULL << c)))
                        return hutch_error_set(err, EINVAL, "%s: capability '%s' is not known to this kernel", what,
                                               list[i]);
                mask |= 1ULL << c;
        }
        *ret = mask;
        return 0;
}

int runtime_caps_adjust(uint64_t *caps, char *const *add, char *const *drop, struct hutch_error **err)
{
        uint64_t known = runtime_caps_all(), add_mask, drop_mask, result;
        bool add_all = list_has_all(add), drop_all = list_has_all(drop);
        int r;

        r = list_to_mask(add, known, "--cap-add", &add_mask, err);
        if (r < 0)
                return r;
        r = list_to_mask(drop, known, "--cap-drop", &drop_mask, err);
        if (r < 0)
                return r;
        if (add_mask & drop_mask) {
                int c = __builtin_ctzll(add_mask & drop_mask);
                return hutch_error_set(err, EINVAL, "capability 'CAP_%s' is both added and dropped", cap_names[c]);
        }
        if (add_all && drop_all)
                return hutch_error_set(err, EINVAL, "'ALL' cannot be both added and dropped");

        /* ALL on one side decides the base; the named entries refine it. */
        if (add_all)
                result = known & ~drop_mask;
        else if (drop_all)
                result = add_mask;
        else
                result = ((*caps & known) & ~drop_mask) | add_mask;
        *caps = result;
        return 0;
}

int runtime_caps_drop_bounding(uint64_t caps)
{
        for (int c = 0; c < 64; c++) {
                int r = prctl(PR_CAPBSET_READ, (unsigned long) c, 0, 0, 0);

                if (r < 0) {
                        if (errno == EINVAL)
                                break; /* past the kernel's last capability */
                        return -errno;
                }
                if (r == 0 || (caps & (1ULL << c)))
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long) c, 0, 0, 0) < 0)
                        return -errno;
        }
        return 0;
}

int runtime_caps_apply(uint64_t caps, bool is_root)
{
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
        uint64_t bounding = 0, set;

        /* Never more than the bounding set holds: after execve root gets
         * exactly the bounding set anyway, so keep the two equal. */
        for (int c = 0; c < 64; c++) {
                int r = prctl(PR_CAPBSET_READ, (unsigned long) c, 0, 0, 0);

                if (r < 0)
                        break;
                if (r > 0)
                        bounding |= 1ULL << c;
        }
        set = is_root ? (caps & bounding) : 0;

        memset(data, 0, sizeof(data));
        data[0].effective = data[0].permitted = (uint32_t) set;
        data[1].effective = data[1].permitted = (uint32_t) (set >> 32);
        /* inheritable stays 0 */
        if (syscall(SYS_capset, &hdr, data) < 0)
                return -errno;

        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        return 0;
}

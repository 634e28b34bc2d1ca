/* hutch info: what a user needs to know before their first container. */
#include "config.h"

#include "cmd/cmd.h"
#include "cmd/paths.h"
#include "cmd/userns.h"
#include "lib/arch.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

enum { OPT_FORMAT = 0x100 };

const struct cmd_option cmd_info_options[] = {
        { "format", 'f', required_argument, "FORMAT", "output format: json", OPT_FORMAT },
        { 0 },
};

struct info {
        struct utsname uts;
        struct cmd_userns uns;
        bool userns;
        bool kernel_overlay;
        char *fuse_overlayfs;
        const char *overlay_mode;
        char *dev_fuse;
        char *dev_net_tun;
        const char *cgroup;
        char *root, *runroot;
};

/* "usable", or why not and how to fix it. */
static char *device_status(const char *path, const char *needed_for)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return xasprintf("missing (%s): %s does not exist on this machine", needed_for, path);
        if (access(path, R_OK | W_OK) < 0)
                return xasprintf("not usable (%s): %s is mode %04o; run 'sudo chmod 0666 %s' (as distributions ship "
                                 "it)",
                                 needed_for, path, st.st_mode & 07777, path);
        return xstrdup("usable");
}

static const char *cgroup_version(void)
{
        struct statfs sf;
        if (statfs("/sys/fs/cgroup", &sf) < 0)
                return "none";
        if (sf.f_type == CGROUP2_SUPER_MAGIC)
                return "v2";
        if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
                return "hybrid";
        return "v1";
}

static int collect(struct info *in, struct hutch_error **err)
{
        (void) uname(&in->uts);
        if (cmd_userns_load(&in->uns, err) < 0)
                return -1;
        in->userns = runtime_probe_userns();
        in->root = cmd_storage_root();
        in->runroot = cmd_run_root();

        /* Try the kernel overlay for real in a scratch directory. */
        _cleanup_free_ char *scratch = NULL, *lower = NULL;
        char tmpl[] = "/tmp/hutch-probe-XXXXXX";
        if (cmd_ensure_private_dir(in->runroot, NULL) == 0) {
                scratch = xasprintf("%s/probe-%d", in->runroot, (int) getpid());
                if (mkdir(scratch, 0700) < 0)
                        scratch = (free(scratch), NULL);
        }
        if (scratch == NULL && mkdtemp(tmpl))
                scratch = xstrdup(tmpl);
        if (scratch) {
                lower = xasprintf("%s.lower", scratch);
                if (mkdir(lower, 0700) == 0)
                        in->kernel_overlay = in->userns && runtime_probe_kernel_overlay(lower, scratch);
                (void) rmdir(lower);
                (void) rmdir(scratch);
        }
        in->fuse_overlayfs = hutch_find_in_path("fuse-overlayfs", getenv("PATH"));
        in->dev_fuse = device_status("/dev/fuse", "fuse-overlayfs needs it");
        in->dev_net_tun = device_status("/dev/net/tun", "slirp networking needs it");
        if (in->kernel_overlay)
                in->overlay_mode = "overlay";
        else if (in->fuse_overlayfs && STREQ(in->dev_fuse, "usable"))
                in->overlay_mode = "fuse-overlayfs";
        else
                in->overlay_mode = "copy";
        in->cgroup = cgroup_version();
        return 0;
}

static void gen_idmap(yajl_gen g, const char *key, const char *source, const struct runtime_subid_range *r, size_t n)
{
        hutch_json_gen_string(g, key);
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "source", source);
        hutch_json_gen_string(g, "ranges");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < n; i++) {
                yajl_gen_map_open(g);
                hutch_json_gen_kv_int(g, "start", (long long) r[i].start);
                hutch_json_gen_kv_int(g, "count", (long long) r[i].count);
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
}

static void print_json(const struct info *in)
{
        yajl_gen g = yajl_gen_alloc(NULL);
        char idmap[256];

        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_map_open(g);
        hutch_json_gen_string(g, "host");
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "kernel", in->uts.release);
        hutch_json_gen_kv_string(g, "arch", HUTCH_ARCH);
        hutch_json_gen_kv_string(g, "user", in->uns.user);
        hutch_json_gen_kv_int(g, "uid", (long long) in->uns.uid);
        hutch_json_gen_kv_bool(g, "userns", in->userns);
        hutch_json_gen_string(g, "idmaps");
        yajl_gen_map_open(g);
        gen_idmap(g, "uid", in->uns.uid_source, in->uns.uid_ranges, in->uns.n_uid_ranges);
        gen_idmap(g, "gid", in->uns.gid_source, in->uns.gid_ranges, in->uns.n_gid_ranges);
        runtime_idmap_format(&in->uns.uidmap, idmap, sizeof(idmap));
        hutch_json_gen_kv_string(g, "uid_map", idmap);
        runtime_idmap_format(&in->uns.gidmap, idmap, sizeof(idmap));
        hutch_json_gen_kv_string(g, "gid_map", idmap);
        hutch_json_gen_kv_string(g, "fallback", in->uns.fallback_reason);
        yajl_gen_map_close(g);
        hutch_json_gen_kv_string(g, "newuidmap", in->uns.newuidmap);
        hutch_json_gen_kv_string(g, "newgidmap", in->uns.newgidmap);
        hutch_json_gen_string(g, "overlay");
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "mode", in->overlay_mode);
        hutch_json_gen_kv_bool(g, "kernel_overlay", in->kernel_overlay);
        hutch_json_gen_kv_string(g, "fuse_overlayfs", in->fuse_overlayfs);
        yajl_gen_map_close(g);
        hutch_json_gen_kv_string(g, "dev_fuse", in->dev_fuse);
        hutch_json_gen_kv_string(g, "dev_net_tun", in->dev_net_tun);
        hutch_json_gen_string(g, "cgroup");
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "version", in->cgroup);
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);
        hutch_json_gen_string(g, "store");
        yajl_gen_map_open(g);
        hutch_json_gen_kv_string(g, "root", in->root);
        hutch_json_gen_kv_string(g, "runroot", in->runroot);
        hutch_json_gen_kv_string(g, "driver", arg_global.storage_driver ? arg_global.storage_driver : in->overlay_mode);
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);

        hutch_json_gen_print(g, stdout);
        yajl_gen_free(g);
}

static void print_ranges(const char *what, const char *source, const struct runtime_subid_range *r, size_t n)
{
        printf("  %-24s", what);
        if (n == 0)
                printf("none");
        for (size_t i = 0; i < n; i++)
                printf("%s%lu-%lu (%lu IDs)", i ? ", " : "", r[i].start, r[i].start + r[i].count - 1, r[i].count);
        printf("  [from %s]\n", source ? source : "?");
}

static void print_text(const struct info *in)
{
        static const char *const mode_text[] = { "overlay",        "kernel overlay in a user namespace",
                                                 "fuse-overlayfs", "fuse-overlayfs",
                                                 "copy",           "full copy (slow: no overlay available)" };
        const char *mode = in->overlay_mode;
        for (size_t i = 0; i < ARRAY_SIZE(mode_text); i += 2)
                if (STREQ(mode_text[i], in->overlay_mode))
                        mode = mode_text[i + 1];

        printf("host:\n");
        printf("  %-24s%s (%s)\n", "kernel:", in->uts.release, HUTCH_ARCH);
        printf("  %-24s%s (uid %lu)\n", "user:", in->uns.user ? in->uns.user : "?", in->uns.uid);
        printf("  %-24s%s\n", "user namespaces:",
               in->userns ? "yes"
                          : "NO: unprivileged user namespaces are disabled (see sysctl "
                            "kernel.unprivileged_userns_clone / user.max_user_namespaces)");
        print_ranges("subordinate UIDs:", in->uns.uid_source, in->uns.uid_ranges, in->uns.n_uid_ranges);
        print_ranges("subordinate GIDs:", in->uns.gid_source, in->uns.gid_ranges, in->uns.n_gid_ranges);
        printf("  %-24s%s\n",
               "newuidmap:", in->uns.newuidmap ? in->uns.newuidmap : "not found (apt-get install uidmap)");
        printf("  %-24s%s\n",
               "newgidmap:", in->uns.newgidmap ? in->uns.newgidmap : "not found (apt-get install uidmap)");
        printf("  %-24s%s\n", "container ID map:",
               in->uns.fallback_reason ? in->uns.fallback_reason
                                       : (in->uns.uid == 0 ? "identity map (running as root)"
                                                           : "root -> you, 1..N -> your subordinate IDs"));
        printf("  %-24s%s\n", "overlay:", mode);
        printf("  %-24s%s\n", "fuse-overlayfs:",
               in->fuse_overlayfs ? in->fuse_overlayfs : "not found (apt-get install fuse-overlayfs)");
        printf("  %-24s%s\n", "/dev/fuse:", in->dev_fuse);
        printf("  %-24s%s\n", "/dev/net/tun:", in->dev_net_tun);
        printf("  %-24s%s\n", "cgroups:",
               STREQ(in->cgroup, "v2")       ? "v2"
               : STREQ(in->cgroup, "hybrid") ? "v1/v2 hybrid (rootless resource limits unavailable)"
                                             : "v1 (rootless resource limits unavailable)");
        printf("store:\n");
        printf("  %-24s%s\n", "root:", in->root);
        printf("  %-24s%s\n", "runroot:", in->runroot);
}

int cmd_info(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        struct info in = { 0 };
        const char *format = NULL;
        char *optval = NULL;
        int c, r;

        while ((c = cmd_getopt(cmd, argc, argv, &optval, err)) != -1) {
                if (c == -2)
                        return 0;
                if (c == -3)
                        return -1;
                if (c == OPT_FORMAT)
                        format = optval;
        }
        if (optind < argc)
                return cmd_usage_error(cmd, err, "'%s' accepts no arguments", cmd->full_name);
        if (format && !STREQ(format, "json"))
                return cmd_usage_error(cmd, err, "unknown --format '%s' (json)", format);
        r = collect(&in, err);
        if (r == 0) {
                if (format)
                        print_json(&in);
                else
                        print_text(&in);
        }
        cmd_userns_clear(&in.uns);
        free(in.fuse_overlayfs);
        free(in.dev_fuse);
        free(in.dev_net_tun);
        free(in.root);
        free(in.runroot);
        return r;
}

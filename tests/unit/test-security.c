/* Capabilities, seccomp profiles and filters, and --security-opt parsing. */
#include "config.h"

#include "cmd/security-opts.h"
#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/xalloc.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#if defined(__SANITIZE_ADDRESS__)
#define RUNNING_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RUNNING_UNDER_ASAN 1
#endif
#endif
#ifndef RUNNING_UNDER_ASAN
#define RUNNING_UNDER_ASAN 0
#endif

#define CAP(c) (1ULL << (c))

static char *mkdtemp_dir(void)
{
        char *d = xstrdup("/tmp/hutch-test-security-XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

static void rm_rf(const char *dir)
{
        char *cmd = xasprintf("rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        free(cmd);
}

/* ---- capabilities ---- */

static void test_caps_names(void **state)
{
        (void) state;
        assert_int_equal(runtime_caps_from_name("CAP_CHOWN"), CAP_CHOWN);
        assert_int_equal(runtime_caps_from_name("chown"), CAP_CHOWN);
        assert_int_equal(runtime_caps_from_name("cap_sys_admin"), CAP_SYS_ADMIN);
        assert_int_equal(runtime_caps_from_name("Net_Raw"), CAP_NET_RAW);
        assert_int_equal(runtime_caps_from_name("CAP_CHECKPOINT_RESTORE"), CAP_CHECKPOINT_RESTORE);
        assert_int_equal(runtime_caps_from_name("ALL"), RUNTIME_CAPS_ALL);
        assert_int_equal(runtime_caps_from_name("all"), RUNTIME_CAPS_ALL);
        assert_int_equal(runtime_caps_from_name("CAP_ALL"), -EINVAL);
        assert_int_equal(runtime_caps_from_name(""), -EINVAL);
        assert_int_equal(runtime_caps_from_name("CAP_"), -EINVAL);
        assert_int_equal(runtime_caps_from_name("CAP_CHOWNX"), -EINVAL);
        assert_int_equal(runtime_caps_from_name("0"), -EINVAL);
        assert_int_equal(runtime_caps_from_name(NULL), -EINVAL);
        for (int c = 0; c <= CAP_LAST_CAP; c++) {
                const char *n = runtime_caps_to_name(c);
                assert_non_null(n);
                assert_int_equal(runtime_caps_from_name(n), c);
        }
        assert_null(runtime_caps_to_name(-1));
        assert_null(runtime_caps_to_name(64));
}

static void test_caps_default(void **state)
{
        uint64_t d = runtime_caps_default();

        (void) state;
        assert_int_equal(__builtin_popcountll(d), 11);
        assert_true(d & CAP(CAP_CHOWN));
        assert_true(d & CAP(CAP_SETPCAP));
        assert_true(d & CAP(CAP_SYS_CHROOT));
        assert_false(d & CAP(CAP_SYS_ADMIN));
        assert_false(d & CAP(CAP_NET_RAW));
        assert_false(d & CAP(CAP_MKNOD));
        assert_false(d & CAP(CAP_AUDIT_WRITE));
        assert_true((runtime_caps_all() & d) == d);
        assert_true(runtime_caps_all() & CAP(CAP_SYS_ADMIN));
}

static void test_caps_adjust(void **state)
{
        uint64_t all = runtime_caps_all(), d = runtime_caps_default(), caps;
        struct hutch_error *err = NULL;
        char *add_raw[] = { "NET_RAW", NULL }, *drop_chown[] = { "CAP_CHOWN", NULL };
        char *all_v[] = { "ALL", NULL }, *add_chown[] = { "chown", NULL };
        char *bogus[] = { "CAP_FLY", NULL };

        (void) state;
        caps = d;
        assert_int_equal(runtime_caps_adjust(&caps, add_raw, drop_chown, &err), 0);
        assert_int_equal(caps, (d | CAP(CAP_NET_RAW)) & ~CAP(CAP_CHOWN));

        caps = d;
        assert_int_equal(runtime_caps_adjust(&caps, all_v, drop_chown, &err), 0);
        assert_int_equal(caps, all & ~CAP(CAP_CHOWN));

        caps = d;
        assert_int_equal(runtime_caps_adjust(&caps, add_chown, all_v, &err), 0);
        assert_int_equal(caps, CAP(CAP_CHOWN));

        caps = d;
        assert_int_equal(runtime_caps_adjust(&caps, NULL, all_v, &err), 0);
        assert_int_equal(caps, 0);

        caps = d;
        assert_int_equal(runtime_caps_adjust(&caps, NULL, NULL, &err), 0);
        assert_int_equal(caps, d);

        /* Errors leave the set alone. */
        caps = d;
        assert_true(runtime_caps_adjust(&caps, add_chown, drop_chown, &err) < 0);
        assert_non_null(err);
        assert_non_null(strstr(err->msg, "CHOWN"));
        hutch_error_clear(&err);
        assert_int_equal(caps, d);
        assert_true(runtime_caps_adjust(&caps, bogus, NULL, &err) < 0);
        assert_non_null(strstr(err->msg, "CAP_FLY"));
        hutch_error_clear(&err);
        assert_true(runtime_caps_adjust(&caps, all_v, all_v, &err) < 0);
        hutch_error_clear(&err);
        assert_int_equal(caps, d);
}

/* In a child: drops the bounding set and applies caps as root, then reads
 * them back from the kernel. */
static void test_caps_apply(void **state)
{
        pid_t pid;
        int status;

        (void) state;
        if (prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 1 || geteuid() != 0)
                skip();
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                uint64_t want = runtime_caps_default();
                struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
                struct __user_cap_data_struct d[2];

                if (runtime_caps_drop_bounding(want) < 0 || runtime_caps_apply(want, true) < 0)
                        _exit(10);
                for (int c = 0; c <= CAP_LAST_CAP; c++)
                        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) != !!(want & CAP(c)))
                                _exit(11);
                if (syscall(SYS_capget, &h, d) < 0)
                        _exit(12);
                if ((d[0].effective | ((uint64_t) d[1].effective << 32)) != want ||
                    (d[0].permitted | ((uint64_t) d[1].permitted << 32)) != want || d[0].inheritable ||
                    d[1].inheritable)
                        _exit(13);
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0) != 0)
                        _exit(14);
                /* Non-root: nothing effective or permitted. */
                if (runtime_caps_apply(want, false) < 0 || syscall(SYS_capget, &h, d) < 0)
                        _exit(15);
                if (d[0].effective || d[0].permitted || d[1].effective || d[1].permitted)
                        _exit(16);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- profile parsing ---- */

static void expect_profile_error(const char *json, const char *needle)
{
        struct hutch_error *err = NULL;
        struct sock_fprog *prog = NULL;

        assert_true(runtime_seccomp_check(json, strlen(json), &err) < 0);
        assert_non_null(err);
        if (!strstr(err->msg, needle))
                fail_msg("error '%s' lacks '%s'", err->msg, needle);
        hutch_error_clear(&err);
        assert_true(runtime_seccomp_compile(json, strlen(json), runtime_caps_default(), &prog, &err) < 0);
        assert_null(prog);
        assert_non_null(err);
        hutch_error_clear(&err);
}

static void test_profile_errors(void **state)
{
        (void) state;
        expect_profile_error("", "invalid JSON");
        expect_profile_error("{", "invalid JSON");
        expect_profile_error("[]", "not a JSON object");
        expect_profile_error("{}", "defaultAction");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_NOPE\"}", "unknown action");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "not supported");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 5000}", "out of range");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": \"1\"}", "integer");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}", "must be an array");
        expect_profile_error(
                "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"action\": \"SCMP_ACT_ERRNO\"}]}",
                "no 'names'");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"]}]}",
                             "missing 'action'");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [1], "
                             "\"action\": \"SCMP_ACT_ERRNO\"}]}",
                             "non-empty strings");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
                             "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"value\": 1, "
                             "\"op\": \"SCMP_CMP_EQ\"}]}]}",
                             "'index'");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
                             "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": -1, "
                             "\"op\": \"SCMP_CMP_EQ\"}]}]}",
                             "'value'");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
                             "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, "
                             "\"op\": \"SCMP_CMP_SOMETIMES\"}]}]}",
                             "'op'");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
                             "\"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"minKernel\": \"four\"}}]}",
                             "minKernel");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_VAX\"]}",
                             "unknown architecture");
        expect_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": {}}", "'archMap'");
}

static void test_profile_too_large(void **state)
{
        size_t len = RUNTIME_SECCOMP_PROFILE_MAX + 1;
        char *big = xmalloc(len);
        struct hutch_error *err = NULL;

        (void) state;
        memset(big, ' ', len);
        assert_true(runtime_seccomp_check(big, len, &err) < 0);
        assert_int_equal(err->errnum, EFBIG);
        hutch_error_clear(&err);
        free(big);
}

static void test_profile_unknown_syscall_skipped(void **state)
{
        const char *json = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                           "[\"no_such_call_ever\", \"keyctl\"], \"action\": \"SCMP_ACT_ERRNO\"}]}";
        struct hutch_error *err = NULL;
        struct sock_fprog *prog = NULL;

        (void) state;
        assert_int_equal(runtime_seccomp_compile(json, strlen(json), 0, &prog, &err), 0);
        assert_null(err);
        assert_non_null(prog);
        assert_true(prog->len > 0 && prog->len <= BPF_MAXINSNS);
        runtime_seccomp_free(prog);
}

/* ---- filters in a child ---- */

/* Loads prog (with no_new_privs) in a child and returns -errno (or the
 * result) of syscall(nr, a0, a1, a2). */
static long syscall_under(const struct sock_fprog *prog, long nr, long a0, long a1, long a2)
{
        int fds[2], status;
        long result = 0;
        pid_t pid;

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                long r;

                close(fds[0]);
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || runtime_seccomp_load(prog) < 0)
                        _exit(100);
                r = syscall(nr, a0, a1, a2);
                if (r < 0)
                        r = -errno;
                if (write(fds[1], &r, sizeof(r)) != sizeof(r))
                        _exit(101);
                _exit(0);
        }
        close(fds[1]);
        assert_int_equal(read(fds[0], &result, sizeof(result)), sizeof(result));
        close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return result;
}

static void test_default_filter(void **state)
{
        struct hutch_error *err = NULL;
        struct sock_fprog *prog = NULL;

        (void) state;
        assert_int_equal(runtime_seccomp_default(runtime_caps_default(), NULL, &prog, &err), 0);
        assert_non_null(prog);

        assert_int_equal(syscall_under(prog, SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0), -EPERM);
        assert_int_equal(syscall_under(prog, 1000, 0, 0, 0), -ENOSYS);
        assert_int_equal(syscall_under(prog, SYS_getpid, 0, 0, 0) > 0, 1);
        assert_int_equal(syscall_under(prog, SYS_unshare, 0x10000000 /* CLONE_NEWUSER */, 0, 0), -EPERM);
        assert_int_equal(syscall_under(prog, SYS_unshare, 0x400 /* CLONE_FILES */, 0, 0), 0);
        assert_int_equal(syscall_under(prog, SYS_clone3, 0, 0, 0), -ENOSYS);
        assert_int_equal(syscall_under(prog, SYS_bpf, 0, 0, 0), -EPERM);
        assert_int_equal(syscall_under(prog, SYS_userfaultfd, 1, 0, 0), -EPERM);
        assert_int_equal(syscall_under(prog, SYS_personality, 0x0040000 /* ADDR_NO_RANDOMIZE */, 0, 0) < 0, 1);
        assert_int_equal(syscall_under(prog, SYS_socket, 38 /* AF_ALG */, 5, 0), -EPERM);
        /* The kernel reads the family as an int: high bits must not sneak past. */
        assert_int_equal(syscall_under(prog, SYS_socket, 0x100000000L | 40 /* AF_VSOCK */, 1, 0), -EPERM);
        assert_true(syscall_under(prog, SYS_socket, 1 /* AF_UNIX */, 1, 0) >= 0);
#if defined(__x86_64__)
        /* x32 numbers reach the same entry: the filter must cover them. */
        assert_int_equal(syscall_under(prog, 0x40000000L | SYS_keyctl, 0, -3, 0), -EPERM);
#endif
        runtime_seccomp_free(prog);
}

static void test_monitor_filter(void **state)
{
        struct hutch_error *err = NULL;
        struct sock_fprog *prog = NULL;
        size_t len;
        const char *json = runtime_seccomp_monitor_json(&len);

        (void) state;
        assert_int_equal(runtime_seccomp_compile(json, len, 0, &prog, &err), 0);
        assert_int_equal(syscall_under(prog, SYS_unshare, 0x400 /* CLONE_FILES */, 0, 0), -EPERM);
        assert_int_equal(syscall_under(prog, SYS_setns, 0, 0, 0), -EPERM);
        assert_int_equal(syscall_under(prog, SYS_mount, 0, 0, 0), -EPERM);
        assert_int_equal(syscall_under(prog, SYS_ptrace, 0, 0, 0) == -EPERM || RUNNING_UNDER_ASAN, 1);
        assert_int_equal(syscall_under(prog, SYS_keyctl, 0, -3, 0), -EPERM);
        assert_int_equal(syscall_under(prog, SYS_bpf, 0, 0, 0), -EPERM);
        assert_int_equal(syscall_under(prog, SYS_perf_event_open, 0, 0, 0), -EPERM);
        assert_int_equal(syscall_under(prog, SYS_clone3, 0, 0, 0), -ENOSYS);
        assert_int_equal(syscall_under(prog, SYS_clone, 0x40000000 /* CLONE_NEWNET */ | 17, 0, 0), -EPERM);
        assert_int_equal(syscall_under(prog, SYS_clone, 0x08000000 /* CLONE_NEWIPC */ | 17, 0, 0), -EPERM);
        assert_int_equal(syscall_under(prog, SYS_getpid, 0, 0, 0) > 0, 1);
        assert_true(syscall_under(prog, SYS_socket, 1 /* AF_UNIX */, 1, 0) >= 0);
        assert_int_equal(syscall_under(prog, 1000, 0, 0, 0), -ENOSYS); /* allowed: the kernel's own answer */
#if defined(__x86_64__)
        assert_int_equal(syscall_under(prog, 0x40000000L | SYS_keyctl, 0, -3, 0), -EPERM);
#endif
        runtime_seccomp_free(prog);

        /* runtime_seccomp_restrict_self: no_new_privs, a filter, fork still works */
        int fds[2], status;
        char buf[4096] = "";
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct hutch_error *e = NULL;
                close(fds[0]);
                if (runtime_seccomp_restrict_self(NULL, &e) < 0)
                        _exit(100);
                pid_t kid = fork();
                if (kid == 0)
                        _exit(7);
                if (kid < 0 || waitpid(kid, &status, 0) != kid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
                        _exit(101);
                int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
                ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
                if (n <= 0 || write(fds[1], buf, (size_t) n) != n)
                        _exit(102);
                _exit(0);
        }
        close(fds[1]);
        assert_true(read(fds[0], buf, sizeof(buf) - 1) > 0);
        close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_non_null(strstr(buf, "NoNewPrivs:\t1"));
        assert_non_null(strstr(buf, "Seccomp:\t2"));
}

static void test_filter_caps_gating(void **state)
{
        const char *json = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                           "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 99, "
                           "\"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
                           "{\"names\": [\"getpgrp\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 98, "
                           "\"includes\": {\"caps\": [\"CAP_SYS_ADMIN\", \"CAP_NET_ADMIN\"]}},"
                           "{\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 97, "
                           "\"includes\": {\"minKernel\": \"999.0\"}},"
                           "{\"names\": [\"getgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 96, "
                           "\"args\": [{\"index\": 0, \"value\": 5, \"op\": \"SCMP_CMP_EQ\"},"
                           "           {\"index\": 0, \"value\": 7, \"op\": \"SCMP_CMP_EQ\"}]}]}";
        struct hutch_error *err = NULL;
        struct sock_fprog *plain = NULL, *admin = NULL;
        uint64_t d = runtime_caps_default();

        (void) state;
        assert_int_equal(runtime_seccomp_compile(json, strlen(json), d, &plain, &err), 0);
        assert_int_equal(
                runtime_seccomp_compile(json, strlen(json), d | CAP(CAP_SYS_ADMIN) | CAP(CAP_NET_ADMIN), &admin, &err),
                0);
        assert_int_equal(syscall_under(plain, SYS_getppid, 0, 0, 0), -99);
        assert_true(syscall_under(admin, SYS_getppid, 0, 0, 0) > 0);
        assert_true(syscall_under(plain, SYS_getpgrp, 0, 0, 0) > 0);
        assert_int_equal(syscall_under(admin, SYS_getpgrp, 0, 0, 0), -98);
        assert_true(syscall_under(plain, SYS_getuid, 0, 0, 0) >= 0);
        /* Several conditions on one argument are ORed. */
        assert_int_equal(syscall_under(plain, SYS_getgid, 5, 0, 0), -96);
        assert_int_equal(syscall_under(plain, SYS_getgid, 7, 0, 0), -96);
        assert_true(syscall_under(plain, SYS_getgid, 6, 0, 0) >= 0);
        runtime_seccomp_free(plain);
        runtime_seccomp_free(admin);
}

/* ---- the cache ---- */

static double now_ms(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double) t.tv_sec * 1e3 + (double) t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static void test_cache_roundtrip(void **state)
{
        _cleanup_free_ char *dir = mkdtemp_dir(), *name = NULL, *path = NULL, *sub = NULL;
        size_t len;
        const char *json = runtime_seccomp_default_json(&len);
        uint64_t caps = runtime_caps_default();
        struct hutch_error *err = NULL;
        struct sock_fprog *fresh = NULL, *first = NULL, *hit = NULL, *repaired = NULL, *other = NULL;
        double compile[5], cached[21];
        struct stat st;
        int fd;

        (void) state;
        assert_int_equal(runtime_seccomp_compile(json, len, caps, &fresh, &err), 0);

        sub = xasprintf("%s/cache", dir); /* created on first use */
        assert_int_equal(runtime_seccomp_compile_cached(json, len, caps, sub, &first, &err), 0);
        name = runtime_seccomp_cache_name(json, len, caps);
        path = xasprintf("%s/%s", sub, name);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(stat(sub, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);

        assert_int_equal(runtime_seccomp_compile_cached(json, len, caps, sub, &hit, &err), 0);
        assert_int_equal(hit->len, fresh->len);
        assert_int_equal(first->len, fresh->len);
        assert_memory_equal(hit->filter, fresh->filter, fresh->len * sizeof(struct sock_filter));
        assert_memory_equal(first->filter, fresh->filter, fresh->len * sizeof(struct sock_filter));

        /* A truncated cache file (as a crash mid-write on a filesystem
         * without atomic rename would leave) is noticed and replaced. */
        fd = open(path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, st.st_size > 8 ? 8 : 0), 0);
        close(fd);
        assert_int_equal(runtime_seccomp_compile_cached(json, len, caps, sub, &repaired, &err), 0);
        assert_int_equal(repaired->len, fresh->len);
        assert_memory_equal(repaired->filter, fresh->filter, fresh->len * sizeof(struct sock_filter));
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > (off_t) (fresh->len * sizeof(struct sock_filter)));

        /* So is one flipped bit in the cached program. */
        fd = open(path, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        {
                unsigned char byte;
                assert_int_equal(pread(fd, &byte, 1, st.st_size - 3), 1);
                byte ^= 0x10;
                assert_int_equal(pwrite(fd, &byte, 1, st.st_size - 3), 1);
        }
        close(fd);
        runtime_seccomp_free(repaired);
        repaired = NULL;
        assert_int_equal(runtime_seccomp_compile_cached(json, len, caps, sub, &repaired, &err), 0);
        assert_int_equal(repaired->len, fresh->len);
        assert_memory_equal(repaired->filter, fresh->filter, fresh->len * sizeof(struct sock_filter));

        /* Another capability set is another key. */
        assert_int_equal(runtime_seccomp_compile_cached(json, len, caps | CAP(CAP_SYS_ADMIN), sub, &other, &err), 0);
        _cleanup_free_ char *other_name = runtime_seccomp_cache_name(json, len, caps | CAP(CAP_SYS_ADMIN));
        assert_string_not_equal(other_name, name);
        assert_true(other->len != fresh->len ||
                    memcmp(other->filter, fresh->filter, fresh->len * sizeof(struct sock_filter)) != 0);

        /* Figures (never asserted): compile vs cache hit. */
        for (size_t i = 0; i < ARRAY_SIZE(compile); i++) {
                struct sock_fprog *p = NULL;
                double t = now_ms();
                assert_int_equal(runtime_seccomp_compile(json, len, caps, &p, &err), 0);
                compile[i] = now_ms() - t;
                runtime_seccomp_free(p);
        }
        for (size_t i = 0; i < ARRAY_SIZE(cached); i++) {
                struct sock_fprog *p = NULL;
                double t = now_ms();
                assert_int_equal(runtime_seccomp_compile_cached(json, len, caps, sub, &p, &err), 0);
                cached[i] = now_ms() - t;
                runtime_seccomp_free(p);
        }
        qsort(compile, ARRAY_SIZE(compile), sizeof(double), cmp_double);
        qsort(cached, ARRAY_SIZE(cached), sizeof(double), cmp_double);
        print_message("# default profile: %u instructions; compile median %.2f ms, cache hit median %.3f ms\n",
                      fresh->len, compile[ARRAY_SIZE(compile) / 2], cached[ARRAY_SIZE(cached) / 2]);

        runtime_seccomp_free(fresh);
        runtime_seccomp_free(first);
        runtime_seccomp_free(hit);
        runtime_seccomp_free(repaired);
        runtime_seccomp_free(other);
        rm_rf(dir);
}

static void touch_aged(const char *dir, const char *name, int days)
{
        char *path = xasprintf("%s/%s", dir, name);
        struct timespec ts[2];
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        clock_gettime(CLOCK_REALTIME, &ts[0]);
        ts[0].tv_sec -= (time_t) days * 24 * 3600;
        ts[1] = ts[0];
        assert_int_equal(futimens(fd, ts), 0);
        close(fd);
        free(path);
}

static bool exists_in(const char *dir, const char *name)
{
        char *path = xasprintf("%s/%s", dir, name);
        bool r = access(path, F_OK) == 0;
        free(path);
        return r;
}

/* Figures (never asserted): the monitor's filter, compiled and from the cache. */
static void test_monitor_filter_figures(void **state)
{
        char dir[] = "/tmp/hutch-test-monitor-XXXXXX";
        struct hutch_error *err = NULL;
        double compile[5], cached[5];
        unsigned insns = 0;
        size_t len;
        const char *json = runtime_seccomp_monitor_json(&len);

        (void) state;
        assert_non_null(mkdtemp(dir));
        for (size_t i = 0; i < ARRAY_SIZE(compile); i++) {
                struct sock_fprog *p = NULL;
                double t = now_ms();
                assert_int_equal(runtime_seccomp_compile(json, len, 0, &p, &err), 0);
                compile[i] = now_ms() - t;
                insns = p->len;
                runtime_seccomp_free(p);
        }
        for (size_t i = 0; i < ARRAY_SIZE(cached); i++) {
                struct sock_fprog *p = NULL;
                double t = now_ms();
                assert_int_equal(runtime_seccomp_compile_cached(json, len, 0, dir, &p, &err), 0);
                cached[i] = now_ms() - t;
                runtime_seccomp_free(p);
        }
        qsort(compile, ARRAY_SIZE(compile), sizeof(double), cmp_double);
        qsort(cached, ARRAY_SIZE(cached), sizeof(double), cmp_double);
        print_message("# monitor profile: %u instructions; compile median %.2f ms, cache hit median %.3f ms\n", insns,
                      compile[ARRAY_SIZE(compile) / 2], cached[ARRAY_SIZE(cached) / 2]);
        assert_int_equal(hutch_rm_rf_at(AT_FDCWD, dir), 0);
}

static void test_cache_prune(void **state)
{
        _cleanup_free_ char *dir = mkdtemp_dir();
        size_t len;
        const char *json = runtime_seccomp_default_json(&len);
        struct hutch_error *err = NULL;
        struct sock_fprog *p = NULL;

        (void) state;
        touch_aged(dir, "seccomp-0123456789abcdef.bpf", 40);
        touch_aged(dir, ".tmp-seccomp-0123456789abcdef.bpf.42", 40);
        touch_aged(dir, "seccomp-fedcba9876543210.bpf", 2);
        touch_aged(dir, "notes.txt", 400);
        assert_int_equal(runtime_seccomp_compile_cached(json, len, runtime_caps_default(), dir, &p, &err), 0);
        assert_false(exists_in(dir, "seccomp-0123456789abcdef.bpf"));
        assert_false(exists_in(dir, ".tmp-seccomp-0123456789abcdef.bpf.42"));
        assert_true(exists_in(dir, "seccomp-fedcba9876543210.bpf"));
        assert_true(exists_in(dir, "notes.txt"));
        runtime_seccomp_free(p);
        rm_rf(dir);
}

/* ---- --security-opt ---- */

static void test_security_defaults(void **state)
{
        struct runtime_security sec;
        struct hutch_error *err = NULL;

        (void) state;
        assert_int_equal(cmd_security_configure(&sec, false, NULL, NULL, NULL, NULL, &err), 0);
        assert_int_equal(sec.caps, runtime_caps_default());
        assert_true(sec.no_new_privs);
        assert_false(sec.privileged);
        assert_non_null(sec.seccomp);
        assert_true(hutch_strv_contains(sec.masked_paths, "/proc/kcore"));
        assert_true(hutch_strv_contains(sec.masked_paths, "/proc/keys"));
        assert_true(hutch_strv_contains(sec.masked_paths, "/sys/firmware"));
        assert_true(hutch_strv_contains(sec.masked_paths, "/proc/interrupts"));
        assert_true(hutch_strv_contains(sec.readonly_paths, "/proc/sys"));
        assert_true(hutch_strv_contains(sec.readonly_paths, "/proc/sysrq-trigger"));
        assert_false(hutch_strv_contains(sec.masked_paths, "/proc/sys"));
        cmd_security_clear(&sec);
        assert_null(sec.masked_paths);
        assert_null(sec.seccomp);
}

static void test_security_privileged(void **state)
{
        struct runtime_security sec;
        struct hutch_error *err = NULL;
        char *drop[] = { "SYS_ADMIN", NULL };

        (void) state;
        assert_int_equal(cmd_security_configure(&sec, true, NULL, NULL, NULL, NULL, &err), 0);
        assert_int_equal(sec.caps, runtime_caps_all());
        assert_true(sec.privileged);
        assert_null(sec.seccomp);
        assert_int_equal(hutch_strv_length(sec.masked_paths), 0);
        assert_int_equal(hutch_strv_length(sec.readonly_paths), 0);
        cmd_security_clear(&sec);

        assert_int_equal(cmd_security_configure(&sec, true, NULL, drop, NULL, NULL, &err), 0);
        assert_int_equal(sec.caps, runtime_caps_all() & ~CAP(CAP_SYS_ADMIN));
        cmd_security_clear(&sec);
}

static void test_security_opts(void **state)
{
        _cleanup_free_ char *dir = mkdtemp_dir(), *profile = NULL, *opt_file = NULL;
        struct runtime_security sec;
        struct hutch_error *err = NULL;
        char *nnp_off[] = { "no-new-privileges=false", NULL }, *nnp_on[] = { "no-new-privileges", NULL };
        char *nnp_colon[] = { "no-new-privileges:false", NULL };
        char *unconfined[] = { "seccomp=unconfined", NULL };
        char *mask[] = { "mask=/proc/a:/proc//b/./c", NULL };
        char *unmask_all[] = { "unmask=ALL", NULL }, *unmask_proc[] = { "unmask=/proc/*", NULL };
        char *label_off[] = { "label=disable", "apparmor=unconfined", NULL };
        char *add[] = { "NET_RAW", NULL };
        FILE *f;

        (void) state;
        assert_int_equal(cmd_security_configure(&sec, false, NULL, NULL, nnp_off, NULL, &err), 0);
        assert_false(sec.no_new_privs);
        cmd_security_clear(&sec);
        assert_int_equal(cmd_security_configure(&sec, false, NULL, NULL, nnp_colon, NULL, &err), 0);
        assert_false(sec.no_new_privs);
        cmd_security_clear(&sec);
        assert_int_equal(cmd_security_configure(&sec, false, NULL, NULL, nnp_on, NULL, &err), 0);
        assert_true(sec.no_new_privs);
        cmd_security_clear(&sec);

        assert_int_equal(cmd_security_configure(&sec, false, add, NULL, unconfined, NULL, &err), 0);
        assert_null(sec.seccomp);
        assert_int_equal(sec.caps, runtime_caps_default() | CAP(CAP_NET_RAW));
        cmd_security_clear(&sec);

        assert_int_equal(cmd_security_configure(&sec, false, NULL, NULL, mask, NULL, &err), 0);
        assert_true(hutch_strv_contains(sec.masked_paths, "/proc/a"));
        assert_true(hutch_strv_contains(sec.masked_paths, "/proc/b/c"));
        assert_true(hutch_strv_contains(sec.masked_paths, "/proc/kcore"));
        cmd_security_clear(&sec);

        assert_int_equal(cmd_security_configure(&sec, false, NULL, NULL, unmask_all, NULL, &err), 0);
        assert_int_equal(hutch_strv_length(sec.masked_paths), 0);
        assert_int_equal(hutch_strv_length(sec.readonly_paths), 0);
        assert_non_null(sec.seccomp);
        cmd_security_clear(&sec);

        assert_int_equal(cmd_security_configure(&sec, false, NULL, NULL, unmask_proc, NULL, &err), 0);
        assert_false(hutch_strv_contains(sec.masked_paths, "/proc/kcore"));
        assert_false(hutch_strv_contains(sec.readonly_paths, "/proc/sys"));
        assert_true(hutch_strv_contains(sec.masked_paths, "/sys/firmware"));
        cmd_security_clear(&sec);

        assert_int_equal(cmd_security_configure(&sec, false, NULL, NULL, label_off, NULL, &err), 0);
        cmd_security_clear(&sec);

        /* seccomp=FILE */
        profile = xasprintf("%s/profile.json", dir);
        f = fopen(profile, "we");
        assert_non_null(f);
        fputs("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
              "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 77}]}",
              f);
        fclose(f);
        opt_file = xasprintf("seccomp=%s", profile);
        char *file_opt[] = { opt_file, NULL };
        assert_int_equal(cmd_security_configure(&sec, false, NULL, NULL, file_opt, dir, &err), 0);
        assert_non_null(sec.seccomp);
        assert_int_equal(syscall_under(sec.seccomp, SYS_getppid, 0, 0, 0), -77);
        cmd_security_clear(&sec);
        /* An explicit profile applies even with --privileged. */
        assert_int_equal(cmd_security_configure(&sec, true, NULL, NULL, file_opt, dir, &err), 0);
        assert_non_null(sec.seccomp);
        cmd_security_clear(&sec);
        rm_rf(dir);
}

static void expect_opt_error(bool privileged, char **add, char **opts, const char *needle)
{
        struct runtime_security sec;
        struct hutch_error *err = NULL;

        memset(&sec, 0x5a, sizeof(sec));
        assert_true(cmd_security_configure(&sec, privileged, add, NULL, opts, NULL, &err) < 0);
        assert_non_null(err);
        if (!strstr(err->msg, needle))
                fail_msg("error '%s' lacks '%s'", err->msg, needle);
        hutch_error_clear(&err);
        /* Untouched on failure. */
        for (size_t i = 0; i < sizeof(sec); i++)
                assert_int_equal(((unsigned char *) &sec)[i], 0x5a);
}

static void test_security_opt_errors(void **state)
{
        char *unknown[] = { "frobnicate=1", NULL }, *nnp_bad[] = { "no-new-privileges=maybe", NULL };
        char *sc_missing[] = { "seccomp=/nonexistent/profile.json", NULL }, *sc_empty[] = { "seccomp=", NULL };
        char *mask_rel[] = { "mask=proc/kcore", NULL }, *mask_up[] = { "mask=/../x", NULL };
        char *label[] = { "label=type:container_t", NULL }, *aa[] = { "apparmor=docker-default", NULL };
        char *good_then_bad[] = { "mask=/a", "unmask=", NULL };
        char *bad_cap[] = { "CAP_TELEPORT", NULL };

        (void) state;
        expect_opt_error(false, NULL, unknown, "unknown --security-opt");
        expect_opt_error(false, NULL, nnp_bad, "true or false");
        expect_opt_error(false, NULL, sc_missing, "/nonexistent/profile.json");
        expect_opt_error(false, NULL, sc_empty, "seccomp=");
        expect_opt_error(false, NULL, mask_rel, "not absolute");
        expect_opt_error(false, NULL, mask_up, "climbs");
        expect_opt_error(false, NULL, label, cmd_security_host_selinux() ? "not supported" : "does not run SELinux");
        expect_opt_error(false, NULL, aa, cmd_security_host_apparmor() ? "not supported" : "does not run AppArmor");
        expect_opt_error(false, NULL, good_then_bad, "unmask=");
        expect_opt_error(false, bad_cap, NULL, "CAP_TELEPORT");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_caps_names),
                cmocka_unit_test(test_caps_default),
                cmocka_unit_test(test_caps_adjust),
                cmocka_unit_test(test_caps_apply),
                cmocka_unit_test(test_profile_errors),
                cmocka_unit_test(test_profile_too_large),
                cmocka_unit_test(test_profile_unknown_syscall_skipped),
                cmocka_unit_test(test_default_filter),
                cmocka_unit_test(test_monitor_filter),
                cmocka_unit_test(test_filter_caps_gating),
                cmocka_unit_test(test_cache_roundtrip),
                cmocka_unit_test(test_cache_prune),
                cmocka_unit_test(test_monitor_filter_figures),
                cmocka_unit_test(test_security_defaults),
                cmocka_unit_test(test_security_privileged),
                cmocka_unit_test(test_security_opts),
                cmocka_unit_test(test_security_opt_errors),
        };
        return cmocka_run_group_tests_name("security", tests, NULL, NULL);
}

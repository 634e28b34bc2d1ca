/* Tests of storage/unpack.c and storage/digest.c.
 *
 * Layers are built in memory with libarchive's writer (or byte by byte for
 * headers the writer will not produce) and unpacked into
 * BASE/root; BASE/sentinel sits next to it.  After every hostile layer the
 * test checks that BASE and the sentinel are exactly as they were: nothing
 * was created, changed or linked outside the destination.
 *
 * Runs as root and as an unprivileged user; cases that need privilege
 * (chown to other IDs, file capabilities) skip() when it is missing. */
#include "config.h"

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "storage/digest.h"
#include "storage/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* ---- fixture ---- */

static char base[256];
static char root[300];
static char sentinel[300];
static int rootfd = -1;

static int setup(void **state)
{
        const char *tmp = getenv("TMPDIR");
        char path[400];
        int fd;

        (void) state;
        snprintf(base, sizeof(base), "%s/hutch-unpack-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(base) == NULL)
                return -1;
        snprintf(root, sizeof(root), "%s/root", base);
        snprintf(sentinel, sizeof(sentinel), "%s/sentinel", base);
        if (mkdir(root, 0755) < 0 || mkdir(sentinel, 0755) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/dir", sentinel);
        if (mkdir(path, 0755) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/keep", sentinel);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, "keep", 4) != 4)
                return -1;
        close(fd);
        rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return rootfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        (void) state;
        if (rootfd >= 0)
                close(rootfd);
        rootfd = -1;
        return hutch_rm_rf_at(AT_FDCWD, base) < 0 ? -1 : 0;
}

static size_t count_dir(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)) != NULL)
                if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void assert_no_xattrs(const char *path)
{
        char names[4096];
        ssize_t n = llistxattr(path, names, sizeof(names));

        assert_true(n >= 0);
        for (ssize_t i = 0; i < n; i += (ssize_t) strlen(names + i) + 1)
                if (strncmp(names + i, "security.selinux", 16) != 0 && strncmp(names + i, "security.smack", 14) != 0)
                        fail_msg("'%s' has xattr '%s'", path, names + i);
}

/* Nothing outside root changed. */
static void assert_outside_clean(void)
{
        char path[400], buf[16];
        struct stat st;
        int fd;

        assert_int_equal(count_dir(base), 2);
        assert_int_equal(count_dir(sentinel), 2);
        snprintf(path, sizeof(path), "%s/dir", sentinel);
        assert_int_equal(count_dir(path), 0);
        assert_int_equal(lstat(sentinel, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        snprintf(path, sizeof(path), "%s/keep", sentinel);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(st.st_nlink, 1);
        assert_int_equal(st.st_size, 4);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, buf, sizeof(buf)), 4);
        assert_memory_equal(buf, "keep", 4);
        close(fd);
        /* No xattr was set through a link either (an LSM label may be there). */
        assert_no_xattrs(path);
        assert_no_xattrs(sentinel);
}

/* ---- building layers ---- */

struct buf {
        unsigned char *data;
        size_t len, cap;
};

static void buf_append(struct buf *b, const void *p, size_t n)
{
        if (b->len + n > b->cap) {
                b->cap = (b->len + n) * 2 + 4096;
                b->data = xrealloc(b->data, b->cap);
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

static la_ssize_t buf_write_cb(struct archive *a, void *ud, const void *p, size_t n)
{
        (void) a;
        buf_append(ud, p, n);
        return (la_ssize_t) n;
}

enum comp { PLAIN, GZIP, ZSTD };

struct ent {
        const char *path;
        mode_t type;      /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFIFO, AE_IFCHR, AE_IFBLK; 0 = AE_IFREG */
        mode_t perm;      /* 0 = 0644 (0755 for directories) */
        const char *data; /* file content or symlink target */
        const char *hardlink;
        int uid, gid;
        time_t mtime;
        const char *xattr_names[4];
        const char *xattr_values[4];
};

static struct archive *writer_new(enum comp comp, struct buf *out, bool raw)
{
        struct archive *a = archive_write_new();

        assert_non_null(a);
        if (raw)
                assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
        else
                assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        if (comp == GZIP)
                assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
        else if (comp == ZSTD)
                assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
        /* No padding of the output to 10 KiB blocks: real layers are not
         * padded after the compressed stream. */
        archive_write_set_bytes_in_last_block(a, 1);
        assert_int_equal(archive_write_open(a, out, NULL, buf_write_cb, NULL), ARCHIVE_OK);
        return a;
}

static void writer_add(struct archive *a, const struct ent *e)
{
        struct archive_entry *en = archive_entry_new();
        mode_t type = e->type ? e->type : AE_IFREG;
        size_t size = 0;

        archive_entry_set_pathname(en, e->path);
        if (e->hardlink) {
                archive_entry_set_filetype(en, AE_IFREG);
                archive_entry_set_hardlink(en, e->hardlink);
        } else {
                archive_entry_set_filetype(en, type);
                if (type == AE_IFLNK)
                        archive_entry_set_symlink(en, e->data);
                if (type == AE_IFREG && e->data)
                        size = strlen(e->data);
                if (type == AE_IFCHR || type == AE_IFBLK) {
                        archive_entry_set_rdevmajor(en, 1);
                        archive_entry_set_rdevminor(en, 3);
                }
        }
        archive_entry_set_size(en, (la_int64_t) size);
        archive_entry_set_perm(en, e->perm ? e->perm : (type == AE_IFDIR ? 0755 : 0644));
        archive_entry_set_uid(en, e->uid);
        archive_entry_set_gid(en, e->gid);
        archive_entry_set_mtime(en, e->mtime ? e->mtime : 1000000000, 0);
        for (int i = 0; i < 4 && e->xattr_names[i]; i++)
                archive_entry_xattr_add_entry(en, e->xattr_names[i], e->xattr_values[i], strlen(e->xattr_values[i]));
        assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
        if (size)
                assert_int_equal(archive_write_data(a, e->data, size), (la_ssize_t) size);
        archive_entry_free(en);
}

static void writer_finish(struct archive *a)
{
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

static struct buf build_layer(const struct ent *ents, size_t n, enum comp comp)
{
        struct buf out = { 0 };
        struct archive *a = writer_new(comp, &out, false);

        for (size_t i = 0; i < n; i++)
                writer_add(a, &ents[i]);
        writer_finish(a);
        return out;
}

/* Compresses arbitrary bytes (not a tar) in one of the formats. */
static struct buf compress_bytes(const void *data, size_t len, enum comp comp)
{
        struct buf out = { 0 };

        if (comp == PLAIN) {
                buf_append(&out, data, len);
                return out;
        }
        struct archive *a = writer_new(comp, &out, true);
        struct archive_entry *en = archive_entry_new();
        archive_entry_set_pathname(en, "data");
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_size(en, (la_int64_t) len);
        assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
        for (size_t off = 0; off < len;) {
                size_t n = len - off > (1 << 20) ? (1 << 20) : len - off;
                assert_int_equal(archive_write_data(a, (const char *) data + off, n), (la_ssize_t) n);
                off += n;
        }
        archive_entry_free(en);
        writer_finish(a);
        return out;
}

static int memfd_of(const struct buf *b)
{
        int fd = memfd_create("layer", MFD_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(hutch_write_all(fd, b->data, b->len), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static int unpack_buf(const struct buf *b, const struct storage_unpack_options *opts, struct storage_unpack_result *res)
{
        struct hutch_error *err = NULL;
        struct storage_unpack_result dummy;
        int fd = memfd_of(b), r;

        r = storage_layer_unpack(fd, rootfd, opts, res ? res : &dummy, &err);
        close(fd);
        if (r < 0) {
                assert_non_null(err);
                print_message("# unpack error (expected or not): %s\n", err->msg);
        } else {
                assert_null(err);
        }
        hutch_error_free(err);
        return r;
}

static int unpack_ents(const struct ent *ents, size_t n, enum comp comp, const struct storage_unpack_options *opts,
                       struct storage_unpack_result *res)
{
        struct buf b = build_layer(ents, n, comp);
        int r = unpack_buf(&b, opts, res);

        free(b.data);
        return r;
}

static struct stat lstat_in_root(const char *path)
{
        struct stat st;

        if (fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                fail_msg("'%s' missing in root: %s", path, strerror(errno));
        return st;
}

static bool exists_in_root(const char *path)
{
        struct stat st;

        return fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static char *read_in_root(const char *path)
{
        char *buf = NULL;
        size_t len;

        assert_int_equal(hutch_read_file_at(rootfd, path, 1 << 20, &buf, &len, NULL), 0);
        return buf;
}

/* user.* xattrs on files here?  (Not on every tmpfs.) */
static bool user_xattrs_supported(void)
{
        char path[400];
        int fd, r;

        snprintf(path, sizeof(path), "%s/xattr-probe", base);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        r = fsetxattr(fd, "user.probe", "1", 1, 0);
        close(fd);
        unlink(path);
        return r == 0;
}

static bool have_chown(void)
{
        return geteuid() == 0;
}

/* ---- digests ---- */

static void test_digest_valid(void **state)
{
        (void) state;
        const char *ok = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_true(storage_digest_valid(ok));
        assert_string_equal(storage_digest_hex(ok), ok + 7);
        assert_true(storage_digest_valid_n(ok, strlen(ok)));

        const char *bad[] = {
                "",
                "sha256:",
                "sha256:../../../../etc/passwd",
                "sha256:../a816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
                "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015add",
                "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a/",
                "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag",
                " sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                assert_false(storage_digest_valid(bad[i]));
                assert_null(storage_digest_hex(bad[i]));
        }
        assert_false(storage_digest_valid(NULL));
        /* the bare 64 hex digits of an image ID */
        assert_true(storage_digest_hex_valid_n(ok + 7, 64));
        assert_false(storage_digest_hex_valid_n(ok + 7, 63));
        assert_false(storage_digest_hex_valid_n(ok, 64));
        assert_false(storage_digest_hex_valid_n("ABCDEF", 6));
        assert_false(storage_digest_hex_valid_n("0123", 64)); /* stops at the NUL */
        assert_false(storage_digest_hex_valid_n(NULL, 64));
        /* An embedded NUL. */
        char withnul[72];
        memcpy(withnul, ok, 72);
        withnul[20] = '\0';
        assert_false(storage_digest_valid_n(withnul, 71));
}

static void test_sha256(void **state)
{
        char d[STORAGE_DIGEST_BUFSIZE], path[400];
        struct hutch_error *err = NULL;
        (void) state;

        storage_digest_buffer("abc", 3, d);
        assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        struct storage_sha256 *h = storage_sha256_new();
        storage_sha256_update(h, "a", 1);
        storage_sha256_update(h, "", 0);
        storage_sha256_update(h, "bc", 2);
        storage_sha256_final_hex(h, d);
        storage_sha256_free(h);
        assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        storage_digest_buffer("", 0, d);
        assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

        /* The threaded hasher agrees with the inline one across slot borders. */
        size_t big = (5 << 20) + 12345;
        unsigned char *data = xmalloc(big);
        for (size_t i = 0; i < big; i++)
                data[i] = (unsigned char) (i * 131 + (i >> 12));
        char want[STORAGE_DIGEST_BUFSIZE], got[STORAGE_DIGEST_BUFSIZE];
        storage_digest_buffer(data, big, want);
        struct storage_sha256_async *ah = storage_sha256_async_new();
        for (size_t off = 0, step = 1; off < big; step = step * 3 % 1000003 + 1) {
                size_t n = big - off < step ? big - off : step;
                storage_sha256_async_update(ah, data + off, n);
                off += n;
        }
        storage_sha256_async_final_hex(ah, got);
        storage_sha256_async_free(ah);
        assert_string_equal(got, want);
        /* Zero-copy feeding, mixed with copies, in uneven pieces. */
        ah = storage_sha256_async_new();
        for (size_t off = 0, k = 0; off < big; k++) {
                size_t cap, n;
                if (k % 3 == 2) {
                        n = big - off < 777 ? big - off : 777;
                        storage_sha256_async_update(ah, data + off, n);
                } else {
                        unsigned char *b = storage_sha256_async_buffer(ah, &cap);
                        assert_true(cap > 0);
                        n = big - off < cap ? big - off : cap;
                        n = k % 3 ? n : n / 3 + 1;
                        if (n > big - off)
                                n = big - off;
                        memcpy(b, data + off, n);
                        storage_sha256_async_commit(ah, n);
                        storage_sha256_async_commit(ah, 0);
                }
                off += n;
        }
        storage_sha256_async_final_hex(ah, got);
        storage_sha256_async_free(ah);
        assert_string_equal(got, want);
        ah = storage_sha256_async_new(); /* freed without final: joins cleanly */
        storage_sha256_async_update(ah, data, 100);
        storage_sha256_async_free(ah);
        free(data);

        assert_int_equal(storage_digest_file(AT_FDCWD, sentinel, d, &err) < 0, 1); /* a directory */
        assert_non_null(err);
        err = hutch_error_free(err);
        snprintf(path, sizeof(path), "%s/keep", sentinel);
        assert_int_equal(storage_digest_file(AT_FDCWD, path, d, &err), 0);
        char expect[STORAGE_DIGEST_BUFSIZE];
        storage_digest_buffer("keep", 4, expect);
        assert_string_equal(d, expect);
}

/* ---- ordinary layers ---- */

static const struct ent basic_ents[] = {
        { .path = "./", .type = AE_IFDIR, .perm = 0755, .mtime = 1111 },
        { .path = "etc/", .type = AE_IFDIR, .perm = 0755, .mtime = 1234567890 },
        { .path = "etc/hostname", .data = "box\n", .perm = 0644, .mtime = 1500000000 },
        { .path = "bin/", .type = AE_IFDIR, .perm = 0755 },
        { .path = "bin/su", .data = "#!/bin/sh\n", .perm = 04755 },
        { .path = "bin/wall", .data = "#!/bin/sh\n", .perm = 02755 },
        { .path = "bin/sh", .type = AE_IFLNK, .data = "busybox", .mtime = 1400000000 },
        { .path = "bin/busybox", .data = "ELF", .perm = 0755 },
        { .path = "bin/ash", .hardlink = "bin/busybox" },
        { .path = "tmp/", .type = AE_IFDIR, .perm = 01777 },
        { .path = "ro/", .type = AE_IFDIR, .perm = 0555, .mtime = 1300000000 },
        { .path = "ro/inside", .data = "x", .perm = 0400 },
        { .path = "run/fifo", .type = AE_IFIFO, .perm = 0620 },
        { .path = "deep/a/b/c/file", .data = "deep" }, /* parents missing from the tar */
        { .path = "/abs/file", .data = "abs" },
        { .path = "./dot/./file", .data = "dot" },
};

static void check_basic_tree(void)
{
        struct stat st;
        _cleanup_free_ char *s = NULL, *s2 = NULL;
        char link[64];

        st = lstat_in_root("etc");
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mtime, 1234567890);
        st = lstat_in_root("etc/hostname");
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(st.st_mtime, 1500000000);
        s = read_in_root("etc/hostname");
        assert_string_equal(s, "box\n");
        assert_int_equal(lstat_in_root("bin/su").st_mode & 07777, 04755);
        assert_int_equal(lstat_in_root("bin/wall").st_mode & 07777, 02755);
        st = lstat_in_root("bin/sh");
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(st.st_mtime, 1400000000);
        ssize_t n = readlinkat(rootfd, "bin/sh", link, sizeof(link));
        assert_int_equal(n, 7);
        assert_memory_equal(link, "busybox", 7);
        struct stat a = lstat_in_root("bin/ash"), b = lstat_in_root("bin/busybox");
        assert_int_equal(a.st_ino, b.st_ino);
        assert_int_equal(a.st_nlink, 2);
        assert_int_equal(lstat_in_root("tmp").st_mode & 07777, 01777);
        st = lstat_in_root("ro");
        assert_int_equal(st.st_mode & 07777, 0555);
        assert_int_equal(st.st_mtime, 1300000000);
        assert_int_equal(lstat_in_root("ro/inside").st_mode & 07777, 0400);
        st = lstat_in_root("run/fifo");
        assert_true(S_ISFIFO(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0620);
        s2 = read_in_root("deep/a/b/c/file");
        assert_string_equal(s2, "deep");
        assert_true(exists_in_root("abs/file"));
        assert_true(exists_in_root("dot/file"));
        st = lstat_in_root(".");
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(st.st_mtime, 1111);
        assert_outside_clean();
}

static void run_basic(enum comp comp)
{
        struct storage_unpack_result res;
        struct buf plain = build_layer(basic_ents, ARRAY_SIZE(basic_ents), PLAIN);
        struct buf layer = build_layer(basic_ents, ARRAY_SIZE(basic_ents), comp);
        char digest[STORAGE_DIGEST_BUFSIZE], diff_id[STORAGE_DIGEST_BUFSIZE];

        storage_digest_buffer(layer.data, layer.len, digest);
        storage_digest_buffer(plain.data, plain.len, diff_id);
        struct storage_unpack_options opts = { .expected_digest = digest };
        assert_int_equal(unpack_buf(&layer, &opts, &res), 0);
        assert_string_equal(res.digest, digest);
        assert_string_equal(res.diff_id, diff_id);
        assert_int_equal(res.compressed_size, layer.len);
        assert_int_equal(res.uncompressed_size, plain.len);
        assert_int_equal(res.entries, ARRAY_SIZE(basic_ents));
        assert_int_equal(res.compression,
                         comp == GZIP ? STORAGE_COMPRESSION_GZIP
                                      : (comp == ZSTD ? STORAGE_COMPRESSION_ZSTD : STORAGE_COMPRESSION_NONE));
        check_basic_tree();
        free(plain.data);
        free(layer.data);
}

static void test_basic_plain(void **state)
{
        (void) state;
        run_basic(PLAIN);
}

static void test_basic_gzip(void **state)
{
        (void) state;
        run_basic(GZIP);
}

static void test_basic_zstd(void **state)
{
        (void) state;
        run_basic(ZSTD);
}

/* The input is a pipe fed by another process: no seeking, large data. */
static void test_pipe_input(void **state)
{
        (void) state;
        size_t big = 8 << 20;
        char *data = xmalloc(big + 1);
        for (size_t i = 0; i < big; i++)
                data[i] = (char) ('a' + (i * 7 + i / 4096) % 26);
        data[big] = '\0';
        struct ent ents[] = { { .path = "big", .data = data }, { .path = "small", .data = "s" } };
        struct buf layer = build_layer(ents, 2, GZIP);
        int p[2];
        /* Non-blocking, as a socket from a registry client might be. */
        assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                (void) fcntl(p[1], F_SETFL, 0);
                for (size_t off = 0; off < layer.len; off += 4096) {
                        size_t n = layer.len - off < 4096 ? layer.len - off : 4096;
                        if (hutch_write_all(p[1], layer.data + off, n) < 0)
                                _exit(1);
                        if (off % (256 * 1024) == 0)
                                usleep(1000); /* the reader finds the pipe empty now and then */
                }
                _exit(0);
        }
        close(p[1]);
        struct storage_unpack_result res;
        struct hutch_error *err = NULL;
        assert_int_equal(storage_layer_unpack(p[0], rootfd, NULL, &res, &err), 0);
        close(p[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        char digest[STORAGE_DIGEST_BUFSIZE];
        storage_digest_buffer(layer.data, layer.len, digest);
        assert_string_equal(res.digest, digest);
        assert_int_equal(lstat_in_root("big").st_size, (off_t) big);
        char *back = NULL;
        size_t len;
        assert_int_equal(hutch_read_file_at(rootfd, "big", big + 1, &back, &len, NULL), 0);
        assert_int_equal(len, big);
        assert_memory_equal(back, data, big);
        free(back);
        free(data);
        free(layer.data);
}

static void test_ownership(void **state)
{
        (void) state;
        struct ent ents[] = {
                { .path = "d/", .type = AE_IFDIR, .uid = 1234, .gid = 5678, .perm = 0750 },
                { .path = "d/f", .data = "x", .uid = 1234, .gid = 5678, .perm = 04750 },
                { .path = "d/l", .type = AE_IFLNK, .data = "f", .uid = 1234, .gid = 5678 },
        };
        struct storage_unpack_result res;

        if (!have_chown() && !user_xattrs_supported())
                skip();
        assert_int_equal(unpack_ents(ents, ARRAY_SIZE(ents), PLAIN, NULL, &res), 0);
        if (have_chown()) {
                struct stat st = lstat_in_root("d/f");
                assert_int_equal(st.st_uid, 1234);
                assert_int_equal(st.st_gid, 5678);
                /* chown did not eat the setuid bit: mode is applied after it. */
                assert_int_equal(st.st_mode & 07777, 04750);
                assert_int_equal(lstat_in_root("d").st_uid, 1234);
                assert_int_equal(lstat_in_root("d/l").st_uid, 1234);
                assert_int_equal(res.owner_overrides, 0);
        } else {
                char val[64] = "";
                char path[400];
                snprintf(path, sizeof(path), "%s/d/f", root);
                ssize_t n = lgetxattr(path, "user.containers.override_stat", val, sizeof(val) - 1);
                assert_true(n > 0);
                val[n] = '\0';
                assert_string_equal(val, "1234:5678:04750");
                snprintf(path, sizeof(path), "%s/d", root);
                n = lgetxattr(path, "user.containers.override_stat", val, sizeof(val) - 1);
                assert_true(n > 0);
                val[n] = '\0';
                assert_string_equal(val, "1234:5678:0750");
                assert_int_equal(res.owner_overrides, 3);
        }
}

static void test_no_chown_records_owner(void **state)
{
        (void) state;
        struct ent ents[] = { { .path = "f", .data = "x", .uid = 0, .gid = 0, .perm = 0755 } };
        struct storage_unpack_options opts = { .no_chown = true };
        struct storage_unpack_result res;
        char val[64], path[400];

        if (!user_xattrs_supported())
                skip();
        assert_int_equal(unpack_ents(ents, 1, PLAIN, &opts, &res), 0);
        snprintf(path, sizeof(path), "%s/f", root);
        ssize_t n = lgetxattr(path, "user.containers.override_stat", val, sizeof(val) - 1);
        assert_true(n > 0);
        val[n] = '\0';
        assert_string_equal(val, "0:0:0755");
        assert_int_equal(lstat_in_root("f").st_uid, geteuid());
        assert_int_equal(res.owner_overrides, 1);
}

static void test_xattrs_and_overlay_xattrs_stripped(void **state)
{
        (void) state;
        struct ent ents[] = {
                { .path = "f",
                  .data = "x",
                  .xattr_names = { "user.keep", "user.overlay.opaque", "trusted.overlay.opaque",
                                   "user.containers.override_stat" },
                  .xattr_values = { "kept", "y", "y", "0:0:04755" } },
                { .path = "d/",
                  .type = AE_IFDIR,
                  .xattr_names = { "user.overlay.whiteout", "user.dirkeep" },
                  .xattr_values = { "y", "v" } },
        };
        struct storage_unpack_result res;
        char val[64], path[400];

        if (!user_xattrs_supported())
                skip();
        assert_int_equal(unpack_ents(ents, ARRAY_SIZE(ents), GZIP, NULL, &res), 0);
        /* pax carries each xattr twice (SCHILY and LIBARCHIVE records). */
        assert_true(res.xattrs_dropped >= 4);
        snprintf(path, sizeof(path), "%s/f", root);
        ssize_t n = lgetxattr(path, "user.keep", val, sizeof(val));
        assert_int_equal(n, 4);
        assert_memory_equal(val, "kept", 4);
        assert_true(lgetxattr(path, "user.overlay.opaque", val, sizeof(val)) < 0);
        assert_true(lgetxattr(path, "trusted.overlay.opaque", val, sizeof(val)) < 0);
        if (!have_chown()) {
                /* Ours (the owner could not be set), not the archive's forged one. */
                n = lgetxattr(path, "user.containers.override_stat", val, sizeof(val) - 1);
                assert_true(n > 0);
                val[n] = '\0';
                assert_string_equal(val, "0:0:0644");
        } else {
                assert_true(lgetxattr(path, "user.containers.override_stat", val, sizeof(val)) < 0);
        }
        snprintf(path, sizeof(path), "%s/d", root);
        assert_true(lgetxattr(path, "user.overlay.whiteout", val, sizeof(val)) < 0);
        assert_int_equal(lgetxattr(path, "user.dirkeep", val, sizeof(val)), 1);
}

static void test_file_capabilities(void **state)
{
        (void) state;
        /* VFS_CAP_REVISION_2 | EFFECTIVE, permitted = CAP_NET_RAW (13). */
        unsigned char cap[20] = { 0 };
        uint32_t magic = 0x02000001, perm = 1u << 13;
        memcpy(cap, &magic, 4);
        memcpy(cap + 4, &perm, 4);

        if (!have_chown())
                skip(); /* CAP_SETFCAP needed */
        struct archive_entry *en = archive_entry_new();
        struct buf out = { 0 };
        struct archive *a = writer_new(PLAIN, &out, false);
        archive_entry_set_pathname(en, "ping");
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_perm(en, 0755);
        archive_entry_set_size(en, 3);
        archive_entry_xattr_add_entry(en, "security.capability", cap, sizeof(cap));
        assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, "ELF", 3), 3);
        archive_entry_free(en);
        writer_finish(a);
        struct storage_unpack_result res;
        assert_int_equal(unpack_buf(&out, NULL, &res), 0);
        free(out.data);
        unsigned char back[64];
        char path[400];
        snprintf(path, sizeof(path), "%s/ping", root);
        ssize_t n = lgetxattr(path, "security.capability", back, sizeof(back));
        if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
                skip();
        assert_int_equal(n, 20);
        assert_memory_equal(back, cap, 20);
}

static void test_devices_skipped(void **state)
{
        (void) state;
        struct ent ents[] = {
                { .path = "dev/null", .type = AE_IFCHR },
                { .path = "dev/sda", .type = AE_IFBLK },
                { .path = "dev/ok", .data = "ok" },
        };
        struct storage_unpack_result res;

        assert_int_equal(unpack_ents(ents, ARRAY_SIZE(ents), PLAIN, NULL, &res), 0);
        assert_int_equal(res.devices_skipped, 2);
        assert_false(exists_in_root("dev/null"));
        assert_false(exists_in_root("dev/sda"));
        assert_true(exists_in_root("dev/ok"));
}

static void test_replace_entries(void **state)
{
        (void) state;
        struct ent ents[] = {
                { .path = "d/", .type = AE_IFDIR },     { .path = "d/x", .data = "x" },
                { .path = "d", .data = "now a file" },                                      /* dir -> file */
                { .path = "f", .data = "file" },        { .path = "f/", .type = AE_IFDIR }, /* file -> dir */
                { .path = "f/y", .data = "y" },         { .path = "twice", .data = "one" },
                { .path = "twice", .data = "two" },     { .path = "self", .data = "s" },
                { .path = "self", .hardlink = "self" }, /* a link to itself is harmless */
        };

        assert_int_equal(unpack_ents(ents, ARRAY_SIZE(ents), PLAIN, NULL, NULL), 0);
        _cleanup_free_ char *d = read_in_root("d"), *t = read_in_root("twice"), *y = read_in_root("f/y");
        assert_string_equal(d, "now a file");
        assert_string_equal(t, "two");
        assert_string_equal(y, "y");
        assert_true(S_ISREG(lstat_in_root("self").st_mode));
        assert_outside_clean();
}

static int write_proc(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        int r = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t) strlen(text) ? 0 : -1;

        if (fd >= 0)
                close(fd);
        return r;
}

/* The way hutch really unpacks: inside a user namespace with a map.  With a
 * one-ID map, container root is us; ID 1000 is not mapped, so chown gives
 * EINVAL and its owner goes into the override xattr; file capabilities are
 * set by namespace root. */
/* Layer for the user namespace test: owners 0 and 1000, a file capability. */
static int build_userns_layer(unsigned char cap[20])
{
        uint32_t magic = 0x02000001, perm = 1u << 13;
        memcpy(cap, &magic, 4);
        memcpy(cap + 4, &perm, 4);
        struct buf out = { 0 };
        struct archive *a = writer_new(ZSTD, &out, false);
        struct ent ents[] = {
                { .path = "etc/", .type = AE_IFDIR, .uid = 0, .gid = 0 },
                { .path = "etc/passwd", .data = "root:x:0:0::/:/bin/sh\n", .uid = 0, .gid = 0 },
                { .path = "home/user/", .type = AE_IFDIR, .uid = 1000, .gid = 1000, .perm = 0700 },
                { .path = "home/user/f", .data = "u", .uid = 1000, .gid = 1000, .perm = 04711 },
                { .path = "a/.wh.b" },
        };
        for (size_t i = 0; i < ARRAY_SIZE(ents); i++)
                writer_add(a, &ents[i]);
        struct archive_entry *en = archive_entry_new();
        archive_entry_set_pathname(en, "ping");
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_perm(en, 0755);
        archive_entry_set_size(en, 0);
        archive_entry_xattr_add_entry(en, "security.capability", cap, 20);
        assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
        archive_entry_free(en);
        writer_finish(a);

        int fd = memfd_of(&out);
        free(out.data);
        return fd;
}

static int userns_child(int fd, const unsigned char cap[20], bool xattrs_ok)
{
        char map[64];
        uid_t uid = geteuid();
        gid_t gid = getegid();

        if (unshare(CLONE_NEWUSER) < 0)
                return 77;
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned) uid);
        if (write_proc("/proc/self/uid_map", map) < 0)
                return 77;
        (void) write_proc("/proc/self/setgroups", "deny");
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned) gid);
        if (write_proc("/proc/self/gid_map", map) < 0)
                return 77;

        struct storage_unpack_result res;
        struct hutch_error *err = NULL;
        if (storage_layer_unpack(fd, rootfd, NULL, &res, &err) < 0) {
                fprintf(stderr, "# userns unpack: %s\n", err->msg);
                return 11;
        }
        struct stat st;
        if (fstatat(rootfd, "etc/passwd", &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid != 0)
                return 12;
        if (fstatat(rootfd, "home/user/f", &st, AT_SYMLINK_NOFOLLOW) < 0 || (st.st_mode & 07777) != 04711)
                return 13;
        char path[400], val[64];
        snprintf(path, sizeof(path), "%s/home/user/f", root);
        ssize_t n = lgetxattr(path, "user.containers.override_stat", val, sizeof(val) - 1);
        if (n <= 0)
                return xattrs_ok ? 14 : 0;
        val[n] = '\0';
        if (!STREQ(val, "1000:1000:04711"))
                return 15;
        if (fstatat(rootfd, "a/b", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISCHR(st.st_mode))
                return 16;
        unsigned char back[64];
        snprintf(path, sizeof(path), "%s/ping", root);
        n = lgetxattr(path, "security.capability", back, sizeof(back));
        if (n < 20 || memcmp(back + 4, cap + 4, 4) != 0)
                return 17;
        return 0;
}

static void test_in_user_namespace(void **state)
{
        (void) state;
        unsigned char cap[20] = { 0 };
        int fd = build_userns_layer(cap);
        bool xattrs_ok = user_xattrs_supported();
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0)
                _exit(userns_child(fd, cap, xattrs_ok));
        close(fd);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                skip();
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_outside_clean();
}

/* ---- whiteouts ---- */

static void test_whiteouts_overlay(void **state)
{
        (void) state;
        struct ent ents[] = {
                { .path = "a/", .type = AE_IFDIR },
                { .path = "a/.wh.gone" },
                { .path = ".wh.top" },
                { .path = "c/", .type = AE_IFDIR },
                { .path = "c/.wh..wh..opq" },
                { .path = "c/new", .data = "n" },
                { .path = "missing/parent/.wh.x" },
                { .path = "same", .data = "kept" },
                { .path = ".wh.same" }, /* hides lower layers only: same stays */
                { .path = "sd/", .type = AE_IFDIR },
                { .path = ".wh.sd" },         /* a directory of this layer becomes opaque */
                { .path = "a/.wh..wh.plnk" }, /* aufs metadata: ignored */
                { .path = ".wh..wh.plnk/", .type = AE_IFDIR },
                { .path = ".wh..wh.plnk/123.456", .data = "aufs hardlink store" },
                { .path = ".wh.wd" },
                { .path = "wd/", .type = AE_IFDIR }, /* replaces the whiteout: opaque */
        };
        struct storage_unpack_result res;

        assert_int_equal(unpack_ents(ents, ARRAY_SIZE(ents), GZIP, NULL, &res), 0);
        struct stat st = lstat_in_root("a/gone");
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
        assert_true(S_ISCHR(lstat_in_root("top").st_mode));
        assert_true(S_ISCHR(lstat_in_root("missing/parent/x").st_mode));
        assert_false(exists_in_root("a/.wh.gone"));
        assert_false(exists_in_root("a/.wh..wh.plnk"));
        assert_false(exists_in_root(".wh..wh.plnk"));
        assert_true(S_ISREG(lstat_in_root("same").st_mode));
        assert_true(exists_in_root("c/new"));
        char path[400], val[8];
        snprintf(path, sizeof(path), "%s/c", root);
        if (lgetxattr(path, "user.overlay.opaque", val, sizeof(val)) == 1) {
                assert_int_equal(val[0], 'y');
                assert_false(exists_in_root("c/.wh..wh..opq"));
                snprintf(path, sizeof(path), "%s/sd", root);
                assert_int_equal(lgetxattr(path, "user.overlay.opaque", val, sizeof(val)), 1);
                snprintf(path, sizeof(path), "%s/wd", root);
                assert_int_equal(lgetxattr(path, "user.overlay.opaque", val, sizeof(val)), 1);
                assert_true(S_ISDIR(lstat_in_root("wd").st_mode));
        } else {
                /* The filesystem refused user xattrs: fuse-overlayfs' marker file. */
                assert_true(exists_in_root("c/.wh..wh..opq"));
                assert_true(res.whiteout_fallbacks > 0);
        }
        assert_int_equal(res.whiteouts, 8);
        assert_outside_clean();
}

static void test_whiteouts_aufs(void **state)
{
        (void) state;
        struct ent ents[] = {
                { .path = "a/.wh.gone" },
                { .path = "c/.wh..wh..opq" },
        };
        struct storage_unpack_options opts = { .whiteouts = STORAGE_WHITEOUT_AUFS };

        assert_int_equal(unpack_ents(ents, ARRAY_SIZE(ents), PLAIN, &opts, NULL), 0);
        assert_true(S_ISREG(lstat_in_root("a/.wh.gone").st_mode));
        assert_true(S_ISREG(lstat_in_root("c/.wh..wh..opq").st_mode));
        assert_false(exists_in_root("a/gone"));
}

#if defined(__x86_64__)
/* A child where mknodat and fsetxattr fail with EPERM, as under some
 * seccomp profiles or on filesystems without whiteout support. */
static int fallback_child(int fd)
{
        struct sock_filter filter[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mknodat, 2, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fsetxattr, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        };
        struct sock_fprog prog = { .len = ARRAY_SIZE(filter), .filter = filter };
        struct storage_unpack_result res;
        struct hutch_error *err = NULL;
        struct stat st;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
                return 77;
        if (storage_layer_unpack(fd, rootfd, NULL, &res, &err) < 0) {
                fprintf(stderr, "# fallback unpack: %s\n", err->msg);
                return 10;
        }
        if (fstatat(rootfd, "a/.wh.gone", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return 11;
        if (fstatat(rootfd, "a/gone", &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 12;
        if (fstatat(rootfd, "c/.wh..wh..opq", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return 13;
        if (res.whiteouts != 2 || res.whiteout_fallbacks != 2)
                return 14;
        return 0;
}
#endif

static void test_whiteout_fallback(void **state)
{
        (void) state;
#if defined(__x86_64__)
        struct ent ents[] = {
                { .path = "a/.wh.gone" },
                { .path = "c/", .type = AE_IFDIR },
                { .path = "c/.wh..wh..opq" },
        };
        struct buf b = build_layer(ents, ARRAY_SIZE(ents), PLAIN);
        int fd = memfd_of(&b);
        free(b.data);
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0)
                _exit(fallback_child(fd));
        close(fd);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                skip();
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_outside_clean();
#else
        skip();
#endif
}

static void test_bad_whiteouts(void **state)
{
        (void) state;
        struct ent pre[] = {
                { .path = "a/", .type = AE_IFDIR },
                { .path = "a/keep", .data = "k" },
                { .path = "lnk", .type = AE_IFLNK, .data = "a" },
        };
        const char *bad[] = {
                ".wh.",
                "a/.wh.",
                "a/.wh..",
                "a/.wh...",
                "a/.wh..wh.",
                "lnk/.wh.keep", /* through a symlinked parent */
                "lnk/.wh..wh..opq",
                ".wh.a/x", /* a whiteout used as a directory */
        };

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct ent ents[4] = { pre[0], pre[1], pre[2], { .path = bad[i] } };
                print_message("# whiteout '%s'\n", bad[i]);
                assert_true(unpack_ents(ents, 4, PLAIN, NULL, NULL) < 0);
                /* Never a deletion, never an opaque flag through the link. */
                assert_true(S_ISREG(lstat_in_root("a/keep").st_mode));
                assert_true(S_ISDIR(lstat_in_root("a").st_mode));
                char path[400], val[8];
                snprintf(path, sizeof(path), "%s/a", root);
                assert_true(lgetxattr(path, "user.overlay.opaque", val, sizeof(val)) < 0);
                assert_false(exists_in_root("a/.wh..wh..opq"));
                assert_outside_clean();
                assert_int_equal(teardown(NULL), 0);
                assert_int_equal(setup(NULL), 0);
        }
}

/* ---- breakouts ---- */

struct breakout {
        const char *name;
        bool must_fail;
        struct ent ents[5];
};

/* "@" in a path or link target is replaced by the sentinel's absolute path. */
static char *expand(const char *s)
{
        if (s == NULL || strchr(s, '@') == NULL)
                return s ? xstrdup(s) : NULL;
        const char *at = strchr(s, '@');
        return xasprintf("%.*s%s%s", (int) (at - s), s, sentinel, at + 1);
}

static void test_breakouts(void **state)
{
        (void) state;
        static const struct breakout cases[] = {
                { "dotdot file", false, { { .path = "../evil", .data = "x" } } },
                { "many dotdots", false, { { .path = "../../../../../../../../tmp/evil", .data = "x" } } },
                { "dotdot inside", false, { { .path = "a/../../evil", .data = "x" } } },
                { "absolute into sentinel", false, { { .path = "@/evil", .data = "x" } } },
                { "dotdot to sentinel", false, { { .path = "../sentinel/evil", .data = "x" } } },
                { "symlink to / then file",
                  false,
                  { { .path = "s", .type = AE_IFLNK, .data = "/" }, { .path = "s/evil", .data = "x" } } },
                { "symlink to sentinel (absolute) then file",
                  false,
                  { { .path = "s", .type = AE_IFLNK, .data = "@" }, { .path = "s/evil", .data = "x" } } },
                { "symlink to sentinel (relative) then file",
                  false,
                  { { .path = "s", .type = AE_IFLNK, .data = "../sentinel" }, { .path = "s/evil", .data = "x" } } },
                { "symlink to sentinel dir then dir",
                  false,
                  { { .path = "s", .type = AE_IFLNK, .data = "../sentinel/dir" },
                    { .path = "s/sub/", .type = AE_IFDIR } } },
                { "symlink chain",
                  false,
                  { { .path = "a", .type = AE_IFLNK, .data = "b" },
                    { .path = "b", .type = AE_IFLNK, .data = "c/../../.." },
                    { .path = "c/", .type = AE_IFDIR },
                    { .path = "a/sentinel/evil", .data = "x" } } },
                { "symlink to dotdot chain",
                  false,
                  { { .path = "up", .type = AE_IFLNK, .data = ".." }, { .path = "up/up/up/evil", .data = "x" } } },
                { "symlink loop",
                  true,
                  { { .path = "loop", .type = AE_IFLNK, .data = "loop" }, { .path = "loop/x", .data = "x" } } },
                { "file over symlink to outside file",
                  false,
                  { { .path = "f", .type = AE_IFLNK, .data = "@/keep" }, { .path = "f", .data = "pwned" } } },
                { "dir over symlink to outside dir (chmod through link)",
                  false,
                  { { .path = "d", .type = AE_IFLNK, .data = "@" },
                    { .path = "d/", .type = AE_IFDIR, .perm = 0777, .mtime = 12345 } } },
                { "fifo over symlink",
                  false,
                  { { .path = "p", .type = AE_IFLNK, .data = "@/fifo" }, { .path = "p", .type = AE_IFIFO } } },
                { "dir replaced by symlink then written through",
                  false,
                  { { .path = "d/", .type = AE_IFDIR },
                    { .path = "d", .type = AE_IFLNK, .data = "@" },
                    { .path = "d/evil", .data = "x" } } },
                { "dir replaced by relative symlink then written through",
                  false,
                  { { .path = "d/", .type = AE_IFDIR },
                    { .path = "d", .type = AE_IFLNK, .data = "../sentinel" },
                    { .path = "d/evil", .data = "x" } } },
                { "hardlink to outside (dotdot)", true, { { .path = "h", .hardlink = "../sentinel/keep" } } },
                { "hardlink to outside (absolute)", true, { { .path = "h", .hardlink = "@/keep" } } },
                { "hardlink through symlinked parent",
                  true,
                  { { .path = "s", .type = AE_IFLNK, .data = "@" }, { .path = "h", .hardlink = "s/keep" } } },
                { "hardlink to symlink pointing outside",
                  false,
                  { { .path = "l", .type = AE_IFLNK, .data = "@/keep" },
                    { .path = "h", .hardlink = "l" },
                    { .path = "h", .data = "overwrite" } } },
                { "hardlink to symlink then write through it",
                  false,
                  { { .path = "l", .type = AE_IFLNK, .data = "@" },
                    { .path = "h", .hardlink = "l" },
                    { .path = "h/evil", .data = "x" } } },
                { "hardlink to the root", true, { { .path = "h", .hardlink = "." } } },
                { "hardlink to a directory",
                  true,
                  { { .path = "d/", .type = AE_IFDIR }, { .path = "h", .hardlink = "d" } } },
                { "root as symlink", true, { { .path = ".", .type = AE_IFLNK, .data = "@" } } },
                { "root as file", true, { { .path = "./", .data = "x" } } },
                { "whiteout of dotdot", true, { { .path = "a/.wh.." } } },
                { "whiteout through symlink to outside",
                  true,
                  { { .path = "s", .type = AE_IFLNK, .data = "@" }, { .path = "s/.wh.keep" } } },
                { "opaque through symlink to outside",
                  true,
                  { { .path = "s", .type = AE_IFLNK, .data = "@" }, { .path = "s/.wh..wh..opq" } } },
                { "whiteout of a symlink to outside",
                  false,
                  { { .path = "s", .type = AE_IFLNK, .data = "@/keep" }, { .path = ".wh.s" } } },
                { "whiteout of a symlink to an outside dir",
                  false,
                  { { .path = "s", .type = AE_IFLNK, .data = "@" },
                    { .path = ".wh.s" },
                    { .path = "s/.wh..wh..opq" } } },
                { "xattrs on a symlink to outside",
                  false,
                  { { .path = "s",
                      .type = AE_IFLNK,
                      .data = "@/keep",
                      .xattr_names = { "user.evil", "security.capability" },
                      .xattr_values = { "x", "0123456789abcdefghij" } },
                    { .path = "t",
                      .type = AE_IFLNK,
                      .data = "@",
                      .xattr_names = { "user.overlay.opaque", "trusted.overlay.opaque" },
                      .xattr_values = { "y", "y" } } } },
                { "owner and mode of a symlink to outside",
                  false,
                  { { .path = "s", .type = AE_IFLNK, .data = "@/keep", .uid = 1234, .gid = 1234, .perm = 04777 } } },
                { "dangling symlink parent",
                  true,
                  { { .path = "s", .type = AE_IFLNK, .data = "@/nonexistent" }, { .path = "s/x", .data = "x" } } },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                const struct breakout *c = &cases[i];
                struct ent ents[5];
                char *owned[10] = { 0 };
                size_t n = 0, k = 0;

                print_message("# breakout: %s\n", c->name);
                for (; n < 5 && c->ents[n].path; n++) {
                        ents[n] = c->ents[n];
                        ents[n].path = owned[k++] = expand(c->ents[n].path);
                        if (c->ents[n].data && c->ents[n].type == AE_IFLNK)
                                ents[n].data = owned[k++] = expand(c->ents[n].data);
                        if (c->ents[n].hardlink)
                                ents[n].hardlink = owned[k++] = expand(c->ents[n].hardlink);
                }
                for (enum comp comp = PLAIN; comp <= ZSTD; comp++) {
                        int r = unpack_ents(ents, n, comp, NULL, NULL);
                        if (c->must_fail && r == 0)
                                fail_msg("'%s' was accepted", c->name);
                        assert_outside_clean();
                        assert_int_equal(teardown(NULL), 0);
                        assert_int_equal(setup(NULL), 0);
                }
                for (size_t j = 0; j < k; j++)
                        free(owned[j]);
        }
}

/* Where confined entries land. */
static void test_confined_locations(void **state)
{
        (void) state;
        _cleanup_free_ char *abs = xasprintf("%s/evil", sentinel);
        _cleanup_free_ char *abs_in_root = xstrdup(abs + 1);
        struct ent ents[] = {
                { .path = "../evil1", .data = "1" },
                { .path = abs, .data = "2" },
                { .path = "s", .type = AE_IFLNK, .data = "/" },
                { .path = "s/evil3", .data = "3" },
                { .path = "l", .type = AE_IFLNK, .data = "/etc/passwd" },
                { .path = "h", .hardlink = "l" },
        };

        assert_int_equal(unpack_ents(ents, ARRAY_SIZE(ents), PLAIN, NULL, NULL), 0);
        assert_true(exists_in_root("evil1"));
        assert_true(exists_in_root(abs_in_root));
        assert_true(exists_in_root("evil3"));
        /* The hardlink is a second name of the symlink, not of /etc/passwd. */
        struct stat st = lstat_in_root("h");
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(st.st_ino, lstat_in_root("l").st_ino);
        assert_outside_clean();
}

/* The same with the component walk of kernels without openat2. */
static void test_breakouts_without_openat2(void **state)
{
        hutch_fs_disable_openat2(true);
        test_breakouts(state);
        test_confined_locations(state);
        assert_int_equal(teardown(NULL), 0);
        assert_int_equal(setup(NULL), 0);
        run_basic(GZIP);
        hutch_fs_disable_openat2(false);
}

/* ---- bad input and caps ---- */

static void assert_fails_fast(const struct buf *b, const struct storage_unpack_options *opts)
{
        struct timespec t0, t1;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        alarm(30); /* a hang kills the test */
        assert_true(unpack_buf(b, opts, NULL) < 0);
        alarm(0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_true(t1.tv_sec - t0.tv_sec < 10);
        assert_outside_clean();
}

static void test_junk_and_truncated(void **state)
{
        (void) state;
        unsigned char junk[64 * 1024];
        unsigned int seed = 42;
        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (unsigned char) (rand_r(&seed) >> 7);

        for (enum comp comp = PLAIN; comp <= ZSTD; comp++) {
                print_message("# compression %d\n", comp);
                /* Valid compression of junk bytes. */
                struct buf b = compress_bytes(junk, sizeof(junk), comp);
                assert_fails_fast(&b, NULL);
                free(b.data);
                /* The magic of the format followed by junk. */
                static const unsigned char gz[] = { 0x1f, 0x8b, 0x08, 0x00 }, zs[] = { 0x28, 0xb5, 0x2f, 0xfd };
                struct buf m = { 0 };
                if (comp == GZIP)
                        buf_append(&m, gz, sizeof(gz));
                else if (comp == ZSTD)
                        buf_append(&m, zs, sizeof(zs));
                buf_append(&m, junk, sizeof(junk));
                assert_fails_fast(&m, NULL);
                free(m.data);
                /* A valid layer cut short, at several points. */
                struct buf full = build_layer(basic_ents, ARRAY_SIZE(basic_ents), comp);
                /* A plain tar cut at an entry boundary or in its end blocks
                 * reads as a shorter valid tar (only the digest tells), so
                 * cut plain tars inside the last entry's data or earlier. */
                size_t limit = full.len;
                if (comp == PLAIN)
                        while (limit > 0 && full.data[limit - 1] == 0)
                                limit--;
                for (size_t cut = 1; cut < limit; cut += limit / 7 + 1) {
                        struct buf t = { .data = full.data, .len = cut };
                        assert_int_equal(teardown(NULL), 0);
                        assert_int_equal(setup(NULL), 0);
                        assert_fails_fast(&t, NULL);
                }
                free(full.data);
                /* Empty input. */
                struct buf e = { 0 };
                assert_fails_fast(&e, NULL);
        }
}

static void test_digest_mismatch(void **state)
{
        (void) state;
        struct ent ents[] = { { .path = "f", .data = "x" } };
        struct storage_unpack_options opts = {
                .expected_digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        };
        struct hutch_error *err = NULL;

        struct buf b = build_layer(ents, 1, GZIP);
        _cleanup_free_ char *final = xasprintf("%s/layer", base);
        int lfd = memfd_of(&b);
        assert_true(storage_layer_unpack_dir(lfd, final, &opts, NULL, &err) < 0);
        assert_non_null(strstr(err->msg, "digest mismatch"));
        err = hutch_error_free(err);
        close(lfd);
        free(b.data);
        assert_int_equal(access(final, F_OK), -1);
        assert_int_equal(count_dir(base), 2); /* no temporary directory left */
        opts.expected_digest = "sha256:../../../../../../etc/passwd";
        int fd = memfd_create("x", MFD_CLOEXEC);
        assert_true(storage_layer_unpack(fd, rootfd, &opts, NULL, &err) < 0);
        assert_non_null(strstr(err->msg, "invalid expected digest"));
        hutch_error_free(err);
        close(fd);
        assert_false(exists_in_root("f"));
}

static void test_bombs(void **state)
{
        (void) state;
        size_t big = 64 << 20;
        char *zeros = xzalloc(big + 1);
        memset(zeros, 'z', big);
        struct storage_unpack_options opts = { .max_bytes = 1 << 20 };

        for (enum comp comp = GZIP; comp <= ZSTD; comp++) {
                /* One 64 MiB file of one letter: a few KiB compressed. */
                struct ent ents[] = { { .path = "bomb", .data = zeros } };
                struct buf b = build_layer(ents, 1, comp);
                assert_true(b.len < (1 << 20));
                assert_fails_fast(&b, &opts);
                free(b.data);
                /* A valid empty tar followed by 64 MiB of zeros: the tar
                 * reader stops early, the cap still applies to the rest. */
                memset(zeros, 0, big);
                b = compress_bytes(zeros, big, comp);
                assert_fails_fast(&b, &opts);
                free(b.data);
                memset(zeros, 'z', big);
                assert_int_equal(teardown(NULL), 0);
                assert_int_equal(setup(NULL), 0);
        }
        free(zeros);
}

/* One GNU tar header, checksummed. */
static void gnu_header(unsigned char h[512], const char *name, char type, uint64_t size)
{
        memset(h, 0, 512);
        snprintf((char *) h, 100, "%s", name);
        snprintf((char *) h + 100, 8, "%07o", 0644);
        snprintf((char *) h + 108, 8, "%07o", 0);
        snprintf((char *) h + 116, 8, "%07o", 0);
        snprintf((char *) h + 124, 12, "%011llo", (unsigned long long) size);
        snprintf((char *) h + 136, 12, "%011o", 1000000000);
        h[156] = (unsigned char) type;
        memcpy(h + 257, "ustar  ", 8);
}

static void gnu_checksum(unsigned char h[512])
{
        unsigned sum = 0;
        memset(h + 148, ' ', 8);
        for (int i = 0; i < 512; i++)
                sum += h[i];
        snprintf((char *) h + 148, 8, "%06o", sum);
        h[155] = ' ';
}

static void test_huge_sparse(void **state)
{
        (void) state;
        unsigned char h[512], data[512];
        uint64_t realsize = UINT64_C(1) << 50; /* 1 PiB */

        /* Old GNU sparse: one 512-byte chunk at offset 0 of a 1 PiB file. */
        gnu_header(h, "sparse", 'S', 512);
        snprintf((char *) h + 386, 12, "%011o", 0);
        snprintf((char *) h + 398, 12, "%011o", 512);
        h[483] = 0x80; /* base-256 realsize */
        for (int i = 0; i < 8; i++)
                h[494 - i] = (unsigned char) (realsize >> (8 * i));
        gnu_checksum(h);
        memset(data, 'd', sizeof(data));
        struct buf b = { 0 };
        buf_append(&b, h, 512);
        buf_append(&b, data, 512);
        static const unsigned char end[1024];
        buf_append(&b, end, sizeof(end));
        assert_fails_fast(&b, NULL);
        assert_false(exists_in_root("sparse"));
        free(b.data);

        /* A modest sparse file (64 MiB apparent, 512 bytes of data) stays sparse. */
        gnu_header(h, "sparse", 'S', 512);
        snprintf((char *) h + 386, 12, "%011o", 4096);
        snprintf((char *) h + 398, 12, "%011o", 512);
        snprintf((char *) h + 483, 12, "%011o", 64 << 20);
        gnu_checksum(h);
        b = (struct buf){ 0 };
        buf_append(&b, h, 512);
        buf_append(&b, data, 512);
        buf_append(&b, end, sizeof(end));
        assert_int_equal(unpack_buf(&b, NULL, NULL), 0);
        struct stat st = lstat_in_root("sparse");
        assert_int_equal(st.st_size, 64 << 20);
        assert_true(st.st_blocks * 512 < (1 << 20));
        free(b.data);
}

static void test_huge_headers(void **state)
{
        (void) state;
        unsigned char h[512];
        static const unsigned char end[1024];

        /* A pax header claiming 1 GiB: refused without allocating it. */
        gnu_header(h, "PaxHeader/x", 'x', UINT64_C(1) << 30);
        memcpy(h + 257,
               "ustar\0"
               "00",
               8);
        gnu_checksum(h);
        struct buf b = { 0 };
        buf_append(&b, h, 512);
        for (int i = 0; i < 128; i++)
                buf_append(&b, "9 a=bcde\n", 9);
        assert_fails_fast(&b, NULL);
        free(b.data);

        /* A path longer than max_path. */
        char *longname = xmalloc(8192);
        for (int i = 0; i < 8191; i++)
                longname[i] = (i % 100 == 99) ? '/' : 'a';
        longname[8191] = '\0';
        struct ent ents[] = { { .path = longname, .data = "x" } };
        b = build_layer(ents, 1, PLAIN);
        assert_fails_fast(&b, NULL);
        free(b.data);
        free(longname);

        /* Too many xattr bytes on one entry. */
        char *val = xmalloc(600 * 1024);
        memset(val, 'v', 600 * 1024 - 1);
        val[600 * 1024 - 1] = '\0';
        struct ent xents[] = {
                { .path = "f", .data = "x", .xattr_names = { "user.a", "user.b" }, .xattr_values = { val, val } }
        };
        b = build_layer(xents, 1, PLAIN);
        struct storage_unpack_options opts = { .max_xattr_bytes = 1 << 20 };
        assert_fails_fast(&b, &opts);
        free(b.data);
        free(val);
        (void) end;
}

static void test_entry_cap(void **state)
{
        (void) state;
        struct ent ents[20];
        char names[20][8];
        for (int i = 0; i < 20; i++) {
                snprintf(names[i], sizeof(names[i]), "f%d", i);
                ents[i] = (struct ent){ .path = names[i], .data = "x" };
        }
        struct storage_unpack_options opts = { .max_entries = 10 };
        struct buf b = build_layer(ents, 20, PLAIN);
        assert_fails_fast(&b, &opts);
        opts.max_entries = 20;
        assert_int_equal(teardown(NULL), 0);
        assert_int_equal(setup(NULL), 0);
        assert_int_equal(unpack_buf(&b, &opts, NULL), 0);
        free(b.data);
}

/* ---- unpack into a temporary directory, rename on success ---- */

static bool has_tmp_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        bool found = false;

        assert_non_null(d);
        while ((de = readdir(d)) != NULL)
                if (storage_layer_tmp_name_is(de->d_name))
                        found = true;
        closedir(d);
        return found;
}

static void test_unpack_dir(void **state)
{
        (void) state;
        _cleanup_free_ char *final = xasprintf("%s/layer", base);
        struct hutch_error *err = NULL;
        struct storage_unpack_result res;

        assert_true(storage_layer_tmp_name_is("abc.tmp-Xy12Zq"));
        assert_false(storage_layer_tmp_name_is("abc"));
        assert_false(storage_layer_tmp_name_is("abc.tmp-"));

        /* Failure: nothing left behind. */
        struct buf junk = { 0 };
        buf_append(&junk, "definitely not a tar archive, but long enough to be read ...", 60);
        int fd = memfd_of(&junk);
        assert_true(storage_layer_unpack_dir(fd, final, NULL, &res, &err) < 0);
        err = hutch_error_free(err);
        close(fd);
        free(junk.data);
        assert_int_equal(access(final, F_OK), -1);
        assert_false(has_tmp_entries(base));

        /* A hostile layer that fails half-way: also removed. */
        struct ent bad[] = { { .path = "a/b/c", .data = "x" }, { .path = ".wh.." } };
        struct buf b = build_layer(bad, 2, GZIP);
        fd = memfd_of(&b);
        assert_true(storage_layer_unpack_dir(fd, final, NULL, &res, &err) < 0);
        err = hutch_error_free(err);
        close(fd);
        free(b.data);
        assert_int_equal(access(final, F_OK), -1);
        assert_false(has_tmp_entries(base));

        /* Success: renamed into place, mode 0755. */
        b = build_layer(basic_ents + 1, ARRAY_SIZE(basic_ents) - 1, ZSTD);
        fd = memfd_of(&b);
        assert_int_equal(storage_layer_unpack_dir(fd, final, NULL, &res, &err), 0);
        close(fd);
        assert_false(has_tmp_entries(base));
        struct stat st;
        assert_int_equal(stat(final, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        _cleanup_free_ char *f = xasprintf("%s/etc/hostname", final);
        assert_int_equal(access(f, F_OK), 0);

        /* The final directory exists already: EEXIST, nothing changed. */
        fd = memfd_of(&b);
        assert_int_equal(storage_layer_unpack_dir(fd, final, NULL, &res, &err), -EEXIST);
        err = hutch_error_free(err);
        close(fd);
        free(b.data);
        assert_false(has_tmp_entries(base));
        assert_int_equal(hutch_rm_rf_at(AT_FDCWD, final), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_digest_valid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sha256, setup, teardown),
                cmocka_unit_test_setup_teardown(test_basic_plain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_basic_gzip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_basic_zstd, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pipe_input, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ownership, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_chown_records_owner, setup, teardown),
                cmocka_unit_test_setup_teardown(test_xattrs_and_overlay_xattrs_stripped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_file_capabilities, setup, teardown),
                cmocka_unit_test_setup_teardown(test_in_user_namespace, setup, teardown),
                cmocka_unit_test_setup_teardown(test_devices_skipped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_replace_entries, setup, teardown),
                cmocka_unit_test_setup_teardown(test_whiteouts_overlay, setup, teardown),
                cmocka_unit_test_setup_teardown(test_whiteouts_aufs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_whiteout_fallback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_whiteouts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_breakouts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_confined_locations, setup, teardown),
                cmocka_unit_test_setup_teardown(test_breakouts_without_openat2, setup, teardown),
                cmocka_unit_test_setup_teardown(test_junk_and_truncated, setup, teardown),
                cmocka_unit_test_setup_teardown(test_digest_mismatch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bombs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_huge_sparse, setup, teardown),
                cmocka_unit_test_setup_teardown(test_huge_headers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_entry_cap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unpack_dir, setup, teardown),
        };
        return cmocka_run_group_tests_name("storage-unpack", tests, NULL, NULL);
}

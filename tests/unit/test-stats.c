/* Unit tests for `hutch stats`' pure parts (cmd/procstat.c): Docker's size
 * formats, the CPU percentage, and the /proc and cgroup file parsers. */
#include "config.h"

#include "cmd/procstat.h"

#include <errno.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static const char *bin(uint64_t n)
{
        static char buf[32];
        cmd_stats_bytes_binary(n, buf, sizeof(buf));
        return buf;
}

static const char *dec(uint64_t n)
{
        static char buf[32];
        cmd_stats_bytes_decimal(n, buf, sizeof(buf));
        return buf;
}

static void test_bytes(void **state)
{
        (void) state;
        /* memory: go-units BytesSize, "%.4g" over powers of 1024 */
        assert_string_equal(bin(0), "0B");
        assert_string_equal(bin(1023), "1023B");
        assert_string_equal(bin(1024), "1KiB");
        assert_string_equal(bin(1536 * 1024), "1.5MiB");
        assert_string_equal(bin(16642998272ull), "15.5GiB");
        assert_string_equal(bin(1118830), "1.067MiB");
        assert_string_equal(bin(UINT64_MAX), "16EiB");
        /* I/O: HumanSizeWithPrecision(x, 3), powers of 1000 */
        assert_string_equal(dec(0), "0B");
        assert_string_equal(dec(648), "648B");
        assert_string_equal(dec(1200), "1.2kB");
        assert_string_equal(dec(1000000), "1MB");
        assert_string_equal(dec(12345678), "12.3MB");
        /* Docker's quirk, kept: 999.999 kB rounds to 3 digits as Go prints it */
        assert_string_equal(dec(999999), "1e+03kB");
}

static void test_cpu_percent(void **state)
{
        (void) state;
        /* half a second of one core out of 2 cores * 0.5 s: one full core */
        assert_true(cmd_stats_cpu_percent(0, 500000000, 0, 1000000000, 2) == 100.0);
        assert_true(cmd_stats_cpu_percent(1000, 1000 + 250000000, 5, 5 + 1000000000, 4) == 100.0);
        assert_true(cmd_stats_cpu_percent(0, 100000000, 0, 1000000000, 1) == 10.0);
        /* nothing moved, or a counter went back: 0 */
        assert_true(cmd_stats_cpu_percent(10, 10, 0, 1000, 2) == 0.0);
        assert_true(cmd_stats_cpu_percent(10, 5, 0, 1000, 2) == 0.0);
        assert_true(cmd_stats_cpu_percent(0, 10, 1000, 1000, 2) == 0.0);
        assert_true(cmd_stats_cpu_percent(0, 10, 0, 1000, 0) == 0.0);
}

static void test_procstat(void **state)
{
        struct cmd_procstat st;
        (void) state;
        /* comm holds spaces and parens: fields count from the last ')' */
        const char *line = "1234 (a) b (c) S 1 1234 1234 0 -1 4194560 100 0 0 0 17 3 5 7 20 -5 2 0 987654 "
                           "1234567 321 18446744073709551615 1 1 0 0 0 0 0\n";
        assert_int_equal(cmd_procstat_parse(line, strlen(line), &st), 0);
        assert_string_equal(st.comm, "a) b (c");
        assert_int_equal(st.state, 'S');
        assert_int_equal(st.utime, 17);
        assert_int_equal(st.stime, 3);
        assert_int_equal(st.cutime, 5);
        assert_int_equal(st.cstime, 7);
        assert_int_equal(st.num_threads, 2);
        assert_int_equal(st.starttime, 987654);
        assert_int_equal(st.rss_pages, 321);
        /* exactly 24 fields, no newline */
        const char *shortest = "7 (x) R 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 99 0 5";
        assert_int_equal(cmd_procstat_parse(shortest, strlen(shortest), &st), 0);
        assert_int_equal(st.rss_pages, 5);
        assert_int_equal(st.starttime, 99);

        static const char *const bad[] = {
                "",
                "1234 a S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 99 0 5",    /* no parens */
                "1234 (a S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 99 0 5",   /* no ')' */
                "1234 (a) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 99 0",    /* 23 fields */
                "1234 (a) S 1 1 1 0 -1 0 0 0 0 0 -1 2 3 4 20 0 1 0 99 0 5", /* negative utime */
                "1234 (a) S 1 1 1 0 -1 0 0 0 0 0 1x 2 3 4 20 0 1 0 99 0 5", /* junk in a number */
                "1234 (a)",
                ") 1 (",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(cmd_procstat_parse(bad[i], strlen(bad[i]), &st), -EINVAL);
        /* not NUL-terminated: only len bytes are read */
        assert_int_equal(cmd_procstat_parse(line, 10, &st), -EINVAL);
}

static void test_netdev(void **state)
{
        uint64_t rx = 1, tx = 1;
        (void) state;
        const char *text =
                "Inter-|   Receive                                                |  Transmit\n"
                " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo "
                "colls carrier compressed\n"
                "    lo:  999999     10    0    0    0     0          0         0   999999      10    0    0    0     "
                "0       0          0\n"
                "  tap0:    1200      3    0    0    0     0          0         0      648       5    0    0    0     "
                "0       0          0\n"
                "  eth1:10 1 0 0 0 0 0 0 20 1 0 0 0 0 0 0\n";
        assert_int_equal(cmd_netdev_parse(text, strlen(text), &rx, &tx), 0);
        assert_int_equal(rx, 1210);
        assert_int_equal(tx, 668);
        /* only lo: zero, but parsed */
        const char *lo = "    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n";
        assert_int_equal(cmd_netdev_parse(lo, strlen(lo), &rx, &tx), 0);
        assert_int_equal(rx, 0);
        assert_int_equal(tx, 0);
        /* "lo" only as the whole name */
        const char *lon = "lo0: 5 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0\n";
        assert_int_equal(cmd_netdev_parse(lon, strlen(lon), &rx, &tx), 0);
        assert_int_equal(rx, 5);
        assert_int_equal(tx, 7);
        const char *headers_only = "Inter-| Receive | Transmit\n face |bytes|bytes\n";
        assert_int_equal(cmd_netdev_parse(headers_only, strlen(headers_only), &rx, &tx), -EINVAL);
        const char *short_line = "tap0: 1 2 3\n";
        assert_int_equal(cmd_netdev_parse(short_line, strlen(short_line), &rx, &tx), -EINVAL);
}

static void test_keyed(void **state)
{
        uint64_t v = 0;
        (void) state;
        const char *io = "rchar: 100\nwchar: 200\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\n"
                         "cancelled_write_bytes: 0\n";
        assert_int_equal(cmd_keyed_value(io, strlen(io), "read_bytes", &v), 0);
        assert_int_equal(v, 4096);
        assert_int_equal(cmd_keyed_value(io, strlen(io), "write_bytes", &v), 0);
        assert_int_equal(v, 8192);
        assert_int_equal(cmd_keyed_value(io, strlen(io), "bytes", &v), -ENOENT);
        /* "Pss_Anon:" is not "Pss:"; kB become bytes */
        const char *smaps = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:  800 kB\nPss_Anon:  100 kB\n"
                            "Pss:  500 kB\n";
        assert_int_equal(cmd_keyed_value(smaps, strlen(smaps), "Pss", &v), 0);
        assert_int_equal(v, 500 * 1024);
        const char *meminfo = "MemTotal:       16303016 kB\nMemFree: 1 kB\n";
        assert_int_equal(cmd_keyed_value(meminfo, strlen(meminfo), "MemTotal", &v), 0);
        assert_int_equal(v, 16303016ull * 1024);
        /* cgroup files: "key value" */
        const char *cpu = "usage_usec 123456\nuser_usec 100000\n";
        assert_int_equal(cmd_keyed_value(cpu, strlen(cpu), "usage_usec", &v), 0);
        assert_int_equal(v, 123456);
        const char *bad = "Pss: lots\n";
        assert_int_equal(cmd_keyed_value(bad, strlen(bad), "Pss", &v), -EINVAL);
        /* saturates instead of wrapping */
        const char *huge = "Pss: 99999999999999999999999 kB\n";
        assert_int_equal(cmd_keyed_value(huge, strlen(huge), "Pss", &v), 0);
        assert_true(v == UINT64_MAX);
}

static void test_iostat_cpustat(void **state)
{
        uint64_t rd = 1, wr = 1, ns = 0;
        (void) state;
        const char *io = "8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n"
                         "253:1 rbytes=24 wbytes=48 rios=1 wios=1 dbytes=7 dios=0\n";
        cmd_iostat_parse(io, strlen(io), &rd, &wr);
        assert_int_equal(rd, 1024);
        assert_int_equal(wr, 2048);
        cmd_iostat_parse("", 0, &rd, &wr);
        assert_int_equal(rd, 0);
        assert_int_equal(wr, 0);
        const char *junk = "8:0 rbytes=12x wbytes= rbytes\n";
        cmd_iostat_parse(junk, strlen(junk), &rd, &wr);
        assert_int_equal(rd, 0);
        assert_int_equal(wr, 0);

        /* user nice system idle iowait irq softirq: steal and guests left out, as Docker does */
        const char *stat = "cpu  10 20 30 40 50 60 70 80 90 100\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 5\n";
        assert_int_equal(cmd_cpustat_parse(stat, strlen(stat), 100, &ns), 0);
        assert_int_equal(ns, 280ull * 10000000);
        const char *nocpu = "cpu0 1 2 3 4 5 6 7\n";
        assert_int_equal(cmd_cpustat_parse(nocpu, strlen(nocpu), 100, &ns), -EINVAL);
        const char *cut = "cpu  1 2 3\n";
        assert_int_equal(cmd_cpustat_parse(cut, strlen(cut), 100, &ns), -EINVAL);
        assert_int_equal(cmd_cpustat_parse(stat, strlen(stat), 0, &ns), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bytes),    cmocka_unit_test(test_cpu_percent),
                cmocka_unit_test(test_procstat), cmocka_unit_test(test_netdev),
                cmocka_unit_test(test_keyed),    cmocka_unit_test(test_iostat_cpustat),
        };
        return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}

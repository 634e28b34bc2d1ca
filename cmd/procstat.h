/* What `hutch stats` and `hutch top` read about a container's processes:
 * parsers of /proc and cgroup files (kernel text, but a container's process
 * names its own comm, so treated as untrusted), Docker's number formats,
 * and the walk over a PID namespace's processes. */
#ifndef HUTCH_CMD_PROCSTAT_H
#define HUTCH_CMD_PROCSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The fields of /proc/PID/stat we use (times in clock ticks). */
struct cmd_procstat {
        char comm[64];
        char state;
        uint64_t utime, stime;   /* fields 14, 15 */
        uint64_t cutime, cstime; /* 16, 17: its reaped children's */
        uint64_t num_threads;    /* 20 */
        uint64_t starttime;      /* 22 */
        uint64_t rss_pages;      /* 24 */
};

/* Parses the text of /proc/PID/stat; -EINVAL when it is malformed. */
int cmd_procstat_parse(const char *buf, size_t len, struct cmd_procstat *ret);
/* Sums the received and sent bytes of every interface but "lo" in the
 * text of /proc/PID/net/dev; -EINVAL when no line parses. */
int cmd_netdev_parse(const char *buf, size_t len, uint64_t *ret_rx, uint64_t *ret_tx);
/* The value of "KEY VALUE" or "KEY: VALUE [kB]" lines (/proc/PID/io,
 * smaps_rollup, meminfo, memory.stat, cpu.stat); a "kB" suffix multiplies
 * by 1024.  -ENOENT when KEY is missing, -EINVAL when its value is bad. */
int cmd_keyed_value(const char *buf, size_t len, const char *key, uint64_t *ret);
/* Sums rbytes= and wbytes= over the devices of a cgroup v2 io.stat. */
void cmd_iostat_parse(const char *buf, size_t len, uint64_t *ret_read, uint64_t *ret_write);
/* The host's CPU time in ns from /proc/stat's "cpu" line, as Docker counts
 * it (user, nice, system, idle, iowait, irq, softirq); -EINVAL if absent. */
int cmd_cpustat_parse(const char *buf, size_t len, long ticks_per_sec, uint64_t *ret_ns);

/* Docker's CPU %: the container's share of the host's CPU time between two
 * readings, times the online CPUs (100% is one core). */
double cmd_stats_cpu_percent(uint64_t cpu_prev_ns, uint64_t cpu_now_ns, uint64_t sys_prev_ns, uint64_t sys_now_ns,
                             unsigned online_cpus);
/* Sizes as Docker prints them: memory in binary units with 4 significant
 * digits ("1.5MiB", go-units BytesSize), I/O in decimal units with 3
 * ("1.2kB", HumanSizeWithPrecision(x, 3)). */
void cmd_stats_bytes_binary(uint64_t n, char *buf, size_t size);
void cmd_stats_bytes_decimal(uint64_t n, char *buf, size_t size);

/* Opens /proc/PID (O_PATH directory) when it is still the process that
 * started at start_time (ticks since boot; 0: any): everything read
 * through the fd is that process's or fails, even once the PID is reused.
 * Fills *ret when given; -ESRCH when it is gone or another. */
int cmd_proc_open(pid_t pid, uint64_t start_time, struct cmd_procstat *ret);
/* Reads /proc/PID/stat through a cmd_proc_open fd (uid: its owner). */
int cmd_proc_read_stat(int procfd, struct cmd_procstat *ret, uid_t *ret_uid);

/* Calls fn for each process in the PID namespace whose nsfs inode is ns
 * (from stat(2) of /proc/PID/ns/pid), with an fd on its /proc directory;
 * processes we may not inspect are skipped. */
typedef void (*cmd_pidns_fn)(pid_t pid, int procfd, void *data);
void cmd_pidns_each(const struct stat *ns, cmd_pidns_fn fn, void *data);

#endif

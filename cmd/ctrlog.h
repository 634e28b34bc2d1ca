/* Container logs, as the monitor writes them and `hutch logs` reads them.
 *
 * One line per line of output, in the k8s-file format Podman uses:
 *   2026-11-22T06:40:52.123456789Z stdout F the message
 * "P" marks a partial line (output longer than a buffer, or without a
 * final newline at exit).  The file is rotated to ctr.log.1 when it grows
 * past its limit, so a flood of output keeps disk and memory bounded. */
#ifndef HUTCH_CMD_CTRLOG_H
#define HUTCH_CMD_CTRLOG_H

#include "lib/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CMD_LOG_DEFAULT_MAX (10u << 20)

struct cmd_log_writer;

int cmd_log_writer_open(const char *path, uint64_t max_size, struct cmd_log_writer **ret, struct hutch_error **err);
/* stream: 1 stdout, 2 stderr. */
void cmd_log_writer_add(struct cmd_log_writer *w, int stream, const char *data, size_t len);
/* Writes out buffered partial lines. */
void cmd_log_writer_flush(struct cmd_log_writer *w);
struct cmd_log_writer *cmd_log_writer_free(struct cmd_log_writer *w);

struct cmd_log_read_options {
        bool timestamps;
        long tail;        /* -1: all */
        int64_t since_ns; /* 0: no bound */
        int64_t until_ns;
};

/* Prints the log (rotated part first) to out/errout as the container wrote it.
 * Returns the bytes of the current file consumed (to follow from there). */
int cmd_log_print(const char *path, const struct cmd_log_read_options *o, FILE *out, FILE *errout, uint64_t *ret_offset,
                  struct hutch_error **err);
/* Prints what was appended to path after offset; updates offset. */
int cmd_log_follow_step(const char *path, const struct cmd_log_read_options *o, FILE *out, FILE *errout,
                        uint64_t *offset);

/* Parses one log line; returns false for a malformed one. */
bool cmd_log_parse_line(const char *line, size_t len, int64_t *ret_ns, int *ret_stream, bool *ret_partial,
                        const char **ret_msg, size_t *ret_msg_len);
/* "10s", "5m", "2h", RFC 3339, or unix seconds -> ns since the epoch. */
int cmd_log_parse_time(const char *s, int64_t now_ns, int64_t *ret_ns);

#endif

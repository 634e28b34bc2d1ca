#include "config.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "hutch";
static enum hutch_log_level log_level = HUTCH_LOG_WARN;
static enum hutch_log_format log_format = HUTCH_LOG_TEXT;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = {
        [HUTCH_LOG_ERROR] = "error", [HUTCH_LOG_WARN] = "warning", [HUTCH_LOG_INFO] = "info",
        [HUTCH_LOG_DEBUG] = "debug", [HUTCH_LOG_TRACE] = "trace",
};

void hutch_log_setup(const char *progname, enum hutch_log_level level, enum hutch_log_format format, int fd)
{
        if (progname)
                log_prog = progname;
        log_level = level;
        log_format = format;
        if (fd >= 0)
                log_fd = fd;
}

void hutch_log_set_level(enum hutch_log_level level)
{
        log_level = level;
}

enum hutch_log_level hutch_log_get_level(void)
{
        return log_level;
}

bool hutch_log_enabled(enum hutch_log_level level)
{
        return level <= log_level;
}

int hutch_log_parse_level(const char *name, enum hutch_log_level *ret_level)
{
        static const struct {
                const char *name;
                enum hutch_log_level level;
        } names[] = {
                { "error", HUTCH_LOG_ERROR }, { "warn", HUTCH_LOG_WARN },   { "warning", HUTCH_LOG_WARN },
                { "info", HUTCH_LOG_INFO },   { "debug", HUTCH_LOG_DEBUG }, { "trace", HUTCH_LOG_TRACE },
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcasecmp(name, names[i].name) == 0) {
                        *ret_level = names[i].level;
                        return 0;
                }
        return -EINVAL;
}

int hutch_log_parse_format(const char *name, enum hutch_log_format *ret_format)
{
        if (strcmp(name, "text") == 0)
                *ret_format = HUTCH_LOG_TEXT;
        else if (strcmp(name, "json") == 0)
                *ret_format = HUTCH_LOG_JSON;
        else
                return -EINVAL;
        return 0;
}

/* Appends s to buf as a JSON string body (no quotes). */
static size_t json_escape(char *buf, size_t size, const char *s)
{
        size_t n = 0;
        for (; *s && n + 7 < size; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\') {
                        buf[n++] = '\\';
                        buf[n++] = (char) c;
                } else if (c < 0x20) {
                        n += (size_t) snprintf(buf + n, size - n, "\\u%04x", c);
                } else {
                        buf[n++] = (char) c;
                }
        }
        buf[n] = '\0';
        return n;
}

void hutch_log_write(enum hutch_log_level level, int errnum, const char *file, int line, const char *fmt, ...)
{
        char msg[2048], out[4096];
        int saved_errno = errno;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if (errnum < 0)
                errnum = -errnum;

        if (log_format == HUTCH_LOG_JSON) {
                char esc[sizeof(msg) + 512];
                struct timespec ts;
                struct tm tm;
                char when[64];

                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
                if (errnum > 0) {
                        size_t len = strlen(msg);
                        snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(errnum));
                }
                json_escape(esc, sizeof(esc), msg);
                n = snprintf(out, sizeof(out),
                             "{\"time\":\"%s.%09ldZ\",\"level\":\"%s\",\"pid\":%d,\"msg\":\"%s\",\"errno\":%d}\n", when,
                             ts.tv_nsec, level_names[level], (int) getpid(), esc, errnum);
        } else {
                n = snprintf(out, sizeof(out), "%s[%d]: %s: %s%s%s", log_prog, (int) getpid(), level_names[level], msg,
                             errnum > 0 ? ": " : "", errnum > 0 ? strerror(errnum) : "");
                if (n > 0 && (size_t) n < sizeof(out) && log_level >= HUTCH_LOG_DEBUG)
                        n += snprintf(out + n, sizeof(out) - (size_t) n, " (%s:%d)", file, line);
                if (n > 0 && (size_t) n < sizeof(out) - 1)
                        out[n++] = '\n';
        }
        if (n > 0) {
                if ((size_t) n >= sizeof(out)) { /* truncated: keep the line whole */
                        n = sizeof(out) - 1;
                        out[n - 1] = '\n';
                }
                (void) !write(log_fd, out, (size_t) n);
        }
        errno = saved_errno;
}

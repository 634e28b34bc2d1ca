/* The one logger.  Formats into a stack buffer and writes with one write(2)
 * so that it stays usable in a forked child before exec. */
#ifndef HUTCH_LOG_H
#define HUTCH_LOG_H

#include <stdbool.h>

enum hutch_log_level {
        HUTCH_LOG_ERROR = 0,
        HUTCH_LOG_WARN,
        HUTCH_LOG_INFO,
        HUTCH_LOG_DEBUG,
        HUTCH_LOG_TRACE,
};

enum hutch_log_format {
        HUTCH_LOG_TEXT = 0,
        HUTCH_LOG_JSON,
};

void hutch_log_setup(const char *progname, enum hutch_log_level level, enum hutch_log_format format, int fd);
void hutch_log_set_level(enum hutch_log_level level);
enum hutch_log_level hutch_log_get_level(void);
/* Returns 0 and sets *ret on a known level name ("error", "warn", ...). */
int hutch_log_parse_level(const char *name, enum hutch_log_level *ret_level);
int hutch_log_parse_format(const char *name, enum hutch_log_format *ret_format);
bool hutch_log_enabled(enum hutch_log_level level);

void hutch_log_write(enum hutch_log_level level, int errnum, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

#define hutch_log(level, errnum, ...)                                                    \
        do {                                                                             \
                if (hutch_log_enabled(level))                                            \
                        hutch_log_write(level, errnum, __FILE__, __LINE__, __VA_ARGS__); \
        } while (0)

#define log_error(...)          hutch_log(HUTCH_LOG_ERROR, 0, __VA_ARGS__)
#define log_error_errno(e, ...) hutch_log(HUTCH_LOG_ERROR, e, __VA_ARGS__)
#define log_warn(...)           hutch_log(HUTCH_LOG_WARN, 0, __VA_ARGS__)
#define log_warn_errno(e, ...)  hutch_log(HUTCH_LOG_WARN, e, __VA_ARGS__)
#define log_info(...)           hutch_log(HUTCH_LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...)          hutch_log(HUTCH_LOG_DEBUG, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) hutch_log(HUTCH_LOG_DEBUG, e, __VA_ARGS__)
#define log_trace(...)          hutch_log(HUTCH_LOG_TRACE, 0, __VA_ARGS__)

#endif

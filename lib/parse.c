#include "config.h"

#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <strings.h>

int hutch_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;

        if (s == NULL || *s == '\0')
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                unsigned d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int hutch_parse_uint(const char *s, unsigned int max, unsigned int *ret)
{
        uint64_t v;
        int r = hutch_parse_u64(s, max, &v);
        if (r < 0)
                return r;
        *ret = (unsigned int) v;
        return 0;
}

int hutch_parse_int(const char *s, int min, int max, int *ret)
{
        bool neg = false;
        uint64_t v;
        int r;

        if (s && *s == '-') {
                neg = true;
                s++;
        }
        r = hutch_parse_u64(s, (uint64_t) 1 << 32, &v);
        if (r < 0)
                return r;
        int64_t sv = neg ? -(int64_t) v : (int64_t) v;
        if (sv < min || sv > max)
                return -ERANGE;
        *ret = (int) sv;
        return 0;
}

int hutch_parse_size(const char *s, uint64_t *ret)
{
        char digits[32];
        size_t n = 0;
        unsigned shift = 0;
        uint64_t v;
        int r;

        if (s == NULL)
                return -EINVAL;
        while (s[n] >= '0' && s[n] <= '9')
                n++;
        if (n == 0 || n >= sizeof(digits))
                return -EINVAL;
        memcpy(digits, s, n);
        digits[n] = '\0';
        const char *suffix = s + n;
        if (*suffix) {
                switch (tolower((unsigned char) *suffix)) {
                case 'b': shift = 0; break;
                case 'k': shift = 10; break;
                case 'm': shift = 20; break;
                case 'g': shift = 30; break;
                case 't': shift = 40; break;
                default: return -EINVAL;
                }
                suffix++;
                /* accept "kb", "mib" style spellings too */
                if (shift > 0 && tolower((unsigned char) *suffix) == 'i')
                        suffix++;
                if (shift > 0 && tolower((unsigned char) *suffix) == 'b')
                        suffix++;
                if (*suffix)
                        return -EINVAL;
        }
        r = hutch_parse_u64(digits, UINT64_MAX >> shift, &v);
        if (r < 0)
                return r;
        *ret = v << shift;
        return 0;
}

int hutch_parse_bool(const char *s, bool *ret)
{
        static const char *const yes[] = { "1", "true", "yes", "on" };
        static const char *const no[] = { "0", "false", "no", "off" };

        if (s == NULL)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static const struct {
        const char *name;
        int sig;
} signal_names[] = {
        { "HUP", SIGHUP },   { "INT", SIGINT },       { "QUIT", SIGQUIT }, { "ILL", SIGILL },     { "TRAP", SIGTRAP },
        { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },   { "FPE", SIGFPE },     { "KILL", SIGKILL },
        { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },     { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE },   { "ALRM", SIGALRM },
        { "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },   { "STOP", SIGSTOP },
        { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU }, { "URG", SIGURG },     { "XCPU", SIGXCPU },
        { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
        { "POLL", SIGPOLL }, { "PWR", SIGPWR },       { "SYS", SIGSYS },
};

int hutch_parse_signal(const char *s, int *ret)
{
        unsigned int n;

        if (s == NULL || *s == '\0')
                return -EINVAL;
        if (hutch_parse_uint(s, 64, &n) == 0) {
                if (n == 0 || n > (unsigned) SIGRTMAX)
                        return -EINVAL;
                *ret = (int) n;
                return 0;
        }
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
                if (strcasecmp(s, signal_names[i].name) == 0) {
                        *ret = signal_names[i].sig;
                        return 0;
                }
        if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
                bool min = strncasecmp(s, "RTMIN", 5) == 0;
                int base = min ? SIGRTMIN : SIGRTMAX;
                int off = 0;
                if (s[5] == '\0') {
                        *ret = base;
                        return 0;
                }
                if ((min && s[5] != '+') || (!min && s[5] != '-'))
                        return -EINVAL;
                if (hutch_parse_int(s + 6, 0, SIGRTMAX - SIGRTMIN, &off) < 0)
                        return -EINVAL;
                *ret = min ? base + off : base - off;
                return 0;
        }
        return -EINVAL;
}

const char *hutch_signal_name(int sig)
{
        for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++)
                if (signal_names[i].sig == sig)
                        return signal_names[i].name;
        return NULL;
}

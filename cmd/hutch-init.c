/* hutch-init: the small init `--init` puts at PID 1 of a container.
 *
 * It runs the command as its child, forwards the signals a container
 * receives to it, reaps every orphan the pid namespace hands it, and exits
 * with the command's status (128+n when a signal killed it).  Built
 * static: it runs inside images that have no C library.  It reaches the
 * container as a read-only bind mount at /run/hutch-init; when the user
 * could change this file (a hutch in ~/bin, say), the runtime binds a
 * private copy from the container's state directory instead (own_program
 * in runtime/runtime.h), because root in the container is that user and
 * could remount the bind writable: the user's own file is never in the
 * container. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        sigset_t all, old;
        pid_t child;
        int status;

        if (argc < 2) {
                fprintf(stderr, "usage: hutch-init COMMAND [ARG...]\n");
                return 125;
        }
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, &old);
        child = fork();
        if (child < 0) {
                perror("hutch-init: fork");
                return 125;
        }
        if (child == 0) {
                sigprocmask(SIG_SETMASK, &old, NULL);
                /* its own process group, so a terminal's ^C reaches it */
                (void) setpgid(0, 0);
                execvp(argv[1], argv + 1);
                fprintf(stderr, "hutch-init: %s: %s\n", argv[1], strerror(errno));
                _exit(errno == ENOENT ? 127 : 126);
        }
        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);
                if (sig < 0)
                        continue;
                if (sig != SIGCHLD) {
                        (void) kill(child, sig);
                        continue;
                }
                for (;;) {
                        pid_t p = waitpid(-1, &status, WNOHANG);
                        if (p <= 0)
                                break;
                        if (p == child) {
                                /* the others die with the pid namespace when we exit */
                                if (WIFEXITED(status))
                                        return WEXITSTATUS(status);
                                return 128 + WTERMSIG(status);
                        }
                }
        }
}

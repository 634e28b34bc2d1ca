/* recv-console: the receiving end of `hutch oci create --console-socket`,
 * for the system tests.
 *
 *   recv-console SOCKET
 *
 * Listens on the unix socket SOCKET, takes one fd over SCM_RIGHTS (runc's
 * protocol), checks that it is a pseudo-terminal master, prints
 * "pty master /dev/pts/N" and then copies what the container writes to its
 * terminal to stdout until the terminal hangs up.  Gives up after 60 s. */
#include "config.h"

#include "lib/proc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int lfd, cfd, master;
        unsigned int ptn;
        char buf[4096];

        if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: recv-console SOCKET (shorter than %zu bytes)\n", sizeof(sa.sun_path));
                return 2;
        }
        alarm(60);
        strcpy(sa.sun_path, argv[1]);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
                perror("recv-console: listen");
                return 1;
        }
        cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0) {
                perror("recv-console: accept");
                return 1;
        }
        master = hutch_recv_fd(cfd);
        if (master < 0) {
                fprintf(stderr, "recv-console: no fd received: %s\n", strerror(-master));
                return 1;
        }
        if (ioctl(master, TIOCGPTN, &ptn) < 0) {
                perror("recv-console: the fd is not a pty master");
                return 1;
        }
        printf("pty master /dev/pts/%u\n", ptn);
        fflush(stdout);
        for (;;) {
                ssize_t n = read(master, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break; /* EIO: the container's side is closed */
                if (fwrite(buf, 1, (size_t) n, stdout) != (size_t) n)
                        return 1;
                fflush(stdout);
        }
        return 0;
}

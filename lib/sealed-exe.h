/* Keeping hutch's own programs out of a container's reach (CVE-2019-5736).
 *
 * A process of hutch inside a container's namespaces (the container's init
 * before execve, the `exec` helper, or hutch itself run again through a
 * `#!/proc/self/exe` script) shows the container its binary as
 * /proc/PID/exe.  Root in a rootless container is the user: when the user
 * can change that file (a build tree, ~/.local/bin), the container could
 * rewrite hutch and run code on the host the next time the user runs it.
 * So such a binary never runs there: hutch re-executes itself from a sealed
 * in-memory copy (a memfd nobody can write, grow or shrink, whose seals
 * cannot be lifted) before it makes or joins a container. */
#ifndef HUTCH_SEALED_EXE_H
#define HUTCH_SEALED_EXE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* True when this user could change the file open at fd: it owns the file
 * (and so may chmod it) or may write it. */
bool hutch_file_user_writable(int fd);

/* Copies size bytes of the file open at src to dst (at its offsets); -errno. */
int hutch_copy_fd(int dst, int src, off_t size);

/* Copies the file open at fd into a sealed memfd named name and returns a
 * read-only fd (close-on-exec) on it that fexecve() accepts, or -errno. */
int hutch_sealed_copy(int fd, const char *name);

/* When our binary is a file this user could change, re-executes this
 * process from a sealed copy of it with the same argv and environment and
 * does not return.  Returns 0 when no copy is needed (the binary is not
 * ours to change, or this process already runs from the copy) and -errno
 * when the copy could not be made or run; this process is unchanged then. */
int hutch_exe_reexec_sealed(char **argv);

/* True when this process runs from the sealed copy. */
bool hutch_exe_sealed(void);

/* Like readlink("/proc/self/exe", buf, size) (no terminating NUL, the
 * length or -1 with errno), but the path of the binary on the host also
 * while this process runs from the sealed copy. */
ssize_t hutch_exe_path(char *buf, size_t size);

#endif

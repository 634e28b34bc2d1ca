/* The monitor's side of a container terminal: the user's terminal in raw
 * mode (restored on every exit path), stdin relayed to the master, the
 * master's output to stdout (or the log of a detached container), and the
 * window size kept in step. */
#ifndef HUTCH_CMD_TTY_H
#define HUTCH_CMD_TTY_H

#include "lib/error.h"

#include <stdbool.h>

struct hutch_loop;
struct cmd_log_writer;
struct cmd_tty;

/* master stays owned by the caller. */
int cmd_tty_attach(struct hutch_loop *loop, int master, bool forward_stdin, struct cmd_log_writer *log,
                   struct cmd_tty **ret, struct hutch_error **err);
/* Copies the user's window size to the container's terminal (SIGWINCH). */
void cmd_tty_resize(struct cmd_tty *t);
/* Copies what the container wrote before it exited. */
void cmd_tty_drain(struct cmd_tty *t);
/* Restores the user's terminal. */
struct cmd_tty *cmd_tty_free(struct cmd_tty *t);

#endif

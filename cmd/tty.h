/* The monitor's side of a container terminal: the user's terminal in raw
 * mode (restored on every exit path), stdin relayed to the master, the
 * master's output to stdout (or the log of a detached container), and the
 * window size kept in step. */
#ifndef HUTCH_CMD_TTY_H
#define HUTCH_CMD_TTY_H

#include "lib/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

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
/* Also writes the container's output to log (a foreground run of a kept
 * container, whose output goes to the user's terminal). */
void cmd_tty_set_log(struct cmd_tty *t, struct cmd_log_writer *log);
/* Also hands the container's output to fn (the attach server). */
void cmd_tty_set_tee(struct cmd_tty *t, void (*fn)(void *data, int stream, const char *buf, size_t n), void *data);
/* Watches the user's input for the detach sequence keys (n of them, from
 * cmd_detach_keys_parse): once typed, the loop quits and
 * cmd_tty_detached() says so. */
void cmd_tty_set_detach_keys(struct cmd_tty *t, const uint8_t *keys, size_t n);
bool cmd_tty_detached(const struct cmd_tty *t);
/* Puts the terminal fd in raw mode, saving its settings; false when fd is
 * no terminal (or refuses).  cmd_tty_raw_end() restores them. */
bool cmd_tty_raw_begin(int fd, struct termios *saved);
void cmd_tty_raw_end(int fd, const struct termios *saved);
/* Restores the user's terminal. */
struct cmd_tty *cmd_tty_free(struct cmd_tty *t);

#endif

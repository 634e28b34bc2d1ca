/* `hutch attach`: the server a detached container's monitor runs on its
 * attach socket (cmd/attach-server.c) and the client (cmd/attach.c).  The
 * frames are in cmd/attach-proto.h; DEVELOPERS.md has the overview. */
#ifndef HUTCH_CMD_ATTACH_H
#define HUTCH_CMD_ATTACH_H

#include "cmd/attach-proto.h"
#include "cmd/cmd.h"

#include <stdbool.h>
#include <stddef.h>

struct hutch_loop;
struct runtime_container;
struct cmd_attach_server;

struct cmd_attach_server_config {
        const char *state_dir;               /* the container's run-time directory (0700) */
        struct runtime_container *container; /* signals from sig-proxy go to it */
        int tty_master;                      /* -t: the terminal's master, else -1 */
        int stdin_fd;                        /* -i without -t: the container's stdin pipe (taken), else -1 */
        bool interactive;                    /* clients' input is relayed */
        int first_client;                    /* run -it: the connected end of the CLI's socket pair
                                              * (taken), else -1 */
};

int cmd_attach_server_start(struct hutch_loop *loop, const struct cmd_attach_server_config *cfg,
                            struct cmd_attach_server **ret, struct hutch_error **err);
/* What the container wrote (stream 1 or 2), for every client. */
void cmd_attach_server_output(struct cmd_attach_server *s, int stream, const char *buf, size_t n);
/* The container exited: tells the clients (waiting a moment for slow ones),
 * closes them and removes the socket. */
void cmd_attach_server_finish(struct cmd_attach_server *s, int exit_code);
struct cmd_attach_server *cmd_attach_server_free(struct cmd_attach_server *s);

struct cmd_attach_options {
        const char *detach_keys; /* NULL: the default */
        bool no_stdin;
        bool sig_proxy;
        bool sig_proxy_tty; /* run -it: forward signals with a terminal too, as the foreground run does */
        bool quiet_detach;  /* nothing on stderr after a detach */
};
/* Attaches the user's terminal (or stdio) to the running container id;
 * returns its exit code when it exits, 0 after a detach. */
int cmd_attach_container(const char *id, const char *name, const struct cmd_attach_options *o,
                         struct hutch_error **err);
/* The same over a connection the caller has (taken): run -it hands its
 * monitor one end of a socket pair, so no output and no exit can come
 * before the attach. */
int cmd_attach_connected(int sock, const char *name, const struct cmd_attach_options *o, struct hutch_error **err);

/* Checks a --detach-keys value of cmd (a usage error when it is bad). */
int cmd_detach_keys_check(const struct cmd_command *cmd, const char *spec, struct hutch_error **err);

int cmd_attach(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err);
extern const struct cmd_option cmd_attach_options[];

#endif

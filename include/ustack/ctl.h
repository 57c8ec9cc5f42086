/*
 * The control plane: a Unix socket through which a running stack is
 * inspected and configured (`ustack ctl PATH COMMAND`), with commands
 * shaped like the Linux tools: link, addr, route, neigh, ss, nstat,
 * sysctl, capture, log, trace, help.
 *
 * The socket (SOCK_STREAM, mode 0600, peers of another user refused) is
 * served from a stack timer every 25 ms, never blocking: it works under
 * any event loop that runs the stack. Protocol (docs/CAPTURE.md): a
 * request is one line, either a JSON array of strings
 * (["route","add","default","via","10.0.0.1"]) or words separated by
 * blanks ('' and "" quote); a first word --json (or -j) asks for a JSON
 * reply. The reply is a status line "ok LEN" or "error LEN" followed by
 * LEN bytes of body. Several requests may follow on one connection.
 */
#ifndef USTACK_CTL_H
#define USTACK_CTL_H

#include <stdbool.h>

#include "ustack/ustack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Listens on path. A stale socket left there by a process that is gone is
 * replaced; a live one is EADDRINUSE; any other file there is EEXIST.
 * One control socket per stack (EBUSY for a second). */
int us_ctl_listen(us_stack *s, const char *path);
/* Closes the socket and its connections and removes the path. */
void us_ctl_close(us_stack *s);
/* Serves the socket now (what the timer does): for programs driving the
 * stack by hand, or on a virtual clock. */
void us_ctl_poll(us_stack *s);

/* Runs one command in-process, as if it came from the socket: argv[0] is
 * the command ("link", "nstat", ...). *reply receives the body (malloc'ed,
 * NUL-terminated; free it). Returns 0 for "ok", -1 for "error" (the reply
 * then holds the message; errno is EINVAL for a bad request). */
int us_ctl_exec(us_stack *s, int argc, const char *const *argv, bool json, char **reply);

#ifdef __cplusplus
}
#endif
#endif

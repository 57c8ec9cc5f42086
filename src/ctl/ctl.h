/* The control plane inside the library: the server (ctl.c) and the
 * commands (ctl_cmds.c). */
#ifndef US_CTL_H
#define US_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl_out.h"
#include "ustack/ctl.h"

struct us_stack;

#define CTL_MAX_ARGS 128

/* State kept between commands (nstat's history). */
struct ctl_state;

struct ctl_ctx {
	struct us_stack *s;
	struct ctl_state *st;
	struct ctl_out *out;
	bool json;
	int passed_fd;           /* a descriptor the client sent with the request, or -1 */
	char err[512];
};

/* Runs argv; 0, or -1 with the message in x->err (and x->out discarded). */
int ctl_run(struct ctl_ctx *x, int argc, char **argv);
/* Splits a request line into words (JSON array or blank-separated words
 * with quotes). Returns the count, or -1 with a message in err. The words
 * point into line, which is modified. */
int ctl_split(char *line, char **argv, int max, char *err, size_t errlen);

/* `trace CONN`: the TCP code registers the handler (until then the
 * command answers "not available"). It writes the trace of the connection
 * named by conn ("10.0.0.2:80-10.0.0.1:4321") into out, as text or JSON;
 * 0, or -1 with a message in err. */
typedef int (*ctl_trace_fn)(struct us_stack *s, const char *conn, bool json, struct ctl_out *out,
			    char *err, size_t errlen);
void ctl_set_trace_handler(struct us_stack *s, ctl_trace_fn fn);
ctl_trace_fn ctl_trace_handler(struct us_stack *s);

/* Shared state (nstat history), created on first use. */
struct ctl_state *ctl_state_get(struct us_stack *s);
uint64_t *ctl_nstat_history(struct ctl_state *st, bool *valid);
void ctl_nstat_history_set(struct ctl_state *st, bool valid);

#endif

/* Built-in services of `ustack run --serve`, written on the public socket
 * API (they double as examples of it). */
#ifndef USTACK_SERVE_H
#define USTACK_SERVE_H

#include <stdint.h>
#include <sys/epoll.h>

#include "ustack/socket.h"

#define SERVE_MAX 16

struct service {
	const char *kind;   /* "udp-echo", "udp-discard", ... */
	uint16_t port;
	int fd;
	uint64_t datagrams, bytes;
};

struct serve_cfg {
	struct service svc[SERVE_MAX];
	int n;
};

/* Parses "udp-echo:7,udp-discard:9" (the port may be left out). 0, or -1
 * with a one-line message printed. */
int serve_parse(struct serve_cfg *cfg, const char *spec);
/* Opens every service's socket on all addresses and adds it to epfd. */
int serve_open(us_stack *s, struct serve_cfg *cfg, int epfd);
/* Handles one readiness event of a service socket. */
void serve_event(us_stack *s, struct serve_cfg *cfg, const struct epoll_event *ev);
void serve_close(us_stack *s, struct serve_cfg *cfg);

#endif

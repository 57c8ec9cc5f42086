/* Built-in services of `ustack run --serve`, written on the public socket
 * API (they double as examples of it):
 *   echo:7 discard:9 chargen:19 (TCP, RFC 862/863/864), http:80 (HTTP/1.1
 *   GET and HEAD of files under --root and of /bytes/N), udp-echo:7 and
 *   udp-discard:9. */
#ifndef USTACK_SERVE_H
#define USTACK_SERVE_H

#include <stdint.h>
#include <sys/epoll.h>

#include "ustack/socket.h"

#define SERVE_MAX 16

enum service_kind {
	SVC_ECHO,
	SVC_DISCARD,
	SVC_CHARGEN,
	SVC_HTTP,
	SVC_UDP_ECHO,
	SVC_UDP_DISCARD,
};

struct service {
	int tag;              /* tells services from connections in epoll data */
	enum service_kind kind;
	const char *name;
	uint16_t port;
	int fd;               /* listening or UDP socket */
	uint64_t datagrams, bytes, conns;
};

struct conn;

struct serve_cfg {
	struct service svc[SERVE_MAX];
	int n;
	const char *root;     /* http: the document root, NULL: /bytes/N only */
	unsigned max_conns;   /* beyond it new connections are closed at once */
	uint32_t idle_ms;     /* idle connections are closed after this */
	struct conn *conns;   /* every open connection */
	unsigned nconns;
	uint64_t last_sweep_ms;
	uint8_t *pattern;     /* the /bytes pattern, 251 + CHUNK bytes long */
};

/* Parses "echo:7,discard:9,chargen:19,http:80,udp-echo:7" (ports may be
 * left out). 0, or -1 with a one-line message printed. */
int serve_parse(struct serve_cfg *cfg, const char *spec);
/* Opens every service's socket on all addresses and adds it to epfd. */
int serve_open(us_stack *s, struct serve_cfg *cfg, int epfd);
/* Handles one readiness event. */
void serve_event(us_stack *s, struct serve_cfg *cfg, int epfd, const struct epoll_event *ev);
/* Closes idle connections; call now and then. */
void serve_sweep(us_stack *s, struct serve_cfg *cfg, int epfd);
void serve_close(us_stack *s, struct serve_cfg *cfg);
/* The pattern of /bytes/N: byte i of the body is (i % 251) + ... see
 * serve.c; exposed for the fetch tool and tests. */
uint8_t serve_pattern_byte(uint64_t i);

#endif

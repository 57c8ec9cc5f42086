/* UDP (RFC 768, RFC 1122 4.1). */
#ifndef US_UDP_H
#define US_UDP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../core/list.h"

struct us_stack;
struct sock;

#define UDP_HTABLE_BITS 8

struct udp_table {
	struct list_head hash[1 << UDP_HTABLE_BITS]; /* by local port */
	unsigned count;
};

void udp_init(struct us_stack *s);
/* Picks a free local port for sk (RFC 6056 3.3.1: a random starting
 * point in the ephemeral range, then the next free one) or checks the one
 * asked for; shared by UDP and TCP's bind tables. */
int inet_pick_ephemeral(struct us_stack *s, int (*in_use)(struct us_stack *s, struct sock *sk, uint16_t port),
			struct sock *sk, uint16_t *port);
/* True if two sockets' bind addresses overlap (either is a wildcard or
 * they are equal) on compatible devices. */
int inet_bind_conflict(const struct sock *a, const struct sock *b);
/* connect() and getsockname()/getpeername() of datagram sockets (UDP,
 * raw): 0 or a negative errno. autobind may be NULL. */
int ip4_datagram_connect(struct sock *sk, const struct sockaddr *addr, socklen_t len,
			 int (*autobind)(struct sock *sk));
int inet_getname(struct sock *sk, struct sockaddr *addr, socklen_t *len, bool peer);

#endif

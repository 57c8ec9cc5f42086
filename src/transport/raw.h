/* Raw IP sockets (Linux's net/ipv4/raw.c). */
#ifndef US_RAW_H
#define US_RAW_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/list.h"

struct us_stack;
struct skb;

struct raw_table {
	struct list_head by_proto[256];
	unsigned count;
};

void raw_init(struct us_stack *s);
/* Gives a copy of a locally delivered datagram (data at its transport
 * header, network header set) to every raw socket of its protocol.
 * Returns true if at least one socket took a copy. */
bool raw_local_deliver(struct us_stack *s, struct skb *skb, uint8_t protocol);

#endif

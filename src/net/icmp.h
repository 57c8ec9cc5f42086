/* ICMPv4 (RFC 792, RFC 1122 3.2.2). */
#ifndef US_ICMP_H
#define US_ICMP_H

#include <stdbool.h>
#include <stdint.h>

struct us_stack;
struct skb;

/* Slots of the per-destination limiter (a power of two). */
#define ICMP_PEERS 256

/* One destination's token bucket (the rate_tokens of Linux's inet_peer). */
struct icmp_peer {
	uint32_t addr;           /* network order; 0: slot free */
	uint64_t last_ms;
	uint64_t tokens_ms;
};

struct icmp_state {
	/* Token bucket over all error messages (icmp_msgs_per_sec and
	 * icmp_msgs_burst), applied to the types in ratemask. */
	uint32_t msgs_per_sec;   /* 1000 */
	uint32_t msgs_burst;     /* 50 */
	uint32_t ratemask;       /* 0x1818: unreachable, quench, time exceeded, param */
	uint64_t tokens_x1000;   /* milli-tokens */
	uint64_t last_refill_ms;
	/* Per destination: one message per ratelimit_ms, bursts of
	 * ICMP_PEER_BURST (icmp_ratelimit, 0 = no per-destination limit), in
	 * a direct-mapped table indexed by a keyed hash of the address, so
	 * its size is fixed whatever sources a remote host forges; an address
	 * that lands on a taken slot takes it over with a fresh bucket (the
	 * global bucket still bounds the total). */
	uint32_t ratelimit_ms;   /* 1000 */
	struct icmp_peer peers[ICMP_PEERS];
	bool echo_ignore_all;
	bool echo_ignore_broadcasts;
};

void icmp_init(struct us_stack *s);
int icmp_rcv(struct skb *skb);
/* Sends an ICMP error about skb_in (data anywhere; its network header must
 * be set), obeying RFC 1122 3.2.2: never about an ICMP error, a broadcast
 * or multicast, a non-first fragment, or a source that is not a host. */
void icmp_send(struct us_stack *s, struct skb *skb_in, uint8_t type, uint8_t code, uint32_t info);

#endif

/* IPv4 input, output, forwarding, fragmentation and reassembly. */
#ifndef US_IP_H
#define US_IP_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/list.h"
#include "../core/skb.h"
#include "../core/timer.h"
#include "../wire/ipv4.h"
#include "route.h"

struct us_stack;
struct netdev;
struct packet_type;

/* Per-packet IP state in skb->cb (Linux's IPCB). */
struct inet_skb_parm {
	struct ip_options opt;
	uint16_t flags;
	int iif;            /* ifindex the packet came in on */
};
#define IPSKB_FORWARDED 0x1
#define IPSKB_FRAG_COMPLETE 0x2 /* reassembled from fragments */
#define IPSKB_LOCAL_OUT 0x4
#define IPCB(skb) ((struct inet_skb_parm *)(void *)(skb)->cb)
_Static_assert(sizeof(struct inet_skb_parm) <= 48, "IPCB fits the control block");

/* A transport protocol's entry points (Linux's net_protocol). */
struct net_protocol {
	/* skb data at the transport header, network header set. Consumes. */
	int (*handler)(struct skb *skb);
	/* An ICMP error about a packet we sent: data at the quoted transport
	 * header (at least 8 bytes), network header at the quoted IP header. */
	void (*err_handler)(struct us_stack *s, struct skb *skb, uint8_t type, uint8_t code,
			    uint32_t info);
};

/* Fragment reassembly (RFC 791 3.2, RFC 815), one queue per
 * (saddr, daddr, id, protocol). */
struct ipq;
#define IPFRAG_HASH_BITS 8
struct ipfrag_state {
	struct list_head buckets[1 << IPFRAG_HASH_BITS];
	struct list_head lru;       /* oldest queue first */
	unsigned nqueues;
	uint64_t mem;               /* bytes held by pending fragments */
	uint64_t high_thresh;       /* ipfrag_high_thresh: 4 MiB */
	uint32_t timeout_ms;        /* ipfrag_time: 30 s */
	unsigned max_frags;         /* fragments per datagram: 64 */
};

#define IP_IDENTS_SZ 2048

struct ipv4_state {
	bool forwarding;
	uint8_t default_ttl;
	bool accept_source_route;
	uint32_t idents[IP_IDENTS_SZ];
	const struct net_protocol *protos[256];
	struct ipfrag_state frag;
};

/* What to put in the header of a locally generated packet. */
struct ip_tx {
	uint32_t saddr;       /* 0: chosen by the route */
	uint32_t daddr;
	uint8_t protocol;
	uint8_t ttl;          /* 0: default */
	uint8_t tos;
	bool df;
	int oif;              /* 0: by route */
	const uint8_t *opts;  /* options, a multiple of 4 bytes */
	uint8_t optlen;
	const struct rtable *rt; /* resolved already by the caller, or NULL */
};

void ip_init(struct us_stack *s);
void ip_cleanup(struct us_stack *s);
int inet_add_protocol(struct us_stack *s, const struct net_protocol *p, uint8_t protocol);

/* Receive (ip_input.c). */
int ip_rcv(struct skb *skb, struct netdev *dev, struct packet_type *pt);
int ip_local_deliver(struct us_stack *s, struct skb *skb);
/* Forwarding (ip_forward.c). */
int ip_forward(struct us_stack *s, struct skb *skb, const struct rtable *rt);

/* Send (ip_output.c). skb holds the transport header and data with
 * headroom for the IP and link headers; the IP header is built, the packet
 * routed, fragmented if needed and handed to the neighbour layer. Consumes
 * skb. 0 or a negative errno (-ENETUNREACH, -EMSGSIZE, -ENOBUFS). */
int ip_send_skb(struct us_stack *s, struct skb *skb, const struct ip_tx *tx);
/* A packet with a complete IP header, routed already: fragments if needed
 * and hands to neigh_output (ip_finish_output). */
int ip_finish_output(struct us_stack *s, struct skb *skb, const struct rtable *rt);
uint16_t ip_select_ident(struct us_stack *s, uint32_t saddr, uint32_t daddr, uint8_t proto);

/* Fragmentation (ip_fragment.c). Splits skb (data at a complete IP header)
 * into fragments fitting mtu and passes each to out(); consumes skb. */
int ip_fragment(struct us_stack *s, struct skb *skb, unsigned mtu,
		int (*out)(struct us_stack *s, struct skb *frag, const struct rtable *rt),
		const struct rtable *rt);
/* Reassembly. Takes a fragment (data at its IP header); returns the whole
 * datagram when this fragment completes it, else NULL (kept or dropped). */
struct skb *ip_defrag(struct us_stack *s, struct skb *skb);
void ipfrag_init(struct us_stack *s);
void ipfrag_cleanup(struct us_stack *s);

#endif

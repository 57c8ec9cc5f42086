/* IPv4 routing: a longest-prefix-match table (a binary trie over the
 * destination bits) and the input/output route decisions. */
#ifndef US_ROUTE_H
#define US_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

struct us_stack;
struct netdev;
struct skb;

enum rt_type {
	RTN_UNICAST = 1,
	RTN_LOCAL,      /* one of our addresses */
	RTN_BROADCAST,
	RTN_MULTICAST,
};

enum rt_proto {
	RTPROT_KERNEL = 2, /* connected route of an address */
	RTPROT_STATIC = 4,
};

struct fib_route {
	uint32_t dst;       /* network order, masked */
	uint8_t prefixlen;
	uint8_t proto;
	uint32_t gw;        /* 0: directly connected */
	uint32_t prefsrc;   /* preferred source, 0: any of the device */
	struct netdev *dev;
};

struct fib_node;
struct fib {
	struct fib_node *root;
	unsigned count;
};

/* A routing decision. */
struct rtable {
	enum rt_type type;
	struct netdev *dev;
	uint32_t nexthop;   /* gateway or the destination itself */
	uint32_t saddr;     /* source to use for locally generated packets */
	unsigned mtu;
};

void fib_init(struct fib *f);
void fib_free(struct fib *f);
/* -EEXIST if a route for exactly that prefix exists. */
int fib_insert(struct fib *f, const struct fib_route *r);
int fib_delete(struct fib *f, uint32_t dst, uint8_t prefixlen);
/* Removes every route through dev. */
void fib_flush_dev(struct fib *f, const struct netdev *dev);
const struct fib_route *fib_lookup(const struct fib *f, uint32_t daddr);
/* In-order walk, for listing. */
void fib_walk(const struct fib *f, void (*fn)(void *arg, const struct fib_route *r), void *arg);

static inline uint32_t inet_make_mask(unsigned prefixlen)
{
	uint32_t m = prefixlen ? ~0u << (32 - prefixlen) : 0;
	return __builtin_bswap32(m); /* little-endian hosts */
}

/* Route for a packet we send. oif: a device the caller insists on (0: any).
 * 0 or -ENETUNREACH. */
int ip_route_output(struct us_stack *s, uint32_t daddr, uint32_t saddr, int oif, struct rtable *rt);
/* Route for a received packet: local, broadcast, multicast, or forward. 0,
 * or a negative errno with the reason counted by the caller. */
int ip_route_input(struct us_stack *s, uint32_t daddr, uint32_t saddr, struct netdev *in,
		   struct rtable *rt);

/* Addresses (devinet.c). */
/* Routes follow a device going up or down (devinet.c). */
void devinet_netdev_event(struct netdev *dev, bool up);
bool inet_addr_is_local(const struct us_stack *s, uint32_t addr);
/* The primary address of dev in the subnet of dst, else its first. */
uint32_t inet_select_addr(const struct netdev *dev, uint32_t dst);
/* True if addr is a (directed or limited) broadcast for dev. */
bool inet_addr_is_broadcast(const struct netdev *dev, uint32_t addr);
/* The same for dev, or for any device when dev is the loopback (our own
 * broadcasts come back through it). */
bool inet_addr_is_bcast_for(const struct us_stack *s, const struct netdev *dev, uint32_t addr);

static inline bool ipv4_is_multicast(uint32_t a)
{
	return (a & 0xf0) == 0xe0; /* network order: first byte */
}
static inline bool ipv4_is_lbcast(uint32_t a)
{
	return a == 0xffffffffu;
}
static inline bool ipv4_is_zeronet(uint32_t a)
{
	return (a & 0xff) == 0;
}
static inline bool ipv4_is_loopback(uint32_t a)
{
	return (a & 0xff) == 127;
}

#endif

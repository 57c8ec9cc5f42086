/* IPv4 routing: the longest-prefix-match table and route decisions. */
#include "route.h"

#include <errno.h>
#include <stdlib.h>

#include "../core/stack.h"

/* A binary trie over destination bits, most significant first; a node at
 * depth d holds the route for the d-bit prefix on its path, if any. A
 * lookup walks at most 32 nodes and keeps the deepest route seen. */
struct fib_node {
	struct fib_node *child[2];
	struct fib_route *route;
};

void fib_init(struct fib *f)
{
	f->root = NULL;
	f->count = 0;
}

static void free_node(struct fib_node *n)
{
	if (!n)
		return;
	free_node(n->child[0]);
	free_node(n->child[1]);
	free(n->route);
	free(n);
}

void fib_free(struct fib *f)
{
	free_node(f->root);
	f->root = NULL;
	f->count = 0;
}

static inline unsigned bit_at(uint32_t host, unsigned depth)
{
	return (host >> (31 - depth)) & 1;
}

int fib_insert(struct fib *f, const struct fib_route *r)
{
	if (r->prefixlen > 32)
		return -EINVAL;
	uint32_t host = ntohl(r->dst) & ntohl(inet_make_mask(r->prefixlen));
	struct fib_node **slot = &f->root;
	for (unsigned d = 0;; d++) {
		if (!*slot) {
			*slot = calloc(1, sizeof(**slot));
			if (!*slot)
				return -ENOMEM;
		}
		if (d == r->prefixlen)
			break;
		slot = &(*slot)->child[bit_at(host, d)];
	}
	if ((*slot)->route)
		return -EEXIST;
	struct fib_route *nr = malloc(sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	*nr = *r;
	nr->dst = htonl(host);
	(*slot)->route = nr;
	f->count++;
	return 0;
}

/* Removes the route at (host, len) under *slot; prunes empty nodes. */
static int delete_at(struct fib_node **slot, uint32_t host, unsigned len, unsigned d)
{
	struct fib_node *n = *slot;
	if (!n)
		return -ESRCH;
	int err;
	if (d == len) {
		if (!n->route)
			return -ESRCH;
		free(n->route);
		n->route = NULL;
		err = 0;
	} else {
		err = delete_at(&n->child[bit_at(host, d)], host, len, d + 1);
	}
	if (!err && !n->route && !n->child[0] && !n->child[1]) {
		free(n);
		*slot = NULL;
	}
	return err;
}

int fib_delete(struct fib *f, uint32_t dst, uint8_t prefixlen)
{
	if (prefixlen > 32)
		return -EINVAL;
	uint32_t host = ntohl(dst) & ntohl(inet_make_mask(prefixlen));
	int err = delete_at(&f->root, host, prefixlen, 0);
	if (!err)
		f->count--;
	return err;
}

const struct fib_route *fib_lookup(const struct fib *f, uint32_t daddr)
{
	uint32_t host = ntohl(daddr);
	const struct fib_route *best = NULL;
	const struct fib_node *n = f->root;
	for (unsigned d = 0; n; d++) {
		if (n->route)
			best = n->route;
		if (d == 32)
			break;
		n = n->child[bit_at(host, d)];
	}
	return best;
}

static void walk(const struct fib_node *n, void (*fn)(void *, const struct fib_route *), void *arg)
{
	if (!n)
		return;
	if (n->route)
		fn(arg, n->route);
	walk(n->child[0], fn, arg);
	walk(n->child[1], fn, arg);
}

void fib_walk(const struct fib *f, void (*fn)(void *arg, const struct fib_route *r), void *arg)
{
	walk(f->root, fn, arg);
}

struct flush_ctx {
	const struct netdev *dev;
	struct fib_route doomed[64];
	unsigned n;
};

static void collect_dev(void *arg, const struct fib_route *r)
{
	struct flush_ctx *c = arg;
	if (r->dev == c->dev && c->n < 64)
		c->doomed[c->n++] = *r;
}

void fib_flush_dev(struct fib *f, const struct netdev *dev)
{
	for (;;) {
		struct flush_ctx c = { .dev = dev, .n = 0 };
		fib_walk(f, collect_dev, &c);
		for (unsigned i = 0; i < c.n; i++)
			fib_delete(f, c.doomed[i].dst, c.doomed[i].prefixlen);
		if (c.n < 64)
			break;
	}
}

/* ---- route decisions ---- */

int ip_route_output(struct us_stack *s, uint32_t daddr, uint32_t saddr, int oif, struct rtable *rt)
{
	struct netdev *odev = NULL;
	if (oif) {
		odev = netdev_get_by_index(s, oif);
		if (!odev || !netdev_is_up(odev))
			return -ENETUNREACH;
	}
	/* Our own addresses and 127/8 go through loopback (the local table). */
	if ((ipv4_is_loopback(daddr) || inet_addr_is_local(s, daddr)) && s->lo &&
	    (!odev || odev == s->lo || inet_addr_is_local(s, daddr))) {
		rt->type = RTN_LOCAL;
		rt->dev = s->lo;
		rt->nexthop = daddr;
		rt->saddr = saddr ? saddr : daddr;
		rt->mtu = s->lo->mtu;
		return netdev_is_up(s->lo) ? 0 : -ENETUNREACH;
	}
	const struct fib_route *r = NULL;
	if (odev) {
		r = fib_lookup(&s->fib, daddr);
		if (r && r->dev != odev)
			r = NULL;
	} else {
		r = fib_lookup(&s->fib, daddr);
		if (!r || !netdev_is_up(r->dev))
			return -ENETUNREACH;
		odev = r->dev;
	}
	rt->dev = odev;
	rt->nexthop = r && r->gw ? r->gw : daddr;
	rt->mtu = odev->mtu;
	if (ipv4_is_lbcast(daddr) || inet_addr_is_broadcast(odev, daddr))
		rt->type = RTN_BROADCAST;
	else if (ipv4_is_multicast(daddr))
		rt->type = RTN_MULTICAST;
	else
		rt->type = RTN_UNICAST;
	if (saddr)
		rt->saddr = saddr;
	else if (r && r->prefsrc)
		rt->saddr = r->prefsrc;
	else
		rt->saddr = inet_select_addr(odev, rt->nexthop);
	return 0;
}

int ip_route_input(struct us_stack *s, uint32_t daddr, uint32_t saddr, struct netdev *in,
		   struct rtable *rt)
{
	/* Martian sources (RFC 1812 5.3.7): never accepted. A zero source
	 * may only broadcast (a DHCP client). */
	if (ipv4_is_multicast(saddr) || ipv4_is_lbcast(saddr) ||
	    (in->type != NETDEV_LOOPBACK && inet_addr_is_broadcast(in, saddr)) ||
	    (ipv4_is_loopback(saddr) && in->type != NETDEV_LOOPBACK) ||
	    (saddr == 0 && !ipv4_is_lbcast(daddr)))
		return -EINVAL;
	rt->dev = in;
	rt->nexthop = daddr;
	rt->saddr = 0;
	rt->mtu = in->mtu;
	if (inet_addr_is_bcast_for(s, in, daddr)) {
		rt->type = RTN_BROADCAST;
		return 0;
	}
	if (ipv4_is_multicast(daddr)) {
		rt->type = RTN_MULTICAST;
		return 0;
	}
	if (inet_addr_is_local(s, daddr)) {
		rt->type = RTN_LOCAL;
		return 0;
	}
	if (ipv4_is_zeronet(daddr) || ipv4_is_loopback(daddr))
		return -EINVAL;
	if (!s->ip.forwarding)
		return -EHOSTUNREACH;
	const struct fib_route *r = fib_lookup(&s->fib, daddr);
	if (!r || !netdev_is_up(r->dev))
		return -ENETUNREACH;
	rt->type = RTN_UNICAST;
	rt->dev = r->dev;
	rt->nexthop = r->gw ? r->gw : daddr;
	rt->mtu = r->dev->mtu;
	rt->saddr = inet_select_addr(r->dev, rt->nexthop);
	if (inet_addr_is_broadcast(r->dev, daddr))
		return -EINVAL; /* a directed broadcast is not forwarded (RFC 2644) */
	return 0;
}

/* ---- public ---- */

static int route_errno(int err)
{
	errno = -err;
	return -1;
}

int us_route_add(us_stack *s, struct in_addr dst, int prefix_len, struct in_addr gw, int ifindex)
{
	if (!s || prefix_len < 0 || prefix_len > 32)
		return route_errno(-EINVAL);
	/* Host bits set: "Invalid prefix for given prefix length". */
	if (dst.s_addr & ~inet_make_mask((unsigned)prefix_len))
		return route_errno(-EINVAL);
	struct netdev *dev = NULL;
	if (ifindex) {
		dev = netdev_get_by_index(s, ifindex);
		if (!dev)
			return route_errno(-ENODEV);
		/* "Nexthop device is not up" (fib_check_nh). */
		if (!netdev_is_up(dev))
			return route_errno(-ENETDOWN);
	}
	if (gw.s_addr) {
		if (ipv4_is_multicast(gw.s_addr) || ipv4_is_lbcast(gw.s_addr) ||
		    ipv4_is_zeronet(gw.s_addr))
			return route_errno(-EINVAL);
		/* The gateway must be on a connected network (RFC 1812 5.2.4.3). */
		const struct fib_route *via = fib_lookup(&s->fib, gw.s_addr);
		if (!via || via->gw || (dev && via->dev != dev))
			return route_errno(-ENETUNREACH);
		dev = via->dev;
	}
	if (!dev)
		return route_errno(-EINVAL);
	struct fib_route r = {
		.dst = dst.s_addr,
		.prefixlen = (uint8_t)prefix_len,
		.proto = RTPROT_STATIC,
		.gw = gw.s_addr,
		.dev = dev,
	};
	int err = fib_insert(&s->fib, &r);
	return err ? route_errno(err) : 0;
}

int us_route_del(us_stack *s, struct in_addr dst, int prefix_len)
{
	if (!s || prefix_len < 0 || prefix_len > 32)
		return route_errno(-EINVAL);
	int err = fib_delete(&s->fib, dst.s_addr, (uint8_t)prefix_len);
	return err ? route_errno(err) : 0;
}

int us_route_get(us_stack *s, struct in_addr dst, int *ifindex, struct in_addr *gw,
		 struct in_addr *src)
{
	if (!s)
		return route_errno(-EINVAL);
	struct rtable rt;
	int err = ip_route_output(s, dst.s_addr, 0, 0, &rt);
	if (err)
		return route_errno(err);
	if (ifindex)
		*ifindex = rt.dev->ifindex;
	if (gw)
		gw->s_addr = rt.nexthop == dst.s_addr ? 0 : rt.nexthop;
	if (src)
		src->s_addr = rt.saddr;
	return 0;
}

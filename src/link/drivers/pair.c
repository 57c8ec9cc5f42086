/* An in-process link, like a veth pair: what one end sends arrives at the
 * other end's backlog in the next poll round. The ends may belong to two
 * stacks (driven by the same thread); a frame is copied into the
 * receiving stack's buffer pool so each stack returns its own buffers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/stack.h"
#include "../netdev.h"

struct pair_end {
	struct netdev *peer;
};

static int pair_xmit(struct netdev *dev, struct skb *skb)
{
	struct pair_end *e = netdev_priv(dev);
	struct netdev *peer = e->peer;
	if (!peer || !netdev_is_up(peer)) {
		/* No carrier: the frame goes nowhere (veth counts a drop). */
		skb_free(skb);
		return -ENOTCONN;
	}
	struct skb *n;
	if (peer->stack == dev->stack) {
		n = skb;
	} else {
		n = skb_alloc(peer->stack->pool, skb->len + 64);
		if (!n) {
			skb_free(skb);
			peer->stats.rx_dropped++;
			peer->stack->drops[DROP_NOMEM]++;
			return 0; /* sent; lost at the receiver */
		}
		skb_reserve(n, 64);
		memcpy(skb_put(n, skb->len), skb->data, skb->len);
		skb_free(skb);
	}
	n->mac_header = n->network_header = n->transport_header = SKB_NO_OFFSET;
	netif_rx(peer, n);
	return 0;
}

static void pair_destroy(struct netdev *dev)
{
	struct pair_end *e = netdev_priv(dev);
	if (e->peer) {
		struct pair_end *pe = netdev_priv(e->peer);
		pe->peer = NULL;
	}
}

static const struct netdev_ops pair_ops = {
	.xmit = pair_xmit,
	.destroy = pair_destroy,
};

int us_dev_pair(us_stack *a, const char *name_a, us_stack *b, const char *name_b,
		int *ifindex_b)
{
	if (!a || !b || !name_a || !name_b || (a == b && !strcmp(name_a, name_b))) {
		errno = EINVAL;
		return -1;
	}
	if (netdev_get_by_name(a, name_a) || netdev_get_by_name(b, name_b)) {
		errno = EEXIST;
		return -1;
	}
	struct netdev *da = netdev_alloc(a, name_a, NETDEV_ETHER, &pair_ops, sizeof(struct pair_end));
	struct netdev *db = netdev_alloc(b, name_b, NETDEV_ETHER, &pair_ops, sizeof(struct pair_end));
	if (!da || !db) {
		free(da);
		free(db);
		errno = ENOMEM;
		return -1;
	}
	eth_random_addr(a, da->addr);
	eth_random_addr(b, db->addr);
	((struct pair_end *)netdev_priv(da))->peer = db;
	((struct pair_end *)netdev_priv(db))->peer = da;
	netdev_register(da);
	netdev_register(db);
	if (ifindex_b)
		*ifindex_b = db->ifindex;
	return da->ifindex;
}

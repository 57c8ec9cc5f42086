/* A device driven by the embedding program (libslirp's and gVisor's
 * channel endpoint model): frames we send go to a callback; frames the
 * program receives are handed in with us_dev_input(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/stack.h"
#include "../netdev.h"

struct cbdev {
	us_dev_tx_fn tx;
	void *arg;
};

static int cbdev_xmit(struct netdev *dev, struct skb *skb)
{
	struct cbdev *c = netdev_priv(dev);
	c->tx(c->arg, skb->data, skb->len);
	skb_free(skb);
	return 0;
}

static const struct netdev_ops cbdev_ops = {
	.xmit = cbdev_xmit,
};

int us_dev_callback(us_stack *s, const char *name, bool l3, us_dev_tx_fn tx, void *arg)
{
	if (!s || !tx) {
		errno = EINVAL;
		return -1;
	}
	if (name && netdev_get_by_name(s, name)) {
		errno = EEXIST;
		return -1;
	}
	struct netdev *dev = netdev_alloc(s, name, l3 ? NETDEV_RAWIP : NETDEV_ETHER, &cbdev_ops,
					  sizeof(struct cbdev));
	if (!dev)
		return -1;
	struct cbdev *c = netdev_priv(dev);
	c->tx = tx;
	c->arg = arg;
	if (!l3)
		eth_random_addr(s, dev->addr);
	netdev_register(dev);
	return dev->ifindex;
}

int us_dev_input(us_stack *s, int ifindex, const void *frame, size_t len)
{
	if (!s || (!frame && len)) {
		errno = EINVAL;
		return -1;
	}
	struct netdev *dev = netdev_get_by_index(s, ifindex);
	if (!dev) {
		errno = ENODEV;
		return -1;
	}
	if (len > 65535 + 64) {
		dev->stats.rx_errors++;
		errno = EMSGSIZE;
		return -1;
	}
	if (dev->backlog.qlen >= NETDEV_BACKLOG_MAX) {
		dev->stats.rx_overruns++;
		dev->stats.rx_dropped++;
		s->drops[DROP_RX_OVERRUN]++;
		errno = ENOBUFS;
		return -1;
	}
	struct skb *skb = skb_alloc(s->pool, (uint32_t)len + 64);
	if (!skb) {
		dev->stats.rx_dropped++;
		s->drops[DROP_NOMEM]++;
		errno = ENOBUFS;
		return -1;
	}
	skb_reserve(skb, 64);
	memcpy(skb_put(skb, (uint32_t)len), frame, len);
	netif_rx(dev, skb);
	return 0;
}

/* The loopback device: what is sent comes back in the next poll round. */
#include <errno.h>
#include <stdlib.h>

#include "../../core/stack.h"
#include "../netdev.h"

static int loopback_xmit(struct netdev *dev, struct skb *skb)
{
	skb->pkt_type = PACKET_LOOPBACK;
	netif_rx(dev, skb);
	return 0;
}

static const struct netdev_ops loopback_ops = {
	.xmit = loopback_xmit,
};

struct netdev *loopback_create(struct us_stack *s)
{
	struct netdev *dev = netdev_alloc(s, "lo", NETDEV_LOOPBACK, &loopback_ops, 0);
	if (!dev)
		return NULL;
	int err = netdev_register(dev);
	if (err) {
		free(dev);
		errno = -err;
		return NULL;
	}
	return dev;
}

/* The device-independent layer: registration, receive dispatch through
 * taps and ethertype handlers, and the transmit queue. */
#include "netdev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "../core/stack.h"
#include "../wire/eth.h"

struct netdev *netdev_alloc(struct us_stack *s, const char *name, enum netdev_type type,
			    const struct netdev_ops *ops, size_t priv_size)
{
	if (!name || !*name || strlen(name) >= sizeof(((struct netdev *)0)->name)) {
		errno = EINVAL;
		return NULL;
	}
	struct netdev *dev = calloc(1, sizeof(*dev) + priv_size);
	if (!dev) {
		errno = ENOMEM;
		return NULL;
	}
	list_init(&dev->list);
	dev->stack = s;
	strcpy(dev->name, name);
	dev->type = type;
	dev->ops = ops;
	dev->priv = priv_size ? (void *)(dev + 1) : NULL;
	dev->mtu = type == NETDEV_LOOPBACK ? 65536 : ETH_DATA_LEN;
	dev->hard_header_len = type == NETDEV_ETHER ? ETH_HLEN : 0;
	dev->flags = type == NETDEV_ETHER ? NETDEV_BROADCAST | NETDEV_MULTICAST
		   : type == NETDEV_LOOPBACK ? NETDEV_LOOPBACK_F
		   : NETDEV_POINTOPOINT | NETDEV_NOARP;
	skb_queue_init(&dev->backlog);
	skb_queue_init(&dev->txq);
	list_init(&dev->ifa_list);
	return dev;
}

static void netdev_epoll_add(struct netdev *dev)
{
	struct us_stack *s = dev->stack;
	int fd = dev->ops->get_fd ? dev->ops->get_fd(dev) : -1;
	if (s->epfd < 0 || fd < 0)
		return;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = dev };
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int netdev_register(struct netdev *dev)
{
	struct us_stack *s = dev->stack;
	if (netdev_get_by_name(s, dev->name))
		return -EEXIST;
	dev->ifindex = s->next_ifindex++;
	list_add_tail(&dev->list, &s->devs);
	netdev_epoll_add(dev);
	return 0;
}

void netdev_unregister(struct netdev *dev)
{
	struct us_stack *s = dev->stack;
	netdev_set_up(dev, false);
	int fd = dev->ops->get_fd ? dev->ops->get_fd(dev) : -1;
	if (s->epfd >= 0 && fd >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
	/* Nothing may point at the device once it is gone. */
	struct packet_type *pt, *ptn;
	list_for_each_entry_safe(pt, ptn, &s->ptype_all, list)
		if (pt->dev == dev)
			list_del(&pt->list);
	for (int i = 0; i < PTYPE_HASH_SIZE; i++)
		list_for_each_entry_safe(pt, ptn, &s->ptype_base[i], list)
			if (pt->dev == dev)
				list_del(&pt->list);
	fib_flush_dev(&s->fib, dev);
	neigh_flush(s, dev);
	struct in_ifaddr *ifa, *n;
	list_for_each_entry_safe(ifa, n, &dev->ifa_list, list) {
		list_del(&ifa->list);
		free(ifa);
	}
	skb_queue_purge(&dev->backlog);
	skb_queue_purge(&dev->txq);
	if (dev->qdisc) {
		dev->qdisc->ops->destroy(dev->qdisc);
		dev->qdisc = NULL;
	}
	list_del(&dev->list);
	if (s->lo == dev)
		s->lo = NULL;
	if (dev->ops->destroy)
		dev->ops->destroy(dev);
	free(dev);
}

struct netdev *netdev_get_by_index(const struct us_stack *s, int ifindex)
{
	struct netdev *dev;
	list_for_each_entry(dev, &s->devs, list)
		if (dev->ifindex == ifindex)
			return dev;
	return NULL;
}

struct netdev *netdev_get_by_name(const struct us_stack *s, const char *name)
{
	struct netdev *dev;
	list_for_each_entry(dev, &s->devs, list)
		if (strcmp(dev->name, name) == 0)
			return dev;
	return NULL;
}

int netdev_set_up(struct netdev *dev, bool up)
{
	struct us_stack *s = dev->stack;
	if (up == netdev_is_up(dev))
		return 0;
	if (up) {
		if (dev->ops->open) {
			int err = dev->ops->open(dev);
			if (err)
				return err;
		}
		dev->flags |= NETDEV_UP;
		devinet_netdev_event(dev, true);
		/* Announce our addresses (RFC 5227 3). */
		struct in_ifaddr *ifa;
		list_for_each_entry(ifa, &dev->ifa_list, list)
			arp_send_gratuitous(dev, ifa->local);
	} else {
		dev->flags &= ~NETDEV_UP;
		if (dev->ops->stop)
			dev->ops->stop(dev);
		devinet_netdev_event(dev, false);
		neigh_flush(s, dev);
		uint64_t n = dev->txq.qlen;
		skb_queue_purge(&dev->txq);
		s->drops[DROP_DEV_DOWN] += n;
	}
	return 0;
}

int netdev_set_mtu(struct netdev *dev, unsigned mtu)
{
	/* RFC 791: every internet module must handle 68 bytes unfragmented. */
	unsigned max = dev->type == NETDEV_LOOPBACK ? 65536 : 65535 - dev->hard_header_len;
	if (mtu < 68 || mtu > max)
		return -EINVAL;
	dev->mtu = mtu;
	return 0;
}

void dev_add_pack(struct us_stack *s, struct packet_type *pt)
{
	if (pt->type == ETH_P_ALL)
		list_add_tail(&pt->list, &s->ptype_all);
	else
		list_add_tail(&pt->list, &s->ptype_base[pt->type & (PTYPE_HASH_SIZE - 1)]);
}

void dev_remove_pack(struct us_stack *s, struct packet_type *pt)
{
	(void)s;
	list_del(&pt->list);
}

/* Shows a frame to every tap (ptype_all): capture and packet sockets. */
static void deliver_taps(struct us_stack *s, struct skb *skb, struct netdev *dev)
{
	struct packet_type *pt, *n;
	list_for_each_entry_safe(pt, n, &s->ptype_all, list)
		if (!pt->dev || pt->dev == dev)
			pt->func(skb, dev, pt);
}

/* Raw IP devices: the protocol is the IP version. */
static int rawip_type_trans(struct skb *skb)
{
	skb_reset_mac_header(skb);
	if (skb->len < 1)
		return -1;
	uint8_t version = skb->data[0] >> 4;
	skb->protocol = version == 4 ? ETH_P_IP : version == 6 ? ETH_P_IPV6 : 0;
	skb->pkt_type = PACKET_HOST;
	return 0;
}

void netif_receive_skb(struct skb *skb)
{
	struct netdev *dev = skb->dev;
	struct us_stack *s = dev->stack;

	dev->stats.rx_packets++;
	dev->stats.rx_bytes += skb->len;
	if (unlikely(!netdev_is_up(dev))) {
		dev->stats.rx_dropped++;
		skb_drop(s, skb, DROP_DEV_DOWN);
		return;
	}
	if (dev->type == NETDEV_ETHER) {
		if (unlikely(eth_type_trans(skb, dev) < 0)) {
			dev->stats.rx_errors++;
			skb_drop(s, skb, DROP_ETH_MALFORMED);
			return;
		}
		/* The receive filter of a NIC: unicast frames for others are
		 * seen only in promiscuous mode. */
		if (skb->pkt_type == PACKET_OTHERHOST && !(dev->flags & NETDEV_PROMISC)) {
			skb_drop(s, skb, DROP_OTHERHOST);
			return;
		}
		if (skb->pkt_type == PACKET_MULTICAST || skb->pkt_type == PACKET_BROADCAST)
			dev->stats.rx_multicast += skb->pkt_type == PACKET_MULTICAST;
	} else if (rawip_type_trans(skb) < 0) {
		dev->stats.rx_errors++;
		skb_drop(s, skb, DROP_ETH_MALFORMED);
		return;
	}

	if (!list_empty(&s->ptype_all))
		deliver_taps(s, skb, dev);

	struct packet_type *pt;
	list_for_each_entry(pt, &s->ptype_base[skb->protocol & (PTYPE_HASH_SIZE - 1)], list) {
		if (pt->type == skb->protocol && (!pt->dev || pt->dev == dev)) {
			pt->func(skb, dev, pt);
			return;
		}
	}
	/* IPv6 neighbour discovery, LLDP...: counted, quietly. */
	dev->stats.rx_nohandler++;
	skb_drop(s, skb, DROP_UNHANDLED_PROTO);
}

void netif_rx(struct netdev *dev, struct skb *skb)
{
	struct us_stack *s = dev->stack;
	if (dev->backlog.qlen >= NETDEV_BACKLOG_MAX) {
		dev->stats.rx_overruns++;
		dev->stats.rx_dropped++;
		skb_drop(s, skb, DROP_RX_OVERRUN);
		return;
	}
	skb->dev = dev;
	skb_queue_tail(&dev->backlog, skb);
	if (!s->in_poll)
		stack_wake(s);
}

int netdev_backlog_poll(struct netdev *dev, int budget)
{
	int n = 0;
	struct skb *skb;
	while (n < budget && (skb = skb_dequeue(&dev->backlog)) != NULL) {
		netif_receive_skb(skb);
		n++;
	}
	return n;
}

/* Hands one frame to the driver (dev_hard_start_xmit), showing it to the
 * taps first as Linux's dev_queue_xmit_nit does. */
static void dev_hard_start_xmit(struct netdev *dev, struct skb *skb)
{
	struct us_stack *s = dev->stack;
	if (!list_empty(&s->ptype_all)) {
		uint8_t saved = skb->pkt_type;
		uint16_t mac = skb->mac_header;
		skb->pkt_type = PACKET_OUTGOING;
		skb_reset_mac_header(skb);
		deliver_taps(s, skb, dev);
		skb->pkt_type = saved;
		skb->mac_header = mac;
	}
	uint32_t len = skb->len;
	int err = dev->ops->xmit(dev, skb);
	if (likely(err == 0)) {
		dev->stats.tx_packets++;
		dev->stats.tx_bytes += len;
	} else {
		dev->stats.tx_errors++;
		s->drops[DROP_TX_ERROR]++;
	}
}

static void dev_flush(struct netdev *dev, uint64_t now_ns)
{
	if (dev->tx_busy)
		return;
	dev->tx_busy = true;
	struct skb *skb;
	while ((skb = skb_dequeue(&dev->txq)) != NULL)
		dev_hard_start_xmit(dev, skb);
	if (dev->qdisc)
		while ((skb = dev->qdisc->ops->dequeue(dev->qdisc, now_ns)) != NULL)
			dev_hard_start_xmit(dev, skb);
	dev->tx_busy = false;
}

int dev_queue_xmit(struct skb *skb)
{
	struct netdev *dev = skb->dev;
	struct us_stack *s = dev->stack;
	if (unlikely(!netdev_is_up(dev))) {
		dev->stats.tx_dropped++;
		skb_drop(s, skb, DROP_DEV_DOWN);
		return -ENETDOWN;
	}
	if (dev->type == NETDEV_ETHER && eth_skb_pad(skb) < 0) {
		dev->stats.tx_dropped++;
		skb_drop(s, skb, DROP_NOMEM);
		return -ENOBUFS;
	}
	if (unlikely(skb->len > dev->mtu + dev->hard_header_len + (dev->type == NETDEV_ETHER ? 4u : 0u) &&
		     skb->len > ETH_ZLEN)) {
		dev->stats.tx_dropped++;
		skb_drop(s, skb, DROP_FRAME_TOO_BIG);
		return -EMSGSIZE;
	}
	if (dev->qdisc) {
		if (dev->qdisc->ops->enqueue(dev->qdisc, skb) < 0)
			return -ENOBUFS;
	} else {
		if (dev->txq.qlen >= NETDEV_TXQ_MAX) {
			dev->stats.tx_dropped++;
			skb_drop(s, skb, DROP_QDISC_DROP);
			return -ENOBUFS;
		}
		skb_queue_tail(&dev->txq, skb);
	}
	if (!s->in_poll)
		dev_flush(dev, stack_now_ns(s));
	return 0;
}

void dev_flush_all(struct us_stack *s)
{
	uint64_t now = stack_now_ns(s);
	struct netdev *dev;
	list_for_each_entry(dev, &s->devs, list)
		if (dev->txq.qlen || dev->qdisc)
			dev_flush(dev, now);
}

uint64_t dev_next_event(const struct us_stack *s)
{
	uint64_t next = US_TIME_NEVER;
	const struct netdev *dev;
	list_for_each_entry(dev, &s->devs, list) {
		if (dev->backlog.qlen || dev->txq.qlen)
			return 0;
		if (dev->qdisc) {
			uint64_t t = dev->qdisc->ops->next_time(dev->qdisc);
			if (t < next)
				next = t;
		}
	}
	return next;
}

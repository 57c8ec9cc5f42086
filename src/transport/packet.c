/*
 * Packet sockets (Linux's AF_PACKET, the path tcpdump uses): a tap in the
 * device layer's ptype_all list sees every frame received and sent on a
 * device (or on all), filtered by ethertype, and queues a clone. SOCK_RAW
 * sees and sends whole frames; SOCK_DGRAM sees the payload and sends with
 * a link header the stack builds from sockaddr_ll. A socket does not see
 * the frames it sent itself.
 */
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../core/stack.h"
#include "../wire/eth.h"

struct packet_sock {
	struct sock sk;
	struct packet_type pt;
	bool registered;
	int ifindex;              /* 0: every device */
	uint16_t proto;           /* host order; 0: nothing yet */
	uint32_t stat_packets, stat_drops; /* PACKET_STATISTICS */
	int promisc_ifindex;
};

struct packet_skb_cb {
	int ifindex;
	uint16_t protocol;
	uint8_t pkttype;
	uint8_t halen;
	uint16_t hatype;
	uint8_t addr[8];
};
#define PACKET_SKB_CB(skb) ((struct packet_skb_cb *)(void *)(skb)->cb)

static const struct proto_ops packet_ops;
uint32_t datagram_poll(struct sock *sk);

static uint16_t dev_hatype(const struct netdev *dev)
{
	return dev->type == NETDEV_ETHER ? ARPHRD_ETHER
	       : dev->type == NETDEV_LOOPBACK ? ARPHRD_LOOPBACK : ARPHRD_NONE;
}

/* The tap: runs for every frame on every device. */
static int packet_rcv(struct skb *skb, struct netdev *dev, struct packet_type *pt)
{
	struct packet_sock *po = pt->priv;
	struct sock *sk = &po->sk;
	if (po->ifindex && po->ifindex != dev->ifindex)
		return 0;
	if (po->proto != ETH_P_ALL && po->proto != skb->protocol)
		return 0;
	if (skb->origin == po)
		return 0;
	po->stat_packets++;
	struct skb *c = skb_clone(skb);
	if (!c) {
		po->stat_drops++;
		return 0;
	}
	/* Link header start: the MAC header when set, else data. */
	uint8_t *mac = skb_mac_header_set(skb) ? skb_mac_header(c) : c->data;
	struct packet_skb_cb *cb = PACKET_SKB_CB(c);
	memset(cb, 0, sizeof(*cb));
	cb->ifindex = dev->ifindex;
	cb->protocol = skb->protocol;
	cb->pkttype = skb->pkt_type;
	cb->hatype = dev_hatype(dev);
	if (dev->type == NETDEV_ETHER && c->tail - mac >= ETH_HLEN) {
		cb->halen = ETH_ALEN;
		memcpy(cb->addr, mac + ETH_ALEN, ETH_ALEN); /* the source */
		if (!cb->protocol)
			cb->protocol = get_be16(mac + 12);
	}
	if (sk->type == SOCK_RAW) {
		c->data = mac;
	} else if (dev->type == NETDEV_ETHER && c->data == mac) {
		/* Outgoing frames start at the link header: skip it. */
		skb_pull(c, ETH_HLEN);
	}
	c->len = (uint32_t)(c->tail - c->data);
	if (sock_queue_rcv_skb(sk, c) < 0) {
		po->stat_drops++;
		skb_free(c);
	}
	return 0;
}

static void packet_register(struct packet_sock *po)
{
	if (po->registered || !po->proto)
		return;
	po->pt.type = ETH_P_ALL;
	po->pt.dev = NULL;
	po->pt.func = packet_rcv;
	po->pt.priv = po;
	dev_add_pack(po->sk.stack, &po->pt);
	po->registered = true;
}

static void packet_unregister(struct packet_sock *po)
{
	if (po->registered) {
		dev_remove_pack(po->sk.stack, &po->pt);
		po->registered = false;
	}
}

int packet_create(struct us_stack *s, int type, int protocol, struct sock **out)
{
	if (type != SOCK_RAW && type != SOCK_DGRAM)
		return -ESOCKTNOSUPPORT;
	if (protocol < 0 || protocol > 0xffff)
		return -EINVAL;
	struct packet_sock *po = (struct packet_sock *)sk_alloc(s, sizeof(struct packet_sock),
								  AF_PACKET, type, 0, &packet_ops);
	if (!po)
		return -ENOMEM;
	list_init(&po->pt.list);
	po->proto = ntohs((uint16_t)protocol);
	packet_register(po);
	*out = &po->sk;
	return 0;
}

static void packet_release(struct sock *sk)
{
	struct packet_sock *po = (struct packet_sock *)sk;
	packet_unregister(po);
	if (po->promisc_ifindex) {
		struct netdev *dev = netdev_get_by_index(sk->stack, po->promisc_ifindex);
		if (dev)
			dev->flags &= ~NETDEV_PROMISC;
	}
	skb_queue_purge(&sk->receive_queue);
	sk->rmem_alloc = 0;
	sock_put(sk);
}

static int packet_bind(struct sock *sk, const struct sockaddr *addr, socklen_t len)
{
	struct packet_sock *po = (struct packet_sock *)sk;
	if (len < sizeof(struct sockaddr_ll))
		return -EINVAL;
	struct sockaddr_ll sll;
	memcpy(&sll, addr, sizeof(sll));
	if (sll.sll_family != AF_PACKET)
		return -EINVAL;
	if (sll.sll_ifindex && !netdev_get_by_index(sk->stack, sll.sll_ifindex))
		return -ENODEV;
	po->ifindex = sll.sll_ifindex;
	if (sll.sll_protocol)
		po->proto = ntohs(sll.sll_protocol);
	packet_register(po);
	return 0;
}

static int packet_getname(struct sock *sk, struct sockaddr *addr, socklen_t *len, bool peer)
{
	struct packet_sock *po = (struct packet_sock *)sk;
	if (peer)
		return -EOPNOTSUPP;
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(po->proto);
	sll.sll_ifindex = po->ifindex;
	struct netdev *dev = po->ifindex ? netdev_get_by_index(sk->stack, po->ifindex) : NULL;
	if (dev) {
		sll.sll_hatype = dev_hatype(dev);
		if (dev->type == NETDEV_ETHER) {
			sll.sll_halen = ETH_ALEN;
			memcpy(sll.sll_addr, dev->addr, ETH_ALEN);
		}
	}
	socklen_t n = *len < sizeof(sll) ? *len : (socklen_t)sizeof(sll);
	memcpy(addr, &sll, n);
	*len = sizeof(sll);
	return 0;
}

static long packet_sendmsg(struct sock *sk, const struct msghdr *msg, int flags)
{
	struct packet_sock *po = (struct packet_sock *)sk;
	struct us_stack *s = sk->stack;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	int ifindex = po->ifindex;
	uint16_t proto = po->proto;
	const uint8_t *daddr = NULL;
	struct sockaddr_ll sll;
	if (msg->msg_name) {
		if (msg->msg_namelen < offsetof(struct sockaddr_ll, sll_addr))
			return -EINVAL;
		memset(&sll, 0, sizeof(sll));
		memcpy(&sll, msg->msg_name,
		       msg->msg_namelen < sizeof(sll) ? msg->msg_namelen : sizeof(sll));
		if (sll.sll_family != AF_PACKET)
			return -EINVAL;
		ifindex = sll.sll_ifindex;
		if (sll.sll_protocol)
			proto = ntohs(sll.sll_protocol);
		daddr = sll.sll_addr;
	}
	struct netdev *dev = ifindex ? netdev_get_by_index(s, ifindex) : NULL;
	if (!dev)
		return -ENXIO;
	if (!netdev_is_up(dev))
		return -ENETDOWN;
	size_t len = iov_total(msg);
	size_t hh = sk->type == SOCK_RAW ? 0 : dev->hard_header_len;
	if (len + hh > dev->mtu + dev->hard_header_len)
		return -EMSGSIZE;
	if (sk->type == SOCK_RAW && len < dev->hard_header_len)
		return -EINVAL;
	if (sk->type == SOCK_DGRAM && dev->type == NETDEV_ETHER && !daddr)
		return -EINVAL;
	struct skb *skb = skb_alloc_tx(s->pool, (uint32_t)len);
	if (!skb)
		return -ENOBUFS;
	iov_copy_from(skb_put(skb, (uint32_t)len), msg, 0, len);
	skb->dev = dev;
	skb->origin = po;
	if (sk->type == SOCK_DGRAM && dev->type == NETDEV_ETHER)
		eth_header(skb, dev, proto, daddr);
	else
		skb->protocol = proto;
	int err = dev_queue_xmit(skb);
	return err && err != -ENOBUFS ? err : (long)len;
}

static long packet_recvmsg(struct sock *sk, struct msghdr *msg, int flags)
{
	if (flags & (MSG_OOB | MSG_ERRQUEUE))
		return flags & MSG_OOB ? -EOPNOTSUPP : -EAGAIN;
	struct skb *skb = skb_peek(&sk->receive_queue);
	if (!skb)
		return -EAGAIN;
	size_t want = iov_total(msg), dlen = skb->len;
	size_t copied = iov_copy_to(msg, 0, skb->data, dlen < want ? dlen : want);
	if (dlen > want)
		msg->msg_flags |= MSG_TRUNC;
	if (msg->msg_name) {
		const struct packet_skb_cb *cb = PACKET_SKB_CB(skb);
		struct sockaddr_ll sll;
		memset(&sll, 0, sizeof(sll));
		sll.sll_family = AF_PACKET;
		sll.sll_protocol = htons(cb->protocol);
		sll.sll_ifindex = cb->ifindex;
		sll.sll_hatype = cb->hatype;
		sll.sll_pkttype = cb->pkttype;
		sll.sll_halen = cb->halen;
		memcpy(sll.sll_addr, cb->addr, sizeof(sll.sll_addr));
		socklen_t n = msg->msg_namelen < sizeof(sll) ? msg->msg_namelen : (socklen_t)sizeof(sll);
		memcpy(msg->msg_name, &sll, n);
		msg->msg_namelen = sizeof(sll);
	}
	if (!(flags & MSG_PEEK)) {
		skb_unlink(&sk->receive_queue, skb);
		sock_rfree(sk, skb);
		skb_free(skb);
	}
	return (long)((flags & MSG_TRUNC) ? dlen : copied);
}

static int packet_setsockopt(struct sock *sk, int level, int name, const void *val, socklen_t len)
{
	struct packet_sock *po = (struct packet_sock *)sk;
	if (level != SOL_PACKET)
		return -ENOPROTOOPT;
	if (name == PACKET_ADD_MEMBERSHIP || name == PACKET_DROP_MEMBERSHIP) {
		if (!val)
			return -EFAULT;
		if (len < sizeof(struct packet_mreq))
			return -EINVAL;
		struct packet_mreq mr;
		memcpy(&mr, val, sizeof(mr));
		struct netdev *dev = netdev_get_by_index(sk->stack, mr.mr_ifindex);
		if (!dev)
			return -ENODEV;
		if (mr.mr_type == PACKET_MR_PROMISC) {
			if (name == PACKET_ADD_MEMBERSHIP) {
				dev->flags |= NETDEV_PROMISC;
				po->promisc_ifindex = dev->ifindex;
			} else {
				dev->flags &= ~NETDEV_PROMISC;
				po->promisc_ifindex = 0;
			}
			return 0;
		}
		if (mr.mr_type == PACKET_MR_ALLMULTI || mr.mr_type == PACKET_MR_MULTICAST)
			return 0; /* every multicast frame is received already */
		return -EINVAL;
	}
	return -ENOPROTOOPT;
}

static int packet_getsockopt(struct sock *sk, int level, int name, void *val, socklen_t *len)
{
	struct packet_sock *po = (struct packet_sock *)sk;
	if (level != SOL_PACKET)
		return -ENOPROTOOPT;
	if (name == PACKET_STATISTICS) {
		if (!val)
			return -EFAULT;
		struct tpacket_stats st = { .tp_packets = po->stat_packets, .tp_drops = po->stat_drops };
		socklen_t n = *len < sizeof(st) ? *len : (socklen_t)sizeof(st);
		memcpy(val, &st, n);
		*len = n;
		po->stat_packets = po->stat_drops = 0; /* read and reset, as Linux */
		return 0;
	}
	return -ENOPROTOOPT;
}

static const struct proto_ops packet_ops = {
	.family = AF_PACKET,
	.release = packet_release,
	.bind = packet_bind,
	.getname = packet_getname,
	.poll = datagram_poll,
	.setsockopt = packet_setsockopt,
	.getsockopt = packet_getsockopt,
	.sendmsg = packet_sendmsg,
	.recvmsg = packet_recvmsg,
};

/*
 * Raw IP sockets: SOCK_RAW with a protocol number. Receive a copy of every
 * locally delivered datagram of that protocol, IP header included (as
 * Linux); send a payload the stack puts an IP header on, or (IP_HDRINCL,
 * IPPROTO_RAW) a whole datagram whose total length, checksum, and zero ID
 * and source the stack fills in. ICMP sockets may filter types
 * (ICMP_FILTER).
 */
#include "raw.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../core/stack.h"
#include "../wire/icmp.h"

#define SOL_RAW_ 255
#define ICMP_FILTER_ 1

struct raw_sock {
	struct sock sk;
	struct list_head node;
	uint32_t icmp_filter;    /* bit t set: drop ICMP type t */
};

static const struct proto_ops raw_ops;
uint32_t datagram_poll(struct sock *sk);
int datagram_shutdown(struct sock *sk, int how);

void raw_init(struct us_stack *s)
{
	for (int i = 0; i < 256; i++)
		list_init(&s->raw.by_proto[i]);
	s->raw.count = 0;
}

struct raw_skb_cb {
	uint32_t saddr;
};
#define RAW_SKB_CB(skb) ((struct raw_skb_cb *)(void *)(skb)->cb)

bool raw_local_deliver(struct us_stack *s, struct skb *skb, uint8_t protocol)
{
	struct list_head *head = &s->raw.by_proto[protocol];
	if (list_empty(head))
		return false;
	const uint8_t *nh = skb_network_header(skb);
	struct ip_repr ip;
	ipv4_parse_quoted(nh, (size_t)(skb->tail - nh), &ip);
	bool taken = false;
	struct raw_sock *rs;
	list_for_each_entry(rs, head, node) {
		struct sock *sk = &rs->sk;
		if ((sk->rcv_saddr && sk->rcv_saddr != ip.daddr) ||
		    (sk->state == TCP_ESTABLISHED && sk->daddr != ip.saddr) ||
		    (sk->bound_dev_if && sk->bound_dev_if != IPCB(skb)->iif))
			continue;
		if (protocol == IPPROTO_ICMP_ && skb->len >= 1 && icmp_peek_type(skb->data) < 32 &&
		    (rs->icmp_filter & (1u << icmp_peek_type(skb->data))))
			continue;
		taken = true;
		struct skb *c = skb_clone(skb);
		if (!c)
			continue;
		/* Raw sockets see the IP header. */
		c->data = skb_network_header(c);
		c->len = (uint32_t)(c->tail - c->data);
		RAW_SKB_CB(c)->saddr = ip.saddr;
		if (sock_queue_rcv_skb(sk, c) < 0)
			skb_drop(s, c, DROP_SOCKET_RCVBUFF);
	}
	return taken;
}

int raw_create(struct us_stack *s, int type, int protocol, struct sock **out)
{
	(void)type;
	if (protocol <= 0 || protocol > 255)
		return -EPROTONOSUPPORT;
	struct raw_sock *rs = (struct raw_sock *)sk_alloc(s, sizeof(struct raw_sock), AF_INET,
							  SOCK_RAW, protocol, &raw_ops);
	if (!rs)
		return -ENOMEM;
	/* IPPROTO_RAW sends whole datagrams (and receives nothing). */
	rs->sk.hdrincl = protocol == IPPROTO_RAW;
	rs->sk.num = (uint16_t)protocol;
	list_add_tail(&rs->node, &s->raw.by_proto[protocol]);
	s->raw.count++;
	*out = &rs->sk;
	return 0;
}

static void raw_release(struct sock *sk)
{
	struct raw_sock *rs = (struct raw_sock *)sk;
	list_del(&rs->node);
	sk->stack->raw.count--;
	skb_queue_purge(&sk->receive_queue);
	sk->rmem_alloc = 0;
	sock_put(sk);
}

static int raw_bind(struct sock *sk, const struct sockaddr *addr, socklen_t len)
{
	uint32_t ip;
	uint16_t port;
	int err = sockaddr_in_get(addr, len, &ip, &port);
	if (err)
		return err;
	if (ip && !inet_addr_is_local(sk->stack, ip) && !ipv4_is_multicast(ip) &&
	    !ipv4_is_lbcast(ip))
		return -EADDRNOTAVAIL;
	sk->rcv_saddr = sk->saddr = ip;
	return 0;
}

static int raw_connect(struct sock *sk, const struct sockaddr *addr, socklen_t len)
{
	return ip4_datagram_connect(sk, addr, len, NULL);
}

static long raw_send_hdrincl(struct sock *sk, const struct msghdr *msg, size_t len, uint32_t daddr)
{
	struct us_stack *s = sk->stack;
	if (len < IPV4_HLEN || len > IPV4_MAX_LEN)
		return -EINVAL;
	struct rtable rt;
	int err = ip_route_output(s, daddr, 0, sk->bound_dev_if, &rt);
	if (err)
		return err;
	if (rt.type == RTN_BROADCAST && !sk->broadcast)
		return -EACCES;
	struct skb *skb = skb_alloc_tx(s->pool, (uint32_t)len);
	if (!skb)
		return -ENOBUFS;
	uint8_t *h = skb_put(skb, (uint32_t)len);
	iov_copy_from(h, msg, 0, len);
	struct ip_repr ip;
	if (ipv4_parse_quoted(h, len, &ip) != IPV4_OK) {
		skb_free(skb);
		return -EINVAL;
	}
	/* raw_send_hdrinc: we fix total length and checksum, and fill in a
	 * zero ID and source. */
	if (ip.saddr == 0)
		ipv4_set_saddr(h, rt.saddr);
	if (ip.id == 0)
		put_be16(h + 4, ip_select_ident(s, ip.saddr ? ip.saddr : rt.saddr, daddr, ip.protocol));
	put_be16(h + 2, (uint16_t)len);
	ipv4_refresh_csum(h);
	skb_reset_network_header(skb);
	mib_inc(s, MIB_IpOutRequests);
	err = ip_finish_output(s, skb, &rt);
	return err && err != -ENOBUFS ? err : (long)len;
}

static long raw_sendmsg(struct sock *sk, const struct msghdr *msg, int flags)
{
	struct us_stack *s = sk->stack;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (sk->err)
		return sock_error(sk);
	size_t len = iov_total(msg);
	uint32_t daddr;
	if (msg->msg_name) {
		uint16_t port;
		int err = sockaddr_in_get(msg->msg_name, msg->msg_namelen, &daddr, &port);
		if (err)
			return err;
	} else {
		if (sk->state != TCP_ESTABLISHED)
			return -EDESTADDRREQ;
		daddr = sk->daddr;
	}
	if (sk->hdrincl)
		return raw_send_hdrincl(sk, msg, len, daddr);
	if (len > IPV4_MAX_LEN - IPV4_HLEN)
		return -EMSGSIZE;
	struct rtable rt;
	int err = ip_route_output(s, daddr, sk->saddr, sk->bound_dev_if, &rt);
	if (err)
		return err;
	if (rt.type == RTN_BROADCAST && !sk->broadcast)
		return -EACCES;
	struct skb *skb = skb_alloc_tx(s->pool, (uint32_t)len);
	if (!skb)
		return -ENOBUFS;
	iov_copy_from(skb_put(skb, (uint32_t)len), msg, 0, len);
	struct ip_tx tx = {
		.saddr = rt.saddr,
		.daddr = daddr,
		.protocol = sk->protocol,
		.ttl = sk->ttl > 0 ? (uint8_t)sk->ttl : 0,
		.tos = sk->tos,
		.oif = sk->bound_dev_if,
		.rt = &rt,
	};
	if (sk->protocol == IPPROTO_ICMP_ && len >= ICMP_HLEN) {
		const uint8_t *ic = skb->data;
		if (ic[0] == ICMP_ECHO)
			mib_inc(s, MIB_IcmpOutEchos);
		mib_inc(s, MIB_IcmpOutMsgs);
	}
	err = ip_send_skb(s, skb, &tx);
	return err && err != -ENOBUFS ? err : (long)len;
}

static long raw_recvmsg(struct sock *sk, struct msghdr *msg, int flags)
{
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (sk->err)
		return sock_error(sk);
	struct skb *skb = skb_peek(&sk->receive_queue);
	if (!skb)
		return -EAGAIN; /* the caller turns it into 0 (EOF) after SHUT_RD when blocking */
	size_t want = iov_total(msg), dlen = skb->len;
	size_t copied = iov_copy_to(msg, 0, skb->data, dlen < want ? dlen : want);
	if (dlen > want)
		msg->msg_flags |= MSG_TRUNC;
	msg_put_inet_name(msg, RAW_SKB_CB(skb)->saddr, 0);
	if (!(flags & MSG_PEEK)) {
		skb_unlink(&sk->receive_queue, skb);
		sock_rfree(sk, skb);
		skb_free(skb);
	}
	return (long)((flags & MSG_TRUNC) ? dlen : copied);
}

static int raw_setsockopt(struct sock *sk, int level, int name, const void *val, socklen_t len)
{
	struct raw_sock *rs = (struct raw_sock *)sk;
	if (level == SOL_RAW_ && name == ICMP_FILTER_) {
		if (sk->protocol != IPPROTO_ICMP_)
			return -EOPNOTSUPP;
		if (!val)
			return -EFAULT;
		if (len < sizeof(uint32_t))
			return -EINVAL;
		memcpy(&rs->icmp_filter, val, sizeof(uint32_t));
		return 0;
	}
	if (level == IPPROTO_IP && name == IP_HDRINCL) {
		int v;
		int err = sockopt_get_int(val, len, &v);
		if (err)
			return err;
		if (sk->protocol == IPPROTO_RAW)
			return 0; /* always on */
		sk->hdrincl = v != 0;
		return 0;
	}
	return -ENOPROTOOPT;
}

static int raw_getsockopt(struct sock *sk, int level, int name, void *val, socklen_t *len)
{
	struct raw_sock *rs = (struct raw_sock *)sk;
	if (level == SOL_RAW_ && name == ICMP_FILTER_) {
		if (sk->protocol != IPPROTO_ICMP_)
			return -EOPNOTSUPP;
		if (!val)
			return -EFAULT;
		socklen_t n = *len < sizeof(uint32_t) ? *len : (socklen_t)sizeof(uint32_t);
		memcpy(val, &rs->icmp_filter, n);
		*len = n;
		return 0;
	}
	if (level == IPPROTO_IP && name == IP_HDRINCL)
		return sockopt_put_int(val, len, sk->hdrincl);
	return -ENOPROTOOPT;
}

static const struct proto_ops raw_ops = {
	.family = AF_INET,
	.release = raw_release,
	.bind = raw_bind,
	.connect = raw_connect,
	.getname = inet_getname,
	.poll = datagram_poll,
	.shutdown = datagram_shutdown,
	.setsockopt = raw_setsockopt,
	.getsockopt = raw_getsockopt,
	.sendmsg = raw_sendmsg,
	.recvmsg = raw_recvmsg,
};

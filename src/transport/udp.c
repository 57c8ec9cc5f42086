/*
 * UDP (RFC 768; RFC 1122 4.1): checksums generated and verified (zero
 * means none on IPv4), bind to an address or any, ephemeral ports chosen
 * randomly (RFC 6056), connected sockets that filter peers and learn of
 * ICMP port unreachable as ECONNREFUSED, broadcast with SO_BROADCAST,
 * datagrams up to 65507 bytes through fragmentation, and receive queues
 * bounded by SO_RCVBUF. Counters as /proc/net/snmp's Udp line.
 */
#include "udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../core/stack.h"
#include "../wire/icmp.h"
#include "../wire/udp.h"

#define UDP_MAX_PAYLOAD (IPV4_MAX_LEN - IPV4_HLEN - UDP_HLEN) /* 65507 */

struct udp_skb_cb {
	uint32_t saddr;
	uint16_t sport;
};
#define UDP_SKB_CB(skb) ((struct udp_skb_cb *)(void *)(skb)->cb)

static const struct proto_ops udp_ops;

static struct list_head *udp_bucket(struct us_stack *s, uint16_t port)
{
	return &s->udp.hash[port & ((1u << UDP_HTABLE_BITS) - 1)];
}

int inet_bind_conflict(const struct sock *a, const struct sock *b)
{
	if (a->bound_dev_if && b->bound_dev_if && a->bound_dev_if != b->bound_dev_if)
		return 0;
	return !a->rcv_saddr || !b->rcv_saddr || a->rcv_saddr == b->rcv_saddr;
}

static int udp_port_in_use(struct us_stack *s, struct sock *sk, uint16_t port)
{
	struct sock *o;
	list_for_each_entry(o, udp_bucket(s, port), bind_node) {
		if (o == sk || o->num != port || !inet_bind_conflict(sk, o))
			continue;
		/* SO_REUSEADDR or SO_REUSEPORT on both lets them share. */
		if ((sk->reuseaddr && o->reuseaddr) || (sk->reuseport && o->reuseport))
			continue;
		return 1;
	}
	return 0;
}

int inet_pick_ephemeral(struct us_stack *s, int (*in_use)(struct us_stack *s, struct sock *sk, uint16_t port),
			struct sock *sk, uint16_t *port)
{
	int lo = s->socks.ephemeral_lo, hi = s->socks.ephemeral_hi;
	uint32_t n = (uint32_t)(hi - lo + 1);
	uint32_t off = prng_below(&s->rng, n);
	for (uint32_t i = 0; i < n; i++) {
		uint16_t p = (uint16_t)(lo + (off + i) % n);
		if (!in_use(s, sk, p)) {
			*port = p;
			return 0;
		}
	}
	return -EADDRINUSE;
}

static int udp_get_port(struct sock *sk, uint16_t port)
{
	struct us_stack *s = sk->stack;
	if (port == 0) {
		int err = inet_pick_ephemeral(s, udp_port_in_use, sk, &port);
		if (err)
			return err == -EADDRINUSE ? -EAGAIN : err;
	} else if (udp_port_in_use(s, sk, port)) {
		return -EADDRINUSE;
	}
	sk->num = port;
	list_add(&sk->bind_node, udp_bucket(s, port));
	s->udp.count++;
	return 0;
}

static void udp_unhash(struct sock *sk)
{
	if (sk->num) {
		list_del(&sk->bind_node);
		sk->stack->udp.count--;
		sk->num = 0;
	}
}

/* compute_score: how well sk matches a datagram; -1 if it cannot take it. */
static int udp_score(const struct sock *sk, uint32_t saddr, uint16_t sport, uint32_t daddr,
		     uint16_t dport, int dif)
{
	if (sk->num != dport)
		return -1;
	int score = 2;
	if (sk->rcv_saddr) {
		if (sk->rcv_saddr != daddr)
			return -1;
		score += 4;
	}
	if (sk->state == TCP_ESTABLISHED) {
		if (sk->daddr != saddr || sk->dport != sport)
			return -1;
		score += 8;
	}
	if (sk->bound_dev_if) {
		if (sk->bound_dev_if != dif)
			return -1;
		score += 4;
	}
	return score;
}

static struct sock *udp_lookup(struct us_stack *s, uint32_t saddr, uint16_t sport, uint32_t daddr,
			       uint16_t dport, int dif)
{
	struct sock *sk, *best = NULL;
	int best_score = -1;
	unsigned nreuse = 0;
	list_for_each_entry(sk, udp_bucket(s, dport), bind_node) {
		int score = udp_score(sk, saddr, sport, daddr, dport, dif);
		if (score < 0 || score < best_score)
			continue;
		if (score > best_score) {
			best = sk;
			best_score = score;
			nreuse = 1;
		} else if (sk->reuseport && best->reuseport) {
			/* SO_REUSEPORT group: spread flows by a hash of the
			 * peer, so one flow always lands on one socket. */
			nreuse++;
			uint32_t h = (uint32_t)siphash_3u32(&s->hash_key, saddr, sport, nreuse);
			if (h % nreuse == 0)
				best = sk;
		}
	}
	return best;
}

/* ---- receive ---- */

static void udp_queue(struct us_stack *s, struct sock *sk, struct skb *skb)
{
	if (sock_queue_rcv_skb(sk, skb) < 0) {
		mib_inc(s, MIB_UdpRcvbufErrors);
		mib_inc(s, MIB_UdpInErrors);
		skb_drop(s, skb, DROP_SOCKET_RCVBUFF);
	}
}

static int udp_rcv(struct skb *skb)
{
	struct us_stack *s = skb->dev->stack;
	const uint8_t *nh = skb_network_header(skb);
	struct ip_repr ip;
	ipv4_parse_quoted(nh, (size_t)(skb->tail - nh), &ip);
	struct udp_repr u;
	switch (udp_parse(skb->data, skb->len, ip.saddr, ip.daddr, &u)) {
	case UDP_OK:
		break;
	case UDP_ECSUM:
		mib_inc(s, MIB_UdpInCsumErrors);
		mib_inc(s, MIB_UdpInErrors);
		skb_drop(s, skb, DROP_UDP_CSUM);
		return 0;
	default:
		mib_inc(s, MIB_UdpInErrors);
		skb_drop(s, skb, DROP_UDP_MALFORMED);
		return 0;
	}
	skb_trim(skb, u.len);
	skb_pull(skb, UDP_HLEN);
	UDP_SKB_CB(skb)->saddr = ip.saddr;
	UDP_SKB_CB(skb)->sport = u.sport;
	int dif = IPCB(skb)->iif;

	bool multi = ipv4_is_multicast(ip.daddr) || inet_addr_is_bcast_for(s, skb->dev, ip.daddr) ||
		     skb->pkt_type == PACKET_BROADCAST || skb->pkt_type == PACKET_MULTICAST;
	if (multi) {
		/* Every matching socket gets its copy (__udp4_lib_mcast_deliver). */
		struct sock *sk, *last = NULL;
		list_for_each_entry(sk, udp_bucket(s, u.dport), bind_node) {
			/* __udp_is_mcast_sock */
			if (sk->num != u.dport || (sk->rcv_saddr && sk->rcv_saddr != ip.daddr) ||
			    (sk->bound_dev_if && sk->bound_dev_if != dif) ||
			    (sk->state == TCP_ESTABLISHED &&
			     (sk->daddr != ip.saddr || sk->dport != u.sport)))
				continue;
			if (last) {
				struct skb *c = skb_clone(skb);
				if (c)
					udp_queue(s, last, c);
			}
			last = sk;
		}
		if (last) {
			udp_queue(s, last, skb);
		} else {
			mib_inc(s, MIB_UdpIgnoredMulti);
			skb_drop(s, skb, DROP_NO_SOCKET);
		}
		return 0;
	}
	struct sock *sk = udp_lookup(s, ip.saddr, u.sport, ip.daddr, u.dport, dif);
	if (!sk) {
		/* RFC 1122 4.1.3.1: port unreachable (icmp_send applies the
		 * rate limit and the broadcast rules). */
		mib_inc(s, MIB_UdpNoPorts);
		icmp_send(s, skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
		skb_drop(s, skb, DROP_NO_SOCKET);
		return 0;
	}
	udp_queue(s, sk, skb);
	return 0;
}

/* icmp_err_convert: RFC 1122 4.1.3.3 passes ICMP errors to the
 * application; Linux reports them on connected sockets only. */
int icmp_err_to_errno(uint8_t type, uint8_t code, bool *hard);
int icmp_err_to_errno(uint8_t type, uint8_t code, bool *hard)
{
	static const struct { int err; bool fatal; } unreach[] = {
		[ICMP_NET_UNREACH] = { ENETUNREACH, false },
		[ICMP_HOST_UNREACH] = { EHOSTUNREACH, false },
		[ICMP_PROT_UNREACH] = { ENOPROTOOPT, true },
		[ICMP_PORT_UNREACH] = { ECONNREFUSED, true },
		[ICMP_FRAG_NEEDED] = { EMSGSIZE, false },
		[ICMP_SR_FAILED] = { EOPNOTSUPP, false },
		[6] = { ENETUNREACH, true },
		[7] = { EHOSTDOWN, true },
		[8] = { ENONET, true },
		[9] = { ENETUNREACH, true },
		[10] = { EHOSTUNREACH, true },
		[11] = { ENETUNREACH, false },
		[12] = { EHOSTUNREACH, false },
		[13] = { EHOSTUNREACH, true },
		[14] = { EHOSTUNREACH, true },
		[15] = { EHOSTUNREACH, true },
	};
	*hard = false;
	switch (type) {
	case ICMP_DEST_UNREACH:
		if (code < sizeof(unreach) / sizeof(unreach[0])) {
			*hard = unreach[code].fatal;
			return unreach[code].err;
		}
		return EHOSTUNREACH;
	case ICMP_TIME_EXCEEDED:
		return EHOSTUNREACH;
	case ICMP_PARAMETERPROB:
		*hard = true;
		return EPROTO;
	default:
		return 0;
	}
}

static void udp_err(struct us_stack *s, struct skb *skb, uint8_t type, uint8_t code, uint32_t info)
{
	(void)info;
	struct ip_repr ip;
	const uint8_t *nh = skb_network_header(skb);
	ipv4_parse_quoted(nh, (size_t)(skb->tail - nh), &ip);
	/* The quoted datagram is one we sent: its source is us. */
	uint16_t sport = get_be16(skb->data), dport = get_be16(skb->data + 2);
	struct sock *sk = udp_lookup(s, ip.daddr, dport, ip.saddr, sport, 0);
	if (!sk)
		return;
	bool hard;
	int err = icmp_err_to_errno(type, code, &hard);
	if (!err || sk->state != TCP_ESTABLISHED)
		return;
	sk->err = err;
	sock_wakeup(sk, EPOLLERR);
}

static const struct net_protocol udp_protocol = {
	.handler = udp_rcv,
	.err_handler = udp_err,
};

void udp_init(struct us_stack *s)
{
	for (unsigned i = 0; i < (1u << UDP_HTABLE_BITS); i++)
		list_init(&s->udp.hash[i]);
	s->udp.count = 0;
	inet_add_protocol(s, &udp_protocol, IPPROTO_UDP_);
}

/* ---- socket calls ---- */

int udp_create(struct us_stack *s, int type, int protocol, struct sock **out)
{
	(void)type;
	struct sock *sk = sk_alloc(s, sizeof(struct sock), AF_INET, SOCK_DGRAM,
				   protocol ? protocol : IPPROTO_UDP, &udp_ops);
	if (!sk)
		return -ENOMEM;
	*out = sk;
	return 0;
}

static void udp_release(struct sock *sk)
{
	udp_unhash(sk);
	skb_queue_purge(&sk->receive_queue);
	sk->rmem_alloc = 0;
	sock_put(sk);
}

/* Addresses a socket may bind: ours, any, or a broadcast/multicast group
 * address to receive those (inet_bind). */
static bool bindable(struct us_stack *s, uint32_t addr)
{
	if (!addr || ipv4_is_multicast(addr) || ipv4_is_lbcast(addr) || inet_addr_is_local(s, addr))
		return true;
	struct netdev *dev;
	list_for_each_entry(dev, &s->devs, list)
		if (inet_addr_is_broadcast(dev, addr))
			return true;
	return false;
}

static int udp_bind(struct sock *sk, const struct sockaddr *addr, socklen_t len)
{
	uint32_t ip;
	uint16_t port;
	int err = sockaddr_in_get(addr, len, &ip, &port);
	if (err == -EAFNOSUPPORT && addr->sa_family == AF_UNSPEC &&
	    ((const struct sockaddr_in *)(const void *)addr)->sin_addr.s_addr == 0) {
		ip = 0;
		port = ntohs(((const struct sockaddr_in *)(const void *)addr)->sin_port);
		err = 0;
	}
	if (err)
		return err;
	if (sk->num)
		return -EINVAL; /* bound already */
	if (!bindable(sk->stack, ip))
		return -EADDRNOTAVAIL;
	sk->rcv_saddr = ip;
	sk->saddr = ipv4_is_multicast(ip) || ipv4_is_lbcast(ip) ? 0 : ip;
	err = udp_get_port(sk, port);
	if (err) {
		sk->rcv_saddr = sk->saddr = 0;
		return err == -EAGAIN ? -EADDRINUSE : err;
	}
	return 0;
}

static int udp_autobind(struct sock *sk)
{
	return sk->num ? 0 : udp_get_port(sk, 0);
}

/* ip4_datagram_connect, for UDP and raw sockets: fixes the peer (and our
 * source address); AF_UNSPEC dissolves the association. */
int ip4_datagram_connect(struct sock *sk, const struct sockaddr *addr, socklen_t len,
			 int (*autobind)(struct sock *sk))
{
	if (len >= sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
		sk->state = TCP_CLOSE;
		sk->daddr = 0;
		sk->dport = 0;
		if (!sk->rcv_saddr)
			sk->saddr = 0;
		return 0;
	}
	uint32_t ip;
	uint16_t port;
	int err = sockaddr_in_get(addr, len, &ip, &port);
	if (err)
		return err;
	struct rtable rt;
	err = ip_route_output(sk->stack, ip, sk->rcv_saddr, sk->bound_dev_if, &rt);
	if (err)
		return err;
	if (rt.type == RTN_BROADCAST && !sk->broadcast)
		return -EACCES;
	if (autobind && (err = autobind(sk)))
		return err;
	if (!sk->saddr)
		sk->saddr = rt.saddr;
	sk->daddr = ip;
	sk->dport = port;
	sk->state = TCP_ESTABLISHED;
	sk->err = 0;
	return 0;
}

static int udp_connect(struct sock *sk, const struct sockaddr *addr, socklen_t len)
{
	return ip4_datagram_connect(sk, addr, len, udp_autobind);
}

/* inet_getname: our address and port, or the peer's. (A raw socket's
 * "port" is its protocol, as Linux reports it.) */
int inet_getname(struct sock *sk, struct sockaddr *addr, socklen_t *len, bool peer)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (peer) {
		if (sk->state != TCP_ESTABLISHED)
			return -ENOTCONN;
		sin.sin_addr.s_addr = sk->daddr;
		sin.sin_port = htons(sk->dport);
	} else {
		sin.sin_addr.s_addr = sk->rcv_saddr ? sk->rcv_saddr : sk->saddr;
		sin.sin_port = htons(sk->num);
	}
	if ((int)*len < 0)
		return -EINVAL;
	socklen_t n = *len < sizeof(sin) ? *len : (socklen_t)sizeof(sin);
	memcpy(addr, &sin, n);
	*len = sizeof(sin);
	return 0;
}

/* datagram_poll */
uint32_t datagram_poll(struct sock *sk);
uint32_t datagram_poll(struct sock *sk)
{
	uint32_t mask = 0;
	if (sk->err)
		mask |= EPOLLERR;
	if (sk->shutdown & RCV_SHUTDOWN)
		mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
	if (sk->shutdown == SHUTDOWN_MASK)
		mask |= EPOLLHUP;
	if (sk->receive_queue.qlen)
		mask |= EPOLLIN | EPOLLRDNORM;
	/* Sends never wait for buffer space here: always writable. */
	mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
	return mask;
}

/* inet_shutdown on a datagram socket: the flags are set even when it is
 * not connected (so pollers see the hangup), and ENOTCONN is returned. */
int datagram_shutdown(struct sock *sk, int how);
int datagram_shutdown(struct sock *sk, int how)
{
	int mask = how + 1; /* SHUT_RD 0 -> 1, SHUT_WR 1 -> 2, SHUT_RDWR 2 -> 3 */
	sk->shutdown |= (uint8_t)mask;
	sock_wakeup(sk, 0);
	return sk->state == TCP_ESTABLISHED ? 0 : -ENOTCONN;
}

static long udp_sendmsg(struct sock *sk, const struct msghdr *msg, int flags)
{
	struct us_stack *s = sk->stack;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (sk->err)
		return sock_error(sk);
	if (sk->shutdown & SEND_SHUTDOWN)
		return -EPIPE;
	size_t len = iov_total(msg);
	if (len > 0xFFFF)
		return -EMSGSIZE;
	uint32_t daddr;
	uint16_t dport;
	if (msg->msg_name) {
		if (msg->msg_namelen < sizeof(struct sockaddr_in)) {
			if (msg->msg_namelen >= sizeof(sa_family_t) &&
			    ((const struct sockaddr *)msg->msg_name)->sa_family == AF_UNSPEC &&
			    sk->state == TCP_ESTABLISHED) {
				daddr = sk->daddr;
				dport = sk->dport;
				goto have_dest;
			}
			return -EINVAL;
		}
		int err = sockaddr_in_get(msg->msg_name, msg->msg_namelen, &daddr, &dport);
		if (err == -EAFNOSUPPORT &&
		    ((const struct sockaddr *)msg->msg_name)->sa_family == AF_UNSPEC) {
			const struct sockaddr_in *u = msg->msg_name;
			daddr = u->sin_addr.s_addr;
			dport = ntohs(u->sin_port);
			err = 0;
		}
		if (err)
			return err;
		if (dport == 0)
			return -EINVAL;
	} else {
		if (sk->state != TCP_ESTABLISHED)
			return -EDESTADDRREQ;
		daddr = sk->daddr;
		dport = sk->dport;
	}
have_dest:;
	if (len > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	int err = udp_autobind(sk);
	if (err)
		return err;
	struct rtable rt;
	err = ip_route_output(s, daddr, sk->saddr, sk->bound_dev_if, &rt);
	if (err) {
		mib_inc(s, MIB_IpOutNoRoutes);
		return err;
	}
	if (rt.type == RTN_BROADCAST && !sk->broadcast)
		return -EACCES;
	struct skb *skb = skb_alloc_tx(s->pool, (uint32_t)(UDP_HLEN + len));
	if (!skb) {
		mib_inc(s, MIB_UdpSndbufErrors);
		return -ENOBUFS;
	}
	uint8_t *h = skb_put(skb, (uint32_t)(UDP_HLEN + len));
	iov_copy_from(h + UDP_HLEN, msg, 0, len);
	struct udp_repr u = { .sport = sk->num, .dport = dport, .len = (uint16_t)(UDP_HLEN + len) };
	udp_emit(h, &u, rt.saddr, daddr);
	struct ip_tx tx = {
		.saddr = rt.saddr,
		.daddr = daddr,
		.protocol = IPPROTO_UDP_,
		.ttl = sk->ttl > 0 ? (uint8_t)sk->ttl : 0,
		.tos = sk->tos,
		.oif = sk->bound_dev_if,
		.rt = &rt,
	};
	err = ip_send_skb(s, skb, &tx);
	if (err && err != -ENOBUFS)
		return err;
	mib_inc(s, MIB_UdpOutDatagrams);
	return (long)len;
}

static long udp_recvmsg(struct sock *sk, struct msghdr *msg, int flags)
{
	struct us_stack *s = sk->stack;
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN; /* no error queue (IP_RECVERR is not supported) */
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (sk->err)
		return sock_error(sk);
	struct skb *skb = skb_peek(&sk->receive_queue);
	if (!skb)
		return -EAGAIN; /* the caller turns it into 0 (EOF) after SHUT_RD when blocking */
	size_t want = iov_total(msg);
	size_t dlen = skb->len;
	size_t copied = iov_copy_to(msg, 0, skb->data, dlen < want ? dlen : want);
	if (dlen > want)
		msg->msg_flags |= MSG_TRUNC;
	msg_put_inet_name(msg, UDP_SKB_CB(skb)->saddr, UDP_SKB_CB(skb)->sport);
	if (!(flags & MSG_PEEK)) {
		skb_unlink(&sk->receive_queue, skb);
		sock_rfree(sk, skb);
		skb_free(skb);
		mib_inc(s, MIB_UdpInDatagrams);
	}
	/* MSG_TRUNC asks for the real length of the datagram. */
	return (long)((flags & MSG_TRUNC) ? dlen : copied);
}

static const struct proto_ops udp_ops = {
	.family = AF_INET,
	.release = udp_release,
	.bind = udp_bind,
	.connect = udp_connect,
	.getname = inet_getname,
	.poll = datagram_poll,
	.shutdown = datagram_shutdown,
	.sendmsg = udp_sendmsg,
	.recvmsg = udp_recvmsg,
};

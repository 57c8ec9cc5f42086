/* IPv4 receive: ip_rcv -> (PRE_ROUTING) -> ip_rcv_finish -> route ->
 * ip_local_deliver (reassembly, LOCAL_IN, protocol) or ip_forward. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/stack.h"
#include "../wire/eth.h"
#include "../wire/icmp.h"
#include "ip.h"

static const struct packet_type ip_packet_type = {
	.type = ETH_P_IP,
	.func = ip_rcv,
};

void ip_init(struct us_stack *s)
{
	s->ip.forwarding = false;
	s->ip.default_ttl = 64;
	s->ip.accept_source_route = false;
	for (unsigned i = 0; i < IP_IDENTS_SZ; i++)
		s->ip.idents[i] = (uint32_t)prng_next(&s->rng);
	ipfrag_init(s);
	struct packet_type *pt = malloc(sizeof(*pt));
	if (pt) {
		*pt = ip_packet_type;
		list_init(&pt->list);
		dev_add_pack(s, pt);
	}
}

void ip_cleanup(struct us_stack *s)
{
	ipfrag_cleanup(s);
	struct packet_type *pt, *n;
	for (int i = 0; i < PTYPE_HASH_SIZE; i++)
		list_for_each_entry_safe(pt, n, &s->ptype_base[i], list)
			if (pt->func == ip_rcv) {
				list_del(&pt->list);
				free(pt);
			}
}

int inet_add_protocol(struct us_stack *s, const struct net_protocol *p, uint8_t protocol)
{
	if (s->ip.protos[protocol])
		return -EEXIST;
	s->ip.protos[protocol] = p;
	return 0;
}

int ip_local_deliver(struct us_stack *s, struct skb *skb)
{
	struct ip_repr ip;
	const uint8_t *nh = skb_network_header(skb);
	/* Validated by ip_rcv; parsed again for the fields we need. */
	if (ipv4_parse_quoted(nh, skb->len, &ip) != IPV4_OK) {
		skb_drop(s, skb, DROP_IP_HDR);
		return 0;
	}
	if (ip.mf || ip.frag_off) {
		skb = ip_defrag(s, skb);
		if (!skb)
			return 0;
		nh = skb_network_header(skb);
		ipv4_parse_quoted(nh, skb->len, &ip);
	}
	if (!nf_hook(s, NF_INET_LOCAL_IN, skb, netdev_get_by_index(s, IPCB(skb)->iif), NULL))
		return 0;
	skb_pull(skb, ip.ihl);
	skb_reset_transport_header(skb);

	/* Raw sockets get their copies first (raw_local_deliver). */
	bool raw = raw_local_deliver(s, skb, ip.protocol);
	const struct net_protocol *p = s->ip.protos[ip.protocol];
	if (p) {
		mib_inc(s, MIB_IpInDelivers);
		return p->handler(skb);
	}
	if (raw) {
		mib_inc(s, MIB_IpInDelivers);
		skb_free(skb);
		return 0;
	}
	/* RFC 1122 3.2.2.1: protocol unreachable, unless the packet was a
	 * broadcast (icmp_send checks that). */
	mib_inc(s, MIB_IpInUnknownProtos);
	icmp_send(s, skb, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0);
	skb_drop(s, skb, DROP_IP_NOPROTO);
	return 0;
}

static int ip_rcv_finish(struct us_stack *s, struct skb *skb, struct netdev *dev,
			 const struct ip_repr *ip)
{
	struct rtable rt;
	int err = ip_route_input(s, ip->daddr, ip->saddr, dev, &rt);
	if (err == -EHOSTUNREACH) {
		/* Not ours, and we are a host. */
		mib_inc(s, MIB_IpInAddrErrors);
		skb_drop(s, skb, DROP_IP_INADDRERRORS);
		return 0;
	}
	if (err == -ENETUNREACH) {
		mib_inc(s, MIB_IpExtInNoRoutes);
		icmp_send(s, skb, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, 0);
		skb_drop(s, skb, DROP_IP_INNOROUTES);
		return 0;
	}
	if (err) {
		mib_inc(s, MIB_IpInAddrErrors);
		skb_drop(s, skb, DROP_IP_RPFILTER);
		return 0;
	}
	switch (rt.type) {
	case RTN_LOCAL:
		return ip_local_deliver(s, skb);
	case RTN_BROADCAST:
		mib_inc(s, MIB_IpExtInBcastPkts);
		return ip_local_deliver(s, skb);
	case RTN_MULTICAST:
		mib_inc(s, MIB_IpExtInMcastPkts);
		return ip_local_deliver(s, skb);
	default:
		return ip_forward(s, skb, &rt);
	}
}

/* Options (ip_rcv_options): malformed ones get a parameter problem
 * pointing at the bad byte (RFC 1122 3.2.2.5); source-routed packets are
 * dropped unless accept_source_route (RFC 7126 4.3.3.5). */
static int ip_rcv_options(struct us_stack *s, struct skb *skb, const struct ip_repr *ip)
{
	uint8_t bad = 0;
	struct inet_skb_parm *cb = IPCB(skb);
	if (ip_options_parse(skb->data, ip->ihl, &cb->opt, &bad) < 0) {
		mib_inc(s, MIB_IpInHdrErrors);
		icmp_send(s, skb, ICMP_PARAMETERPROB, 0, (uint32_t)bad << 24);
		return -1;
	}
	if (cb->opt.srr && !s->ip.accept_source_route) {
		mib_inc(s, MIB_IpInDiscards);
		return -1;
	}
	return 0;
}

int ip_rcv(struct skb *skb, struct netdev *dev, struct packet_type *pt)
{
	struct us_stack *s = dev->stack;
	(void)pt;
	if (skb->pkt_type == PACKET_OTHERHOST) {
		skb_drop(s, skb, DROP_OTHERHOST);
		return 0;
	}
	mib_inc(s, MIB_IpInReceives);
	memset(IPCB(skb), 0, sizeof(struct inet_skb_parm));
	IPCB(skb)->iif = dev->ifindex;

	struct ip_repr ip;
	switch (ipv4_parse(skb->data, skb->len, &ip)) {
	case IPV4_OK:
		break;
	case IPV4_ETRUNC:
		mib_inc(s, MIB_IpExtInTruncatedPkts);
		skb_drop(s, skb, DROP_IP_TRUNCATED);
		return 0;
	case IPV4_ECSUM:
		mib_inc(s, MIB_IpExtInCsumErrors);
		mib_inc(s, MIB_IpInHdrErrors);
		skb_drop(s, skb, DROP_IP_CSUM);
		return 0;
	default:
		mib_inc(s, MIB_IpInHdrErrors);
		skb_drop(s, skb, DROP_IP_HDR);
		return 0;
	}
	mib_add(s, MIB_IpExtInOctets, ip.tot_len);
	/* Ethernet pads short frames: the datagram ends at its total length. */
	skb_trim(skb, ip.tot_len);
	skb_reset_network_header(skb);
	if (ip.ihl > IPV4_HLEN && ip_rcv_options(s, skb, &ip) < 0) {
		skb_drop(s, skb, DROP_IP_OPTIONS);
		return 0;
	}
	if (!nf_hook(s, NF_INET_PRE_ROUTING, skb, dev, NULL))
		return 0;
	return ip_rcv_finish(s, skb, dev, &ip);
}

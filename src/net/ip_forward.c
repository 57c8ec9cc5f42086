/* IPv4 forwarding (RFC 1812 5.2, 5.3). */
#include <errno.h>

#include "../core/stack.h"
#include "../wire/icmp.h"
#include "ip.h"

int ip_forward(struct us_stack *s, struct skb *skb, const struct rtable *rt)
{
	struct ip_repr ip;
	uint8_t *nh = skb_network_header(skb);
	ipv4_parse_quoted(nh, skb->len, &ip); /* validated by ip_rcv */

	/* Only frames sent to our MAC are routed (RFC 1812 5.3.4). */
	if (skb->pkt_type != PACKET_HOST) {
		skb_drop(s, skb, DROP_OTHERHOST);
		return 0;
	}
	/* RFC 1812 5.3.1: TTL is decremented; at <= 1 the packet is
	 * discarded and its source told (time exceeded in transit). */
	if (ip.ttl <= 1) {
		mib_inc(s, MIB_IpInHdrErrors);
		icmp_send(s, skb, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0);
		skb_drop(s, skb, DROP_IP_TTL);
		return 0;
	}
	/* RFC 1191 3: DF and too big: fragmentation needed, with the
	 * next-hop MTU. */
	if (ip.df && ip.tot_len > rt->mtu) {
		mib_inc(s, MIB_IpFragFails);
		icmp_send(s, skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, rt->mtu);
		skb_drop(s, skb, DROP_IP_FRAG_NEEDED);
		return 0;
	}
	if (skb_make_writable(skb, rt->dev->hard_header_len) < 0) {
		mib_inc(s, MIB_IpOutDiscards);
		skb_drop(s, skb, DROP_NOMEM);
		return 0;
	}
	nh = skb_network_header(skb);
	ipv4_decrease_ttl(nh);
	struct ip_options *opt = &IPCB(skb)->opt;
	if (opt->rr || opt->ts) {
		/* RFC 791 3.1: a router records the address of the interface
		 * the datagram leaves by. */
		ip_options_record_route(nh, opt, rt->saddr);
		ip_options_timestamp(nh, opt, rt->saddr, (uint32_t)(s->now_ms % 86400000u));
		ipv4_refresh_csum(nh);
	}
	IPCB(skb)->flags |= IPSKB_FORWARDED;
	if (!nf_hook(s, NF_INET_FORWARD, skb, skb->dev, rt->dev))
		return 0;
	mib_inc(s, MIB_IpForwDatagrams);
	return ip_finish_output(s, skb, rt);
}

/* IPv4 send: ip_send_skb -> route -> header -> (LOCAL_OUT) ->
 * ip_finish_output -> (POST_ROUTING) -> fragment if needed ->
 * neigh_output. */
#include <errno.h>
#include <string.h>

#include "../core/stack.h"
#include "../wire/eth.h"
#include "ip.h"

/* IP IDs come from 2048 counters chosen by a keyed hash of the addresses
 * and protocol (as Linux's ip_idents): a remote host learns nothing about
 * our traffic to others, and IDs to one peer still advance steadily
 * (RFC 6864 4.1, RFC 7739). */
uint16_t ip_select_ident(struct us_stack *s, uint32_t saddr, uint32_t daddr, uint8_t proto)
{
	uint32_t h = (uint32_t)siphash_3u32(&s->hash_key, saddr, daddr, proto);
	return (uint16_t)++s->ip.idents[h % IP_IDENTS_SZ];
}

static int ip_output2(struct us_stack *s, struct skb *skb, const struct rtable *rt)
{
	mib_add(s, MIB_IpExtOutOctets, skb->len);
	if (rt->type == RTN_BROADCAST && rt->dev->type != NETDEV_LOOPBACK && s->lo &&
	    !(IPCB(skb)->flags & IPSKB_FORWARDED)) {
		/* A broadcast we send reaches our own sockets too, as Linux
		 * loops it back (ip_mc_output). */
		struct skb *c = skb_copy(skb, 0);
		if (c) {
			c->pkt_type = PACKET_LOOPBACK;
			netif_rx(s->lo, c);
		}
	}
	if (rt->type == RTN_BROADCAST)
		mib_inc(s, MIB_IpExtOutBcastPkts);
	else if (rt->type == RTN_MULTICAST)
		mib_inc(s, MIB_IpExtOutMcastPkts);
	return neigh_output(s, rt->dev, rt->nexthop, skb);
}

int ip_finish_output(struct us_stack *s, struct skb *skb, const struct rtable *rt)
{
	if (!nf_hook(s, NF_INET_POST_ROUTING, skb, NULL, rt->dev))
		return 0;
	if (skb->len <= rt->mtu)
		return ip_output2(s, skb, rt);
	struct ip_repr ip;
	if (ipv4_parse_quoted(skb->data, skb->len, &ip) != IPV4_OK) {
		skb_drop(s, skb, DROP_IP_HDR);
		return -EINVAL;
	}
	if (ip.df) {
		/* Our own DF datagram does not fit: the sender learns EMSGSIZE;
		 * a forwarded one was answered by ip_forward already. */
		mib_inc(s, MIB_IpFragFails);
		skb_drop(s, skb, DROP_IP_FRAG_NEEDED);
		return -EMSGSIZE;
	}
	return ip_fragment(s, skb, rt->mtu, ip_output2, rt);
}

int ip_send_skb(struct us_stack *s, struct skb *skb, const struct ip_tx *tx)
{
	struct rtable rt;
	int err = 0;
	if (tx->rt)
		rt = *tx->rt;
	else
		err = ip_route_output(s, tx->daddr, tx->saddr, tx->oif, &rt);
	if (err) {
		mib_inc(s, MIB_IpOutNoRoutes);
		skb_drop(s, skb, DROP_IP_OUTNOROUTES);
		return err;
	}
	uint8_t ihl = (uint8_t)(IPV4_HLEN + tx->optlen);
	if (skb->len + ihl > (uint32_t)IPV4_MAX_LEN || tx->optlen > 40 || (tx->optlen & 3)) {
		skb_drop(s, skb, DROP_NOT_SPECIFIED);
		return -EMSGSIZE;
	}
	if (skb_headroom(skb) < (uint32_t)(ihl + ETH_HLEN) && skb_make_writable(skb, ihl + ETH_HLEN) < 0) {
		skb_drop(s, skb, DROP_NOMEM);
		return -ENOBUFS;
	}
	uint8_t *h = skb_push(skb, ihl);
	skb_reset_network_header(skb);
	struct ip_repr ip = {
		.ihl = ihl,
		.tos = tx->tos,
		.tot_len = (uint16_t)skb->len,
		.df = tx->df,
		.ttl = tx->ttl ? tx->ttl : s->ip.default_ttl,
		.protocol = tx->protocol,
		.saddr = rt.saddr,
		.daddr = tx->daddr,
	};
	ip.id = ip_select_ident(s, ip.saddr, ip.daddr, ip.protocol);
	if (tx->optlen) {
		memcpy(h + IPV4_HLEN, tx->opts, tx->optlen);
		/* Options asking for our address get it now (ip_options_build). */
		struct ip_options o;
		uint8_t bad;
		ipv4_emit(h, &ip);
		if (ip_options_parse(h, ihl, &o, &bad) == 0) {
			ip_options_record_route(h, &o, ip.saddr);
			ip_options_timestamp(h, &o, ip.saddr, (uint32_t)(s->now_ms % 86400000u));
		}
	}
	ipv4_emit(h, &ip);
	memset(IPCB(skb), 0, sizeof(struct inet_skb_parm));
	IPCB(skb)->flags = IPSKB_LOCAL_OUT;
	mib_inc(s, MIB_IpOutRequests);
	if (!nf_hook(s, NF_INET_LOCAL_OUT, skb, NULL, rt.dev))
		return 0;
	return ip_finish_output(s, skb, &rt);
}

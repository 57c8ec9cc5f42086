/* Ethernet: classification of received frames and framing of sent ones. */
#include <errno.h>
#include <string.h>

#include "../core/stack.h"
#include "../wire/eth.h"
#include "netdev.h"

int eth_type_trans(struct skb *skb, struct netdev *dev)
{
	struct eth_repr eth;
	if (eth_parse(skb->data, skb->len, &eth) < 0)
		return -1;
	skb_reset_mac_header(skb);
	skb_pull(skb, ETH_HLEN);
	if (eth_is_multicast(eth.dst))
		skb->pkt_type = eth_is_broadcast(eth.dst) ? PACKET_BROADCAST : PACKET_MULTICAST;
	else if (eth_addr_equal(eth.dst, dev->addr))
		skb->pkt_type = PACKET_HOST;
	else
		skb->pkt_type = PACKET_OTHERHOST;
	/* 802.3 frames carry a length, not a type: no handler takes them. */
	skb->protocol = eth.type >= ETH_P_MIN ? eth.type : 0;
	return 0;
}

void eth_header(struct skb *skb, struct netdev *dev, uint16_t type, const uint8_t *daddr)
{
	uint8_t *h = skb_push(skb, ETH_HLEN);
	eth_emit(h, daddr, dev->addr, type);
	skb_reset_mac_header(skb);
	skb->protocol = type;
}

int eth_skb_pad(struct skb *skb)
{
	if (skb->len >= ETH_ZLEN)
		return 0;
	uint32_t pad = ETH_ZLEN - skb->len;
	if (skb_expand_head(skb, 0, pad) < 0)
		return -ENOMEM;
	memset(skb_put(skb, pad), 0, pad);
	return 0;
}

void eth_random_addr(struct us_stack *s, uint8_t *addr)
{
	uint64_t r = prng_next(&s->rng);
	memcpy(addr, &r, ETH_ALEN);
	addr[0] &= 0xfe; /* unicast */
	addr[0] |= 0x02; /* locally administered */
}

/* ICMPv4: a handler per type (Linux's icmp_pointers), echo and timestamp
 * replies, errors up to the transport protocols, and icmp_send with
 * RFC 1122's rules and a global token bucket. */
#include "icmp.h"

#include <errno.h>
#include <string.h>

#include "../core/stack.h"
#include "../wire/icmp.h"
#include "ip.h"

struct icmp_control {
	int (*handler)(struct us_stack *s, struct skb *skb, const struct icmp_repr *r);
	bool error;        /* an error message (never answered with an error) */
	int16_t in_mib;    /* -1: none */
};

static int icmp_discard(struct us_stack *s, struct skb *skb, const struct icmp_repr *r);
static int icmp_unreach(struct us_stack *s, struct skb *skb, const struct icmp_repr *r);
static int icmp_redirect(struct us_stack *s, struct skb *skb, const struct icmp_repr *r);
static int icmp_echo(struct us_stack *s, struct skb *skb, const struct icmp_repr *r);
static int icmp_timestamp(struct us_stack *s, struct skb *skb, const struct icmp_repr *r);

static const struct icmp_control icmp_pointers[NR_ICMP_TYPES + 1] = {
	[ICMP_ECHOREPLY] = { icmp_discard, false, MIB_IcmpInEchoReps },
	[1] = { icmp_discard, true, -1 },
	[2] = { icmp_discard, true, -1 },
	[ICMP_DEST_UNREACH] = { icmp_unreach, true, MIB_IcmpInDestUnreachs },
	[ICMP_SOURCE_QUENCH] = { icmp_unreach, true, MIB_IcmpInSrcQuenchs },
	[ICMP_REDIRECT] = { icmp_redirect, true, MIB_IcmpInRedirects },
	[6] = { icmp_discard, true, -1 },
	[7] = { icmp_discard, true, -1 },
	[ICMP_ECHO] = { icmp_echo, false, MIB_IcmpInEchos },
	[9] = { icmp_discard, false, -1 },
	[10] = { icmp_discard, false, -1 },
	[ICMP_TIME_EXCEEDED] = { icmp_unreach, true, MIB_IcmpInTimeExcds },
	[ICMP_PARAMETERPROB] = { icmp_unreach, true, MIB_IcmpInParmProbs },
	[ICMP_TIMESTAMP] = { icmp_timestamp, false, MIB_IcmpInTimestamps },
	[ICMP_TIMESTAMPREPLY] = { icmp_discard, false, MIB_IcmpInTimestampReps },
	[ICMP_INFO_REQUEST] = { icmp_discard, false, -1 },
	[ICMP_INFO_REPLY] = { icmp_discard, false, -1 },
	[ICMP_ADDRESS] = { icmp_discard, false, -1 },
	[ICMP_ADDRESSREPLY] = { icmp_discard, false, -1 },
};

void icmp_init(struct us_stack *s)
{
	struct icmp_state *st = &s->icmp;
	st->msgs_per_sec = 1000;
	st->msgs_burst = 50;
	st->ratemask = (1u << ICMP_DEST_UNREACH) | (1u << ICMP_SOURCE_QUENCH) |
		       (1u << ICMP_TIME_EXCEEDED) | (1u << ICMP_PARAMETERPROB);
	st->tokens_x1000 = (uint64_t)st->msgs_burst * 1000;
	st->last_refill_ms = s->now_ms;
	st->ratelimit_ms = 1000;
	memset(st->peers, 0, sizeof(st->peers));
	st->echo_ignore_all = false;
	st->echo_ignore_broadcasts = true;
	static const struct net_protocol icmp_protocol = { .handler = icmp_rcv };
	inet_add_protocol(s, &icmp_protocol, IPPROTO_ICMP_);
}

/* icmpv4_mask_allow: the messages no limit applies to: types outside
 * ratemask (echo replies by default), and fragmentation needed, which
 * path MTU discovery depends on (RFC 1191). */
static bool icmp_mask_allow(const struct us_stack *s, uint8_t type, uint8_t code)
{
	if (type > NR_ICMP_TYPES)
		return true;
	if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED)
		return true;
	return !((1u << type) & s->icmp.ratemask);
}

/* icmp_global_allow: msgs_per_sec tokens a second, at most msgs_burst.
 * Checked first, consumed (icmp_global_consume) only once the
 * per-destination limit has let the message through, so that one
 * destination's errors cannot be used to probe the global state. */
static bool icmp_global_allow(struct us_stack *s)
{
	struct icmp_state *st = &s->icmp;
	uint64_t now = s->now_ms;
	if (now > st->last_refill_ms) {
		st->tokens_x1000 += (now - st->last_refill_ms) * st->msgs_per_sec;
		uint64_t cap = (uint64_t)st->msgs_burst * 1000;
		if (st->tokens_x1000 > cap)
			st->tokens_x1000 = cap;
		st->last_refill_ms = now;
	}
	return st->tokens_x1000 >= 1000;
}

static void icmp_global_consume(struct us_stack *s)
{
	s->icmp.tokens_x1000 -= 1000;
}

#define ICMP_PEER_BURST 6 /* XRLIM_BURST_FACTOR */

/* inet_peer_xrlim_allow: a bucket of time per destination, filled by the
 * clock, at most ICMP_PEER_BURST messages' worth; a message costs
 * ratelimit_ms. A new destination starts full. Errors to our own
 * addresses travel over loopback and are not limited (icmpv4_xrlim_allow). */
static bool icmp_peer_allow(struct us_stack *s, uint32_t daddr)
{
	struct icmp_state *st = &s->icmp;
	uint64_t cost = st->ratelimit_ms;
	if (!cost || ipv4_is_loopback(daddr) || inet_addr_is_local(s, daddr))
		return true;
	uint64_t cap = cost * ICMP_PEER_BURST;
	uint32_t slot = (uint32_t)siphash_3u32(&s->hash_key, daddr, 0x1c3b, 0) & (ICMP_PEERS - 1);
	struct icmp_peer *p = &st->peers[slot];
	uint64_t now = s->now_ms;
	if (p->addr != daddr) {
		p->addr = daddr;
		p->tokens_ms = cap;
	} else if (now > p->last_ms) {
		p->tokens_ms += now - p->last_ms;
	}
	p->last_ms = now;
	if (p->tokens_ms > cap)
		p->tokens_ms = cap;
	if (p->tokens_ms < cost)
		return false;
	p->tokens_ms -= cost;
	return true;
}

/* Whether an error of this type may go to daddr now (RFC 1812 4.3.2.8:
 * ICMP errors are rate-limited). Linux's order since 6.12: host-wide
 * check, per-destination limit, then the host-wide token is spent. */
static bool icmp_rate_allow(struct us_stack *s, uint8_t type, uint8_t code, uint32_t daddr)
{
	if (icmp_mask_allow(s, type, code))
		return true;
	if (!icmp_global_allow(s)) {
		mib_inc(s, MIB_IcmpOutRateLimitGlobal);
		return false;
	}
	if (!icmp_peer_allow(s, daddr)) {
		mib_inc(s, MIB_IcmpOutRateLimitHost);
		return false;
	}
	icmp_global_consume(s);
	return true;
}

static void icmp_count_out(struct us_stack *s, uint8_t type)
{
	mib_inc(s, MIB_IcmpOutMsgs);
	switch (type) {
	case ICMP_ECHOREPLY: mib_inc(s, MIB_IcmpOutEchoReps); break;
	case ICMP_ECHO: mib_inc(s, MIB_IcmpOutEchos); break;
	case ICMP_DEST_UNREACH: mib_inc(s, MIB_IcmpOutDestUnreachs); break;
	case ICMP_TIME_EXCEEDED: mib_inc(s, MIB_IcmpOutTimeExcds); break;
	case ICMP_PARAMETERPROB: mib_inc(s, MIB_IcmpOutParmProbs); break;
	case ICMP_TIMESTAMPREPLY: mib_inc(s, MIB_IcmpOutTimestampReps); break;
	default: break;
	}
}

static void icmp_xmit(struct us_stack *s, struct skb *skb, const struct ip_tx *tx, uint8_t type)
{
	icmp_count_out(s, type);
	if (ip_send_skb(s, skb, tx) < 0)
		mib_inc(s, MIB_IcmpOutErrors);
}

void icmp_send(struct us_stack *s, struct skb *skb_in, uint8_t type, uint8_t code, uint32_t info)
{
	if (skb_in->network_header == SKB_NO_OFFSET)
		return;
	const uint8_t *nh = skb_network_header(skb_in);
	if (nh >= skb_in->tail)
		return;
	size_t avail = (size_t)(skb_in->tail - nh);
	struct ip_repr ip;
	if (ipv4_parse_quoted(nh, avail, &ip) != IPV4_OK)
		return;
	/* RFC 1122 3.2.2: no error about a link-layer broadcast, an IP
	 * broadcast or multicast, a non-first fragment, or a source that does
	 * not name a single host. */
	if (skb_in->pkt_type == PACKET_BROADCAST || skb_in->pkt_type == PACKET_MULTICAST ||
	    skb_in->pkt_type == PACKET_OTHERHOST)
		return;
	if (ipv4_is_multicast(ip.daddr) || inet_addr_is_bcast_for(s, skb_in->dev, ip.daddr))
		return;
	if (ip.frag_off)
		return;
	if (ipv4_is_zeronet(ip.saddr) || ipv4_is_multicast(ip.saddr) ||
	    inet_addr_is_bcast_for(s, NULL, ip.saddr))
		return;
	/* ... and never about an ICMP error. */
	if (ip.protocol == IPPROTO_ICMP_) {
		if (avail <= ip.ihl)
			return;
		uint8_t inner = icmp_peek_type(nh + ip.ihl);
		if (inner > NR_ICMP_TYPES || icmp_pointers[inner].error)
			return;
	}
	if (!icmp_rate_allow(s, type, code, ip.saddr))
		return;
	/* RFC 1812 4.3.2.3: quote as much as fits in 576 bytes. */
	size_t quote = avail < ip.tot_len ? avail : ip.tot_len;
	if (quote > 576 - IPV4_HLEN - ICMP_HLEN)
		quote = 576 - IPV4_HLEN - ICMP_HLEN;
	struct skb *skb = skb_alloc_tx(s->pool, (uint32_t)(ICMP_HLEN + quote));
	if (!skb) {
		mib_inc(s, MIB_IcmpOutErrors);
		s->drops[DROP_NOMEM]++;
		return;
	}
	uint8_t *h = skb_put(skb, (uint32_t)(ICMP_HLEN + quote));
	memcpy(h + ICMP_HLEN, nh, quote);
	struct icmp_repr r = { .type = type, .code = code, .rest = info };
	icmp_emit(h, ICMP_HLEN + quote, &r);
	struct ip_tx tx = {
		/* Answer from the address the packet was sent to, if ours;
		 * else the route's choice (a router's outgoing interface). */
		.saddr = inet_addr_is_local(s, ip.daddr) ? ip.daddr : 0,
		.daddr = ip.saddr,
		.protocol = IPPROTO_ICMP_,
		.tos = (uint8_t)((ip.tos & 0x1e) | 0xc0), /* internetwork control */
	};
	icmp_xmit(s, skb, &tx, type);
}

static int icmp_discard(struct us_stack *s, struct skb *skb, const struct icmp_repr *r)
{
	(void)r;
	skb_free(skb);
	(void)s;
	return 0;
}

/* An error about something we sent: hand it to the protocol that sent it
 * (RFC 1122 3.2.2.1-3.2.2.5). */
static int icmp_unreach(struct us_stack *s, struct skb *skb, const struct icmp_repr *r)
{
	struct ip_repr inner;
	if (!skb_pull(skb, ICMP_HLEN) || ipv4_parse_quoted(skb->data, skb->len, &inner) != IPV4_OK ||
	    skb->len < (uint32_t)inner.ihl + 8u) {
		mib_inc(s, MIB_IcmpInErrors);
		skb_drop(s, skb, DROP_ICMP_MALFORMED);
		return 0;
	}
	skb_reset_network_header(skb);
	skb_pull(skb, inner.ihl);
	skb_reset_transport_header(skb);
	const struct net_protocol *p = s->ip.protos[inner.protocol];
	if (p && p->err_handler)
		p->err_handler(s, skb, r->type, r->code, r->rest);
	skb_free(skb);
	return 0;
}

/* Hosts do not change routes on a redirect from the wire unless asked
 * (Linux's accept_redirects is off for routers); we count and ignore. */
static int icmp_redirect(struct us_stack *s, struct skb *skb, const struct icmp_repr *r)
{
	(void)r;
	skb_free(skb);
	(void)s;
	return 0;
}

/* RFC 792 echo: the data comes back unchanged. The request's buffer is
 * turned into the reply in place, so a 64 KiB echo is not copied. */
static int icmp_echo(struct us_stack *s, struct skb *skb, const struct icmp_repr *r)
{
	(void)r;
	if (s->icmp.echo_ignore_all) {
		skb_free(skb);
		return 0;
	}
	struct ip_repr ip;
	const uint8_t *nh = skb_network_header(skb);
	ipv4_parse_quoted(nh, (size_t)(skb->tail - nh), &ip);
	uint8_t opts[40];
	uint8_t optlen = 0;
	if (IPCB(skb)->opt.rr || IPCB(skb)->opt.ts)
		optlen = ip_options_echo(nh, &IPCB(skb)->opt, opts);
	if (skb_make_writable(skb, IPV4_MAX_HLEN + 16) < 0) {
		skb_drop(s, skb, DROP_NOMEM);
		return 0;
	}
	icmp_set_type(skb->data, ICMP_ECHOREPLY);
	bool to_us = inet_addr_is_local(s, ip.daddr);
	struct ip_tx tx = {
		.saddr = to_us ? ip.daddr : 0,
		.daddr = ip.saddr,
		.protocol = IPPROTO_ICMP_,
		.tos = ip.tos,
		.opts = opts,
		.optlen = optlen,
	};
	skb->pkt_type = PACKET_HOST;
	icmp_xmit(s, skb, &tx, ICMP_ECHOREPLY);
	return 0;
}

/* RFC 792 timestamp: originate copied, receive and transmit are ours, in
 * ms; our clock is not UT, so the high bit is set as the RFC asks. */
static int icmp_timestamp(struct us_stack *s, struct skb *skb, const struct icmp_repr *r)
{
	if (skb->len < ICMP_HLEN + 12) {
		mib_inc(s, MIB_IcmpInErrors);
		skb_drop(s, skb, DROP_ICMP_MALFORMED);
		return 0;
	}
	struct ip_repr ip;
	const uint8_t *nh = skb_network_header(skb);
	ipv4_parse_quoted(nh, (size_t)(skb->tail - nh), &ip);
	struct skb *reply = skb_alloc_tx(s->pool, ICMP_HLEN + 12);
	if (!reply) {
		skb_drop(s, skb, DROP_NOMEM);
		return 0;
	}
	uint8_t *h = skb_put(reply, ICMP_HLEN + 12);
	uint32_t now = (uint32_t)(s->now_ms % 86400000u) | 0x80000000u;
	memcpy(h + ICMP_HLEN, skb->data + ICMP_HLEN, 4);
	put_be32(h + ICMP_HLEN + 4, now);
	put_be32(h + ICMP_HLEN + 8, now);
	struct icmp_repr rr = { .type = ICMP_TIMESTAMPREPLY, .code = 0, .rest = r->rest };
	icmp_emit(h, ICMP_HLEN + 12, &rr);
	struct ip_tx tx = {
		.saddr = inet_addr_is_local(s, ip.daddr) ? ip.daddr : 0,
		.daddr = ip.saddr,
		.protocol = IPPROTO_ICMP_,
		.tos = ip.tos,
	};
	skb_free(skb);
	icmp_xmit(s, reply, &tx, ICMP_TIMESTAMPREPLY);
	return 0;
}

int icmp_rcv(struct skb *skb)
{
	struct us_stack *s = skb->dev->stack;
	mib_inc(s, MIB_IcmpInMsgs);
	struct icmp_repr r;
	switch (icmp_parse(skb->data, skb->len, &r)) {
	case ICMP_OK:
		break;
	case ICMP_ECSUM:
		mib_inc(s, MIB_IcmpInCsumErrors);
		mib_inc(s, MIB_IcmpInErrors);
		skb_drop(s, skb, DROP_ICMP_CSUM);
		return 0;
	default:
		mib_inc(s, MIB_IcmpInErrors);
		skb_drop(s, skb, DROP_ICMP_MALFORMED);
		return 0;
	}
	if (r.type > NR_ICMP_TYPES) {
		mib_inc(s, MIB_IcmpInErrors);
		skb_drop(s, skb, DROP_ICMP_MALFORMED);
		return 0;
	}
	const struct icmp_control *ctl = &icmp_pointers[r.type];
	if (ctl->in_mib >= 0)
		mib_inc(s, (enum mib_id)ctl->in_mib);

	/* RFC 1122 3.2.2.6 / 3.2.2.8: to a broadcast or multicast address
	 * only queries are considered, and echo may be ignored there. */
	const uint8_t *nh = skb_network_header(skb);
	struct ip_repr ip;
	ipv4_parse_quoted(nh, (size_t)(skb->tail - nh), &ip);
	bool bcast = skb->pkt_type == PACKET_BROADCAST || skb->pkt_type == PACKET_MULTICAST ||
		     ipv4_is_multicast(ip.daddr) || inet_addr_is_bcast_for(s, skb->dev, ip.daddr);
	if (bcast) {
		if ((r.type == ICMP_ECHO || r.type == ICMP_TIMESTAMP) && s->icmp.echo_ignore_broadcasts) {
			skb_free(skb);
			return 0;
		}
		if (r.type != ICMP_ECHO && r.type != ICMP_TIMESTAMP && ctl->error) {
			skb_free(skb);
			return 0;
		}
	}
	return ctl->handler(s, skb, &r);
}

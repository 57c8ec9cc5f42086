/*
 * Neighbour cache and ARP (RFC 826; states and timers of Linux's
 * neighbour subsystem; probing as RFC 1122 2.3.2.1 and RFC 5227).
 */
#include "neigh.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/stack.h"
#include "../wire/arp.h"
#include "../wire/eth.h"
#include "../wire/icmp.h"

static const uint8_t bcast_mac[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero_mac[ETH_ALEN] = { 0 };

const char *neigh_state_name(uint8_t state)
{
	switch (state) {
	case NUD_INCOMPLETE: return "INCOMPLETE";
	case NUD_REACHABLE: return "REACHABLE";
	case NUD_STALE: return "STALE";
	case NUD_DELAY: return "DELAY";
	case NUD_PROBE: return "PROBE";
	case NUD_FAILED: return "FAILED";
	case NUD_NOARP: return "NOARP";
	case NUD_PERMANENT: return "PERMANENT";
	default: return "NONE";
	}
}

static struct list_head *neigh_bucket(struct us_stack *s, const struct netdev *dev, uint32_t ip)
{
	uint64_t h = siphash_3u32(&s->hash_key, ip, (uint32_t)dev->ifindex, 0x6e656967);
	return &s->arp_tbl.buckets[h & ((1u << NEIGH_HASH_BITS) - 1)];
}

struct neighbour *neigh_lookup(struct us_stack *s, const struct netdev *dev, uint32_t ip)
{
	struct neighbour *n;
	struct list_head *bucket = neigh_bucket(s, dev, ip); /* hashed once */
	list_for_each_entry(n, bucket, hash)
		if (n->ip == ip && n->dev == dev)
			return n;
	return NULL;
}

/* Reachable time is randomized in [base/2, 3*base/2] (RFC 4861 6.3.2,
 * which Linux applies to ARP too). */
static uint32_t random_reachable(struct us_stack *s)
{
	uint32_t base = s->arp_tbl.p.base_reachable_ms;
	return base / 2 + prng_below(&s->rng, base + 1);
}

static void neigh_touch(struct us_stack *s, struct neighbour *n)
{
	n->updated = s->now_ms;
	list_del(&n->lru);
	list_add_tail(&n->lru, &s->arp_tbl.lru);
}

static void neigh_purge_queue(struct us_stack *s, struct neighbour *n, bool report)
{
	struct skb *skb;
	while ((skb = skb_dequeue(&n->arp_queue)) != NULL) {
		s->arp_tbl.queued_bytes -= skb->len;
		/* Tell the sender the host did not answer (arp_error_report). */
		if (report)
			icmp_send(s, skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
		skb_drop(s, skb, DROP_NEIGH_FAILED);
	}
}

static void neigh_destroy(struct us_stack *s, struct neighbour *n)
{
	stack_timer_del(s, &n->timer);
	neigh_purge_queue(s, n, false);
	list_del(&n->hash);
	list_del(&n->lru);
	s->arp_tbl.entries--;
	mib_inc(s, MIB_ArpCacheDestroys);
	free(n);
}

static void neigh_timer_handler(struct timer *t);

/* Makes room by forgetting the least recently updated entry that is not
 * permanent (neigh_forced_gc): spoofed traffic cannot grow the table. */
static bool neigh_forced_gc(struct us_stack *s)
{
	struct neighbour *n;
	mib_inc(s, MIB_ArpCacheForcedGcRuns);
	list_for_each_entry(n, &s->arp_tbl.lru, lru) {
		if (!(n->nud_state & NUD_PERMANENT)) {
			neigh_destroy(s, n);
			return true;
		}
	}
	return false;
}

static struct neighbour *neigh_create(struct us_stack *s, struct netdev *dev, uint32_t ip)
{
	struct neigh_table *tbl = &s->arp_tbl;
	if (tbl->entries >= tbl->p.gc_thresh3 && !neigh_forced_gc(s)) {
		mib_inc(s, MIB_ArpCacheTableFulls);
		return NULL;
	}
	struct neighbour *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->dev = dev;
	n->ip = ip;
	n->stack = s;
	n->nud_state = NUD_NONE;
	n->updated = n->used = s->now_ms;
	timer_init(&n->timer, neigh_timer_handler);
	skb_queue_init(&n->arp_queue);
	list_add(&n->hash, neigh_bucket(s, dev, ip));
	list_add_tail(&n->lru, &tbl->lru);
	tbl->entries++;
	mib_inc(s, MIB_ArpCacheAllocs);
	return n;
}

/* ---- ARP packets ---- */

static void arp_send(struct netdev *dev, uint16_t op, const uint8_t *eth_dst, uint32_t spa,
		     uint32_t tpa, const uint8_t *tha)
{
	struct us_stack *s = dev->stack;
	if (!netdev_is_up(dev))
		return;
	struct skb *skb = skb_alloc_tx(s->pool, ARP_HLEN + ETH_ZLEN);
	if (!skb) {
		s->drops[DROP_NOMEM]++;
		return;
	}
	struct arp_repr a = { .op = op, .spa = spa, .tpa = tpa };
	memcpy(a.sha, dev->addr, ETH_ALEN);
	memcpy(a.tha, tha ? tha : zero_mac, ETH_ALEN);
	arp_emit(skb_put(skb, ARP_HLEN), &a);
	skb->dev = dev;
	eth_header(skb, dev, ETH_P_ARP, eth_dst);
	mib_inc(s, op == ARPOP_REQUEST ? MIB_ArpOutRequests : MIB_ArpOutReplies);
	dev_queue_xmit(skb);
}

void arp_send_gratuitous(struct netdev *dev, uint32_t ip)
{
	if (dev->type != NETDEV_ETHER || (dev->flags & NETDEV_NOARP))
		return;
	arp_send(dev, ARPOP_REQUEST, bcast_mac, ip, ip, NULL);
}

/* Sends a request for n: broadcast while INCOMPLETE, unicast to the cached
 * address while PROBE (RFC 1122 2.3.2.1). The sender address is the source
 * of the packet waiting, when it is ours (Linux's arp_announce 0). */
static void arp_solicit(struct us_stack *s, struct neighbour *n)
{
	uint32_t saddr = 0;
	struct skb *skb = skb_peek(&n->arp_queue);
	if (skb && skb->network_header != SKB_NO_OFFSET) {
		struct ip_repr ip;
		const uint8_t *nh = skb_network_header(skb);
		if (ipv4_parse(nh, (size_t)(skb->tail - nh), &ip) == IPV4_OK &&
		    inet_addr_is_local(s, ip.saddr))
			saddr = ip.saddr;
	}
	if (!saddr)
		saddr = inet_select_addr(n->dev, n->ip);
	if (!saddr)
		return;
	bool unicast = n->nud_state == NUD_PROBE;
	arp_send(n->dev, ARPOP_REQUEST, unicast ? n->ha : bcast_mac, saddr, n->ip, NULL);
}

static void neigh_send_queue(struct us_stack *s, struct neighbour *n)
{
	struct skb *skb;
	while ((skb = skb_dequeue(&n->arp_queue)) != NULL) {
		s->arp_tbl.queued_bytes -= skb->len;
		eth_header(skb, n->dev, ETH_P_IP, n->ha);
		dev_queue_xmit(skb);
	}
}

/* neigh_update: new link address and/or state. */
static void neigh_update(struct us_stack *s, struct neighbour *n, const uint8_t *lladdr,
			 uint8_t new_state)
{
	bool changed = lladdr && !eth_addr_equal(lladdr, n->ha);
	if (n->nud_state & NUD_PERMANENT)
		return; /* configuration wins over the wire */
	/* A request that only says "I exist" does not demote a reachable
	 * entry with the same address. */
	if (new_state == NUD_STALE && !changed && (n->nud_state & NUD_VALID)) {
		neigh_touch(s, n);
		return;
	}
	if (lladdr)
		memcpy(n->ha, lladdr, ETH_ALEN);
	n->nud_state = new_state;
	n->probes = 0;
	neigh_touch(s, n);
	if (new_state & NUD_CONNECTED) {
		n->confirmed = s->now_ms;
		n->reachable_ms = random_reachable(s);
		stack_timer_mod(s, &n->timer, n->confirmed + n->reachable_ms);
	} else {
		stack_timer_del(s, &n->timer);
	}
	if (new_state & NUD_VALID)
		neigh_send_queue(s, n);
}

static void neigh_timer_handler(struct timer *t)
{
	struct neighbour *n = container_of(t, struct neighbour, timer);
	struct us_stack *s = n->stack;
	const struct neigh_params *p = &s->arp_tbl.p;
	uint64_t now = s->now_ms;

	switch (n->nud_state) {
	case NUD_REACHABLE:
		if (now < n->confirmed + n->reachable_ms) {
			stack_timer_mod(s, t, n->confirmed + n->reachable_ms);
		} else if (now < n->used + p->delay_probe_ms) {
			n->nud_state = NUD_DELAY;
			neigh_touch(s, n);
			stack_timer_mod(s, t, now + p->delay_probe_ms);
		} else {
			n->nud_state = NUD_STALE;
			neigh_touch(s, n);
		}
		break;
	case NUD_DELAY:
		if (now <= n->confirmed + p->delay_probe_ms) {
			n->nud_state = NUD_REACHABLE;
			neigh_touch(s, n);
			stack_timer_mod(s, t, n->confirmed + n->reachable_ms);
		} else {
			n->nud_state = NUD_PROBE;
			n->probes = 0;
			neigh_touch(s, n);
			arp_solicit(s, n);
			n->probes++;
			stack_timer_mod(s, t, now + p->retrans_ms);
		}
		break;
	case NUD_PROBE:
	case NUD_INCOMPLETE: {
		unsigned max = n->nud_state == NUD_PROBE ? p->ucast_probes : p->mcast_probes;
		if (n->probes >= max) {
			n->nud_state = NUD_FAILED;
			neigh_touch(s, n);
			mib_inc(s, MIB_ArpCacheResFailed);
			neigh_purge_queue(s, n, true);
			break;
		}
		arp_solicit(s, n);
		n->probes++;
		stack_timer_mod(s, t, now + p->retrans_ms);
		break;
	}
	default:
		break;
	}
}

/* Periodic garbage collection (neigh_periodic_work): forget entries that
 * failed or went unused for gc_stale_ms once the table is over gc_thresh1. */
static void neigh_gc_timer(struct timer *t)
{
	struct us_stack *s = container_of(t, struct us_stack, arp_tbl.gc_timer);
	struct neigh_table *tbl = &s->arp_tbl;
	if (tbl->entries > tbl->p.gc_thresh1) {
		struct neighbour *n, *nn;
		list_for_each_entry_safe(n, nn, &tbl->lru, lru) {
			if (n->nud_state & (NUD_PERMANENT | NUD_INCOMPLETE))
				continue;
			if ((n->nud_state & NUD_FAILED) ||
			    (s->now_ms > n->used + tbl->p.gc_stale_ms &&
			     !(n->nud_state & (NUD_REACHABLE | NUD_DELAY | NUD_PROBE))))
				neigh_destroy(s, n);
		}
	}
	stack_timer_mod(s, t, s->now_ms + tbl->p.base_reachable_ms / 2);
}

/* ---- output ---- */

static bool neigh_is_broadcast(struct netdev *dev, uint32_t ip)
{
	return ipv4_is_lbcast(ip) || inet_addr_is_broadcast(dev, ip);
}

int neigh_output(struct us_stack *s, struct netdev *dev, uint32_t nexthop, struct skb *skb)
{
	skb->dev = dev;
	if (dev->type != NETDEV_ETHER) {
		skb->protocol = ETH_P_IP;
		return dev_queue_xmit(skb);
	}
	if (neigh_is_broadcast(dev, nexthop) || (dev->flags & NETDEV_NOARP)) {
		eth_header(skb, dev, ETH_P_IP, bcast_mac);
		return dev_queue_xmit(skb);
	}
	if (ipv4_is_multicast(nexthop)) {
		uint8_t mac[ETH_ALEN];
		eth_ip_mcast_map(nexthop, mac);
		eth_header(skb, dev, ETH_P_IP, mac);
		return dev_queue_xmit(skb);
	}
	struct neighbour *n = neigh_lookup(s, dev, nexthop);
	if (!n) {
		n = neigh_create(s, dev, nexthop);
		if (!n) {
			skb_drop(s, skb, DROP_NEIGH_QUEUEFULL);
			return -ENOBUFS;
		}
	}
	n->used = s->now_ms;
	const struct neigh_params *p = &s->arp_tbl.p;
	switch (n->nud_state) {
	case NUD_REACHABLE:
	case NUD_PERMANENT:
	case NUD_NOARP:
	case NUD_DELAY:
	case NUD_PROBE:
		eth_header(skb, dev, ETH_P_IP, n->ha);
		return dev_queue_xmit(skb);
	case NUD_STALE:
		/* Use it, and confirm it soon (RFC 4861 7.3.3 as Linux does
		 * for ARP). */
		n->nud_state = NUD_DELAY;
		neigh_touch(s, n);
		stack_timer_mod(s, &n->timer, s->now_ms + p->delay_probe_ms);
		eth_header(skb, dev, ETH_P_IP, n->ha);
		return dev_queue_xmit(skb);
	default:
		break;
	}
	/* Unresolved: queue, bounded per neighbour (oldest dropped first) and
	 * over all neighbours. */
	if (s->arp_tbl.queued_bytes + skb->len > p->unres_total_bytes) {
		mib_inc(s, MIB_ArpCacheUnresolvedDiscards);
		skb_drop(s, skb, DROP_NEIGH_QUEUEFULL);
		return -ENOBUFS;
	}
	skb_queue_tail(&n->arp_queue, skb);
	s->arp_tbl.queued_bytes += skb->len;
	while (n->arp_queue.bytes > p->unres_qlen_bytes) {
		struct skb *old = skb_dequeue(&n->arp_queue);
		s->arp_tbl.queued_bytes -= old->len;
		mib_inc(s, MIB_ArpCacheUnresolvedDiscards);
		skb_drop(s, old, DROP_NEIGH_QUEUEFULL);
	}
	if (n->nud_state != NUD_INCOMPLETE) {
		n->nud_state = NUD_INCOMPLETE;
		n->probes = 0;
		neigh_touch(s, n);
		arp_solicit(s, n);
		n->probes++;
		stack_timer_mod(s, &n->timer, s->now_ms + p->retrans_ms);
	}
	return 0;
}

/* ---- input (arp_process) ---- */

static int arp_rcv(struct skb *skb, struct netdev *dev, struct packet_type *pt)
{
	struct us_stack *s = dev->stack;
	(void)pt;
	struct arp_repr a;
	if (dev->type != NETDEV_ETHER || (dev->flags & NETDEV_NOARP)) {
		skb_drop(s, skb, DROP_ARP_IGNORED);
		return 0;
	}
	if (arp_parse(skb->data, skb->len, &a) != ARP_OK) {
		skb_drop(s, skb, DROP_ARP_MALFORMED);
		return 0;
	}
	if (skb->pkt_type == PACKET_OTHERHOST) {
		skb_drop(s, skb, DROP_OTHERHOST);
		return 0;
	}
	/* A sender must be a unicast station with a host address. */
	if (!eth_is_valid_unicast(a.sha) || ipv4_is_multicast(a.spa) || ipv4_is_lbcast(a.spa) ||
	    ipv4_is_loopback(a.spa) || ipv4_is_multicast(a.tpa) || ipv4_is_loopback(a.tpa)) {
		skb_drop(s, skb, DROP_ARP_MALFORMED);
		return 0;
	}
	mib_inc(s, a.op == ARPOP_REQUEST ? MIB_ArpInRequests : MIB_ArpInReplies);
	bool for_us = inet_addr_is_local(s, a.tpa);

	/* RFC 5227 probe (sender 0.0.0.0): answer if it is about us, learn
	 * nothing. */
	if (a.spa == 0) {
		if (a.op == ARPOP_REQUEST && for_us)
			arp_send(dev, ARPOP_REPLY, a.sha, a.tpa, 0, a.sha);
		skb_free(skb);
		return 0;
	}
	struct neighbour *n = neigh_lookup(s, dev, a.spa);
	if (a.spa == a.tpa)
		mib_inc(s, MIB_ArpInGratuitous);

	if (a.op == ARPOP_REQUEST && for_us && a.spa != a.tpa) {
		/* The requester is about to talk to us: learn it (STALE, as
		 * neigh_event_ns), then answer. */
		if (!n)
			n = neigh_create(s, dev, a.spa);
		if (n)
			neigh_update(s, n, a.sha, NUD_STALE);
		arp_send(dev, ARPOP_REPLY, a.sha, a.tpa, a.spa, a.sha);
	} else if (n) {
		/* A reply to our unicast MAC confirms reachability; anything
		 * else (gratuitous, broadcast) only refreshes the address. */
		bool confirm = a.op == ARPOP_REPLY && skb->pkt_type == PACKET_HOST;
		neigh_update(s, n, a.sha, confirm ? NUD_REACHABLE : NUD_STALE);
	} else {
		s->drops[DROP_ARP_IGNORED]++;
	}
	skb_free(skb);
	return 0;
}

static const struct packet_type arp_packet_type_template = {
	.type = ETH_P_ARP,
	.func = arp_rcv,
};

/* ---- table ---- */

void neigh_init(struct us_stack *s)
{
	struct neigh_table *tbl = &s->arp_tbl;
	for (unsigned i = 0; i < (1u << NEIGH_HASH_BITS); i++)
		list_init(&tbl->buckets[i]);
	list_init(&tbl->lru);
	tbl->entries = 0;
	tbl->queued_bytes = 0;
	tbl->p = (struct neigh_params){
		.base_reachable_ms = 30000,
		.retrans_ms = 1000,
		.delay_probe_ms = 5000,
		.gc_stale_ms = 60000,
		.ucast_probes = 3,
		.mcast_probes = 3,
		.unres_qlen_bytes = 212992,
		.gc_thresh1 = 128,
		.gc_thresh3 = 1024,
		.unres_total_bytes = 4u << 20,
	};
	timer_init(&tbl->gc_timer, neigh_gc_timer);
	stack_timer_mod(s, &tbl->gc_timer, s->now_ms + tbl->p.base_reachable_ms / 2);
}

void arp_init(struct us_stack *s)
{
	/* The packet_type lives in the stack: no shared mutable state. */
	struct packet_type *pt = malloc(sizeof(*pt));
	if (!pt)
		return;
	*pt = arp_packet_type_template;
	list_init(&pt->list);
	dev_add_pack(s, pt);
}

void neigh_flush(struct us_stack *s, struct netdev *dev)
{
	struct neighbour *n, *nn;
	list_for_each_entry_safe(n, nn, &s->arp_tbl.lru, lru)
		if (!dev || n->dev == dev)
			neigh_destroy(s, n);
}

void neigh_cleanup(struct us_stack *s)
{
	neigh_flush(s, NULL);
	stack_timer_del(s, &s->arp_tbl.gc_timer);
	struct packet_type *pt, *n;
	for (int i = 0; i < PTYPE_HASH_SIZE; i++)
		list_for_each_entry_safe(pt, n, &s->ptype_base[i], list)
			if (pt->func == arp_rcv) {
				list_del(&pt->list);
				free(pt);
			}
}

int neigh_set(struct us_stack *s, struct netdev *dev, uint32_t ip, const uint8_t *ha, uint8_t state)
{
	struct neighbour *n = neigh_lookup(s, dev, ip);
	if (state == NUD_NONE) {
		if (!n)
			return -ENOENT;
		neigh_destroy(s, n);
		return 0;
	}
	if (!ha || !eth_is_valid_unicast(ha))
		return -EINVAL;
	if (!n && !(n = neigh_create(s, dev, ip)))
		return -ENOBUFS;
	n->nud_state = NUD_NONE; /* let the update through even if permanent */
	neigh_update(s, n, ha, state);
	return 0;
}

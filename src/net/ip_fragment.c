/* IPv4 fragmentation (RFC 791 3.2 "Fragmentation and reassembly") and
 * reassembly (RFC 815 in spirit; RFC 5722's policy on overlaps). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/stack.h"
#include "../wire/icmp.h"
#include "ip.h"

/* ---- fragmentation ---- */

/* Options not marked "copy" appear in the first fragment only; later ones
 * carry NOOPs in their place, keeping the header length
 * (ip_options_fragment). */
static void options_for_later_fragments(uint8_t *hdr, uint8_t ihl)
{
	unsigned off = IPV4_HLEN;
	while (off < ihl) {
		uint8_t type = hdr[off];
		if (type == IPOPT_END)
			break;
		if (type == IPOPT_NOOP) {
			off++;
			continue;
		}
		uint8_t len = off + 1 < ihl ? hdr[off + 1] : 0;
		if (len < 2 || off + len > ihl)
			break;
		if (!(type & IPOPT_COPY))
			memset(hdr + off, IPOPT_NOOP, len);
		off += len;
	}
}

int ip_fragment(struct us_stack *s, struct skb *skb, unsigned mtu,
		int (*out)(struct us_stack *s, struct skb *frag, const struct rtable *rt),
		const struct rtable *rt)
{
	struct ip_repr ip;
	if (ipv4_parse_quoted(skb->data, skb->len, &ip) != IPV4_OK || ip.tot_len > skb->len) {
		skb_drop(s, skb, DROP_IP_HDR);
		return -EINVAL;
	}
	unsigned hlen = ip.ihl;
	/* Every fragment but the last carries a multiple of 8 bytes. */
	unsigned per = (mtu - hlen) & ~7u;
	if (mtu < hlen + 8) {
		mib_inc(s, MIB_IpFragFails);
		skb_drop(s, skb, DROP_IP_FRAG_NEEDED);
		return -EMSGSIZE;
	}
	uint8_t hdr[IPV4_MAX_HLEN];
	memcpy(hdr, skb->data, hlen);
	const uint8_t *payload = skb->data + hlen;
	unsigned left = ip.tot_len - hlen, done = 0;
	uint16_t flags = IPCB(skb)->flags;
	int err = 0;
	while (left > 0) {
		unsigned len = left > per ? per : left;
		struct skb *f = skb_alloc_tx(s->pool, hlen + len);
		if (!f) {
			mib_inc(s, MIB_IpFragFails);
			skb_drop(s, skb, DROP_NOMEM);
			return -ENOBUFS;
		}
		uint8_t *fh = skb_put(f, hlen + len);
		memcpy(fh, hdr, hlen);
		memcpy(fh + hlen, payload + done, len);
		bool mf = left > len || ip.mf;
		ipv4_set_frag(fh, (uint16_t)(ip.frag_off + done), mf, (uint16_t)(hlen + len));
		if (done == 0 && hlen > IPV4_HLEN) {
			options_for_later_fragments(hdr, (uint8_t)hlen);
		}
		ipv4_refresh_csum(fh);
		skb_reset_network_header(f);
		IPCB(f)->flags = flags;
		f->dev = skb->dev;
		mib_inc(s, MIB_IpFragCreates);
		int e = out(s, f, rt);
		if (e && !err)
			err = e;
		done += len;
		left -= len;
	}
	mib_inc(s, MIB_IpFragOKs);
	skb_free(skb);
	return err;
}

/* ---- reassembly ---- */

struct ipq {
	struct list_head hash, lru;
	uint32_t saddr, daddr;
	uint16_t id;
	uint8_t protocol;
	bool first_in, last_in;
	uint32_t len;        /* datagram payload length, once the last is in */
	uint32_t max_end;    /* furthest payload byte seen */
	uint32_t meat;       /* payload bytes received */
	uint32_t mem;        /* buffer bytes held */
	unsigned nfrags;
	struct skb_queue frags; /* ordered by offset, no overlaps */
	struct timer timer;
	struct us_stack *stack;
};

struct frag_cb {
	struct inet_skb_parm h;
	uint32_t offset, end; /* payload bytes [offset, end) */
};
#define FRAG_CB(skb) ((struct frag_cb *)(void *)(skb)->cb)
_Static_assert(sizeof(struct frag_cb) <= 48, "frag_cb fits the control block");

static struct list_head *ipq_bucket(struct us_stack *s, uint32_t saddr, uint32_t daddr,
				    uint16_t id, uint8_t proto)
{
	uint64_t h = siphash_3u32(&s->hash_key, saddr, daddr, ((uint32_t)id << 8) | proto);
	return &s->ip.frag.buckets[h & ((1u << IPFRAG_HASH_BITS) - 1)];
}

/* why == DROP_MAX: the fragments were used, not dropped. */
static void ipq_destroy(struct us_stack *s, struct ipq *q, enum drop_reason why)
{
	struct skb *skb;
	while ((skb = skb_dequeue(&q->frags)) != NULL) {
		if (why == DROP_MAX)
			skb_free(skb);
		else
			skb_drop(s, skb, why);
	}
	s->ip.frag.mem -= q->mem;
	s->ip.frag.nqueues--;
	stack_timer_del(s, &q->timer);
	list_del(&q->hash);
	list_del(&q->lru);
	free(q);
}

/* RFC 791: the reassembly timer ran out. RFC 1122 3.3.2: time exceeded
 * (code 1) only if the first fragment arrived, so that the error quotes
 * the transport header. */
static void ipq_expire(struct timer *t)
{
	struct ipq *q = container_of(t, struct ipq, timer);
	struct us_stack *s = q->stack;
	mib_inc(s, MIB_IpReasmTimeout);
	mib_inc(s, MIB_IpReasmFails);
	struct skb *first = skb_peek(&q->frags);
	if (q->first_in && first && FRAG_CB(first)->offset == 0) {
		struct netdev *dev = netdev_get_by_index(s, FRAG_CB(first)->h.iif);
		if (dev) {
			first->dev = dev;
			icmp_send(s, first, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0);
		}
	}
	ipq_destroy(s, q, DROP_FRAG_TIMEOUT);
}

/* Keeps the memory of pending fragments under the cap by dropping the
 * oldest datagrams (inet_frag_evictor). */
static void ipq_evict(struct us_stack *s, uint64_t need)
{
	struct ipfrag_state *f = &s->ip.frag;
	while (f->mem + need > f->high_thresh && !list_empty(&f->lru)) {
		struct ipq *q = list_first_entry(&f->lru, struct ipq, lru);
		mib_inc(s, MIB_IpReasmFails);
		ipq_destroy(s, q, DROP_FRAG_MEMLIMIT);
	}
}

static struct ipq *ipq_find(struct us_stack *s, const struct ip_repr *ip, uint32_t need)
{
	struct list_head *b = ipq_bucket(s, ip->saddr, ip->daddr, ip->id, ip->protocol);
	struct ipq *q;
	list_for_each_entry(q, b, hash)
		if (q->saddr == ip->saddr && q->daddr == ip->daddr && q->id == ip->id &&
		    q->protocol == ip->protocol)
			return q;
	ipq_evict(s, need);
	if (s->ip.frag.mem + need > s->ip.frag.high_thresh)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->saddr = ip->saddr;
	q->daddr = ip->daddr;
	q->id = ip->id;
	q->protocol = ip->protocol;
	q->stack = s;
	skb_queue_init(&q->frags);
	timer_init(&q->timer, ipq_expire);
	stack_timer_mod(s, &q->timer, s->now_ms + s->ip.frag.timeout_ms);
	list_add(&q->hash, b);
	list_add_tail(&q->lru, &s->ip.frag.lru);
	s->ip.frag.nqueues++;
	return q;
}

/* Joins the fragments into one linear datagram: the first fragment's
 * header (with its options) followed by every payload in order. */
static struct skb *ipq_reasm(struct us_stack *s, struct ipq *q)
{
	struct skb *first = skb_peek(&q->frags);
	const uint8_t *fh = skb_network_header(first);
	unsigned ihl = ipv4_hdr_len(fh);
	struct skb *skb = skb_alloc_tx(s->pool, ihl + q->len);
	if (!skb)
		return NULL;
	uint8_t *h = skb_put(skb, ihl + q->len);
	memcpy(h, fh, ihl);
	struct skb *f;
	list_for_each_entry(f, &q->frags.head, list) {
		const uint8_t *fnh = skb_network_header(f);
		unsigned fihl = ipv4_hdr_len(fnh);
		memcpy(h + ihl + FRAG_CB(f)->offset, fnh + fihl, FRAG_CB(f)->end - FRAG_CB(f)->offset);
	}
	ipv4_set_frag(h, 0, false, (uint16_t)(ihl + q->len));
	skb_reset_network_header(skb);
	skb->dev = first->dev;
	skb->pkt_type = first->pkt_type;
	*IPCB(skb) = FRAG_CB(first)->h;
	IPCB(skb)->flags |= IPSKB_FRAG_COMPLETE;
	return skb;
}

struct skb *ip_defrag(struct us_stack *s, struct skb *skb)
{
	struct ipfrag_state *fs = &s->ip.frag;
	struct ip_repr ip;
	mib_inc(s, MIB_IpReasmReqds);
	const uint8_t *nh = skb_network_header(skb);
	ipv4_parse_quoted(nh, skb->len, &ip); /* validated by ip_rcv */
	uint32_t offset = ip.frag_off;
	uint32_t end = offset + ip.tot_len - ip.ihl;

	/* A datagram cannot exceed 65535 bytes (RFC 791: total length is 16
	 * bits); every fragment but the last carries whole 8-byte blocks. */
	if (ip.ihl + end > IPV4_MAX_LEN) {
		mib_inc(s, MIB_IpReasmFails);
		skb_drop(s, skb, DROP_FRAG_TOO_BIG);
		return NULL;
	}
	if (ip.mf && (end == offset || ((end - offset) & 7))) {
		mib_inc(s, MIB_IpReasmFails);
		skb_drop(s, skb, DROP_FRAG_INVALID);
		return NULL;
	}
	uint32_t truesize = skb_truesize(skb);
	/* The cap holds for every fragment, not only a datagram's first. */
	ipq_evict(s, truesize);
	struct ipq *q = ipq_find(s, &ip, truesize);
	if (!q) {
		mib_inc(s, MIB_IpReasmFails);
		skb_drop(s, skb, DROP_FRAG_MEMLIMIT);
		return NULL;
	}
	/* The last fragment fixes the end: nothing may lie beyond it, and a
	 * second "last" must agree. */
	if (!ip.mf) {
		if (end < q->max_end || (q->last_in && end != q->len))
			goto discard_queue;
	} else if (q->last_in && end > q->len) {
		goto discard_queue;
	}
	/* Find the place in offset order. An exact duplicate is dropped
	 * alone; any other overlap discards the whole datagram (RFC 5722 4,
	 * applied to IPv4 as Linux does since 4.19). */
	struct list_head *pos = &q->frags.head;
	struct skb *f;
	list_for_each_entry(f, &q->frags.head, list) {
		uint32_t fo = FRAG_CB(f)->offset, fe = FRAG_CB(f)->end;
		if (fo == offset && fe == end) {
			skb_drop(s, skb, DROP_FRAG_DUPLICATE);
			return NULL;
		}
		if (offset < fe && end > fo) {
			mib_inc(s, MIB_IpExtReasmOverlaps);
			goto discard_queue_overlap;
		}
		if (fo < offset)
			pos = &f->list;
	}
	if (q->nfrags >= fs->max_frags)
		goto discard_queue;

	FRAG_CB(skb)->offset = offset;
	FRAG_CB(skb)->end = end;
	list_insert_(&skb->list, pos, pos->next);
	q->frags.qlen++;
	q->frags.bytes += skb->len;
	q->nfrags++;
	q->meat += end - offset;
	q->mem += truesize;
	fs->mem += truesize;
	if (end > q->max_end)
		q->max_end = end;
	if (offset == 0)
		q->first_in = true;
	if (!ip.mf) {
		q->last_in = true;
		q->len = end;
	}
	if (!(q->first_in && q->last_in && q->meat == q->len))
		return NULL;

	struct skb *whole = ipq_reasm(s, q);
	ipq_destroy(s, q, DROP_MAX);
	if (!whole) {
		mib_inc(s, MIB_IpReasmFails);
		s->drops[DROP_NOMEM]++;
		return NULL;
	}
	mib_inc(s, MIB_IpReasmOKs);
	return whole;

discard_queue_overlap:
	mib_inc(s, MIB_IpReasmFails);
	ipq_destroy(s, q, DROP_FRAG_OVERLAP);
	skb_drop(s, skb, DROP_FRAG_OVERLAP);
	return NULL;
discard_queue:
	mib_inc(s, MIB_IpReasmFails);
	ipq_destroy(s, q, DROP_FRAG_INVALID);
	skb_drop(s, skb, DROP_FRAG_INVALID);
	return NULL;
}

void ipfrag_init(struct us_stack *s)
{
	struct ipfrag_state *f = &s->ip.frag;
	for (unsigned i = 0; i < (1u << IPFRAG_HASH_BITS); i++)
		list_init(&f->buckets[i]);
	list_init(&f->lru);
	f->nqueues = 0;
	f->mem = 0;
	f->high_thresh = 4u << 20;
	f->timeout_ms = 30000;
	/* A 65535-byte datagram over the 68-byte minimum MTU takes 1366. */
	f->max_frags = 1400;
}

void ipfrag_cleanup(struct us_stack *s)
{
	struct ipfrag_state *f = &s->ip.frag;
	while (!list_empty(&f->lru))
		ipq_destroy(s, list_first_entry(&f->lru, struct ipq, lru), DROP_MAX);
}

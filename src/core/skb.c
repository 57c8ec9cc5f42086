#include "skb.h"

#include <stdlib.h>
#include <string.h>

#include "ustack/ustack.h"

/* Size classes of data buffers. Class 0 holds any Ethernet frame with
 * headroom; class 1 a jumbo frame; class 2 a whole IPv4 datagram (64 KiB,
 * reassembly and large sends). Larger requests are malloc'ed and counted. */
static const uint32_t class_size[] = { 2048, 16384, 65536 + 512 };
#define NCLASS ((int)(sizeof(class_size) / sizeof(class_size[0])))
#define CLASS_HUGE 0xff
/* Free buffers kept per class; the rest go back to malloc. */
static const uint32_t class_cache_max[] = { 8192, 512, 64 };
#define SKB_HEAD_CACHE_MAX 16384

struct skb_pool {
	struct skb *free_heads;     /* chained through list.next */
	uint32_t nfree_heads;
	struct skb_buf *free_bufs[NCLASS]; /* chained through the first word of data */
	uint32_t nfree_bufs[NCLASS];
	uint64_t in_use, high_water, bytes_in_use, alloc_fail, limit;
};

struct skb_pool *skb_pool_new(uint64_t mem_limit)
{
	struct skb_pool *p = calloc(1, sizeof(*p));
	if (p)
		p->limit = mem_limit;
	return p;
}

static void buf_release(struct skb_pool *p, struct skb_buf *b)
{
	p->bytes_in_use -= b->size;
	if (b->cls != CLASS_HUGE && p->nfree_bufs[b->cls] < class_cache_max[b->cls]) {
		struct skb_buf **next = (struct skb_buf **)(void *)b->data;
		*next = p->free_bufs[b->cls];
		p->free_bufs[b->cls] = b;
		p->nfree_bufs[b->cls]++;
		return;
	}
	free(b);
}

void skb_pool_free(struct skb_pool *p)
{
	if (!p)
		return;
	while (p->free_heads) {
		struct skb *s = p->free_heads;
		p->free_heads = (struct skb *)(void *)s->list.next;
		free(s);
	}
	for (int c = 0; c < NCLASS; c++) {
		while (p->free_bufs[c]) {
			struct skb_buf *b = p->free_bufs[c];
			p->free_bufs[c] = *(struct skb_buf **)(void *)b->data;
			free(b);
		}
	}
	free(p);
}

void skb_pool_stats(const struct skb_pool *p, struct us_pool_stats *st)
{
	st->in_use = p->in_use;
	st->cached = p->nfree_heads;
	st->high_water = p->high_water;
	st->bytes_in_use = p->bytes_in_use;
	st->alloc_fail = p->alloc_fail;
}

static struct skb_buf *buf_get(struct skb_pool *p, uint32_t size)
{
	int cls = CLASS_HUGE;
	uint32_t bytes = size;
	for (int c = 0; c < NCLASS; c++) {
		if (size <= class_size[c]) {
			cls = c;
			bytes = class_size[c];
			break;
		}
	}
	if (p->limit && p->bytes_in_use + bytes > p->limit) {
		p->alloc_fail++;
		return NULL;
	}
	struct skb_buf *b;
	if (cls != CLASS_HUGE && p->free_bufs[cls]) {
		b = p->free_bufs[cls];
		p->free_bufs[cls] = *(struct skb_buf **)(void *)b->data;
		p->nfree_bufs[cls]--;
	} else {
		b = malloc(sizeof(*b) + bytes);
		if (!b) {
			p->alloc_fail++;
			return NULL;
		}
		b->size = bytes;
		b->cls = (uint8_t)cls;
	}
	b->dataref = 1;
	p->bytes_in_use += b->size;
	return b;
}

static struct skb *head_get(struct skb_pool *p)
{
	struct skb *s;
	if (p->free_heads) {
		s = p->free_heads;
		p->free_heads = (struct skb *)(void *)s->list.next;
		p->nfree_heads--;
	} else {
		s = malloc(sizeof(*s));
		if (!s) {
			p->alloc_fail++;
			return NULL;
		}
	}
	memset(s, 0, offsetof(struct skb, cb));
	memset(s->cb, 0, sizeof(s->cb));
	list_init(&s->list);
	s->pool = p;
	s->users = 1;
	s->mac_header = s->network_header = s->transport_header = SKB_NO_OFFSET;
	if (++p->in_use > p->high_water)
		p->high_water = p->in_use;
	return s;
}

static void head_put(struct skb_pool *p, struct skb *s)
{
	p->in_use--;
	if (p->nfree_heads < SKB_HEAD_CACHE_MAX) {
		s->list.next = (struct list_head *)(void *)p->free_heads;
		p->free_heads = s;
		p->nfree_heads++;
	} else {
		free(s);
	}
}

struct skb *skb_alloc(struct skb_pool *p, uint32_t size)
{
	struct skb_buf *b = buf_get(p, size);
	if (!b)
		return NULL;
	struct skb *s = head_get(p);
	if (!s) {
		buf_release(p, b);
		return NULL;
	}
	s->buf = b;
	s->head = s->data = s->tail = b->data;
	s->end = b->data + b->size;
	return s;
}

struct skb *skb_alloc_tx(struct skb_pool *p, uint32_t payload)
{
	struct skb *s = skb_alloc(p, payload + SKB_HEADROOM);
	if (s)
		skb_reserve(s, SKB_HEADROOM);
	return s;
}

void skb_free(struct skb *skb)
{
	if (!skb)
		return;
	if (--skb->users > 0)
		return;
	struct skb_pool *p = skb->pool;
	if (--skb->buf->dataref == 0)
		buf_release(p, skb->buf);
	head_put(p, skb);
}

struct skb *skb_clone(struct skb *skb)
{
	struct skb_pool *p = skb->pool;
	struct skb *n = head_get(p);
	if (!n)
		return NULL;
	struct list_head l = n->list;
	memcpy(n, skb, sizeof(*n));
	n->list = l;
	list_init(&n->list);
	n->users = 1;
	n->buf->dataref++;
	return n;
}

static void shift_offsets(struct skb *skb, int32_t shift)
{
	if (skb->mac_header != SKB_NO_OFFSET)
		skb->mac_header = (uint16_t)(skb->mac_header + shift);
	if (skb->network_header != SKB_NO_OFFSET)
		skb->network_header = (uint16_t)(skb->network_header + shift);
	if (skb->transport_header != SKB_NO_OFFSET)
		skb->transport_header = (uint16_t)(skb->transport_header + shift);
}

/* The old headroom is copied too, so that headers already pulled (the MAC
 * header of a received frame) stay readable, as pskb_expand_head does. */
struct skb *skb_copy(const struct skb *skb, uint32_t extra_headroom)
{
	uint32_t oldhr = skb_headroom(skb);
	struct skb *n = skb_alloc(skb->pool, extra_headroom + oldhr + skb->len + skb_tailroom(skb));
	if (!n)
		return NULL;
	memcpy(n->head + extra_headroom, skb->head, oldhr + skb->len);
	skb_reserve(n, extra_headroom + oldhr);
	skb_put(n, skb->len);
	n->dev = skb->dev;
	n->protocol = skb->protocol;
	n->pkt_type = skb->pkt_type;
	n->flags = skb->flags;
	n->mark = skb->mark;
	n->tstamp = skb->tstamp;
	memcpy(n->cb, skb->cb, sizeof(n->cb));
	n->mac_header = skb->mac_header;
	n->network_header = skb->network_header;
	n->transport_header = skb->transport_header;
	shift_offsets(n, (int32_t)extra_headroom);
	return n;
}

int skb_expand_head(struct skb *skb, uint32_t headroom, uint32_t tailroom)
{
	uint32_t oldhr = skb_headroom(skb), oldtr = skb_tailroom(skb);
	if (!skb_cloned(skb) && oldhr >= headroom && oldtr >= tailroom)
		return 0;
	uint32_t extra = oldhr >= headroom ? 0 : headroom - oldhr;
	uint32_t tr = oldtr >= tailroom ? oldtr : tailroom;
	struct skb_buf *b = buf_get(skb->pool, extra + oldhr + skb->len + tr);
	if (!b)
		return -12; /* -ENOMEM */
	memcpy(b->data + extra, skb->head, oldhr + skb->len);
	shift_offsets(skb, (int32_t)extra);
	if (--skb->buf->dataref == 0)
		buf_release(skb->pool, skb->buf);
	skb->buf = b;
	skb->head = b->data;
	skb->data = b->data + extra + oldhr;
	skb->tail = skb->data + skb->len;
	skb->end = b->data + b->size;
	return 0;
}

void skb_queue_purge(struct skb_queue *q)
{
	struct skb *skb;
	while ((skb = skb_dequeue(q)) != NULL)
		skb_free(skb);
}

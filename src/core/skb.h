/*
 * Socket buffers with sk_buff semantics.
 *
 *   head          data              tail          end
 *    |  headroom   |  len bytes       |  tailroom   |
 *
 * The bytes live in a separately counted buffer (struct skb_buf) so that a
 * clone shares them (skb_clone) while having its own data/len; whoever
 * writes into a buffer that may be shared calls skb_make_writable() first.
 * Buffers and heads come from a per-stack pool with counters; nothing is
 * malloc'ed per packet once the pool is warm.
 */
#ifndef US_SKB_H
#define US_SKB_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "mib.h"

struct us_stack;
struct netdev;
struct skb_pool;

/* Room kept in front of data for the headers pushed on the way out:
 * Ethernet 14 + IPv4 60 + TCP 60, rounded up. */
#define SKB_HEADROOM 160

/* skb->pkt_type takes Linux's values (<linux/if_packet.h>): PACKET_HOST
 * (to us), PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST (to
 * someone else, seen in promiscuous mode), PACKET_OUTGOING (sent by us,
 * seen by taps on transmit), PACKET_LOOPBACK. */
#include <linux/if_packet.h>

struct skb_buf {
	uint32_t dataref; /* skbs pointing at these bytes */
	uint32_t size;    /* bytes in data[] */
	uint8_t cls;      /* pool size class; CLASS_HUGE for malloc'ed */
	uint8_t pad[7];
	uint8_t data[];
};

#define SKB_NO_OFFSET 0xffff

struct skb {
	struct list_head list;
	struct skb_pool *pool;
	struct netdev *dev;
	struct skb_buf *buf;
	uint8_t *head, *data, *tail, *end;
	uint32_t len;
	uint32_t users;       /* references to this head (skb_get) */
	uint16_t protocol;    /* ethertype, host order */
	uint16_t mac_header;  /* offsets from head, SKB_NO_OFFSET if unset */
	uint16_t network_header;
	uint16_t transport_header;
	uint8_t pkt_type;
	uint8_t flags;
	uint16_t pad0;
	uint32_t mark;
	uint64_t tstamp;      /* ns, clock of the stack */
	const void *origin;   /* the packet socket that sent it (not looped back to it) */
	_Alignas(8) uint8_t cb[48]; /* per-layer scratch (IPCB, TCP_SKB_CB...) */
};

struct skb_queue {
	struct list_head head;
	uint32_t qlen;
	uint64_t bytes;
};

/* Pool. */
struct skb_pool *skb_pool_new(uint64_t mem_limit);
void skb_pool_free(struct skb_pool *p);
struct us_pool_stats;
void skb_pool_stats(const struct skb_pool *p, struct us_pool_stats *st);

/* A buffer with at least size bytes of room; data starts at head (no
 * headroom reserved: callers skb_reserve()). NULL when the pool's memory
 * limit is reached. */
struct skb *skb_alloc(struct skb_pool *p, uint32_t size);
/* A buffer for a packet that will get headers pushed: SKB_HEADROOM
 * reserved, room for payload bytes after it. */
struct skb *skb_alloc_tx(struct skb_pool *p, uint32_t payload);

void skb_free(struct skb *skb);
static inline struct skb *skb_get(struct skb *skb)
{
	skb->users++;
	return skb;
}

/* A new head sharing the bytes (for taps and retransmit queues). */
struct skb *skb_clone(struct skb *skb);
/* A private copy of head and bytes, with extra headroom if asked. */
struct skb *skb_copy(const struct skb *skb, uint32_t extra_headroom);
/* Makes the bytes private to this skb (copying if cloned) and ensures at
 * least headroom bytes in front and tailroom behind (pskb_expand_head).
 * 0 or -ENOMEM. */
int skb_expand_head(struct skb *skb, uint32_t headroom, uint32_t tailroom);
static inline int skb_make_writable(struct skb *skb, uint32_t headroom)
{
	return skb_expand_head(skb, headroom, 0);
}

/* Memory a buffer holds, for socket and reassembly accounting. */
static inline uint32_t skb_truesize(const struct skb *skb)
{
	return skb->buf->size + (uint32_t)sizeof(struct skb);
}

static inline bool skb_cloned(const struct skb *skb)
{
	return skb->buf->dataref > 1;
}

static inline uint32_t skb_headroom(const struct skb *skb)
{
	return (uint32_t)(skb->data - skb->head);
}

static inline uint32_t skb_tailroom(const struct skb *skb)
{
	return (uint32_t)(skb->end - skb->tail);
}

static inline void skb_reserve(struct skb *skb, uint32_t n)
{
	assert(skb->len == 0 && n <= skb_tailroom(skb));
	skb->data += n;
	skb->tail += n;
}

/* Extends data at the tail; returns the first new byte. */
static inline uint8_t *skb_put(struct skb *skb, uint32_t n)
{
	assert(n <= skb_tailroom(skb));
	uint8_t *p = skb->tail;
	skb->tail += n;
	skb->len += n;
	return p;
}

/* Extends data at the front (adding a header); returns the new start. */
static inline uint8_t *skb_push(struct skb *skb, uint32_t n)
{
	assert(n <= skb_headroom(skb));
	skb->data -= n;
	skb->len += n;
	return skb->data;
}

/* Removes n bytes from the front (consuming a header); returns the new
 * start, or NULL if fewer than n bytes are there. */
static inline uint8_t *skb_pull(struct skb *skb, uint32_t n)
{
	if (n > skb->len)
		return NULL;
	skb->data += n;
	skb->len -= n;
	return skb->data;
}

/* Cuts data to len bytes (len <= skb->len). */
static inline void skb_trim(struct skb *skb, uint32_t len)
{
	if (len < skb->len) {
		skb->len = len;
		skb->tail = skb->data + len;
	}
}

static inline void skb_reset_network_header(struct skb *skb)
{
	skb->network_header = (uint16_t)(skb->data - skb->head);
}
static inline void skb_reset_transport_header(struct skb *skb)
{
	skb->transport_header = (uint16_t)(skb->data - skb->head);
}
static inline void skb_reset_mac_header(struct skb *skb)
{
	skb->mac_header = (uint16_t)(skb->data - skb->head);
}
static inline uint8_t *skb_network_header(const struct skb *skb)
{
	return skb->head + skb->network_header;
}
static inline uint8_t *skb_transport_header(const struct skb *skb)
{
	return skb->head + skb->transport_header;
}
static inline uint8_t *skb_mac_header(const struct skb *skb)
{
	return skb->head + skb->mac_header;
}
static inline bool skb_mac_header_set(const struct skb *skb)
{
	return skb->mac_header != SKB_NO_OFFSET;
}

/* Queues (FIFO, also usable as a sorted list by the caller). */
static inline void skb_queue_init(struct skb_queue *q)
{
	list_init(&q->head);
	q->qlen = 0;
	q->bytes = 0;
}
static inline void skb_queue_tail(struct skb_queue *q, struct skb *skb)
{
	list_add_tail(&skb->list, &q->head);
	q->qlen++;
	q->bytes += skb->len;
}
static inline struct skb *skb_peek(const struct skb_queue *q)
{
	return q->qlen ? list_first_entry(&q->head, struct skb, list) : NULL;
}
static inline void skb_unlink(struct skb_queue *q, struct skb *skb)
{
	list_del(&skb->list);
	q->qlen--;
	q->bytes -= skb->len;
}
static inline struct skb *skb_dequeue(struct skb_queue *q)
{
	struct skb *skb = skb_peek(q);
	if (skb)
		skb_unlink(q, skb);
	return skb;
}
void skb_queue_purge(struct skb_queue *q);

#endif

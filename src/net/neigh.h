/*
 * The neighbour cache and ARP (RFC 826), with the states and timers of
 * Linux's neighbour subsystem (net/core/neighbour.c):
 *
 *   INCOMPLETE --reply--> REACHABLE --reachable_time--> STALE
 *   STALE --used--> DELAY --delay_first_probe--> PROBE --ucast_probes--> FAILED
 *   INCOMPLETE --mcast_probes unanswered--> FAILED (queued packets dropped,
 *   host unreachable reported)
 */
#ifndef US_NEIGH_H
#define US_NEIGH_H

#include <stdint.h>

#include "../core/list.h"
#include "../core/skb.h"
#include "../core/timer.h"

struct us_stack;
struct netdev;

#define NUD_NONE 0x00
#define NUD_INCOMPLETE 0x01
#define NUD_REACHABLE 0x02
#define NUD_STALE 0x04
#define NUD_DELAY 0x08
#define NUD_PROBE 0x10
#define NUD_FAILED 0x20
#define NUD_NOARP 0x40
#define NUD_PERMANENT 0x80
#define NUD_VALID (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)
#define NUD_CONNECTED (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE)

struct neighbour {
	struct list_head hash;
	struct list_head lru;     /* least recently updated first */
	struct netdev *dev;
	uint32_t ip;              /* network order */
	uint8_t ha[6];
	uint8_t nud_state;
	uint8_t probes;
	uint64_t confirmed, updated, used; /* ms */
	uint32_t reachable_ms;
	struct timer timer;
	struct skb_queue arp_queue;
	struct us_stack *stack;
};

struct neigh_params {
	uint32_t base_reachable_ms;  /* 30 s */
	uint32_t retrans_ms;         /* 1 s */
	uint32_t delay_probe_ms;     /* 5 s */
	uint32_t gc_stale_ms;        /* 60 s */
	uint8_t ucast_probes;        /* 3 */
	uint8_t mcast_probes;        /* 3 */
	uint32_t unres_qlen_bytes;   /* per neighbour, 212992 as Linux */
	uint32_t gc_thresh1, gc_thresh3; /* 128, 1024: no gc below, hard cap */
	uint64_t unres_total_bytes;  /* all neighbours together, 4 MiB */
};

#define NEIGH_HASH_BITS 10

struct neigh_table {
	struct list_head buckets[1 << NEIGH_HASH_BITS];
	struct list_head lru;
	unsigned entries;
	uint64_t queued_bytes;
	struct neigh_params p;
	struct timer gc_timer;
};

void neigh_init(struct us_stack *s);
void neigh_cleanup(struct us_stack *s);
/* Sends skb (data at the network header) to the neighbour nexthop on dev:
 * adds the link header when the address is known, else queues it and
 * resolves. Consumes skb. */
int neigh_output(struct us_stack *s, struct netdev *dev, uint32_t nexthop, struct skb *skb);
struct neighbour *neigh_lookup(struct us_stack *s, const struct netdev *dev, uint32_t ip);
/* Sets or replaces an entry: a PERMANENT one from configuration, or
 * removes it (state NUD_NONE). */
int neigh_set(struct us_stack *s, struct netdev *dev, uint32_t ip, const uint8_t *ha, uint8_t state);
/* Forgets every entry of dev (NULL: all), as "ip neigh flush". */
void neigh_flush(struct us_stack *s, struct netdev *dev);
const char *neigh_state_name(uint8_t state);
/* Announces ip on dev with a gratuitous ARP request (RFC 5227 3). */
void arp_send_gratuitous(struct netdev *dev, uint32_t ip);
void arp_init(struct us_stack *s);

#endif

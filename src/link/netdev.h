/*
 * The device-independent interface (Linux's net_device layer).
 *
 * Receive: a driver's poll() hands each frame to netif_receive_skb(), which
 * classifies it (eth_type_trans), shows it to every tap (ptype_all: capture,
 * packet sockets) and passes it to the handler registered for its
 * ethertype (ptype_base: arp_rcv, ip_rcv). In-process drivers (loopback,
 * pair, callback) queue frames with netif_rx() into the device's backlog,
 * which the generic poll drains.
 *
 * Transmit: dev_queue_xmit() enqueues into the device's queue discipline
 * (a FIFO, or netem when impaired); the flush at the end of a poll round
 * (or at once, outside a round) dequeues what is due and calls the
 * driver's xmit.
 */
#ifndef US_NETDEV_H
#define US_NETDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/list.h"
#include "../core/skb.h"
#include "ustack/ustack.h"

struct netdev;
struct qdisc;

struct netdev_ops {
	/* Receives up to budget frames; returns how many. NULL: the generic
	 * backlog poll. */
	int (*poll)(struct netdev *dev, int budget);
	/* Sends one frame; consumes skb. 0, or a negative errno (the frame is
	 * freed and counted as a tx error by the caller). */
	int (*xmit)(struct netdev *dev, struct skb *skb);
	/* A pollable fd that becomes readable when frames arrive, or -1. */
	int (*get_fd)(struct netdev *dev);
	/* Link state changes (the device going up or down). */
	int (*open)(struct netdev *dev);
	void (*stop)(struct netdev *dev);
	/* Releases the driver's state. */
	void (*destroy)(struct netdev *dev);
};

enum netdev_type {
	NETDEV_ETHER,    /* Ethernet framing, ARP */
	NETDEV_RAWIP,    /* IP packets without a link header (TUN) */
	NETDEV_LOOPBACK, /* IP packets looped back to ourselves */
};

/* Flags, with Linux's meanings. */
#define NETDEV_UP 0x1
#define NETDEV_BROADCAST 0x2
#define NETDEV_LOOPBACK_F 0x8
#define NETDEV_POINTOPOINT 0x10
#define NETDEV_NOARP 0x80
#define NETDEV_PROMISC 0x100
#define NETDEV_ALLMULTI 0x200
#define NETDEV_MULTICAST 0x1000

#define NETDEV_BACKLOG_MAX 1000  /* netdev_max_backlog */
#define NETDEV_TXQ_MAX 1000      /* txqueuelen */

struct in_ifaddr {
	struct list_head list;
	uint32_t local;      /* network order */
	uint32_t mask;       /* network order */
	uint32_t broadcast;  /* network order */
	uint8_t prefixlen;
};

struct netdev {
	struct list_head list;
	struct us_stack *stack;
	char name[16];
	int ifindex;
	enum netdev_type type;
	unsigned flags;
	unsigned mtu;
	uint16_t hard_header_len;
	uint8_t addr[6];
	const struct netdev_ops *ops;
	void *priv;
	struct us_dev_stats stats;
	struct skb_queue backlog;   /* netif_rx queue of in-process drivers */
	struct skb_queue txq;       /* default queue discipline: FIFO */
	struct qdisc *qdisc;        /* netem, when impaired */
	struct list_head ifa_list;  /* IPv4 addresses (struct in_ifaddr) */
	bool tx_busy;               /* flush in progress (no re-entry) */
};

/* A receive tap (ptype_all) or handler (ptype_base). */
struct packet_type {
	struct list_head list;
	uint16_t type;           /* ethertype, or ETH_P_ALL for taps */
	struct netdev *dev;      /* NULL: every device */
	/* Handlers consume the skb. Taps must not keep or change it: they
	 * copy (or skb_clone) what they need. outgoing: seen on transmit. */
	int (*func)(struct skb *skb, struct netdev *dev, struct packet_type *pt);
	void *priv;
};

struct netdev *netdev_alloc(struct us_stack *s, const char *name, enum netdev_type type,
			    const struct netdev_ops *ops, size_t priv_size);
/* Registers it, gives it an ifindex. 0 or -errno (-EEXIST). */
int netdev_register(struct netdev *dev);
void netdev_unregister(struct netdev *dev);
struct netdev *netdev_get_by_index(const struct us_stack *s, int ifindex);
struct netdev *netdev_get_by_name(const struct us_stack *s, const char *name);
int netdev_set_up(struct netdev *dev, bool up);
int netdev_set_mtu(struct netdev *dev, unsigned mtu);
static inline bool netdev_is_up(const struct netdev *dev)
{
	return dev->flags & NETDEV_UP;
}
static inline void *netdev_priv(const struct netdev *dev)
{
	return dev->priv;
}

/* Receive path. netif_receive_skb consumes skb (data at the link header). */
void netif_receive_skb(struct skb *skb);
/* Queues a frame for the next poll (in-process drivers). Consumes skb;
 * a full backlog drops it as an rx overrun. */
void netif_rx(struct netdev *dev, struct skb *skb);
/* The generic poll: drains the backlog. */
int netdev_backlog_poll(struct netdev *dev, int budget);

void dev_add_pack(struct us_stack *s, struct packet_type *pt);
void dev_remove_pack(struct us_stack *s, struct packet_type *pt);

/* Transmit path: skb starts at the link header (Ethernet devices) or IP
 * header. Consumes skb. */
int dev_queue_xmit(struct skb *skb);
/* Dequeues and sends what is due on every device. */
void dev_flush_all(struct us_stack *s);
/* Earliest time (ns) a device queue has a frame to send or a backlog has
 * frames; US_TIME_NEVER if none. */
uint64_t dev_next_event(const struct us_stack *s);

/* Ethernet (eth.c). Sets mac_header, pulls the header, sets protocol and
 * pkt_type. 0, or -1 for a frame too short. */
int eth_type_trans(struct skb *skb, struct netdev *dev);
/* Pushes an Ethernet header. */
void eth_header(struct skb *skb, struct netdev *dev, uint16_t type, const uint8_t *daddr);
/* Pads a frame to ETH_ZLEN (RFC 894: 46 bytes minimum payload). */
int eth_skb_pad(struct skb *skb);
/* A random locally administered unicast MAC from the stack's generator. */
void eth_random_addr(struct us_stack *s, uint8_t *addr);

/* Queue disciplines (qdisc.c). */
struct qdisc_ops {
	const char *name;
	int (*enqueue)(struct qdisc *q, struct skb *skb); /* 0 or -ENOBUFS (freed) */
	struct skb *(*dequeue)(struct qdisc *q, uint64_t now_ns);
	uint64_t (*next_time)(const struct qdisc *q);
	void (*destroy)(struct qdisc *q);
};
struct qdisc {
	const struct qdisc_ops *ops;
	struct netdev *dev;
};
struct qdisc *netem_create(struct netdev *dev, const struct us_impair *imp, uint64_t seed);

/* Driver constructors (drivers/). Return the registered device or NULL
 * with errno set. */
struct netdev *loopback_create(struct us_stack *s);
struct netdev *tuntap_create(struct us_stack *s, const char *name, bool tap);

#endif

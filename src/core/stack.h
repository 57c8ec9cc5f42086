/* The stack instance: one network namespace. Everything hangs off it. */
#ifndef US_STACK_H
#define US_STACK_H

#include <stdarg.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ustack/ustack.h"
#include "compiler.h"
#include "list.h"
#include "mib.h"
#include "rand.h"
#include "skb.h"
#include "timer.h"
#include "../link/netdev.h"
#include "../net/icmp.h"
#include "../net/ip.h"
#include "../net/neigh.h"
#include "../net/netfilter.h"
#include "../net/route.h"
#include "../socket/sock.h"
#include "../transport/udp.h"
#include "../transport/raw.h"
#include "../transport/tcp.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "ustack assumes a little-endian host (x86_64, arm64)");

#define PTYPE_HASH_SIZE 16

/* Optional subsystems that hang their state off the stack (capture, the
 * control socket): found by name, and us_stack_free() runs each cleanup
 * (newest first) before the sockets and devices go. */
struct stack_ext {
	struct stack_ext *next;
	const char *name;
	void (*cleanup)(struct us_stack *s, struct stack_ext *ext);
};

struct us_stack {
	char name[32];
	us_clock *clock;
	bool own_clock;
	uint64_t now_ms;         /* the clock at the start of this round */
	struct prng rng;
	struct siphash_key hash_key;
	struct skb_pool *pool;
	struct timer_wheel wheel;
	int rx_budget;
	bool in_poll;

	/* Devices and receive dispatch. */
	struct list_head devs;
	int next_ifindex;
	struct netdev *lo;
	struct list_head ptype_all;
	struct list_head ptype_base[PTYPE_HASH_SIZE];

	/* Layers. */
	struct neigh_table arp_tbl;
	struct fib fib;
	struct ipv4_state ip;
	struct icmp_state icmp;
	struct nf_state nf;

	/* Counters. */
	uint64_t mib[MIB_MAX];
	uint64_t drops[DROP_MAX];

	/* Sockets. */
	struct sock_table socks;
	struct udp_table udp;
	struct raw_table raw;
	struct tcp_state tcp;
	struct stack_mt *mt;     /* the stack thread, if started */
	/* Lists sockets that have no handle (set by TCP). */
	void (*sock_foreach_extra)(struct us_stack *s, void (*fn)(void *arg, struct sock *sk),
				   void *arg);

	/* Event loop. */
	int epfd, timerfd, eventfd;
	uint64_t timerfd_armed;  /* ns, what timerfd is set to */
	atomic_bool eventfd_signaled;
	atomic_int stop;         /* us_stack_stop(): signal-safe, any thread */

	/* Logging. */
	enum us_log_level log_level;
	us_log_fn log_fn;
	void *log_arg;
	uint64_t log_window_ms;  /* rate limit of per-packet messages */
	unsigned log_in_window;
	unsigned log_suppressed;

	struct stack_ext *ext;   /* optional subsystems (capture, ctl) */
};

static inline struct stack_ext *stack_ext_find(const struct us_stack *s, const char *name)
{
	for (struct stack_ext *e = s->ext; e; e = e->next)
		if (e->name == name || !strcmp(e->name, name))
			return e;
	return NULL;
}
static inline void stack_ext_add(struct us_stack *s, struct stack_ext *e)
{
	e->next = s->ext;
	s->ext = e;
}

static inline uint64_t stack_now_ns(const struct us_stack *s)
{
	return us_clock_now(s->clock);
}

/* Refreshes the cached millisecond clock (the stack's jiffies). */
static inline uint64_t stack_update_time(struct us_stack *s)
{
	s->now_ms = stack_now_ns(s) / 1000000u;
	return s->now_ms;
}

static inline void mib_inc(struct us_stack *s, enum mib_id id)
{
	s->mib[id]++;
}
static inline void mib_add(struct us_stack *s, enum mib_id id, uint64_t n)
{
	s->mib[id] += n;
}
static inline void mib_dec(struct us_stack *s, enum mib_id id)
{
	s->mib[id]--;
}

/* Frees skb and counts why it was dropped (kfree_skb_reason). */
static inline void skb_drop(struct us_stack *s, struct skb *skb, enum drop_reason r)
{
	s->drops[r]++;
	skb_free(skb);
}

static inline void stack_timer_mod(struct us_stack *s, struct timer *t, uint64_t expires_ms)
{
	timer_mod(&s->wheel, t, expires_ms);
}
static inline void stack_timer_del(struct us_stack *s, struct timer *t)
{
	timer_del(&s->wheel, t);
}

static inline int nf_hook(struct us_stack *s, int hook, struct skb *skb, struct netdev *in,
			  struct netdev *out)
{
	if (likely(list_empty(&s->nf.hooks[hook])))
		return 1;
	return nf_hook_slow(s, hook, skb, in, out);
}

/* Wakes us_stack_fd()/us_stack_run() (in-process work queued). */
void stack_wake(struct us_stack *s);
/* Wakes the thread sleeping in stack_wait_fd(), always. */
void stack_kick(struct us_stack *s);
/* Creates the epoll set behind us_stack_fd() if needed. */
int stack_ensure_fd(struct us_stack *s);
/* Sleeps on the device fds, the timerfd and the eventfd until one is
 * readable or the clock reaches until (ns). */
void stack_wait_fd(struct us_stack *s, uint64_t until);

/* Logging: us_log for events, us_log_rl for per-packet events (at most 10
 * a second pass; the rest are counted and summarized). */
void us_log(struct us_stack *s, enum us_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void us_log_rl(struct us_stack *s, enum us_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline bool us_log_enabled(const struct us_stack *s, enum us_log_level lvl)
{
	return lvl <= s->log_level;
}
/* Per-packet messages: rate limited, and one predictable branch (no call,
 * no argument evaluated) while the level is off. */
#define us_log_pkt(s, lvl, ...)                                       \
	do {                                                          \
		if (unlikely(us_log_enabled((s), (lvl))))             \
			us_log_rl((s), (lvl), __VA_ARGS__);           \
	} while (0)

/* Formats an IPv4 address (network order) into buf (16 bytes). */
const char *ip_str(uint32_t addr, char *buf);

#endif

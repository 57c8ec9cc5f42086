/*
 * ustack: a user-space TCP/IP stack built on the Linux kernel's network
 * architecture.
 *
 * Conventions of the public API:
 *  - Every function that can fail returns -1 (or NULL) and sets errno to a
 *    Linux errno value, as POSIX calls do. Internally the library uses the
 *    kernel's convention (0 or a negative errno).
 *  - Addresses (struct in_addr, uint32_t IPv4) are in network byte order,
 *    exactly as in the BSD socket API.
 *  - A stack is single-threaded: one thread at a time calls into it. Several
 *    stacks may live in one process; stacks joined by an in-process pair must
 *    be driven by the same thread.
 *  - Devices are named by their interface index (ifindex), as in Linux.
 */
#ifndef USTACK_USTACK_H
#define USTACK_USTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct us_stack us_stack;
typedef struct us_clock us_clock;

#define US_TIME_NEVER UINT64_MAX

/* ---------------------------------------------------------------- clock */

/* Real CLOCK_MONOTONIC time. */
us_clock *us_clock_new_monotonic(void);
/* Virtual time for tests and simulations: it moves only when told to. One
 * virtual clock may be shared by every stack of a simulated network. */
us_clock *us_clock_new_virtual(uint64_t start_ns);
uint64_t us_clock_now(const us_clock *c);
/* Virtual clocks only; -1/EINVAL on a real clock or on going backwards. */
int us_clock_advance(us_clock *c, uint64_t delta_ns);
int us_clock_set(us_clock *c, uint64_t now_ns);
bool us_clock_is_virtual(const us_clock *c);
void us_clock_free(us_clock *c);

/* ---------------------------------------------------------------- stack */

struct us_stack_config {
	us_clock *clock;     /* NULL: a private monotonic clock */
	uint64_t seed;       /* 0: random from getrandom(); else deterministic */
	int rx_budget;       /* frames per device per poll round; 0: 64 */
	size_t mem_limit;    /* bytes of packet buffers in use at most; 0: 256 MiB */
	const char *name;    /* for logs; NULL: "ustack" */
};

/* A new stack with a loopback device "lo" (127.0.0.1/8) already up. */
us_stack *us_stack_new(const struct us_stack_config *cfg);
/* Closes every device and returns every buffer to the pool. */
void us_stack_free(us_stack *s);

/* One NAPI-style round: every device polled with the rx budget, due timers
 * run, transmit queues flushed. Returns the clock time (ns) at which the
 * stack next has work (a timer, a delayed frame), which is now or earlier
 * when more received frames are waiting; US_TIME_NEVER when idle. */
uint64_t us_stack_poll(us_stack *s);

/* The time us_stack_poll() would return now, without doing any work. A
 * loop driving several stacks joined by in-process links polls them all,
 * then asks each for its next event: polling one may have handed frames to
 * another. */
uint64_t us_stack_next_event(const us_stack *s);

/* One pollable file descriptor (an epoll set over the device fds, a timerfd
 * armed by us_stack_poll and an eventfd for in-process work): when it is
 * readable, call us_stack_poll(). Owned by the stack. */
int us_stack_fd(us_stack *s);

/* The event loop built on the two calls above, until us_stack_stop(). With a
 * virtual clock it advances the clock to each next event instead of
 * sleeping and returns when nothing is left to do. */
int us_stack_run(us_stack *s);
/* Async-signal-safe: makes us_stack_run() return. */
void us_stack_stop(us_stack *s);

uint64_t us_stack_now(const us_stack *s);
us_clock *us_stack_clock(us_stack *s);

/* ------------------------------------------------------------- counters */

/* A counter by its Linux name: "IpInReceives", "IcmpOutEchoReps",
 * "IpExtInNoRoutes", or a drop reason "Drop:IP_CSUM". -1/ENOENT if unknown. */
int us_stack_counter(const us_stack *s, const char *name, uint64_t *value);
/* Visit every counter (zeros too when all is set). */
typedef void (*us_counter_fn)(void *arg, const char *name, uint64_t value);
void us_stack_counters(const us_stack *s, bool all, us_counter_fn fn, void *arg);
/* The counters as "Name value" lines, non-zero ones only, like nstat. */
void us_stack_dump_counters(const us_stack *s, FILE *out);

/* Packet buffer pool, per stack. */
struct us_pool_stats {
	uint64_t in_use;      /* socket buffers allocated and not freed */
	uint64_t cached;      /* free buffers kept for reuse */
	uint64_t high_water;  /* most in use at once */
	uint64_t bytes_in_use;
	uint64_t alloc_fail;  /* refused: memory limit reached */
};
void us_stack_pool_stats(const us_stack *s, struct us_pool_stats *st);

/* --------------------------------------------------------------- devices */

struct us_dev_stats {  /* as in /proc/net/dev */
	uint64_t rx_packets, rx_bytes, rx_errors, rx_dropped, rx_overruns;
	uint64_t rx_multicast, rx_nohandler;
	uint64_t tx_packets, tx_bytes, tx_errors, tx_dropped, tx_overruns;
};

/* Impairment of a device's egress (a netem-like queue discipline). All
 * probabilities are 0..1; a seed of 0 derives one from the stack's seed. */
struct us_impair {
	double loss;            /* independent loss */
	bool ge;                /* Gilbert-Elliott burst loss instead */
	double ge_p, ge_r;      /* P(good->bad), P(bad->good) per frame */
	double ge_loss_bad;     /* loss in the bad state (1-h) */
	double ge_loss_good;    /* loss in the good state (1-k) */
	double duplicate;
	double reorder;         /* sent ahead of frames delayed before it */
	double corrupt;         /* one random bit flipped */
	uint64_t delay_ns, jitter_ns;
	uint64_t rate_bps;      /* 0: unlimited */
	uint32_t limit;         /* frames queued at most; 0: 1000 */
	uint64_t seed;
};
/* Parses "loss=1%,delay=10ms,jitter=2ms,dup=1%,reorder=5%,corrupt=0.1%,
 * rate=100mbit,limit=500,burst=P/R[/LOSSBAD[/LOSSGOOD]],seed=N". Returns 0,
 * or -1 with EINVAL and a one-line message in err. */
int us_impair_parse(const char *spec, struct us_impair *imp, char *err, size_t errlen);
/* NULL removes the impairment. */
int us_dev_set_impair(us_stack *s, int ifindex, const struct us_impair *imp);

/* Opens /dev/net/tun and attaches to the TAP (Ethernet) or TUN (IP) device
 * of that name in the caller's network namespace, creating it if it does
 * not exist. Returns the ustack ifindex. EPERM/EACCES mean "needs root or
 * CAP_NET_ADMIN". The device is created down. */
int us_dev_tap(us_stack *s, const char *name);
int us_dev_tun(us_stack *s, const char *name);

/* An in-process link (like a veth pair) between a device in stack a and a
 * device in stack b (b may be a). Returns a's ifindex; b's in *ifindex_b. */
int us_dev_pair(us_stack *a, const char *name_a, us_stack *b, const char *name_b,
		int *ifindex_b);

/* A device driven by the embedding program (as libslirp or gVisor's channel
 * endpoint). Transmitted frames (Ethernet) or IP packets (l3 devices) are
 * handed to tx; received ones are given with us_dev_input(). */
typedef void (*us_dev_tx_fn)(void *arg, const void *frame, size_t len);
int us_dev_callback(us_stack *s, const char *name, bool l3, us_dev_tx_fn tx, void *arg);
/* Copies the frame in; it is processed in the next poll round. -1/ENOBUFS
 * when the device's input queue is full (counted as an rx overrun). */
int us_dev_input(us_stack *s, int ifindex, const void *frame, size_t len);

int us_dev_by_name(const us_stack *s, const char *name);
int us_dev_name(const us_stack *s, int ifindex, char *buf, size_t len);
int us_dev_set_up(us_stack *s, int ifindex, bool up);
int us_dev_set_mtu(us_stack *s, int ifindex, unsigned mtu);
int us_dev_get_mtu(const us_stack *s, int ifindex);
int us_dev_set_mac(us_stack *s, int ifindex, const uint8_t mac[6]);
int us_dev_get_mac(const us_stack *s, int ifindex, uint8_t mac[6]);
int us_dev_set_promisc(us_stack *s, int ifindex, bool on);
int us_dev_stats(const us_stack *s, int ifindex, struct us_dev_stats *st);
/* Visit every device: ifindex and name. */
typedef void (*us_dev_fn)(void *arg, int ifindex, const char *name);
void us_dev_foreach(const us_stack *s, us_dev_fn fn, void *arg);

/* ------------------------------------------------------------- addresses */

int us_addr_add(us_stack *s, int ifindex, struct in_addr addr, int prefix_len);
int us_addr_del(us_stack *s, int ifindex, struct in_addr addr, int prefix_len);
/* Parses "10.0.0.2/24" (prefix 32 when absent). */
int us_parse_prefix(const char *str, struct in_addr *addr, int *prefix_len);

/* ---------------------------------------------------------------- routes */

/* gw.s_addr == 0: a directly connected route; ifindex 0: the device is
 * found from the gateway. */
int us_route_add(us_stack *s, struct in_addr dst, int prefix_len, struct in_addr gw,
		 int ifindex);
int us_route_del(us_stack *s, struct in_addr dst, int prefix_len);
/* The route a packet to dst would take: device, gateway (0 if direct) and
 * preferred source. -1/ENETUNREACH when there is none. */
int us_route_get(us_stack *s, struct in_addr dst, int *ifindex, struct in_addr *gw,
		 struct in_addr *src);

/* net.ipv4.ip_forward */
void us_set_forwarding(us_stack *s, bool on);

/* ---------------------------------------------------------------- logging */

enum us_log_level { US_LOG_ERR, US_LOG_WARN, US_LOG_INFO, US_LOG_DEBUG };
typedef void (*us_log_fn)(void *arg, enum us_log_level lvl, const char *msg);
/* Messages at or below level go to fn (default: stderr, level WARN). */
void us_set_log(us_stack *s, enum us_log_level level, us_log_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif

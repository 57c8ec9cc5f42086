/* The stack instance and its event loop. */
#include "stack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "../socket/mt.h"

const char *const mib_names[MIB_MAX] = {
#define X(name) #name,
	US_MIB_LIST(X)
#undef X
};

const char *const drop_names[DROP_MAX] = {
#define X(name) "Drop:" #name,
	US_DROP_LIST(X)
#undef X
};

static void default_log(void *arg, enum us_log_level lvl, const char *msg)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	(void)arg;
	fprintf(stderr, "ustack %s: %s\n", names[lvl], msg);
}

us_stack *us_stack_new(const struct us_stack_config *cfg)
{
	struct us_stack_config def = { 0 };
	if (!cfg)
		cfg = &def;
	if (cfg->rx_budget < 0) {
		errno = EINVAL;
		return NULL;
	}
	struct us_stack *s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", cfg->name ? cfg->name : "ustack");
	s->epfd = s->timerfd = s->eventfd = -1;
	if (cfg->clock) {
		s->clock = cfg->clock;
	} else {
		s->clock = us_clock_new_monotonic();
		s->own_clock = true;
		if (!s->clock)
			goto fail;
	}
	uint64_t seed = cfg->seed;
	if (!seed)
		os_random(&seed, sizeof(seed));
	prng_seed(&s->rng, seed);
	s->hash_key.k0 = prng_next(&s->rng);
	s->hash_key.k1 = prng_next(&s->rng);
	s->pool = skb_pool_new(cfg->mem_limit ? cfg->mem_limit : 256u << 20);
	if (!s->pool)
		goto fail;
	s->rx_budget = cfg->rx_budget ? cfg->rx_budget : 64;
	s->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->eventfd < 0)
		goto fail;
	s->log_level = US_LOG_WARN;
	s->log_fn = default_log;
	wheel_init(&s->wheel, stack_update_time(s));

	list_init(&s->devs);
	s->next_ifindex = 1;
	list_init(&s->ptype_all);
	for (int i = 0; i < PTYPE_HASH_SIZE; i++)
		list_init(&s->ptype_base[i]);
	fib_init(&s->fib);
	nf_init(s);
	neigh_init(s);
	ip_init(s);
	icmp_init(s);
	arp_init(s);
	sock_table_init(s);
	udp_init(s);
	raw_init(s);
	tcp_init(s);

	s->lo = loopback_create(s);
	if (!s->lo)
		goto fail;
	struct in_addr lo_addr = { htonl(INADDR_LOOPBACK) };
	netdev_set_up(s->lo, true);
	if (us_addr_add(s, s->lo->ifindex, lo_addr, 8) < 0)
		goto fail;
	return s;
fail:
	us_stack_free(s);
	errno = ENOMEM;
	return NULL;
}

void us_stack_free(us_stack *s)
{
	if (!s)
		return;
	mt_free(s);
	while (s->ext) { /* capture, ctl: before the devices and sockets */
		struct stack_ext *e = s->ext;
		s->ext = e->next;
		e->cleanup(s, e);
	}
	if (s->socks.kinds)
		sock_table_cleanup(s);
	if (s->tcp.ehash[0].next)
		tcp_cleanup(s);
	while (!list_empty(&s->devs))
		netdev_unregister(list_first_entry(&s->devs, struct netdev, list));
	neigh_cleanup(s);
	ip_cleanup(s);
	fib_free(&s->fib);
	if (s->pool) {
		struct us_pool_stats st;
		skb_pool_stats(s->pool, &st);
		if (st.in_use)
			us_log(s, US_LOG_ERR, "%llu socket buffers not returned at teardown",
			       (unsigned long long)st.in_use);
		skb_pool_free(s->pool);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->timerfd >= 0)
		close(s->timerfd);
	if (s->eventfd >= 0)
		close(s->eventfd);
	if (s->own_clock)
		us_clock_free(s->clock);
	free(s);
}

/* Arms the timerfd for the next event, so that a program sleeping on
 * us_stack_fd() wakes for it. */
static void arm_timerfd(struct us_stack *s, uint64_t next_ns, uint64_t now_ns)
{
	if (s->timerfd < 0 || us_clock_is_virtual(s->clock) || next_ns == s->timerfd_armed)
		return;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (next_ns != US_TIME_NEVER) {
		/* A relative timeout on our own monotonic clock reading. */
		uint64_t d = next_ns > now_ns ? next_ns - now_ns : 1;
		its.it_value.tv_sec = (time_t)(d / 1000000000u);
		its.it_value.tv_nsec = (long)(d % 1000000000u);
	}
	timerfd_settime(s->timerfd, 0, &its, NULL);
	s->timerfd_armed = next_ns;
}

uint64_t us_stack_poll(us_stack *s)
{
	if (!s)
		return US_TIME_NEVER;
	bool more = false;
	s->in_poll = true;
	stack_update_time(s);
	/* Clear what made us_stack_fd() readable (external event loops). */
	if (atomic_load(&s->eventfd_signaled)) {
		uint64_t v;
		atomic_store(&s->eventfd_signaled, false);
		ssize_t r = read(s->eventfd, &v, sizeof(v));
		(void)r;
	}
	struct netdev *dev, *n;
	list_for_each_entry_safe(dev, n, &s->devs, list) {
		int got = dev->ops->poll ? dev->ops->poll(dev, s->rx_budget)
					 : netdev_backlog_poll(dev, s->rx_budget);
		if (got >= s->rx_budget)
			more = true;
	}
	tcp_flush_acks(s);
	wheel_run(&s->wheel, stack_update_time(s));
	dev_flush_all(s);
	s->in_poll = false;

	uint64_t now = stack_now_ns(s);
	uint64_t next = more ? now : us_stack_next_event(s);
	arm_timerfd(s, next, now);
	return next;
}

uint64_t us_stack_next_event(const us_stack *s)
{
	uint64_t now = stack_now_ns(s);
	uint64_t next = wheel_next(&s->wheel);
	next = next == UINT64_MAX ? US_TIME_NEVER : next * 1000000u;
	uint64_t dn = dev_next_event(s);
	if (dn < next)
		next = dn;
	return next < now ? now : next;
}

int stack_ensure_fd(struct us_stack *s)
{
	if (s->epfd >= 0)
		return s->epfd;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -1;
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (s->timerfd >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &ev);
	ev.data.ptr = s;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->eventfd, &ev);
	s->timerfd_armed = 0;
	struct netdev *dev;
	list_for_each_entry(dev, &s->devs, list) {
		int fd = dev->ops->get_fd ? dev->ops->get_fd(dev) : -1;
		if (fd >= 0) {
			struct epoll_event dv = { .events = EPOLLIN, .data.ptr = dev };
			epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &dv);
		}
	}
	return s->epfd;
}

int us_stack_fd(us_stack *s)
{
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	mt_lock(s);
	int fd = stack_ensure_fd(s);
	if (fd >= 0)
		s->socks.fd_exported = true;
	mt_unlock(s);
	return fd;
}

void stack_wake(struct us_stack *s)
{
	if (s->epfd >= 0 && !atomic_exchange(&s->eventfd_signaled, true)) {
		uint64_t one = 1;
		ssize_t r = write(s->eventfd, &one, sizeof(one));
		(void)r;
	}
}

void stack_kick(struct us_stack *s)
{
	uint64_t one = 1;
	ssize_t r = write(s->eventfd, &one, sizeof(one));
	(void)r;
}

void us_stack_stop(us_stack *s)
{
	atomic_store(&s->stop, 1);
	stack_kick(s);
}

static void drain_fd(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
}

void stack_wait_fd(struct us_stack *s, uint64_t until)
{
	uint64_t now = stack_now_ns(s);
	if (until <= now)
		return;
	if (stack_ensure_fd(s) < 0) {
		us_log(s, US_LOG_ERR, "cannot create the event fd: %s", strerror(errno));
		return;
	}
	int timeout = until == US_TIME_NEVER
		      ? -1 : (int)US_MIN((until - now + 999999u) / 1000000u, (uint64_t)INT32_MAX);
	struct epoll_event evs[16];
	int ne = epoll_wait(s->epfd, evs, 16, timeout);
	if (ne < 0 && errno != EINTR)
		us_log_rl(s, US_LOG_ERR, "epoll_wait: %s", strerror(errno));
	for (int i = 0; i < ne; i++) {
		if (evs[i].data.ptr == NULL) {
			drain_fd(s->timerfd);
			s->timerfd_armed = 0;
		} else if (evs[i].data.ptr == s) {
			drain_fd(s->eventfd);
			atomic_store(&s->eventfd_signaled, false);
		}
	}
}

int us_stack_run(us_stack *s)
{
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	bool virt = us_clock_is_virtual(s->clock);
	if (!virt && stack_ensure_fd(s) < 0)
		return -1;
	while (!atomic_load(&s->stop)) {
		uint64_t next = us_stack_poll(s);
		if (atomic_load(&s->stop))
			break;
		uint64_t now = stack_now_ns(s);
		if (next <= now)
			continue;
		if (virt) {
			if (next == US_TIME_NEVER)
				break;
			us_clock_set(s->clock, next);
			continue;
		}
		stack_wait_fd(s, next);
	}
	atomic_store(&s->stop, 0);
	return 0;
}

uint64_t us_stack_now(const us_stack *s)
{
	return stack_now_ns(s);
}

us_clock *us_stack_clock(us_stack *s)
{
	return s->clock;
}

/* ---- counters ---- */

int us_stack_counter(const us_stack *s, const char *name, uint64_t *value)
{
	if (!s || !name || !value) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < MIB_MAX; i++)
		if (!strcmp(name, mib_names[i])) {
			*value = s->mib[i];
			return 0;
		}
	for (int i = 0; i < DROP_MAX; i++)
		if (!strcmp(name, drop_names[i])) {
			*value = s->drops[i];
			return 0;
		}
	errno = ENOENT;
	return -1;
}

void us_stack_counters(const us_stack *s, bool all, us_counter_fn fn, void *arg)
{
	for (int i = 0; i < MIB_MAX; i++)
		if (all || s->mib[i])
			fn(arg, mib_names[i], s->mib[i]);
	for (int i = 0; i < DROP_MAX; i++)
		if (all || s->drops[i])
			fn(arg, drop_names[i], s->drops[i]);
}

static void print_counter(void *arg, const char *name, uint64_t v)
{
	fprintf((FILE *)arg, "%-32s %llu\n", name, (unsigned long long)v);
}

void us_stack_dump_counters(const us_stack *s, FILE *out)
{
	us_stack_counters(s, false, print_counter, out);
}

void us_stack_pool_stats(const us_stack *s, struct us_pool_stats *st)
{
	skb_pool_stats(s->pool, st);
}

/* ---- logging ---- */

void us_set_log(us_stack *s, enum us_log_level level, us_log_fn fn, void *arg)
{
	s->log_level = level;
	s->log_fn = fn ? fn : default_log;
	s->log_arg = arg;
}

static void vlog(struct us_stack *s, enum us_log_level lvl, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	s->log_fn(s->log_arg, lvl, msg);
}

void us_log(struct us_stack *s, enum us_log_level lvl, const char *fmt, ...)
{
	if (!us_log_enabled(s, lvl))
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(s, lvl, fmt, ap);
	va_end(ap);
}

void us_log_rl(struct us_stack *s, enum us_log_level lvl, const char *fmt, ...)
{
	if (!us_log_enabled(s, lvl))
		return;
	/* At most 10 messages per second (net_ratelimit). */
	if (s->now_ms >= s->log_window_ms + 1000) {
		if (s->log_suppressed) {
			unsigned n = s->log_suppressed;
			s->log_suppressed = 0;
			us_log(s, lvl, "%u messages suppressed", n);
		}
		s->log_window_ms = s->now_ms;
		s->log_in_window = 0;
	}
	if (s->log_in_window >= 10) {
		s->log_suppressed++;
		return;
	}
	s->log_in_window++;
	va_list ap;
	va_start(ap, fmt);
	vlog(s, lvl, fmt, ap);
	va_end(ap);
}

const char *ip_str(uint32_t addr, char *buf)
{
	const uint8_t *b = (const uint8_t *)&addr;
	snprintf(buf, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	return buf;
}

/* ---- public device calls ---- */

static struct netdev *dev_arg(const us_stack *s, int ifindex)
{
	if (!s) {
		errno = EINVAL;
		return NULL;
	}
	struct netdev *dev = netdev_get_by_index(s, ifindex);
	if (!dev)
		errno = ENODEV;
	return dev;
}

int us_dev_by_name(const us_stack *s, const char *name)
{
	if (!s || !name) {
		errno = EINVAL;
		return -1;
	}
	struct netdev *dev = netdev_get_by_name(s, name);
	if (!dev) {
		errno = ENODEV;
		return -1;
	}
	return dev->ifindex;
}

int us_dev_name(const us_stack *s, int ifindex, char *buf, size_t len)
{
	struct netdev *dev = dev_arg(s, ifindex);
	if (!dev)
		return -1;
	if (!buf || len <= strlen(dev->name)) {
		errno = EINVAL;
		return -1;
	}
	strcpy(buf, dev->name);
	return 0;
}

int us_dev_set_up(us_stack *s, int ifindex, bool up)
{
	struct netdev *dev = dev_arg(s, ifindex);
	if (!dev)
		return -1;
	int err = netdev_set_up(dev, up);
	if (err) {
		errno = -err;
		return -1;
	}
	return 0;
}

int us_dev_set_mtu(us_stack *s, int ifindex, unsigned mtu)
{
	struct netdev *dev = dev_arg(s, ifindex);
	if (!dev)
		return -1;
	int err = netdev_set_mtu(dev, mtu);
	if (err) {
		errno = -err;
		return -1;
	}
	return 0;
}

int us_dev_get_mtu(const us_stack *s, int ifindex)
{
	struct netdev *dev = dev_arg(s, ifindex);
	return dev ? (int)dev->mtu : -1;
}

int us_dev_set_mac(us_stack *s, int ifindex, const uint8_t mac[6])
{
	struct netdev *dev = dev_arg(s, ifindex);
	if (!dev)
		return -1;
	if (!mac || dev->type != NETDEV_ETHER || (mac[0] & 1) ||
	    !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5])) {
		errno = EINVAL;
		return -1;
	}
	memcpy(dev->addr, mac, 6);
	return 0;
}

int us_dev_get_mac(const us_stack *s, int ifindex, uint8_t mac[6])
{
	struct netdev *dev = dev_arg(s, ifindex);
	if (!dev)
		return -1;
	if (!mac) {
		errno = EINVAL;
		return -1;
	}
	memcpy(mac, dev->addr, 6);
	return 0;
}

int us_dev_set_promisc(us_stack *s, int ifindex, bool on)
{
	struct netdev *dev = dev_arg(s, ifindex);
	if (!dev)
		return -1;
	if (on)
		dev->flags |= NETDEV_PROMISC;
	else
		dev->flags &= ~NETDEV_PROMISC;
	return 0;
}

int us_dev_stats(const us_stack *s, int ifindex, struct us_dev_stats *st)
{
	struct netdev *dev = dev_arg(s, ifindex);
	if (!dev)
		return -1;
	if (!st) {
		errno = EINVAL;
		return -1;
	}
	*st = dev->stats;
	return 0;
}

void us_dev_foreach(const us_stack *s, us_dev_fn fn, void *arg)
{
	struct netdev *dev;
	list_for_each_entry(dev, &s->devs, list)
		fn(arg, dev->ifindex, dev->name);
}

int us_dev_set_impair(us_stack *s, int ifindex, const struct us_impair *imp)
{
	struct netdev *dev = dev_arg(s, ifindex);
	if (!dev)
		return -1;
	struct qdisc *q = NULL;
	if (imp) {
		q = netem_create(dev, imp, prng_next(&s->rng));
		if (!q) {
			errno = ENOMEM;
			return -1;
		}
	}
	if (dev->qdisc) {
		/* Frames still held by the old discipline are sent now. */
		struct skb *skb;
		while ((skb = dev->qdisc->ops->dequeue(dev->qdisc, US_TIME_NEVER - 1)) != NULL)
			skb_queue_tail(&dev->txq, skb);
		dev->qdisc->ops->destroy(dev->qdisc);
	}
	dev->qdisc = q;
	return 0;
}

void us_set_forwarding(us_stack *s, bool on)
{
	if (s)
		s->ip.forwarding = on;
}

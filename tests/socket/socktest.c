#include "socktest.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

struct sockaddr_in sin4(const char *ip, uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = ip ? ip4(ip).s_addr : htonl(INADDR_ANY);
	return a;
}

uint64_t ctr(const us_stack *s, const char *name)
{
	uint64_t v;
	if (us_stack_counter(s, name, &v) < 0) {
		fprintf(stderr, "unknown counter %s\n", name);
		abort();
	}
	return v;
}

static int udp_bound2(us_stack *s, const char *ip, uint16_t port, bool reuse)
{
	int fd = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	if (reuse && set_int_opt(s, fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0) {
		us_close(s, fd);
		return -1;
	}
	struct sockaddr_in a = sin4(ip, port);
	if (us_bind(s, fd, SA(&a), sizeof(a)) < 0) {
		us_close(s, fd);
		return -1;
	}
	return fd;
}

int udp_bound(us_stack *s, const char *ip, uint16_t port)
{
	return udp_bound2(s, ip, port, false);
}

int udp_bound_reuse(us_stack *s, const char *ip, uint16_t port)
{
	return udp_bound2(s, ip, port, true);
}

uint16_t local_port(us_stack *s, int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	if (us_getsockname(s, fd, SA(&a), &l) < 0)
		return 0;
	return ntohs(a.sin_port);
}

int get_int_opt(us_stack *s, int fd, int level, int name)
{
	int v = -12345;
	socklen_t l = sizeof(v);
	if (us_getsockopt(s, fd, level, name, &v, &l) < 0)
		return -12345;
	return v;
}

int set_int_opt(us_stack *s, int fd, int level, int name, int v)
{
	return us_setsockopt(s, fd, level, name, &v, sizeof(v));
}

void settle(us_stack *s)
{
	for (int i = 0; i < 1000; i++)
		if (us_stack_poll(s) > us_stack_now(s))
			return;
}

void sim_reset(struct sim *sim, int n, uint64_t seed)
{
	if (sim->n)
		sim_free(sim);
	sim_init(sim, n, seed);
}

void net2(struct sim *sim, uint64_t seed, int *ia, int *ib)
{
	sim_reset(sim, 2, seed);
	if (sim_link(sim, 0, "eth0", "10.0.0.1/24", 1, "eth0", "10.0.0.2/24", ia, ib) < 0)
		abort();
	sim_run_for(sim, 10 * MS);
}

uint32_t epoll_mask(us_stack *s, int fd)
{
	int ep = us_epoll_create(s);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLRDNORM |
					    EPOLLWRNORM | EPOLLRDBAND | EPOLLWRBAND };
	uint32_t m = 0;
	if (us_epoll_ctl(s, ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
		struct epoll_event out;
		if (us_epoll_wait(s, ep, &out, 1, 0) == 1)
			m = out.events;
	}
	us_close(s, ep);
	return m;
}

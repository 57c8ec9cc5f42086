/*
 * bench_sock: UDP datagrams per second through ustack's socket API on one
 * core, and the cost of a us_epoll_wait round, each against the Linux
 * kernel doing the same loop on its own sockets in the same run.
 *
 *   bench_sock [-t SECONDS] [-r REPS] [-c CPU] [-n] [-o CASE]
 *
 *   -t  seconds per measured run (default 1)
 *   -r  runs per case; the median is printed (default 3)
 *   -c  CPU to pin to (default 0; -1: do not pin)
 *   -n  skip the Linux reference
 *   -o  only this case: pair64, pair1400, lo64, lo1400, epoll (for profiling)
 *
 * Cases:
 *   pair  sendto() on stack A -> in-process pair link -> recvfrom() on stack
 *         B: 32 sendto, one us_stack_poll of each stack, then recvfrom with
 *         MSG_DONTWAIT until EAGAIN (one core, no threads).
 *   lo    the same through the loopback of one stack (127.0.0.1).
 *   Linux the same loop on kernel UDP sockets over 127.0.0.1: 32 sendto,
 *         then recvfrom(MSG_DONTWAIT) until all 32 are read (the kernel
 *         delivers in the sendto's softirq on the same core).
 *   epoll us_epoll_wait(timeout 0) on an instance watching N UDP sockets,
 *         each with one datagram queued (level-triggered, so every call
 *         reports all N); Linux: epoll_wait on N kernel sockets likewise.
 *
 * Payload sizes 64 and 1400 bytes. The clock is CLOCK_MONOTONIC; both
 * stacks run on a real clock. Build without sanitizers:
 *   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && make -C build-rel bench_sock
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ustack/socket.h"

#define BENCH_NAME "bench_sock"
#include "../bench_util.h"

#define BATCH 32

static double opt_secs = 1.0;
static int opt_reps = 3;
static int opt_cpu = 0;
static bool opt_no_linux;
static const char *opt_only;

/* ---- ustack: datagrams per second ---- */

struct ucase {
	us_stack *a, *b;   /* b == a for the loopback */
	int tx, rx;
	struct sockaddr_in to;
};

static void ucase_open(struct ucase *c, bool pair, us_clock *clk)
{
	struct us_stack_config cfg = { .clock = clk, .seed = 1, .name = "a" };
	c->a = us_stack_new(&cfg);
	if (!c->a)
		die("us_stack_new");
	c->b = c->a;
	const char *dst = "127.0.0.1";
	if (pair) {
		cfg.seed = 2;
		cfg.name = "b";
		c->b = us_stack_new(&cfg);
		int ib;
		int ia = us_dev_pair(c->a, "eth0", c->b, "eth0", &ib);
		if (ia < 0)
			die("us_dev_pair");
		struct in_addr x, y;
		inet_pton(AF_INET, "10.0.0.1", &x);
		inet_pton(AF_INET, "10.0.0.2", &y);
		us_dev_set_up(c->a, ia, true);
		us_dev_set_up(c->b, ib, true);
		us_addr_add(c->a, ia, x, 24);
		us_addr_add(c->b, ib, y, 24);
		dst = "10.0.0.2";
	}
	c->tx = us_socket(c->a, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	c->rx = us_socket(c->b, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	c->to = sin4(dst, 9000);
	if (c->tx < 0 || c->rx < 0 || us_bind(c->b, c->rx, (struct sockaddr *)&c->to, sizeof(c->to)) < 0)
		die("socket setup");
}

static void ucase_close(struct ucase *c)
{
	if (c->b != c->a)
		us_stack_free(c->b);
	us_stack_free(c->a);
}

/* One batch: BATCH sendto, poll both, read until EAGAIN. Returns how many
 * were read. */
static long ucase_batch(struct ucase *c, const uint8_t *buf, size_t size, uint8_t *rbuf)
{
	for (int i = 0; i < BATCH; i++)
		if (us_sendto(c->a, c->tx, buf, size, 0, (struct sockaddr *)&c->to, sizeof(c->to)) < 0)
			die("us_sendto");
	us_stack_poll(c->a);
	if (c->b != c->a)
		us_stack_poll(c->b);
	long n = 0;
	while (us_recvfrom(c->b, c->rx, rbuf, 2048, 0, NULL, NULL) >= 0)
		n++;
	return n;
}

static double ustack_udp(bool pair, size_t size)
{
	us_clock *clk = us_clock_new_monotonic();
	struct ucase c;
	ucase_open(&c, pair, clk);
	uint8_t buf[2048], rbuf[2048];
	memset(buf, 0xa5, sizeof(buf));
	/* Warm-up: ARP resolved, buffers cached. */
	long got = 0;
	double t0 = now_s();
	while (now_s() - t0 < 0.2) {
		got += ucase_batch(&c, buf, size, rbuf);
		us_stack_poll(c.a); /* ARP replies and timers */
		if (c.b != c.a)
			us_stack_poll(c.b);
	}
	if (got == 0) {
		fprintf(stderr, "bench_sock: nothing arrived in the warm-up\n");
		exit(1);
	}
	long sent = 0, recvd = 0;
	t0 = now_s();
	double t;
	do {
		for (int k = 0; k < 16; k++) {
			recvd += ucase_batch(&c, buf, size, rbuf);
			sent += BATCH;
		}
	} while ((t = now_s() - t0) < opt_secs);
	if (recvd < sent * 99 / 100)
		fprintf(stderr, "bench_sock: ustack %s %zu: %ld of %ld arrived\n", pair ? "pair" : "lo",
			size, recvd, sent);
	ucase_close(&c);
	us_clock_free(clk);
	return (double)recvd / t;
}

/* ---- Linux: datagrams per second over 127.0.0.1 ---- */

static double linux_udp(size_t size)
{
	int tx = socket(AF_INET, SOCK_DGRAM, 0), rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in to = sin4("127.0.0.1", 0);
	if (tx < 0 || rx < 0 || bind(rx, (struct sockaddr *)&to, sizeof(to)) < 0)
		die("linux socket");
	socklen_t tl = sizeof(to);
	getsockname(rx, (struct sockaddr *)&to, &tl);
	int big = 4 << 20;
	setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	uint8_t buf[2048], rbuf[2048];
	memset(buf, 0xa5, sizeof(buf));
	long sent = 0, recvd = 0;
	double t0 = now_s(), t;
	bool warm = true;
	for (;;) {
		for (int k = 0; k < 16; k++) {
			for (int i = 0; i < BATCH; i++)
				if (sendto(tx, buf, size, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
					die("sendto");
			long n = 0;
			/* Read the batch; the kernel has delivered it in sendto's
			 * softirq, but do not spin forever if one was lost. */
			for (int spins = 0; n < BATCH && spins < 1000; spins++)
				while (recv(rx, rbuf, sizeof(rbuf), 0) >= 0)
					n++;
			sent += BATCH;
			recvd += n;
		}
		t = now_s() - t0;
		if (warm && t >= 0.2) {
			warm = false;
			sent = recvd = 0;
			t0 = now_s();
			continue;
		}
		if (!warm && t >= opt_secs)
			break;
	}
	if (recvd < sent * 99 / 100)
		fprintf(stderr, "bench_sock: linux %zu: %ld of %ld arrived\n", size, recvd, sent);
	close(tx);
	close(rx);
	return (double)recvd / t;
}

/* ---- epoll_wait rounds ---- */

static double ustack_epoll(int n)
{
	us_stack *s = us_stack_new(&(struct us_stack_config){ .seed = 3 });
	int ep = us_epoll_create(s);
	int tx = us_socket(s, AF_INET, SOCK_DGRAM, 0);
	for (int i = 0; i < n; i++) {
		int fd = us_socket(s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in a = sin4("127.0.0.1", (uint16_t)(20000 + i));
		if (fd < 0 || us_bind(s, fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			die("ustack epoll setup");
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		us_epoll_ctl(s, ep, EPOLL_CTL_ADD, fd, &ev);
		us_sendto(s, tx, "x", 1, 0, (struct sockaddr *)&a, sizeof(a));
		us_stack_poll(s);
	}
	struct epoll_event *evs = calloc((size_t)n, sizeof(*evs));
	if (us_epoll_wait(s, ep, evs, n, 0) != n) {
		fprintf(stderr, "bench_sock: ustack epoll: not %d ready\n", n);
		exit(1);
	}
	long calls = 0;
	double t0 = now_s(), t;
	do {
		for (int k = 0; k < 256; k++)
			if (us_epoll_wait(s, ep, evs, n, 0) == n)
				calls++;
	} while ((t = now_s() - t0) < opt_secs);
	free(evs);
	us_stack_free(s);
	return t / (double)calls * 1e9;
}

static double linux_epoll(int n)
{
	int ep = epoll_create1(0), tx = socket(AF_INET, SOCK_DGRAM, 0);
	int *fds = calloc((size_t)n, sizeof(int));
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in a = sin4("127.0.0.1", 0);
		socklen_t al = sizeof(a);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0)
			die("linux epoll setup");
		getsockname(fds[i], (struct sockaddr *)&a, &al);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
		sendto(tx, "x", 1, 0, (struct sockaddr *)&a, sizeof(a));
	}
	struct epoll_event *evs = calloc((size_t)n, sizeof(*evs));
	for (int i = 0; i < 100 && epoll_wait(ep, evs, n, 0) != n; i++)
		usleep(1000);
	long calls = 0;
	double t0 = now_s(), t;
	do {
		for (int k = 0; k < 256; k++)
			if (epoll_wait(ep, evs, n, 0) == n)
				calls++;
	} while ((t = now_s() - t0) < opt_secs);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	free(evs);
	close(tx);
	close(ep);
	return t / (double)calls * 1e9;
}

/* ---- driver ---- */

static bool want(const char *name)
{
	return !opt_only || !strcmp(opt_only, name);
}

static double run_reps_udp(bool pair, size_t size, bool linux_ref)
{
	double v[16];
	for (int i = 0; i < opt_reps; i++)
		v[i] = linux_ref ? linux_udp(size) : ustack_udp(pair, size);
	return median(v, opt_reps);
}

static double run_reps_epoll(int n, bool linux_ref)
{
	double v[16];
	for (int i = 0; i < opt_reps; i++)
		v[i] = linux_ref ? linux_epoll(n) : ustack_epoll(n);
	return median(v, opt_reps);
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "t:r:c:no:h")) != -1) {
		switch (c) {
		case 't': opt_secs = atof(optarg); break;
		case 'r': opt_reps = atoi(optarg); break;
		case 'c': opt_cpu = atoi(optarg); break;
		case 'n': opt_no_linux = true; break;
		case 'o': opt_only = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-t SECONDS] [-r REPS] [-c CPU] [-n] "
					"[-o pair64|pair1400|lo64|lo1400|epoll]\n", argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (opt_secs <= 0 || opt_reps < 1 || opt_reps > 16) {
		fprintf(stderr, "bench_sock: bad -t or -r\n");
		return 2;
	}
	if (opt_cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(opt_cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			perror("sched_setaffinity (not pinned)");
	}
	printf("bench_sock: %.1f s per run, median of %d, batch %d, CPU %d\n\n", opt_secs, opt_reps,
	       BATCH, opt_cpu);
	printf("UDP datagrams per second (sendto -> recvfrom, one core)\n");
	printf("%-34s %6s %14s %14s %8s\n", "case", "bytes", "ustack", "linux lo", "u/linux");
	static const size_t sizes[] = { 64, 1400 };
	double lin[2] = { 0, 0 };
	for (int i = 0; i < 2; i++) {
		char n1[16], n2[16];
		snprintf(n1, sizeof(n1), "pair%zu", sizes[i]);
		snprintf(n2, sizeof(n2), "lo%zu", sizes[i]);
		if (!opt_no_linux && (want(n1) || want(n2)))
			lin[i] = run_reps_udp(false, sizes[i], true);
		for (int k = 0; k < 2; k++) {
			if (!want(k ? n2 : n1))
				continue;
			double u = run_reps_udp(k == 0, sizes[i], false);
			printf("%-34s %6zu %14.0f ", k == 0 ? "ustack A -> pair -> ustack B"
							    : "ustack loopback (one stack)",
			       sizes[i], u);
			if (lin[i] > 0)
				printf("%14.0f %8.2f\n", lin[i], u / lin[i]);
			else
				printf("%14s %8s\n", "-", "-");
		}
	}
	if (want("epoll")) {
		printf("\nepoll_wait(timeout 0) with N ready sockets, ns per call\n");
		printf("%-34s %6s %14s %14s %8s\n", "case", "N", "ustack", "linux", "u/linux");
		static const int ns[] = { 1, 16, 256 };
		for (int i = 0; i < 3; i++) {
			double u = run_reps_epoll(ns[i], false);
			double l = opt_no_linux ? 0 : run_reps_epoll(ns[i], true);
			printf("%-34s %6d %14.1f ", "us_epoll_wait / epoll_wait", ns[i], u);
			if (l > 0)
				printf("%14.1f %8.2f\n", l, u / l);
			else
				printf("%14s %8s\n", "-", "-");
		}
	}
	return 0;
}

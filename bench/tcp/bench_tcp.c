/*
 * bench_tcp: ustack's TCP in one process on one core, against the Linux
 * kernel's TCP doing the same in the same run.
 *
 *   bench_tcp [-t SECONDS] [-r REPS] [-c CPU] [-N CONNS] [-n] [-o CASE]
 *
 *   -t  seconds per measured run (default 2)
 *   -r  runs per case; the median is printed (default 3)
 *   -c  CPU to pin to (default 0; -1: do not pin)
 *   -N  idle connections for the memory case (default 8000: the Linux side
 *       needs two descriptors per connection, and RLIMIT_NOFILE may be 20000)
 *   -n  skip the Linux reference
 *   -o  only this case: bulk1k, bulk16k, bulk64k, mem (for profiling)
 *
 * Cases:
 *   bulk  goodput of one connection: stack B sends (us_send of the message
 *         size, non-blocking, until EAGAIN or 256 KiB in this round: a send
 *         transmits at once and the receiving stack's input queue holds 1000
 *         frames), both stacks are polled until
 *         neither has work due (every frame handed over is processed, as
 *         the kernel's softirq does within the send), stack A reads (us_recv
 *         of 256 KiB until EAGAIN); repeated for the
 *         run's time on a real clock. The stacks are joined by an in-process
 *         pair link of MTU 1500 (1460-byte segments), one thread.
 *         Linux: the same loop on kernel TCP sockets over the loopback of a
 *         private network namespace (made with unshare(CLONE_NEWNET) when
 *         root, else the host's loopback), once with lo's MTU of 65536 (TSO,
 *         64 KiB segments) and once with MTU 1500 like the pair.
 *   mem   N connections between two stacks, established and idle: the
 *         memory they hold, from mallinfo2() (bytes malloc'd) and the
 *         stacks' packet pools (bytes in use), per connection (two sockets)
 *         and per socket. Linux: N connections over loopback in the private
 *         namespace; the kernel's slab memory before and after (Slab in
 *         /proc/meminfo, other processes add noise) and the sizes of the
 *         objects a connected socket holds (/proc/slabinfo: TCP,
 *         sock_inode_cache, filp, dentry), per socket.
 *
 * Each bulk row also shows "waited": the largest share of a measured run the
 * thread spent runnable while another task had its CPU
 * (/proc/thread-self/schedstat); more than a few percent means the figure
 * was disturbed by other work on the machine.
 *
 * Build without sanitizers:
 *   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && make -C build-rel bench_tcp
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ustack/socket.h"

#define BENCH_NAME "bench_tcp"
#include "../bench_util.h"

static double opt_secs = 2.0;
static int opt_reps = 3;
static int opt_cpu = 0;
static int opt_conns = 8000;
static bool opt_no_linux;
static const char *opt_only;
static bool in_netns;

/* Nanoseconds this thread has waited runnable for a CPU (schedstat). */
static uint64_t waited_ns(void)
{
	unsigned long long run = 0, wait = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	if (f) {
		if (fscanf(f, "%llu %llu", &run, &wait) != 2)
			wait = 0;
		fclose(f);
	}
	return wait;
}

/* The largest share of a measured run spent waiting for the CPU. */
static double worst_wait;

static void note_wait(uint64_t w0, double secs)
{
	double share = (double)(waited_ns() - w0) / 1e9 / secs;
	if (share > worst_wait)
		worst_wait = share;
}

static bool want(const char *name)
{
	return !opt_only || !strcmp(opt_only, name);
}

/* ---- two stacks over a pair link ---- */

struct pair {
	us_stack *a, *b;
};

static void pair_open(struct pair *p)
{
	struct us_stack_config cfg = { .seed = 1, .name = "a", .mem_limit = (size_t)1 << 30 };
	p->a = us_stack_new(&cfg);
	cfg.seed = 2;
	cfg.name = "b";
	p->b = us_stack_new(&cfg);
	if (!p->a || !p->b)
		die("us_stack_new");
	int ib;
	int ia = us_dev_pair(p->a, "eth0", p->b, "eth0", &ib);
	if (ia < 0)
		die("us_dev_pair");
	struct in_addr x, y;
	inet_pton(AF_INET, "10.0.0.1", &x);
	inet_pton(AF_INET, "10.0.0.2", &y);
	us_dev_set_up(p->a, ia, true);
	us_dev_set_up(p->b, ib, true);
	us_addr_add(p->a, ia, x, 24);
	us_addr_add(p->b, ib, y, 24);
}

static void pair_poll(struct pair *p)
{
	us_stack_poll(p->b);
	us_stack_poll(p->a);
}

/* Polls both stacks until neither has work due now (every frame handed
 * over has been processed): a burst of connections must not overrun the
 * pair link's input queue (Drop:RX_OVERRUN), which the receive budget of
 * one round (64 frames) would otherwise let grow. */
static void pair_drain(struct pair *p)
{
	for (int i = 0; i < 1000; i++) {
		pair_poll(p);
		/* Pending work is reported as due "now" (read inside): take
		 * our now after asking. */
		uint64_t na = us_stack_next_event(p->a), nb = us_stack_next_event(p->b);
		uint64_t now = us_stack_now(p->a);
		if (na > now && nb > now)
			return;
	}
}

static void pair_close(struct pair *p)
{
	us_stack_free(p->b);
	us_stack_free(p->a);
}

/* A listener on A (10.0.0.1:port). */
static int u_listen(us_stack *s, uint16_t port, int backlog)
{
	int l = us_socket(s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sin4("10.0.0.1", port);
	if (l < 0 || us_bind(s, l, (struct sockaddr *)&a, sizeof(a)) < 0 || us_listen(s, l, backlog) < 0)
		die("ustack listen");
	return l;
}

/* ---- bulk goodput ---- */

#define ROUND (256 * 1024)

static double ustack_bulk(size_t msg)
{
	struct pair p;
	pair_open(&p);
	int l = u_listen(p.a, 5001, 16);
	int tx = us_socket(p.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in to = sin4("10.0.0.1", 5001);
	if (us_connect(p.b, tx, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EINPROGRESS)
		die("us_connect");
	int rx = -1;
	for (double t0 = now_s(); rx < 0 && now_s() - t0 < 5;) {
		pair_poll(&p);
		rx = us_accept4(p.a, l, NULL, NULL, SOCK_NONBLOCK);
	}
	if (rx < 0)
		die("ustack accept");
	static uint8_t buf[1 << 20], rbuf[256 * 1024];
	memset(buf, 0x5a, sizeof(buf));
	uint64_t got = 0, w0 = 0;
	double t0 = now_s(), t, start = 0;
	bool warm = true;
	for (;;) {
		for (int k = 0; k < 8; k++) {
			/* At most ROUND bytes per round: a send transmits at
			 * once, and the receiving stack's input queue holds
			 * 1000 frames (netdev_max_backlog). */
			size_t queued = 0;
			ssize_t w = 0;
			while (queued < ROUND && (w = us_send(p.b, tx, buf, msg, MSG_NOSIGNAL)) > 0)
				queued += (size_t)w;
			if (w < 0 && errno != EAGAIN)
				die("us_send");
			pair_drain(&p);
			ssize_t n;
			while ((n = us_recv(p.a, rx, rbuf, sizeof(rbuf), 0)) > 0)
				got += (uint64_t)n;
		}
		t = now_s();
		if (warm && t - t0 >= 0.3) {
			warm = false;
			got = 0;
			start = t;
			w0 = waited_ns();
			continue;
		}
		if (!warm && t - start >= opt_secs)
			break;
	}
	note_wait(w0, t - start);
	pair_close(&p);
	return (double)got * 8 / (t - start) / 1e9;
}

/* Linux: lo's MTU (in a private namespace only: never the host's lo). */
static void lo_set_mtu(int mtu)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_mtu = mtu;
	if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
		die("SIOCSIFMTU lo");
	close(fd);
}

static void linux_pair(int *tx, int *rx, int *lfd)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 65535) < 0)
		die("linux listen");
	socklen_t al = sizeof(a);
	getsockname(l, (struct sockaddr *)&a, &al);
	*tx = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*tx, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("linux connect");
	*rx = accept(l, NULL, NULL);
	if (*rx < 0)
		die("linux accept");
	*lfd = l;
}

static double linux_bulk(size_t msg)
{
	int tx, rx, l;
	linux_pair(&tx, &rx, &l);
	fcntl(tx, F_SETFL, O_NONBLOCK);
	fcntl(rx, F_SETFL, O_NONBLOCK);
	static uint8_t buf[1 << 20], rbuf[256 * 1024];
	memset(buf, 0x5a, sizeof(buf));
	uint64_t got = 0, w0 = 0;
	double t0 = now_s(), t, start = 0;
	bool warm = true;
	for (;;) {
		for (int k = 0; k < 8; k++) {
			size_t queued = 0;
			ssize_t w = 0;
			while (queued < ROUND && (w = send(tx, buf, msg, MSG_NOSIGNAL)) > 0)
				queued += (size_t)w;
			if (w < 0 && errno != EAGAIN)
				die("send");
			ssize_t n;
			while ((n = recv(rx, rbuf, sizeof(rbuf), 0)) > 0)
				got += (uint64_t)n;
		}
		t = now_s();
		if (warm && t - t0 >= 0.3) {
			warm = false;
			got = 0;
			start = t;
			w0 = waited_ns();
			continue;
		}
		if (!warm && t - start >= opt_secs)
			break;
	}
	note_wait(w0, t - start);
	close(tx);
	close(rx);
	close(l);
	return (double)got * 8 / (t - start) / 1e9;
}

static void run_bulk(void)
{
	static const size_t sizes[] = { 1024, 16384, 65536 };
	static const char *names[] = { "bulk1k", "bulk16k", "bulk64k" };
	printf("\nBulk goodput of one connection, Gbit/s (one core, one thread; send until EAGAIN\n"
	       "or 256 KiB, poll, receive until EAGAIN); waited: the largest share of a measured run spent\n"
	       "runnable while another task had the CPU (more than a few %% means disturbed)\n");
	printf("%-10s %18s %18s %18s %10s %10s %7s\n", "write size", "ustack pair 1500", "linux lo 65536",
	       "linux lo 1500", "u/lo65536", "u/lo1500", "waited");
	for (int i = 0; i < 3; i++) {
		if (!want(names[i]))
			continue;
		double u[16], l1[16], l2[16];
		worst_wait = 0;
		for (int r = 0; r < opt_reps; r++) {
			u[r] = ustack_bulk(sizes[i]);
			if (!opt_no_linux) {
				if (in_netns)
					lo_set_mtu(65536);
				l1[r] = linux_bulk(sizes[i]);
				if (in_netns) {
					lo_set_mtu(1500);
					l2[r] = linux_bulk(sizes[i]);
					lo_set_mtu(65536);
				} else {
					l2[r] = 0;
				}
			}
		}
		double mu = median(u, opt_reps);
		if (opt_no_linux) {
			printf("%-10zu %18.2f %18s %18s %10s %10s %6.0f%%\n", sizes[i], mu, "-", "-", "-", "-",
			       worst_wait * 100);
			continue;
		}
		double m1 = median(l1, opt_reps), m2 = median(l2, opt_reps);
		char r2[16] = "-";
		if (m2 > 0)
			snprintf(r2, sizeof(r2), "%.2f", mu / m2);
		printf("%-10zu %18.2f %18.2f %18.2f %10.2f %10s %6.0f%%\n", sizes[i], mu, m1, m2, mu / m1, r2,
		       worst_wait * 100);
		fflush(stdout);
	}
}

/* ---- memory per idle connection ---- */

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static void ustack_mem(int n)
{
	struct pair p;
	pair_open(&p);
	/* ARP resolved and the pools warm before the baseline. */
	int l = u_listen(p.a, 5002, 65535);
	struct us_pool_stats pa0, pb0, pa1, pb1;
	int warm = us_socket(p.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in to = sin4("10.0.0.1", 5002);
	us_connect(p.b, warm, (struct sockaddr *)&to, sizeof(to));
	int wa = -1;
	for (double t0 = now_s(); wa < 0 && now_s() - t0 < 5;) {
		pair_poll(&p);
		wa = us_accept4(p.a, l, NULL, NULL, SOCK_NONBLOCK);
	}
	if (wa < 0)
		die("ustack warm-up connection");
	for (int i = 0; i < 10; i++)
		pair_poll(&p);
	us_stack_pool_stats(p.a, &pa0);
	us_stack_pool_stats(p.b, &pb0);
	size_t h0 = heap_in_use();

	int *cl = malloc(sizeof(int) * (size_t)n), *sv = malloc(sizeof(int) * (size_t)n);
	int accepted = 0;
	double t0 = now_s();
	for (int i = 0; i < n || accepted < n;) {
		for (int k = 0; k < 64 && i < n; k++, i++) {
			cl[i] = us_socket(p.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (cl[i] < 0 || (us_connect(p.b, cl[i], (struct sockaddr *)&to, sizeof(to)) < 0 &&
					  errno != EINPROGRESS))
				die("ustack connect");
		}
		pair_drain(&p);
		int fd;
		while ((fd = us_accept4(p.a, l, NULL, NULL, SOCK_NONBLOCK)) >= 0)
			sv[accepted++] = fd;
		if (now_s() - t0 > 60) {
			fprintf(stderr, "bench_tcp: only %d of %d connections after 60 s; counters of A, B:\n",
				accepted, n);
			us_stack_dump_counters(p.a, stderr);
			us_stack_dump_counters(p.b, stderr);
			exit(1);
		}
	}
	/* Let every delayed ACK and timer settle (the connections are idle). */
	for (double t1 = now_s(); now_s() - t1 < 0.5;)
		pair_poll(&p);
	uint64_t drops = 0, v;
	const char *names[] = { "Drop:RX_OVERRUN", "TcpExtSyncookiesSent", "TcpExtListenDrops" };
	for (int i = 0; i < 3; i++) {
		if (us_stack_counter(p.a, names[i], &v) == 0)
			drops += v;
		if (us_stack_counter(p.b, names[i], &v) == 0)
			drops += v;
	}
	if (drops)
		fprintf(stderr, "bench_tcp: mem: %llu overruns, cookies or listen drops while connecting\n",
			(unsigned long long)drops);
	us_stack_pool_stats(p.a, &pa1);
	us_stack_pool_stats(p.b, &pb1);
	size_t h1 = heap_in_use();
	double heap = (double)(h1 - h0), pool = (double)(pa1.bytes_in_use + pb1.bytes_in_use) -
					       (double)(pa0.bytes_in_use + pb0.bytes_in_use);
	printf("%-34s %12.0f %12.0f %12.0f\n", "ustack: malloc'd (mallinfo2)", heap / n, heap / n / 2,
	       heap);
	printf("%-34s %12.0f %12.0f %12.0f\n", "ustack: packet pool in use", pool / n, pool / n / 2,
	       pool);
	printf("%-34s %12.0f %12.0f %12.0f\n", "ustack: total", (heap + pool) / n,
	       (heap + pool) / n / 2, heap + pool);
	for (int i = 0; i < n; i++) {
		us_close(p.b, cl[i]);
		us_close(p.a, sv[i]);
	}
	free(cl);
	free(sv);
	pair_close(&p);
}

static long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long v = -1;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = atol(line + kl + 1);
	if (f)
		fclose(f);
	return v;
}

/* objsize of a slab cache from /proc/slabinfo (0 if unknown). */
static long slab_objsize(const char *name)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512], nm[64];
	long active, num, objsize = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld %ld %ld", nm, &active, &num, &objsize) == 4 && !strcmp(nm, name))
			break;
		else
			objsize = 0;
	if (f)
		fclose(f);
	return objsize;
}

static void linux_mem(int n)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rlim_t need = (rlim_t)(2 * n + 64);
	if (rl.rlim_cur < need) {
		rl.rlim_cur = need;
		if (rl.rlim_max < need)
			rl.rlim_max = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			printf("%-34s (cannot open %d sockets: %s; try a smaller -N)\n", "linux", 2 * n,
			       strerror(errno));
			return;
		}
	}
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin4("127.0.0.1", 0);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 65535) < 0)
		die("linux listen");
	socklen_t al = sizeof(a);
	getsockname(l, (struct sockaddr *)&a, &al);
	int *fds = malloc(sizeof(int) * 2 * (size_t)n);
	sleep(1);
	long s0 = meminfo_kb("Slab");
	for (int i = 0; i < n; i++) {
		fds[2 * i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[2 * i] < 0 || connect(fds[2 * i], (struct sockaddr *)&a, sizeof(a)) < 0)
			die("linux connect");
		fds[2 * i + 1] = accept(l, NULL, NULL);
		if (fds[2 * i + 1] < 0)
			die("linux accept");
	}
	sleep(1);
	long s1 = meminfo_kb("Slab");
	double slab = (double)(s1 - s0) * 1024;
	printf("%-34s %12.0f %12.0f %12.0f\n", "linux: Slab delta (/proc/meminfo)", slab / n,
	       slab / n / 2, slab);
	long tcp = slab_objsize("TCP"), ino = slab_objsize("sock_inode_cache"),
	     filp = slab_objsize("filp"), dent = slab_objsize("dentry");
	if (tcp) {
		long per = tcp + ino + filp + dent;
		printf("%-34s %12ld %12ld %12s   (TCP %ld + sock_inode_cache %ld + filp %ld + dentry %ld)\n",
		       "linux: slab objects of a socket", per * 2, per, "", tcp, ino, filp, dent);
	}
	for (int i = 0; i < 2 * n; i++)
		close(fds[i]);
	close(l);
	free(fds);
}

static void run_mem(void)
{
	if (!want("mem"))
		return;
	printf("\nMemory of idle established connections (N = %d; each has two sockets)\n", opt_conns);
	printf("%-34s %12s %12s %12s\n", "", "B/connection", "B/socket", "total B");
	ustack_mem(opt_conns);
	if (!opt_no_linux)
		linux_mem(opt_conns);
	fflush(stdout);
}

/* A private network namespace with its loopback up, when we may. */
static void enter_netns(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		return;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) == 0)
			in_netns = true;
	}
	close(fd);
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "t:r:c:N:no:h")) != -1) {
		switch (c) {
		case 't': opt_secs = atof(optarg); break;
		case 'r': opt_reps = atoi(optarg); break;
		case 'c': opt_cpu = atoi(optarg); break;
		case 'N': opt_conns = atoi(optarg); break;
		case 'n': opt_no_linux = true; break;
		case 'o': opt_only = optarg; break;
		default:
			fprintf(stderr, "usage: bench_tcp [-t SECONDS] [-r REPS] [-c CPU] [-N CONNS] [-n] "
					"[-o bulk1k|bulk16k|bulk64k|mem]\n");
			return 2;
		}
	}
	if (opt_reps < 1 || opt_reps > 16 || opt_secs <= 0 || opt_conns < 1 || opt_conns > 25000) {
		fprintf(stderr, "bench_tcp: -r 1..16, -t > 0, -N 1..25000\n");
		return 2;
	}
	if (opt_cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(opt_cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			perror("bench_tcp: sched_setaffinity");
	}
	if (!opt_no_linux)
		enter_netns();
	printf("bench_tcp: %.1f s per run, median of %d, %s; Linux reference %s\n", opt_secs, opt_reps,
	       opt_cpu >= 0 ? "pinned to one CPU" : "not pinned",
	       opt_no_linux ? "skipped" : in_netns ? "in a private network namespace"
						    : "on the host's loopback (not root: no namespace)");
	run_bulk();
	run_mem();
	return 0;
}

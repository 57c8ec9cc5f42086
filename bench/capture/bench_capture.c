/*
 * bench_capture: what a running capture costs the stack.
 *
 *   bench_capture [-t SECONDS] [-r ROUNDS] [-c CPU]
 *   bench_capture -k CASE -n ECHOES [-s FRAME]   (one case, untimed: for
 *       counting instructions under valgrind; see instructions.sh)
 *
 * ICMP echo requests are handed to a stack through a callback device
 * (us_dev_input, us_stack_poll) and its replies counted, on one core, as
 * fast as it goes: once without a capture, once with a capture whose
 * filter matches nothing ("tcp port 80": the tap runs the BPF program on
 * every frame, received and sent, and copies nothing), and once with a
 * capture that takes everything (written to /dev/null: the copy and the
 * write). Each case has its own stack; in every round each case runs one
 * slice of SECONDS (0.05 by default) of this thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID: other processes neither count nor favour a
 * case), in the order ABC, then CBA in the next round, so that a drift of
 * the machine cancels. Rates are over all rounds; the ratio is the median
 * of the per-round ratios, robust against the rounds a neighbour on the
 * same core disturbed.
 *
 * Printed per frame size: frames/s (echo requests answered), the traffic
 * that is (Gbit/s of requests on the wire, preamble and gaps counted), the
 * throughput ratio to no capture, the nanoseconds the capture adds per
 * request+reply, and the share of one core that adds at 1 Gbit/s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "ustack/capture.h"
#include "ustack/ustack.h"

#define BENCH_NAME "bench_capture"
#include "../bench_util.h"

#define BATCH 32
#define ROUNDS_MAX 1001

static double opt_secs = 0.05;
static int opt_rounds = 101;
static int opt_cpu = 0;

static const uint8_t mac_stack[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_peer[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An Ethernet frame with an echo request filling tot_len bytes of IP. */
static size_t echo_frame(uint8_t *f, size_t tot_len)
{
	memcpy(f, mac_stack, 6);
	memcpy(f + 6, mac_peer, 6);
	put16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot_len);
	ip[8] = 64;
	ip[9] = 1;
	inet_pton(AF_INET, "10.0.0.2", ip + 12);
	inet_pton(AF_INET, "10.0.0.1", ip + 16);
	put16(ip + 10, csum(ip, 20));
	uint8_t *icmp = ip + 20;
	size_t ilen = tot_len - 20;
	memset(icmp, 0, ilen);
	for (size_t i = 8; i < ilen; i++)
		icmp[i] = (uint8_t)i;
	icmp[0] = 8;
	put16(icmp + 4, 0x4242);
	put16(icmp + 6, 1);
	put16(icmp + 2, csum(icmp, ilen));
	return 14 + tot_len;
}

struct end {
	us_stack *s;
	int ifindex;
	uint64_t replies;
	uint8_t arp_reply[60];
	bool arp_pending;
};

/* The peer: counts replies, answers the stack's ARP for 10.0.0.2. */
static void end_tx(void *arg, const void *frame, size_t len)
{
	struct end *e = arg;
	const uint8_t *f = frame;
	if (len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 1) {
		uint8_t *r = e->arp_reply;
		memset(r, 0, 60);
		memcpy(r, f + 6, 6);
		memcpy(r + 6, mac_peer, 6);
		put16(r + 12, 0x0806);
		memcpy(r + 14, f + 14, 6);      /* htype, ptype, hlen, plen */
		put16(r + 20, 2);
		memcpy(r + 22, mac_peer, 6);
		memcpy(r + 28, f + 38, 4);      /* the address asked for */
		memcpy(r + 32, f + 22, 10);     /* the asker's MAC and IP */
		e->arp_pending = true;
		return;
	}
	if (len >= 14 && f[12] == 0x08 && f[13] == 0x00)
		e->replies++;
}

enum { CASE_NONE, CASE_NOMATCH, CASE_ALL, NCASES };
static const char *const case_names[NCASES] = { "no capture", "filter matching nothing",
						"capture everything" };

struct bed {
	us_stack *s;
	struct end e;
	int cap;
};

static void bed_open(struct bed *b, int which)
{
	memset(b, 0, sizeof(*b));
	struct us_stack_config cfg = { .seed = 1 };
	b->s = us_stack_new(&cfg);
	if (!b->s) {
		perror("us_stack_new");
		exit(1);
	}
	b->e.s = b->s;
	b->e.ifindex = us_dev_callback(b->s, "eth0", false, end_tx, &b->e);
	struct in_addr a;
	inet_pton(AF_INET, "10.0.0.1", &a);
	if (b->e.ifindex < 0 || us_dev_set_mac(b->s, b->e.ifindex, mac_stack) < 0 ||
	    us_dev_set_up(b->s, b->e.ifindex, true) < 0 ||
	    us_addr_add(b->s, b->e.ifindex, a, 24) < 0) {
		perror("stack setup");
		exit(1);
	}
	b->cap = -1;
	if (which != CASE_NONE) {
		struct us_capture_opts o = {
			.path = "/dev/null",
			.fd = -1,
			.dev = "eth0",
			.filter = which == CASE_NOMATCH ? "tcp port 80" : NULL,
		};
		char err[256];
		b->cap = us_capture_start(b->s, &o, err, sizeof(err));
		if (b->cap < 0) {
			fprintf(stderr, "capture: %s\n", err);
			exit(1);
		}
	}
}

static void bed_close(struct bed *b, struct us_capture_stats *st)
{
	if (b->cap > 0)
		us_capture_stop(b->s, b->cap, st);
	us_stack_free(b->s);
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One slice of a case: batches of requests for slice seconds of this
 * thread's CPU time. Adds the replies and the CPU time. */
static void run_slice(struct bed *b, const uint8_t *frame, size_t len, double slice,
		      uint64_t *replies, double *cpu)
{
	uint64_t r0 = b->e.replies;
	uint64_t sent = 0;
	double c0 = cpu_s(), c;
	do {
		for (int i = 0; i < BATCH; i++)
			us_dev_input(b->s, b->e.ifindex, frame, len);
		sent += BATCH;
		us_stack_poll(b->s);
		if (b->e.arp_pending) {
			b->e.arp_pending = false;
			us_dev_input(b->s, b->e.ifindex, b->e.arp_reply, 60);
		}
		c = (sent & 1023) ? c0 : cpu_s();
	} while (c - c0 < slice);
	us_stack_poll(b->s);
	if (b->e.replies - r0 < sent / 2) {
		fprintf(stderr, "bench_capture: only %llu of %llu requests answered\n",
			(unsigned long long)(b->e.replies - r0), (unsigned long long)sent);
		exit(1);
	}
	*replies += b->e.replies - r0;
	*cpu += c - c0;
}

int main(int argc, char **argv)
{
	int c, only = -1;
	long count = 0, fsize = 1514;
	while ((c = getopt(argc, argv, "t:r:c:k:n:s:h")) != -1) {
		switch (c) {
		case 't': opt_secs = atof(optarg); break;
		case 'r': opt_rounds = atoi(optarg); break;
		case 'c': opt_cpu = atoi(optarg); break;
		case 'k': only = atoi(optarg); break;
		case 'n': count = atol(optarg); break;
		case 's': fsize = atol(optarg); break;
		default:
			fprintf(stderr, "usage: bench_capture [-t SECONDS] [-r ROUNDS] [-c CPU] | "
					"-k CASE -n ECHOES [-s FRAME]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (only >= 0) {
		/* A fixed amount of work, for instruction counts. */
		if (only >= NCASES || count <= 0 || fsize < 60 || fsize > 1514) {
			fprintf(stderr, "bench_capture: -k 0..%d, -n > 0, -s 60..1514\n", NCASES - 1);
			return 2;
		}
		uint8_t frame[1600];
		size_t len = echo_frame(frame, (size_t)fsize - 14);
		struct bed bd;
		bed_open(&bd, only);
		for (long i = 0; i < count; i += BATCH) {
			for (int j = 0; j < BATCH; j++)
				us_dev_input(bd.s, bd.e.ifindex, frame, len);
			us_stack_poll(bd.s);
			if (bd.e.arp_pending) {
				bd.e.arp_pending = false;
				us_dev_input(bd.s, bd.e.ifindex, bd.e.arp_reply, 60);
			}
		}
		printf("%llu echoes answered\n", (unsigned long long)bd.e.replies);
		bed_close(&bd, NULL);
		return 0;
	}
	if (opt_secs <= 0 || opt_rounds < 1 || opt_rounds > ROUNDS_MAX) {
		fprintf(stderr, "bench_capture: -t > 0, 1 <= -r <= %d\n", ROUNDS_MAX);
		return 2;
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(opt_cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		fprintf(stderr, "bench_capture: cannot pin to CPU %d: %s\n", opt_cpu, strerror(errno));

	printf("bench_capture: ICMP echo through a stack on CPU %d, %d rounds of %.2f s of CPU "
	       "time per case\n\n",
	       opt_cpu, opt_rounds, opt_secs);
	printf("%-6s %-26s %12s %10s %8s %10s %12s\n", "frame", "case", "echoes/s", "Gbit/s",
	       "ratio", "+ns/echo", "core@1Gbit/s");
	static const size_t sizes[] = { 46, 1500 }; /* IP lengths: 60- and 1514-byte frames */
	int worst_ok = 1;
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		uint8_t frame[1600];
		size_t len = echo_frame(frame, sizes[si]);
		/* The cases take turns in short slices, each measured in the
		 * CPU time of this thread: other processes on the machine
		 * cost every case alike and are not counted. */
		struct bed beds[NCASES];
		for (int w = 0; w < NCASES; w++) {
			bed_open(&beds[w], w);
			uint64_t r = 0;
			double cpu = 0;
			run_slice(&beds[w], frame, len, 0.1, &r, &cpu); /* warm-up */
		}
		uint64_t rep[NCASES] = { 0 };
		double cpu[NCASES] = { 0 };
		double ratios[NCASES][ROUNDS_MAX];
		for (int k = 0; k < opt_rounds; k++) {
			double rate[NCASES];
			/* ABC, then CBA: a drift within the round cancels */
			for (int j = 0; j < NCASES; j++) {
				int w = k % 2 ? NCASES - 1 - j : j;
				uint64_t r = 0;
				double t = 0;
				run_slice(&beds[w], frame, len, opt_secs, &r, &t);
				rep[w] += r;
				cpu[w] += t;
				rate[w] = (double)r / t;
			}
			for (int w = 0; w < NCASES; w++)
				ratios[w][k] = rate[w] / rate[CASE_NONE];
		}
		struct us_capture_stats st[NCASES];
		memset(st, 0, sizeof(st));
		double med[NCASES], ratio[NCASES];
		for (int w = 0; w < NCASES; w++) {
			bed_close(&beds[w], &st[w]);
			med[w] = (double)rep[w] / cpu[w];
			qsort(ratios[w], (size_t)opt_rounds, sizeof(double), cmp_double);
			ratio[w] = ratios[w][opt_rounds / 2];
		}
		/* wire bits of a request: frame + FCS 4 + preamble 8 + gap 12 */
		double wire_bits = (double)(len + 24) * 8;
		double rate_1g = 1e9 / wire_bits;
		for (int w = 0; w < NCASES; w++) {
			/* from the median ratio: robust as it is */
			double add_ns = (1.0 / ratio[w] - 1.0) / med[CASE_NONE] * 1e9;
			printf("%-6zu %-26s %12.0f %10.2f %8.3f", len, case_names[w], med[w],
			       med[w] * wire_bits / 1e9, ratio[w]);
			if (w == CASE_NONE)
				printf(" %10s %12s\n", "-", "-");
			else
				printf(" %10.1f %11.2f%%\n", add_ns, add_ns * rate_1g / 1e9 * 100);
			if (w == CASE_NOMATCH && ratio[w] < 0.95)
				worst_ok = 0;
		}
		if (st[CASE_NOMATCH].captured != 0 || st[CASE_NOMATCH].seen == 0 ||
		    st[CASE_ALL].captured == 0) {
			fprintf(stderr, "bench_capture: the captures did not do their work\n");
			return 1;
		}
	}
	printf("\ntarget: a capture whose filter matches nothing keeps >= 95%% of the throughput: %s\n",
	       worst_ok ? "met" : "NOT met");
	return 0;
}

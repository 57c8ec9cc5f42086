/*
 * Integrity under impairment, in-process: two stacks joined by a pair
 * link with 50 ms of delay each way (100 ms RTT) and one impairment at a
 * time (0, 1, 5, 10 % loss, 5 % reordering, 1 % duplication, 1 %
 * corruption), both directions at once: every byte received equals the
 * byte sent (a deterministic pattern checked as it arrives), both
 * transfers finish with a clean close (FIN both ways), no transfer goes
 * STALL_S of virtual time without progress, and every socket buffer
 * comes back to its pool.
 *
 * INTEGRITY_MIB is the size per direction (64 MiB; a smaller value with
 * -DINTEGRITY_MIB=4 for quick runs). Each case is its own ctest entry:
 * test_tcp_integrity <case>.
 */
#include <arpa/inet.h>

#include "core/stack.h"
#include "tcptest.h"

#ifndef INTEGRITY_MIB
#define INTEGRITY_MIB 64
#endif
#define STALL_S 120     /* progress at least this often (TCP_RTO_MAX) */
#define CHUNK 65536

static struct sim S;
static uint8_t rbuf[CHUNK], want[CHUNK];

/* The pattern, 8 bytes at a time (the same bytes as pat()). */
static void fill_fast(uint8_t *p, size_t len, uint64_t seed, uint64_t off)
{
	size_t i = 0;
	while (i < len && ((off + i) & 7))
		p[i] = pat(seed, off + i), i++;
	for (; i + 8 <= len; i += 8) {
		uint64_t x = ((off + i) >> 3) * 0x9E3779B97F4A7C15ull + seed;
		x ^= x >> 29;
		x *= 0xBF58476D1CE4E5B9ull;
		x ^= x >> 32;
		memcpy(p + i, &x, 8); /* little-endian: byte k is x >> 8k */
	}
	for (; i < len; i++)
		p[i] = pat(seed, off + i);
}

struct dir {
	const char *name;
	us_stack *ws, *rs;
	int wfd, rfd;
	uint64_t seed, total, sent, rcvd;
	bool shut, eof, bad;
	int err;
	uint64_t last_progress;
	uint8_t wbuf[CHUNK];     /* the pattern from gen_off, gen_len bytes */
	uint64_t gen_off, gen_len;
};

struct run {
	struct dir d[2];
	uint64_t max_gap;
	bool stalled;
};

static void pump(struct dir *d, uint64_t now, struct run *r)
{
	while (d->sent < d->total) {
		if (d->sent >= d->gen_off + d->gen_len) {
			d->gen_off = d->sent;
			d->gen_len = d->total - d->sent < CHUNK ? d->total - d->sent : CHUNK;
			fill_fast(d->wbuf, (size_t)d->gen_len, d->seed, d->gen_off);
		}
		size_t at = (size_t)(d->sent - d->gen_off);
		ssize_t k = us_send(d->ws, d->wfd, d->wbuf + at, (size_t)d->gen_len - at,
				    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k <= 0) {
			if (k < 0 && errno != EAGAIN)
				d->err = errno;
			break;
		}
		d->sent += (uint64_t)k;
	}
	if (d->sent == d->total && !d->shut) {
		us_shutdown(d->ws, d->wfd, SHUT_WR);
		d->shut = true;
	}
	while (!d->eof && !d->err) {
		ssize_t k = us_recv(d->rs, d->rfd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		if (k > 0) {
			fill_fast(want, (size_t)k, d->seed, d->rcvd);
			if (memcmp(rbuf, want, (size_t)k) != 0 || d->rcvd + (uint64_t)k > d->total)
				d->bad = true;
			d->rcvd += (uint64_t)k;
			if (now - d->last_progress > r->max_gap)
				r->max_gap = now - d->last_progress;
			d->last_progress = now;
		} else if (k == 0) {
			d->eof = true;
		} else {
			if (errno != EAGAIN)
				d->err = errno;
			break;
		}
	}
}

static bool step(void *arg)
{
	struct run *r = arg;
	uint64_t now = sim_now(&S);
	bool done = true;
	for (int i = 0; i < 2; i++) {
		struct dir *d = &r->d[i];
		pump(d, now, r);
		if (d->err || d->bad)
			return true;
		if (!d->eof && now - d->last_progress > (uint64_t)STALL_S * SEC) {
			r->stalled = true;
			return true;
		}
		done = done && d->eof;
	}
	return done;
}

static struct run R;

static void transfer(const char *spec, uint64_t seed)
{
	sim_init(&S, 2, seed);
	int ia, ib;
	REQUIRE(sim_link(&S, 0, "eth0", "10.0.0.1/24", 1, "eth0", "10.0.0.2/24", &ia, &ib) == 0);
	struct us_impair imp;
	char err[128];
	REQUIRE(us_impair_parse(spec, &imp, err, sizeof(err)) == 0);
	imp.limit = 100000; /* no tail drop: the impairment is the only loss */
	imp.seed = seed * 2 + 1;
	REQUIRE(us_dev_set_impair(S.st[0], ia, &imp) == 0);
	imp.seed = seed * 2 + 2;
	REQUIRE(us_dev_set_impair(S.st[1], ib, &imp) == 0);
	us_stack *a = S.st[0], *b = S.st[1];

	int l = us_socket(b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in la = sin4("10.0.0.2", 5001);
	REQUIRE(us_bind(b, l, SA(&la), sizeof(la)) == 0 && us_listen(b, l, 4) == 0);
	int c = us_socket(a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK_ERR(us_connect(a, c, SA(&la), sizeof(la)), EINPROGRESS);
	int srv = -1;
	for (int i = 0; i < 600 && srv < 0; i++) {
		sim_run_for(&S, 100 * MS);
		srv = us_accept4(b, l, NULL, NULL, SOCK_NONBLOCK);
	}
	REQUIRE(srv >= 0);
	for (int i = 0; i < 600 && tt_sock_state(a, c) != TCP_ESTABLISHED; i++)
		sim_run_for(&S, 100 * MS);

	uint64_t total = (uint64_t)INTEGRITY_MIB << 20;
	uint64_t t0 = sim_now(&S);
	struct run *rp = &R;
	memset(rp, 0, sizeof(*rp));
	for (int i = 0; i < 2; i++) {
		struct dir *d = &rp->d[i];
		d->name = i ? "b->a" : "a->b";
		d->ws = i ? b : a;
		d->rs = i ? a : b;
		d->wfd = i ? srv : c;
		d->rfd = i ? c : srv;
		d->seed = seed * 7 + 1 + (uint64_t)i;
		d->total = total;
		d->last_progress = t0;
	}
	/* A generous bound on the virtual time: the stall check catches a
	 * stuck transfer long before this. */
	bool ok = sim_run_until(&S, step, rp, 100000 * SEC);
	uint64_t elapsed = sim_now(&S) - t0;
	for (int i = 0; i < 2; i++) {
		struct dir *d = &rp->d[i];
		if (d->bad || d->err || d->rcvd != total || !d->eof)
			fprintf(stderr, "%s: %s %s: sent %llu received %llu%s%s err %s\n", test_current,
				spec, d->name, (unsigned long long)d->sent, (unsigned long long)d->rcvd,
				d->bad ? " CORRUPT" : "", d->eof ? " eof" : "",
				d->err ? errname(d->err) : "-");
		CHECK(!d->bad);
		CHECK_EQ(d->err, 0);
		CHECK_EQ(d->rcvd, total);
		CHECK(d->eof);
	}
	CHECK(ok);
	CHECK(!rp->stalled);
	CHECK(rp->max_gap <= (uint64_t)STALL_S * SEC);
	struct tcp_info ti = { 0 };
	socklen_t tl = sizeof(ti);
	us_getsockopt(a, c, IPPROTO_TCP, TCP_INFO, &ti, &tl);
	printf("  %-16s %3d MiB each way: %8.1f s virtual, longest wait %.1f s, "
	       "retrans a %u\n",
	       spec, INTEGRITY_MIB, (double)elapsed / 1e9, (double)rp->max_gap / 1e9,
	       ti.tcpi_total_retrans);
	if (getenv("INTEGRITY_COUNTERS")) {
		us_stack_dump_counters(a, stdout);
		us_stack_dump_counters(b, stdout);
	}
	/* Close; after TIME_WAIT every buffer is back in the pools. */
	us_close(a, c);
	us_close(b, srv);
	us_close(b, l);
	sim_run_for(&S, 70 * SEC);
	CHECK_EQ(tt_count_state(a, TCP_TIME_WAIT) + tt_count_state(b, TCP_TIME_WAIT), 0);
	for (int i = 0; i < 2; i++) {
		struct us_pool_stats ps;
		us_stack_pool_stats(S.st[i], &ps);
		CHECK_EQ(ps.in_use, 0);
	}
	sim_free(&S);
}

static void loss_0(void)
{
	transfer("delay=50ms", 1);
}
static void loss_1(void)
{
	transfer("delay=50ms,loss=1%", 2);
}
static void loss_5(void)
{
	transfer("delay=50ms,loss=5%", 3);
}
static void loss_10(void)
{
	transfer("delay=50ms,loss=10%", 4);
}
static void reorder_5(void)
{
	transfer("delay=50ms,reorder=5%", 5);
}
static void dup_1(void)
{
	transfer("delay=50ms,dup=1%", 6);
}
static void corrupt_1(void)
{
	transfer("delay=50ms,corrupt=1%", 7);
}

TEST_MAIN(T(loss_0), T(loss_1), T(loss_5), T(loss_10), T(reorder_5), T(dup_1), T(corrupt_1))

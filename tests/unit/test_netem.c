/* The netem-like impairment qdisc: the spec parser, and over many frames
 * through an in-process pair, rates within statistical bounds of what was
 * asked, bursty Gilbert-Elliott loss, delay/jitter bounds, the rate
 * limit's pacing and queue limit, and reproducibility under a seed. */
#include <errno.h>
#include <math.h>

#include "test.h"
#include "sim.h"

#include "core/stack.h"
#include "wire/eth.h"

#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull
#define ETH_P_TEST 0x88b5 /* IEEE local experimental */

/* ------------------------------------------------------------ parser */

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-12;
}

static void parse_accepts(void)
{
	struct us_impair m;
	char err[256] = "";
	REQUIRE(us_impair_parse("loss=1%,delay=10ms,jitter=2ms,dup=1%,reorder=5%,corrupt=0.1%,"
				"rate=100mbit,limit=500,seed=42",
				&m, err, sizeof(err)) == 0);
	CHECK(near(m.loss, 0.01));
	CHECK_EQ(m.delay_ns, 10 * MS);
	CHECK_EQ(m.jitter_ns, 2 * MS);
	CHECK(near(m.duplicate, 0.01));
	CHECK(near(m.reorder, 0.05));
	CHECK(near(m.corrupt, 0.001));
	CHECK_EQ(m.rate_bps, 100000000);
	CHECK_EQ(m.limit, 500);
	CHECK_EQ(m.seed, 42);
	CHECK(!m.ge);

	REQUIRE(us_impair_parse("burst=1%/25%", &m, err, sizeof(err)) == 0);
	CHECK(m.ge);
	CHECK(near(m.ge_p, 0.01));
	CHECK(near(m.ge_r, 0.25));
	CHECK(near(m.ge_loss_bad, 1.0));
	CHECK(near(m.ge_loss_good, 0.0));
	CHECK(near(m.loss, 0)); /* the previous parse left nothing behind */
	CHECK_EQ(m.delay_ns, 0);
	REQUIRE(us_impair_parse("burst=2%/30%/80%", &m, err, sizeof(err)) == 0);
	CHECK(near(m.ge_loss_bad, 0.8));
	CHECK(near(m.ge_loss_good, 0.0));
	REQUIRE(us_impair_parse("burst=0.02/0.3/0.8/0.001", &m, err, sizeof(err)) == 0);
	CHECK(near(m.ge_p, 0.02));
	CHECK(near(m.ge_r, 0.3));
	CHECK(near(m.ge_loss_bad, 0.8));
	CHECK(near(m.ge_loss_good, 0.001));

	/* Probabilities as fractions too; the long name of dup. */
	REQUIRE(us_impair_parse("loss=0.25,duplicate=1,corrupt=0", &m, err, sizeof(err)) == 0);
	CHECK(near(m.loss, 0.25));
	CHECK(near(m.duplicate, 1.0));
	CHECK(near(m.corrupt, 0));
	REQUIRE(us_impair_parse("loss=100%", &m, err, sizeof(err)) == 0);
	CHECK(near(m.loss, 1.0));
	/* Time units; a bare number is milliseconds. */
	static const struct {
		const char *s;
		uint64_t ns;
	} t[] = { { "delay=250ns", 250 }, { "delay=3us", 3 * US }, { "delay=7ms", 7 * MS },
		  { "delay=2s", 2 * SEC }, { "delay=1.5", 1500 * US }, { "delay=0", 0 },
		  { "delay=3600s", 3600 * SEC }, { "delay=0.5ms", 500 * US } };
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (us_impair_parse(t[i].s, &m, err, sizeof(err)) != 0 || m.delay_ns != t[i].ns) {
			fprintf(stderr, "%s: '%s' -> %llu ns\n", test_current, t[i].s,
				(unsigned long long)m.delay_ns);
			test_failures++;
		}
	}
	/* Rate units, any case; a bare number is bits per second. */
	static const struct {
		const char *s;
		uint64_t bps;
	} r[] = { { "rate=9600", 9600 }, { "rate=9600bit", 9600 }, { "rate=64kbit", 64000 },
		  { "rate=10Mbit", 10000000 }, { "rate=2.5gbit", 2500000000ull },
		  { "rate=1KBIT", 1000 } };
	for (unsigned i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		if (us_impair_parse(r[i].s, &m, err, sizeof(err)) != 0 || m.rate_bps != r[i].bps) {
			fprintf(stderr, "%s: '%s' -> %llu bit/s\n", test_current, r[i].s,
				(unsigned long long)m.rate_bps);
			test_failures++;
		}
	}
	/* Nothing at all: no impairment. */
	REQUIRE(us_impair_parse("", &m, err, sizeof(err)) == 0);
	CHECK(near(m.loss, 0) && m.delay_ns == 0 && m.rate_bps == 0 && !m.ge && m.limit == 0);
}

static void parse_rejects(void)
{
	static const struct {
		const char *spec;
		const char *in_msg; /* the message names it */
	} bad[] = {
		{ "loss", "loss" },
		{ "loss=", "loss" },
		{ "loss=abc", "abc" },
		{ "loss=150%", "150%" },
		{ "loss=-1%", "-1%" },
		{ "loss=1.5", "1.5" },
		{ "loss=10%%", "10%%" },
		{ "loss=nan", "nan" },
		{ "loss=inf", "inf" },
		{ "loss=5%x", "5%x" },
		{ "dup=2", "dup" },
		{ "reorder=-0.1", "reorder" },
		{ "corrupt=x", "corrupt" },
		{ "delay=10xs", "10xs" },
		{ "delay=-5ms", "-5ms" },
		{ "delay=2h", "2h" },
		{ "delay=3601s", "3601s" },
		{ "delay=ms", "delay" },
		{ "jitter=abc", "jitter" },
		{ "rate=0", "rate" },
		{ "rate=-1mbit", "rate" },
		{ "rate=10mbps", "10mbps" },
		{ "rate=2000gbit", "rate" },
		{ "rate=0.5bit", "rate" },
		{ "limit=0", "limit" },
		{ "limit=abc", "limit" },
		{ "limit=2000000", "limit" },
		{ "limit=10 ", "limit" },
		{ "limit=", "limit" },
		{ "seed=x", "seed" },
		{ "seed=", "seed" },
		{ "burst=1%", "burst" },
		{ "burst=a/b", "burst" },
		{ "burst=1%/200%", "burst" },
		{ "burst=1%/25%/x", "burst" },
		{ "burst=1%/25%/80%/2%/9", "burst" }, /* five parts */
		{ "frob=1", "frob" },
		{ "Loss=1%", "Loss" },
		{ "=5", "=" },
		{ "loss=1%,delay=10ms,jitter=oops", "oops" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct us_impair m;
		char err[256] = "";
		errno = 0;
		int rc = us_impair_parse(bad[i].spec, &m, err, sizeof(err));
		/* "=5": an empty key; the message quotes it as '' */
		const char *want = strcmp(bad[i].in_msg, "=") ? bad[i].in_msg : "''";
		if (rc != -1 || errno != EINVAL || !err[0] || !strstr(err, want)) {
			fprintf(stderr, "%s: '%s' -> %d errno %d msg '%s'\n", test_current, bad[i].spec,
				rc, errno, err);
			test_failures++;
		}
	}
	struct us_impair m;
	char err[256] = "";
	errno = 0;
	CHECK_EQ(us_impair_parse(NULL, &m, err, sizeof(err)), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK(err[0] != 0);
	char longspec[700];
	memset(longspec, 'x', sizeof(longspec) - 1);
	longspec[sizeof(longspec) - 1] = 0;
	memcpy(longspec, "loss=1%,", 8);
	err[0] = 0;
	CHECK_EQ(us_impair_parse(longspec, &m, err, sizeof(err)), -1);
	CHECK(err[0] != 0);
	/* A small message buffer is not overrun. */
	char tiny[8];
	memset(tiny, 0x7f, sizeof(tiny));
	CHECK_EQ(us_impair_parse("frob=1", &m, tiny, 4), -1);
	CHECK_EQ(tiny[3], 0);
	CHECK_EQ(tiny[4], 0x7f);
}

/* ------------------------------------------------------------ a link */

struct arrival {
	uint32_t seq;
	uint32_t diffbits; /* bits differing from what was sent */
	uint64_t time;
	uint64_t hash;
};

struct link {
	struct sim sim;
	int ia, ib;
	struct netdev *tx;
	uint8_t src[6];
	uint32_t len;          /* payload bytes per frame */
	uint32_t nsent;
	uint64_t *sent_at;
	struct arrival *arr;
	size_t narr, cap;
	struct packet_type pt;
};

static void expected_frame(const struct link *l, uint32_t seq, uint8_t *f)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, l->src, 6);
	put_be16(f + 12, ETH_P_TEST);
	uint8_t *p = f + ETH_HLEN;
	put_be32(p, seq);
	put_be32(p + 4, seq);
	/* Bytes that depend on the whole sequence number, so that frames of
	 * two sequence numbers differ almost everywhere. */
	for (uint32_t i = 8; i < l->len; i++) {
		uint32_t x = seq * 0x9e3779b1u + i * 0x85ebca6bu;
		x ^= x >> 15;
		x *= 0x2c1b3c6du;
		x ^= x >> 12;
		p[i] = (uint8_t)x;
	}
}

static uint32_t bitdiff(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint32_t d = 0;
	for (size_t i = 0; i < n; i++)
		d += (uint32_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
	return d;
}

static int on_rx(struct skb *skb, struct netdev *dev, struct packet_type *pt)
{
	struct link *l = pt->priv;
	(void)dev;
	const uint8_t *f = skb_mac_header(skb);
	size_t flen = ETH_HLEN + skb->len;
	static uint8_t want[2000];
	struct arrival a = { .seq = UINT32_MAX, .diffbits = UINT32_MAX, .time = us_stack_now(dev->stack) };
	if (flen == ETH_HLEN + l->len) {
		/* The sequence number is there twice: a flipped bit spoils at
		 * most one copy. */
		uint32_t cand[2] = { get_be32(f + ETH_HLEN), get_be32(f + ETH_HLEN + 4) };
		for (int i = 0; i < 2; i++) {
			if (cand[i] >= l->nsent)
				continue;
			expected_frame(l, cand[i], want);
			uint32_t d = bitdiff(f, want, flen);
			if (d < a.diffbits) {
				a.diffbits = d;
				a.seq = cand[i];
			}
		}
	}
	/* The source MAC comes from the stack's seed: hash it relative to
	 * the sender's (a flipped bit still shows). */
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < flen; i++) {
		uint8_t b = i >= 6 && i < 12 ? (uint8_t)(f[i] ^ l->src[i - 6]) : f[i];
		h = (h ^ b) * 1099511628211ull;
	}
	a.hash = h;
	if (l->narr < l->cap)
		l->arr[l->narr++] = a;
	skb_free(skb);
	return 0;
}

static int link_init(struct link *l, uint64_t seed, const char *spec, uint32_t len, size_t cap)
{
	memset(l, 0, sizeof(*l));
	sim_init(&l->sim, 2, seed);
	if (sim_link(&l->sim, 0, "veth0", NULL, 1, "veth1", NULL, &l->ia, &l->ib) < 0)
		return -1;
	l->tx = netdev_get_by_index(l->sim.st[0], l->ia);
	us_dev_get_mac(l->sim.st[0], l->ia, l->src);
	l->len = len;
	l->cap = cap;
	l->arr = calloc(cap, sizeof(*l->arr));
	l->sent_at = calloc(cap, sizeof(*l->sent_at));
	l->pt = (struct packet_type){ .type = ETH_P_TEST, .func = on_rx, .priv = l };
	dev_add_pack(l->sim.st[1], &l->pt);
	if (spec) {
		struct us_impair m;
		char err[256];
		if (us_impair_parse(spec, &m, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
		if (us_dev_set_impair(l->sim.st[0], l->ia, &m) < 0)
			return -1;
	}
	/* Let the stacks settle (nothing should be in flight). */
	sim_run_for(&l->sim, 1 * MS);
	return 0;
}

static void link_free(struct link *l)
{
	dev_remove_pack(l->sim.st[1], &l->pt);
	sim_free(&l->sim);
	free(l->arr);
	free(l->sent_at);
}

static int send_one(struct link *l)
{
	us_stack *s = l->sim.st[0];
	struct skb *skb = skb_alloc_tx(s->pool, l->len);
	if (!skb)
		return -ENOBUFS;
	uint32_t seq = l->nsent++;
	static uint8_t f[2000];
	expected_frame(l, seq, f);
	memcpy(skb_put(skb, l->len), f + ETH_HLEN, l->len);
	skb->dev = l->tx;
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	eth_header(skb, l->tx, ETH_P_TEST, bc);
	if (seq < l->cap)
		l->sent_at[seq] = us_stack_now(s);
	return dev_queue_xmit(skb);
}

/* n frames in bursts of batch, the link drained after each. */
static void send_batches(struct link *l, uint32_t n, uint32_t batch)
{
	while (n) {
		uint32_t k = n < batch ? n : batch;
		for (uint32_t i = 0; i < k; i++)
			send_one(l);
		n -= k;
		sim_run_for(&l->sim, 10 * US);
	}
	sim_run_for(&l->sim, 10 * MS);
}

static uint64_t counter(us_stack *s, const char *name)
{
	uint64_t v = 0;
	if (us_stack_counter(s, name, &v) < 0) {
		fprintf(stderr, "%s: no counter %s\n", test_current, name);
		test_failures++;
	}
	return v;
}

/* |x - n p| within k standard deviations of a binomial. */
static bool binomial_ok(const char *what, double x, double n, double p, double k)
{
	double mean = n * p, sd = sqrt(n * p * (1 - p));
	bool ok = fabs(x - mean) <= k * sd + 1;
	if (!ok)
		fprintf(stderr, "%s: %s %.0f, expected %.1f +- %.1f\n", test_current, what, x, mean, k * sd);
	return ok;
}

static void loss_rate(void)
{
	struct link l;
	enum { N = 20000 };
	REQUIRE(link_init(&l, 1, "loss=10%", 100, N + 10) == 0);
	send_batches(&l, N, 400);
	CHECK(binomial_ok("received", (double)l.narr, N, 0.9, 5));
	CHECK_EQ(counter(l.sim.st[0], "Drop:NETEM_LOSS"), N - l.narr);
	/* In order, each at most once, undamaged. */
	uint32_t prev = 0;
	size_t bad = 0;
	for (size_t i = 0; i < l.narr; i++) {
		if (l.arr[i].diffbits != 0 || (i && l.arr[i].seq <= prev))
			bad++;
		prev = l.arr[i].seq;
	}
	CHECK_EQ(bad, 0);
	link_free(&l);

	/* No impairment: everything arrives. */
	REQUIRE(link_init(&l, 1, NULL, 100, N + 10) == 0);
	send_batches(&l, 5000, 400);
	CHECK_EQ(l.narr, 5000);
	link_free(&l);
	/* Loss 100%: nothing. */
	REQUIRE(link_init(&l, 1, "loss=100%", 100, N + 10) == 0);
	send_batches(&l, 1000, 400);
	CHECK_EQ(l.narr, 0);
	link_free(&l);
}

static void duplicate_rate(void)
{
	struct link l;
	enum { N = 20000 };
	REQUIRE(link_init(&l, 2, "dup=10%", 100, 2 * N) == 0);
	send_batches(&l, N, 400);
	uint8_t *seen = calloc(N, 1);
	size_t twice = 0, more = 0, damaged = 0;
	for (size_t i = 0; i < l.narr; i++) {
		if (l.arr[i].seq >= N || l.arr[i].diffbits) {
			damaged++;
			continue;
		}
		seen[l.arr[i].seq]++;
	}
	size_t missing = 0;
	for (size_t i = 0; i < N; i++) {
		missing += seen[i] == 0;
		twice += seen[i] == 2;
		more += seen[i] > 2;
	}
	CHECK_EQ(missing, 0);
	CHECK_EQ(more, 0);
	CHECK_EQ(damaged, 0);
	CHECK(binomial_ok("duplicated", (double)twice, N, 0.1, 5));
	CHECK_EQ(l.narr, N + twice);
	free(seen);
	link_free(&l);
}

static void corrupt_rate(void)
{
	struct link l;
	enum { N = 20000 };
	REQUIRE(link_init(&l, 3, "corrupt=5%", 1000, N + 10) == 0);
	send_batches(&l, N, 400);
	size_t damaged = 0, multi = 0;
	uint8_t *seen = calloc(N, 1);
	for (size_t i = 0; i < l.narr; i++) {
		if (l.arr[i].diffbits == UINT32_MAX || l.arr[i].diffbits > 1)
			multi++;
		else if (l.arr[i].diffbits == 1)
			damaged++;
		if (l.arr[i].seq < N)
			seen[l.arr[i].seq]++;
	}
	/* A flip in the destination MAC or the type makes the frame miss
	 * our handler: count those as corrupted too. */
	size_t lost = N - l.narr;
	CHECK_EQ(multi, 0); /* exactly one bit each */
	CHECK(binomial_ok("corrupted", (double)(damaged + lost), N, 0.05, 5));
	CHECK(lost < 20);
	for (size_t i = 0; i < N; i++)
		CHECK(seen[i] <= 1);
	free(seen);
	link_free(&l);
}

static void reorder_rate(void)
{
	struct link l;
	enum { N = 10000 };
	REQUIRE(link_init(&l, 4, "reorder=20%", 100, N + 10) == 0);
	for (uint32_t i = 0; i < N; i++) {
		send_one(&l);
		sim_run_for(&l.sim, 100 * US);
	}
	sim_run_for(&l.sim, 10 * MS);
	CHECK_EQ(l.narr, N);
	/* Late: arrived after a frame sent after it. */
	size_t late = 0, held = 0, badtime = 0;
	uint32_t maxseq = 0;
	for (size_t i = 0; i < l.narr; i++) {
		const struct arrival *a = &l.arr[i];
		if (i && a->seq < maxseq)
			late++;
		if (a->seq > maxseq)
			maxseq = a->seq;
		uint64_t d = a->time - l.sent_at[a->seq];
		if (d == 1 * MS)
			held++;
		else if (d != 0)
			badtime++;
	}
	CHECK(binomial_ok("held back", (double)held, N, 0.2, 5));
	CHECK(binomial_ok("late", (double)late, N, 0.2, 5));
	CHECK_EQ(badtime, 0);
	link_free(&l);
}

/* Lost sequence numbers: the loss rate and the mean burst length. */
static void loss_bursts(const struct link *l, uint32_t n, double *rate, double *mean_burst)
{
	uint8_t *got = calloc(n, 1);
	for (size_t i = 0; i < l->narr; i++)
		if (l->arr[i].seq < n)
			got[l->arr[i].seq] = 1;
	size_t lost = 0, bursts = 0;
	for (uint32_t i = 0; i < n; i++)
		if (!got[i]) {
			lost++;
			if (i == 0 || got[i - 1])
				bursts++;
		}
	*rate = (double)lost / n;
	*mean_burst = bursts ? (double)lost / (double)bursts : 0;
	free(got);
}

static void gilbert_elliott(void)
{
	enum { N = 60000 };
	struct link l;
	/* p = 1%, r = 25%: a quarter of the bad runs end each frame, so the
	 * mean burst is 1/r = 4 frames, and the loss p/(p+r) = 3.85%. */
	REQUIRE(link_init(&l, 5, "burst=1%/25%", 100, N + 10) == 0);
	send_batches(&l, N, 400);
	double rate, burst;
	loss_bursts(&l, N, &rate, &burst);
	CHECK(rate > 0.028 && rate < 0.050);
	CHECK(burst > 3.3 && burst < 4.8);
	fprintf(stderr, "  GE: loss %.4f, mean burst %.2f\n", rate, burst);
	CHECK_EQ(counter(l.sim.st[0], "Drop:NETEM_LOSS"), N - l.narr);
	link_free(&l);

	/* Independent loss of the same rate: bursts of about one. */
	REQUIRE(link_init(&l, 5, "loss=3.85%", 100, N + 10) == 0);
	send_batches(&l, N, 400);
	double rate2, burst2;
	loss_bursts(&l, N, &rate2, &burst2);
	CHECK(binomial_ok("lost", rate2 * N, N, 0.0385, 5));
	CHECK(burst2 > 1.0 && burst2 < 1.12);
	link_free(&l);

	/* Partial loss in both states: bad loses half, good 0.5%. Stationary
	 * bad share 4/26, so the loss is 4/26*0.5 + 22/26*0.005 = 8.1%. */
	REQUIRE(link_init(&l, 6, "burst=4%/22%/50%/0.5%", 100, N + 10) == 0);
	send_batches(&l, N, 400);
	loss_bursts(&l, N, &rate, &burst);
	CHECK(rate > 0.065 && rate < 0.097);
	CHECK(burst > 1.2);
	link_free(&l);
}

static void delay_and_jitter(void)
{
	enum { N = 3000 };
	struct link l;
	REQUIRE(link_init(&l, 7, "delay=5ms", 100, N + 10) == 0);
	for (uint32_t i = 0; i < N; i++) {
		send_one(&l);
		sim_run_for(&l.sim, 700 * US);
	}
	sim_run_for(&l.sim, 50 * MS);
	CHECK_EQ(l.narr, N);
	size_t bad = 0;
	for (size_t i = 0; i < l.narr; i++)
		if (l.arr[i].seq != i || l.arr[i].time - l.sent_at[l.arr[i].seq] != 5 * MS)
			bad++;
	CHECK_EQ(bad, 0);
	link_free(&l);

	REQUIRE(link_init(&l, 8, "delay=10ms,jitter=2ms", 100, N + 10) == 0);
	for (uint32_t i = 0; i < N; i++) {
		send_one(&l);
		sim_run_for(&l.sim, 700 * US);
	}
	sim_run_for(&l.sim, 50 * MS);
	CHECK_EQ(l.narr, N);
	uint64_t lo = UINT64_MAX, hi = 0;
	double sum = 0;
	bad = 0;
	for (size_t i = 0; i < l.narr; i++) {
		uint64_t d = l.arr[i].time - l.sent_at[l.arr[i].seq];
		if (d < 8 * MS || d > 12 * MS)
			bad++;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += (double)d;
	}
	double mean = sum / N;
	CHECK_EQ(bad, 0);
	CHECK(lo < 8 * MS + 100 * US);  /* the whole range is used */
	CHECK(hi > 12 * MS - 100 * US);
	/* Uniform on [8, 12] ms: sd 1.15 ms, of the mean of 3000: 0.021 ms. */
	CHECK(fabs(mean - 10e6) < 0.15e6);
	link_free(&l);

	/* Jitter larger than the delay: never negative. */
	REQUIRE(link_init(&l, 9, "delay=1ms,jitter=5ms", 100, N + 10) == 0);
	for (uint32_t i = 0; i < 500; i++) {
		send_one(&l);
		sim_run_for(&l.sim, 1 * MS);
	}
	sim_run_for(&l.sim, 50 * MS);
	CHECK_EQ(l.narr, 500);
	size_t zero = 0;
	bad = 0;
	for (size_t i = 0; i < l.narr; i++) {
		int64_t d = (int64_t)(l.arr[i].time - l.sent_at[l.arr[i].seq]);
		if (d < 0 || d > (int64_t)(6 * MS))
			bad++;
		zero += d == 0;
	}
	CHECK_EQ(bad, 0);
	CHECK(zero > 150); /* 4 of 10 draws fall below zero and are clamped */
	link_free(&l);
}

static void rate_limit(void)
{
	struct link l;
	/* 1 Mbit/s: a 1014-byte frame takes 8.112 ms on the wire. */
	REQUIRE(link_init(&l, 10, "rate=1mbit", 1000, 100) == 0);
	uint64_t t0 = us_clock_now(l.sim.clk);
	for (int i = 0; i < 50; i++)
		CHECK_EQ(send_one(&l), 0);
	sim_run_for(&l.sim, 1 * SEC);
	CHECK_EQ(l.narr, 50);
	uint64_t tx = (uint64_t)(ETH_HLEN + 1000) * 8 * SEC / 1000000;
	CHECK_EQ(tx, 8112000);
	size_t bad = 0;
	for (size_t i = 0; i < l.narr; i++)
		if (l.arr[i].seq != i || l.arr[i].time != t0 + (i + 1) * tx)
			bad++;
	CHECK_EQ(bad, 0);
	/* After a pause the link is idle again: no credit saved up, no
	 * backlog. */
	sim_run_for(&l.sim, 1 * SEC);
	uint64_t t1 = us_clock_now(l.sim.clk);
	send_one(&l);
	send_one(&l);
	sim_run_for(&l.sim, 100 * MS);
	CHECK_EQ(l.narr, 52);
	CHECK_EQ(l.arr[50].time, t1 + tx);
	CHECK_EQ(l.arr[51].time, t1 + 2 * tx);
	link_free(&l);

	/* The queue limit: 20 frames wait, the rest are dropped and counted. */
	REQUIRE(link_init(&l, 11, "rate=1mbit,limit=20", 1000, 100) == 0);
	int refused = 0;
	for (int i = 0; i < 50; i++)
		if (send_one(&l) == -ENOBUFS)
			refused++;
	CHECK_EQ(refused, 30);
	sim_run_for(&l.sim, 1 * SEC);
	CHECK_EQ(l.narr, 20);
	for (size_t i = 0; i < l.narr; i++)
		CHECK_EQ(l.arr[i].seq, i);
	CHECK_EQ(counter(l.sim.st[0], "Drop:QDISC_DROP"), 30);
	struct us_dev_stats st;
	REQUIRE(us_dev_stats(l.sim.st[0], l.ia, &st) == 0);
	CHECK_EQ(st.tx_dropped, 30);
	CHECK_EQ(st.tx_packets, 20);
	struct us_pool_stats ps;
	us_stack_pool_stats(l.sim.st[0], &ps);
	CHECK_EQ(ps.in_use, 0);
	link_free(&l);

	/* Rate and delay add up. */
	REQUIRE(link_init(&l, 12, "rate=8mbit,delay=3ms", 1000, 100) == 0);
	t0 = us_clock_now(l.sim.clk);
	send_one(&l);
	send_one(&l);
	sim_run_for(&l.sim, 100 * MS);
	REQUIRE(l.narr == 2);
	CHECK_EQ(l.arr[0].time, t0 + 1014000 + 3 * MS);
	CHECK_EQ(l.arr[1].time, t0 + 2 * 1014000 + 3 * MS);
	link_free(&l);
}

/* Everything at once, recorded. */
static size_t scenario(uint64_t sim_seed, const char *spec, struct arrival *out, size_t cap)
{
	struct link l;
	if (link_init(&l, sim_seed, spec, 200, cap) < 0)
		return 0;
	for (uint32_t i = 0; i < 3000; i++) {
		send_one(&l);
		sim_run_for(&l.sim, 300 * US);
	}
	sim_run_for(&l.sim, 100 * MS);
	size_t n = l.narr;
	memcpy(out, l.arr, n * sizeof(*out));
	link_free(&l);
	return n;
}

static void same_seed_same_result(void)
{
	enum { CAP = 8000 };
	struct arrival *a = calloc(CAP, sizeof(*a)), *b = calloc(CAP, sizeof(*b));
	const char *spec = "loss=5%,dup=5%,reorder=10%,corrupt=2%,delay=2ms,jitter=1ms,seed=77";
	size_t na = scenario(1, spec, a, CAP);
	size_t nb = scenario(1, spec, b, CAP);
	CHECK(na > 2500);
	CHECK_EQ(na, nb);
	CHECK(na == nb && memcmp(a, b, na * sizeof(*a)) == 0);
	/* The impairment seed, not the stacks', decides. */
	nb = scenario(2, spec, b, CAP);
	CHECK(na == nb && memcmp(a, b, na * sizeof(*a)) == 0);
	/* Another seed: another run. */
	nb = scenario(1, "loss=5%,dup=5%,reorder=10%,corrupt=2%,delay=2ms,jitter=1ms,seed=78", b, CAP);
	CHECK(na != nb || memcmp(a, b, na * sizeof(*a)) != 0);
	/* Without a seed of its own, the stack's seed decides. */
	const char *noseed = "loss=5%,dup=5%,reorder=10%,corrupt=2%,delay=2ms,jitter=1ms";
	na = scenario(3, noseed, a, CAP);
	nb = scenario(3, noseed, b, CAP);
	CHECK(na == nb && memcmp(a, b, na * sizeof(*a)) == 0);
	nb = scenario(4, noseed, b, CAP);
	CHECK(na != nb || memcmp(a, b, na * sizeof(*a)) != 0);
	free(a);
	free(b);
}

TEST_MAIN(T(parse_accepts), T(parse_rejects), T(loss_rate), T(duplicate_rate), T(corrupt_rate),
	  T(reorder_rate), T(gilbert_elliott), T(delay_and_jitter), T(rate_limit),
	  T(same_seed_same_result))

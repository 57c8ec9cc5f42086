/* IPv4 reassembly (RFC 791 3.2, RFC 815, RFC 5722 on overlaps, RFC 1122
 * 3.3.2 on the timer), driven through a stack: fragments of an ICMP echo
 * come in on a TUN-like device and the echo reply tells whether the
 * datagram was put together right. */
#include "test.h"
#include "sim.h"

#include "core/rand.h"
#include "core/stack.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#define MS 1000000ull
#define SEC 1000000000ull

struct rig {
	us_clock *clk;
	us_stack *s;
	struct peer p;
	uint32_t me, peer;
};

static int rig_init(struct rig *t, uint64_t seed)
{
	t->clk = us_clock_new_virtual(1 * SEC);
	struct us_stack_config c = { .clock = t->clk, .seed = seed };
	t->s = us_stack_new(&c);
	if (!t->s)
		return -1;
	t->me = ip4("10.0.0.1").s_addr;
	t->peer = ip4("10.0.0.2").s_addr;
	/* An IP device (no ARP): replies come straight out. */
	return peer_attach(&t->p, t->s, t->clk, "tun0", "10.0.0.1/24", true);
}

static void rig_free(struct rig *t)
{
	peer_detach(&t->p);
	us_stack_free(t->s);
	us_clock_free(t->clk);
}

static uint64_t ctr(const struct rig *t, const char *name)
{
	uint64_t v = 0;
	if (us_stack_counter(t->s, name, &v) < 0) {
		fprintf(stderr, "%s: no counter %s\n", test_current, name);
		test_failures++;
	}
	return v;
}

/* Sends bytes [off, off + len) of the datagram payload pl as a fragment. */
static void frag(struct rig *t, const uint8_t *pl, uint16_t id, uint32_t off, uint32_t len, bool mf)
{
	static uint8_t buf[70000];
	size_t n = build_ipv4(buf, true, NULL, NULL, t->peer, t->me, 1, id, (uint16_t)off, mf, 64,
			      pl + off, len);
	peer_inject(&t->p, buf, n);
}

/* An echo request of datalen bytes of data, to be fragmented. */
static size_t echo(uint8_t *pl, uint16_t id, size_t datalen)
{
	return build_icmp_echo(pl, ICMP_ECHO, id, (uint16_t)(id * 3), datalen);
}

/* Collects what the stack sends until one whole datagram is there (put
 * together if it came in fragments, which the stack sends in order).
 * Returns its length, 0 if none within max_ns. */
static size_t pop_datagram(struct rig *t, uint8_t *out, uint64_t max_ns)
{
	size_t have = 0, total = 0;
	bool last = false;
	uint64_t end = us_clock_now(t->clk) + max_ns;
	for (;;) {
		uint64_t now = us_clock_now(t->clk);
		const struct frame *f = peer_pop(&t->p, now < end ? end - now : 0);
		if (!f)
			return 0;
		struct ip_repr ip;
		if (ipv4_parse(f->data, f->len, &ip) != IPV4_OK) {
			CHECK(!"the stack sent a bad IP header");
			return 0;
		}
		uint32_t plen = ip.tot_len - ip.ihl;
		if (!ip.mf && ip.frag_off == 0) {
			memcpy(out, f->data, ip.tot_len);
			return ip.tot_len;
		}
		if (ip.frag_off == 0)
			memcpy(out, f->data, ip.ihl);
		memcpy(out + IPV4_HLEN + ip.frag_off, f->data + ip.ihl, plen);
		have += plen;
		if (!ip.mf) {
			last = true;
			total = ip.frag_off + plen;
		}
		if (last && have == total) {
			put_be16(out + 2, (uint16_t)(IPV4_HLEN + total));
			return IPV4_HLEN + total;
		}
	}
}

/* The reply to the echo pl (plen bytes) must come, and only it. */
static bool expect_reply(struct rig *t, const uint8_t *pl, size_t plen)
{
	static uint8_t d[70000];
	size_t n = pop_datagram(t, d, 1 * SEC);
	if (!n) {
		fprintf(stderr, "%s: no echo reply (%zu bytes)\n", test_current, plen);
		test_failures++;
		return false;
	}
	bool ok = n == IPV4_HLEN + plen && d[9] == 1 && d[IPV4_HLEN] == ICMP_ECHOREPLY &&
		  memcmp(d + 12, &t->me, 4) == 0 && memcmp(d + 16, &t->peer, 4) == 0 &&
		  memcmp(d + IPV4_HLEN + 4, pl + 4, plen - 4) == 0 &&
		  ip_compute_csum(d + IPV4_HLEN, plen) == 0;
	if (!ok) {
		fprintf(stderr, "%s: wrong echo reply (%zu bytes, want %zu)\n", test_current, n,
			IPV4_HLEN + plen);
		test_failures++;
	}
	return ok;
}

static bool nothing_sent(struct rig *t, uint64_t wait_ns)
{
	static uint8_t d[70000];
	return pop_datagram(t, d, wait_ns) == 0;
}

/* Fragments of size per (a multiple of 8), the last one what is left. */
static unsigned split(size_t plen, uint32_t per, uint32_t *off, uint32_t *len)
{
	unsigned n = 0;
	for (uint32_t o = 0; o < plen; o += per) {
		off[n] = o;
		len[n] = (uint32_t)(plen - o < per ? plen - o : per);
		n++;
	}
	return n;
}

static void send_order(struct rig *t, const uint8_t *pl, size_t plen, uint16_t id,
		       const uint32_t *off, const uint32_t *len, unsigned n, const unsigned *order)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned k = order[i];
		frag(t, pl, id, off[k], len[k], off[k] + len[k] < plen);
	}
}

static void in_order_and_reversed(void)
{
	struct rig t;
	REQUIRE(rig_init(&t, 1) == 0);
	static uint8_t pl[2000];
	uint32_t off[64], len[64];
	unsigned order[64];
	size_t plen = echo(pl, 100, 1001); /* odd: the last fragment is odd */
	unsigned n = split(plen, 104, off, len);
	CHECK_EQ(n, 10);
	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	send_order(&t, pl, plen, 100, off, len, n, order);
	expect_reply(&t, pl, plen);
	CHECK_EQ(ctr(&t, "IpReasmReqds"), n);
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 1);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 0);
	CHECK_EQ(ctr(&t, "IcmpInEchos"), 1);
	CHECK_EQ(ctr(&t, "IcmpOutEchoReps"), 1);
	CHECK_EQ(t.s->ip.frag.nqueues, 0);
	CHECK_EQ(t.s->ip.frag.mem, 0);
	CHECK(nothing_sent(&t, 100 * MS));

	plen = echo(pl, 101, 1400);
	n = split(plen, 64, off, len);
	for (unsigned i = 0; i < n; i++)
		order[i] = n - 1 - i;
	send_order(&t, pl, plen, 101, off, len, n, order);
	expect_reply(&t, pl, plen);
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 2);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 0);
	/* The first and the last alone, then the middle. */
	plen = echo(pl, 102, 600);
	n = split(plen, 200, off, len);
	CHECK_EQ(n, 4);
	unsigned o2[4] = { 0, 3, 2, 1 };
	send_order(&t, pl, plen, 102, off, len, n, o2);
	expect_reply(&t, pl, plen);
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 3);
	CHECK_EQ(t.s->ip.frag.nqueues, 0);
	rig_free(&t);
}

static void random_orders(void)
{
	struct rig t;
	REQUIRE(rig_init(&t, 2) == 0);
	struct prng r;
	prng_seed(&r, 815);
	static uint8_t pl[2000];
	uint32_t off[200], len[200];
	unsigned order[200];
	unsigned trials = 150, frags = 0;
	for (unsigned tr = 0; tr < trials; tr++) {
		uint16_t id = (uint16_t)(1000 + tr);
		/* At least two fragments each (one alone is no fragment). */
		size_t plen = echo(pl, id, 1 + prng_below(&r, 1464));
		uint32_t per = 8 * (1 + prng_below(&r, (uint32_t)US_MIN(185, (plen - 1) / 8)));
		unsigned n = split(plen, per, off, len);
		for (unsigned i = 0; i < n; i++)
			order[i] = i;
		for (unsigned i = n; i > 1; i--) {
			unsigned j = prng_below(&r, i);
			unsigned x = order[i - 1];
			order[i - 1] = order[j];
			order[j] = x;
		}
		send_order(&t, pl, plen, id, off, len, n, order);
		frags += n;
		if (!expect_reply(&t, pl, plen))
			break;
	}
	CHECK_EQ(ctr(&t, "IpReasmOKs"), trials);
	CHECK_EQ(ctr(&t, "IcmpOutEchoReps"), trials);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 0);
	CHECK_EQ(ctr(&t, "IpReasmReqds"), frags);
	CHECK_EQ(t.s->ip.frag.nqueues, 0);
	CHECK(nothing_sent(&t, 100 * MS));
	rig_free(&t);
}

/* Exact duplicates are dropped alone; the datagram still completes, once. */
static void duplicates(void)
{
	struct rig t;
	REQUIRE(rig_init(&t, 3) == 0);
	struct prng r;
	prng_seed(&r, 5722);
	static uint8_t pl[2000];
	uint32_t off[64], len[64];
	uint64_t dups = 0;
	for (unsigned tr = 0; tr < 20; tr++) {
		uint16_t id = (uint16_t)(7000 + tr);
		size_t plen = echo(pl, id, 1200);
		unsigned n = split(plen, 96, off, len);
		/* Every fragment but the completing one, each sent 1-3 times,
		 * interleaved; then the completing one. */
		unsigned last = prng_below(&r, n);
		unsigned cnt[64] = { 0 };
		unsigned left = 0;
		for (unsigned i = 0; i < n; i++)
			if (i != last) {
				cnt[i] = 1 + prng_below(&r, 3);
				left += cnt[i];
			}
		while (left) {
			unsigned k = prng_below(&r, n);
			if (!cnt[k])
				continue;
			frag(&t, pl, id, off[k], len[k], off[k] + len[k] < plen);
			cnt[k]--;
			left--;
		}
		uint64_t before = ctr(&t, "Drop:FRAG_DUPLICATE");
		CHECK(nothing_sent(&t, 0));
		frag(&t, pl, id, off[last], len[last], off[last] + len[last] < plen);
		expect_reply(&t, pl, plen);
		dups = ctr(&t, "Drop:FRAG_DUPLICATE");
		CHECK_EQ(dups, before);
	}
	CHECK(dups > 100);
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 20);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 0);
	CHECK_EQ(ctr(&t, "IcmpOutEchoReps"), 20);
	CHECK(nothing_sent(&t, 100 * MS));
	rig_free(&t);
}

/* RFC 5722: a fragment overlapping another (other than an exact
 * duplicate) discards the whole datagram. */
static void overlaps(void)
{
	struct rig t;
	REQUIRE(rig_init(&t, 4) == 0);
	static uint8_t pl[2000];
	size_t plen = echo(pl, 1, 1000); /* 1008 bytes */
	struct {
		const char *name;
		uint32_t ao, ae, bo, be;
		bool blast;
	} c[] = {
		{ "tail overlap", 0, 104, 96, 200, false },
		{ "head overlap", 104, 208, 0, 112, false },
		{ "contained", 0, 208, 104, 112, false },
		{ "containing", 104, 112, 0, 208, false },
		{ "same start, longer", 0, 104, 0, 112, false },
		{ "same end, earlier", 104, 208, 96, 208, false },
		{ "last overlaps", 0, 104, 96, (uint32_t)plen, true },
		{ "overlaps the last", 800, (uint32_t)plen, 792, 808, false },
	};
	uint64_t overl = 0, fails = 0, drops = 0;
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint16_t id = (uint16_t)(500 + i);
		plen = echo(pl, id, 1000);
		/* Some good fragments around, then the overlapping pair. */
		frag(&t, pl, id, 400, 104, true);
		frag(&t, pl, id, c[i].ao, c[i].ae - c[i].ao, c[i].ae < plen);
		CHECK_EQ(t.s->ip.frag.nqueues, 1);
		frag(&t, pl, id, c[i].bo, c[i].be - c[i].bo, !c[i].blast);
		overl++;
		fails++;
		drops += 3;
		if (ctr(&t, "IpExtReasmOverlaps") != overl || ctr(&t, "IpReasmFails") != fails ||
		    ctr(&t, "Drop:FRAG_OVERLAP") != drops || t.s->ip.frag.nqueues != 0) {
			fprintf(stderr, "%s: overlap case '%s' not handled as RFC 5722 asks\n",
				test_current, c[i].name);
			test_failures++;
			overl = ctr(&t, "IpExtReasmOverlaps");
			fails = ctr(&t, "IpReasmFails");
			drops = ctr(&t, "Drop:FRAG_OVERLAP");
		}
		CHECK_EQ(t.s->ip.frag.mem, 0);
	}
	CHECK(nothing_sent(&t, 100 * MS));
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 0);
	/* After a discard, the rest of the datagram alone cannot complete
	 * it; it times out without an error (its first fragment is gone). */
	uint16_t id = 600;
	plen = echo(pl, id, 1000);
	frag(&t, pl, id, 0, 104, true);
	frag(&t, pl, id, 96, 104, true); /* overlap: all dropped */
	for (uint32_t o = 104; o < plen; o += 104)
		frag(&t, pl, id, o, (uint32_t)(plen - o < 104 ? plen - o : 104), o + 104 < plen);
	CHECK(nothing_sent(&t, 40 * SEC));
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 0);
	CHECK_EQ(ctr(&t, "IpReasmTimeout"), 1);
	CHECK_EQ(ctr(&t, "IcmpOutTimeExcds"), 0);
	rig_free(&t);
}

static void too_many_fragments(void)
{
	struct rig t;
	REQUIRE(rig_init(&t, 5) == 0);
	unsigned max = t.s->ip.frag.max_frags;
	REQUIRE(max >= 8 && max <= 8000);
	static uint8_t pl[70000];
	/* Exactly max fragments of 8 bytes: fine. */
	size_t plen = echo(pl, 1, (size_t)max * 8 - ICMP_HLEN);
	for (unsigned i = 0; i < max; i++)
		frag(&t, pl, 1, i * 8, 8, i + 1 < max);
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 1);
	expect_reply(&t, pl, plen);
	/* One more than that: the datagram is given up as soon as the
	 * fragment over the limit comes, and its memory returned. */
	plen = echo(pl, 2, (size_t)(max + 1) * 8 - ICMP_HLEN);
	for (unsigned i = 0; i <= max; i++)
		frag(&t, pl, 2, i * 8, 8, true);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 1);
	CHECK_EQ(t.s->ip.frag.nqueues, 0);
	CHECK_EQ(t.s->ip.frag.mem, 0);
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 1);
	struct us_pool_stats st;
	us_stack_pool_stats(t.s, &st);
	CHECK(st.in_use < 10);
	CHECK(nothing_sent(&t, 100 * MS));
	rig_free(&t);
}

static void oversize(void)
{
	struct rig t;
	REQUIRE(rig_init(&t, 6) == 0);
	static uint8_t pl[70000];
	memset(pl, 0x5a, sizeof(pl));
	/* One fragment at the largest offset reaching past 65535. */
	frag(&t, pl, 1, 65528, 16, false);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 1);
	CHECK_EQ(ctr(&t, "Drop:FRAG_TOO_BIG"), 1);
	frag(&t, pl, 2, 65512, 8, true);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 2);
	CHECK_EQ(ctr(&t, "Drop:FRAG_TOO_BIG"), 2);

	/* The largest datagram there is: 20 + 65515 = 65535 bytes (ping -s
	 * 65507). It is put together, and the reply goes out in fragments. */
	size_t plen = echo(pl, 3, 65507);
	CHECK_EQ(plen, 65515);
	for (uint32_t o = 0; o < plen; o += 1480)
		frag(&t, pl, 3, o, (uint32_t)(plen - o < 1480 ? plen - o : 1480), o + 1480 < plen);
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 1);
	expect_reply(&t, pl, plen);
	CHECK(ctr(&t, "IpFragCreates") >= 45);

	/* One byte more: the last fragment would make 65536. */
	plen = echo(pl, 4, 65508);
	for (uint32_t o = 0; o < plen; o += 1480)
		frag(&t, pl, 4, o, (uint32_t)(plen - o < 1480 ? plen - o : 1480), o + 1480 < plen);
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 1);
	CHECK_EQ(ctr(&t, "Drop:FRAG_TOO_BIG"), 3);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 3);
	CHECK(nothing_sent(&t, 100 * MS));
	rig_free(&t);
}

/* Every fragment but the last carries a multiple of 8 bytes (RFC 791). */
static void bad_lengths(void)
{
	struct rig t;
	REQUIRE(rig_init(&t, 7) == 0);
	static uint8_t pl[2000];
	size_t plen = echo(pl, 9, 500);
	frag(&t, pl, 9, 0, 13, true);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 1);
	CHECK_EQ(ctr(&t, "Drop:FRAG_INVALID"), 1);
	frag(&t, pl, 9, 104, 100, true);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 2);
	frag(&t, pl, 9, 16, 0, true); /* empty, more to come */
	CHECK_EQ(ctr(&t, "IpReasmFails"), 3);
	CHECK_EQ(ctr(&t, "Drop:FRAG_INVALID"), 3);
	CHECK_EQ(t.s->ip.frag.nqueues, 0);
	/* A last fragment of any length is fine. */
	frag(&t, pl, 9, 0, 104, true);
	frag(&t, pl, 9, 104, (uint32_t)(plen - 104), false);
	CHECK_EQ(plen - 104, 404);
	expect_reply(&t, pl, plen);
	/* A second "last" that disagrees, and data beyond the last. */
	plen = echo(pl, 10, 500);
	frag(&t, pl, 10, 400, (uint32_t)(plen - 400), false);
	frag(&t, pl, 10, 200, 104, false); /* ends before the first last */
	CHECK_EQ(ctr(&t, "IpReasmFails"), 4);
	CHECK_EQ(t.s->ip.frag.nqueues, 0);
	frag(&t, pl, 10, 200, 104, false);
	frag(&t, pl, 10, 400, 104, true); /* beyond the end already known */
	CHECK_EQ(ctr(&t, "IpReasmFails"), 5);
	CHECK_EQ(t.s->ip.frag.nqueues, 0);
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 1);
	CHECK(nothing_sent(&t, 100 * MS));
	rig_free(&t);
}

/* RFC 1122 3.3.2 / RFC 792: after the reassembly timeout (30 s, Linux's
 * ipfrag_time), time exceeded code 1 if the first fragment came. */
static void timeout_with_first(void)
{
	struct rig t;
	REQUIRE(rig_init(&t, 8) == 0);
	static uint8_t pl[2000];
	size_t plen = echo(pl, 77, 1000);
	uint64_t t0 = us_clock_now(t.clk);
	frag(&t, pl, 77, 0, 104, true);
	frag(&t, pl, 77, 208, 104, true);
	CHECK_EQ(t.s->ip.frag.nqueues, 1);
	/* Not a moment before 30 s. */
	CHECK(peer_pop(&t.p, 30 * SEC - MS) == NULL);
	CHECK_EQ(t.s->ip.frag.nqueues, 1);
	CHECK_EQ(ctr(&t, "IpReasmTimeout"), 0);
	const struct frame *f = peer_pop(&t.p, 10 * MS);
	REQUIRE(f != NULL);
	CHECK(f->time - t0 >= 30 * SEC && f->time - t0 <= 30 * SEC + MS);
	struct ip_repr ip;
	REQUIRE(ipv4_parse(f->data, f->len, &ip) == IPV4_OK);
	CHECK_EQ(ip.protocol, 1);
	CHECK_EQ(ip.saddr, t.me);
	CHECK_EQ(ip.daddr, t.peer);
	struct icmp_repr ic;
	REQUIRE(icmp_parse(f->data + ip.ihl, ip.tot_len - ip.ihl, &ic) == ICMP_OK);
	CHECK_EQ(ic.type, ICMP_TIME_EXCEEDED);
	CHECK_EQ(ic.code, ICMP_EXC_FRAGTIME);
	/* It quotes the first fragment: its header and at least 8 bytes. */
	const uint8_t *q = f->data + ip.ihl + ICMP_HLEN;
	size_t qlen = ip.tot_len - ip.ihl - ICMP_HLEN;
	struct ip_repr qi;
	REQUIRE(qlen >= 28 && ipv4_parse_quoted(q, qlen, &qi) == IPV4_OK);
	CHECK_EQ(qi.id, 77);
	CHECK(qi.mf);
	CHECK_EQ(qi.frag_off, 0);
	CHECK_EQ(qi.saddr, t.peer);
	CHECK_EQ(qi.daddr, t.me);
	CHECK(memcmp(q + 20, pl, 8) == 0);
	CHECK_EQ(ctr(&t, "IpReasmTimeout"), 1);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 1);
	CHECK_EQ(ctr(&t, "IcmpOutTimeExcds"), 1);
	CHECK_EQ(ctr(&t, "Drop:FRAG_TIMEOUT"), 2);
	CHECK_EQ(t.s->ip.frag.nqueues, 0);
	CHECK_EQ(t.s->ip.frag.mem, 0);
	CHECK(nothing_sent(&t, 60 * SEC));
	/* The rest coming late starts afresh and does not complete. */
	for (uint32_t o = 104; o < plen; o += 104)
		frag(&t, pl, 77, o, (uint32_t)(plen - o < 104 ? plen - o : 104), o + 104 < plen);
	CHECK(nothing_sent(&t, 100 * MS));
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 0);
	rig_free(&t);
}

static void timeout_without_first(void)
{
	struct rig t;
	REQUIRE(rig_init(&t, 9) == 0);
	static uint8_t pl[2000];
	size_t plen = echo(pl, 78, 1000);
	for (uint32_t o = 104; o < plen; o += 104)
		frag(&t, pl, 78, o, (uint32_t)(plen - o < 104 ? plen - o : 104), o + 104 < plen);
	CHECK_EQ(t.s->ip.frag.nqueues, 1);
	CHECK(nothing_sent(&t, 30 * SEC - MS));
	CHECK_EQ(t.s->ip.frag.nqueues, 1);
	CHECK(nothing_sent(&t, 60 * SEC));
	CHECK_EQ(t.s->ip.frag.nqueues, 0);
	CHECK_EQ(ctr(&t, "IpReasmTimeout"), 1);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 1);
	CHECK_EQ(ctr(&t, "IcmpOutTimeExcds"), 0);
	CHECK_EQ(ctr(&t, "IcmpOutMsgs"), 0);
	/* Each queue has its own timer: two datagrams 10 s apart expire 10 s
	 * apart. */
	frag(&t, pl, 90, 0, 104, true);
	CHECK(peer_pop(&t.p, 10 * SEC) == NULL);
	frag(&t, pl, 91, 0, 104, true);
	CHECK_EQ(t.s->ip.frag.nqueues, 2);
	const struct frame *f = peer_pop(&t.p, 20 * SEC + 2 * MS);
	CHECK(f != NULL);
	CHECK_EQ(t.s->ip.frag.nqueues, 1);
	CHECK(peer_pop(&t.p, 10 * SEC - 5 * MS) == NULL);
	CHECK_EQ(t.s->ip.frag.nqueues, 1);
	f = peer_pop(&t.p, 10 * MS);
	CHECK(f != NULL);
	CHECK_EQ(t.s->ip.frag.nqueues, 0);
	CHECK_EQ(ctr(&t, "IpReasmTimeout"), 3);
	rig_free(&t);
}

/* The memory of pending fragments stays under ipfrag_high_thresh: the
 * oldest datagrams are given up to make room. */
static void memory_cap(void)
{
	struct rig t;
	REQUIRE(rig_init(&t, 10) == 0);
	struct ipfrag_state *fs = &t.s->ip.frag;
	static uint8_t pl[20][400];
	size_t plen[20];
	for (int i = 1; i < 20; i++)
		plen[i] = echo(pl[i], (uint16_t)i, 300);
	/* The cost of one held fragment, as the stack counts it. */
	frag(&t, pl[19], 19, 0, 104, true);
	uint64_t T = fs->mem;
	REQUIRE(T > 104);
	frag(&t, pl[19], 19, 104, (uint32_t)(plen[19] - 104), false);
	expect_reply(&t, pl[19], plen[19]);
	CHECK_EQ(fs->mem, 0);
	fs->high_thresh = 4 * T + T / 2;
	unsigned over = 0;
#define SEND(id, o, l, mf)                                  \
	do {                                                \
		frag(&t, pl[id], (uint16_t)(id), o, l, mf); \
		if (fs->mem > fs->high_thresh)              \
			over++;                             \
	} while (0)

	/* Six first fragments: the two oldest datagrams go. */
	for (int i = 1; i <= 6; i++)
		SEND(i, 0, 104, true);
	CHECK_EQ(fs->nqueues, 4);
	CHECK_EQ(ctr(&t, "IpReasmFails"), 2);
	CHECK_EQ(ctr(&t, "Drop:FRAG_MEMLIMIT"), 2);
	/* The newest completes. */
	SEND(6, 104, (uint32_t)(plen[6] - 104), false);
	expect_reply(&t, pl[6], plen[6]);
	/* The oldest do not: their first fragments were dropped. */
	SEND(1, 104, (uint32_t)(plen[1] - 104), false);
	SEND(2, 104, (uint32_t)(plen[2] - 104), false);
	CHECK(nothing_sent(&t, 100 * MS));
	/* The ones in between are still there. */
	SEND(5, 104, (uint32_t)(plen[5] - 104), false);
	expect_reply(&t, pl[5], plen[5]);
	CHECK_EQ(ctr(&t, "IpReasmOKs"), 3); /* 19, 6, 5 */
	CHECK_EQ(over, 0);

	/* Growing datagrams already pending counts too: middle fragments of
	 * four held datagrams must not take the memory over the cap. */
	for (int i = 10; i <= 13; i++)
		SEND(i, 0, 104, true);
	for (int i = 10; i <= 13; i++)
		SEND(i, 104, 104, true);
	if (over)
		fprintf(stderr, "%s: fragment memory went over ipfrag_high_thresh %u times "
			"(%llu > %llu)\n", test_current, over, (unsigned long long)fs->mem,
			(unsigned long long)fs->high_thresh);
	CHECK_EQ(over, 0);
	CHECK(fs->mem <= fs->high_thresh);
#undef SEND
	rig_free(&t);
}

TEST_MAIN(T(in_order_and_reversed), T(random_orders), T(duplicates), T(overlaps),
	  T(too_many_fragments), T(oversize), T(bad_lengths), T(timeout_with_first),
	  T(timeout_without_first), T(memory_cap))

/* Forwarding (RFC 1812) across three stacks under virtual time:
 *
 *   A 10.1.0.1 (a0) --- (r0) 10.1.0.2  R  10.2.0.2 (r1) --- (b0) 10.2.0.1 B
 *
 * A and B route everything through R; R forwards. Captures on A and B
 * play tcpdump. */
#include "test.h"
#include "sim.h"
#include "nettest.h"

#define SEC 1000000000ull
#define MS 1000000ull

struct net3 {
	struct sim sim;
	us_stack *a, *r, *b;
	int ia, ir0, ir1, ib;
	uint32_t a_addr, r0_addr, r1_addr, b_addr;
	struct capture cap_a, cap_b;
};

static void net3_init(struct net3 *n, uint64_t seed)
{
	memset(n, 0, sizeof(*n));
	sim_init(&n->sim, 3, seed);
	n->a = n->sim.st[0];
	n->r = n->sim.st[1];
	n->b = n->sim.st[2];
	if (sim_link(&n->sim, 0, "a0", "10.1.0.1/24", 1, "r0", "10.1.0.2/24", &n->ia, &n->ir0) ||
	    sim_link(&n->sim, 1, "r1", "10.2.0.2/24", 2, "b0", "10.2.0.1/24", &n->ir1, &n->ib))
		abort();
	n->a_addr = ip4("10.1.0.1").s_addr;
	n->r0_addr = ip4("10.1.0.2").s_addr;
	n->r1_addr = ip4("10.2.0.2").s_addr;
	n->b_addr = ip4("10.2.0.1").s_addr;
	if (us_route_add(n->a, ip4("0.0.0.0"), 0, ip4("10.1.0.2"), 0) < 0 ||
	    us_route_add(n->b, ip4("0.0.0.0"), 0, ip4("10.2.0.2"), 0) < 0)
		abort();
	us_set_forwarding(n->r, true);
	sim_run_for(&n->sim, 10 * MS); /* gratuitous ARPs */
	cap_start(&n->cap_a, n->a, n->ia);
	cap_start(&n->cap_b, n->b, n->ib);
}

static void net3_free(struct net3 *n)
{
	cap_stop(&n->cap_a);
	cap_stop(&n->cap_b);
	sim_free(&n->sim);
}

/* The echo reply with this sequence number that A received (NULL if none). */
static const struct cap_pkt *a_reply(struct net3 *n, uint16_t seq, struct icmp_pkt *ip)
{
	for (size_t i = 0;; i++) {
		const struct cap_pkt *k = cap_find_icmp(&n->cap_a, false, ICMP_ECHOREPLY, i, ip);
		if (!k || icmp_echo_seq(&ip->icmp) == seq)
			return k;
	}
}

/* The echo request A sent with this sequence number (its IP packet). */
static const struct cap_pkt *a_request(struct net3 *n, uint16_t seq)
{
	struct icmp_pkt ip;
	for (size_t i = 0;; i++) {
		const struct cap_pkt *k = cap_find_icmp(&n->cap_a, true, ICMP_ECHO, i, &ip);
		if (!k || icmp_echo_seq(&ip.icmp) == seq)
			return k;
	}
}

static void ping_through_router(void)
{
	struct net3 n;
	net3_init(&n, 1);
	struct snap sr, sb;
	snap_take(&sr, n.r);
	snap_take(&sb, n.b);
	for (uint16_t seq = 1; seq <= 5; seq++) {
		REQUIRE(stack_send_echo(n.a, n.a_addr, n.b_addr, 0x1111, seq, 56, 0, false) == 0);
		sim_run_for(&n.sim, 1 * SEC);
	}
	for (uint16_t seq = 1; seq <= 5; seq++) {
		struct icmp_pkt ip;
		const struct cap_pkt *k = a_reply(&n, seq, &ip);
		CHECK(k != NULL);
		if (!k)
			continue;
		CHECK_EQ(ip.ip.saddr, n.b_addr);
		CHECK_EQ(ip.ip.daddr, n.a_addr);
		CHECK_EQ(ip.ip.ttl, 63); /* B's 64, one router */
		CHECK_EQ(ip.body_len, 56);
		CHECK_EQ(icmp_echo_id(&ip.icmp), 0x1111);
	}
	/* What B saw: the request with its TTL decremented once. */
	struct icmp_pkt bq;
	REQUIRE(cap_find_icmp(&n.cap_b, false, ICMP_ECHO, 0, &bq) != NULL);
	CHECK_EQ(bq.ip.ttl, 63);
	CHECK_EQ(bq.ip.saddr, n.a_addr);
	CHECK_EQ(cap_count_icmp(&n.cap_b, false, ICMP_ECHO), 5);
	/* Five requests and five replies went through R. */
	CHECK_EQ(snap_delta(&sr, "IpForwDatagrams"), 10);
	CHECK_EQ(snap_delta(&sr, "IpInReceives"), 10);
	CHECK_EQ(snap_delta(&sr, "IpInDelivers"), 0);
	CHECK_EQ(snap_delta(&sr, "IcmpOutMsgs"), 0);
	CHECK_EQ(snap_delta(&sb, "IcmpInEchos"), 5);
	CHECK_EQ(snap_delta(&sb, "IcmpOutEchoReps"), 5);
	CHECK_EQ(ctr(n.a, "IcmpInEchoReps"), 5);
	net3_free(&n);
}

/* RFC 1812 5.3.1 / RFC 792: a datagram whose TTL runs out at R is
 * discarded and its source gets a time exceeded from R, quoting the
 * datagram as it arrived. */
static void ttl_expiry_time_exceeded(void)
{
	struct net3 n;
	net3_init(&n, 2);
	/* Resolve the path first so that the only ICMP is the one we want. */
	REQUIRE(stack_send_echo(n.a, n.a_addr, n.b_addr, 0x2222, 1, 8, 0, false) == 0);
	sim_run_for(&n.sim, 1 * SEC);
	REQUIRE(a_reply(&n, 1, &(struct icmp_pkt){ 0 }) != NULL);
	cap_clear(&n.cap_a);
	cap_clear(&n.cap_b);
	struct snap sr, sa, sb;
	snap_take(&sr, n.r);
	snap_take(&sa, n.a);
	snap_take(&sb, n.b);

	REQUIRE(stack_send_echo(n.a, n.a_addr, n.b_addr, 0x2222, 2, 56, 1, false) == 0);
	sim_run_for(&n.sim, 1 * SEC);
	const struct cap_pkt *req = a_request(&n, 2);
	REQUIRE(req != NULL);
	CHECK_EQ(req->len, 84);
	struct icmp_pkt te;
	REQUIRE(cap_find_icmp(&n.cap_a, false, ICMP_TIME_EXCEEDED, 0, &te) != NULL);
	CHECK_EQ(te.icmp.code, ICMP_EXC_TTL);
	CHECK_EQ(te.ip.saddr, n.r0_addr);   /* the router, not B */
	CHECK_EQ(te.ip.daddr, n.a_addr);
	CHECK_EQ(te.ip.tos & 0xe0, 0xc0);   /* internetwork control */
	CHECK_EQ(te.icmp.rest, 0);          /* unused word */
	/* The quote: the whole original datagram (it is under 548 bytes),
	 * byte for byte, TTL 1 as it arrived. */
	CHECK_EQ(te.body_len, req->len);
	CHECK(te.body_len == req->len && memcmp(te.body, req->data, req->len) == 0);
	CHECK_EQ(te.body[8], 1);
	CHECK_EQ(cap_count_icmp(&n.cap_a, false, -1), 1);
	CHECK_EQ(cap_count_icmp(&n.cap_b, false, -1), 0);
	CHECK_EQ(snap_delta(&sr, "IcmpOutTimeExcds"), 1);
	CHECK_EQ(snap_delta(&sr, "IcmpOutMsgs"), 1);
	CHECK_EQ(snap_delta(&sr, "IpInHdrErrors"), 1); /* as Linux counts it */
	CHECK_EQ(snap_delta(&sr, "Drop:IP_TTL"), 1);
	CHECK_EQ(snap_delta(&sr, "IpForwDatagrams"), 0);
	CHECK_EQ(snap_delta(&sa, "IcmpInTimeExcds"), 1);
	CHECK_EQ(snap_delta(&sb, "IpInReceives"), 0);

	/* TTL 2 is enough for one router: B gets it with TTL 1 and answers. */
	cap_clear(&n.cap_b);
	REQUIRE(stack_send_echo(n.a, n.a_addr, n.b_addr, 0x2222, 3, 56, 2, false) == 0);
	sim_run_for(&n.sim, 1 * SEC);
	struct icmp_pkt bq, rep;
	REQUIRE(cap_find_icmp(&n.cap_b, false, ICMP_ECHO, 0, &bq) != NULL);
	CHECK_EQ(bq.ip.ttl, 1);
	CHECK(a_reply(&n, 3, &rep) != NULL);
	CHECK_EQ(snap_delta(&sr, "IcmpOutTimeExcds"), 1);
	net3_free(&n);
}

/* Reassembles the fragments of one datagram found in a capture (incoming,
 * from saddr); returns its length or 0. Also reports how many fragments
 * there were and checks the 8-byte rule. */
static size_t reassemble(const struct capture *c, uint32_t saddr, uint8_t *out, size_t outlen,
			 unsigned *nfrags, unsigned *lens, size_t maxlens)
{
	size_t total = 0;
	bool have_last = false;
	size_t got = 0;
	unsigned nf = 0;
	uint8_t hdr[IPV4_MAX_HLEN];
	unsigned hl = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct cap_pkt *k = &c->pkts[i];
		struct ip_repr ip;
		if (k->out || k->proto != ETH_P_IP || ipv4_parse(k->data, k->len, &ip) != IPV4_OK ||
		    ip.saddr != saddr || (!ip.mf && !ip.frag_off))
			continue;
		size_t plen = ip.tot_len - ip.ihl;
		if (ip.frag_off + plen > outlen)
			return 0;
		if (ip.mf && (plen % 8))
			return 0;
		memcpy(out + IPV4_MAX_HLEN + ip.frag_off, k->data + ip.ihl, plen);
		if (ip.frag_off == 0) {
			hl = ip.ihl;
			memcpy(hdr, k->data, hl);
		}
		if (!ip.mf) {
			have_last = true;
			total = ip.frag_off + plen;
		}
		if (nf < maxlens)
			lens[nf] = (unsigned)ip.tot_len;
		got += plen;
		nf++;
	}
	*nfrags = nf;
	if (!have_last || got != total || !hl)
		return 0;
	memmove(out + hl, out + IPV4_MAX_HLEN, total);
	memcpy(out, hdr, hl);
	ipv4_set_frag(out, 0, false, (uint16_t)(hl + total));
	return hl + total;
}

/* RFC 791 3.2: R fragments what does not fit the R-B link; B reassembles
 * and its (fragmented) answer is reassembled by A. */
static void fragmentation_smaller_mtu(void)
{
	struct net3 n;
	net3_init(&n, 3);
	REQUIRE(us_dev_set_mtu(n.r, n.ir1, 1000) == 0);
	REQUIRE(us_dev_set_mtu(n.b, n.ib, 1000) == 0);
	CHECK_EQ(us_dev_get_mtu(n.r, n.ir1), 1000);
	struct snap sr, sa, sb;
	snap_take(&sr, n.r);
	snap_take(&sa, n.a);
	snap_take(&sb, n.b);

	/* 1428 bytes: fits A's 1500, not R-B's 1000. */
	REQUIRE(stack_send_echo(n.a, n.a_addr, n.b_addr, 0x3333, 1, 1400, 0, false) == 0);
	sim_run_for(&n.sim, 1 * SEC);
	static uint8_t buf[70000];
	unsigned nf = 0, lens[16];
	size_t len = reassemble(&n.cap_b, n.a_addr, buf, sizeof(buf), &nf, lens, 16);
	CHECK_EQ(nf, 2);
	CHECK_EQ(lens[0], 996);   /* 20 + 976 (a multiple of 8) */
	CHECK_EQ(lens[1], 452);   /* 20 + 432: 1408 bytes of ICMP in all */
	REQUIRE(len == 1428);
	struct icmp_pkt q;
	CHECK(parse_icmp_pkt(buf, len, &q));
	CHECK_EQ(q.icmp.type, ICMP_ECHO);
	CHECK_EQ(q.body_len, 1400);
	CHECK_EQ(snap_delta(&sr, "IpFragOKs"), 1);
	CHECK_EQ(snap_delta(&sr, "IpFragCreates"), 2);
	CHECK_EQ(snap_delta(&sb, "IpReasmReqds"), 2);
	CHECK_EQ(snap_delta(&sb, "IpReasmOKs"), 1);
	CHECK_EQ(snap_delta(&sb, "IcmpInEchos"), 1);
	/* B's reply is fragmented by B itself (its MTU is 1000 too). */
	CHECK_EQ(snap_delta(&sb, "IpFragOKs"), 1);
	len = reassemble(&n.cap_a, n.b_addr, buf, sizeof(buf), &nf, lens, 16);
	CHECK_EQ(nf, 2);
	REQUIRE(len == 1428);
	struct icmp_pkt r;
	REQUIRE(parse_icmp_pkt(buf, len, &r));
	CHECK_EQ(r.icmp.type, ICMP_ECHOREPLY);
	CHECK_EQ(icmp_echo_seq(&r.icmp), 1);
	CHECK_EQ(r.body_len, 1400);
	bool pattern = true;
	for (size_t i = 0; i < r.body_len; i++)
		pattern &= r.body[i] == (uint8_t)i;
	CHECK(pattern);
	CHECK_EQ(snap_delta(&sa, "IpReasmOKs"), 1);
	CHECK_EQ(snap_delta(&sa, "IcmpInEchoReps"), 1);
	/* One datagram one way, two fragments back. */
	CHECK_EQ(snap_delta(&sr, "IpForwDatagrams"), 3);

	/* 5008 bytes: A fragments at 1500 (3 x 1480 + 568), R splits each
	 * 1500-byte fragment again (976 + 504); the last fits. */
	cap_clear(&n.cap_a);
	cap_clear(&n.cap_b);
	snap_take(&sr, n.r);
	snap_take(&sa, n.a);
	REQUIRE(stack_send_echo(n.a, n.a_addr, n.b_addr, 0x3333, 2, 5000, 0, false) == 0);
	sim_run_for(&n.sim, 1 * SEC);
	len = reassemble(&n.cap_b, n.a_addr, buf, sizeof(buf), &nf, lens, 16);
	CHECK_EQ(nf, 7);
	CHECK_EQ(len, 5028);
	CHECK_EQ(snap_delta(&sa, "IpFragCreates"), 4);
	CHECK_EQ(snap_delta(&sr, "IpFragOKs"), 3);
	CHECK_EQ(snap_delta(&sr, "IpFragCreates"), 6);
	CHECK_EQ(snap_delta(&sa, "IcmpInEchoReps"), 1);
	len = reassemble(&n.cap_a, n.b_addr, buf, sizeof(buf), &nf, lens, 16);
	CHECK_EQ(nf, 6); /* 5 x 976 + 128 */
	CHECK_EQ(len, 5028);
	CHECK_EQ(snap_delta(&sr, "IpForwDatagrams"), 4 + 6);
	net3_free(&n);
}

/* RFC 1191: a DF datagram too big for the next hop is dropped and the
 * source told the next-hop MTU (type 3 code 4). */
static void df_too_big_frag_needed(void)
{
	struct net3 n;
	net3_init(&n, 4);
	REQUIRE(us_dev_set_mtu(n.r, n.ir1, 1000) == 0);
	REQUIRE(us_dev_set_mtu(n.b, n.ib, 1000) == 0);
	/* A DF packet that fits goes through. */
	REQUIRE(stack_send_echo(n.a, n.a_addr, n.b_addr, 0x4444, 1, 900, 0, true) == 0);
	sim_run_for(&n.sim, 1 * SEC);
	struct icmp_pkt ok;
	CHECK(a_reply(&n, 1, &ok) != NULL);
	cap_clear(&n.cap_a);
	cap_clear(&n.cap_b);
	struct snap sr, sb, sa;
	snap_take(&sr, n.r);
	snap_take(&sb, n.b);
	snap_take(&sa, n.a);

	REQUIRE(stack_send_echo(n.a, n.a_addr, n.b_addr, 0x4444, 2, 1400, 0, true) == 0);
	sim_run_for(&n.sim, 1 * SEC);
	const struct cap_pkt *req = a_request(&n, 2);
	REQUIRE(req != NULL);
	struct icmp_pkt fn;
	REQUIRE(cap_find_icmp(&n.cap_a, false, ICMP_DEST_UNREACH, 0, &fn) != NULL);
	CHECK_EQ(fn.icmp.code, ICMP_FRAG_NEEDED);
	CHECK_EQ(fn.ip.saddr, n.r0_addr);
	CHECK_EQ(fn.ip.daddr, n.a_addr);
	CHECK_EQ(icmp_frag_mtu(&fn.icmp), 1000);   /* next-hop MTU */
	CHECK_EQ(fn.icmp.rest >> 16, 0);           /* unused half */
	/* Quote: the IP header and at least 8 bytes of data, unchanged. */
	REQUIRE(fn.body_len >= 28);
	CHECK(memcmp(fn.body, req->data, 28) == 0);
	CHECK_EQ(fn.body_len, 576 - 20 - 8); /* as much as fits in 576 */
	CHECK_EQ(snap_delta(&sr, "IcmpOutDestUnreachs"), 1);
	CHECK_EQ(snap_delta(&sr, "IpFragFails"), 1);
	CHECK_EQ(snap_delta(&sr, "Drop:IP_FRAG_NEEDED"), 1);
	CHECK_EQ(snap_delta(&sr, "IpForwDatagrams"), 0);
	CHECK_EQ(snap_delta(&sr, "IpFragCreates"), 0);
	CHECK_EQ(snap_delta(&sb, "IpInReceives"), 0);
	CHECK_EQ(snap_delta(&sa, "IcmpInDestUnreachs"), 1);
	CHECK(a_reply(&n, 2, &ok) == NULL);
	net3_free(&n);
}

/* ip_forward = 0: R is a host; a datagram for someone else is dropped
 * silently and counted as an address error (no ICMP, as Linux). */
static void forwarding_off_drops(void)
{
	struct net3 n;
	net3_init(&n, 5);
	us_set_forwarding(n.r, false);
	struct snap sr, sb, sa;
	snap_take(&sr, n.r);
	snap_take(&sb, n.b);
	snap_take(&sa, n.a);
	for (uint16_t seq = 1; seq <= 3; seq++)
		REQUIRE(stack_send_echo(n.a, n.a_addr, n.b_addr, 0x5555, seq, 56, 0, false) == 0);
	sim_run_for(&n.sim, 2 * SEC);
	CHECK_EQ(snap_delta(&sr, "IpInReceives"), 3);
	CHECK_EQ(snap_delta(&sr, "IpInAddrErrors"), 3);
	CHECK_EQ(snap_delta(&sr, "Drop:IP_INADDRERRORS"), 3);
	CHECK_EQ(snap_delta(&sr, "IpForwDatagrams"), 0);
	CHECK_EQ(snap_delta(&sr, "IcmpOutMsgs"), 0);
	CHECK_EQ(snap_delta(&sb, "IpInReceives"), 0);
	CHECK_EQ(snap_delta(&sa, "IcmpInMsgs"), 0);
	CHECK_EQ(cap_count_icmp(&n.cap_a, false, -1), 0);
	/* And on again: the same ping works. */
	us_set_forwarding(n.r, true);
	REQUIRE(stack_send_echo(n.a, n.a_addr, n.b_addr, 0x5555, 4, 56, 0, false) == 0);
	sim_run_for(&n.sim, 1 * SEC);
	struct icmp_pkt r;
	CHECK(a_reply(&n, 4, &r) != NULL);
	CHECK_EQ(snap_delta(&sr, "IpForwDatagrams"), 2);
	net3_free(&n);
}

/* No route at R: ICMP network unreachable from R (RFC 1812 5.2.7.1). */
static void no_route_net_unreachable(void)
{
	struct net3 n;
	net3_init(&n, 6);
	struct snap sr, sa;
	snap_take(&sr, n.r);
	snap_take(&sa, n.a);
	uint32_t far = ip4("10.3.0.5").s_addr;
	REQUIRE(stack_send_echo(n.a, n.a_addr, far, 0x6666, 1, 56, 0, false) == 0);
	sim_run_for(&n.sim, 1 * SEC);
	const struct cap_pkt *req = a_request(&n, 1);
	REQUIRE(req != NULL);
	struct icmp_pkt u;
	REQUIRE(cap_find_icmp(&n.cap_a, false, ICMP_DEST_UNREACH, 0, &u) != NULL);
	CHECK_EQ(u.icmp.code, ICMP_NET_UNREACH);
	CHECK_EQ(u.ip.saddr, n.r0_addr);
	CHECK_EQ(u.ip.daddr, n.a_addr);
	CHECK_EQ(u.body_len, req->len);
	CHECK(u.body_len == req->len && memcmp(u.body, req->data, req->len) == 0);
	CHECK_EQ(snap_delta(&sr, "IpExtInNoRoutes"), 1);
	CHECK_EQ(snap_delta(&sr, "Drop:IP_INNOROUTES"), 1);
	CHECK_EQ(snap_delta(&sr, "IcmpOutDestUnreachs"), 1);
	CHECK_EQ(snap_delta(&sr, "IpForwDatagrams"), 0);
	CHECK_EQ(snap_delta(&sr, "IpOutNoRoutes"), 0);
	CHECK_EQ(snap_delta(&sa, "IcmpInDestUnreachs"), 1);
	/* A route makes it forwardable (to nobody: R then asks ARP on r1). */
	REQUIRE(us_route_add(n.r, ip4("10.3.0.0"), 24, ip4("10.2.0.1"), 0) == 0);
	snap_take(&sr, n.r);
	REQUIRE(stack_send_echo(n.a, n.a_addr, far, 0x6666, 2, 56, 0, false) == 0);
	sim_run_for(&n.sim, 1 * SEC);
	CHECK_EQ(snap_delta(&sr, "IpForwDatagrams"), 1);
	CHECK_EQ(snap_delta(&sr, "IpExtInNoRoutes"), 0);
	net3_free(&n);
}

/* A longer conversation with loss on both links: every exchange that R
 * saw whole is counted once per direction. */
static void forwarding_counts_under_loss(void)
{
	struct net3 n;
	net3_init(&n, 7);
	struct us_impair imp;
	char err[128];
	REQUIRE(us_impair_parse("loss=10%,delay=1ms", &imp, err, sizeof(err)) == 0);
	us_dev_set_impair(n.a, n.ia, &imp);
	us_dev_set_impair(n.b, n.ib, &imp);
	struct snap sr, sb, sa;
	snap_take(&sr, n.r);
	snap_take(&sb, n.b);
	snap_take(&sa, n.a);
	for (uint16_t seq = 1; seq <= 200; seq++) {
		REQUIRE(stack_send_echo(n.a, n.a_addr, n.b_addr, 0x7777, seq, 32, 0, false) == 0);
		sim_run_for(&n.sim, 20 * MS);
	}
	sim_run_for(&n.sim, 3 * SEC);
	int64_t reqs_at_b = snap_delta(&sb, "IcmpInEchos");
	int64_t reps_at_a = snap_delta(&sa, "IcmpInEchoReps");
	CHECK(reqs_at_b > 150 && reqs_at_b < 200);
	CHECK(reps_at_a > 120 && reps_at_a <= reqs_at_b);
	/* R's own links are clean: it forwarded every request B got and
	 * every reply A got, and nothing else. */
	CHECK_EQ(snap_delta(&sr, "IpForwDatagrams"), reqs_at_b + reps_at_a);
	CHECK_EQ(snap_delta(&sr, "IpForwDatagrams"), snap_delta(&sr, "IpInReceives"));
	net3_free(&n);
}

TEST_MAIN(T(ping_through_router), T(ttl_expiry_time_exceeded), T(fragmentation_smaller_mtu),
	  T(df_too_big_frag_needed), T(forwarding_off_drops), T(no_route_net_unreachable),
	  T(forwarding_counts_under_loss))

/* ICMP (RFC 792, RFC 1122 3.2.2, RFC 1812 4.3.2) against a scripted peer:
 * when errors are and are not sent, what they carry, the rate limit, echo
 * with options, and the counters. The stack (10.0.0.1, forwarding on, a
 * route 10.9/16 via 10.0.0.3) faces the peer 10.0.0.2 on cb0. */
#include "test.h"
#include "sim.h"
#include "nettest.h"
#include "ustack/socket.h"
#include "ustack/sysctl.h"

#define SEC 1000000000ull
#define MS 1000000ull

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast_all_hosts[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t gw_mac[6] = { 0x02, 0, 0, 0, 0, 0x03 };

struct host {
	struct sim sim;
	us_stack *s;
	struct peer p;
	uint32_t me, peer_ip, far;
};

static void host_init(struct host *h, uint64_t seed)
{
	memset(h, 0, sizeof(*h));
	sim_init(&h->sim, 1, seed);
	h->s = h->sim.st[0];
	if (peer_attach(&h->p, h->s, h->sim.clk, "cb0", "10.0.0.1/24", false) < 0)
		abort();
	h->me = ip4("10.0.0.1").s_addr;
	h->peer_ip = ip4("10.0.0.2").s_addr;
	h->far = ip4("10.9.0.5").s_addr;
	peer_set_neigh(&h->p, h->peer_ip, NULL);
	peer_set_neigh(&h->p, ip4("10.0.0.3").s_addr, gw_mac);
	us_set_forwarding(h->s, true);
	if (us_route_add(h->s, ip4("10.9.0.0"), 16, ip4("10.0.0.3"), 0) < 0)
		abort();
	us_stack_poll(h->s);
	peer_clear(&h->p);
}

static void host_free(struct host *h)
{
	peer_detach(&h->p);
	sim_free(&h->sim);
}

struct pkt_spec {
	const uint8_t *eth_dst;  /* NULL: the stack's MAC */
	uint32_t saddr, daddr;
	uint8_t proto, ttl, tos;
	uint16_t id, frag_off;
	bool mf, df;
	const uint8_t *opts;
	size_t optlen;
	const void *payload;
	size_t plen;
};

/* Builds the frame of spec into fr; returns its length; *ipstart = the IP
 * header inside fr. */
static size_t build(struct host *h, const struct pkt_spec *sp, uint8_t *fr)
{
	struct ip_repr ip = {
		.tos = sp->tos,
		.id = sp->id,
		.df = sp->df,
		.mf = sp->mf,
		.frag_off = sp->frag_off,
		.ttl = sp->ttl ? sp->ttl : 64,
		.protocol = sp->proto,
		.saddr = sp->saddr,
		.daddr = sp->daddr,
	};
	return build_ip_opts(fr, false, sp->eth_dst ? sp->eth_dst : h->p.stack_mac, h->p.mac, &ip,
			     sp->opts, sp->optlen, sp->payload, sp->plen);
}

static void inject(struct host *h, const struct pkt_spec *sp)
{
	uint8_t fr[2000];
	size_t n = build(h, sp, fr);
	peer_inject(&h->p, fr, n);
}

/* Frames the stack sends within ns (and discards them). */
static size_t count_out(struct host *h, uint64_t ns)
{
	sim_run_for(&h->sim, ns);
	size_t n = peer_pending(&h->p);
	peer_clear(&h->p);
	return n;
}

static const uint8_t junk[32] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

/* RFC 1122 3.2.2.1: protocol unreachable for an unknown protocol, quoting
 * the datagram (as much as fits in 576 bytes, RFC 1812 4.3.2.3). */
static void protocol_unreachable(void)
{
	struct host h;
	host_init(&h, 21);
	struct snap sn;
	snap_take(&sn, h.s);
	struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.me, .proto = 253, .id = 0x1001,
			       .tos = 0x10, .payload = junk, .plen = 30 };
	uint8_t fr[2000];
	size_t n = build(&h, &sp, fr);
	peer_inject(&h.p, fr, n);
	struct icmp_pkt u;
	const struct frame *f = peer_pop_icmp(&h.p, 100 * MS, &u, NULL);
	REQUIRE(f != NULL);
	CHECK_EQ(u.icmp.type, ICMP_DEST_UNREACH);
	CHECK_EQ(u.icmp.code, ICMP_PROT_UNREACH);
	CHECK_EQ(u.icmp.rest, 0);
	CHECK_EQ(u.ip.saddr, h.me);
	CHECK_EQ(u.ip.daddr, h.peer_ip);
	CHECK_EQ(u.ip.tos, 0xc0 | 0x10); /* precedence internetwork control */
	CHECK(memcmp(f->data, h.p.mac, 6) == 0);
	CHECK_EQ(u.body_len, 50);
	CHECK(u.body_len == 50 && memcmp(u.body, fr + ETH_HLEN, 50) == 0);
	CHECK_EQ(snap_delta(&sn, "IpInReceives"), 1);
	CHECK_EQ(snap_delta(&sn, "IpInUnknownProtos"), 1);
	CHECK_EQ(snap_delta(&sn, "IpInDelivers"), 0);
	CHECK_EQ(snap_delta(&sn, "Drop:IP_NOPROTO"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpOutMsgs"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpOutDestUnreachs"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpOutErrors"), 0);
	CHECK_EQ(snap_delta(&sn, "IpOutRequests"), 1);

	/* A big one: the quote stops at 576 bytes of error datagram. */
	static uint8_t big[1400];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	sp.payload = big;
	sp.plen = sizeof(big);
	n = build(&h, &sp, fr);
	peer_inject(&h.p, fr, n);
	f = peer_pop_icmp(&h.p, 100 * MS, &u, NULL);
	REQUIRE(f != NULL);
	CHECK_EQ(u.ip.tot_len, 576);
	CHECK_EQ(u.body_len, 548);
	CHECK(memcmp(u.body, fr + ETH_HLEN, 548) == 0);
	host_free(&h);
}

/* A quoted datagram (IP + 8 bytes of UDP) for the body of an error. */
static size_t quoted_udp(uint8_t *buf, uint32_t saddr, uint32_t daddr)
{
	uint8_t udp[8] = { 0x30, 0x39, 0x00, 0x35, 0x00, 0x10, 0, 0 };
	struct ip_repr ip = { .ihl = 20, .tot_len = 36, .id = 7, .ttl = 60, .protocol = 17,
			      .saddr = saddr, .daddr = daddr };
	return build_ip_opts(buf, true, NULL, NULL, &ip, NULL, 0, udp, 8);
}

/* RFC 1122 3.2.2: never an error about an ICMP error (nor, as Linux, about
 * an unknown ICMP type); queries do get errors. The trigger here is a TTL
 * running out while forwarding. */
static void no_error_about_icmp_error(void)
{
	struct host h;
	host_init(&h, 22);
	uint8_t q[64], msg[128];
	size_t ql = quoted_udp(q, h.far, h.peer_ip);
	static const uint8_t err_types[] = { ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH, ICMP_REDIRECT,
					     ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB, 40 };
	struct snap sn;
	snap_take(&sn, h.s);
	for (size_t i = 0; i < sizeof(err_types); i++) {
		size_t ml = build_icmp(msg, err_types[i], 1, 0, q, ql);
		struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.far, .proto = 1, .ttl = 1,
				       .payload = msg, .plen = ml };
		inject(&h, &sp);
		CHECK_EQ(count_out(&h, 100 * MS), 0);
	}
	CHECK_EQ(snap_delta(&sn, "Drop:IP_TTL"), (int64_t)sizeof(err_types));
	CHECK_EQ(snap_delta(&sn, "IcmpOutMsgs"), 0);
	CHECK_EQ(snap_delta(&sn, "IcmpOutTimeExcds"), 0);
	CHECK_EQ(snap_delta(&sn, "IcmpOutRateLimitGlobal"), 0);

	/* Queries (echo, echo reply, timestamp) are not errors. */
	static const uint8_t query_types[] = { ICMP_ECHO, ICMP_ECHOREPLY, ICMP_TIMESTAMP };
	for (size_t i = 0; i < sizeof(query_types); i++) {
		uint8_t data[12] = { 0 };
		size_t ml = build_icmp(msg, query_types[i], 0, 0x00010001, data, sizeof(data));
		struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.far, .proto = 1, .ttl = 1,
				       .payload = msg, .plen = ml };
		inject(&h, &sp);
		struct icmp_pkt te;
		const struct frame *f = peer_pop_icmp(&h.p, 100 * MS, &te, NULL);
		CHECK(f != NULL);
		if (!f)
			continue;
		CHECK_EQ(te.icmp.type, ICMP_TIME_EXCEEDED);
		CHECK_EQ(te.ip.saddr, h.me);
		CHECK_EQ(te.body[20], query_types[i]);
	}
	CHECK_EQ(snap_delta(&sn, "IcmpOutTimeExcds"), 3);
	CHECK_EQ(snap_delta(&sn, "IcmpOutMsgs"), 3);

	/* Addressed to us: an ICMP error with bad options gets no parameter
	 * problem either. */
	snap_take(&sn, h.s);
	static const uint8_t bad_rr[4] = { IPOPT_RR, 2, 0, 0 };
	size_t ml = build_icmp(msg, ICMP_DEST_UNREACH, 3, 0, q, ql);
	struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.me, .proto = 1, .opts = bad_rr,
			       .optlen = 4, .payload = msg, .plen = ml };
	inject(&h, &sp);
	CHECK_EQ(count_out(&h, 100 * MS), 0);
	CHECK_EQ(snap_delta(&sn, "IpInHdrErrors"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpOutMsgs"), 0);
	host_free(&h);
}

/* RFC 1122 3.2.2: no error about a datagram sent to an IP broadcast or
 * multicast address, or in a link-layer broadcast or multicast frame. */
static void no_error_about_broadcast_or_multicast(void)
{
	struct host h;
	host_init(&h, 23);
	struct snap sn;
	snap_take(&sn, h.s);
	struct {
		const uint8_t *eth;
		const char *dst;
	} cases[] = {
		{ bcast, "10.0.0.255" },        /* directed broadcast */
		{ bcast, "255.255.255.255" },   /* limited broadcast */
		{ mcast_all_hosts, "224.0.0.1" },
		{ bcast, "10.0.0.1" },          /* unicast IP, broadcast frame */
		{ mcast_all_hosts, "10.0.0.1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt_spec sp = { .eth_dst = cases[i].eth, .saddr = h.peer_ip,
				       .daddr = ip4(cases[i].dst).s_addr, .proto = 253,
				       .payload = junk, .plen = 20 };
		inject(&h, &sp);
		size_t out = count_out(&h, 100 * MS);
		if (out)
			fprintf(stderr, "  an error was sent about a datagram to %s\n", cases[i].dst);
		CHECK_EQ(out, 0);
	}
	/* They were delivered (and found no protocol), just not answered. */
	CHECK_EQ(snap_delta(&sn, "IpInUnknownProtos"), 5);
	CHECK_EQ(snap_delta(&sn, "IcmpOutMsgs"), 0);
	/* Control: the same datagram to our unicast address is answered. */
	struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.me, .proto = 253, .payload = junk,
			       .plen = 20 };
	inject(&h, &sp);
	CHECK_EQ(count_out(&h, 100 * MS), 1);
	host_free(&h);
}

/* RFC 1122 3.2.2: no error about a fragment other than the first. And
 * RFC 792 / 1122 3.3.2: reassembly time exceeded only when fragment zero
 * arrived. */
static void no_error_about_non_first_fragment(void)
{
	struct host h;
	host_init(&h, 24);
	struct snap sn;
	snap_take(&sn, h.s);
	struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.far, .proto = 17, .ttl = 1,
			       .id = 0x2000, .frag_off = 16, .mf = true, .payload = junk, .plen = 16 };
	inject(&h, &sp);
	CHECK_EQ(count_out(&h, 100 * MS), 0);
	sp.mf = false;  /* the last fragment */
	inject(&h, &sp);
	CHECK_EQ(count_out(&h, 100 * MS), 0);
	CHECK_EQ(snap_delta(&sn, "Drop:IP_TTL"), 2);
	CHECK_EQ(snap_delta(&sn, "IcmpOutMsgs"), 0);
	/* The first fragment does get one. */
	sp.frag_off = 0;
	sp.mf = true;
	inject(&h, &sp);
	struct icmp_pkt te;
	REQUIRE(peer_pop_icmp(&h.p, 100 * MS, &te, NULL) != NULL);
	CHECK_EQ(te.icmp.type, ICMP_TIME_EXCEEDED);
	CHECK_EQ(te.icmp.code, ICMP_EXC_TTL);

	/* Reassembly timeout, for us: only a non-first fragment came. */
	snap_take(&sn, h.s);
	struct pkt_spec f2 = { .saddr = h.peer_ip, .daddr = h.me, .proto = 1, .id = 0x3000,
			       .frag_off = 8, .mf = true, .payload = junk, .plen = 8 };
	inject(&h, &f2);
	CHECK_EQ(count_out(&h, 31 * SEC), 0);
	CHECK_EQ(snap_delta(&sn, "IpReasmTimeout"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpOutMsgs"), 0);
	/* Fragment zero came, the rest did not: time exceeded, code 1. */
	uint8_t echo[16];
	build_icmp_echo(echo, ICMP_ECHO, 5, 5, 8);
	struct pkt_spec f0 = { .saddr = h.peer_ip, .daddr = h.me, .proto = 1, .id = 0x3001,
			       .frag_off = 0, .mf = true, .payload = echo, .plen = 16 };
	uint64_t t = sim_now(&h.sim);
	inject(&h, &f0);
	CHECK_EQ(count_out(&h, 29 * SEC), 0);
	REQUIRE(peer_pop_icmp(&h.p, 2 * SEC, &te, NULL) != NULL);
	CHECK_EQ(te.icmp.type, ICMP_TIME_EXCEEDED);
	CHECK_EQ(te.icmp.code, ICMP_EXC_FRAGTIME);
	CHECK(sim_now(&h.sim) >= t + 30 * SEC);
	struct ip_repr inner;
	REQUIRE(te.body_len >= 28 && ipv4_parse_quoted(te.body, te.body_len, &inner) == IPV4_OK);
	CHECK_EQ(inner.id, 0x3001);
	CHECK(memcmp(te.body + 20, echo, 8) == 0);
	CHECK_EQ(snap_delta(&sn, "IpReasmTimeout"), 2);
	CHECK_EQ(snap_delta(&sn, "IcmpOutTimeExcds"), 1);
	host_free(&h);
}

/* RFC 1122 3.2.2: no error to a source that does not name one host: zero,
 * limited or directed broadcast, multicast, loopback. */
static void no_error_to_bad_source(void)
{
	struct host h;
	host_init(&h, 25);
	static const char *const sources[] = { "0.0.0.0", "255.255.255.255", "10.0.0.255",
					       "224.0.0.5", "127.0.0.1" };
	struct snap sn;
	snap_take(&sn, h.s);
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		/* Unknown protocol to us, and a TTL expiring on the way through. */
		struct pkt_spec sp = { .saddr = ip4(sources[i]).s_addr, .daddr = h.me, .proto = 253,
				       .payload = junk, .plen = 20 };
		inject(&h, &sp);
		size_t out = count_out(&h, 100 * MS);
		if (out)
			fprintf(stderr, "  protocol unreachable sent to source %s\n", sources[i]);
		CHECK_EQ(out, 0);
		sp.daddr = h.far;
		sp.ttl = 1;
		inject(&h, &sp);
		out = count_out(&h, 100 * MS);
		if (out)
			fprintf(stderr, "  time exceeded sent to source %s\n", sources[i]);
		CHECK_EQ(out, 0);
	}
	CHECK_EQ(snap_delta(&sn, "IcmpOutMsgs"), 0);
	host_free(&h);
}

/* A parameter problem pointing at the offending octet (RFC 792, RFC 1122
 * 3.2.2.5), with the pointer Linux's ip_options_compile() gives. */
static void parameter_problem_pointer(void)
{
	struct host h;
	host_init(&h, 26);
	/* More errors to one host than icmp_ratelimit's burst of 6. */
	CHECK_EQ(us_sysctl_set(h.s, "net.ipv4.icmp_ratelimit", "0"), 0);
	struct {
		const char *what;
		uint8_t opts[16];
		size_t optlen;
		uint8_t ptr;
	} cases[] = {
		{ "RR pointer below 4", { IPOPT_RR, 7, 3, 0, 0, 0, 0, 0 }, 8, 22 },
		{ "RR length below 3", { IPOPT_RR, 2, 0, 0 }, 4, 21 },
		{ "TS pointer below 5", { IPOPT_TIMESTAMP, 8, 4, 0, 0, 0, 0, 0 }, 8, 22 },
		{ "second RR", { IPOPT_RR, 7, 4, 0, 0, 0, 0, IPOPT_RR, 7, 4, 0, 0, 0, 0, 0, 0 }, 16, 27 },
		{ "no room for a length", { IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP, IPOPT_RR }, 4, 23 },
		/* Linux points at the option's type octet when its length is bad. */
		{ "length beyond the header", { IPOPT_TIMESTAMP, 12, 5, 0 }, 4, 20 },
		{ "length below 2", { 0x1e, 1, 0, 0 }, 4, 20 },
	};
	uint8_t echo[64];
	size_t el = build_icmp_echo(echo, ICMP_ECHO, 0x4321, 1, 24);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct snap sn;
		snap_take(&sn, h.s);
		struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.me, .proto = 1, .id = (uint16_t)i,
				       .opts = cases[i].opts, .optlen = cases[i].optlen,
				       .payload = echo, .plen = el };
		uint8_t fr[256];
		size_t n = build(&h, &sp, fr);
		peer_inject(&h.p, fr, n);
		struct icmp_pkt pp;
		const struct frame *f = peer_pop_icmp(&h.p, 100 * MS, &pp, NULL);
		CHECK(f != NULL);
		if (!f) {
			fprintf(stderr, "  %s: no parameter problem\n", cases[i].what);
			continue;
		}
		CHECK_EQ(pp.icmp.type, ICMP_PARAMETERPROB);
		CHECK_EQ(pp.icmp.code, 0);
		if ((pp.icmp.rest >> 24) != cases[i].ptr)
			fprintf(stderr, "  %s: pointer %u, expected %u\n", cases[i].what,
				pp.icmp.rest >> 24, cases[i].ptr);
		CHECK_EQ(pp.icmp.rest >> 24, cases[i].ptr);
		CHECK_EQ(pp.icmp.rest & 0xffffff, 0);
		CHECK_EQ(pp.ip.saddr, h.me);
		CHECK_EQ(pp.ip.daddr, h.peer_ip);
		size_t hl = 20 + cases[i].optlen;
		CHECK(pp.body_len >= hl + 8 && memcmp(pp.body, fr + ETH_HLEN, hl + 8) == 0);
		CHECK_EQ(peer_pending(&h.p), 0); /* and no echo reply */
		CHECK_EQ(snap_delta(&sn, "IpInHdrErrors"), 1);
		CHECK_EQ(snap_delta(&sn, "Drop:IP_OPTIONS"), 1);
		CHECK_EQ(snap_delta(&sn, "IcmpOutParmProbs"), 1);
		CHECK_EQ(snap_delta(&sn, "IcmpOutMsgs"), 1);
		CHECK_EQ(snap_delta(&sn, "IcmpInEchos"), 0);
	}
	/* Well-formed options, known or not (RFC 1122 3.2.1.8: ignore the
	 * unknown), do not stop the echo. */
	static const uint8_t good[][8] = {
		{ IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP, IPOPT_END },
		{ 0x1e, 4, 0xaa, 0xbb, IPOPT_END, 0, 0, 0 },
		{ IPOPT_RA, 4, 0, 0, IPOPT_END, 0, 0, 0 },
	};
	for (size_t i = 0; i < 3; i++) {
		struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.me, .proto = 1, .opts = good[i],
				       .optlen = 8, .payload = echo, .plen = el };
		inject(&h, &sp);
		struct icmp_pkt r;
		const struct frame *f = peer_pop_icmp(&h.p, 100 * MS, &r, NULL);
		CHECK(f != NULL && r.icmp.type == ICMP_ECHOREPLY);
	}
	host_free(&h);
}

/* RFC 1122 3.2.2.6: echo to a broadcast or multicast address may be (and
 * by default, as Linux, is) ignored; so is timestamp. */
static void echo_to_broadcast_ignored(void)
{
	struct host h;
	host_init(&h, 27);
	struct snap sn;
	snap_take(&sn, h.s);
	uint8_t echo[64], ts[32];
	size_t el = build_icmp_echo(echo, ICMP_ECHO, 0x1, 1, 24);
	uint8_t tsdata[12] = { 0 };
	size_t tl = build_icmp(ts, ICMP_TIMESTAMP, 0, 0x00020002, tsdata, 12);
	struct {
		const uint8_t *eth;
		const char *dst;
	} cases[] = {
		{ bcast, "10.0.0.255" },
		{ bcast, "255.255.255.255" },
		{ mcast_all_hosts, "224.0.0.1" },
	};
	for (size_t i = 0; i < 3; i++) {
		struct pkt_spec sp = { .eth_dst = cases[i].eth, .saddr = h.peer_ip,
				       .daddr = ip4(cases[i].dst).s_addr, .proto = 1,
				       .payload = echo, .plen = el };
		inject(&h, &sp);
		CHECK_EQ(count_out(&h, 100 * MS), 0);
		sp.payload = ts;
		sp.plen = tl;
		inject(&h, &sp);
		CHECK_EQ(count_out(&h, 100 * MS), 0);
	}
	CHECK_EQ(snap_delta(&sn, "IcmpOutMsgs"), 0);
	CHECK_EQ(snap_delta(&sn, "IcmpOutEchoReps"), 0);
	CHECK_EQ(snap_delta(&sn, "IcmpOutTimestampReps"), 0);
	/* Unicast: answered. */
	CHECK(peer_ping(&h.p, h.peer_ip, h.me, 0x1, 2, 24));
	CHECK_EQ(snap_delta(&sn, "IcmpOutEchoReps"), 1);
	host_free(&h);
}

/* icmp_msgs_burst 50, icmp_msgs_per_sec 1000: one token bucket for all
 * error messages; echo replies are not limited. (The per-destination
 * limit is off here: icmp_ratelimit 0.) */
static void rate_limit_token_bucket(void)
{
	struct host h;
	host_init(&h, 28);
	CHECK_EQ(us_sysctl_set(h.s, "net.ipv4.icmp_ratelimit", "0"), 0);
	struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.me, .proto = 253, .payload = junk,
			       .plen = 20 };
	struct snap sn;
	snap_take(&sn, h.s);
	for (int i = 0; i < 100; i++) {
		sp.id = (uint16_t)i;
		inject(&h, &sp);
	}
	CHECK_EQ(peer_pending(&h.p), 50);
	CHECK_EQ(snap_delta(&sn, "IcmpOutDestUnreachs"), 50);
	CHECK_EQ(snap_delta(&sn, "IcmpOutRateLimitGlobal"), 50);
	CHECK_EQ(snap_delta(&sn, "IpInUnknownProtos"), 100);
	peer_clear(&h.p);
	/* Empty now: a time exceeded is limited too (same bucket). */
	struct pkt_spec te = { .saddr = h.peer_ip, .daddr = h.far, .proto = 253, .ttl = 1,
			       .payload = junk, .plen = 20 };
	inject(&h, &te);
	CHECK_EQ(peer_pending(&h.p), 0);
	CHECK_EQ(snap_delta(&sn, "IcmpOutRateLimitGlobal"), 51);
	/* 10 ms later: 10 tokens. */
	sim_run_for(&h.sim, 10 * MS);
	snap_take(&sn, h.s);
	for (int i = 0; i < 20; i++)
		inject(&h, &sp);
	CHECK_EQ(peer_pending(&h.p), 10);
	CHECK_EQ(snap_delta(&sn, "IcmpOutRateLimitGlobal"), 10);
	peer_clear(&h.p);
	/* A second later the bucket is full again, but holds no more than 50. */
	sim_run_for(&h.sim, 1 * SEC);
	snap_take(&sn, h.s);
	for (int i = 0; i < 100; i++)
		inject(&h, &sp);
	CHECK_EQ(peer_pending(&h.p), 50);
	CHECK_EQ(snap_delta(&sn, "IcmpOutRateLimitGlobal"), 50);
	peer_clear(&h.p);
	/* Echo replies: every one, even with the bucket empty. */
	snap_take(&sn, h.s);
	uint8_t echo[64];
	for (int i = 0; i < 200; i++) {
		size_t el = build_icmp_echo(echo, ICMP_ECHO, 0x9, (uint16_t)i, 16);
		struct pkt_spec e = { .saddr = h.peer_ip, .daddr = h.me, .proto = 1, .id = (uint16_t)i,
				      .payload = echo, .plen = el };
		inject(&h, &e);
	}
	CHECK_EQ(peer_pending(&h.p), 200);
	CHECK_EQ(snap_delta(&sn, "IcmpOutEchoReps"), 200);
	CHECK_EQ(snap_delta(&sn, "IcmpOutRateLimitGlobal"), 0);
	host_free(&h);
}

/* icmp_ratelimit 1000 ms: each destination gets a burst of 6 errors, then
 * one a second (Linux's inet_peer_xrlim_allow), independently of the
 * others; errors to our own addresses (over loopback) are not limited per
 * destination; icmp_ratelimit 0 lifts the limit. */
static void rate_limit_per_destination(void)
{
	struct host h;
	host_init(&h, 29);
	uint32_t other = ip4("10.0.0.4").s_addr;
	peer_set_neigh(&h.p, other, NULL);
	struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.me, .proto = 253, .payload = junk,
			       .plen = 20 };
	struct snap sn;
	snap_take(&sn, h.s);
	for (int i = 0; i < 20; i++)
		inject(&h, &sp);
	CHECK_EQ(peer_pending(&h.p), 6);
	CHECK_EQ(snap_delta(&sn, "IcmpOutRateLimitHost"), 14);
	CHECK_EQ(snap_delta(&sn, "IcmpOutRateLimitGlobal"), 0);
	peer_clear(&h.p);
	/* Another host has a bucket of its own. */
	sp.saddr = other;
	for (int i = 0; i < 20; i++)
		inject(&h, &sp);
	CHECK_EQ(peer_pending(&h.p), 6);
	peer_clear(&h.p);
	/* 999 ms later the first host has not earned a message yet; at
	 * 1000 ms it has earned exactly one. */
	sim_run_for(&h.sim, 999 * MS);
	sp.saddr = h.peer_ip;
	inject(&h, &sp);
	CHECK_EQ(peer_pending(&h.p), 0);
	sim_run_for(&h.sim, 1 * MS);
	for (int i = 0; i < 5; i++)
		inject(&h, &sp);
	CHECK_EQ(peer_pending(&h.p), 1);
	peer_clear(&h.p);
	/* Ten idle seconds refill a burst of 6, no more. */
	sim_run_for(&h.sim, 10 * SEC);
	for (int i = 0; i < 20; i++)
		inject(&h, &sp);
	CHECK_EQ(peer_pending(&h.p), 6);
	peer_clear(&h.p);
	/* Port unreachable to ourselves: only the global bucket applies. */
	snap_take(&sn, h.s);
	int fd = us_socket(h.s, AF_INET, SOCK_DGRAM, 0);
	REQUIRE(fd >= 0);
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = htons(9999),
				  .sin_addr = ip4("127.0.0.1") };
	for (int i = 0; i < 20; i++) {
		CHECK_EQ(us_sendto(h.s, fd, "x", 1, 0, (struct sockaddr *)&lo, sizeof(lo)), 1);
		us_stack_poll(h.s);
	}
	CHECK_EQ(snap_delta(&sn, "IcmpOutDestUnreachs"), 20);
	CHECK_EQ(snap_delta(&sn, "IcmpOutRateLimitHost"), 0);
	CHECK_EQ(us_close(h.s, fd), 0);
	/* icmp_ratelimit 0: every error within the global bucket. */
	char v[32];
	CHECK_EQ(us_sysctl_get(h.s, "net.ipv4.icmp_ratelimit", v, sizeof(v)), 0);
	CHECK(strcmp(v, "1000") == 0);
	CHECK_EQ(us_sysctl_set(h.s, "net.ipv4.icmp_ratelimit", "0"), 0);
	sim_run_for(&h.sim, 1 * SEC);
	snap_take(&sn, h.s);
	for (int i = 0; i < 20; i++)
		inject(&h, &sp);
	CHECK_EQ(peer_pending(&h.p), 20);
	CHECK_EQ(snap_delta(&sn, "IcmpOutRateLimitHost"), 0);
	host_free(&h);
}

/* Finds option type in an IP header's options; offset or 0. */
static size_t find_opt(const uint8_t *iph, size_t ihl, uint8_t type)
{
	size_t off = 20;
	while (off < ihl) {
		if (iph[off] == IPOPT_END)
			return 0;
		if (iph[off] == IPOPT_NOOP) {
			off++;
			continue;
		}
		if (iph[off] == type)
			return off;
		if (off + 1 >= ihl || iph[off + 1] < 2)
			return 0;
		off += iph[off + 1];
	}
	return 0;
}

/* RFC 1122 3.2.2.6 / RFC 791: the echo reply carries the record-route
 * option back, with the addresses so far kept and ours added. */
static void echo_reply_record_route(void)
{
	struct host h;
	host_init(&h, 29);
	uint8_t opts[40] = { IPOPT_NOOP, IPOPT_RR, 39, 8 };
	memcpy(opts + 4, &h.peer_ip, 4); /* the sender recorded itself */
	uint8_t echo[128];
	size_t el = build_icmp_echo(echo, ICMP_ECHO, 0x5151, 3, 56);
	struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.me, .proto = 1, .opts = opts,
			       .optlen = 40, .payload = echo, .plen = el };
	inject(&h, &sp);
	struct icmp_pkt r;
	REQUIRE(peer_pop_icmp(&h.p, 100 * MS, &r, NULL) != NULL);
	CHECK_EQ(r.icmp.type, ICMP_ECHOREPLY);
	CHECK_EQ(r.ip.ihl, 60);
	CHECK_EQ(r.body_len, 56);
	CHECK(memcmp(r.body, echo + 8, 56) == 0);
	size_t rr = find_opt(r.iph, r.ip.ihl, IPOPT_RR);
	REQUIRE(rr != 0);
	const uint8_t *o = r.iph + rr;
	CHECK_EQ(o[1], 39);
	CHECK(memcmp(o + 3, &h.peer_ip, 4) == 0);  /* kept */
	CHECK(memcmp(o + 7, &h.me, 4) == 0);       /* ours, next */
	/* Linux records us on the way in and again on the way out; one or
	 * two entries of ours, nothing else. */
	CHECK(o[2] == 12 || o[2] == 16);
	for (unsigned p = 12; p < o[2]; p += 4)
		CHECK(memcmp(o + p - 1, &h.me, 4) == 0);
	for (unsigned p = o[2]; p + 3 <= 39; p++)
		CHECK_EQ(o[p - 1], 0);

	/* Full option: echoed as it came, still answered. */
	uint8_t full[12] = { IPOPT_NOOP, IPOPT_RR, 11, 12 };
	memcpy(full + 4, &h.peer_ip, 4);
	memcpy(full + 8, &h.far, 4);
	sp.opts = full;
	sp.optlen = 12;
	inject(&h, &sp);
	REQUIRE(peer_pop_icmp(&h.p, 100 * MS, &r, NULL) != NULL);
	CHECK_EQ(r.icmp.type, ICMP_ECHOREPLY);
	rr = find_opt(r.iph, r.ip.ihl, IPOPT_RR);
	REQUIRE(rr != 0);
	CHECK(memcmp(r.iph + rr, full + 1, 11) == 0);
	host_free(&h);
}

/* Every ICMP counter moves by exactly what was received and sent. */
static void counters_exact(void)
{
	struct host h;
	host_init(&h, 30);
	struct snap sn;
	snap_take(&sn, h.s);
	uint8_t msg[128], q[64];
	size_t ql = quoted_udp(q, h.me, h.peer_ip); /* as if we had sent UDP */
	struct pkt_spec sp = { .saddr = h.peer_ip, .daddr = h.me, .proto = 1 };
	/* 3 echo requests */
	for (int i = 0; i < 3; i++) {
		sp.plen = build_icmp_echo(msg, ICMP_ECHO, 1, (uint16_t)i, 10);
		sp.payload = msg;
		inject(&h, &sp);
	}
	/* 2 echo replies nobody asked for */
	for (int i = 0; i < 2; i++) {
		sp.plen = build_icmp_echo(msg, ICMP_ECHOREPLY, 1, (uint16_t)i, 10);
		inject(&h, &sp);
	}
	/* one of each error about our UDP */
	sp.plen = build_icmp(msg, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, q, ql);
	inject(&h, &sp);
	sp.plen = build_icmp(msg, ICMP_TIME_EXCEEDED, 0, 0, q, ql);
	inject(&h, &sp);
	sp.plen = build_icmp(msg, ICMP_PARAMETERPROB, 0, 20u << 24, q, ql);
	inject(&h, &sp);
	/* a timestamp request */
	uint8_t tsd[12] = { 1, 2, 3, 4 };
	sp.plen = build_icmp(msg, ICMP_TIMESTAMP, 0, 0x00070007, tsd, 12);
	inject(&h, &sp);
	/* a bad checksum, a truncated header */
	sp.plen = build_icmp_echo(msg, ICMP_ECHO, 1, 9, 10);
	msg[2] ^= 0x55;
	inject(&h, &sp);
	sp.plen = 4;
	msg[0] = ICMP_ECHO;
	inject(&h, &sp);
	sim_run_for(&h.sim, 100 * MS);

	CHECK_EQ(snap_delta(&sn, "IcmpInMsgs"), 11);
	CHECK_EQ(snap_delta(&sn, "IcmpInErrors"), 2);
	CHECK_EQ(snap_delta(&sn, "IcmpInCsumErrors"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpInEchos"), 3);
	CHECK_EQ(snap_delta(&sn, "IcmpInEchoReps"), 2);
	CHECK_EQ(snap_delta(&sn, "IcmpInDestUnreachs"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpInTimeExcds"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpInParmProbs"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpInTimestamps"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpInTimestampReps"), 0);
	CHECK_EQ(snap_delta(&sn, "IcmpInRedirects"), 0);
	CHECK_EQ(snap_delta(&sn, "IcmpInSrcQuenchs"), 0);
	CHECK_EQ(snap_delta(&sn, "IcmpOutMsgs"), 4);
	CHECK_EQ(snap_delta(&sn, "IcmpOutEchoReps"), 3);
	CHECK_EQ(snap_delta(&sn, "IcmpOutTimestampReps"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpOutErrors"), 0);
	CHECK_EQ(snap_delta(&sn, "IcmpOutDestUnreachs"), 0);
	CHECK_EQ(snap_delta(&sn, "IcmpOutEchos"), 0);
	CHECK_EQ(snap_delta(&sn, "Drop:ICMP_CSUM"), 1);
	CHECK_EQ(snap_delta(&sn, "Drop:ICMP_MALFORMED"), 1);
	CHECK_EQ(snap_delta(&sn, "IpInReceives"), 11);
	CHECK_EQ(snap_delta(&sn, "IpInDelivers"), 11);
	CHECK_EQ(snap_delta(&sn, "IpOutRequests"), 4);
	/* What went out: 3 echo replies and a timestamp reply. */
	unsigned reps = 0, tsr = 0;
	struct icmp_pkt r;
	while (peer_pop_icmp(&h.p, 0, &r, NULL)) {
		if (r.icmp.type == ICMP_ECHOREPLY)
			reps++;
		if (r.icmp.type == ICMP_TIMESTAMPREPLY) {
			tsr++;
			CHECK_EQ(r.icmp.rest, 0x00070007);
			CHECK(r.body_len == 12 && memcmp(r.body, tsd, 4) == 0); /* originate copied */
		}
	}
	CHECK_EQ(reps, 3);
	CHECK_EQ(tsr, 1);
	CHECK_EQ(peer_pending(&h.p), 0);
	host_free(&h);
}

TEST_MAIN(T(protocol_unreachable), T(no_error_about_icmp_error),
	  T(no_error_about_broadcast_or_multicast), T(no_error_about_non_first_fragment),
	  T(no_error_to_bad_source), T(parameter_problem_pointer), T(echo_to_broadcast_ignored),
	  T(rate_limit_token_bucket), T(rate_limit_per_destination), T(echo_reply_record_route), T(counters_exact))

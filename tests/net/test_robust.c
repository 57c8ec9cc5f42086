/* Garbage in: truncated and malformed frames of every layer, random bytes
 * and mutated packets. Each is dropped under the right counter, nothing
 * leaks, and the stack still answers the next ping. */
#include "test.h"
#include "sim.h"
#include "nettest.h"

#define SEC 1000000000ull
#define MS 1000000ull

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct host {
	struct sim sim;
	us_stack *s;
	struct peer p;
	uint32_t me, peer_ip;
	uint16_t seq;
};

static void host_init(struct host *h, uint64_t seed, bool l3)
{
	memset(h, 0, sizeof(*h));
	sim_init(&h->sim, 1, seed);
	h->s = h->sim.st[0];
	if (peer_attach(&h->p, h->s, h->sim.clk, l3 ? "tun0" : "cb0", "10.0.0.1/24", l3) < 0)
		abort();
	h->me = ip4("10.0.0.1").s_addr;
	h->peer_ip = ip4("10.0.0.2").s_addr;
	if (!l3)
		peer_set_neigh(&h->p, h->peer_ip, NULL);
}

static void host_free(struct host *h)
{
	peer_detach(&h->p);
	sim_free(&h->sim);
}

static bool alive(struct host *h)
{
	h->seq++;
	bool ok = peer_ping(&h->p, h->peer_ip, h->me, 0xabcd, h->seq, 56);
	peer_clear(&h->p);
	return ok;
}

/* An IPv4 packet (header + payload) with a valid checksum into buf. */
static size_t ip_pkt(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint8_t proto, const void *pl,
		     size_t plen)
{
	struct ip_repr ip = { .ttl = 64, .protocol = proto, .saddr = saddr, .daddr = daddr, .id = 99 };
	return build_ip_opts(buf, true, NULL, NULL, &ip, NULL, 0, pl, plen);
}

/* Ethernet header to the stack + bytes. */
static size_t eth_frame(struct host *h, uint8_t *fr, uint16_t type, const void *pl, size_t plen)
{
	eth_emit(fr, h->p.stack_mac, h->p.mac, type);
	memcpy(fr + ETH_HLEN, pl, plen);
	return ETH_HLEN + plen;
}

struct expect {
	const char *name;
	int64_t delta;
};

/* Injects a frame, checks the named counters moved by exactly that much
 * and the stack answers a ping afterwards. */
static void garbage_case(struct host *h, const char *what, const uint8_t *fr, size_t len,
			 const struct expect *exp, size_t nexp, int64_t rx_errors, int64_t rx_nohandler)
{
	struct snap sn;
	snap_take(&sn, h->s);
	struct us_dev_stats d0 = dev_stats(h->s, h->p.ifindex);
	peer_inject(&h->p, fr, len);
	sim_run_for(&h->sim, 10 * MS);
	bool bad = false;
	for (size_t i = 0; i < nexp; i++) {
		int64_t d = snap_delta(&sn, exp[i].name);
		if (d != exp[i].delta) {
			fprintf(stderr, "  %s: %s moved %lld, expected %lld\n", what, exp[i].name,
				(long long)d, (long long)exp[i].delta);
			bad = true;
		}
	}
	struct us_dev_stats d1 = dev_stats(h->s, h->p.ifindex);
	if ((int64_t)(d1.rx_errors - d0.rx_errors) != rx_errors ||
	    (int64_t)(d1.rx_nohandler - d0.rx_nohandler) != rx_nohandler) {
		fprintf(stderr, "  %s: rx_errors +%llu rx_nohandler +%llu, expected +%lld +%lld\n", what,
			(unsigned long long)(d1.rx_errors - d0.rx_errors),
			(unsigned long long)(d1.rx_nohandler - d0.rx_nohandler), (long long)rx_errors,
			(long long)rx_nohandler);
		bad = true;
	}
	if (bad)
		snap_print_changes(&sn, what);
	CHECK(!bad);
	peer_clear(&h->p);
	if (!alive(h)) {
		fprintf(stderr, "  %s: no answer to the ping after it\n", what);
		CHECK(0);
	}
}

#define E(n, d) { n, d }
#define CASE(what, fr, len, rxe, rxn, ...)                                                       \
	do {                                                                                     \
		static const struct expect exp_[] = { __VA_ARGS__ };                             \
		garbage_case(&h, what, fr, len, exp_, sizeof(exp_) / sizeof(exp_[0]), rxe, rxn);  \
	} while (0)

static void truncated_and_malformed(void)
{
	struct host h;
	host_init(&h, 31, false);
	REQUIRE(alive(&h));
	struct us_pool_stats base;
	us_stack_pool_stats(h.s, &base);
	uint8_t fr[2048], ip[2048], echo[256];
	size_t el = build_icmp_echo(echo, ICMP_ECHO, 0x77, 1, 32);
	size_t il;

	/* ---- Ethernet ---- */
	CASE("empty frame", fr, 0, 1, 0, E("Drop:ETH_MALFORMED", 1));
	eth_emit(fr, h.p.stack_mac, h.p.mac, ETH_P_IP);
	CASE("13-byte frame", fr, 13, 1, 0, E("Drop:ETH_MALFORMED", 1), E("IpInReceives", 0));
	uint8_t other[6] = { 0x02, 0x99, 0, 0, 0, 1 };
	il = ip_pkt(ip, h.peer_ip, h.me, 1, echo, el);
	eth_emit(fr, other, h.p.mac, ETH_P_IP);
	memcpy(fr + ETH_HLEN, ip, il);
	CASE("unicast to another MAC", fr, ETH_HLEN + il, 0, 0, E("Drop:OTHERHOST", 1),
	     E("IpInReceives", 0), E("IcmpInEchos", 0));
	size_t n = eth_frame(&h, fr, ETH_P_IPV6, ip, 40);
	fr[ETH_HLEN] = 0x60;
	CASE("IPv6", fr, n, 0, 1, E("Drop:UNHANDLED_PROTO", 1));
	n = eth_frame(&h, fr, 0x88cc, ip, 46);
	CASE("LLDP ethertype", fr, n, 0, 1, E("Drop:UNHANDLED_PROTO", 1));
	n = eth_frame(&h, fr, 0x8100, ip, 46);
	CASE("802.1Q tag", fr, n, 0, 1, E("Drop:UNHANDLED_PROTO", 1));
	static const uint8_t llc[46] = { 0x42, 0x42, 0x03 }; /* STP BPDU over 802.2 */
	n = eth_frame(&h, fr, 46, llc, sizeof(llc));
	CASE("802.3 length frame", fr, n, 0, 1, E("Drop:UNHANDLED_PROTO", 1), E("IpInReceives", 0));
	n = eth_frame(&h, fr, 0x0800 - 1, llc, sizeof(llc)); /* 0x7ff: a length too */
	CASE("802.3 length 0x7ff", fr, n, 0, 1, E("Drop:UNHANDLED_PROTO", 1));

	/* ---- IPv4 header ---- */
	n = eth_frame(&h, fr, ETH_P_IP, ip, 0);
	CASE("Ethernet header only", fr, n, 0, 0, E("IpInReceives", 1), E("IpInHdrErrors", 1),
	     E("Drop:IP_HDR", 1));
	n = eth_frame(&h, fr, ETH_P_IP, ip, 10);
	CASE("10 bytes of IP header", fr, n, 0, 0, E("IpInHdrErrors", 1), E("Drop:IP_HDR", 1));
	n = eth_frame(&h, fr, ETH_P_IP, ip, il);
	fr[ETH_HLEN] = 0x65;
	CASE("version 6 in 0x0800", fr, n, 0, 0, E("IpInHdrErrors", 1), E("Drop:IP_HDR", 1));
	n = eth_frame(&h, fr, ETH_P_IP, ip, il);
	fr[ETH_HLEN] = 0x44;
	ipv4_refresh_csum(fr + ETH_HLEN);
	CASE("IHL 4", fr, n, 0, 0, E("IpInHdrErrors", 1), E("Drop:IP_HDR", 1));
	n = eth_frame(&h, fr, ETH_P_IP, ip, 24);
	fr[ETH_HLEN] = 0x4f;
	CASE("IHL 15, 24 bytes", fr, n, 0, 0, E("IpInHdrErrors", 1), E("Drop:IP_HDR", 1));
	n = eth_frame(&h, fr, ETH_P_IP, ip, il);
	put_be16(fr + ETH_HLEN + 2, (uint16_t)(il + 100));
	ipv4_refresh_csum(fr + ETH_HLEN);
	CASE("total length beyond the frame", fr, n, 0, 0, E("IpExtInTruncatedPkts", 1),
	     E("Drop:IP_TRUNCATED", 1), E("IpInHdrErrors", 0), E("IcmpInMsgs", 0));
	n = eth_frame(&h, fr, ETH_P_IP, ip, il);
	put_be16(fr + ETH_HLEN + 2, 12);
	ipv4_refresh_csum(fr + ETH_HLEN);
	CASE("total length below the header", fr, n, 0, 0, E("IpInHdrErrors", 1), E("Drop:IP_HDR", 1));
	n = eth_frame(&h, fr, ETH_P_IP, ip, il);
	fr[ETH_HLEN + 10] ^= 0x01;
	CASE("bad header checksum", fr, n, 0, 0, E("IpExtInCsumErrors", 1), E("IpInHdrErrors", 1),
	     E("Drop:IP_CSUM", 1), E("IcmpInMsgs", 0));
	n = eth_frame(&h, fr, ETH_P_IP, ip, il);
	fr[ETH_HLEN + 12] = 127; /* from 127.x on the wire: martian */
	ipv4_refresh_csum(fr + ETH_HLEN);
	CASE("loopback source", fr, n, 0, 0, E("Drop:IP_RPFILTER", 1), E("IcmpInMsgs", 0),
	     E("IcmpOutMsgs", 0));

	/* Total length below the frame: Ethernet padding, trimmed. The echo
	 * is answered with exactly its own length. */
	{
		n = eth_frame(&h, fr, ETH_P_IP, ip, il);
		memset(fr + n, 0xee, 30);
		struct snap sn;
		snap_take(&sn, h.s);
		peer_inject(&h.p, fr, n + 30);
		struct icmp_pkt r;
		const struct frame *f = peer_pop_icmp(&h.p, 100 * MS, &r, NULL);
		CHECK(f != NULL && r.icmp.type == ICMP_ECHOREPLY);
		CHECK_EQ(r.ip.tot_len, il);
		CHECK_EQ(r.body_len, 32);
		CHECK_EQ(snap_delta(&sn, "IpExtInOctets"), il);
		peer_clear(&h.p);
	}

	/* ---- ICMP ---- */
	il = ip_pkt(ip, h.peer_ip, h.me, 1, echo, 4);
	n = eth_frame(&h, fr, ETH_P_IP, ip, il);
	CASE("4-byte ICMP", fr, n, 0, 0, E("IcmpInMsgs", 1), E("IcmpInErrors", 1),
	     E("Drop:ICMP_MALFORMED", 1), E("IcmpInEchos", 0));
	il = ip_pkt(ip, h.peer_ip, h.me, 1, echo, 0);
	n = eth_frame(&h, fr, ETH_P_IP, ip, il);
	CASE("empty ICMP", fr, n, 0, 0, E("IcmpInErrors", 1), E("Drop:ICMP_MALFORMED", 1));
	memcpy(ip + 200, echo, el);
	ip[200 + 20] ^= 0xff;
	il = ip_pkt(ip, h.peer_ip, h.me, 1, ip + 200, el);
	n = eth_frame(&h, fr, ETH_P_IP, ip, il);
	CASE("bad ICMP checksum", fr, n, 0, 0, E("IcmpInCsumErrors", 1), E("IcmpInErrors", 1),
	     E("Drop:ICMP_CSUM", 1), E("IcmpOutMsgs", 0));
	{
		uint8_t m[64];
		size_t ml = build_icmp(m, ICMP_DEST_UNREACH, 3, 0, "\x45\x00", 2);
		il = ip_pkt(ip, h.peer_ip, h.me, 1, m, ml);
		n = eth_frame(&h, fr, ETH_P_IP, ip, il);
		CASE("unreachable quoting 2 bytes", fr, n, 0, 0, E("IcmpInDestUnreachs", 1),
		     E("IcmpInErrors", 1), E("Drop:ICMP_MALFORMED", 1));
		ml = build_icmp(m, 77, 0, 0, NULL, 0);
		il = ip_pkt(ip, h.peer_ip, h.me, 1, m, ml);
		n = eth_frame(&h, fr, ETH_P_IP, ip, il);
		CASE("ICMP type 77", fr, n, 0, 0, E("IcmpInMsgs", 1), E("IcmpInErrors", 1),
		     E("IcmpOutMsgs", 0));
	}

	/* ---- ARP ---- */
	{
		uint8_t a[ETH_ZLEN];
		build_arp(a, bcast, h.p.mac, ARPOP_REQUEST, h.p.mac, h.peer_ip, NULL, h.me);
		CASE("ARP of 20 bytes", a, ETH_HLEN + 20, 0, 0, E("Drop:ARP_MALFORMED", 1),
		     E("ArpOutReplies", 0));
		build_arp(a, bcast, h.p.mac, ARPOP_REQUEST, h.p.mac, h.peer_ip, NULL, h.me);
		put_be16(a + ETH_HLEN, 6); /* IEEE 802 hardware */
		CASE("ARP htype 6", a, ETH_ZLEN, 0, 0, E("Drop:ARP_MALFORMED", 1), E("ArpOutReplies", 0));
		build_arp(a, bcast, h.p.mac, ARPOP_REQUEST, h.p.mac, h.peer_ip, NULL, h.me);
		a[ETH_HLEN + 4] = 8;
		CASE("ARP hlen 8", a, ETH_ZLEN, 0, 0, E("Drop:ARP_MALFORMED", 1));
		build_arp(a, bcast, h.p.mac, 3, h.p.mac, h.peer_ip, NULL, h.me);
		CASE("ARP op 3 (RARP)", a, ETH_ZLEN, 0, 0, E("Drop:ARP_MALFORMED", 1));
		build_arp(a, bcast, h.p.mac, ARPOP_REQUEST, bcast, h.peer_ip, NULL, h.me);
		CASE("ARP broadcast sender", a, ETH_ZLEN, 0, 0, E("Drop:ARP_MALFORMED", 1),
		     E("ArpOutReplies", 0));
		build_arp(a, bcast, h.p.mac, ARPOP_REQUEST, h.p.mac, ip4("224.0.0.1").s_addr, NULL, h.me);
		CASE("ARP multicast sender IP", a, ETH_ZLEN, 0, 0, E("Drop:ARP_MALFORMED", 1));
	}

	/* ---- fragments ---- */
	{
		struct ip_repr r = { .ttl = 64, .protocol = 1, .saddr = h.peer_ip, .daddr = h.me,
				     .id = 0x4242, .mf = true };
		uint8_t pl[64] = { 0 };
		n = ETH_HLEN + build_ip_opts(fr + ETH_HLEN, true, NULL, NULL, &r, NULL, 0, pl, 7);
		eth_emit(fr, h.p.stack_mac, h.p.mac, ETH_P_IP);
		CASE("MF fragment of 7 bytes", fr, n, 0, 0, E("IpReasmReqds", 1), E("IpReasmFails", 1),
		     E("Drop:FRAG_INVALID", 1));
		r.frag_off = 65528;
		r.mf = false;
		n = ETH_HLEN + build_ip_opts(fr + ETH_HLEN, true, NULL, NULL, &r, NULL, 0, pl, 16);
		CASE("fragment past 65535", fr, n, 0, 0, E("IpReasmFails", 1), E("Drop:FRAG_TOO_BIG", 1));
		r.frag_off = 0;
		r.mf = true;
		r.id = 0x4343;
		n = ETH_HLEN + build_ip_opts(fr + ETH_HLEN, true, NULL, NULL, &r, NULL, 0, pl, 16);
		CASE("first of an overlapping pair", fr, n, 0, 0, E("IpReasmReqds", 1),
		     E("IpReasmFails", 0));
		r.frag_off = 8;
		n = ETH_HLEN + build_ip_opts(fr + ETH_HLEN, true, NULL, NULL, &r, NULL, 0, pl, 16);
		CASE("overlapping fragment", fr, n, 0, 0, E("IpExtReasmOverlaps", 1),
		     E("IpReasmFails", 1), E("Drop:FRAG_OVERLAP", 2));
	}

	/* Oversized input is refused at the door. */
	{
		static uint8_t huge[70000];
		struct us_dev_stats d0 = dev_stats(h.s, h.p.ifindex);
		CHECK(us_dev_input(h.s, h.p.ifindex, huge, sizeof(huge)) < 0);
		struct us_dev_stats d1 = dev_stats(h.s, h.p.ifindex);
		CHECK_EQ(d1.rx_errors - d0.rx_errors, 1);
		CHECK(alive(&h));
	}

	/* Every buffer comes back once timers have run (reassembly queues
	 * expire after 30 s). */
	sim_run_for(&h.sim, 40 * SEC);
	peer_clear(&h.p);
	struct us_pool_stats end;
	us_stack_pool_stats(h.s, &end);
	CHECK_EQ(end.in_use, base.in_use);
	CHECK_EQ(end.bytes_in_use, base.bytes_in_use);
	host_free(&h);
}

/* Random bytes, and valid frames with a few bytes changed: thousands of
 * them, a ping every hundred, and the pool back to its baseline at the end. */
static void random_and_mutated(void)
{
	struct host h;
	host_init(&h, 32, false);
	REQUIRE(alive(&h));
	struct us_pool_stats base;
	us_stack_pool_stats(h.s, &base);
	uint64_t rs = 0x1234567;
	uint8_t fr[1600], ip[1600], echo[256];
	size_t el = build_icmp_echo(echo, ICMP_ECHO, 0x55, 1, 48);
	size_t il = ip_pkt(ip, h.peer_ip, h.me, 1, echo, el);
	uint8_t templates[4][128];
	size_t tlen[4];
	tlen[0] = eth_frame(&h, templates[0], ETH_P_IP, ip, il);
	tlen[1] = build_arp(templates[1], bcast, h.p.mac, ARPOP_REQUEST, h.p.mac, h.peer_ip, NULL, h.me);
	{
		uint8_t opts[8] = { IPOPT_RR, 7, 4, 0, 0, 0, 0, 0 };
		struct ip_repr r = { .ttl = 64, .protocol = 1, .saddr = h.peer_ip, .daddr = h.me, .id = 5 };
		tlen[2] = ETH_HLEN + build_ip_opts(templates[2] + ETH_HLEN, true, NULL, NULL, &r, opts, 8,
						   echo, el);
		eth_emit(templates[2], h.p.stack_mac, h.p.mac, ETH_P_IP);
		r.mf = true;
		r.id = 6;
		tlen[3] = ETH_HLEN + build_ip_opts(templates[3] + ETH_HLEN, true, NULL, NULL, &r, NULL, 0,
						   echo, 48);
		eth_emit(templates[3], h.p.stack_mac, h.p.mac, ETH_P_IP);
	}
	unsigned failures = 0;
	for (int i = 0; i < 4000; i++) {
		size_t n;
		uint64_t r = test_rand(&rs);
		if (r % 4 == 0) {
			/* Pure noise, half of it addressed to us. */
			n = (size_t)(test_rand(&rs) % 200);
			for (size_t k = 0; k < n; k++)
				fr[k] = (uint8_t)test_rand(&rs);
			if ((r >> 8) & 1 && n >= ETH_HLEN)
				memcpy(fr, h.p.stack_mac, 6);
			if ((r >> 9) & 1 && n >= ETH_HLEN)
				put_be16(fr + 12, (r >> 10) & 1 ? ETH_P_IP : ETH_P_ARP);
		} else {
			int t = (int)((r >> 8) % 4);
			n = tlen[t];
			memcpy(fr, templates[t], n);
			unsigned flips = 1 + (unsigned)((r >> 12) % 4);
			for (unsigned k = 0; k < flips; k++) {
				size_t at = ETH_HLEN + (size_t)(test_rand(&rs) % (n - ETH_HLEN));
				fr[at] = (uint8_t)test_rand(&rs);
			}
			if ((r >> 16) % 5 == 0) /* sometimes cut short */
				n = ETH_HLEN + (size_t)(test_rand(&rs) % (n - ETH_HLEN));
			if ((r >> 20) % 7 == 0) /* sometimes a sane checksum over the mess */
				if (t != 1 && n >= ETH_HLEN + 20 && (fr[ETH_HLEN] >> 4) == 4 &&
				    (size_t)(fr[ETH_HLEN] & 15) * 4 <= n - ETH_HLEN &&
				    (fr[ETH_HLEN] & 15) >= 5)
					ipv4_refresh_csum(fr + ETH_HLEN);
		}
		peer_inject(&h.p, fr, n);
		if (i % 100 == 99) {
			sim_run_for(&h.sim, 50 * MS);
			peer_clear(&h.p);
			if (!alive(&h))
				failures++;
		}
	}
	CHECK_EQ(failures, 0);
	/* Let the reassembly and neighbour timers run out, then count. */
	sim_run_for(&h.sim, 120 * SEC);
	peer_clear(&h.p);
	CHECK(alive(&h));
	sim_run_for(&h.sim, 1 * SEC);
	struct us_pool_stats end;
	us_stack_pool_stats(h.s, &end);
	CHECK_EQ(end.in_use, base.in_use);
	CHECK(end.high_water < 2000);
	host_free(&h);
}

/* A TUN-style (l3) callback device: IP packets without Ethernet. */
static void tun_device(void)
{
	struct host h;
	host_init(&h, 33, true);
	REQUIRE(alive(&h));
	/* The reply is a bare IP packet. */
	{
		uint8_t echo[128], ip[256];
		size_t el = build_icmp_echo(echo, ICMP_ECHO, 0x1, 1, 40);
		size_t il = ip_pkt(ip, h.peer_ip, h.me, 1, echo, el);
		peer_inject(&h.p, ip, il);
		const struct frame *f = peer_pop(&h.p, 100 * MS);
		REQUIRE(f != NULL);
		CHECK_EQ(f->len, il);
		struct icmp_pkt r;
		CHECK(parse_icmp_pkt(f->data, f->len, &r) && r.icmp.type == ICMP_ECHOREPLY);
		CHECK_EQ(r.ip.daddr, h.peer_ip);
	}
	struct us_pool_stats base;
	us_stack_pool_stats(h.s, &base);
	uint8_t p[256], echo[64];
	size_t el = build_icmp_echo(echo, ICMP_ECHO, 0x2, 2, 8);
	size_t n;
	CASE("empty packet", p, 0, 1, 0, E("Drop:ETH_MALFORMED", 1), E("IpInReceives", 0));
	memset(p, 0, 40);
	p[0] = 0x60;
	CASE("IPv6 packet", p, 40, 0, 1, E("Drop:UNHANDLED_PROTO", 1), E("IpInReceives", 0));
	p[0] = 0x00;
	CASE("version 0", p, 40, 0, 1, E("Drop:UNHANDLED_PROTO", 1));
	n = ip_pkt(p, h.peer_ip, h.me, 1, echo, el);
	CASE("truncated IPv4 header", p, 12, 0, 0, E("IpInHdrErrors", 1), E("IpInReceives", 1));
	n = ip_pkt(p, h.peer_ip, h.me, 1, echo, el);
	p[10] ^= 0x40;
	CASE("bad checksum", p, n, 0, 0, E("IpExtInCsumErrors", 1), E("IpInHdrErrors", 1));
	n = ip_pkt(p, h.peer_ip, h.me, 1, echo, el);
	CASE("cut inside ICMP", p, n - 4, 0, 0, E("IpExtInTruncatedPkts", 1));
	/* No ARP on an l3 device: an error for an unknown protocol goes out
	 * directly. */
	n = ip_pkt(p, h.peer_ip, h.me, 200, echo, el);
	{
		struct snap sn;
		snap_take(&sn, h.s);
		peer_inject(&h.p, p, n);
		const struct frame *f = peer_pop(&h.p, 100 * MS);
		struct icmp_pkt u;
		CHECK(f && parse_icmp_pkt(f->data, f->len, &u) && u.icmp.type == ICMP_DEST_UNREACH &&
		      u.icmp.code == ICMP_PROT_UNREACH);
		CHECK_EQ(snap_delta(&sn, "ArpOutRequests"), 0);
		peer_clear(&h.p);
	}
	sim_run_for(&h.sim, 1 * SEC);
	struct us_pool_stats end;
	us_stack_pool_stats(h.s, &end);
	CHECK_EQ(end.in_use, base.in_use);
	host_free(&h);
}

/* A full receive queue: frames beyond the backlog are refused and counted
 * as overruns, and the stack catches up. */
static void backlog_overrun(void)
{
	struct host h;
	host_init(&h, 34, false);
	REQUIRE(alive(&h));
	uint8_t ip[256], echo[64], fr[300];
	size_t el = build_icmp_echo(echo, ICMP_ECHO, 0x3, 3, 16);
	size_t il = ip_pkt(ip, h.peer_ip, h.me, 1, echo, el);
	size_t n = eth_frame(&h, fr, ETH_P_IP, ip, il);
	struct snap sn;
	snap_take(&sn, h.s);
	struct us_dev_stats d0 = dev_stats(h.s, h.p.ifindex);
	unsigned refused = 0;
	for (int i = 0; i < 1500; i++)
		if (us_dev_input(h.s, h.p.ifindex, fr, n) < 0)
			refused++;
	CHECK_EQ(refused, 500);
	struct us_dev_stats d1 = dev_stats(h.s, h.p.ifindex);
	CHECK_EQ(d1.rx_overruns - d0.rx_overruns, 500);
	CHECK_EQ(snap_delta(&sn, "Drop:RX_OVERRUN"), 500);
	sim_run_for(&h.sim, 100 * MS);
	CHECK_EQ(snap_delta(&sn, "IcmpInEchos"), 1000);
	CHECK_EQ(snap_delta(&sn, "IcmpOutEchoReps"), 1000);
	peer_clear(&h.p);
	CHECK(alive(&h));
	host_free(&h);
}

TEST_MAIN(T(truncated_and_malformed), T(random_and_mutated), T(tun_device), T(backlog_overrun))

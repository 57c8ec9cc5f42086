/* ARP and the neighbour cache (RFC 826, RFC 1122 2.3.2, RFC 5227; states
 * and timers as Linux's neighbour subsystem), driven by a scripted peer
 * under virtual time. */
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
	struct netdev *dev;
	uint32_t me, peer_ip;
};

static void host_init(struct host *h, uint64_t seed, const char *addr)
{
	memset(h, 0, sizeof(*h));
	sim_init(&h->sim, 1, seed);
	h->s = h->sim.st[0];
	if (peer_attach(&h->p, h->s, h->sim.clk, "cb0", addr, false) < 0)
		abort();
	h->dev = netdev_get_by_index(h->s, h->p.ifindex);
	h->me = ip4("10.0.0.1").s_addr;
	h->peer_ip = ip4("10.0.0.2").s_addr;
}

static void host_free(struct host *h)
{
	peer_detach(&h->p);
	sim_free(&h->sim);
}

static uint8_t nstate(struct host *h, uint32_t ip)
{
	struct neighbour *n = neigh_lookup(h->s, h->dev, ip);
	return n ? n->nud_state : NUD_NONE;
}

/* An ARP frame the stack sent, parsed; false if f is not ARP. */
static bool as_arp(const struct frame *f, struct eth_repr *e, struct arp_repr *a)
{
	if (!f || eth_parse(f->data, f->len, e) < 0 || e->type != ETH_P_ARP)
		return false;
	return arp_parse(f->data + ETH_HLEN, f->len - ETH_HLEN, a) == ARP_OK;
}

/* Answers a request of the stack as the peer would: unicast reply. */
static void reply_as(struct host *h, uint32_t ip, const uint8_t *mac)
{
	uint8_t fr[ETH_ZLEN];
	size_t n = build_arp(fr, h->p.stack_mac, mac, ARPOP_REPLY, mac, ip, h->p.stack_mac, h->me);
	peer_inject(&h->p, fr, n);
}

/* Unresolved: up to three broadcast requests a second apart (mcast_probes,
 * retrans_time), then FAILED; every packet that waited gets a host
 * unreachable (here back to ourselves, as ping shows "Destination Host
 * Unreachable" from its own address). */
static void incomplete_then_failed(void)
{
	struct host h;
	host_init(&h, 11, "10.0.0.1/24");
	uint32_t dead = ip4("10.0.0.9").s_addr;
	struct capture lo;
	cap_start(&lo, h.s, h.s->lo->ifindex);
	struct snap sn;
	snap_take(&sn, h.s);
	uint64_t t0 = sim_now(&h.sim);
	for (uint16_t seq = 1; seq <= 3; seq++)
		REQUIRE(stack_send_echo(h.s, h.me, dead, 0x99, seq, 32, 0, false) == 0);
	CHECK_EQ(nstate(&h, dead), NUD_INCOMPLETE);
	sim_run_for(&h.sim, 2500 * MS);
	CHECK_EQ(nstate(&h, dead), NUD_INCOMPLETE);
	sim_run_for(&h.sim, 499 * MS);
	CHECK_EQ(nstate(&h, dead), NUD_INCOMPLETE);   /* t0 + 2.999 s */
	CHECK_EQ(snap_delta(&sn, "IcmpOutDestUnreachs"), 0);
	sim_run_for(&h.sim, 2 * MS);
	CHECK_EQ(nstate(&h, dead), NUD_FAILED);       /* t0 + 3.001 s */
	sim_run_for(&h.sim, 10 * SEC);

	/* Exactly three requests, broadcast, one second apart. */
	unsigned reqs = 0;
	const struct frame *f;
	while ((f = peer_pop(&h.p, 0)) != NULL) {
		struct eth_repr e;
		struct arp_repr a;
		CHECK(as_arp(f, &e, &a));
		if (!as_arp(f, &e, &a))
			continue;
		CHECK(memcmp(e.dst, bcast, 6) == 0);
		CHECK(memcmp(e.src, h.p.stack_mac, 6) == 0);
		CHECK_EQ(a.op, ARPOP_REQUEST);
		CHECK(memcmp(a.sha, h.p.stack_mac, 6) == 0);
		CHECK_EQ(a.spa, h.me);
		CHECK_EQ(a.tpa, dead);
		CHECK_EQ(f->time, t0 + reqs * SEC);
		reqs++;
	}
	CHECK_EQ(reqs, 3);
	CHECK_EQ(snap_delta(&sn, "ArpOutRequests"), 3);
	CHECK_EQ(snap_delta(&sn, "ArpCacheResFailed"), 1);
	CHECK_EQ(snap_delta(&sn, "Drop:NEIGH_FAILED"), 3);
	/* One host unreachable per queued packet, quoting each in order. */
	CHECK_EQ(snap_delta(&sn, "IcmpOutDestUnreachs"), 3);
	CHECK_EQ(snap_delta(&sn, "IcmpInDestUnreachs"), 3);
	for (unsigned i = 0; i < 3; i++) {
		struct icmp_pkt u;
		const struct cap_pkt *k = cap_find_icmp(&lo, true, ICMP_DEST_UNREACH, i, &u);
		CHECK(k != NULL);
		if (!k)
			continue;
		CHECK_EQ(u.icmp.code, ICMP_HOST_UNREACH);
		CHECK_EQ(u.ip.daddr, h.me);
		CHECK_EQ(k->time, t0 + 3 * SEC);
		struct ip_repr inner;
		REQUIRE(u.body_len >= 28 && ipv4_parse_quoted(u.body, u.body_len, &inner) == IPV4_OK);
		CHECK_EQ(inner.daddr, dead);
		CHECK_EQ(get_be16(u.body + inner.ihl + 6), i + 1); /* echo sequence */
	}

	/* A new packet for a FAILED neighbour starts resolution again. */
	uint64_t t1 = sim_now(&h.sim);
	REQUIRE(stack_send_echo(h.s, h.me, dead, 0x99, 4, 32, 0, false) == 0);
	f = peer_pop(&h.p, 0);
	struct eth_repr e;
	struct arp_repr a;
	CHECK(as_arp(f, &e, &a) && a.tpa == dead && memcmp(e.dst, bcast, 6) == 0 && f->time == t1);
	CHECK_EQ(nstate(&h, dead), NUD_INCOMPLETE);
	cap_stop(&lo);
	host_free(&h);
}

/* The same failure for forwarded traffic: the host unreachable goes back
 * to the sender, from the router. */
static void failed_forwarded_host_unreachable(void)
{
	struct sim sim;
	sim_init(&sim, 1, 12);
	us_stack *r = sim.st[0];
	struct peer p1, p2;
	REQUIRE(peer_attach(&p1, r, sim.clk, "cb0", "10.0.0.1/24", false) == 0);
	REQUIRE(peer_attach(&p2, r, sim.clk, "cb1", "10.1.0.1/24", false) == 0);
	us_set_forwarding(r, true);
	peer_set_neigh(&p1, ip4("10.0.0.2").s_addr, NULL);
	uint8_t icmp[64], fr[128];
	size_t il = build_icmp_echo(icmp, ICMP_ECHO, 0x1234, 7, 24);
	size_t fl = build_ipv4(fr, false, p1.stack_mac, p1.mac, ip4("10.0.0.2").s_addr,
			       ip4("10.1.0.9").s_addr, IPPROTO_ICMP_, 42, 0, false, 64, icmp, il);
	struct snap sn;
	snap_take(&sn, r);
	peer_inject(&p1, fr, fl);
	sim_run_for(&sim, 5 * SEC);
	/* Three requests on the far side... */
	unsigned reqs = 0;
	const struct frame *f;
	while ((f = peer_pop(&p2, 0)) != NULL) {
		struct eth_repr e;
		struct arp_repr a;
		if (as_arp(f, &e, &a) && a.op == ARPOP_REQUEST && a.tpa == ip4("10.1.0.9").s_addr &&
		    a.spa == ip4("10.1.0.1").s_addr)
			reqs++;
		else
			CHECK(0);
	}
	CHECK_EQ(reqs, 3);
	/* ...and one host unreachable back to the sender. */
	struct icmp_pkt u;
	f = peer_pop_icmp(&p1, 0, &u, NULL);
	REQUIRE(f != NULL);
	CHECK_EQ(u.icmp.type, ICMP_DEST_UNREACH);
	CHECK_EQ(u.icmp.code, ICMP_HOST_UNREACH);
	CHECK_EQ(u.ip.saddr, ip4("10.0.0.1").s_addr);
	CHECK_EQ(u.ip.daddr, ip4("10.0.0.2").s_addr);
	CHECK(memcmp(f->data, p1.mac, 6) == 0);
	struct ip_repr inner;
	REQUIRE(u.body_len >= 28 && ipv4_parse_quoted(u.body, u.body_len, &inner) == IPV4_OK);
	CHECK_EQ(inner.id, 42);
	CHECK_EQ(inner.daddr, ip4("10.1.0.9").s_addr);
	CHECK(memcmp(u.body + inner.ihl, icmp, 8) == 0);
	CHECK_EQ(peer_pending(&p1), 0);
	CHECK_EQ(snap_delta(&sn, "IpForwDatagrams"), 1);
	CHECK_EQ(snap_delta(&sn, "IcmpOutDestUnreachs"), 1);
	peer_detach(&p1);
	peer_detach(&p2);
	sim_free(&sim);
}

/* A reply resolves: REACHABLE, and the packets that waited leave in the
 * order they were sent, to the MAC learned. */
static void reply_reachable_flush_in_order(void)
{
	struct host h;
	host_init(&h, 13, "10.0.0.1/24");
	struct snap sn;
	snap_take(&sn, h.s);
	for (uint16_t seq = 1; seq <= 5; seq++)
		REQUIRE(stack_send_echo(h.s, h.me, h.peer_ip, 0x77, seq, 40, 0, false) == 0);
	const struct frame *f = peer_pop(&h.p, 100 * MS);
	struct eth_repr e;
	struct arp_repr a;
	REQUIRE(as_arp(f, &e, &a));
	CHECK_EQ(a.tpa, h.peer_ip);
	CHECK_EQ(peer_pending(&h.p), 0);
	CHECK_EQ(nstate(&h, h.peer_ip), NUD_INCOMPLETE);
	peer_answer_arp(&h.p, f);
	CHECK_EQ(nstate(&h, h.peer_ip), NUD_REACHABLE);
	struct neighbour *n = neigh_lookup(h.s, h.dev, h.peer_ip);
	REQUIRE(n != NULL);
	CHECK(memcmp(n->ha, h.p.mac, 6) == 0);
	for (uint16_t seq = 1; seq <= 5; seq++) {
		struct icmp_pkt ip;
		f = peer_pop_icmp(&h.p, 100 * MS, &ip, NULL);
		CHECK(f != NULL);
		if (!f)
			break;
		CHECK(memcmp(f->data, h.p.mac, 6) == 0);
		CHECK_EQ(ip.icmp.type, ICMP_ECHO);
		CHECK_EQ(icmp_echo_seq(&ip.icmp), seq);
	}
	CHECK_EQ(peer_pending(&h.p), 0);
	CHECK_EQ(snap_delta(&sn, "ArpInReplies"), 1);
	CHECK_EQ(snap_delta(&sn, "ArpOutRequests"), 1);
	/* Once resolved, no more requests while it stays reachable. */
	REQUIRE(stack_send_echo(h.s, h.me, h.peer_ip, 0x77, 6, 40, 0, false) == 0);
	f = peer_pop(&h.p, 0);
	CHECK(f != NULL && get_be16(f->data + 12) == ETH_P_IP);
	CHECK_EQ(snap_delta(&sn, "ArpOutRequests"), 1);
	host_free(&h);
}

/* Resolves ip to mac (the stack asks, the peer answers). */
static bool resolve(struct host *h, uint32_t ip, const uint8_t *mac)
{
	if (stack_send_echo(h->s, h->me, ip, 0x55, 1, 8, 0, false) < 0)
		return false;
	const struct frame *f = peer_pop(&h->p, 100 * MS);
	struct eth_repr e;
	struct arp_repr a;
	if (!as_arp(f, &e, &a) || a.tpa != ip)
		return false;
	reply_as(h, ip, mac);
	f = peer_pop(&h->p, 100 * MS);
	return f && get_be16(f->data + 12) == ETH_P_IP && memcmp(f->data, mac, 6) == 0 &&
	       nstate(h, ip) == NUD_REACHABLE;
}

/* REACHABLE lasts a random reachable time in [base/2, 3*base/2] = 15..45 s
 * (no traffic meanwhile), then the entry goes STALE without a probe. */
static void reachable_to_stale(void)
{
	struct host h;
	host_init(&h, 14, "10.0.0.1/24");
	enum { N = 12 };
	uint64_t t_conf[N], t_stale[N];
	uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0 };
	for (int i = 0; i < N; i++) {
		mac[5] = (uint8_t)(i + 1);
		uint32_t ip = htonl(0x0a000010u + (uint32_t)i);
		REQUIRE(resolve(&h, ip, mac));
		t_conf[i] = sim_now(&h.sim);
		t_stale[i] = 0;
	}
	peer_clear(&h.p);
	struct snap sn;
	snap_take(&sn, h.s);
	uint64_t start = sim_now(&h.sim);
	while (sim_now(&h.sim) < start + 50 * SEC) {
		sim_run_for(&h.sim, 10 * MS);
		for (int i = 0; i < N; i++) {
			uint8_t st = nstate(&h, htonl(0x0a000010u + (uint32_t)i));
			if (!t_stale[i] && st != NUD_REACHABLE) {
				t_stale[i] = sim_now(&h.sim);
				CHECK_EQ(st, NUD_STALE);
			}
		}
	}
	bool distinct = false;
	for (int i = 0; i < N; i++) {
		CHECK(t_stale[i] != 0);
		uint64_t d = t_stale[i] - t_conf[i];
		CHECK(d >= 15 * SEC && d <= 45 * SEC + 10 * MS);
		if (i && t_stale[i] - t_conf[i] != t_stale[0] - t_conf[0])
			distinct = true;
	}
	CHECK(distinct); /* randomized per entry */
	CHECK_EQ(peer_pending(&h.p), 0); /* no probes for idle entries */
	CHECK_EQ(snap_delta(&sn, "ArpOutRequests"), 0);
	host_free(&h);
}

/* Brings the peer's entry to STALE (resolve, then wait it out). */
static bool make_stale(struct host *h)
{
	if (!resolve(h, h->peer_ip, h->p.mac))
		return false;
	sim_run_for(&h->sim, 46 * SEC);
	peer_clear(&h->p);
	return nstate(h, h->peer_ip) == NUD_STALE;
}

/* STALE, used: the packet goes at once to the cached MAC, the entry enters
 * DELAY; 5 s later (delay_first_probe_time) PROBE with a unicast request;
 * the reply makes it REACHABLE. */
static void stale_delay_probe_reachable(void)
{
	struct host h;
	host_init(&h, 15, "10.0.0.1/24");
	REQUIRE(make_stale(&h));
	struct snap sn;
	snap_take(&sn, h.s);
	uint64_t t = sim_now(&h.sim);
	REQUIRE(stack_send_echo(h.s, h.me, h.peer_ip, 0x66, 1, 8, 0, false) == 0);
	const struct frame *f = peer_pop(&h.p, 0);
	REQUIRE(f != NULL);
	CHECK_EQ(get_be16(f->data + 12), ETH_P_IP);
	CHECK(memcmp(f->data, h.p.mac, 6) == 0);
	CHECK_EQ(f->time, t);
	CHECK_EQ(nstate(&h, h.peer_ip), NUD_DELAY);
	sim_run_for(&h.sim, 4999 * MS);
	CHECK_EQ(nstate(&h, h.peer_ip), NUD_DELAY);
	CHECK_EQ(peer_pending(&h.p), 0);
	f = peer_pop(&h.p, 10 * MS);
	struct eth_repr e;
	struct arp_repr a;
	REQUIRE(as_arp(f, &e, &a));
	CHECK_EQ(f->time, t + 5 * SEC);
	CHECK_EQ(nstate(&h, h.peer_ip), NUD_PROBE);
	CHECK(memcmp(e.dst, h.p.mac, 6) == 0); /* unicast (RFC 1122 2.3.2.1) */
	CHECK_EQ(a.op, ARPOP_REQUEST);
	CHECK_EQ(a.tpa, h.peer_ip);
	CHECK_EQ(a.spa, h.me);
	reply_as(&h, h.peer_ip, h.p.mac);
	CHECK_EQ(nstate(&h, h.peer_ip), NUD_REACHABLE);
	sim_run_for(&h.sim, 3 * SEC);
	CHECK_EQ(peer_pending(&h.p), 0); /* no further probes */
	CHECK_EQ(nstate(&h, h.peer_ip), NUD_REACHABLE);
	CHECK_EQ(snap_delta(&sn, "ArpOutRequests"), 1);
	host_free(&h);
}

/* PROBE unanswered: three unicast probes a second apart, then FAILED. */
static void stale_probe_failed(void)
{
	struct host h;
	host_init(&h, 16, "10.0.0.1/24");
	REQUIRE(make_stale(&h));
	struct snap sn;
	snap_take(&sn, h.s);
	uint64_t t = sim_now(&h.sim);
	REQUIRE(stack_send_echo(h.s, h.me, h.peer_ip, 0x66, 1, 8, 0, false) == 0);
	sim_run_for(&h.sim, 7500 * MS);
	CHECK_EQ(nstate(&h, h.peer_ip), NUD_PROBE);
	sim_run_for(&h.sim, 1 * SEC);
	CHECK_EQ(nstate(&h, h.peer_ip), NUD_FAILED);
	sim_run_for(&h.sim, 10 * SEC);
	const struct frame *f = peer_pop(&h.p, 0);
	CHECK(f != NULL && get_be16(f->data + 12) == ETH_P_IP); /* the packet itself */
	unsigned probes = 0;
	while ((f = peer_pop(&h.p, 0)) != NULL) {
		struct eth_repr e;
		struct arp_repr a;
		CHECK(as_arp(f, &e, &a));
		if (!as_arp(f, &e, &a))
			continue;
		CHECK(memcmp(e.dst, h.p.mac, 6) == 0);
		CHECK_EQ(a.tpa, h.peer_ip);
		CHECK_EQ(f->time, t + (5 + probes) * SEC);
		probes++;
	}
	CHECK_EQ(probes, 3);
	CHECK_EQ(snap_delta(&sn, "ArpOutRequests"), 3);
	CHECK_EQ(snap_delta(&sn, "ArpCacheResFailed"), 1);
	host_free(&h);
}

/* Requests for our address are answered (and teach us the asker); those
 * for anyone else are not, and teach nothing. */
static void answers_requests_for_us_only(void)
{
	struct host h;
	host_init(&h, 17, "10.0.0.1/24");
	struct snap sn;
	snap_take(&sn, h.s);
	uint8_t fr[ETH_ZLEN];
	size_t n = build_arp(fr, bcast, h.p.mac, ARPOP_REQUEST, h.p.mac, h.peer_ip, NULL, h.me);
	peer_inject(&h.p, fr, n);
	const struct frame *f = peer_pop(&h.p, 0);
	struct eth_repr e;
	struct arp_repr a;
	REQUIRE(as_arp(f, &e, &a));
	CHECK(memcmp(e.dst, h.p.mac, 6) == 0);
	CHECK(memcmp(e.src, h.p.stack_mac, 6) == 0);
	CHECK_EQ(a.op, ARPOP_REPLY);
	CHECK(memcmp(a.sha, h.p.stack_mac, 6) == 0);
	CHECK_EQ(a.spa, h.me);
	CHECK(memcmp(a.tha, h.p.mac, 6) == 0);
	CHECK_EQ(a.tpa, h.peer_ip);
	CHECK(f->len >= ETH_ZLEN); /* padded to the minimum frame */
	CHECK_EQ(nstate(&h, h.peer_ip), NUD_STALE);
	CHECK_EQ(snap_delta(&sn, "ArpInRequests"), 1);
	CHECK_EQ(snap_delta(&sn, "ArpOutReplies"), 1);

	/* Someone else's address: silence, and the asker is not learned. */
	uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x33 };
	uint32_t other_ip = ip4("10.0.0.3").s_addr;
	n = build_arp(fr, bcast, other, ARPOP_REQUEST, other, other_ip, NULL, ip4("10.0.0.50").s_addr);
	peer_inject(&h.p, fr, n);
	CHECK(peer_pop(&h.p, 2 * SEC) == NULL);
	CHECK_EQ(nstate(&h, other_ip), NUD_NONE);
	CHECK_EQ(snap_delta(&sn, "ArpOutReplies"), 1);
	/* Nor one for the subnet's broadcast address. */
	n = build_arp(fr, bcast, other, ARPOP_REQUEST, other, other_ip, NULL, ip4("10.0.0.255").s_addr);
	peer_inject(&h.p, fr, n);
	CHECK(peer_pop(&h.p, 1 * SEC) == NULL);
	/* RFC 5227 probe (sender 0.0.0.0) for our address: answered (a
	 * conflict), nothing learned. */
	n = build_arp(fr, bcast, other, ARPOP_REQUEST, other, 0, NULL, h.me);
	peer_inject(&h.p, fr, n);
	f = peer_pop(&h.p, 0);
	REQUIRE(as_arp(f, &e, &a));
	CHECK_EQ(a.op, ARPOP_REPLY);
	CHECK_EQ(a.spa, h.me);
	CHECK(memcmp(e.dst, other, 6) == 0);
	CHECK_EQ(nstate(&h, 0), NUD_NONE);
	CHECK_EQ(snap_delta(&sn, "ArpOutReplies"), 2);
	/* A request sent unicast to another MAC is not ours to answer. */
	uint8_t else_mac[6] = { 0x02, 0, 0, 0, 0, 0x77 };
	n = build_arp(fr, else_mac, other, ARPOP_REQUEST, other, other_ip, NULL, h.me);
	peer_inject(&h.p, fr, n);
	CHECK(peer_pop(&h.p, 1 * SEC) == NULL);
	CHECK_EQ(snap_delta(&sn, "Drop:OTHERHOST"), 1);
	host_free(&h);
}

/* RFC 5227 3: an address added to an up device is announced with a
 * gratuitous ARP; one added while down is announced when it comes up. */
static void gratuitous_on_address_add(void)
{
	struct host h;
	host_init(&h, 18, "10.0.0.1/24");
	struct snap sn;
	snap_take(&sn, h.s);
	uint32_t extra = ip4("10.0.0.7").s_addr;
	REQUIRE(us_addr_add(h.s, h.p.ifindex, ip4("10.0.0.7"), 24) == 0);
	const struct frame *f = peer_pop(&h.p, 0);
	struct eth_repr e;
	struct arp_repr a;
	REQUIRE(as_arp(f, &e, &a));
	CHECK(memcmp(e.dst, bcast, 6) == 0);
	CHECK_EQ(a.op, ARPOP_REQUEST);
	CHECK_EQ(a.spa, extra);
	CHECK_EQ(a.tpa, extra);
	CHECK(memcmp(a.sha, h.p.stack_mac, 6) == 0);
	CHECK_EQ(peer_pending(&h.p), 0);
	CHECK_EQ(snap_delta(&sn, "ArpOutRequests"), 1);

	/* Down: nothing on the wire; up: every address announced. */
	REQUIRE(us_dev_set_up(h.s, h.p.ifindex, false) == 0);
	REQUIRE(us_addr_add(h.s, h.p.ifindex, ip4("10.0.0.8"), 24) == 0);
	CHECK(peer_pop(&h.p, 1 * SEC) == NULL);
	REQUIRE(us_dev_set_up(h.s, h.p.ifindex, true) == 0);
	uint32_t want[3] = { h.me, extra, ip4("10.0.0.8").s_addr };
	bool seen[3] = { false, false, false };
	while ((f = peer_pop(&h.p, 0)) != NULL) {
		REQUIRE(as_arp(f, &e, &a));
		CHECK_EQ(a.spa, a.tpa);
		for (int i = 0; i < 3; i++)
			if (a.spa == want[i])
				seen[i] = true;
	}
	CHECK(seen[0] && seen[1] && seen[2]);
	/* A TUN-like l3 device never sends ARP. */
	struct peer l3;
	REQUIRE(peer_attach(&l3, h.s, h.sim.clk, "tun0", NULL, true) == 0);
	REQUIRE(us_addr_add(h.s, l3.ifindex, ip4("10.5.0.1"), 24) == 0);
	CHECK(peer_pop(&l3, 1 * SEC) == NULL);
	peer_detach(&l3);
	host_free(&h);
}

/* gc_thresh3: ARP requests from 5000 spoofed senders leave at most 1024
 * entries; the oldest are forgotten (forced gc), every request is still
 * answered. */
static void table_cap_under_spoofing(void)
{
	struct host h;
	host_init(&h, 19, "10.0.0.1/16");
	struct snap sn;
	snap_take(&sn, h.s);
	uint8_t fr[ETH_ZLEN];
	unsigned answered = 0;
	unsigned max_entries = 0;
	for (uint32_t i = 0; i < 5000; i++) {
		uint8_t mac[6] = { 0x02, 0xaa, 0, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		uint32_t spa = htonl(0x0a000000u + 0x100u + i); /* 10.0.1.0 on */
		size_t n = build_arp(fr, bcast, mac, ARPOP_REQUEST, mac, spa, NULL, h.me);
		peer_inject(&h.p, fr, n);
		const struct frame *f;
		while ((f = peer_pop(&h.p, 0)) != NULL) {
			struct eth_repr e;
			struct arp_repr a;
			if (as_arp(f, &e, &a) && a.op == ARPOP_REPLY && a.tpa == spa)
				answered++;
		}
		if (h.s->arp_tbl.entries > max_entries)
			max_entries = h.s->arp_tbl.entries;
		if (i % 500 == 0)
			sim_run_for(&h.sim, 100 * MS);
	}
	CHECK_EQ(answered, 5000);
	CHECK(max_entries <= 1024);
	CHECK(h.s->arp_tbl.entries <= 1024);
	CHECK(h.s->arp_tbl.entries >= 1000); /* the cap is the limit, not less */
	CHECK(snap_delta(&sn, "ArpCacheForcedGcRuns") >= 5000 - 1024);
	/* Least recently updated forgotten first: the last senders stay. */
	CHECK_EQ(nstate(&h, htonl(0x0a000000u + 0x100u + 4999)), NUD_STALE);
	CHECK_EQ(nstate(&h, htonl(0x0a000000u + 0x100u + 0)), NUD_NONE);
	/* And the stack still works: a ping from the peer is answered. */
	CHECK(peer_ping(&h.p, h.peer_ip, h.me, 1, 1, 56));
	host_free(&h);
}

/* The queue of packets waiting for resolution is bounded per neighbour
 * (unres_qlen_bytes); the oldest are dropped first and counted. */
static void pending_queue_bounded(void)
{
	struct host h;
	host_init(&h, 20, "10.0.0.1/24");
	struct snap sn;
	snap_take(&sn, h.s);
	struct us_pool_stats ps0;
	us_stack_pool_stats(h.s, &ps0);
	const unsigned sent = 400; /* 400 x 1028 bytes: about twice the bound */
	for (unsigned i = 0; i < sent; i++)
		REQUIRE(stack_send_echo(h.s, h.me, h.peer_ip, 0x42, (uint16_t)i, 1000, 0, false) == 0);
	struct neighbour *n = neigh_lookup(h.s, h.dev, h.peer_ip);
	REQUIRE(n != NULL);
	CHECK(n->arp_queue.bytes <= h.s->arp_tbl.p.unres_qlen_bytes);
	CHECK(n->arp_queue.bytes <= 212992);
	unsigned queued = n->arp_queue.qlen;
	CHECK(queued > 100 && queued < sent);
	CHECK_EQ(snap_delta(&sn, "ArpCacheUnresolvedDiscards"), sent - queued);
	CHECK_EQ(snap_delta(&sn, "Drop:NEIGH_QUEUEFULL"), sent - queued);
	struct us_pool_stats ps1;
	us_stack_pool_stats(h.s, &ps1);
	CHECK(ps1.in_use <= ps0.in_use + queued + 2); /* the dropped ones were freed */
	const struct frame *f = peer_pop(&h.p, 100 * MS);
	struct eth_repr e;
	struct arp_repr a;
	REQUIRE(as_arp(f, &e, &a));
	peer_answer_arp(&h.p, f);
	/* The newest survive, in order. */
	unsigned got = 0;
	struct icmp_pkt ip;
	while (peer_pop_icmp(&h.p, 0, &ip, NULL)) {
		CHECK_EQ(icmp_echo_seq(&ip.icmp), sent - queued + got);
		got++;
	}
	CHECK_EQ(got, queued);
	host_free(&h);
}

TEST_MAIN(T(incomplete_then_failed), T(failed_forwarded_host_unreachable),
	  T(reply_reachable_flush_in_order), T(reachable_to_stale), T(stale_delay_probe_reachable),
	  T(stale_probe_failed), T(answers_requests_for_us_only), T(gratuitous_on_address_add),
	  T(table_cap_under_spoofing), T(pending_queue_bounded))

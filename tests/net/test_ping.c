/* In-process ping: two stacks over a lossy, reordering link; a scripted
 * peer checks the exact echo reply. */
#include "test.h"
#include "sim.h"

#include "core/stack.h"
#include "wire/eth.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

struct pinger {
	us_stack *s;
	uint32_t src, dst;
	unsigned replies;
	uint8_t seen[1024];
	struct packet_type pt;
};

static int on_frame(struct skb *skb, struct netdev *dev, struct packet_type *pt)
{
	struct pinger *pg = pt->priv;
	(void)dev;
	struct ip_repr ip;
	if (skb->pkt_type == PACKET_OUTGOING || skb->protocol != ETH_P_IP ||
	    ipv4_parse(skb->data, skb->len, &ip) != IPV4_OK || ip.protocol != 1)
		return 0;
	struct icmp_repr r;
	if (icmp_parse(skb->data + ip.ihl, ip.tot_len - ip.ihl, &r) == ICMP_OK &&
	    r.type == ICMP_ECHOREPLY && icmp_echo_seq(&r) < 1024 && !pg->seen[icmp_echo_seq(&r)]) {
		pg->seen[icmp_echo_seq(&r)] = 1;
		pg->replies++;
	}
	return 0;
}

static void send_echo(struct pinger *pg, uint16_t seq, size_t len)
{
	struct skb *skb = skb_alloc_tx(pg->s->pool, (uint32_t)(ICMP_HLEN + len));
	build_icmp_echo(skb_put(skb, (uint32_t)(ICMP_HLEN + len)), ICMP_ECHO, 7, seq, len);
	struct ip_tx tx = { .saddr = pg->src, .daddr = pg->dst, .protocol = 1 };
	ip_send_skb(pg->s, skb, &tx);
}

static void ping_lossy_link(void)
{
	struct sim sim;
	sim_init(&sim, 2, 42);
	int ia, ib;
	REQUIRE(sim_link(&sim, 0, "veth0", "10.0.0.1/24", 1, "veth1", "10.0.0.2/24", &ia, &ib) == 0);
	struct us_impair imp;
	char err[128];
	REQUIRE(us_impair_parse("loss=20%,reorder=20%,delay=2ms,jitter=1ms", &imp, err, sizeof(err)) == 0);
	us_dev_set_impair(sim.st[0], ia, &imp);
	us_dev_set_impair(sim.st[1], ib, &imp);
	struct pinger pg = { .s = sim.st[0], .src = ip4("10.0.0.1").s_addr, .dst = ip4("10.0.0.2").s_addr };
	pg.pt = (struct packet_type){ .type = ETH_P_ALL, .func = on_frame, .priv = &pg };
	dev_add_pack(sim.st[0], &pg.pt);
	for (uint16_t seq = 0; seq < 200; seq++) {
		send_echo(&pg, seq, 56);
		sim_run_for(&sim, 10000000); /* 10 ms apart */
	}
	sim_run_for(&sim, 3000000000ull);
	/* Each echo survives two 20% losses with p = 0.64: 128 of 200 on
	 * average; ARP losses cost a few more. */
	CHECK(pg.replies > 90);
	CHECK(pg.replies < 170);
	uint64_t v = 0;
	us_stack_counter(sim.st[1], "IcmpInEchos", &v);
	CHECK(v >= pg.replies);
	dev_remove_pack(sim.st[0], &pg.pt);
	sim_free(&sim);
}

static void echo_reply_exact(void)
{
	us_clock *clk = us_clock_new_virtual(1000000000ull);
	struct us_stack_config c = { .clock = clk, .seed = 5 };
	us_stack *s = us_stack_new(&c);
	struct peer p;
	REQUIRE(peer_attach(&p, s, clk, "cb0", "192.168.1.2/24", false) == 0);
	uint8_t icmp[2000], frame[2100];
	size_t ilen = build_icmp_echo(icmp, ICMP_ECHO, 0x4242, 9, 1000);
	size_t flen = build_ipv4(frame, false, p.stack_mac, p.mac, ip4("192.168.1.1").s_addr,
				 ip4("192.168.1.2").s_addr, 1, 77, 0, false, 64, icmp, ilen);
	peer_inject(&p, frame, flen);
	/* We have not answered its ARP yet: it asks first. */
	const struct frame *f = peer_pop(&p, 1000000000ull);
	REQUIRE(f != NULL);
	CHECK_EQ(get_be16(f->data + 12), ETH_P_ARP);
	peer_answer_arp(&p, f);
	f = peer_pop(&p, 1000000000ull);
	REQUIRE(f != NULL);
	size_t len;
	const uint8_t *ipb = frame_ip(&p, f, &len);
	struct ip_repr ip;
	REQUIRE(ipv4_parse(ipb, len, &ip) == IPV4_OK);
	CHECK_EQ(ip.saddr, ip4("192.168.1.2").s_addr);
	CHECK_EQ(ip.daddr, ip4("192.168.1.1").s_addr);
	CHECK_EQ(ip.tot_len, 20 + ilen);
	struct icmp_repr r;
	REQUIRE(icmp_parse(ipb + ip.ihl, ip.tot_len - ip.ihl, &r) == ICMP_OK);
	CHECK_EQ(r.type, ICMP_ECHOREPLY);
	CHECK_EQ(icmp_echo_id(&r), 0x4242);
	CHECK_EQ(icmp_echo_seq(&r), 9);
	CHECK(memcmp(ipb + ip.ihl + 8, icmp + 8, 1000) == 0);
	CHECK(memcmp(f->data, p.mac, 6) == 0);
	peer_detach(&p);
	us_stack_free(s);
	us_clock_free(clk);
}

TEST_MAIN(T(ping_lossy_link), T(echo_reply_exact))

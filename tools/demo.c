/* ustack demo: two stacks in this process, joined by an in-process link,
 * one pinging the other under virtual time. The fallback of the README's
 * main job where TAP devices are not available. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cli.h"
#include "../src/core/stack.h"
#include "../src/wire/icmp.h"

struct ping_state {
	unsigned sent, received;
	uint64_t sent_at[64];
};

/* Counts echo replies seen on the pinger's device (a tap, as tcpdump). */
static int count_replies(struct skb *skb, struct netdev *dev, struct packet_type *pt)
{
	struct ping_state *ps = pt->priv;
	(void)dev;
	if (skb->pkt_type == PACKET_OUTGOING || skb->protocol != 0x0800)
		return 0;
	struct ip_repr ip;
	if (ipv4_parse(skb->data, skb->len, &ip) || ip.protocol != 1 || skb->len < ip.ihl + 8u)
		return 0;
	const uint8_t *ic = skb->data + ip.ihl;
	if (ic[0] != ICMP_ECHOREPLY)
		return 0;
	uint16_t seq = get_be16(ic + 6);
	char a[16];
	double ms = (double)(us_stack_now(dev->stack) - ps->sent_at[seq % 64]) / 1e6;
	printf("%u bytes from %s: icmp_seq=%u ttl=%u time=%.3f ms\n", ip.tot_len - ip.ihl,
	       ip_str(ip.saddr, a), seq, ip.ttl, ms);
	ps->received++;
	return 0;
}

static void send_echo(us_stack *s, uint32_t src, uint32_t dst, uint16_t seq, unsigned size)
{
	struct skb *skb = skb_alloc_tx(s->pool, ICMP_HLEN + size);
	if (!skb)
		return;
	uint8_t *h = skb_put(skb, ICMP_HLEN + size);
	for (unsigned i = 0; i < size; i++)
		h[ICMP_HLEN + i] = (uint8_t)i;
	struct icmp_repr r = { .type = ICMP_ECHO, .rest = (0x1234u << 16) | seq };
	icmp_emit(h, ICMP_HLEN + size, &r);
	struct ip_tx tx = { .saddr = src, .daddr = dst, .protocol = 1 };
	ip_send_skb(s, skb, &tx);
}

int cmd_demo(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: ustack demo\n");
		return 2;
	}
	us_clock *clk = us_clock_new_virtual(0);
	struct us_stack_config ca = { .clock = clk, .seed = 1, .name = "A" };
	struct us_stack_config cb = { .clock = clk, .seed = 2, .name = "B" };
	us_stack *a = us_stack_new(&ca), *b = us_stack_new(&cb);
	if (!clk || !a || !b)
		return cli_error("cannot create stacks: out of memory");
	int ib;
	int ia = us_dev_pair(a, "veth0", b, "veth1", &ib);
	struct in_addr aa, ab;
	inet_pton(AF_INET, "10.99.0.1", &aa);
	inet_pton(AF_INET, "10.99.0.2", &ab);
	us_dev_set_up(a, ia, true);
	us_dev_set_up(b, ib, true);
	us_addr_add(a, ia, aa, 24);
	us_addr_add(b, ib, ab, 24);
	struct us_impair imp = { .delay_ns = 500000, .jitter_ns = 100000 };
	us_dev_set_impair(a, ia, &imp);
	us_dev_set_impair(b, ib, &imp);

	struct ping_state ps = { 0 };
	struct packet_type tap = { .type = 0x0003, .dev = netdev_get_by_index(a, ia),
				   .func = count_replies, .priv = &ps };
	dev_add_pack(a, &tap);
	printf("in-process: stack A 10.99.0.1 (veth0) <-> stack B 10.99.0.2 (veth1), virtual time\n");
	printf("PING 10.99.0.2 56(84) bytes of data.\n");
	for (unsigned seq = 1; seq <= 5; seq++) {
		ps.sent_at[seq % 64] = us_clock_now(clk);
		send_echo(a, aa.s_addr, ab.s_addr, (uint16_t)seq, 56);
		ps.sent++;
		uint64_t until = us_clock_now(clk) + 1000000000ull;
		while (us_clock_now(clk) < until) {
			us_stack_poll(a);
			us_stack_poll(b);
			uint64_t na = us_stack_next_event(a), nb = us_stack_next_event(b);
			uint64_t n = na < nb ? na : nb;
			if (n <= us_clock_now(clk))
				continue;
			us_clock_set(clk, n < until ? n : until);
		}
	}
	printf("--- 10.99.0.2 ping statistics ---\n%u packets transmitted, %u received, %u%% packet loss\n",
	       ps.sent, ps.received, ps.sent ? 100 * (ps.sent - ps.received) / ps.sent : 0);
	dev_remove_pack(a, &tap);
	us_stack_free(a);
	us_stack_free(b);
	us_clock_free(clk);
	return ps.received == ps.sent ? 0 : 1;
}

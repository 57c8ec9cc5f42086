#include "sim.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/compiler.h"
#include "../../src/wire/checksum.h"
#include "../../src/wire/eth.h"
#include "../../src/wire/icmp.h"
#include "../../src/wire/ipv4.h"

struct in_addr ip4(const char *dotted)
{
	struct in_addr a;
	if (inet_pton(AF_INET, dotted, &a) != 1) {
		fprintf(stderr, "bad address %s\n", dotted);
		abort();
	}
	return a;
}

void sim_init(struct sim *sim, int n, uint64_t seed)
{
	memset(sim, 0, sizeof(*sim));
	sim->clk = us_clock_new_virtual(1000000000ull);
	sim->n = n;
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", i);
		struct us_stack_config c = { .clock = sim->clk, .seed = seed * 1000 + (uint64_t)i + 1,
					     .name = name };
		sim->st[i] = us_stack_new(&c);
		if (!sim->st[i])
			abort();
	}
}

void sim_free(struct sim *sim)
{
	for (int i = 0; i < sim->n; i++)
		us_stack_free(sim->st[i]);
	us_clock_free(sim->clk);
	memset(sim, 0, sizeof(*sim));
}

static void add_addr(us_stack *s, int ifindex, const char *addr)
{
	struct in_addr a;
	int plen;
	if (!addr)
		return;
	if (us_parse_prefix(addr, &a, &plen) < 0 || us_addr_add(s, ifindex, a, plen) < 0) {
		fprintf(stderr, "cannot add %s\n", addr);
		abort();
	}
}

int sim_link(struct sim *sim, int a, const char *name_a, const char *addr_a, int b,
	     const char *name_b, const char *addr_b, int *ia, int *ib)
{
	int xb;
	int xa = us_dev_pair(sim->st[a], name_a, sim->st[b], name_b, &xb);
	if (xa < 0)
		return -1;
	us_dev_set_up(sim->st[a], xa, true);
	us_dev_set_up(sim->st[b], xb, true);
	add_addr(sim->st[a], xa, addr_a);
	add_addr(sim->st[b], xb, addr_b);
	if (ia)
		*ia = xa;
	if (ib)
		*ib = xb;
	return 0;
}

uint64_t sim_now(const struct sim *sim)
{
	return us_clock_now(sim->clk);
}

/* One step: poll everyone, then move the clock to the earliest next event
 * (not beyond limit). Returns false if nothing is left before limit. */
static bool sim_step(struct sim *sim, uint64_t limit)
{
	for (int i = 0; i < sim->n; i++)
		us_stack_poll(sim->st[i]);
	uint64_t next = US_TIME_NEVER;
	for (int i = 0; i < sim->n; i++) {
		uint64_t t = us_stack_next_event(sim->st[i]);
		if (t < next)
			next = t;
	}
	uint64_t now = us_clock_now(sim->clk);
	if (next <= now)
		return true;
	if (next > limit) {
		if (limit > now)
			us_clock_set(sim->clk, limit);
		return false;
	}
	us_clock_set(sim->clk, next);
	return true;
}

void sim_run_for(struct sim *sim, uint64_t ns)
{
	uint64_t limit = us_clock_now(sim->clk) + ns;
	while (us_clock_now(sim->clk) < limit && sim_step(sim, limit))
		;
	for (int i = 0; i < sim->n; i++)
		us_stack_poll(sim->st[i]);
}

bool sim_run_until(struct sim *sim, bool (*cond)(void *arg), void *arg, uint64_t max_ns)
{
	uint64_t limit = us_clock_now(sim->clk) + max_ns;
	for (;;) {
		if (cond(arg))
			return true;
		if (us_clock_now(sim->clk) >= limit)
			return cond(arg);
		if (!sim_step(sim, limit) && us_clock_now(sim->clk) >= limit) {
			for (int i = 0; i < sim->n; i++)
				us_stack_poll(sim->st[i]);
			return cond(arg);
		}
	}
}

/* ---- peer ---- */

static void peer_tx(void *arg, const void *frame, size_t len)
{
	struct peer *p = arg;
	if (p->tail - p->head >= PEER_MAX_FRAMES) {
		p->dropped++;
		return;
	}
	struct frame *f = &p->frames[p->tail % PEER_MAX_FRAMES];
	f->data = malloc(len ? len : 1);
	memcpy(f->data, frame, len);
	f->len = len;
	f->time = us_clock_now(p->clk);
	p->tail++;
}

int peer_attach(struct peer *p, us_stack *s, us_clock *clk, const char *name, const char *addr,
		bool l3)
{
	memset(p, 0, sizeof(*p));
	p->s = s;
	p->clk = clk;
	p->l3 = l3;
	static const uint8_t pm[6] = { 0x02, 0, 0, 0, 0, 0xfe };
	memcpy(p->mac, pm, 6);
	p->ifindex = us_dev_callback(s, name, l3, peer_tx, p);
	if (p->ifindex < 0)
		return -1;
	us_dev_get_mac(s, p->ifindex, p->stack_mac);
	us_dev_set_up(s, p->ifindex, true);
	add_addr(s, p->ifindex, addr);
	us_stack_poll(s);
	peer_clear(p);
	return 0;
}

void peer_clear(struct peer *p)
{
	while (p->head < p->tail) {
		free(p->frames[p->head % PEER_MAX_FRAMES].data);
		p->head++;
	}
}

void peer_detach(struct peer *p)
{
	peer_clear(p);
	free(p->last.data);
	p->last.data = NULL;
}

void peer_inject(struct peer *p, const void *frame, size_t len)
{
	us_dev_input(p->s, p->ifindex, frame, len);
	us_stack_poll(p->s);
}

size_t peer_pending(const struct peer *p)
{
	return p->tail - p->head;
}

const struct frame *peer_pop(struct peer *p, uint64_t max_ns)
{
	uint64_t limit = us_clock_now(p->clk) + max_ns;
	while (p->head == p->tail) {
		uint64_t next = us_stack_poll(p->s);
		if (p->head != p->tail)
			break;
		uint64_t now = us_clock_now(p->clk);
		if (next <= now)
			continue;
		if (next > limit || next == US_TIME_NEVER) {
			if (limit > now)
				us_clock_set(p->clk, limit);
			us_stack_poll(p->s);
			if (p->head == p->tail)
				return NULL;
			break;
		}
		us_clock_set(p->clk, next);
	}
	free(p->last.data);
	p->last = p->frames[p->head % PEER_MAX_FRAMES];
	p->head++;
	return &p->last;
}

const uint8_t *frame_ip(const struct peer *p, const struct frame *f, size_t *len)
{
	size_t off = p->l3 ? 0 : ETH_HLEN;
	if (f->len < off) {
		*len = 0;
		return NULL;
	}
	*len = f->len - off;
	return f->data + off;
}

void peer_answer_arp(struct peer *p, const struct frame *f)
{
	if (p->l3 || f->len < ETH_HLEN + 28 || get_be16(f->data + 12) != ETH_P_ARP)
		return;
	const uint8_t *a = f->data + ETH_HLEN;
	if (get_be16(a + 6) != 1)
		return;
	uint8_t r[ETH_HLEN + 28];
	eth_emit(r, p->stack_mac, p->mac, ETH_P_ARP);
	uint8_t *ra = r + ETH_HLEN;
	memcpy(ra, a, 6);            /* htype, ptype, hlen, plen */
	put_be16(ra + 6, 2);         /* reply */
	memcpy(ra + 8, p->mac, 6);   /* sha: us */
	memcpy(ra + 14, a + 24, 4);  /* spa: the address asked for */
	memcpy(ra + 18, a + 8, 6);   /* tha: the asker */
	memcpy(ra + 24, a + 14, 4);  /* tpa */
	peer_inject(p, r, sizeof(r));
}

size_t build_ipv4(uint8_t *buf, bool l3, const uint8_t *dst_mac, const uint8_t *src_mac,
		  uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t id, uint16_t frag_off_bytes,
		  bool mf, uint8_t ttl, const void *payload, size_t plen)
{
	size_t off = 0;
	if (!l3) {
		eth_emit(buf, dst_mac, src_mac, ETH_P_IP);
		off = ETH_HLEN;
	}
	struct ip_repr ip = {
		.ihl = IPV4_HLEN,
		.tot_len = (uint16_t)(IPV4_HLEN + plen),
		.id = id,
		.mf = mf,
		.frag_off = frag_off_bytes,
		.ttl = ttl,
		.protocol = proto,
		.saddr = saddr,
		.daddr = daddr,
	};
	ipv4_emit(buf + off, &ip);
	memcpy(buf + off + IPV4_HLEN, payload, plen);
	return off + IPV4_HLEN + plen;
}

size_t build_icmp_echo(uint8_t *buf, uint8_t type, uint16_t id, uint16_t seq, size_t datalen)
{
	for (size_t i = 0; i < datalen; i++)
		buf[ICMP_HLEN + i] = (uint8_t)i;
	struct icmp_repr r = { .type = type, .code = 0, .rest = ((uint32_t)id << 16) | seq };
	icmp_emit(buf, ICMP_HLEN + datalen, &r);
	return ICMP_HLEN + datalen;
}

/*
 * Writes the seed corpus of fuzz_rx (format and network in fuzz_rx.h):
 *
 *   gen_corpus DIR
 *
 * Each seed is a small scenario: ARP, ICMP echo (plain, fragmented, with
 * options), reassembly corner cases, UDP, TCP, forwarding (ARP of the
 * gateway, fragmentation on the smaller MTU, DF, TTL, the TUN route),
 * neighbour timers, IPv6 and garbage. Checksums are computed here, and
 * most records also set the fix-up bits so that mutations keep them valid.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "fuzz_rx.h"

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero6[6] = { 0 };

#define FIX (FZ_FIX_IPCSUM | FZ_FIX_L4CSUM)
#define ETH0 (FZ_DEV_ETH0 | FIX)
#define ETH1 (FZ_DEV_ETH1 | FIX)
#define TUN0 (FZ_DEV_TUN0 | FIX)

/* ---- a seed file being built ---- */

static uint8_t seed[1 << 18];
static size_t seed_len;
static const char *out_dir;
static int nwritten;

static void seed_begin(void)
{
	seed_len = 0;
}

static void rec(unsigned sel, uint8_t adv, const uint8_t *frame, size_t len)
{
	if (seed_len + 4 + len > sizeof(seed) || len > 0xffff) {
		fprintf(stderr, "seed too large\n");
		exit(1);
	}
	seed[seed_len++] = (uint8_t)sel;
	seed[seed_len++] = adv;
	seed[seed_len++] = (uint8_t)len;
	seed[seed_len++] = (uint8_t)(len >> 8);
	memcpy(seed + seed_len, frame, len);
	seed_len += len;
}

static void seed_write(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	FILE *fp = fopen(path, "wb");
	if (!fp || fwrite(seed, 1, seed_len, fp) != seed_len || fclose(fp) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	nwritten++;
}

/* ---- frame builders ---- */

static uint32_t ip_of(const char *dotted)
{
	struct in_addr a;
	if (inet_pton(AF_INET, dotted, &a) != 1) {
		fprintf(stderr, "bad address %s\n", dotted);
		exit(1);
	}
	return a.s_addr;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t eth(uint8_t *b, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	put16(b + 12, type);
	return 14;
}

static size_t arp(uint8_t *b, const uint8_t *edst, uint16_t op, const uint8_t *sha,
		  const char *spa, const uint8_t *tha, const char *tpa)
{
	size_t n = eth(b, edst, sha, 0x0806);
	uint8_t *a = b + n;
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	uint32_t s = ip_of(spa), t = ip_of(tpa);
	memcpy(a + 14, &s, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, &t, 4);
	memset(a + 28, 0, 18); /* Ethernet padding to 60 bytes */
	return n + 28 + 18;
}

struct ipspec {
	const char *src, *dst;
	uint8_t proto;
	uint8_t ttl;          /* 0: 64 */
	uint8_t tos;
	uint16_t id;
	bool df, mf;
	uint16_t frag_off;    /* bytes */
	const uint8_t *opts;  /* a multiple of 4 bytes */
	uint8_t optlen;
};

/* An IPv4 header and payload at b; returns the length. */
static size_t ipv4(uint8_t *b, const struct ipspec *s, const uint8_t *payload, size_t plen)
{
	size_t ihl = 20u + s->optlen;
	b[0] = (uint8_t)(0x40 | ihl / 4);
	b[1] = s->tos;
	put16(b + 2, (uint16_t)(ihl + plen));
	put16(b + 4, s->id);
	put16(b + 6, (uint16_t)((s->df ? 0x4000 : 0) | (s->mf ? 0x2000 : 0) | (s->frag_off >> 3)));
	b[8] = s->ttl ? s->ttl : 64;
	b[9] = s->proto;
	put16(b + 10, 0);
	uint32_t sa = ip_of(s->src), da = ip_of(s->dst);
	memcpy(b + 12, &sa, 4);
	memcpy(b + 16, &da, 4);
	if (s->optlen)
		memcpy(b + 20, s->opts, s->optlen);
	put16(b + 10, csum(csum_add(0, b, ihl)));
	memmove(b + ihl, payload, plen);
	return ihl + plen;
}

/* Ethernet (unless dmac is NULL: a TUN packet) + IPv4. */
static size_t ipframe(uint8_t *b, const uint8_t *dmac, const uint8_t *smac, const struct ipspec *s,
		      const uint8_t *payload, size_t plen)
{
	size_t n = dmac ? eth(b, dmac, smac, 0x0800) : 0;
	n += ipv4(b + n, s, payload, plen);
	/* Ethernet pads to 60 bytes. */
	while (dmac && n < 60)
		b[n++] = 0;
	return n;
}

static size_t icmp(uint8_t *b, uint8_t type, uint8_t code, uint32_t rest, const uint8_t *data,
		   size_t dlen)
{
	b[0] = type;
	b[1] = code;
	put16(b + 2, 0);
	put32(b + 4, rest);
	if (dlen)
		memmove(b + 8, data, dlen);
	put16(b + 2, csum(csum_add(0, b, 8 + dlen)));
	return 8 + dlen;
}

static size_t echo(uint8_t *b, uint16_t id, uint16_t seq, size_t dlen)
{
	uint8_t data[65536];
	for (size_t i = 0; i < dlen; i++)
		data[i] = (uint8_t)i;
	return icmp(b, 8, 0, (uint32_t)id << 16 | seq, data, dlen);
}

static size_t udp(uint8_t *b, const char *src, const char *dst, uint16_t sport, uint16_t dport,
		  const void *data, size_t dlen)
{
	put16(b, sport);
	put16(b + 2, dport);
	put16(b + 4, (uint16_t)(8 + dlen));
	put16(b + 6, 0);
	if (dlen)
		memcpy(b + 8, data, dlen);
	uint32_t sa = ip_of(src), da = ip_of(dst);
	uint32_t sum = csum_add(0, (const uint8_t *)&sa, 4) + csum_add(0, (const uint8_t *)&da, 4) +
		       17 + (uint32_t)(8 + dlen);
	uint16_t c = csum(csum_add(sum, b, 8 + dlen));
	put16(b + 6, c ? c : 0xffff);
	return 8 + dlen;
}

static size_t tcp(uint8_t *b, const char *src, const char *dst, uint16_t sport, uint16_t dport,
		  uint32_t seq, uint32_t ack, uint8_t flags, bool syn_opts)
{
	static const uint8_t opts[20] = {
		2, 4, 0x05, 0xb4,          /* MSS 1460 */
		4, 2,                      /* SACK permitted */
		8, 10, 0, 0, 0, 1, 0, 0, 0, 0, /* timestamps */
		1, 3, 3, 7,                /* NOP, window scale 7 */
	};
	size_t hl = 20 + (syn_opts ? sizeof(opts) : 0);
	memset(b, 0, hl);
	put16(b, sport);
	put16(b + 2, dport);
	put32(b + 4, seq);
	put32(b + 8, ack);
	b[12] = (uint8_t)((hl / 4) << 4);
	b[13] = flags;
	put16(b + 14, 65535);
	if (syn_opts)
		memcpy(b + 20, opts, sizeof(opts));
	uint32_t sa = ip_of(src), da = ip_of(dst);
	uint32_t sum = csum_add(0, (const uint8_t *)&sa, 4) + csum_add(0, (const uint8_t *)&da, 4) +
		       6 + (uint32_t)hl;
	put16(b + 16, csum(csum_add(sum, b, hl)));
	return hl;
}

/* The fragments of one datagram (payload l4 of len bytes) as records, in
 * the order given by order[] (indexes of fragments; NULL: in order). */
static void fragments(unsigned sel, const uint8_t *dmac, const uint8_t *smac, struct ipspec s,
		      const uint8_t *l4, size_t len, size_t per, const int *order, int norder)
{
	static uint8_t f[70000];
	int nfrag = (int)((len + per - 1) / per);
	for (int k = 0; k < (order ? norder : nfrag); k++) {
		int i = order ? order[k] : k;
		if (i >= nfrag)
			continue;
		size_t off = (size_t)i * per;
		size_t n = len - off < per ? len - off : per;
		s.frag_off = (uint16_t)off;
		s.mf = off + n < len;
		/* Fragments keep the checksum we computed: fix-up is off. */
		rec(sel & 3, 0, f, ipframe(f, dmac, smac, &s, l4 + off, n));
	}
}

/* ---- the seeds ---- */

static uint8_t fr[70000], pl[70000];

/* The peer on eth0 (10.0.0.2) introduces itself: the stack learns its MAC. */
static void arp_hello(void)
{
	rec(ETH0, 0, fr, arp(fr, bcast, 1, fz_peer0_mac, "10.0.0.2", zero6, "10.0.0.1"));
}

/* The gateway on eth1 asks for us: the stack learns the gateway's MAC. */
static void gw_hello(void)
{
	rec(ETH1, 0, fr, arp(fr, bcast, 1, fz_gw1_mac, "10.1.0.254", zero6, "10.1.0.1"));
}

static void echo_from_peer(unsigned sel, const uint8_t *opts, uint8_t optlen, size_t dlen)
{
	struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 1, .id = 100,
			    .opts = opts, .optlen = optlen };
	size_t n = echo(pl, 0x1234, 1, dlen);
	rec(sel, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
}

static void seeds_arp(void)
{
	seed_begin();
	rec(ETH0, 0, fr, arp(fr, bcast, 1, fz_peer0_mac, "10.0.0.2", zero6, "10.0.0.1"));
	seed_write("arp-request");

	/* Echo from an unknown host: the reply waits for ARP; the ARP reply
	 * releases it. */
	seed_begin();
	echo_from_peer(ETH0, NULL, 0, 56);
	rec(ETH0, FZ_ADV_MS(100), fr,
	    arp(fr, fz_eth0_mac, 2, fz_peer0_mac, "10.0.0.2", fz_eth0_mac, "10.0.0.1"));
	seed_write("arp-reply-releases-queue");

	/* Gratuitous ARP, an RFC 5227 probe for our address, a request for
	 * someone else, a malformed one (hlen 8). */
	seed_begin();
	rec(ETH0, 0, fr, arp(fr, bcast, 1, fz_peer0_mac, "10.0.0.5", zero6, "10.0.0.5"));
	rec(ETH0, 0, fr, arp(fr, bcast, 1, fz_peer0_mac, "0.0.0.0", zero6, "10.0.0.1"));
	rec(ETH0, 0, fr, arp(fr, bcast, 1, fz_peer0_mac, "10.0.0.2", zero6, "10.0.0.77"));
	size_t n = arp(fr, bcast, 1, fz_peer0_mac, "10.0.0.3", zero6, "10.0.0.1");
	fr[14 + 4] = 8;
	rec(ETH0, 0, fr, n);
	seed_write("arp-gratuitous-probe-other");

	/* Unanswered resolution: three requests, then failure and a host
	 * unreachable for the queued echo reply (whose destination is
	 * another host, so it is quiet). */
	seed_begin();
	echo_from_peer(ETH0, NULL, 0, 56);
	rec(ETH0, FZ_ADV_S(5), fr, 0);
	echo_from_peer(ETH0, NULL, 0, 56);
	seed_write("arp-resolution-fails");

	/* The neighbour state machine: STALE from a request, DELAY on use,
	 * PROBE after 5 s, confirmed by a reply, then stale again. */
	seed_begin();
	arp_hello();
	echo_from_peer(ETH0, NULL, 0, 8);
	rec(ETH0, FZ_ADV_S(6), fr, 0);
	rec(ETH0, FZ_ADV_MS(500), fr,
	    arp(fr, fz_eth0_mac, 2, fz_peer0_mac, "10.0.0.2", fz_eth0_mac, "10.0.0.1"));
	rec(ETH0, FZ_ADV_S(50), fr, 0);
	echo_from_peer(ETH0, NULL, 0, 8);
	rec(ETH0, FZ_ADV_S(10), fr, 0);
	echo_from_peer(ETH0, NULL, 0, 8);
	seed_write("arp-neighbour-states");
}

static void seeds_icmp(void)
{
	seed_begin();
	arp_hello();
	echo_from_peer(ETH0, NULL, 0, 56);
	seed_write("icmp-echo");

	/* A 64-byte frame and a 1500-byte packet. */
	seed_begin();
	arp_hello();
	echo_from_peer(ETH0, NULL, 0, 18);
	echo_from_peer(ETH0, NULL, 0, 1472);
	seed_write("icmp-echo-sizes");

	/* A 4000-byte echo in three fragments, out of order: reassembled,
	 * and the reply fragmented. */
	seed_begin();
	arp_hello();
	{
		struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 1, .id = 200 };
		size_t n = echo(pl, 0x1234, 2, 4000);
		static const int order[] = { 2, 0, 1 };
		fragments(ETH0, fz_eth0_mac, fz_peer0_mac, s, pl, n, 1480, order, 3);
	}
	seed_write("icmp-echo-fragmented");

	/* The largest echo: 65507 bytes of ICMP in 45 fragments. */
	seed_begin();
	arp_hello();
	{
		struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 1, .id = 201 };
		size_t n = echo(pl, 0x1234, 3, 65507 - 8);
		fragments(ETH0, fz_eth0_mac, fz_peer0_mac, s, pl, n, 1480, NULL, 0);
	}
	seed_write("icmp-echo-64k");

	/* Echo over the TUN device. */
	seed_begin();
	{
		struct ipspec s = { .src = "10.2.0.2", .dst = "10.2.0.1", .proto = 1, .id = 7 };
		size_t n = echo(pl, 1, 1, 56);
		rec(TUN0, 0, fr, ipframe(fr, NULL, NULL, &s, pl, n));
	}
	seed_write("tun-echo");

	/* Queries and errors: timestamp, broadcast echo, echo reply,
	 * redirect, destination unreachable quoting a UDP datagram of ours,
	 * info request, a bad ICMP checksum, a truncated ICMP header. */
	seed_begin();
	arp_hello();
	{
		struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 1, .id = 300 };
		uint8_t ts[12] = { 0, 0, 0, 1 };
		size_t n = icmp(pl, 13, 0, 0x00010001, ts, sizeof(ts));
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));

		struct ipspec b = s;
		b.dst = "10.0.0.255";
		n = echo(pl, 9, 9, 16);
		rec(ETH0, 0, fr, ipframe(fr, bcast, fz_peer0_mac, &b, pl, n));

		n = icmp(pl, 0, 0, 0x00090009, pl + 8, 16);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));

		uint8_t inner[28 + 8];
		struct ipspec is = { .src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .id = 5 };
		uint8_t u[8];
		udp(u, "10.0.0.1", "10.0.0.2", 40000, 53, NULL, 0);
		size_t il = ipv4(inner, &is, u, 8);
		uint32_t gw = ip_of("10.0.0.254");
		n = icmp(pl, 5, 1, __builtin_bswap32(gw), inner, il);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = icmp(pl, 3, 3, 0, inner, il);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = icmp(pl, 3, 4, 576, inner, il);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = icmp(pl, 11, 0, 0, inner, il);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = icmp(pl, 12, 0, 0x14000000, inner, il);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = icmp(pl, 15, 0, 0x00010001, NULL, 0);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));

		n = echo(pl, 9, 10, 16);
		pl[2] ^= 0x55;
		rec(FZ_DEV_ETH0 | FZ_FIX_IPCSUM, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, 4));
	}
	seed_write("icmp-queries-and-errors");
}

static void seeds_fragments(void)
{
	struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 1, .id = 400 };
	size_t n = echo(pl, 0x4242, 1, 3000);

	/* Only the first fragment: the reassembly timer runs out and a time
	 * exceeded goes back. */
	seed_begin();
	arp_hello();
	{
		static const int order[] = { 0 };
		fragments(ETH0, fz_eth0_mac, fz_peer0_mac, s, pl, n, 1480, order, 1);
	}
	rec(ETH0, FZ_ADV_S(35), fr, 0);
	seed_write("frag-timeout");

	/* An overlap discards the datagram (RFC 5722). */
	seed_begin();
	arp_hello();
	{
		static const int order[] = { 0 };
		fragments(ETH0, fz_eth0_mac, fz_peer0_mac, s, pl, n, 1480, order, 1);
		fragments(ETH0, fz_eth0_mac, fz_peer0_mac, s, pl, n, 1000, NULL, 0);
	}
	seed_write("frag-overlap");

	/* A duplicate fragment is dropped alone; the datagram completes. */
	seed_begin();
	arp_hello();
	{
		static const int order[] = { 1, 1, 0, 0, 2, 2 };
		fragments(ETH0, fz_eth0_mac, fz_peer0_mac, s, pl, n, 1024, order, 6);
	}
	seed_write("frag-duplicate");

	/* Inconsistent last fragments, an MF fragment not a multiple of 8,
	 * one reaching past 65535, and 64 half-datagrams in flight. */
	seed_begin();
	{
		struct ipspec a = s;
		a.id = 401;
		a.mf = true;
		a.frag_off = 0;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &a, pl, 100)); /* not x8 */
		a.mf = false;
		a.frag_off = 800;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &a, pl, 100));
		a.frag_off = 1600;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &a, pl, 100));
		a.frag_off = 65528;
		a.id = 402;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &a, pl, 100));
		for (int i = 0; i < 64; i++) {
			a.id = (uint16_t)(1000 + i);
			a.mf = true;
			a.frag_off = 0;
			rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &a, pl, 800));
		}
	}
	seed_write("frag-invalid-and-many");
}

static void seeds_options(void)
{
	/* Record route with room for 9 addresses. */
	uint8_t rr[40] = { 7, 39, 4 };
	seed_begin();
	arp_hello();
	echo_from_peer(ETH0, rr, 40, 56);
	seed_write("ipopt-rr-echo");

	/* Timestamps: only times, times and addresses, prespecified ours. */
	uint8_t ts0[40] = { 68, 40, 5, 0 };
	uint8_t ts1[36] = { 68, 36, 5, 1 };
	uint8_t ts3[12] = { 68, 12, 5, 3 };
	uint32_t ours = ip_of("10.0.0.1");
	memcpy(ts3 + 4, &ours, 4);
	seed_begin();
	arp_hello();
	echo_from_peer(ETH0, ts0, 40, 16);
	echo_from_peer(ETH0, ts1, 36, 16);
	echo_from_peer(ETH0, ts3, 12, 16);
	uint8_t tsfull[8] = { 68, 8, 9, 0x01 }; /* full: overflow counted */
	echo_from_peer(ETH0, tsfull, 8, 16);
	seed_write("ipopt-timestamp");

	/* Router alert on a UDP datagram; NOOP/END padding; an unknown
	 * option skipped by its length. */
	seed_begin();
	arp_hello();
	{
		uint8_t ra[8] = { 148, 4, 0, 0, 1, 1, 1, 0 };
		struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 17, .id = 9,
				    .opts = ra, .optlen = 8 };
		size_t n = udp(pl, "10.0.0.2", "10.0.0.1", 5000, 5001, "hello", 5);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		uint8_t unk[8] = { 0x9e, 6, 1, 2, 3, 4, 0, 0 };
		s.opts = unk;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
	}
	seed_write("ipopt-ra-unknown");

	/* Malformed options: parameter problem pointing at the bad byte. */
	seed_begin();
	arp_hello();
	{
		uint8_t bad1[4] = { 7, 40, 4, 0 };   /* length past the header */
		uint8_t bad2[4] = { 7, 3, 2, 0 };    /* pointer < 4 */
		uint8_t bad3[8] = { 68, 8, 5, 2, 0, 0, 0, 0 }; /* bad flag */
		uint8_t bad4[4] = { 148, 4, 1, 0 };  /* RA value */
		uint8_t bad5[8] = { 7, 7, 4, 0, 0, 0, 0, 7 }; /* RR, then a cut option */
		echo_from_peer(ETH0, bad1, 4, 8);
		echo_from_peer(ETH0, bad2, 4, 8);
		echo_from_peer(ETH0, bad3, 8, 8);
		echo_from_peer(ETH0, bad4, 4, 8);
		echo_from_peer(ETH0, bad5, 8, 8);
	}
	seed_write("ipopt-bad");

	/* Loose and strict source routes are dropped. */
	seed_begin();
	arp_hello();
	{
		uint8_t lsrr[12] = { 131, 11, 4, 10, 1, 0, 254, 10, 0, 0, 1, 0 };
		uint8_t ssrr[12] = { 137, 11, 4, 10, 1, 0, 254, 10, 0, 0, 1, 0 };
		echo_from_peer(ETH0, lsrr, 12, 8);
		echo_from_peer(ETH0, ssrr, 12, 8);
	}
	seed_write("ipopt-source-route");
}

static void seeds_transport(void)
{
	seed_begin();
	arp_hello();
	{
		struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 17, .id = 10 };
		size_t n = udp(pl, "10.0.0.2", "10.0.0.1", 40000, 9, "discard me", 10);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		s.dst = "10.0.0.255";
		n = udp(pl, "10.0.0.2", "10.0.0.255", 68, 67, "bcast", 5);
		rec(ETH0, 0, fr, ipframe(fr, bcast, fz_peer0_mac, &s, pl, n));
		s.dst = "10.0.0.1";
		n = udp(pl, "10.0.0.2", "10.0.0.1", 1, 7, NULL, 0);
		put16(pl + 6, 0); /* no checksum */
		rec(FZ_DEV_ETH0 | FZ_FIX_IPCSUM, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		put16(pl + 4, 200); /* length beyond the datagram */
		rec(FZ_DEV_ETH0 | FZ_FIX_IPCSUM, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
	}
	seed_write("udp");

	/* The echo socket on port 7: unicast, broadcast, from the TUN, one
	 * to be echoed through the gateway, and a large fragmented one. */
	seed_begin();
	arp_hello();
	gw_hello();
	{
		struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 17, .id = 12 };
		size_t n = udp(pl, "10.0.0.2", "10.0.0.1", 40000, 7, "echo me", 7);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		s.dst = "10.0.0.255";
		n = udp(pl, "10.0.0.2", "10.0.0.255", 40000, 7, "all of you", 10);
		rec(ETH0, 0, fr, ipframe(fr, bcast, fz_peer0_mac, &s, pl, n));
		struct ipspec t = { .src = "10.2.0.2", .dst = "10.2.0.1", .proto = 17, .id = 13 };
		n = udp(pl, "10.2.0.2", "10.2.0.1", 40001, 7, "tun", 3);
		rec(TUN0, 0, fr, ipframe(fr, NULL, NULL, &t, pl, n));
		struct ipspec g = { .src = "172.16.0.9", .dst = "10.1.0.1", .proto = 17, .id = 14 };
		n = udp(pl, "172.16.0.9", "10.1.0.1", 40002, 7, "far", 3);
		rec(ETH1, 0, fr, ipframe(fr, fz_eth1_mac, fz_gw1_mac, &g, pl, n));
		uint8_t big[3000];
		memset(big, 'x', sizeof(big));
		s.dst = "10.0.0.1";
		s.id = 15;
		n = udp(pl, "10.0.0.2", "10.0.0.1", 40003, 7, big, sizeof(big));
		fragments(ETH0, fz_eth0_mac, fz_peer0_mac, s, pl, n, 1480, NULL, 0);
	}
	seed_write("udp-echo-socket");

	seed_begin();
	arp_hello();
	{
		struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 6, .id = 11, .df = true };
		size_t n = tcp(pl, "10.0.0.2", "10.0.0.1", 40001, 80, 1000, 0, 0x02, true);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40001, 80, 1001, 1, 0x10, false);
		rec(ETH0, FZ_ADV_MS(10), fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40001, 80, 1001, 1, 0x04, false);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
	}
	seed_write("tcp-syn");

	/* A whole connection to the echo service on port 80, with the
	 * relative acknowledgment bit: handshake, data (echoed back), our
	 * FIN, the stack's FIN acknowledged. */
	seed_begin();
	arp_hello();
	{
		const unsigned T = ETH0 | FZ_TCP_ACK_REL;
		struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 6, .id = 16, .df = true };
		size_t n = tcp(pl, "10.0.0.2", "10.0.0.1", 40010, 80, 5000, 0, 0x02, true);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40010, 80, 5001, 0, 0x10, false);
		rec(T, FZ_ADV_MS(10), fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40010, 80, 5001, 0, 0x18, false);
		memcpy(pl + n, "hello, ustack", 13);
		rec(T, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n + 13));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40010, 80, 5014, 13, 0x10, false);
		rec(T, FZ_ADV_MS(50), fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		/* Out of order, then the hole filled. */
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40010, 80, 5019, 13, 0x18, false);
		memcpy(pl + n, "world", 5);
		rec(T, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n + 5));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40010, 80, 5014, 13, 0x18, false);
		memcpy(pl + n, "big, ", 5);
		rec(T, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n + 5));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40010, 80, 5024, 23, 0x11, false);
		rec(T, FZ_ADV_MS(50), fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40010, 80, 5025, 24, 0x10, false);
		rec(T, FZ_ADV_MS(50), fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
	}
	seed_write("tcp-connection");

	/* Handshake, then silence: the stack's data and FIN are retransmitted
	 * until it gives up; a RST on a second connection; a SYN to a closed
	 * port; a zero window. */
	seed_begin();
	arp_hello();
	{
		const unsigned T = ETH0 | FZ_TCP_ACK_REL;
		struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 6, .id = 17, .df = true };
		size_t n = tcp(pl, "10.0.0.2", "10.0.0.1", 40020, 80, 7000, 0, 0x02, true);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40020, 80, 7001, 0, 0x18, false);
		memcpy(pl + n, "ping", 4);
		rec(T, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n + 4));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40021, 80, 9000, 0, 0x02, true);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40021, 80, 9001, 0, 0x14, false);
		rec(T, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40022, 81, 100, 0, 0x02, true);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40023, 80, 300, 0, 0x02, true);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
		n = tcp(pl, "10.0.0.2", "10.0.0.1", 40023, 80, 301, 0, 0x18, false);
		put16(pl + 14, 0); /* window 0 */
		memcpy(pl + n, "zero window", 11);
		rec(T, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n + 11));
		rec(ETH0, FZ_ADV_S(30), fr, 0);
	}
	seed_write("tcp-retransmit-rst-closed");
}

static void seeds_forward(void)
{
	struct ipspec s = { .src = "10.0.0.2", .dst = "8.8.8.8", .proto = 17, .id = 20 };
	size_t n = udp(pl, "10.0.0.2", "8.8.8.8", 40000, 53, "query", 5);

	/* Through the default route: ARP for the gateway, answered. */
	seed_begin();
	rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
	rec(ETH1, FZ_ADV_MS(50), fr,
	    arp(fr, fz_eth1_mac, 2, fz_gw1_mac, "10.1.0.254", fz_eth1_mac, "10.1.0.1"));
	rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
	seed_write("fwd-default-route");

	/* Larger than eth1's MTU: fragmented; with DF: fragmentation
	 * needed back to the sender; a fragment forwarded (fragmented
	 * again). */
	seed_begin();
	arp_hello();
	gw_hello();
	{
		struct ipspec b = s;
		b.proto = 1;
		size_t m = echo(pl, 3, 3, 1400);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &b, pl, m));
		b.df = true;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &b, pl, m));
		b.df = false;
		b.mf = true;
		b.id = 21;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &b, pl, 1400));
	}
	seed_write("fwd-fragment-df");

	/* TTL 1: time exceeded. TTL 2 goes on. A frame to another MAC is not
	 * routed; a directed broadcast is not forwarded. */
	seed_begin();
	arp_hello();
	gw_hello();
	{
		struct ipspec t = s;
		t.ttl = 1;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &t, pl, n));
		t.ttl = 2;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &t, pl, n));
		rec(ETH0, 0, fr, ipframe(fr, fz_peer0_mac, fz_peer0_mac, &t, pl, n));
		t.dst = "10.1.0.255";
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &t, pl, n));
	}
	seed_write("fwd-ttl-otherhost-bcast");

	/* To the TUN route (no ARP), from the TUN to eth0 (ARP for the
	 * host, unanswered: host unreachable back over the TUN). */
	seed_begin();
	{
		struct ipspec t = s;
		t.dst = "192.168.5.5";
		size_t m = udp(pl, "10.0.0.2", "192.168.5.5", 1234, 4321, "x", 1);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &t, pl, m));
		struct ipspec u = { .src = "192.168.5.5", .dst = "10.0.0.9", .proto = 1, .id = 22 };
		m = echo(pl, 4, 4, 32);
		rec(TUN0, 0, fr, ipframe(fr, NULL, NULL, &u, pl, m));
		rec(ETH0, FZ_ADV_S(4), fr, 0);
	}
	seed_write("fwd-tun");

	/* Forwarded with record route and timestamp options. */
	seed_begin();
	arp_hello();
	gw_hello();
	{
		uint8_t opts[24] = { 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 68, 12, 5, 1 };
		struct ipspec t = s;
		t.opts = opts;
		t.optlen = 24;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &t, pl, n));
		t.proto = 1;
		size_t m = echo(pl, 5, 5, 1200); /* fragmented: options in the first only */
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &t, pl, m));
		/* Router alert is copied into every fragment, record route is
		 * not (NOOPs take its place). */
		uint8_t copied[12] = { 148, 4, 0, 0, 1, 7, 7, 4, 0, 0, 0, 0 };
		t.opts = copied;
		t.optlen = 12;
		m = echo(pl, 6, 6, 1200);
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &t, pl, m));
	}
	seed_write("fwd-options");
}

static void control(const uint8_t *cmds, size_t n)
{
	rec(FZ_CONTROL, 0, cmds, n);
}

static void seeds_control(void)
{
	struct ipspec s = { .src = "10.0.0.2", .dst = "8.8.8.8", .proto = 17, .id = 50 };
	size_t n = udp(pl, "10.0.0.2", "8.8.8.8", 40000, 53, "query", 5);
	struct ipspec e = { .src = "10.0.0.2", .dst = "8.8.8.8", .proto = 1, .id = 51 };
	uint8_t big[1500];
	size_t nb = echo(big, 8, 8, 1400);
	uint8_t opts[40] = { 7, 39, 4 };
	struct ipspec o = e;
	o.opts = opts;
	o.optlen = 40;

	seed_begin();
	arp_hello();
	gw_hello();
	rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
	/* No default route: net unreachable. */
	control((const uint8_t[]){ FZ_CTL_DEFAULT_DEL }, 1);
	rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
	/* Back, with a smaller MTU: fragments of 576. */
	control((const uint8_t[]){ FZ_CTL_DEFAULT_ADD, FZ_CTL_MTU1_576 }, 2);
	rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &e, big, nb));
	/* MTU 68: a 60-byte header leaves 8 bytes of data a fragment. */
	control((const uint8_t[]){ FZ_CTL_MTU1_68 }, 1);
	rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &o, big, nb));
	rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &e, big, 100));
	control((const uint8_t[]){ FZ_CTL_MTU1_1500 }, 1);
	/* A host, not a router. */
	control((const uint8_t[]){ FZ_CTL_FWD_OFF }, 1);
	rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
	/* The way out is down. */
	control((const uint8_t[]){ FZ_CTL_FWD_ON, FZ_CTL_DOWN + FZ_DEV_ETH1 }, 2);
	rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n));
	control((const uint8_t[]){ FZ_CTL_UP + FZ_DEV_ETH1 }, 1);
	/* A frame waits for ARP when its device goes down. */
	s.dst = "10.0.0.3";
	rec(ETH1, 0, fr, ipframe(fr, fz_eth1_mac, fz_gw1_mac, &s, pl, n));
	control((const uint8_t[]){ FZ_CTL_DOWN + FZ_DEV_ETH0, FZ_CTL_UP + FZ_DEV_ETH0 }, 2);
	/* Our address goes away, and comes back. */
	control((const uint8_t[]){ FZ_CTL_ADDR0_DEL }, 1);
	echo_from_peer(ETH0, NULL, 0, 8);
	control((const uint8_t[]){ FZ_CTL_ADDR0_ADD }, 1);
	/* Promiscuous: a frame for another MAC reaches IP, which drops it. */
	control((const uint8_t[]){ FZ_CTL_PROMISC0 }, 1);
	s.dst = "10.0.0.1";
	rec(ETH0, 0, fr, ipframe(fr, fz_peer0_mac, fz_peer0_mac, &s, pl, n));
	/* A frame on a device that is down. */
	control((const uint8_t[]){ FZ_CTL_DOWN + FZ_DEV_TUN0 }, 1);
	rec(TUN0, 0, fr, ipframe(fr, NULL, NULL, &s, pl, n));
	seed_write("control-config-changes");
}

static void seeds_odd(void)
{
	/* IPv6 over Ethernet and over the TUN; an 802.3 length frame; a
	 * VLAN tag; a runt. */
	seed_begin();
	{
		uint8_t v6[40] = { 0x60, 0, 0, 0, 0, 8, 58, 64 };
		v6[8] = 0xfe;
		v6[9] = 0x80;
		v6[23] = 2;
		v6[24] = 0xff;
		v6[25] = 0x02;
		v6[39] = 1;
		size_t m = eth(fr, bcast, fz_peer0_mac, 0x86dd);
		memcpy(fr + m, v6, 40);
		memset(fr + m + 40, 0x80, 8);
		rec(FZ_DEV_ETH0, 0, fr, m + 48);
		memcpy(fr, v6, 40);
		memset(fr + 40, 0x80, 8);
		rec(FZ_DEV_TUN0, 0, fr, 48);
		m = eth(fr, bcast, fz_peer0_mac, 46);
		memset(fr + m, 0x42, 46);
		rec(FZ_DEV_ETH0, 0, fr, m + 46);
		m = eth(fr, fz_eth0_mac, fz_peer0_mac, 0x8100);
		put16(fr + m, 5);
		put16(fr + m + 2, 0x0800);
		rec(FZ_DEV_ETH0, 0, fr, m + 4 + 46);
		rec(FZ_DEV_ETH0, 0, fr, 13);
		rec(FZ_DEV_TUN0, 0, fr, 0);
	}
	seed_write("ipv6-8023-vlan-runt");

	/* Broken IPv4 headers: version, IHL, total length past the frame and
	 * below the header, checksum, martian sources, zero net, multicast
	 * and limited broadcast, TTL 0 to us, unknown protocol. */
	seed_begin();
	arp_hello();
	{
		struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 1, .id = 30 };
		size_t n = echo(pl, 6, 6, 16);
		size_t m = ipframe(fr, fz_eth0_mac, fz_peer0_mac, &s, pl, n);
		uint8_t *ip = fr + 14;
		uint8_t save[20];
		memcpy(save, ip, 20);
		ip[0] = 0x65;
		rec(FZ_DEV_ETH0 | FZ_FIX_IPCSUM, 0, fr, m);
		memcpy(ip, save, 20);
		ip[0] = 0x44;
		rec(FZ_DEV_ETH0 | FZ_FIX_IPCSUM, 0, fr, m);
		memcpy(ip, save, 20);
		ip[0] = 0x4f;
		rec(FZ_DEV_ETH0, 0, fr, m);
		memcpy(ip, save, 20);
		put16(ip + 2, 1000);
		rec(FZ_DEV_ETH0 | FZ_FIX_IPCSUM, 0, fr, m);
		put16(ip + 2, 10);
		rec(FZ_DEV_ETH0 | FZ_FIX_IPCSUM, 0, fr, m);
		memcpy(ip, save, 20);
		ip[10] ^= 1;
		rec(FZ_DEV_ETH0, 0, fr, m);
		static const char *const srcs[] = { "127.0.0.1", "224.0.0.5", "255.255.255.255", "0.0.0.0",
						    "10.0.0.1" };
		for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
			struct ipspec t = s;
			t.src = srcs[i];
			rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &t, pl, n));
		}
		static const char *const dsts[] = { "0.1.2.3", "127.0.0.1", "224.0.0.1", "255.255.255.255",
						    "10.0.0.0", "10.2.0.1", "127.0.0.2" };
		for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
			struct ipspec t = s;
			t.dst = dsts[i];
			rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &t, pl, n));
		}
		struct ipspec t = s;
		t.ttl = 0;
		t.proto = 1;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &t, pl, n));
		t.ttl = 64;
		t.proto = 200;
		rec(ETH0, 0, fr, ipframe(fr, fz_eth0_mac, fz_peer0_mac, &t, pl, n));
	}
	seed_write("ipv4-bad-headers");

	/* The fix-up bits: zero checksums, the destination MAC filled in. */
	seed_begin();
	arp_hello();
	{
		struct ipspec s = { .src = "10.0.0.2", .dst = "10.0.0.1", .proto = 1, .id = 31 };
		size_t n = echo(pl, 7, 7, 40);
		size_t m = ipframe(fr, zero6, fz_peer0_mac, &s, pl, n);
		memset(fr + 14 + 10, 0, 2);
		memset(fr + 14 + 20 + 2, 0, 2);
		rec(FZ_DEV_ETH0 | FZ_FIX_IPCSUM | FZ_FIX_L4CSUM | FZ_SET_DST, 0, fr, m);
	}
	seed_write("fixup-bits");

	/* Garbage: bytes from a fixed generator on every device. */
	seed_begin();
	{
		uint64_t x = 0x9e3779b97f4a7c15ull;
		for (int r = 0; r < 12; r++) {
			size_t m = 20 + (size_t)(r * 97 % 600);
			for (size_t i = 0; i < m; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				fr[i] = (uint8_t)x;
			}
			if (r & 1) {
				fr[12] = 0x08;
				fr[13] = (uint8_t)(r & 2 ? 0x00 : 0x06);
			}
			rec((unsigned)(r % 3) | (r & 4 ? FIX | FZ_SET_DST : 0), (uint8_t)(r * 13), fr, m);
		}
	}
	seed_write("garbage");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	seeds_arp();
	seeds_icmp();
	seeds_fragments();
	seeds_options();
	seeds_transport();
	seeds_forward();
	seeds_control();
	seeds_odd();
	printf("%d seeds written to %s\n", nwritten, out_dir);
	return 0;
}

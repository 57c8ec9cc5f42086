/* Wire views: Ethernet, ARP, IPv4 (and its options), ICMP and UDP accept
 * what is valid and reject each kind of malformed input with its error. */
#include "test.h"

#include "core/compiler.h"
#include "core/rand.h"
#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/eth.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

static uint32_t a4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t x[4] = { a, b, c, d };
	uint32_t v;
	memcpy(&v, x, 4);
	return v;
}

/* ---------------------------------------------------------- Ethernet */

static void ethernet(void)
{
	uint8_t f[ETH_HLEN + 10];
	static const uint8_t dst[6] = { 0x02, 1, 2, 3, 4, 5 }, src[6] = { 0x02, 9, 8, 7, 6, 5 };
	eth_emit(f, dst, src, ETH_P_ARP);
	CHECK_EQ(f[12], 0x08);
	CHECK_EQ(f[13], 0x06);
	struct eth_repr e;
	for (size_t len = 0; len < ETH_HLEN; len++)
		CHECK_EQ(eth_parse(f, len, &e), -1);
	CHECK_EQ(eth_parse(f, ETH_HLEN, &e), 0);
	CHECK(memcmp(e.dst, dst, 6) == 0);
	CHECK(memcmp(e.src, src, 6) == 0);
	CHECK_EQ(e.type, ETH_P_ARP);
	CHECK_EQ(eth_parse(f, sizeof(f), &e), 0);

	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t almost[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
	static const uint8_t mc[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const uint8_t zero[6] = { 0 };
	CHECK(eth_is_broadcast(bc));
	CHECK(!eth_is_broadcast(almost));
	CHECK(eth_is_multicast(bc));
	CHECK(eth_is_multicast(mc));
	CHECK(!eth_is_broadcast(mc));
	CHECK(!eth_is_multicast(dst));
	CHECK(eth_is_zero(zero));
	CHECK(!eth_is_zero(mc));
	CHECK(eth_is_valid_unicast(dst));
	CHECK(!eth_is_valid_unicast(zero));
	CHECK(!eth_is_valid_unicast(mc));
	CHECK(!eth_is_valid_unicast(bc));
	CHECK(eth_addr_equal(dst, dst));
	CHECK(!eth_addr_equal(dst, src));

	/* RFC 1112 6.4: the low 23 bits of the group. */
	uint8_t m[6];
	eth_ip_mcast_map(a4(224, 1, 2, 3), m);
	static const uint8_t want1[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };
	CHECK(memcmp(m, want1, 6) == 0);
	eth_ip_mcast_map(a4(239, 129, 2, 3), m);
	CHECK(memcmp(m, want1, 6) == 0);
	eth_ip_mcast_map(a4(224, 255, 255, 255), m);
	static const uint8_t want2[6] = { 0x01, 0x00, 0x5e, 0x7f, 0xff, 0xff };
	CHECK(memcmp(m, want2, 6) == 0);
}

/* ---------------------------------------------------------- ARP */

static void arp(void)
{
	uint8_t b[60];
	memset(b, 0xee, sizeof(b));
	struct arp_repr r = { .op = ARPOP_REQUEST, .sha = { 0x02, 1, 1, 1, 1, 1 },
			      .spa = a4(10, 0, 0, 1), .tha = { 0 }, .tpa = a4(10, 0, 0, 2) };
	arp_emit(b, &r);
	static const uint8_t head[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	CHECK(memcmp(b, head, 8) == 0);
	struct arp_repr p;
	CHECK_EQ(arp_parse(b, ARP_HLEN, &p), ARP_OK);
	CHECK_EQ(p.op, ARPOP_REQUEST);
	CHECK(memcmp(p.sha, r.sha, 6) == 0);
	CHECK(memcmp(p.tha, r.tha, 6) == 0);
	CHECK_EQ(p.spa, r.spa);
	CHECK_EQ(p.tpa, r.tpa);
	/* Ethernet padding after the 28 bytes is fine. */
	CHECK_EQ(arp_parse(b, sizeof(b), &p), ARP_OK);
	r.op = ARPOP_REPLY;
	arp_emit(b, &r);
	CHECK_EQ(arp_parse(b, ARP_HLEN, &p), ARP_OK);
	CHECK_EQ(p.op, ARPOP_REPLY);

	for (size_t len = 0; len < ARP_HLEN; len++)
		CHECK_EQ(arp_parse(b, len, &p), ARP_ESHORT);
	struct {
		int at;
		uint8_t hi, lo;
	} bad[] = {
		{ 0, 0, 6 },     /* htype IEEE 802 */
		{ 0, 0, 0 },     /* htype 0 */
		{ 0, 1, 1 },     /* htype 257 */
		{ 2, 0x86, 0xdd }, /* ptype IPv6 */
		{ 2, 0x08, 0x06 }, /* ptype ARP */
		{ 6, 0, 0 },     /* op 0 */
		{ 6, 0, 3 },     /* RARP request */
		{ 6, 0, 4 },     /* RARP reply */
		{ 6, 1, 1 },     /* op 257 */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		arp_emit(b, &r);
		b[bad[i].at] = bad[i].hi;
		b[bad[i].at + 1] = bad[i].lo;
		CHECK_EQ(arp_parse(b, ARP_HLEN, &p), ARP_EFORMAT);
	}
	static const uint8_t bad_hlen[] = { 0, 4, 5, 7, 8, 16, 255 };
	for (unsigned i = 0; i < sizeof(bad_hlen); i++) {
		arp_emit(b, &r);
		b[4] = bad_hlen[i];
		CHECK_EQ(arp_parse(b, ARP_HLEN, &p), ARP_EFORMAT);
	}
	static const uint8_t bad_plen[] = { 0, 3, 5, 6, 16, 255 };
	for (unsigned i = 0; i < sizeof(bad_plen); i++) {
		arp_emit(b, &r);
		b[5] = bad_plen[i];
		CHECK_EQ(arp_parse(b, ARP_HLEN, &p), ARP_EFORMAT);
	}
}

/* ---------------------------------------------------------- IPv4 */

/* A valid header of 20 + optlen bytes (optlen a multiple of 4) followed
 * by plen payload bytes. */
static size_t mkip(uint8_t *b, const uint8_t *opts, size_t optlen, size_t plen)
{
	struct ip_repr ip = { .ihl = (uint8_t)(20 + optlen), .tos = 0x10,
			      .tot_len = (uint16_t)(20 + optlen + plen), .id = 0x1234, .df = true,
			      .ttl = 64, .protocol = 17, .saddr = a4(192, 0, 2, 1),
			      .daddr = a4(198, 51, 100, 7) };
	if (optlen)
		memcpy(b + 20, opts, optlen);
	for (size_t i = 0; i < plen; i++)
		b[20 + optlen + i] = (uint8_t)(i * 7);
	ipv4_emit(b, &ip);
	return 20 + optlen + plen;
}

static void ipv4_valid_and_fields(void)
{
	uint8_t b[200];
	size_t n = mkip(b, NULL, 0, 30);
	struct ip_repr ip;
	CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_OK);
	CHECK_EQ(ip.ihl, 20);
	CHECK_EQ(ip.tos, 0x10);
	CHECK_EQ(ip.tot_len, 50);
	CHECK_EQ(ip.id, 0x1234);
	CHECK(ip.df);
	CHECK(!ip.mf);
	CHECK_EQ(ip.frag_off, 0);
	CHECK_EQ(ip.ttl, 64);
	CHECK_EQ(ip.protocol, 17);
	CHECK_EQ(ip.saddr, a4(192, 0, 2, 1));
	CHECK_EQ(ip.daddr, a4(198, 51, 100, 7));
	CHECK_EQ(ip.check, get_be16(b + 10));
	/* Link-layer padding after the datagram is allowed. */
	CHECK_EQ(ipv4_parse(b, n + 40, &ip), IPV4_OK);
	CHECK_EQ(ip.tot_len, 50);
	/* The checksum covers the header only. */
	b[25] ^= 0xff;
	CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_OK);

	/* emit/parse round trip of every field. */
	struct prng r;
	prng_seed(&r, 791);
	for (int i = 0; i < 20000; i++) {
		struct ip_repr w = { .ihl = 20, .tos = (uint8_t)prng_next(&r),
				     .tot_len = (uint16_t)(20 + prng_below(&r, 100)),
				     .id = (uint16_t)prng_next(&r), .df = prng_below(&r, 2),
				     .mf = prng_below(&r, 2),
				     .frag_off = (uint16_t)(prng_below(&r, 8192) * 8),
				     .ttl = (uint8_t)prng_next(&r), .protocol = (uint8_t)prng_next(&r),
				     .saddr = (uint32_t)prng_next(&r), .daddr = (uint32_t)prng_next(&r) };
		ipv4_emit(b, &w);
		struct ip_repr g;
		if (ipv4_parse(b, w.tot_len, &g) != IPV4_OK || g.tos != w.tos || g.id != w.id ||
		    g.df != w.df || g.mf != w.mf || g.frag_off != w.frag_off || g.ttl != w.ttl ||
		    g.protocol != w.protocol || g.saddr != w.saddr || g.daddr != w.daddr ||
		    g.tot_len != w.tot_len) {
			CHECK(!"ipv4 round trip");
			break;
		}
		/* Reserved flag bit clear, DF/MF where they belong. */
		CHECK_EQ(b[6] & 0x80, 0);
		CHECK_EQ(!!(b[6] & 0x40), w.df);
		CHECK_EQ(!!(b[6] & 0x20), w.mf);
	}
}

static void ipv4_malformed(void)
{
	uint8_t b[200], opts[8] = { IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP,
				    IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP, IPOPT_END };
	struct ip_repr ip;
	size_t n = mkip(b, NULL, 0, 30);
	for (size_t len = 0; len < 20; len++)
		CHECK_EQ(ipv4_parse(b, len, &ip), IPV4_ESHORT);

	/* Version: everything but 4. */
	for (int v = 0; v < 16; v++) {
		if (v == 4)
			continue;
		mkip(b, NULL, 0, 30);
		b[0] = (uint8_t)(v << 4 | 5);
		ipv4_refresh_csum(b); /* only the version is wrong */
		CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_EVERSION);
	}
	/* IHL below 5. */
	for (int ihl = 0; ihl < 5; ihl++) {
		mkip(b, NULL, 0, 30);
		b[0] = (uint8_t)(0x40 | ihl);
		CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_EIHL);
	}
	/* IHL beyond the buffer. */
	n = mkip(b, opts, 8, 0);
	CHECK_EQ(ipv4_parse(b, 28, &ip), IPV4_OK);
	CHECK_EQ(ipv4_parse(b, 27, &ip), IPV4_EIHL);
	CHECK_EQ(ipv4_parse(b, 20, &ip), IPV4_EIHL);
	mkip(b, NULL, 0, 0);
	b[0] = 0x4f; /* 60 bytes of header in a 20-byte buffer */
	CHECK_EQ(ipv4_parse(b, 20, &ip), IPV4_EIHL);
	/* Total length below the header length. */
	n = mkip(b, NULL, 0, 30);
	put_be16(b + 2, 19);
	ipv4_refresh_csum(b);
	CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_ETOTLEN);
	put_be16(b + 2, 0);
	ipv4_refresh_csum(b);
	CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_ETOTLEN);
	n = mkip(b, opts, 8, 10);
	put_be16(b + 2, 27); /* 28-byte header */
	ipv4_refresh_csum(b);
	CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_ETOTLEN);
	put_be16(b + 2, 28);
	ipv4_refresh_csum(b);
	CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_OK);
	/* Total length beyond the buffer (truncated). */
	n = mkip(b, NULL, 0, 30);
	CHECK_EQ(ipv4_parse(b, n - 1, &ip), IPV4_ETRUNC);
	CHECK_EQ(ipv4_parse(b, 21, &ip), IPV4_ETRUNC);
	put_be16(b + 2, 65535);
	ipv4_refresh_csum(b);
	CHECK_EQ(ipv4_parse(b, sizeof(b), &ip), IPV4_ETRUNC);
	/* A bad checksum: any single bit flipped anywhere in the header,
	 * options included. */
	n = mkip(b, opts, 8, 10);
	unsigned missed = 0;
	for (unsigned bit = 0; bit < 28 * 8; bit++) {
		uint8_t c[200];
		memcpy(c, b, n);
		c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int e = ipv4_parse(c, n, &ip);
		/* Flips in version/IHL/total length are caught earlier; the
		 * rest must be checksum errors. */
		bool early = bit / 8 == 0 || bit / 8 == 2 || bit / 8 == 3;
		if (early ? e == IPV4_OK : e != IPV4_ECSUM)
			missed++;
	}
	CHECK_EQ(missed, 0);
	/* A checksum of the wrong value in the field. */
	n = mkip(b, NULL, 0, 30);
	put_be16(b + 10, (uint16_t)(get_be16(b + 10) + 1));
	CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_ECSUM);
}

static void ipv4_quoted(void)
{
	uint8_t b[200];
	struct ip_repr ip;
	size_t n = mkip(b, NULL, 0, 100);
	(void)n;
	/* An ICMP error quotes the header and 8 bytes: total length says
	 * more. */
	CHECK_EQ(ipv4_parse_quoted(b, 28, &ip), IPV4_OK);
	CHECK_EQ(ip.tot_len, 120);
	CHECK_EQ(ip.protocol, 17);
	CHECK_EQ(ip.saddr, a4(192, 0, 2, 1));
	CHECK_EQ(ipv4_parse(b, 28, &ip), IPV4_ETRUNC);
	/* The quote's checksum is not checked (a NAT may have changed it). */
	b[10] ^= 1;
	CHECK_EQ(ipv4_parse_quoted(b, 28, &ip), IPV4_OK);
	for (size_t len = 0; len < 20; len++)
		CHECK_EQ(ipv4_parse_quoted(b, len, &ip), IPV4_ESHORT);
	b[0] = 0x65;
	CHECK_EQ(ipv4_parse_quoted(b, 28, &ip), IPV4_EVERSION);
	b[0] = 0x44;
	CHECK_EQ(ipv4_parse_quoted(b, 28, &ip), IPV4_EIHL);
	b[0] = 0x48; /* 32-byte header, 28 bytes quoted */
	CHECK_EQ(ipv4_parse_quoted(b, 28, &ip), IPV4_EIHL);
	CHECK_EQ(ipv4_parse_quoted(b, 32, &ip), IPV4_OK);
}

/* In-place edits keep the checksum right (RFC 1624), options or not. */
static void ipv4_edits_keep_checksum(void)
{
	struct prng r;
	prng_seed(&r, 1812);
	uint8_t b[100];
	struct ip_repr ip;
	for (int it = 0; it < 500; it++) {
		uint8_t opts[40];
		size_t ol = 4 * prng_below(&r, 11);
		memset(opts, IPOPT_NOOP, ol);
		if (ol)
			opts[ol - 1] = (uint8_t)prng_next(&r); /* whatever: after the NOOPs */
		size_t n = mkip(b, opts, ol, 16);
		b[1] = (uint8_t)prng_next(&r);
		put_be16(b + 4, (uint16_t)prng_next(&r));
		b[9] = (uint8_t)prng_next(&r);
		uint32_t s = (uint32_t)prng_next(&r), d = (uint32_t)prng_next(&r);
		memcpy(b + 12, &s, 4);
		memcpy(b + 16, &d, 4);
		b[8] = 255;
		ipv4_refresh_csum(b);
		REQUIRE(ipv4_parse(b, n, &ip) == IPV4_OK);
		/* TTL all the way down. */
		for (int ttl = 254; ttl >= 0; ttl--) {
			ipv4_decrease_ttl(b);
			if (b[8] != ttl || ipv4_parse(b, n, &ip) != IPV4_OK) {
				CHECK(!"ttl decrement broke the header");
				break;
			}
			uint16_t inc = get_be16(b + 10);
			uint8_t c[100];
			memcpy(c, b, n);
			ipv4_refresh_csum(c);
			if (get_be16(c + 10) != inc) {
				CHECK_EQ(inc, get_be16(c + 10));
				break;
			}
		}
		/* Fragment fields, addresses. */
		uint16_t off = (uint16_t)(prng_below(&r, 8192) * 8);
		bool mf = prng_below(&r, 2);
		bool df = (b[6] & 0x40) != 0;
		ipv4_set_frag(b, off, mf, (uint16_t)n);
		CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_OK);
		CHECK_EQ(ip.frag_off, off);
		CHECK_EQ(ip.mf, mf);
		CHECK_EQ(ip.df, df); /* kept */
		ipv4_set_frag(b, 0, false, (uint16_t)(n - 8));
		CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_OK);
		CHECK_EQ(ip.tot_len, n - 8);
		uint32_t ns = (uint32_t)prng_next(&r), nd = (uint32_t)prng_next(&r);
		ipv4_set_saddr(b, ns);
		ipv4_set_daddr(b, nd);
		CHECK_EQ(ipv4_parse(b, n, &ip), IPV4_OK);
		CHECK_EQ(ip.saddr, ns);
		CHECK_EQ(ip.daddr, nd);
	}
}

/* ---- options ---- */

struct opt_case {
	const char *name;
	uint8_t len;        /* bytes of options, a multiple of 4 */
	uint8_t o[40];
	uint8_t bad_off;    /* from the IP header */
};

/* Offsets: options start at byte 20 of the header. As in Linux's
 * ip_options_compile(): a length that does not fit the generic rule
 * (< 2, or past the header) points at the option's type byte; an option's
 * own length rule (RR >= 3, TS >= 4, RA >= 4) at its length byte. */
static const struct opt_case bad_opts[] = {
	{ "type in the last byte", 4, { 1, 1, 1, IPOPT_RR }, 23 },
	{ "length 0", 4, { IPOPT_RR, 0, 4, 0 }, 20 },
	{ "length 1", 4, { IPOPT_RR, 1, 0, 0 }, 20 },
	{ "length past the header", 4, { IPOPT_RR, 11, 4, 0 }, 20 },
	{ "unknown, length past the header", 4, { 0x99, 8, 0, 0 }, 20 },
	{ "unknown, length 1", 4, { 0x99, 1, 0, 0 }, 20 },
	{ "second option bad length", 8, { 1, IPOPT_RA, 4, 0, 0, 0x99, 9, 0 }, 25 },
	{ "RR length 2", 4, { IPOPT_RR, 2, 0, 0 }, 21 },
	{ "RR pointer 3", 8, { IPOPT_RR, 7, 3, 0, 0, 0, 0, 0 }, 22 },
	{ "RR pointer 0", 8, { IPOPT_RR, 7, 0, 0, 0, 0, 0, 0 }, 22 },
	{ "RR pointer into the last slot", 12, { IPOPT_RR, 11, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 22 },
	{ "RR pointer at the end", 12, { IPOPT_RR, 11, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 22 },
	{ "RR twice", 16, { IPOPT_RR, 7, 4, 0, 0, 0, 0, IPOPT_RR, 7, 4, 0, 0, 0, 0, 0, 0 }, 27 },
	{ "LSRR length 2", 4, { IPOPT_LSRR, 2, 0, 0 }, 21 },
	{ "LSRR pointer 3", 8, { IPOPT_LSRR, 7, 3, 0, 0, 0, 0, 0 }, 22 },
	{ "SSRR pointer into the last slot", 8, { IPOPT_SSRR, 7, 5, 0, 0, 0, 0, 0 }, 22 },
	{ "LSRR then SSRR", 16, { IPOPT_LSRR, 7, 4, 0, 0, 0, 0, IPOPT_SSRR, 7, 4, 0, 0, 0, 0, 0, 0 }, 27 },
	{ "TS length 3", 4, { IPOPT_TIMESTAMP, 3, 5, 0 }, 21 },
	{ "TS length 2", 4, { IPOPT_TIMESTAMP, 2, 0, 0 }, 21 },
	{ "TS pointer 4", 8, { IPOPT_TIMESTAMP, 8, 4, 0, 0, 0, 0, 0 }, 22 },
	{ "TS pointer 1", 8, { IPOPT_TIMESTAMP, 8, 1, 0, 0, 0, 0, 0 }, 22 },
	{ "TS flag 2", 8, { IPOPT_TIMESTAMP, 8, 5, 2, 0, 0, 0, 0 }, 23 },
	{ "TS flag 15", 8, { IPOPT_TIMESTAMP, 8, 5, 0x3f, 0, 0, 0, 0 }, 23 },
	{ "TS only, pointer into the last word", 8, { IPOPT_TIMESTAMP, 8, 6, 0, 0, 0, 0, 0 }, 22 },
	{ "TS and address, no room for a pair", 8, { IPOPT_TIMESTAMP, 8, 5, 1, 0, 0, 0, 0 }, 22 },
	{ "TS prespecified, half a pair left", 12,
	  { IPOPT_TIMESTAMP, 12, 9, 3, 0, 0, 0, 0, 0, 0, 0, 0 }, 22 },
	{ "TS full, overflow counter full", 8, { IPOPT_TIMESTAMP, 8, 9, 0xf0, 0, 0, 0, 0 }, 23 },
	{ "TS twice", 16, { IPOPT_TIMESTAMP, 8, 5, 0, 0, 0, 0, 0, IPOPT_TIMESTAMP, 8, 5, 0, 0, 0, 0, 0 }, 28 },
	/* Router alert (RFC 2113) is 4 bytes; a shorter one is an error in
	 * its length byte (Linux: optptr + 1). */
	{ "RA length 3", 4, { IPOPT_RA, 3, 0, 0 }, 21 },
	{ "RA length 2", 4, { IPOPT_RA, 2, 0, 0 }, 21 },
};

static void options_malformed(void)
{
	for (unsigned i = 0; i < sizeof(bad_opts) / sizeof(bad_opts[0]); i++) {
		const struct opt_case *c = &bad_opts[i];
		uint8_t b[80];
		mkip(b, c->o, c->len, 0);
		struct ip_options o;
		uint8_t bad = 0xee;
		int r = ip_options_parse(b, (uint8_t)(20 + c->len), &o, &bad);
		if (r != -1 || bad != c->bad_off) {
			fprintf(stderr, "%s: option case '%s': got %d at %u, want -1 at %u\n",
				test_current, c->name, r, bad, c->bad_off);
			test_failures++;
		}
	}
}

static void options_valid(void)
{
	uint8_t b[80];
	struct ip_options o;
	uint8_t bad = 0;
#define PARSE_OK(...)                                                                   \
	do {                                                                            \
		static const uint8_t opts_[] = { __VA_ARGS__ };                         \
		mkip(b, opts_, sizeof(opts_), 0);                                       \
		bad = 0xee;                                                             \
		CHECK_EQ(ip_options_parse(b, (uint8_t)(20 + sizeof(opts_)), &o, &bad), 0); \
		CHECK_EQ(o.optlen, sizeof(opts_));                                      \
	} while (0)

	PARSE_OK(IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP);
	CHECK(!o.rr && !o.ts && !o.srr && !o.router_alert);
	CHECK_EQ(bad, 0xee);
	/* Whatever follows END is not looked at. */
	PARSE_OK(IPOPT_END, 0xff, 0xff, 0xff);
	CHECK(!o.rr && !o.ts && !o.srr && !o.router_alert);
	PARSE_OK(IPOPT_NOOP, IPOPT_END, IPOPT_RR, 1);
	CHECK(!o.rr);
	/* Record route with room, and full. */
	PARSE_OK(IPOPT_RR, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, IPOPT_END);
	CHECK_EQ(o.rr, 20);
	CHECK(!o.rr_full);
	PARSE_OK(IPOPT_NOOP, IPOPT_RR, 7, 8, 1, 2, 3, 4);
	CHECK_EQ(o.rr, 21);
	CHECK(o.rr_full);
	/* Timestamps in their three flavours, and full. */
	PARSE_OK(IPOPT_TIMESTAMP, 12, 5, IPOPT_TS_TSONLY, 0, 0, 0, 0, 0, 0, 0, 0);
	CHECK_EQ(o.ts, 20);
	CHECK(!o.ts_full);
	PARSE_OK(IPOPT_TIMESTAMP, 12, 5, IPOPT_TS_TSANDADDR, 0, 0, 0, 0, 0, 0, 0, 0);
	CHECK_EQ(o.ts, 20);
	PARSE_OK(IPOPT_TIMESTAMP, 12, 5, IPOPT_TS_PRESPEC, 10, 0, 0, 1, 0, 0, 0, 0);
	CHECK_EQ(o.ts, 20);
	PARSE_OK(IPOPT_TIMESTAMP, 8, 9, 0x30, 0, 0, 0, 1);
	CHECK_EQ(o.ts, 20);
	CHECK(o.ts_full);
	PARSE_OK(IPOPT_TIMESTAMP, 8, 5, 0x50, 0, 0, 0, 0); /* overflow count kept */
	CHECK(!o.ts_full);
	/* Router alert. */
	PARSE_OK(IPOPT_RA, 4, 0, 0);
	CHECK(o.router_alert);
	/* RFC 2113: values 1-65535 are reserved: not an alert, not an error
	 * (Linux's ip_options_compile ignores them). */
	PARSE_OK(IPOPT_RA, 4, 0, 1);
	CHECK(!o.router_alert);
	/* Source routes. */
	PARSE_OK(IPOPT_LSRR, 7, 4, 10, 0, 0, 1, IPOPT_END);
	CHECK_EQ(o.srr, 20);
	PARSE_OK(IPOPT_NOOP, IPOPT_SSRR, 11, 12, 10, 0, 0, 1, 10, 0, 0, 2); /* used up */
	CHECK_EQ(o.srr, 21);
	/* Unknown options and security are skipped by their length. */
	PARSE_OK(0x99, 4, 0xaa, 0xbb, IPOPT_RR, 7, 4, 0, 0, 0, 0, IPOPT_END);
	CHECK_EQ(o.rr, 24);
	PARSE_OK(IPOPT_SEC, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, IPOPT_NOOP, IPOPT_RA, 4, 0, 0);
	CHECK(o.router_alert);
	PARSE_OK(0x1e, 2, IPOPT_NOOP, IPOPT_END); /* a 2-byte unknown option */
	/* Everything at once, 40 bytes. */
	PARSE_OK(IPOPT_NOOP, IPOPT_RR, 7, 4, 0, 0, 0, 0, IPOPT_TIMESTAMP, 12, 5, 1, 0, 0, 0, 0, 0, 0,
		 0, 0, IPOPT_RA, 4, 0, 0, IPOPT_LSRR, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0x99, 3, 0,
		 IPOPT_NOOP, IPOPT_END);
	CHECK_EQ(o.rr, 21);
	CHECK_EQ(o.ts, 28);
	CHECK(o.router_alert);
	CHECK_EQ(o.srr, 44);
	/* No options at all. */
	mkip(b, NULL, 0, 0);
	CHECK_EQ(ip_options_parse(b, 20, &o, &bad), 0);
	CHECK_EQ(o.optlen, 0);
#undef PARSE_OK
}

static void options_record_route(void)
{
	uint8_t b[80];
	static const uint8_t rr[12] = { IPOPT_NOOP, IPOPT_RR, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0 };
	mkip(b, rr, sizeof(rr), 0);
	struct ip_options o;
	uint8_t bad;
	REQUIRE(ip_options_parse(b, 32, &o, &bad) == 0);
	uint32_t x = a4(10, 1, 2, 3), y = a4(10, 4, 5, 6), z = a4(10, 7, 8, 9);
	ip_options_record_route(b, &o, x);
	CHECK_EQ(b[23], 8);
	CHECK(memcmp(b + 24, &x, 4) == 0);
	ip_options_record_route(b, &o, y);
	CHECK_EQ(b[23], 12);
	CHECK(memcmp(b + 28, &y, 4) == 0);
	/* Full: nothing changes. */
	uint8_t before[32];
	memcpy(before, b, 32);
	ip_options_record_route(b, &o, z);
	CHECK(memcmp(before, b, 32) == 0);
	ipv4_refresh_csum(b);
	struct ip_repr ip;
	CHECK_EQ(ipv4_parse(b, 32, &ip), IPV4_OK);
	REQUIRE(ip_options_parse(b, 32, &o, &bad) == 0);
	CHECK(o.rr_full);
	/* No RR option: nothing. */
	static const uint8_t none[4] = { IPOPT_NOOP, IPOPT_NOOP, IPOPT_NOOP, IPOPT_END };
	mkip(b, none, 4, 0);
	memcpy(before, b, 24);
	REQUIRE(ip_options_parse(b, 24, &o, &bad) == 0);
	ip_options_record_route(b, &o, z);
	CHECK(memcmp(before, b, 24) == 0);
}

static void options_timestamp(void)
{
	uint8_t b[80];
	struct ip_options o;
	uint8_t bad;
	uint32_t me = a4(10, 0, 0, 1), other = a4(10, 0, 0, 2);
	/* Timestamps only: two fit, then the overflow count goes up and
	 * stops at 15. */
	static const uint8_t ts0[12] = { IPOPT_TIMESTAMP, 12, 5, IPOPT_TS_TSONLY };
	mkip(b, ts0, 12, 0);
	REQUIRE(ip_options_parse(b, 32, &o, &bad) == 0);
	ip_options_timestamp(b, &o, me, 0x01020304);
	CHECK_EQ(b[22], 9);
	CHECK_EQ(get_be32(b + 24), 0x01020304);
	ip_options_timestamp(b, &o, me, 0x05060708);
	CHECK_EQ(b[22], 13);
	CHECK_EQ(get_be32(b + 28), 0x05060708);
	for (int i = 1; i <= 20; i++) {
		ip_options_timestamp(b, &o, me, 0x0a0b0c0d);
		CHECK_EQ(b[22], 13);
		CHECK_EQ(b[23] >> 4, i < 15 ? i : 15);
		CHECK_EQ(b[23] & 0x0f, IPOPT_TS_TSONLY);
	}
	CHECK_EQ(get_be32(b + 28), 0x05060708);
	ipv4_refresh_csum(b);
	struct ip_repr ip;
	CHECK_EQ(ipv4_parse(b, 32, &ip), IPV4_OK);

	/* Address and timestamp pairs. */
	static const uint8_t ts1[20] = { IPOPT_TIMESTAMP, 20, 5, IPOPT_TS_TSANDADDR };
	mkip(b, ts1, 20, 0);
	REQUIRE(ip_options_parse(b, 40, &o, &bad) == 0);
	ip_options_timestamp(b, &o, me, 111);
	CHECK_EQ(b[22], 13);
	CHECK(memcmp(b + 24, &me, 4) == 0);
	CHECK_EQ(get_be32(b + 28), 111);
	ip_options_timestamp(b, &o, other, 222);
	CHECK_EQ(b[22], 21);
	CHECK(memcmp(b + 32, &other, 4) == 0);
	CHECK_EQ(get_be32(b + 36), 222);
	ip_options_timestamp(b, &o, me, 333);
	CHECK_EQ(b[22], 21);
	CHECK_EQ(b[23], 0x10 | IPOPT_TS_TSANDADDR);

	/* Prespecified: only the host named next stamps. */
	uint8_t ts3[20] = { IPOPT_TIMESTAMP, 20, 5, IPOPT_TS_PRESPEC };
	memcpy(ts3 + 4, &me, 4);
	memcpy(ts3 + 12, &other, 4);
	mkip(b, ts3, 20, 0);
	REQUIRE(ip_options_parse(b, 40, &o, &bad) == 0);
	ip_options_timestamp(b, &o, other, 999); /* not its turn */
	CHECK_EQ(b[22], 5);
	CHECK_EQ(get_be32(b + 28), 0);
	ip_options_timestamp(b, &o, me, 444);
	CHECK_EQ(b[22], 13);
	CHECK_EQ(get_be32(b + 28), 444);
	ip_options_timestamp(b, &o, me, 555); /* not its turn any more */
	CHECK_EQ(b[22], 13);
	ip_options_timestamp(b, &o, other, 666);
	CHECK_EQ(b[22], 21);
	CHECK_EQ(get_be32(b + 36), 666);
	CHECK(memcmp(b + 24, &me, 4) == 0);
	CHECK(memcmp(b + 32, &other, 4) == 0);
}

static void options_echo(void)
{
	uint8_t b[80], out[40];
	struct ip_options o;
	uint8_t bad;
	static const uint8_t opts[28] = {
		IPOPT_NOOP,
		IPOPT_RR, 7, 8, 10, 0, 0, 9,                         /* 21..27 */
		IPOPT_LSRR, 7, 4, 10, 0, 0, 5,                       /* 28..34 */
		IPOPT_TIMESTAMP, 12, 9, 0, 0, 0, 0, 42, 0, 0, 0, 0,  /* 35..46 */
		IPOPT_END,
	};
	mkip(b, opts, sizeof(opts), 0);
	REQUIRE(ip_options_parse(b, 48, &o, &bad) == 0);
	memset(out, 0xcc, sizeof(out));
	uint8_t n = ip_options_echo(b, &o, out);
	CHECK_EQ(n, 20);
	CHECK(memcmp(out, opts + 1, 7) == 0);       /* RR */
	CHECK(memcmp(out + 7, opts + 15, 12) == 0); /* TS */
	CHECK_EQ(out[19], IPOPT_END);
	/* The echoed options form a valid header themselves. */
	uint8_t h[80];
	mkip(h, out, n, 0);
	struct ip_options eo;
	CHECK_EQ(ip_options_parse(h, (uint8_t)(20 + n), &eo, &bad), 0);
	CHECK_EQ(eo.rr, 20);
	CHECK_EQ(eo.ts, 27);
	CHECK_EQ(eo.srr, 0);

	/* Only options that are not echoed: nothing. */
	static const uint8_t other[8] = { IPOPT_RA, 4, 0, 0, IPOPT_LSRR, 3, 4, IPOPT_END };
	mkip(b, other, 8, 0);
	REQUIRE(ip_options_parse(b, 28, &o, &bad) == 0);
	CHECK_EQ(ip_options_echo(b, &o, out), 0);
	/* A 39-byte RR: padded to 40. */
	uint8_t big[40] = { IPOPT_RR, 39, 4 };
	mkip(b, big, 40, 0);
	REQUIRE(ip_options_parse(b, 60, &o, &bad) == 0);
	CHECK_EQ(ip_options_echo(b, &o, out), 40);
	CHECK_EQ(out[1], 39);
	CHECK_EQ(out[39], IPOPT_END);
}

/* ---------------------------------------------------------- ICMP */

static void icmp(void)
{
	uint8_t b[100];
	for (int i = 0; i < 100; i++)
		b[i] = (uint8_t)(i * 13);
	struct icmp_repr r = { .type = ICMP_ECHO, .code = 0, .rest = 0x12340007 };
	icmp_emit(b, 8 + 57, &r); /* odd length */
	CHECK_EQ(ip_compute_csum(b, 65), 0);
	struct icmp_repr p = { 0 };
	CHECK_EQ(icmp_parse(b, 65, &p), ICMP_OK);
	CHECK_EQ(p.type, ICMP_ECHO);
	CHECK_EQ(p.code, 0);
	CHECK_EQ(p.rest, 0x12340007);
	CHECK_EQ(icmp_echo_id(&p), 0x1234);
	CHECK_EQ(icmp_echo_seq(&p), 7);
	CHECK_EQ(p.check, get_be16(b + 2));
	for (size_t len = 0; len < ICMP_HLEN; len++)
		CHECK_EQ(icmp_parse(b, len, &p), ICMP_ESHORT);
	/* The checksum covers the data: a flip anywhere is caught. */
	unsigned missed = 0;
	for (unsigned i = 0; i < 65; i++) {
		b[i] ^= 0x40;
		if (icmp_parse(b, 65, &p) != ICMP_ECSUM)
			missed++;
		b[i] ^= 0x40;
	}
	CHECK_EQ(missed, 0);
	/* Echo -> reply in place keeps the checksum right. */
	icmp_set_type(b, ICMP_ECHOREPLY);
	CHECK_EQ(icmp_parse(b, 65, &p), ICMP_OK);
	CHECK_EQ(p.type, ICMP_ECHOREPLY);
	CHECK_EQ(p.rest, 0x12340007);
	for (int t = 0; t < 256; t++) {
		icmp_set_type(b, (uint8_t)t);
		if (icmp_parse(b, 65, &p) != ICMP_OK || p.type != t) {
			CHECK(!"icmp_set_type broke the checksum");
			break;
		}
	}
	/* Fragmentation needed carries the MTU in the low half. */
	struct icmp_repr fn = { .type = ICMP_DEST_UNREACH, .code = ICMP_FRAG_NEEDED, .rest = 1400 };
	icmp_emit(b, 8, &fn);
	CHECK_EQ(icmp_parse(b, 8, &p), ICMP_OK);
	CHECK_EQ(icmp_frag_mtu(&p), 1400);
	/* Errors and queries (RFC 1122 3.2.2). */
	static const uint8_t errors[] = { ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH, ICMP_REDIRECT,
					  ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB };
	static const uint8_t queries[] = { ICMP_ECHOREPLY, ICMP_ECHO, ICMP_TIMESTAMP,
					   ICMP_TIMESTAMPREPLY, ICMP_INFO_REQUEST, ICMP_ADDRESS };
	for (unsigned i = 0; i < sizeof(errors); i++)
		CHECK(icmp_is_error(errors[i]));
	for (unsigned i = 0; i < sizeof(queries); i++)
		CHECK(!icmp_is_error(queries[i]));
}

/* ---------------------------------------------------------- UDP */

static void udp(void)
{
	uint32_t s = a4(10, 0, 0, 1), d = a4(10, 0, 0, 2);
	uint8_t b[100];
	for (int i = 0; i < 100; i++)
		b[i] = (uint8_t)(i + 1);
	struct udp_repr r = { .sport = 1234, .dport = 53, .len = 8 + 21 };
	udp_emit(b, &r, s, d);
	struct udp_repr p;
	CHECK_EQ(udp_parse(b, 29, s, d, &p), UDP_OK);
	CHECK_EQ(p.sport, 1234);
	CHECK_EQ(p.dport, 53);
	CHECK_EQ(p.len, 29);
	CHECK(p.check != 0);
	/* The IP payload may be longer than the UDP length (padding): only
	 * len bytes are summed. */
	b[40] ^= 0xff;
	CHECK_EQ(udp_parse(b, 60, s, d, &p), UDP_OK);
	for (size_t len = 0; len < UDP_HLEN; len++)
		CHECK_EQ(udp_parse(b, len, s, d, &p), UDP_ESHORT);
	/* Length field: below the header, or beyond the IP payload. */
	CHECK_EQ(udp_parse(b, 28, s, d, &p), UDP_ELEN);
	uint8_t c[100];
	for (unsigned l = 0; l < 8; l++) {
		memcpy(c, b, 100);
		put_be16(c + 4, (uint16_t)l);
		CHECK_EQ(udp_parse(c, 29, s, d, &p), UDP_ELEN);
	}
	/* The checksum covers data and pseudo-header. */
	memcpy(c, b, 100);
	c[20] ^= 1;
	CHECK_EQ(udp_parse(c, 29, s, d, &p), UDP_ECSUM);
	CHECK_EQ(udp_parse(b, 29, s, a4(10, 0, 0, 3), &p), UDP_ECSUM);
	CHECK_EQ(udp_parse(b, 29, a4(10, 0, 1, 1), d, &p), UDP_ECSUM);
	/* Zero: no checksum (RFC 768), whatever the data. */
	memcpy(c, b, 100);
	put_be16(c + 6, 0);
	c[20] ^= 0x55;
	CHECK_EQ(udp_parse(c, 29, s, d, &p), UDP_OK);
	CHECK_EQ(p.check, 0);
	/* A computed checksum of 0 goes out as 0xffff, which verifies. Pick
	 * two data bytes that make the sum 0xffff. */
	memset(c, 0, sizeof(c));
	struct udp_repr z = { .sport = 7, .dport = 9, .len = 8 + 10 };
	c[8] = 0xde;
	c[9] = 0xad;
	put_be16(c, z.sport);
	put_be16(c + 2, z.dport);
	put_be16(c + 4, z.len);
	uint16_t others = (uint16_t)~csum_fold(csum_partial(c, z.len, csum_pseudo(s, d, 17, z.len)));
	put_be16(c + 10, (uint16_t)~others);
	udp_emit(c, &z, s, d);
	CHECK_EQ(get_be16(c + 6), 0xffff);
	CHECK_EQ(udp_parse(c, z.len, s, d, &p), UDP_OK);
}

TEST_MAIN(T(ethernet), T(arp), T(ipv4_valid_and_fields), T(ipv4_malformed), T(ipv4_quoted),
	  T(ipv4_edits_keep_checksum), T(options_malformed), T(options_valid),
	  T(options_record_route), T(options_timestamp), T(options_echo), T(icmp), T(udp))

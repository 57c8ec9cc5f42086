/* The Internet checksum (RFC 1071) and its incremental update (RFC 1624),
 * checked against a naive reference. */
#include "test.h"

#include "core/compiler.h"
#include "core/rand.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"

/* RFC 1071 4.1, literally: 16-bit big-endian words, an odd byte padded
 * with zero, end-around carry. Returns the folded sum (not complemented). */
static uint16_t ref_sum(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* One's-complement fold of any 32-bit accumulator. */
static uint16_t ref_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The one's complement of a 16-bit value (no promotion to int). */
static uint16_t cpl(uint16_t x)
{
	return (uint16_t)(0xffffu ^ x);
}

static uint16_t add1c(uint16_t a, uint16_t b)
{
	return ref_fold((uint32_t)a + b);
}

static void fill(struct prng *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)prng_next(r);
}

static void partial_vs_reference(void)
{
	struct prng r;
	prng_seed(&r, 1071);
	static uint8_t buf[2000 + 16];
	unsigned bad = 0;
	for (size_t len = 0; len <= 2000; len++) {
		for (size_t align = 0; align < 8; align++) {
			uint8_t *p = buf + align;
			fill(&r, p, len);
			uint16_t want = ref_sum(p, len);
			uint32_t acc = csum_partial(p, len, 0);
			if (ref_fold(acc) != want || csum_fold(acc) != cpl(want) ||
			    ip_compute_csum(p, len) != cpl(want)) {
				if (bad++ < 5)
					fprintf(stderr, "len %zu align %zu: got %04x want %04x\n", len,
						align, ref_fold(acc), want);
			}
		}
	}
	CHECK_EQ(bad, 0);
}

/* All-ones bytes give the largest intermediate sums (carry handling). */
static void partial_extremes(void)
{
	static uint8_t buf[70000];
	memset(buf, 0xff, sizeof(buf));
	for (size_t len = 0; len < sizeof(buf); len = len * 3 + 1) {
		CHECK_EQ(ref_fold(csum_partial(buf, len, 0)), ref_sum(buf, len));
		CHECK_EQ(ref_fold(csum_partial(buf + 1, len, 0)), ref_sum(buf + 1, len));
	}
	CHECK_EQ(ref_fold(csum_partial(buf, sizeof(buf), 0)), ref_sum(buf, sizeof(buf)));
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(csum_fold(csum_partial(buf, 1000, 0)), 0xffff);
	CHECK_EQ(csum_partial(buf, 0, 0), 0);
	/* A single odd byte is the high-order byte of a word (RFC 1071 4.1). */
	uint8_t one = 0xab;
	CHECK_EQ(ref_fold(csum_partial(&one, 1, 0)), 0xab00);
}

/* The running accumulator: an initial sum adds in one's complement, and
 * even-length pieces chain into the sum of the whole. */
static void partial_chaining(void)
{
	struct prng r;
	prng_seed(&r, 7);
	static uint8_t buf[3000];
	static const uint32_t inits[] = { 0, 1, 0xffff, 0x10000, 0xfffe0001u, 0xffffffffu, 0x80000000u };
	for (int it = 0; it < 2000; it++) {
		size_t len = prng_below(&r, sizeof(buf));
		fill(&r, buf, len);
		size_t cut = prng_below(&r, (uint32_t)len + 1) & ~(size_t)1; /* even first piece */
		uint32_t chained = csum_partial(buf + cut, len - cut, csum_partial(buf, cut, 0));
		CHECK_EQ(ref_fold(chained), ref_sum(buf, len));
		uint32_t init = it < 7 ? inits[it] : (uint32_t)prng_next(&r);
		uint32_t acc = csum_partial(buf, len, init);
		CHECK_EQ(ref_fold(acc), add1c(ref_fold(init), ref_sum(buf, len)));
	}
}

static void fold_values(void)
{
	CHECK_EQ(csum_fold(0), 0xffff);
	CHECK_EQ(csum_fold(0xffff), 0x0000);
	CHECK_EQ(csum_fold(0x1fffe), 0x0000);      /* 0xfffe + 1 */
	CHECK_EQ(csum_fold(0xffffffffu), 0x0000);  /* double fold */
	CHECK_EQ(csum_fold(0x12345678u), 0x9753);  /* ~(0x5678 + 0x1234) */
	CHECK_EQ(csum_fold(0x0001ffffu), 0xfffe);  /* 0xffff + 1 -> 0x10000 -> 1 */
	struct prng r;
	prng_seed(&r, 3);
	for (int i = 0; i < 100000; i++) {
		uint32_t v = (uint32_t)prng_next(&r);
		CHECK_EQ(csum_fold(v), cpl(ref_fold(v)));
	}
}

/* A known header: the example of the Wikipedia article on the IPv4
 * header checksum (192.168.0.1 -> 192.168.0.199, UDP, DF). */
static void known_ipv4_header(void)
{
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	CHECK_EQ(ip_compute_csum(h, 20), 0xb861);
	put_be16(h + 10, 0xb861);
	CHECK_EQ(ip_compute_csum(h, 20), 0);
	/* ipv4_emit writes the same checksum. */
	struct ip_repr ip = { .ihl = 20, .tot_len = 0x73, .df = true, .ttl = 64, .protocol = 17 };
	memcpy(&ip.saddr, h + 12, 4);
	memcpy(&ip.daddr, h + 16, 4);
	uint8_t e[20];
	ipv4_emit(e, &ip);
	CHECK(memcmp(e, h, 20) == 0);
}

/* The pseudo-header sum (RFC 768) against its words summed by hand. */
static void pseudo_header(void)
{
	struct prng r;
	prng_seed(&r, 768);
	for (int i = 0; i < 10000; i++) {
		uint8_t sa[4], da[4];
		fill(&r, sa, 4);
		fill(&r, da, 4);
		uint8_t proto = (uint8_t)prng_next(&r);
		uint32_t len = prng_below(&r, 65536);
		uint32_t s, d;
		memcpy(&s, sa, 4);
		memcpy(&d, da, 4);
		uint8_t ph[12] = { sa[0], sa[1], sa[2], sa[3], da[0], da[1], da[2], da[3],
				   0, proto, (uint8_t)(len >> 8), (uint8_t)len };
		uint16_t want = ref_sum(ph, 12);
		CHECK_EQ(ref_fold(csum_pseudo(s, d, proto, len)), want);
	}
	/* A UDP datagram of RFC 768 built by hand: 10.0.0.1:1234 -> 10.0.0.2:53,
	 * "hi!" (3 bytes), length 11. Words: 0a00 0001 0a00 0002 0011 000b
	 * (pseudo) + 04d2 0035 000b 0000 6869 2100 = 0xa29a -> ~ = 0x5d65. */
	uint8_t udp[11] = { 0x04, 0xd2, 0x00, 0x35, 0x00, 0x0b, 0x00, 0x00, 'h', 'i', '!' };
	uint8_t s4[4] = { 10, 0, 0, 1 }, d4[4] = { 10, 0, 0, 2 };
	uint32_t s, d;
	memcpy(&s, s4, 4);
	memcpy(&d, d4, 4);
	CHECK_EQ(csum_fold(csum_partial(udp, 11, csum_pseudo(s, d, 17, 11))), 0x5d65);
}

/* RFC 1624 section 3: the update that eqn. 2 gets wrong (0xffff); eqn. 3
 * must give 0x0000, as recomputation does. */
static void rfc1624_corner(void)
{
	CHECK_EQ(csum_replace2(0xdd2f, 0x5555, 0x3285), 0x0000);
	/* The same in a header whose other words sum to 0xcd7a. */
	uint8_t b[6];
	put_be16(b, 0xcd7a);
	put_be16(b + 2, 0x5555);
	put_be16(b + 4, 0);
	put_be16(b + 4, ip_compute_csum(b, 6));
	CHECK_EQ(get_be16(b + 4), 0xdd2f);
	put_be16(b + 2, 0x3285);
	uint16_t inc = csum_replace2(get_be16(b + 4), 0x5555, 0x3285);
	put_be16(b + 4, 0);
	CHECK_EQ(ip_compute_csum(b, 6), 0x0000);
	CHECK_EQ(inc, 0x0000);
	/* And back: 0x0000 -> 0xdd2f. */
	CHECK_EQ(csum_replace2(0x0000, 0x3285, 0x5555), 0xdd2f);
	/* No change leaves the checksum as it is, 0x0000 included. */
	CHECK_EQ(csum_replace2(0x0000, 0x1234, 0x1234), 0x0000);
	CHECK_EQ(csum_replace2(0xdd2f, 0xffff, 0xffff), 0xdd2f);
	/* A field going between 0x0000 and 0xffff (both zero in one's
	 * complement) changes nothing. */
	CHECK_EQ(csum_replace2(0x1234, 0x0000, 0xffff), 0x1234);
	CHECK_EQ(csum_replace2(0x1234, 0xffff, 0x0000), 0x1234);
	CHECK_EQ(csum_replace4(0xdd2f, 0x55550000u, 0x32850000u), 0x0000);
	CHECK_EQ(csum_replace4(0xdd2f, 0x00005555u, 0x00003285u), 0x0000);
}

/* Random edits of random headers: the incremental update agrees with a
 * full recomputation, and the header still verifies. */
static void incremental_vs_full(void)
{
	struct prng r;
	prng_seed(&r, 1624);
	unsigned bad = 0, zero_results = 0;
	for (int it = 0; it < 200000; it++) {
		uint8_t h[60];
		size_t n = 20 + 4 * prng_below(&r, 11);
		fill(&r, h, n);
		h[0] = (uint8_t)(0x40 | (n / 4));
		/* Sometimes aim at a result of 0x0000: set the other words so
		 * that the sum after the edit is 0xffff. */
		put_be16(h + 10, 0);
		put_be16(h + 10, ip_compute_csum(h, n));
		uint16_t check = get_be16(h + 10);
		if (prng_below(&r, 2)) {
			/* 16-bit field at an even offset other than the checksum. */
			size_t off;
			do
				off = 2 * prng_below(&r, (uint32_t)n / 2);
			while (off == 10);
			uint16_t old = get_be16(h + off), nw = (uint16_t)prng_next(&r);
			if (it % 7 == 0) {
				/* Choose the new value so that the full checksum is 0. */
				uint16_t others = ref_fold((uint32_t)(uint16_t)~check + (uint16_t)~old);
				nw = (uint16_t)~others;
			}
			put_be16(h + off, nw);
			check = csum_replace2(check, old, nw);
		} else {
			size_t off;
			do
				off = 4 * prng_below(&r, (uint32_t)n / 4);
			while (off == 8);
			uint32_t old = get_be32(h + off), nw = (uint32_t)prng_next(&r);
			put_be32(h + off, nw);
			check = csum_replace4(check, old, nw);
		}
		put_be16(h + 10, 0);
		uint16_t full = ip_compute_csum(h, n);
		put_be16(h + 10, check);
		if (check != full || ip_compute_csum(h, n) != 0) {
			if (bad++ < 5)
				fprintf(stderr, "incremental %04x full %04x\n", check, full);
		}
		zero_results += full == 0;
	}
	CHECK_EQ(bad, 0);
	CHECK(zero_results > 1000); /* the corner was exercised */
}

TEST_MAIN(T(partial_vs_reference), T(partial_extremes), T(partial_chaining), T(fold_values),
	  T(known_ipv4_header), T(pseudo_header), T(rfc1624_corner), T(incremental_vs_full))

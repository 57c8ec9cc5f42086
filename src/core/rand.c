#include "rand.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void prng_seed(struct prng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t prng_next(struct prng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t prng_below(struct prng *r, uint32_t n)
{
	if (n == 0)
		return 0;
	/* Lemire's multiply-shift; the bias is below 2^-32 and irrelevant here. */
	return (uint32_t)(((prng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double prng_double(struct prng *r)
{
	return (double)(prng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int prng_chance(struct prng *r, double p)
{
	if (p <= 0)
		return 0;
	if (p >= 1)
		return 1;
	return prng_double(r) < p;
}

/* SipHash-2-4 (Aumasson and Bernstein, 2012). */
#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32); \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                  \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                  \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32); \
	} while (0)

uint64_t siphash(const struct siphash_key *key, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v0 = 0x736f6d6570736575ull ^ key->k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ key->k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ key->k0;
	uint64_t v3 = 0x7465646279746573ull ^ key->k1;
	uint64_t b = (uint64_t)len << 56;
	size_t left = len;

	while (left >= 8) {
		uint64_t m;
		memcpy(&m, p, 8);  /* little-endian hosts only: x86_64, arm64 */
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
		p += 8;
		left -= 8;
	}
	for (size_t i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t siphash_3u32(const struct siphash_key *key, uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t w[3] = { a, b, c };
	return siphash(key, w, sizeof(w));
}

void os_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	if (len > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)buf;
		while (len > 0) {
			uint64_t v = splitmix64(&x);
			size_t n = len < 8 ? len : 8;
			memcpy(p, &v, n);
			p += n;
			len -= n;
		}
	}
}

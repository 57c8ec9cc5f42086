/* Per-stack randomness: a seeded PRNG (xoshiro256**) for anything that must
 * be reproducible under a seed, and SipHash-2-4 for keyed hashing of
 * remote-controlled keys (flows, fragment queues, IP IDs) so that a remote
 * host cannot aim many keys at one bucket. */
#ifndef US_RAND_H
#define US_RAND_H

#include <stddef.h>
#include <stdint.h>

struct prng {
	uint64_t s[4];
};

void prng_seed(struct prng *r, uint64_t seed);
uint64_t prng_next(struct prng *r);
/* Uniform in [0, n). */
uint32_t prng_below(struct prng *r, uint32_t n);
/* Uniform in [0, 1). */
double prng_double(struct prng *r);
/* True with probability p. */
int prng_chance(struct prng *r, double p);

struct siphash_key {
	uint64_t k0, k1;
};

uint64_t siphash(const struct siphash_key *key, const void *data, size_t len);
/* Hash of up to three 32-bit words, the common flow-key case. */
uint64_t siphash_3u32(const struct siphash_key *key, uint32_t a, uint32_t b, uint32_t c);

/* Fills buf from the kernel (getrandom); falls back to the clock. */
void os_random(void *buf, size_t len);

#endif

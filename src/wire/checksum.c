#include "checksum.h"

#include <string.h>

/* The one's-complement sum does not depend on byte order (RFC 1071 2(B)):
 * sum native 32-bit words into 64 bits, fold, and swap at the end. */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = 0;
	while (len >= 32) {
		uint32_t w[8];
		memcpy(w, p, 32);
		acc += (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
		p += 32;
		len -= 32;
	}
	while (len >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the high-order byte of a big-endian word. */
		uint8_t tail[2] = { p[0], 0 };
		uint16_t w;
		memcpy(&w, tail, 2);
		acc += w;
	}
	/* Fold 64 -> 16 bits in native order, then convert to big-endian value. */
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	uint32_t s32 = (uint32_t)acc;
	s32 = (s32 & 0xffff) + (s32 >> 16);
	s32 = (s32 & 0xffff) + (s32 >> 16);
	uint16_t native = (uint16_t)s32;
	uint8_t b[2];
	memcpy(b, &native, 2);
	uint32_t be = ((uint32_t)b[0] << 8) | b[1];
	uint64_t total = (uint64_t)sum + be;
	total = (total & 0xffffffffu) + (total >> 32);
	return (uint32_t)total;
}

uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t ip_compute_csum(const void *buf, size_t len)
{
	return csum_fold(csum_partial(buf, len, 0));
}

uint32_t csum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, uint32_t len)
{
	uint8_t ph[12];
	memcpy(ph, &saddr, 4);
	memcpy(ph + 4, &daddr, 4);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(len >> 8);
	ph[11] = (uint8_t)len;
	/* TCP/UDP length fits 16 bits on IPv4. */
	return csum_partial(ph, sizeof(ph), 0);
}

uint16_t csum_replace2(uint16_t check, uint16_t old_word, uint16_t new_word)
{
	uint32_t sum = (uint16_t)~check;
	sum += (uint16_t)~old_word;
	sum += new_word;
	return csum_fold(sum);
}

uint16_t csum_replace4(uint16_t check, uint32_t old_word, uint32_t new_word)
{
	check = csum_replace2(check, (uint16_t)(old_word >> 16), (uint16_t)(new_word >> 16));
	return csum_replace2(check, (uint16_t)old_word, (uint16_t)new_word);
}

/* The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 * Values are the 16-bit field as read with get_be16(). */
#ifndef US_CHECKSUM_H
#define US_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds the bytes to a running 32-bit one's-complement accumulator. A buffer
 * of odd length is padded with a zero byte (RFC 1071 4.1); only the last
 * piece of a chained sum may be odd. */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);
/* Folds an accumulator to 16 bits and complements it: the value to store. */
uint16_t csum_fold(uint32_t sum);
/* The checksum to store for an IPv4 header (its check field zeroed). A
 * header with a correct checksum in place yields 0. */
uint16_t ip_compute_csum(const void *buf, size_t len);
/* Accumulator of the IPv4 pseudo-header (RFC 768, RFC 9293 3.1); addresses
 * in network byte order. */
uint32_t csum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, uint32_t len);
/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for a 16-bit field changing from
 * old to new. */
uint16_t csum_replace2(uint16_t check, uint16_t old_word, uint16_t new_word);
uint16_t csum_replace4(uint16_t check, uint32_t old_word, uint32_t new_word);

#endif

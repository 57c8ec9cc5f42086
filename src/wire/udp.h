/* UDP header view (RFC 768). */
#ifndef US_WIRE_UDP_H
#define US_WIRE_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "checksum.h"

#define UDP_HLEN 8

struct udp_repr {
	uint16_t sport, dport;
	uint16_t len;     /* header + data */
	uint16_t check;
};

enum udp_parse_err { UDP_OK = 0, UDP_ESHORT = -1, UDP_ELEN = -2, UDP_ECSUM = -3 };

/* Validates the length field against the IP payload length and, unless the
 * checksum is zero (none, RFC 768), the checksum with the pseudo-header. */
static inline int udp_parse(const uint8_t *buf, size_t len, uint32_t saddr, uint32_t daddr,
			    struct udp_repr *r)
{
	if (len < UDP_HLEN)
		return UDP_ESHORT;
	r->sport = get_be16(buf);
	r->dport = get_be16(buf + 2);
	r->len = get_be16(buf + 4);
	r->check = get_be16(buf + 6);
	if (r->len < UDP_HLEN || r->len > len)
		return UDP_ELEN;
	if (r->check != 0 &&
	    csum_fold(csum_partial(buf, r->len, csum_pseudo(saddr, daddr, 17, r->len))) != 0)
		return UDP_ECSUM;
	return UDP_OK;
}

/* Writes the header and the checksum over header + data (r->len bytes
 * starting at buf). A computed checksum of 0 is sent as 0xffff (RFC 768). */
static inline void udp_emit(uint8_t *buf, const struct udp_repr *r, uint32_t saddr, uint32_t daddr)
{
	put_be16(buf, r->sport);
	put_be16(buf + 2, r->dport);
	put_be16(buf + 4, r->len);
	put_be16(buf + 6, 0);
	uint16_t c = csum_fold(csum_partial(buf, r->len, csum_pseudo(saddr, daddr, 17, r->len)));
	put_be16(buf + 6, c ? c : 0xffff);
}

#endif

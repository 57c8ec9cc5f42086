/* ICMPv4 header view (RFC 792, RFC 1191 for fragmentation needed). */
#ifndef US_WIRE_ICMP_H
#define US_WIRE_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "checksum.h"

#define ICMP_HLEN 8

#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_REDIRECT 5
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMP_TIMESTAMP 13
#define ICMP_TIMESTAMPREPLY 14
#define ICMP_INFO_REQUEST 15
#define ICMP_INFO_REPLY 16
#define ICMP_ADDRESS 17
#define ICMP_ADDRESSREPLY 18
#define NR_ICMP_TYPES 18

/* Destination unreachable codes. */
#define ICMP_NET_UNREACH 0
#define ICMP_HOST_UNREACH 1
#define ICMP_PROT_UNREACH 2
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMP_SR_FAILED 5
#define ICMP_PKT_FILTERED 13
/* Time exceeded codes. */
#define ICMP_EXC_TTL 0
#define ICMP_EXC_FRAGTIME 1

struct icmp_repr {
	uint8_t type, code;
	uint16_t check;
	uint32_t rest;   /* id/seq, gateway, MTU or pointer: the second word */
};

static inline uint16_t icmp_echo_id(const struct icmp_repr *r)
{
	return (uint16_t)(r->rest >> 16);
}
static inline uint16_t icmp_echo_seq(const struct icmp_repr *r)
{
	return (uint16_t)r->rest;
}
/* Next-hop MTU of a fragmentation-needed message (RFC 1191 4). */
static inline uint16_t icmp_frag_mtu(const struct icmp_repr *r)
{
	return (uint16_t)r->rest;
}

enum icmp_parse_err { ICMP_OK = 0, ICMP_ESHORT = -1, ICMP_ECSUM = -2 };

/* Checks the length and the checksum over len bytes (header and data). */
static inline int icmp_parse(const uint8_t *buf, size_t len, struct icmp_repr *r)
{
	if (len < ICMP_HLEN)
		return ICMP_ESHORT;
	if (ip_compute_csum(buf, len) != 0)
		return ICMP_ECSUM;
	r->type = buf[0];
	r->code = buf[1];
	r->check = get_be16(buf + 2);
	r->rest = get_be32(buf + 4);
	return ICMP_OK;
}

/* Writes the header and the checksum over the header and the len - 8
 * bytes of data that already follow it. */
static inline void icmp_emit(uint8_t *buf, size_t len, const struct icmp_repr *r)
{
	buf[0] = r->type;
	buf[1] = r->code;
	put_be16(buf + 2, 0);
	put_be32(buf + 4, r->rest);
	put_be16(buf + 2, ip_compute_csum(buf, len));
}

/* The type of an ICMP message of at least one byte (no other check). */
static inline uint8_t icmp_peek_type(const uint8_t *buf)
{
	return buf[0];
}

/* Changes the type in place, keeping the checksum right (RFC 1624). */
static inline void icmp_set_type(uint8_t *buf, uint8_t type)
{
	uint16_t old = get_be16(buf);
	buf[0] = type;
	put_be16(buf + 2, csum_replace2(get_be16(buf + 2), old, get_be16(buf)));
}

/* ICMP errors (as opposed to queries), RFC 1122 3.2.2. */
static inline bool icmp_is_error(uint8_t type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH ||
	       type == ICMP_REDIRECT || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

#endif

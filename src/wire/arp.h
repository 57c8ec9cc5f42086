/* ARP for IPv4 over Ethernet (RFC 826). */
#ifndef US_WIRE_ARP_H
#define US_WIRE_ARP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "eth.h"

#define ARP_HLEN 28
#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2

struct arp_repr {
	uint16_t op;
	uint8_t sha[ETH_ALEN];
	uint32_t spa;          /* network order */
	uint8_t tha[ETH_ALEN];
	uint32_t tpa;          /* network order */
};

enum arp_parse_err { ARP_OK = 0, ARP_ESHORT = -1, ARP_EFORMAT = -2 };

/* Accepts only Ethernet/IPv4 requests and replies. */
static inline int arp_parse(const uint8_t *buf, size_t len, struct arp_repr *r)
{
	if (len < ARP_HLEN)
		return ARP_ESHORT;
	if (get_be16(buf) != ARPHRD_ETHER || get_be16(buf + 2) != ETH_P_IP ||
	    buf[4] != ETH_ALEN || buf[5] != 4)
		return ARP_EFORMAT;
	r->op = get_be16(buf + 6);
	if (r->op != ARPOP_REQUEST && r->op != ARPOP_REPLY)
		return ARP_EFORMAT;
	memcpy(r->sha, buf + 8, ETH_ALEN);
	memcpy(&r->spa, buf + 14, 4);
	memcpy(r->tha, buf + 18, ETH_ALEN);
	memcpy(&r->tpa, buf + 24, 4);
	return ARP_OK;
}

static inline void arp_emit(uint8_t *buf, const struct arp_repr *r)
{
	put_be16(buf, ARPHRD_ETHER);
	put_be16(buf + 2, ETH_P_IP);
	buf[4] = ETH_ALEN;
	buf[5] = 4;
	put_be16(buf + 6, r->op);
	memcpy(buf + 8, r->sha, ETH_ALEN);
	memcpy(buf + 14, &r->spa, 4);
	memcpy(buf + 18, r->tha, ETH_ALEN);
	memcpy(buf + 24, &r->tpa, 4);
}

#endif

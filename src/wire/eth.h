/* Ethernet II header view (IEEE 802.3 with an ethertype). */
#ifndef US_WIRE_ETH_H
#define US_WIRE_ETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../core/compiler.h"

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_ZLEN 60            /* minimum frame without FCS */
#define ETH_DATA_LEN 1500
#define ETH_FRAME_LEN 1514
#define ETH_P_MIN 0x0600       /* smaller values are 802.3 lengths */
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_P_IPV6 0x86DD
#define ETH_P_ALL 0x0003

struct eth_repr {
	uint8_t dst[ETH_ALEN];
	uint8_t src[ETH_ALEN];
	uint16_t type;
};

/* 0, or -1 when the buffer is shorter than a header. */
static inline int eth_parse(const uint8_t *buf, size_t len, struct eth_repr *r)
{
	if (len < ETH_HLEN)
		return -1;
	memcpy(r->dst, buf, ETH_ALEN);
	memcpy(r->src, buf + 6, ETH_ALEN);
	r->type = get_be16(buf + 12);
	return 0;
}

static inline void eth_emit(uint8_t *buf, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(buf, dst, ETH_ALEN);
	memcpy(buf + 6, src, ETH_ALEN);
	put_be16(buf + 12, type);
}

static inline bool eth_is_broadcast(const uint8_t *a)
{
	return (a[0] & a[1] & a[2] & a[3] & a[4] & a[5]) == 0xff;
}

static inline bool eth_is_multicast(const uint8_t *a)
{
	return a[0] & 1;
}

static inline bool eth_is_zero(const uint8_t *a)
{
	return (a[0] | a[1] | a[2] | a[3] | a[4] | a[5]) == 0;
}

static inline bool eth_addr_equal(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, ETH_ALEN) == 0;
}

/* A unicast MAC usable as a station address. */
static inline bool eth_is_valid_unicast(const uint8_t *a)
{
	return !eth_is_multicast(a) && !eth_is_zero(a);
}

/* RFC 1112 6.4: IPv4 group -> 01:00:5e + low 23 bits. */
static inline void eth_ip_mcast_map(uint32_t group_be, uint8_t *mac)
{
	const uint8_t *g = (const uint8_t *)&group_be;
	mac[0] = 0x01;
	mac[1] = 0x00;
	mac[2] = 0x5e;
	mac[3] = g[1] & 0x7f;
	mac[4] = g[2];
	mac[5] = g[3];
}

#endif

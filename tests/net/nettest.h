/* Helpers shared by the in-process network tests: counter snapshots, a
 * capture tap (like tcpdump on one device), frame builders for headers the
 * sim builders do not cover (options, raw flags), and small parsers. */
#ifndef USTACK_NETTEST_H
#define USTACK_NETTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"
#include "core/stack.h"
#include "wire/arp.h"
#include "wire/eth.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

/* ---- counters ---- */

/* A counter by name; aborts on an unknown name so that a typo cannot make
 * a check pass. */
uint64_t ctr(const us_stack *s, const char *name);

#define SNAP_MAX 256
struct snap {
	const us_stack *s;
	int n;
	const char *names[SNAP_MAX];
	uint64_t vals[SNAP_MAX];
};
void snap_take(struct snap *sn, const us_stack *s);
/* How much the counter moved since the snapshot (aborts on unknown). */
int64_t snap_delta(const struct snap *sn, const char *name);
/* Prints every counter that moved (for failure diagnosis). */
void snap_print_changes(const struct snap *sn, const char *label);

struct us_dev_stats dev_stats(const us_stack *s, int ifindex);

/* ---- capture tap ---- */

#define CAP_MAX 2048
struct cap_pkt {
	uint8_t *data;       /* network header (IP or ARP payload) */
	size_t len;
	bool out;            /* sent by the stack */
	uint16_t proto;      /* ethertype */
	uint8_t pkt_type;
	bool has_eth;
	uint8_t eth[ETH_HLEN];
	uint64_t time;
};
struct capture {
	struct packet_type pt;
	us_stack *s;
	struct cap_pkt pkts[CAP_MAX];
	size_t n;
	size_t lost;
};
/* Taps every frame received or sent on ifindex (0: every device). */
void cap_start(struct capture *c, us_stack *s, int ifindex);
void cap_stop(struct capture *c);
void cap_clear(struct capture *c);

/* ---- parsing ---- */

/* An ICMP message inside an IP packet (checksums verified). */
struct icmp_pkt {
	struct ip_repr ip;
	struct icmp_repr icmp;
	const uint8_t *iph;      /* IP header */
	const uint8_t *body;     /* ICMP data after the 8-byte header */
	size_t body_len;
};
bool parse_icmp_pkt(const uint8_t *ip, size_t len, struct icmp_pkt *out);
/* The n-th (from 0) captured packet matching: direction, ICMP type (-1:
 * any ICMP). Returns NULL if none. */
const struct cap_pkt *cap_find_icmp(const struct capture *c, bool out, int type, size_t nth,
				    struct icmp_pkt *ip);
size_t cap_count_icmp(const struct capture *c, bool out, int type);

/* ---- building ---- */

/* Ethernet (unless l3) + IPv4 header with options (optlen a multiple of
 * 4) + payload. ip->ihl and ip->tot_len are computed here. */
size_t build_ip_opts(uint8_t *buf, bool l3, const uint8_t *dst_mac, const uint8_t *src_mac,
		     struct ip_repr *ip, const uint8_t *opts, size_t optlen, const void *payload,
		     size_t plen);
/* An ICMP message (header + data) with a valid checksum. */
size_t build_icmp(uint8_t *buf, uint8_t type, uint8_t code, uint32_t rest, const void *data,
		  size_t dlen);
size_t build_arp(uint8_t *buf, const uint8_t *eth_dst, const uint8_t *eth_src, uint16_t op,
		 const uint8_t *sha, uint32_t spa, const uint8_t *tha, uint32_t tpa);

/* Sends an ICMP echo request from stack s (as a ping socket would). */
int stack_send_echo(us_stack *s, uint32_t saddr, uint32_t daddr, uint16_t id, uint16_t seq,
		    size_t datalen, uint8_t ttl, bool df);
/* Sends an IP datagram of protocol proto with plen bytes of payload. */
int stack_send_ip(us_stack *s, uint32_t saddr, uint32_t daddr, uint8_t proto, const void *payload,
		  size_t plen);

/* ---- peer conveniences ---- */

/* Pops the next frame (waiting up to max_ns of virtual time) that is an
 * IPv4 ICMP message; other frames are skipped (and counted in *skipped if
 * given). NULL if none. */
const struct frame *peer_pop_icmp(struct peer *p, uint64_t max_ns, struct icmp_pkt *ip,
				  size_t *skipped);
/* Injects an echo request from saddr to daddr and returns true if the
 * matching reply (same data) comes back within 1 s of virtual time; the
 * stack's ARP requests meanwhile are answered with the peer's MAC. */
bool peer_ping(struct peer *p, uint32_t saddr, uint32_t daddr, uint16_t id, uint16_t seq,
	       size_t datalen);
/* Makes the peer's address permanently known to the stack (no ARP noise). */
void peer_set_neigh(struct peer *p, uint32_t ip, const uint8_t *mac);

/* A deterministic generator for test data (xorshift64*). */
uint64_t test_rand(uint64_t *state);

#endif

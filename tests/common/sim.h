/*
 * Test networks under virtual time.
 *
 * struct sim: several stacks sharing one virtual clock, joined by
 * in-process links; sim_run_for() polls them all and jumps the clock to
 * the next event, so seconds of protocol time take microseconds.
 *
 * struct peer: the test itself as the other end of a link ("inject this
 * frame, expect that frame"): a callback device in a stack whose
 * transmitted frames are collected for the test to inspect, and into which
 * the test injects frames it builds.
 */
#ifndef USTACK_SIM_H
#define USTACK_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "ustack/ustack.h"

#define SIM_MAX_STACKS 8

struct sim {
	us_clock *clk;
	us_stack *st[SIM_MAX_STACKS];
	int n;
};

/* n stacks on one virtual clock starting at 1 s; seeds derived from seed. */
void sim_init(struct sim *sim, int n, uint64_t seed);
void sim_free(struct sim *sim);
/* Links stack a and stack b with a pair named name_a/name_b, brings both
 * ends up and gives them the addresses ("10.0.0.1/24"; NULL: none).
 * Returns 0; ifindexes in *ia, *ib (may be NULL). */
int sim_link(struct sim *sim, int a, const char *name_a, const char *addr_a, int b,
	     const char *name_b, const char *addr_b, int *ia, int *ib);
/* Runs every stack for ns of virtual time. */
void sim_run_for(struct sim *sim, uint64_t ns);
/* Runs until cond(arg) is true or max_ns passed; returns cond's value. */
bool sim_run_until(struct sim *sim, bool (*cond)(void *arg), void *arg, uint64_t max_ns);
uint64_t sim_now(const struct sim *sim);

struct in_addr ip4(const char *dotted);

/* ---- a scripted peer ---- */

#define PEER_MAX_FRAMES 4096

struct frame {
	uint8_t *data;
	size_t len;
	uint64_t time;  /* virtual ns when the stack sent it */
};

struct peer {
	us_stack *s;
	us_clock *clk;
	int ifindex;
	bool l3;                 /* IP packets, no Ethernet */
	uint8_t mac[6];          /* the peer's MAC */
	uint8_t stack_mac[6];    /* the stack's MAC on this device */
	struct frame frames[PEER_MAX_FRAMES];
	size_t head, tail;       /* frames sent by the stack, FIFO */
	size_t dropped;
	struct frame last;        /* returned by peer_pop */
};

/* Creates a callback device "name" in s with address addr ("10.0.0.1/24")
 * and brings it up; the peer's MAC is 02:00:00:00:00:fe. The stack's
 * gratuitous ARP is discarded. */
int peer_attach(struct peer *p, us_stack *s, us_clock *clk, const char *name, const char *addr,
		bool l3);
void peer_detach(struct peer *p);
/* Hands a frame to the stack and runs one poll round. */
void peer_inject(struct peer *p, const void *frame, size_t len);
/* Polls the stack (and runs the clock forward up to max_ns of virtual
 * time) until it sends a frame; returns it (owned by the peer until the
 * next pop/clear) or NULL. */
const struct frame *peer_pop(struct peer *p, uint64_t max_ns);
size_t peer_pending(const struct peer *p);
void peer_clear(struct peer *p);
/* Answers the stack's ARP requests for any address with the peer's MAC
 * (so the test can speak for many hosts). */
void peer_answer_arp(struct peer *p, const struct frame *f);

/* ---- frame builders (network byte order addresses) ---- */

/* Builds Ethernet (unless l3) + IPv4 header + payload into buf; returns the
 * length. ttl 64, DF clear, id given. */
size_t build_ipv4(uint8_t *buf, bool l3, const uint8_t *dst_mac, const uint8_t *src_mac,
		  uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t id, uint16_t frag_off_bytes,
		  bool mf, uint8_t ttl, const void *payload, size_t plen);
/* An ICMP echo request payload (header + data of len bytes, pattern i&0xff). */
size_t build_icmp_echo(uint8_t *buf, uint8_t type, uint16_t id, uint16_t seq, size_t datalen);
/* Offsets into a frame the peer got: the IP header (after Ethernet unless l3). */
const uint8_t *frame_ip(const struct peer *p, const struct frame *f, size_t *len);

#endif

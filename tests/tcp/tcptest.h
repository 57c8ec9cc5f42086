/*
 * TCP scenario scripts under virtual time ("inject this segment, expect
 * that segment"), on top of struct peer (tests/common/sim.h).
 *
 * A struct tt is one stack (10.0.0.1 on eth0, a callback device) and the
 * test as the host 10.0.0.2 behind it. The test builds TCP segments from
 * 10.0.0.2 (tt_send and friends) and pops what the stack sends back
 * (tt_pop), answering the stack's ARP requests on the way. The popped
 * segment is parsed with the src/wire views into t->seg.
 *
 * EXPECT_TCP(t, E_FLAGS(SYN|ACK), E_ACK(iss + 1), E_MSS(1460)) pops the
 * next segment and checks every field named; a mismatch names the field,
 * the value seen and the value wanted (as gVisor's checker does), and
 * prints the segment.
 *
 * The peer keeps a view of one connection (t->snd_nxt, t->rcv_nxt, the
 * timestamps and window scales negotiated) that the handshake helpers set
 * up and tt_data/tt_ack/tt_fin use; every builder also takes explicit
 * sequence numbers for the scripts that need them.
 */
#ifndef USTACK_TCPTEST_H
#define USTACK_TCPTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/tcp.h>

#include "sim.h"
#include "socktest.h"
#include "test.h"
#include "socket/sock.h"
#include "transport/tcp.h"
#include "wire/tcp.h"

#define FIN TCPHDR_FIN
#define SYN TCPHDR_SYN
#define RST TCPHDR_RST
#define PSH TCPHDR_PSH
#define ACK TCPHDR_ACK
#define URG TCPHDR_URG

#define SEC (1000 * MS)

#define STACK_IP "10.0.0.1"
#define PEER_IP "10.0.0.2"

/* Options of a SYN or SYN-ACK the peer sends. */
struct topts {
	int mss;        /* 0: no MSS option */
	int wscale;     /* -1: no window scale option */
	bool sack_perm;
	bool ts;
};
/* What Linux sends: MSS 1460, SACK-permitted, timestamps, wscale 7. */
extern const struct topts TOPTS_LINUX;
/* No options at all. */
extern const struct topts TOPTS_NONE;

/* A segment the stack sent, parsed. */
struct tseg {
	uint64_t time;           /* virtual ns when sent */
	uint32_t saddr, daddr;   /* network order */
	uint8_t ttl, tos;
	bool df;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint8_t doff;
	uint16_t win;            /* as on the wire */
	uint16_t urg;
	uint16_t check;
	struct tcp_opts opt;     /* SYN-only options parsed whatever the flags */
	uint8_t optbytes[40];
	uint8_t optlen;
	size_t len;              /* payload */
	uint8_t quote[68];       /* IP header + 8 bytes of TCP, for ICMP errors */
	size_t quote_len;
	uint8_t data[65536];
};

struct tt {
	struct sim sim;
	us_stack *s;
	struct peer p;
	uint32_t sip, pip;       /* stack and peer address, network order */
	uint16_t sport, pport;   /* stack's and peer's port, host order */
	int fd, lfd;             /* the stack's connected and listening sockets */

	/* The peer's view of the connection. */
	uint32_t iss;            /* the peer's initial sequence number */
	uint32_t snd_nxt;        /* the peer's next sequence number */
	uint32_t irs;            /* the stack's initial sequence number */
	uint32_t rcv_nxt;        /* what the peer acknowledges */
	uint16_t win;            /* window field the peer sends (unscaled) */
	bool ts;                 /* timestamps negotiated: every segment has one */
	uint32_t ts_base;        /* the peer's TSval = ts_base + ms */
	uint32_t ts_recent;      /* the stack's last TSval (our TSecr) */
	int snd_ws;              /* the shift the stack applies to our window */
	int rcv_ws;              /* the shift the stack announced */
	uint16_t mss;            /* the MSS option the stack sent */
	struct topts synopts;    /* what the peer offered */

	struct tseg seg;         /* the last segment popped */
	uint64_t popped;         /* segments popped */
	size_t other;            /* non-TCP frames skipped (ARP answered) */
};

/* A new stack with the peer attached (port 40000 for the peer). */
void tt_init(struct tt *t, uint64_t seed);
void tt_free(struct tt *t);
uint64_t tt_now(const struct tt *t);
/* Runs the stack for ns of virtual time; what it sends stays queued for
 * tt_pop. */
void tt_run(struct tt *t, uint64_t ns);
/* Our TSval now. */
uint32_t tt_tsval(const struct tt *t);

/* A segment from the peer, fully specified. */
struct tx {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;            /* used when win_set, else t->win */
	bool win_set;
	const void *data;
	size_t len;
	uint16_t urg;
	const struct topts *syn; /* SYN options (NULL: none) */
	int ts;                  /* 0: t->ts decides, 1: force a TS option, -1: none */
	uint32_t tsval, tsecr;   /* with ts == 1 */
	uint16_t sport, dport;   /* 0: t->pport / t->sport */
	uint32_t saddr;          /* 0: the peer's address */
	bool bad_csum;
	const uint8_t *rawopts;  /* options bytes as given (len multiple of 4) */
	uint8_t rawoptlen;
};
void tt_send(struct tt *t, const struct tx *x);
#define TT_SEND(t, ...) tt_send((t), &(struct tx){ __VA_ARGS__ })
/* The common cases: default window, timestamps as negotiated. */
void tt_seg(struct tt *t, uint8_t flags, uint32_t seq, uint32_t ack, const void *data, size_t len);
/* With the peer's connection state: data at snd_nxt (advances it),
 * a bare ACK of rcv_nxt, a FIN (advances snd_nxt). */
void tt_data(struct tt *t, const void *data, size_t len);
void tt_ack(struct tt *t);
void tt_ackw(struct tt *t, uint16_t win);
void tt_fin(struct tt *t);

/* An ICMP error from `from` (network order; 0: the peer) quoting g, as a
 * router or the peer would send it (rest: the second word, e.g. the MTU
 * of a fragmentation-needed message). */
void tt_send_icmp(struct tt *t, uint8_t type, uint8_t code, uint32_t rest, const struct tseg *g,
		  uint32_t from);

/* The next TCP segment the stack sends within max_ns of virtual time
 * (ARP answered, other frames skipped): true and t->seg, or false. */
bool tt_pop(struct tt *t, uint64_t max_ns);
/* Pops and drops every segment within ns; returns how many. */
int tt_drain(struct tt *t, uint64_t ns);
/* "flags seq ack win len opts" of t->seg. */
const char *tt_str(const struct tseg *g, char *buf, size_t len);

/* Expectations (each macro sets one field and its has_ flag). */
struct texp {
	bool has_flags, has_seq, has_ack, has_win, has_len, has_mss, has_ws, has_sackok, has_ts,
		has_tsecr, has_urg, has_sport, has_dport, has_nsacks, has_sack0, has_doff;
	uint8_t flags;
	uint8_t flags_ignore;  /* bits of flags not compared */
	uint32_t seq, ack;
	uint16_t win;
	size_t len;
	int mss;        /* -1: no MSS option */
	int ws;         /* -1: no window scale option */
	bool sackok, ts;
	uint32_t tsecr;
	uint16_t urg;
	uint16_t sport, dport;
	int nsacks;
	uint32_t sack0_start, sack0_end;
	uint8_t doff;
	uint64_t within;  /* how long to wait (0: 1 s) */
};
#define E_FLAGS(f) .has_flags = true, .flags = (uint8_t)(f)
/* The flags but PSH (Linux sets PSH on the last segment of a write, and
 * a bare FIN carries none: scripts that are not about PSH ignore it). */
#define E_FLAGSP(f) .has_flags = true, .flags = (uint8_t)(f), .flags_ignore = TCPHDR_PSH
#define E_SEQ(v) .has_seq = true, .seq = (uint32_t)(v)
#define E_ACK(v) .has_ack = true, .ack = (uint32_t)(v)
#define E_WIN(v) .has_win = true, .win = (uint16_t)(v)
#define E_LEN(v) .has_len = true, .len = (size_t)(v)
#define E_MSS(v) .has_mss = true, .mss = (v)
#define E_NOMSS .has_mss = true, .mss = -1
#define E_WS(v) .has_ws = true, .ws = (v)
#define E_NOWS .has_ws = true, .ws = -1
#define E_SACKOK(v) .has_sackok = true, .sackok = (v)
#define E_TS(v) .has_ts = true, .ts = (v)
#define E_TSECR(v) .has_tsecr = true, .tsecr = (uint32_t)(v)
#define E_URG(v) .has_urg = true, .urg = (uint16_t)(v)
#define E_SPORT(v) .has_sport = true, .sport = (uint16_t)(v)
#define E_DPORT(v) .has_dport = true, .dport = (uint16_t)(v)
#define E_NSACKS(v) .has_nsacks = true, .nsacks = (v)
#define E_SACK0(a, b) .has_sack0 = true, .sack0_start = (uint32_t)(a), .sack0_end = (uint32_t)(b)
#define E_DOFF(v) .has_doff = true, .doff = (uint8_t)(v)
#define E_WITHIN(ns) .within = (ns)

bool tt_expect(struct tt *t, const char *file, int line, const struct texp *e);
#define EXPECT_TCP(t, ...) tt_expect((t), __FILE__, __LINE__, &(struct texp){ __VA_ARGS__ })
/* Checks t->seg (already popped) against the expectation. */
bool tt_check(struct tt *t, const char *file, int line, const struct texp *e);
#define CHECK_SEG(t, ...) tt_check((t), __FILE__, __LINE__, &(struct texp){ __VA_ARGS__ })
/* Pops segments until one acknowledges exactly ack (pure ACKs with lower
 * ACK numbers may come first: quick ACKs); false and a failure if not
 * within ns. */
bool tt_wait_ack(struct tt *t, const char *file, int line, uint32_t ack, uint64_t ns);
#define WAIT_ACK(t, ack, ns) tt_wait_ack((t), __FILE__, __LINE__, (ack), (ns))
/* Nothing TCP is sent for ns. */
bool tt_expect_none(struct tt *t, const char *file, int line, uint64_t ns);
#define EXPECT_NONE(t, ns) tt_expect_none((t), __FILE__, __LINE__, (ns))

/* ---- handshakes ---- */

/* A listening socket of the stack on STACK_IP:port (non-blocking). */
int tt_listen(struct tt *t, uint16_t port, int backlog);
/* The peer opens a connection to the listener on t->sport: SYN with o,
 * the SYN-ACK checked and recorded, the ACK, accept() -> t->fd. Returns
 * false (and records a failure) if any step goes wrong. */
bool tt_passive_open(struct tt *t, const struct topts *o);
/* A blocking connection over loopback to a listener on 127.0.0.1:port
 * (t->lfd): the client's and the accepted server's handles. */
bool tt_loopback_conn(struct tt *t, uint16_t port, int *client, int *server);
/* The stack connects (non-blocking) to PEER_IP:t->pport; the SYN is
 * checked and recorded, answered with a SYN-ACK carrying o, and the ACK
 * is checked. t->fd is the stack's socket. */
bool tt_active_open(struct tt *t, const struct topts *o);
/* The stack's first half only: the socket and its SYN (t->seg). */
bool tt_connect_syn(struct tt *t);

/* The state of a socket from TCP_INFO (-1 on error). */
int tt_state(struct tt *t, int fd);
int tt_sock_state(us_stack *s, int fd);
struct tcp_info tt_info(struct tt *t, int fd);
/* The state of the socket with this 4-tuple, with a handle or not (an
 * orphan, TIME_WAIT): -1 when there is none. */
int tt_find_state(us_stack *s, uint16_t lport, uint16_t rport);
/* Sockets of the stack in that state. */
int tt_count_state(us_stack *s, int state);

/* Reads what is there (non-blocking) into buf; returns bytes or -errno. */
long tt_read(struct tt *t, int fd, void *buf, size_t len);

/* A byte pattern: pat(i) for offset i of a stream seeded with seed. */
static inline uint8_t pat(uint64_t seed, uint64_t i)
{
	uint64_t x = (i >> 3) * 0x9E3779B97F4A7C15ull + seed;
	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 32;
	return (uint8_t)(x >> ((i & 7) * 8));
}
void pat_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t off);

/* Stack knobs (Linux's sysctls by field: tcp_syncookies...). */
struct tcp_state *tt_tcp(us_stack *s);

extern const char *const tcp_state_names[];

#endif

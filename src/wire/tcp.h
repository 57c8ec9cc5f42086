/* TCP header and option views (RFC 9293 3.1, RFC 7323, RFC 2018). */
#ifndef US_WIRE_TCP_H
#define US_WIRE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_HLEN 20
#define TCP_MAX_HLEN 60

#define TCPHDR_FIN 0x01
#define TCPHDR_SYN 0x02
#define TCPHDR_RST 0x04
#define TCPHDR_PSH 0x08
#define TCPHDR_ACK 0x10
#define TCPHDR_URG 0x20
#define TCPHDR_ECE 0x40
#define TCPHDR_CWR 0x80

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WINDOW 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TIMESTAMP 8

#define TCP_MAX_SACKS 4

struct tcp_sack_block {
	uint32_t start, end;
};

/* The options of a segment, as parsed. */
struct tcp_opts {
	bool mss_ok, wscale_ok, sack_ok, ts_ok;
	uint16_t mss;
	uint8_t wscale;
	uint32_t tsval, tsecr;
	uint8_t num_sacks;
	struct tcp_sack_block sacks[TCP_MAX_SACKS];
};

struct tcp_repr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t doff;       /* header length in bytes */
	uint8_t flags;
	uint16_t window;    /* unscaled, as on the wire */
	uint16_t check;
	uint16_t urg_ptr;
};

enum tcp_parse_err { TCP_OK = 0, TCP_ESHORT = -1, TCP_EDOFF = -2, TCP_ECSUM = -3 };

/* Validates the header length against the segment and the checksum with
 * the pseudo-header over len bytes (header + data). */
int tcp_parse(const uint8_t *buf, size_t len, uint32_t saddr, uint32_t daddr, struct tcp_repr *r);
/* Parses the options of a validated header. Malformed options end the
 * parse (what came before stands), as Linux's tcp_parse_options; options
 * only valid on a SYN are taken only when syn is true (RFC 7323 2.2). */
void tcp_parse_options(const uint8_t *hdr, uint8_t doff, bool syn, struct tcp_opts *o);
/* Writes the fixed header (checksum zero); options follow at hdr + 20. */
void tcp_emit(uint8_t *hdr, const struct tcp_repr *r);
/* Writes options in Linux's order and alignment; returns their length
 * (a multiple of 4). sack blocks are written when o->num_sacks. */
uint8_t tcp_emit_options(uint8_t *p, const struct tcp_opts *o, bool syn);
/* Length the options above would take. */
uint8_t tcp_options_len(const struct tcp_opts *o, bool syn);
/* Checksum over header + data (len bytes at hdr), stored in place. */
void tcp_set_checksum(uint8_t *hdr, size_t len, uint32_t saddr, uint32_t daddr);

/* RFC 1982-style comparisons of sequence numbers. */
static inline bool before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}
#define after(a, b) before(b, a)
static inline bool between(uint32_t x, uint32_t lo, uint32_t hi)
{
	return hi - lo >= x - lo; /* lo <= x <= hi */
}

#endif

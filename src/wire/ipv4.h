/* IPv4 header view (RFC 791) and option parsing. */
#ifndef US_WIRE_IPV4_H
#define US_WIRE_IPV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPV4_HLEN 20
#define IPV4_MAX_HLEN 60
#define IPV4_MAX_LEN 65535
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

struct ip_repr {
	uint8_t ihl;        /* header length in bytes */
	uint8_t tos;
	uint16_t tot_len;
	uint16_t id;
	bool df, mf;
	uint16_t frag_off;  /* in bytes */
	uint8_t ttl;
	uint8_t protocol;
	uint16_t check;
	uint32_t saddr, daddr; /* network order */
};

enum ipv4_parse_err {
	IPV4_OK = 0,
	IPV4_ESHORT = -1,    /* buffer shorter than the header */
	IPV4_EVERSION = -2,
	IPV4_EIHL = -3,      /* IHL < 5 or beyond the buffer */
	IPV4_ETOTLEN = -4,   /* total length < IHL */
	IPV4_ETRUNC = -5,    /* total length beyond the buffer */
	IPV4_ECSUM = -6,
};

/* Validates version, IHL, total length against len, and the checksum. */
int ipv4_parse(const uint8_t *buf, size_t len, struct ip_repr *r);
/* The IP header quoted inside an ICMP error: only version and IHL are
 * checked (the quote may be truncated after the transport header). */
int ipv4_parse_quoted(const uint8_t *buf, size_t len, struct ip_repr *r);
/* Writes a header of r->ihl bytes (options, if any, are written by the
 * caller at buf + 20 before calling) with its checksum. */
void ipv4_emit(uint8_t *buf, const struct ip_repr *r);
static inline const uint8_t *ipv4_options(const uint8_t *hdr)
{
	return hdr + IPV4_HLEN;
}
/* The header length in bytes of a header already validated. */
static inline unsigned ipv4_hdr_len(const uint8_t *hdr)
{
	return (unsigned)(hdr[0] & 0x0f) * 4;
}

/* In-place edits of a validated header, with the checksum kept right
 * incrementally (RFC 1624). */
void ipv4_decrease_ttl(uint8_t *hdr);
void ipv4_set_frag(uint8_t *hdr, uint16_t frag_off_bytes, bool mf, uint16_t tot_len);
void ipv4_set_saddr(uint8_t *hdr, uint32_t saddr);
void ipv4_set_daddr(uint8_t *hdr, uint32_t daddr);
/* Recomputes the checksum from scratch (after options were rewritten). */
void ipv4_refresh_csum(uint8_t *hdr);

/* Options (RFC 791 3.1, RFC 2113 router alert). */
#define IPOPT_END 0
#define IPOPT_NOOP 1
#define IPOPT_RR 7
#define IPOPT_TIMESTAMP 68
#define IPOPT_LSRR 131
#define IPOPT_SSRR 137
#define IPOPT_RA 148
#define IPOPT_SEC 130
#define IPOPT_CIPSO 134
#define IPOPT_COPY 0x80

#define IPOPT_TS_TSONLY 0
#define IPOPT_TS_TSANDADDR 1
#define IPOPT_TS_PRESPEC 3

struct ip_options {
	uint8_t optlen;       /* bytes of options */
	uint8_t rr;           /* offset of record route from the IP header, 0 if none */
	uint8_t ts;           /* offset of timestamp */
	uint8_t srr;          /* offset of a source route (LSRR/SSRR) */
	bool router_alert;
	bool rr_full;         /* no room left to record */
	bool ts_full;
};

/* Validates every option of the header (ihl bytes at hdr). 0, or -1 with
 * *bad_off set to the offset (from the IP header) of the offending byte,
 * for an ICMP parameter problem (RFC 1122 3.2.2.5). */
int ip_options_parse(const uint8_t *hdr, uint8_t ihl, struct ip_options *o, uint8_t *bad_off);
/* Records addr in the record-route option of hdr if room is left (RFC 791
 * 3.1 "Record Route"); the caller refreshes the checksum. */
void ip_options_record_route(uint8_t *hdr, const struct ip_options *o, uint32_t addr);
/* Adds a timestamp (ms since midnight UT, or our clock) and address where
 * the option's flag asks for one. */
void ip_options_timestamp(uint8_t *hdr, const struct ip_options *o, uint32_t addr, uint32_t ms);
/* Builds the options of a reply that echoes the received ones (RR and TS
 * are returned, the rest dropped, as Linux's ip_options_echo does for
 * ICMP echo). Returns the option length written (multiple of 4), at most
 * 40 bytes, to out. */
uint8_t ip_options_echo(const uint8_t *hdr, const struct ip_options *o, uint8_t *out);

#endif

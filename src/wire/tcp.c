#include "tcp.h"

#include <string.h>

#include "../core/compiler.h"
#include "checksum.h"

int tcp_parse(const uint8_t *buf, size_t len, uint32_t saddr, uint32_t daddr, struct tcp_repr *r)
{
	if (len < TCP_HLEN)
		return TCP_ESHORT;
	r->doff = (uint8_t)((buf[12] >> 4) * 4);
	if (r->doff < TCP_HLEN || r->doff > len)
		return TCP_EDOFF;
	if (csum_fold(csum_partial(buf, len, csum_pseudo(saddr, daddr, 6, (uint32_t)len))) != 0)
		return TCP_ECSUM;
	r->sport = get_be16(buf);
	r->dport = get_be16(buf + 2);
	r->seq = get_be32(buf + 4);
	r->ack = get_be32(buf + 8);
	r->flags = buf[13];
	r->window = get_be16(buf + 14);
	r->check = get_be16(buf + 16);
	r->urg_ptr = get_be16(buf + 18);
	return TCP_OK;
}

void tcp_parse_options(const uint8_t *hdr, uint8_t doff, bool syn, struct tcp_opts *o)
{
	memset(o, 0, sizeof(*o));
	unsigned off = TCP_HLEN;
	while (off < doff) {
		uint8_t kind = hdr[off];
		if (kind == TCPOPT_EOL)
			return;
		if (kind == TCPOPT_NOP) {
			off++;
			continue;
		}
		if (off + 1 >= doff)
			return;
		uint8_t len = hdr[off + 1];
		if (len < 2 || off + len > doff)
			return; /* "silly options" */
		const uint8_t *p = hdr + off;
		switch (kind) {
		case TCPOPT_MSS:
			if (len == 4 && syn) {
				uint16_t mss = get_be16(p + 2);
				if (mss) {
					o->mss = mss;
					o->mss_ok = true;
				}
			}
			break;
		case TCPOPT_WINDOW:
			if (len == 3 && syn) {
				/* RFC 7323 2.3: a shift over 14 is taken as 14. */
				o->wscale = p[2] > 14 ? 14 : p[2];
				o->wscale_ok = true;
			}
			break;
		case TCPOPT_SACK_PERM:
			if (len == 2 && syn)
				o->sack_ok = true;
			break;
		case TCPOPT_TIMESTAMP:
			if (len == 10) {
				o->ts_ok = true;
				o->tsval = get_be32(p + 2);
				o->tsecr = get_be32(p + 6);
			}
			break;
		case TCPOPT_SACK:
			if (len >= 10 && (len - 2) % 8 == 0) {
				unsigned n = (unsigned)(len - 2) / 8;
				for (unsigned i = 0; i < n && o->num_sacks < TCP_MAX_SACKS; i++) {
					o->sacks[o->num_sacks].start = get_be32(p + 2 + 8 * i);
					o->sacks[o->num_sacks].end = get_be32(p + 6 + 8 * i);
					o->num_sacks++;
				}
			}
			break;
		default:
			break;
		}
		off += len;
	}
}

void tcp_emit(uint8_t *hdr, const struct tcp_repr *r)
{
	put_be16(hdr, r->sport);
	put_be16(hdr + 2, r->dport);
	put_be32(hdr + 4, r->seq);
	put_be32(hdr + 8, r->ack);
	hdr[12] = (uint8_t)((r->doff / 4) << 4);
	hdr[13] = r->flags;
	put_be16(hdr + 14, r->window);
	put_be16(hdr + 16, 0);
	put_be16(hdr + 18, r->urg_ptr);
}

uint8_t tcp_options_len(const struct tcp_opts *o, bool syn)
{
	unsigned n = 0;
	if (syn && o->mss_ok)
		n += 4;
	if (o->ts_ok)
		n += 12; /* SACK-permitted rides in the timestamp's padding */
	else if (syn && o->sack_ok)
		n += 4;
	if (syn && o->wscale_ok)
		n += 4;
	if (o->num_sacks)
		n += 4 + 8u * o->num_sacks;
	return (uint8_t)n;
}

/* The layout of Linux's tcp_options_write: MSS, then SACK-permitted with
 * the timestamp (or NOPs), then window scale, then SACK blocks. */
uint8_t tcp_emit_options(uint8_t *p, const struct tcp_opts *o, bool syn)
{
	uint8_t *start = p;
	if (syn && o->mss_ok) {
		p[0] = TCPOPT_MSS;
		p[1] = 4;
		put_be16(p + 2, o->mss);
		p += 4;
	}
	if (o->ts_ok) {
		if (syn && o->sack_ok) {
			p[0] = TCPOPT_SACK_PERM;
			p[1] = 2;
		} else {
			p[0] = TCPOPT_NOP;
			p[1] = TCPOPT_NOP;
		}
		p[2] = TCPOPT_TIMESTAMP;
		p[3] = 10;
		put_be32(p + 4, o->tsval);
		put_be32(p + 8, o->tsecr);
		p += 12;
	} else if (syn && o->sack_ok) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_NOP;
		p[2] = TCPOPT_SACK_PERM;
		p[3] = 2;
		p += 4;
	}
	if (syn && o->wscale_ok) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_WINDOW;
		p[2] = 3;
		p[3] = o->wscale;
		p += 4;
	}
	if (o->num_sacks) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_NOP;
		p[2] = TCPOPT_SACK;
		p[3] = (uint8_t)(2 + 8 * o->num_sacks);
		p += 4;
		for (unsigned i = 0; i < o->num_sacks; i++) {
			put_be32(p, o->sacks[i].start);
			put_be32(p + 4, o->sacks[i].end);
			p += 8;
		}
	}
	return (uint8_t)(p - start);
}

void tcp_set_checksum(uint8_t *hdr, size_t len, uint32_t saddr, uint32_t daddr)
{
	put_be16(hdr + 16, 0);
	put_be16(hdr + 16, csum_fold(csum_partial(hdr, len, csum_pseudo(saddr, daddr, 6, (uint32_t)len))));
}
